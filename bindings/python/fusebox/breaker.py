"""A host-wide circuit breaker with pybreaker's shape.

    from fusebox import CircuitBreaker, CircuitBreakerError

    breaker = CircuitBreaker(fail_max=5, reset_timeout=30, exclude=[ValueError])

    @breaker
    def get_embeddings(texts): ...

Every process that constructs a breaker of the same name on the same box
shares one breaker: it trips after fail_max failures host-wide.
"""
import ctypes
import functools
import hashlib
import inspect
import sys
import time

from . import _lib as L
from .box import NS, encode_name, get_box, to_ns
from .errors import BoxClosedError, ConfigConflict, check, error

STATE_CLOSED = "closed"
STATE_OPEN = "open"
STATE_HALF_OPEN = "half-open"


class State(str):
    """A state name ("closed", "open", "half-open") that also has .name, as
    pybreaker's state objects do; .detail is fusebox's own word
    ("forced_open", ...)."""

    def __new__(cls, value, detail=None):
        s = str.__new__(cls, value)
        s.detail = detail or value
        return s

    @property
    def name(self):
        return str(self)


_STATES = {
    L.FBX_CLOSED: STATE_CLOSED,
    L.FBX_OPEN: STATE_OPEN,
    L.FBX_HALF_OPEN: STATE_HALF_OPEN,
    L.FBX_FORCED_OPEN: STATE_OPEN,
    L.FBX_FORCED_CLOSED: STATE_CLOSED,
}
_DETAIL = {L.FBX_CLOSED: "closed", L.FBX_OPEN: "open", L.FBX_HALF_OPEN: "half_open",
           L.FBX_FORCED_OPEN: "forced_open", L.FBX_FORCED_CLOSED: "forced_closed"}

def _coarse_slack_ns():
    """How much later than the truth a breaker's state_age_ns may read: the
    library stamps and reads state times in whole milliseconds of its coarse
    clock (CLOCK_MONOTONIC_COARSE, one tick of 1-10 ms)."""
    try:
        tick = time.clock_getres(getattr(time, "CLOCK_MONOTONIC_COARSE", 6))
    except (OSError, AttributeError, ValueError):
        tick = 0.01
    return int(min(max(tick, 0.001), 0.05) * NS) + 1_000_000


_AGE_SLACK_NS = _coarse_slack_ns()

_REASONS = {L.FBX_REJECT_OPEN: "open", L.FBX_REJECT_HALF_OPEN_FULL: "half_open_full",
            L.FBX_REJECT_FORCED_OPEN: "forced_open"}


class CircuitBreakerError(Exception):
    """The breaker rejected the call (the function was not called), or — with
    throw_new_error_on_trip — the call's failure tripped it.  .retry_after:
    seconds until a trial may be admitted (0 when unknown); .reason: "open",
    "half_open_full", "forced_open" or "tripped"."""

    def __init__(self, message, breaker=None, reason=None, retry_after=0.0):
        super().__init__(message)
        self.breaker = breaker
        self.reason = reason
        self.retry_after = retry_after


class CircuitBreakerListener:
    """pybreaker's listener hooks, called for what this process observes."""

    def before_call(self, cb, func, *args, **kwargs):
        pass

    def state_change(self, cb, old_state, new_state):
        pass

    def failure(self, cb, exc):
        pass

    def success(self, cb):
        pass


def _record_name(text):
    """A valid record name (1..63 printable ASCII, no space) for text."""
    clean = "".join(c if 33 <= ord(c) < 127 else "_" for c in text) or "breaker"
    if len(clean) <= 63:
        return clean
    digest = hashlib.sha1(text.encode()).hexdigest()[:10]
    return digest + "~" + clean[-52:]   # the tail names the function


def _seconds(v, what, allow_zero=False):
    return to_ns(v, what, allow_zero=allow_zero)


class CircuitBreaker:
    """pybreaker's CircuitBreaker, kept in a box for every process of the host.

    fail_max, reset_timeout (seconds), exclude (exception classes, or
    predicates taking the exception), listeners, name, success_threshold and
    throw_new_error_on_trip are pybreaker's.  fusebox adds: box (a Box or a
    box name; default $FUSEBOX_BOX, else "default"), half_open_max,
    reset_timeout_max (exponential open periods), trial_lease, and the rate
    policies failure_rate (percent), slow_call (seconds) with slow_rate
    (percent), min_calls, window_calls or window (seconds).

    name defaults to the first decorated function's qualified name, else the
    place the breaker was constructed (module:line): stable across the
    processes running the same code."""

    def __init__(self, fail_max=5, reset_timeout=60, exclude=None, listeners=None,
                 state_storage=None, name=None, box=None, success_threshold=1,
                 throw_new_error_on_trip=True, half_open_max=1, reset_timeout_max=None,
                 trial_lease=30.0, failure_rate=0, slow_call=None, slow_rate=0,
                 min_calls=10, window_calls=0, window=60.0):
        if state_storage is not None:
            raise TypeError("state_storage is not supported: the state is the box's")
        lib = L.lib()
        self._lib = lib
        cfg = L.fbx_breaker_config()
        lib.fbx_breaker_config_init(ctypes.byref(cfg))
        for what, v in (("fail_max", fail_max), ("success_threshold", success_threshold),
                        ("half_open_max", half_open_max), ("failure_rate", failure_rate),
                        ("slow_rate", slow_rate), ("min_calls", min_calls),
                        ("window_calls", window_calls)):
            if isinstance(v, bool) or not isinstance(v, int):
                raise TypeError("%s must be an int, not %s" % (what, type(v).__name__))
            if not 0 <= v < 2 ** 32:
                raise ValueError("%s out of range: %r" % (what, v))
        cfg.fail_max = fail_max
        cfg.reset_timeout_ns = _seconds(reset_timeout, "reset_timeout")
        cfg.reset_timeout_max_ns = (cfg.reset_timeout_ns if reset_timeout_max is None else
                                    _seconds(reset_timeout_max, "reset_timeout_max"))
        cfg.success_threshold = success_threshold
        cfg.half_open_max = half_open_max
        cfg.trial_lease_ns = _seconds(trial_lease, "trial_lease")
        cfg.failure_rate_pct = failure_rate
        cfg.slow_rate_pct = slow_rate
        cfg.slow_call_ns = 0 if slow_call is None else _seconds(slow_call, "slow_call")
        cfg.min_calls = min_calls
        cfg.window_calls = window_calls
        cfg.window_ns = _seconds(window, "window")
        why = ctypes.c_char_p()
        rc = lib.fbx_breaker_config_check(ctypes.byref(cfg), ctypes.byref(why))
        if rc:
            raise error(rc, "breaker configuration",
                        "bad %s" % why.value.decode() if why.value else None)
        self._cfg = cfg
        self._excluded = list(exclude or [])
        for e in self._excluded:
            if not (inspect.isclass(e) and issubclass(e, BaseException)) and not callable(e):
                raise TypeError("exclude takes exception classes or predicates, not %r" % (e,))
        self._listeners = list(listeners or [])
        self.throw_new_error_on_trip = throw_new_error_on_trip
        if name is not None:
            encode_name(name, "breaker name")
            check(lib.fbx_name_check_record(name.encode()), "breaker name %r" % name)
        self._name = name
        self._named = name is not None
        if name is None:
            f = sys._getframe(1)
            self._name = _record_name("%s:%d" % (f.f_globals.get("__name__", "?"), f.f_lineno))
        self._box_arg = box
        self._box = None
        self._b = None
        self._last_state = None

    # ---- the record ------------------------------------------------------
    @property
    def name(self):
        return self._name

    @name.setter
    def name(self, value):
        if self._b is not None:
            raise AttributeError("the breaker is registered already as %r" % self._name)
        check(self._lib.fbx_name_check_record(encode_name(value, "breaker name")),
              "breaker name %r" % value)
        self._name, self._named = value, True

    @property
    def box(self):
        if self._box is None:
            self._box = get_box(self._box_arg)
        return self._box

    def _handle(self):
        box = self.box
        h = box._h
        if h is None:
            raise BoxClosedError("breaker %r" % self._name)
        if self._b is None:
            out = ctypes.c_void_p()
            bname = self._name.encode()
            rc = self._lib.fbx_breaker_register(h, bname, ctypes.byref(self._cfg),
                                                ctypes.byref(out))
            if rc == L.FBX_ECONFLICT:
                raise ConfigConflict(rc, "breaker %r on box %r" % (self._name, box.name),
                                     "it exists with another %s" % self._conflict(h, bname))
            check(rc, "breaker %r on box %r" % (self._name, box.name))
            self._b = out.value
        return self._b

    def _conflict(self, h, bname):
        out = ctypes.c_void_p()
        theirs = L.fbx_breaker_config()
        if (self._lib.fbx_breaker_find(h, bname, ctypes.byref(out)) == 0 and
                self._lib.fbx_breaker_config_get(out, ctypes.byref(theirs)) == 0):
            d = self._lib.fbx_breaker_config_diff(ctypes.byref(self._cfg), ctypes.byref(theirs))
            if d:
                return d.decode()
        return "configuration"

    def register(self):
        """Registers (or attaches to) the breaker now rather than at first use."""
        self._handle()
        return self

    # ---- reading -----------------------------------------------------------
    def _info(self):
        """This breaker's fbx_breaker_info now (fbx_breaker_info_get: one
        record read, no snapshot of the box)."""
        info = L.fbx_breaker_info()
        check(self._lib.fbx_breaker_info_get(self._handle(), ctypes.byref(info)),
              "breaker %r" % self._name)
        return info

    def _refuses_now(self):
        """Seconds until it admits a trial when it refuses calls now (0.0
        when forced open), else None — None too when the record cannot be
        read: allow() then decides."""
        info = L.fbx_breaker_info()
        if self._lib.fbx_breaker_info_get(self._handle(), ctypes.byref(info)) != 0:
            return None
        if info.state == L.FBX_FORCED_OPEN:
            return 0.0
        if info.state == L.FBX_OPEN and not info.trial_due:
            return info.open_remaining_ns / NS
        return None

    @property
    def current_state(self):
        """"closed", "open" or "half-open" (a State: .name, .detail)."""
        s = self._info().state
        return State(_STATES.get(s, STATE_OPEN), _DETAIL.get(s))

    state = current_state

    @property
    def fail_counter(self):
        """Consecutive failures, host-wide."""
        return self._info().consecutive_failures

    @property
    def stats(self):
        i = self._info()
        return {"state": _DETAIL.get(i.state, "invalid"), "successes": i.successes,
                "failures": i.failures, "ignored": i.ignored, "slow": i.slow,
                "rejected": i.rejected, "trips": i.trips,
                "consecutive_failures": i.consecutive_failures,
                "open_remaining": i.open_remaining_ns / NS, "trial_due": bool(i.trial_due)}

    @property
    def fail_max(self):
        return self._cfg.fail_max

    @property
    def reset_timeout(self):
        return self._cfg.reset_timeout_ns / NS

    @property
    def success_threshold(self):
        return self._cfg.success_threshold

    @property
    def excluded_exceptions(self):
        return tuple(self._excluded)

    def add_excluded_exception(self, exception):
        self._excluded.append(exception)

    def add_excluded_exceptions(self, *exceptions):
        self._excluded.extend(exceptions)

    def remove_excluded_exception(self, exception):
        self._excluded.remove(exception)

    def is_system_error(self, exception):
        """True when exception counts as a failure (pybreaker's name)."""
        for e in self._excluded:
            if inspect.isclass(e):
                if isinstance(exception, e):
                    return False
            elif e(exception):
                return False
        return isinstance(exception, Exception)

    # ---- operator actions ------------------------------------------------------
    def _operator(self, action, reason):
        check(action(self._handle(), _reason(reason)), "breaker %r" % self._name)
        self._notify_state()

    def open(self, reason="python: open()"):
        """Forces the breaker open host-wide (recorded with uid, pid, reason).
        Unlike pybreaker's open(), it stays open until close()."""
        self._operator(self._lib.fbx_breaker_trip, reason)

    def close(self, reason="python: close()"):
        """Closes it host-wide: back to automatic, counts of the window and
        consecutive failures cleared (pybreaker's close())."""
        self._operator(self._lib.fbx_breaker_reset, reason)

    def hold(self, reason="python: hold()"):
        """Forces it closed until close() (fusebox's hold)."""
        self._operator(self._lib.fbx_breaker_hold, reason)

    def half_open(self):
        raise NotImplementedError("fusebox moves a breaker to half-open itself, at the first "
                                  "call after the open period")

    # ---- listeners ----------------------------------------------------------
    @property
    def listeners(self):
        return tuple(self._listeners)

    def add_listener(self, listener):
        self._listeners.append(listener)

    def add_listeners(self, *listeners):
        self._listeners.extend(listeners)

    def remove_listener(self, listener):
        self._listeners.remove(listener)

    def _watches_state(self):
        for lst in self._listeners:
            f = getattr(type(lst), "state_change", None)
            if f is not None and f is not CircuitBreakerListener.state_change:
                return True
        return False

    def _notify_state(self):
        if not self._listeners or not self._watches_state():
            return
        new = self.current_state
        old = self._last_state
        self._last_state = new
        if old is not None and old.detail != new.detail:
            for lst in self._listeners:
                lst.state_change(self, old, new)

    # ---- calls ----------------------------------------------------------------
    def _allow(self, func, args, kwargs):
        b = self._handle()
        if self._listeners:
            if self._last_state is None and self._watches_state():
                self._last_state = self.current_state
            for lst in self._listeners:
                lst.before_call(self, func, *args, **kwargs)
        permit = L.fbx_permit()
        rc = self._lib.fbx_breaker_allow(b, ctypes.byref(permit))
        if rc:
            if rc == L.FBX_EOPEN:
                self._notify_state()
                reason = _REASONS.get(permit.reason, "open")
                msg = ("Timeout not elapsed yet, circuit breaker still open"
                       if reason == "open" else
                       "circuit breaker %r rejected the call (%s)" % (self._name, reason))
                raise CircuitBreakerError(msg, self, reason, permit.retry_after_ns / NS)
            check(rc, "breaker %r" % self._name)
        return b, permit

    def _success(self, b, permit, t0):
        self._lib.fbx_breaker_done(b, ctypes.byref(permit), L.FBX_SUCCESS,
                                   time.monotonic_ns() - t0)
        for lst in self._listeners:
            lst.success(self)
        self._notify_state()

    def _error(self, b, permit, t0, exc):
        """Reports exc; returns a CircuitBreakerError to raise instead, or None."""
        elapsed = time.monotonic_ns() - t0
        failure = self.is_system_error(exc)
        self._lib.fbx_breaker_done(b, ctypes.byref(permit),
                                   L.FBX_FAILURE if failure else L.FBX_IGNORED, elapsed)
        if not failure:
            self._notify_state()
            return None
        for lst in self._listeners:
            lst.failure(self, exc)
        self._notify_state()
        if self.throw_new_error_on_trip and self.box._h is not None:
            i = L.fbx_breaker_info()
            rc = self._lib.fbx_breaker_info_get(b, ctypes.byref(i))
            # it opened while this call ran: this failure (or one beside it)
            # tripped it (the age is read in coarse milliseconds: a short call
            # sees its own trip as up to a tick and a millisecond old)
            if rc == 0 and i.state == L.FBX_OPEN and \
                    i.state_age_ns <= time.monotonic_ns() - t0 + _AGE_SLACK_NS:
                return CircuitBreakerError("Failures threshold reached, circuit breaker opened",
                                           self, "tripped", i.open_remaining_ns / NS)
        return None

    def call(self, func, *args, **kwargs):
        """Calls func(*args, **kwargs) through the breaker."""
        b, permit = self._allow(func, args, kwargs)
        t0 = time.monotonic_ns()
        try:
            result = func(*args, **kwargs)
        except BaseException as e:
            tripped = self._error(b, permit, t0, e)
            if tripped is not None:
                raise tripped from e
            raise
        self._success(b, permit, t0)
        return result

    async def call_async(self, func, *args, **kwargs):
        """Awaits func(*args, **kwargs) through the breaker."""
        b, permit = self._allow(func, args, kwargs)
        t0 = time.monotonic_ns()
        try:
            result = await func(*args, **kwargs)
        except BaseException as e:
            tripped = self._error(b, permit, t0, e)
            if tripped is not None:
                raise tripped from e
            raise
        self._success(b, permit, t0)
        return result

    def __call__(self, func):
        """Decorator, for plain functions and async def ones."""
        if not callable(func):
            raise TypeError("CircuitBreaker decorates a callable, not %r" % (func,))
        if not self._named and self._b is None:
            self._name = _record_name("%s.%s" % (getattr(func, "__module__", "?"),
                                                 getattr(func, "__qualname__", repr(func))))
            self._named = True
        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def async_wrapper(*args, **kwargs):
                return await self.call_async(func, *args, **kwargs)
            return async_wrapper

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            return self.call(func, *args, **kwargs)
        return wrapper

    def __repr__(self):
        return "<fusebox.CircuitBreaker %r fail_max=%d reset_timeout=%gs>" % (
            self._name, self.fail_max, self.reset_timeout)


def _reason(reason):
    if reason is None:
        return None
    if not isinstance(reason, str):
        raise TypeError("reason must be a str")
    return reason.encode("utf-8", "replace")[:63]
