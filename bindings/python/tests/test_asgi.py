"""slowapi's shape for FastAPI / Starlette: @limiter.limit and the middleware."""
import unittest

from helpers import BoxCase, fusebox  # noqa: F401

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from fusebox.asgi import (FuseboxMiddleware, InFlightMiddleware, Limiter, RateLimitExceeded, get_remote_address,
                          rate_limit_exceeded_handler)


class FastAPIShape(BoxCase):
    def make_app(self, handler=False, **kw):
        limiter = Limiter(key_func=get_remote_address, box=self.box, **kw)
        app = FastAPI()
        app.state.limiter = limiter
        app.add_middleware(FuseboxMiddleware)
        if handler:
            app.add_exception_handler(RateLimitExceeded, rate_limit_exceeded_handler)

        @app.get("/search")
        @limiter.limit("3/minute")
        async def search(request: Request, q: str = ""):
            return {"q": q}

        @app.get("/sync")
        @limiter.limit("2/minute")
        def sync_route(request: Request):
            return {"ok": True}

        @app.get("/free")
        async def free():
            return {"free": True}
        return app

    def test_limit_answers_429_with_headers(self):
        for handler in (False, True):
            with self.subTest(handler=handler):
                self.box_name_suffix = handler
                client = TestClient(self.make_app(handler=handler, prefix="h%d" % handler))
                rs = [client.get("/search", params={"q": "x"}) for _ in range(4)]
                self.assertEqual([r.status_code for r in rs], [200, 200, 200, 429])
                self.assertEqual(rs[0].json(), {"q": "x"})
                self.assertEqual(rs[0].headers["RateLimit-Limit"], "3")
                self.assertEqual(rs[0].headers["RateLimit-Remaining"], "2")
                self.assertEqual(rs[2].headers["RateLimit-Remaining"], "0")
                denied = rs[3]
                self.assertEqual(denied.headers["RateLimit-Limit"], "3")
                self.assertEqual(denied.headers["RateLimit-Remaining"], "0")
                self.assertGreaterEqual(int(denied.headers["Retry-After"]), 59)
                self.assertGreaterEqual(int(denied.headers["RateLimit-Reset"]), 59)
                self.assertIn("Rate limit exceeded", denied.text)

    def test_sync_route_and_unlimited_route(self):
        client = TestClient(self.make_app())
        self.assertEqual([client.get("/sync").status_code for _ in range(3)], [200, 200, 429])
        r = client.get("/free")
        self.assertEqual(r.status_code, 200)
        self.assertNotIn("RateLimit-Limit", r.headers)

    def test_default_limits(self):
        client = TestClient(self.make_app(default_limits=["4/minute"]))
        codes = [client.get("/free").status_code for _ in range(5)]
        self.assertEqual(codes, [200, 200, 200, 200, 429])

    def test_endpoint_without_request(self):
        limiter = Limiter(key_func=get_remote_address, box=self.box)

        @limiter.limit("1/minute")
        def no_request():
            return 1
        with self.assertRaises(TypeError):
            no_request()

    def test_bad_rule(self):
        limiter = Limiter(key_func=get_remote_address, box=self.box)
        with self.assertRaises(fusebox.BadRule):
            limiter.limit("100/fortnight")(lambda request: 1)

class InFlight(BoxCase):
    """InFlightMiddleware: what a drain waits for, and what it tells clients."""

    def make_app(self):
        app = FastAPI()
        app.add_middleware(InFlightMiddleware, box=self.box)
        box = self.box

        @app.get("/work")
        async def work():
            return {"in_flight": box.health()["in_flight"]}

        @app.get("/ready")
        async def ready():
            return {"in_flight": box.health()["in_flight"]}
        return app

    def test_counts_requests_not_probes_and_closes_when_draining(self):
        self.box.register_worker("worker", heartbeat_timeout=30)
        client = TestClient(self.make_app())
        r = client.get("/work")
        self.assertEqual((r.status_code, r.json()["in_flight"]), (200, 1))
        self.assertNotEqual(r.headers.get("connection"), "close")
        self.assertEqual(client.get("/ready").json()["in_flight"], 0)   # a probe
        self.assertEqual(self.box.health()["in_flight"], 0)             # ended
        self.assertEqual(sum(w["served"] for w in self.box.workers()), 1)
        self.box.drain()
        r = client.get("/work")
        self.assertEqual((r.status_code, r.headers.get("connection")), (200, "close"))

    def test_unregistered_worker_is_told_what_to_do(self):
        client = TestClient(self.make_app(), raise_server_exceptions=True)
        with self.assertRaises(fusebox.NotFound) as e:
            client.get("/work")
        self.assertIn("register_worker()", str(e.exception))


if __name__ == "__main__":
    unittest.main()
