/* ctl_breaker.c — `fuseboxctl breaker ...`. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl_settings.h"

static int open_breaker(const struct ctl *c, const char *name, bool write, fbx_box **box,
			fbx_breaker **b)
{
	int rc = ctl_open(c, write, box);
	if (rc)
		return rc;
	rc = fbx_breaker_find(*box, name, b);
	if (rc == 0)
		return 0;
	fbx_box_close(*box);
	*box = NULL;
	if (rc == FBX_ENOENT)
		return ctl_fail("box '%s' has no breaker '%s'", c->box, name);
	return ctl_fail_rc(rc, "breaker '%s'", name);
}

/* The option that sets a library field, for messages. */
static const char *option_of(const char *field)
{
	static const char *const map[][2] = {
		{"fail_max", "--fail-max"}, {"failure_rate_pct", "--failure-rate"},
		{"slow_rate_pct", "--slow-rate"}, {"slow_call_ns", "--slow-call"},
		{"window_calls", "--window"}, {"window_ns", "--window"},
		{"min_calls", "--min-calls"}, {"reset_timeout_ns", "--reset"},
		{"reset_timeout_max_ns", "--reset-max"}, {"half_open_max", "--half-open"},
		{"success_threshold", "--success-threshold"}, {"trial_lease_ns", "--trial-lease"},
	};
	for (size_t i = 0; field != NULL && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i][0], field) == 0)
			return map[i][1];
	return "a setting";
}

static int breaker_add(struct ctl *c, int argc, char **argv)
{
	static const char *const keys[] = {
		"--fail-max", "--failure-rate", "--window", "--min-calls", "--slow-call",
		"--slow-rate", "--reset", "--reset-max", "--half-open", "--success-threshold",
		"--trial-lease",
	};
	enum { N = sizeof(keys) / sizeof(keys[0]) };
	struct ctl_opt o[N];
	for (size_t k = 0; k < N; k++)
		o[k] = (struct ctl_opt){keys[k], true, NULL};
	char *name[1];
	size_t npos;
	int rest;
	if (ctl_options(argc, argv, o, N, name, 1, &npos, &rest) || ctl_end(argc, argv, rest))
		return CTL_ERR;
	if (npos != 1)
		return ctl_fail("breaker add: which breaker? (breaker add NAME [options])");
	fbx_breaker_config cfg;
	fbx_breaker_config_init(&cfg);
	for (size_t k = 0; k < N; k++)
		if (o[k].value != NULL && breaker_setting(&cfg, o[k].name, o[k].value, "breaker add"))
			return CTL_ERR;
	if (breaker_check(name[0], &cfg, "breaker add"))
		return CTL_ERR;
	fbx_box *box;
	if (ctl_open(c, true, &box))
		return CTL_ERR;
	fbx_breaker *b;
	int rc = fbx_breaker_register(box, name[0], &cfg, &b);
	fbx_breaker *have;
	fbx_breaker_config old;
	if (rc == FBX_ECONFLICT && fbx_breaker_find(box, name[0], &have) == 0 &&
	    fbx_breaker_config_get(have, &old) == 0) {
		rc = ctl_fail("breaker '%s' exists with a different %s (%s)", name[0],
			      fbx_breaker_config_diff(&old, &cfg),
			      option_of(fbx_breaker_config_diff(&old, &cfg)));
	} else if (rc) {
		rc = ctl_fail_rc(rc, "breaker '%s'", name[0]);
	}
	fbx_box_close(box);
	return rc ? CTL_ERR : CTL_YES;
}

static int outcome_of(const char *s, fbx_outcome *o)
{
	if (strcmp(s, "success") == 0)
		*o = FBX_SUCCESS;
	else if (strcmp(s, "failure") == 0)
		*o = FBX_FAILURE;
	else if (strcmp(s, "ignored") == 0)
		*o = FBX_IGNORED;
	else
		return ctl_fail("'%s' is not success, failure or ignored", s);
	return 0;
}

/* Why the breaker refused, in the library's words; a forced breaker with
 * who forced it and why, so whoever's call bounced knows whom to ask. */
static void say_rejected(const char *name, fbx_breaker *b, const fbx_permit *p)
{
	char why[320];
	fbx_breaker_info info;
	if (p->reason == FBX_REJECT_FORCED_OPEN) {
		char op[256] = "";
		if (fbx_breaker_info_get(b, &info) == 0 && info.state == FBX_FORCED_OPEN &&
		    info.operator_known && info.operator_cause == FBX_CAUSE_TRIP)
			operator_record(op, sizeof(op), &info);
		snprintf(why, sizeof(why), "%s (%s)", fbx_breaker_state_label(FBX_FORCED_OPEN),
			 op[0] ? op : "who tripped it is unknown");
	} else if (p->reason == FBX_REJECT_HALF_OPEN_FULL) {
		snprintf(why, sizeof(why), "%s, every trial taken",
			 fbx_breaker_state_label(FBX_HALF_OPEN));
	} else {
		snprintf(why, sizeof(why), "%s", fbx_breaker_state_label(FBX_OPEN));
	}
	if (p->retry_after_ns)
		fprintf(stderr, "fuseboxctl: breaker '%s' rejected the call: %s; a trial is allowed "
				"in %.3f s\n", name, why, (double)p->retry_after_ns / 1e9);
	else
		fprintf(stderr, "fuseboxctl: breaker '%s' rejected the call: %s\n", name, why);
}

static int breaker_record(struct ctl *c, int argc, char **argv)
{
	struct ctl_opt o[] = {{"--duration", true, NULL}};
	char *pos[2];
	size_t npos;
	int rest;
	if (ctl_options(argc, argv, o, 1, pos, 2, &npos, &rest) || ctl_end(argc, argv, rest))
		return CTL_ERR;
	if (npos != 2)
		return ctl_fail("usage: breaker record NAME success|failure|ignored [--duration D]");
	fbx_outcome outcome = FBX_SUCCESS;
	uint64_t dur = 0;
	if (outcome_of(pos[1], &outcome) ||
	    (o[0].value != NULL && ctl_duration("--duration", o[0].value, &dur)))
		return CTL_ERR;
	fbx_box *box;
	fbx_breaker *b;
	if (open_breaker(c, pos[0], true, &box, &b))
		return CTL_ERR;
	fbx_permit p;
	int rc = fbx_breaker_allow(b, &p);
	if (rc == FBX_EOPEN) {
		say_rejected(pos[0], b, &p);
		rc = CTL_REJECTED;
	} else if (rc == 0) {
		rc = fbx_breaker_done(b, &p, outcome, dur);
		rc = rc ? ctl_fail_rc(rc, "breaker '%s'", pos[0]) : CTL_YES;
	} else {
		rc = ctl_fail_rc(rc, "breaker '%s'", pos[0]);
	}
	fbx_box_close(box);
	return rc;
}

/* "0,3,75" -> a set of exit codes. */
static int parse_codes(const char *s, bool ignored[256])
{
	char buf[1024];
	if (strlen(s) >= sizeof(buf))
		return ctl_fail("--ignore-exit: the list is longer than %zu characters", sizeof(buf) - 1);
	snprintf(buf, sizeof(buf), "%s", s);
	char *save = NULL;
	int n = 0;
	for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		uint32_t code;
		if (ctl_u32("--ignore-exit", t, 0, 255, &code))
			return CTL_ERR;
		ignored[code] = true;
		n++;
	}
	return n > 0 ? 0 : ctl_fail("--ignore-exit: expected exit codes such as 3 or 3,4");
}

static int breaker_call(struct ctl *c, int argc, char **argv)
{
	struct ctl_opt o[] = {{"--ignore-exit", true, NULL}};
	char *name[1];
	size_t npos;
	int rest;
	if (ctl_options(argc, argv, o, 1, name, 1, &npos, &rest))
		return CTL_ERR;
	if (npos != 1 || rest >= argc)
		return ctl_fail("usage: breaker call NAME [--ignore-exit CODES] -- CMD [ARG...]");
	bool ignored[256] = {false};
	if (o[0].value != NULL && parse_codes(o[0].value, ignored))
		return CTL_ERR;
	fbx_box *box;
	fbx_breaker *b;
	if (open_breaker(c, name[0], true, &box, &b))
		return CTL_ERR;
	fbx_permit p;
	int rc = fbx_breaker_allow(b, &p);
	if (rc == FBX_EOPEN) {
		say_rejected(name[0], b, &p);
		fbx_box_close(box);
		return CTL_REJECTED;
	}
	if (rc) {
		fbx_box_close(box);
		return ctl_fail_rc(rc, "breaker '%s'", name[0]);
	}
	uint64_t t0 = fbx_clock_now();
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		execvp(argv[rest], argv + rest);
		ctl_fail("cannot run '%s': %s", argv[rest], strerror(errno));
		_exit(127);
	}
	int status = 0;
	if (pid < 0) {
		fbx_breaker_done(b, &p, FBX_IGNORED, 0);
		fbx_box_close(box);
		return ctl_fail("cannot start '%s': %s", argv[rest], strerror(errno));
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	uint64_t took = fbx_clock_now() - t0;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	fbx_outcome outcome = WIFEXITED(status) && code == 0 ? FBX_SUCCESS
			      : WIFEXITED(status) && ignored[code] ? FBX_IGNORED
								   : FBX_FAILURE;
	rc = fbx_breaker_done(b, &p, outcome, took);
	fbx_box_close(box);
	if (rc)
		return ctl_fail_rc(rc, "breaker '%s': recording the outcome", name[0]);
	return code;
}

static int breaker_manual(struct ctl *c, const char *action, int argc, char **argv)
{
	struct ctl_opt o[] = {{"--reason", true, NULL}};
	char *name[1];
	size_t npos;
	int rest;
	if (ctl_options(argc, argv, o, 1, name, 1, &npos, &rest) || ctl_end(argc, argv, rest))
		return CTL_ERR;
	if (npos != 1)
		return ctl_fail("usage: breaker %s NAME [--reason TEXT]", action);
	if (ctl_reason(o[0].value))
		return CTL_ERR;
	fbx_box *box;
	fbx_breaker *b;
	if (open_breaker(c, name[0], true, &box, &b))
		return CTL_ERR;
	fbx_breaker_info before, after;
	int had = fbx_breaker_info_get(b, &before);
	int cause = strcmp(action, "trip") == 0	   ? FBX_CAUSE_TRIP
		    : strcmp(action, "hold") == 0    ? FBX_CAUSE_HOLD
		    : strcmp(action, "release") == 0 ? FBX_CAUSE_RELEASE
						     : FBX_CAUSE_RESET;
	int rc = cause == FBX_CAUSE_TRIP      ? fbx_breaker_trip(b, o[0].value)
		 : cause == FBX_CAUSE_HOLD    ? fbx_breaker_hold(b, o[0].value)
		 : cause == FBX_CAUSE_RELEASE ? fbx_breaker_release(b, o[0].value)
					      : fbx_breaker_reset(b, o[0].value);
	if (rc) {
		fbx_box_close(box);
		return ctl_fail_rc(rc, "breaker %s '%s'", action, name[0]);
	}
	/* what changed, said back: an operator in an incident should not need
	 * a second command to learn whether the first one did anything */
	int has = fbx_breaker_info_get(b, &after);
	fbx_box_close(box);
	const char *reason = o[0].value != NULL ? o[0].value : "";
	bool forced = has == 0 &&
		      (after.state == FBX_FORCED_OPEN || after.state == FBX_FORCED_CLOSED);
	/* the library changes nothing when the breaker is already where the
	 * action would put it (reset aside): say so, with who put it there
	 * and why, so the incident's reason is not thought overwritten */
	bool same = had == 0 && has == 0 && before.state == after.state &&
		    cause != FBX_CAUSE_RESET &&
		    (cause == FBX_CAUSE_RELEASE ? !forced
		     : cause == FBX_CAUSE_TRIP  ? after.state == FBX_FORCED_OPEN
						: after.state == FBX_FORCED_CLOSED);
	if (same) {
		char op[256] = "";
		if (forced && after.operator_known && after.operator_cause == cause)
			operator_record(op, sizeof(op), &after);
		printf("%s: still %s (%s), unchanged\n", name[0], breaker_state_text(&after),
		       op[0] ? op : forced ? "who forced it is unknown" : "not forced");
		return CTL_YES;
	}
	if (had == 0 && has == 0 && before.state != after.state)
		printf("%s: %s -> %s", name[0], fbx_breaker_state_label(before.state),
		       fbx_breaker_state_label(after.state));
	else if (has == 0 && cause == FBX_CAUSE_RESET)
		printf("%s: %s, window and consecutive failures cleared", name[0],
		       fbx_breaker_state_label(after.state));
	else if (has == 0)
		printf("%s: %s", name[0], fbx_breaker_state_label(after.state));
	else
		printf("%s: state unknown (its record reads as damaged)", name[0]);
	printf(" (%s by uid %u%s%s)\n", fbx_event_cause_label(cause), (unsigned)getuid(),
	       reason[0] ? ": " : "", reason);
	return CTL_YES;
}

static int breaker_show(struct ctl *c, int argc, char **argv)
{
	struct ctl_opt o[] = {{"--json", false, NULL}};
	char *name[1];
	size_t npos;
	int rest;
	if (ctl_options(argc, argv, o, 1, name, 1, &npos, &rest) || ctl_end(argc, argv, rest))
		return CTL_ERR;
	if (npos != 1)
		return ctl_fail("usage: breaker show NAME [--json]");
	fbx_box *box;
	fbx_snapshot *s;
	if (ctl_snapshot(c, &box, &s))
		return CTL_ERR;
	int rc = 0;
	const fbx_breaker_info *b = find_breaker(s, name[0]);
	if (b == NULL)
		rc = ctl_fail("box '%s' has no breaker '%s'", c->box, name[0]);
	else if (o[0].value != NULL)
		show_breaker_json(stdout, b, true), fputc('\n', stdout);
	else
		show_breaker_text(stdout, b);
	ctl_snapshot_close(box, s);
	return rc ? CTL_ERR : CTL_YES;
}

int cmd_breaker(struct ctl *c)
{
	if (c->argc < 1)
		return ctl_fail("breaker: which action? (add, call, record, trip, hold, release, "
				"reset, show)");
	const char *a = c->argv[0];
	int argc = c->argc - 1;
	char **argv = c->argv + 1;
	if (strcmp(a, "add") == 0)
		return breaker_add(c, argc, argv);
	if (strcmp(a, "call") == 0)
		return breaker_call(c, argc, argv);
	if (strcmp(a, "record") == 0)
		return breaker_record(c, argc, argv);
	if (strcmp(a, "trip") == 0 || strcmp(a, "hold") == 0 || strcmp(a, "release") == 0 ||
	    strcmp(a, "reset") == 0)
		return breaker_manual(c, a, argc, argv);
	if (strcmp(a, "show") == 0)
		return breaker_show(c, argc, argv);
	return ctl_fail("breaker: unknown action '%s'", a);
}
