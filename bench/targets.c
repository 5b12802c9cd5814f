/*
 * targets.c — the targets, each figure against its bound.  The
 * "info" entries are controls that tell whether the machine had other work
 * while the 2-process rows ran; they are never counted as failures.
 */
#include "report.h"

int bench_target_passes(const struct target *t)
{
	return t->ge ? t->value >= t->bound : t->value <= t->bound;
}

int bench_targets(const struct bench_all *a, struct target *t)
{
	const struct bench_limiter *l = &a->limiter;
	const struct bench_accuracy *acc = &a->accuracy;
	int n = 0;
	t[n++] = (struct target){"breaker_1p_vs_floor", "breaker allow+done 1-proc / floor 1-proc",
		a->breaker.p1.ns_op / a->floor.p1.ns_op, 2.0, 0,
		a->breaker.p1.ok && a->floor.p1.ok, "x", 0};
	t[n++] = (struct target){"worker_heartbeat_vs_floor", "worker heartbeat / floor 1-proc",
		a->workers.heartbeat_p1.ns_op / a->floor.p1.ns_op, 2.0, 0,
		a->workers.heartbeat_p1.ok && a->floor.p1.ok, "x", 0};
	t[n++] = (struct target){"worker_request_vs_floor",
		"worker request begin or end / floor 1-proc",
		a->workers.request_p1.ns_op / 2 / a->floor.p1.ns_op, 2.0, 0,
		a->workers.request_p1.ok && a->floor.p1.ok, "x", 0};
	t[n++] = (struct target){"budget_withdraw_vs_floor", "retry budget withdraw / floor",
		a->resilience.withdraw.ns_op / a->floor.p1.ns_op, 3.0, 0,
		a->resilience.withdraw.ok && a->floor.p1.ok, "x", 0};
	t[n++] = (struct target){"bulkhead_vs_floor", "bulkhead acquire or release / floor",
		a->resilience.bulkhead_p1.ns_op / 2 / a->floor.p1.ns_op, 3.0, 0,
		a->resilience.bulkhead_p1.ok && a->floor.p1.ok, "x", 0};
	t[n++] = (struct target){"cache_get_vs_floor", "cache get (64 B) / floor",
		a->resilience.get_p1.ns_op / a->floor.p1.ns_op, 3.0, 0,
		a->resilience.get_p1.ok && a->floor.p1.ok, "x", 0};
	t[n++] = (struct target){"breaker_2p_scaling", "breaker 2-proc / 1-proc throughput",
		a->breaker.p2.mops / a->breaker.p1.mops, 1.8, 1,
		a->breaker.p1.ok && a->breaker.p2.ok, "x", 0};
	t[n++] = (struct target){"control_2p_scaling",
		"control: private lines 2-proc / 1-proc (info)",
		a->floor.private_p2.mops / a->floor.private_p1.mops, 1.8, 1,
		a->floor.private_p1.ok && a->floor.private_p2.ok, "x", 1};
	t[n++] = (struct target){"control_alu_2p_scaling",
		"control: ALU loop 2-proc / 1-proc (info)",
		a->floor.alu_p2.mops / a->floor.alu_p1.mops, 1.8, 1,
		a->floor.alu_p1.ok && a->floor.alu_p2.ok, "x", 1};
	t[n++] = (struct target){"limiter_hot_ns", "limiter hot key (window, admitted)",
		l->hot_window_p1.ns_op, 40.0, 0, l->hot_window_p1.ok, "ns", 0};
	t[n++] = (struct target){"limiter_100k_ns", "limiter 100k random keys",
		l->k100k_p1.ns_op, 100.0, 0, l->k100k_p1.ok, "ns", 0};
	t[n++] = (struct target){"limiter_growth_1k_1m", "limiter 1M keys / 1k keys cost",
		l->growth_1k_1m, 3.0, 0, l->growth_1k_1m > 0, "x", 0};
	t[n++] = (struct target){"limiter_hot_2p_vs_mutex", "hot key 2-proc thr. / mutex (admitted)",
		l->hot_window_p2.mops / a->mutex.lim_p2.mops, 2.0, 1,
		l->hot_window_p2.ok && a->mutex.lim_p2.ok, "x", 0};
	t[n++] = (struct target){"redis_vs_fusebox", "Redis 1-client ns / fusebox hot key ns",
		a->redis.c1.ns_op / l->hot_window_p1.ns_op, 500.0, 1,
		a->redis.ok && a->redis.c1.ok && l->hot_window_p1.ok, "x", 0};
	t[n++] = (struct target){"state_bytes_per_key", "bytes of decision state per key",
		(double)l->entry_bytes, 32.0, 0, l->entry_bytes > 0, "B", 0};
	t[n++] = (struct target){"limiter_hot_log_ns", "limiter hot key (log, over its limit)",
		l->hot_log_p1.ns_op, 40.0, 0, l->hot_log_p1.ok, "ns", 0};
	t[n++] = (struct target){"limiter_100k_log_ns", "limiter 100k random keys (log)",
		l->k100k_log_p1.ns_op, 100.0, 0, l->k100k_log_p1.ok, "ns", 0};
	t[n++] = (struct target){"accuracy_log_wrong", "log: decisions unlike the reference log",
		(double)(acc->log.false_admit + acc->log.false_deny), 0, 0, acc->log.ok, "", 0};
	t[n++] = (struct target){"accuracy_gcra_wrong", "gcra: decisions unlike the reference GCRA",
		(double)(acc->gcra.false_admit + acc->gcra.false_deny), 0, 0, acc->gcra.ok, "", 0};
	t[n++] = (struct target){"accuracy_log_bound", "log: most in a period / count",
		acc->log.max_over_bound, 1.0, 0, acc->log.ok, "x", 0};
	t[n++] = (struct target){"accuracy_window_bound", "window: most in a period / (2 x count)",
		acc->window.max_over_bound, 1.0, 0, acc->window.ok, "x", 0};
	t[n++] = (struct target){"accuracy_gcra_bound", "gcra: most in a period / (count+burst-1)",
		acc->gcra.max_over_bound, 1.0, 0, acc->gcra.ok, "x", 0};
	t[n++] = (struct target){"limits_differ", "log vs Python limits: differing decisions",
		(double)acc->limits.differ, 0, 0, acc->limits.ran && acc->limits.ok, "", 0};
	return n;
}

