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
    denied by limits and admitted here, and get_moving_window() no longer
    counts that entry; nowhere else do they differ.  On the real clock the
    log also stamps each entry up to one coarse clock tick (~4 ms) late,
    so a hit within a tick of that boundary may be denied where an exact
    log admits it.
  * counts must be below the box's log_slots (127 with the default box;
    create the box with fusebox://shop?log_slots=1024 for counts up to 1023).
  * a cost above the limit's count is refused (limits 2.8 admits it on an
    empty window).

get_moving_window() (limits' test() and get_window_stats(), Flask-Limiter's
headers) is one fbx_limiter_peek, which consumes and counts nothing: the
number of entries in the window and, as limits' storages answer, the whole
second of the newest of them (now when there is none).  clear(key) is
fbx_limiter_forget on each limits:* limiter of the box, reset()
fbx_limiter_reset on each (an operator's reset in the box's events).
"""
import ctypes
import threading
import time
import urllib.parse

from limits.errors import ConfigurationError
from limits.storage import MovingWindowSupport, Storage

from . import _lib as L
from .box import NS, get_box
from .errors import FuseboxError

_PREFIX = b"limits:"


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
        self._peek = self._lib.fbx_limiter_peek
        self._limiters = {}
        self._tls = threading.local()        # each thread's fbx_limit_result
        super().__init__(uri, **options)

    # ---- the limiter per (count, period) -------------------------------------
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

    def _all_limiters(self):
        """Every limits:* limiter of the box, this process's or another's."""
        h = self.box.handle()
        out = []
        for name in self.box.limiter_names():
            if name.startswith(_PREFIX):
                l = ctypes.c_void_p()
                rc = self._lib.fbx_limiter_find(h, name, ctypes.byref(l))
                if rc == 0:
                    out.append((name, l.value))
                elif rc != L.FBX_ENOENT:
                    raise FuseboxError(rc, "fusebox storage: limiter %r" % name.decode())
        return out

    def _result(self):
        """This thread's fbx_limit_result (the library fills it with the GIL
        released, so threads do not share one) and a reference to it."""
        t = self._tls
        t.res = L.fbx_limit_result()
        t.ref = ctypes.byref(t.res)
        return t.res, t.ref

    def _open(self):
        if self.box._h is None:
            raise FuseboxError(L.FBX_EINVAL, "fusebox storage", "its box is closed")

    # ---- MovingWindowSupport -----------------------------------------------------
    def acquire_entry(self, key, limit, expiry, amount=1):
        if self.box._h is None:
            self._open()                                    # raises
        l = self._limiters.get((limit, expiry)) or self._limiter(limit, expiry)
        if amount > limit or amount < 1:
            return False  # limits 2.8 admits such a hit on an empty window; no window can
        k = key.encode()
        try:
            ref = self._tls.ref
        except AttributeError:
            ref = self._result()[1]
        rc = self._take(l, k, len(k), amount, ref)
        if rc == 0:
            return True
        if rc == L.FBX_ELIMITED:
            return False
        raise FuseboxError(rc, "fusebox storage: key %r" % key)

    def get_moving_window(self, key, limit, expiry):
        """(start, count): the entries of key's window, and the whole second
        of the newest of them (now when there is none), as limits' memory
        and Redis storages answer.  One fbx_limiter_peek of the whole count:
        it is admitted only when the window is empty; denied, its figures
        are the window's: remaining = limit - count, reset = when the
        newest entry leaves it."""
        self._open()
        l = self._limiter(limit, expiry)
        k = key.encode()
        try:
            r, ref = self._tls.res, self._tls.ref
        except AttributeError:
            r, ref = self._result()
        rc = self._peek(l, k, len(k), limit, ref)
        now = time.time()
        if rc == 0:
            return int(now), 0
        if rc != L.FBX_ELIMITED:
            raise FuseboxError(rc, "fusebox storage: key %r" % key)
        age_ns = expiry * NS - r.reset_ns      # of the newest entry, at the peek's reading
        return int(now - age_ns / NS), int(r.limit - r.remaining)

    # ---- Storage -------------------------------------------------------------------
    def clear(self, key):
        """Forgets key in every limits:* limiter of the box: its next hit has
        a whole budget (other keys are untouched)."""
        self._open()
        k = key.encode()
        for name, l in self._all_limiters():
            rc = self._lib.fbx_limiter_forget(l, k, len(k))
            if rc and rc != L.FBX_ENOENT:
                raise FuseboxError(rc, "fusebox storage: clear %r (%s)" % (key, name.decode()))

    def reset(self):
        """Forgets every key of every limits:* limiter of the box (each an
        operator's reset in the box's events)."""
        self._open()
        for name, l in self._all_limiters():
            rc = self._lib.fbx_limiter_reset(l, b"limits storage: reset()")
            if rc:
                raise FuseboxError(rc, "fusebox storage: reset (%s)" % name.decode())
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
