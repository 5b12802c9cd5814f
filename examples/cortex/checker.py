"""Cortex's health checks, a child of the gunicorn master: every
CORTEX_CHECK_INTERVAL seconds it sets `sqlite` (critical), `chromadb`
(critical) and `disk` (not critical) in the box, each with a TTL of three
intervals, so a checker that dies or hangs makes its checks fail rather
than leave a stale pass.  It exits when its parent does."""
import os
import shutil
import signal
import sqlite3
import sys
import time
import urllib.error
import urllib.request

import cortex_records as R


def check_sqlite():
    try:
        db = sqlite3.connect("file:%s?mode=ro" % R.DB_PATH, uri=True, timeout=1.0)
        try:
            n = db.execute("SELECT count(*) FROM documents").fetchone()[0]
        finally:
            db.close()
        return "pass", "%d documents" % n
    except sqlite3.Error as e:
        return "fail", "sqlite: %s" % e


def check_chromadb():
    try:
        with urllib.request.urlopen(R.STORE_URL + "/healthz", timeout=1.0) as r:
            return "pass", "store answers %d" % r.status
    except urllib.error.HTTPError as e:
        return "fail", "store answers %d" % e.code
    except OSError as e:
        return "fail", "store unreachable: %s" % getattr(e, "reason", e)


def check_disk():
    u = shutil.disk_usage(R.DATA)
    pct = 100.0 * u.free / u.total
    return ("warn" if pct < R.DISK_WARN_PCT else "pass"), "%.0f%% free" % pct


def main():
    parent = os.getppid()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    box = R.open_box(create=False)
    ttl = 3 * R.CHECK_INTERVAL
    while os.getppid() == parent:
        for name, critical, fn in (("sqlite", True, check_sqlite),
                                   ("chromadb", True, check_chromadb),
                                   ("disk", False, check_disk)):
            status, msg = fn()
            box.set_check(name, status, critical=critical, ttl=ttl, message=msg[:100])
        time.sleep(R.CHECK_INTERVAL)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
