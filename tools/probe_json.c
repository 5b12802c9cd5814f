/* probe_json.c — what a snapshot says, as the probe's JSON bodies.
 *
 * The decisions (live, ready, ok/degraded/unhealthy) are the library's
 * aggregate, never recomputed here, so the probe, fuseboxctl and the
 * console cannot disagree; only the words of each endpoint's reason are
 * made here, since the aggregate's one reason names whatever failed
 * first, which may not be what this endpoint asks about. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "probe.h"

/* "45s", "2m13s", "3h02m", "4d03h": how long, for a person. */
static void span(char *out, size_t len, uint64_t ns)
{
	uint64_t s = ns / 1000000000u;
	if (ns < 1000000000u)
		snprintf(out, len, "%llums", (unsigned long long)(ns / 1000000u));
	else if (s < 60)
		snprintf(out, len, "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(out, len, "%llum%02llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else if (s < 86400)
		snprintf(out, len, "%lluh%02llum", (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60));
	else
		snprintf(out, len, "%llud%02lluh", (unsigned long long)(s / 86400),
			 (unsigned long long)(s % 86400 / 3600));
}

/* Appends part to a "; "-separated list in out. */
static void also(char *out, size_t len, const char *part)
{
	size_t n = strlen(out);
	if (n + 1 < len)
		snprintf(out + n, len - n, "%s%s", n ? "; " : "", part);
}

static json_t *check_json(const fbx_check_info *c)
{
	json_t *o = json_object();
	char text[256], ttl[32], age[32];
	json_object_set_new(o, "status", json_string(fbx_check_status_name(c->status)));
	json_object_set_new(o, "critical", json_boolean(c->critical));
	if (c->breaker[0] != '\0')
		json_object_set_new(o, "breaker", json_string(c->breaker));
	if (c->ttl_ns != 0) {
		json_object_set_new(o, "ttl_ms", json_integer((json_int_t)(c->ttl_ns / 1000000u)));
		json_object_set_new(o, "age_ms", json_integer((json_int_t)(c->age_ns / 1000000u)));
	}
	/* A check that counts as failed without having been set so says why:
	 * a reader who sees "fail" next to a message saying "ok" would
	 * otherwise trust the message. */
	if (c->corrupt) {
		snprintf(text, sizeof(text),
			 "unreadable (torn by a setter killed mid-write, or damaged): counts as "
			 "fail until set again");
	} else if (c->expired && c->ttl_ns == 0 && c->breaker[0] == '\0') {
		snprintf(text, sizeof(text), "never set: counts as fail until set");
	} else if (c->expired) {
		span(ttl, sizeof(ttl), c->ttl_ns);
		span(age, sizeof(age), c->age_ns);
		snprintf(text, sizeof(text),
			 "expired: not set again within its TTL of %s (last set %s ago as %s%s%s): "
			 "counts as fail",
			 ttl, age, fbx_check_status_name(c->set_status), c->message[0] ? ": " : "",
			 c->message);
	} else if (c->breaker[0] != '\0') {
		/* pass, warn, fail: the state each stands for, in the library's
		 * words (a forced state counts as the one it forces) */
		static const int follows[] = {FBX_CLOSED, FBX_HALF_OPEN, FBX_OPEN};
		snprintf(text, sizeof(text), "breaker '%s' is %s", c->breaker,
			 c->status <= FBX_CHECK_FAIL ? fbx_breaker_state_label(follows[c->status])
						     : "unreadable");
	} else if (c->message[0] != '\0') {
		snprintf(text, sizeof(text), "%s", c->message);
	} else {
		text[0] = '\0';
	}
	if (c->status == FBX_CHECK_FAIL)
		json_object_set_new(o, "error", json_string(text[0] ? text : "failing"));
	else if (text[0] != '\0')
		json_object_set_new(o, "message", json_string(text));
	return o;
}

/* Why live or not, in words, from the records the aggregate counted. */
static void live_reason(const fbx_health *h, const fbx_worker_info *w, size_t nw, char *out,
			size_t len)
{
	size_t masters = 0;
	for (size_t i = 0; i < nw; i++)
		masters += strcmp(w[i].role, "master") == 0;
	char part[96];
	out[0] = '\0';
	if (h->live) {
		snprintf(part, sizeof(part), "%u worker%s alive%s", h->workers_alive,
			 h->workers_alive == 1 ? "" : "s", h->masters_alive ? ", and the master" : "");
		also(out, len, part);
		return;
	}
	if (masters > 0 && h->masters_alive == 0)
		also(out, len, "the master is not alive");
	if (h->workers_alive == 0) {
		if (h->workers_dead > 0)
			snprintf(part, sizeof(part), "no worker is alive (%u dead)", h->workers_dead);
		else
			snprintf(part, sizeof(part), "no worker is alive (none registered)");
		also(out, len, part);
	}
	if (out[0] == '\0')
		snprintf(out, len, "%s", h->reason);
}

/* Names the checks at level: critical failures, or everything not passing. */
static void name_checks(const fbx_check_info *c, size_t nc, int critical_fail, char *out,
			size_t len)
{
	for (size_t i = 0; i < nc; i++) {
		int hit = critical_fail ? c[i].critical && c[i].status == FBX_CHECK_FAIL
					 : c[i].status != FBX_CHECK_PASS;
		if (!hit)
			continue;
		char part[FBX_NAME_MAX + 40];
		snprintf(part, sizeof(part), "'%s' %s%s", c[i].name,
			 c[i].expired ? "expired" : fbx_check_status_name(c[i].status),
			 !critical_fail && c[i].critical ? " (critical)" : "");
		size_t n = strlen(out);
		if (n + 1 < len)
			snprintf(out + n, len - n, "%s%s", n ? ", " : "", part);
	}
}

static void ready_reason(const fbx_health *h, const fbx_check_info *c, size_t nc, char *out,
			 size_t len)
{
	out[0] = '\0';
	if (h->ready) {
		snprintf(out, len, "started, not draining, no critical check failing");
		return;
	}
	if (!h->started)
		also(out, len, "not started (the master has not called fbx_started)");
	if (h->draining) {
		char age[32], part[64];
		span(age, sizeof(age), h->drain_age_ns);
		snprintf(part, sizeof(part), "draining (for %s)", age);
		also(out, len, part);
	}
	char names[256] = "";
	name_checks(c, nc, 1, names, sizeof(names));
	if (names[0] != '\0') {
		char part[300];
		snprintf(part, sizeof(part), "critical check failing: %s", names);
		also(out, len, part);
	}
	if (out[0] == '\0')
		snprintf(out, len, "%s", h->reason);
}

static void health_reason(const fbx_health *h, const fbx_check_info *c, size_t nc, char *out,
			  size_t len)
{
	char names[256] = "";
	name_checks(c, nc, h->status == FBX_HEALTH_UNHEALTHY, names, sizeof(names));
	if (h->status == FBX_HEALTH_OK)
		snprintf(out, len, "every check passing");
	else
		snprintf(out, len, "%s: %s",
			 h->status == FBX_HEALTH_UNHEALTHY ? "critical check failing"
							   : "not every check passing",
			 names[0] ? names : h->reason);
}

static json_t *workers_json(const fbx_health *h)
{
	json_t *o = json_object();
	json_object_set_new(o, "alive", json_integer(h->workers_alive));
	json_object_set_new(o, "masters_alive", json_integer(h->masters_alive));
	json_object_set_new(o, "dead", json_integer(h->workers_dead));
	json_object_set_new(o, "in_flight", json_integer((json_int_t)h->in_flight));
	json_object_set_new(o, "served", json_integer((json_int_t)h->served));
	return o;
}

static const char *const verdict_key[] = {"live", "ready", NULL, "started"};

static char *finish(json_t *root)
{
	char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (s == NULL)
		return NULL;
	/* a body that ends its last line reads well under curl */
	size_t n = strlen(s);
	char *t = realloc(s, n + 2);
	if (t == NULL) {
		free(s);
		return NULL;
	}
	t[n] = '\n';
	t[n + 1] = '\0';
	return t;
}

static void set_time(json_t *root)
{
	char ts[32] = "";
	time_t now = time(NULL);
	struct tm tm;
	if (gmtime_r(&now, &tm) != NULL)
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_set_new(root, "timestamp", json_string(ts));
}

char *probe_body(enum probe_endpoint ep, const char *box, const fbx_snapshot *snap,
		 const char *unavailable, unsigned *code)
{
	json_t *root = json_object();
	if (snap == NULL) {
		/* nothing to vouch for: every probe fails, and says why */
		*code = 503;
		json_object_set_new(root, "status", json_string("unhealthy"));
		if (verdict_key[ep] != NULL)
			json_object_set_new(root, verdict_key[ep], json_false());
		json_object_set_new(root, "reason", json_string(unavailable));
		set_time(root);
		json_object_set_new(root, "box", json_string(box));
		json_object_set_new(root, "checks", json_object());
		return finish(root);
	}
	const fbx_health *h = fbx_snapshot_health(snap);
	size_t nw, nc;
	const fbx_worker_info *w = fbx_snapshot_workers(snap, &nw);
	const fbx_check_info *c = fbx_snapshot_checks(snap, &nc);
	char reason[512];
	int verdict;
	switch (ep) {
	case PROBE_LIVE:
		verdict = h->live;
		live_reason(h, w, nw, reason, sizeof(reason));
		break;
	case PROBE_READY:
		verdict = h->ready;
		ready_reason(h, c, nc, reason, sizeof(reason));
		break;
	case PROBE_STARTUP:
		verdict = h->started;
		snprintf(reason, sizeof(reason), "%s",
			 h->started ? "started" : "not started (the master has not called fbx_started)");
		break;
	default:
		verdict = h->status != FBX_HEALTH_UNHEALTHY;
		health_reason(h, c, nc, reason, sizeof(reason));
		break;
	}
	*code = verdict ? 200 : 503;
	json_object_set_new(root, "status", json_string(fbx_health_status_name(h->status)));
	if (verdict_key[ep] != NULL)
		json_object_set_new(root, verdict_key[ep], json_boolean(verdict));
	json_object_set_new(root, "reason", json_string(reason));
	set_time(root);
	json_object_set_new(root, "box", json_string(box));
	json_t *checks = json_object();
	for (size_t i = 0; i < nc; i++)
		json_object_set_new(checks, c[i].name, check_json(&c[i]));
	json_object_set_new(root, "checks", checks);
	json_object_set_new(root, "workers", workers_json(h));
	json_object_set_new(root, "started", json_boolean(h->started));
	json_object_set_new(root, "draining", json_boolean(h->draining));
	if (h->draining)
		json_object_set_new(root, "drain_age_ms",
				    json_integer((json_int_t)(h->drain_age_ns / 1000000u)));
	return finish(root);
}

char *probe_error_body(const char *error, const char *detail)
{
	json_t *root = json_object();
	json_object_set_new(root, "error", json_string(error));
	json_object_set_new(root, "detail", json_string(detail));
	set_time(root);
	return finish(root);
}
