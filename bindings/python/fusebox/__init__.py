"""fusebox: host-wide circuit breakers, rate limiters, workers and health,
retry budgets, bulkheads and a shared cache for the worker processes of one
host, over libfusebox (ctypes; the standard library only).

    from fusebox import CircuitBreaker, CircuitBreakerError
    breaker = CircuitBreaker(fail_max=5, reset_timeout=30, exclude=[ValueError])

The library is found as $FUSEBOX_LIB, else libfusebox.so.0 on the loader's
path, else the source tree's build/ (or call fusebox.load(path) first).
Importing fusebox registers the fusebox:// storage with `limits` when
`limits` is installed.
"""
from ._lib import load, lib_path
from .box import Box, default_box_name, get_box
from .breaker import (STATE_CLOSED, STATE_HALF_OPEN, STATE_OPEN, CircuitBreaker,
                      CircuitBreakerError, CircuitBreakerListener)
from .errors import (AlreadyExists, BadName, BadRule, BoxClosedError, BoxFull, ConfigConflict,
                     FuseboxError, InvalidArgument, NotFound, OutOfRange, PermissionDenied,
                     ReadOnly, strerror)
from .limiter import LimitResult, RateLimiter, parse_rule
from .resilience import (Backoff, Bulkhead, BulkheadFull, Cache, CacheHit, RetryBudget,
                         RetryError, retry, retry_async)

__version__ = "0.1.0"


def version():
    """The version of the loaded libfusebox (fbx_version)."""
    from ._lib import lib
    return lib().fbx_version().decode()


def unlink(name):
    """Removes box NAME's shared-memory object (fbx_box_unlink)."""
    Box.unlink(name)


try:  # the fusebox:// scheme for limits, Flask-Limiter and slowapi users
    from .limits_storage import FuseboxStorage  # noqa: F401
except ImportError:  # limits is not installed: nothing to register with
    FuseboxStorage = None

__all__ = [
    "Box", "get_box", "default_box_name", "load", "lib_path", "version", "unlink",
    "CircuitBreaker", "CircuitBreakerError", "CircuitBreakerListener",
    "STATE_CLOSED", "STATE_OPEN", "STATE_HALF_OPEN",
    "RateLimiter", "LimitResult", "parse_rule",
    "RetryBudget", "Bulkhead", "BulkheadFull", "Cache", "CacheHit", "Backoff",
    "retry", "retry_async", "RetryError", "FuseboxStorage",
    "FuseboxError", "InvalidArgument", "BadName", "BadRule", "NotFound", "AlreadyExists",
    "ConfigConflict", "BoxFull", "PermissionDenied", "ReadOnly", "OutOfRange",
    "BoxClosedError", "strerror",
]
