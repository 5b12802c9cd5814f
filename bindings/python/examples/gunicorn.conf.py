# gunicorn.conf.py — a prefork server whose master and workers share one
# fusebox box: the master creates it and declares what it holds, each
# worker registers and counts its requests in flight, and shutdown drains.
#
#   FUSEBOX_BOX=shop gunicorn -c gunicorn.conf.py -w 4 app:application
#
# fusebox-probe -b shop then answers /live, /ready, /healthz and /startup.
import os
import threading

import fusebox

BOX = os.environ.get("FUSEBOX_BOX", "shop")
HEARTBEAT = 10.0          # seconds: a worker silent this long counts as dead
box = None


def on_starting(server):
    """Master, before forking: create the box and declare its records."""
    global box
    box = fusebox.Box(BOX, mode=0o600)
    # the records every worker will attach to (same settings: same record)
    fusebox.CircuitBreaker(name="upstream", fail_max=5, reset_timeout=30, box=box).register()
    fusebox.RateLimiter("api", "100/minute", box=box, keyed=True)
    box.drain(False)                      # a restart ends the previous drain
    box.register_worker("master", heartbeat_timeout=HEARTBEAT)
    box.bind_check("upstream-breaker", "upstream", critical=False)


def when_ready(server):
    box.started()                         # startup probes pass from now


def _heartbeat():
    while True:
        try:
            box.heartbeat()
        except fusebox.FuseboxError:
            return
        threading.Event().wait(HEARTBEAT / 3)


def post_fork(server, worker):
    """Worker, after fork: the inherited handle keeps working; the worker
    takes a slot of its own."""
    box.register_worker("worker", heartbeat_timeout=HEARTBEAT)
    threading.Thread(target=_heartbeat, daemon=True).start()


def pre_request(worker, req):
    box.request_begin()


def post_request(worker, req, environ, resp):
    box.request_end()


def worker_exit(server, worker):
    box.unregister_worker()


def on_exit(server):
    """Master, shutting down: readiness fails at once, then wait for the
    requests still in flight (gunicorn has stopped its workers by now; a
    process of the host still serving from the box is waited for too)."""
    box.drain(True)
    busy = box.drain_wait(timeout=5.0)
    if busy:
        server.log.warning("fusebox: still busy after 5s: %s", busy)
    box.unregister_worker()
    if os.environ.get("FUSEBOX_UNLINK_ON_EXIT"):
        box.remove()
