/* test_box_hostile.c — what open does with an object under a box's name
 * that is not a box it may use: random bytes, a damaged or newer header, a
 * header that claims more than the object holds, a truncated box, and the
 * empty object a creator killed before sizing it leaves.  Each is refused
 * without a fault, and left as it was. */
#include <check.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
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

/* A deterministic byte stream for "foreign" objects. */
static uint8_t noise(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return (uint8_t)(*x >> 24);
}

#define FOREIGN_SIZE (1u << 20)

static void write_foreign(const char *name, uint64_t seed)
{
	char obj[128];
	tshm_obj(obj, name);
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
	tshm_obj(obj, name);
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

/* Opening NAME with each of open_flags fails with err and hands out no
 * box; a short timeout, so that a wait that should not happen shows. */
static void refused_with_any_flags(const char *name, int err, const char *what)
{
	fbx_box_config cfg;
	tbox_config_small(&cfg);
	cfg.timeout_ms = 200;
	for (size_t f = 0; f < ARRAY_LEN(open_flags); f++) {
		fbx_box *box = NULL;
		int rc = fbx_box_open(name, open_flags[f], &cfg, &box);
		ck_assert_msg(rc == err, "%s, flags %u: rc %d (%s), want %d", what, open_flags[f],
			      rc, fbx_strerror(rc), err);
		ck_assert_ptr_null(box);
	}
}

/* Random bytes where a box should be: not a fusebox segment. */
START_TEST(foreign_object)
{
	const char *name = bx_name();
	uint64_t seed = 0x9e3779b97f4a7c15ull + (uint64_t)_i;
	write_foreign(name, seed);
	fbx_box_config cfg;
	tbox_config_small(&cfg);
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
	tshm_path(path, name);
	int fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	uint32_t one = 1;
	ck_assert_int_eq(pwrite(fd, &one, 4, offsetof(struct fbx__header, ready)), 4);
	close(fd);
	refused_with_any_flags(name, FBX_ECORRUPT, "ready set");
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
	{ "layout_version + 1", offsetof(struct fbx__header, layout_version), 4,
	  FBX__LAYOUT_VERSION + 1, FBX_EVERSION },
	{ "layout_version - 1", offsetof(struct fbx__header, layout_version), 4,
	  FBX__LAYOUT_VERSION - 1, FBX_EVERSION },
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
	tshm_path(path, name);
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
	tshm_path(path, name);
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
	fbx_box *box = tbox_populated(name, 0600);
	fbx_box_close(box);
	char path[128];
	tshm_path(path, name);
	int fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	uint32_t v2 = FBX__LAYOUT_VERSION + 1, zero = 0;
	ck_assert_int_eq(pwrite(fd, &v2, 4, offsetof(struct fbx__header, layout_version)), 4);
	ck_assert_int_eq(pwrite(fd, &zero, 4, offsetof(struct fbx__header, ready)), 4);
	close(fd);
	fbx_box_config cfg;
	tbox_config_small(&cfg);
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
	fbx_box *box = tbox_populated(name, 0600);
	fbx_box_close(box);
	uint64_t orig = peek_word(name, t->off, t->size);
	poke(name, t->off, t->size, t->value);
	refused_with_any_flags(name, t->err, t->what);
	/* Put the field back: the box opens, records intact. */
	poke(name, t->off, t->size, orig);
	ck_assert_int_eq(fbx_box_open(name, 0, NULL, &box), 0);
	fbx_snapshot *s = tsnap_of(box);
	ck_assert_uint_eq(tsnap_breaker(s, "ro-b")->successes, 4);
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
	fbx_box *box = tbox_populated(name, 0600);
	fbx_box_close(box);
	fbx_box_config big;
	tbox_config_small(&big);
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
	refused_with_any_flags(name, FBX_ECORRUPT, "header claims more");
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
	fbx_box *box = tbox_populated(name, 0600);
	fbx_box_info info;
	ck_assert_int_eq(fbx_box_info_get(box, &info), 0);
	fbx_box_close(box);
	off_t size = t->half ? (off_t)info.total_size / 2
		     : t->bytes > 0 ? t->bytes : (off_t)info.total_size + t->bytes;
	char obj[128];
	tshm_obj(obj, name);
	int fd = shm_open(obj, O_RDWR, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, size), 0);
	close(fd);
	refused_with_any_flags(name, FBX_ECORRUPT, t->what);
	struct stat st;
	char path[128];
	tshm_path(path, name);
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
	tshm_obj(obj, name);
	tshm_path(path, name);
	int fd = shm_open(obj, O_RDWR | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);

	fbx_box_config cfg;
	tbox_config_small(&cfg);
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
	tbreaker_config_no_trip(&bc);
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "after", &bc, &b), 0);
	tbreaker_outcomes(b, 2, 1, 0);
	/* and others can now open it */
	fbx_box *o = NULL;
	ck_assert_int_eq(fbx_box_open(name, 0, &cfg, &o), 0);
	fbx_snapshot *s = tsnap_of(o);
	const fbx_breaker_info *bi = tsnap_breaker(s, "after");
	ck_assert_ptr_nonnull(bi);
	ck_assert_uint_eq(bi->successes, 2);
	ck_assert_uint_eq(bi->failures, 1);
	fbx_snapshot_free(s);
	fbx_box_close(o);
	fbx_box_close(box);
	ck_assert_int_eq(fbx_box_unlink(name), 0);
}
END_TEST

FBX_TEST_SUITE(box_hostile)
{
	Suite *s = suite_create("box_hostile");
	TCase *tc = tcase_create("hostile");
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
	return s;
}
