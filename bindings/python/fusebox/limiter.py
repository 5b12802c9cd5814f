"""Host-wide rate limiters: a thin class over fbx_limiter_*."""
import ctypes

from . import _lib as L
from .box import NS, encode_name, get_box
from .errors import BoxClosedError, InvalidArgument, check, error

ALGORITHMS = {"window": L.FBX_ALGO_WINDOW, "gcra": L.FBX_ALGO_GCRA, "log": L.FBX_ALGO_LOG,
              "auto": L.FBX_ALGO_AUTO}


class LimitResult:
    """What a take decided: allowed, limit, remaining, reset (seconds until
    the budget is whole again), retry_after (seconds, when denied),
    dry_run_denied."""

    __slots__ = ("allowed", "dry_run_denied", "limit", "remaining", "reset", "retry_after",
                 "now_ns")

    def __init__(self, r):
        self.allowed = bool(r.allowed)
        self.dry_run_denied = bool(r.dry_run_denied)
        self.limit = r.limit
        self.remaining = r.remaining
        self.reset = r.reset_ns / NS
        self.retry_after = r.retry_after_ns / NS
        self.now_ns = r.now_ns

    def __bool__(self):
        return self.allowed

    def headers(self):
        """The RateLimit-* headers (IETF draft, as slowapi sends them), and
        Retry-After when denied; whole seconds, rounded up."""
        h = {"RateLimit-Limit": str(self.limit), "RateLimit-Remaining": str(self.remaining),
             "RateLimit-Reset": str(_ceil(self.reset))}
        if not self.allowed:
            h["Retry-After"] = str(max(1, _ceil(self.retry_after)))
        return h

    def __repr__(self):
        return ("LimitResult(allowed=%s, limit=%d, remaining=%d, reset=%.3f, retry_after=%.3f)"
                % (self.allowed, self.limit, self.remaining, self.reset, self.retry_after))


def _ceil(x):
    i = int(x)
    return i if i == x else i + 1


def encode_key(key):
    if isinstance(key, bytes):
        return key
    if isinstance(key, str):
        return key.encode("utf-8", "surrogatepass")
    raise TypeError("a limiter key must be str or bytes, not %s" % type(key).__name__)


def parse_rule(rule):
    """fbx_rule_parse: [(count, period seconds), ...], or BadRule."""
    r = L.fbx_rule()
    where = ctypes.c_size_t()
    rc = L.lib().fbx_rule_parse(encode_name(rule, "rule"), ctypes.byref(r), ctypes.byref(where))
    check(rc, "rule %r" % rule, "at byte %d" % where.value)
    return [(r.limit[i].count, r.limit[i].period_ns / NS) for i in range(r.n)]


class RateLimiter:
    """Limiter NAME on a box, registered with rule ("100/minute",
    "10/second;1000/hour"), keyed or global, algorithm "auto" (log where it
    fits the box's log, else window), "log", "window" or "gcra" (with
    burst), dry_run.  Registering a name that exists with the same settings
    attaches to it; other settings raise ConfigConflict."""

    def __init__(self, name, rule, box=None, keyed=False, algorithm="auto", burst=1,
                 dry_run=False):
        lib = L.lib()
        self._lib = lib
        self.name = name
        bname = encode_name(name, "limiter name")
        brule = encode_name(rule, "rule")
        if algorithm not in ALGORITHMS:
            raise InvalidArgument(L.FBX_EINVAL, "limiter %r" % name,
                                  "algorithm must be one of auto, log, window, gcra, not %r"
                                  % (algorithm,))
        if isinstance(burst, bool) or not isinstance(burst, int):
            raise TypeError("burst must be an int")
        self.box = get_box(box)
        cfg = L.fbx_limiter_config()
        lib.fbx_limiter_config_init(ctypes.byref(cfg))
        cfg.rule = brule
        cfg.algorithm = ALGORITHMS[algorithm]
        cfg.burst = burst if 0 < burst < 2 ** 32 else 0
        cfg.keyed = 1 if keyed else 0
        cfg.dry_run = 1 if dry_run else 0
        self.keyed = bool(keyed)
        rc = lib.fbx_limiter_config_check(ctypes.byref(cfg))
        if rc == L.FBX_ERULE:
            parse_rule(rule)  # names the byte
        check(rc, "limiter %r (rule %r)" % (name, rule))
        out = ctypes.c_void_p()
        check(lib.fbx_limiter_register(self.box.handle(), bname, ctypes.byref(cfg),
                                       ctypes.byref(out)),
              "limiter %r (rule %r) on box %r" % (name, rule, self.box.name))
        self._l = out.value
        self._take = lib.fbx_limiter_take

    @property
    def algorithm(self):
        self._check_open()
        return self._lib.fbx_algorithm_name(self._lib.fbx_limiter_algorithm(self._l)).decode()

    def _check_open(self):
        if self.box._h is None:
            raise BoxClosedError("limiter %r" % self.name)

    def take(self, key=None, cost=1):
        """Takes cost from key's budget: a LimitResult (true when allowed).
        Raises OutOfRange when cost exceeds what any window admits."""
        if self.box._h is None:
            raise BoxClosedError("limiter %r" % self.name)
        if isinstance(cost, bool) or not isinstance(cost, int):
            raise TypeError("cost must be an int")
        if not 1 <= cost < 2 ** 32:
            raise ValueError("cost must be at least 1, not %r" % cost)
        if self.keyed:
            if key is None:
                raise TypeError("limiter %r is keyed: take() needs a key" % self.name)
            k = encode_key(key)
            if not k:
                raise ValueError("a limiter key must not be empty")
        elif key is not None:
            raise TypeError("limiter %r is global: take() takes no key" % self.name)
        else:
            k = None
        r = L.fbx_limit_result()
        rc = self._take(self._l, k, len(k) if k else 0, cost, ctypes.byref(r))
        if rc and rc != L.FBX_ELIMITED:
            raise error(rc, "limiter %r" % self.name)
        return LimitResult(r)

    def hit(self, key=None, cost=1):
        """True when allowed."""
        return self.take(key, cost).allowed

    def set_rule(self, rule, reason=None):
        self._check_open()
        check(self._lib.fbx_limiter_set_rule(self._l, encode_name(rule, "rule"),
                                             None if reason is None else reason.encode()),
              "limiter %r" % self.name)

    def set_dry_run(self, on, reason=None):
        self._check_open()
        check(self._lib.fbx_limiter_set_dry_run(self._l, 1 if on else 0,
                                                None if reason is None else reason.encode()),
              "limiter %r" % self.name)

    def stats(self):
        i = self.box.limiter_info(self.name)
        if i is None:
            raise error(L.FBX_ENOENT, "limiter %r" % self.name)
        return {"rule": i.rule.decode(), "algorithm":
                self._lib.fbx_algorithm_name(i.algorithm).decode(), "keyed": bool(i.keyed),
                "dry_run": bool(i.dry_run), "allowed": i.allowed, "denied": i.denied,
                "dry_run_denied": i.dry_run_denied, "keys": i.keys, "evictions": i.evictions}

    def __repr__(self):
        return "<fusebox.RateLimiter %r>" % self.name
