"""A fake upstream of Cortex, as its own process on loopback:

    upstream.py embedder --port 4950      POST /embed  {"texts": [...]}
    upstream.py backup   --port 4951      POST /embed  (the backup embedder)
    upstream.py store    --port 4952      POST /query  {"vector": [...], "k": 5}
                                          GET  /healthz

Its sickness is changed while it runs, and it counts what reached it, so
that a test can prove how many calls a sick upstream received:

    curl -s localhost:4950/admin                            # counts and settings
    curl -s -XPOST localhost:4950/admin -d '{"fail_rate": 1}'   # every call fails (503)
    curl -s -XPOST localhost:4950/admin -d '{"latency": 0.5}'   # every call takes 0.5 s
    curl -s -XPOST localhost:4950/admin -d '{"fail_next": 1}'   # the next call fails
    curl -s -XPOST localhost:4950/admin/reset               # counts to zero

The standard library only (ThreadingHTTPServer): nothing here should be able
to fail for a reason of its own.  /admin requests are not counted.
"""
import argparse
import json
import random
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cortex_common import CORPUS, DIM, embed_text


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.fail_rate = 0.0
        self.latency = 0.0
        self.fail_next = 0       # these many calls fail first, whatever the rate
        self.reset()

    def reset(self):
        self.requests = self.ok = self.failed = 0
        self.by_caller = {}      # the caller's X-Cortex-Worker (a pid) -> counts

    def snapshot(self):
        return {"fail_rate": self.fail_rate, "latency": self.latency, "fail_next": self.fail_next,
                "requests": self.requests, "ok": self.ok, "failed": self.failed,
                "by_caller": {k: dict(v) for k, v in self.by_caller.items()}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"     # keep-alive: the app's client pools connections
    server_version = "cortex-upstream"

    def log_message(self, fmt, *args):   # quiet: the counts say what happened
        pass

    def _send(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return None

    def do_GET(self):
        st = self.server.state
        if self.path == "/admin":
            with st.lock:
                return self._send(200, dict(st.snapshot(), kind=self.server.kind))
        if self.path == "/healthz":
            # a probe fails as calls do, but is counted apart: the counts
            # are the service's calls
            return self._serve(lambda body: {"status": "ok", "documents": len(CORPUS)}, {},
                               count=False)
        self._send(404, {"error": "no such path"})

    def do_POST(self):
        st = self.server.state
        body = self._body()
        if self.path == "/admin/reset":
            with st.lock:
                st.reset()
            return self._send(200, {"reset": True})
        if self.path == "/admin":
            if not isinstance(body, dict):
                return self._send(400, {"error": "body must be a JSON object"})
            with st.lock:
                try:
                    if "fail_rate" in body:
                        st.fail_rate = min(1.0, max(0.0, float(body["fail_rate"])))
                    if "latency" in body:
                        st.latency = max(0.0, float(body["latency"]))
                    if "fail_next" in body:
                        st.fail_next = max(0, int(body["fail_next"]))
                except (TypeError, ValueError):
                    return self._send(400, {"error": "fail_rate, latency, fail_next: numbers"})
                return self._send(200, st.snapshot())
        if body is None:
            return self._send(400, {"error": "body is not valid JSON"})
        kind = self.server.kind
        if kind in ("embedder", "backup") and self.path == "/embed":
            return self._serve(self._embed, body)
        if kind == "store" and self.path == "/query":
            return self._serve(self._query, body)
        self._send(404, {"error": "no such path"})

    def _serve(self, answer, body, count=True):
        """Counts the call, sleeps the latency, fails at the fail rate."""
        st = self.server.state
        caller = self.headers.get("X-Cortex-Worker", "-") if count else "probes"
        with st.lock:
            latency, fail = st.latency, random.random() < st.fail_rate
            if count and st.fail_next:
                st.fail_next -= 1
                fail = True
            if count:
                st.requests += 1
            c = st.by_caller.setdefault(caller, {"ok": 0, "failed": 0})
            if fail:
                st.failed += count
                c["failed"] += 1
            else:
                st.ok += count
                c["ok"] += 1
        if latency:
            time.sleep(latency)
        if fail:
            return self._send(503, {"error": "%s is sick" % self.server.kind})
        try:
            out = answer(body)
        except (KeyError, TypeError, ValueError) as e:
            return self._send(400, {"error": "bad request: %s" % e})
        self._send(200, out)

    def _embed(self, body):
        texts = body["texts"]
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise TypeError("texts must be a list of strings")
        return {"model": self.server.kind, "dim": DIM,
                "vectors": [embed_text(t) for t in texts]}

    def _query(self, body):
        q = body["vector"]
        k = int(body.get("k", 5))
        if not isinstance(q, list) or len(q) != DIM:
            raise ValueError("vector must be %d numbers" % DIM)
        scored = sorted(((sum(a * b for a, b in zip(q, v)), doc_id)
                         for doc_id, v in self.server.vectors), reverse=True)
        return {"results": [{"id": d, "score": round(s, 4)} for s, d in scored[:k]]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kind", choices=["embedder", "backup", "store"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    args = ap.parse_args()
    # socketserver's backlog of 5 drops SYNs under load: a 1 s retransmit
    # would pass for the upstream's latency
    ThreadingHTTPServer.request_queue_size = 128
    srv = ThreadingHTTPServer((args.host, args.port), Handler)
    srv.daemon_threads = True
    srv.kind = args.kind
    srv.state = State()
    srv.vectors = [(doc_id, embed_text(text)) for doc_id, _, text in CORPUS]
    # SIGTERM: a clean exit (the launcher and the tests stop us with it)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("upstream %s on %s:%d" % (args.kind, args.host, args.port), flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except (KeyboardInterrupt, SystemExit):
        pass
    srv.server_close()


if __name__ == "__main__":
    main()
