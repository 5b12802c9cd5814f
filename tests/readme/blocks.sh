#!/bin/sh
# blocks.sh — the C blocks of README.md, compiled as a reader would paste
# them, and the program among them run (tests/test_readme.c, one check per
# block).
#
#   blocks.sh count README          how many ```c blocks README has
#   blocks.sh check README N BOX    compiles block N (from 0); BOX is a box
#                                   name a program that is run may use
#
# What a block is, is said by an HTML comment (not shown on GitHub) that
# ends on the line right before its fence:
#
#   no comment                      a complete program: compiled and linked
#                                   against libfusebox.a
#   <!-- readme-test: run -->       a complete program, also run with BOX as
#                                   its only argument: it must exit 0 within
#                                   10 s (and should remove its box)
#   <!-- readme-test: fragment      statements: compiled as the body of
#   DECLARATIONS                    int f(void) { ... return 0; }
#   -->
#   <!-- readme-test: top-level     declarations and functions, at file scope
#   DECLARATIONS
#   -->
#
# A fragment is compiled, not linked, after <fusebox.h>, the standard
# headers a fragment is shown without (signal.h, stdint.h, stdio.h,
# stdlib.h, string.h, unistd.h) and its DECLARATIONS (optional: the names
# it takes from the code around it).  A fragment may define what only its
# surroundings would use: unused functions are not errors there.
#
# Every block is compiled with -std=c11 -Wall -Wextra -Werror, and errors
# name README lines (#line).  Environment: FUSEBOX_BUILD (the build
# directory holding libfusebox.a; default: where $FUSEBOX_CTL is, else
# build), FUSEBOX_CC (default cc).
set -eu

cmd=${1:?count or check}
readme=${2:?README}

# Fences open and close on lines starting with ```; a block is one opened
# by exactly ```c.  The C test counts them by the same rule.
if [ "$cmd" = count ]; then
	awk '/^```/ { if (!f) { f = 1; if ($0 == "```c") n++ } else f = 0 } END { print n + 0 }' \
		"$readme"
	exit 0
fi
[ "$cmd" = check ] || { echo "blocks.sh: count or check" >&2; exit 2; }
n=${3:?block number}
box=${4:?box name}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUSEBOX_BUILD:-$(dirname "${FUSEBOX_CTL:-build/fuseboxctl}")}
cc=${FUSEBOX_CC:-cc}
name=$readme
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fusebox-readme.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Writes the block to $tmp/block, its marker's declarations to
# $tmp/decls, and prints: the fence's line, the kind, the first line of the
# declarations.
where=$(awk -v want="$n" -v out="$tmp" '
	{ line[NR] = $0 }
	/^```/ {
		if (!f) {
			f = 1
			if ($0 == "```c" && k++ == want) start = NR
		} else {
			f = 0
			if (start && !end) end = NR
		}
	}
	END {
		if (!start || !end) exit 1
		for (i = start + 1; i < end; i++) print line[i] > (out "/block")
		printf "" > (out "/decls")
		kind = "program"; from = 0
		if (start > 1 && line[start - 1] ~ /-->[ \t]*$/) {
			for (i = start - 1; i > 0 && i > start - 60; i--)
				if (line[i] ~ /^<!-- readme-test:/) break
			if (i == 0 || i == start - 60 || line[i] !~ /^<!-- readme-test:/) exit 2
			kind = line[i]
			sub(/^<!-- readme-test:[ \t]*/, "", kind)
			sub(/[ \t]*-->[ \t]*$/, "", kind)
			from = i + 1
			for (j = i + 1; j < start - 1; j++) print line[j] > (out "/decls")
		}
		print start, kind, from
	}' "$readme") || {
	echo "$name: no block $n, or a readme-test comment with no start" >&2
	exit 1
}
# shellcheck disable=SC2086 # three words
set -- $where
at=$1 kind=$2 from=$3
here="$name:$at"

san=
if nm -A "$root/$build/libfusebox.a" 2>/dev/null | grep -q __asan_init; then
	san="-fsanitize=address,undefined" # a library built by make asan
	ASAN_OPTIONS=detect_leaks=0
	export ASAN_OPTIONS
fi

src=$tmp/block.c
body=$((at + 1))
case $kind in
program | run)
	{ echo "#line $body \"$name\""; cat "$tmp/block"; } >"$src"
	;;
fragment | top-level)
	{
		for h in fusebox.h signal.h stdint.h stdio.h stdlib.h string.h unistd.h; do
			echo "#include <$h>"
		done
		[ "$from" = 0 ] || echo "#line $from \"$name\""
		cat "$tmp/decls"
		if [ "$kind" = fragment ]; then
			echo "int readme_fragment(void);"
			echo "int readme_fragment(void)"
			echo "{"
		fi
		echo "#line $body \"$name\""
		cat "$tmp/block"
		if [ "$kind" = fragment ]; then
			echo "	return 0;"
			echo "}"
		fi
	} >"$src"
	;;
*)
	echo "$here: block $n: unknown readme-test kind '$kind'" >&2
	exit 1
	;;
esac

flags="-std=c11 -Wall -Wextra -Werror $san -I$root/include"
if [ "$kind" = program ] || [ "$kind" = run ]; then
	# shellcheck disable=SC2086 # the flags are words
	$cc $flags -o "$tmp/prog" "$src" "$root/$build/libfusebox.a" -pthread -lrt \
		>"$tmp/cc.out" 2>&1 || {
		cat "$tmp/cc.out" >&2
		echo "$here: block $n ($kind) does not compile and link" >&2
		exit 1
	}
else
	# shellcheck disable=SC2086
	$cc $flags -Wno-unused-function -c -o "$tmp/block.o" "$src" >"$tmp/cc.out" 2>&1 || {
		cat "$tmp/cc.out" >&2
		echo "$here: block $n ($kind) does not compile" >&2
		exit 1
	}
fi
if [ "$kind" = run ]; then
	rc=0
	(cd "$tmp" && timeout 10 ./prog "$box") >"$tmp/run.out" 2>&1 || rc=$?
	if [ "$rc" != 0 ]; then
		cat "$tmp/run.out" >&2
		echo "$here: block $n (run) exited $rc" >&2
		exit 1
	fi
fi
echo "$here: block $n ($kind) ok"
