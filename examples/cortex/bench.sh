#!/bin/sh
# bench.sh — Cortex's latency with wrk: healthy, then through an outage of
# the embedding service (it answers 503; then it hangs past the client's
# timeout).  Prints wrk's latency distribution for each phase and a summary
# of p50/p90/p99/max.  Loopback only; each phase is bounded (BENCH_SECONDS).
#
#   make cortex-bench            # or: FUSEBOX_LIB=build/libfusebox.so.0 sh examples/cortex/bench.sh
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
B=${B:-build}
CTL=${FUSEBOX_CTL:-$B/fuseboxctl}
SECONDS_EACH=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNS:-16}
free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=${CORTEX_BENCH_PORT:-$(free_port)}
UP="$(free_port),$(free_port),$(free_port)"
EMB=http://127.0.0.1:${UP%%,*}
BOX=cortex-bench-$$
BASE=http://127.0.0.1:$PORT
OUT=$(mktemp -d)

"$PYTHON" "$HERE/stack.py" --serve --port "$PORT" --upstream-ports "$UP" --box "$BOX" \
	>"$OUT/stack.log" 2>&1 &
STACK=$!
cleanup() {
	kill -TERM "$STACK" 2>/dev/null || true
	wait "$STACK" 2>/dev/null || true
	rm -rf "$OUT"
}
trap cleanup EXIT INT TERM

i=0
until curl -sf "$BASE/ready" >/dev/null; do
	i=$((i + 1))
	if [ $i -gt 300 ] || ! kill -0 "$STACK" 2>/dev/null; then
		cat "$OUT/stack.log" >&2; echo "bench: cortex did not start" >&2; exit 1
	fi
	sleep 0.1
done

admin() { curl -sf -XPOST "$EMB/admin" -d "$1" >/dev/null; }
reset_breaker() {
	FUSEBOX_BOX=$BOX "$PYTHON" -c 'import os, sys; sys.path.insert(0, sys.argv[1]); import fusebox
fusebox.CircuitBreaker(name="embedding_service", fail_max=5, reset_timeout=30, box=os.environ["FUSEBOX_BOX"]).close("bench")' "$HERE/../../bindings/python"
}
# a 10 ms upstream, and the cache warmed with wrk's texts
curl -sf -XPOST "${BASE%:*}:${UP##*,}/admin" -d '{"latency": 0.01}' >/dev/null
admin '{"latency": 0.01}'
for t in "alpha beta" "gamma delta" "epsilon zeta" "eta theta" "iota kappa" "lambda mu" "nu xi" "omicron pi"; do
	curl -sf -XPOST "$BASE/embed" -H 'Authorization: Bearer bench' -d "{\"texts\": [\"$t\"]}" >/dev/null
done

run() {   # name: one wrk phase
	echo "== $1"
	wrk -t2 -c"$CONNS" -d"${SECONDS_EACH}s" --timeout 10s --latency -s "$HERE/embed.lua" "$BASE" -- bench \
		| tee "$OUT/$1.txt" | sed -n '/Latency Distribution/,/^sources/p;/Requests\/sec/p;/Non-2xx/p'
	echo
}

run healthy
admin '{"fail_rate": 1}'
run outage-503
reset_breaker
admin '{"fail_rate": 0, "latency": 3}'     # hangs past the app's 2 s timeout
run outage-hang

echo "== summary (wrk -t2 -c$CONNS -d${SECONDS_EACH}s, POST /embed, 4 workers; ms)"
printf '%-12s %8s %8s %8s %8s %9s  %s\n' phase p50 p90 p99 max requests sources
for p in healthy outage-503 outage-hang; do
	l=$(grep '^latency_ms' "$OUT/$p.txt"); s=$(grep '^sources' "$OUT/$p.txt")
	set -- $(echo "$l" | sed 's/[a-z0-9_]*=//g; s/latency_ms//')
	printf '%-12s %8s %8s %8s %8s %9s  %s\n' "$p" "$1" "$2" "$3" "$4" "$5" "${s#sources }"
done
