"""The box: one POSIX shared-memory segment every worker process of the host
maps.  Box wraps fbx_box_open/close/unlink, the workers, checks and drain of
section 6, and the snapshots readers use."""
import contextlib
import ctypes
import os
import threading

from . import _lib as L
from .errors import BoxClosedError, InvalidArgument, check, error

NS = 1_000_000_000

_CAPACITIES = ("breakers", "limiters", "keys", "events", "workers", "checks", "log_keys",
               "log_slots", "budgets", "bulkheads", "caches", "cache_slots", "cache_value_max",
               "mode", "timeout_ms")


def encode_name(name, what="name"):
    if isinstance(name, bytes):
        return name
    if not isinstance(name, str):
        raise TypeError("%s must be a str, not %s" % (what, type(name).__name__))
    if "\0" in name:
        raise error(L.FBX_ENAME, "%s %r" % (what, name), "contains a NUL character")
    return name.encode()


def to_ns(seconds, what="duration", allow_zero=True):
    """Seconds (int or float) -> nanoseconds, with a clear TypeError/ValueError."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError("%s must be a number of seconds, not %s" % (what, type(seconds).__name__))
    if seconds != seconds or seconds < 0 or (seconds == 0 and not allow_zero):
        raise ValueError("%s must be %s, not %r" % (what, ">= 0" if allow_zero else "> 0",
                                                    seconds))
    if seconds > 2 ** 63 / NS:
        raise ValueError("%s is too large: %r" % (what, seconds))
    return int(round(seconds * NS))


def _text(b):
    return b.decode("utf-8", "replace")


class Box:
    """A handle on box NAME (the shm object /fusebox.NAME).

    Box("shop") opens it, creating it with the default capacities when it does
    not exist (create=False to only open).  Capacities for a new box are
    keyword arguments named as fbx_box_config's fields (breakers=, limiters=,
    keys=, log_slots=, ..., mode=0o660, group=GID).  threads=True (the
    default) opens with FBX_OPEN_THREADS, so that threads of this process may
    share the handle; readonly=True maps it read-only (snapshots only).

    Handles obtained from a box (breakers, limiters, ...) live as long as the
    box; after close() every use raises BoxClosedError.  A child process
    after fork() keeps using the handles it inherited."""

    def __init__(self, name, create=True, exclusive=False, readonly=False, threads=True,
                 group=None, trusted_uid=None, **capacities):
        lib = L.lib()
        self._lib = lib
        self._h = None
        self._snap = None
        self._snap_lock = threading.Lock()
        self.name = name if isinstance(name, str) else encode_name(name, "box name").decode()
        bname = encode_name(name, "box name")
        check(lib.fbx_name_check_box(bname), "box name %r" % self.name)
        cfg = L.fbx_box_config()
        lib.fbx_box_config_init(ctypes.byref(cfg))
        for k, v in capacities.items():
            if k not in _CAPACITIES:
                raise TypeError("Box() got an unexpected keyword argument %r" % k)
            if isinstance(v, bool) or not isinstance(v, int):
                raise TypeError("%s must be an int, not %s" % (k, type(v).__name__))
            if not 0 <= v < 2 ** 32:
                raise ValueError("%s out of range: %r" % (k, v))
            setattr(cfg, k, v)
        if group is not None:
            cfg.group, cfg.group_set = int(group), 1
        if trusted_uid is not None:
            cfg.trusted_uid, cfg.trusted_set = int(trusted_uid), 1
        flags = 0
        if create and not readonly:
            flags |= L.FBX_OPEN_CREATE
            if exclusive:
                flags |= L.FBX_OPEN_EXCL
        if readonly:
            flags |= L.FBX_OPEN_RDONLY
        if threads:
            flags |= L.FBX_OPEN_THREADS
        h = ctypes.c_void_p()
        check(lib.fbx_box_open(bname, flags, ctypes.byref(cfg), ctypes.byref(h)),
              "box %r" % self.name)
        self._h = h.value
        self.pid = os.getpid()

    # ---- life ------------------------------------------------------------
    @property
    def closed(self):
        return self._h is None

    def handle(self, what=None):
        h = self._h
        if h is None:
            raise BoxClosedError(what or "box %r" % self.name)
        return h

    def close(self):
        """Unmaps the box; every handle obtained from it becomes unusable."""
        h, self._h = self._h, None
        if h is None:
            return
        with self._snap_lock:
            snap, self._snap = self._snap, None
            if snap:
                self._lib.fbx_snapshot_free(snap)
        self._lib.fbx_box_close(h)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "<fusebox.Box %r%s>" % (self.name, " closed" if self.closed else "")

    @staticmethod
    def unlink(name):
        """Removes box NAME's object (processes that have it open keep it)."""
        bname = encode_name(name, "box name")
        check(L.lib().fbx_box_unlink(bname), "box %r" % name)

    def remove(self):
        """close() and unlink() this box."""
        self.close()
        Box.unlink(self.name)

    def info(self):
        i = L.fbx_box_info()
        check(self._lib.fbx_box_info_get(self.handle(), ctypes.byref(i)), "box %r" % self.name)
        d = {f: getattr(i, f) for f, _ in L.fbx_box_info._fields_ if f != "capacity"}
        d["name"] = _text(i.name)
        d["capacity"] = {f: getattr(i.capacity, f) for f, _ in L.fbx_box_config._fields_}
        return d

    # ---- workers, requests, drain ------------------------------------------
    def register_worker(self, role="worker", heartbeat_timeout=30.0):
        """Announces this process (role: "master", "worker", ...); it promises
        a heartbeat() at least every heartbeat_timeout seconds."""
        check(self._lib.fbx_worker_register(self.handle(), encode_name(role, "role"),
                                            to_ns(heartbeat_timeout, "heartbeat_timeout")),
              "worker register (role %r)" % role)

    def unregister_worker(self):
        check(self._lib.fbx_worker_unregister(self.handle()), "worker unregister")

    # The library keeps a worker's slot on the handle that registered it: a
    # second Box on the same name in the same process has none, and the
    # library's "no such box, breaker or limiter" would send a user looking
    # for the wrong thing.
    _UNREGISTERED = ("this process has not registered as a worker on this Box handle "
                     "(call register_worker() on the same handle; fusebox.get_box(name) "
                     "gives every caller in a process the same one)")

    def _worker_call(self, fn, what):
        rc = fn(self.handle())
        if rc == L.FBX_ENOENT:
            raise error(rc, what, self._UNREGISTERED)
        check(rc, what)

    def heartbeat(self):
        self._worker_call(self._lib.fbx_worker_heartbeat, "heartbeat")

    def request_begin(self):
        self._worker_call(self._lib.fbx_request_begin, "request begin")

    def request_end(self):
        self._worker_call(self._lib.fbx_request_end, "request end")

    @contextlib.contextmanager
    def request(self):
        """with box.request(): ... — counts one request in flight."""
        self.request_begin()
        try:
            yield self
        finally:
            self.request_end()

    def drain(self, on=True, reason=None):
        """Marks the box draining (readiness fails at once); on=False ends it.
        A change is an event with this process's uid, pid and the reason."""
        from .breaker import _reason
        check(self._lib.fbx_drain_reason(self.handle(), 1 if on else 0,
                                         _reason(reason)), "drain")

    @property
    def draining(self):
        return bool(self._lib.fbx_draining(self.handle()))

    def drain_wait(self, timeout=30.0, cap=64):
        """Waits until no live worker has a request in flight.  Returns [] when
        none is busy, else the workers still busy at the timeout (dicts of
        pid, role, in_flight)."""
        busy = (L.fbx_drain_busy * cap)()
        n = ctypes.c_size_t()
        rc = self._lib.fbx_drain_wait(self.handle(), to_ns(timeout, "timeout"), busy, cap,
                                      ctypes.byref(n))
        if rc == L.FBX_ETIMEDOUT:
            return [{"pid": b.pid, "role": _text(b.role), "in_flight": b.in_flight}
                    for b in busy[:n.value]]
        check(rc, "drain wait")
        return []

    def started(self):
        """The master's "initialisation finished": startup probes pass."""
        check(self._lib.fbx_started(self.handle()), "started")

    # ---- checks --------------------------------------------------------------
    def set_check(self, name, status, critical=False, ttl=30.0, message=None):
        """status: "pass", "warn" or "fail" (or FBX_CHECK_*)."""
        if isinstance(status, str):
            code = self._lib.fbx_check_status_parse(status.encode())
            if code < 0:
                raise InvalidArgument(code, "check %r" % name,
                                      "status must be pass, warn or fail, not %r" % status)
            status = code
        elif isinstance(status, bool) or not isinstance(status, int):
            raise TypeError("status must be 'pass', 'warn' or 'fail'")
        msg = None if message is None else encode_name(message, "message")
        check(self._lib.fbx_check_set(self.handle(), encode_name(name, "check name"), status,
                                      1 if critical else 0, to_ns(ttl, "ttl"), msg),
              "check %r" % name)

    def bind_check(self, name, breaker, critical=False):
        """Check NAME follows breaker BREAKER (open: fail, half-open: warn)."""
        bname = breaker.name if hasattr(breaker, "name") else breaker
        check(self._lib.fbx_check_bind_breaker(self.handle(), encode_name(name, "check name"),
                                               encode_name(bname, "breaker name"),
                                               1 if critical else 0),
              "check %r" % name)

    def remove_check(self, name):
        check(self._lib.fbx_check_remove(self.handle(), encode_name(name, "check name")),
              "check %r" % name)

    # ---- snapshots ---------------------------------------------------------------
    def _snapshot(self, health_only=False):
        """Takes the box into this handle's snapshot; call with _snap_lock held."""
        h = self.handle()
        if self._snap is None:
            s = ctypes.c_void_p()
            check(self._lib.fbx_snapshot_new(h, ctypes.byref(s)), "snapshot")
            self._snap = s.value
        take = self._lib.fbx_snapshot_take_health if health_only else self._lib.fbx_snapshot_take
        check(take(h, self._snap), "snapshot")
        return self._snap

    def _records(self, getter, snap):
        n = ctypes.c_size_t()
        p = getter(snap, ctypes.byref(n))
        return [p[i] for i in range(n.value)] if p else []

    def health(self):
        """The aggregate: status ("ok", "degraded", "unhealthy"), live, ready,
        started, draining, worker counts, in flight, reason."""
        with self._snap_lock:
            snap = self._snapshot(health_only=True)
            hp = self._lib.fbx_snapshot_health(snap)
            if not hp:
                raise error(L.FBX_ECORRUPT, "health")
            h = hp[0]
            return {
                "status": self._lib.fbx_health_status_name(h.status).decode(),
                "live": bool(h.live), "ready": bool(h.ready), "started": bool(h.started),
                "draining": bool(h.draining), "drain_age": h.drain_age_ns / NS,
                "workers_alive": h.workers_alive, "workers_dead": h.workers_dead,
                "masters_alive": h.masters_alive, "in_flight": h.in_flight,
                "served": h.served, "reason": _text(h.reason),
            }

    def workers(self):
        with self._snap_lock:
            snap = self._snapshot(health_only=True)
            return [{"pid": w.pid, "role": _text(w.role), "alive": bool(w.alive),
                     "process_gone": bool(w.process_gone),
                     "heartbeat_age": w.heartbeat_age_ns / NS, "in_flight": w.in_flight,
                     "served": w.served, "corrupt": bool(w.corrupt)}
                    for w in self._records(self._lib.fbx_snapshot_workers, snap)]

    def checks(self):
        with self._snap_lock:
            snap = self._snapshot(health_only=True)
            st = self._lib.fbx_check_status_name
            return [{"name": _text(c.name), "status": st(c.status).decode(),
                     "set_status": st(c.set_status).decode(), "critical": bool(c.critical),
                     "expired": bool(c.expired), "ttl": c.ttl_ns / NS, "age": c.age_ns / NS,
                     "breaker": _text(c.breaker), "message": _text(c.message),
                     "corrupt": bool(c.corrupt)}
                    for c in self._records(self._lib.fbx_snapshot_checks, snap)]

    def events(self, since=0, limit=256):
        """Events with seq >= since, oldest first, at most limit of them: dicts
        with seq, age (seconds), kind, cause, record ("breaker"/"limiter"),
        name, from/to (state identifiers, or None), uid/pid/reason (operator
        actions), corrupt, and "line": the one event line fuseboxctl and
        fusebox-top print (fbx_event_format).  The next call's since is the
        last seq + 1."""
        if limit <= 0:
            raise ValueError("events: limit must be positive, not %r" % (limit,))
        buf = (L.fbx_event * limit)()
        n, nxt = ctypes.c_size_t(), ctypes.c_uint64()
        check(self._lib.fbx_events_read(self.handle(), int(since), buf, limit, ctypes.byref(n),
                                        ctypes.byref(nxt)), "events")
        now = self._lib.fbx_clock_now()
        line = ctypes.create_string_buffer(512)
        kind, cause = self._lib.fbx_event_kind_name, self._lib.fbx_event_cause_name
        state = self._lib.fbx_breaker_state_name
        out = []
        for e in buf[:n.value]:
            self._lib.fbx_event_format(ctypes.byref(e), now, line, len(line))
            d = {"seq": e.seq, "age": (now - e.time_ns) / NS if now > e.time_ns else 0.0,
                 "corrupt": bool(e.corrupt), "line": line.value.decode("utf-8", "replace")}
            if not e.corrupt:
                manual = e.kind in (L.FBX_EV_MANUAL, L.FBX_EV_CONFIG)
                d.update({
                    "kind": kind(e.kind).decode(), "cause": cause(e.cause).decode(),
                    "record": self._lib.fbx_record_type_name(e.record_type).decode(),
                    "name": _text(e.name),
                    "from": state(getattr(e, "from")).decode() if getattr(e, "from") >= 0 else None,
                    "to": state(e.to).decode() if e.to >= 0 else None,
                    "uid": e.uid if manual else None, "pid": e.pid if manual else None,
                    "reason": _text(e.reason) if manual else None,
                })
            out.append(d)
        return out

    def breaker_info(self, name):
        """Breaker NAME's fbx_breaker_info (ctypes struct; .corrupt set for a
        damaged record), or None: fbx_breaker_info_get, no snapshot."""
        bname = encode_name(name, "breaker name")
        h = self.handle()
        b = ctypes.c_void_p()
        rc = self._lib.fbx_breaker_find(h, bname, ctypes.byref(b))
        if rc == L.FBX_ENOENT:
            return None
        check(rc, "breaker %r" % _text(bname))
        out = L.fbx_breaker_info()
        rc = self._lib.fbx_breaker_info_get(b, ctypes.byref(out))
        if rc and not (rc == L.FBX_ECORRUPT and out.corrupt):
            check(rc, "breaker %r" % _text(bname))
        return out

    def limiter_names(self):
        """The names (bytes) of the box's limiters, from a snapshot."""
        with self._snap_lock:
            snap = self._snapshot()
            return [bytes(l.name) for l in self._records(self._lib.fbx_snapshot_limiters, snap)]

    def limiter_info(self, name):
        bname = encode_name(name, "limiter name")
        with self._snap_lock:
            snap = self._snapshot()
            for b in self._records(self._lib.fbx_snapshot_limiters, snap):
                if b.name == bname:
                    out = L.fbx_limiter_info()
                    ctypes.pointer(out)[0] = b
                    return out
        return None

    def stats(self, kind):
        """Figures of every budget, bulkhead or cache ("budgets", "bulkheads",
        "caches"), as dicts by name."""
        getter = {"budgets": self._lib.fbx_snapshot_budgets,
                  "bulkheads": self._lib.fbx_snapshot_bulkheads,
                  "caches": self._lib.fbx_snapshot_caches}.get(kind)
        if getter is None:
            raise ValueError("kind must be 'budgets', 'bulkheads' or 'caches'")
        out = {}
        with self._snap_lock:
            snap = self._snapshot()
            for r in self._records(getter, snap):
                d = {}
                for f, t in type(r)._fields_:
                    v = getattr(r, f)
                    if isinstance(v, ctypes.Structure):
                        v = {g: getattr(v, g) for g, _ in type(v)._fields_}
                    d[f] = v
                d["name"] = _text(r.name)
                out[d["name"]] = d
        return out


# ---- one shared handle per box name, per process --------------------------
_boxes = {}
_boxes_lock = threading.Lock()


def default_box_name():
    return os.environ.get("FUSEBOX_BOX") or "default"


def get_box(box=None, **kwargs):
    """Box, or the process's handle on box NAME (opened, and created with the
    default capacities if missing, on first use); None means $FUSEBOX_BOX,
    else "default"."""
    if isinstance(box, Box):
        if box.closed:
            raise BoxClosedError("box %r" % box.name)
        return box
    if box is None:
        box = default_box_name()
    if not isinstance(box, str):
        raise TypeError("box must be a fusebox.Box or a box name, not %s" % type(box).__name__)
    with _boxes_lock:
        b = _boxes.get(box)
        if b is None or b.closed:
            b = Box(box, **kwargs)
            _boxes[box] = b
        return b
