#!/bin/sh
# install-deps.sh [test|demo|bench|sanitize|all] — make sure the Debian
# packages a make target needs are present.  As root it installs what is
# missing with apt-get; otherwise it names exactly what to install and fails.
set -eu

what=${1:-test}
case "$what" in
test)  pkgs="gcc make pkg-config check libncurses-dev libjansson-dev libinih-dev tmux clang libclang-rt-14-dev" ;;
demo)  pkgs="gcc make pkg-config libncurses-dev libinih-dev" ;;
bench) pkgs="redis-server" ;;   # optional: the bench says so when Redis is missing
sanitize) pkgs="gcc make pkg-config check libjansson-dev libinih-dev valgrind" ;;   # make tsan, make valgrind (gcc brings libtsan)
all)   pkgs="gcc make pkg-config check libncurses-dev libjansson-dev libinih-dev libhiredis-dev clang libclang-rt-14-dev redis-server tmux valgrind" ;;
*) echo "install-deps.sh: unknown set '$what' (test, demo, bench, sanitize or all)" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "fusebox needs these Debian packages:$missing" >&2
	echo "install them with:  sudo apt-get install -y$missing" >&2
	[ "$what" = bench ] && exit 0
	exit 1
fi
echo "install-deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || true
if ! apt-get install -y -qq --no-install-recommends $missing >/dev/null; then
	echo "install-deps.sh: apt-get could not install$missing" >&2
	[ "$what" = bench ] && exit 0
	exit 1
fi
