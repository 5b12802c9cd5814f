"""slowapi's shape for FastAPI / Starlette, over host-wide limiters.

    from fusebox.asgi import Limiter, FuseboxMiddleware, get_remote_address
    limiter = Limiter(key_func=get_remote_address, box="shop")
    app = FastAPI()
    app.state.limiter = limiter
    app.add_middleware(FuseboxMiddleware)

    @app.get("/search")
    @limiter.limit("100/minute")
    async def search(request: Request): ...

A denied request gets 429 with Retry-After and RateLimit-Limit /
RateLimit-Remaining / RateLimit-Reset; an admitted one gets the RateLimit-*
headers.  Every worker process shares each route's budget per key.
"""
import functools
import inspect
import json

from .box import get_box
from .breaker import _record_name
from .limiter import RateLimiter

_STATE = "fusebox_limit"


class RateLimitExceeded(Exception):
    """A route's limit denied the request (slowapi's name).  .result is the
    LimitResult, .limit the rule, .headers what the 429 carries."""

    def __init__(self, result, limit):
        super().__init__("Rate limit exceeded: %s" % limit)
        self.result = result
        self.limit = limit
        self.detail = "Rate limit exceeded: %s" % limit
        self.headers = result.headers()


def get_remote_address(request):
    """The client's address (slowapi's key function)."""
    client = getattr(request, "client", None)
    return (client.host if client and client.host else None) or "127.0.0.1"


def _find_request(args, kwargs):
    r = kwargs.get("request")
    if r is not None:
        return r
    for a in list(args) + list(kwargs.values()):
        if hasattr(a, "scope") and hasattr(a, "state") and hasattr(a, "headers"):
            return a
    return None


def _store(request, result):
    prev = getattr(request.state, _STATE, None)
    # with several limits on one request, the headers name the tightest
    if prev is None or result.remaining < prev.remaining or not result.allowed:
        setattr(request.state, _STATE, result)


class Limiter:
    """key_func(request) -> the key a request is counted under; box: a Box
    or a box name; default_limits: rules the middleware applies to every
    request (one shared budget per key); headers_enabled: RateLimit-*
    headers on admitted responses."""

    def __init__(self, key_func, box=None, default_limits=(), headers_enabled=True,
                 enabled=True, prefix="asgi", algorithm="auto"):
        if not callable(key_func):
            raise TypeError("key_func must be callable")
        self.key_func = key_func
        self.box = get_box(box)
        self.headers_enabled = headers_enabled
        self.enabled = enabled
        self.prefix = prefix
        self.algorithm = algorithm
        self._limiters = {}
        self._default = [self._limiter("%s:default:%s" % (prefix, r), r)
                         for r in default_limits]

    def _limiter(self, name, rule):
        name = _record_name(name)
        l = self._limiters.get(name)
        if l is None:
            l = RateLimiter(name, rule, box=self.box, keyed=True, algorithm=self.algorithm)
            self._limiters[name] = l
        return l

    def hit(self, request, limiter, rule, key_func=None, cost=1):
        """Takes from limiter for request: raises RateLimitExceeded when denied."""
        key = str((key_func or self.key_func)(request)) or "-"
        res = limiter.take(key, cost)
        _store(request, res)
        if not res.allowed:
            raise RateLimitExceeded(res, rule)
        return res

    def limit(self, rule, key_func=None, cost=1, name=None):
        """Decorator: rule ("100/minute", "5/second;100/minute") for this
        route, per key.  The endpoint must take the Request (as with slowapi)."""
        def decorate(func):
            lim = self._limiter(name or "%s:%s.%s" % (self.prefix, func.__module__,
                                                      func.__qualname__), rule)

            def request_of(args, kwargs):
                req = _find_request(args, kwargs)
                if req is None:
                    raise TypeError("%s: @limiter.limit needs the endpoint to take a "
                                    "'request: Request' argument" % func.__qualname__)
                return req

            if inspect.iscoroutinefunction(func):
                @functools.wraps(func)
                async def async_wrapper(*args, **kwargs):
                    if self.enabled:
                        self.hit(request_of(args, kwargs), lim, rule, key_func, cost)
                    return await func(*args, **kwargs)
                return async_wrapper

            @functools.wraps(func)
            def wrapper(*args, **kwargs):
                if self.enabled:
                    self.hit(request_of(args, kwargs), lim, rule, key_func, cost)
                return func(*args, **kwargs)
            return wrapper
        return decorate


def _429(exc):
    body = json.dumps({"error": exc.detail}).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in exc.headers.items()]
    return headers, body


def rate_limit_exceeded_handler(request, exc):
    """For app.add_exception_handler(RateLimitExceeded, ...) (slowapi's
    _rate_limit_exceeded_handler)."""
    from starlette.responses import JSONResponse
    return JSONResponse({"error": exc.detail}, status_code=429, headers=exc.headers)


_rate_limit_exceeded_handler = rate_limit_exceeded_handler


class FuseboxMiddleware:
    """Pure ASGI middleware: applies the Limiter's default limits, answers
    429 (Retry-After, RateLimit-*) for a RateLimitExceeded raised by a route,
    and adds the RateLimit-* headers to admitted responses.  The Limiter is
    the limiter argument, else app.state.limiter."""

    def __init__(self, app, limiter=None):
        self.app = app
        self.limiter = limiter

    def _get_limiter(self, scope):
        if self.limiter is not None:
            return self.limiter
        app = scope.get("app")
        lim = getattr(getattr(app, "state", None), "limiter", None)
        if lim is None:
            raise RuntimeError("FuseboxMiddleware: no Limiter (pass limiter= or set "
                               "app.state.limiter)")
        return lim

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limiter = self._get_limiter(scope)
        scope.setdefault("state", {})
        if limiter.enabled and limiter._default:
            from starlette.requests import Request
            request = Request(scope, receive)
            try:
                for lim in limiter._default:
                    limiter.hit(request, lim, lim.name)
            except RateLimitExceeded as e:
                return await self._send_429(send, e)
        started = False

        async def send_wrapper(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                res = scope.get("state", {}).get(_STATE)
                if res is not None and limiter.headers_enabled:
                    have = {k.lower() for k, _ in message.get("headers", [])}
                    extra = [(k.lower().encode(), v.encode()) for k, v in res.headers().items()
                             if k.lower().encode() not in have]
                    message = dict(message)
                    message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except RateLimitExceeded as e:
            if started:
                raise
            await self._send_429(send, e)

    @staticmethod
    async def _send_429(send, exc):
        headers, body = _429(exc)
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})


SlowAPIMiddleware = FuseboxMiddleware


class InFlightMiddleware:
    """Pure ASGI middleware: counts each request in flight in this worker's
    slot of the box (what fbx_drain_wait, and so a drain, waits for), and
    once the box drains answers with Connection: close, so a keep-alive
    client's next request opens a connection to a host still ready.  Paths
    in exclude (the probes) are not counted: a probe must never hold up a
    drain.  The worker must have registered (box.register_worker()) on the
    same handle: fusebox.get_box(name) gives every caller the same one."""

    def __init__(self, app, box=None, exclude=("/healthz", "/ready", "/live", "/startup")):
        self.app = app
        self.box = box
        self.exclude = frozenset(exclude)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        box = self.box if self.box is not None else get_box()

        async def send_marked(message):
            if message["type"] == "http.response.start" and box.draining:
                message = dict(message, headers=list(message.get("headers", [])) +
                               [(b"connection", b"close")])
            await send(message)

        if scope["path"] in self.exclude:
            return await self.app(scope, receive, send_marked)
        box.request_begin()
        try:
            await self.app(scope, receive, send_marked)
        finally:
            box.request_end()
