#!/bin/sh
# run.sh [--fresh] OUT SECONDS TARGET... — replay each target's regress/
# files, then fuzz it for SECONDS, and print one summary line per target and
# a total.  Exits non-zero when any target crashed, leaked, timed out or
# tripped a sanitizer.
#
# Inputs found while fuzzing go to OUT/run/TARGET/ (kept between runs, so
# coverage accumulates; --fresh starts from the seeds alone, so that a short
# run's length does not grow with what earlier runs found).  A crashing input
# is written to OUT/run/TARGET/crash-*; copy it to tests/fuzz/regress/TARGET/
# once the bug is fixed, and every later run replays it.
set -u

fresh=0
[ "${1:-}" = --fresh ] && { fresh=1; shift; }
[ $# -ge 3 ] || { echo "usage: run.sh [--fresh] OUT SECONDS TARGET..." >&2; exit 2; }
out=$1 secs=$2
shift 2
here=$(dirname "$0")

# halt_on_error: a UBSan report is a failure, not a line in a log.
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
# Sanitizer reports name source lines when a symbolizer is installed.
export ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

total=0 crashes=0 ntargets=0
for t in "$@"; do
	bin=$out/fuzz_$t
	dir=$out/run/$t
	[ $fresh = 1 ] && rm -rf "$dir/corpus"
	mkdir -p "$dir/corpus"
	log=$dir/log
	: >"$log"
	failed=0

	# Every reproducer once: a crash fixed once stays fixed.
	set -- "$here"/regress/"$t"/*
	if [ -e "$1" ]; then
		if ! "$bin" -timeout=5 "$@" >>"$log" 2>&1; then
			echo "fuzz: $t: a file in tests/fuzz/regress/$t/ fails again:" >&2
			failed=1
		fi
	fi

	dict=
	[ -f "$here/$t.dict" ] && dict=-dict=$here/$t.dict
	if [ $failed = 0 ]; then
		# the overall limit only catches a fuzzer that stops answering
		timeout -k 10 $((secs + 120)) "$bin" -max_total_time="$secs" -timeout=5 \
			-print_final_stats=1 -artifact_prefix="$dir/" ${dict:+"$dict"} \
			"$dir/corpus" "$here/corpus/$t" >>"$log" 2>&1 || failed=1
	fi

	runs=$(sed -n 's/^Done \([0-9][0-9]*\) runs in \([0-9][0-9]*\) second.*/\1/p' "$log" | tail -n 1)
	took=$(sed -n 's/^Done \([0-9][0-9]*\) runs in \([0-9][0-9]*\) second.*/\2/p' "$log" | tail -n 1)
	if [ -z "$runs" ]; then # it died: count what the last status line says
		runs=$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)
		took=$([ -n "$runs" ] && echo "$secs" || echo 0)
	fi
	runs=${runs:-0}
	cov=$(sed -n 's/^#[0-9]*[[:space:]].*cov: \([0-9]*\) .*corp: \([0-9]*\).*/cov \1, corpus \2/p' "$log" | tail -n 1)
	extra=$(sed -n 's/^fuzz-stat: //p' "$log" | tail -n 1)
	note=$cov
	[ -n "$extra" ] && note=${note:+$note, }$extra
	total=$((total + runs))
	ntargets=$((ntargets + 1))
	if [ $failed = 1 ]; then
		crashes=$((crashes + 1))
		grep -E '^(==[0-9]+== ?ERROR|SUMMARY|.*runtime error|.*check failed|fuzz_[a-z]+: )' "$log" | head -n 5 >&2
		grep -E 'Test unit written to|Running: ' "$log" | tail -n 2 >&2
		echo "fuzz: $t: full log in $log" >&2
	fi
	echo "fuzz: $t $runs execs in ${took:-0} s, $failed crashes${note:+ ($note)}"
done
echo "fuzz: $ntargets targets, $total execs, $crashes crashes"
[ $crashes = 0 ]
