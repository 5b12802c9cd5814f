"""ctypes declarations of include/fusebox.h: the structs (field for field,
in the header's order and types), the constants and the prototypes.

tests/test_structs.py compiles a tiny C program against the header and
compares every struct's size and every field's offset with these, so a
change of the header cannot silently break the binding.
"""
import ctypes
import ctypes.util
import os
import threading
from ctypes import (POINTER, Structure, c_char, c_char_p, c_int, c_int32, c_size_t,
                    c_uint32, c_uint64, c_void_p)

# ---- types of the platform (Linux) -------------------------------------
pid_t = c_int32
uid_t = c_uint32
gid_t = c_uint32
c_enum = c_int  # every enum of the header fits an int (gcc/clang: int)

# ---- 1. errors -----------------------------------------------------------
FBX_OK = 0
FBX_EINVAL = -1
FBX_ENAME = -2
FBX_ERULE = -3
FBX_ENOENT = -4
FBX_EEXIST = -5
FBX_ECONFLICT = -6
FBX_EFULL = -7
FBX_EACCES = -8
FBX_ERDONLY = -9
FBX_ENOSPC = -10
FBX_EVERSION = -11
FBX_ECORRUPT = -12
FBX_ETIMEDOUT = -13
FBX_ENOMEM = -14
FBX_ESYS = -15
FBX_EOPEN = -16
FBX_ELIMITED = -17
FBX_ERANGE = -18
FBX_EOWNER = -19
FBX_ETRUNC = -20
FBX_EFAILED = -21

# ---- 2. the box ------------------------------------------------------------
FBX_OPEN_CREATE = 1 << 0
FBX_OPEN_EXCL = 1 << 1
FBX_OPEN_RDONLY = 1 << 2
FBX_OPEN_THREADS = 1 << 3

# ---- 3. breakers -------------------------------------------------------------
FBX_CLOSED, FBX_OPEN, FBX_HALF_OPEN, FBX_FORCED_OPEN, FBX_FORCED_CLOSED = range(5)
FBX_REJECT_NONE, FBX_REJECT_OPEN, FBX_REJECT_HALF_OPEN_FULL, FBX_REJECT_FORCED_OPEN = range(4)
FBX_SUCCESS, FBX_FAILURE, FBX_IGNORED = range(3)
FBX_HALF_OPEN_MAX = 16
FBX_WINDOW_CALLS_MAX = 512

# ---- 4./5. limiters and rules ----------------------------------------------
FBX_ALGO_WINDOW, FBX_ALGO_GCRA, FBX_ALGO_LOG, FBX_ALGO_AUTO = range(4)
FBX_RULE_LIMITS_MAX = 3
FBX_RULE_TEXT_MAX = 96
FBX_WINDOW_COUNT_MAX = 16777215
FBX_GCRA_BURST_MAX = 16777215

# ---- 6. workers, checks --------------------------------------------------------
FBX_ROLE_MAX = 16
FBX_CHECK_MESSAGE_MAX = 96
FBX_CHECK_PASS, FBX_CHECK_WARN, FBX_CHECK_FAIL = range(3)
FBX_HEALTH_OK, FBX_HEALTH_DEGRADED, FBX_HEALTH_UNHEALTHY = range(3)
FBX_EV_TRANSITION, FBX_EV_MANUAL, FBX_EV_REGISTER, FBX_EV_CONFIG = 1, 2, 3, 4
FBX_REC_BREAKER, FBX_REC_LIMITER, FBX_REC_BOX = 1, 2, 3

# ---- 7. retries, bulkheads, caches -----------------------------------------------
FBX_JITTER_FULL, FBX_JITTER_NONE, FBX_JITTER_EQUAL, FBX_JITTER_DECORRELATED = range(4)
(FBX_RETRY_SUCCEEDED, FBX_RETRY_EXHAUSTED, FBX_RETRY_BREAKER_OPEN, FBX_RETRY_BUDGET,
 FBX_RETRY_DRAINING) = range(5)
FBX_BULKHEAD_MAX = 1024
FBX_CACHE_KEY_MAX = 128

# ---- 8. snapshots --------------------------------------------------------------
FBX_NAME_MAX = 64
FBX_REASON_MAX = 64
FBX_TOP_KEYS = 8
FBX_TOP_KEY_TEXT = 48


class fbx_box_config(Structure):
    _fields_ = [
        ("breakers", c_uint32), ("limiters", c_uint32), ("keys", c_uint32),
        ("events", c_uint32), ("workers", c_uint32), ("checks", c_uint32),
        ("log_keys", c_uint32), ("log_slots", c_uint32), ("budgets", c_uint32),
        ("bulkheads", c_uint32), ("caches", c_uint32), ("cache_slots", c_uint32),
        ("cache_value_max", c_uint32), ("mode", c_uint32), ("group", gid_t),
        ("group_set", c_int), ("timeout_ms", c_uint32), ("trusted_uid", uid_t),
        ("trusted_set", c_int),
    ]


class fbx_box_info(Structure):
    _fields_ = [
        ("name", c_char * 40), ("layout_version", c_uint32), ("total_size", c_uint64),
        ("capacity", fbx_box_config), ("creator_pid", pid_t), ("created_ns", c_uint64),
        ("read_only", c_int), ("key_bytes", c_uint64), ("log_key_bytes", c_uint64),
        ("log_count_max", c_uint32),
    ]


class fbx_box_owner(Structure):
    _fields_ = [("uid", uid_t), ("gid", gid_t), ("mode", c_uint32), ("size", c_uint64)]


class fbx_breaker_config(Structure):
    _fields_ = [
        ("fail_max", c_uint32), ("failure_rate_pct", c_uint32), ("slow_rate_pct", c_uint32),
        ("slow_call_ns", c_uint64), ("window_calls", c_uint32), ("window_ns", c_uint64),
        ("min_calls", c_uint32), ("reset_timeout_ns", c_uint64),
        ("reset_timeout_max_ns", c_uint64), ("half_open_max", c_uint32),
        ("success_threshold", c_uint32), ("trial_lease_ns", c_uint64),
    ]


class fbx_permit(Structure):
    _fields_ = [("reason", c_enum), ("_slot", c_int32), ("retry_after_ns", c_uint64),
                ("_gen", c_uint64), ("_lease", c_uint64)]


class fbx_limiter_config(Structure):
    _fields_ = [("rule", c_char_p), ("algorithm", c_enum), ("burst", c_uint32),
                ("keyed", c_int), ("dry_run", c_int)]


class fbx_limit_result(Structure):
    _fields_ = [("allowed", c_int), ("dry_run_denied", c_int), ("limit", c_uint64),
                ("remaining", c_uint64), ("reset_ns", c_uint64), ("retry_after_ns", c_uint64),
                ("now_ns", c_uint64)]


class fbx_rule_limit(Structure):  # the anonymous struct of fbx_rule.limit[]
    _fields_ = [("count", c_uint64), ("period_ns", c_uint64)]


class fbx_rule(Structure):
    _fields_ = [("n", c_uint32), ("limit", fbx_rule_limit * FBX_RULE_LIMITS_MAX)]


class fbx_drain_busy(Structure):
    _fields_ = [("pid", c_int32), ("role", c_char * FBX_ROLE_MAX), ("in_flight", c_uint64)]


class fbx_backoff(Structure):
    _fields_ = [("max_retries", c_uint32), ("base_ns", c_uint64), ("cap_ns", c_uint64),
                ("jitter", c_enum), ("state", c_uint64 * 2)]


class fbx_retry_result(Structure):
    _fields_ = [("attempts", c_uint32), ("last", c_int), ("stopped", c_enum),
                ("retry_after_ns", c_uint64), ("slept_ns", c_uint64)]


class fbx_budget_config(Structure):
    _fields_ = [("percent", c_uint32), ("min_per_sec", c_uint32), ("ttl_ns", c_uint64)]


class fbx_bulkhead_permit(Structure):
    _fields_ = [("_slot", c_int32), ("_owner", c_uint64)]


class fbx_cache_hit(Structure):
    _fields_ = [("len", c_size_t), ("age_ns", c_uint64), ("stale", c_int)]


class fbx_breaker_info(Structure):
    _fields_ = [
        ("name", c_char * FBX_NAME_MAX), ("corrupt", c_int), ("state", c_enum),
        ("generation", c_uint32), ("config", fbx_breaker_config),
        ("successes", c_uint64), ("failures", c_uint64), ("ignored", c_uint64),
        ("slow", c_uint64), ("rejected", c_uint64), ("trips", c_uint64),
        ("consecutive_failures", c_uint64), ("window_calls", c_uint64),
        ("window_failures", c_uint64), ("window_slow", c_uint64),
        ("open_remaining_ns", c_uint64), ("half_open_in_flight", c_uint32),
        ("open_streak", c_uint32), ("trial_due", c_int), ("state_age_ns", c_uint64),
        ("manual_actions", c_uint64 * 4), ("operator_known", c_int),
        ("operator_uid", c_uint32), ("operator_pid", c_int32), ("operator_age_ns", c_uint64),
        ("operator_cause", c_int), ("operator_reason", c_char * FBX_REASON_MAX),
    ]


class fbx_top_key(Structure):
    _fields_ = [("key", c_char * (FBX_TOP_KEY_TEXT + 4)), ("denials", c_uint64)]


class fbx_limiter_info(Structure):
    _fields_ = [
        ("name", c_char * FBX_NAME_MAX), ("corrupt", c_int), ("rule", c_char * FBX_RULE_TEXT_MAX),
        ("parsed", fbx_rule), ("algorithm", c_enum), ("burst", c_uint32), ("keyed", c_int),
        ("dry_run", c_int), ("allowed", c_uint64), ("denied", c_uint64),
        ("dry_run_denied", c_uint64), ("keys", c_uint64), ("evictions", c_uint64),
        ("ntop", c_uint32), ("top", fbx_top_key * FBX_TOP_KEYS),
    ]


class fbx_event(Structure):
    _fields_ = [
        ("seq", c_uint64), ("time_ns", c_uint64), ("kind", c_enum), ("cause", c_enum),
        ("record_type", c_enum), ("record", c_uint32), ("name", c_char * FBX_NAME_MAX),
        ("from", c_int), ("to", c_int), ("pid", pid_t), ("uid", uid_t),
        ("reason", c_char * FBX_REASON_MAX), ("corrupt", c_int),
    ]


class fbx_worker_info(Structure):
    _fields_ = [
        ("pid", c_int32), ("role", c_char * FBX_ROLE_MAX), ("alive", c_int),
        ("process_gone", c_int), ("heartbeat_age_ns", c_uint64),
        ("heartbeat_timeout_ns", c_uint64), ("registered_age_ns", c_uint64),
        ("in_flight", c_uint64), ("served", c_uint64), ("corrupt", c_int),
    ]


class fbx_check_info(Structure):
    _fields_ = [
        ("name", c_char * FBX_NAME_MAX), ("corrupt", c_int), ("status", c_enum),
        ("set_status", c_enum), ("critical", c_int), ("expired", c_int), ("ttl_ns", c_uint64),
        ("age_ns", c_uint64), ("breaker", c_char * FBX_NAME_MAX),
        ("message", c_char * FBX_CHECK_MESSAGE_MAX), ("setter_uid", c_uint32),
        ("setter_pid", c_int32),
    ]


class fbx_health(Structure):
    _fields_ = [
        ("status", c_enum), ("live", c_int), ("ready", c_int), ("started", c_int),
        ("draining", c_int), ("drain_age_ns", c_uint64), ("workers_alive", c_uint32),
        ("workers_dead", c_uint32), ("masters_alive", c_uint32), ("in_flight", c_uint64),
        ("served", c_uint64), ("reason", c_char * 128),
    ]


class fbx_budget_info(Structure):
    _fields_ = [
        ("name", c_char * FBX_NAME_MAX), ("corrupt", c_int), ("config", fbx_budget_config),
        ("deposits", c_uint64), ("withdrawals", c_uint64), ("balance", c_uint64),
        ("attempts", c_uint64), ("retries_allowed", c_uint64), ("retries_refused", c_uint64),
    ]


class fbx_bulkhead_info(Structure):
    _fields_ = [
        ("name", c_char * FBX_NAME_MAX), ("corrupt", c_int), ("cap", c_uint32),
        ("in_flight", c_uint64), ("peak", c_uint64), ("refused", c_uint64),
        ("reclaimed", c_uint64),
    ]


class fbx_cache_info(Structure):
    _fields_ = [
        ("name", c_char * FBX_NAME_MAX), ("corrupt", c_int), ("ttl_ns", c_uint64),
        ("stale_ns", c_uint64), ("slots", c_uint32), ("value_max", c_uint32),
        ("entries", c_uint64), ("hits", c_uint64), ("stale_hits", c_uint64),
        ("misses", c_uint64), ("puts", c_uint64),
    ]


# Every struct the binding declares, by its C name: what the struct test checks.
STRUCTS = {
    "fbx_box_config": fbx_box_config, "fbx_box_info": fbx_box_info,
    "fbx_box_owner": fbx_box_owner, "fbx_breaker_config": fbx_breaker_config,
    "fbx_permit": fbx_permit, "fbx_limiter_config": fbx_limiter_config,
    "fbx_limit_result": fbx_limit_result, "fbx_rule": fbx_rule,
    "fbx_drain_busy": fbx_drain_busy, "fbx_backoff": fbx_backoff,
    "fbx_retry_result": fbx_retry_result, "fbx_budget_config": fbx_budget_config,
    "fbx_bulkhead_permit": fbx_bulkhead_permit, "fbx_cache_hit": fbx_cache_hit,
    "fbx_breaker_info": fbx_breaker_info, "fbx_top_key": fbx_top_key,
    "fbx_limiter_info": fbx_limiter_info, "fbx_event": fbx_event,
    "fbx_worker_info": fbx_worker_info, "fbx_check_info": fbx_check_info,
    "fbx_health": fbx_health, "fbx_budget_info": fbx_budget_info,
    "fbx_bulkhead_info": fbx_bulkhead_info, "fbx_cache_info": fbx_cache_info,
}

CLOCK_FN = ctypes.CFUNCTYPE(c_uint64, c_void_p)

_P = c_void_p  # opaque handles: fbx_box *, fbx_breaker *, ...

# name: (restype, argtypes)
PROTOTYPES = {
    "fbx_version": (c_char_p, []),
    "fbx_strerror": (c_char_p, [c_int]),
    "fbx_box_config_init": (None, [POINTER(fbx_box_config)]),
    "fbx_box_open": (c_int, [c_char_p, ctypes.c_uint, POINTER(fbx_box_config), POINTER(_P)]),
    "fbx_box_close": (None, [_P]),
    "fbx_box_unlink": (c_int, [c_char_p]),
    "fbx_name_check_box": (c_int, [c_char_p]),
    "fbx_name_check_record": (c_int, [c_char_p]),
    "fbx_box_info_get": (c_int, [_P, POINTER(fbx_box_info)]),
    "fbx_box_owner_get": (c_int, [c_char_p, POINTER(fbx_box_owner)]),
    # breakers
    "fbx_breaker_state_name": (c_char_p, [c_int]),
    "fbx_event_kind_name": (c_char_p, [c_int]),
    "fbx_event_cause_name": (c_char_p, [c_int]),
    "fbx_breaker_config_init": (None, [POINTER(fbx_breaker_config)]),
    "fbx_breaker_config_check": (c_int, [POINTER(fbx_breaker_config), POINTER(c_char_p)]),
    "fbx_breaker_config_diff": (c_char_p, [POINTER(fbx_breaker_config),
                                           POINTER(fbx_breaker_config)]),
    "fbx_breaker_register": (c_int, [_P, c_char_p, POINTER(fbx_breaker_config), POINTER(_P)]),
    "fbx_breaker_find": (c_int, [_P, c_char_p, POINTER(_P)]),
    "fbx_breaker_config_get": (c_int, [_P, POINTER(fbx_breaker_config)]),
    "fbx_breaker_allow": (c_int, [_P, POINTER(fbx_permit)]),
    "fbx_breaker_done": (c_int, [_P, POINTER(fbx_permit), c_enum, c_uint64]),
    "fbx_breaker_trip": (c_int, [_P, c_char_p]),
    "fbx_breaker_hold": (c_int, [_P, c_char_p]),
    "fbx_breaker_release": (c_int, [_P, c_char_p]),
    "fbx_breaker_reset": (c_int, [_P, c_char_p]),
    # limiters
    "fbx_algorithm_name": (c_char_p, [c_int]),
    "fbx_algorithm_accuracy": (c_char_p, [c_int]),
    "fbx_algorithm_parse": (c_int, [c_char_p]),
    "fbx_limiter_config_init": (None, [POINTER(fbx_limiter_config)]),
    "fbx_limiter_config_check": (c_int, [POINTER(fbx_limiter_config)]),
    "fbx_limiter_register": (c_int, [_P, c_char_p, POINTER(fbx_limiter_config), POINTER(_P)]),
    "fbx_limiter_find": (c_int, [_P, c_char_p, POINTER(_P)]),
    "fbx_limiter_algorithm": (c_int, [_P]),
    "fbx_limiter_take": (c_int, [_P, c_char_p, c_size_t, c_uint32, POINTER(fbx_limit_result)]),
    "fbx_limiter_peek": (c_int, [_P, c_char_p, c_size_t, c_uint32, POINTER(fbx_limit_result)]),
    "fbx_limiter_forget": (c_int, [_P, c_char_p, c_size_t]),
    "fbx_limiter_reset": (c_int, [_P, c_char_p]),
    "fbx_limiter_set_rule": (c_int, [_P, c_char_p, c_char_p]),
    "fbx_limiter_set_dry_run": (c_int, [_P, c_int, c_char_p]),
    "fbx_rule_parse": (c_int, [c_char_p, POINTER(fbx_rule), POINTER(c_size_t)]),
    "fbx_rule_format": (c_int, [POINTER(fbx_rule), c_char_p, c_size_t]),
    # workers, checks, drain
    "fbx_worker_register": (c_int, [_P, c_char_p, c_uint64]),
    "fbx_worker_unregister": (c_int, [_P]),
    "fbx_worker_heartbeat": (c_int, [_P]),
    "fbx_request_begin": (c_int, [_P]),
    "fbx_request_end": (c_int, [_P]),
    "fbx_drain": (c_int, [_P, c_int]),
    "fbx_drain_reason": (c_int, [_P, c_int, c_char_p]),
    "fbx_draining": (c_int, [_P]),
    "fbx_drain_wait": (c_int, [_P, c_uint64, POINTER(fbx_drain_busy), c_size_t,
                               POINTER(c_size_t)]),
    "fbx_started": (c_int, [_P]),
    "fbx_check_status_name": (c_char_p, [c_int]),
    "fbx_check_status_parse": (c_int, [c_char_p]),
    "fbx_check_set": (c_int, [_P, c_char_p, c_enum, c_int, c_uint64, c_char_p]),
    "fbx_check_bind_breaker": (c_int, [_P, c_char_p, c_char_p, c_int]),
    "fbx_check_remove": (c_int, [_P, c_char_p]),
    "fbx_health_status_name": (c_char_p, [c_int]),
    # retries, bulkheads, caches
    "fbx_backoff_init": (None, [POINTER(fbx_backoff)]),
    "fbx_backoff_seed": (None, [POINTER(fbx_backoff), c_uint64]),
    "fbx_backoff_delay": (c_uint64, [POINTER(fbx_backoff), c_uint32]),
    "fbx_backoff_check": (c_int, [POINTER(fbx_backoff)]),
    "fbx_retry_stop_name": (c_char_p, [c_int]),
    "fbx_budget_config_init": (None, [POINTER(fbx_budget_config)]),
    "fbx_budget_register": (c_int, [_P, c_char_p, POINTER(fbx_budget_config), POINTER(_P)]),
    "fbx_budget_find": (c_int, [_P, c_char_p, POINTER(_P)]),
    "fbx_budget_deposit": (c_int, [_P]),
    "fbx_budget_withdraw": (c_int, [_P]),
    "fbx_bulkhead_register": (c_int, [_P, c_char_p, c_uint32, POINTER(_P)]),
    "fbx_bulkhead_find": (c_int, [_P, c_char_p, POINTER(_P)]),
    "fbx_bulkhead_acquire": (c_int, [_P, c_uint64, POINTER(fbx_bulkhead_permit)]),
    "fbx_bulkhead_release": (c_int, [_P, POINTER(fbx_bulkhead_permit)]),
    "fbx_cache_register": (c_int, [_P, c_char_p, c_uint64, c_uint64, POINTER(_P)]),
    "fbx_cache_find": (c_int, [_P, c_char_p, POINTER(_P)]),
    "fbx_cache_put": (c_int, [_P, c_char_p, c_size_t, c_char_p, c_size_t]),
    "fbx_cache_get": (c_int, [_P, c_char_p, c_size_t, c_void_p, c_size_t,
                              POINTER(fbx_cache_hit)]),
    "fbx_cache_drop": (c_int, [_P, c_char_p, c_size_t]),
    # snapshots, events
    "fbx_breaker_info_get": (c_int, [_P, POINTER(fbx_breaker_info)]),
    "fbx_snapshot_new": (c_int, [_P, POINTER(_P)]),
    "fbx_snapshot_take": (c_int, [_P, _P]),
    "fbx_snapshot_take_health": (c_int, [_P, _P]),
    "fbx_snapshot_free": (None, [_P]),
    "fbx_snapshot_time": (c_uint64, [_P]),
    "fbx_snapshot_breakers": (POINTER(fbx_breaker_info), [_P, POINTER(c_size_t)]),
    "fbx_snapshot_limiters": (POINTER(fbx_limiter_info), [_P, POINTER(c_size_t)]),
    "fbx_snapshot_workers": (POINTER(fbx_worker_info), [_P, POINTER(c_size_t)]),
    "fbx_snapshot_checks": (POINTER(fbx_check_info), [_P, POINTER(c_size_t)]),
    "fbx_snapshot_health": (POINTER(fbx_health), [_P]),
    "fbx_snapshot_budgets": (POINTER(fbx_budget_info), [_P, POINTER(c_size_t)]),
    "fbx_snapshot_bulkheads": (POINTER(fbx_bulkhead_info), [_P, POINTER(c_size_t)]),
    "fbx_snapshot_caches": (POINTER(fbx_cache_info), [_P, POINTER(c_size_t)]),
    "fbx_snapshot_events": (POINTER(fbx_event), [_P, POINTER(c_size_t), POINTER(c_uint64)]),
    "fbx_events_read": (c_int, [_P, c_uint64, POINTER(fbx_event), c_size_t,
                                POINTER(c_size_t), POINTER(c_uint64)]),
    "fbx_event_format": (c_int, [POINTER(fbx_event), c_uint64, c_char_p, c_size_t]),
    "fbx_breaker_state_label": (c_char_p, [c_int]),
    "fbx_event_cause_label": (c_char_p, [c_int]),
    "fbx_record_type_name": (c_char_p, [c_int]),
    # clock and its test hook
    "fbx_clock_now": (c_uint64, []),
    "fbx_clock_set": (None, [CLOCK_FN, c_void_p]),
}

_lock = threading.Lock()
_lib = None
_lib_path = None


def _candidates(path):
    if path:
        yield path
        return
    env = os.environ.get("FUSEBOX_LIB")
    if env:
        yield env
        return
    yield "libfusebox.so.0"            # the loader's path (ldconfig, LD_LIBRARY_PATH)
    found = ctypes.util.find_library("fusebox")
    if found:
        yield found
    # straight from the source tree: bindings/python/fusebox -> build/
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.join(here, "..", "..", "..", "build", "libfusebox.so.0")


def load(path=None):
    """Loads libfusebox (once per process) and returns the CDLL.

    path, else $FUSEBOX_LIB, else libfusebox.so.0 through the loader's path,
    else the source tree's build/libfusebox.so.0.  Raises OSError saying what
    was tried."""
    global _lib, _lib_path
    with _lock:
        if _lib is not None:
            if path and os.path.realpath(path) != os.path.realpath(_lib_path or ""):
                raise RuntimeError("libfusebox already loaded from %s" % _lib_path)
            return _lib
        tried = []
        for cand in _candidates(path):
            try:
                lib = ctypes.CDLL(cand)
            except OSError as e:
                tried.append("%s (%s)" % (cand, e))
                continue
            for name, (res, args) in PROTOTYPES.items():
                try:
                    fn = getattr(lib, name)
                except AttributeError:
                    continue  # an older library: that call raises when used
                fn.restype = res
                fn.argtypes = args
            _lib, _lib_path = lib, cand
            return lib
        raise OSError("cannot load libfusebox: tried " + "; ".join(tried) +
                      " (build it with make, install it, or set FUSEBOX_LIB to its path)")


def lib():
    return _lib if _lib is not None else load()


def lib_path():
    lib()
    return _lib_path
