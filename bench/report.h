/*
 * report.h — what the report's files share (targets.c, json.c, report.c).
 */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include "bench.h"

#define BENCH_TARGETS_MAX 32

struct target {
	const char *id;
	const char *what;
	double value, bound;
	int ge;        /* 1: pass when value >= bound, else value <= bound */
	int known;     /* 0: a figure it needs was not measured */
	const char *unit;
	int info;      /* a control, not a target: "ok" or "BUSY" */
};

/* Fills t[0..BENCH_TARGETS_MAX) from a; returns how many. */
int bench_targets(const struct bench_all *a, struct target *t);
int bench_target_passes(const struct target *t);

/* Prints every figure and the targets as one JSON line. */
void bench_json(const struct bench_all *a, const struct target *t, int nt);

/* Prints the readable table. */
void bench_table(const struct bench_all *a);

#endif /* BENCH_REPORT_H */
