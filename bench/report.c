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

static double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * (double)a / (double)b : 0.0;
}

/* "10 (10), 5 (5)": most units in a window of each limit's period, bound. */
static void maxima(const struct bench_accuracy_run *r, char *buf, size_t len)
{
	size_t at = 0;
	buf[0] = '\0';
	for (uint32_t k = 0; k < r->nlimits && at < len; k++) {
		int n = snprintf(buf + at, len - at, "%s%llu (%llu)", k ? ", " : "",
				 (unsigned long long)r->max_in_window[k],
				 (unsigned long long)r->bound[k]);
		if (n < 0)
			break;
		at += (size_t)n;
	}
}

static void accuracy_table(const struct bench_accuracy *acc)
{
	printf("\n  accuracy (fake clock; traces of bench/trace.c, %u keys, %u calls each; key rates\n"
	       "  relative to the rule's lowest sustained rate, in units: 80%% at 0.05-0.6x,"
	       " 15%% at 0.8-1.2x, 5%% at 2-5x)\n", acc->keys, acc->calls);
	printf("  %-6s %-17s %-7s %-5s %5s %8s %10s %10s %8s  %-20s %6s\n", "algo", "rule",
	       "pattern", "costs", "burst", "admitted", "false adm", "false deny", "wrong",
	       "max/period (bound)", "time");
	const struct bench_accuracy_algo *al[3] = {&acc->log, &acc->window, &acc->gcra};
	for (int i = 0; i < 3; i++)
		for (int t = 0; t < ACC_TRACES; t++) {
			const struct bench_accuracy_run *r = &al[i]->run[t];
			if (!r->ok) {
				printf("  %-6s trace %d failed\n", al[i]->algo, t);
				continue;
			}
			char mx[64];
			maxima(r, mx, sizeof(mx));
			printf("  %-6s %-17s %-7s %-5s %5u %7.1f%% %10llu %10llu %7.3f%%  %-20s %5.2fs\n",
			       al[i]->algo, r->rule, r->pattern, r->costs ? "1-3" : "1", r->burst,
			       pct(r->admitted, r->decisions), (unsigned long long)r->false_admit,
			       (unsigned long long)r->false_deny,
			       pct(r->false_admit + r->false_deny, r->decisions), mx, r->seconds);
		}
	printf("\n  %-6s %-11s %10s %9s %9s  %-31s %s\n", "algo", "checked on", "decisions",
	       "wrong", "wrong", "wrong: under / near / abusive", "most in a period");
	static const char *bound[3] = {"<= count", "<= 2 x count", "<= count + burst - 1"};
	for (int i = 0; i < 3; i++) {
		const struct bench_accuracy_algo *x = al[i];
		char cls[64];
		snprintf(cls, sizeof(cls), "%.3f%% / %.3f%% / %.3f%%",
			 pct(x->cls_wrong[0], x->cls_decisions[0]),
			 pct(x->cls_wrong[1], x->cls_decisions[1]),
			 pct(x->cls_wrong[2], x->cls_decisions[2]));
		printf("  %-6s %-11s %10llu %9llu %8.4f%%  %-31s %s: %s\n", x->algo, x->reference,
		       (unsigned long long)x->decisions,
		       (unsigned long long)(x->false_admit + x->false_deny), x->wrong_pct, cls,
		       bound[i], !x->ok ? "failed" : x->within_bound ? "held" : "EXCEEDED");
	}
	printf("  (log and window are checked on a plain sliding log of the units each admitted,\n"
	       "   gcra on a plain GCRA with T = period / count rounded up, tau = (burst - 1) x T:\n"
	       "   false adm = admitted where the reference denies, false deny the reverse.  GCRA\n"
	       "   is its own policy; its burst is 1, or 3 where costs run to 3.  The coarse-clock\n"
	       "   GCRA row is gone: the library pads GCRA's interval by a tick only on the real\n"
	       "   coarse clock, so a ticking substituted clock no longer replays that path.)\n");
	const struct bench_limits_cmp *py = &acc->limits;
	if (!py->ran)
		printf("\n  Python limits: %s\n", py->note);
	else if (!py->ok)
		printf("\n  Python limits %s: %s\n", py->version, py->note);
	else {
		printf("\n  Python limits %s, MovingWindowRateLimiter + MemoryStorage, on the first %llu"
		       " calls of\n  the %u traces (costs included): %llu decisions differ from the"
		       " log's (%s), %.1f s\n", py->version,
		       (unsigned long long)(py->calls / (py->traces ? py->traces : 1)), py->traces,
		       (unsigned long long)py->differ, py->differ ? "NOT identical" : "identical",
		       py->seconds);
		if (py->differ)
			printf("  the first difference: trace %d (%s), call %lld\n", py->first_trace,
			       acc->log.run[py->first_trace % ACC_TRACES].rule, py->first_call);
		if (py->boundary_checked)
			printf("  a take exactly one period after the unit it waits for: limits %s it,"
			       " fusebox admits it\n  (limits' window is [now - period, now], "
			       "fusebox's (now - period, now])\n",
			       py->boundary_same ? "admits" : "denies");
	}
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
	row("fusebox worker heartbeat", &a->workers.heartbeat_p1, &a->workers.heartbeat_p2);
	row("fusebox worker request begin+end (pair)", &a->workers.request_p1,
	    &a->workers.request_p2);
	row("fusebox retry budget deposit", &a->resilience.deposit, NULL);
	row("fusebox retry budget withdraw", &a->resilience.withdraw, NULL);
	row("fusebox bulkhead acquire+release (pair)", &a->resilience.bulkhead_p1,
	    &a->resilience.bulkhead_p2);
	row("fusebox cache put (64 B)", &a->resilience.put, NULL);
	row("fusebox cache get (64 B)", &a->resilience.get_p1, &a->resilience.get_p2);
	row("mutex breaker allow+done", &a->mutex.brk_p1, &a->mutex.brk_p2);
	row("fusebox limiter hot key, window 16e6/s", &l->hot_window_p1, &l->hot_window_p2);
	row("  same on a stepping fake clock (info only)", &l->hot_window_fake_p1, NULL);
	row("fusebox limiter hot key, gcra (precise clock)", &l->hot_gcra_p1, &l->hot_gcra_p2);
	row("fusebox limiter hot key, log 100/s (denies)", &l->hot_log_p1, &l->hot_log_p2);
	row("  log admit path, stepping fake clock (info)", &l->hot_log_fake_p1, NULL);
	row("mutex limiter hot key, never denies", &a->mutex.lim_p1, &a->mutex.lim_p2);
	row("mutex limiter hot key, window 1e6/s", &a->mutex.limw_p1, &a->mutex.limw_p2);
	row("fusebox limiter 1k random keys (window)", &l->k1k_p1, NULL);
	row("fusebox limiter 100k random keys (window)", &l->k100k_p1, &l->k100k_p2);
	row("fusebox limiter 1k random keys (log 10/s)", &l->k1k_log_p1, NULL);
	row("fusebox limiter 100k random keys (log 10/s)", &l->k100k_log_p1, &l->k100k_log_p2);
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
		const bench_result *f[5] = {&l->hot_window_p1, &l->hot_gcra_p1, &l->hot_log_p1,
					    &l->k100k_p1, &l->k100k_log_p1};
		const char *fn[5] = {"hot key window", "hot key gcra", "hot key log",
				     "100k keys window", "100k keys log"};
		for (int i = 0; i < 5; i++)
			if (f[i]->ok)
				printf(" %s %.0fx%s", fn[i], a->redis.c1.ns_op / f[i]->ns_op,
				       i < 4 ? "," : "");
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
	if (l->log_key_bytes)
		printf("  log box: %u keys of %u slots; a key costs %llu bytes (32 + 8 x %u), %.1f with"
		       " the table's\n  headroom; 100k keys: %llu held, %llu evicted\n",
		       l->log_keys_cap, l->log_slots, (unsigned long long)l->log_key_bytes,
		       l->log_slots, l->log_table_bytes_per_key,
		       (unsigned long long)l->log_keys_held_100k,
		       (unsigned long long)l->log_evictions_100k);

	accuracy_table(&a->accuracy);
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
