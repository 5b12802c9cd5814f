/*
 * ctl_metrics.c — `fuseboxctl metrics [--out FILE]`: the Prometheus text
 * exposition format, with resilience4j's vocabulary (and micrometer's for
 * caches).  Limiter keys never
 * become labels (they are unbounded and may be secrets).  --out writes a
 * temporary file and renames it, as node_exporter's textfile collector needs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"

/* Label values escape backslash, quote and newline. */
static void label(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void head(FILE *f, const char *metric, const char *box, const char *name)
{
	fprintf(f, "%s{box=", metric);
	label(f, box);
	fputs(",name=", f);
	label(f, name);
}

/* Beside the automatic trips, so that a dashboard shows both. */
static void manual_actions(FILE *f, const char *box, const fbx_breaker_info *b, size_t nb)
{
	static const char *const action[4] = {"trip", "hold", "release", "reset"};
	family(f, "fusebox_breaker_manual_actions_total", "counter",
	       "Operator actions on the breaker, by action (trip: forced-open, hold: "
	       "forced-closed, release, reset).");
	for (size_t i = 0; i < nb; i++) {
		if (b[i].corrupt)
			continue;
		for (int k = 0; k < 4; k++) {
			head(f, "fusebox_breaker_manual_actions_total", box, b[i].name);
			fprintf(f, ",action=\"%s\"} %llu\n", action[k],
				(unsigned long long)b[i].manual_actions[k]);
		}
	}
}

/* One sample of a box-wide family: the box is its only label. */
static void box_gauge(FILE *f, const char *box, const char *metric, const char *type,
		      const char *help, const char *fmt, double v)
{
	family(f, metric, type, help);
	fprintf(f, "%s{box=", metric);
	label(f, box);
	fputs("} ", f);
	fprintf(f, fmt, v);
	fputc('\n', f);
}

/* The workers, the checks and what they add up to.  A worker's pid never
 * becomes a label: pids come and go with every respawn. */
static void health_metrics(FILE *f, const char *box, const fbx_snapshot *s)
{
	const fbx_health *h = fbx_snapshot_health(s);
	size_t nw, nc;
	const fbx_worker_info *w = fbx_snapshot_workers(s, &nw);
	const fbx_check_info *c = fbx_snapshot_checks(s, &nc);
	family(f, "fusebox_health_status", "gauge",
	       "1 for the box's aggregate health (ok, degraded, unhealthy), 0 for the others.");
	for (int st = FBX_HEALTH_OK; st <= FBX_HEALTH_UNHEALTHY; st++) {
		fputs("fusebox_health_status{box=", f);
		label(f, box);
		fprintf(f, ",status=\"%s\"} %d\n", fbx_health_status_name(st), (int)h->status == st);
	}
	box_gauge(f, box, "fusebox_live", "gauge",
		  "1 when the master (if one registered) and at least one worker are alive.", "%.0f",
		  h->live ? 1 : 0);
	box_gauge(f, box, "fusebox_ready", "gauge",
		  "1 when started, not draining and no critical check is failing.", "%.0f",
		  h->ready ? 1 : 0);
	box_gauge(f, box, "fusebox_started", "gauge",
		  "1 once the master has said its initialisation is finished.", "%.0f",
		  h->started ? 1 : 0);
	box_gauge(f, box, "fusebox_draining", "gauge", "1 while the box drains.", "%.0f",
		  h->draining ? 1 : 0);
	box_gauge(f, box, "fusebox_draining_since_seconds", "gauge",
		  "Seconds since the drain began (0 when not draining).", "%.3f",
		  h->draining ? (double)h->drain_age_ns / 1e9 : 0);
	box_gauge(f, box, "fusebox_masters_alive", "gauge",
		  "Processes registered with the role master that are alive.", "%.0f",
		  (double)h->masters_alive);
	box_gauge(f, box, "fusebox_workers_alive", "gauge",
		  "Registered processes other than the master that are alive (process there, "
		  "heartbeat fresh).", "%.0f", (double)h->workers_alive);
	box_gauge(f, box, "fusebox_workers_dead", "gauge",
		  "Registered processes that are gone or whose heartbeat is stale, until their "
		  "slots are taken.", "%.0f", (double)h->workers_dead);
	box_gauge(f, box, "fusebox_in_flight", "gauge",
		  "Requests begun and not yet ended, over the live workers.", "%.0f",
		  (double)h->in_flight);
	/* Over every registered slot, dead ones included: a slot keeps its
	 * count when its worker dies and the next one carries on from it, so
	 * the sum does not fall when a worker is replaced. */
	uint64_t served = 0;
	for (size_t i = 0; i < nw; i++)
		if (!w[i].corrupt)
			served += w[i].served;
	box_gauge(f, box, "fusebox_requests_served_total", "counter",
		  "Requests ended, over the registered worker slots.", "%.0f", (double)served);
	family(f, "fusebox_check_status", "gauge",
	       "1 for the check's status as it counts now (an expired check fails), 0 for the "
	       "others.");
	for (size_t i = 0; i < nc; i++) {
		if (c[i].corrupt)
			continue;
		for (int st = FBX_CHECK_PASS; st <= FBX_CHECK_FAIL; st++) {
			head(f, "fusebox_check_status", box, c[i].name);
			fprintf(f, ",status=\"%s\"} %d\n", fbx_check_status_name(st),
				(int)c[i].status == st);
		}
	}
	const struct {
		const char *metric, *help;
	} per_check[] = {
		{"fusebox_check_critical", "1 when the check failing makes the box unhealthy."},
		{"fusebox_check_expired", "1 when the check was not set again within its TTL."},
		{"fusebox_check_age_seconds", "Seconds since the check was last set (checks that "
					      "follow a breaker have none)."},
	};
	for (size_t m = 0; m < sizeof(per_check) / sizeof(per_check[0]); m++) {
		family(f, per_check[m].metric, "gauge", per_check[m].help);
		for (size_t i = 0; i < nc; i++) {
			if (c[i].corrupt || (m == 2 && c[i].ttl_ns == 0))
				continue;
			head(f, per_check[m].metric, box, c[i].name);
			if (m == 2)
				fprintf(f, "} %.3f\n", (double)c[i].age_ns / 1e9);
			else
				fprintf(f, "} %d\n", m == 0 ? c[i].critical != 0 : c[i].expired != 0);
		}
	}
}

/* One family of one value per record: NAME{box,name} V. */
struct per_record {
	const char *metric, *type, *help;
};

/* Retry budgets, bulkheads and caches.  The window's figures are gauges
 * (they fall as the window moves); what has happened since a record was
 * made is a counter.  A cache key never becomes a label, as a limiter
 * key never does. */
static void resilience_metrics(FILE *f, const char *box, const fbx_snapshot *s)
{
	size_t ng, nh, nk;
	const fbx_budget_info *g = fbx_snapshot_budgets(s, &ng);
	const fbx_bulkhead_info *h = fbx_snapshot_bulkheads(s, &nh);
	const fbx_cache_info *k = fbx_snapshot_caches(s, &nk);
	static const struct per_record budget[] = {
		{"fusebox_retry_budget_deposits", "gauge",
		 "First attempts counted in the budget's window (the last ttl)."},
		{"fusebox_retry_budget_withdrawals", "gauge",
		 "Retries allowed in the budget's window (the last ttl)."},
		{"fusebox_retry_budget_balance", "gauge",
		 "Retries the budget would still allow now."},
		{"fusebox_retry_budget_attempts_total", "counter",
		 "First attempts counted since the budget was made."},
	};
	for (size_t m = 0; m < sizeof(budget) / sizeof(budget[0]); m++) {
		family(f, budget[m].metric, budget[m].type, budget[m].help);
		for (size_t i = 0; i < ng; i++) {
			if (g[i].corrupt)
				continue;
			const uint64_t v[] = {g[i].deposits, g[i].withdrawals, g[i].balance,
					      g[i].attempts};
			head(f, budget[m].metric, box, g[i].name);
			fprintf(f, "} %llu\n", (unsigned long long)v[m]);
		}
	}
	family(f, "fusebox_retry_budget_retries_total", "counter",
	       "Retries the budget was asked for since it was made, by result.");
	for (size_t i = 0; i < ng; i++) {
		if (g[i].corrupt)
			continue;
		head(f, "fusebox_retry_budget_retries_total", box, g[i].name);
		fprintf(f, ",result=\"allowed\"} %llu\n", (unsigned long long)g[i].retries_allowed);
		head(f, "fusebox_retry_budget_retries_total", box, g[i].name);
		fprintf(f, ",result=\"refused\"} %llu\n", (unsigned long long)g[i].retries_refused);
	}
	static const struct per_record bulkhead[] = {
		{"fusebox_bulkhead_cap", "gauge", "Calls the bulkhead lets be in flight at once."},
		{"fusebox_bulkhead_in_flight", "gauge",
		 "Places held now (a dead holder's too, until an acquire takes it back)."},
		{"fusebox_bulkhead_peak", "gauge", "The most places held at once since it was made."},
		{"fusebox_bulkhead_refused_total", "counter",
		 "Calls refused because every place was held."},
		{"fusebox_bulkhead_reclaimed_total", "counter",
		 "Places taken back from processes that died holding them."},
	};
	for (size_t m = 0; m < sizeof(bulkhead) / sizeof(bulkhead[0]); m++) {
		family(f, bulkhead[m].metric, bulkhead[m].type, bulkhead[m].help);
		for (size_t i = 0; i < nh; i++) {
			if (h[i].corrupt)
				continue;
			const uint64_t v[] = {h[i].cap, h[i].in_flight, h[i].peak, h[i].refused,
					      h[i].reclaimed};
			head(f, bulkhead[m].metric, box, h[i].name);
			fprintf(f, "} %llu\n", (unsigned long long)v[m]);
		}
	}
	family(f, "fusebox_cache_entries", "gauge",
	       "Entries holding a value still fresh or servable stale.");
	for (size_t i = 0; i < nk; i++) {
		if (k[i].corrupt)
			continue;
		head(f, "fusebox_cache_entries", box, k[i].name);
		fprintf(f, "} %llu\n", (unsigned long long)k[i].entries);
	}
	/* micrometer's cache_gets_total{result}, with stale answers apart:
	 * they mean the upstream is failing */
	family(f, "fusebox_cache_gets_total", "counter",
	       "Gets, by result (hit: fresh, stale_hit: served past its ttl, miss).");
	for (size_t i = 0; i < nk; i++) {
		if (k[i].corrupt)
			continue;
		const struct {
			const char *result;
			uint64_t v;
		} r[] = {{"hit", k[i].hits}, {"stale_hit", k[i].stale_hits}, {"miss", k[i].misses}};
		for (size_t j = 0; j < 3; j++) {
			head(f, "fusebox_cache_gets_total", box, k[i].name);
			fprintf(f, ",result=\"%s\"} %llu\n", r[j].result, (unsigned long long)r[j].v);
		}
	}
	family(f, "fusebox_cache_puts_total", "counter", "Values put in the cache.");
	for (size_t i = 0; i < nk; i++) {
		if (k[i].corrupt)
			continue;
		head(f, "fusebox_cache_puts_total", box, k[i].name);
		fprintf(f, "} %llu\n", (unsigned long long)k[i].puts);
	}
}

static void write_metrics(FILE *f, const char *box, const fbx_snapshot *s)
{
	size_t nb, nl, ne;
	uint64_t dropped;
	const fbx_breaker_info *b = fbx_snapshot_breakers(s, &nb);
	const fbx_limiter_info *l = fbx_snapshot_limiters(s, &nl);
	fbx_snapshot_events(s, &ne, &dropped);

	family(f, "fusebox_breaker_state", "gauge",
	       "1 for the breaker's current state, 0 for the others.");
	for (size_t i = 0; i < nb; i++) {
		if (b[i].corrupt)
			continue;
		for (int st = 0; st < FBX_BREAKER_STATE_COUNT; st++) {
			head(f, "fusebox_breaker_state", box, b[i].name);
			fprintf(f, ",state=\"%s\"} %d\n", fbx_breaker_state_name(st), (int)b[i].state == st);
		}
	}
	family(f, "fusebox_breaker_state_since_seconds", "gauge",
	       "Seconds the breaker has been in its current state.");
	for (size_t i = 0; i < nb; i++) {
		if (b[i].corrupt)
			continue;
		head(f, "fusebox_breaker_state_since_seconds", box, b[i].name);
		fprintf(f, "} %.3f\n", (double)b[i].state_age_ns / 1e9);
	}
	/* An idle open breaker moves to half-open only at its next call: an
	 * alert on state="open" alone cannot tell "still cooling down" from
	 * "nothing has tried since". */
	family(f, "fusebox_breaker_trial_due", "gauge",
	       "1 when the breaker is open, its open period is over and no call has come to "
	       "be the trial.");
	for (size_t i = 0; i < nb; i++) {
		if (b[i].corrupt)
			continue;
		head(f, "fusebox_breaker_trial_due", box, b[i].name);
		fprintf(f, "} %d\n", b[i].trial_due ? 1 : 0);
	}
	family(f, "fusebox_breaker_calls_total", "counter",
	       "Calls that ran through the breaker, by outcome.");
	for (size_t i = 0; i < nb; i++) {
		if (b[i].corrupt)
			continue;
		const struct {
			const char *kind;
			uint64_t v;
		} k[] = {{"successful", b[i].successes}, {"failed", b[i].failures},
			 {"ignored", b[i].ignored}, {"slow", b[i].slow}};
		for (size_t j = 0; j < 4; j++) {
			head(f, "fusebox_breaker_calls_total", box, b[i].name);
			fprintf(f, ",kind=\"%s\"} %llu\n", k[j].kind, (unsigned long long)k[j].v);
		}
	}
	const struct {
		const char *metric, *type, *help;
		size_t off;
	} per_breaker[] = {
		{"fusebox_breaker_not_permitted_calls_total", "counter",
		 "Calls the breaker rejected.", offsetof(fbx_breaker_info, rejected)},
		{"fusebox_breaker_trips_total", "counter",
		 "Times the breaker tripped open by itself (an operator's trips are in "
		 "fusebox_breaker_manual_actions_total).",
		 offsetof(fbx_breaker_info, trips)},
		{"fusebox_breaker_consecutive_failures", "gauge",
		 "Failures in a row in the closed state.", offsetof(fbx_breaker_info, consecutive_failures)},
		{"fusebox_breaker_window_calls", "gauge", "Calls in the current window.",
		 offsetof(fbx_breaker_info, window_calls)},
		{"fusebox_breaker_window_failed_calls", "gauge", "Failed calls in the current window.",
		 offsetof(fbx_breaker_info, window_failures)},
	};
	for (size_t m = 0; m < sizeof(per_breaker) / sizeof(per_breaker[0]); m++) {
		family(f, per_breaker[m].metric, per_breaker[m].type, per_breaker[m].help);
		for (size_t i = 0; i < nb; i++) {
			if (b[i].corrupt)
				continue;
			uint64_t v;
			memcpy(&v, (const char *)&b[i] + per_breaker[m].off, sizeof(v));
			head(f, per_breaker[m].metric, box, b[i].name);
			fprintf(f, "} %llu\n", (unsigned long long)v);
		}
		if (per_breaker[m].off == offsetof(fbx_breaker_info, trips))
			manual_actions(f, box, b, nb);
	}
	family(f, "fusebox_limiter_decisions_total", "counter",
	       "Limiter decisions, by result (dry_run_denied: dry-run mode let it through).");
	for (size_t i = 0; i < nl; i++) {
		if (l[i].corrupt)
			continue;
		const struct {
			const char *result;
			uint64_t v;
		} r[] = {{"allowed", l[i].allowed}, {"denied", l[i].denied},
			 {"dry_run_denied", l[i].dry_run_denied}};
		for (size_t j = 0; j < 3; j++) {
			head(f, "fusebox_limiter_decisions_total", box, l[i].name);
			fprintf(f, ",result=\"%s\"} %llu\n", r[j].result, (unsigned long long)r[j].v);
		}
	}
	family(f, "fusebox_limiter_keys", "gauge", "Keys the limiter holds in the shared table.");
	for (size_t i = 0; i < nl; i++) {
		if (l[i].corrupt)
			continue;
		head(f, "fusebox_limiter_keys", box, l[i].name);
		fprintf(f, "} %llu\n", (unsigned long long)l[i].keys);
	}
	family(f, "fusebox_limiter_evictions_total", "counter",
	       "Live keys pushed out of a full table.");
	for (size_t i = 0; i < nl; i++) {
		if (l[i].corrupt)
			continue;
		head(f, "fusebox_limiter_evictions_total", box, l[i].name);
		fprintf(f, "} %llu\n", (unsigned long long)l[i].evictions);
	}
	family(f, "fusebox_limiter_dry_run", "gauge", "1 when the limiter denies nothing.");
	for (size_t i = 0; i < nl; i++) {
		if (l[i].corrupt)
			continue;
		head(f, "fusebox_limiter_dry_run", box, l[i].name);
		fprintf(f, "} %d\n", l[i].dry_run);
	}
	family(f, "fusebox_events_dropped_total", "counter",
	       "Events overwritten in the ring before anyone read them.");
	fputs("fusebox_events_dropped_total{box=", f);
	label(f, box);
	fprintf(f, "} %llu\n", (unsigned long long)dropped);
	health_metrics(f, box, s);
	resilience_metrics(f, box, s);
}

/* The temporary file is made with mkstemp in the target's directory: a
 * new file under a name nobody could predict (O_EXCL), so a symlink
 * planted where it would go cannot send root's write elsewhere; rename()
 * then replaces the target itself, never what a symlink there points to. */
static int write_file(const char *out, const char *box, const fbx_snapshot *s)
{
	char tmp[4096];
	const char *slash = strrchr(out, '/');
	int dir = slash == NULL ? 0 : (int)(slash - out) + 1;
	if (snprintf(tmp, sizeof(tmp), "%.*s.%s.XXXXXX", dir, out, out + dir) >= (int)sizeof(tmp))
		return ctl_fail("metrics: file name too long: '%s'", out);
	int fd = mkstemp(tmp);
	if (fd < 0)
		return ctl_fail("metrics: cannot create a file next to '%s': %s", out,
				strerror(errno));
	FILE *f = fdopen(fd, "w");
	if (f == NULL || fchmod(fd, 0644) != 0) { /* what a textfile collector reads */
		if (f != NULL)
			fclose(f);
		else
			close(fd);
		unlink(tmp);
		return ctl_fail("metrics: cannot write '%s'", tmp);
	}
	write_metrics(f, box, s);
	if (fclose(f) != 0 || rename(tmp, out) != 0) {
		int e = errno;
		unlink(tmp);
		return ctl_fail("metrics: cannot write '%s': %s", out, strerror(e));
	}
	return CTL_YES;
}

int cmd_metrics(struct ctl *c)
{
	const char *out = NULL;
	for (int i = 0; i < c->argc; i++) {
		if (strcmp(c->argv[i], "--out") == 0 && i + 1 < c->argc)
			out = c->argv[++i];
		else if (strcmp(c->argv[i], "--out") == 0)
			return ctl_fail("option '--out' needs a file name");
		else
			return ctl_fail("metrics: unknown argument '%s' (metrics [--out FILE])",
					c->argv[i]);
	}
	fbx_box *box;
	fbx_snapshot *s;
	if (ctl_snapshot(c, &box, &s))
		return CTL_ERR;
	int ret = CTL_YES;
	if (out == NULL) {
		write_metrics(stdout, c->box, s);
	} else {
		ret = write_file(out, c->box, s);
	}
	ctl_snapshot_close(box, s);
	return ret;
}
