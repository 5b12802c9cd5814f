/* test_box_permissions.c — who may do what with a box: its mode whatever
 * the umask, its group, read-only handles (asked for, or given to a user
 * who may only read), and a user who may not even read it.  Switching
 * users needs root; without it the tests check what one user can. */
#include <check.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "fusebox.h"
#include "helpers.h"
#include "suites.h"

/* Box names carry the runner's pid, so that the runner (the unchecked
 * teardown) removes whatever a failed or killed test left in /dev/shm. */
#define NAME_PREFIX "bx"
static const char *bx_name(void) { return tname(NAME_PREFIX); }
static void sweep(void) { tsweep(NAME_PREFIX); }

static const mode_t umasks[] = {0, 077, 022, 0777};

START_TEST(mode_default_whatever_umask)
{
	const char *name = bx_name();
	mode_t old = umask(umasks[_i]);
	fbx_box *box = tbox_create_named(name, NULL);
	umask(old);
	char path[128];
	tshm_path(path, name);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_msg((st.st_mode & 07777) == 0600, "umask %03o: mode %03o", umasks[_i],
		      st.st_mode & 07777);
	ck_assert_uint_eq(st.st_uid, geteuid());
	fbx_box_info info;
	ck_assert_int_eq(fbx_box_info_get(box, &info), 0);
	ck_assert_uint_eq(info.capacity.mode, 0600);
	fbx_box_close(box);
	ck_assert_int_eq(fbx_box_unlink(name), 0);
}
END_TEST

static gid_t operators_gid(void)
{
	struct group *g = getgrnam("nogroup");
	return g != NULL ? g->gr_gid : TNOBODY;
}

START_TEST(mode_group)
{
	const char *name = bx_name();
	gid_t gid = operators_gid();
	fbx_box_config cfg;
	tbox_config_small(&cfg);
	cfg.mode = 0660;
	cfg.group = gid;
	cfg.group_set = 1;
	mode_t old = umask(umasks[_i]);
	fbx_box *box = tbox_create_named(name, &cfg);
	umask(old);
	char path[128];
	tshm_path(path, name);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_msg((st.st_mode & 07777) == 0660, "umask %03o: mode %03o", umasks[_i],
		      st.st_mode & 07777);
	ck_assert_uint_eq(st.st_gid, gid);
	fbx_box_info info;
	ck_assert_int_eq(fbx_box_info_get(box, &info), 0);
	ck_assert_uint_eq(info.capacity.mode, 0660);
	ck_assert_int_eq(info.capacity.group_set, 1);
	ck_assert_uint_eq(info.capacity.group, gid);
	/* another handle reads the same figures from the header */
	fbx_box *o;
	ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_RDONLY, NULL, &o), 0);
	ck_assert_int_eq(fbx_box_info_get(o, &info), 0);
	ck_assert_uint_eq(info.capacity.mode, 0660);
	ck_assert_uint_eq(info.capacity.group, gid);
	fbx_box_close(o);
	fbx_box_close(box);
	ck_assert_int_eq(fbx_box_unlink(name), 0);
}
END_TEST

/*
 * Everything a read-only handle may try.  Returns 0 when every write was
 * refused with FBX_ERDONLY and every read worked, else a step number.
 * Used both by the root test and by the child that became "nobody".
 */
static int read_only_checks(fbx_box *ro, uint64_t want_succ)
{
	fbx_box_info info;
	if (fbx_box_info_get(ro, &info) != 0 || info.read_only != 1)
		return 1;
	fbx_snapshot *s = NULL;
	if (fbx_snapshot_new(ro, &s) != 0 || fbx_snapshot_take(ro, s) != 0)
		return 2;
	size_t nb, nl;
	const fbx_breaker_info *bi = fbx_snapshot_breakers(s, &nb);
	fbx_snapshot_limiters(s, &nl);
	if (nb != 1 || nl != 1 || strcmp(bi[0].name, "ro-b") != 0 ||
	    bi[0].successes != want_succ || bi[0].corrupt)
		return 3;
	size_t ne;
	uint64_t dropped;
	const fbx_event *ev = fbx_snapshot_events(s, &ne, &dropped);
	if (ne < 2 || ev[0].kind != FBX_EV_REGISTER || strcmp(ev[0].name, "ro-b") != 0)
		return 4;

	fbx_breaker_config bc;
	tbreaker_config_no_trip(&bc);
	fbx_breaker *b;
	if (fbx_breaker_register(ro, "new-breaker", &bc, &b) != FBX_ERDONLY)
		return 5;
	if (fbx_breaker_register(ro, "ro-b", &bc, &b) != FBX_ERDONLY)
		return 6;
	if (fbx_breaker_find(ro, "ro-b", &b) != 0)
		return 7;
	if (fbx_breaker_trip(b, "nope") != FBX_ERDONLY || fbx_breaker_hold(b, NULL) != FBX_ERDONLY ||
	    fbx_breaker_release(b, NULL) != FBX_ERDONLY || fbx_breaker_reset(b, NULL) != FBX_ERDONLY)
		return 8;
	fbx_permit p;
	int rc = fbx_breaker_allow(b, &p);
	if (rc != 0 && rc != FBX_ERDONLY)
		return 9;
	if (rc == 0 && fbx_breaker_done(b, &p, FBX_FAILURE, 0) != FBX_ERDONLY)
		return 10;
	fbx_limiter_config lc;
	tlim_config(&lc, "10/second", FBX_ALGO_WINDOW, 1, 0, 0);
	fbx_limiter *l;
	if (fbx_limiter_register(ro, "new-limiter", &lc, &l) != FBX_ERDONLY)
		return 11;
	if (fbx_limiter_find(ro, "ro-l", &l) != 0)
		return 12;
	fbx_limit_result res;
	if (fbx_limiter_take(l, NULL, 0, 1, &res) != FBX_ERDONLY)
		return 13;
	if (fbx_limiter_set_rule(l, "5/second", NULL) != FBX_ERDONLY ||
	    fbx_limiter_set_dry_run(l, 1, NULL) != FBX_ERDONLY)
		return 14;

	/* nothing changed */
	if (fbx_snapshot_take(ro, s) != 0)
		return 15;
	bi = fbx_snapshot_breakers(s, &nb);
	const fbx_limiter_info *li = fbx_snapshot_limiters(s, &nl);
	size_t ne2;
	fbx_snapshot_events(s, &ne2, &dropped);
	if (nb != 1 || bi[0].state != FBX_CLOSED || bi[0].failures != 0 ||
	    bi[0].successes != want_succ || nl != 1 || li[0].allowed != 1 ||
	    strcmp(li[0].rule, "10/second") != 0 || li[0].dry_run != 0 || ne2 != ne)
		return 16;
	fbx_snapshot_free(s);
	return 0;
}

START_TEST(read_only_open)
{
	const char *name = bx_name();
	fbx_box *box = tbox_populated(name, 0600);
	fbx_box *ro = NULL;
	ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_RDONLY, NULL, &ro), 0);
	int step = read_only_checks(ro, 4);
	ck_assert_msg(step == 0, "read-only handle failed at step %d", step);

	/* A forced-open breaker through a read-only handle: no crash, no write. */
	fbx_breaker *b, *rb;
	ck_assert_int_eq(fbx_breaker_find(box, "ro-b", &b), 0);
	ck_assert_int_eq(fbx_breaker_trip(b, "maintenance"), 0);
	ck_assert_int_eq(fbx_breaker_find(ro, "ro-b", &rb), 0);
	fbx_permit p;
	int rc = fbx_breaker_allow(rb, &p);
	ck_assert_msg(rc == FBX_ERDONLY || rc == FBX_EOPEN, "allow: %d", rc);
	fbx_snapshot *s = tsnap_of(box);
	ck_assert_int_eq(tsnap_breaker(s, "ro-b")->state, FBX_FORCED_OPEN);
	ck_assert_uint_eq(tsnap_breaker(s, "ro-b")->rejected, 0);
	fbx_snapshot_free(s);
	fbx_box_close(ro);
	fbx_box_close(box);
	ck_assert_int_eq(fbx_box_unlink(name), 0);
}
END_TEST

/* A box owned by root with mode 0600: "nobody" gets FBX_EACCES. */
START_TEST(nonroot_denied)
{
	if (geteuid() != 0) {
		/* Without root we cannot switch users; what we can check is
		 * that our own 0600 box opens read-write for us. */
		const char *name = bx_name();
		fbx_box *box = tbox_create_named(name, NULL), *o;
		ck_assert_int_eq(fbx_box_open(name, 0, NULL, &o), 0);
		fbx_box_close(o);
		fbx_box_close(box);
		fbx_box_unlink(name);
		return;
	}
	char name[40];
	snprintf(name, sizeof(name), "%s", bx_name());
	fbx_box *box = tbox_populated(name, 0600);
	pid_t pid = tfork();
	if (pid == 0) {
		tbecome_nobody();
		fbx_box *o = NULL;
		if (fbx_box_open(name, 0, NULL, &o) != FBX_EACCES || o != NULL)
			_exit(1);
		if (fbx_box_open(name, FBX_OPEN_RDONLY, NULL, &o) != FBX_EACCES)
			_exit(2);
		if (fbx_box_open(name, FBX_OPEN_CREATE, NULL, &o) != FBX_EACCES)
			_exit(3);
		if (fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, NULL, &o) != FBX_EEXIST)
			_exit(4);
		if (fbx_box_unlink(name) != FBX_EACCES)
			_exit(5);
		_exit(0);
	}
	int st = twait(pid);
	ck_assert_msg(st == 0, "child as nobody failed at step %d", st);
	ck_assert(tshm_exists(name));
	fbx_box_close(box);
	ck_assert_int_eq(fbx_box_unlink(name), 0);
}
END_TEST

/* A 0644 box: "nobody" gets a read-only view automatically. */
START_TEST(nonroot_read_only_view)
{
	if (geteuid() != 0) {
		const char *name = bx_name();
		fbx_box *box = tbox_populated(name, 0644), *ro;
		ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_RDONLY, NULL, &ro), 0);
		ck_assert_int_eq(read_only_checks(ro, 4), 0);
		fbx_box_close(ro);
		fbx_box_close(box);
		fbx_box_unlink(name);
		return;
	}
	char name[40];
	snprintf(name, sizeof(name), "%s", bx_name());
	fbx_box *box = tbox_populated(name, 0644);
	pid_t pid = tfork();
	if (pid == 0) {
		tbecome_nobody();
		fbx_box *ro = NULL;
		if (fbx_box_open(name, 0, NULL, &ro) != 0 || ro == NULL)
			_exit(50);
		int step = read_only_checks(ro, 4);
		if (step != 0)
			_exit(step);
		fbx_box_close(ro);
		if (fbx_box_open(name, FBX_OPEN_RDONLY, NULL, &ro) != 0)
			_exit(51);
		step = read_only_checks(ro, 4);
		if (step != 0)
			_exit(20 + step);
		fbx_box_close(ro);
		_exit(0);
	}
	int st = twait(pid);
	ck_assert_msg(st == 0, "child as nobody failed at step %d", st);
	fbx_box_close(box);
	ck_assert_int_eq(fbx_box_unlink(name), 0);
}
END_TEST

FBX_TEST_SUITE(box_permissions)
{
	Suite *s = suite_create("box_permissions");
	TCase *tc = tcase_create("permissions");
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_add_loop_test(tc, mode_default_whatever_umask, 0, (int)ARRAY_LEN(umasks));
	tcase_add_loop_test(tc, mode_group, 0, (int)ARRAY_LEN(umasks));
	tcase_add_test(tc, read_only_open);
	tcase_add_test(tc, nonroot_denied);
	tcase_add_test(tc, nonroot_read_only_view);
	suite_add_tcase(s, tc);
	return s;
}
