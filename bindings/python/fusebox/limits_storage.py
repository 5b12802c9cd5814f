"""A storage for Python's `limits` (2.x), registered under the scheme
fusebox://BOX, for the moving-window strategy:

    from limits import parse, storage, strategies
    import fusebox                                   # registers fusebox://
    store = storage.storage_from_string("fusebox://shop")
    window = strategies.MovingWindowRateLimiter(store)
    window.hit(parse("100/minute"), "client-1")

Flask-Limiter:  Limiter(..., storage_uri="fusebox://shop", strategy="moving-window")

Each (count, period) limits asks about is a keyed limiter of the box using
the exact sliding log (FBX_ALGO_LOG), named "limits:COUNT/PERIODs"; limits'
key is the limiter's key.  So every process of the host shares one budget
per key, decided exactly.

Differences from limits' MemoryStorage:
  * the window: limits counts an entry made exactly `period` ago as still
    in the window ([now - period, now]); fusebox does not ((now - period,
    now]).  A hit exactly one period after the entry it waits for is
    denied by limits and admitted here; nowhere else do they differ.  On
    the real clock the log also stamps each entry up to one coarse clock
    tick (~4 ms) late, so a hit within a tick of that boundary may be
    denied where an exact log admits it.
  * counts must be below the box's log_slots (127 with the default box;
    create the box with fusebox://shop?log_slots=1024 for counts up to 1023).
  * a cost above the limit's count is refused (limits 2.8 admits it on an
    empty window).
  * get_moving_window() answers from the last decision made for the key
    (the library has no read-only look at a key): the count is exact right
    after a hit and may overstate it afterwards until the window has passed
    since the last hit; its start is exact when the window was full, else
    the time of the last hit.  test() and get_window_stats() are therefore
    conservative (never report room that is not there, as of the last hit).
  * clear(key) and reset() start fresh budgets (a new generation of the
    key, or of the whole storage, kept in the box's shared cache
    "limits.state"); a key's generation pushed out of that cache (more
    keys than its slots) falls back to the key's budget before the clear.
"""
import ctypes
import struct
import time
import urllib.parse

from limits.errors import ConfigurationError
from limits.storage import MovingWindowSupport, Storage

from . import _lib as L
from .box import NS, Box, get_box
from .errors import FuseboxError

_REC = struct.Struct("<qQdd")   # generation, count in window, start, last hit (wall s)
_EPOCH_KEY = b"\0epoch"
_CACHE_TTL = 30 * 86400.0       # the longest a cache entry may live


class FuseboxStorage(Storage, MovingWindowSupport):
    """limits storage over a fusebox box: fusebox://BOX[?log_slots=N&...]
    (the query's capacities apply when the storage creates the box)."""

    STORAGE_SCHEME = ["fusebox"]

    def __init__(self, uri=None, box=None, **options):
        if box is None:
            if not uri:
                raise ConfigurationError("fusebox storage needs fusebox://BOX")
            parsed = urllib.parse.urlparse(uri)
            name = parsed.netloc or parsed.path.lstrip("/")
            if not name:
                raise ConfigurationError("fusebox storage: no box name in %r" % uri)
            caps = {}
            for k, v in urllib.parse.parse_qsl(parsed.query):
                try:
                    caps[k] = int(v, 0)
                except ValueError:
                    raise ConfigurationError("fusebox storage: %s=%r is not a number" % (k, v))
            try:
                box = get_box(name, **caps)
            except (FuseboxError, TypeError, ValueError) as e:
                raise ConfigurationError("fusebox storage %r: %s" % (uri, e)) from e
        self.box = get_box(box)
        self._lib = L.lib()
        self._take = self._lib.fbx_limiter_take
        self._limiters = {}
        cache = ctypes.c_void_p()
        rc = self._lib.fbx_cache_register(self.box.handle(), b"limits.state",
                                          int(_CACHE_TTL * NS), 0, ctypes.byref(cache))
        if rc:
            raise ConfigurationError("fusebox storage: cache 'limits.state' on box %r: %s"
                                     % (self.box.name, self._lib.fbx_strerror(rc).decode()))
        self._cache = cache.value
        self._hit = L.fbx_cache_hit()
        self._buf = ctypes.create_string_buffer(64)
        super().__init__(uri, **options)

    # ---- shared state: the limiter per (count, period), generations -------
    def _limiter(self, limit, expiry):
        l = self._limiters.get((limit, expiry))
        if l is not None:
            return l
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError("limit must be a positive int, not %r" % (limit,))
        if isinstance(expiry, bool) or not isinstance(expiry, int) or expiry < 1:
            raise ValueError("expiry must be a positive int of seconds, not %r" % (expiry,))
        cfg = L.fbx_limiter_config()
        self._lib.fbx_limiter_config_init(ctypes.byref(cfg))
        cfg.rule = b"%d/%d seconds" % (limit, expiry)
        cfg.algorithm = L.FBX_ALGO_LOG
        cfg.keyed = 1
        out = ctypes.c_void_p()
        rc = self._lib.fbx_limiter_register(self.box.handle(), b"limits:%d/%ds" % (limit, expiry),
                                            ctypes.byref(cfg), ctypes.byref(out))
        if rc == L.FBX_ERANGE:
            info = self.box.info()
            raise ConfigurationError(
                "fusebox storage: %d per %ds does not fit box %r's log (counts up to %d, "
                "log_slots %d): create the box with a larger log_slots, e.g. "
                "fusebox://%s?log_slots=%d" % (limit, expiry, self.box.name,
                                              info["log_count_max"],
                                              info["capacity"]["log_slots"], self.box.name,
                                              _pow2_above(limit)))
        if rc:
            raise ConfigurationError("fusebox storage: limiter for %d per %ds: %s" % (
                limit, expiry, self._lib.fbx_strerror(rc).decode()))
        self._limiters[(limit, expiry)] = out.value
        return out.value

    def _get(self, k):
        rc = self._lib.fbx_cache_get(self._cache, k, len(k), self._buf, 64,
                                     ctypes.byref(self._hit))
        if rc:
            return None
        return self._buf.raw[:self._hit.len]

    def _put(self, k, v):
        self._lib.fbx_cache_put(self._cache, k, len(k), v, len(v))

    def _epoch(self):
        v = self._get(_EPOCH_KEY)
        return struct.unpack("<q", v)[0] if v and len(v) == 8 else 0

    def _record(self, key):
        v = self._get(b"k" + key.encode())
        return _REC.unpack(v) if v and len(v) == _REC.size else None

    # ---- MovingWindowSupport -----------------------------------------------------
    def acquire_entry(self, key, limit, expiry, amount=1):
        if self.box._h is None:
            raise FuseboxError(L.FBX_EINVAL, "fusebox storage", "its box is closed")
        l = self._limiter(limit, expiry)
        if amount > limit or amount < 1:
            return False  # limits 2.8 admits such a hit on an empty window; no window can
        bkey = key.encode()
        rec = self._get(b"k" + bkey)
        gen = _REC.unpack(rec)[0] if rec and len(rec) == _REC.size else 0
        fkey = b"%d:%d:%s" % (self._epoch(), gen, bkey)
        r = L.fbx_limit_result()
        rc = self._take(l, fkey, len(fkey), amount, ctypes.byref(r))
        now = time.time()
        if rc == 0:
            n = r.limit - r.remaining
            start = now
        elif rc == L.FBX_ELIMITED:
            n = r.limit - r.remaining
            # with the window full, the oldest unit leaves it when a unit may be taken
            start = now + r.retry_after_ns / NS - expiry if amount == 1 else now
        else:
            raise FuseboxError(rc, "fusebox storage: key %r" % key)
        self._put(b"k" + bkey, _REC.pack(gen, n, start, now))
        return rc == 0

    def get_moving_window(self, key, limit, expiry):
        now = time.time()
        rec = self._record(key)
        if rec is None or now >= rec[3] + expiry:
            return int(now), 0
        return int(rec[2]), min(rec[1], limit)

    # ---- Storage -------------------------------------------------------------------
    def clear(self, key):
        rec = self._record(key)
        gen = (rec[0] if rec else 0) + 1
        self._put(b"k" + key.encode(), _REC.pack(gen, 0, 0.0, 0.0))

    def reset(self):
        self._put(_EPOCH_KEY, struct.pack("<q", time.time_ns()))
        return None

    def check(self):
        try:
            h = self.box.handle()
        except FuseboxError:
            return False
        return self._lib.fbx_box_info_get(h, ctypes.byref(L.fbx_box_info())) == 0

    # the fixed-window strategies are not offered: fusebox's window
    # algorithm is a sliding-window counter, not limits' fixed window
    def incr(self, key, expiry, elastic_expiry=False, amount=1):
        raise NotImplementedError("fusebox storage supports the moving-window strategy only")

    def get(self, key):
        raise NotImplementedError("fusebox storage supports the moving-window strategy only")

    def get_expiry(self, key):
        raise NotImplementedError("fusebox storage supports the moving-window strategy only")


def _pow2_above(n):
    p = 1
    while p <= n:
        p <<= 1
    return p
