/*
 * report.c — the readable table, then the targets marked PASS/FAIL, then
 * the JSON line (json.c).
 */
#include <stdio.h>

#include "report.h"

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

void bench_table(const struct bench_all *a)
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
	row("control: fetch_add, a line per process", &a->floor.private_p1, &a->floor.private_p2);
	row("control: 8 xorshift chains, nothing shared", &a->floor.alu_p1, &a->floor.alu_p2);
	row("clock_gettime(CLOCK_MONOTONIC)", &a->floor.clock_mono, NULL);
	row("clock_gettime(CLOCK_MONOTONIC_COARSE)", &a->floor.clock_coarse, NULL);
	row("fusebox breaker allow+done (CLOSED)", &a->breaker.p1, &a->breaker.p2);
	row("mutex breaker allow+done", &a->mutex.brk_p1, &a->mutex.brk_p2);
	row("fusebox limiter hot key, window 16e6/s", &l->hot_window_p1, &l->hot_window_p2);
	row("  same on a stepping fake clock (info only)", &l->hot_window_fake_p1, NULL);
	row("fusebox limiter hot key, gcra (precise clock)", &l->hot_gcra_p1, &l->hot_gcra_p2);
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
		const bench_result *f[3] = {&l->hot_window_p1, &l->hot_gcra_p1, &l->k100k_p1};
		const char *fn[3] = {"hot key window", "hot key gcra", "100k keys"};
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

int bench_report(const struct bench_all *a)
{
	struct target t[BENCH_TARGETS_MAX];
	int nt = bench_targets(a, t), failed = 0;
	bench_table(a);
	printf("\n  targets (BUSY: the control did not scale, so the machine had other work and the\n"
	       "  2-process figures are low for that reason too)\n");
	for (int i = 0; i < nt; i++) {
		const char *verdict = !t[i].known ? "n/a"
				      : t[i].info ? (bench_target_passes(&t[i]) ? "ok" : "BUSY")
				      : bench_target_passes(&t[i]) ? "PASS" : "FAIL";
		if (t[i].known)
			printf("  %-4s %-44s %10.3f%-2s (target %s %g%s)\n", verdict, t[i].what,
			       t[i].value, t[i].unit, t[i].ge ? ">=" : "<=", t[i].bound, t[i].unit);
		else
			printf("  %-4s %-44s %10s   (target %s %g%s)\n", verdict, t[i].what, "-",
			       t[i].ge ? ">=" : "<=", t[i].bound, t[i].unit);
		failed += t[i].known && !t[i].info && !bench_target_passes(&t[i]);
	}
	printf("\n");
	fflush(stdout);
	bench_json(a, t, nt);
	return failed;
}
