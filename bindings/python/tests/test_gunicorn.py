"""End to end: Debian's gunicorn serving a small app with 4 workers, its
hooks from examples/gunicorn.conf.py; driven with urllib.  The breaker trips
after fail_max failures host-wide and the limit admits exactly its count
across all workers."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from helpers import HERE, PKG, box_name, fusebox

CONF = os.path.join(PKG, "examples", "gunicorn.conf.py")


def have_gunicorn():
    try:
        import gunicorn  # noqa: F401
        return True
    except ImportError:
        return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers)


@unittest.skipUnless(have_gunicorn(), "gunicorn is not installed (Debian: gunicorn)")
class Gunicorn(unittest.TestCase):
    def setUp(self):
        self.name = box_name("gunicorn")
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        env = dict(os.environ, FUSEBOX_BOX=self.name, FUSEBOX_DRAIN_PERIOD="0.5",
                   PYTHONPATH=os.pathsep.join([PKG, HERE, os.environ.get("PYTHONPATH", "")]))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", CONF, "-w", "4", "--bind",
             "127.0.0.1:%d" % self.port, "--graceful-timeout", "5", "--log-level", "warning",
             "gunicorn_app:application"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.addCleanup(self.stop)
        deadline = time.monotonic() + 20
        while True:
            try:
                if get(self.base + "/health")[0] == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("gunicorn did not start: %s"
                                     % self.proc.stdout.read().decode(errors="replace"))
            time.sleep(0.1)
        self.box = fusebox.Box(self.name, create=False)
        deadline = time.monotonic() + 10   # every worker registered
        while sum(w["alive"] and w["role"] == "worker" for w in self.box.workers()) < 4:
            self.assertLess(time.monotonic(), deadline, self.box.workers())
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        if getattr(self, "box", None) is not None:
            self.box.close()
        try:
            fusebox.unlink(self.name)
        except fusebox.NotFound:
            pass

    def test_breaker_and_limit_are_host_wide(self):
        h = self.box.health()
        self.assertTrue(h["live"] and h["started"] and h["ready"], h)
        self.assertEqual(h["masters_alive"], 1)
        cb = fusebox.CircuitBreaker(name="upstream", fail_max=5, reset_timeout=30, box=self.box)

        # four slow failures at once: four different workers (sync workers
        # serve one request at a time)
        with ThreadPoolExecutor(4) as pool:
            first = list(pool.map(get, [self.base + "/fail?0.4"] * 4))
        self.assertEqual([s for s, _ in first], [500] * 4)
        self.assertEqual(len({hd["X-Pid"] for _, hd in first}), 4)
        self.assertEqual(cb.current_state, "closed")
        self.assertEqual(cb.fail_counter, 4)
        # the fifth failure, whichever worker takes it, trips it for all
        status, hd = get(self.base + "/fail")
        self.assertEqual((status, hd.get("X-Upstream-Called")), (500, "1"))
        self.assertEqual(cb.current_state, "open")
        with ThreadPoolExecutor(4) as pool:
            rest = list(pool.map(get, [self.base + "/fail?0.05"] * 12))
        self.assertEqual([s for s, _ in rest], [503] * 12)
        self.assertFalse(any("X-Upstream-Called" in hd for _, hd in rest))
        self.assertGreaterEqual(len({hd["X-Pid"] for _, hd in rest}), 2)
        self.assertEqual(cb.stats["failures"], 5)

        # the limit: 20/minute across the 4 workers
        with ThreadPoolExecutor(8) as pool:
            got = list(pool.map(get, [self.base + "/limited"] * 50))
        codes = [s for s, _ in got]
        self.assertEqual((codes.count(200), codes.count(429)), (20, 30))
        self.assertGreaterEqual(len({hd["X-Pid"] for _, hd in got}), 2)
        denied = [hd for s, hd in got if s == 429][0]
        self.assertEqual(denied["RateLimit-Limit"], "20")
        self.assertIn("Retry-After", denied)

        # requests were counted in flight by the hooks, and shutdown drains:
        # readiness fails first, while a slow request in flight is still
        # served to the end, and only then do the workers stop
        self.assertGreater(sum(w["served"] for w in self.box.workers()), 60)
        with ThreadPoolExecutor(1) as pool:
            slow = pool.submit(get, self.base + "/slow?1.5")
            deadline = time.monotonic() + 5
            while self.box.health()["in_flight"] == 0:
                self.assertLess(time.monotonic(), deadline, "the slow request never began")
                time.sleep(0.01)
            self.proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 5
            while not self.box.draining:
                self.assertLess(time.monotonic(), deadline, "SIGTERM did not drain")
                time.sleep(0.01)
            h = self.box.health()
            self.assertFalse(h["ready"])
            self.assertGreaterEqual(h["workers_alive"], 4)   # nothing stopped yet
            self.assertEqual(slow.result()[0], 200)
        self.assertEqual(self.proc.wait(15), 0)
        self.assertTrue(self.box.draining)
        self.assertFalse(any(w["alive"] for w in self.box.workers()))


if __name__ == "__main__":
    unittest.main()
