"""Retry budgets, bulkheads, the shared cache, backoff and retry."""
import asyncio
import os
import time
import unittest

from helpers import BoxCase, fusebox
from fusebox import (Backoff, Bulkhead, BulkheadFull, Cache, CircuitBreaker,
                     CircuitBreakerError, RetryBudget, RetryError, retry, retry_async)


class Flaky:
    def __init__(self, fails):
        self.fails, self.calls = fails, 0

    def __call__(self, x=0):
        self.calls += 1
        if self.calls <= self.fails:
            raise ConnectionError("try again")
        return x + 1


NOW = Backoff(max_retries=3, base=0.001, cap=0.002, jitter="none")


class Resilience(BoxCase):
    def test_budget(self):
        b = RetryBudget("api", percent=10, min_per_sec=1, ttl=1, box=self.box)
        for _ in range(20):
            b.deposit()
        allowed = sum(b.withdraw() for _ in range(10))
        self.assertEqual(allowed, 3)               # 10% of 20, plus 1 a second
        self.assertEqual(b.stats()["retries_refused"], 7)

    def test_bulkhead(self):
        h = Bulkhead("db", 2, box=self.box)
        p1 = h.acquire()
        with h:
            with self.assertRaises(BulkheadFull):
                h.acquire()
            t0 = time.monotonic()
            with self.assertRaises(BulkheadFull):
                h.acquire(wait=0.1)
            self.assertGreaterEqual(time.monotonic() - t0, 0.09)
        h.release(p1)
        with self.assertRaises(fusebox.InvalidArgument):
            h.release(p1)                          # twice
        with h.place():
            self.assertEqual(h.stats()["in_flight"], 1)
        with self.assertRaises(ValueError):
            Bulkhead("big", 5000, box=self.box)

    def test_cache(self):
        c = Cache("prices", ttl=0.2, stale=0.3, box=self.box)
        self.assertIsNone(c.get("sku-1"))
        c.put("sku-1", b"12.50")
        v = c.get("sku-1")
        self.assertEqual(v, b"12.50")
        self.assertFalse(v.stale)
        time.sleep(0.25)
        v = c.get("sku-1")
        self.assertTrue(v.stale)
        self.assertGreater(v.age, 0.2)
        c.drop("sku-1")
        self.assertIsNone(c.get("sku-1"))
        with self.assertRaises(fusebox.OutOfRange):
            c.put("k", b"x" * 5000)
        with self.assertRaises(TypeError):
            c.put("k", 42)
        # shared with another process
        c.put("k", "from parent")
        pid = os.fork()
        if pid == 0:
            ok = c.get("k") == b"from parent"
            c.put("k", "from child")
            os._exit(0 if ok else 1)
        self.assertEqual(os.waitpid(pid, 0)[1], 0)
        self.assertEqual(c.get("k"), b"from child")

    def test_backoff(self):
        b = Backoff(max_retries=5, base=0.1, cap=1.0, jitter="none")
        self.assertEqual([b.delay(n) for n in range(1, 6)], [0.1, 0.2, 0.4, 0.8, 1.0])
        full = Backoff(base=0.1, cap=1.0, seed=7)
        self.assertTrue(all(0 <= full.delay(3) <= 0.4 for _ in range(50)))
        with self.assertRaises(ValueError):
            Backoff(jitter="wild")
        with self.assertRaises(fusebox.InvalidArgument):
            Backoff(base=2.0, cap=1.0)

    def test_retry_succeeds(self):
        f = Flaky(2)
        budget = RetryBudget("r", box=self.box)
        self.assertEqual(retry(f, 1, backoff=NOW, budget=budget), 2)
        self.assertEqual(f.calls, 3)

    def test_retry_exhausted(self):
        f = Flaky(10)
        with self.assertRaises(RetryError) as e:
            retry(f, backoff=NOW)
        self.assertEqual((e.exception.stopped, e.exception.attempts), ("exhausted", 4))
        self.assertIsInstance(e.exception.__cause__, ConnectionError)

    def test_retry_not_retryable(self):
        def bad():
            raise KeyError("no")
        with self.assertRaises(KeyError):
            retry(bad, backoff=NOW, retry_on=(ConnectionError,))

    def test_retry_stops_at_the_breaker(self):
        cb = CircuitBreaker(name="up", fail_max=2, box=self.box)
        f = Flaky(10)
        with self.assertRaises(RetryError) as e:
            retry(f, backoff=NOW, breaker=cb)
        self.assertEqual((e.exception.stopped, f.calls), ("breaker_open", 2))
        with self.assertRaises(CircuitBreakerError):
            retry(f, backoff=NOW, breaker=cb)      # open: nothing called
        self.assertEqual(f.calls, 2)

    def test_retry_spends_nothing_once_open(self):
        # the attempt that trips the breaker is the last: no retry taken
        # from the budget, no backoff slept only to be refused
        cb = CircuitBreaker(name="up1", fail_max=1, reset_timeout=30, box=self.box)
        budget = RetryBudget("roomy", percent=50, min_per_sec=10, ttl=10, box=self.box)
        f = Flaky(10)
        with self.assertRaises(RetryError) as e:
            retry(f, backoff=NOW, breaker=cb, budget=budget)
        self.assertEqual((e.exception.stopped, e.exception.attempts, f.calls),
                         ("breaker_open", 1, 1))
        self.assertGreater(e.exception.retry_after, 0)
        self.assertEqual(budget.stats()["retries_allowed"], 0)
        # opened by another process between two attempts: no retry either
        other = CircuitBreaker(name="up2", fail_max=5, box=self.box)

        def trips_it_from_elsewhere():
            other.open(reason="elsewhere")
            raise ConnectionError("down")
        with self.assertRaises(RetryError) as e:
            retry(trips_it_from_elsewhere, backoff=NOW, breaker=other, budget=budget)
        self.assertEqual((e.exception.stopped, e.exception.attempts), ("breaker_open", 1))
        self.assertEqual(budget.stats()["retries_allowed"], 0)

    def test_retry_budget_and_drain(self):
        budget = RetryBudget("tight", percent=1, min_per_sec=1, ttl=1, box=self.box)
        with self.assertRaises(RetryError) as e:
            retry(Flaky(10), backoff=NOW, budget=budget)
        self.assertEqual(e.exception.stopped, "budget")
        self.box.drain()
        with self.assertRaises(RetryError) as e:
            retry(Flaky(10), backoff=NOW, box=self.box)
        self.assertEqual((e.exception.stopped, e.exception.attempts), ("draining", 1))

    def test_retry_async(self):
        calls = []

        async def flaky():
            calls.append(1)
            if len(calls) < 3:
                raise ConnectionError()
            return "ok"
        self.assertEqual(asyncio.run(retry_async(flaky, backoff=NOW)), "ok")
        self.assertEqual(len(calls), 3)

    def test_closed_box(self):
        c = Cache("c", ttl=1, box=self.box)
        self.box.close()
        with self.assertRaises(fusebox.BoxClosedError):
            c.get("k")


if __name__ == "__main__":
    unittest.main()
