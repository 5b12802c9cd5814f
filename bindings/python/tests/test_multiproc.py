"""Several processes (os.fork) sharing one breaker and one limit: exact
host-wide totals."""
import os
import time
import unittest

from helpers import BoxCase, fusebox
from fusebox import CircuitBreaker, CircuitBreakerError, RateLimiter

PROCS = 4


def fork_all(n, body):
    """Runs body(i) in n children; returns what each wrote (an int)."""
    kids = []
    for i in range(n):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            code = 1
            try:
                os.write(w, str(body(i)).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        kids.append((pid, r))
    out = []
    for pid, r in kids:
        data = b""
        while True:
            chunk = os.read(r, 64)
            if not chunk:
                break
            data += chunk
        os.close(r)
        _, status = os.waitpid(pid, 0)
        if status != 0:
            raise AssertionError("child %d failed (status %d)" % (pid, status))
        out.append(int(data))
    return out


class ManyProcesses(BoxCase):
    def test_limit_admits_exactly_its_count(self):
        lim = RateLimiter("api", "50/minute", box=self.box)          # the log: exact
        glob = RateLimiter("keyed", "30/minute", box=self.box, keyed=True)
        start = time.monotonic() + 0.2

        def body(i):
            while time.monotonic() < start:
                pass
            a = sum(lim.hit() for _ in range(40))
            b = sum(glob.hit("token-1") for _ in range(25))
            return a * 1000 + b
        out = fork_all(PROCS, body)
        self.assertEqual(sum(o // 1000 for o in out), 50)
        self.assertEqual(sum(o % 1000 for o in out), 30)
        st = lim.stats()
        self.assertEqual((st["allowed"], st["denied"]), (50, PROCS * 40 - 50))

    def test_breaker_trips_after_fail_max_host_wide(self):
        cb = CircuitBreaker(name="up", fail_max=5, reset_timeout=60, box=self.box)

        def fail():
            raise ConnectionError()

        def one_failure(i):
            try:
                cb.call(fail)
            except ConnectionError:
                return 1
            except CircuitBreakerError:
                return 2
            return 0

        # four processes fail once each: four consecutive failures host-wide
        self.assertEqual(fork_all(4, one_failure), [1, 1, 1, 1])
        self.assertEqual(cb.current_state, "closed")
        self.assertEqual(cb.fail_counter, 4)
        # the fifth failure, in yet another process, trips it for everyone
        self.assertEqual(fork_all(1, one_failure), [2])
        self.assertEqual(cb.current_state, "open")
        called = []

        def try_call(i):
            try:
                cb.call(lambda: called.append(1))
                return 1
            except CircuitBreakerError:
                return 0
        self.assertEqual(fork_all(PROCS, try_call), [0] * PROCS)
        st = cb.stats
        self.assertEqual((st["failures"], st["trips"], st["rejected"]), (5, 1, PROCS))

    def test_concurrent_failures_trip_once(self):
        cb = CircuitBreaker(name="c", fail_max=5, reset_timeout=60, box=self.box)

        def body(i):
            n = 0
            for _ in range(20):
                try:
                    cb.call(self._fail)
                except ConnectionError:
                    n += 1
                except CircuitBreakerError:
                    pass
            return n
        out = fork_all(PROCS, body)
        st = cb.stats
        self.assertEqual(st["trips"], 1)
        self.assertEqual(cb.current_state, "open")
        # calls already admitted when the fifth failure landed may still run
        self.assertGreaterEqual(st["failures"], 5)
        self.assertLessEqual(st["failures"], 5 + PROCS - 1)
        self.assertEqual(st["failures"] + st["rejected"], PROCS * 20)

    @staticmethod
    def _fail():
        raise ConnectionError()


if __name__ == "__main__":
    unittest.main()
