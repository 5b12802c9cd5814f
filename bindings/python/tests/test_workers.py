"""Workers, requests in flight, health checks and drain."""
import os
import time
import unittest

from helpers import BoxCase, fusebox


class Workers(BoxCase):
    def test_register_requests_health(self):
        box = self.box
        h = box.health()
        self.assertFalse(h["live"])
        box.register_worker("master", heartbeat_timeout=5)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                box.register_worker("worker", heartbeat_timeout=5)
                box.request_begin()
                time.sleep(0.5)
                box.request_end()
                box.unregister_worker()
                code = 0
            finally:
                os._exit(code)
        time.sleep(0.2)
        h = box.health()
        self.assertTrue(h["live"])
        self.assertEqual(h["in_flight"], 1)
        self.assertFalse(h["ready"])            # not started yet
        box.started()
        self.assertTrue(box.health()["ready"])
        roles = sorted(w["role"] for w in box.workers() if w["alive"])
        self.assertEqual(roles, ["master", "worker"])
        box.drain()
        self.assertTrue(box.draining)
        self.assertFalse(box.health()["ready"])
        self.assertEqual(box.drain_wait(timeout=5), [])   # the child finishes its request
        self.assertEqual(os.waitpid(pid, 0)[1], 0)
        box.drain(False)
        self.assertFalse(box.draining)

    def test_drain_wait_names_who_is_busy(self):
        self.box.register_worker("worker", heartbeat_timeout=5)
        with self.box.request():
            busy = self.box.drain_wait(timeout=0.1)
        self.assertEqual([(b["pid"], b["role"], b["in_flight"]) for b in busy],
                         [(os.getpid(), "worker", 1)])
        self.assertEqual(self.box.drain_wait(timeout=0.1), [])

    def test_checks(self):
        box = self.box
        box.register_worker("master", heartbeat_timeout=5)
        box.set_check("db", "pass", critical=True, ttl=0.3, message="primary ok")
        box.started()
        self.assertEqual(box.health()["status"], "ok")
        box.set_check("disk", "warn", message="91% full")
        self.assertEqual(box.health()["status"], "degraded")
        time.sleep(0.4)                                   # db expires: counts as fail
        h = box.health()
        self.assertEqual(h["status"], "unhealthy")
        self.assertFalse(h["ready"])
        db = [c for c in box.checks() if c["name"] == "db"][0]
        self.assertTrue(db["expired"])
        box.remove_check("db")
        cb = fusebox.CircuitBreaker(name="pay", fail_max=1, box=box)
        box.bind_check("pay-up", cb.register())
        cb.open()
        self.assertEqual([c["status"] for c in box.checks() if c["name"] == "pay-up"], ["fail"])

    def test_unregistered_process(self):
        with self.assertRaises(fusebox.NotFound):
            self.box.request_begin()

    def test_bad_input(self):
        with self.assertRaises(fusebox.InvalidArgument):
            self.box.set_check("x", "maybe")
        with self.assertRaises(TypeError):
            self.box.set_check("x", None)
        with self.assertRaises(fusebox.BadName):
            self.box.set_check("has space", "pass")
        with self.assertRaises(ValueError):
            self.box.register_worker("w", heartbeat_timeout=-1)
        with self.assertRaises(fusebox.InvalidArgument):
            self.box.register_worker("w", heartbeat_timeout=7200)   # beyond an hour
        with self.assertRaises(fusebox.NotFound):
            self.box.bind_check("c", "no-such-breaker")


if __name__ == "__main__":
    unittest.main()
