/* test_box.c — the box itself: create, open, attach, unlink, what
 * fbx_box_info_get() says, FBX_OPEN_THREADS, and the arguments open
 * refuses (names, flags, capacities). */
#include <check.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fusebox.h"
#include "helpers.h"
#include "suites.h"
#include "../lib/internal.h" /* the segment layout */

/* Box names carry the runner's pid, so that the runner (the unchecked
 * teardown) removes whatever a failed or killed test left in /dev/shm. */
#define NAME_PREFIX "bx"
static const char *bx_name(void) { return tname(NAME_PREFIX); }
static void sweep(void) { tsweep(NAME_PREFIX); }

START_TEST(create_open_info)
{
	char name[40], path[128];
	snprintf(name, sizeof(name), "%s", bx_name());
	fbx_box_config cfg;
	tbox_config_small(&cfg);
	cfg.breakers = 17;
	cfg.limiters = 9;
	cfg.keys = 300;
	cfg.events = 33;
	cfg.workers = 5;
	cfg.checks = 7;
	fbx_box *a = tbox_create_named(name, &cfg);

	fbx_box_info info;
	ck_assert_int_eq(fbx_box_info_get(a, &info), 0);
	ck_assert_str_eq(info.name, name);
	ck_assert_uint_eq(info.layout_version, FBX__LAYOUT_VERSION);
	ck_assert_uint_eq(info.capacity.breakers, 17);
	ck_assert_uint_eq(info.capacity.limiters, 9);
	ck_assert_uint_eq(info.capacity.keys, 300);
	ck_assert_uint_eq(info.capacity.events, 33);
	ck_assert_uint_eq(info.capacity.workers, 5);
	ck_assert_uint_eq(info.capacity.checks, 7);
	ck_assert_uint_eq(info.capacity.mode, 0600);
	ck_assert_int_eq(info.capacity.group_set, 0);
	ck_assert_int_eq(info.creator_pid, getpid());
	ck_assert_int_eq(info.read_only, 0);
	ck_assert_uint_gt(info.created_ns, 0);
	ck_assert_uint_gt(info.total_size, 0);
	struct stat st;
	tshm_path(path, name);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq((uint64_t)st.st_size, info.total_size);

	/* A second handle sees the same box, records included. */
	fbx_breaker_config bc;
	tbreaker_config_no_trip(&bc);
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(a, "shared", &bc, &b), 0);
	fbx_box *o = NULL;
	ck_assert_int_eq(fbx_box_open(name, 0, NULL, &o), 0);
	fbx_box_info oi;
	ck_assert_int_eq(fbx_box_info_get(o, &oi), 0);
	ck_assert_uint_eq(oi.total_size, info.total_size);
	ck_assert_uint_eq(oi.created_ns, info.created_ns);
	ck_assert_int_eq(oi.creator_pid, info.creator_pid);
	ck_assert_uint_eq(oi.capacity.breakers, 17);
	ck_assert_int_eq(oi.read_only, 0);
	fbx_breaker *ob;
	ck_assert_int_eq(fbx_breaker_find(o, "shared", &ob), 0);
	tbreaker_outcomes(ob, 3, 0, 0);
	fbx_snapshot *s = tsnap_of(a);
	ck_assert_uint_eq(tsnap_breaker(s, "shared")->successes, 3);
	fbx_snapshot_free(s);

	/* CREATE without EXCL attaches, keeping the capacities as created. */
	fbx_box_config other;
	tbox_config_small(&other);
	other.breakers = 99;
	fbx_box *c = NULL;
	ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_CREATE, &other, &c), 0);
	ck_assert_int_eq(fbx_box_info_get(c, &oi), 0);
	ck_assert_uint_eq(oi.capacity.breakers, 17);
	ck_assert_uint_eq(oi.created_ns, info.created_ns);

	/* EXCL on an existing box. */
	fbx_box *x = NULL;
	ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, &cfg, &x),
			 FBX_EEXIST);
	ck_assert_ptr_null(x);

	fbx_box_close(c);
	fbx_box_close(o);
	fbx_box_close(NULL); /* a no-op */

	/* Unlink: gone from /dev/shm, the open handle keeps working. */
	ck_assert_int_eq(fbx_box_unlink(name), 0);
	ck_assert_int_eq(stat(path, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(fbx_box_open(name, 0, NULL, &x), FBX_ENOENT);
	ck_assert_int_eq(fbx_box_unlink(name), FBX_ENOENT);
	tbreaker_outcomes(b, 2, 0, 0);
	s = tsnap_of(a);
	ck_assert_uint_eq(tsnap_breaker(s, "shared")->successes, 5);
	fbx_snapshot_free(s);
	fbx_box_close(a);

	/* The name can be created afresh: a new, empty box. */
	a = tbox_create_named(name, NULL);
	s = tsnap_of(a);
	size_t n;
	fbx_snapshot_breakers(s, &n);
	ck_assert_uint_eq(n, 0);
	fbx_snapshot_free(s);
	fbx_box_close(a);
	ck_assert_int_eq(fbx_box_unlink(name), 0);
}
END_TEST

START_TEST(open_missing)
{
	const char *name = bx_name();
	static const unsigned flags[] = {0, FBX_OPEN_RDONLY};
	for (size_t i = 0; i < ARRAY_LEN(flags); i++) {
		fbx_box *box = NULL;
		ck_assert_int_eq(fbx_box_open(name, flags[i], NULL, &box), FBX_ENOENT);
		ck_assert_ptr_null(box);
	}
	ck_assert(!tshm_exists(name));
	ck_assert_int_eq(fbx_box_unlink(name), FBX_ENOENT);
}
END_TEST

START_TEST(null_arguments)
{
	const char *name = bx_name();
	ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_CREATE, NULL, NULL), FBX_EINVAL);
	ck_assert(!tshm_exists(name));
	fbx_box *box = tbox_create_named(name, NULL);
	fbx_box_info info;
	ck_assert_int_eq(fbx_box_info_get(NULL, &info), FBX_EINVAL);
	ck_assert_int_eq(fbx_box_info_get(box, NULL), FBX_EINVAL);
	ck_assert_int_eq(fbx_box_unlink(NULL), FBX_EINVAL);
	fbx_box_close(box);
	ck_assert_int_eq(fbx_box_unlink(name), 0);
}
END_TEST

/* FBX_OPEN_THREADS: one handle shared by threads loses no count. */
#define T_THREADS 4
#define T_CALLS 20000

static void *thread_calls(void *arg)
{
	fbx_breaker *b = arg;
	fbx_permit p;
	for (int i = 0; i < T_CALLS; i++) {
		if (fbx_breaker_allow(b, &p) != 0 || fbx_breaker_done(b, &p, FBX_SUCCESS, 0) != 0)
			return (void *)1;
	}
	return NULL;
}

START_TEST(threads_flag)
{
	const char *name = bx_name();
	fbx_box_config cfg;
	tbox_config_small(&cfg);
	fbx_box *box = NULL;
	ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL | FBX_OPEN_THREADS,
				      &cfg, &box), 0);
	fbx_box *ro = NULL, *rw = NULL;
	ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_RDONLY | FBX_OPEN_THREADS, NULL, &ro), 0);
	ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_THREADS, NULL, &rw), 0);
	fbx_breaker_config bc;
	tbreaker_config_no_trip(&bc);
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "threads", &bc, &b), 0);
	pthread_t th[T_THREADS];
	for (int i = 0; i < T_THREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, thread_calls, b), 0);
	for (int i = 0; i < T_THREADS; i++) {
		void *ret;
		ck_assert_int_eq(pthread_join(th[i], &ret), 0);
		ck_assert_ptr_null(ret);
	}
	fbx_snapshot *s = tsnap_of(ro);
	ck_assert_uint_eq(tsnap_breaker(s, "threads")->successes, (uint64_t)T_THREADS * T_CALLS);
	fbx_snapshot_free(s);
	fbx_box_close(rw);
	fbx_box_close(ro);
	fbx_box_close(box);
	ck_assert_int_eq(fbx_box_unlink(name), 0);
}
END_TEST

/* The default capacities when cfg is NULL. */
START_TEST(default_config)
{
	const char *name = bx_name();
	fbx_box *box = NULL;
	ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, NULL, &box), 0);
	fbx_box_config def;
	fbx_box_config_init(&def);
	fbx_box_info info;
	ck_assert_int_eq(fbx_box_info_get(box, &info), 0);
	ck_assert_uint_eq(info.capacity.breakers, def.breakers);
	ck_assert_uint_eq(info.capacity.limiters, def.limiters);
	ck_assert_uint_eq(info.capacity.keys, def.keys);
	ck_assert_uint_eq(info.capacity.events, def.events);
	ck_assert_uint_eq(info.capacity.workers, def.workers);
	ck_assert_uint_eq(info.capacity.checks, def.checks);
	ck_assert_uint_eq(info.capacity.mode, 0600);
	fbx_box_close(box);
	ck_assert_int_eq(fbx_box_unlink(name), 0);
}
END_TEST

static const struct bad_name {
	const char *name;
	int err;
} bad_names[] = {
	{ NULL, FBX_EINVAL },
	{ "", FBX_ENAME },
	{ "abcdefghijklmnopqrstuvwxyz0123456", FBX_ENAME }, /* 33 */
	{ "a/b", FBX_ENAME },
	{ ".hidden", FBX_ENAME },
	{ "sp ace", FBX_ENAME },
	{ "tab\t", FBX_ENAME },
	{ "/lead", FBX_ENAME },
	{ "new\nline", FBX_ENAME },
	{ "caf\xc3\xa9", FBX_ENAME },
	{ "star*", FBX_ENAME },
	{ "..", FBX_ENAME },
};

START_TEST(bad_name)
{
	const struct bad_name *t = &bad_names[_i];
	const unsigned flags[] = {FBX_OPEN_CREATE | FBX_OPEN_EXCL, FBX_OPEN_CREATE, 0,
				  FBX_OPEN_RDONLY};
	for (size_t f = 0; f < ARRAY_LEN(flags); f++) {
		fbx_box *box = NULL;
		int rc = fbx_box_open(t->name, flags[f], NULL, &box);
		ck_assert_msg(rc == t->err, "name #%d flags %u: rc %d (%s), want %d", _i,
			      flags[f], rc, fbx_strerror(rc), t->err);
		ck_assert_ptr_null(box);
	}
	ck_assert_int_eq(fbx_name_check_box(t->name), t->err);
	ck_assert_int_eq(fbx_box_unlink(t->name), t->err);
	if (t->name != NULL && strchr(t->name, '/') == NULL && t->name[0] != '\0')
		ck_assert_msg(!tshm_exists(t->name), "name #%d left an object", _i);
}
END_TEST

/* The edges that are allowed. */
START_TEST(good_names)
{
	int pp = (int)getppid(), me = (int)getpid();
	char names[4][80];
	/* 32 characters exactly (cut), unique to this process */
	snprintf(names[0], sizeof(names[0]), NAME_PREFIX "%d_%d_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
		 pp, me);
	names[0][32] = '\0';
	snprintf(names[1], sizeof(names[1]), NAME_PREFIX "%d_%d_A-z_0.9", pp, me);
	snprintf(names[2], sizeof(names[2]), NAME_PREFIX "%d_%d_x.y-Z", pp, me);
	snprintf(names[3], sizeof(names[3]), NAME_PREFIX "%d_%d_trailing.", pp, me);
	ck_assert_uint_eq(strlen(names[0]), 32);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(fbx_name_check_box(names[i]), 0);
		fbx_box *box = tbox_create_named(names[i], NULL);
		fbx_box_info info;
		ck_assert_int_eq(fbx_box_info_get(box, &info), 0);
		ck_assert_str_eq(info.name, names[i]);
		ck_assert(tshm_exists(names[i]));
		fbx_box_close(box);
		ck_assert_int_eq(fbx_box_unlink(names[i]), 0);
		ck_assert(!tshm_exists(names[i]));
	}
}
END_TEST

/* 1 << 3 is FBX_OPEN_THREADS; the first unknown bit is 1 << 4. */
static const unsigned bad_flags[] = {
	1u << 4,
	1u << 31,
	~0u,
	FBX_OPEN_EXCL,
	FBX_OPEN_EXCL | FBX_OPEN_RDONLY,
	FBX_OPEN_RDONLY | FBX_OPEN_CREATE,
	FBX_OPEN_RDONLY | FBX_OPEN_CREATE | FBX_OPEN_EXCL,
	FBX_OPEN_CREATE | (1u << 5),
	FBX_OPEN_CREATE | FBX_OPEN_EXCL | (1u << 4),
};

START_TEST(bad_flag)
{
	const char *name = bx_name();
	fbx_box *box = NULL;
	int rc = fbx_box_open(name, bad_flags[_i], NULL, &box);
	ck_assert_msg(rc == FBX_EINVAL, "flags 0x%x: rc %d", bad_flags[_i], rc);
	ck_assert_ptr_null(box);
	ck_assert(!tshm_exists(name));
	/* and the same flags on an existing box change nothing either */
	fbx_box *real = tbox_create_named(name, NULL);
	box = NULL;
	ck_assert_int_eq(fbx_box_open(name, bad_flags[_i], NULL, &box), FBX_EINVAL);
	ck_assert_ptr_null(box);
	fbx_box_close(real);
	ck_assert_int_eq(fbx_box_unlink(name), 0);
}
END_TEST

static const struct bad_cap {
	const char *what;
	size_t off;
	uint32_t value;
} bad_caps[] = {
	{ "breakers 0", offsetof(fbx_box_config, breakers), 0 },
	{ "limiters 0", offsetof(fbx_box_config, limiters), 0 },
	{ "events 15", offsetof(fbx_box_config, events), 15 },
	{ "events 0", offsetof(fbx_box_config, events), 0 },
	{ "workers 0", offsetof(fbx_box_config, workers), 0 },
	{ "limiters 1024", offsetof(fbx_box_config, limiters), 1024 },
	{ "limiters max", offsetof(fbx_box_config, limiters), UINT32_MAX },
	{ "keys 0", offsetof(fbx_box_config, keys), 0 },
	{ "breakers max", offsetof(fbx_box_config, breakers), UINT32_MAX },
	{ "workers max", offsetof(fbx_box_config, workers), UINT32_MAX },
	{ "mode 010000", offsetof(fbx_box_config, mode), 010000 },
};

START_TEST(bad_capacity)
{
	const struct bad_cap *t = &bad_caps[_i];
	const char *name = bx_name();
	fbx_box_config cfg;
	tbox_config_small(&cfg);
	memcpy((char *)&cfg + t->off, &t->value, sizeof(t->value));
	const unsigned flags[] = {FBX_OPEN_CREATE | FBX_OPEN_EXCL, FBX_OPEN_CREATE};
	for (size_t f = 0; f < ARRAY_LEN(flags); f++) {
		fbx_box *box = NULL;
		int rc = fbx_box_open(name, flags[f], &cfg, &box);
		ck_assert_msg(rc == FBX_EINVAL, "%s: rc %d (%s)", t->what, rc, fbx_strerror(rc));
		ck_assert_ptr_null(box);
		ck_assert_msg(!tshm_exists(name), "%s: object left in /dev/shm", t->what);
	}
}
END_TEST

/* The smallest and largest capacities that are allowed. */
START_TEST(capacity_edges)
{
	const char *name = bx_name();
	fbx_box_config cfg;
	tbox_config_small(&cfg);
	cfg.breakers = 1;
	cfg.limiters = 1023;
	cfg.events = 16;
	cfg.workers = 1;
	cfg.keys = 1;
	cfg.checks = 0;
	fbx_box *box = tbox_create_named(name, &cfg);
	fbx_box_info info;
	ck_assert_int_eq(fbx_box_info_get(box, &info), 0);
	ck_assert_uint_eq(info.capacity.limiters, 1023);
	ck_assert_uint_eq(info.capacity.events, 16);
	ck_assert_uint_eq(info.capacity.breakers, 1);
	fbx_breaker_config bc;
	tbreaker_config_no_trip(&bc);
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "only", &bc, &b), 0);
	ck_assert_int_eq(fbx_breaker_register(box, "second", &bc, &b), FBX_EFULL);
	fbx_box_close(box);
	ck_assert_int_eq(fbx_box_unlink(name), 0);
}
END_TEST

FBX_TEST_SUITE(box)
{
	Suite *s = suite_create("box");
	TCase *tc;

	tc = tcase_create("open");
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_add_test(tc, create_open_info);
	tcase_add_test(tc, open_missing);
	tcase_add_test(tc, null_arguments);
	tcase_add_test(tc, default_config);
	tcase_add_test(tc, threads_flag);
	suite_add_tcase(s, tc);

	tc = tcase_create("arguments");
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_add_loop_test(tc, bad_name, 0, (int)ARRAY_LEN(bad_names));
	tcase_add_test(tc, good_names);
	tcase_add_loop_test(tc, bad_flag, 0, (int)ARRAY_LEN(bad_flags));
	tcase_add_loop_test(tc, bad_capacity, 0, (int)ARRAY_LEN(bad_caps));
	tcase_add_test(tc, capacity_edges);
	suite_add_tcase(s, tc);
	return s;
}
