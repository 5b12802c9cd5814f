"""Cortex: an embedding service and a vector search in front of a vector
store, one FastAPI app per gunicorn worker, every resilience decision taken
in the one box all workers share.

    POST /embed           {"texts": ["..."]}            -> vectors + "source"
    POST /vector/search   {"query": "...", "k": 5}      -> documents + "source"
                          (100 a minute per API token, host-wide)
    GET  /healthz /ready /live

Requests carry `Authorization: Bearer TOKEN` (or `X-API-Token: TOKEN`).
An embedding comes from the embedding service (retried once with jittered
backoff, within a host-wide retry budget, never into an open breaker), else
from the shared cache of last good answers, else from the backup embedder,
else it is a zero vector; the response's "source" says which.
"""
import json
import os
import re
import sqlite3

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

import fusebox
from fusebox.asgi import InFlightMiddleware
import cortex_records as R
from cortex_common import DIM, cache_key, pack, unpack

PID = str(os.getpid())
PROBES = ("/healthz", "/ready", "/live")
MAX_TEXTS = 16
MAX_TEXT = 2000
TOKEN = re.compile(r"^[A-Za-z0-9._~+/=-]{1,128}$")

# The master's handle, inherited across fork: the one this worker
# registered with in post_fork, so request_begin/end count on its slot.
box = R.open_box(create=False)
rec = R.Records(box)


class UpstreamError(Exception):
    """The upstream failed (5xx, a garbled answer): a breaker failure."""


class UpstreamRejected(Exception):
    """The upstream refused our request (4xx): our bug, not its sickness."""


# A 4xx says nothing about the upstream's health: neither a failure nor
# retried.  (exclude is this process's own setting, not the record's.)
for b in (rec.embedding, rec.store, rec.backup):
    b.add_excluded_exception(UpstreamRejected)

RETRY_ON = (httpx.HTTPError, UpstreamError)
app = FastAPI(title="Cortex", docs_url=None, redoc_url=None, openapi_url=None)
state = {}


class Problem(Exception):
    def __init__(self, status, message, headers=None, **extra):
        self.status, self.message, self.headers, self.extra = status, message, headers, extra


@app.exception_handler(Problem)
async def _problem(request, exc):
    return JSONResponse(dict({"error": exc.message}, **exc.extra), status_code=exc.status,
                        headers=exc.headers)


@app.on_event("startup")
async def _startup():
    # per worker: its pid tells the upstreams (and the tests) who called
    state["http"] = httpx.AsyncClient(timeout=R.UPSTREAM_TIMEOUT,
                                      headers={"X-Cortex-Worker": PID},
                                      limits=httpx.Limits(max_connections=64))
    state["db"] = sqlite3.connect(R.DB_PATH, check_same_thread=False)


@app.on_event("shutdown")
async def _shutdown():
    await state["http"].aclose()
    state["db"].close()


class WorkerHeader:
    """Names the worker that answered: the tests tell workers apart by it."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        async def send_marked(message):
            if message["type"] == "http.response.start":
                message = dict(message, headers=list(message.get("headers", [])) +
                               [(b"x-cortex-worker", PID.encode())])
            await send(message)
        await self.app(scope, receive, send_marked if scope["type"] == "http" else send)


# Each request in flight counts in this worker's slot (what a drain waits
# for; the probes do not count), and once the box drains keep-alive
# clients are asked to reconnect: their next connection goes to a host
# still ready.
app.add_middleware(InFlightMiddleware, box=box, exclude=PROBES)
app.add_middleware(WorkerHeader)


# ---- requests ------------------------------------------------------------

def api_token(request):
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth[:7].lower() == "bearer " else \
        request.headers.get("x-api-token", "").strip()
    if not token:
        raise Problem(401, "an API token is required (Authorization: Bearer TOKEN)",
                      {"WWW-Authenticate": "Bearer"})
    if not TOKEN.match(token):
        raise Problem(401, "malformed API token", {"WWW-Authenticate": "Bearer"})
    return token


async def json_body(request):
    raw = await request.body()
    try:
        body = json.loads(raw)
    except ValueError:
        raise Problem(400, "the body is not valid JSON")
    if not isinstance(body, dict):
        raise Problem(400, "the body must be a JSON object")
    return body


def texts_of(body):
    texts = body.get("texts", [body["text"]] if "text" in body else None)
    if not isinstance(texts, list) or not texts:
        raise Problem(400, '"texts" must be a non-empty list of strings (or give "text")')
    if len(texts) > MAX_TEXTS:
        raise Problem(400, "at most %d texts a request" % MAX_TEXTS)
    for t in texts:
        if not isinstance(t, str) or not t.strip():
            raise Problem(400, "each text must be a non-empty string")
        if len(t) > MAX_TEXT:
            raise Problem(400, "a text is at most %d characters" % MAX_TEXT)
    return texts


# ---- upstreams -----------------------------------------------------------

async def _post(url, payload):
    r = await state["http"].post(url, json=payload)
    if r.status_code >= 500:
        raise UpstreamError("%s answered %d" % (url, r.status_code))
    if r.status_code >= 400:
        raise UpstreamRejected("%s answered %d: %s" % (url, r.status_code, r.text[:200]))
    try:
        return r.json()
    except ValueError:
        raise UpstreamError("%s answered something that is not JSON" % url)


async def _embed_at(base, texts):
    data = await _post(base + "/embed", {"texts": texts})
    vecs = data.get("vectors") if isinstance(data, dict) else None
    if not isinstance(vecs, list) or len(vecs) != len(texts) or \
            any(not isinstance(v, list) or len(v) != DIM for v in vecs):
        raise UpstreamError("the embedder's answer has the wrong shape")
    return vecs


def _why(exc):
    if isinstance(exc, fusebox.CircuitBreakerError):
        return "breaker %s open" % exc.breaker.name
    if isinstance(exc, fusebox.RetryError):
        return "gave up after %d attempt%s (%s): %s" % (
            exc.attempts, "" if exc.attempts == 1 else "s", exc.stopped, exc.last_exception)
    return str(exc) or type(exc).__name__


async def embed(texts):
    """(vectors, source, why): the embedding service, else the shared cache
    (stale copies too: that is what they are kept for), else the backup
    embedder, else zero vectors."""
    try:
        vecs = await fusebox.retry_async(
            _embed_at, R.EMBED_URL, texts, box=box, breaker=rec.embedding,
            budget=rec.embed_budget, retry_on=RETRY_ON,
            backoff=fusebox.Backoff(max_retries=R.EMBED_RETRIES, base=0.05, cap=0.5))
        for t, v in zip(texts, vecs):
            rec.embeddings.put(cache_key(t), pack(v))
        return vecs, "embedding", None
    except (fusebox.CircuitBreakerError, fusebox.RetryError, UpstreamRejected) + RETRY_ON as e:
        why = _why(e)
    hits = [rec.embeddings.get(cache_key(t)) for t in texts]
    if all(h is not None for h in hits):
        return [unpack(h) for h in hits], "cache", why
    try:
        # one attempt: the fallback must not add retries of its own to an outage
        return await rec.backup.call_async(_embed_at, R.BACKUP_URL, texts), "backup", why
    except (fusebox.CircuitBreakerError, UpstreamRejected) + RETRY_ON as e:
        why += "; backup: " + _why(e)
    return [[0.0] * DIM for _ in texts], "zeros", why


def _answer(body, why):
    if why:
        body["degraded"] = why
    body["worker"] = int(PID)
    return body


@app.post("/embed")
async def post_embed(request: Request):
    api_token(request)
    texts = texts_of(await json_body(request))
    vecs, source, why = await embed(texts)
    return _answer({"source": source, "dim": DIM, "vectors": vecs}, why)


@app.post("/vector/search")
async def vector_search(request: Request):
    token = api_token(request)
    lim = rec.search_limit.take(token)
    if not lim.allowed:
        raise Problem(429, "rate limit exceeded: %s per token" % R.SEARCH_RULE, lim.headers())
    body = await json_body(request)
    query = body.get("query")
    if not isinstance(query, str) or not query.strip() or len(query) > MAX_TEXT:
        raise Problem(400, '"query" must be a non-empty string of at most %d characters'
                      % MAX_TEXT)
    k = body.get("k", 5)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 10:
        raise Problem(400, '"k" must be an integer from 1 to 10')
    (vec,), source, why = await embed([query])
    results = []
    if source != "zeros":       # a zero vector is near nothing: no search to run
        try:
            data = await fusebox.retry_async(
                _post, R.STORE_URL + "/query", {"vector": vec, "k": k}, box=box,
                breaker=rec.store, budget=rec.store_budget, retry_on=RETRY_ON,
                backoff=fusebox.Backoff(max_retries=1, base=0.05, cap=0.5))
        except (fusebox.CircuitBreakerError, fusebox.RetryError, UpstreamRejected) + RETRY_ON \
                as e:
            after = getattr(e, "retry_after", 0) or 1
            raise Problem(503, "the vector store is unavailable: " + _why(e),
                          {"Retry-After": str(int(after + 0.999))}, source=source)
        results = data.get("results", []) if isinstance(data, dict) else []
        ids = [r.get("id") for r in results]
        titles = dict(state["db"].execute(
            "SELECT id, title FROM documents WHERE id IN (%s)" % ",".join("?" * len(ids)),
            ids).fetchall()) if ids else {}
        for r in results:
            r["title"] = titles.get(r.get("id"))
    return JSONResponse(_answer({"source": source, "results": results}, why),
                        headers=lim.headers())


# ---- probes ----------------------------------------------------------------

@app.get("/live")
async def live():
    h = box.health()
    return JSONResponse({"live": h["live"], "worker": int(PID)},
                        status_code=200 if h["live"] else 503)


@app.get("/ready")
async def ready():
    h = box.health()
    body = {"ready": h["ready"], "draining": h["draining"], "worker": int(PID)}
    if not h["ready"]:
        body["reason"] = h["reason"]
    return JSONResponse(body, status_code=200 if h["ready"] else 503)


@app.get("/healthz")
async def healthz():
    """ok and degraded answer 200 (serving, perhaps from fallbacks),
    unhealthy 503: what the checks in the box say, for every worker alike."""
    h = box.health()
    checks = {c["name"]: {"status": c["status"], "critical": c["critical"],
                          "message": c["message"] or c["breaker"]} for c in box.checks()}
    breakers = {b.name: b.current_state for b in (rec.embedding, rec.store, rec.backup)}
    body = {"status": h["status"], "ready": h["ready"], "draining": h["draining"],
            "reason": h["reason"], "workers_alive": h["workers_alive"],
            "in_flight": h["in_flight"], "checks": checks, "breakers": breakers,
            "worker": int(PID)}
    return JSONResponse(body, status_code=503 if h["status"] == "unhealthy" else 200)

