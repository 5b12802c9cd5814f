/* test_box_processes.c — several processes on one box: creators racing
 * for one name, registrars that die holding the registry lock or before
 * publishing a record, and handles inherited over fork(). */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
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
	tbreaker_config_no_trip(&bc);
	fbx_breaker *b;
	r->breaker_rc[k] = fbx_breaker_register(box, "race-breaker", &bc, &b);
	fbx_limiter_config lc;
	tlim_config(&lc, "100/hour", FBX_ALGO_WINDOW, 1, 0, 0);
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
	tbox_config_small(&cfg);
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
		pids[k] = tfork();
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
	fbx_snapshot *s = tsnap_of(box);
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
	tbox_config_small(&cfg);
	cfg.breakers = 2; /* no room unless the half-made records are wiped */
	cfg.limiters = 1;
	fbx_box *box = tbox_create_named(name, &cfg);
	fbx_breaker_config bc;
	tbreaker_config_no_trip(&bc);
	fbx_breaker *keep;
	ck_assert_int_eq(fbx_breaker_register(box, "keep", &bc, &keep), 0); /* slot 0 */
	tbreaker_outcomes(keep, 3, 0, 0);
	int sync[2];
	ck_assert_int_eq(pipe(sync), 0);
	pid_t pid = tfork();
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
	tlim_config(&lc, "5/second", FBX_ALGO_WINDOW, 1, 0, 0);
	fbx_limiter *l;
	ck_assert_int_eq(fbx_limiter_register(box, "lim", &lc, &l), 0);
	ck_assert_int_eq(fbx_limiter_find(box, "half-lim", &l), FBX_ENOENT);
	int lock = fbx__registry_lock(box); /* released by the kernel at the death */
	ck_assert_int_ge(lock, 0);
	fbx__registry_unlock(lock);

	fbx_snapshot *s = tsnap_of(box);
	size_t nb, nl;
	const fbx_breaker_info *bi = fbx_snapshot_breakers(s, &nb);
	const fbx_limiter_info *li = fbx_snapshot_limiters(s, &nl);
	ck_assert_uint_eq(nb, 2);
	ck_assert_uint_eq(nl, 1);
	for (size_t i = 0; i < nb; i++)
		ck_assert_int_eq(bi[i].corrupt, 0);
	ck_assert_ptr_nonnull(tsnap_breaker(s, "keep"));
	ck_assert_uint_eq(tsnap_breaker(s, "keep")->successes, 3);
	ck_assert_ptr_nonnull(tsnap_breaker(s, "after-crash"));
	ck_assert_ptr_null(tsnap_breaker(s, "half-made"));
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
	fbx_box *box = tbox_create_named(name, NULL);
	fbx_breaker_config bc;
	tbreaker_config_no_trip(&bc);
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "fk", &bc, &b), 0);
	fbx_limiter_config lc;
	tlim_config(&lc, "1000/hour", FBX_ALGO_WINDOW, 1, 0, 0);
	fbx_limiter *l;
	ck_assert_int_eq(fbx_limiter_register(box, "fl", &lc, &l), 0);
	tbreaker_outcomes(b, 10, 2, 0);
	fbx_limit_result res;
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(fbx_limiter_take(l, NULL, 0, 1, &res), 0);
	int32_t parent_worker = atomic_load(&box->my_worker);
	ck_assert_int_ge(parent_worker, 0);

	int go[2];
	ck_assert_int_eq(pipe(go), 0);
	pid_t pids[FORK_KIDS];
	for (int k = 0; k < FORK_KIDS; k++) {
		pids[k] = tfork();
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
	tbreaker_outcomes(b, 5, 0, 1);
	ck_assert_int_eq(atomic_load(&box->my_worker), parent_worker);

	/* the kids' outcome mix is as counted above */
	int kf = 0, ki = 0;
	for (int i = 0; i < KID_SUCC + KID_FAIL + KID_IGN; i++) {
		kf += i % 50 == 0 && i / 50 < KID_FAIL;
		ki += i % 50 == 1 && i / 50 < KID_IGN;
	}
	ck_assert_int_eq(kf, KID_FAIL);
	ck_assert_int_eq(ki, KID_IGN);

	fbx_snapshot *s = tsnap_of(box);
	const fbx_breaker_info *bi = tsnap_breaker(s, "fk");
	ck_assert_ptr_nonnull(bi);
	ck_assert_uint_eq(bi->successes, 10 + FORK_KIDS * KID_SUCC + 5);
	ck_assert_uint_eq(bi->failures, 2 + FORK_KIDS * KID_FAIL);
	ck_assert_uint_eq(bi->ignored, FORK_KIDS * KID_IGN + 1);
	ck_assert_int_eq(bi->state, FBX_CLOSED);
	const fbx_limiter_info *li = tsnap_limiter(s, "fl");
	ck_assert_ptr_nonnull(li);
	ck_assert_uint_eq(li->allowed, 3 + FORK_KIDS * KID_TAKES);
	ck_assert_uint_eq(li->denied, 0);
	fbx_snapshot_free(s);
	fbx_box_close(box);
	ck_assert_int_eq(fbx_box_unlink(name), 0);
}
END_TEST

/* A registrar killed after claiming a slot but before publishing leaves an
 * INIT record: the next registration repairs it and there is exactly one
 * record of the name. */
START_TEST(one_record_per_name_after_a_kill_in_publish)
{
	tclock_install();
	fbx_box *box = tbox_create(NULL);
	struct fbx__records rs = fbx__breaker_records(box);
	int lock = fbx__registry_lock(box);
	ck_assert_int_ge(lock, 0);
	int i = fbx__record_claim(&rs, "db");
	ck_assert_int_ge(i, 0);
	/* the registrar "dies": the kernel drops its lock, the record stays */
	fbx__registry_unlock(lock);
	tbreaker_reg(box, "db", NULL);
	fbx_snapshot *s = tsnap_of(box);
	size_t n, named = 0;
	const fbx_breaker_info *bi = fbx_snapshot_breakers(s, &n);
	for (size_t k = 0; k < n; k++)
		named += strcmp(bi[k].name, "db") == 0;
	ck_assert_uint_eq(named, 1);
	fbx_snapshot_free(s);
	fbx_box_close(box);
}
END_TEST

FBX_TEST_SUITE(box_processes)
{
	Suite *s = suite_create("box_processes");
	TCase *tc = tcase_create("processes");
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, creation_race);
	tcase_add_loop_test(tc, registry_owner_dead, DIE_EXIT, DIE_SIGKILL + 1);
	tcase_add_test(tc, one_record_per_name_after_a_kill_in_publish);
	tcase_add_test(tc, fork_inherited_handles);
	suite_add_tcase(s, tc);
	return s;
}
