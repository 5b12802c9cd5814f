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

START_TEST(create_defaults)
{
	const char *box = new_box();
	OK(box, "create");
	ck_assert_msg(strstr(R.out, box) != NULL, "create says: [%s]", R.out);
	ck_assert_str_eq(R.err, "");
	ck_assert_uint_eq(shm_mode(box, NULL), 0600);

	fbx_box_info info = box_info(box);
	ck_assert_uint_ge(info.capacity.breakers, 256);
	ck_assert_uint_ge(info.capacity.limiters, 64);
	ck_assert_uint_ge(info.capacity.keys, 65536);
	ck_assert_uint_ge(info.capacity.events, 4096);

	const json_t *s = status_json(box);
	ck_assert_uint_eq(json_array_size(jarr(s, "breakers")), 0);
	ck_assert_uint_eq(json_array_size(jarr(s, "limiters")), 0);
	ck_assert_uint_eq(juint(s, "events_dropped"), 0);
	OK(box, "status");
	ck_assert_msg(strstr(R.out, box) != NULL, "status: [%s]", R.out);

	/* ls lists it, with its mode and capacities */
	OK(NULL, "ls");
	const char *line = ls_line(box);
	char name[64], bytes[32], mode[16], owner[64], state[64];
	unsigned nb, nl;
	ck_assert_msg(sscanf(line, "%63s %31s %15s %63s %u %u %63s", name, bytes, mode, owner, &nb,
			     &nl, state) == 7,
		      "ls: [%s]", line);
	ck_assert_str_eq(mode, "0600");
	ck_assert_uint_eq(nb, info.capacity.breakers);
	ck_assert_uint_eq(nl, info.capacity.limiters);
	ck_assert_str_eq(state, "ok");

	OK(box, "destroy");
	ck_assert_str_eq(R.err, "");
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

FBX_TEST_SUITE(ctl_box)
{
	Suite *s = suite_create("ctl_box");
	TCase *tc = ctl_tcase("create", 20);
	tcase_add_test(tc, create_defaults);
	tcase_add_loop_test(tc, create_mode_whatever_umask, 0, (int)ARRAY_LEN(umasks));
	tcase_add_test(tc, create_group);
	tcase_add_test(tc, create_existing);
	suite_add_tcase(s, tc);
	return s;
}
