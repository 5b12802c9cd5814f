"""Cortex end to end: real gunicorn with four uvicorn workers on one box,
real upstream processes on loopback, driven over HTTP with httpx, wrk and
ab.  Every claim is proved by counting — calls the upstreams received,
the box's breaker counters, status codes — never by timing a request."""
import os
import re
import shutil
import subprocess
import sys
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
CORTEX = os.path.dirname(HERE)
sys.path.insert(0, CORTEX)

from stack import PKG, Stack  # noqa: E402

sys.path.insert(0, PKG)


def _missing():
    """The Debian package to install, or None."""
    for mod, pkg in (("gunicorn", "gunicorn"), ("fastapi", "python3-fastapi"),
                     ("uvicorn", "python3-uvicorn"), ("httpx", "python3-httpx")):
        try:
            __import__(mod)
        except ImportError:
            return pkg
    return None


MISSING = _missing()
SKIP = "needs the Debian package %s (sh tools/install-deps.sh cortex)" % MISSING
NO_WRK = shutil.which("wrk") is None

if MISSING is None:
    import httpx

    import cortex_records as R

TOKEN = {"Authorization": "Bearer tester"}
WRK_LUA = os.path.join(CORTEX, "embed.lua")


def wait_for(pred, what, timeout=15.0):
    """Polls pred until it is true; the bound only keeps a broken run from hanging."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("waited %.0fs for %s" % (timeout, what))
        time.sleep(0.05)


def wrk(base, seconds, token, prefix="", conns=8):
    """Runs wrk with embed.lua: {"sources": {...}, "non2xx": n, "requests": n, "errors": text}."""
    out = subprocess.run(["wrk", "-t2", "-c%d" % conns, "-d%ds" % seconds, "--latency",
                          "-s", WRK_LUA, base, "--", token, prefix],
                         capture_output=True, text=True, timeout=seconds + 30).stdout
    m = re.search(r"sources embedding=(\d+) cache=(\d+) backup=(\d+) zeros=(\d+) other=(\d+)",
                  out)
    assert m, out
    srcs = dict(zip(("embedding", "cache", "backup", "zeros", "other"), map(int, m.groups())))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {"sources": srcs, "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "errors": errors.group(0) if errors else "", "output": out}


class CortexCase(unittest.TestCase):
    """One stack for the class; each test starts from healthy upstreams,
    zero counts and closed breakers."""
    env = {"CORTEX_CHECK_INTERVAL": "0.3", "CORTEX_DRAIN_PERIOD": "1"}

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(port=int(os.environ["CORTEX_TEST_PORT"])
                          if os.environ.get("CORTEX_TEST_PORT") else None,
                          env=cls.env)
        try:
            cls.stack.start()
        except BaseException:
            cls.stack.stop()
            raise
        cls.rec = R.Records(cls.stack.handle)
        cls.base = cls.stack.base

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def setUp(self):
        for kind in Stack.KINDS:
            self.stack.sicken(kind, fail_rate=0, latency=0, fail_next=0)
            self.stack.reset_counts(kind)
        for b in (self.rec.embedding, self.rec.store, self.rec.backup):
            b.close(reason="test: setUp")
        wait_for(lambda: self.stack.handle.health()["status"] == "ok", "health ok")

    def run(self, result=None):
        # the servers' logs, when a test fails, say why
        n = len(result.failures) + len(result.errors) if result else 0
        r = super().run(result)
        if result and len(result.failures) + len(result.errors) > n:
            sys.stderr.write("\n" + self.stack.logs() + "\n")
        return r

    def post(self, path, body, headers=TOKEN, client=None, **kw):
        c = client or httpx
        return c.post(self.base + path if client is None else path, json=body,
                      headers=headers, timeout=15, **kw)

    def breaker_delta(self, breaker, since):
        """breaker's counters since the snapshot since (they count from the
        record's creation: closing a breaker does not zero them)."""
        now = breaker.stats
        return {k: now[k] - since[k] for k in ("failures", "rejected", "trips", "successes")}


@unittest.skipIf(MISSING, SKIP)
class Outage(CortexCase):

    def pinned(self, want=4, tries=100):
        """Keep-alive connections, one per worker (the pid in each answer says
        whose): a request on one is served by that worker."""
        by_pid = {}
        for _ in range(tries):
            c = httpx.Client(base_url=self.base, timeout=15,
                             limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))
            pid = c.get("/live").json()["worker"]
            if pid in by_pid:
                c.close()
            else:
                by_pid[pid] = c
                if len(by_pid) == want:
                    break
        for c in by_pid.values():
            self.addCleanup(c.close)
        self.assertGreaterEqual(len(by_pid), 3, "connections reached only %s" % list(by_pid))
        return by_pid

    def test_breaker_opens_after_fail_max_across_workers_then_fails_fast(self):
        conns = self.pinned()
        pids, clients = list(conns), list(conns.values())
        n = len(clients)
        # the cache learns "warm" texts while the embedder is well
        for i, c in enumerate(clients):
            r = self.post("/embed", {"texts": ["warm text %d" % i]}, client=c)
            self.assertEqual((r.status_code, r.json()["source"]), (200, "embedding"))
            self.assertEqual(r.json()["worker"], pids[i])

        s0 = self.rec.embedding.stats
        self.stack.sicken("embedder", fail_rate=1)
        # cold texts, round robin over the workers, one at a time until the
        # breaker opens: each request is one attempt and one retry
        answers = []
        for i in range(12):
            r = self.post("/embed", {"texts": ["cold text %d" % i]}, client=clients[i % n])
            answers.append(r.json())
            if self.rec.embedding.current_state == "open":
                break
        self.assertEqual(self.rec.embedding.current_state, "open")
        emb = self.stack.stats("embedder")
        st = self.breaker_delta(self.rec.embedding, s0)
        # fail_max failures in total, wherever they happened, and no more
        self.assertEqual(emb["failed"], 5, emb)
        self.assertEqual((st["failures"], st["trips"]), (5, 1), st)
        callers = {p for p, c in emb["by_caller"].items() if p != "probes" and c["failed"]}
        self.assertGreaterEqual(len(callers), 3, emb["by_caller"])
        self.assertEqual({a["worker"] for a in answers} & {int(p) for p in callers},
                         {int(p) for p in callers})
        # not in the cache: the backup answered each of them, and says so
        self.assertEqual({a["source"] for a in answers}, {"backup"})

        # fail fast: while it is open, nothing reaches the sick embedder
        before = self.stack.stats("embedder")["requests"]
        rejected = self.rec.embedding.stats["rejected"]
        got = []
        for i in range(24):
            text = "warm text %d" % (i % n) if i % 2 == 0 else "cold text %d" % i
            r = self.post("/embed", {"texts": [text]}, client=clients[i % n])
            self.assertEqual(r.status_code, 200)
            got.append(r.json()["source"])
        self.assertEqual(got.count("cache"), 12)
        self.assertEqual(got.count("backup"), 12)
        # the backup sick too: what the cache lacks is a zero vector
        self.stack.sicken("backup", fail_rate=1)
        r = self.post("/embed", {"texts": ["never seen"]}, client=clients[0])
        self.assertEqual((r.status_code, r.json()["source"]), (200, "zeros"))
        self.assertEqual(r.json()["vectors"], [[0.0] * 64])
        self.assertIn("embedding_service open", r.json()["degraded"])
        r = self.post("/vector/search", {"query": "never seen either"}, client=clients[1])
        self.assertEqual((r.status_code, r.json()["source"], r.json()["results"]),
                         (200, "zeros", []))
        r = self.post("/embed", {"texts": ["warm text 2"]}, client=clients[0])
        self.assertEqual(r.json()["source"], "cache")

        self.assertEqual(self.stack.stats("embedder")["requests"], before)
        self.assertEqual(self.rec.embedding.stats["rejected"] - rejected, 24 + 3)
        self.assertEqual(self.breaker_delta(self.rec.embedding, s0)["failures"], 5)

        # health: degraded (the breaker's check is not critical), still ready
        h = httpx.get(self.base + "/healthz").json()
        self.assertEqual(h["status"], "degraded")
        self.assertEqual(h["checks"]["embedding_service"]["status"], "fail")
        self.assertEqual(h["breakers"]["embedding_service"], "open")
        self.assertEqual(httpx.get(self.base + "/ready").status_code, 200)

    def test_a_failed_call_is_retried_once_within_the_budget(self):
        s0, b0 = self.rec.embedding.stats, self.rec.embed_budget.stats()
        self.stack.sicken("embedder", fail_next=1)
        r = self.post("/embed", {"texts": ["retried"]})
        self.assertEqual((r.status_code, r.json()["source"]), (200, "embedding"))
        self.assertNotIn("degraded", r.json())
        emb = self.stack.stats("embedder")
        self.assertEqual((emb["failed"], emb["ok"]), (1, 1))
        d = self.breaker_delta(self.rec.embedding, s0)
        self.assertEqual((d["failures"], d["successes"]), (1, 1))
        b1 = self.rec.embed_budget.stats()
        self.assertEqual(b1["retries_allowed"] - b0["retries_allowed"], 1, (b0, b1))
        # two failures in a row: one retry only, then the fallbacks
        self.stack.sicken("embedder", fail_next=2)
        r = self.post("/embed", {"texts": ["retried"]})
        self.assertEqual(r.json()["source"], "cache")
        self.assertIn("gave up after 2 attempts (exhausted)", r.json()["degraded"])
        self.assertEqual(self.stack.stats("embedder")["failed"], 3)

    @unittest.skipIf(NO_WRK, "needs the Debian package wrk (sh tools/install-deps.sh cortex)")
    def test_outage_mid_load_with_wrk(self):
        # warm the cache for wrk's texts, then fail the embedder under load
        for t in ("alpha beta", "gamma delta", "epsilon zeta", "eta theta", "iota kappa",
                  "lambda mu", "nu xi", "omicron pi"):
            self.assertEqual(self.post("/embed", {"texts": [t]}).json()["source"], "embedding")
        s0 = self.rec.embedding.stats
        with ThreadPoolExecutor(1) as pool:
            load = pool.submit(wrk, self.base, 4, "wrk")
            wait_for(lambda: self.stack.stats("embedder")["ok"] > 200, "load to reach the embedder")
            self.stack.sicken("embedder", fail_rate=1)
            res = load.result()
        src = res["sources"]
        self.assertEqual((res["non2xx"], src["other"], src["zeros"]), (0, 0, 0), res["output"])
        self.assertGreater(src["embedding"], 0, src)
        self.assertGreater(src["cache"], 0, src)     # the outage, answered from the cache
        st, emb = self.breaker_delta(self.rec.embedding, s0), self.stack.stats("embedder")
        self.assertEqual(st["trips"], 1, st)
        self.assertEqual(self.rec.embedding.current_state, "open")
        # every failure that reached the embedder was counted by the one
        # breaker; only calls already in flight when it opened came after
        # the fifth, at most one attempt per wrk connection
        self.assertEqual(emb["failed"], st["failures"], (emb, st))
        self.assertGreaterEqual(st["failures"], 5)
        self.assertLessEqual(st["failures"], 5 + 8, st)

        # the breaker open, a second burst: not one call reaches the embedder
        before = emb["requests"]
        res = wrk(self.base, 2, "wrk")
        self.assertEqual((res["non2xx"], res["sources"]["other"]), (0, 0), res["output"])
        self.assertGreater(res["sources"]["cache"], 100, res["sources"])
        self.assertEqual(self.stack.stats("embedder")["requests"], before)
        self.assertEqual(self.breaker_delta(self.rec.embedding, s0)["trips"], 1)

    def test_store_outage_is_unhealthy_and_not_ready(self):
        s0 = self.rec.store.stats
        self.stack.sicken("store", fail_rate=1)
        # the critical chromadb check fails: unhealthy, and out of rotation
        wait_for(lambda: httpx.get(self.base + "/healthz").status_code == 503, "unhealthy")
        h = httpx.get(self.base + "/healthz").json()
        self.assertEqual((h["status"], h["checks"]["chromadb"]["status"]), ("unhealthy", "fail"))
        r = httpx.get(self.base + "/ready")
        self.assertEqual(r.status_code, 503)
        self.assertIn("chromadb", r.json()["reason"])
        # searches: the chroma_db breaker opens after 3 failures, then 503 at once
        codes = [self.post("/vector/search", {"query": "breaker %d" % i}) for i in range(4)]
        self.assertEqual({r.status_code for r in codes}, {503})
        self.assertIn("Retry-After", codes[-1].headers)
        self.assertEqual(self.rec.store.current_state, "open")
        self.assertEqual(self.stack.stats("store")["failed"], 3)
        self.assertEqual(self.breaker_delta(self.rec.store, s0)["failures"], 3)
        # it heals: the checker sees it, ready again
        self.stack.sicken("store", fail_rate=0)
        wait_for(lambda: httpx.get(self.base + "/ready").status_code == 200, "ready again")

    def test_one_token_gets_exactly_100_a_minute_across_workers(self):
        def search(token):
            return self.post("/vector/search", {"query": "rate limit"},
                             headers={"Authorization": "Bearer " + token})
        d0 = self.rec.search_limit.stats()["denied"]
        with ThreadPoolExecutor(8) as pool:
            got = list(pool.map(search, ["alice"] * 130))
        codes = [r.status_code for r in got]
        self.assertEqual((codes.count(200), codes.count(429)), (100, 30))
        self.assertGreaterEqual(len({r.headers["x-cortex-worker"] for r in got}), 3)
        denied = [r for r in got if r.status_code == 429]
        for r in denied:
            self.assertGreaterEqual(int(r.headers["Retry-After"]), 1)
            self.assertEqual(r.headers["RateLimit-Limit"], "100")
            self.assertEqual(r.headers["RateLimit-Remaining"], "0")
        self.assertIn("100/minute", denied[0].json()["error"])
        # another token is not affected
        self.assertEqual(search("bob").status_code, 200)
        self.assertEqual(search("alice").status_code, 429)
        # and the same with a load generator: ab, 130 requests, 8 at a time
        ab = shutil.which("ab")
        if ab is None:
            self.skipTest("ab (apache2-utils) is not installed: httpx's half proved it")
        body = os.path.join(self.stack.data, "search.json")
        with open(body, "w") as f:
            f.write('{"query": "rate limit"}')
        out = subprocess.run([ab, "-q", "-n", "130", "-c", "8", "-p", body,
                              "-T", "application/json", "-H", "Authorization: Bearer carol",
                              self.base + "/vector/search"],
                             capture_output=True, text=True, timeout=60).stdout
        self.assertRegex(out, r"Complete requests:\s+130\b")
        self.assertRegex(out, r"Non-2xx responses:\s+30\b")
        self.assertEqual(self.rec.search_limit.stats()["denied"] - d0, 30 + 1 + 30)

    def test_bad_input_gets_a_clear_4xx(self):
        u = self.base
        r = httpx.post(u + "/embed", content=b"{not json", headers=TOKEN)
        self.assertEqual((r.status_code, r.json()["error"]), (400, "the body is not valid JSON"))
        r = httpx.post(u + "/embed", json={"texts": ["x"]})
        self.assertEqual(r.status_code, 401)
        self.assertEqual(r.headers["WWW-Authenticate"], "Bearer")
        self.assertIn("API token", r.json()["error"])
        r = httpx.post(u + "/embed", json={"texts": ["x"]},
                       headers={"Authorization": "Bearer bad token!"})
        self.assertEqual(r.status_code, 401)
        for body in ([1], {"texts": "x"}, {"texts": []}, {"texts": [3]}, {"texts": [""]},
                     {"texts": ["x"] * 17}):
            r = httpx.post(u + "/embed", json=body, headers=TOKEN)
            self.assertEqual(r.status_code, 400, body)
            self.assertIn("error", r.json())
        for body in ({}, {"query": 5}, {"query": "x", "k": 0}, {"query": "x", "k": "3"},
                     {"query": "x", "k": 11}):
            r = httpx.post(u + "/vector/search", json=body, headers=TOKEN)
            self.assertEqual(r.status_code, 400, body)
        r = httpx.post(u + "/vector/search", json={"query": "x"})
        self.assertEqual(r.status_code, 401)
        self.assertEqual(httpx.get(u + "/embed").status_code, 405)
        self.assertEqual(httpx.get(u + "/nowhere").status_code, 404)
        # nothing of it reached an upstream
        self.assertEqual(self.stack.stats("embedder")["requests"], 0)


@unittest.skipIf(MISSING, SKIP)
class Drain(CortexCase):
    """SIGTERM to the master: /ready fails first, what is in flight
    finishes with 200, nothing is lost, then everything stops."""

    def test_sigterm_drains_before_stopping(self):
        stack, box = self.stack, self.stack.handle
        stack.sicken("embedder", latency=1.5)       # slow, under the 2 s timeout
        with ThreadPoolExecutor(16) as pool:
            slow = [pool.submit(self.post, "/embed", {"texts": ["slow %d" % i]})
                    for i in range(4)]
            wait_for(lambda: box.health()["in_flight"] >= 4, "4 requests in flight")
            stack.terminate()
            # readiness fails while the slow requests are still being served
            r = wait_for(lambda: httpx.get(self.base + "/ready").status_code == 503 and
                         httpx.get(self.base + "/ready"), "/ready to fail")
            self.assertFalse(all(f.done() for f in slow), "ready failed only after them")
            self.assertEqual(r.json()["reason"], "draining")
            self.assertTrue(r.json()["draining"])
            # still serving during the drain: a new connection is answered
            late = pool.submit(self.post, "/embed", {"texts": ["late"]})
            answers = [f.result() for f in slow + [late]]
        self.assertEqual([a.status_code for a in answers], [200] * 5)
        self.assertEqual({a.json()["source"] for a in answers}, {"embedding"})
        self.assertEqual(stack.stats("embedder")["ok"], 5)   # each reached it, once
        # then it stops: exit 0, no worker alive, no process of its session left
        self.assertEqual(stack.master.wait(30), 0)
        h = box.health()
        self.assertTrue(h["draining"])
        self.assertEqual((h["workers_alive"], h["masters_alive"], h["in_flight"]), (0, 0, 0))
        wait_for(lambda: not _session_alive(stack.master.pid), "the session to end", 10)

    def setUp(self):
        pass        # a fresh stack: nothing to reset


def _session_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


if __name__ == "__main__":
    unittest.main()
