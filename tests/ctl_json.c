/* ctl_json.c — see ctl_json.h. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_harness.h"
#include "ctl_json.h"

/* Every value parsed stays reachable from here: the tests hold pointers
 * into them for as long as they run, and LeakSanitizer does not report
 * what is still reachable at exit. */
static json_t **kept;
static size_t nkept, capkept;

json_t *json_strict(const char *text, json_error_t *err)
{
	/* any value at the top, so that a scalar fails on its shape, not on
	 * its being a scalar */
	return json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, err);
}

json_t *json_must(const char *text)
{
	json_error_t err;
	json_t *v = json_strict(text, &err);
	ck_assert_msg(v != NULL, "%s: not JSON (%s at %d:%d): [%s]", R.cmd, err.text, err.line,
		      err.column, text);
	if (nkept == capkept) {
		capkept = capkept ? capkept * 2 : 32;
		kept = realloc(kept, capkept * sizeof(*kept));
		ck_assert_ptr_nonnull(kept);
	}
	kept[nkept++] = v;
	return v;
}

static const char *kind_of(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a real";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

const json_t *jget(const json_t *o, const char *key)
{
	return json_is_object(o) ? json_object_get(o, key) : NULL;
}

/* Member key, which must be there and of kind want ("an object", ...). */
static const json_t *jreq(const json_t *o, const char *key, const char *want)
{
	ck_assert_msg(json_is_object(o), "not an object (looking for '%s')", key);
	const json_t *v = json_object_get(o, key);
	ck_assert_msg(v != NULL, "field '%s' missing", key);
	ck_assert_msg(strcmp(kind_of(v), want) == 0, "field '%s' is %s, expected %s", key, kind_of(v),
		      want);
	return v;
}

const json_t *jobj(const json_t *o, const char *key)
{
	return jreq(o, key, "an object");
}

const json_t *jarr(const json_t *o, const char *key)
{
	return jreq(o, key, "an array");
}

unsigned long long juint(const json_t *o, const char *key)
{
	json_int_t v = json_integer_value(jreq(o, key, "an integer"));
	ck_assert_msg(v >= 0, "field '%s' is negative", key);
	return (unsigned long long)v;
}

const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(jreq(o, key, "a string"));
}

bool jbool(const json_t *o, const char *key)
{
	return json_is_true(jreq(o, key, "a boolean"));
}

const json_t *jfind_named(const json_t *arr, const char *name)
{
	ck_assert_msg(json_is_array(arr), "not an array");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *nm = jget(json_array_get(arr, i), "name");
		if (json_is_string(nm) && strcmp(json_string_value(nm), name) == 0)
			return json_array_get(arr, i);
	}
	ck_abort_msg("no element named '%s'", name);
	return NULL;
}

const json_t *jlast(const json_t *a)
{
	ck_assert_msg(json_array_size(a) > 0, "an empty array");
	return json_array_get(a, json_array_size(a) - 1);
}

const char *const breaker_states[5] = {"closed", "open", "half_open", "forced_open",
				       "forced_closed"};
const char *const manual_actions[4] = {"trip", "hold", "release", "reset"};

static bool one_of(const char *s, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, set[i]) == 0)
			return true;
	return false;
}

/* Each of names is a whole number >= 0 in o. */
static void all_uint(const json_t *o, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		juint(o, names[i]);
}

void check_breaker_schema(const json_t *b)
{
	jstr(b, "name");
	const char *st = jstr(b, "state");
	ck_assert_msg(one_of(st, breaker_states, ARRAY_LEN(breaker_states)), "state '%s'", st);
	static const char *const counts[] = {"successes", "failures", "ignored", "slow",
					     "rejected", "trips", "consecutive_failures",
					     "open_remaining_ms", "half_open_in_flight"};
	all_uint(b, counts, ARRAY_LEN(counts));
	const json_t *fr = jget(b, "failure_rate");
	ck_assert_msg(fr != NULL, "field 'failure_rate' missing");
	ck_assert_msg(json_is_null(fr) || (json_is_number(fr) && json_number_value(fr) >= 0 &&
					   json_number_value(fr) <= 1),
		      "failure_rate is neither null nor a number from 0 to 1");
	/* due: open, with nothing left of the open period */
	if (jbool(b, "trial_due")) {
		ck_assert_str_eq(st, "open");
		ck_assert_uint_eq(juint(b, "open_remaining_ms"), 0);
	}
	juint(b, "state_age_ms");
	const json_t *manual = jobj(b, "manual_actions");
	all_uint(manual, manual_actions, ARRAY_LEN(manual_actions));
	ck_assert_uint_eq(json_object_size(manual), ARRAY_LEN(manual_actions));
	const json_t *op = jget(b, "last_operator_action");
	ck_assert_msg(op != NULL, "field 'last_operator_action' missing");
	ck_assert_msg(json_is_null(op) || json_is_object(op),
		      "last_operator_action is neither null nor an object");
	if (json_is_object(op)) {
		const char *a = jstr(op, "action");
		ck_assert_msg(one_of(a, manual_actions, ARRAY_LEN(manual_actions)), "action '%s'", a);
		ck_assert_uint_gt(juint(manual, a), 0); /* the last one was counted */
		static const char *const who[] = {"uid", "pid", "age_ms"};
		all_uint(op, who, ARRAY_LEN(who));
		jstr(op, "reason");
	}
	static const char *const settings[] = {
		"fail_max", "failure_rate_pct", "slow_rate_pct", "slow_call_ms", "window_calls",
		"window_ms", "min_calls", "reset_timeout_ms", "reset_timeout_max_ms",
		"half_open_max", "success_threshold", "trial_lease_ms"};
	all_uint(jobj(b, "config"), settings, ARRAY_LEN(settings));
}

void check_limiter_schema(const json_t *l)
{
	jstr(l, "name");
	jstr(l, "rule");
	/* what a limiter uses: auto is resolved when it is added */
	static const char *const algos[] = {"window", "gcra", "log"};
	const char *a = jstr(l, "algorithm");
	ck_assert_msg(one_of(a, algos, ARRAY_LEN(algos)), "algorithm '%s'", a);
	ck_assert_str_eq(jstr(l, "accuracy"), fbx_algorithm_accuracy(fbx_algorithm_parse(a)));
	juint(l, "burst");
	jbool(l, "keyed");
	jbool(l, "dry_run");
	static const char *const counts[] = {"allowed", "denied", "keys", "evictions"};
	all_uint(l, counts, ARRAY_LEN(counts));
}

/* What a key costs must add up: a log key is a window key and its ring. */
void check_capacity_schema(const json_t *c)
{
	static const char *const caps[] = {"bytes", "breakers", "limiters", "events", "workers",
					   "checks", "keys", "key_bytes", "log_keys", "log_slots",
					   "log_key_bytes", "log_count_max", "budgets", "bulkheads",
					   "caches", "cache_slots", "cache_value_max"};
	all_uint(c, caps, ARRAY_LEN(caps));
	unsigned long long slots = juint(c, "log_slots");
	ck_assert_uint_gt(juint(c, "key_bytes"), 0);
	if (slots == 0) {
		ck_assert_uint_eq(juint(c, "log_key_bytes"), 0);
		ck_assert_uint_eq(juint(c, "log_count_max"), 0);
	} else {
		ck_assert_uint_eq(juint(c, "log_key_bytes"), juint(c, "key_bytes") + 8 * slots);
		ck_assert_uint_eq(juint(c, "log_count_max"), slots - 1);
	}
}

static const char *const health_words[] = {"ok", "degraded", "unhealthy"};
static const char *const check_words[] = {"pass", "warn", "fail"};

/* A string or null. */
static void jstr_or_null(const json_t *o, const char *key)
{
	const json_t *v = jget(o, key);
	ck_assert_msg(v != NULL, "field '%s' missing", key);
	ck_assert_msg(json_is_null(v) || json_is_string(v), "field '%s' is neither null nor a string",
		      key);
}

void check_health_schema(const json_t *h)
{
	const char *st = jstr(h, "status");
	ck_assert_msg(one_of(st, health_words, ARRAY_LEN(health_words)), "health status '%s'", st);
	bool ready = jbool(h, "ready"), started = jbool(h, "started"), draining = jbool(h, "draining");
	jbool(h, "live");
	/* ready is started, not draining, no critical check failing */
	if (ready)
		ck_assert(started && !draining && strcmp(st, "unhealthy") != 0);
	static const char *const counts[] = {"drain_age_ms", "workers_alive", "masters_alive",
					     "workers_dead", "in_flight", "served"};
	all_uint(h, counts, ARRAY_LEN(counts));
	if (!draining)
		ck_assert_uint_eq(juint(h, "drain_age_ms"), 0);
	jstr_or_null(h, "reason");
}

void check_worker_schema(const json_t *w)
{
	juint(w, "pid");
	if (json_is_true(jget(w, "corrupt")))
		return;
	jstr(w, "role");
	bool alive = jbool(w, "alive");
	const json_t *why = jget(w, "dead_because");
	ck_assert_msg(why != NULL, "field 'dead_because' missing");
	if (alive) {
		ck_assert(json_is_null(why));
	} else {
		static const char *const whys[] = {"process_gone", "heartbeat_stale"};
		ck_assert_msg(json_is_string(why) && one_of(json_string_value(why), whys, 2),
			      "dead_because is not process_gone or heartbeat_stale");
		ck_assert_uint_eq(juint(w, "in_flight"), 0); /* a dead worker's are reclaimed */
	}
	static const char *const counts[] = {"heartbeat_age_ms", "heartbeat_timeout_ms",
					     "registered_age_ms", "in_flight", "served"};
	all_uint(w, counts, ARRAY_LEN(counts));
}

void check_check_schema(const json_t *c)
{
	jstr(c, "name");
	const char *st = jstr(c, "status");
	ck_assert_msg(one_of(st, check_words, ARRAY_LEN(check_words)), "check status '%s'", st);
	if (json_is_true(jget(c, "corrupt"))) {
		ck_assert_str_eq(st, "fail"); /* cannot tell is not pass */
		return;
	}
	const char *set = jstr(c, "set_status");
	ck_assert_msg(one_of(set, check_words, ARRAY_LEN(check_words)), "set_status '%s'", set);
	jbool(c, "critical");
	if (jbool(c, "expired"))
		ck_assert_str_eq(st, "fail");
	static const char *const counts[] = {"ttl_ms", "age_ms", "setter_uid", "setter_pid"};
	all_uint(c, counts, ARRAY_LEN(counts));
	jstr_or_null(c, "breaker");
	if (json_is_string(jget(c, "breaker")))
		ck_assert_uint_eq(juint(c, "ttl_ms"), 0); /* a bound check has no TTL */
	jstr(c, "message");
}

/* The window's figures and the totals add up: what a budget still allows
 * is what it allows in all less what was withdrawn. */
void check_budget_schema(const json_t *b)
{
	jstr(b, "name");
	if (json_is_true(jget(b, "corrupt")))
		return;
	static const char *const counts[] = {"percent", "min_per_sec", "ttl_ms", "deposits",
					     "withdrawals", "balance", "attempts",
					     "retries_allowed", "retries_refused"};
	all_uint(b, counts, ARRAY_LEN(counts));
	unsigned long long pct = juint(b, "percent"), ttl = juint(b, "ttl_ms");
	ck_assert(pct >= 1 && pct <= 100);
	ck_assert(ttl >= 1000 && ttl <= 3600000);
	unsigned long long allowed = juint(b, "deposits") * pct / 100 +
				     juint(b, "min_per_sec") * (ttl / 1000);
	unsigned long long wd = juint(b, "withdrawals");
	ck_assert_uint_eq(juint(b, "balance"), allowed > wd ? allowed - wd : 0);
}

void check_bulkhead_schema(const json_t *h)
{
	jstr(h, "name");
	if (json_is_true(jget(h, "corrupt")))
		return;
	static const char *const counts[] = {"cap", "in_flight", "peak", "refused", "reclaimed"};
	all_uint(h, counts, ARRAY_LEN(counts));
	ck_assert(juint(h, "cap") >= 1 && juint(h, "cap") <= FBX_BULKHEAD_MAX);
	ck_assert_uint_le(juint(h, "in_flight"), juint(h, "cap"));
	ck_assert_uint_le(juint(h, "peak"), juint(h, "cap"));
}

void check_cache_schema(const json_t *c)
{
	jstr(c, "name");
	if (json_is_true(jget(c, "corrupt")))
		return;
	static const char *const counts[] = {"ttl_ms", "stale_ms", "slots", "value_max", "entries",
					     "hits", "stale_hits", "misses", "puts"};
	all_uint(c, counts, ARRAY_LEN(counts));
	ck_assert_uint_ge(juint(c, "ttl_ms"), 1);
	ck_assert_uint_le(juint(c, "entries"), juint(c, "slots"));
	const json_t *r = jget(c, "hit_ratio");
	ck_assert_msg(r != NULL, "field 'hit_ratio' missing");
	unsigned long long gets = juint(c, "hits") + juint(c, "stale_hits") + juint(c, "misses");
	if (gets == 0) {
		ck_assert(json_is_null(r));
	} else {
		ck_assert(json_is_number(r));
		double want = (double)(juint(c, "hits") + juint(c, "stale_hits")) / (double)gets;
		ck_assert_double_eq_tol(json_number_value(r), want, 1e-5);
	}
}

void check_status_schema(const json_t *s, const char *box)
{
	static const struct {
		const char *key;
		void (*check)(const json_t *);
	} res[] = {{"budgets", check_budget_schema},
		   {"bulkheads", check_bulkhead_schema},
		   {"caches", check_cache_schema}};
	for (size_t k = 0; k < ARRAY_LEN(res); k++) {
		const json_t *a = jarr(s, res[k].key);
		for (size_t i = 0; i < json_array_size(a); i++)
			res[k].check(json_array_get(a, i));
	}
	check_health_schema(jobj(s, "health"));
	const json_t *w = jarr(s, "workers"), *c = jarr(s, "checks");
	for (size_t i = 0; i < json_array_size(w); i++)
		check_worker_schema(json_array_get(w, i));
	for (size_t i = 0; i < json_array_size(c); i++)
		check_check_schema(json_array_get(c, i));
	ck_assert_str_eq(jstr(s, "box"), box);
	ck_assert_uint_eq(juint(s, "version"), 1);
	check_capacity_schema(jobj(s, "capacity"));
	const json_t *b = jarr(s, "breakers"), *l = jarr(s, "limiters");
	juint(s, "events_dropped");
	for (size_t i = 0; i < json_array_size(b); i++)
		check_breaker_schema(json_array_get(b, i));
	for (size_t i = 0; i < json_array_size(l); i++)
		check_limiter_schema(json_array_get(l, i));
}

const json_t *status_json(const char *box)
{
	OK(box, "status", "--json");
	const json_t *s = json_must(R.out);
	check_status_schema(s, box);
	return s;
}

/* `KIND show NAME --json`, parsed and named name. */
static const json_t *show_json(const char *box, const char *kind, const char *name)
{
	OK(box, kind, "show", name, "--json");
	const json_t *v = json_must(R.out);
	ck_assert_str_eq(jstr(v, "name"), name);
	return v;
}

const json_t *breaker_json(const char *box, const char *name)
{
	const json_t *b = show_json(box, "breaker", name);
	check_breaker_schema(b);
	return b;
}

const json_t *budget_json(const char *box, const char *name)
{
	const json_t *b = show_json(box, "budget", name);
	ck_assert_uint_eq(juint(b, "version"), 1);
	check_budget_schema(b);
	return b;
}

const json_t *bulkhead_json(const char *box, const char *name)
{
	const json_t *h = show_json(box, "bulkhead", name);
	ck_assert_uint_eq(juint(h, "version"), 1);
	check_bulkhead_schema(h);
	return h;
}

const json_t *cache_json(const char *box, const char *name)
{
	const json_t *c = show_json(box, "cache", name);
	ck_assert_uint_eq(juint(c, "version"), 1);
	check_cache_schema(c);
	return c;
}

const json_t *resilience_listing_json(const char *box, const char *cmd)
{
	OK(box, cmd, "--json");
	const json_t *v = json_must(R.out);
	ck_assert_uint_eq(juint(v, "version"), 1);
	ck_assert_str_eq(jstr(v, "box"), box);
	const json_t *a = jarr(v, cmd);
	for (size_t i = 0; i < json_array_size(a); i++) {
		if (strcmp(cmd, "budgets") == 0)
			check_budget_schema(json_array_get(a, i));
		else if (strcmp(cmd, "bulkheads") == 0)
			check_bulkhead_schema(json_array_get(a, i));
		else
			check_cache_schema(json_array_get(a, i));
	}
	return a;
}

const json_t *limiter_json(const char *box, const char *name)
{
	const json_t *l = show_json(box, "limiter", name);
	check_limiter_schema(l);
	return l;
}

const char *breaker_state(const char *box, const char *name)
{
	return jstr(breaker_json(box, name), "state");
}

unsigned long long breaker_count(const char *box, const char *name, const char *field)
{
	return juint(breaker_json(box, name), field);
}

const json_t *breaker_wait_due(const char *box, const char *name)
{
	for (uint64_t until = spawn_now_ms() + 5000;; tsleep_ms(2)) {
		const json_t *b = breaker_json(box, name);
		if (jbool(b, "trial_due"))
			return b;
		ck_assert_msg(spawn_now_ms() < until, "breaker %s never showed a trial due: %s", name,
			      R.out);
	}
}

const json_t *events_json(const char *box)
{
	OK(box, "events", "--json");
	const json_t *e = json_must(R.out);
	ck_assert_uint_eq(juint(e, "version"), 1);
	const json_t *ev = jarr(e, "events");
	for (size_t i = 0; i < json_array_size(ev); i++) {
		const json_t *x = json_array_get(ev, i);
		juint(x, "seq");
		if (i > 0)
			ck_assert_msg(juint(x, "seq") > juint(json_array_get(ev, i - 1), "seq"),
				      "events not oldest first");
		jstr(x, "kind");
		jstr(x, "cause");
		jstr(x, "record");
		jstr(x, "name");
	}
	return ev;
}

const json_t *health_json(const char *box, const char *probe, int want_exit)
{
	const char *args[] = {"health", "--json", probe, NULL};
	ck_assert_int_eq(run_args(NULL, box, args), want_exit);
	const json_t *h = json_must(R.out);
	ck_assert_uint_eq(juint(h, "version"), 1);
	ck_assert_str_eq(jstr(h, "box"), box);
	static const char *const probes[] = {"aggregate", "live", "ready", "startup"};
	const char *p = jstr(h, "probe");
	ck_assert_msg(one_of(p, probes, ARRAY_LEN(probes)), "probe '%s'", p);
	ck_assert(jbool(h, "pass") == (want_exit == 0));
	jstr(h, "verdict");
	jstr_or_null(h, "reason");
	check_health_schema(jobj(h, "health"));
	return h;
}

/* `workers --json` or `checks --json`, checked. */
static const json_t *listing_json(const char *box, const char *cmd)
{
	OK(box, cmd, "--json");
	const json_t *v = json_must(R.out);
	ck_assert_uint_eq(juint(v, "version"), 1);
	ck_assert_str_eq(jstr(v, "box"), box);
	check_health_schema(jobj(v, "health"));
	const json_t *a = jarr(v, cmd);
	for (size_t i = 0; i < json_array_size(a); i++) {
		if (strcmp(cmd, "workers") == 0)
			check_worker_schema(json_array_get(a, i));
		else
			check_check_schema(json_array_get(a, i));
	}
	return v;
}

const json_t *workers_json(const char *box)
{
	return listing_json(box, "workers");
}

const json_t *checks_json(const char *box)
{
	return listing_json(box, "checks");
}
