"""make bench, Python part: a breaker call and a limiter hit through the
binding, next to the same in per-process pure-Python state, limits' memory
storage and limits on Redis (when redis-server and python3-redis are here).
Prints one line per row and a JSON line."""
import json
import os
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bindings",
                                "python"))
import fusebox  # noqa: E402

N = int(os.environ.get("FUSEBOX_PY_BENCH_N", "200000"))
rows = {}


def timed(label, fn, n=N):
    fn(min(n, 2000))            # warm up
    best = None
    for _ in range(3):
        t0 = time.perf_counter()
        fn(n)
        dt = (time.perf_counter() - t0) / n * 1e6
        best = dt if best is None else min(best, dt)
    rows[label] = round(best, 3)
    print("  %-58s %8.2f us" % (label, best))


def ok():
    return 1


class LocalBreaker:
    """What a process keeps on its own: pybreaker's closed-state call path."""

    def __init__(self, fail_max):
        self.fail_max, self.fails, self.state = fail_max, 0, "closed"

    def call(self, func, *a):
        if self.state == "open":
            raise RuntimeError("open")
        try:
            r = func(*a)
        except Exception:
            self.fails += 1
            if self.fails >= self.fail_max:
                self.state = "open"
            raise
        self.fails = 0
        return r


def redis_server():
    exe = shutil.which("redis-server")
    if not exe:
        return None, None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = subprocess.Popen([exe, "--port", str(port), "--save", "", "--appendonly", "no"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            return p, port
        except OSError:
            time.sleep(0.05)
    p.kill()
    return None, None


def main():
    name = "pybench-%d" % os.getpid()
    box = fusebox.Box(name)
    try:
        print("python binding (%s, %s):" % (sys.executable, fusebox.lib_path()))
        cb = fusebox.CircuitBreaker(name="bench", fail_max=5, box=box)
        call = cb.call
        timed("breaker call, closed (fusebox)", lambda n: [call(ok) for _ in range(n)])
        timed("breaker current_state (fbx_breaker_info_get)",
              lambda n: [cb.current_state for _ in range(n)], n=max(2000, N // 4))
        lb = LocalBreaker(5)
        timed("breaker call, closed (per-process pure Python)",
              lambda n: [lb.call(ok) for _ in range(n)])
        lim = fusebox.RateLimiter("bench", "100/minute", box=box, keyed=True)
        keys = ["k%d" % i for i in range(1000)]
        take = lim.take
        timed("limiter take, 1k keys, 100/minute (fusebox RateLimiter)",
              lambda n: [take(keys[i % 1000]) for i in range(n)])
        try:
            from limits import parse, storage, strategies
        except ImportError:
            print("  limits is not importable by %s: its rows are left out" % sys.executable)
            return
        item = parse("100/minute")
        fb_store = storage.storage_from_string("fusebox://" + name)
        fb = strategies.MovingWindowRateLimiter(fb_store)
        timed("limits hit, moving window, 1k keys (fusebox:// storage)",
              lambda n: [fb.hit(item, keys[i % 1000]) for i in range(n)])
        timed("limits get_window_stats, 1k keys (fusebox:// storage)",
              lambda n: [fb.get_window_stats(item, keys[i % 1000]) for i in range(n)],
              n=max(2000, N // 4))
        mem_store = storage.MemoryStorage()
        mem = strategies.MovingWindowRateLimiter(mem_store)
        timed("limits hit, moving window, 1k keys (memory:// storage)",
              lambda n: [mem.hit(item, keys[i % 1000]) for i in range(n)])
        timed("limits get_window_stats, 1k keys (memory:// storage)",
              lambda n: [mem.get_window_stats(item, keys[i % 1000]) for i in range(n)],
              n=max(2000, N // 4))
        try:
            import redis  # noqa: F401
        except ImportError:
            print("  python3-redis is missing: the Redis row is left out")
            redis = None
        if redis is not None:
            p, port = redis_server()
            if p is None:
                print("  redis-server is missing: the Redis row is left out")
            else:
                try:
                    rs = storage.storage_from_string("redis://127.0.0.1:%d" % port)
                    rw = strategies.MovingWindowRateLimiter(rs)
                    timed("limits hit, moving window, 1k keys (redis:// storage)",
                          lambda n: [rw.hit(item, keys[i % 1000]) for i in range(n)],
                          n=max(2000, N // 50))
                    timed("limits get_window_stats, 1k keys (redis:// storage)",
                          lambda n: [rw.get_window_stats(item, keys[i % 1000])
                                     for i in range(n)], n=max(2000, N // 50))
                finally:
                    p.terminate()
                    p.wait()
        f = rows["limits hit, moving window, 1k keys (fusebox:// storage)"]
        m = rows["limits hit, moving window, 1k keys (memory:// storage)"]
        print("  fusebox:// vs memory://: %.2fx faster" % (m / f))
        r = rows.get("limits hit, moving window, 1k keys (redis:// storage)")
        if r:
            print("  fusebox:// vs redis://: %.0fx faster" % (r / f))
    finally:
        box.remove()
        print(json.dumps({"python_bench": rows}))


if __name__ == "__main__":
    main()
