"""CircuitBreaker in pybreaker's shape."""
import asyncio
import time
import unittest

from helpers import BoxCase, fusebox
from fusebox import CircuitBreaker, CircuitBreakerError, CircuitBreakerListener


class Boom(Exception):
    pass


def fail():
    raise Boom("upstream down")


def ok(x=1):
    return x


class Recorder(CircuitBreakerListener):
    def __init__(self):
        self.events = []

    def before_call(self, cb, func, *args, **kwargs):
        self.events.append(("before", func.__name__))

    def state_change(self, cb, old_state, new_state):
        self.events.append(("state", old_state.name, new_state.name))

    def failure(self, cb, exc):
        self.events.append(("failure", type(exc).__name__))

    def success(self, cb):
        self.events.append(("success",))


class BreakerShape(BoxCase):
    def breaker(self, **kw):
        kw.setdefault("name", "svc")
        return CircuitBreaker(box=self.box, **kw)

    def test_trips_after_fail_max_and_rejects(self):
        cb = self.breaker(fail_max=3, reset_timeout=60)
        self.assertEqual(cb.current_state, "closed")
        for i in range(2):
            with self.assertRaises(Boom):
                cb.call(fail)
        self.assertEqual(cb.fail_counter, 2)
        with self.assertRaises(CircuitBreakerError) as e:
            cb.call(fail)                      # the failure that trips it
        self.assertIsInstance(e.exception.__cause__, Boom)
        self.assertEqual(cb.current_state, "open")
        called = []
        with self.assertRaises(CircuitBreakerError) as e:
            cb.call(lambda: called.append(1))
        self.assertEqual(called, [])           # not called while open
        self.assertEqual(e.exception.reason, "open")
        self.assertGreater(e.exception.retry_after, 59)

    def test_no_new_error_on_trip(self):
        cb = self.breaker(fail_max=1, throw_new_error_on_trip=False)
        with self.assertRaises(Boom):
            cb.call(fail)
        self.assertEqual(cb.current_state, "open")

    def test_success_resets_fail_counter(self):
        cb = self.breaker(fail_max=3)
        for f in (fail, fail):
            with self.assertRaises(Boom):
                cb.call(f)
        self.assertEqual(cb.call(ok, 7), 7)
        self.assertEqual(cb.fail_counter, 0)

    def test_half_open_then_closed(self):
        cb = self.breaker(fail_max=1, reset_timeout=0.2)
        with self.assertRaises(CircuitBreakerError):
            cb.call(fail)
        time.sleep(0.3)
        self.assertEqual(cb.call(ok, 5), 5)   # the trial
        self.assertEqual(cb.current_state, "closed")

    def test_half_open_failure_reopens(self):
        cb = self.breaker(fail_max=1, reset_timeout=0.2)
        with self.assertRaises(CircuitBreakerError):
            cb.call(fail)
        time.sleep(0.3)
        with self.assertRaises(CircuitBreakerError):
            cb.call(fail)
        self.assertEqual(cb.current_state, "open")

    def test_exclude_classes_and_predicates(self):
        cb = self.breaker(fail_max=1, exclude=[ValueError, lambda e: "benign" in str(e)])
        with self.assertRaises(ValueError):
            cb.call(self._raise, ValueError("bad input"))
        with self.assertRaises(KeyError):
            cb.call(self._raise, KeyError("benign miss"))
        self.assertEqual(cb.current_state, "closed")
        self.assertEqual(cb.stats["ignored"], 2)

    @staticmethod
    def _raise(e):
        raise e

    def test_decorator_sync_and_async(self):
        cb = self.breaker(fail_max=2)

        @cb
        def double(x):
            return 2 * x

        @cb
        async def triple(x):
            await asyncio.sleep(0)
            return 3 * x

        @cb
        async def broken():
            raise Boom()

        self.assertEqual(double(4), 8)
        self.assertEqual(double.__name__, "double")
        self.assertEqual(asyncio.run(triple(2)), 6)
        with self.assertRaises(Boom):
            asyncio.run(broken())
        with self.assertRaises(CircuitBreakerError):
            asyncio.run(broken())
        with self.assertRaises(CircuitBreakerError):
            asyncio.run(triple(1))

    def test_name_from_decorated_function(self):
        cb = CircuitBreaker(box=self.box)

        @cb
        def get_embeddings():
            return 1
        get_embeddings()
        self.assertTrue(cb.name.endswith("get_embeddings"), cb.name)
        self.assertIsNotNone(self.box.breaker_info(cb.name))

    def test_state_reads_take_no_snapshot(self):
        # current_state, fail_counter, stats and the trip check read the one
        # record (fbx_breaker_info_get): the box's snapshot is never made
        cb = self.breaker(fail_max=2, listeners=[Recorder()])
        self.assertEqual((cb.current_state, cb.fail_counter), ("closed", 0))
        with self.assertRaises(Boom):
            cb.call(fail)
        self.assertEqual(cb.fail_counter, 1)
        with self.assertRaises(CircuitBreakerError) as e:
            cb.call(fail)
        self.assertEqual(e.exception.reason, "tripped")
        self.assertGreater(e.exception.retry_after, 0)
        self.assertEqual(cb.current_state, "open")
        self.assertEqual(cb.stats["trips"], 1)
        i = self.box.breaker_info("svc")
        self.assertEqual((i.name, i.state, i.failures, i.trips),
                         (b"svc", fusebox._lib.FBX_OPEN, 2, 1))
        self.assertIsNone(self.box.breaker_info("nobody"))
        self.assertIsNone(self.box._snap)

    def test_open_and_close(self):
        cb = self.breaker()
        cb.open()
        self.assertEqual(cb.current_state, "open")
        self.assertEqual(cb.current_state.detail, "forced_open")
        with self.assertRaises(CircuitBreakerError) as e:
            cb.call(ok)
        self.assertEqual(e.exception.reason, "forced_open")
        cb.close()
        self.assertEqual(cb.current_state, "closed")
        self.assertEqual(cb.call(ok, 3), 3)

    def test_listeners(self):
        rec = Recorder()
        cb = self.breaker(fail_max=1, listeners=[rec])
        cb.call(ok)
        with self.assertRaises(CircuitBreakerError):
            cb.call(fail)
        self.assertEqual(rec.events, [("before", "ok"), ("success",), ("before", "fail"),
                                      ("failure", "Boom"), ("state", "closed", "open")])

    def test_same_name_shares_state(self):
        a = self.breaker(fail_max=2)
        b = self.breaker(fail_max=2)
        with self.assertRaises(Boom):
            a.call(fail)
        with self.assertRaises(CircuitBreakerError):
            b.call(fail)
        self.assertEqual(a.current_state, "open")

    def test_conflicting_configuration(self):
        self.breaker(fail_max=2).register()
        with self.assertRaises(fusebox.ConfigConflict) as e:
            self.breaker(fail_max=3).register()
        self.assertIn("fail_max", str(e.exception))

    def test_cancellation_is_not_a_failure(self):
        cb = self.breaker(fail_max=1)

        async def cancelled():
            raise asyncio.CancelledError()
        with self.assertRaises(asyncio.CancelledError):
            asyncio.run(cb.call_async(cancelled))
        self.assertEqual(cb.current_state, "closed")


class BreakerBadInput(BoxCase):
    def test_bad_settings(self):
        with self.assertRaises(TypeError):
            CircuitBreaker(fail_max="5", box=self.box)
        with self.assertRaises(ValueError):
            CircuitBreaker(reset_timeout=-1, box=self.box)
        with self.assertRaises(fusebox.InvalidArgument) as e:
            CircuitBreaker(fail_max=0, box=self.box)   # no trip policy on
        self.assertIn("fail_max", str(e.exception))
        with self.assertRaises(fusebox.BadName):
            CircuitBreaker(name="has space", box=self.box)
        with self.assertRaises(TypeError):
            CircuitBreaker(exclude=[42], box=self.box)
        with self.assertRaises(TypeError):
            CircuitBreaker(box=3.5).call(ok)
        with self.assertRaises(TypeError):
            CircuitBreaker(box=self.box)(42)

    def test_closed_box(self):
        cb = CircuitBreaker(name="c", box=self.box)
        cb.call(ok)
        self.box.close()
        with self.assertRaises(fusebox.BoxClosedError):
            cb.call(ok)
        with self.assertRaises(fusebox.BoxClosedError):
            cb.current_state


if __name__ == "__main__":
    unittest.main()
