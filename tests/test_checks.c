/* test_checks.c — health checks and the aggregate: statuses, TTL expiry,
 * critical and not, checks that follow a breaker, setters killed midway,
 * liveness, readiness and startup. */
#include <check.h>
#include <stdatomic.h>
#include <string.h>
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
	c.checks = 4;
	box = tbox_create(&c);
}

static void teardown(void)
{
	tbox_unlink(box);
	fbx_box_close(box);
	fbx_clock_set(NULL, NULL);
}

static const fbx_check_info *check_of(const fbx_snapshot *s, const char *name)
{
	size_t n;
	const fbx_check_info *c = fbx_snapshot_checks(s, &n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(c[i].name, name) == 0)
			return &c[i];
	return NULL;
}

/* The aggregate now, copied out. */
static fbx_health health(void)
{
	fbx_snapshot *s = tsnap_of(box);
	fbx_health h = *fbx_snapshot_health(s);
	fbx_snapshot_free(s);
	return h;
}

START_TEST(statuses_aggregate)
{
	ck_assert_int_eq(health().status, FBX_HEALTH_OK); /* no checks */
	ck_assert_int_eq(fbx_check_set(box, "db", FBX_CHECK_PASS, 1, T_S(10), "ping 2 ms"), 0);
	ck_assert_int_eq(fbx_check_set(box, "disk", FBX_CHECK_PASS, 0, T_S(60), NULL), 0);
	ck_assert_int_eq(health().status, FBX_HEALTH_OK);
	ck_assert_int_eq(fbx_check_set(box, "disk", FBX_CHECK_WARN, 0, T_S(60), "81% full"), 0);
	fbx_health h = health();
	ck_assert_int_eq(h.status, FBX_HEALTH_DEGRADED);
	ck_assert_str_eq(h.reason, "no worker is alive"); /* the first reason */
	ck_assert_int_eq(fbx_check_set(box, "disk", FBX_CHECK_FAIL, 0, T_S(60), "full"), 0);
	ck_assert_int_eq(health().status, FBX_HEALTH_DEGRADED); /* not critical */
	ck_assert_int_eq(fbx_check_set(box, "db", FBX_CHECK_WARN, 1, T_S(10), "slow"), 0);
	ck_assert_int_eq(health().status, FBX_HEALTH_DEGRADED);
	ck_assert_int_eq(fbx_check_set(box, "db", FBX_CHECK_FAIL, 1, T_S(10), "refused"), 0);
	h = health();
	ck_assert_int_eq(h.status, FBX_HEALTH_UNHEALTHY);
	ck_assert_int_eq(h.ready, 0);
	fbx_snapshot *s = tsnap_of(box);
	const fbx_check_info *c = check_of(s, "db");
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->status, FBX_CHECK_FAIL);
	ck_assert_int_eq(c->critical, 1);
	ck_assert_str_eq(c->message, "refused");
	ck_assert_uint_eq(c->ttl_ns, T_S(10));
	ck_assert_int_eq(c->setter_pid, getpid());
	ck_assert_uint_eq(c->setter_uid, (uint32_t)geteuid());
	fbx_snapshot_free(s);
	ck_assert_str_eq(fbx_health_status_name(FBX_HEALTH_UNHEALTHY), "unhealthy");
	ck_assert_str_eq(fbx_check_status_name(FBX_CHECK_WARN), "warn");
	ck_assert_int_eq(fbx_check_status_parse("fail"), FBX_CHECK_FAIL);
	ck_assert_int_eq(fbx_check_status_parse("FAIL"), FBX_EINVAL);
	ck_assert_str_eq(fbx_check_status_name(3), "invalid");
}
END_TEST

/* A check not set again within its TTL counts as failed: a dead checker
 * never leaves a stale pass. */
START_TEST(ttl_expiry_fails)
{
	ck_assert_int_eq(fbx_check_set(box, "db", FBX_CHECK_PASS, 1, T_S(5), NULL), 0);
	tclock_advance_ms(5000);
	ck_assert_int_eq(health().status, FBX_HEALTH_OK);
	tclock_advance_ms(1);
	fbx_snapshot *s = tsnap_of(box);
	const fbx_check_info *c = check_of(s, "db");
	ck_assert_int_eq(c->expired, 1);
	ck_assert_int_eq(c->status, FBX_CHECK_FAIL);
	ck_assert_int_eq(c->set_status, FBX_CHECK_PASS);
	ck_assert_uint_eq(c->age_ns, T_MS(5001));
	ck_assert_int_eq(fbx_snapshot_health(s)->status, FBX_HEALTH_UNHEALTHY);
	fbx_snapshot_free(s);
	ck_assert_int_eq(fbx_check_set(box, "db", FBX_CHECK_PASS, 1, T_S(5), NULL), 0);
	ck_assert_int_eq(health().status, FBX_HEALTH_OK);
}
END_TEST

START_TEST(bad_checks_change_nothing)
{
	ck_assert_int_eq(fbx_check_set(box, "db", FBX_CHECK_PASS, 1, T_S(5), "ok"), 0);
	ck_assert_int_eq(fbx_check_set(NULL, "db", FBX_CHECK_PASS, 1, T_S(5), NULL), FBX_EINVAL);
	ck_assert_int_eq(fbx_check_set(box, "", FBX_CHECK_PASS, 1, T_S(5), NULL), FBX_ENAME);
	ck_assert_int_eq(fbx_check_set(box, "a b", FBX_CHECK_PASS, 1, T_S(5), NULL), FBX_ENAME);
	ck_assert_int_eq(fbx_check_set(box, "db", (fbx_check_status)3, 1, T_S(5), NULL),
			 FBX_EINVAL);
	ck_assert_int_eq(fbx_check_set(box, "db", FBX_CHECK_FAIL, 1, 0, NULL), FBX_EINVAL);
	ck_assert_int_eq(fbx_check_set(box, "db", FBX_CHECK_FAIL, 1, T_S(31 * 86400), NULL),
			 FBX_EINVAL);
	ck_assert_int_eq(fbx_check_set(box, "db", FBX_CHECK_FAIL, 1, T_S(5), "a\x1b[2J"),
			 FBX_EINVAL);
	fbx_snapshot *s = tsnap_of(box);
	ck_assert_int_eq(check_of(s, "db")->status, FBX_CHECK_PASS);
	ck_assert_str_eq(check_of(s, "db")->message, "ok");
	size_t n;
	fbx_snapshot_checks(s, &n);
	ck_assert_uint_eq(n, 1);
	fbx_snapshot_free(s);
	/* a full table */
	for (int i = 0; i < 3; i++) {
		char name[8] = {'c', (char)('0' + i), 0};
		ck_assert_int_eq(fbx_check_set(box, name, FBX_CHECK_PASS, 0, T_S(5), NULL), 0);
	}
	ck_assert_int_eq(fbx_check_set(box, "one-more", FBX_CHECK_PASS, 0, T_S(5), NULL),
			 FBX_EFULL);
	ck_assert_int_eq(fbx_check_remove(box, "c1"), 0);
	ck_assert_int_eq(fbx_check_remove(box, "c1"), FBX_ENOENT);
	ck_assert_int_eq(fbx_check_set(box, "one-more", FBX_CHECK_PASS, 0, T_S(5), NULL), 0);
}
END_TEST

/* A check following a breaker: open fails it, half-open warns; opt-in,
 * and a TTL does not apply. */
START_TEST(bound_to_a_breaker)
{
	fbx_breaker_config bc;
	fbx_breaker_config_init(&bc);
	bc.fail_max = 1;
	bc.reset_timeout_ns = T_S(1);
	fbx_breaker *b = tbreaker_reg(box, "payments", &bc);
	ck_assert_int_eq(fbx_check_bind_breaker(box, "up-payments", "payments", 0), 0);
	ck_assert_int_eq(fbx_check_bind_breaker(box, "up-payments", "payments", 0), 0);
	ck_assert_int_eq(fbx_check_bind_breaker(box, "up-payments", "payments", 1),
			 FBX_ECONFLICT);
	ck_assert_int_eq(fbx_check_bind_breaker(box, "x", "no-such", 0), FBX_ENOENT);
	ck_assert_int_eq(fbx_check_set(box, "up-payments", FBX_CHECK_PASS, 0, T_S(5), NULL),
			 FBX_ECONFLICT);
	tclock_advance_ms(3600 * 1000); /* no TTL */
	fbx_snapshot *s = tsnap_of(box);
	const fbx_check_info *c = check_of(s, "up-payments");
	ck_assert_int_eq(c->status, FBX_CHECK_PASS);
	ck_assert_str_eq(c->breaker, "payments");
	ck_assert_uint_eq(c->ttl_ns, 0);
	fbx_snapshot_free(s);
	tbreaker_call(b, FBX_FAILURE, 0); /* open */
	fbx_health h = health();
	ck_assert_int_eq(h.status, FBX_HEALTH_DEGRADED); /* not critical: opt-in */
	tclock_advance_ms(1000);
	fbx_permit p;
	ck_assert_int_eq(fbx_breaker_allow(b, &p), 0); /* half-open */
	s = tsnap_of(box);
	ck_assert_int_eq(check_of(s, "up-payments")->status, FBX_CHECK_WARN);
	fbx_snapshot_free(s);
	ck_assert_int_eq(fbx_breaker_done(b, &p, FBX_SUCCESS, 0), 0);
	ck_assert_int_eq(health().status, FBX_HEALTH_OK);
	ck_assert_int_eq(fbx_breaker_trip(b, "by hand"), 0);
	ck_assert_int_eq(fbx_check_bind_breaker(box, "crit", "payments", 1), 0);
	ck_assert_int_eq(health().status, FBX_HEALTH_UNHEALTHY);
}
END_TEST

/* A setter killed between its words and their check leaves them torn:
 * the check counts as failed until someone sets it again. */
START_TEST(torn_set_counts_as_failed)
{
	ck_assert_int_eq(fbx_check_set(box, "db", FBX_CHECK_PASS, 1, T_S(5), "fine"), 0);
	struct fbx__check_rec *r = (void *)box->checks;
	atomic_store(&r->w[4], 0x4141414141414141ull); /* the message, half rewritten */
	fbx_snapshot *s = tsnap_of(box);
	const fbx_check_info *c = check_of(s, "db");
	ck_assert_int_eq(c->status, FBX_CHECK_FAIL);
	ck_assert_int_eq(c->corrupt, 1);
	ck_assert_int_eq(fbx_snapshot_health(s)->status, FBX_HEALTH_UNHEALTHY);
	fbx_snapshot_free(s);
	/* a setter that died holding its turn is taken over */
	atomic_store(&r->busy, FBX__OWNER_MAKE(0x3ffffe, 1));
	ck_assert_int_eq(fbx_check_set(box, "db", FBX_CHECK_PASS, 1, T_S(5), "again"), 0);
	ck_assert_int_eq(health().status, FBX_HEALTH_OK);
}
END_TEST

/* live: the master and a worker alive; ready: started, no critical check
 * failing, not draining; the reason says what is missing. */
START_TEST(live_ready_started)
{
	fbx_health h = health();
	ck_assert_int_eq(h.live, 0);
	ck_assert_str_eq(h.reason, "no worker is alive");
	ck_assert_int_eq(fbx_worker_register(box, "master", T_S(5)), 0);
	h = health();
	ck_assert_int_eq(h.live, 0); /* a master, no worker */
	pid_t pid = tfork();
	if (pid == 0) {
		if (fbx_worker_register(box, "worker", T_S(5)) != 0)
			_exit(1);
		fbx_health hh = *fbx_snapshot_health(tsnap_of(box));
		if (!hh.live || hh.ready || hh.started || strcmp(hh.reason, "not started") != 0)
			_exit(2);
		if (fbx_started(box) != 0)
			_exit(3);
		hh = *fbx_snapshot_health(tsnap_of(box));
		_exit(hh.live && hh.ready && hh.started && hh.masters_alive == 1 &&
				      hh.workers_alive == 1
			      ? 0
			      : 4);
	}
	ck_assert_int_eq(twait(pid), 0);
	/* the worker is gone: not live any more, but still started */
	h = health();
	ck_assert_int_eq(h.live, 0);
	ck_assert_int_eq(h.started, 1);
	ck_assert_int_eq(h.workers_dead, 1);
}
END_TEST

FBX_TEST_SUITE(checks)
{
	Suite *s = suite_create("checks");
	TCase *tc = tcase_create("checks");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, statuses_aggregate);
	tcase_add_test(tc, ttl_expiry_fails);
	tcase_add_test(tc, bad_checks_change_nothing);
	tcase_add_test(tc, bound_to_a_breaker);
	tcase_add_test(tc, torn_set_counts_as_failed);
	tcase_add_test(tc, live_ready_started);
	suite_add_tcase(s, tc);
	return s;
}
