"""Cortex's settings and the records it keeps in its one box.

The gunicorn master calls declare() before forking (it creates the
records), and each worker calls it again: a record registered again with
the same settings is the same record, so every process shares one breaker,
one limiter, one budget and one cache.  Keeping the settings in one place
is what makes that true: a differing setting would raise ConfigConflict."""
import os

import fusebox

BOX = os.environ.get("CORTEX_BOX", "cortex")
EMBED_URL = os.environ.get("CORTEX_EMBED_URL", "http://127.0.0.1:4950")
BACKUP_URL = os.environ.get("CORTEX_BACKUP_URL", "http://127.0.0.1:4951")
STORE_URL = os.environ.get("CORTEX_STORE_URL", "http://127.0.0.1:4952")
DATA = os.environ.get("CORTEX_DATA", "/tmp/cortex")
DB_PATH = os.path.join(DATA, "cortex.db")

UPSTREAM_TIMEOUT = float(os.environ.get("CORTEX_UPSTREAM_TIMEOUT", "2.0"))
# One retry: an embedding sits on the request's path, and the budget keeps
# a fleet of workers from multiplying an outage's load.
EMBED_RETRIES = int(os.environ.get("CORTEX_EMBED_RETRIES", "1"))
CHECK_INTERVAL = float(os.environ.get("CORTEX_CHECK_INTERVAL", "2.0"))
DRAIN_PERIOD = float(os.environ.get("CORTEX_DRAIN_PERIOD", "3.0"))
DRAIN_TIMEOUT = float(os.environ.get("CORTEX_DRAIN_TIMEOUT", "20.0"))
DISK_WARN_PCT = float(os.environ.get("CORTEX_DISK_WARN_PCT", "5"))
SEARCH_RULE = "100/minute"
HEARTBEAT = 10.0


class Records:
    def __init__(self, box):
        self.box = box
        # The design's breakers.  A call that times out or answers 5xx is a
        # failure; fail_max counts them host-wide, whichever worker saw them.
        self.embedding = fusebox.CircuitBreaker(name="embedding_service", fail_max=5,
                                                reset_timeout=30, box=box).register()
        self.store = fusebox.CircuitBreaker(name="chroma_db", fail_max=3, reset_timeout=60,
                                            box=box).register()
        # the fallback has a breaker too: a sick backup is not hammered either
        self.backup = fusebox.CircuitBreaker(name="backup_embedder", fail_max=5,
                                             reset_timeout=30, box=box).register()
        # 100 a minute per API token across all workers: the exact sliding
        # log (100 fits the box's 128 log slots)
        self.search_limit = fusebox.RateLimiter("vector_search", SEARCH_RULE, box=box,
                                                keyed=True, algorithm="log")
        self.embed_budget = fusebox.RetryBudget("embedding_service", percent=20,
                                                min_per_sec=10, ttl=10.0, box=box)
        self.store_budget = fusebox.RetryBudget("chroma_db", percent=20, min_per_sec=10,
                                                ttl=10.0, box=box)
        # stale-if-error: fresh for 5 minutes, then served only when the
        # embedder fails, for a day more
        self.embeddings = fusebox.Cache("embeddings", ttl=300, stale=86400, box=box)


def open_box(create):
    """The process's handle on the box (fusebox.get_box keeps one per
    process: the master's, inherited by each forked worker, is the one the
    worker registers with and counts its requests on)."""
    if create:
        return fusebox.get_box(BOX, mode=0o600, cache_slots=1024)
    return fusebox.get_box(BOX, create=False)
