"""The fusebox:// storage for limits 2.8 (Debian python3-limits), and
Flask-Limiter over it."""
import ctypes
import time
import unittest
from unittest import mock

from helpers import BoxCase, fusebox
from fusebox import _lib as L

from limits import parse, storage, strategies


class FakeClock:
    """One clock for both sides: fusebox's (fbx_clock_set, a test hook) and
    time.time() for limits' MemoryStorage."""

    WALL0 = 1700000000.0   # a whole number of seconds: boundaries compare exactly

    def __init__(self):
        self.ns0 = self.ns = L.lib().fbx_clock_now()   # the box keeps times near its clock's
        self._cb = L.CLOCK_FN(lambda arg: self.ns)

    def __enter__(self):
        L.lib().fbx_clock_set(self._cb, None)
        self._patch = mock.patch("time.time",
                                 lambda: self.WALL0 + (self.ns - self.ns0) / 1e9)
        self._patch.start()
        return self

    def __exit__(self, *exc):
        self._patch.stop()
        L.lib().fbx_clock_set(L.CLOCK_FN(), None)

    def advance(self, s):
        self.ns += int(round(s * 1e9))


class StorageBasics(BoxCase):
    def setUp(self):
        super().setUp()
        self.store = storage.storage_from_string("fusebox://" + self.box_name)
        self.window = strategies.MovingWindowRateLimiter(self.store)

    def test_scheme_registered(self):
        self.assertIsInstance(self.store, fusebox.FuseboxStorage)
        self.assertTrue(self.store.check())

    def test_hits_stats_and_test(self):
        item = parse("3/minute")
        self.assertEqual([self.window.hit(item, "a") for _ in range(4)],
                         [True, True, True, False])
        self.assertFalse(self.window.test(item, "a"))
        reset, remaining = self.window.get_window_stats(item, "a")
        self.assertEqual(remaining, 0)
        self.assertAlmostEqual(reset, time.time() + 60, delta=2)
        self.assertTrue(self.window.test(item, "b"))
        self.assertEqual(self.window.get_window_stats(item, "b")[1], 3)
        self.assertTrue(self.window.hit(item, "b", cost=2))
        self.assertEqual(self.window.get_window_stats(item, "b")[1], 1)
        self.assertFalse(self.window.hit(item, "b", cost=2))   # nothing consumed
        self.assertTrue(self.window.hit(item, "b"))

    def test_clear_and_reset(self):
        item = parse("2/minute")
        for k in ("a", "b"):
            self.window.hit(item, k)
            self.window.hit(item, k)
        self.assertFalse(self.window.hit(item, "a"))
        self.window.clear(item, "a")
        self.assertTrue(self.window.hit(item, "a"))
        self.assertFalse(self.window.hit(item, "b"))
        self.store.reset()
        self.assertTrue(self.window.hit(item, "b"))
        self.assertTrue(self.window.hit(item, "b"))
        self.assertFalse(self.window.hit(item, "b"))

    def test_shared_between_storages(self):
        other_store = storage.storage_from_string("fusebox://" + self.box_name)
        other = strategies.MovingWindowRateLimiter(other_store)
        item = parse("2/hour")
        self.assertTrue(self.window.hit(item, "k"))
        self.assertTrue(other.hit(item, "k"))
        self.assertFalse(self.window.hit(item, "k"))

    def test_count_beyond_the_log(self):
        from limits.errors import ConfigurationError
        with self.assertRaises(ConfigurationError) as e:
            self.window.hit(parse("500/minute"), "k")
        self.assertIn("log_slots", str(e.exception))
        self.assertFalse(self.window.hit(parse("3/minute"), "k", cost=4))

    def test_fixed_window_is_refused(self):
        with self.assertRaises(NotImplementedError):
            strategies.FixedWindowRateLimiter(self.store).hit(parse("1/second"), "k")

    def test_bad_uri(self):
        from limits.errors import ConfigurationError
        for uri in ("fusebox://", "fusebox://bad name", "fusebox://x?log_slots=abc"):
            with self.subTest(uri=uri), self.assertRaises(ConfigurationError):
                storage.storage_from_string(uri)

    def test_larger_log_from_uri(self):
        name = self.box_name + "L"
        s = storage.storage_from_string("fusebox://%s?log_slots=1024" % name)
        try:
            w = strategies.MovingWindowRateLimiter(s)
            item = parse("500/minute")
            self.assertEqual(sum(w.hit(item, "k") for _ in range(510)), 500)
        finally:
            s.box.remove()


class SameDecisionsAsMemory(BoxCase):
    """On one clock, the fusebox log and limits' MemoryStorage admit exactly
    the same hits, except a hit exactly one period after the entry it waits
    for (limits' window is [now - period, now], fusebox's (now - period, now])."""

    def run_both(self, clock, rules, steps):
        self.stores = (storage.storage_from_string("fusebox://" + self.box_name),
                       storage.MemoryStorage())   # strategies keep weak references
        fb = strategies.MovingWindowRateLimiter(self.stores[0])
        mem = strategies.MovingWindowRateLimiter(self.stores[1])
        items = [parse(r) for r in rules]
        out = []
        for dt, key, cost in steps:
            clock.advance(dt)
            for item in items:
                a = fb.hit(item, key, cost=cost)
                b = mem.hit(item, key, cost=cost)
                out.append((a, b))
        return out

    def test_random_sequences_match(self):
        import random
        rnd = random.Random(1234)
        periods = (1.0, 10.0)
        steps, times, t = [], {}, 0.0
        while len(steps) < 3000:
            dt = rnd.choice([0, 0, 1, 2, 5, 20, 100, 400]) / 1000.0 + rnd.randrange(1, 997) * 1e-6
            key = "k%d" % rnd.randrange(4)
            # keep clear of the boundary, where the two windows differ by
            # design (and where limits' float seconds cannot tell)
            if any(abs(t + dt - p - u) < 2e-6 for u in times.get(key, ()) for p in periods):
                continue
            t += dt
            times.setdefault(key, []).append(t)
            steps.append((dt, key, rnd.choice([1, 1, 1, 2, 3])))
        self.box.close()
        fusebox.unlink(self.box_name)
        with FakeClock() as clock:
            self.box = fusebox.Box(self.box_name)    # created on the fake clock
            out = self.run_both(clock, ["5/second", "12/10 seconds"], steps)
            self.box.close()
        diffs = [i for i, (a, b) in enumerate(out) if a != b]
        self.assertEqual(diffs, [])
        self.assertGreater(sum(1 for a, _ in out if a), 1000)
        self.assertGreater(sum(1 for a, _ in out if not a), 1000)

    def test_the_boundary_differs(self):
        self.box.close()
        fusebox.unlink(self.box_name)
        with FakeClock() as clock:
            self.box = fusebox.Box(self.box_name)
            out = self.run_both(clock, ["2/second"], [
                (0, "k", 1), (0.25, "k", 1), (0.5, "k", 1),   # full, then denied
                (0.25, "k", 1),         # exactly 1 s after the first: fusebox admits
            ])
            self.box.close()
        self.assertEqual(out, [(True, True), (True, True), (False, False), (True, False)])


class FlaskLimiterOverFusebox(BoxCase):
    def test_flask_app(self):
        from flask import Flask
        from flask_limiter import Limiter
        from flask_limiter.util import get_remote_address
        app = Flask(__name__)
        limiter = Limiter(get_remote_address, app=app, storage_uri="fusebox://" + self.box_name,
                          strategy="moving-window", headers_enabled=True)

        @app.route("/ping")
        @limiter.limit("3/minute")
        def ping():
            return "pong"

        client = app.test_client()
        codes = [client.get("/ping").status_code for _ in range(5)]
        self.assertEqual(codes, [200, 200, 200, 429, 429])
        r = client.get("/ping")
        self.assertEqual(r.headers.get("X-RateLimit-Remaining"), "0")
        self.assertIn("Retry-After", r.headers)
        # another client address: its own budget
        r = client.get("/ping", environ_base={"REMOTE_ADDR": "10.0.0.2"})
        self.assertEqual(r.status_code, 200)


if __name__ == "__main__":
    unittest.main()
