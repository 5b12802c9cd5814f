"""What Cortex's processes share without a box: the toy embedding model
(so the embedder, the backup and the vector store agree on one vector
space) and the vector's wire format in the shared cache."""
import hashlib
import math
import re
import struct

DIM = 64          # 64 float32 = 256 bytes: fits the box's 1 KiB cache values
_WORD = re.compile(r"[a-z0-9]+")


def embed_text(text, dim=DIM):
    """A hashed bag of words, L2-normalised: texts sharing words are near,
    which is all a search needs to be testable.  Deterministic, so that the
    primary and the backup embedder answer alike."""
    v = [0.0] * dim
    for w in _WORD.findall(text.lower()):
        h = hashlib.blake2b(w.encode(), digest_size=8).digest()
        i = int.from_bytes(h[:4], "little") % dim
        v[i] += 1.0 if h[4] & 1 else -1.0
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v] if n else v


def pack(vec):
    return struct.pack("<%df" % len(vec), *vec)


def unpack(data):
    return list(struct.unpack("<%df" % (len(data) // 4), data))


def cache_key(text):
    """Cache keys are at most 128 bytes: a digest names any text."""
    return "emb:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# The vector store's corpus: ids, titles (kept in the app's SQLite) and
# texts (embedded by the store at start).
CORPUS = [
    ("doc-%02d" % i, title, text) for i, (title, text) in enumerate([
        ("Circuit breakers", "a circuit breaker stops calls to a failing upstream service"),
        ("Rate limits", "a rate limit admits one hundred requests per minute per token"),
        ("Graceful shutdown", "drain the server and wait for in flight requests before exit"),
        ("Retries", "retry with exponential backoff and jitter within a retry budget"),
        ("Shared cache", "serve the last good answer from a shared cache when the upstream fails"),
        ("Health checks", "health checks report ok degraded or unhealthy for probes"),
        ("Bulkheads", "a bulkhead caps how many calls are in flight at once"),
        ("Vector search", "nearest neighbour search over embedding vectors with cosine similarity"),
        ("Embeddings", "an embedding model turns text into a vector of numbers"),
        ("Prefork servers", "a prefork server forks worker processes that share one socket"),
        ("Shared memory", "workers of one host share state through a shared memory segment"),
        ("Load balancers", "a load balancer stops routing to a host whose readiness probe fails"),
    ])
]
