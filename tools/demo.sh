#!/bin/sh
# demo.sh — what `make demo` runs (from the top of the tree, after
# `make lib tools tui examples`): a demo box made from examples/demo.ini,
# the simulated prefork fleet of examples/fleet.c on it (a master and its
# workers, registered, heartbeating and counting requests in flight, with
# two health checks), and the console.  Quitting the console drains the
# box and waits for the requests in flight, then stops the fleet and
# removes the box.  Without a terminal, the fleet runs a few seconds, one
# snapshot is printed, and the drain follows.
#
# Environment: B (build directory, default build), DEMO_SECONDS (default 6),
# DEMO_WORKERS (default 4).
set -u
B=${B:-build}
BOX="demo-$$"
CTL="$B/fuseboxctl"
FLEET_PID=

cleanup() {
	if [ -n "$FLEET_PID" ]; then
		kill -TERM "$FLEET_PID" 2>/dev/null
		wait "$FLEET_PID" 2>/dev/null
		FLEET_PID=
	fi
	"$CTL" -b "$BOX" destroy >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 131' QUIT

"$CTL" -b "$BOX" create --config examples/demo.ini >/dev/null || exit 1
"$B/examples/fleet" "$BOX" --workers "${DEMO_WORKERS:-4}" &
FLEET_PID=$!

if [ -t 0 ] && [ -t 1 ]; then
	"$B/fusebox-top" -b "$BOX"
	rc=$?
else
	sleep "${DEMO_SECONDS:-6}"
	"$B/fusebox-top" -b "$BOX" -1
	rc=$?
fi

# What a deploy does before it stops the fleet: take the host out of
# rotation (readiness fails at once), then wait for the requests in
# flight; the workers start no new ones while the box drains.
echo
echo "\$ fuseboxctl drain --wait 3s && fuseboxctl health --ready"
"$CTL" -b "$BOX" drain --wait 3s
"$CTL" -b "$BOX" health --ready
exit $rc
