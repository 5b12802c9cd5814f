"""Starts and stops the whole of Cortex: the three fake upstreams, gunicorn
with its uvicorn workers on one box, and (for `make cortex`) fusebox-top on
that box.  The tests and bench.sh use the same Stack, so what they exercise
is what `make cortex` runs.

    stack.py --top build/fusebox-top          # make cortex: 127.0.0.1:4949, box "cortex"
    stack.py --serve --port 4949               # no console: until SIGINT/SIGTERM

Every process is started in a session of its own: a Ctrl-C typed at the
console reaches the console alone, and stopping can signal a whole session
(gunicorn's master, workers and checker) so nothing is left behind."""
import argparse
import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PKG = os.path.join(ROOT, "bindings", "python")
if PKG not in sys.path:
    sys.path.insert(0, PKG)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_taken(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def http(method, url, body=None, headers=None, timeout=10):
    """(status, headers, parsed JSON body or text) — 4xx/5xx are answers too."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers=dict({"Content-Type": "application/json"},
                                              **(headers or {})))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw, status, hd = r.read(), r.status, dict(r.headers)
    except urllib.error.HTTPError as e:
        raw, status, hd = e.read(), e.code, dict(e.headers)
    try:
        return status, hd, json.loads(raw)
    except ValueError:
        return status, hd, raw.decode(errors="replace")


class Stack:
    KINDS = ("embedder", "backup", "store")

    def __init__(self, port=None, box=None, ports=None, workers=4, data=None, env=None,
                 lib=None):
        self.port = port or free_port()
        self.box = box or "cortex-%d-%d" % (os.getpid(), self.port)
        self.ports = dict(zip(self.KINDS, ports or [free_port() for _ in self.KINDS]))
        self.workers = workers
        self.tmp = data is None
        self.data = data or tempfile.mkdtemp(prefix="cortex-")
        self.extra_env = env or {}
        self.lib = lib or os.environ.get("FUSEBOX_LIB") or os.path.join(ROOT, "build",
                                                                       "libfusebox.so.0")
        self.base = "http://127.0.0.1:%d" % self.port
        self.upstreams = {}
        self.master = None
        self._logs = []

    # ---- life ----------------------------------------------------------------
    def env(self):
        e = dict(os.environ)
        e.update({
            "FUSEBOX_LIB": self.lib,
            "PYTHONPATH": os.pathsep.join([PKG, HERE] + [p for p in [
                os.environ.get("PYTHONPATH")] if p]),
            "CORTEX_BOX": self.box,
            "CORTEX_BIND": "127.0.0.1:%d" % self.port,
            "CORTEX_WORKERS": str(self.workers),
            "CORTEX_DATA": self.data,
            "CORTEX_EMBED_URL": self.url("embedder"),
            "CORTEX_BACKUP_URL": self.url("backup"),
            "CORTEX_STORE_URL": self.url("store"),
        })
        e.update(self.extra_env)
        return e

    def url(self, kind):
        return "http://127.0.0.1:%d" % self.ports[kind]

    def _log(self, name):
        f = open(os.path.join(self.data, name + ".log"), "ab")
        self._logs.append(f)
        return f

    def _spawn(self, argv, name):
        log = self._log(name)
        return subprocess.Popen(argv, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, cwd=HERE)

    def start(self, timeout=30):
        # a runner stopped by Ctrl-C or SIGTERM skips tearDown: stop anyway
        atexit.register(self.stop)
        for kind in self.KINDS:
            self.upstreams[kind] = self._spawn(
                [sys.executable, os.path.join(HERE, "upstream.py"), kind,
                 "--port", str(self.ports[kind])], kind)
        self.master = self._spawn(
            [sys.executable, "-m", "gunicorn", "-c", os.path.join(HERE, "gunicorn.conf.py"),
             "cortex_app:app"], "gunicorn")
        deadline = time.monotonic() + timeout
        for kind in self.KINDS:
            self._wait(lambda k=kind: self.stats(k), deadline, kind)
        self._wait(lambda: http("GET", self.base + "/ready", timeout=2)[0] == 200, deadline,
                   "gunicorn")
        import fusebox
        self.handle = fusebox.Box(self.box, create=False)
        # every worker registered, and the checker has set its checks once
        self._wait(lambda: self.handle.health()["workers_alive"] >= self.workers and
                   len(self.handle.checks()) >= 4, deadline, "the workers and checks")
        return self

    def _wait(self, ok, deadline, what):
        while True:
            try:
                if ok():
                    return
            except OSError:
                pass
            dead = [p for p in list(self.upstreams.values()) + [self.master]
                    if p is not None and p.poll() is not None]
            if dead or time.monotonic() > deadline:
                raise RuntimeError("cortex: %s did not come up%s\n%s" % (
                    what, " (a process exited)" if dead else "", self.logs()))
            time.sleep(0.1)

    def logs(self):
        out = []
        for name in ("gunicorn",) + self.KINDS:
            p = os.path.join(self.data, name + ".log")
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    text = f.read()[-3000:]
                if text.strip():
                    out.append("--- %s.log\n%s" % (name, text))
        return "\n".join(out)

    def terminate(self):
        """SIGTERM to the master: it drains, then stops (see gunicorn.conf.py)."""
        self.master.send_signal(signal.SIGTERM)

    def stop(self, timeout=40):
        """Drains and stops gunicorn, stops the upstreams, removes the box
        and the data: safe to call twice, and after any failure."""
        if self.master is not None:
            if self.master.poll() is None:
                self.master.send_signal(signal.SIGTERM)
                try:
                    self.master.wait(timeout)
                except subprocess.TimeoutExpired:
                    pass
            # the master's session: its workers and checker, whatever happened
            _killpg(self.master.pid)
            self.master.wait()
        for p in self.upstreams.values():
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            _killpg(p.pid)
        h = getattr(self, "handle", None)
        if h is not None:
            h.close()
        try:
            import fusebox
            fusebox.unlink(self.box)
        except Exception:       # NotFound: already removed
            pass
        for f in self._logs:
            f.close()
        self._logs = []
        atexit.unregister(self.stop)
        if self.tmp and os.path.isdir(self.data):
            shutil.rmtree(self.data, ignore_errors=True)

    # ---- the upstreams' controls ---------------------------------------------------
    def stats(self, kind):
        status, _, body = http("GET", self.url(kind) + "/admin", timeout=2)
        if status != 200:
            raise OSError("admin of %s answered %d" % (kind, status))
        return body

    def sicken(self, kind, fail_rate=None, latency=None, fail_next=None):
        body = {} if fail_next is None else {"fail_next": fail_next}
        if fail_rate is not None:
            body["fail_rate"] = fail_rate
        if latency is not None:
            body["latency"] = latency
        return http("POST", self.url(kind) + "/admin", body)[2]

    def reset_counts(self, kind):
        http("POST", self.url(kind) + "/admin/reset", {})


def _killpg(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def main():
    ap = argparse.ArgumentParser(
        description="Runs Cortex on fusebox: the fake upstreams, then gunicorn with its "
                    "workers on one box; with --top, the console on that box (quitting "
                    "it drains and stops everything), else --serve.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--port", type=int, default=4949, help="the service's port on 127.0.0.1")
    ap.add_argument("--upstream-ports", default="4950,4951,4952",
                    help="the embedder's, the backup's and the store's ports")
    ap.add_argument("--box", default="cortex", help="the box (created, and removed at the end)")
    ap.add_argument("--workers", type=int, default=4, help="gunicorn's workers")
    ap.add_argument("--data", default=None, help="SQLite and logs (default: a temporary dir)")
    ap.add_argument("--top", help="the fusebox-top binary: run it on the box, stop on quit")
    ap.add_argument("--serve", action="store_true", help="no console: run until SIGINT/SIGTERM")
    args = ap.parse_args()
    ports = [int(p) for p in args.upstream_ports.split(",")]
    for p in [args.port] + ports:
        if port_taken(p):
            sys.exit("cortex: port %d is in use (--port / --upstream-ports choose others)" % p)
    stack = Stack(port=args.port, box=args.box, ports=ports, workers=args.workers,
                  data=args.data)

    def stop_signal(sig, frame):
        raise SystemExit(128 + sig)
    signal.signal(signal.SIGTERM, stop_signal)
    signal.signal(signal.SIGHUP, stop_signal)
    try:
        print("cortex: starting on %s (box %r, logs in %s)" % (stack.base, stack.box,
                                                                stack.data), flush=True)
        stack.start()
        print("cortex: up.  Try, in another terminal:\n"
              "  curl -s -XPOST %s/vector/search -H 'Authorization: Bearer demo' "
              "-d '{\"query\": \"circuit breaker\"}'\n"
              "  curl -s -XPOST %s/admin -d '{\"fail_rate\": 1}'     # the embedder fails\n"
              "  curl -s %s/healthz\n"
              "  kill -TERM %d      # the master: drain, then stop"
              % (stack.base, stack.url("embedder"), stack.base, stack.master.pid), flush=True)
        if args.top and not args.serve:
            time.sleep(1.5)     # time to read the lines above
            # Ctrl-C at the console is the console's; we stop when it exits
            old = signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                subprocess.call([args.top, "-b", stack.box])
            finally:
                signal.signal(signal.SIGINT, old)
        else:
            print("cortex: Ctrl-C stops it", flush=True)
            while stack.master.poll() is None:
                time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        print("cortex: draining and stopping...", flush=True)
        stack.stop()
        print("cortex: stopped; box %r removed" % stack.box, flush=True)


if __name__ == "__main__":
    main()
