/*
 * trace.h — the traffic the accuracy figures are measured on, shared by the
 * bench (bench/accuracy.c) and the tests (tests/test_limiter_log.c), so that
 * the exactness `make test` proves is the one `make bench` reports.
 *
 * A trace is a time-ordered list of calls on `keys` keys.  Each key has a
 * rate relative to the rule's first limit (count / period): 80% of keys
 * well under it (0.05-0.6x), 15% near it (0.8-1.2x), 5% abusive (2-5x).
 * Arrivals are Poisson (exponential gaps) or bursty (on/off: bursts of
 * 2-12 calls a few ms apart, then a pause that keeps the key's mean rate).
 * Costs are 1, or 1-3 when the spec asks for costs.
 */
#ifndef FBX_TRACE_H
#define FBX_TRACE_H

#include <stddef.h>
#include <stdint.h>

enum trace_class { TRACE_UNDER = 0, TRACE_NEAR = 1, TRACE_ABUSIVE = 2 };
enum trace_pattern { TRACE_POISSON = 0, TRACE_BURSTY = 1 };

struct trace_spec {
	uint64_t limit, period_ns; /* the rate the key classes are relative to */
	uint32_t keys;
	uint32_t calls;
	enum trace_pattern pattern;
	int costs;                  /* 0: every cost 1; 1: costs 1-3 */
	uint64_t seed;
	uint64_t t0;                /* time of the trace's start, ns */
};

struct trace_call {
	uint64_t t;
	uint32_t key;
	uint32_t cost;
};

/* The class of key i (the same for every trace). */
enum trace_class trace_key_class(uint32_t i);
/* Fills out[0 .. spec->calls) in time order; -1 when memory runs out. */
int trace_make(const struct trace_spec *spec, struct trace_call *out);

#endif
