#!/bin/sh
# check.sh STEP BOX — what `make install` gives a program built against it,
# run by tests/test_install.c from the top of the tree, one STEP per test:
#
#   static     pkg-config --static fusebox-static links libfusebox.a: the
#              client has no NEEDED libfusebox and runs with no .so left
#   shared     pkg-config fusebox links libfusebox.so.0, which the client
#              finds in the tree through LD_LIBRARY_PATH
#   uninstall  make uninstall leaves none of the library's files
#
# Each step installs the library alone (make install-lib: header, both
# libraries, both .pc files) with DESTDIR=<a temporary tree> PREFIX=/usr.
# BOX is a box name the client may create and removes.  Environment:
# FUSEBOX_BUILD (the build directory; default: where $FUSEBOX_CTL is, else
# build), FUSEBOX_CC (cc).
set -eu

step=${1:?step}
box=${2:?box name}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUSEBOX_BUILD:-$(dirname "${FUSEBOX_CTL:-build/fuseboxctl}")}
cc=${FUSEBOX_CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fusebox-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tree=$tmp/tree
lib=$tree/usr/lib

fail() {
	echo "install/check.sh $step: $*" >&2
	exit 1
}

# The test runs under make test's make: its jobserver is not ours.  It
# installs the libraries make test built (-o lib), not ones rebuilt because
# a source changed since; a build dir without them has them built.
keep=
if [ -e "$root/$build/libfusebox.a" ] && ls "$root/$build"/libfusebox.so.*.*.* >/dev/null 2>&1; then
	keep="-o lib"
fi
# shellcheck disable=SC2086 # $keep is words
env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -j"$(nproc 2>/dev/null || echo 2)" -C "$root" \
	B="$build" $keep DESTDIR="$tree" PREFIX=/usr install-lib >"$tmp/make.out" 2>&1 || {
	cat "$tmp/make.out" >&2
	fail "make install-lib failed"
}

# A library built with sanitizers (make asan) needs their runtime in the
# client too.
san=
if nm -A "$root/$build/libfusebox.a" 2>/dev/null | grep -q __asan_init; then
	san="-fsanitize=address,undefined"
	ASAN_OPTIONS=detect_leaks=0
	export ASAN_OPTIONS
fi

pc() {
	PKG_CONFIG_LIBDIR=$lib/pkgconfig PKG_CONFIG_PATH='' PKG_CONFIG_SYSROOT_DIR=$tree \
		PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1 pkg-config "$@"
}

build_client() { # OUT PKG-CONFIG-ARGS...
	out=$1
	shift
	flags=$(pc "$@") || fail "pkg-config $* failed"
	# shellcheck disable=SC2086 # the flags are words
	"$cc" -std=c11 -Wall -Wextra -Werror $san -o "$out" "$root/tests/install/client.c" $flags \
		>"$tmp/cc.out" 2>&1 || {
		cat "$tmp/cc.out" >&2
		fail "$cc ... \$(pkg-config $*) failed: $flags"
	}
}

needed() {
	readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
}

case $step in
static)
	for f in libfusebox.a libfusebox.so libfusebox.so.0 pkgconfig/fusebox-static.pc; do
		[ -e "$lib/$f" ] || fail "make install-lib did not install $f"
	done
	build_client "$tmp/client" --static --cflags --libs fusebox-static
	if needed "$tmp/client" | grep -q libfusebox; then
		fail "the static client needs $(needed "$tmp/client" | grep libfusebox | tr '\n' ' ')"
	fi
	# nothing to load, even where the client was linked
	rm -f "$lib"/libfusebox.so*
	LD_LIBRARY_PATH=$lib "$tmp/client" "$box" || fail "the static client failed"
	;;
shared)
	build_client "$tmp/client" --cflags --libs fusebox
	needed "$tmp/client" | grep -qx libfusebox.so.0 || fail "the shared client does not need \
libfusebox.so.0 (NEEDED: $(needed "$tmp/client" | tr '\n' ' '))"
	found=$(LD_LIBRARY_PATH=$lib ldd "$tmp/client" | sed -n 's/.*libfusebox\.so\.0 => \([^ ]*\).*/\1/p')
	[ "$found" = "$lib/libfusebox.so.0" ] || fail "libfusebox.so.0 resolves to '$found', not the tree's"
	LD_LIBRARY_PATH=$lib "$tmp/client" "$box" || fail "the shared client failed"
	;;
uninstall)
	env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -C "$root" B="$build" DESTDIR="$tree" \
		PREFIX=/usr uninstall >"$tmp/make.out" 2>&1 || {
		cat "$tmp/make.out" >&2
		fail "make uninstall failed"
	}
	left=$(find "$tree" -type f -o -type l)
	[ -z "$left" ] || fail "make uninstall left: $left"
	;;
*)
	fail "no such step"
	;;
esac
