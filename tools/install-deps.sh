#!/bin/sh
# install-deps.sh [test|demo|bench|sanitize|cortex|all] — make sure the Debian
# packages a make target needs are present.  As root it installs what is
# missing with apt-get; otherwise it names exactly what to install and fails
# (a missing optional package is named, never a failure).
set -eu

what=${1:-test}
optional=""   # installed when possible, never a failure
case "$what" in
test)  pkgs="gcc make pkg-config check libncurses-dev libjansson-dev libinih-dev libmicrohttpd-dev curl tmux clang libclang-rt-14-dev python3 python3-limits python3-flask-limiter python3-fastapi python3-starlette python3-httpx gunicorn python3-uvicorn wrk apache2-utils" ;;   # python3-*, gunicorn: make python-test; python3-uvicorn, wrk, apache2-utils (ab): make cortex-test
demo)  pkgs="gcc make pkg-config libncurses-dev libinih-dev libjansson-dev libmicrohttpd-dev" ;;
bench) pkgs="gcc make pkg-config libhiredis-dev"; optional="redis-server python3-limits python3-redis" ;;   # the bench says so when Redis or limits is missing
cortex) pkgs="gcc make pkg-config libncurses-dev python3 python3-fastapi python3-starlette python3-uvicorn python3-httpx gunicorn wrk apache2-utils curl" ;;   # make cortex, cortex-test, cortex-bench
sanitize) pkgs="gcc make pkg-config check libjansson-dev libinih-dev valgrind" ;;   # make tsan, make valgrind (gcc brings libtsan)
all)   pkgs="gcc make pkg-config check libncurses-dev libjansson-dev libinih-dev libmicrohttpd-dev curl libhiredis-dev clang libclang-rt-14-dev redis-server tmux valgrind python3 python3-limits python3-flask-limiter python3-fastapi python3-starlette python3-httpx gunicorn python3-uvicorn wrk apache2-utils python3-redis" ;;
*) echo "install-deps.sh: unknown set '$what' (test, demo, bench, sanitize, cortex or all)" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs $optional; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

# An optional package is installed on its own: one apt-get cannot fail
# the packages a target needs.
required="" wanted=""
for p in $missing; do
	case " $optional " in *" $p "*) wanted="$wanted $p" ;; *) required="$required $p" ;; esac
done

if [ "$(id -u)" -ne 0 ]; then
	echo "fusebox needs these Debian packages:$missing" >&2
	echo "install them with:  sudo apt-get install -y$missing" >&2
	[ -n "$required" ] && exit 1
	exit 0
fi
echo "install-deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || true
if [ -n "$required" ] && ! apt-get install -y -qq --no-install-recommends $required >/dev/null; then
	echo "install-deps.sh: apt-get could not install$required" >&2
	exit 1
fi
if [ -n "$wanted" ] && ! apt-get install -y -qq --no-install-recommends $wanted >/dev/null; then
	echo "install-deps.sh: apt-get could not install$wanted (optional: going on without)" >&2
fi
exit 0
