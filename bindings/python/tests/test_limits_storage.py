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
        self.assertEqual(self.window.get_window_stats(item, "a")[1], 2)   # whole at once
        self.assertTrue(self.window.hit(item, "a"))
        self.assertTrue(self.window.hit(item, "a"))
        self.assertFalse(self.window.hit(item, "a"))
        self.assertFalse(self.window.hit(item, "b"))
        self.store.reset()
        for k in ("a", "b"):
            self.assertEqual(self.window.get_window_stats(item, k)[1], 2)
            self.assertTrue(self.window.hit(item, k))
            self.assertTrue(self.window.hit(item, k))
            self.assertFalse(self.window.hit(item, k))
        self.window.clear(item, "never-hit")              # nothing to forget: no error

    def test_clear_and_reset_reach_every_process_limiter(self):
        # another storage (another process's, in effect) made the limiters:
        # this one has never registered them and still clears them exactly
        self.other_store = storage.storage_from_string("fusebox://" + self.box_name)
        other = strategies.MovingWindowRateLimiter(self.other_store)   # a weak reference
        items = [parse("1/minute"), parse("2/hour")]
        for item in items:
            while other.hit(item, "k"):
                pass
        fresh = storage.storage_from_string("fusebox://" + self.box_name)
        self.assertEqual(fresh._limiters, {})
        fresh.clear(items[0].key_for("k"))
        self.assertTrue(other.hit(items[0], "k"))
        self.assertFalse(other.hit(items[1], "k"))      # another rule's key: untouched
        storage.storage_from_string("fusebox://" + self.box_name).reset()
        self.assertEqual([other.hit(items[1], "k") for _ in range(3)], [True, True, False])
        # the reset is an operator's action in the box's events, one per limiter
        evs = (L.fbx_event * 64)()
        n, nxt = ctypes.c_size_t(), ctypes.c_uint64()
        self.assertEqual(L.lib().fbx_events_read(self.box.handle(), 0, evs, 64, ctypes.byref(n),
                                                 ctypes.byref(nxt)), 0)
        resets = sorted(e.name for e in evs[:n.value] if e.reason == b"limits storage: reset()")
        self.assertEqual(resets, [b"limits:1/60s", b"limits:2/3600s"])

    def test_reads_consume_nothing(self):
        item = parse("3/minute")
        for _ in range(50):
            self.assertTrue(self.window.test(item, "r"))
            self.assertEqual(self.window.get_window_stats(item, "r")[1], 3)
        self.assertEqual([self.window.hit(item, "r") for _ in range(4)],
                         [True, True, True, False])
        for _ in range(50):
            self.assertFalse(self.window.test(item, "r"))
        info = self.box.limiter_info("limits:3/60s")
        self.assertEqual((info.allowed, info.denied, info.keys), (3, 1, 1))   # peeks uncounted
        self.window.get_window_stats(item, "unseen")
        self.assertEqual(self.box.limiter_info("limits:3/60s").keys, 1)       # nor added

    def test_shared_between_storages(self):
        other_store = storage.storage_from_string("fusebox://" + self.box_name)
        other = strategies.MovingWindowRateLimiter(other_store)
        item = parse("2/hour")
        self.assertTrue(self.window.hit(item, "k"))
        self.assertTrue(other.hit(item, "k"))
        self.assertFalse(self.window.hit(item, "k"))

    def test_threads_share_one_storage(self):
        import threading
        item = parse("100/hour")
        admitted, stats = [], []

        def work():
            n = sum(self.window.hit(item, "t") for _ in range(60))
            stats.append(self.window.get_window_stats(item, "t")[1])
            admitted.append(n)
        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sum(admitted), 100)
        self.assertTrue(all(0 <= r <= 100 for r in stats), stats)
        self.assertEqual(self.window.get_window_stats(item, "t")[1], 0)

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
    the same hits and report the same moving windows (get_moving_window's
    start and count, so test() and get_window_stats()), through clears and
    resets, except exactly one period after an entry (limits' window is
    [now - period, now], fusebox's (now - period, now])."""

    def run_both(self, clock, rules, steps):
        self.stores = (storage.storage_from_string("fusebox://" + self.box_name),
                       storage.MemoryStorage())   # strategies keep weak references
        fb = strategies.MovingWindowRateLimiter(self.stores[0])
        mem = strategies.MovingWindowRateLimiter(self.stores[1])
        items = [parse(r) for r in rules]
        out, windows = [], []
        for dt, key, op, cost in steps:
            clock.advance(dt)
            if op == "reset":
                self.stores[0].reset()
                self.stores[1].reset()
                continue
            for item in items:
                if op == "hit":
                    out.append((fb.hit(item, key, cost=cost), mem.hit(item, key, cost=cost)))
                elif op == "clear":
                    fb.clear(item, key)
                    mem.clear(item, key)
                k = item.key_for(key)
                windows.append((self.stores[0].get_moving_window(k, item.amount,
                                                                 item.get_expiry()),
                                self.stores[1].get_moving_window(k, item.amount,
                                                                 item.get_expiry()),
                                fb.test(item, key), mem.test(item, key),
                                fb.get_window_stats(item, key),
                                mem.get_window_stats(item, key)))
        return out, windows

    def steps(self, seed, n, periods, ops):
        """n random steps on four keys, kept clear of the boundary (one period
        after any entry, where the windows differ by design and limits'
        float seconds cannot tell) and of whole seconds (where int() of the
        newest entry's time could round either way)."""
        import random
        rnd = random.Random(seed)
        steps, times, t = [], {}, 0.0
        while len(steps) < n:
            dt = rnd.choice([0, 0, 1, 2, 5, 20, 100, 400]) / 1000.0 + rnd.randrange(1, 997) * 1e-6
            key = "k%d" % rnd.randrange(4)
            when = t + dt
            if any(abs(when - p - u) < 2e-6 for ts in times.values() for u in ts
                   for p in periods):
                continue
            if abs(when - round(when)) < 2e-6:
                continue
            t = when
            op = rnd.choice(ops)
            if op == "hit":
                times.setdefault(key, []).append(t)
            steps.append((dt, key, op, rnd.choice([1, 1, 1, 2, 3])))
        return steps

    def replay(self, rules, steps):
        self.box.close()
        fusebox.unlink(self.box_name)
        with FakeClock() as clock:
            self.box = fusebox.Box(self.box_name)    # created on the fake clock
            out, windows = self.run_both(clock, rules, steps)
            self.box.close()
        return out, windows

    def test_random_sequences_match(self):
        periods = (1.0, 10.0)
        out, windows = self.replay(["5/second", "12/10 seconds"],
                                   self.steps(1234, 3000, periods, ["hit"]))
        diffs = [i for i, (a, b) in enumerate(out) if a != b]
        self.assertEqual(diffs, [])
        self.assertGreater(sum(1 for a, _ in out if a), 1000)
        self.assertGreater(sum(1 for a, _ in out if not a), 1000)
        wdiffs = [(i, w) for i, w in enumerate(windows)
                  if w[0] != w[1] or w[2] != w[3] or w[4] != w[5]]
        self.assertEqual(wdiffs[:5], [])
        self.assertGreater(len({w[1][1] for w in windows}), 5)   # counts of every size

    def test_windows_between_hits_clears_and_resets_match(self):
        periods = (1.0, 3.0)
        ops = ["hit"] * 12 + ["peek"] * 4 + ["clear", "reset"]
        out, windows = self.replay(["4/second", "9/3 seconds"],
                                   self.steps(99, 2500, periods, ops))
        self.assertEqual([i for i, (a, b) in enumerate(out) if a != b], [])
        wdiffs = [(i, w) for i, w in enumerate(windows)
                  if w[0] != w[1] or w[2] != w[3] or w[4] != w[5]]
        self.assertEqual(wdiffs[:5], [])
        self.assertGreater(sum(1 for a, _ in out if not a), 300)
        self.assertGreater(sum(1 for w in windows if w[1][1] == 0), 100)

    def test_the_boundary_differs(self):
        self.box.close()
        fusebox.unlink(self.box_name)
        with FakeClock() as clock:
            self.box = fusebox.Box(self.box_name)
            out, windows = self.run_both(clock, ["2/second"], [
                (0.1, "k", "hit", 1), (0.25, "k", "hit", 1), (0.5, "k", "hit", 1),
                (0.25, "k", "peek", 1),   # exactly 1 s after the first: out of fusebox's window
                (0, "k", "hit", 1),       # ... so fusebox admits
            ])
            self.box.close()
        self.assertEqual(out, [(True, True), (True, True), (False, False), (True, False)])
        # at the boundary limits still counts the first entry; fusebox does not
        self.assertEqual([w[0][1] for w in windows], [1, 2, 2, 1, 2])
        self.assertEqual([w[1][1] for w in windows], [1, 2, 2, 2, 2])


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
