/* test_cache.c — the shared stale-if-error cache and the fallback helper:
 * fresh, stale and gone; bad input changes nothing; a full bucket pushes
 * out the oldest; writers SIGKILLed mid-write under concurrent readers
 * never leave a torn value. */
#include <check.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers.h"
#include "suites.h"
#include "../lib/internal.h"

static fbx_box *box;

static void setup(void)
{
	tclock_install();
	fbx_box_config c;
	tbox_config_small(&c);
	c.caches = 2;
	c.cache_slots = 16;
	c.cache_value_max = 256;
	box = tbox_create(&c);
}

static void teardown(void)
{
	tbox_unlink(box);
	fbx_box_close(box);
	fbx_clock_set(NULL, NULL);
}

START_TEST(fresh_stale_gone)
{
	fbx_cache *c;
	ck_assert_int_eq(fbx_cache_register(box, "emb", T_S(60), T_S(3600), &c), 0);
	char buf[256];
	fbx_cache_hit hit;
	ck_assert_int_eq(fbx_cache_get(c, "k", 1, buf, sizeof(buf), &hit), FBX_ENOENT);
	ck_assert_int_eq(fbx_cache_put(c, "k", 1, "vector-1", 8), 0);
	ck_assert_int_eq(fbx_cache_get(c, "k", 1, buf, sizeof(buf), &hit), 0);
	ck_assert_uint_eq(hit.len, 8);
	ck_assert_int_eq(memcmp(buf, "vector-1", 8), 0);
	ck_assert_int_eq(hit.stale, 0);
	tclock_advance_ms(60001);
	ck_assert_int_eq(fbx_cache_get(c, "k", 1, buf, sizeof(buf), &hit), 0);
	ck_assert_int_eq(hit.stale, 1);
	ck_assert_uint_eq(hit.age_ns, T_MS(60001));
	tclock_advance_ms(3600 * 1000);
	ck_assert_int_eq(fbx_cache_get(c, "k", 1, buf, sizeof(buf), &hit), FBX_ENOENT);
	/* put again: fresh; a small buffer is told the size it needs */
	ck_assert_int_eq(fbx_cache_put(c, "k", 1, "vector-2", 8), 0);
	ck_assert_int_eq(fbx_cache_get(c, "k", 1, buf, 4, &hit), FBX_ERANGE);
	ck_assert_uint_eq(hit.len, 8);
	ck_assert_int_eq(fbx_cache_drop(c, "k", 1), 0);
	ck_assert_int_eq(fbx_cache_get(c, "k", 1, buf, sizeof(buf), &hit), FBX_ENOENT);
	ck_assert_int_eq(fbx_cache_drop(c, "k", 1), FBX_ENOENT);
	fbx_snapshot *s = tsnap_of(box);
	size_t n;
	const fbx_cache_info *ci = fbx_snapshot_caches(s, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(ci->name, "emb");
	ck_assert_uint_eq(ci->hits, 2); /* the too-small buffer found it too */
	ck_assert_uint_eq(ci->stale_hits, 1);
	ck_assert_uint_eq(ci->misses, 3);
	ck_assert_uint_eq(ci->puts, 2);
	ck_assert_uint_eq(ci->slots, 16);
	fbx_snapshot_free(s);
}
END_TEST

START_TEST(bad_input_changes_nothing)
{
	fbx_cache *c;
	ck_assert_int_eq(fbx_cache_register(box, "c", T_S(1), 0, &c), 0);
	ck_assert_int_eq(fbx_cache_put(c, "k", 1, "v", 1), 0);
	char big[257] = {0}, key[FBX_CACHE_KEY_MAX + 1];
	memset(key, 'k', sizeof(key));
	ck_assert_int_eq(fbx_cache_put(c, "k", 1, big, sizeof(big)), FBX_ERANGE);
	ck_assert_int_eq(fbx_cache_put(c, key, sizeof(key), "v", 1), FBX_ERANGE);
	ck_assert_int_eq(fbx_cache_put(c, "", 0, "v", 1), FBX_EINVAL);
	ck_assert_int_eq(fbx_cache_put(c, "k", 1, NULL, 1), FBX_EINVAL);
	ck_assert_int_eq(fbx_cache_put(NULL, "k", 1, "v", 1), FBX_EINVAL);
	char buf[8];
	fbx_cache_hit hit;
	ck_assert_int_eq(fbx_cache_get(c, "k", 1, buf, sizeof(buf), &hit), 0);
	ck_assert_uint_eq(hit.len, 1);
	ck_assert_int_eq(buf[0], 'v');
	/* the longest key is fine */
	ck_assert_int_eq(fbx_cache_put(c, key, FBX_CACHE_KEY_MAX, "w", 1), 0);
	fbx_cache *other;
	ck_assert_int_eq(fbx_cache_register(box, "c", T_S(2), 0, &other), FBX_ECONFLICT);
	ck_assert_int_eq(fbx_cache_register(box, "x", 0, 0, &other), FBX_EINVAL);
	ck_assert_int_eq(fbx_cache_register(box, "x", T_S(1), T_S(31 * 86400), &other),
			 FBX_EINVAL);
	ck_assert_int_eq(fbx_cache_register(box, "x", T_S(1), 0, &other), 0);
	ck_assert_int_eq(fbx_cache_register(box, "y", T_S(1), 0, &other), FBX_EFULL);
	ck_assert_int_eq(fbx_cache_find(box, "c", &other), 0);
	ck_assert_ptr_eq(other, c);
}
END_TEST

/* More keys than entries: old ones are pushed out, never mixed up. */
START_TEST(full_cache_pushes_out_the_oldest)
{
	fbx_cache *c;
	ck_assert_int_eq(fbx_cache_register(box, "c", T_S(600), 0, &c), 0);
	char key[16], val[32], buf[64];
	for (int i = 0; i < 200; i++) {
		int kl = snprintf(key, sizeof(key), "key%d", i);
		int vl = snprintf(val, sizeof(val), "value of %d", i);
		ck_assert_int_eq(fbx_cache_put(c, key, (size_t)kl, val, (size_t)vl), 0);
		tclock_advance_ms(1);
	}
	int found = 0;
	for (int i = 0; i < 200; i++) {
		int kl = snprintf(key, sizeof(key), "key%d", i);
		int vl = snprintf(val, sizeof(val), "value of %d", i);
		fbx_cache_hit hit;
		int rc = fbx_cache_get(c, key, (size_t)kl, buf, sizeof(buf), &hit);
		ck_assert(rc == 0 || rc == FBX_ENOENT);
		if (rc == 0) {
			found++;
			ck_assert_uint_eq(hit.len, (size_t)vl);
			ck_assert_int_eq(memcmp(buf, val, (size_t)vl), 0);
		}
	}
	ck_assert_int_le(found, 16);
	ck_assert_int_gt(found, 4);
}
END_TEST

/* Writers putting whole values while readers read, and writers killed
 * anywhere: every value read is one that was put, whole. */
START_TEST(never_a_torn_value)
{
	fbx_cache *c;
	ck_assert_int_eq(fbx_cache_register(box, "c", T_S(600), 0, &c), 0);
	_Atomic int *stop = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
				 -1, 0);
	ck_assert_ptr_ne(stop, MAP_FAILED);
	/* a value is 256 bytes of one repeated byte: torn shows as two */
	pid_t readers[2];
	for (int r = 0; r < 2; r++) {
		readers[r] = tfork();
		if (readers[r] == 0) {
			unsigned char buf[256];
			long seen = 0;
			while (!atomic_load(stop)) {
				fbx_cache_hit hit;
				if (fbx_cache_get(c, "hot", 3, buf, sizeof(buf), &hit) != 0)
					continue;
				if (hit.len != sizeof(buf))
					_exit(2);
				for (size_t i = 1; i < sizeof(buf); i++)
					if (buf[i] != buf[0])
						_exit(3);
				seen++;
			}
			_exit(seen > 0 ? 0 : 4);
		}
	}
	for (int round = 0; round < 20; round++) {
		pid_t w = tfork();
		if (w == 0) {
			unsigned char v[256];
			for (unsigned i = 0;; i++) {
				memset(v, (int)(i & 0xff), sizeof(v));
				fbx_cache_put(c, "hot", 3, v, sizeof(v));
			}
		}
		usleep(2000 + (useconds_t)(round * 500));
		kill(w, SIGKILL);
		twait(w);
	}
	atomic_store(stop, 1);
	for (int r = 0; r < 2; r++)
		ck_assert_int_eq(twait(readers[r]), 0);
	munmap((void *)stop, 4096);
}
END_TEST

/* A read-only handle reads the cache (it cannot count the read in). */
START_TEST(read_only_get)
{
	fbx_cache *c;
	ck_assert_int_eq(fbx_cache_register(box, "c", T_S(60), 0, &c), 0);
	ck_assert_int_eq(fbx_cache_put(c, "k", 1, "v", 1), 0);
	fbx_box_info bi;
	ck_assert_int_eq(fbx_box_info_get(box, &bi), 0);
	fbx_box *ro;
	ck_assert_int_eq(fbx_box_open(bi.name, FBX_OPEN_RDONLY, NULL, &ro), 0);
	fbx_cache *rc;
	ck_assert_int_eq(fbx_cache_find(ro, "c", &rc), 0);
	char buf[4];
	fbx_cache_hit hit;
	ck_assert_int_eq(fbx_cache_get(rc, "k", 1, buf, sizeof(buf), &hit), 0);
	ck_assert_int_eq(buf[0], 'v');
	ck_assert_int_eq(fbx_cache_get(rc, "x", 1, buf, sizeof(buf), &hit), FBX_ENOENT);
	ck_assert_int_eq(fbx_cache_put(rc, "k", 1, "w", 1), FBX_ERDONLY);
	fbx_box_close(ro);
}
END_TEST

static int fails(void *arg)
{
	(*(int *)arg)++;
	return -1;
}

static int works(void *arg)
{
	(*(int *)arg)++;
	return 0;
}

START_TEST(fallback_reports_who_answered)
{
	int calls = 0;
	fbx_fallback_source who;
	ck_assert_int_eq(fbx_fallback(works, fails, fails, &calls, &who), 0);
	ck_assert_int_eq(who, FBX_FALLBACK_PRIMARY);
	ck_assert_int_eq(calls, 1);
	calls = 0;
	ck_assert_int_eq(fbx_fallback(fails, works, fails, &calls, &who), 0);
	ck_assert_int_eq(who, FBX_FALLBACK_BACKUP);
	ck_assert_int_eq(calls, 2);
	calls = 0;
	ck_assert_int_eq(fbx_fallback(fails, NULL, works, &calls, &who), 0);
	ck_assert_int_eq(who, FBX_FALLBACK_DEFAULT);
	ck_assert_int_eq(calls, 2);
	ck_assert_int_eq(fbx_fallback(fails, fails, fails, &calls, &who), FBX_EFAILED);
	ck_assert_int_eq(fbx_fallback(NULL, NULL, works, &calls, &who), FBX_EINVAL);
}
END_TEST

FBX_TEST_SUITE(cache)
{
	Suite *s = suite_create("cache");
	TCase *tc = tcase_create("cache");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, fresh_stale_gone);
	tcase_add_test(tc, bad_input_changes_nothing);
	tcase_add_test(tc, full_cache_pushes_out_the_oldest);
	tcase_add_test(tc, never_a_torn_value);
	tcase_add_test(tc, fallback_reports_who_answered);
	tcase_add_test(tc, read_only_get);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}
