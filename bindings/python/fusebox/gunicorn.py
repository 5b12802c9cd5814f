"""gunicorn hooks for a box shared by the master and its workers: a drain
that fails readiness before anything stops.

    # gunicorn.conf.py
    import fusebox, fusebox.gunicorn
    def when_ready(server):
        fusebox.gunicorn.drain_on_sigterm(server, fusebox.get_box("shop"),
                                          period=3.0, timeout=25.0)

Why: stock gunicorn answers SIGTERM by closing its listening sockets and
stopping the workers at once.  A load balancer that has not yet seen
readiness fail keeps sending traffic into a closed port.  With this hook the
first SIGTERM marks the box draining (/ready answers 503 on every worker at
once, fbx_drain), everything is still served for `period` seconds so the
balancer notices, then the requests in flight of every worker reach zero
(fbx_drain_wait, up to `timeout`), and only then does gunicorn's own
handler run — gracefully, with nothing left in flight.

How: the arbiter dispatches a signal to self.handle_<name>, looked up on the
instance, so replacing server.handle_term in when_ready (the arbiter exists
and no worker has forked) is enough: no Arbiter subclass, no launcher, and
`gunicorn -c` stays the way to run.  The wait runs on a thread, never in the
handler: the arbiter must keep reaping and respawning workers and killing
hung ones while the drain lasts.  When it ends, the thread sends SIGTERM
again and the original handler stops the workers.  SIGINT and SIGQUIT keep
gunicorn's immediate stop.

Requests in flight are what the workers count: pre_request/post_request
hooks for sync workers, fusebox.asgi.InFlightMiddleware for ASGI workers
(gunicorn does not call those hooks for them).
"""
import os
import signal
import threading
import time


def drain_on_sigterm(server, box, period=3.0, timeout=30.0, log=None):
    """Installs the drain on gunicorn's arbiter `server` (call it from
    when_ready).  box: the fusebox.Box the workers count their requests in.
    Returns nothing; a second SIGTERM during the drain is logged and ignored."""
    if period < 0 or timeout < 0:
        raise ValueError("drain_on_sigterm: period and timeout must be >= 0")
    original = server.handle_term
    log = log or server.log
    phase = {"now": "serving"}

    def finish():
        # Whatever becomes of the wait (a box recreated or damaged under
        # it raises), the master must stop in the end: a drain that never
        # finishes would leave it ignoring every SIGTERM until a SIGKILL.
        try:
            time.sleep(period)          # readiness is seen failing; all is still served
            busy = box.drain_wait(timeout=timeout)
            if busy:
                log.warning("fusebox: still in flight after %.0fs, stopping anyway: %s",
                            timeout, busy)
        except Exception:
            log.exception("fusebox: the drain wait failed; stopping anyway")
        finally:
            phase["now"] = "drained"
            os.kill(os.getpid(), signal.SIGTERM)

    def handle_term():
        if phase["now"] == "drained":
            return original()           # raises StopIteration: gunicorn stops
        if phase["now"] == "draining":
            log.warning("fusebox: SIGTERM again while draining: ignored (SIGINT stops at once)")
            return
        phase["now"] = "draining"
        # /ready fails from this instant, host-wide; the event says why.
        # A box that cannot be drained must not keep the master from
        # stopping: say so and go on with the wait, which ends either way.
        try:
            box.drain(True, reason="SIGTERM to gunicorn master %d" % os.getpid())
        except Exception:
            log.exception("fusebox: could not mark the box draining")
        log.warning("fusebox: SIGTERM: draining (%.1fs of failing readiness, then up to "
                    "%.0fs for requests in flight)", period, timeout)
        threading.Thread(target=finish, daemon=True, name="fusebox-drain").start()

    server.handle_term = handle_term
