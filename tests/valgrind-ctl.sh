#!/bin/sh
# valgrind-ctl.sh ARG... — fuseboxctl under valgrind's memcheck.  `make
# valgrind` points the ctl tests' FUSEBOX_CTL here, so every run of the
# tool in that suite is checked; FUSEBOX_CTL_BIN names the tool (default:
# build/fuseboxctl next to this script).
#
# exec, not a child: the tests send signals to the pid they started
# (events --follow ends on SIGTERM) and compare it with the pid an
# operator's event records, and valgrind keeps that pid for the tool.
#
# --error-exitcode=99: fuseboxctl exits 0, 1, 2 or 75 of its own, and
# `breaker call` passes on its command's status, which in the suite is
# 0-5, 100, 127 or 128 + a signal.  99 is none of those, nor a sysexits
# code (64-78) or one a shell gives (126, 127, 128 + N), so a memcheck
# error always shows as a status no test expects, with memcheck's report
# on the stderr the test prints.
#
# Only definite leaks are errors, and only they are shown: blocks still
# reachable at exit are the tool's to let the kernel free, and a "possibly
# lost" line on stderr would break the tests' one-line-on-stderr checks
# without being a fault.  Commands run by `breaker call` are not traced
# (valgrind's default): they are not fuseboxctl.
set -eu
here=$(dirname "$0")
exec "${VALGRIND:-valgrind}" -q --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite --show-leak-kinds=definite \
	"${FUSEBOX_CTL_BIN:-$here/../build/fuseboxctl}" "$@"
