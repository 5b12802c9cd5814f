/* ctl_health.c — what the box says of its processes and checks:
 * `fuseboxctl health` (exec probes), `workers`, `checks`, and the parts of
 * `status` that show them. */
#include <pwd.h>
#include <string.h>

#include "ctl.h"

static unsigned long long ull(uint64_t v)
{
	return (unsigned long long)v;
}

static unsigned long long ms(uint64_t ns)
{
	return (unsigned long long)((ns + 999999) / 1000000);
}

/* Roles and messages come from the box: the library hands them over
 * printable, and a terminal must never be told otherwise. */
static void printable(char *out, size_t len, const char *in)
{
	size_t i = 0;
	for (; in[i] != '\0' && i + 1 < len; i++)
		out[i] = in[i] >= 0x20 && in[i] < 0x7f ? in[i] : '?';
	out[i] = '\0';
}

const char *worker_state_text(const fbx_worker_info *w)
{
	if (w->corrupt)
		return "damaged";
	if (w->alive)
		return "alive";
	return w->process_gone ? "dead: gone" : "dead: stale";
}

/* ---- the verdicts ------------------------------------------------------ */

/* The check that makes the aggregate what it is: the first critical one
 * failing, else the first one not passing (NULL: none). */
static const fbx_check_info *worst_check(const fbx_check_info *c, size_t n, bool critical_fail)
{
	for (size_t i = 0; i < n; i++)
		if (critical_fail ? c[i].critical && c[i].status == FBX_CHECK_FAIL
				  : c[i].status != FBX_CHECK_PASS)
			return &c[i];
	return NULL;
}

static void check_words(char *buf, size_t len, const fbx_check_info *c)
{
	snprintf(buf, len, "%scheck '%s' %s%s", c->critical ? "critical " : "", c->name,
		 c->status == FBX_CHECK_FAIL ? "failing" : "warning",
		 c->corrupt    ? " (unreadable)"
		 : c->expired  ? " (not set again within its TTL)"
		 : c->breaker[0] ? " (its breaker is not closed)"
				 : "");
}

static void add_reason(char *buf, size_t len, const char *why)
{
	size_t n = strlen(buf);
	if (n + 2 < len)
		snprintf(buf + n, len - n, "%s%s", n ? "; " : "", why);
}

/* Each probe's own reasons: fbx_health.reason names only the first of
 * all of them, and a readiness probe must not answer with a liveness
 * reason. */
void health_verdict(const fbx_snapshot *s, enum health_probe probe, struct health_verdict *v)
{
	const fbx_health *h = fbx_snapshot_health(s);
	size_t nw, nc;
	const fbx_worker_info *w = fbx_snapshot_workers(s, &nw);
	const fbx_check_info *c = fbx_snapshot_checks(s, &nc);
	char why[256];
	memset(v, 0, sizeof(*v));
	switch (probe) {
	case PROBE_LIVE: {
		v->pass = h->live != 0;
		snprintf(v->verdict, sizeof(v->verdict), "%s", v->pass ? "live" : "not live");
		bool masters = false;
		for (size_t i = 0; i < nw; i++)
			masters |= strcmp(w[i].role, "master") == 0;
		if (masters && h->masters_alive == 0)
			add_reason(v->reason, sizeof(v->reason), "the master is not alive");
		if (h->workers_alive == 0)
			add_reason(v->reason, sizeof(v->reason), "no worker is alive");
		break;
	}
	case PROBE_READY: {
		v->pass = h->ready != 0;
		snprintf(v->verdict, sizeof(v->verdict), "%s", v->pass ? "ready" : "not ready");
		if (!h->started)
			add_reason(v->reason, sizeof(v->reason), "not started");
		if (h->draining)
			add_reason(v->reason, sizeof(v->reason), "draining");
		const fbx_check_info *bad = worst_check(c, nc, true);
		if (bad != NULL) {
			check_words(why, sizeof(why), bad);
			add_reason(v->reason, sizeof(v->reason), why);
		}
		break;
	}
	case PROBE_STARTUP:
		v->pass = h->started != 0;
		snprintf(v->verdict, sizeof(v->verdict), "%s", v->pass ? "started" : "not started");
		if (!v->pass)
			add_reason(v->reason, sizeof(v->reason), "fbx_started() not called yet");
		break;
	default: {
		v->pass = h->status != FBX_HEALTH_UNHEALTHY;
		snprintf(v->verdict, sizeof(v->verdict), "%s", fbx_health_status_name(h->status));
		const fbx_check_info *bad = worst_check(c, nc, h->status == FBX_HEALTH_UNHEALTHY);
		if (h->status != FBX_HEALTH_OK && bad != NULL)
			check_words(v->reason, sizeof(v->reason), bad);
		break;
	}
	}
	/* the library's own word when ours found nothing to say */
	if (!v->pass && v->reason[0] == '\0')
		printable(v->reason, sizeof(v->reason), h->reason[0] ? h->reason : "unknown");
}

static const char *const probe_names[] = {"aggregate", "live", "ready", "startup"};

int cmd_health(struct ctl *c)
{
	struct ctl_opt o[] = {{"--live", false, 0}, {"--ready", false, 0}, {"--startup", false, 0},
			      {"--json", false, 0}};
	size_t npos;
	int rest;
	if (ctl_options(c->argc, c->argv, o, 4, NULL, 0, &npos, &rest) ||
	    ctl_end(c->argc, c->argv, rest))
		return CTL_ERR;
	enum health_probe probe = PROBE_AGGREGATE;
	for (int k = 0; k < 3; k++) {
		if (o[k].value == NULL)
			continue;
		if (probe != PROBE_AGGREGATE)
			return ctl_fail("health: one of --live, --ready or --startup, not both %s and %s",
					o[probe - 1].name, o[k].name);
		probe = (enum health_probe)(k + 1);
	}
	fbx_box *box;
	fbx_snapshot *s;
	if (ctl_snapshot(c, &box, &s))
		return CTL_ERR;
	struct health_verdict v;
	health_verdict(s, probe, &v);
	if (o[3].value != NULL) {
		fputs("{\"version\":1,\"box\":", stdout);
		json_str(stdout, c->box);
		printf(",\"probe\":\"%s\",\"pass\":%s,\"verdict\":", probe_names[probe],
		       v.pass ? "true" : "false");
		json_str(stdout, v.verdict);
		fputs(",\"reason\":", stdout);
		if (v.reason[0])
			json_str(stdout, v.reason);
		else
			fputs("null", stdout);
		fputs(",\"health\":", stdout);
		show_health_json(stdout, fbx_snapshot_health(s));
		fputs("}\n", stdout);
	} else if (v.reason[0]) {
		printf("%s: %s\n", v.verdict, v.reason);
	} else {
		printf("%s\n", v.verdict);
	}
	ctl_snapshot_close(box, s);
	return v.pass ? CTL_YES : CTL_NO;
}

/* ---- shown in status, workers and checks ------------------------------- */

void show_health_json(FILE *f, const fbx_health *h)
{
	fprintf(f, "{\"status\":\"%s\",\"live\":%s,\"ready\":%s,\"started\":%s,\"draining\":%s,"
		   "\"drain_age_ms\":%llu,\"workers_alive\":%u,\"masters_alive\":%u,"
		   "\"workers_dead\":%u,\"in_flight\":%llu,\"served\":%llu,\"reason\":",
		fbx_health_status_name(h->status), h->live ? "true" : "false",
		h->ready ? "true" : "false", h->started ? "true" : "false",
		h->draining ? "true" : "false", ms(h->drain_age_ns), h->workers_alive,
		h->masters_alive, h->workers_dead, ull(h->in_flight), ull(h->served));
	if (h->reason[0])
		json_str(f, h->reason);
	else
		fputs("null", f);
	fputc('}', f);
}

/* Who began the drain in force and why, while the ring holds its event
 * (fbx_snapshot_drain_event: never an earlier drain's author). */
void drain_text(char *buf, size_t len, const fbx_snapshot *s)
{
	buf[0] = '\0';
	const fbx_event *on = fbx_snapshot_drain_event(s);
	const fbx_health *h = fbx_snapshot_health(s);
	if (on == NULL || h == NULL)
		return;
	uint64_t now = fbx_snapshot_time(s);
	char age[32], when[40], why[FBX_REASON_MAX], who[96];
	age_text(age, sizeof(age), h->drain_age_ns);
	event_wall_time(when, sizeof(when), on->time_ns, now);
	printable(why, sizeof(why), on->reason);
	const struct passwd *pw = getpwuid(on->uid);
	if (pw != NULL && fbx_name_check_record(pw->pw_name) == 0)
		snprintf(who, sizeof(who), "uid %u (%s) pid %d", (unsigned)on->uid, pw->pw_name,
			 (int)on->pid);
	else
		snprintf(who, sizeof(who), "uid %u pid %d", (unsigned)on->uid, (int)on->pid);
	snprintf(buf, len, "began %s ago (%s) by %s%s%s", age, when, who,
		 why[0] ? ": " : ", no reason given", why);
}

/* Two lines: the aggregate with its reason, then what each probe says,
 * DRAINING in capitals so that it is not missed; a third when draining
 * and the ring still holds the drain's event: who began it and why. */
void show_health_text(FILE *f, const fbx_snapshot *s)
{
	const fbx_health *h = fbx_snapshot_health(s);
	struct health_verdict agg, live, ready;
	health_verdict(s, PROBE_AGGREGATE, &agg);
	health_verdict(s, PROBE_LIVE, &live);
	health_verdict(s, PROBE_READY, &ready);
	fprintf(f, "  health %s%s%s\n", agg.verdict, agg.reason[0] ? ": " : "", agg.reason);
	fprintf(f, "  %s, %s, %s", live.verdict, ready.verdict, h->started ? "started" : "not started");
	if (h->draining) {
		char age[32];
		age_text(age, sizeof(age), h->drain_age_ns);
		fprintf(f, ", DRAINING for %s", age);
	}
	fprintf(f, "; %u worker%s and %u master%s alive, %u dead, %llu in flight, %llu served\n",
		h->workers_alive, h->workers_alive == 1 ? "" : "s", h->masters_alive,
		h->masters_alive == 1 ? "" : "s", h->workers_dead, ull(h->in_flight),
		ull(h->served));
	/* who began the drain and why, while the ring still says: the first
	 * question of whoever finds a box draining */
	char drain[320];
	if (h->draining) {
		drain_text(drain, sizeof(drain), s);
		if (drain[0])
			fprintf(f, "  drain %s\n", drain);
	}
}

void show_worker_json(FILE *f, const fbx_worker_info *w)
{
	fprintf(f, "{\"pid\":%d,", (int)w->pid);
	if (w->corrupt) {
		fputs("\"corrupt\":true}", f);
		return;
	}
	fputs("\"role\":", f);
	json_str(f, w->role);
	fprintf(f, ",\"alive\":%s,\"dead_because\":%s,\"heartbeat_age_ms\":%llu,"
		   "\"heartbeat_timeout_ms\":%llu,\"registered_age_ms\":%llu,\"in_flight\":%llu,"
		   "\"served\":%llu}",
		w->alive ? "true" : "false",
		w->alive ? "null" : w->process_gone ? "\"process_gone\"" : "\"heartbeat_stale\"",
		ms(w->heartbeat_age_ns), ms(w->heartbeat_timeout_ns), ms(w->registered_age_ns),
		ull(w->in_flight), ull(w->served));
}

void show_workers_text(FILE *f, const fbx_worker_info *w, size_t n)
{
	fprintf(f, "%-8s %-15s %-11s %9s %8s %9s %10s %8s\n", "PID", "ROLE", "STATE", "HEARTBEAT",
		"TIMEOUT", "IN_FLIGHT", "SERVED", "UP");
	for (size_t i = 0; i < n; i++) {
		char role[FBX_ROLE_MAX], beat[32], tmo[32], up[32];
		printable(role, sizeof(role), w[i].role);
		if (w[i].corrupt) {
			fprintf(f, "%-8d %-15s %s\n", (int)w[i].pid, role, "(damaged slot)");
			continue;
		}
		age_text(beat, sizeof(beat), w[i].heartbeat_age_ns);
		age_text(tmo, sizeof(tmo), w[i].heartbeat_timeout_ns);
		age_text(up, sizeof(up), w[i].registered_age_ns);
		fprintf(f, "%-8d %-15s %-11s %9s %8s %9llu %10llu %8s\n", (int)w[i].pid, role,
			worker_state_text(&w[i]), beat, tmo, ull(w[i].in_flight), ull(w[i].served), up);
	}
}

void show_check_json(FILE *f, const fbx_check_info *c)
{
	fputs("{\"name\":", f);
	json_str(f, c->name);
	if (c->corrupt) {
		/* still counted, as failed: say so beside the damage */
		fprintf(f, ",\"corrupt\":true,\"status\":\"%s\"}", fbx_check_status_name(c->status));
		return;
	}
	fprintf(f, ",\"status\":\"%s\",\"set_status\":\"%s\",\"critical\":%s,\"expired\":%s,"
		   "\"ttl_ms\":%llu,\"age_ms\":%llu,\"breaker\":",
		fbx_check_status_name(c->status), fbx_check_status_name(c->set_status),
		c->critical ? "true" : "false", c->expired ? "true" : "false", ms(c->ttl_ns),
		ms(c->age_ns));
	if (c->breaker[0])
		json_str(f, c->breaker);
	else
		fputs("null", f);
	fputs(",\"message\":", f);
	json_str(f, c->message);
	fprintf(f, ",\"setter_uid\":%u,\"setter_pid\":%d}", (unsigned)c->setter_uid,
		(int)c->setter_pid);
}

void show_checks_text(FILE *f, const fbx_check_info *c, size_t n)
{
	fprintf(f, "%-24s %-6s %-4s %7s %7s  %s\n", "CHECK", "STATUS", "CRIT", "AGE", "TTL", "NOTE");
	for (size_t i = 0; i < n; i++) {
		char msg[FBX_CHECK_MESSAGE_MAX], age[32], ttl[32], note[FBX_CHECK_MESSAGE_MAX + 96];
		printable(msg, sizeof(msg), c[i].message);
		if (c[i].corrupt) {
			fprintf(f, "%-24s %-6s %-4s %7s %7s  %s\n", c[i].name,
				fbx_check_status_name(c[i].status), "?", "-", "-",
				"(damaged record: counts as failed until set again)");
			continue;
		}
		if (c[i].breaker[0]) {
			snprintf(age, sizeof(age), "-");
			snprintf(ttl, sizeof(ttl), "-");
			snprintf(note, sizeof(note), "follows breaker %s", c[i].breaker);
		} else if (c[i].ttl_ns == 0) { /* made but never set, or its breaker gone */
			snprintf(age, sizeof(age), "-");
			snprintf(ttl, sizeof(ttl), "-");
			snprintf(note, sizeof(note), "%s", msg);
		} else {
			age_text(age, sizeof(age), c[i].age_ns);
			age_text(ttl, sizeof(ttl), c[i].ttl_ns);
			if (c[i].expired)
				snprintf(note, sizeof(note), "EXPIRED (set %s)%s%s",
					 fbx_check_status_name(c[i].set_status), msg[0] ? ": " : "", msg);
			else
				snprintf(note, sizeof(note), "%s", msg);
		}
		fprintf(f, "%-24s %-6s %-4s %7s %7s  %s\n", c[i].name, fbx_check_status_name(c[i].status),
			c[i].critical ? "yes" : "no", age, ttl, note);
	}
}

/* ---- workers and checks ------------------------------------------------- */

static int listing(struct ctl *c, const char *cmd, bool workers)
{
	bool json = false;
	for (int i = 0; i < c->argc; i++) {
		if (strcmp(c->argv[i], "--json") == 0)
			json = true;
		else
			return ctl_fail("%s: unknown argument '%s' (%s [--json])", cmd, c->argv[i], cmd);
	}
	fbx_box *box;
	fbx_snapshot *s;
	if (ctl_snapshot(c, &box, &s))
		return CTL_ERR;
	size_t nw, nc;
	const fbx_worker_info *w = fbx_snapshot_workers(s, &nw);
	const fbx_check_info *k = fbx_snapshot_checks(s, &nc);
	if (json) {
		fputs("{\"version\":1,\"box\":", stdout);
		json_str(stdout, c->box);
		fputs(",\"health\":", stdout);
		show_health_json(stdout, fbx_snapshot_health(s));
		printf(",\"%s\":[", workers ? "workers" : "checks");
		for (size_t i = 0; i < (workers ? nw : nc); i++) {
			if (i)
				fputc(',', stdout);
			if (workers)
				show_worker_json(stdout, &w[i]);
			else
				show_check_json(stdout, &k[i]);
		}
		fputs("]}\n", stdout);
	} else if (workers) {
		show_workers_text(stdout, w, nw);
	} else {
		show_checks_text(stdout, k, nc);
	}
	ctl_snapshot_close(box, s);
	return CTL_YES;
}

int cmd_workers(struct ctl *c)
{
	return listing(c, "workers", true);
}

int cmd_checks(struct ctl *c)
{
	return listing(c, "checks", false);
}
