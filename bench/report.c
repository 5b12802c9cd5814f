/*
 * report.c — the readable table, the targets marked PASS/FAIL, and one
 * JSON line with every figure (null where a figure could not be measured).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* ---- a small JSON writer ------------------------------------------------- */

struct out {
	char *s;
	size_t len, cap;
};

static void put(struct out *o, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(o->s ? o->s + o->len : NULL, o->s ? o->cap - o->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (o->s != NULL && o->len + (size_t)n < o->cap) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = (o->cap + (size_t)n + 1) * 2;
		char *s = realloc(o->s, cap);
		if (s == NULL)
			return;
		o->s = s;
		o->cap = cap;
	}
}

static void jnum(struct out *o, const char *key, double v, int ok)
{
	if (ok)
		put(o, "\"%s\":%.6g", key, v);
	else
		put(o, "\"%s\":null", key);
}

static void jres(struct out *o, const char *key, const bench_result *r)
{
	if (!r->ok) {
		put(o, "\"%s\":null", key);
		return;
	}
	put(o, "\"%s\":{\"procs\":%d,\"n\":%llu,\"ns_op\":%.3f,\"mops\":%.3f,\"admitted\":%.4f}",
	    key, r->procs, (unsigned long long)r->n, r->ns_op, r->mops, r->admitted);
}

/* ---- targets ------------------------------------------------------------ */

struct target {
	const char *id;
	const char *what;
	double value, bound;
	int ge;        /* 1: pass when value >= bound, else value <= bound */
	int known;
	const char *unit;
};

static int passes(const struct target *t)
{
	return t->ge ? t->value >= t->bound : t->value <= t->bound;
}

static int make_targets(const struct bench_all *a, struct target *t)
{
	const struct bench_limiter *l = &a->limiter;
	const struct bench_accuracy *acc = &a->accuracy;
	int n = 0;
	t[n++] = (struct target){"breaker_1p_vs_floor", "breaker allow+done 1-proc / floor 1-proc",
		a->breaker.p1.ns_op / a->floor.p1.ns_op, 2.0, 0,
		a->breaker.p1.ok && a->floor.p1.ok, "x"};
	t[n++] = (struct target){"breaker_2p_scaling", "breaker 2-proc / 1-proc throughput",
		a->breaker.p2.mops / a->breaker.p1.mops, 1.8, 1,
		a->breaker.p1.ok && a->breaker.p2.ok, "x"};
	t[n++] = (struct target){"limiter_hot_ns", "limiter hot key, admit path (gcra)",
		l->hot_gcra_p1.ns_op, 40.0, 0, l->hot_gcra_p1.ok, "ns"};
	t[n++] = (struct target){"limiter_hot_window_ns", "limiter hot key, window 1e6/s",
		l->hot_window_p1.ns_op, 40.0, 0, l->hot_window_p1.ok, "ns"};
	t[n++] = (struct target){"limiter_100k_ns", "limiter 100k random keys",
		l->k100k_p1.ns_op, 100.0, 0, l->k100k_p1.ok, "ns"};
	t[n++] = (struct target){"limiter_growth_1k_1m", "limiter 1M keys / 1k keys cost",
		l->growth_1k_1m, 3.0, 0, l->growth_1k_1m > 0, "x"};
	t[n++] = (struct target){"limiter_hot_2p_vs_mutex", "hot key 2-proc thr. / mutex (admit path)",
		l->hot_gcra_p2.mops / a->mutex.lim_p2.mops, 2.0, 1,
		l->hot_gcra_p2.ok && a->mutex.lim_p2.ok, "x"};
	t[n++] = (struct target){"limiter_hot_window_2p_vs_mutex",
		"hot key 2-proc thr. / mutex (window 1e6/s)",
		l->hot_window_p2.mops / a->mutex.limw_p2.mops, 2.0, 1,
		l->hot_window_p2.ok && a->mutex.limw_p2.ok, "x"};
	t[n++] = (struct target){"redis_vs_fusebox", "Redis 1-client ns / fusebox hot key ns",
		a->redis.c1.ns_op / l->hot_gcra_p1.ns_op, 500.0, 1,
		a->redis.ok && a->redis.c1.ok && l->hot_gcra_p1.ok, "x"};
	t[n++] = (struct target){"state_bytes_per_key", "bytes of decision state per key",
		(double)l->entry_bytes, 32.0, 0, l->entry_bytes > 0, "B"};
	t[n++] = (struct target){"accuracy_gcra_max", "gcra: most admitted in one period",
		(double)acc->gcra.max_in_window, (double)acc->gcra.limit, 0, acc->gcra.ok, ""};
	t[n++] = (struct target){"accuracy_gcra_coarse_max",
		"gcra on the coarse clock: most in one period",
		(double)acc->gcra_tick.max_in_window, (double)acc->gcra_tick.limit, 0,
		acc->gcra_tick.ok, ""};
	t[n++] = (struct target){"accuracy_window_max", "window: most admitted in one period",
		(double)acc->window.max_in_window, (double)acc->window.bound, 0, acc->window.ok, ""};
	t[n++] = (struct target){"accuracy_window_wrong_pct", "window: wrong decisions",
		acc->window.wrong_pct, 0.01, 0, acc->window.ok, "%"};
	t[n++] = (struct target){"accuracy_gcra_wrong_pct", "gcra: wrong decisions",
		acc->gcra.wrong_pct, 0.01, 0, acc->gcra.ok, "%"};
	return n;
}

/* ---- the table ------------------------------------------------------------ */

static void cell(const bench_result *r)
{
	if (r == NULL)
		printf("  %9s %9s", "", "");
	else if (!r->ok)
		printf("  %9s %9s", "failed", "");
	else
		printf("  %9.1f %9.2f", r->ns_op, r->mops);
}

static void row(const char *what, const bench_result *p1, const bench_result *p2)
{
	printf("  %-44s", what);
	cell(p1);
	cell(p2);
	const bench_result *r = p1 && p1->ok ? p1 : p2;
	if (r != NULL && r->ok && r->admitted < 0.99995)
		printf("   %5.1f%%", 100.0 * r->admitted);
	printf("\n");
}

static void table(const struct bench_all *a)
{
	const struct bench_limiter *l = &a->limiter;
	printf("\nfusebox bench: best of %d runs of ~%.1f s, CLOCK_MONOTONIC; 2 processes = two forked\n"
	       "children started by one go flag, ns/op = slowest wall / ops each, Mops/s = both.\n"
	       "Random keys: pregenerated 15-byte strings, xorshift order, every key inserted before\n"
	       "timing, the next key's string prefetched one op ahead (a server has it in cache).\n\n",
	       BENCH_RUNS, BENCH_TARGET_S);
	printf("load average before: %s, after: %s (other work on the 2 cores skews the 2-process rows)\n\n",
	       a->load_before, a->load_after);
	printf("  %-44s  %9s %9s  %9s %9s  %s\n", "", "1 proc", "", "2 procs", "", "admitted");
	printf("  %-44s  %9s %9s  %9s %9s\n", "operation", "ns/op", "Mops/s", "ns/op", "Mops/s");
	printf("  %.*s\n", 100, "------------------------------------------------------------"
				  "----------------------------------------");
	row("floor: atomic fetch_add, shared line", &a->floor.p1, &a->floor.p2);
	row("clock_gettime(CLOCK_MONOTONIC)", &a->floor.clock_mono, NULL);
	row("clock_gettime(CLOCK_MONOTONIC_COARSE)", &a->floor.clock_coarse, NULL);
	row("fusebox breaker allow+done (CLOSED)", &a->breaker.p1, &a->breaker.p2);
	row("mutex breaker allow+done", &a->mutex.brk_p1, &a->mutex.brk_p2);
	row("fusebox limiter hot key, gcra 1e9/s", &l->hot_gcra_p1, &l->hot_gcra_p2);
	row("fusebox limiter hot key, window 1e6/s", &l->hot_window_p1, &l->hot_window_p2);
	row("  window admit path, fake clock (info only)", &l->hot_window_fake_p1, NULL);
	row("mutex limiter hot key, never denies", &a->mutex.lim_p1, &a->mutex.lim_p2);
	row("mutex limiter hot key, window 1e6/s", &a->mutex.limw_p1, &a->mutex.limw_p2);
	row("fusebox limiter 1k random keys (window)", &l->k1k_p1, NULL);
	row("fusebox limiter 100k random keys (window)", &l->k100k_p1, &l->k100k_p2);
	row("fusebox limiter 1M random keys (window)", &l->k1m_p1, NULL);
	row("  same, key string not prefetched (cold)", &l->k1m_cold_p1, NULL);
	row("  xorshift + key read alone (1M keys)", &l->overhead_1m, NULL);
	if (a->redis.skipped)
		printf("  redis: skipped\n");
	else if (!a->redis.available)
		printf("  redis: not installed (run: sudo apt-get install redis-server)\n");
	else if (!a->redis.ok)
		printf("  redis: failed (see the messages above)\n");
	else {
		char what[96];
		snprintf(what, sizeof(what), "Redis %.16s EVALSHA window script (clients)",
			 a->redis.version);
		row(what, &a->redis.c1, &a->redis.c2);
	}
	if (a->redis.ok && a->redis.c1.ok &&
	    (l->hot_gcra_p1.ok || l->hot_window_p1.ok || l->k100k_p1.ok)) {
		printf("\n  Redis 1 client / fusebox per decision:");
		const bench_result *f[3] = {&l->hot_gcra_p1, &l->hot_window_p1, &l->k100k_p1};
		const char *fn[3] = {"hot key gcra", "hot key window", "100k keys"};
		for (int i = 0; i < 3; i++)
			if (f[i]->ok)
				printf(" %s %.0fx%s", fn[i], a->redis.c1.ns_op / f[i]->ns_op,
				       i < 2 ? "," : "");
		printf("\n");
	}
	printf("\n  1k -> 1M keys cost growth: %.2fx   (1M keys: %llu held, %llu evicted)\n",
	       l->growth_1k_1m, (unsigned long long)l->keys_held_1m,
	       (unsigned long long)l->evictions_1m);
	printf("  decision state per key: 8-byte tag + FBX_RULE_LIMITS_MAX (%d) x 8-byte state"
	       " words = %u bytes\n", FBX_RULE_LIMITS_MAX, l->entry_bytes);
	printf("  key table bytes per configured key (box size minus a 1-key box, / keys):");
	for (int i = 0; i < 4; i++)
		printf(" %uk: %.1f%s", l->table_keys[i] / 1000, l->table_bytes_per_key[i],
		       i < 3 ? "," : "\n");

	const struct bench_accuracy *acc = &a->accuracy;
	printf("\n  accuracy (fake clock, %u keys, Poisson arrivals: 80%% at 0.05-0.6x the rate,"
	       " 15%% at 0.8-1.2x, 5%% at 2-5x)\n", acc->keys);
	printf("  %-8s %-10s %5s %10s %9s %12s %12s %9s %14s %7s\n", "algo", "rule", "burst",
	       "decisions", "admitted", "false admit", "false deny", "wrong", "max/period", "time");
	const struct bench_accuracy_algo *al[4] = {&acc->window, &acc->gcra, &acc->gcra_burst,
						   &acc->gcra_tick};
	static const char *label[4] = {"window", "gcra", "gcra b=L", "gcra tick"};
	for (int i = 0; i < 4; i++) {
		if (!al[i]->ok) {
			printf("  %-8s failed\n", label[i]);
			continue;
		}
		char mx[32];
		snprintf(mx, sizeof(mx), "%llu (<= %llu)", (unsigned long long)al[i]->max_in_window,
			 (unsigned long long)al[i]->bound);
		printf("  %-8s %-10s %5u %10llu %8.1f%% %12llu %12llu %8.4f%% %14s %6.2fs\n",
		       al[i]->algo, al[i]->rule, al[i]->burst,
		       (unsigned long long)al[i]->decisions,
		       100.0 * (double)al[i]->admitted / (double)al[i]->decisions,
		       (unsigned long long)al[i]->false_admit,
		       (unsigned long long)al[i]->false_deny, al[i]->wrong_pct, mx, al[i]->seconds);
		static const char *cls[3] = {"well under", "near", "abusive"};
		printf("  %-8s wrong by key class:", "");
		for (int c = 0; c < 3; c++)
			printf(" %s %.4f%% of %llu%s", cls[c],
			       al[i]->cls_decisions[c]
				       ? 100.0 * (double)al[i]->cls_wrong[c] /
						 (double)al[i]->cls_decisions[c] : 0.0,
			       (unsigned long long)al[i]->cls_decisions[c], c < 2 ? "," : "\n");
	}
	if (acc->gcra_tick.ok)
		printf("  (the %s row: clock ticking every %.0f ms like CLOCK_MONOTONIC_COARSE, which the\n"
		       "   library reads for gcra intervals >= 64 ticks; replayed on true arrival times)\n",
		       acc->gcra_tick.rule, (double)acc->gcra_tick.tick_ns / 1e6);
	printf("  (window bound: 2 x limit, documented in limiter_algo.c; gcra bound: the limit.\n"
	       "   false admit = admitted while the exact log of admitted calls already held the\n"
	       "   limit in (t - period, t]; false deny = denied while the log held fewer.\n"
	       "   gcra with burst b paces at period / (limit - b + 1): burst = limit is listed\n"
	       "   for information only and is not a target.)\n");
}

/* ---- JSON ------------------------------------------------------------------ */

static double cls_pct(const struct bench_accuracy_algo *x, int c)
{
	return x->cls_decisions[c] ? 100.0 * (double)x->cls_wrong[c] / (double)x->cls_decisions[c]
				   : 0.0;
}

static void jacc(struct out *o, const char *key, const struct bench_accuracy_algo *x)
{
	if (!x->ok) {
		put(o, "\"%s\":null", key);
		return;
	}
	put(o, "\"%s\":{\"rule\":\"%s\",\"burst\":%u,\"decisions\":%llu,\"admitted\":%llu,"
	       "\"false_admit\":%llu,\"false_deny\":%llu,\"wrong_pct\":%.6f,"
	       "\"wrong_pct_by_class\":{\"under\":%.6f,\"near\":%.6f,\"abusive\":%.6f},"
	       "\"max_in_window\":%llu,\"limit\":%llu,\"bound\":%llu}",
	    key, x->rule, x->burst, (unsigned long long)x->decisions,
	    (unsigned long long)x->admitted, (unsigned long long)x->false_admit,
	    (unsigned long long)x->false_deny, x->wrong_pct, cls_pct(x, 0), cls_pct(x, 1),
	    cls_pct(x, 2), (unsigned long long)x->max_in_window, (unsigned long long)x->limit,
	    (unsigned long long)x->bound, (unsigned long long)x->tick_ns);
}

static void json(const struct bench_all *a, const struct target *t, int nt)
{
	const struct bench_limiter *l = &a->limiter;
	struct out o = {0};
	put(&o, "{\"bench\":\"fusebox\",\"version\":\"%s\",\"runs\":%d,\"seconds\":%.1f,"
	       "\"loadavg_before\":\"%s\",\"loadavg_after\":\"%s\",",
	    FBX_VERSION_STRING, BENCH_RUNS, a->seconds, a->load_before, a->load_after);
	put(&o, "\"floor\":{");
	jres(&o, "p1", &a->floor.p1);
	put(&o, ",");
	jres(&o, "p2", &a->floor.p2);
	put(&o, "},");
	jres(&o, "clock_monotonic", &a->floor.clock_mono);
	put(&o, ",");
	jres(&o, "clock_monotonic_coarse", &a->floor.clock_coarse);
	put(&o, ",\"breaker\":{");
	jres(&o, "p1", &a->breaker.p1);
	put(&o, ",");
	jres(&o, "p2", &a->breaker.p2);
	put(&o, "},\"limiter\":{\"hot_gcra\":{");
	jres(&o, "p1", &l->hot_gcra_p1);
	put(&o, ",");
	jres(&o, "p2", &l->hot_gcra_p2);
	put(&o, "},\"hot_window\":{");
	jres(&o, "p1", &l->hot_window_p1);
	put(&o, ",");
	jres(&o, "p2", &l->hot_window_p2);
	put(&o, "},");
	jres(&o, "hot_window_fake_clock", &l->hot_window_fake_p1);
	put(&o, ",\"keys_1k\":{");
	jres(&o, "p1", &l->k1k_p1);
	put(&o, "},\"keys_100k\":{");
	jres(&o, "p1", &l->k100k_p1);
	put(&o, ",");
	jres(&o, "p2", &l->k100k_p2);
	put(&o, "},\"keys_1m\":{");
	jres(&o, "p1", &l->k1m_p1);
	put(&o, "},");
	jres(&o, "keys_1m_cold_key", &l->k1m_cold_p1);
	put(&o, ",");
	jres(&o, "harness_overhead_1m", &l->overhead_1m);
	put(&o, ",");
	jnum(&o, "growth_1k_1m", l->growth_1k_1m, l->growth_1k_1m > 0);
	if (l->entry_bytes == 0) {
		put(&o, ",\"state_bytes_per_key\":null,\"table_bytes_per_key\":null");
	} else {
		put(&o, ",\"state_bytes_per_key\":%u,\"table_bytes_per_key\":{", l->entry_bytes);
		for (int i = 0; i < 4; i++)
			put(&o, "\"%u\":%.2f%s", l->table_keys[i], l->table_bytes_per_key[i],
			    i < 3 ? "," : "");
		put(&o, "}");
	}
	put(&o, "},\"mutex\":{\"breaker\":{");
	jres(&o, "p1", &a->mutex.brk_p1);
	put(&o, ",");
	jres(&o, "p2", &a->mutex.brk_p2);
	put(&o, "},\"limiter\":{");
	jres(&o, "p1", &a->mutex.lim_p1);
	put(&o, ",");
	jres(&o, "p2", &a->mutex.lim_p2);
	put(&o, "},\"limiter_window\":{");
	jres(&o, "p1", &a->mutex.limw_p1);
	put(&o, ",");
	jres(&o, "p2", &a->mutex.limw_p2);
	put(&o, "}},");
	if (a->redis.available && a->redis.ok) {
		put(&o, "\"redis\":{\"version\":\"%s\",", a->redis.version);
		jres(&o, "c1", &a->redis.c1);
		put(&o, ",");
		jres(&o, "c2", &a->redis.c2);
		put(&o, "},");
	} else {
		put(&o, "\"redis\":null,");
	}
	put(&o, "\"accuracy\":{\"keys\":%u,", a->accuracy.keys);
	jacc(&o, "window", &a->accuracy.window);
	put(&o, ",");
	jacc(&o, "gcra", &a->accuracy.gcra);
	put(&o, ",");
	jacc(&o, "gcra_burst_limit", &a->accuracy.gcra_burst);
	put(&o, ",");
	jacc(&o, "gcra_coarse_tick", &a->accuracy.gcra_tick);
	put(&o, "},\"targets\":{");
	for (int i = 0; i < nt; i++) {
		put(&o, "\"%s\":{", t[i].id);
		jnum(&o, "value", t[i].value, t[i].known);
		put(&o, ",\"target\":\"%s%g\",\"pass\":%s}%s", t[i].ge ? ">=" : "<=", t[i].bound,
		    !t[i].known ? "null" : passes(&t[i]) ? "true" : "false", i + 1 < nt ? "," : "");
	}
	put(&o, "}}");
	if (o.s != NULL)
		printf("%s\n", o.s);
	free(o.s);
}

int bench_report(const struct bench_all *a)
{
	struct target t[32];
	int nt = make_targets(a, t), failed = 0;
	table(a);
	printf("\n  targets\n");
	for (int i = 0; i < nt; i++) {
		const char *verdict = !t[i].known ? "n/a" : passes(&t[i]) ? "PASS" : "FAIL";
		if (t[i].known)
			printf("  %-4s %-44s %10.3f%-2s (target %s %g%s)\n", verdict, t[i].what,
			       t[i].value, t[i].unit, t[i].ge ? ">=" : "<=", t[i].bound, t[i].unit);
		else
			printf("  %-4s %-44s %10s   (target %s %g%s)\n", verdict, t[i].what, "-",
			       t[i].ge ? ">=" : "<=", t[i].bound, t[i].unit);
		failed += t[i].known && !passes(&t[i]);
	}
	printf("\n");
	fflush(stdout);
	json(a, t, nt);
	return failed;
}
