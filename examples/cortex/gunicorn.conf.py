# gunicorn.conf.py — Cortex under gunicorn: a master and its uvicorn workers
# sharing one fusebox box.
#
#   CORTEX_BOX=cortex gunicorn -c examples/cortex/gunicorn.conf.py cortex_app:app
#
# The master creates the box and its records, registers itself, starts the
# health checker and replaces gunicorn's SIGTERM handling with a drain;
# each worker registers, heartbeats, and (in the app's middleware) counts
# its requests in flight.
#
# SIGTERM drains before anything stops (fusebox.gunicorn.drain_on_sigterm):
# /ready answers 503 on every worker at once while everything is still
# served for CORTEX_DRAIN_PERIOD, the requests in flight of every worker
# finish, and only then does gunicorn stop its workers.  Stock gunicorn
# would close its listening sockets at the first SIGTERM, refusing new
# connections before a load balancer has seen readiness fail.
import os
import sqlite3
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import fusebox.gunicorn  # noqa: E402
import cortex_records as R  # noqa: E402
from cortex_common import CORPUS  # noqa: E402

# gunicorn settings (the command line may override them)
bind = os.environ.get("CORTEX_BIND", "127.0.0.1:4949")
workers = int(os.environ.get("CORTEX_WORKERS", "4"))
worker_class = "uvicorn.workers.UvicornWorker"
keepalive = 30              # idle keep-alive seconds: clients may reuse connections
graceful_timeout = 10       # after the drain: nothing is left in flight by then
timeout = 30
loglevel = os.environ.get("CORTEX_LOG_LEVEL", "warning")
proc_name = "cortex"

box = None
checker = None


def _seed_db():
    """The app's own SQLite (document titles): the `sqlite` check's subject."""
    os.makedirs(R.DATA, exist_ok=True)
    with sqlite3.connect(R.DB_PATH) as db:
        db.execute("CREATE TABLE IF NOT EXISTS documents (id TEXT PRIMARY KEY, title TEXT)")
        db.executemany("INSERT OR REPLACE INTO documents VALUES (?, ?)",
                       [(d, t) for d, t, _ in CORPUS])


def _heartbeat():
    while True:
        try:
            box.heartbeat()
        except Exception:       # the box was closed: the process is ending
            return
        time.sleep(R.HEARTBEAT / 4)


def on_starting(server):
    """Master, before anything forks."""
    global box
    _seed_db()
    box = R.open_box(create=True)
    box.drain(False)                    # a restart ends the previous run's drain
    box.register_worker("master", heartbeat_timeout=R.HEARTBEAT)
    R.Records(box)
    # the embedder's breaker makes health degraded, never unready: the
    # embedder is shared by every host, and the fallbacks still answer
    box.bind_check("embedding_service", "embedding_service", critical=False)
    threading.Thread(target=_heartbeat, daemon=True, name="fusebox-heartbeat").start()


def when_ready(server):
    """Master, listening, before the first fork."""
    global checker
    box.started()
    # The checks run in a process of their own rather than a thread of the
    # master: the master forks workers whenever one dies, and a thread that
    # holds SQLite's or a resolver's lock at that instant leaves it held
    # forever in the child.
    checker = subprocess.Popen([sys.executable, os.path.join(HERE, "checker.py")],
                               env=dict(os.environ, CORTEX_BOX=R.BOX))
    fusebox.gunicorn.drain_on_sigterm(server, box, period=R.DRAIN_PERIOD,
                                      timeout=R.DRAIN_TIMEOUT)


def post_fork(server, worker):
    """Worker, just forked: the inherited handle works; take a slot of its own."""
    box.register_worker("worker", heartbeat_timeout=R.HEARTBEAT)
    threading.Thread(target=_heartbeat, daemon=True, name="fusebox-heartbeat").start()


def worker_exit(server, worker):
    box.unregister_worker()


def on_exit(server):
    """Master, last: the box stays (DRAINING, no worker alive) for whoever
    watches it; the launcher or the tests remove it."""
    if checker is not None and checker.poll() is None:
        checker.terminate()
        checker.wait(5)
    box.unregister_worker()
