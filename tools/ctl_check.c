/* ctl_check.c — what operators and scripts write about the box's health:
 * `fuseboxctl check set|rm|bind`, `drain` and `started`. */
#include <string.h>

#include "ctl.h"

#define NS_PER_MS 1000000ull
#define TTL_MAX_NS (720ull * 3600 * 1000000000ull)  /* the library's 30 days */
#define DRAIN_WAIT_MAX_NS (24ull * 3600 * 1000000000ull)
#define BUSY_SHOWN 64

static int check_name(const char *action, const char *name)
{
	if (fbx_name_check_record(name) != 0)
		return ctl_fail("check %s: bad check name '%s' (1-63 printable characters, no spaces)",
				action, name);
	return 0;
}

/* What the check's message may hold: it is shown on terminals and in
 * probe bodies, so the rules of --reason, with the check's own length. */
static int check_message(const char *value)
{
	if (value != NULL && strlen(value) >= FBX_CHECK_MESSAGE_MAX)
		return ctl_fail("--message: at most %d characters", FBX_CHECK_MESSAGE_MAX - 1);
	for (const char *r = value; r != NULL && *r != '\0'; r++)
		if ((unsigned char)*r < 0x20 || *r == 0x7f)
			return ctl_fail("--message: '%s' holds a control character", value);
	return 0;
}

/* The check as it is now, for an error that says what is in the way. */
static const fbx_check_info *find_check(const fbx_snapshot *s, const char *name)
{
	size_t n;
	const fbx_check_info *c = fbx_snapshot_checks(s, &n);
	for (size_t i = 0; i < n; i++)
		if (!c[i].corrupt && strcmp(c[i].name, name) == 0)
			return &c[i];
	return NULL;
}

static int conflict(const struct ctl *c, fbx_box *box, const char *name, const char *wanted)
{
	fbx_snapshot *s = NULL;
	const fbx_check_info *have = NULL;
	if (fbx_snapshot_new(box, &s) == 0 && fbx_snapshot_take(box, s) == 0)
		have = find_check(s, name);
	int rc;
	if (have != NULL && have->breaker[0])
		rc = ctl_fail("check '%s' follows breaker '%s' as a %scritical check, not %s (remove "
			      "it first: fuseboxctl -b %s check rm %s)",
			      name, have->breaker, have->critical ? "" : "non-", wanted, c->box, name);
	else
		rc = ctl_fail("check '%s' is set by hand, not %s (remove it first: fuseboxctl -b %s "
			      "check rm %s)",
			      name, wanted, c->box, name);
	fbx_snapshot_free(s);
	return rc;
}

static int full(const struct ctl *c, fbx_box *box)
{
	fbx_box_info bi;
	uint32_t cap = fbx_box_info_get(box, &bi) == 0 ? bi.capacity.checks : 0;
	return ctl_fail("box '%s' has no room for another check (it holds %u; remove a stale one "
			"with: fuseboxctl -b %s check rm NAME, or create the box with a larger "
			"--checks)",
			c->box, cap, c->box);
}

static int check_set(struct ctl *c, int argc, char **argv)
{
	struct ctl_opt o[] = {{"--critical", false, 0}, {"--ttl", true, 0}, {"--message", true, 0}};
	char *pos[2];
	size_t npos;
	int rest;
	if (ctl_options(argc, argv, o, 3, pos, 2, &npos, &rest) || ctl_end(argc, argv, rest))
		return CTL_ERR;
	if (npos != 2)
		return ctl_fail("usage: check set NAME pass|warn|fail [--critical] [--ttl DURATION] "
				"[--message TEXT]");
	if (check_name("set", pos[0]))
		return CTL_ERR;
	int status = fbx_check_status_parse(pos[1]);
	if (status < 0)
		return ctl_fail("check set: '%s' is not pass, warn or fail", pos[1]);
	/* long enough for a checker run every few seconds to miss one run */
	uint64_t ttl = 30000000000ull;
	if (o[1].value != NULL && ctl_duration("--ttl", o[1].value, &ttl))
		return CTL_ERR;
	if (ttl < NS_PER_MS || ttl > TTL_MAX_NS)
		return ctl_fail("--ttl: '%s' is not from 1ms to 720h (30 days)", o[1].value);
	if (check_message(o[2].value))
		return CTL_ERR;
	fbx_box *box;
	if (ctl_open(c, true, &box))
		return CTL_ERR;
	int rc = fbx_check_set(box, pos[0], (fbx_check_status)status, o[0].value != NULL, ttl,
			       o[2].value);
	if (rc == FBX_EFULL)
		rc = full(c, box);
	else if (rc == FBX_ECONFLICT)
		rc = conflict(c, box, pos[0], "set by hand");
	else if (rc)
		rc = ctl_fail_rc(rc, "check '%s'", pos[0]);
	fbx_box_close(box);
	return rc ? CTL_ERR : CTL_YES;
}

static int check_rm(struct ctl *c, int argc, char **argv)
{
	char *name[1];
	size_t npos;
	int rest;
	if (ctl_options(argc, argv, NULL, 0, name, 1, &npos, &rest) || ctl_end(argc, argv, rest))
		return CTL_ERR;
	if (npos != 1)
		return ctl_fail("usage: check rm NAME");
	if (check_name("rm", name[0]))
		return CTL_ERR;
	fbx_box *box;
	if (ctl_open(c, true, &box))
		return CTL_ERR;
	int rc = fbx_check_remove(box, name[0]);
	if (rc == FBX_ENOENT)
		rc = ctl_fail("box '%s' has no check '%s'", c->box, name[0]);
	else if (rc)
		rc = ctl_fail_rc(rc, "check '%s'", name[0]);
	else
		printf("check %s removed\n", name[0]);
	fbx_box_close(box);
	return rc ? CTL_ERR : CTL_YES;
}

static int check_bind(struct ctl *c, int argc, char **argv)
{
	struct ctl_opt o[] = {{"--breaker", true, 0}, {"--critical", false, 0}};
	char *name[1];
	size_t npos;
	int rest;
	if (ctl_options(argc, argv, o, 2, name, 1, &npos, &rest) || ctl_end(argc, argv, rest))
		return CTL_ERR;
	if (npos != 1 || o[0].value == NULL)
		return ctl_fail("usage: check bind NAME --breaker BREAKER [--critical]");
	if (check_name("bind", name[0]))
		return CTL_ERR;
	if (fbx_name_check_record(o[0].value) != 0)
		return ctl_fail("check bind: bad breaker name '%s' (1-63 printable characters, no "
				"spaces)", o[0].value);
	fbx_box *box;
	if (ctl_open(c, true, &box))
		return CTL_ERR;
	bool critical = o[1].value != NULL;
	int rc = fbx_check_bind_breaker(box, name[0], o[0].value, critical);
	if (rc == FBX_ENOENT) {
		rc = ctl_fail("box '%s' has no breaker '%s'", c->box, o[0].value);
	} else if (rc == FBX_EFULL) {
		rc = full(c, box);
	} else if (rc == FBX_ECONFLICT) {
		char wanted[FBX_NAME_MAX + 48];
		snprintf(wanted, sizeof(wanted), "following breaker '%s' as a %scritical check",
			 o[0].value, critical ? "" : "non-");
		rc = conflict(c, box, name[0], wanted);
	} else if (rc) {
		rc = ctl_fail_rc(rc, "check '%s'", name[0]);
	}
	fbx_box_close(box);
	return rc ? CTL_ERR : CTL_YES;
}

int cmd_check(struct ctl *c)
{
	if (c->argc < 1)
		return ctl_fail("check: which action? (set, rm, bind)");
	const char *a = c->argv[0];
	if (strcmp(a, "set") == 0)
		return check_set(c, c->argc - 1, c->argv + 1);
	if (strcmp(a, "rm") == 0)
		return check_rm(c, c->argc - 1, c->argv + 1);
	if (strcmp(a, "bind") == 0)
		return check_bind(c, c->argc - 1, c->argv + 1);
	return ctl_fail("check: unknown action '%s' (set, rm, bind)", a);
}

/* ---- drain and started -------------------------------------------------- */

static int drain_wait(const struct ctl *c, fbx_box *box, uint64_t timeout)
{
	fbx_drain_busy busy[BUSY_SHOWN];
	size_t n = 0;
	uint64_t t0 = fbx_clock_now();
	int rc = fbx_drain_wait(box, timeout, busy, BUSY_SHOWN, &n);
	double took = (double)(fbx_clock_now() - t0) / 1e9;
	if (rc == 0) {
		printf("drained: no request in flight (waited %.1fs)\n", took);
		return CTL_YES;
	}
	if (rc != FBX_ETIMEDOUT)
		return ctl_fail_rc(rc, "box '%s': waiting for the drain", c->box);
	uint64_t total = 0;
	for (size_t i = 0; i < n && i < BUSY_SHOWN; i++)
		total += busy[i].in_flight;
	/* a "no", not an error: who was still busy, for the operator to judge */
	printf("not drained after %.1fs: %llu request%s in flight in %zu worker%s%s\n", took,
	       (unsigned long long)total, total == 1 ? "" : "s", n, n == 1 ? "" : "s",
	       n == BUSY_SHOWN ? " (the first ones)" : "");
	printf("%-8s %-15s %9s\n", "PID", "ROLE", "IN_FLIGHT");
	for (size_t i = 0; i < n && i < BUSY_SHOWN; i++) {
		char role[FBX_ROLE_MAX];
		size_t k = 0;
		for (; k + 1 < sizeof(role) && busy[i].role[k] != '\0'; k++)
			role[k] = busy[i].role[k] >= 0x20 && busy[i].role[k] < 0x7f ? busy[i].role[k] : '?';
		role[k] = '\0';
		printf("%-8d %-15s %9llu\n", (int)busy[i].pid, role,
		       (unsigned long long)busy[i].in_flight);
	}
	return CTL_NO;
}

/* Whether the box is draining now; -1 when that cannot be read. */
static int draining_now(fbx_box *box)
{
	fbx_snapshot *s;
	if (fbx_snapshot_new(box, &s) != 0)
		return -1;
	int on = fbx_snapshot_take_health(box, s) == 0 ? fbx_snapshot_health(s)->draining != 0 : -1;
	fbx_snapshot_free(s);
	return on;
}

static const char *drain_word(int on)
{
	return on < 0 ? "?" : on ? "draining" : "not draining";
}

/* "still draining (began 5s ago ... by uid 0 pid 42: deploy), unchanged":
 * a second drain keeps the first one's time and records nothing, so the
 * operator is told whose drain it is rather than shown a new one. */
static void say_unchanged(const struct ctl *c, fbx_box *box, int now)
{
	char drain[320] = "";
	fbx_snapshot *s;
	if (now > 0 && fbx_snapshot_new(box, &s) == 0) {
		if (fbx_snapshot_take(box, s) == 0)
			drain_text(drain, sizeof(drain), s);
		fbx_snapshot_free(s);
	}
	printf("box %s: still %s%s%s%s, unchanged\n", c->box, drain_word(now), drain[0] ? " (" : "",
	       drain, drain[0] ? ")" : "");
}

int cmd_drain(struct ctl *c)
{
	struct ctl_opt o[] = {{"--wait", true, 0}, {"--off", false, 0}, {"--reason", true, 0}};
	size_t npos;
	int rest;
	if (ctl_options(c->argc, c->argv, o, 3, NULL, 0, &npos, &rest) ||
	    ctl_end(c->argc, c->argv, rest))
		return CTL_ERR;
	uint64_t wait = 0;
	if (o[0].value != NULL && o[1].value != NULL)
		return ctl_fail("drain: --wait waits for a drain, --off ends one: not both");
	if (o[0].value != NULL && ctl_duration("--wait", o[0].value, &wait))
		return CTL_ERR;
	if (wait > DRAIN_WAIT_MAX_NS)
		return ctl_fail("--wait: '%s' is more than 24h", o[0].value);
	if (ctl_reason(o[2].value))
		return CTL_ERR;
	fbx_box *box;
	if (ctl_open(c, true, &box))
		return CTL_ERR;
	int was = draining_now(box);
	int rc = fbx_drain_reason(box, o[1].value == NULL, o[2].value);
	if (rc) {
		rc = ctl_fail_rc(rc, "box '%s': drain", c->box);
	} else if (o[0].value != NULL) {
		rc = drain_wait(c, box, wait); /* its lines say how the drain went */
	} else {
		/* what changed, as breaker trip says it: an operator in an
		 * incident should not need a second command to know */
		int now = draining_now(box);
		if (was >= 0 && now >= 0 && was == now) {
			say_unchanged(c, box, now);
		} else {
			printf("box %s: %s -> %s", c->box, drain_word(was), drain_word(now));
			if (o[2].value != NULL && o[2].value[0] != '\0')
				printf(" (reason: %s)", o[2].value);
			putchar('\n');
		}
	}
	fbx_box_close(box);
	return rc;
}

int cmd_started(struct ctl *c)
{
	if (c->argc != 0)
		return ctl_fail("started takes no arguments");
	fbx_box *box;
	if (ctl_open(c, true, &box))
		return CTL_ERR;
	int rc = fbx_started(box);
	fbx_box_close(box);
	return rc ? ctl_fail_rc(rc, "box '%s': started", c->box) : CTL_YES;
}
