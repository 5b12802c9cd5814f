/*
 * ctl_settings.c — breaker and limiter settings by name, shared by the
 * command line ("--fail-max 5") and the config file ("fail_max = 5"), so
 * the two spell and check every setting the same way.
 */
#include <string.h>

#include "ctl_settings.h"

/* What an error names: the option as typed on the command line
 * ("--fail-max"), or the file, line and key of a config file. */
void setting_name(char *out, size_t len, const char *where, const char *key)
{
	if (key[0] == '-')
		snprintf(out, len, "%s", key);
	else
		snprintf(out, len, "%s: %s", where, key);
}

/* "--fail-max" and "fail_max" are the same setting. */
static void canonical(const char *key, char out[40])
{
	size_t i = 0;
	while (*key == '-')
		key++;
	for (; key[i] && i < 39; i++)
		out[i] = key[i] == '-' ? '_' : key[i];
	out[i] = '\0';
}

static bool has_unit(const char *v)
{
	size_t n = strlen(v);
	return n > 0 && (v[n - 1] < '0' || v[n - 1] > '9');
}

int breaker_setting(fbx_breaker_config *c, const char *key, const char *v, const char *where)
{
	char k[40], what[96];
	canonical(key, k);
	setting_name(what, sizeof(what), where, key);
	if (strcmp(k, "fail_max") == 0)
		return ctl_u32(what, v, 0, UINT32_MAX, &c->fail_max);
	if (strcmp(k, "failure_rate") == 0)
		return ctl_pct(what, v, &c->failure_rate_pct);
	if (strcmp(k, "slow_rate") == 0)
		return ctl_pct(what, v, &c->slow_rate_pct);
	if (strcmp(k, "slow_call") == 0)
		return ctl_duration(what, v, &c->slow_call_ns);
	if (strcmp(k, "window") == 0) {
		if (has_unit(v)) {
			c->window_calls = 0;
			return ctl_duration(what, v, &c->window_ns);
		}
		return ctl_u32(what, v, 1, FBX_WINDOW_CALLS_MAX, &c->window_calls);
	}
	if (strcmp(k, "min_calls") == 0)
		return ctl_u32(what, v, 1, UINT32_MAX, &c->min_calls);
	if (strcmp(k, "reset") == 0 || strcmp(k, "reset_timeout") == 0)
		return ctl_duration(what, v, &c->reset_timeout_ns);
	if (strcmp(k, "reset_max") == 0)
		return ctl_duration(what, v, &c->reset_timeout_max_ns);
	if (strcmp(k, "half_open") == 0)
		return ctl_u32(what, v, 1, FBX_HALF_OPEN_MAX, &c->half_open_max);
	if (strcmp(k, "success_threshold") == 0)
		return ctl_u32(what, v, 1, UINT32_MAX, &c->success_threshold);
	if (strcmp(k, "trial_lease") == 0)
		return ctl_duration(what, v, &c->trial_lease_ns);
	return ctl_fail("%s: unknown breaker setting '%s'", where, k);
}

static int yes_no(const char *what, const char *v, int *out)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "on") == 0 ||
	    strcmp(v, "1") == 0)
		*out = 1;
	else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 || strcmp(v, "off") == 0 ||
		 strcmp(v, "0") == 0)
		*out = 0;
	else
		return ctl_fail("%s: '%s' is not yes or no", what, v);
	return 0;
}

int limiter_setting(struct limiter_spec *l, const char *key, const char *v, const char *where)
{
	char k[40], what[96];
	canonical(key, k);
	setting_name(what, sizeof(what), where, key);
	if (strcmp(k, "rate") == 0) {
		fbx_rule r;
		size_t at = 0;
		int rc = fbx_rule_parse(v, &r, &at);
		if (rc)
			return ctl_fail("%s: '%s' is not a rule (at character %zu; e.g. 100/minute or "
					"10/second;1000/hour)", what, v, at + 1);
		snprintf(l->rule, sizeof(l->rule), "%s", v);
		return 0;
	}
	if (strcmp(k, "algo") == 0 || strcmp(k, "algorithm") == 0) {
		int a = fbx_algorithm_parse(v);
		if (a < 0)
			return ctl_fail("%s: '%s' is not log, window, gcra or auto", what, v);
		l->cfg.algorithm = (fbx_algorithm)a;
		return 0;
	}
	if (strcmp(k, "burst") == 0)
		return ctl_u32(what, v, 1, FBX_GCRA_BURST_MAX, &l->cfg.burst);
	if (strcmp(k, "keyed") == 0)
		return yes_no(what, v, &l->cfg.keyed);
	if (strcmp(k, "dry_run") == 0)
		return yes_no(what, v, &l->cfg.dry_run);
	return ctl_fail("%s: unknown limiter setting '%s'", where, k);
}

/* The spec lives in arrays that grow: the rule pointer is made at the
 * moment of use, never kept inside the spec. */
fbx_limiter_config limiter_config(const struct limiter_spec *l)
{
	fbx_limiter_config c = l->cfg;
	c.rule = l->rule;
	return c;
}

void limiter_spec_init(struct limiter_spec *l)
{
	memset(l, 0, sizeof(*l));
	fbx_limiter_config_init(&l->cfg);
	l->cfg.rule = NULL;
}

/* What the library would refuse, said before anything is created. */
int breaker_check(const char *name, const fbx_breaker_config *c, const char *where)
{
	const char *why = NULL;
	if (fbx_name_check_record(name) != 0)
		return ctl_fail("%s: bad breaker name '%s' (1-63 printable characters, no spaces)",
				where, name);
	if (fbx_breaker_config_check(c, &why) != 0)
		return ctl_fail("%s: breaker '%s': bad setting %s", where, name, why);
	return 0;
}

/* GCRA spaces calls period / count apart and lets them run burst
 * intervals ahead; the library keeps both within what its clock words
 * hold.  Which of the two a limit breaks is what an operator can change. */
static int gcra_refused(const char *name, const struct limiter_spec *l, const fbx_rule *r,
			const char *where)
{
	for (uint32_t i = 0; i < r->n; i++) {
		if (r->limit[i].period_ns / r->limit[i].count != 0)
			continue;
		fbx_rule one = {.n = 1};
		one.limit[0].count = r->limit[i].count;
		one.limit[0].period_ns = r->limit[i].period_ns;
		char text[FBX_RULE_TEXT_MAX];
		if (fbx_rule_format(&one, text, sizeof(text)) != 0)
			snprintf(text, sizeof(text), "%s", l->rule);
		return ctl_fail("%s: limiter '%s': gcra paces at most one call a nanosecond, and "
				"%s is faster", where, name, text);
	}
	return ctl_fail("%s: limiter '%s': gcra with burst %u on %s runs too far ahead (burst "
			"x period / count is over 2^61 ns, about 73 years); lower the burst",
			where, name, l->cfg.burst, l->rule);
}

int limiter_check(const char *name, const struct limiter_spec *l, const char *where)
{
	if (fbx_name_check_record(name) != 0)
		return ctl_fail("%s: bad limiter name '%s' (1-63 printable characters, no spaces)",
				where, name);
	if (l->rule[0] == '\0')
		return ctl_fail("%s: limiter '%s' needs a rate (e.g. rate = 100/minute)", where, name);
	fbx_rule r;
	fbx_rule_parse(l->rule, &r, NULL);
	for (uint32_t i = 0; i < r.n; i++) {
		/* auto falls back to the window for counts the log cannot hold */
		bool window = l->cfg.algorithm == FBX_ALGO_WINDOW || l->cfg.algorithm == FBX_ALGO_AUTO;
		if (window && r.limit[i].count > FBX_WINDOW_COUNT_MAX)
			return ctl_fail("%s: limiter '%s': a window limit counts at most %u calls",
					where, name, FBX_WINDOW_COUNT_MAX);
		if (l->cfg.algorithm == FBX_ALGO_LOG && r.limit[i].count > 65535)
			return ctl_fail("%s: limiter '%s': a log limit counts at most 65535 calls "
					"(the window algorithm counts more)", where, name);
	}
	/* Whatever else the library would refuse is refused here too, before
	 * a box is touched: create --exist-ok must not stop half-way through
	 * a config file. */
	fbx_limiter_config cfg = limiter_config(l);
	int rc = fbx_limiter_config_check(&cfg);
	if (rc == 0)
		return 0;
	if (rc == FBX_ERANGE && l->cfg.algorithm == FBX_ALGO_GCRA)
		return gcra_refused(name, l, &r, where);
	if (rc == FBX_ERULE)
		return ctl_fail("%s: limiter '%s': '%s' is not a rule (e.g. 100/minute or "
				"10/second;1000/hour)", where, name, l->rule);
	return ctl_fail("%s: limiter '%s': the library refuses algorithm %s with burst %u: %s",
			where, name, fbx_algorithm_name(l->cfg.algorithm), l->cfg.burst,
			fbx_strerror(rc));
}

int log_misfit(const char *rule, bool keyed, uint32_t log_slots, uint32_t log_keys, char *why,
	       size_t len)
{
	fbx_rule r;
	if (log_slots == 0) {
		snprintf(why, len, "this box has no log (log_slots 0)");
		return LOG_TOO_SHORT;
	}
	if (keyed && log_keys == 0) {
		snprintf(why, len, "this box's log has no keys (log_keys 0), and the limiter is keyed");
		return LOG_NO_KEYS;
	}
	if (fbx_rule_parse(rule, &r, NULL) != 0)
		return 0; /* the rule's own error is said elsewhere */
	for (uint32_t i = 0; i < r.n; i++)
		if (r.limit[i].count >= log_slots) {
			snprintf(why, len, "the box's log holds counts up to %u (log_slots %u), not %llu",
				 log_slots - 1, log_slots, (unsigned long long)r.limit[i].count);
			return LOG_TOO_SHORT;
		}
	return 0;
}

/* ---- retry budgets, bulkheads and caches ------------------------------- */

#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull
/* The library's bounds (include/fusebox.h, section 7). */
#define BUDGET_TTL_MIN_NS NS_PER_S
#define BUDGET_TTL_MAX_NS (3600ull * NS_PER_S)
#define BUDGET_MIN_PER_SEC_MAX 1000000u
#define CACHE_TTL_MAX_NS (720ull * 3600 * NS_PER_S)

void duration_text(char *buf, size_t len, uint64_t ns)
{
	if (ns % (3600ull * NS_PER_S) == 0 && ns != 0)
		snprintf(buf, len, "%lluh", (unsigned long long)(ns / (3600ull * NS_PER_S)));
	else if (ns % (60ull * NS_PER_S) == 0 && ns != 0)
		snprintf(buf, len, "%llum", (unsigned long long)(ns / (60ull * NS_PER_S)));
	else if (ns % NS_PER_S == 0)
		snprintf(buf, len, "%llus", (unsigned long long)(ns / NS_PER_S));
	else
		snprintf(buf, len, "%llums", (unsigned long long)(ns / NS_PER_MS));
}

/* A duration within [min, max], said with the bounds when it is not. */
static int duration_in(const char *what, const char *v, uint64_t min, uint64_t max,
		       const char *bounds, uint64_t *ns)
{
	uint64_t d;
	if (ctl_duration(what, v, &d))
		return CTL_ERR;
	if (d < min || d > max)
		return ctl_fail("%s: '%s' is not from %s", what, v, bounds);
	*ns = d;
	return 0;
}

int budget_setting(fbx_budget_config *c, const char *key, const char *v, const char *where)
{
	char k[40], what[96];
	canonical(key, k);
	setting_name(what, sizeof(what), where, key);
	/* 0% would refuse every retry beyond the floor: say so as an error
	 * rather than build a budget that only looks like one */
	if (strcmp(k, "percent") == 0)
		return ctl_u32(what, v, 1, 100, &c->percent);
	if (strcmp(k, "min_per_sec") == 0)
		return ctl_u32(what, v, 0, BUDGET_MIN_PER_SEC_MAX, &c->min_per_sec);
	if (strcmp(k, "ttl") == 0)
		return duration_in(what, v, BUDGET_TTL_MIN_NS, BUDGET_TTL_MAX_NS, "1s to 1h",
				   &c->ttl_ns);
	return ctl_fail("%s: unknown budget setting '%s'", where, k);
}

int bulkhead_setting(uint32_t *cap, const char *key, const char *v, const char *where)
{
	char k[40], what[96];
	canonical(key, k);
	setting_name(what, sizeof(what), where, key);
	if (strcmp(k, "cap") == 0)
		return ctl_u32(what, v, 1, FBX_BULKHEAD_MAX, cap);
	return ctl_fail("%s: unknown bulkhead setting '%s'", where, k);
}

int cache_setting(struct cache_spec *c, const char *key, const char *v, const char *where)
{
	char k[40], what[96];
	canonical(key, k);
	setting_name(what, sizeof(what), where, key);
	if (strcmp(k, "ttl") == 0)
		return duration_in(what, v, NS_PER_MS, CACHE_TTL_MAX_NS, "1ms to 720h (30 days)",
				   &c->ttl_ns);
	/* 0: a value older than its ttl is gone, no stale copy served */
	if (strcmp(k, "stale") == 0)
		return duration_in(what, v, 0, CACHE_TTL_MAX_NS, "0 to 720h (30 days)",
				   &c->stale_ns);
	return ctl_fail("%s: unknown cache setting '%s'", where, k);
}

int budget_check(const char *name, const fbx_budget_config *c, const char *where)
{
	(void)c; /* every setting was bounded where it was read */
	if (fbx_name_check_record(name) != 0)
		return ctl_fail("%s: bad budget name '%s' (1-63 printable characters, no spaces)",
				where, name);
	return 0;
}

int bulkhead_check(const char *name, uint32_t cap, const char *where)
{
	if (fbx_name_check_record(name) != 0)
		return ctl_fail("%s: bad bulkhead name '%s' (1-63 printable characters, no spaces)",
				where, name);
	if (cap == 0)
		return ctl_fail("%s: bulkhead '%s' needs a cap (calls in flight at once, 1 to %u)",
				where, name, FBX_BULKHEAD_MAX);
	return 0;
}

int cache_check(const char *name, const struct cache_spec *c, const char *where)
{
	if (fbx_name_check_record(name) != 0)
		return ctl_fail("%s: bad cache name '%s' (1-63 printable characters, no spaces)",
				where, name);
	if (c->ttl_ns == 0)
		return ctl_fail("%s: cache '%s' needs a ttl (how long a value is fresh, e.g. 30s)",
				where, name);
	return 0;
}
