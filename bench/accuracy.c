/*
 * accuracy.c — how right the limiter's decisions are, on a substituted
 * clock so every replay is deterministic.
 *
 * Traces come from trace.c (the tests replay the same ones): ACC_KEYS keys,
 * 80% well under the rule's rate, 15% near it, 5% abusive, Poisson or
 * bursty, costs 1 or 1-3, on a single-limit and a multi-limit rule.  Each
 * algorithm replays every trace and each decision is checked against the
 * algorithm's reference, written here as plainly as possible:
 *
 *   log, window   a sliding log of the units the limiter admitted: a take
 *                 is right to be admitted when, for every limit, fewer than
 *                 count - cost + 1 units are in (t - period, t];
 *   gcra          a GCRA on the same admitted takes: T = period / count
 *                 rounded up, tau = (burst - 1) x T, admitted when
 *                 max(TAT, t) + cost x T - t <= tau + T, for every limit.
 *
 * The reference is kept on what the limiter admitted, so one wrong decision
 * counts once and does not drag the ones after it.  The most units
 * admitted in any window of a limit's period is the units in (t - period, t]
 * right after an admission at t, max over keys and times.
 *
 * Then the log's decisions are set next to Python limits' moving window
 * (limits_replay.py) on the same traces, when /usr/bin/python3 has it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "trace.h"

#define ACC_KEYS 2000u
#define ACC_CALLS 1000000u
#define ACC_T0 (1000ull * 1000000000ull + 123456789ull)
/* Python replays a prefix of each trace: the same decisions (a decision
 * depends only on the calls before it), at a pace the bench can wait for. */
#define PY_CALLS 125000u
#define PY "/usr/bin/python3"
_Static_assert(PY_CALLS <= ACC_CALLS, "Python replays a prefix of each trace");

struct acc_trace {
	const char *rule;
	enum trace_pattern pattern;
	int costs;
};

static const struct acc_trace traces[ACC_TRACES] = {
	{"10/second", TRACE_POISSON, 0},
	{"10/second", TRACE_BURSTY, 0},
	{"10/second", TRACE_POISSON, 1},
	{"10/second", TRACE_BURSTY, 1},
	{"3/second;5/minute", TRACE_POISSON, 0},
	{"3/second;5/minute", TRACE_BURSTY, 0},
	{"3/second;5/minute", TRACE_POISSON, 1},
	{"3/second;5/minute", TRACE_BURSTY, 1},
};

static uint64_t fake_now;
static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

/* ---- the references ----------------------------------------------------- */

/* One key's admitted units, oldest first, in a ring that grows. */
struct units {
	uint64_t *t;
	uint32_t head, n, cap; /* cap: a power of two, or 0 */
};

static uint64_t unit_at(const struct units *u, uint32_t i)
{
	return u->t[(u->head + i) & (u->cap - 1)];
}

/* Units in (now - period, now]: the ring is in time order, newest last. */
static uint64_t units_within(const struct units *u, uint64_t now, uint64_t period)
{
	uint64_t in = 0;
	for (uint32_t i = u->n; i > 0 && now - unit_at(u, i - 1) < period; i--)
		in++;
	return in;
}

static int units_add(struct units *u, uint64_t t, uint32_t cost, uint64_t keep)
{
	while (u->n > 0 && t - unit_at(u, 0) >= keep) { /* out of every window */
		u->head = (u->head + 1) & (u->cap - 1);
		u->n--;
	}
	if (u->n + cost > u->cap) {
		uint32_t cap = u->cap ? u->cap : 16;
		while (cap < u->n + cost)
			cap *= 2;
		uint64_t *nt = malloc(cap * sizeof(*nt));
		if (nt == NULL)
			return -1;
		for (uint32_t i = 0; i < u->n; i++)
			nt[i] = unit_at(u, i);
		free(u->t);
		u->t = nt;
		u->head = 0;
		u->cap = cap;
	}
	for (uint32_t i = 0; i < cost; i++)
		u->t[(u->head + u->n++) & (u->cap - 1)] = t;
	return 0;
}

/* The reference log's decision. */
static int log_admits(const struct units *u, const fbx_rule *r, uint64_t now, uint32_t cost)
{
	for (uint32_t i = 0; i < r->n; i++)
		if (units_within(u, now, r->limit[i].period_ns) + cost > r->limit[i].count)
			return 0;
	return 1;
}

static uint64_t gcra_t(uint64_t count, uint64_t period)
{
	return (period + count - 1) / count;
}

/* The reference GCRA's decision; on admit, new TATs into next. */
static int gcra_admits(const uint64_t *tat, const fbx_rule *r, uint32_t burst, uint64_t now,
		       uint32_t cost, uint64_t *next)
{
	int admit = 1;
	for (uint32_t i = 0; i < r->n; i++) {
		uint64_t t = gcra_t(r->limit[i].count, r->limit[i].period_ns);
		uint64_t tau = (uint64_t)(burst - 1) * t;
		next[i] = (tat[i] > now ? tat[i] : now) + cost * t;
		admit &= next[i] - now <= tau + t;
	}
	return admit;
}

/* ---- one replay --------------------------------------------------------- */

static uint64_t longest_period(const fbx_rule *r)
{
	uint64_t p = 0;
	for (uint32_t i = 0; i < r->n; i++)
		if (r->limit[i].period_ns > p)
			p = r->limit[i].period_ns;
	return p;
}

/* The rate the key classes are relative to: the rule's lowest sustained
 * one (the minute's in 3/second;5/minute, so "near" keys are near the limit
 * that holds them), in units: costs 1-3 average 2. */
static void trace_rate(const fbx_rule *r, int costs, uint64_t *limit, uint64_t *period)
{
	uint32_t lo = 0;
	for (uint32_t i = 1; i < r->n; i++)
		if ((double)r->limit[i].count / (double)r->limit[i].period_ns <
		    (double)r->limit[lo].count / (double)r->limit[lo].period_ns)
			lo = i;
	*limit = r->limit[lo].count;
	*period = r->limit[lo].period_ns * (costs ? 2 : 1);
}

static int evictions_of(fbx_box *box, const char *name, uint64_t *ev)
{
	fbx_snapshot *s = NULL;
	size_t n = 0;
	int rc = -1;
	if (fbx_snapshot_new(box, &s) == 0 && fbx_snapshot_take(box, s) == 0) {
		const fbx_limiter_info *li = fbx_snapshot_limiters(s, &n);
		for (size_t i = 0; li != NULL && i < n; i++)
			if (strcmp(li[i].name, name) == 0) {
				*ev = li[i].evictions;
				rc = 0;
			}
	}
	fbx_snapshot_free(s);
	return rc;
}

/* Replays calls through a fresh limiter of algo on tr's rule, in box; the
 * log's decisions go to admitted_out when given. */
static int replay(fbx_box *box, const char *name, const struct acc_trace *tr,
		  const struct trace_call *calls, uint32_t ncalls, fbx_algorithm algo,
		  struct bench_accuracy_run *out, uint8_t *admitted_out)
{
	memset(out, 0, sizeof(*out));
	fbx_rule rule;
	if (fbx_rule_parse(tr->rule, &rule, NULL) != 0)
		return -1;
	snprintf(out->rule, sizeof(out->rule), "%s", tr->rule);
	out->pattern = tr->pattern == TRACE_BURSTY ? "bursty" : "poisson";
	out->costs = tr->costs;
	/* GCRA asks for a burst of at least the largest cost */
	out->burst = algo == FBX_ALGO_GCRA && tr->costs ? 3 : 1;
	out->nlimits = rule.n;
	for (uint32_t i = 0; i < rule.n; i++) {
		out->count[i] = rule.limit[i].count;
		out->bound[i] = algo == FBX_ALGO_LOG	   ? rule.limit[i].count
				: algo == FBX_ALGO_WINDOW ? 2 * rule.limit[i].count
							  : rule.limit[i].count + out->burst - 1;
	}
	fbx_limiter_config lc;
	fbx_limiter_config_init(&lc);
	lc.rule = tr->rule;
	lc.algorithm = algo;
	lc.burst = out->burst;
	lc.keyed = 1;
	fbx_limiter *l = NULL;
	int rc = fbx_limiter_register(box, name, &lc, &l);
	if (rc != 0) {
		fprintf(stderr, "bench: accuracy limiter %s (%s): %s\n", fbx_algorithm_name(algo),
			tr->rule, fbx_strerror(rc));
		return -1;
	}
	struct units *units = calloc(ACC_KEYS, sizeof(*units));
	uint64_t (*tat)[FBX_RULE_LIMITS_MAX] = calloc(ACC_KEYS, sizeof(*tat));
	rc = -1;
	if (units == NULL || tat == NULL)
		goto out;
	const uint64_t keep = longest_period(&rule);
	fbx_clock_set(fake_clock, NULL);
	uint64_t wall0 = bench_now_ns();
	for (uint32_t n = 0; n < ncalls; n++) {
		const struct trace_call *c = &calls[n];
		char key[16];
		int klen = snprintf(key, sizeof(key), "acct-%05u", c->key);
		fake_now = c->t;
		fbx_limit_result res;
		int r = fbx_limiter_take(l, key, (size_t)klen, c->cost, &res);
		if (r != 0 && r != FBX_ELIMITED) {
			fprintf(stderr, "bench: accuracy take (%s, %s): %s\n",
				fbx_algorithm_name(algo), tr->rule, fbx_strerror(r));
			goto restore;
		}
		int admitted = r == 0;
		struct units *u = &units[c->key];
		uint64_t next[FBX_RULE_LIMITS_MAX];
		int right = algo == FBX_ALGO_GCRA
				    ? gcra_admits(tat[c->key], &rule, out->burst, c->t, c->cost, next)
				    : log_admits(u, &rule, c->t, c->cost);
		if (admitted_out != NULL)
			admitted_out[n] = (uint8_t)admitted;
		enum trace_class cls = trace_key_class(c->key);
		out->decisions++;
		out->false_admit += admitted && !right;
		out->false_deny += !admitted && right;
		out->cls_decisions[cls]++;
		out->cls_wrong[cls] += admitted != right;
		if (!admitted)
			continue;
		out->admitted++;
		if (algo == FBX_ALGO_GCRA)
			memcpy(tat[c->key], next, sizeof(next));
		if (units_add(u, c->t, c->cost, keep) != 0)
			goto restore;
		for (uint32_t i = 0; i < rule.n; i++) {
			uint64_t in = units_within(u, c->t, rule.limit[i].period_ns);
			if (in > out->max_in_window[i])
				out->max_in_window[i] = in;
		}
	}
	out->seconds = (double)(bench_now_ns() - wall0) / 1e9;
	uint64_t ev = 0;
	if (evictions_of(box, name, &ev) != 0 || ev != 0) {
		fprintf(stderr, "bench: accuracy %s (%s): %llu keys evicted\n",
			fbx_algorithm_name(algo), tr->rule, (unsigned long long)ev);
		goto restore;
	}
	out->ok = 1;
	rc = 0;
restore:
	fbx_clock_set(NULL, NULL);
out:
	for (uint32_t i = 0; units != NULL && i < ACC_KEYS; i++)
		free(units[i].t);
	free(units);
	free(tat);
	return rc;
}

static void totals(struct bench_accuracy_algo *a)
{
	a->ok = 1;
	a->within_bound = 1;
	for (int i = 0; i < ACC_TRACES; i++) {
		const struct bench_accuracy_run *r = &a->run[i];
		a->ok &= r->ok;
		a->decisions += r->decisions;
		a->admitted += r->admitted;
		a->false_admit += r->false_admit;
		a->false_deny += r->false_deny;
		for (int c = 0; c < 3; c++) {
			a->cls_decisions[c] += r->cls_decisions[c];
			a->cls_wrong[c] += r->cls_wrong[c];
		}
		for (uint32_t k = 0; k < r->nlimits; k++) {
			a->within_bound &= r->max_in_window[k] <= r->bound[k];
			double x = (double)r->max_in_window[k] / (double)r->bound[k];
			if (x > a->max_over_bound)
				a->max_over_bound = x;
		}
	}
	a->wrong_pct = a->decisions ? 100.0 * (double)(a->false_admit + a->false_deny) /
					      (double)a->decisions
				    : 0;
}

/* ---- Python limits, side by side ---------------------------------------- */

/* limits_replay.py, next to this file: the bench runs from the source tree
 * (make bench), where __FILE__ names it relative to the tree's top. */
static void script_path(char *buf, size_t len)
{
	const char *f = __FILE__, *slash = strrchr(f, '/');
	if (slash == NULL)
		snprintf(buf, len, "limits_replay.py");
	else
		snprintf(buf, len, "%.*s/limits_replay.py", (int)(slash - f), f);
}

/* The file limits_replay.py reads: per trace its rule and the first
 * PY_CALLS calls, each with the log's decision. */
static int write_replay(FILE *f, struct trace_call *const *calls, uint8_t *const *admitted)
{
	fprintf(f, "fusebox-limits-replay 1\n");
	for (int i = 0; i < ACC_TRACES; i++) {
		uint32_t n = PY_CALLS;
		fprintf(f, "trace %d %s %s %d %u\n", i, traces[i].rule,
			traces[i].pattern == TRACE_BURSTY ? "bursty" : "poisson", traces[i].costs,
			n);
		for (uint32_t c = 0; c < n; c++)
			fprintf(f, "%llu %u %u %u\n", (unsigned long long)calls[i][c].t,
				calls[i][c].key, calls[i][c].cost, admitted[i][c]);
	}
	fprintf(f, "end\n");
	return ferror(f) ? -1 : 0;
}

static void limits_compare(struct trace_call *const *calls, uint8_t *const *admitted,
			   struct bench_limits_cmp *out)
{
	char script[512], tmp[] = "/tmp/fusebox-bench-limits-XXXXXX", cmd[1200], line[512];
	script_path(script, sizeof(script));
	if (access(PY, X_OK) != 0) {
		snprintf(out->note, sizeof(out->note), "skipped: %s is not installed", PY);
		return;
	}
	if (access(script, R_OK) != 0) {
		snprintf(out->note, sizeof(out->note), "skipped: %.120s not found (run from the "
			 "source tree)", script);
		return;
	}
	int fd = mkstemp(tmp);
	if (fd < 0) {
		snprintf(out->note, sizeof(out->note), "skipped: mkstemp: %s", strerror(errno));
		return;
	}
	FILE *f = fdopen(fd, "w");
	int wrc = f == NULL ? -1 : write_replay(f, calls, admitted);
	if (f != NULL ? fclose(f) != 0 : close(fd) != 0)
		wrc = -1;
	if (wrc != 0) {
		snprintf(out->note, sizeof(out->note), "skipped: writing %s failed", tmp);
		unlink(tmp);
		return;
	}
	snprintf(cmd, sizeof(cmd), "%s '%s' '%s'", PY, script, tmp);
	uint64_t t0 = bench_now_ns();
	FILE *p = popen(cmd, "r");
	if (p == NULL) {
		snprintf(out->note, sizeof(out->note), "skipped: cannot run %s", PY);
		unlink(tmp);
		return;
	}
	int missing = 0, done = 0;
	while (fgets(line, sizeof(line), p) != NULL) {
		unsigned long long calls_n, differ;
		long long first;
		int same, tr;
		char ver[24];
		if (strncmp(line, "missing ", 8) == 0)
			missing = 1;
		else if (sscanf(line, "limits %23s", ver) == 1)
			snprintf(out->version, sizeof(out->version), "%s", ver);
		else if (sscanf(line, "trace %d %llu %llu %lld", &tr, &calls_n, &differ, &first) ==
			 4) {
			if (differ > 0 && out->differ == 0) {
				out->first_trace = tr;
				out->first_call = first;
			}
			out->calls += calls_n;
			out->differ += differ;
			out->traces++;
		} else if (sscanf(line, "boundary %d", &same) == 1) {
			out->boundary_checked = 1;
			out->boundary_same = same;
		} else if (strncmp(line, "done", 4) == 0)
			done = 1;
		else
			fprintf(stderr, "bench: limits: %s", line);
	}
	int st = pclose(p);
	unlink(tmp);
	out->seconds = (double)(bench_now_ns() - t0) / 1e9;
	if (missing) {
		snprintf(out->note, sizeof(out->note),
			 "skipped: %s cannot import limits (Debian: python3-limits)", PY);
		return;
	}
	out->ran = 1;
	out->ok = done && st == 0 && out->traces == ACC_TRACES;
	if (!out->ok)
		snprintf(out->note, sizeof(out->note), "limits_replay.py failed (status %d)", st);
}

/* ---- the whole run ------------------------------------------------------ */

int bench_accuracy_run(struct bench_accuracy *out)
{
	memset(out, 0, sizeof(*out));
	out->keys = ACC_KEYS;
	out->calls = ACC_CALLS;
	out->log.algo = "log";
	out->log.reference = "sliding log";
	out->window.algo = "window";
	out->window.reference = "sliding log";
	out->gcra.algo = "gcra";
	out->gcra.reference = "GCRA";
	/* Each trace is made, replayed by the three algorithms and dropped; the
	 * prefix Python replays is kept with the log's decisions. */
	struct trace_call *calls[ACC_TRACES] = {0}, *all = malloc(ACC_CALLS * sizeof(*all));
	uint8_t *admitted[ACC_TRACES] = {0}, *all_admitted = malloc(ACC_CALLS);
	int rc = all == NULL || all_admitted == NULL ? -1 : 0;
	/* A box per algorithm, a limiter per trace.  Roomy tables (8x the keys
	 * of all traces): a key table evicts live keys below its capacity when
	 * a bucket fills, and an eviction would blur the figures. */
	static const fbx_algorithm algos[3] = {FBX_ALGO_LOG, FBX_ALGO_WINDOW, FBX_ALGO_GCRA};
	struct bench_accuracy_algo *outs[3] = {&out->log, &out->window, &out->gcra};
	fbx_box *box[3] = {NULL, NULL, NULL};
	for (int a = 0; a < 3 && rc == 0; a++) {
		fbx_box_config bc;
		fbx_box_config_init(&bc);
		bc.limiters = ACC_TRACES;
		bc.keys = algos[a] == FBX_ALGO_LOG ? 1024 : 8 * ACC_TRACES * ACC_KEYS;
		bc.log_keys = algos[a] == FBX_ALGO_LOG ? 8 * ACC_TRACES * ACC_KEYS : 0;
		bc.log_slots = algos[a] == FBX_ALGO_LOG ? 16 : 0;
		rc = bench_box_create(outs[a]->algo, &bc, &box[a]);
	}
	for (int i = 0; i < ACC_TRACES && rc == 0; i++) {
		fbx_rule rule;
		calls[i] = malloc(PY_CALLS * sizeof(*calls[i]));
		admitted[i] = malloc(PY_CALLS);
		if (calls[i] == NULL || admitted[i] == NULL ||
		    fbx_rule_parse(traces[i].rule, &rule, NULL) != 0) {
			rc = -1;
			break;
		}
		struct trace_spec spec = {0, 0, ACC_KEYS, ACC_CALLS, traces[i].pattern,
					  traces[i].costs, 0x5eed5eed12345678ull + (uint64_t)i, ACC_T0};
		trace_rate(&rule, traces[i].costs, &spec.limit, &spec.period_ns);
		if (trace_make(&spec, all) != 0) {
			rc = -1;
			break;
		}
		char name[16];
		snprintf(name, sizeof(name), "acc%d", i);
		for (int a = 0; a < 3 && rc == 0; a++)
			rc = replay(box[a], name, &traces[i], all, ACC_CALLS, algos[a],
				    &outs[a]->run[i], a == 0 ? all_admitted : NULL);
		memcpy(calls[i], all, PY_CALLS * sizeof(*all));
		memcpy(admitted[i], all_admitted, PY_CALLS);
	}
	free(all);
	free(all_admitted);
	for (int a = 0; a < 3; a++)
		bench_box_destroy(box[a]);
	totals(&out->log);
	totals(&out->window);
	totals(&out->gcra);
	if (rc == 0 && out->log.ok)
		limits_compare(calls, admitted, &out->limits);
	else
		snprintf(out->limits.note, sizeof(out->limits.note),
			 "skipped: the log's replay failed");
	for (int i = 0; i < ACC_TRACES; i++) {
		free(calls[i]);
		free(admitted[i]);
	}
	return rc;
}
