"""Retry budgets, bulkheads, the shared stale-if-error cache, backoff and
retry — thin classes over fbx_budget_*, fbx_bulkhead_*, fbx_cache_* and
fbx_backoff_*.

retry() is fbx_retry's loop written again in Python over the same
primitives (budget deposit/withdraw, breaker allow/done, fbx_backoff_delay,
fbx_draining) rather than fbx_retry with a CFUNCTYPE callback: a callback
cannot let a Python exception through C (it would have to be caught, stored
and raised again, losing nothing but clarity), fbx_retry's nanosleep cannot
be interrupted by Ctrl-C or cancelled, and an async def function cannot be
awaited from a C loop at all.  The Python loop keeps the exception, sleeps
with time.sleep / asyncio.sleep, and takes exception filters; its decisions
are fbx_retry's, step for step."""
import asyncio
import contextlib
import ctypes
import time

from . import _lib as L
from .box import NS, encode_name, get_box, to_ns
from .breaker import CircuitBreaker, CircuitBreakerError
from .errors import BoxClosedError, FuseboxError, check

JITTERS = {"full": L.FBX_JITTER_FULL, "none": L.FBX_JITTER_NONE, "equal": L.FBX_JITTER_EQUAL,
           "decorrelated": L.FBX_JITTER_DECORRELATED}


def _int(v, what):
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError("%s must be an int, not %s" % (what, type(v).__name__))
    if not 0 <= v < 2 ** 32:
        raise ValueError("%s out of range: %r" % (what, v))
    return v


class Backoff:
    """AWS's exponential backoff with jitter (fbx_backoff): max_retries,
    base and cap in seconds, jitter "full", "none", "equal" or
    "decorrelated".  A pure function of this process: no shared state."""

    def __init__(self, max_retries=3, base=0.1, cap=10.0, jitter="full", seed=None):
        self._lib = L.lib()
        b = L.fbx_backoff()
        self._lib.fbx_backoff_init(ctypes.byref(b))
        b.max_retries = _int(max_retries, "max_retries")
        b.base_ns = to_ns(base, "base")
        b.cap_ns = to_ns(cap, "cap")
        if jitter not in JITTERS:
            raise ValueError("jitter must be one of %s, not %r" % (", ".join(JITTERS), jitter))
        b.jitter = JITTERS[jitter]
        check(self._lib.fbx_backoff_check(ctypes.byref(b)), "backoff")
        if seed is not None:
            self._lib.fbx_backoff_seed(ctypes.byref(b), seed)
        self._b = b

    @property
    def max_retries(self):
        return self._b.max_retries

    def delay(self, n):
        """Seconds to wait before retry n (1 for the first retry)."""
        return self._lib.fbx_backoff_delay(ctypes.byref(self._b), _int(n, "n")) / NS


class _Record:
    kind = "record"

    def _check_open(self):
        if self.box._h is None:
            raise BoxClosedError("%s %r" % (self.kind, self.name))


class RetryBudget(_Record):
    """A host-wide retry budget: retries may be percent of the requests in
    the last ttl seconds, plus min_per_sec a second."""
    kind = "retry budget"

    def __init__(self, name, percent=20, min_per_sec=10, ttl=10.0, box=None):
        self._lib = L.lib()
        self.name = name
        self.box = get_box(box)
        cfg = L.fbx_budget_config()
        self._lib.fbx_budget_config_init(ctypes.byref(cfg))
        cfg.percent = _int(percent, "percent")
        cfg.min_per_sec = _int(min_per_sec, "min_per_sec")
        cfg.ttl_ns = to_ns(ttl, "ttl")
        out = ctypes.c_void_p()
        check(self._lib.fbx_budget_register(self.box.handle(), encode_name(name, "budget name"),
                                            ctypes.byref(cfg), ctypes.byref(out)),
              "retry budget %r" % name)
        self._h = out.value

    def deposit(self):
        """A first attempt: adds to what retries may spend."""
        self._check_open()
        check(self._lib.fbx_budget_deposit(self._h), "retry budget %r" % self.name)

    def withdraw(self):
        """A retry: True when the budget allows it."""
        self._check_open()
        rc = self._lib.fbx_budget_withdraw(self._h)
        if rc == L.FBX_ELIMITED:
            return False
        check(rc, "retry budget %r" % self.name)
        return True

    def stats(self):
        return self.box.stats("budgets").get(self.name)


class BulkheadFull(FuseboxError):
    """Every place of the bulkhead is held (after waiting, if asked to)."""


class Bulkhead(_Record):
    """At most cap calls in flight at once, host-wide.

        with bulkhead:            # or bulkhead.acquire(wait=0.5) / release(permit)
            call_upstream()
    """
    kind = "bulkhead"

    def __init__(self, name, cap, box=None, wait=0.0):
        self._lib = L.lib()
        self.name = name
        self.box = get_box(box)
        self.wait = wait
        out = ctypes.c_void_p()
        check(self._lib.fbx_bulkhead_register(self.box.handle(), encode_name(name, "bulkhead name"),
                                              _int(cap, "cap"), ctypes.byref(out)),
              "bulkhead %r" % name)
        self._h = out.value
        self._held = []

    def acquire(self, wait=None):
        """A permit, or BulkheadFull after waiting up to wait seconds."""
        self._check_open()
        p = L.fbx_bulkhead_permit()
        rc = self._lib.fbx_bulkhead_acquire(self._h, to_ns(self.wait if wait is None else wait,
                                                           "wait"), ctypes.byref(p))
        if rc == L.FBX_EFULL:
            raise BulkheadFull(rc, "bulkhead %r" % self.name, "every place is held")
        check(rc, "bulkhead %r" % self.name)
        return p

    def release(self, permit):
        self._check_open()
        if not isinstance(permit, L.fbx_bulkhead_permit):
            raise TypeError("release() takes a permit from acquire()")
        check(self._lib.fbx_bulkhead_release(self._h, ctypes.byref(permit)),
              "bulkhead %r" % self.name)

    @contextlib.contextmanager
    def place(self, wait=None):
        p = self.acquire(wait)
        try:
            yield p
        finally:
            self.release(p)

    def __enter__(self):
        self._held.append(self.acquire())
        return self

    def __exit__(self, *exc):
        self.release(self._held.pop())

    def stats(self):
        return self.box.stats("bulkheads").get(self.name)


class CacheHit(bytes):
    """A cached value (bytes) with .age (seconds since it was put) and .stale."""
    age = 0.0
    stale = False


class Cache(_Record):
    """A shared stale-if-error cache: put() what a call fetched, get() the last
    good copy (fresh for ttl seconds, then stale for stale more).  Values are
    bytes (str is encoded as UTF-8), at most the box's cache_value_max."""
    kind = "cache"

    def __init__(self, name, ttl, stale=0.0, box=None):
        self._lib = L.lib()
        self.name = name
        self.box = get_box(box)
        out = ctypes.c_void_p()
        check(self._lib.fbx_cache_register(self.box.handle(), encode_name(name, "cache name"),
                                           to_ns(ttl, "ttl"), to_ns(stale, "stale"),
                                           ctypes.byref(out)),
              "cache %r" % name)
        self._h = out.value
        self._buf = None

    @staticmethod
    def _key(key):
        if isinstance(key, str):
            key = key.encode()
        if not isinstance(key, bytes):
            raise TypeError("a cache key must be str or bytes")
        return key

    def put(self, key, value):
        self._check_open()
        k = self._key(key)
        if isinstance(value, str):
            value = value.encode()
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise TypeError("a cached value must be bytes or str")
        value = bytes(value)
        check(self._lib.fbx_cache_put(self._h, k, len(k), value, len(value)),
              "cache %r" % self.name)

    def get(self, key, default=None):
        """The value as a CacheHit (bytes with .age and .stale), or default."""
        self._check_open()
        k = self._key(key)
        hit = L.fbx_cache_hit()
        cap = 1024
        while True:
            buf = ctypes.create_string_buffer(cap)
            rc = self._lib.fbx_cache_get(self._h, k, len(k), buf, cap, ctypes.byref(hit))
            if rc == L.FBX_ERANGE and hit.len > cap:
                cap = hit.len
                continue
            break
        if rc == L.FBX_ENOENT:
            return default
        check(rc, "cache %r" % self.name)
        v = CacheHit(buf.raw[:hit.len])
        v.age = hit.age_ns / NS
        v.stale = bool(hit.stale)
        return v

    def drop(self, key):
        self._check_open()
        k = self._key(key)
        rc = self._lib.fbx_cache_drop(self._h, k, len(k))
        if rc != L.FBX_ENOENT:
            check(rc, "cache %r" % self.name)

    def stats(self):
        return self.box.stats("caches").get(self.name)


class RetryError(Exception):
    """retry() gave up: .stopped ("exhausted", "breaker_open", "budget",
    "draining"), .attempts, .last_exception (also the __cause__)."""

    def __init__(self, stopped, attempts, last_exception, retry_after=0.0):
        super().__init__("gave up after %d attempt%s: %s%s" % (
            attempts, "" if attempts == 1 else "s", stopped,
            ": %r" % (last_exception,) if last_exception is not None else ""))
        self.stopped = stopped
        self.attempts = attempts
        self.last_exception = last_exception
        self.retry_after = retry_after


def _retryable(exc, retry_on):
    return isinstance(exc, Exception) and isinstance(exc, retry_on) and \
        not isinstance(exc, CircuitBreakerError)


class _Plan:
    """fbx_retry's loop, one decision at a time."""

    def __init__(self, box, backoff, breaker, budget):
        self.box = get_box(box) if box is not None else None
        self.backoff = backoff if backoff is not None else Backoff()
        if not isinstance(self.backoff, Backoff):
            raise TypeError("backoff must be a fusebox.Backoff")
        if breaker is not None and not isinstance(breaker, CircuitBreaker):
            raise TypeError("breaker must be a fusebox.CircuitBreaker")
        if budget is not None and not isinstance(budget, RetryBudget):
            raise TypeError("budget must be a fusebox.RetryBudget")
        self.breaker, self.budget = breaker, budget
        self.attempts = 0
        self.last = None

    def start(self):
        if self.budget is not None:
            self.budget.deposit()

    def next_delay(self, n):
        """None to go on after sleeping the returned seconds, else raises."""
        if n > self.backoff.max_retries:
            self.stop("exhausted")
        if self.box is not None and self.box.draining:
            self.stop("draining")
        # another process's failures may have opened it since the last
        # attempt: a retry would spend the budget and sleep only to be refused
        refused = self.breaker._refuses_now() if self.breaker is not None else None
        if refused is not None:
            self.stop("breaker_open", refused)
        if self.budget is not None and not self.budget.withdraw():
            self.stop("budget")
        return self.backoff.delay(n)

    def stop(self, why, retry_after=0.0):
        raise RetryError(why, self.attempts, self.last, retry_after) from self.last

    def failed(self, e, retry_on):
        """An attempt raised e.  One that ran and may be retried is counted
        (a CircuitBreakerError "tripped": it ran, failed and tripped the
        breaker; next_delay then stops at the open breaker, as fbx_retry's
        loop does); anything else is raised: the breaker's own rejection,
        or an exception not in retry_on."""
        if isinstance(e, CircuitBreakerError):
            if e.reason != "tripped":
                self.rejected(e)
            e = e.__cause__
        elif not _retryable(e, retry_on):
            raise e
        self.attempts += 1
        self.last = e

    def rejected(self, e):
        if self.attempts == 0:
            raise e  # nothing was called: the breaker's own error, as fbx_retry's FBX_EOPEN
        self.stop("breaker_open", e.retry_after)


def retry(func, *args, box=None, backoff=None, breaker=None, budget=None, retry_on=(Exception,),
          **kwargs):
    """Calls func(*args, **kwargs), retrying failures (exceptions in
    retry_on) with backoff's delays, never into the breaker's open state,
    never past the retry budget and not once the box drains.  Returns func's
    result; raises CircuitBreakerError when the breaker rejects the first
    attempt, else RetryError (with the last exception as its cause)."""
    plan = _Plan(box, backoff, breaker, budget)
    plan.start()
    n = 0
    while True:
        if n > 0:
            time.sleep(plan.next_delay(n))
        try:
            if breaker is not None:
                return breaker.call(func, *args, **kwargs)
            return func(*args, **kwargs)
        except BaseException as e:
            plan.failed(e, retry_on)
        n += 1


async def retry_async(func, *args, box=None, backoff=None, breaker=None, budget=None,
                      retry_on=(Exception,), **kwargs):
    """retry() for async def functions (sleeps with asyncio.sleep)."""
    plan = _Plan(box, backoff, breaker, budget)
    plan.start()
    n = 0
    while True:
        if n > 0:
            await asyncio.sleep(plan.next_delay(n))
        try:
            if breaker is not None:
                return await breaker.call_async(func, *args, **kwargs)
            return await func(*args, **kwargs)
        except BaseException as e:
            plan.failed(e, retry_on)
        n += 1
