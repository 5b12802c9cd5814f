/* ctl_show.c — breakers and limiters as aligned text and as JSON, and
 * `fuseboxctl status` (whose tables of workers, checks, budgets,
 * bulkheads and caches come from ctl_health.c and ctl_resilience.c). */
#include <pwd.h>
#include <string.h>

#include "ctl.h"

const char *noun(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

const fbx_breaker_info *find_breaker(const fbx_snapshot *s, const char *name)
{
	size_t n;
	const fbx_breaker_info *b = fbx_snapshot_breakers(s, &n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(b[i].name, name) == 0)
			return &b[i];
	return NULL;
}

const fbx_limiter_info *find_limiter(const fbx_snapshot *s, const char *name)
{
	size_t n;
	const fbx_limiter_info *l = fbx_snapshot_limiters(s, &n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(l[i].name, name) == 0)
			return &l[i];
	return NULL;
}

static unsigned long long ull(uint64_t v)
{
	return (unsigned long long)v;
}

static unsigned long long ms(uint64_t ns)
{
	return (unsigned long long)((ns + 999999) / 1000000);
}

/* What the box holds and what its keys cost: sizing a box is choosing
 * between a log key's exactness and its 8 bytes per slot. */
void show_capacity_text(FILE *f, const fbx_box_info *bi)
{
	const fbx_box_config *c = &bi->capacity;
	fprintf(f, "  size %.1f MiB, room for %u %s, %u %s, %u %s, %u %s, %u %s\n",
		(double)bi->total_size / (1024.0 * 1024.0), c->breakers,
		noun(c->breakers, "breaker", "breakers"), c->limiters,
		noun(c->limiters, "limiter", "limiters"), c->events, noun(c->events, "event", "events"),
		c->workers, noun(c->workers, "worker", "workers"), c->checks,
		noun(c->checks, "check", "checks"));
	fprintf(f, "  keys %u (%llu B each), ", c->keys, ull(bi->key_bytes));
	if (bi->log_count_max == 0)
		fprintf(f, "no log (log_slots 0)\n");
	else if (c->log_keys == 0)
		fprintf(f, "log of %u slots for global limiters only (no log keys; counts up to %u)\n",
			c->log_slots, bi->log_count_max);
	else
		fprintf(f, "log keys %u x %u slots (%llu B each, counts up to %u)\n", c->log_keys,
			c->log_slots, ull(bi->log_key_bytes), bi->log_count_max);
	fprintf(f, "  %u %s, %u %s, ", c->budgets, noun(c->budgets, "retry budget", "retry budgets"),
		c->bulkheads, noun(c->bulkheads, "bulkhead", "bulkheads"));
	if (c->caches == 0)
		fprintf(f, "no caches\n");
	else
		fprintf(f, "%u %s of %u %s (values up to %u B)\n", c->caches,
			noun(c->caches, "cache", "caches"), c->cache_slots,
			noun(c->cache_slots, "entry", "entries"), c->cache_value_max);
}

void show_capacity_json(FILE *f, const fbx_box_info *bi)
{
	const fbx_box_config *c = &bi->capacity;
	fprintf(f, "{\"bytes\":%llu,\"breakers\":%u,\"limiters\":%u,\"events\":%u,\"workers\":%u,"
		   "\"checks\":%u,\"keys\":%u,\"key_bytes\":%llu,\"log_keys\":%u,\"log_slots\":%u,"
		   "\"log_key_bytes\":%llu,\"log_count_max\":%u,\"budgets\":%u,\"bulkheads\":%u,"
		   "\"caches\":%u,\"cache_slots\":%u,\"cache_value_max\":%u}",
		ull(bi->total_size), c->breakers, c->limiters, c->events, c->workers, c->checks, c->keys,
		ull(bi->key_bytes), c->log_keys, c->log_slots, ull(bi->log_key_bytes),
		bi->log_count_max, c->budgets, c->bulkheads, c->caches, c->cache_slots,
		c->cache_value_max);
}

/* A duration as people say it: "350ms", "12s", "2m13s", "3h05m", "4d02h". */
void age_text(char *buf, size_t len, uint64_t ns)
{
	unsigned long long s = (unsigned long long)(ns / 1000000000u);
	if (s == 0)
		snprintf(buf, len, "%llums", (unsigned long long)(ns / 1000000u));
	else if (s < 60)
		snprintf(buf, len, "%llus", s);
	else if (s < 3600)
		snprintf(buf, len, "%llum%02llus", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lluh%02llum", s / 3600, s / 60 % 60);
	else
		snprintf(buf, len, "%llud%02lluh", s / 86400, s / 3600 % 24);
}

/* "open, trial due" rather than "open": the move to half-open waits for a
 * call, so an idle breaker stays open past its period, and whoever reads
 * the state must be able to tell that from one still counting down. */
const char *breaker_state_text(const fbx_breaker_info *b)
{
	return b->trial_due ? "open, trial due" : fbx_breaker_state_label(b->state);
}

static const char *const manual_names[4] = {"trip", "hold", "release", "reset"};

/* The reason is read from the box, which any writer may have scribbled
 * on: shown on a terminal, a control byte must not act. */
static void printable(char *out, size_t len, const char *in)
{
	size_t i = 0;
	for (; in[i] != '\0' && i + 1 < len; i++)
		out[i] = in[i] >= 0x20 && in[i] < 0x7f ? in[i] : '?';
	out[i] = '\0';
}

/* "uid 1000 (ann) pid 4242": the user's name when the system knows it
 * and it is printable, since an incident review asks for a person. */
static void who_text(char *buf, size_t len, const fbx_breaker_info *b)
{
	const struct passwd *pw = getpwuid((uid_t)b->operator_uid);
	if (pw != NULL && fbx_name_check_record(pw->pw_name) == 0)
		snprintf(buf, len, "uid %u (%s) pid %d", (unsigned)b->operator_uid, pw->pw_name,
			 (int)b->operator_pid);
	else
		snprintf(buf, len, "uid %u pid %d", (unsigned)b->operator_uid, (int)b->operator_pid);
}

/* "reset 2m13s ago by uid 1000 (ann) pid 4242: db back" */
void operator_text(char *buf, size_t len, const fbx_breaker_info *b)
{
	char age[32], why[FBX_REASON_MAX], who[128];
	age_text(age, sizeof(age), b->operator_age_ns);
	printable(why, sizeof(why), b->operator_reason);
	who_text(who, sizeof(who), b);
	snprintf(buf, len, "%s %s ago by %s%s%s", fbx_event_cause_label(b->operator_cause), age, who,
		 why[0] ? ": " : "", why);
}

/* "tripped by uid 1000 (ann) 2m43s ago: INC-1": the record of what put
 * a breaker where it is, for an action that found it there already. */
void operator_record(char *buf, size_t len, const fbx_breaker_info *b)
{
	char age[32], why[FBX_REASON_MAX], who[128];
	age_text(age, sizeof(age), b->operator_age_ns);
	printable(why, sizeof(why), b->operator_reason);
	const struct passwd *pw = getpwuid((uid_t)b->operator_uid);
	if (pw != NULL && fbx_name_check_record(pw->pw_name) == 0)
		snprintf(who, sizeof(who), "uid %u (%s)", (unsigned)b->operator_uid, pw->pw_name);
	else
		snprintf(who, sizeof(who), "uid %u", (unsigned)b->operator_uid);
	snprintf(buf, len, "%s by %s %s ago%s%s", fbx_event_cause_label(b->operator_cause), who,
		 age, why[0] ? ": " : ", no reason given", why);
}

/* Whether the last operator action is what put the breaker in its state:
 * a trip for forced-open, a hold for forced-closed. */
static bool forced_by_operator(const fbx_breaker_info *b)
{
	return (b->state == FBX_FORCED_OPEN && b->operator_cause == FBX_CAUSE_TRIP) ||
	       (b->state == FBX_FORCED_CLOSED && b->operator_cause == FBX_CAUSE_HOLD);
}

/* The failure rate of the current window, or -1 below the minimum calls. */
static double failure_rate(const fbx_breaker_info *b)
{
	if (b->window_calls == 0 || b->window_calls < b->config.min_calls)
		return -1;
	return (double)b->window_failures / (double)b->window_calls;
}

void show_breaker_json(FILE *f, const fbx_breaker_info *b, bool versioned)
{
	const fbx_breaker_config *c = &b->config;
	fputs(versioned ? "{\"version\":1,\"name\":" : "{\"name\":", f);
	json_str(f, b->name);
	if (b->corrupt) {
		fputs(",\"corrupt\":true}", f);
		return;
	}
	fprintf(f, ",\"state\":\"%s\",\"successes\":%llu,\"failures\":%llu,\"ignored\":%llu,"
		   "\"slow\":%llu,\"rejected\":%llu,\"trips\":%llu,\"consecutive_failures\":%llu,",
		fbx_breaker_state_name(b->state), ull(b->successes), ull(b->failures),
		ull(b->ignored), ull(b->slow), ull(b->rejected), ull(b->trips),
		ull(b->consecutive_failures));
	double rate = failure_rate(b);
	if (rate < 0)
		fputs("\"failure_rate\":null,", f);
	else
		fprintf(f, "\"failure_rate\":%.6f,", rate);
	fprintf(f, "\"window_calls\":%llu,\"window_failures\":%llu,\"window_slow\":%llu,"
		   "\"open_remaining_ms\":%llu,\"half_open_in_flight\":%u,\"open_streak\":%u,",
		ull(b->window_calls), ull(b->window_failures), ull(b->window_slow),
		ms(b->open_remaining_ns), b->half_open_in_flight, b->open_streak);
	fprintf(f, "\"trial_due\":%s,\"state_age_ms\":%llu,\"manual_actions\":{",
		b->trial_due ? "true" : "false", ms(b->state_age_ns));
	for (int k = 0; k < 4; k++)
		fprintf(f, "%s\"%s\":%llu", k ? "," : "", manual_names[k], ull(b->manual_actions[k]));
	fputs("},\"last_operator_action\":", f);
	if (b->operator_known) {
		fprintf(f, "{\"action\":\"%s\",\"uid\":%u,\"pid\":%d,\"age_ms\":%llu,\"reason\":",
			fbx_event_cause_name(b->operator_cause), (unsigned)b->operator_uid,
			(int)b->operator_pid, ms(b->operator_age_ns));
		json_str(f, b->operator_reason);
		fputs("},", f);
	} else {
		fputs("null,", f);
	}
	fprintf(f, "\"config\":{\"fail_max\":%u,\"failure_rate_pct\":%u,\"slow_rate_pct\":%u,"
		   "\"slow_call_ms\":%llu,\"window_calls\":%u,\"window_ms\":%llu,\"min_calls\":%u,"
		   "\"reset_timeout_ms\":%llu,\"reset_timeout_max_ms\":%llu,\"half_open_max\":%u,"
		   "\"success_threshold\":%u,\"trial_lease_ms\":%llu}}",
		c->fail_max, c->failure_rate_pct, c->slow_rate_pct, ms(c->slow_call_ns),
		c->window_calls, ms(c->window_ns), c->min_calls, ms(c->reset_timeout_ns),
		ms(c->reset_timeout_max_ns), c->half_open_max, c->success_threshold,
		ms(c->trial_lease_ns));
}

void show_limiter_json(FILE *f, const fbx_limiter_info *l, bool versioned, uint32_t top)
{
	fputs(versioned ? "{\"version\":1,\"name\":" : "{\"name\":", f);
	json_str(f, l->name);
	if (l->corrupt) {
		fputs(",\"corrupt\":true}", f);
		return;
	}
	fputs(",\"rule\":", f);
	json_str(f, l->rule);
	fprintf(f, ",\"algorithm\":\"%s\",\"accuracy\":", fbx_algorithm_name(l->algorithm));
	json_str(f, fbx_algorithm_accuracy(l->algorithm));
	fprintf(f, ",\"burst\":%u,\"keyed\":%s,\"dry_run\":%s,"
		   "\"allowed\":%llu,\"denied\":%llu,\"dry_run_denied\":%llu,\"keys\":%llu,"
		   "\"evictions\":%llu",
		l->burst, l->keyed ? "true" : "false",
		l->dry_run ? "true" : "false", ull(l->allowed), ull(l->denied),
		ull(l->dry_run_denied), ull(l->keys), ull(l->evictions));
	if (top > 0) {
		fputs(",\"top\":[", f);
		for (uint32_t i = 0; i < top && i < l->ntop; i++) {
			fputs(i ? ",{\"key\":" : "{\"key\":", f);
			json_str(f, l->top[i].key);
			fprintf(f, ",\"denials\":%llu}", ull(l->top[i].denials));
		}
		fputc(']', f);
	}
	fputc('}', f);
}

void show_breaker_text(FILE *f, const fbx_breaker_info *b)
{
	if (b->corrupt) {
		fprintf(f, "breaker %s: record damaged (not shown)\n", b->name);
		return;
	}
	const fbx_breaker_config *c = &b->config;
	double rate = failure_rate(b);
	char age[32], op[256];
	age_text(age, sizeof(age), b->state_age_ns);
	fprintf(f, "breaker %s\n", b->name);
	if (b->trial_due)
		fprintf(f, "  state                open, trial due (open for %s; the next call is the "
			   "trial)\n", age);
	else
		fprintf(f, "  state                %s for %s\n", fbx_breaker_state_label(b->state), age);
	/* forced: who did it, when and why, where the state is read, so that
	 * whoever finds it forced need not search the event log (which may
	 * have dropped it) before asking the right person */
	bool forced = b->state == FBX_FORCED_OPEN || b->state == FBX_FORCED_CLOSED;
	if (forced && b->operator_known && forced_by_operator(b)) {
		char who[128], when[32], why[FBX_REASON_MAX];
		who_text(who, sizeof(who), b);
		age_text(when, sizeof(when), b->operator_age_ns);
		printable(why, sizeof(why), b->operator_reason);
		fprintf(f, "  %-20s %s, %s ago: %s\n",
			b->state == FBX_FORCED_OPEN ? "tripped by" : "held closed by", who, when,
			why[0] ? why : "(no reason given)");
	} else if (forced) {
		fprintf(f, "  %-20s unknown (see: fuseboxctl events --name %s)\n",
			b->state == FBX_FORCED_OPEN ? "tripped by" : "held closed by", b->name);
	}
	if (b->state == FBX_OPEN && !b->trial_due)
		fprintf(f, "  trial allowed in     %.3f s\n", (double)b->open_remaining_ns / 1e9);
	if (b->state == FBX_HALF_OPEN)
		fprintf(f, "  trials in flight     %u of %u\n", b->half_open_in_flight, c->half_open_max);
	fprintf(f, "  calls                %llu ok, %llu failed, %llu ignored, %llu slow\n",
		ull(b->successes), ull(b->failures), ull(b->ignored), ull(b->slow));
	fprintf(f, "  rejected             %llu\n  trips                %llu\n", ull(b->rejected),
		ull(b->trips));
	/* fail_max 0 turns the count off: "0 of 0" read as a breaker about to trip */
	if (c->fail_max == 0)
		fprintf(f, "  consecutive failures off\n");
	else
		fprintf(f, "  consecutive failures %llu of %u\n", ull(b->consecutive_failures),
			c->fail_max);
	fprintf(f, "  operator actions     %llu %s, %llu %s, %llu %s, %llu %s\n",
		ull(b->manual_actions[0]), noun(b->manual_actions[0], "trip", "trips"),
		ull(b->manual_actions[1]), noun(b->manual_actions[1], "hold", "holds"),
		ull(b->manual_actions[2]), noun(b->manual_actions[2], "release", "releases"),
		ull(b->manual_actions[3]), noun(b->manual_actions[3], "reset", "resets"));
	/* unless the line under the state said it already */
	if (b->operator_known && !(forced && forced_by_operator(b))) {
		operator_text(op, sizeof(op), b);
		fprintf(f, "  last operator action %s\n", op);
	}
	/* the thresholds beside the window's figures: "12 failed" means
	 * little without the rate that trips and the calls it needs first */
	char over[64];
	if (c->window_calls)
		snprintf(over, sizeof(over), "the last %u %s", c->window_calls,
			 noun(c->window_calls, "call", "calls"));
	else
		snprintf(over, sizeof(over), "the calls of the last %.3f s",
			 (double)c->window_ns / 1e9);
	if (c->failure_rate_pct)
		fprintf(f, "  failure rate         %u%% of %s, at least %u %s\n", c->failure_rate_pct,
			over, c->min_calls, noun(c->min_calls, "call", "calls"));
	else
		fprintf(f, "  failure rate         off\n");
	if (c->slow_rate_pct)
		fprintf(f, "  slow-call rate       %u%% of %s, at least %u %s; slow: %.3f s or more\n",
			c->slow_rate_pct, over, c->min_calls, noun(c->min_calls, "call", "calls"),
			(double)c->slow_call_ns / 1e9);
	else
		fprintf(f, "  slow-call rate       off\n");
	if (c->failure_rate_pct || c->slow_rate_pct) {
		fprintf(f, "  window               %llu %s, %llu failed, %llu slow", ull(b->window_calls),
			noun(b->window_calls, "call", "calls"), ull(b->window_failures),
			ull(b->window_slow));
		if (rate >= 0)
			fprintf(f, " (failure rate %.1f%%)", rate * 100);
		fputc('\n', f);
	}
	fprintf(f, "  open period          %.3f s", (double)c->reset_timeout_ns / 1e9);
	if (c->reset_timeout_max_ns > c->reset_timeout_ns)
		fprintf(f, ", doubling to %.3f s", (double)c->reset_timeout_max_ns / 1e9);
	fprintf(f, "\n  half-open            %u %s, %u %s to close, lease %.3f s\n", c->half_open_max,
		noun(c->half_open_max, "trial", "trials"), c->success_threshold,
		noun(c->success_threshold, "success", "successes"), (double)c->trial_lease_ns / 1e9);
}

void gcra_worst(const fbx_limiter_info *l, char *buf, size_t len)
{
	fbx_rule worst = l->parsed;
	for (uint32_t i = 0; i < worst.n && i < FBX_RULE_LIMITS_MAX; i++)
		worst.limit[i].count += l->burst > 0 ? l->burst - 1 : 0;
	/* a sum beyond what a rule can spell: say it as the formula */
	if (fbx_rule_format(&worst, buf, len) != 0)
		snprintf(buf, len, "count + %u in any period", l->burst > 0 ? l->burst - 1 : 0);
}

void show_limiter_text(FILE *f, const fbx_limiter_info *l, uint32_t top)
{
	if (l->corrupt) {
		fprintf(f, "limiter %s: record damaged (not shown)\n", l->name);
		return;
	}
	fprintf(f, "limiter %s\n  rule       %s (%s", l->name, l->rule, fbx_algorithm_name(l->algorithm));
	if (l->algorithm == FBX_ALGO_GCRA)
		fprintf(f, ", burst %u", l->burst);
	fprintf(f, "%s%s)\n", l->keyed ? ", keyed" : "", l->dry_run ? ", DRY-RUN" : "");
	fprintf(f, "  accuracy   %s\n", fbx_algorithm_accuracy(l->algorithm));
	if (l->algorithm == FBX_ALGO_GCRA) {
		char worst[FBX_RULE_TEXT_MAX];
		gcra_worst(l, worst, sizeof(worst));
		fprintf(f, "  burst      %u of tolerance on the sustained %s: at most %s\n", l->burst,
			l->rule, worst);
	}
	fprintf(f, "  decisions  %llu allowed, %llu denied, %llu dry-run denied\n", ull(l->allowed),
		ull(l->denied), ull(l->dry_run_denied));
	if (l->keyed)
		fprintf(f, "  keys       %llu held, %llu evicted\n", ull(l->keys), ull(l->evictions));
	if (top > 0 && l->keyed) {
		fprintf(f, "  most denied keys (estimates, never low):\n");
		if (l->ntop == 0)
			fprintf(f, "    (none denied yet)\n");
		for (uint32_t i = 0; i < top && i < l->ntop; i++)
			fprintf(f, "    %-48s %10llu\n", l->top[i].key, ull(l->top[i].denials));
	}
}

int cmd_status(struct ctl *c)
{
	bool json = false;
	for (int i = 0; i < c->argc; i++) {
		if (strcmp(c->argv[i], "--json") == 0)
			json = true;
		else
			return ctl_fail("status: unknown argument '%s'", c->argv[i]);
	}
	fbx_box *box;
	fbx_snapshot *s;
	if (ctl_snapshot(c, &box, &s))
		return CTL_ERR;
	size_t nb, nl, ne;
	uint64_t dropped;
	const fbx_breaker_info *b = fbx_snapshot_breakers(s, &nb);
	const fbx_limiter_info *l = fbx_snapshot_limiters(s, &nl);
	fbx_snapshot_events(s, &ne, &dropped);
	size_t nw, nc, ng, nh, nk;
	const fbx_worker_info *w = fbx_snapshot_workers(s, &nw);
	const fbx_check_info *k = fbx_snapshot_checks(s, &nc);
	const fbx_budget_info *g = fbx_snapshot_budgets(s, &ng);
	const fbx_bulkhead_info *h = fbx_snapshot_bulkheads(s, &nh);
	const fbx_cache_info *ca = fbx_snapshot_caches(s, &nk);
	fbx_box_info bi;
	if (fbx_box_info_get(box, &bi) != 0) {
		ctl_snapshot_close(box, s);
		return ctl_fail("box '%s': cannot read its capacities", c->box);
	}
	if (json) {
		fputs("{\"box\":", stdout);
		json_str(stdout, c->box);
		fputs(",\"version\":1,\"capacity\":", stdout);
		show_capacity_json(stdout, &bi);
		fputs(",\"breakers\":[", stdout);
		for (size_t i = 0; i < nb; i++) {
			if (i)
				fputc(',', stdout);
			show_breaker_json(stdout, &b[i], false);
		}
		fputs("],\"limiters\":[", stdout);
		for (size_t i = 0; i < nl; i++) {
			if (i)
				fputc(',', stdout);
			show_limiter_json(stdout, &l[i], false, 0);
		}
		fputs("],\"health\":", stdout);
		show_health_json(stdout, fbx_snapshot_health(s));
		fputs(",\"workers\":[", stdout);
		for (size_t i = 0; i < nw; i++) {
			if (i)
				fputc(',', stdout);
			show_worker_json(stdout, &w[i]);
		}
		fputs("],\"checks\":[", stdout);
		for (size_t i = 0; i < nc; i++) {
			if (i)
				fputc(',', stdout);
			show_check_json(stdout, &k[i]);
		}
		fputs("],\"budgets\":[", stdout);
		for (size_t i = 0; i < ng; i++) {
			if (i)
				fputc(',', stdout);
			show_budget_json(stdout, &g[i], false);
		}
		fputs("],\"bulkheads\":[", stdout);
		for (size_t i = 0; i < nh; i++) {
			if (i)
				fputc(',', stdout);
			show_bulkhead_json(stdout, &h[i], false);
		}
		fputs("],\"caches\":[", stdout);
		for (size_t i = 0; i < nk; i++) {
			if (i)
				fputc(',', stdout);
			show_cache_json(stdout, &ca[i], false);
		}
		printf("],\"events_dropped\":%llu}\n", ull(dropped));
	} else {
		printf("box %s: %zu %s, %zu %s, %zu %s (%llu dropped)\n", c->box, nb,
		       noun(nb, "breaker", "breakers"), nl, noun(nl, "limiter", "limiters"), ne,
		       noun(ne, "event", "events"), ull(dropped));
		show_capacity_text(stdout, &bi);
		show_health_text(stdout, s);
		fputc('\n', stdout);
		printf("%-24s %-15s %6s %10s %8s %8s %8s %6s %6s %6s %9s\n", "BREAKER", "STATE",
		       "SINCE", "OK", "FAILED", "SLOW", "REJECTED", "TRIPS", "MANUAL", "CONSEC",
		       "OPEN_LEFT");
		size_t operated = 0;
		for (size_t i = 0; i < nb; i++) {
			if (b[i].corrupt) {
				printf("%-24s %s\n", b[i].name, "(damaged record)");
				continue;
			}
			char age[32];
			age_text(age, sizeof(age), b[i].state_age_ns);
			uint64_t manual = 0;
			for (int k = 0; k < 4; k++)
				manual += b[i].manual_actions[k];
			operated += b[i].operator_known != 0;
			/* time left only where there is some to wait: a closed
			 * breaker's "0.0s" read as one about to open */
			char left[32] = "-";
			if (b[i].state == FBX_OPEN && !b[i].trial_due)
				snprintf(left, sizeof(left), "%.1fs", (double)b[i].open_remaining_ns / 1e9);
			printf("%-24s %-15s %6s %10llu %8llu %8llu %8llu %6llu %6llu %6llu %9s\n",
			       b[i].name, breaker_state_text(&b[i]), age, ull(b[i].successes),
			       ull(b[i].failures), ull(b[i].slow), ull(b[i].rejected), ull(b[i].trips),
			       ull(manual), ull(b[i].consecutive_failures), left);
		}
		/* who acted last, for the breakers an operator has touched: what
		 * an incident review asks first */
		if (operated > 0)
			printf("\n%-24s %s\n", "BREAKER", "LAST OPERATOR ACTION");
		for (size_t i = 0; i < nb && operated > 0; i++) {
			char op[192];
			if (b[i].corrupt || !b[i].operator_known)
				continue;
			operator_text(op, sizeof(op), &b[i]);
			printf("%-24s %s\n", b[i].name, op);
		}
		printf("\n%-24s %-24s %-6s %-5s %-3s %10s %8s %8s %8s\n", "LIMITER", "RULE", "ALGO",
		       "KEYED", "DRY", "ALLOWED", "DENIED", "KEYS", "EVICTED");
		for (size_t i = 0; i < nl; i++) {
			if (l[i].corrupt) {
				printf("%-24s %s\n", l[i].name, "(damaged record)");
				continue;
			}
			printf("%-24s %-24s %-6s %-5s %-3s %10llu %8llu %8llu %8llu\n", l[i].name,
			       l[i].rule, fbx_algorithm_name(l[i].algorithm), l[i].keyed ? "yes" : "no",
			       l[i].dry_run ? "on" : "off", ull(l[i].allowed), ull(l[i].denied),
			       ull(l[i].keys), ull(l[i].evictions));
		}
		/* only for a box whose processes use them: a box of breakers and
		 * limiters alone reads as before */
		if (nw > 0) {
			fputc('\n', stdout);
			show_workers_text(stdout, w, nw);
		}
		if (nc > 0) {
			fputc('\n', stdout);
			show_checks_text(stdout, k, nc);
		}
		if (ng > 0) {
			fputc('\n', stdout);
			show_budgets_text(stdout, g, ng);
		}
		if (nh > 0) {
			fputc('\n', stdout);
			show_bulkheads_text(stdout, h, nh);
		}
		if (nk > 0) {
			fputc('\n', stdout);
			show_caches_text(stdout, ca, nk);
		}
	}
	ctl_snapshot_close(box, s);
	return CTL_YES;
}
