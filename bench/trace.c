/* trace.c — deterministic call traces (see trace.h). */
#include <math.h>
#include <stdlib.h>

#include "trace.h"

static uint64_t next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Uniform in (0, 1]. */
static double uniform(uint64_t *s)
{
	return (double)((next(s) >> 11) + 1) * (1.0 / 9007199254740992.0);
}

enum trace_class trace_key_class(uint32_t i)
{
	return i % 20 == 0 ? TRACE_ABUSIVE : i % 20 <= 3 ? TRACE_NEAR : TRACE_UNDER;
}

struct key_state {
	double rate;       /* calls per ns */
	uint32_t burst_left;
};

/* A binary heap of each key's next arrival, earliest first. */
struct heap {
	struct trace_call *a;
	uint32_t n;
};

static void heap_push(struct heap *h, struct trace_call x)
{
	uint32_t i = h->n++;
	while (i > 0) {
		uint32_t p = (i - 1) / 2;
		if (h->a[p].t < x.t || (h->a[p].t == x.t && h->a[p].key <= x.key))
			break;
		h->a[i] = h->a[p];
		i = p;
	}
	h->a[i] = x;
}

static int before(const struct trace_call *a, const struct trace_call *b)
{
	return a->t < b->t || (a->t == b->t && a->key < b->key);
}

static struct trace_call heap_pop(struct heap *h)
{
	struct trace_call top = h->a[0], x = h->a[--h->n];
	uint32_t i = 0;
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		const struct trace_call *mt = &x;
		if (l < h->n && before(&h->a[l], mt)) {
			m = l;
			mt = &h->a[l];
		}
		if (r < h->n && before(&h->a[r], mt))
			m = r;
		if (m == i)
			break;
		h->a[i] = h->a[m];
		i = m;
	}
	if (h->n > 0)
		h->a[i] = x;
	return top;
}

static uint64_t exp_gap(uint64_t *s, double rate)
{
	double g = -log(uniform(s)) / rate;
	return g < 1.0 ? 1 : (uint64_t)g;
}

/* The gap before key k's next call, and that call's cost. */
static uint64_t gap_for(const struct trace_spec *spec, struct key_state *k, uint64_t *s)
{
	if (spec->pattern == TRACE_POISSON)
		return exp_gap(s, k->rate);
	/* On/off: a burst of b calls 1-5 ms apart, then a pause drawn so the
	 * mean rate stays the key's: b calls per b / rate ns on average. */
	if (k->burst_left > 0) {
		k->burst_left--;
		return 1000000 + next(s) % 4000000;
	}
	uint32_t b = 2 + (uint32_t)(next(s) % 11);
	k->burst_left = b - 1;
	return exp_gap(s, k->rate / (double)b);
}

int trace_make(const struct trace_spec *spec, struct trace_call *out)
{
	struct key_state *ks = calloc(spec->keys, sizeof(*ks));
	struct heap h = {malloc(spec->keys * sizeof(struct trace_call)), 0};
	if (ks == NULL || h.a == NULL) {
		free(ks);
		free(h.a);
		return -1;
	}
	uint64_t s = spec->seed | 1;
	double base = (double)spec->limit / (double)spec->period_ns;
	for (uint32_t i = 0; i < spec->keys; i++) {
		double u = uniform(&s);
		double x = trace_key_class(i) == TRACE_ABUSIVE ? 2.0 + 3.0 * u
			   : trace_key_class(i) == TRACE_NEAR  ? 0.8 + 0.4 * u
							       : 0.05 + 0.55 * u;
		ks[i].rate = base * x;
		heap_push(&h, (struct trace_call){spec->t0 + gap_for(spec, &ks[i], &s), i, 1});
	}
	for (uint32_t n = 0; n < spec->calls; n++) {
		struct trace_call c = heap_pop(&h);
		c.cost = spec->costs ? 1 + (uint32_t)(next(&s) % 3) : 1;
		out[n] = c;
		heap_push(&h, (struct trace_call){c.t + gap_for(spec, &ks[c.key], &s), c.key, 1});
	}
	free(ks);
	free(h.a);
	return 0;
}
