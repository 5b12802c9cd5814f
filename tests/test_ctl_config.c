/* test_ctl_config.c — fuseboxctl create --config: a good file, every kind
 * of bad line (the message names the file and the line, and no box is
 * made), and --exist-ok applying all of a file or none of it. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_harness.h"
#include "ctl_json.h"
#include "fusebox.h"
#include "helpers.h"
#include "suites.h"

static const char good_config[] =
	"# fusebox for the test\n"
	"[box]\n"
	"breakers = 32\n"
	"limiters = 8\n"
	"keys = 1024\n"
	"events = 128\n"
	"mode = 0640\n"
	"\n"
	"; breakers\n"
	"[breaker embedding_service]\n"
	"fail_max = 7\n"
	"reset_timeout = 30s\n"
	"reset_max = 2m\n"
	"trial_lease = 1500ms\n"
	"half_open = 2\n"
	"success_threshold = 3\n"
	"\n"
	"[breaker ratey]\n"
	"fail_max = 0\n"
	"failure_rate = 50\n"
	"window = 1h\n"
	"min_calls = 5\n"
	"slow_call = 2s\n"
	"slow_rate = 40\n"
	"\n"
	"  [limiter vector_search]  \n"
	"\trate = 100/minute\n"
	"  keyed = yes\n"
	"[limiter bursty]\n"
	"rate=10 per second\n"
	"algo = gcra\n"
	"burst = 5\n"
	"dry_run = on\n";

START_TEST(create_config)
{
	const char *box = new_box();
	const char *cfg = tfile(good_config);
	OK(box, "create", "--config", cfg);
	ck_assert_msg(strstr(R.out, "2 breakers") && strstr(R.out, "2 limiters"), "[%s]", R.out);
	ck_assert_uint_eq(shm_mode(box, NULL), 0640);
	fbx_box_info info = box_info(box);
	ck_assert_uint_eq(info.capacity.breakers, 32);
	ck_assert_uint_eq(info.capacity.limiters, 8);
	ck_assert_uint_eq(info.capacity.keys, 1024);
	ck_assert_uint_eq(info.capacity.events, 128);

	const json_t *c = jobj(breaker_json(box, "embedding_service"), "config");
	ck_assert_uint_eq(juint(c, "fail_max"), 7);
	ck_assert_uint_eq(juint(c, "reset_timeout_ms"), 30000);
	ck_assert_uint_eq(juint(c, "reset_timeout_max_ms"), 120000);
	ck_assert_uint_eq(juint(c, "trial_lease_ms"), 1500);
	ck_assert_uint_eq(juint(c, "half_open_max"), 2);
	ck_assert_uint_eq(juint(c, "success_threshold"), 3);
	c = jobj(breaker_json(box, "ratey"), "config");
	ck_assert_uint_eq(juint(c, "fail_max"), 0);
	ck_assert_uint_eq(juint(c, "failure_rate_pct"), 50);
	ck_assert_uint_eq(juint(c, "window_calls"), 0);
	ck_assert_uint_eq(juint(c, "window_ms"), 3600000);
	ck_assert_uint_eq(juint(c, "min_calls"), 5);
	ck_assert_uint_eq(juint(c, "slow_call_ms"), 2000);
	ck_assert_uint_eq(juint(c, "slow_rate_pct"), 40);

	const json_t *l = limiter_json(box, "vector_search");
	ck_assert_str_eq(jstr(l, "rule"), "100/minute");
	/* no algo: auto, and 100 fits the default log */
	ck_assert_str_eq(jstr(l, "algorithm"), "log");
	ck_assert(jbool(l, "keyed"));
	ck_assert(!jbool(l, "dry_run"));
	l = limiter_json(box, "bursty");
	ck_assert_str_eq(jstr(l, "rule"), "10/second");
	ck_assert_str_eq(jstr(l, "algorithm"), "gcra");
	ck_assert_uint_eq(juint(l, "burst"), 5);
	ck_assert(!jbool(l, "keyed"));
	ck_assert(jbool(l, "dry_run"));

	/* the same file again with --exist-ok: accepted, nothing changes */
	OK(box, "breaker", "record", "embedding_service", "failure");
	OK(box, "create", "--exist-ok", "--config", cfg);
	ck_assert_uint_eq(breaker_count(box, "embedding_service", "failures"), 1);
	unlink(cfg);
}
END_TEST

static const struct bad_config {
	const char *text;
	int line; /* the line the message names; 0: only the file */
	const char *what;
} bad_configs[] = {
	{"[breaker a]\nfail_max 5\n", 2, "key = value"},
	{"[breaker a]\n= 5\n", 2, "key = value"},
	{"[breaker a]\nfail_max =\n", 2, "key = value"},
	{"[breaker a]\nfail_maxx = 5\n", 2, "fail_maxx"},
	{"[breaker a]\nfail_max = 5\n\n[breaker a]\nfail_max = 6\n", 4, "duplicate"},
	{"[limiter l]\nrate = 5/minute\n[limiter l]\nrate = 5/minute\n", 3, "duplicate"},
	{"[box]\nbreakers = 8\n[box]\n", 3, "duplicate"},
	{"[limiter l]\nrate = 100/fortnight\n", 2, "100/fortnight"},
	{"[limiter l]\nrate = 0/minute\n", 2, "0/minute"},
	{"[limiter l]\nrate = abc\n", 2, "abc"},
	{"[limiter l]\nrate = 10/\n", 2, "10/"},
	{"[breakr a]\n", 1, "[breaker NAME]"},
	{"[breaker]\n", 1, "[breaker NAME]"},
	{"[breaker a b]\n", 1, "a b"},
	{"[box\n", 1, "[box]"},
	{"fail_max = 5\n", 1, "outside"},
	{"[breaker a]\nreset_timeout = 5x\n", 2, "5x"},
	{"[breaker a]\nreset_timeout = -1s\n", 2, "-1s"},
	{"[breaker a]\nfail_max = -1\n", 2, "-1"},
	{"[breaker a]\nfail_max = lots\n", 2, "lots"},
	{"[box]\nbreakers = lots\n", 2, "lots"},
	{"[box]\nflavour = mint\n", 2, "flavour"},
	{"[box]\nmode = 0999\n", 2, "mode"},
	{"[box]\ngroup = no_such_group_fbx\n", 2, "no_such_group_fbx"},
	{"# ok so far\n[breaker ok]\n[limiter l]\nrate = 10/minute\nalgo = leaky\n", 5, "leaky"},
	{"[limiter l]\nrate = 10/minute\nkeyed = maybe\n", 3, "maybe"},
	/* found when the section is checked as a whole: the section's line */
	{"\n\n[limiter l]\nalgo = gcra\n", 3, "rate"},
	{"[breaker ok]\n[breaker a]\nfail_max = 0\n", 2, "fail_max"},
	{"[limiter l]\nrate = 10/minute\nalgo = gcra\nburst = 16777216\n", 4, "16777215"},
	{"[box]\nlog_slots = 100\n", 2, "power of two"},
	{"[box]\nlog_keys = lots\n", 2, "log_keys"},
	{"[box]\nlog_slots = 16\n[limiter l]\nrate = 16/second\nalgo = log\n", 3, "log_slots 16"},
	{"[box]\nlog_keys = 0\n[limiter l]\nrate = 1/second\nalgo = log\nkeyed = yes\n", 3,
	 "log_keys"},
	{"[breaker a]\nhalf_open = 0\n", 2, "half_open"},
	{"[box]\nbreakers = 1\n[breaker a]\n[breaker b]\n", 0, "fit"},
};

START_TEST(create_config_bad)
{
	const struct bad_config *c = &bad_configs[_i];
	const char *box = new_box();
	const char *cfg = tfile(c->text);
	FAILS(c->what, box, "create", "--config", cfg);
	char where[160];
	if (c->line > 0)
		snprintf(where, sizeof(where), "fuseboxctl: %s:%d: ", cfg, c->line);
	else
		snprintf(where, sizeof(where), "fuseboxctl: %s", cfg);
	ck_assert_msg(strncmp(R.err, where, strlen(where)) == 0, "expected [%s...], got [%s]", where,
		      R.err);
	ck_assert_msg(!tshm_exists(box), "a box was created from a bad config");
	unlink(cfg);
}
END_TEST

START_TEST(create_config_unreadable)
{
	const char *box = new_box();
	FAILS("/nonexistent/fbx.ini", box, "create", "--config", "/nonexistent/fbx.ini");
	ck_assert(!tshm_exists(box));
	/* a bad config with --exist-ok on a box that exists: the box is kept as is */
	const char *have = lib_box();
	const char *cfg = tfile("[breaker new_one]\n[limiter l]\nrate = 1/fortnight\n");
	FAILS("1/fortnight", have, "create", "--exist-ok", "--config", cfg);
	ck_assert(tshm_exists(have));
	FAILS("no breaker", have, "breaker", "show", "new_one");
	unlink(cfg);
}
END_TEST

/* --exist-ok with a declared record that conflicts with the box: exit 2 and
 * nothing applied, not even the records declared before the conflict. */
START_TEST(create_exist_ok_nothing_half_applied)
{
	const char *box = new_box();
	const char *first = tfile("[box]\nkeys = 256\n[limiter api]\nrate = 100/minute\nalgo = gcra\n"
				  "burst = 5\n");
	OK(box, "create", "--config", first);
	/* the same limiter with another burst, after a new breaker */
	const char *second = tfile("[box]\nkeys = 256\n[breaker newcomer]\nfail_max = 3\n"
				   "[limiter api]\nrate = 100/minute\nalgo = gcra\nburst = 3\n");
	FAILS("api", box, "create", "--exist-ok", "--config", second);
	int rc = ctl(box, "breaker", "show", "newcomer", (const char *)NULL);
	ck_assert_msg(rc == 2, "breaker 'newcomer' was registered by a create --exist-ok that "
		      "failed: half-applied");
	/* and a breaker conflict names the setting */
	const char *third = tfile("[box]\nkeys = 256\n[breaker b]\nfail_max = 3\n");
	OK(box, "create", "--exist-ok", "--config", third);
	const char *fourth = tfile("[box]\nkeys = 256\n[breaker b]\nfail_max = 4\n");
	FAILS("fail_max", box, "create", "--exist-ok", "--config", fourth);
	ck_assert_uint_eq(juint(jobj(breaker_json(box, "b"), "config"), "fail_max"), 3);
	unlink(first);
	unlink(second);
	unlink(third);
	unlink(fourth);
}
END_TEST

/* GCRA limits only the library's own rules refuse (calls closer than
 * 1 ns; a burst running more than 2^61 ns ahead) are refused with the
 * rest of the file, before anything is made: on an existing box with
 * --exist-ok, the records declared before them are not registered. */
static const struct {
	const char *limiter, *what;
} refused_gcra[] = {
	{"[limiter fast]\nrate = 4000000000/second\nalgo = gcra\n", "nanosecond"},
	{"[limiter slow]\nrate = 1/year\nalgo = gcra\nburst = 100\n", "lower the burst"},
	{"[limiter two]\nrate = 10/second;4000000000/second\nalgo = gcra\nburst = 2\n",
	 "and 4000000000/second is faster"},
};

START_TEST(create_exist_ok_gcra_refused_up_front)
{
	const char *have = lib_box();
	char text[256];
	snprintf(text, sizeof(text), "[breaker newcomer]\nfail_max = 3\n%s", refused_gcra[_i].limiter);
	const char *cfg = tfile(text);
	FAILS(refused_gcra[_i].what, have, "create", "--exist-ok", "--config", cfg);
	char where[160];
	snprintf(where, sizeof(where), "fuseboxctl: %s:3: limiter '", cfg);
	ck_assert_msg(strncmp(R.err, where, strlen(where)) == 0, "expected [%s...], got [%s]", where,
		      R.err);
	ck_assert_msg(ctl(have, "breaker", "show", "newcomer", (const char *)NULL) == 2,
		      "breaker 'newcomer' was registered by a create --exist-ok that failed");
	ck_assert_ptr_null(ready_box_change(have));
	/* and on no box: none made */
	const char *box = new_box();
	FAILS(refused_gcra[_i].what, box, "create", "--config", cfg);
	ck_assert(!tshm_exists(box));
	unlink(cfg);
}
END_TEST

FBX_TEST_SUITE(ctl_config)
{
	Suite *s = suite_create("ctl_config");
	TCase *tc = ctl_tcase("config", 20);
	tcase_add_test(tc, create_config);
	tcase_add_loop_test(tc, create_config_bad, 0, (int)ARRAY_LEN(bad_configs));
	tcase_add_test(tc, create_config_unreadable);
	tcase_add_test(tc, create_exist_ok_nothing_half_applied);
	tcase_add_loop_test(tc, create_exist_ok_gcra_refused_up_front, 0,
			    (int)ARRAY_LEN(refused_gcra));
	suite_add_tcase(s, tc);
	return s;
}
