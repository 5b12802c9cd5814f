"""limits_replay.py: replays the bench's traces through Python limits'
moving window and says whether its decisions are fusebox's log's.

Run by the bench (accuracy.c) as /usr/bin/python3 limits_replay.py FILE.
FILE holds, per trace, the rule and its calls (time in ns, key, cost, the
log's decision).  limits reads time.time(); the replay substitutes the
trace's clock for it in limits' memory storage, so both libraries decide on
the same times.

Output, one line each: "limits VERSION", "trace I CALLS DIFFER FIRST" per
trace (FIRST: the first differing call, -1 if none), "boundary SAME" for a
take exactly one period after the unit it waits for, then "done".  Without
limits: "missing limits".
"""
import sys

try:
    import limits
    import limits.storage.memory as memory
    from limits.storage import MemoryStorage
    from limits.strategies import MovingWindowRateLimiter
except ImportError:
    print("missing limits")
    sys.exit(0)


class TraceClock:
    """Stands in for the time module inside limits' memory storage."""

    def __init__(self):
        self.now = 0.0

    def time(self):
        return self.now


clock = TraceClock()
memory.time = clock


def decide(limiter, items, key, cost):
    """One take of cost on every limit of the rule, all or nothing.

    A single limit is limits' own hit(), cost included.  limits 2.8 has no
    hit for several limits at once (a hit on each in turn keeps what the
    first ones took when a later one denies), and its test() takes no cost:
    the moving window's remaining count says whether a hit of cost would
    pass (acquire_entry denies exactly when fewer than cost remain), and
    only then is every limit hit.
    """
    if len(items) == 1:
        return limiter.hit(items[0], key, cost=cost)
    for item in items:
        if limiter.get_window_stats(item, key)[1] < cost:
            return False
    for item in items:
        if not limiter.hit(item, key, cost=cost):
            raise RuntimeError("hit denied after its window said it fits")
    return True


def replay(rule, calls):
    storage = MemoryStorage()
    limiter = MovingWindowRateLimiter(storage)
    items = limits.parse_many(rule)
    differ, first = 0, -1
    for i, (t, key, cost, theirs) in enumerate(calls):
        clock.now = t / 1e9
        mine = decide(limiter, items, "k%d" % key, cost)
        if mine != theirs:
            differ += 1
            if first < 0:
                first = i
    storage.timer.cancel()
    return differ, first


def boundary():
    """1/second: a unit, then a take exactly one second later.  fusebox's
    window is (now - period, now], so the unit has left it; say whether
    limits agrees."""
    storage = MemoryStorage()
    limiter = MovingWindowRateLimiter(storage)
    item = limits.parse("1/second")
    clock.now = 1000.0
    limiter.hit(item, "b")
    clock.now = 1001.0
    same = limiter.hit(item, "b")
    storage.timer.cancel()
    return same


def main(path):
    print("limits %s" % limits.__version__, flush=True)
    with open(path) as f:
        if f.readline().split() != ["fusebox-limits-replay", "1"]:
            raise SystemExit("not a replay file")
        for line in f:
            head = line.split()
            if head[0] == "end":
                break
            # trace I RULE PATTERN COSTS N
            n = int(head[5])
            calls = []
            for _ in range(n):
                t, key, cost, admitted = f.readline().split()
                calls.append((int(t), int(key), int(cost), admitted == "1"))
            differ, first = replay(head[2], calls)
            print("trace %s %d %d %d" % (head[1], n, differ, first), flush=True)
    print("boundary %d" % (1 if boundary() else 0))
    print("done")


if __name__ == "__main__":
    main(sys.argv[1])
