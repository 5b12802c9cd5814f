/*
 * json.c — one JSON line with every figure (null where a figure could not
 * be measured) and every target, written with a tiny growing buffer.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "report.h"

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

static double cls_pct(const uint64_t *wrong, const uint64_t *decisions, int c)
{
	return decisions[c] ? 100.0 * (double)wrong[c] / (double)decisions[c] : 0.0;
}

static void jrun(struct out *o, const struct bench_accuracy_run *r)
{
	if (!r->ok) {
		put(o, "null");
		return;
	}
	put(o, "{\"rule\":\"%s\",\"pattern\":\"%s\",\"costs\":\"%s\",\"burst\":%u,"
	       "\"decisions\":%llu,\"admitted\":%llu,\"false_admit\":%llu,\"false_deny\":%llu,"
	       "\"wrong_pct_by_class\":{\"under\":%.6f,\"near\":%.6f,\"abusive\":%.6f},\"limits\":[",
	    r->rule, r->pattern, r->costs ? "1-3" : "1", r->burst,
	    (unsigned long long)r->decisions, (unsigned long long)r->admitted,
	    (unsigned long long)r->false_admit, (unsigned long long)r->false_deny,
	    cls_pct(r->cls_wrong, r->cls_decisions, 0), cls_pct(r->cls_wrong, r->cls_decisions, 1),
	    cls_pct(r->cls_wrong, r->cls_decisions, 2));
	for (uint32_t k = 0; k < r->nlimits; k++)
		put(o, "%s{\"count\":%llu,\"max_in_window\":%llu,\"bound\":%llu}", k ? "," : "",
		    (unsigned long long)r->count[k], (unsigned long long)r->max_in_window[k],
		    (unsigned long long)r->bound[k]);
	put(o, "]}");
}

static void jacc(struct out *o, const char *key, const struct bench_accuracy_algo *x)
{
	if (!x->ok) {
		put(o, "\"%s\":null", key);
		return;
	}
	put(o, "\"%s\":{\"reference\":\"%s\",\"decisions\":%llu,\"admitted\":%llu,"
	       "\"false_admit\":%llu,\"false_deny\":%llu,\"wrong_pct\":%.6f,"
	       "\"wrong_pct_by_class\":{\"under\":%.6f,\"near\":%.6f,\"abusive\":%.6f},"
	       "\"within_bound\":%s,\"max_over_bound\":%.4f,\"traces\":[",
	    key, x->reference, (unsigned long long)x->decisions, (unsigned long long)x->admitted,
	    (unsigned long long)x->false_admit, (unsigned long long)x->false_deny, x->wrong_pct,
	    cls_pct(x->cls_wrong, x->cls_decisions, 0), cls_pct(x->cls_wrong, x->cls_decisions, 1),
	    cls_pct(x->cls_wrong, x->cls_decisions, 2), x->within_bound ? "true" : "false",
	    x->max_over_bound);
	for (int i = 0; i < ACC_TRACES; i++) {
		if (i)
			put(o, ",");
		jrun(o, &x->run[i]);
	}
	put(o, "]}");
}

static void jlimits(struct out *o, const struct bench_limits_cmp *p)
{
	if (!p->ran || !p->ok) {
		put(o, "\"python_limits\":null");
		return;
	}
	put(o, "\"python_limits\":{\"version\":\"%s\",\"traces\":%u,\"decisions\":%llu,"
	       "\"differ\":%llu,\"boundary_same\":%s}",
	    p->version, p->traces, (unsigned long long)p->calls, (unsigned long long)p->differ,
	    !p->boundary_checked ? "null" : p->boundary_same ? "true" : "false");
}

void bench_json(const struct bench_all *a, const struct target *t, int nt)
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
	put(&o, "},\"control_private_lines\":{");
	jres(&o, "p1", &a->floor.private_p1);
	put(&o, ",");
	jres(&o, "p2", &a->floor.private_p2);
	put(&o, "},\"control_alu\":{");
	jres(&o, "p1", &a->floor.alu_p1);
	put(&o, ",");
	jres(&o, "p2", &a->floor.alu_p2);
	put(&o, "},");
	jres(&o, "clock_monotonic", &a->floor.clock_mono);
	put(&o, ",");
	jres(&o, "clock_monotonic_coarse", &a->floor.clock_coarse);
	put(&o, ",\"breaker\":{");
	jres(&o, "p1", &a->breaker.p1);
	put(&o, ",");
	jres(&o, "p2", &a->breaker.p2);
	put(&o, "},\"workers\":{\"heartbeat\":{");
	jres(&o, "p1", &a->workers.heartbeat_p1);
	put(&o, ",");
	jres(&o, "p2", &a->workers.heartbeat_p2);
	put(&o, "},\"request_pair\":{");
	jres(&o, "p1", &a->workers.request_p1);
	put(&o, ",");
	jres(&o, "p2", &a->workers.request_p2);
	put(&o, "}},\"limiter\":{\"hot_gcra\":{");
	jres(&o, "p1", &l->hot_gcra_p1);
	put(&o, ",");
	jres(&o, "p2", &l->hot_gcra_p2);
	put(&o, "},\"hot_window\":{");
	jres(&o, "p1", &l->hot_window_p1);
	put(&o, ",");
	jres(&o, "p2", &l->hot_window_p2);
	put(&o, "},");
	jres(&o, "hot_window_fake_clock", &l->hot_window_fake_p1);
	put(&o, ",\"hot_log\":{");
	jres(&o, "p1", &l->hot_log_p1);
	put(&o, ",");
	jres(&o, "p2", &l->hot_log_p2);
	put(&o, "},");
	jres(&o, "hot_log_fake_clock", &l->hot_log_fake_p1);
	put(&o, ",\"keys_1k\":{");
	jres(&o, "p1", &l->k1k_p1);
	put(&o, "},\"keys_100k\":{");
	jres(&o, "p1", &l->k100k_p1);
	put(&o, ",");
	jres(&o, "p2", &l->k100k_p2);
	put(&o, "},\"keys_1k_log\":{");
	jres(&o, "p1", &l->k1k_log_p1);
	put(&o, "},\"keys_100k_log\":{");
	jres(&o, "p1", &l->k100k_log_p1);
	put(&o, ",");
	jres(&o, "p2", &l->k100k_log_p2);
	put(&o, ",\"log_slots\":%u,\"log_key_bytes\":%llu,\"table_bytes_per_key\":%.2f,"
	       "\"held\":%llu,\"evicted\":%llu", l->log_slots,
	    (unsigned long long)l->log_key_bytes, l->log_table_bytes_per_key,
	    (unsigned long long)l->log_keys_held_100k, (unsigned long long)l->log_evictions_100k);
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
	put(&o, "\"accuracy\":{\"keys\":%u,\"calls\":%u,", a->accuracy.keys, a->accuracy.calls);
	jacc(&o, "log", &a->accuracy.log);
	put(&o, ",");
	jacc(&o, "window", &a->accuracy.window);
	put(&o, ",");
	jacc(&o, "gcra", &a->accuracy.gcra);
	put(&o, ",");
	jlimits(&o, &a->accuracy.limits);
	put(&o, "},\"targets\":{");
	for (int i = 0; i < nt; i++) {
		put(&o, "\"%s\":{", t[i].id);
		jnum(&o, "value", t[i].value, t[i].known);
		put(&o, ",\"target\":\"%s%g\",\"pass\":%s%s}%s", t[i].ge ? ">=" : "<=", t[i].bound,
		    !t[i].known ? "null" : bench_target_passes(&t[i]) ? "true" : "false",
		    t[i].info ? ",\"info\":true" : "", i + 1 < nt ? "," : "");
	}
	put(&o, "}}");
	if (o.s != NULL)
		printf("%s\n", o.s);
	free(o.s);
}

