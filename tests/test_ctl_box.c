/* test_ctl_box.c — fuseboxctl create (from options), destroy and ls: the
 * capacities and mode a box gets whatever the umask, its group, and
 * --exist-ok keeping a box as it is. */
#include <check.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl_harness.h"
#include "ctl_json.h"
#include "fusebox.h"
#include "helpers.h"
#include "suites.h"

/* What create and status say a key costs, with the default log. */
static const char default_keys_line[] =
	"  keys 65536 (32 B each), log keys 4096 x 128 slots (1056 B each, counts up to 127)\n";

START_TEST(create_defaults)
{
	const char *box = new_box();
	OK(box, "create");
	ck_assert_msg(strstr(R.out, box) != NULL, "create says: [%s]", R.out);
	ck_assert_msg(strstr(R.out, default_keys_line) != NULL, "create says: [%s]", R.out);
	ck_assert_msg(strstr(R.out, "room for 256 breakers, 64 limiters, 4096 events, 64 workers, 64 checks"),
		      "create says: [%s]", R.out);
	ck_assert_str_eq(R.err, "");
	ck_assert_uint_eq(shm_mode(box, NULL), 0600);

	fbx_box_info info = box_info(box);
	ck_assert_uint_ge(info.capacity.breakers, 256);
	ck_assert_uint_ge(info.capacity.limiters, 64);
	ck_assert_uint_ge(info.capacity.keys, 65536);
	ck_assert_uint_ge(info.capacity.events, 4096);
	ck_assert_uint_eq(info.capacity.log_keys, 4096);
	ck_assert_uint_eq(info.capacity.log_slots, 128);

	const json_t *s = status_json(box);
	const json_t *cap = jobj(s, "capacity");
	ck_assert_uint_eq(juint(cap, "bytes"), info.total_size);
	ck_assert_uint_eq(juint(cap, "keys"), 65536);
	ck_assert_uint_eq(juint(cap, "key_bytes"), 32);
	ck_assert_uint_eq(juint(cap, "log_keys"), 4096);
	ck_assert_uint_eq(juint(cap, "log_slots"), 128);
	ck_assert_uint_eq(juint(cap, "log_key_bytes"), 1056);
	ck_assert_uint_eq(juint(cap, "log_count_max"), 127);
	ck_assert_uint_eq(juint(cap, "breakers"), info.capacity.breakers);
	ck_assert_uint_eq(json_array_size(jarr(s, "breakers")), 0);
	ck_assert_uint_eq(json_array_size(jarr(s, "limiters")), 0);
	ck_assert_uint_eq(juint(s, "events_dropped"), 0);
	OK(box, "status");
	ck_assert_msg(strstr(R.out, box) != NULL, "status: [%s]", R.out);
	ck_assert_msg(strstr(R.out, default_keys_line) != NULL, "status: [%s]", R.out);

	/* ls lists it, with its mode and capacities */
	OK(NULL, "ls");
	const char *line = ls_line(box);
	char name[64], bytes[32], mode[16], owner[64], state[64];
	unsigned nb, nl;
	ck_assert_msg(sscanf(line, "%63s %31s %15s %63s %u %u %63s", name, bytes, mode, owner, &nb,
			     &nl, state) == 7,
		      "ls: [%s]", line);
	ck_assert_str_eq(mode, "0600");
	/* the headers say these are capacities, and the boxes come by name */
	ck_assert_msg(strncmp(R.out, "BOX ", 4) == 0 && strstr(R.out, " BREAKER_CAP LIMITER_CAP STATE\n"),
		      "ls: [%.200s]", R.out);
	const char *row = strchr(R.out, '\n');
	char prev[64] = "";
	for (; row != NULL && row[1] != '\0'; row = strchr(row + 1, '\n')) {
		char this[64];
		ck_assert_int_eq(sscanf(row + 1, "%63s", this), 1);
		ck_assert_msg(strcmp(prev, this) < 0, "ls: %s listed before %s", prev, this);
		snprintf(prev, sizeof(prev), "%s", this);
	}
	ck_assert_uint_eq(nb, info.capacity.breakers);
	ck_assert_uint_eq(nl, info.capacity.limiters);
	ck_assert_str_eq(state, "ok");

	OK(box, "destroy");
	ck_assert_str_eq(R.err, "");
	char said[96];
	snprintf(said, sizeof(said), "destroyed box %s\n", box);
	ck_assert_str_eq(R.out, said);
	ck_assert(!tshm_exists(box));
	FAILS("does not exist", box, "destroy");
	FAILS("does not exist", box, "status");
}
END_TEST

static const mode_t umasks[] = {0, 022, 077, 0777};

START_TEST(create_mode_whatever_umask)
{
	const char *box = new_box();
	struct spawn_opts o = {.set_umask = true, .umask = umasks[_i]};
	EXPECT_AS(&o, 0, box, "create", "--mode", "0660", "--keys", "256");
	ck_assert_uint_eq(shm_mode(box, NULL), 0660);
	if (_i == 0) { /* ls opens every box on the host: once is enough */
		OK(NULL, "ls");
		const char *line = ls_line(box);
		ck_assert_msg(strstr(line, " 0660 ") != NULL, "ls: [%s]", line);
	}
	/* a config file's [box] mode too */
	const char *box2 = new_box();
	const char *cfg = tfile("[box]\nmode = 0640\nkeys = 256\n");
	EXPECT_AS(&o, 0, box2, "create", "--config", cfg);
	ck_assert_uint_eq(shm_mode(box2, NULL), 0640);
	unlink(cfg);
}
END_TEST

static const char *nobody_group(void)
{
	struct group *g = getgrgid(TNOBODY);
	static char name[64];
	snprintf(name, sizeof(name), "%s", g ? g->gr_name : "65534");
	return name;
}

START_TEST(create_group)
{
	const char *box = new_box();
	OK(box, "create", "--mode", "0660", "--group", nobody_group(), "--keys", "256");
	gid_t gid;
	ck_assert_uint_eq(shm_mode(box, &gid), 0660);
	ck_assert_uint_eq(gid, TNOBODY);
	const char *box2 = new_box();
	FAILS("no_such_group_fbx", box2, "create", "--group", "no_such_group_fbx");
	ck_assert(!tshm_exists(box2));
	/* the group can write: as nobody (gid 65534 only) */
	if (geteuid() == 0) {
		OK(box, "breaker", "add", "g");
		struct spawn_opts nob = {.nobody = true};
		EXPECT_AS(&nob, 0, box, "breaker", "record", "g", "success");
		ck_assert_uint_eq(breaker_count(box, "g", "successes"), 1);
	}
}
END_TEST

START_TEST(create_existing)
{
	const char *box = new_box();
	OK(box, "create");
	OK(box, "breaker", "add", "keep");
	OK(box, "breaker", "record", "keep", "failure");
	FAILS("exists", box, "create");
	ck_assert(tshm_exists(box));
	OK(box, "create", "--exist-ok");
	ck_assert_msg(strstr(R.out, "kept") != NULL, "create --exist-ok says [%s]", R.out);
	/* the box was kept as it was */
	ck_assert_uint_eq(breaker_count(box, "keep", "failures"), 1);
	/* capacities that differ from the box's */
	FAILS("breakers", box, "create", "--exist-ok", "--breakers", "16");
	ck_assert(tshm_exists(box));
	ck_assert_uint_eq(breaker_count(box, "keep", "failures"), 1);

	const char *small = new_box();
	OK(small, "create", "--keys", "1024", "--events", "32");
	OK(small, "create", "--exist-ok", "--keys", "1024", "--events", "32");
	FAILS("keys", small, "create", "--exist-ok", "--keys", "2048", "--events", "32");
	FAILS("events", small, "create", "--exist-ok", "--keys", "1024", "--events", "64");
	EXPECT(2, small, "create", "--exist-ok");
	one_error_line(NULL);
	OK(small, "status");
}
END_TEST

/* --log-keys and --log-slots: the box gets them, create and status say
 * what a key of the log costs, and a bad value names the rule. */
START_TEST(create_log_capacities)
{
	const char *box = new_box();
	OK(box, "create", "--keys", "256", "--log-keys", "100", "--log-slots", "1024");
	static const char line[] =
		"  keys 256 (32 B each), log keys 100 x 1024 slots (8224 B each, counts up to 1023)\n";
	ck_assert_msg(strstr(R.out, line) != NULL, "create says: [%s]", R.out);
	fbx_box_info info = box_info(box);
	ck_assert_uint_eq(info.capacity.log_keys, 100);
	ck_assert_uint_eq(info.capacity.log_slots, 1024);
	ck_assert_uint_eq(info.log_key_bytes, 8224);
	ck_assert_uint_eq(info.log_count_max, 1023);
	OK(box, "status");
	ck_assert_msg(strstr(R.out, line) != NULL, "status says: [%s]", R.out);
	const json_t *cap = jobj(status_json(box), "capacity");
	ck_assert_uint_eq(juint(cap, "log_keys"), 100);
	ck_assert_uint_eq(juint(cap, "log_slots"), 1024);
	ck_assert_uint_eq(juint(cap, "log_key_bytes"), 8224);
	ck_assert_uint_eq(juint(cap, "log_count_max"), 1023);
	/* counts up to 1,000 fit the log of this box */
	OK(box, "limiter", "add", "k", "--rate", "1000/minute", "--keyed");
	ck_assert_str_eq(jstr(limiter_json(box, "k"), "algorithm"), "log");
	/* --exist-ok: the log's capacities must match too */
	OK(box, "create", "--exist-ok", "--keys", "256", "--log-keys", "100", "--log-slots", "1024");
	FAILS("log_slots = 1024, not 512", box, "create", "--exist-ok", "--keys", "256",
	      "--log-keys", "100", "--log-slots", "512");
	FAILS("log_keys = 100, not 4096", box, "create", "--exist-ok", "--keys", "256",
	      "--log-slots", "1024");

	/* 0: no log at all, and the box is smaller for it */
	const char *nolog = new_box();
	OK(nolog, "create", "--keys", "256", "--log-slots", "0");
	ck_assert_msg(strstr(R.out, "  keys 256 (32 B each), no log (log_slots 0)\n") != NULL,
		      "create says: [%s]", R.out);
	const char *withlog = new_box();
	OK(withlog, "create", "--keys", "256");
	ck_assert_uint_lt(box_info(nolog).total_size, box_info(withlog).total_size);
	ck_assert_uint_eq(box_info(nolog).log_key_bytes, 0);
	/* log slots without log keys: global log limiters only */
	const char *global = new_box();
	OK(global, "create", "--keys", "256", "--log-keys", "0", "--log-slots", "64");
	ck_assert_msg(strstr(R.out, "log of 64 slots for global limiters only (no log keys; counts "
				    "up to 63)") != NULL,
		      "create says: [%s]", R.out);

	/* bad values: the message names the rule, and no box is made */
	static const char *const bad_slots[] = {"100", "1", "3", "131072", "abc", "-2", "", "0x80"};
	for (size_t i = 0; i < ARRAY_LEN(bad_slots); i++) {
		const char *b = new_box();
		EXPECT(2, b, "create", "--log-slots", bad_slots[i]);
		char want[160];
		snprintf(want, sizeof(want),
			 "fuseboxctl: --log-slots: '%s' is not 0 or a power of two from 2 to 65536\n",
			 bad_slots[i]);
		ck_assert_str_eq(R.err, want);
		ck_assert_str_eq(R.out, "");
		ck_assert(!tshm_exists(b));
	}
	static const char *const bad_keys[] = {"-1", "67108865", "lots"};
	for (size_t i = 0; i < ARRAY_LEN(bad_keys); i++) {
		const char *b = new_box();
		FAILS("--log-keys", b, "create", "--log-keys", bad_keys[i]);
		ck_assert(!tshm_exists(b));
	}
}
END_TEST

/* The config file's [box] takes log_keys and log_slots, and a log
 * limiter that the log would not hold is refused before anything is made. */
START_TEST(create_log_capacities_config)
{
	const char *box = new_box();
	const char *cfg = tfile("[box]\nkeys = 256\nlog_keys = 64\nlog_slots = 2048\n"
				"[limiter exact]\nrate = 1000/minute\nalgo = log\nkeyed = yes\n");
	OK(box, "create", "--config", cfg);
	fbx_box_info info = box_info(box);
	ck_assert_uint_eq(info.capacity.log_keys, 64);
	ck_assert_uint_eq(info.capacity.log_slots, 2048);
	ck_assert_str_eq(jstr(limiter_json(box, "exact"), "algorithm"), "log");
	unlink(cfg);

	const char *b2 = new_box();
	cfg = tfile("[box]\nlog_slots = 100\n");
	EXPECT(2, b2, "create", "--config", cfg);
	char want[256];
	snprintf(want, sizeof(want),
		 "fuseboxctl: %s:2: log_slots: '100' is not 0 or a power of two from 2 to 65536\n",
		 cfg);
	ck_assert_str_eq(R.err, want);
	ck_assert(!tshm_exists(b2));
	unlink(cfg);

	/* the default log (128 slots) and a rule of 200: the section's line */
	cfg = tfile("[box]\nkeys = 256\n\n[limiter exact]\nrate = 200/minute\nalgo = log\n");
	EXPECT(2, b2, "create", "--config", cfg);
	snprintf(want, sizeof(want),
		 "fuseboxctl: %s:4: limiter 'exact': the box's log holds counts up to 127 "
		 "(log_slots 128), not 200; use algo = window, or a larger log_slots\n",
		 cfg);
	ck_assert_str_eq(R.err, want);
	ck_assert(!tshm_exists(b2));
	/* the option makes room for it */
	OK(b2, "create", "--config", cfg, "--log-slots", "256");
	ck_assert_str_eq(jstr(limiter_json(b2, "exact"), "algorithm"), "log");
	unlink(cfg);
}
END_TEST

FBX_TEST_SUITE(ctl_box)
{
	Suite *s = suite_create("ctl_box");
	TCase *tc = ctl_tcase("create", 20);
	tcase_add_test(tc, create_defaults);
	tcase_add_loop_test(tc, create_mode_whatever_umask, 0, (int)ARRAY_LEN(umasks));
	tcase_add_test(tc, create_group);
	tcase_add_test(tc, create_existing);
	tcase_add_test(tc, create_log_capacities);
	tcase_add_test(tc, create_log_capacities_config);
	suite_add_tcase(s, tc);
	return s;
}
