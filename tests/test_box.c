/* test_box.c — the box itself: create, open, unlink, arguments, permissions,
 * hostile shm objects, racing creators, a registrar that dies holding the
 * registry lock, and handles used across fork(). */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "fusebox.h"
#include "helpers.h"
#include "suites.h"
#include "../lib/internal.h" /* the segment layout, for hostile tests */

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define NOBODY 65534

/* ---- names and clean-up ---------------------------------------------- */

/*
 * Box names carry the runner's pid (the parent of every forked test), so
 * the runner can remove whatever a failed or killed test left in /dev/shm.
 */
#define NAME_PREFIX "bx"

static const char *bx_name(void)
{
	return tname(NAME_PREFIX);
}

/* Unchecked teardown: runs in the runner after each test case. */
static void sweep(void)
{
	tsweep(NAME_PREFIX);
}

static void shm_file(char out[128], const char *name)
{
	snprintf(out, 128, "/dev/shm/fusebox.%.64s", name);
}

static void shm_obj(char out[128], const char *name)
{
	snprintf(out, 128, "/fusebox.%.64s", name);
}

static int shm_exists(const char *name)
{
	char path[128];
	struct stat st;
	shm_file(path, name);
	return stat(path, &st) == 0;
}

static void small_cfg(fbx_box_config *c)
{
	fbx_box_config_init(c);
	c->breakers = 16;
	c->limiters = 8;
	c->keys = 256;
	c->events = 64;
	c->workers = 16;
	c->checks = 4;
}

/* Creates box `name` (exclusive) with cfg or the small defaults. */
static fbx_box *mk_box(const char *name, const fbx_box_config *cfg)
{
	fbx_box_config c;
	if (cfg == NULL) {
		small_cfg(&c);
		cfg = &c;
	}
	fbx_box *box = NULL;
	int rc = fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, cfg, &box);
	ck_assert_msg(rc == 0, "create box %s: %s", name, fbx_strerror(rc));
	ck_assert_ptr_nonnull(box);
	return box;
}

static void bcfg(fbx_breaker_config *c)
{
	fbx_breaker_config_init(c);
	c->fail_max = 1000; /* the tests count outcomes; nothing should trip */
}

static void lcfg(fbx_limiter_config *c, const char *rule)
{
	fbx_limiter_config_init(c);
	c->rule = rule;
}

static void outcomes(fbx_breaker *b, int succ, int fail, int ign)
{
	fbx_permit p;
	for (int i = 0; i < succ + fail + ign; i++) {
		fbx_outcome o = i < succ ? FBX_SUCCESS : i < succ + fail ? FBX_FAILURE : FBX_IGNORED;
		ck_assert_int_eq(fbx_breaker_allow(b, &p), 0);
		ck_assert_int_eq(fbx_breaker_done(b, &p, o, 0), 0);
	}
}

/* The snapshot entry for breaker `name`, or NULL. */
static const fbx_breaker_info *snap_breaker(const fbx_snapshot *s, const char *name)
{
	size_t n;
	const fbx_breaker_info *bi = fbx_snapshot_breakers(s, &n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(bi[i].name, name) == 0)
			return &bi[i];
	return NULL;
}

static const fbx_limiter_info *snap_limiter(const fbx_snapshot *s, const char *name)
{
	size_t n;
	const fbx_limiter_info *li = fbx_snapshot_limiters(s, &n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(li[i].name, name) == 0)
			return &li[i];
	return NULL;
}

static fbx_snapshot *snap_of(fbx_box *box)
{
	fbx_snapshot *s = NULL;
	ck_assert_int_eq(fbx_snapshot_new(box, &s), 0);
	ck_assert_int_eq(fbx_snapshot_take(box, s), 0);
	return s;
}

/* A deterministic byte stream for "foreign" objects. */
static uint8_t noise(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return (uint8_t)(*x >> 24);
}

/* ===================================================================== */
/* open / close / unlink                                                 */
/* ===================================================================== */

START_TEST(create_open_info)
{
	char name[40], path[128];
	snprintf(name, sizeof(name), "%s", bx_name());
	fbx_box_config cfg;
	small_cfg(&cfg);
	cfg.breakers = 17;
	cfg.limiters = 9;
	cfg.keys = 300;
	cfg.events = 33;
	cfg.workers = 5;
	cfg.checks = 7;
	fbx_box *a = mk_box(name, &cfg);

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
	shm_file(path, name);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq((uint64_t)st.st_size, info.total_size);

	/* A second handle sees the same box, records included. */
	fbx_breaker_config bc;
	bcfg(&bc);
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
	outcomes(ob, 3, 0, 0);
	fbx_snapshot *s = snap_of(a);
	ck_assert_uint_eq(snap_breaker(s, "shared")->successes, 3);
	fbx_snapshot_free(s);

	/* CREATE without EXCL attaches, keeping the capacities as created. */
	fbx_box_config other;
	small_cfg(&other);
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
	outcomes(b, 2, 0, 0);
	s = snap_of(a);
	ck_assert_uint_eq(snap_breaker(s, "shared")->successes, 5);
	fbx_snapshot_free(s);
	fbx_box_close(a);

	/* The name can be created afresh: a new, empty box. */
	a = mk_box(name, NULL);
	s = snap_of(a);
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
	ck_assert(!shm_exists(name));
	ck_assert_int_eq(fbx_box_unlink(name), FBX_ENOENT);
}
END_TEST

START_TEST(null_arguments)
{
	const char *name = bx_name();
	ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_CREATE, NULL, NULL), FBX_EINVAL);
	ck_assert(!shm_exists(name));
	fbx_box *box = mk_box(name, NULL);
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
	small_cfg(&cfg);
	fbx_box *box = NULL;
	ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL | FBX_OPEN_THREADS,
				      &cfg, &box), 0);
	fbx_box *ro = NULL, *rw = NULL;
	ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_RDONLY | FBX_OPEN_THREADS, NULL, &ro), 0);
	ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_THREADS, NULL, &rw), 0);
	fbx_breaker_config bc;
	bcfg(&bc);
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
	fbx_snapshot *s = snap_of(ro);
	ck_assert_uint_eq(snap_breaker(s, "threads")->successes, (uint64_t)T_THREADS * T_CALLS);
	fbx_snapshot_free(s);
	fbx_box_close(rw);
	fbx_box_close(ro);
	fbx_box_close(box);
	ck_assert_int_eq(fbx_box_unlink(name), 0);
}
END_TEST

/* The default capacities when cfg is NULL. */
/* The library loaded is the one the header describes. */
START_TEST(version_of_library)
{
	ck_assert_str_eq(fbx_version(), FBX_VERSION_STRING);
	char want[32];
	snprintf(want, sizeof(want), "%d.%d.%d", FBX_VERSION_MAJOR, FBX_VERSION_MINOR,
		 FBX_VERSION_PATCH);
	ck_assert_str_eq(fbx_version(), want);
}
END_TEST

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

/* ===================================================================== */
/* arguments                                                             */
/* ===================================================================== */

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
		ck_assert_msg(!shm_exists(t->name), "name #%d left an object", _i);
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
		fbx_box *box = mk_box(names[i], NULL);
		fbx_box_info info;
		ck_assert_int_eq(fbx_box_info_get(box, &info), 0);
		ck_assert_str_eq(info.name, names[i]);
		ck_assert(shm_exists(names[i]));
		fbx_box_close(box);
		ck_assert_int_eq(fbx_box_unlink(names[i]), 0);
		ck_assert(!shm_exists(names[i]));
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
	ck_assert(!shm_exists(name));
	/* and the same flags on an existing box change nothing either */
	fbx_box *real = mk_box(name, NULL);
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
	small_cfg(&cfg);
	memcpy((char *)&cfg + t->off, &t->value, sizeof(t->value));
	const unsigned flags[] = {FBX_OPEN_CREATE | FBX_OPEN_EXCL, FBX_OPEN_CREATE};
	for (size_t f = 0; f < ARRAY_LEN(flags); f++) {
		fbx_box *box = NULL;
		int rc = fbx_box_open(name, flags[f], &cfg, &box);
		ck_assert_msg(rc == FBX_EINVAL, "%s: rc %d (%s)", t->what, rc, fbx_strerror(rc));
		ck_assert_ptr_null(box);
		ck_assert_msg(!shm_exists(name), "%s: object left in /dev/shm", t->what);
	}
}
END_TEST

/* The smallest and largest capacities that are allowed. */
START_TEST(capacity_edges)
{
	const char *name = bx_name();
	fbx_box_config cfg;
	small_cfg(&cfg);
	cfg.breakers = 1;
	cfg.limiters = 1023;
	cfg.events = 16;
	cfg.workers = 1;
	cfg.keys = 1;
	cfg.checks = 0;
	fbx_box *box = mk_box(name, &cfg);
	fbx_box_info info;
	ck_assert_int_eq(fbx_box_info_get(box, &info), 0);
	ck_assert_uint_eq(info.capacity.limiters, 1023);
	ck_assert_uint_eq(info.capacity.events, 16);
	ck_assert_uint_eq(info.capacity.breakers, 1);
	fbx_breaker_config bc;
	bcfg(&bc);
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "only", &bc, &b), 0);
	ck_assert_int_eq(fbx_breaker_register(box, "second", &bc, &b), FBX_EFULL);
	fbx_box_close(box);
	ck_assert_int_eq(fbx_box_unlink(name), 0);
}
END_TEST

/* ===================================================================== */
/* permissions                                                           */
/* ===================================================================== */

static const mode_t umasks[] = {0, 077, 022, 0777};

START_TEST(mode_default_whatever_umask)
{
	const char *name = bx_name();
	mode_t old = umask(umasks[_i]);
	fbx_box *box = mk_box(name, NULL);
	umask(old);
	char path[128];
	shm_file(path, name);
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
	return g != NULL ? g->gr_gid : NOBODY;
}

START_TEST(mode_group)
{
	const char *name = bx_name();
	gid_t gid = operators_gid();
	fbx_box_config cfg;
	small_cfg(&cfg);
	cfg.mode = 0660;
	cfg.group = gid;
	cfg.group_set = 1;
	mode_t old = umask(umasks[_i]);
	fbx_box *box = mk_box(name, &cfg);
	umask(old);
	char path[128];
	shm_file(path, name);
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
	bcfg(&bc);
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
	lcfg(&lc, "10/second");
	fbx_limiter *l;
	if (fbx_limiter_register(ro, "new-limiter", &lc, &l) != FBX_ERDONLY)
		return 11;
	if (fbx_limiter_find(ro, "ro-l", &l) != 0)
		return 12;
	fbx_limit_result res;
	if (fbx_limiter_take(l, NULL, 0, 1, &res) != FBX_ERDONLY)
		return 13;
	if (fbx_limiter_set_rule(l, "5/second") != FBX_ERDONLY ||
	    fbx_limiter_set_dry_run(l, 1) != FBX_ERDONLY)
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

/* A box with one breaker ("ro-b", 4 successes) and one limiter ("ro-l",
 * one allowed take). */
static fbx_box *populated_box(const char *name, uint32_t mode)
{
	fbx_box_config cfg;
	small_cfg(&cfg);
	cfg.mode = mode;
	fbx_box *box = mk_box(name, &cfg);
	fbx_breaker_config bc;
	bcfg(&bc);
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "ro-b", &bc, &b), 0);
	outcomes(b, 4, 0, 0);
	fbx_limiter_config lc;
	lcfg(&lc, "10/second");
	fbx_limiter *l;
	ck_assert_int_eq(fbx_limiter_register(box, "ro-l", &lc, &l), 0);
	fbx_limit_result res;
	ck_assert_int_eq(fbx_limiter_take(l, NULL, 0, 1, &res), 0);
	return box;
}

START_TEST(read_only_open)
{
	const char *name = bx_name();
	fbx_box *box = populated_box(name, 0600);
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
	fbx_snapshot *s = snap_of(box);
	ck_assert_int_eq(snap_breaker(s, "ro-b")->state, FBX_FORCED_OPEN);
	ck_assert_uint_eq(snap_breaker(s, "ro-b")->rejected, 0);
	fbx_snapshot_free(s);
	fbx_box_close(ro);
	fbx_box_close(box);
	ck_assert_int_eq(fbx_box_unlink(name), 0);
}
END_TEST

static void become_nobody(void)
{
	if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
		_exit(100);
	if (geteuid() != NOBODY || getegid() != NOBODY)
		_exit(101);
}

/* A box owned by root with mode 0600: "nobody" gets FBX_EACCES. */
START_TEST(nonroot_denied)
{
	if (geteuid() != 0) {
		/* Without root we cannot switch users; what we can check is
		 * that our own 0600 box opens read-write for us. */
		const char *name = bx_name();
		fbx_box *box = mk_box(name, NULL), *o;
		ck_assert_int_eq(fbx_box_open(name, 0, NULL, &o), 0);
		fbx_box_close(o);
		fbx_box_close(box);
		fbx_box_unlink(name);
		return;
	}
	char name[40];
	snprintf(name, sizeof(name), "%s", bx_name());
	fbx_box *box = populated_box(name, 0600);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		become_nobody();
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
	ck_assert(shm_exists(name));
	fbx_box_close(box);
	ck_assert_int_eq(fbx_box_unlink(name), 0);
}
END_TEST

/* A 0644 box: "nobody" gets a read-only view automatically. */
START_TEST(nonroot_read_only_view)
{
	if (geteuid() != 0) {
		const char *name = bx_name();
		fbx_box *box = populated_box(name, 0644), *ro;
		ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_RDONLY, NULL, &ro), 0);
		ck_assert_int_eq(read_only_checks(ro, 4), 0);
		fbx_box_close(ro);
		fbx_box_close(box);
		fbx_box_unlink(name);
		return;
	}
	char name[40];
	snprintf(name, sizeof(name), "%s", bx_name());
	fbx_box *box = populated_box(name, 0644);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		become_nobody();
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

/* ===================================================================== */
/* hostile objects                                                       */
/* ===================================================================== */

#define FOREIGN_SIZE (1u << 20)

static void write_foreign(const char *name, uint64_t seed)
{
	char obj[128];
	shm_obj(obj, name);
	int fd = shm_open(obj, O_RDWR | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, FOREIGN_SIZE), 0);
	static uint8_t buf[FOREIGN_SIZE];
	uint64_t x = seed;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = noise(&x);
	ck_assert_int_eq(pwrite(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	close(fd);
}

static int foreign_intact(const char *name, uint64_t seed)
{
	char obj[128];
	shm_obj(obj, name);
	int fd = shm_open(obj, O_RDONLY, 0);
	ck_assert_int_ge(fd, 0);
	static uint8_t buf[FOREIGN_SIZE];
	struct stat st;
	ck_assert_int_eq(fstat(fd, &st), 0);
	int ok = st.st_size == FOREIGN_SIZE &&
		 pread(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf);
	close(fd);
	uint64_t x = seed;
	for (size_t i = 0; ok && i < sizeof(buf); i++)
		ok = buf[i] == noise(&x);
	return ok;
}

static const unsigned open_flags[] = {0, FBX_OPEN_RDONLY, FBX_OPEN_CREATE};

/* Random bytes where a box should be: not a fusebox segment. */
START_TEST(foreign_object)
{
	const char *name = bx_name();
	uint64_t seed = 0x9e3779b97f4a7c15ull + (uint64_t)_i;
	write_foreign(name, seed);
	fbx_box_config cfg;
	small_cfg(&cfg);
	cfg.timeout_ms = 200;
	fbx_box *box = NULL;
	int rc = fbx_box_open(name, open_flags[_i], &cfg, &box);
	ck_assert_msg(rc == FBX_ECORRUPT, "flags %u: rc %d (%s), want FBX_ECORRUPT",
		      open_flags[_i], rc, fbx_strerror(rc));
	ck_assert_ptr_null(box);
	ck_assert_msg(foreign_intact(name, seed), "flags %u: the foreign object was changed",
		      open_flags[_i]);
	ck_assert_int_eq(fbx_box_unlink(name), 0);
}
END_TEST

/* Foreign bytes that even carry ready == 1 where a box keeps it. */
START_TEST(foreign_object_ready)
{
	const char *name = bx_name();
	uint64_t seed = 42;
	write_foreign(name, seed);
	char path[128];
	shm_file(path, name);
	int fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	uint32_t one = 1;
	ck_assert_int_eq(pwrite(fd, &one, 4, offsetof(struct fbx__header, ready)), 4);
	close(fd);
	fbx_box_config cfg;
	small_cfg(&cfg);
	cfg.timeout_ms = 200;
	for (size_t f = 0; f < ARRAY_LEN(open_flags); f++) {
		fbx_box *box = NULL;
		int rc = fbx_box_open(name, open_flags[f], &cfg, &box);
		ck_assert_msg(rc == FBX_ECORRUPT, "flags %u: rc %d (%s)", open_flags[f], rc,
			      fbx_strerror(rc));
		ck_assert_ptr_null(box);
	}
	ck_assert_int_eq(fbx_box_unlink(name), 0);
}
END_TEST

static_assert(offsetof(struct fbx__header, layout_version) == 8,
	      "layout_version is the uint32 after the magic");

/* One header field changed in a valid, closed box. */
static const struct header_damage {
	const char *what;
	size_t off;
	unsigned size; /* 4 or 8 */
	uint64_t value;
	int err;
} header_damages[] = {
	{ "layout_version 3", offsetof(struct fbx__header, layout_version), 4, 3, FBX_EVERSION },
	{ "layout_version 0", offsetof(struct fbx__header, layout_version), 4, 0, FBX_EVERSION },
	{ "layout_version max", offsetof(struct fbx__header, layout_version), 4, UINT32_MAX,
	  FBX_EVERSION },
	{ "magic", offsetof(struct fbx__header, magic), 8, 0x4d4f4f52524f4f44ull, FBX_ECORRUPT },
	{ "header_size", offsetof(struct fbx__header, header_size), 4, 64, FBX_EVERSION },
	{ "fingerprint", offsetof(struct fbx__header, fingerprint), 8, 12345, FBX_EVERSION },
	{ "total_size", offsetof(struct fbx__header, total_size), 8, 1ull << 40, FBX_ECORRUPT },
	{ "cap_breakers 0", offsetof(struct fbx__header, cap_breakers), 4, 0, FBX_ECORRUPT },
	{ "cap_breakers 17", offsetof(struct fbx__header, cap_breakers), 4, 17, FBX_ECORRUPT },
	{ "cap_events max", offsetof(struct fbx__header, cap_events), 4, UINT32_MAX, FBX_ECORRUPT },
	{ "cap_workers 15", offsetof(struct fbx__header, cap_workers), 4, 15, FBX_ECORRUPT },
	{ "key_buckets", offsetof(struct fbx__header, key_buckets), 4, 1u << 30, FBX_ECORRUPT },
	{ "off_events", offsetof(struct fbx__header, off_events), 8, 1ull << 40, FBX_ECORRUPT },
	{ "off_shards", offsetof(struct fbx__header, off_shards), 8, 4096, FBX_ECORRUPT },
	{ "shard_stride", offsetof(struct fbx__header, shard_stride), 8, 1ull << 33, FBX_ECORRUPT },
};

static void poke(const char *name, size_t off, unsigned size, uint64_t value)
{
	char path[128];
	shm_file(path, name);
	int fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	if (size == 4) {
		uint32_t v = (uint32_t)value;
		ck_assert_int_eq(pwrite(fd, &v, 4, (off_t)off), 4);
	} else {
		ck_assert_int_eq(pwrite(fd, &value, 8, (off_t)off), 8);
	}
	close(fd);
}

static uint64_t peek_word(const char *name, size_t off, unsigned size)
{
	char path[128];
	shm_file(path, name);
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	uint64_t v = 0;
	ck_assert_int_eq(pread(fd, &v, size, (off_t)off), (ssize_t)size);
	close(fd);
	return v;
}

/*
 * A box of a newer layout, whose `ready` word lives elsewhere (so ours
 * reads 0): the version says it is not ours to wait for or to initialise.
 */
START_TEST(newer_layout_not_ready_here)
{
	const char *name = bx_name();
	fbx_box *box = populated_box(name, 0600);
	fbx_box_close(box);
	char path[128];
	shm_file(path, name);
	int fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	uint32_t v2 = FBX__LAYOUT_VERSION + 1, zero = 0;
	ck_assert_int_eq(pwrite(fd, &v2, 4, offsetof(struct fbx__header, layout_version)), 4);
	ck_assert_int_eq(pwrite(fd, &zero, 4, offsetof(struct fbx__header, ready)), 4);
	close(fd);
	fbx_box_config cfg;
	small_cfg(&cfg);
	cfg.timeout_ms = 200;
	for (size_t f = 0; f < ARRAY_LEN(open_flags); f++) {
		box = NULL;
		int rc = fbx_box_open(name, open_flags[f], &cfg, &box);
		ck_assert_msg(rc == FBX_EVERSION, "flags %u: rc %d (%s), want FBX_EVERSION",
			      open_flags[f], rc, fbx_strerror(rc));
		ck_assert_ptr_null(box);
		ck_assert_msg(peek_word(name, offsetof(struct fbx__header, layout_version), 4) == v2,
			      "flags %u: the newer box was overwritten", open_flags[f]);
	}
	ck_assert_int_eq(fbx_box_unlink(name), 0);
}
END_TEST

START_TEST(damaged_header)
{
	const struct header_damage *t = &header_damages[_i];
	const char *name = bx_name();
	fbx_box *box = populated_box(name, 0600);
	fbx_box_close(box);
	uint64_t orig = peek_word(name, t->off, t->size);
	poke(name, t->off, t->size, t->value);
	fbx_box_config cfg;
	small_cfg(&cfg);
	cfg.timeout_ms = 200;
	for (size_t f = 0; f < ARRAY_LEN(open_flags); f++) {
		box = NULL;
		int rc = fbx_box_open(name, open_flags[f], &cfg, &box);
		ck_assert_msg(rc == t->err, "%s, flags %u: rc %d (%s), want %d", t->what,
			      open_flags[f], rc, fbx_strerror(rc), t->err);
		ck_assert_ptr_null(box);
	}
	/* Put the field back: the box opens, records intact. */
	poke(name, t->off, t->size, orig);
	ck_assert_int_eq(fbx_box_open(name, 0, NULL, &box), 0);
	fbx_snapshot *s = snap_of(box);
	ck_assert_uint_eq(snap_breaker(s, "ro-b")->successes, 4);
	fbx_snapshot_free(s);
	fbx_box_close(box);
	ck_assert_int_eq(fbx_box_unlink(name), 0);
}
END_TEST

/*
 * A header that is consistent with itself, for a box far larger than the
 * object: mapping what it claims would SIGBUS.
 */
START_TEST(header_claims_more_than_object)
{
	const char *name = bx_name();
	fbx_box *box = populated_box(name, 0600);
	fbx_box_close(box);
	fbx_box_config big;
	small_cfg(&big);
	big.breakers = 4096;
	struct fbx__layout lay;
	ck_assert_int_eq(fbx__layout_compute(&big, &lay), 0);
	poke(name, offsetof(struct fbx__header, cap_breakers), 4, big.breakers);
	poke(name, offsetof(struct fbx__header, total_size), 8, lay.total);
	poke(name, offsetof(struct fbx__header, key_buckets), 4, lay.key_buckets);
	poke(name, offsetof(struct fbx__header, off_breakers), 8, lay.off_breakers);
	poke(name, offsetof(struct fbx__header, off_rings), 8, lay.off_rings);
	poke(name, offsetof(struct fbx__header, off_limiters), 8, lay.off_limiters);
	poke(name, offsetof(struct fbx__header, off_keys), 8, lay.off_keys);
	poke(name, offsetof(struct fbx__header, off_events), 8, lay.off_events);
	poke(name, offsetof(struct fbx__header, off_workers), 8, lay.off_workers);
	poke(name, offsetof(struct fbx__header, off_shards), 8, lay.off_shards);
	poke(name, offsetof(struct fbx__header, off_checks), 8, lay.off_checks);
	poke(name, offsetof(struct fbx__header, shard_stride), 8, lay.shard_stride);
	fbx_box_config cfg;
	small_cfg(&cfg);
	cfg.timeout_ms = 200;
	for (size_t f = 0; f < ARRAY_LEN(open_flags); f++) {
		box = NULL;
		int rc = fbx_box_open(name, open_flags[f], &cfg, &box);
		ck_assert_msg(rc == FBX_ECORRUPT, "flags %u: rc %d (%s)", open_flags[f], rc,
			      fbx_strerror(rc));
		ck_assert_ptr_null(box);
	}
	ck_assert_int_eq(fbx_box_unlink(name), 0);
}
END_TEST

/* Sizes to truncate a valid box to, as a fraction of it or in bytes. */
static const struct cut {
	const char *what;
	int half;
	off_t bytes;
} cuts[] = {
	{ "half", 1, 0 },
	{ "one page", 0, 4096 },
	{ "total - 1", 0, -1 },
	{ "total - 4096", 0, -4096 },
};

START_TEST(truncated_box)
{
	const struct cut *t = &cuts[_i];
	const char *name = bx_name();
	fbx_box *box = populated_box(name, 0600);
	fbx_box_info info;
	ck_assert_int_eq(fbx_box_info_get(box, &info), 0);
	fbx_box_close(box);
	off_t size = t->half ? (off_t)info.total_size / 2
		     : t->bytes > 0 ? t->bytes : (off_t)info.total_size + t->bytes;
	char obj[128];
	shm_obj(obj, name);
	int fd = shm_open(obj, O_RDWR, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, size), 0);
	close(fd);
	fbx_box_config cfg;
	small_cfg(&cfg);
	cfg.timeout_ms = 200;
	for (size_t f = 0; f < ARRAY_LEN(open_flags); f++) {
		box = NULL;
		int rc = fbx_box_open(name, open_flags[f], &cfg, &box);
		ck_assert_msg(rc == FBX_ECORRUPT, "%s, flags %u: rc %d (%s)", t->what,
			      open_flags[f], rc, fbx_strerror(rc));
		ck_assert_ptr_null(box);
	}
	struct stat st;
	char path[128];
	shm_file(path, name);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, size); /* nobody "repaired" it by growing it */
	ck_assert_int_eq(fbx_box_unlink(name), 0);
}
END_TEST

/* An object left at size 0 by a creator that died before ftruncate. */
START_TEST(zero_length_object)
{
	char name[40], obj[128], path[128];
	snprintf(name, sizeof(name), "%s", bx_name());
	shm_obj(obj, name);
	shm_file(path, name);
	int fd = shm_open(obj, O_RDWR | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);

	fbx_box_config cfg;
	small_cfg(&cfg);
	cfg.breakers = 5;
	cfg.timeout_ms = 200;
	static const unsigned waiters[] = {0, FBX_OPEN_RDONLY};
	for (size_t f = 0; f < ARRAY_LEN(waiters); f++) {
		fbx_box *box = NULL;
		int rc = fbx_box_open(name, waiters[f], &cfg, &box);
		ck_assert_msg(rc == FBX_ETIMEDOUT, "flags %u: rc %d (%s)", waiters[f], rc,
			      fbx_strerror(rc));
		ck_assert_ptr_null(box);
		struct stat st;
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_int_eq(st.st_size, 0);
	}
	/* EXCL still sees that the name is taken. */
	fbx_box *box = NULL;
	ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, &cfg, &box),
			 FBX_EEXIST);
	ck_assert_ptr_null(box);

	/* CREATE takes over and initialises it. */
	box = NULL;
	int rc = fbx_box_open(name, FBX_OPEN_CREATE, &cfg, &box);
	ck_assert_msg(rc == 0, "create over a dead creator: %s", fbx_strerror(rc));
	fbx_box_info info;
	ck_assert_int_eq(fbx_box_info_get(box, &info), 0);
	ck_assert_uint_eq(info.capacity.breakers, 5);
	ck_assert_int_eq(info.creator_pid, getpid());
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq((uint64_t)st.st_size, info.total_size);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	fbx_breaker_config bc;
	bcfg(&bc);
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "after", &bc, &b), 0);
	outcomes(b, 2, 1, 0);
	/* and others can now open it */
	fbx_box *o = NULL;
	ck_assert_int_eq(fbx_box_open(name, 0, &cfg, &o), 0);
	fbx_snapshot *s = snap_of(o);
	const fbx_breaker_info *bi = snap_breaker(s, "after");
	ck_assert_ptr_nonnull(bi);
	ck_assert_uint_eq(bi->successes, 2);
	ck_assert_uint_eq(bi->failures, 1);
	fbx_snapshot_free(s);
	fbx_box_close(o);
	fbx_box_close(box);
	ck_assert_int_eq(fbx_box_unlink(name), 0);
}
END_TEST

/* ===================================================================== */
/* processes                                                             */
/* ===================================================================== */

#define RACERS 8
#define RACE_SUCC 40
#define RACE_FAIL 5
#define RACE_IGN 3
#define RACE_TAKES 20
#define RACE_LIMIT 100

struct race {
	int open_rc[RACERS], breaker_rc[RACERS], limiter_rc[RACERS];
	pid_t creator[RACERS];
	int allowed[RACERS], denied[RACERS];
	int bad_take[RACERS];
};

static void race_child(int k, const char *name, const fbx_box_config *cfg, struct race *r,
		       int ready_w, int go_r)
{
	char c = 'r';
	if (write(ready_w, &c, 1) != 1)
		_exit(90);
	close(ready_w);
	/* blocks until the parent closes the write end: everyone starts at once */
	while (read(go_r, &c, 1) < 0 && errno == EINTR)
		;
	fbx_box *box = NULL;
	r->open_rc[k] = fbx_box_open(name, FBX_OPEN_CREATE, cfg, &box);
	if (r->open_rc[k] != 0)
		_exit(1);
	fbx_box_info info;
	fbx_box_info_get(box, &info);
	r->creator[k] = info.creator_pid;
	fbx_breaker_config bc;
	bcfg(&bc);
	fbx_breaker *b;
	r->breaker_rc[k] = fbx_breaker_register(box, "race-breaker", &bc, &b);
	fbx_limiter_config lc;
	lcfg(&lc, "100/hour");
	fbx_limiter *l;
	r->limiter_rc[k] = fbx_limiter_register(box, "race-limiter", &lc, &l);
	if (r->breaker_rc[k] != 0 || r->limiter_rc[k] != 0)
		_exit(2);
	fbx_permit p;
	for (int i = 0; i < RACE_SUCC + RACE_FAIL + RACE_IGN; i++) {
		fbx_outcome o = i < RACE_FAIL ? FBX_FAILURE
				: i < RACE_FAIL + RACE_IGN ? FBX_IGNORED : FBX_SUCCESS;
		if (fbx_breaker_allow(b, &p) != 0 || fbx_breaker_done(b, &p, o, 0) != 0)
			_exit(3);
	}
	for (int i = 0; i < RACE_TAKES; i++) {
		fbx_limit_result res;
		int rc = fbx_limiter_take(l, NULL, 0, 1, &res);
		if (rc == 0 && res.allowed)
			r->allowed[k]++;
		else if (rc == FBX_ELIMITED && !res.allowed)
			r->denied[k]++;
		else
			r->bad_take[k]++;
	}
	fbx_box_close(box);
	_exit(0);
}

START_TEST(creation_race)
{
	char name[40];
	snprintf(name, sizeof(name), "%s", bx_name());
	tclock_install(); /* one frozen time: the limiter's window is exact */
	fbx_box_config cfg;
	small_cfg(&cfg);
	cfg.breakers = 11; /* recognisable: the creator used this cfg */
	struct race *r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert(r != MAP_FAILED);
	memset(r, 0, sizeof(*r));
	int ready[2], go[2];
	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(go), 0);
	pid_t pids[RACERS];
	for (int k = 0; k < RACERS; k++) {
		pids[k] = fork();
		ck_assert_int_ge(pids[k], 0);
		if (pids[k] == 0) {
			close(ready[0]);
			close(go[1]);
			race_child(k, name, &cfg, r, ready[1], go[0]);
		}
	}
	close(ready[1]);
	close(go[0]);
	/* every child is at the barrier ... */
	char c;
	for (int k = 0; k < RACERS; k++)
		ck_assert_int_eq(read(ready[0], &c, 1), 1);
	/* ... go */
	close(go[1]);
	for (int k = 0; k < RACERS; k++) {
		int st = twait(pids[k]);
		ck_assert_msg(st == 0, "racer %d exited %d (open %d, breaker %d, limiter %d)", k,
			      st, r->open_rc[k], r->breaker_rc[k], r->limiter_rc[k]);
	}
	close(ready[0]);

	/* exactly one of them created the box, and everyone saw the same one */
	int creators = 0;
	for (int k = 0; k < RACERS; k++) {
		ck_assert_int_eq(r->creator[k], r->creator[0]);
		creators += r->creator[0] == pids[k];
		ck_assert_int_eq(r->bad_take[k], 0);
	}
	ck_assert_int_eq(creators, 1);

	fbx_box *box = NULL;
	ck_assert_int_eq(fbx_box_open(name, 0, NULL, &box), 0);
	fbx_box_info info;
	ck_assert_int_eq(fbx_box_info_get(box, &info), 0);
	ck_assert_uint_eq(info.capacity.breakers, 11);
	ck_assert_int_eq(info.creator_pid, r->creator[0]);
	fbx_snapshot *s = snap_of(box);
	size_t nb, nl, ne;
	uint64_t dropped;
	const fbx_breaker_info *bi = fbx_snapshot_breakers(s, &nb);
	const fbx_limiter_info *li = fbx_snapshot_limiters(s, &nl);
	const fbx_event *ev = fbx_snapshot_events(s, &ne, &dropped);
	ck_assert_uint_eq(nb, 1);
	ck_assert_uint_eq(nl, 1);
	ck_assert_str_eq(bi[0].name, "race-breaker");
	ck_assert_str_eq(li[0].name, "race-limiter");
	ck_assert_int_eq(bi[0].corrupt, 0);
	ck_assert_uint_eq(bi[0].successes, RACERS * RACE_SUCC);
	ck_assert_uint_eq(bi[0].failures, RACERS * RACE_FAIL);
	ck_assert_uint_eq(bi[0].ignored, RACERS * RACE_IGN);
	ck_assert_uint_eq(bi[0].rejected, 0);
	ck_assert_int_eq(bi[0].state, FBX_CLOSED);
	int allowed = 0, denied = 0;
	for (int k = 0; k < RACERS; k++) {
		allowed += r->allowed[k];
		denied += r->denied[k];
	}
	ck_assert_int_eq(allowed, RACE_LIMIT);
	ck_assert_int_eq(denied, RACERS * RACE_TAKES - RACE_LIMIT);
	ck_assert_uint_eq(li[0].allowed, RACE_LIMIT);
	ck_assert_uint_eq(li[0].denied, RACERS * RACE_TAKES - RACE_LIMIT);
	/* one REGISTER event per record, and nothing else */
	ck_assert_uint_eq(dropped, 0);
	ck_assert_uint_eq(ne, 2);
	for (size_t i = 0; i < ne; i++) {
		ck_assert_int_eq(ev[i].kind, FBX_EV_REGISTER);
		ck_assert_int_eq(ev[i].corrupt, 0);
	}
	fbx_snapshot_free(s);
	fbx_box_close(box);
	ck_assert_int_eq(fbx_box_unlink(name), 0);
	munmap(r, sizeof(*r));
}
END_TEST

/*
 * A registrar dies holding the registry lock, leaving half-made records;
 * the kernel releases its lock, and the next registration repairs and
 * goes on.
 */
enum { DIE_EXIT, DIE_SIGKILL };

START_TEST(registry_owner_dead)
{
	const char *name = bx_name();
	fbx_box_config cfg;
	small_cfg(&cfg);
	cfg.breakers = 2; /* no room unless the half-made records are wiped */
	cfg.limiters = 1;
	fbx_box *box = mk_box(name, &cfg);
	fbx_breaker_config bc;
	bcfg(&bc);
	fbx_breaker *keep;
	ck_assert_int_eq(fbx_breaker_register(box, "keep", &bc, &keep), 0); /* slot 0 */
	outcomes(keep, 3, 0, 0);
	int sync[2];
	ck_assert_int_eq(pipe(sync), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sync[0]);
		if (fbx__registry_lock(box) < 0)
			_exit(1);
		/* half-made records, as if killed inside create_record() */
		struct fbx__breaker_rec *br = &box->breakers[1];
		atomic_store(&br->head.live, FBX__REC_INIT);
		memcpy(br->head.name, "half-made", 10);
		atomic_store(&box->hdr->n_breakers, 2);
		struct fbx__limiter_rec *lr = &box->limiters[0];
		atomic_store(&lr->head.live, FBX__REC_INIT);
		memcpy(lr->head.name, "half-lim", 9);
		atomic_store(&box->hdr->n_limiters, 1);
		char c = 'x';
		if (write(sync[1], &c, 1) != 1)
			_exit(2);
		if (_i == DIE_EXIT)
			_exit(0); /* without unlocking */
		for (;;)
			pause();
	}
	close(sync[1]);
	char c;
	ck_assert_int_eq(read(sync[0], &c, 1), 1);
	close(sync[0]);
	if (_i == DIE_SIGKILL)
		ck_assert_int_eq(kill(pid, SIGKILL), 0);
	int st = twait(pid);
	ck_assert_int_eq(st, _i == DIE_EXIT ? 0 : -1);

	fbx_breaker *b;
	int rc = fbx_breaker_register(box, "after-crash", &bc, &b);
	ck_assert_msg(rc == 0, "register after a dead registrar: %s", fbx_strerror(rc));
	ck_assert_int_eq(fbx_breaker_find(box, "half-made", &b), FBX_ENOENT);
	/* the lock is consistent again: registration goes on normally */
	ck_assert_int_eq(fbx_breaker_register(box, "second", &bc, &b), FBX_EFULL);
	ck_assert_int_eq(fbx_breaker_register(box, "after-crash", &bc, &b), 0);
	fbx_limiter_config lc;
	lcfg(&lc, "5/second");
	fbx_limiter *l;
	ck_assert_int_eq(fbx_limiter_register(box, "lim", &lc, &l), 0);
	ck_assert_int_eq(fbx_limiter_find(box, "half-lim", &l), FBX_ENOENT);
	int lock = fbx__registry_lock(box); /* released by the kernel at the death */
	ck_assert_int_ge(lock, 0);
	fbx__registry_unlock(lock);

	fbx_snapshot *s = snap_of(box);
	size_t nb, nl;
	const fbx_breaker_info *bi = fbx_snapshot_breakers(s, &nb);
	const fbx_limiter_info *li = fbx_snapshot_limiters(s, &nl);
	ck_assert_uint_eq(nb, 2);
	ck_assert_uint_eq(nl, 1);
	for (size_t i = 0; i < nb; i++)
		ck_assert_int_eq(bi[i].corrupt, 0);
	ck_assert_ptr_nonnull(snap_breaker(s, "keep"));
	ck_assert_uint_eq(snap_breaker(s, "keep")->successes, 3);
	ck_assert_ptr_nonnull(snap_breaker(s, "after-crash"));
	ck_assert_ptr_null(snap_breaker(s, "half-made"));
	ck_assert_str_eq(li[0].name, "lim");
	ck_assert_int_eq(li[0].corrupt, 0);
	fbx_snapshot_free(s);
	fbx_box_close(box);
	ck_assert_int_eq(fbx_box_unlink(name), 0);
}
END_TEST

/* Handles inherited over fork(): the child's counts land in its own shard. */
#define FORK_KIDS 3
#define KID_SUCC 500
#define KID_FAIL 7
#define KID_IGN 11
#define KID_TAKES 13

START_TEST(fork_inherited_handles)
{
	const char *name = bx_name();
	tclock_install();
	fbx_box *box = mk_box(name, NULL);
	fbx_breaker_config bc;
	bcfg(&bc);
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "fk", &bc, &b), 0);
	fbx_limiter_config lc;
	lcfg(&lc, "1000/hour");
	fbx_limiter *l;
	ck_assert_int_eq(fbx_limiter_register(box, "fl", &lc, &l), 0);
	outcomes(b, 10, 2, 0);
	fbx_limit_result res;
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(fbx_limiter_take(l, NULL, 0, 1, &res), 0);
	int32_t parent_worker = atomic_load(&box->my_worker);
	ck_assert_int_ge(parent_worker, 0);

	int go[2];
	ck_assert_int_eq(pipe(go), 0);
	pid_t pids[FORK_KIDS];
	for (int k = 0; k < FORK_KIDS; k++) {
		pids[k] = fork();
		ck_assert_int_ge(pids[k], 0);
		if (pids[k] == 0) {
			close(go[1]);
			char c;
			while (read(go[0], &c, 1) < 0 && errno == EINTR)
				;
			fbx_permit p;
			for (int i = 0; i < KID_SUCC + KID_FAIL + KID_IGN; i++) {
				fbx_outcome o = i % 50 == 0 && i / 50 < KID_FAIL ? FBX_FAILURE
						: i % 50 == 1 && i / 50 < KID_IGN ? FBX_IGNORED
						: FBX_SUCCESS;
				if (fbx_breaker_allow(b, &p) != 0 ||
				    fbx_breaker_done(b, &p, o, 0) != 0)
					_exit(1);
			}
			for (int i = 0; i < KID_TAKES; i++)
				if (fbx_limiter_take(l, NULL, 0, 1, &res) != 0)
					_exit(2);
			int32_t w = atomic_load(&box->my_worker);
			if (w < 0 || w == parent_worker)
				_exit(3); /* not a shard of its own */
			if (FBX__OWNER_PID(atomic_load(&box->workers[w].owner)) != getpid())
				_exit(4);
			_exit(0);
		}
	}
	close(go[0]);
	close(go[1]);
	for (int k = 0; k < FORK_KIDS; k++) {
		int st = twait(pids[k]);
		ck_assert_msg(st == 0, "child %d failed at step %d", k, st);
	}
	/* the parent keeps its own slot and keeps counting */
	outcomes(b, 5, 0, 1);
	ck_assert_int_eq(atomic_load(&box->my_worker), parent_worker);

	/* the kids' outcome mix is as counted above */
	int kf = 0, ki = 0;
	for (int i = 0; i < KID_SUCC + KID_FAIL + KID_IGN; i++) {
		kf += i % 50 == 0 && i / 50 < KID_FAIL;
		ki += i % 50 == 1 && i / 50 < KID_IGN;
	}
	ck_assert_int_eq(kf, KID_FAIL);
	ck_assert_int_eq(ki, KID_IGN);

	fbx_snapshot *s = snap_of(box);
	const fbx_breaker_info *bi = snap_breaker(s, "fk");
	ck_assert_ptr_nonnull(bi);
	ck_assert_uint_eq(bi->successes, 10 + FORK_KIDS * KID_SUCC + 5);
	ck_assert_uint_eq(bi->failures, 2 + FORK_KIDS * KID_FAIL);
	ck_assert_uint_eq(bi->ignored, FORK_KIDS * KID_IGN + 1);
	ck_assert_int_eq(bi->state, FBX_CLOSED);
	const fbx_limiter_info *li = snap_limiter(s, "fl");
	ck_assert_ptr_nonnull(li);
	ck_assert_uint_eq(li->allowed, 3 + FORK_KIDS * KID_TAKES);
	ck_assert_uint_eq(li->denied, 0);
	fbx_snapshot_free(s);
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
	tcase_add_test(tc, version_of_library);
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

	tc = tcase_create("permissions");
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_add_loop_test(tc, mode_default_whatever_umask, 0, (int)ARRAY_LEN(umasks));
	tcase_add_loop_test(tc, mode_group, 0, (int)ARRAY_LEN(umasks));
	tcase_add_test(tc, read_only_open);
	tcase_add_test(tc, nonroot_denied);
	tcase_add_test(tc, nonroot_read_only_view);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile");
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, foreign_object, 0, (int)ARRAY_LEN(open_flags));
	tcase_add_test(tc, foreign_object_ready);
	tcase_add_loop_test(tc, damaged_header, 0, (int)ARRAY_LEN(header_damages));
	tcase_add_test(tc, header_claims_more_than_object);
	tcase_add_test(tc, newer_layout_not_ready_here);
	tcase_add_loop_test(tc, truncated_box, 0, (int)ARRAY_LEN(cuts));
	tcase_add_test(tc, zero_length_object);
	suite_add_tcase(s, tc);

	tc = tcase_create("processes");
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, creation_race);
	tcase_add_loop_test(tc, registry_owner_dead, DIE_EXIT, DIE_SIGKILL + 1);
	tcase_add_test(tc, fork_inherited_handles);
	suite_add_tcase(s, tc);

	return s;
}
