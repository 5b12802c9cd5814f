# gunicorn.conf.py — a prefork server whose master and workers share one
# fusebox box: the master creates it and declares what it holds, each
# worker registers and counts its requests in flight, and shutdown drains.
#
#   FUSEBOX_BOX=shop gunicorn -c gunicorn.conf.py -w 4 app:application
#
# fusebox-probe -b shop then answers /live, /ready, /healthz and /startup.
# SIGTERM to the master drains first: readiness fails on every worker at
# once, requests go on being served for FUSEBOX_DRAIN_PERIOD seconds, the
# requests in flight finish, and only then does gunicorn stop its workers
# (fusebox.gunicorn).  The sync workers count their requests in
# pre_request/post_request; ASGI workers use fusebox.asgi.InFlightMiddleware.
import os
import threading

import fusebox
import fusebox.gunicorn

BOX = os.environ.get("FUSEBOX_BOX", "shop")
HEARTBEAT = 10.0          # seconds: a worker silent this long counts as dead
DRAIN_PERIOD = float(os.environ.get("FUSEBOX_DRAIN_PERIOD", "3"))
box = None


def on_starting(server):
    """Master, before forking: create the box and declare its records.
    get_box: the workers inherit this handle, and the app's get_box(BOX)
    returns it, so the slot a worker registers is the one it counts in."""
    global box
    box = fusebox.get_box(BOX, mode=0o600)
    # the records every worker will attach to (same settings: same record)
    fusebox.CircuitBreaker(name="upstream", fail_max=5, reset_timeout=30, box=box).register()
    fusebox.RateLimiter("api", "100/minute", box=box, keyed=True)
    box.drain(False)                      # a restart ends the previous drain
    box.register_worker("master", heartbeat_timeout=HEARTBEAT)
    box.bind_check("upstream-breaker", "upstream", critical=False)


def when_ready(server):
    box.started()                         # startup probes pass from now
    fusebox.gunicorn.drain_on_sigterm(server, box, period=DRAIN_PERIOD, timeout=25.0)


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
    """Master, last: the drain is over (the box stays DRAINING for whoever
    watches it until the next start)."""
    box.unregister_worker()
    if os.environ.get("FUSEBOX_UNLINK_ON_EXIT"):
        box.remove()
