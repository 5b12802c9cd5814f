/*
 * accuracy.c — how right the limiter's decisions are, on a substituted
 * clock so the trace is deterministic.
 *
 * Trace: ACC_KEYS keys with Poisson arrivals (exponential gaps), 80% well
 * under the rule's rate (0.05-0.6x), 15% near it (0.8-1.2x), 5% abusive
 * (2-5x); run until ACC_DECISIONS decisions.  Both algorithms see the same
 * trace.  Each decision is replayed against an exact sliding log of the
 * calls the limiter ADMITTED for that key: the decision is wrong when the
 * limiter admitted although the log already holds >= limit calls in
 * (t - period, t] (a false admit), or denied although the log would admit
 * (a false deny).  The largest number admitted in any window of the rule's
 * length is the log's size right after an admission, max over keys.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#define ACC_KEYS 2000u
#define ACC_DECISIONS 1200000u
#define ACC_LIMIT 10u
#define ACC_PERIOD_NS 1000000000ull
#define ACC_RULE "10/second"
#define ACC_T0 (1000ull * 1000000000ull + 123456789ull)
/* The ticking run: a rule whose GCRA interval (600 ms) is long enough for
 * the library to read the coarse clock, and a fake clock that ticks like
 * it; decisions are replayed on the true arrival times. */
#define TICK_LIMIT 100u
#define TICK_PERIOD_NS (60ull * 1000000000ull)
#define TICK_RULE "100/minute"

struct arrival {
	uint64_t t;
	uint32_t key;
};

struct heap {
	struct arrival *a;
	uint32_t n;
};

static void heap_push(struct heap *h, struct arrival x)
{
	uint32_t i = h->n++;
	while (i > 0) {
		uint32_t p = (i - 1) / 2;
		if (h->a[p].t <= x.t)
			break;
		h->a[i] = h->a[p];
		i = p;
	}
	h->a[i] = x;
}

static struct arrival heap_pop(struct heap *h)
{
	struct arrival top = h->a[0], x = h->a[--h->n];
	uint32_t i = 0;
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		uint64_t mt = x.t;
		if (l < h->n && h->a[l].t < mt) {
			m = l;
			mt = h->a[l].t;
		}
		if (r < h->n && h->a[r].t < mt)
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

/* Exact log of admitted times for one key: a ring, oldest first. */
struct log {
	uint64_t *t;
	uint32_t head, size;
};

static uint64_t fake_now, fake_tick;
static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_tick ? fake_now / fake_tick * fake_tick : fake_now;
}

/* What one run is: the rule, its figures, and the clock's tick (0: exact). */
struct run_spec {
	const char *name, *rule;
	fbx_algorithm algo;
	uint32_t burst;
	uint64_t limit, period;
	uint64_t tick;
};

static double uniform(uint64_t *s)
{
	return (double)((bench_rand(s) >> 11) + 1) * (1.0 / 9007199254740992.0);
}

static int key_class(uint32_t i)
{
	return i % 20 == 0 ? 2 : i % 20 <= 3 ? 1 : 0;
}

/* Calls per ns of each key: the traffic mix described above. */
static void key_rates(double *rate, uint64_t seed, const struct run_spec *rs)
{
	double base = (double)rs->limit / (double)rs->period;
	for (uint32_t i = 0; i < ACC_KEYS; i++) {
		double u = uniform(&seed), x;
		if (key_class(i) == 2)
			x = 2.0 + 3.0 * u;       /* abusive */
		else if (key_class(i) == 1)
			x = 0.8 + 0.4 * u;       /* near the limit */
		else
			x = 0.05 + 0.55 * u;     /* well under */
		rate[i] = base * x;
	}
}

static uint64_t gap_ns(uint64_t *s, double rate)
{
	double g = -log(uniform(s)) / rate;
	return g < 1.0 ? 1 : (uint64_t)g;
}

static int run_algo(fbx_box *box, const struct run_spec *rs, struct bench_accuracy_algo *out)
{
	memset(out, 0, sizeof(*out));
	out->algo = fbx_algorithm_name(rs->algo);
	snprintf(out->rule, sizeof(out->rule), "%s", rs->rule);
	out->burst = rs->burst;
	out->limit = rs->limit;
	out->bound = rs->algo == FBX_ALGO_WINDOW ? 2 * rs->limit : rs->limit;
	out->tick_ns = rs->tick;
	fbx_limiter_config lc;
	fbx_limiter_config_init(&lc);
	lc.rule = rs->rule;
	lc.algorithm = rs->algo;
	lc.burst = rs->burst;
	lc.keyed = 1;
	fbx_limiter *l = NULL;
	int rc = fbx_limiter_register(box, rs->name, &lc, &l);
	if (rc != 0) {
		fprintf(stderr, "bench: accuracy limiter: %s\n", fbx_strerror(rc));
		return -1;
	}
	const uint32_t log_cap = 8 * (uint32_t)rs->limit;
	const uint64_t period = rs->period, limit = rs->limit;
	double *rate = malloc(ACC_KEYS * sizeof(*rate));
	struct heap h = {malloc(ACC_KEYS * sizeof(struct arrival)), 0};
	struct log *logs = calloc(ACC_KEYS, sizeof(*logs));
	uint64_t *times = malloc((size_t)ACC_KEYS * log_cap * sizeof(uint64_t));
	rc = -1;
	if (rate == NULL || h.a == NULL || logs == NULL || times == NULL)
		goto out;
	for (uint32_t i = 0; i < ACC_KEYS; i++)
		logs[i].t = times + (size_t)i * log_cap;

	uint64_t seed = 0x5eed5eed12345678ull;
	key_rates(rate, seed ^ 1, rs);
	for (uint32_t i = 0; i < ACC_KEYS; i++)
		heap_push(&h, (struct arrival){ACC_T0 + gap_ns(&seed, rate[i]), i});

	fake_tick = rs->tick;
	fbx_clock_set(fake_clock, NULL);
	uint64_t wall0 = bench_now_ns();
	int overflow = 0;
	while (out->decisions < ACC_DECISIONS) {
		struct arrival a = heap_pop(&h);
		char key[16];
		int klen = snprintf(key, sizeof(key), "acct-%05u", a.key);
		fake_now = a.t;
		fbx_limit_result res;
		int r = fbx_limiter_take(l, key, (size_t)klen, 1, &res);
		if (r != 0 && r != FBX_ELIMITED) {
			fprintf(stderr, "bench: accuracy take: %s\n", fbx_strerror(r));
			goto restore;
		}
		/* the limiter's own reading, or the true time when the clock ticks */
		uint64_t t = rs->tick ? a.t : res.now_ns;
		struct log *lg = &logs[a.key];
		while (lg->size > 0 && lg->t[lg->head] + period <= t) {
			lg->head = (lg->head + 1) % log_cap;
			lg->size--;
		}
		int exact = lg->size + 1 <= limit;
		int admitted = r == 0;
		out->decisions++;
		out->false_admit += admitted && !exact;
		out->false_deny += !admitted && exact;
		out->cls_decisions[key_class(a.key)]++;
		out->cls_wrong[key_class(a.key)] += admitted != exact;
		if (admitted) {
			out->admitted++;
			if (lg->size == log_cap) { /* far beyond any bound: keep counting */
				overflow = 1;
				lg->head = (lg->head + 1) % log_cap;
				lg->size--;
			}
			lg->t[(lg->head + lg->size) % log_cap] = t;
			lg->size++;
			if (lg->size > out->max_in_window)
				out->max_in_window = lg->size;
		}
		heap_push(&h, (struct arrival){a.t + gap_ns(&seed, rate[a.key]), a.key});
	}
	out->seconds = (double)(bench_now_ns() - wall0) / 1e9;
	out->wrong_pct = 100.0 * (double)(out->false_admit + out->false_deny) /
			 (double)out->decisions;
	if (overflow)
		fprintf(stderr, "bench: accuracy: a key held more than %u admitted calls "
				"in one window\n", log_cap);
	out->ok = 1;
	rc = 0;
restore:
	fbx_clock_set(NULL, NULL);
	fake_tick = 0;
out:
	free(rate);
	free(h.a);
	free(logs);
	free(times);
	return rc;
}

static uint64_t coarse_tick_ns(void)
{
	struct timespec res;
	if (clock_getres(CLOCK_MONOTONIC_COARSE, &res) != 0 || res.tv_sec != 0 || res.tv_nsec <= 0)
		return 4000000; /* HZ=250, the usual */
	return (uint64_t)res.tv_nsec;
}

int bench_accuracy_run(struct bench_accuracy *out)
{
	memset(out, 0, sizeof(*out));
	out->keys = ACC_KEYS;
	fbx_box_config bc;
	fbx_box_config_init(&bc);
	/* a roomy table (8000 keys in 128000): the key table can evict live keys
	 * well below its capacity (see the 1M-key row), which would blur this */
	bc.keys = 64 * ACC_KEYS;
	fbx_box *box = NULL;
	if (bench_box_create("acc", &bc, &box) != 0)
		return -1;
	const struct run_spec runs[4] = {
		{"acc.window", ACC_RULE, FBX_ALGO_WINDOW, 1, ACC_LIMIT, ACC_PERIOD_NS, 0},
		{"acc.gcra", ACC_RULE, FBX_ALGO_GCRA, 1, ACC_LIMIT, ACC_PERIOD_NS, 0},
		{"acc.gcra.b", ACC_RULE, FBX_ALGO_GCRA, ACC_LIMIT, ACC_LIMIT, ACC_PERIOD_NS, 0},
		{"acc.gcra.tick", TICK_RULE, FBX_ALGO_GCRA, 1, TICK_LIMIT, TICK_PERIOD_NS,
		 coarse_tick_ns()},
	};
	struct bench_accuracy_algo *outs[4] = {&out->window, &out->gcra, &out->gcra_burst,
					       &out->gcra_tick};
	int rc = 0;
	for (int i = 0; i < 4 && rc == 0; i++)
		rc = run_algo(box, &runs[i], outs[i]);
	/* Every key must have kept its state: no eviction may blur the figures. */
	fbx_snapshot *s = NULL;
	size_t n = 0;
	if (rc == 0 && fbx_snapshot_new(box, &s) == 0 && fbx_snapshot_take(box, s) == 0) {
		const fbx_limiter_info *li = fbx_snapshot_limiters(s, &n);
		for (size_t i = 0; li != NULL && i < n; i++)
			if (li[i].evictions != 0) {
				fprintf(stderr, "bench: accuracy: %s evicted %llu keys\n",
					li[i].name, (unsigned long long)li[i].evictions);
				rc = -1;
			}
	}
	fbx_snapshot_free(s);
	bench_box_destroy(box);
	return rc;
}
