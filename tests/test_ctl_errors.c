/* test_ctl_errors.c — bad input to fuseboxctl: exit 2, one line on stderr
 * naming the problem, nothing on stdout, and no box made or changed. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_harness.h"
#include "ctl_json.h"
#include "fusebox.h"
#include "helpers.h"
#include "suites.h"

/* "bad usage ... with one line on stderr naming what was wrong" */
START_TEST(no_command_one_line)
{
	const char *box = lib_box();
	FAILS("command", box, NULL);
	FAILS("command", NULL, NULL);
}
END_TEST

enum { ON_BOX, ON_MISSING, RAW };

#define LONG_REASON "0123456789012345678901234567890123456789012345678901234567890123456789"

static const struct bad_input {
	int on;
	const char *args[12];
	const char *what;
} bad_inputs[] = {
	{ON_BOX, {"frobnicate"}, "unknown command 'frobnicate'"},
	{RAW, {"--frob", "status"}, "unknown option '--frob'"},
	{RAW, {"-b"}, "box name"},
	{ON_BOX, {"status", "--frob"}, "--frob"},
	{ON_BOX, {"status", "extra"}, "extra"},
	{ON_BOX, {"events", "--frob"}, "--frob"},
	{ON_BOX, {"metrics", "--frob"}, "--frob"},
	{ON_BOX, {"metrics", "--out"}, "--out"},
	{ON_BOX, {"ls", "extra"}, "ls"},
	{ON_BOX, {"destroy", "extra"}, "destroy"},
	{ON_BOX, {"create"}, "exists"},
	{ON_BOX, {"breaker"}, "action"},
	{ON_BOX, {"breaker", "frob"}, "unknown action 'frob'"},
	{ON_BOX, {"breaker", "add"}, "which breaker"},
	{ON_BOX, {"breaker", "add", "x", "--frob", "1"}, "unknown option '--frob'"},
	{ON_BOX, {"breaker", "add", "x", "--fail-max"}, "needs a value"},
	{ON_BOX, {"breaker", "add", "x", "--fail-max", "-1"}, "'-1'"},
	{ON_BOX, {"breaker", "add", "x", "--fail-max", "abc"}, "'abc'"},
	{ON_BOX, {"breaker", "add", "x", "--fail-max", "5x"}, "'5x'"},
	{ON_BOX, {"breaker", "add", "x", "--fail-max", ""}, "--fail-max"},
	{ON_BOX, {"breaker", "add", "x", "--fail-max", "99999999999"}, "99999999999"},
	{ON_BOX, {"breaker", "add", "x", "--fail-max", "5", "--fail-max", "6"}, "twice"},
	{ON_BOX, {"breaker", "add", "x", "--reset", "5x"}, "'5x'"},
	{ON_BOX, {"breaker", "add", "x", "--reset", "-1s"}, "'-1s'"},
	{ON_BOX, {"breaker", "add", "x", "--reset", "1.5s"}, "'1.5s'"},
	{ON_BOX, {"breaker", "add", "x", "--reset", "10"}, "'10'"},
	{ON_BOX, {"breaker", "add", "x", "--reset", "0s"}, "reset_timeout"},
	{ON_BOX, {"breaker", "add", "x", "--slow-call", "-5ms", "--slow-rate", "50"}, "'-5ms'"},
	{ON_BOX, {"breaker", "add", "x", "--failure-rate", "101"}, "'101'"},
	{ON_BOX, {"breaker", "add", "x", "--failure-rate", "-5"}, "'-5'"},
	{ON_BOX, {"breaker", "add", "x", "--half-open", "17"}, "'17'"},
	{ON_BOX, {"breaker", "add", "x", "--window", "600", "--failure-rate", "50"}, "'600'"},
	{ON_BOX, {"breaker", "add", "x", "--window", "10ms", "--failure-rate", "50"}, "window"},
	{ON_BOX, {"breaker", "add", "x", "--slow-rate", "50"}, "slow_call"},
	{ON_BOX, {"breaker", "add", "x", "--fail-max", "0"}, "fail_max"},
	{ON_BOX, {"breaker", "add", "x", "--reset-max", "10s"}, "reset_timeout_max"},
	{ON_BOX, {"breaker", "add", "x", "--trial-lease", "0ms"}, "trial_lease"},
	{ON_BOX, {"breaker", "add", "x", "--success-threshold", "0"}, "'0'"},
	{ON_BOX, {"breaker", "add", "x", "--failure-rate", "50", "--min-calls", "0"}, "'0'"},
	{ON_BOX, {"breaker", "add", "x", "--half-open", "two"}, "'two'"},
	{ON_BOX, {"breaker", "add", "a b"}, "bad breaker name"},
	{ON_BOX, {"breaker", "add", "x", "y"}, "'y'"},
	{ON_BOX, {"breaker", "add", "b1", "--fail-max", "9"}, "fail_max"},
	{ON_BOX, {"breaker", "record", "b1"}, "usage"},
	{ON_BOX, {"breaker", "record", "b1", "maybe"}, "'maybe'"},
	{ON_BOX, {"breaker", "record", "b1", "success", "--duration", "5x"}, "'5x'"},
	{ON_BOX, {"breaker", "record", "b1", "success", "--duration", "-1s"}, "'-1s'"},
	{ON_BOX, {"breaker", "record", "nosuch", "success"}, "no breaker 'nosuch'"},
	{ON_BOX, {"breaker", "call", "b1", "/bin/true"}, "/bin/true"},
	{ON_BOX, {"breaker", "call", "b1", "--"}, "usage"},
	{ON_BOX, {"breaker", "call", "--", "/bin/true"}, "usage"},
	{ON_BOX, {"breaker", "call", "b1", "--ignore-exit", "abc", "--", "/bin/true"}, "'abc'"},
	{ON_BOX, {"breaker", "call", "b1", "--ignore-exit", "256", "--", "/bin/true"}, "'256'"},
	{ON_BOX, {"breaker", "call", "b1", "--ignore-exit", "-3", "--", "/bin/true"}, "'-3'"},
	{ON_BOX, {"breaker", "call", "b1", "--ignore-exit", ",", "--", "/bin/true"}, "--ignore-exit"},
	{ON_BOX, {"breaker", "call", "nosuch", "--", "/bin/true"}, "no breaker 'nosuch'"},
	{ON_BOX, {"breaker", "trip"}, "usage"},
	{ON_BOX, {"breaker", "trip", "nosuch"}, "no breaker 'nosuch'"},
	{ON_BOX, {"breaker", "hold", "b1", "--reason"}, "needs a value"},
	{ON_BOX, {"breaker", "release", "b1", "--frob"}, "--frob"},
	{ON_BOX, {"breaker", "reset", "b1", "--reason", LONG_REASON}, "--reason"},
	{ON_BOX, {"breaker", "show"}, "usage"},
	{ON_BOX, {"breaker", "show", "nosuch"}, "no breaker 'nosuch'"},
	{ON_BOX, {"limiter"}, "action"},
	{ON_BOX, {"limiter", "frob"}, "unknown action 'frob'"},
	{ON_BOX, {"limiter", "add"}, "usage"},
	{ON_BOX, {"limiter", "add", "x"}, "--rate"},
	{ON_BOX, {"limiter", "add", "x", "--rate", "100/fortnight"}, "100/fortnight"},
	{ON_BOX, {"limiter", "add", "x", "--rate", "0/minute"}, "0/minute"},
	{ON_BOX, {"limiter", "add", "x", "--rate", "abc"}, "'abc'"},
	{ON_BOX, {"limiter", "add", "x", "--rate", "10/"}, "'10/'"},
	{ON_BOX, {"limiter", "add", "x", "--rate", "-10/minute"}, "-10/minute"},
	{ON_BOX, {"limiter", "add", "x", "--rate", "10/minute", "--algo", "leaky"}, "'leaky'"},
	{ON_BOX,
	 {"limiter", "add", "x", "--rate", "10/minute", "--algo", "gcra", "--burst", "16777216"},
	 "16777215"},
	{ON_BOX, {"limiter", "add", "x", "--rate", "1000/minute", "--algo", "log"}, "--log-slots"},
	{ON_BOX, {"limiter", "set", "l1", "--rate", "5/minute", "--reason", "a\tb"},
	 "control character"},
	{ON_BOX, {"limiter", "dry-run", "l1", "on", "--reason", LONG_REASON}, "--reason"},
	{ON_BOX, {"limiter", "add", "x", "--rate", "10/minute", "--burst", "-3"}, "'-3'"},
	{ON_BOX, {"limiter", "add", "x y", "--rate", "10/minute"}, "bad limiter name"},
	{ON_BOX, {"limiter", "add", "l1", "--rate", "7/minute"}, "different"},
	{ON_BOX, {"limiter", "set", "l1"}, "usage"},
	{ON_BOX, {"limiter", "set", "l1", "--rate", "abc"}, "'abc'"},
	{ON_BOX, {"limiter", "set", "l1", "--rate", "1/fortnight"}, "1/fortnight"},
	{ON_BOX, {"limiter", "set", "nosuch", "--rate", "5/minute"}, "no limiter 'nosuch'"},
	{ON_BOX, {"limiter", "dry-run", "l1"}, "on|off"},
	{ON_BOX, {"limiter", "dry-run", "l1", "maybe"}, "on|off"},
	{ON_BOX, {"limiter", "dry-run", "nosuch", "on"}, "no limiter 'nosuch'"},
	{ON_BOX, {"limiter", "take"}, "usage"},
	{ON_BOX, {"limiter", "take", "l1", "--cost", "0"}, "--cost"},
	{ON_BOX, {"limiter", "take", "l1", "--cost", "-1"}, "'-1'"},
	{ON_BOX, {"limiter", "take", "l1", "--cost", "x"}, "'x'"},
	{ON_BOX, {"limiter", "take", "l1", "--cost", "101"}, "l1"},
	{ON_BOX, {"limiter", "take", "l1", "--key", "k"}, "not keyed"},
	{ON_BOX, {"limiter", "take", "lk"}, "--key"},
	{ON_BOX, {"limiter", "take", "nosuch"}, "no limiter 'nosuch'"},
	{ON_BOX, {"limiter", "show", "nosuch"}, "no limiter 'nosuch'"},
	{ON_BOX, {"limiter", "show", "l1", "--frob"}, "--frob"},
	{ON_MISSING, {"status"}, "does not exist"},
	{ON_MISSING, {"status", "--json"}, "does not exist"},
	{ON_MISSING, {"events"}, "does not exist"},
	{ON_MISSING, {"metrics"}, "does not exist"},
	{ON_MISSING, {"destroy"}, "does not exist"},
	{ON_MISSING, {"breaker", "add", "x"}, "does not exist"},
	{ON_MISSING, {"breaker", "show", "b1"}, "does not exist"},
	{ON_MISSING, {"breaker", "trip", "b1"}, "does not exist"},
	{ON_MISSING, {"breaker", "record", "b1", "success"}, "does not exist"},
	{ON_MISSING, {"breaker", "call", "b1", "--", "/bin/true"}, "does not exist"},
	{ON_MISSING, {"limiter", "add", "x", "--rate", "1/second"}, "does not exist"},
	{ON_MISSING, {"limiter", "take", "l1"}, "does not exist"},
	{ON_MISSING, {"limiter", "show", "l1"}, "does not exist"},
	{ON_MISSING, {"create", "--breakers", "0"}, "breakers"},
	{ON_MISSING, {"create", "--breakers", "abc"}, "'abc'"},
	{ON_MISSING, {"create", "--breakers", "-1"}, "'-1'"},
	{ON_MISSING, {"create", "--keys", "1k"}, "'1k'"},
	{ON_MISSING, {"create", "--log-slots", "100"}, "power of two"},
	{ON_MISSING, {"create", "--log-keys", "-1"}, "--log-keys"},
	{ON_MISSING, {"create", "--events", "8"}, "events"},
	{ON_MISSING, {"create", "--mode", "0999"}, "--mode"},
	{ON_MISSING, {"create", "--mode", "rw"}, "--mode"},
	{ON_MISSING, {"create", "--mode", "-0600"}, "--mode"},
	{ON_MISSING, {"create", "--group", "no_such_group_fbx"}, "no_such_group_fbx"},
	{ON_MISSING, {"create", "--config", "/nonexistent/fbx.ini"}, "/nonexistent/fbx.ini"},
	{ON_MISSING, {"create", "--config", "/"}, "'/'"},
	{ON_MISSING, {"create", "--config"}, "needs a value"},
	{ON_MISSING, {"create", "extra"}, "'extra'"},
	{ON_MISSING, {"create", "--frob"}, "--frob"},
};

START_TEST(bad_input)
{
	const struct bad_input *c = &bad_inputs[_i];
	const char *box = c->on == ON_MISSING ? new_box() : lib_box();
	int rc = run_args(NULL, c->on == RAW ? NULL : box, c->args);
	ck_assert_msg(rc == 2, "%s: exit %d, expected 2 (stderr %s)", R.cmd, rc, R.err);
	one_error_line(c->what);
	ck_assert_msg(R.out[0] == '\0', "%s: stdout on error: [%s]", R.cmd, R.out);
	const char *changed = c->on == ON_MISSING ? NULL : ready_box_change(box);
	ck_assert_msg(changed == NULL, "%s: %s", R.cmd, changed);
	if (c->on == ON_MISSING)
		ck_assert_msg(!tshm_exists(box), "%s created the box", R.cmd);
}
END_TEST

static const char *const bad_box_names[] = {
	"a/b", "", ".hidden", "a b", "x\\y", "caf\xc3\xa9", "../../etc/passwd",
	"0123456789abcdef0123456789abcdefX", /* 33 characters */
};

START_TEST(bad_box_name)
{
	const char *name = bad_box_names[_i];
	FAILS("bad box name", name, "status");
	FAILS("bad box name", name, "create");
	FAILS("bad box name", name, "breaker", "trip", "b1");
	char path[128];
	snprintf(path, sizeof(path), "/dev/shm/fusebox.%s", name);
	ck_assert(name[0] == '\0' || !file_exists(path));
	/* through the environment too */
	if (name[0] != '\0') {
		EXPECT_AS(box_env(name), 2, NULL, "status");
		one_error_line("bad box name");
	}
}
END_TEST

FBX_TEST_SUITE(ctl_errors)
{
	Suite *s = suite_create("ctl_errors");
	TCase *tc = ctl_tcase("bad_input", 20);
	tcase_add_test(tc, no_command_one_line);
	tcase_add_loop_test(tc, bad_input, 0, (int)ARRAY_LEN(bad_inputs));
	tcase_add_loop_test(tc, bad_box_name, 0, (int)ARRAY_LEN(bad_box_names));
	suite_add_tcase(s, tc);
	return s;
}
