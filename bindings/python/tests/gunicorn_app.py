"""A small WSGI app for the gunicorn end-to-end test: each worker attaches
to the box the master made (examples/gunicorn.conf.py)."""
import json
import os
import time

import fusebox

box = fusebox.get_box(os.environ["FUSEBOX_BOX"])
# the master registered "upstream" with these settings: the same record
upstream = fusebox.CircuitBreaker(name="upstream", fail_max=5, reset_timeout=30, box=box)
limit = fusebox.RateLimiter("e2e", "20/minute", box=box)


def call_upstream(delay):
    time.sleep(delay)
    raise ConnectionError("upstream down")


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    headers = [("X-Pid", str(os.getpid())), ("Content-Type", "application/json")]
    body = {}
    if path == "/fail":
        delay = float(environ.get("QUERY_STRING", "") or 0)
        try:
            upstream.call(call_upstream, delay)
        except ConnectionError:
            status = "500 Upstream Failed"
            headers.append(("X-Upstream-Called", "1"))
        except fusebox.CircuitBreakerError as e:
            if e.reason == "tripped":       # called, failed, and that tripped it
                status = "500 Upstream Failed"
                headers.append(("X-Upstream-Called", "1"))
            else:
                status = "503 Service Unavailable"
                headers.append(("Retry-After", str(max(1, int(e.retry_after)))))
    elif path == "/limited":
        r = limit.take()
        status = "200 OK" if r.allowed else "429 Too Many Requests"
        headers += list(r.headers().items())
    elif path == "/slow":
        time.sleep(float(environ.get("QUERY_STRING", "") or 1))
        status = "200 OK"
    elif path == "/health":
        status, body = "200 OK", box.health()
    else:
        status = "404 Not Found"
    data = json.dumps(body).encode()
    start_response(status, headers + [("Content-Length", str(len(data)))])
    return [data]
