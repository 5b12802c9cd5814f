/* prom_check.h — a validator for the Prometheus text exposition format
 * (version 0.0.4), strict where scrapers are lenient: a family's HELP and
 * TYPE before its samples, families contiguous, counters named *_total and
 * never negative, label values escaped, no series twice, no empty line.
 * fuseboxctl's metrics must pass it; the samples it keeps let a test read
 * the values back. */
#ifndef FBX_TEST_PROM_CHECK_H
#define FBX_TEST_PROM_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#define P_MAX_LABELS 8

struct psample {
	char name[128];
	int nl;
	char ln[P_MAX_LABELS][32];
	char lv[P_MAX_LABELS][160];
	double v;
};

struct pfam {
	char name[128];
	char type[16];
	bool help, typed, closed;
	size_t samples;
};

struct expo {
	struct psample *s;
	size_t n, cap;
	struct pfam f[64];
	size_t nf;
	int cur; /* the family being written, -1 before the first */
	char err[400];
};

/* 0 when text is a valid exposition (samples into e), else -1 and e->err;
 * e->s is to be freed either way. */
int prom_parse(const char *text, struct expo *e);
/* The parsed exposition; fails the test when text is not valid. */
struct expo *prom_must(const char *text);
const struct pfam *pfam_of(const struct expo *e, const char *name);
/* The value of label ln of a sample, NULL when it has none. */
const char *plabel(const struct psample *s, const char *ln);
/* The one sample of metric name whose labels include the given pairs
 * (k1, v1, k2, v2, ..., NULL); fails the test unless exactly one matches. */
__attribute__((sentinel)) double pval(const struct expo *e, const char *name, ...);

#endif
