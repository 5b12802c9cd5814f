/* test_ctl_breaker.c — fuseboxctl breaker: add (every option, and again),
 * record, call (exit codes, arguments and output passed through, refused
 * calls not run, slow calls, the half-open trial), and the operator's
 * trip, hold, release and reset with the events they leave. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_harness.h"
#include "ctl_json.h"
#include "fusebox.h"
#include "helpers.h"
#include "suites.h"

static const struct add_case {
	const char *args[10];
	struct {
		const char *field;
		unsigned long long value;
	} want[3];
} add_cases[] = {
	{{"--fail-max", "7"}, {{"fail_max", 7}}},
	{{"--failure-rate", "40", "--window", "20", "--min-calls", "5"},
	 {{"failure_rate_pct", 40}, {"window_calls", 20}, {"min_calls", 5}}},
	{{"--failure-rate", "40", "--window", "30s", "--min-calls", "5"},
	 {{"window_calls", 0}, {"window_ms", 30000}, {"min_calls", 5}}},
	{{"--slow-call", "250ms", "--slow-rate", "60"}, {{"slow_call_ms", 250}, {"slow_rate_pct", 60}}},
	{{"--reset", "10s", "--reset-max", "2m"},
	 {{"reset_timeout_ms", 10000}, {"reset_timeout_max_ms", 120000}}},
	{{"--reset", "1h"}, {{"reset_timeout_ms", 3600000}}},
	{{"--half-open", "3"}, {{"half_open_max", 3}}},
	{{"--success-threshold", "4"}, {{"success_threshold", 4}}},
	{{"--trial-lease", "1500ms"}, {{"trial_lease_ms", 1500}}},
	{{"--fail-max", "0", "--failure-rate", "50"}, {{"fail_max", 0}, {"failure_rate_pct", 50}}},
	{{"--window", "8", "--fail-max", "2", "--failure-rate", "100", "--min-calls", "8"},
	 {{"window_calls", 8}, {"fail_max", 2}, {"failure_rate_pct", 100}}},
};

START_TEST(breaker_add_options)
{
	const struct add_case *c = &add_cases[_i];
	const char *box = lib_box();
	const char *args[16] = {"breaker", "add", "opt"};
	size_t n = 3;
	for (size_t i = 0; c->args[i]; i++)
		args[n++] = c->args[i];
	args[n] = NULL;
	ck_assert_int_eq(run_args(NULL, box, args), 0);
	ck_assert_str_eq(R.err, "");
	const json_t *b = breaker_json(box, "opt");
	ck_assert_str_eq(jstr(b, "state"), "closed");
	const json_t *cfg = jobj(b, "config");
	for (size_t i = 0; i < 3 && c->want[i].field; i++)
		ck_assert_msg(juint(cfg, c->want[i].field) == c->want[i].value, "%s = %llu, want %llu",
			      c->want[i].field, juint(cfg, c->want[i].field), c->want[i].value);
	/* the text form too */
	OK(box, "breaker", "show", "opt");
	ck_assert_msg(strncmp(R.out, "breaker opt\n", 12) == 0, "[%s]", R.out);
	/* and the same command again is accepted */
	ck_assert_int_eq(run_args(NULL, box, args), 0);
}
END_TEST

START_TEST(breaker_add_again)
{
	const char *box = ctl_box();
	OK(box, "breaker", "add", "svc", "--fail-max", "3", "--reset", "30s");
	OK(box, "breaker", "record", "svc", "success");
	OK(box, "breaker", "record", "svc", "success");
	OK(box, "breaker", "record", "svc", "failure");
	ck_assert_uint_eq(breaker_count(box, "svc", "consecutive_failures"), 1);
	/* same settings: accepted, state and counts kept */
	OK(box, "breaker", "add", "svc", "--fail-max", "3", "--reset", "30s");
	const json_t *b = breaker_json(box, "svc");
	ck_assert_str_eq(jstr(b, "state"), "closed");
	ck_assert_uint_eq(juint(b, "successes"), 2);
	ck_assert_uint_eq(juint(b, "failures"), 1);
	ck_assert_uint_eq(juint(b, "consecutive_failures"), 1);
	OK(box, "breaker", "trip", "svc");
	const json_t *before = breaker_json(box, "svc");
	OK(box, "breaker", "add", "svc", "--fail-max", "3", "--reset", "30s");
	b = breaker_json(box, "svc");
	static const char *const same[] = {"successes", "failures", "ignored", "rejected", "trips",
					   "consecutive_failures"};
	ck_assert_str_eq(jstr(b, "state"), "forced_open");
	for (size_t i = 0; i < ARRAY_LEN(same); i++)
		ck_assert_msg(juint(b, same[i]) == juint(before, same[i]), "%s changed", same[i]);
	/* different settings: refused, naming the setting */
	FAILS("fail_max", box, "breaker", "add", "svc", "--fail-max", "4", "--reset", "30s");
	FAILS("reset_timeout", box, "breaker", "add", "svc", "--fail-max", "3", "--reset", "31s");
	FAILS("half_open", box, "breaker", "add", "svc", "--fail-max", "3", "--reset", "30s",
	      "--half-open", "2");
	b = breaker_json(box, "svc");
	ck_assert_str_eq(jstr(b, "state"), "forced_open");
	ck_assert_uint_eq(juint(jobj(b, "config"), "fail_max"), 3);
	ck_assert_uint_eq(juint(b, "successes"), 2);
}
END_TEST

START_TEST(breaker_record_outcomes)
{
	const char *box = ctl_box();
	OK(box, "breaker", "add", "rec", "--fail-max", "100", "--slow-call", "1s", "--slow-rate",
	   "50");
	OK(box, "breaker", "record", "rec", "success");
	ck_assert_str_eq(R.err, "");
	OK(box, "breaker", "record", "rec", "ignored");
	OK(box, "breaker", "record", "rec", "success", "--duration", "5s");   /* slow */
	OK(box, "breaker", "record", "rec", "success", "--duration", "500ms"); /* not slow */
	OK(box, "breaker", "record", "rec", "failure", "--duration", "1s");   /* slow */
	OK(box, "breaker", "record", "rec", "failure");
	OK(box, "breaker", "record", "rec", "ignored", "--duration", "1h");
	const json_t *b = breaker_json(box, "rec");
	ck_assert_uint_eq(juint(b, "successes"), 3);
	ck_assert_uint_eq(juint(b, "failures"), 2);
	ck_assert_uint_eq(juint(b, "ignored"), 2);
	ck_assert_uint_eq(juint(b, "slow"), 2);
	ck_assert_uint_eq(juint(b, "consecutive_failures"), 2);
	ck_assert_uint_eq(juint(b, "rejected"), 0);
	ck_assert_str_eq(jstr(b, "state"), "closed");
}
END_TEST

START_TEST(breaker_record_rejected)
{
	const char *box = ctl_box();
	OK(box, "breaker", "add", "r", "--fail-max", "2", "--reset", "1h");
	OK(box, "breaker", "record", "r", "failure");
	OK(box, "breaker", "record", "r", "failure");
	const json_t *b = breaker_json(box, "r");
	ck_assert_str_eq(jstr(b, "state"), "open");
	ck_assert_uint_eq(juint(b, "trips"), 1);
	ck_assert_uint_gt(juint(b, "open_remaining_ms"), 0);
	ck_assert_uint_le(juint(b, "open_remaining_ms"), 3600000);
	EXPECT(75, box, "breaker", "record", "r", "success");
	one_error_line("rejected");
	ck_assert_msg(strstr(R.err, "trial") != NULL, "no word on when a trial is allowed: %s",
		      R.err);
	ck_assert_str_eq(R.out, "");
	b = breaker_json(box, "r");
	ck_assert_uint_eq(juint(b, "successes"), 0);
	ck_assert_uint_eq(juint(b, "failures"), 2);
	ck_assert_uint_eq(juint(b, "rejected"), 1);
	/* forced open by an operator */
	OK(box, "breaker", "add", "f");
	OK(box, "breaker", "trip", "f");
	EXPECT(75, box, "breaker", "record", "f", "failure");
	one_error_line("rejected the call: forced-open (tripped by ");
	b = breaker_json(box, "f");
	ck_assert_uint_eq(juint(b, "failures"), 0);
	ck_assert_uint_eq(juint(b, "rejected"), 1);
}
END_TEST

static const struct call_case {
	const char *ignore; /* --ignore-exit, or NULL */
	const char *cmd[6];
	int code;
	const char *counter; /* the one that goes up */
	const char *stderr_has; /* NULL: stderr empty */
} call_cases[] = {
	{NULL, {"/bin/true"}, 0, "successes", NULL},
	{NULL, {"/bin/false"}, 1, "failures", NULL},
	{NULL, {"/bin/sh", "-c", "exit 3"}, 3, "failures", NULL},
	{"3", {"/bin/sh", "-c", "exit 3"}, 3, "ignored", NULL},
	{"3,4", {"/bin/sh", "-c", "exit 4"}, 4, "ignored", NULL},
	{"3", {"/bin/sh", "-c", "exit 5"}, 5, "failures", NULL},
	{"0", {"/bin/true"}, 0, "successes", NULL},
	/* a signal is a failure, even when 128 + its number is "ignored" */
	{"137", {"/bin/sh", "-c", "kill -KILL $$"}, 128 + SIGKILL, "failures", NULL},
	{NULL, {"/bin/sh", "-c", "kill -TERM $$"}, 128 + SIGTERM, "failures", NULL},
	{NULL, {"/nonexistent/fbx-no-such-command"}, 127, "failures", "fbx-no-such-command"},
	{NULL, {"fbx-no-such-command-on-path"}, 127, "failures", "fbx-no-such-command-on-path"},
	{NULL, {"sh", "-c", "exit 0"}, 0, "successes", NULL}, /* found on PATH */
};

START_TEST(breaker_call_exit_codes)
{
	const struct call_case *c = &call_cases[_i];
	const char *box = lib_box();
	OK(box, "breaker", "add", "call", "--fail-max", "100");
	const char *args[16] = {"breaker", "call", "call"};
	size_t n = 3;
	if (c->ignore) {
		args[n++] = "--ignore-exit";
		args[n++] = c->ignore;
	}
	args[n++] = "--";
	for (size_t i = 0; c->cmd[i]; i++)
		args[n++] = c->cmd[i];
	args[n] = NULL;
	int rc = run_args(NULL, box, args);
	ck_assert_msg(rc == c->code, "%s: exit %d, expected %d (stderr %s)", R.cmd, rc, c->code, R.err);
	ck_assert(!R.signaled);
	if (c->stderr_has)
		one_error_line(c->stderr_has);
	else
		ck_assert_str_eq(R.err, "");
	const json_t *b = breaker_json(box, "call");
	static const char *const counters[] = {"successes", "failures", "ignored"};
	for (size_t i = 0; i < ARRAY_LEN(counters); i++)
		ck_assert_msg(juint(b, counters[i]) == (strcmp(counters[i], c->counter) == 0),
			      "%s = %llu after %s", counters[i], juint(b, counters[i]), R.cmd);
}
END_TEST

START_TEST(breaker_call_passes_arguments_and_output)
{
	const char *box = lib_box();
	OK(box, "breaker", "call", "b1", "--", "/bin/sh", "-c", "printf '%s|' \"$@\"; echo err >&2",
	   "sh", "a", "b c", "--fail-max", "-x");
	ck_assert_str_eq(R.out, "a|b c|--fail-max|-x|");
	ck_assert_str_eq(R.err, "err\n");
	OK(box, "breaker", "call", "b1", "--ignore-exit", "3", "--", "/bin/echo", "--", "--ignore-exit");
	ck_assert_str_eq(R.out, "-- --ignore-exit\n");
	ck_assert_uint_eq(breaker_count(box, "b1", "successes"), 2);
}
END_TEST

START_TEST(breaker_call_rejected_not_run)
{
	const char *box = ctl_box();
	const char *marker = tpath(".ran");
	OK(box, "breaker", "add", "forced");
	OK(box, "breaker", "trip", "forced", "--reason", "maintenance");
	EXPECT(75, box, "breaker", "call", "forced", "--", "/bin/sh", "-c", "touch \"$0\"", marker);
	one_error_line("rejected");
	ck_assert_str_eq(R.out, "");
	ck_assert_msg(!file_exists(marker), "the command ran although the breaker rejected it");
	/* open after failures: says when a trial is allowed */
	OK(box, "breaker", "add", "auto", "--fail-max", "1", "--reset", "1h");
	EXPECT(1, box, "breaker", "call", "auto", "--", "/bin/false");
	ck_assert_str_eq(breaker_state(box, "auto"), "open");
	EXPECT(75, box, "breaker", "call", "auto", "--", "/bin/sh", "-c", "touch \"$0\"", marker);
	one_error_line("trial");
	ck_assert(!file_exists(marker));
	const json_t *b = breaker_json(box, "auto");
	ck_assert_uint_eq(juint(b, "rejected"), 1);
	ck_assert_uint_eq(juint(b, "failures"), 1);
	ck_assert_uint_eq(juint(b, "successes"), 0);
	ck_assert_uint_eq(juint(breaker_json(box, "forced"), "rejected"), 1);
	/* no such breaker or box: not run either */
	FAILS("no breaker", box, "breaker", "call", "nosuch", "--", "/bin/sh", "-c", "touch \"$0\"",
	      marker);
	ck_assert(!file_exists(marker));
	const char *gone = new_box();
	FAILS("does not exist", gone, "breaker", "call", "auto", "--", "/bin/sh", "-c",
	      "touch \"$0\"", marker);
	ck_assert(!file_exists(marker));
	/* and the control: held closed, it runs */
	OK(box, "breaker", "hold", "forced");
	OK(box, "breaker", "call", "forced", "--", "/bin/sh", "-c", "touch \"$0\"", marker);
	ck_assert(file_exists(marker));
	unlink(marker);
}
END_TEST

START_TEST(breaker_call_duration_counts_as_slow)
{
	const char *box = lib_box();
	OK(box, "breaker", "add", "slowpoke", "--slow-call", "10ms", "--slow-rate", "100");
	OK(box, "breaker", "call", "slowpoke", "--", "/bin/sh", "-c", "sleep 0.05");
	const json_t *b = breaker_json(box, "slowpoke");
	ck_assert_uint_eq(juint(b, "slow"), 1);
	ck_assert_uint_eq(juint(b, "successes"), 1);
}
END_TEST

/* Polls breaker show until pred holds; bounded. */
static const json_t *poll_breaker(const char *box, const char *name,
				  bool (*pred)(const json_t *b), uint64_t timeout_ms)
{
	uint64_t until = spawn_now_ms() + timeout_ms;
	for (;;) {
		const json_t *b = breaker_json(box, name);
		if (pred(b))
			return b;
		ck_assert_msg(spawn_now_ms() < until, "breaker %s never reached the expected state: %s",
			      name, R.out);
		tsleep_ms(2);
	}
}

static bool open_period_over(const json_t *b)
{
	return juint(b, "open_remaining_ms") == 0;
}

static bool trial_in_flight(const json_t *b)
{
	return strcmp(jstr(b, "state"), "half_open") == 0 && juint(b, "half_open_in_flight") == 1;
}

START_TEST(breaker_half_open_trial_in_flight)
{
	const char *box = ctl_box();
	const char *go = tpath(".go"), *marker = tpath(".ran");
	OK(box, "breaker", "add", "ho", "--fail-max", "1", "--reset", "1ms");
	EXPECT(1, box, "breaker", "call", "ho", "--", "/bin/false");
	poll_breaker(box, "ho", open_period_over, 5000);
	/* the trial call: waits for the go file.  The breaker may still turn
	 * it away for a clock tick after the open period shows as over: then
	 * it exits 75 at once and is started again. */
	struct spawn_proc p;
	const json_t *b = NULL;
	unsigned early = 0;
	for (uint64_t until = spawn_now_ms() + 5000; b == NULL;) {
		ck_assert_msg(spawn_now_ms() < until, "no trial admitted");
		ctl_start(&p, box, "breaker", "call", "ho", "--", "/bin/sh", "-c",
			  "while [ ! -e \"$0\" ]; do sleep 0.005; done", go, NULL);
		for (;;) {
			const json_t *now = breaker_json(box, "ho");
			if (trial_in_flight(now)) {
				b = now;
				break;
			}
			int code;
			if (spawn_ended(&p, &code)) {
				ck_assert_msg(code == 75, "the trial call ended with %d", code);
				early++;
				break;
			}
			tsleep_ms(2);
		}
	}
	ck_assert_str_eq(jstr(b, "state"), "half_open");
	/* every trial permit is taken: the next call is turned away */
	EXPECT(75, box, "breaker", "call", "ho", "--", "/bin/sh", "-c", "touch \"$0\"", marker);
	one_error_line("trial");
	ck_assert(!file_exists(marker));
	EXPECT(75, box, "breaker", "record", "ho", "success");
	/* the trial succeeds: closed */
	FILE *f = fopen(go, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	bool sig;
	char *err;
	ck_assert_int_eq(spawn_finish(&p, &sig, &err), 0);
	ck_assert_str_eq(err, "");
	free(err);
	free(p.obuf.p);
	b = breaker_json(box, "ho");
	ck_assert_str_eq(jstr(b, "state"), "closed");
	ck_assert_uint_eq(juint(b, "half_open_in_flight"), 0);
	ck_assert_uint_eq(juint(b, "successes"), 1);
	ck_assert_uint_eq(juint(b, "rejected"), 2 + early);
	unlink(go);
}
END_TEST

static const struct manual_case {
	const char *action, *state, *cause;
} manual_cases[] = {
	{"trip", "forced_open", "trip"},
	{"hold", "forced_closed", "hold"},
	{"release", "closed", "release"},
	{"reset", "closed", "reset"},
};

START_TEST(breaker_manual_actions)
{
	const struct manual_case *c = &manual_cases[_i];
	const char *box = ctl_box();
	OK(box, "breaker", "add", "m", "--fail-max", "5");
	OK(box, "breaker", "record", "m", "failure");
	OK(box, "breaker", "record", "m", "failure");
	if (strcmp(c->action, "release") == 0)
		OK(box, "breaker", "trip", "m");
	const char *from = breaker_state(box, "m");
	char from_state[32];
	snprintf(from_state, sizeof(from_state), "%s", from);
	char reason[64];
	snprintf(reason, sizeof(reason), "%s \"by\" the \\test\\ %d", c->action, _i);
	OK(box, "breaker", c->action, "m", "--reason", reason);
	ck_assert_str_eq(R.err, "");
	pid_t tool = R.pid;
	/* it says what changed, in the words status uses, and who did it */
	char said[256];
	if (strcmp(c->action, "reset") == 0)
		snprintf(said, sizeof(said), "m: closed, window and consecutive failures cleared "
					     "(reset by uid %u: %s)\n", (unsigned)getuid(), reason);
	else
		snprintf(said, sizeof(said), "m: %s -> %s (%s by uid %u: %s)\n",
			 fbx_breaker_state_label(strcmp(c->action, "release") == 0 ? FBX_FORCED_OPEN
										  : FBX_CLOSED),
			 fbx_breaker_state_label(strcmp(c->action, "trip") == 0	  ? FBX_FORCED_OPEN
						 : strcmp(c->action, "hold") == 0 ? FBX_FORCED_CLOSED
										  : FBX_CLOSED),
			 fbx_event_cause_label(strcmp(c->action, "trip") == 0	  ? FBX_CAUSE_TRIP
					       : strcmp(c->action, "hold") == 0	  ? FBX_CAUSE_HOLD
					       : strcmp(c->action, "release") == 0 ? FBX_CAUSE_RELEASE
										   : FBX_CAUSE_RESET),
			 (unsigned)getuid(), reason);
	ck_assert_str_eq(R.out, said);
	const json_t *b = breaker_json(box, "m");
	ck_assert_str_eq(jstr(b, "state"), c->state);
	if (strcmp(c->action, "reset") == 0)
		ck_assert_uint_eq(juint(b, "consecutive_failures"), 0);
	ck_assert_uint_eq(juint(b, "failures"), 2); /* totals are kept */

	const json_t *ev = events_json(box);
	ck_assert_uint_gt(json_array_size(ev), 0);
	const json_t *last = jlast(ev);
	ck_assert_str_eq(jstr(last, "kind"), "manual");
	ck_assert_str_eq(jstr(last, "cause"), c->cause);
	ck_assert_str_eq(jstr(last, "record"), "breaker");
	ck_assert_str_eq(jstr(last, "name"), "m");
	ck_assert_str_eq(jstr(last, "reason"), reason);
	ck_assert_uint_eq(juint(last, "uid"), getuid());
	ck_assert_uint_eq(juint(last, "pid"), (unsigned long long)tool);
	ck_assert_str_eq(jstr(last, "from"), from_state);
	ck_assert_str_eq(jstr(last, "to"), c->state);
	/* the text form names the operator and the reason */
	OK(box, "events");
	char who[96];
	snprintf(who, sizeof(who), ": %s  (uid %u pid %d)\n", reason, (unsigned)getuid(), (int)tool);
	ck_assert_msg(strstr(R.out, who) != NULL, "events: no [%s] in [%s]", who, R.out);
	/* done again without a reason: the state is where the action puts it,
	 * so nothing changes (docs/DESIGN.md R12) — the line says whose it is
	 * and why, and the ring's last event is still the first action's */
	OK(box, "breaker", c->action, "m");
	ck_assert_str_eq(R.err, "");
	if (strcmp(c->action, "reset") == 0) {
		/* reset always acts: it clears the window and counts again */
		char tail[64];
		snprintf(tail, sizeof(tail), " by uid %u)\n", (unsigned)getuid());
		size_t len = strlen(R.out);
		ck_assert_msg(len > strlen(tail) && strcmp(R.out + len - strlen(tail), tail) == 0,
			      "no reason given, yet [%s]", R.out);
		ck_assert_str_eq(jstr(jlast(events_json(box)), "reason"), "");
	} else {
		char still[320];
		if (strcmp(c->action, "release") == 0)
			snprintf(still, sizeof(still), "m: still closed (not forced), unchanged\n");
		else
			snprintf(still, sizeof(still), "m: still %s (%s by %s ",
				 fbx_breaker_state_label(strcmp(c->action, "trip") == 0
								 ? FBX_FORCED_OPEN
								 : FBX_FORCED_CLOSED),
				 fbx_event_cause_label(strcmp(c->action, "trip") == 0 ? FBX_CAUSE_TRIP
										      : FBX_CAUSE_HOLD),
				 uid_text());
		ck_assert_msg(strncmp(R.out, still, strlen(still)) == 0, "[%s], not [%s...]", R.out,
			      still);
		char why[128];
		snprintf(why, sizeof(why), " ago: %s), unchanged\n", reason);
		if (strcmp(c->action, "release") != 0)
			ck_assert_msg(strstr(R.out, why) != NULL, "[%s]: no [%s]", R.out, why);
		ev = events_json(box);
		ck_assert_str_eq(jstr(jlast(ev), "reason"), reason);
		ck_assert_uint_eq(juint(jlast(ev), "pid"), (unsigned long long)tool);
		b = breaker_json(box, "m");
		ck_assert_str_eq(jstr(b, "state"), c->state);
		ck_assert_str_eq(jstr(jobj(b, "last_operator_action"), "reason"), reason);
	}
}
END_TEST

/* The incident's record survives a second trip: the reviewer's case, as
 * an operator meets it — show keeps who tripped it and why. */
START_TEST(breaker_trip_twice_keeps_the_incident)
{
	const char *box = ctl_box();
	OK(box, "breaker", "add", "x");
	OK(box, "breaker", "trip", "x", "--reason", "INC-1");
	OK(box, "breaker", "trip", "x");
	char want[160];
	snprintf(want, sizeof(want), "x: still forced-open (tripped by %s ", uid_text());
	ck_assert_msg(strncmp(R.out, want, strlen(want)) == 0, "[%s]", R.out);
	ck_assert_msg(strstr(R.out, " ago: INC-1), unchanged\n") != NULL, "[%s]", R.out);
	OK(box, "breaker", "show", "x");
	ck_assert_msg(strstr(R.out, "INC-1") != NULL && strstr(R.out, "no reason given") == NULL,
		      "[%s]", R.out);
	OK(box, "events", "--name", "x");
	ck_assert_uint_eq(count_char(R.out, '\n'), 2); /* created, tripped */
	ck_assert_msg(strstr(R.out, "forced-open -> forced-open") == NULL, "[%s]", R.out);
	/* a forced breaker's rejection says who forced it and why */
	EXPECT(75, box, "breaker", "call", "x", "--", "/bin/true");
	one_error_line("rejected the call: forced-open (tripped by ");
	ck_assert_msg(strstr(R.err, " ago: INC-1)") != NULL, "[%s]", R.err);
}
END_TEST

/* --ignore-exit with a long list: every code in it counts, none is cut. */
START_TEST(breaker_call_long_ignore_list)
{
	const char *box = lib_box();
	OK(box, "breaker", "add", "long", "--fail-max", "100");
	char codes[512] = "";
	for (int i = 0; i < 127; i++)
		strcat(codes, "3,");
	strcat(codes, "100"); /* 257 characters */
	EXPECT(1, box, "breaker", "call", "long", "--ignore-exit", codes, "--", "/bin/sh", "-c",
	       "exit 1");
	ck_assert_msg(breaker_count(box, "long", "failures") == 1,
		      "--ignore-exit of %zu characters (3 and 100): exit 1 was not a failure",
		      strlen(codes));
	EXPECT(100, box, "breaker", "call", "long", "--ignore-exit", codes, "--", "/bin/sh", "-c",
	       "exit 100");
	ck_assert_msg(breaker_count(box, "long", "ignored") == 1,
		      "--ignore-exit of %zu characters (3 and 100): exit 100 was not ignored",
		      strlen(codes));
}
END_TEST

FBX_TEST_SUITE(ctl_breaker)
{
	Suite *s = suite_create("ctl_breaker");
	TCase *tc = ctl_tcase("breaker", 20);
	tcase_add_loop_test(tc, breaker_add_options, 0, (int)ARRAY_LEN(add_cases));
	tcase_add_test(tc, breaker_add_again);
	tcase_add_test(tc, breaker_record_outcomes);
	tcase_add_test(tc, breaker_record_rejected);
	tcase_add_loop_test(tc, breaker_call_exit_codes, 0, (int)ARRAY_LEN(call_cases));
	tcase_add_test(tc, breaker_call_passes_arguments_and_output);
	tcase_add_test(tc, breaker_call_rejected_not_run);
	tcase_add_test(tc, breaker_call_duration_counts_as_slow);
	tcase_add_test(tc, breaker_call_long_ignore_list);
	tcase_add_test(tc, breaker_trip_twice_keeps_the_incident);
	tcase_add_test(tc, breaker_half_open_trial_in_flight);
	tcase_add_loop_test(tc, breaker_manual_actions, 0, (int)ARRAY_LEN(manual_cases));
	suite_add_tcase(s, tc);
	return s;
}
