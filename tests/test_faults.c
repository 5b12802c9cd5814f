/*
 * test_faults.c — what a stalled, stopped or killed process may leave
 * behind, each case made deterministic.
 *
 * A stall is staged inside a clock reading: the substituted clock returns
 * the time as it was when called, after running "what the rest of the host
 * did meanwhile" through a second handle on the same box.  The library
 * then goes on with a reading that is stale by the staged amount, which is
 * exactly what preemption, cgroup throttling or SIGSTOP do to a caller.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "internal.h"
#include "keyhash.h"
#include "keytable.h"
#include "suites.h"

#define SEC 1000000000ull
#define MS 1000000ull

/* ---- a clock that can stall once --------------------------------------- */

static uint64_t now_ns = 1000 * SEC;
static void (*meanwhile)(void);

static uint64_t stalling_clock(void *arg)
{
	(void)arg;
	uint64_t t = now_ns; /* the reading, taken before the stall */
	if (meanwhile != NULL) {
		void (*f)(void) = meanwhile;
		meanwhile = NULL;
		f();
	}
	return t;
}

static fbx_box *box, *other; /* two handles on one box: two "processes" */

static void setup(void)
{
	now_ns = 1000 * SEC;
	meanwhile = NULL;
	fbx_clock_set(stalling_clock, NULL);
	box = tbox_create(NULL);
	fbx_box_info info;
	ck_assert_int_eq(fbx_box_info_get(box, &info), 0);
	ck_assert_int_eq(fbx_box_open(info.name, 0, NULL, &other), 0);
}

static void teardown(void)
{
	fbx_box_close(other);
	fbx_box_close(box);
	other = box = NULL;
	fbx_clock_set(NULL, NULL);
}

/* ---- 1. half-open trials under a stalled caller ------------------------- */

static fbx_breaker *ours, *theirs;
static fbx_permit their_trial;

static fbx_breaker_config trial_cfg(uint32_t half_open_max, uint32_t successes)
{
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.fail_max = 1;
	c.reset_timeout_ns = 1 * SEC;
	c.half_open_max = half_open_max;
	c.success_threshold = successes;
	c.trial_lease_ns = 10 * SEC;
	return c;
}

/* From CLOSED: one failure opens, the open period passes, the next
 * allow() (by `by`) moves to HALF_OPEN and takes a trial. */
static void to_half_open(fbx_breaker *by, fbx_permit *trial)
{
	fbx_permit p;
	ck_assert_int_eq(fbx_breaker_allow(by, &p), 0);
	ck_assert_int_eq(fbx_breaker_done(by, &p, FBX_FAILURE, 0), 0);
	now_ns += 1 * SEC;
	ck_assert_int_eq(fbx_breaker_allow(by, trial), 0);
	ck_assert_int_ge(trial->_slot, 0);
}

/* Meanwhile: the trial we saw fails, the breaker re-opens, the period
 * passes, and another process takes the next period's only trial. */
static void next_period_trial(void)
{
	ck_assert_int_eq(fbx_breaker_done(theirs, &their_trial, FBX_FAILURE, 0), 0);
	now_ns += 1 * SEC + 1 * MS;
	ck_assert_int_eq(fbx_breaker_allow(theirs, &their_trial), 0);
	ck_assert_int_ge(their_trial._slot, 0);
}

START_TEST(stalled_caller_takes_no_newer_trial)
{
	fbx_breaker_config c = trial_cfg(1, 1);
	ours = tbreaker_reg(box, "pay", &c);
	theirs = tbreaker_reg(other, "pay", &c);
	to_half_open(theirs, &their_trial);
	ck_assert_int_eq(tbreaker_now(box, "pay").state, FBX_HALF_OPEN);

	fbx_permit p;
	meanwhile = next_period_trial;
	/* our caller read HALF_OPEN of the first period, then stalled */
	ck_assert_int_eq(fbx_breaker_allow(ours, &p), FBX_EOPEN);
	ck_assert_int_eq(p.reason, FBX_REJECT_HALF_OPEN_FULL);
	ck_assert_uint_eq(tbreaker_now(box, "pay").half_open_in_flight, 1);
	/* the live trial still holds its lease: its failure re-opens */
	ck_assert_int_eq(fbx_breaker_done(theirs, &their_trial, FBX_FAILURE, 0), 0);
	ck_assert_int_eq(tbreaker_now(box, "pay").state, FBX_OPEN);
}
END_TEST

static int sneaked;

/* Meanwhile: another process asks for a trial while the failed one's
 * report is between its checks and the re-opening. */
static void another_trial_meanwhile(void)
{
	fbx_permit p;
	sneaked = fbx_breaker_allow(theirs, &p) == 0;
}

/* A failed trial keeps its slot until the breaker has re-opened: no other
 * trial of that period may start on its heels (found by make chaos). */
START_TEST(failed_trial_lets_no_trial_in)
{
	fbx_breaker_config c = trial_cfg(1, 1);
	ours = tbreaker_reg(box, "pay", &c);
	theirs = tbreaker_reg(other, "pay", &c);
	fbx_permit trial;
	to_half_open(ours, &trial);
	sneaked = -1;
	meanwhile = another_trial_meanwhile;
	ck_assert_int_eq(fbx_breaker_done(ours, &trial, FBX_FAILURE, 0), 0);
	ck_assert_int_eq(sneaked, 0);
	ck_assert_int_eq(tbreaker_now(box, "pay").state, FBX_OPEN);
}
END_TEST

static void time_passes_1500ms(void)
{
	now_ns += 1500 * MS;
}

/* A lease granted on a reading 1.5 s old would expire 1.5 s early and be
 * reclaimed as a failed trial by the next caller. */
START_TEST(lease_from_stale_reading_runs_from_now)
{
	fbx_breaker_config c = trial_cfg(1, 2);
	c.trial_lease_ns = 1 * SEC;
	ours = tbreaker_reg(box, "pay", &c);
	theirs = tbreaker_reg(other, "pay", &c);
	to_half_open(theirs, &their_trial);
	ck_assert_int_eq(fbx_breaker_done(theirs, &their_trial, FBX_SUCCESS, 0), 0);
	ck_assert_int_eq(tbreaker_now(box, "pay").state, FBX_HALF_OPEN); /* one of two successes */

	fbx_permit mine, next;
	meanwhile = time_passes_1500ms;
	ck_assert_int_eq(fbx_breaker_allow(ours, &mine), 0);
	ck_assert_int_ge(mine._slot, 0);
	ck_assert_int_eq(fbx_breaker_allow(theirs, &next), FBX_EOPEN);
	ck_assert_int_eq(next.reason, FBX_REJECT_HALF_OPEN_FULL);
	ck_assert_int_eq(tbreaker_now(box, "pay").state, FBX_HALF_OPEN);
	ck_assert_int_eq(fbx_breaker_done(ours, &mine, FBX_SUCCESS, 0), 0);
	ck_assert_int_eq(tbreaker_now(box, "pay").state, FBX_CLOSED);
}
END_TEST

/* After 65,536 transitions the 16-bit generation comes round again; a
 * lease and a success count left from then must not count now. */
START_TEST(generation_wrap_leaves_no_ghost_trial)
{
	fbx_breaker_config c = trial_cfg(3, 3);
	ours = tbreaker_reg(box, "pay", &c);
	fbx_permit t[3];
	to_half_open(ours, &t[0]);
	ck_assert_int_eq(fbx_breaker_allow(ours, &t[1]), 0);
	ck_assert_int_eq(fbx_breaker_allow(ours, &t[2]), 0);
	ck_assert_int_eq(t[2]._slot, 2);
	ck_assert_int_eq(fbx_breaker_done(ours, &t[0], FBX_SUCCESS, 0), 0);
	ck_assert_int_eq(fbx_breaker_done(ours, &t[1], FBX_SUCCESS, 0), 0);
	/* t[2]'s holder "dies": its lease stays in slot 2 */
	uint32_t gen = tbreaker_now(box, "pay").generation;

	ck_assert_int_eq(fbx_breaker_reset(ours, "wrap"), 0); /* CLOSED, gen + 1 */
	/* failure -> OPEN and allow -> HALF_OPEN add 2: reach gen - 2 */
	for (;;) {
		uint32_t d = (gen - 2 - FBX__ST_GEN(atomic_load(&ours->rec->state))) & 0xffff;
		if (d == 0)
			break;
		if (d & 1) {
			ck_assert_int_eq(fbx_breaker_reset(ours, NULL), 0);
			continue;
		}
		ck_assert_int_eq(fbx_breaker_trip(ours, NULL), 0);
		ck_assert_int_eq(fbx_breaker_release(ours, NULL), 0);
	}
	now_ns += 60 * SEC; /* the old lease is long expired */
	fbx_permit n[4];
	to_half_open(ours, &n[0]);
	ck_assert_uint_eq(tbreaker_now(box, "pay").generation, gen);
	ck_assert_int_eq(fbx_breaker_allow(ours, &n[1]), 0);
	ck_assert_int_eq(fbx_breaker_allow(ours, &n[2]), 0); /* takes slot 2 over */
	ck_assert_int_eq(tbreaker_now(box, "pay").state, FBX_HALF_OPEN);
	ck_assert_uint_eq(tbreaker_now(box, "pay").half_open_in_flight, 3);
	ck_assert_int_eq(fbx_breaker_allow(ours, &n[3]), FBX_EOPEN);
	/* the two successes of long ago do not count: three are needed */
	ck_assert_int_eq(fbx_breaker_done(ours, &n[0], FBX_SUCCESS, 0), 0);
	ck_assert_int_eq(fbx_breaker_done(ours, &n[1], FBX_SUCCESS, 0), 0);
	ck_assert_int_eq(tbreaker_now(box, "pay").state, FBX_HALF_OPEN);
	ck_assert_int_eq(fbx_breaker_done(ours, &n[2], FBX_SUCCESS, 0), 0);
	ck_assert_int_eq(tbreaker_now(box, "pay").state, FBX_CLOSED);
	/* the ghost's late report changes nothing */
	ck_assert_int_eq(fbx_breaker_done(ours, &t[2], FBX_FAILURE, 0), 0);
	ck_assert_int_eq(tbreaker_now(box, "pay").state, FBX_CLOSED);
}
END_TEST

START_TEST(gen_counts_never_move_back)
{
	_Atomic uint64_t c = FBX__GC_MAKE(5, 3);
	ck_assert_uint_eq(fbx__gen_count_add(&c, 4), 0); /* late: adds nothing */
	ck_assert_uint_eq(atomic_load(&c), FBX__GC_MAKE(5, 3));
	ck_assert_uint_eq(fbx__gen_count_add(&c, 5), 4);
	ck_assert_uint_eq(fbx__gen_count_add(&c, 6), 1);
	atomic_store(&c, FBX__GC_MAKE(0xffff, 9));
	ck_assert_uint_eq(fbx__gen_count_add(&c, 0), 1); /* across the wrap */
	ck_assert_uint_eq(fbx__gen_count_add(&c, 0xfffe), 0);
	fbx__gen_retag(&c, 1);
	ck_assert_uint_eq(atomic_load(&c), FBX__GC_MAKE(1, 0));
}
END_TEST

/* A failure reported on a reading from before a stall must not wipe the
 * newer calls in the window's bucket it maps to.  Buckets live in each
 * process's shard: the newer calls come through the same handle, as from
 * another thread sharing it. */
static fbx_breaker *rate_theirs;

static void ten_successes_a_second_later(void)
{
	now_ns += 1 * SEC;
	for (int i = 0; i < 10; i++) {
		fbx_permit p;
		ck_assert_int_eq(fbx_breaker_allow(rate_theirs, &p), 0);
		ck_assert_int_eq(fbx_breaker_done(rate_theirs, &p, FBX_SUCCESS, 0), 0);
	}
}

START_TEST(stale_window_bucket_keeps_newer_calls)
{
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.fail_max = 0;
	c.failure_rate_pct = 50;
	c.min_calls = 10;
	c.window_ns = 1 * SEC;
	ours = tbreaker_reg(box, "rate", &c);
	rate_theirs = ours;
	fbx_permit p;
	ck_assert_int_eq(fbx_breaker_allow(ours, &p), 0);
	meanwhile = ten_successes_a_second_later;
	ck_assert_int_eq(fbx_breaker_done(ours, &p, FBX_FAILURE, 0), 0);
	fbx_breaker_info bi = tbreaker_now(box, "rate");
	ck_assert_uint_eq(bi.window_calls, 10);
	ck_assert_uint_eq(bi.window_failures, 0);
	ck_assert_uint_eq(bi.failures, 1); /* still counted in the totals */
	ck_assert_int_eq(bi.state, FBX_CLOSED);
}
END_TEST

/* The window's floor (data at or below it is void) only moves forward: a
 * close or a reset on a reading from before a stall must not bring back
 * the failures of the period that tripped the breaker. */
START_TEST(window_floor_never_moves_back)
{
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.fail_max = 0;
	c.failure_rate_pct = 50;
	c.min_calls = 4;
	c.window_ns = 1 * SEC;
	ours = tbreaker_reg(box, "rate", &c);
	uint64_t floor_now = now_ns / (c.window_ns / FBX_WINDOW_BUCKETS);
	fbx__window_floor_raise(ours, now_ns);
	ck_assert_uint_eq(atomic_load(&ours->rec->win_floor), floor_now);
	fbx__window_floor_raise(ours, now_ns - 2 * SEC); /* a stale reading */
	ck_assert_uint_eq(atomic_load(&ours->rec->win_floor), floor_now);
	fbx__window_floor_raise(ours, now_ns + 1 * SEC);
	ck_assert_uint_eq(atomic_load(&ours->rec->win_floor), floor_now + 10);
}
END_TEST

/* ---- 2. limits under a stalled caller ------------------------------------ */

static fbx_limiter *lim_theirs;
static int their_admits;

static void stall_then_others_take(void)
{
	now_ns += 1500 * MS;
	for (int i = 0; i < 20; i++) {
		fbx_limit_result r;
		if (fbx_limiter_take(lim_theirs, "k", 1, 1, &r) == 0)
			their_admits++;
	}
}

static int admits_now(fbx_limiter *l, int tries)
{
	int n = 0;
	for (int i = 0; i < tries; i++) {
		fbx_limit_result r;
		n += fbx_limiter_take(l, "k", 1, 1, &r) == 0;
	}
	return n;
}

START_TEST(stale_reading_gives_gcra_no_fresh_burst)
{
	fbx_limiter *l = tlim_reg(box, "g", "10/second", FBX_ALGO_GCRA, 5, 1, 0);
	lim_theirs = tlim_reg(other, "g", "10/second", FBX_ALGO_GCRA, 5, 1, 0);
	their_admits = 0;
	fbx_limit_result r;
	meanwhile = stall_then_others_take;
	int rc = fbx_limiter_take(l, "k", 1, 1, &r);
	ck_assert_int_eq(their_admits, 5); /* the burst, during our stall */
	ck_assert_int_eq(rc, FBX_ELIMITED);  /* decided on the time it is now */
	ck_assert_int_eq(admits_now(lim_theirs, 20), 0);
}
END_TEST

START_TEST(stale_reading_moves_no_window_back)
{
	fbx_limiter *l = tlim_reg(box, "w", "10/second", FBX_ALGO_WINDOW, 1, 1, 0);
	lim_theirs = tlim_reg(other, "w", "10/second", FBX_ALGO_WINDOW, 1, 1, 0);
	/* our reading says 2000.9 s; the others take at 2002.4 s, two
	 * windows on, and fill theirs */
	now_ns = 2000 * SEC + 900 * MS;
	their_admits = 0;
	fbx_limit_result r;
	meanwhile = stall_then_others_take;
	int rc = fbx_limiter_take(l, "k", 1, 1, &r);
	ck_assert_int_eq(their_admits, 10);
	ck_assert_int_eq(rc, FBX_ELIMITED);
	ck_assert_int_eq(admits_now(lim_theirs, 20), 0);
}
END_TEST

/* A rule changed live leaves a TAT further ahead than the new rule could:
 * the key's budget counts as spent — no fresh burst. */
START_TEST(rule_change_gives_gcra_no_fresh_burst)
{
	fbx_limiter *l = tlim_reg(box, "g", "10/minute", FBX_ALGO_GCRA, 10, 1, 0);
	ck_assert_int_eq(admits_now(l, 20), 10);
	ck_assert_int_eq(fbx_limiter_set_rule(l, "10/second", NULL), 0);
	fbx_limit_result r;
	ck_assert_int_eq(fbx_limiter_take(l, "k", 1, 1, &r), FBX_ELIMITED);
	ck_assert_uint_gt(r.retry_after_ns, 0);
	ck_assert_uint_le(r.retry_after_ns, 1 * SEC);
	now_ns += r.retry_after_ns;
	ck_assert_int_eq(admits_now(l, 20), 1); /* refills at the new rate */
}
END_TEST

/* ---- 3. creators that died before sizing the object ---------------------- */

START_TEST(openers_adopt_an_orphaned_empty_object)
{
	fbx_clock_set(NULL, NULL);
	const char *name = tname("fo");
	char path[80];
	snprintf(path, sizeof(path), "/fusebox.%s", name);
	int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd); /* the creator dies here, before sizing it */
	pid_t kids[4];
	for (int i = 0; i < 4; i++) {
		kids[i] = tfork();
		if (kids[i] == 0) {
			fbx_box_config c;
			fbx_box_config_init(&c);
			c.timeout_ms = 2000;
			fbx_box *b;
			_exit(fbx_box_open(name, FBX_OPEN_CREATE, &c, &b) == 0 ? 0 : 1);
		}
	}
	int ok = 0;
	for (int i = 0; i < 4; i++)
		ok += twait(kids[i]) == 0;
	shm_unlink(path);
	ck_assert_int_eq(ok, 4);
}
END_TEST

/* ---- 4. the key count, with inserters killed anywhere -------------------- */

static bool key_published(fbx_limiter *l, const char *key, size_t len, int *copies)
{
	const uint64_t seed[2] = {box->secret[0] ^ l->hash_salt, box->secret[1]};
	uint64_t h = fbx__keyhash(seed, key, len), tag = fbx__key_tag(l, h);
	struct fbx__kbucket *bk[2];
	fbx__key_buckets(l, h, bk);
	*copies = 0;
	for (int b = 0; b < 2; b++)
		for (int i = 0; i < FBX__KB_WAYS; i++)
			*copies += atomic_load(&bk[b]->tag[i]) == tag;
	return *copies > 0;
}

START_TEST(key_count_is_true_after_kills)
{
	fbx_clock_set(NULL, NULL);
	fbx_limiter *l = tlim_reg(box, "keys", "1000/second", FBX_ALGO_WINDOW, 1, 1, 0);
	srand(7);
	for (int round = 0; round < 40; round++) {
		pid_t kid = tfork();
		if (kid == 0) {
			char k[16];
			for (unsigned i = 0;; i++) {
				int n = snprintf(k, sizeof(k), "key%u", (i * 7919u + (unsigned)round) % 200);
				fbx_limit_result r;
				fbx_limiter_take(l, k, (size_t)n, 1, &r);
			}
		}
		usleep((useconds_t)(1000 + rand() % 4000));
		kill(kid, SIGKILL);
		twait(kid);
	}
	uint64_t held = 0;
	for (unsigned i = 0; i < 200; i++) {
		char k[16];
		int n = snprintf(k, sizeof(k), "key%u", i), copies;
		held += key_published(l, k, (size_t)n, &copies);
		ck_assert_msg(copies <= 1, "key%u published %d times", i, copies);
	}
	fbx_snapshot *s;
	ck_assert_int_eq(fbx_snapshot_new(box, &s), 0);
	ck_assert_int_eq(fbx_snapshot_take(box, s), 0);
	size_t n;
	const fbx_limiter_info *li = fbx_snapshot_limiters(s, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_gt(held, 0);
	ck_assert_uint_le(li[0].keys, (uint64_t)box->key_buckets * FBX__KB_WAYS);
	ck_assert_uint_eq(li[0].keys, held);

	/* What an inserter killed right after publishing leaves (a tag, no
	 * other trace) counts; what one killed after reserving leaves does
	 * not.  Made by hand in an empty entry, so it is certain to happen. */
	struct fbx__kbucket *bk = NULL;
	int way = -1;
	for (uint64_t b = 0; b < box->key_buckets && way < 0; b++)
		for (int i = 0; i < FBX__KB_WAYS && way < 0; i++)
			if (atomic_load(&box->keys[b].tag[i]) == 0) {
				bk = &box->keys[b];
				way = i;
			}
	ck_assert_int_ge(way, 0);
	uint64_t ghost = fbx__key_tag(l, 0x5eed);
	atomic_store(&bk->tag[way], ghost | FBX__TAG_RESERVED);
	ck_assert_int_eq(fbx_snapshot_take(box, s), 0);
	ck_assert_uint_eq(fbx_snapshot_limiters(s, &n)[0].keys, held);
	atomic_store(&bk->tag[way], ghost);
	ck_assert_int_eq(fbx_snapshot_take(box, s), 0);
	ck_assert_uint_eq(fbx_snapshot_limiters(s, &n)[0].keys, held + 1);
	fbx_snapshot_free(s);
}
END_TEST

/* ---- 5. an owner we cannot see is not dead ------------------------------- */

START_TEST(unreadable_proc_steals_no_slot)
{
	fbx_clock_set(NULL, NULL);
	fbx_box_config c;
	fbx_box_config_init(&c);
	c.breakers = 4;
	c.limiters = 4;
	c.keys = 64;
	c.events = 16;
	c.workers = 1;
	fbx_box_close(other); /* the fixture's box: this test needs one slot */
	fbx_box_close(box);
	other = NULL;
	box = tbox_create(&c);
	fbx_breaker_config bc;
	fbx_breaker_config_init(&bc);
	fbx_breaker *b = tbreaker_reg(box, "b", &bc);
	ck_assert_int_eq(atomic_load(&box->my_worker), 0); /* we own the only slot */
	uint64_t owner = atomic_load(&box->workers[0].owner);
	pid_t kid = tfork();
	if (kid == 0) {
		struct rlimit none = {0, 0};
		if (setrlimit(RLIMIT_NOFILE, &none) != 0)
			_exit(3);
		fbx_permit p; /* first use after fork claims a shard */
		if (fbx_breaker_allow(b, &p) != 0 || fbx_breaker_done(b, &p, FBX_SUCCESS, 0) != 0)
			_exit(4);
		if (atomic_load(&box->workers[0].owner) != owner)
			_exit(1);
		_exit(atomic_load(&box->my_worker) == -1 ? 0 : 2);
	}
	ck_assert_int_eq(twait(kid), 0);
	ck_assert_uint_eq(tbreaker_now(box, "b").successes, 1);
}
END_TEST

/* Someone with write access cuts the object short under a reader: the
 * next read says so instead of touching the mapping (SIGBUS). */
START_TEST(truncated_box_is_reported_not_faulted)
{
	fbx_box_info info;
	ck_assert_int_eq(fbx_box_info_get(box, &info), 0);
	fbx_snapshot *s;
	ck_assert_int_eq(fbx_snapshot_new(box, &s), 0);
	ck_assert_int_eq(fbx_snapshot_take(box, s), 0);
	char path[80];
	snprintf(path, sizeof(path), "/fusebox.%s", info.name);
	int fd = shm_open(path, O_RDWR, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 4096), 0);
	close(fd);
	ck_assert_int_eq(fbx_snapshot_take(box, s), FBX_ETRUNC);
	fbx_event ev[4];
	size_t n;
	uint64_t next;
	ck_assert_int_eq(fbx_events_read(box, 0, ev, 4, &n, &next), FBX_ETRUNC);
	fbx_box *again;
	ck_assert_int_eq(fbx_box_open(info.name, FBX_OPEN_RDONLY, NULL, &again), FBX_ECORRUPT);
	fbx_snapshot_free(s);
}
END_TEST

/* ---- 6. events in progress, abandoned and torn --------------------------- */

static size_t read_all(uint64_t from, fbx_event *ev, size_t cap, uint64_t *next)
{
	size_t n;
	ck_assert_int_eq(fbx_events_read(box, from, ev, cap, &n, next), 0);
	return n;
}

static void compose(uint64_t w[FBX__EV_WORDS], fbx_event_kind kind, uint32_t record)
{
	memset(w, 0, sizeof(uint64_t) * FBX__EV_WORDS);
	w[0] = now_ns;
	w[1] = (uint64_t)kind | (uint64_t)FBX_CAUSE_TRIP << 8 |
	       (uint64_t)FBX_REC_BREAKER << 16 | (uint64_t)record << 32;
	w[2] = (uint64_t)(uint32_t)FBX_CLOSED | (uint64_t)(uint32_t)FBX_FORCED_OPEN << 32;
}

START_TEST(follower_waits_for_event_in_progress)
{
	fbx_breaker_config bc;
	fbx_breaker_config_init(&bc);
	fbx_breaker *b = tbreaker_reg(box, "ev", &bc); /* event 0: registered */
	/* a writer took seq 1 and has not claimed its slot yet */
	uint64_t seq = atomic_fetch_add(&box->hdr->event_head, 1);
	ck_assert_uint_eq(seq, 1);
	ck_assert_int_eq(fbx_breaker_trip(b, "after"), 0); /* event 2 */
	fbx_event ev[8];
	uint64_t next;
	ck_assert_uint_eq(read_all(0, ev, 8, &next), 1);
	ck_assert_uint_eq(next, 1); /* not past the one in progress */
	/* claimed, still being written */
	struct fbx__event_slot *s = &box->events[1];
	atomic_store(&s->started, fbx__real_now());
	atomic_store(&s->seq1, 2 | FBX__EV_BUSY);
	ck_assert_uint_eq(read_all(next, ev, 8, &next), 0);
	ck_assert_uint_eq(next, 1);
	uint64_t w[FBX__EV_WORDS];
	compose(w, FBX_EV_MANUAL, b->index);
	atomic_store(&s->seq1, 0);
	fbx__event_write(box, 1, w); /* the writer finishes */
	ck_assert_uint_eq(read_all(next, ev, 8, &next), 2);
	ck_assert_uint_eq(ev[0].seq, 1);
	ck_assert_int_eq(ev[0].corrupt, 0);
	ck_assert_int_eq(ev[0].kind, FBX_EV_MANUAL);
	ck_assert_uint_eq(ev[1].seq, 2);
	ck_assert_str_eq(ev[1].reason, "after");
	ck_assert_uint_eq(next, 3);
}
END_TEST

START_TEST(abandoned_event_is_skipped_as_corrupt)
{
	fbx_breaker_config bc;
	fbx_breaker_config_init(&bc);
	fbx_breaker *b = tbreaker_reg(box, "ev", &bc);
	uint64_t seq = atomic_fetch_add(&box->hdr->event_head, 1);
	struct fbx__event_slot *s = &box->events[seq];
	atomic_store(&s->started, fbx__real_now() - 3 * SEC); /* died 3 s ago */
	atomic_store(&s->seq1, (seq + 1) | FBX__EV_BUSY);
	ck_assert_int_eq(fbx_breaker_trip(b, "after"), 0);
	fbx_event ev[8];
	uint64_t next;
	ck_assert_uint_eq(read_all(0, ev, 8, &next), 3);
	ck_assert_int_eq(ev[1].corrupt, 1);
	ck_assert_str_eq(ev[2].reason, "after");
	ck_assert_uint_eq(next, 3);
}
END_TEST

/* A writer that took its number and died before claiming its slot is
 * dated by the next complete event; one whose start is damage (none, or
 * after now) testifies to nothing, and the one after it is asked.  Taking
 * the damaged start as evidence held every reader at the slot for good. */
START_TEST(unclaimed_event_dated_past_a_damaged_witness)
{
	fbx_breaker_config bc;
	fbx_breaker_config_init(&bc);
	fbx_breaker *b = tbreaker_reg(box, "ev", &bc);            /* event 0 */
	uint64_t dead = atomic_fetch_add(&box->hdr->event_head, 1); /* 1: never claimed */
	ck_assert_int_eq(fbx_breaker_trip(b, "damaged"), 0);      /* 2 */
	ck_assert_int_eq(fbx_breaker_hold(b, "witness"), 0);      /* 3 */
	atomic_store(&box->events[2].started, fbx__real_now() + 3600 * SEC); /* damage */
	fbx_event ev[8];
	uint64_t next;
	/* the witness began only now: within the grace, the dead writer may
	 * still be coming, and a reader waits at its slot */
	ck_assert_uint_eq(read_all(0, ev, 8, &next), 1);
	ck_assert_uint_eq(next, dead);
	/* the witness began 3 s ago: the dead writer is past the grace */
	atomic_store(&box->events[3].started, fbx__real_now() - 3 * SEC);
	ck_assert_uint_eq(read_all(next, ev, 8, &next), 3);
	ck_assert_int_eq(ev[0].corrupt, 1);
	ck_assert_uint_eq(ev[0].seq, dead);
	ck_assert_str_eq(ev[1].reason, "damaged");
	ck_assert_str_eq(ev[2].reason, "witness");
	ck_assert_uint_eq(next, 4);
}
END_TEST

/* A writer stalled for a whole turn of the ring must not overwrite the
 * newer event now in its slot, nor tear one undetected. */
START_TEST(stalled_writer_spares_newer_event)
{
	fbx_breaker_config bc;
	fbx_breaker_config_init(&bc);
	fbx_breaker *b = tbreaker_reg(box, "ev", &bc); /* event 0 */
	uint64_t stalled = atomic_fetch_add(&box->hdr->event_head, 1); /* 1 */
	uint64_t cap = box->cap_events;
	/* trip and hold by turns, ending on a trip: each a change, so each
	 * an event (a second trip in a row would record nothing) */
	for (uint64_t i = 0; i < cap; i++)
		ck_assert_int_eq((cap - 1 - i) % 2 == 0 ? fbx_breaker_trip(b, i == cap - 1 ? "newest" : "x")
							 : fbx_breaker_hold(b, "x"),
				 0);
	uint64_t w[FBX__EV_WORDS];
	compose(w, FBX_EV_MANUAL, b->index);
	fbx__event_write(box, stalled, w); /* too late: a newer event lives there */
	fbx_event ev[128];
	uint64_t next;
	size_t n = read_all(0, ev, 128, &next);
	ck_assert_uint_eq(n, cap);
	ck_assert_uint_eq(ev[n - 1].seq, stalled + cap);
	ck_assert_int_eq(ev[n - 1].corrupt, 0);
	ck_assert_str_eq(ev[n - 1].reason, "newest");

	/* a stalled writer that had claimed the slot, overtaken, then
	 * writing on: the newer record is seen torn, never taken as whole */
	uint64_t old = atomic_fetch_add(&box->hdr->event_head, 1), later = old + cap;
	struct fbx__event_slot *s = &box->events[old % cap];
	atomic_store(&s->seq1, (old + 1) | FBX__EV_BUSY); /* claimed, then stalled */
	for (uint64_t i = 0; i < cap; i++) /* the last one takes the slot over */
		ck_assert_int_eq(i % 2 == 0 ? fbx_breaker_hold(b, "y") : fbx_breaker_trip(b, "y"), 0);
	atomic_store(&s->w[2], 0x1234); /* the stalled writer's late word */
	fbx_event one;
	size_t got;
	ck_assert_int_eq(fbx_events_read(box, later, &one, 1, &got, &next), 0);
	ck_assert_uint_eq(got, 1);
	ck_assert_uint_eq(one.seq, later);
	ck_assert_int_eq(one.corrupt, 1);
}
END_TEST

/* ---- 7. a few scribbled bytes in a limiter's config ---------------------- */

enum scribble { S_PAD_INV, S_PAD_T, S_INV_T, S_GCRA_T, S_TAU, S_BURST, S_COARSE, S_N,
		S_MIN_COUNT, S_INV_PERIOD };
static const char *const scribble_name[] = {"pad_inv_t 0", "pad_t 0", "inv_t 0", "gcra_t 0",
					    "tau", "burst 0", "coarse_clock 7", "limits 9",
					    "min_count", "inv_period"};

static void scribble(struct fbx__limiter_cfg *c, enum scribble what)
{
	struct fbx__limit *k = &c->lim[0];
	switch (what) {
	case S_PAD_INV: k->pad_inv_t = 0; break;
	case S_PAD_T: k->pad_t = 0; break;
	case S_INV_T: k->inv_t = 0; break;
	case S_GCRA_T: k->gcra_t = 0; break;
	case S_TAU: k->gcra_tau = UINT64_MAX / 2; break;
	case S_BURST: c->burst = 0; break;
	case S_COARSE: c->coarse_clock = 7; break;
	case S_N: c->parsed.n = 9; break;
	case S_MIN_COUNT: c->min_count = 0; break;
	case S_INV_PERIOD: k->inv_period = 1; break;
	}
}

/* Each damaged figure makes a new handle's take fail with FBX_ECORRUPT —
 * it once made fbx__div loop forever — and readers mark the limiter. */
START_TEST(scribbled_limiter_config_fails_take)
{
	fbx_clock_set(NULL, NULL);
	fbx_limiter *l = tlim_reg(box, "g", "10/minute", FBX_ALGO_GCRA, 2, 1, 0);
	fbx_limit_result r;
	ck_assert_int_eq(fbx_limiter_take(l, "k", 1, 1, &r), 0);
	struct fbx__limiter_rec *rec = l->rec;
	struct fbx__limiter_cfg *c = &rec->cfg[atomic_load(&rec->cfg_active) & 1];
	ck_assert_uint_eq(c->coarse_clock, 1); /* so the padded figures are in use */
	scribble(c, (enum scribble)_i);
	fbx_limiter *fresh;
	ck_assert_int_eq(fbx_limiter_find(other, "g", &fresh), 0);
	ck_assert_msg(fbx_limiter_take(fresh, "k", 1, 1, &r) == FBX_ECORRUPT, "%s",
		      scribble_name[_i]);
	fbx_snapshot *s;
	ck_assert_int_eq(fbx_snapshot_new(box, &s), 0);
	ck_assert_int_eq(fbx_snapshot_take(box, s), 0);
	size_t n;
	ck_assert_msg(fbx_snapshot_limiters(s, &n)[0].corrupt == 1, "%s not flagged",
		      scribble_name[_i]);
	fbx_snapshot_free(s);
}
END_TEST

/* The registry's lock keeps no state in the segment: bytes scribbled
 * where a process-shared mutex once lived wedge and abort nobody. */
START_TEST(scribbled_registry_bytes_harm_nothing)
{
	memset((void *)box->hdr->registry, 0xff, sizeof(box->hdr->registry));
	fbx_breaker_config bc;
	fbx_breaker_config_init(&bc);
	tbreaker_reg(box, "after", &bc);
	fbx_limiter *l = tlim_reg(other, "lim", "5/second", FBX_ALGO_WINDOW, 1, 1, 0);
	ck_assert_int_eq(fbx_limiter_set_rule(l, "6/second", NULL), 0);
}
END_TEST

/* A forked child shares its parent's handle, and so the descriptor it
 * kept: the lock must still exclude it (each locker uses an open file
 * description of its own). */
START_TEST(registry_lock_excludes_a_forked_child)
{
	fbx_clock_set(NULL, NULL);
	int lock = fbx__registry_lock(box);
	ck_assert_int_ge(lock, 0);
	pid_t kid = tfork();
	if (kid == 0) {
		fbx_breaker_config bc;
		fbx_breaker_config_init(&bc);
		fbx_breaker *b;
		_exit(-fbx_breaker_register(box, "from-child", &bc, &b));
	}
	tsleep_ms(200); /* time for the child to get past the lock, were it able to */
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_find(box, "from-child", &b), FBX_ENOENT);
	fbx__registry_unlock(lock);
	ck_assert_int_eq(twait(kid), 0);
	ck_assert_int_eq(fbx_breaker_find(box, "from-child", &b), 0);
}
END_TEST

FBX_TEST_SUITE(faults)
{
	Suite *s = suite_create("faults");
	TCase *t = tcase_create("stalls");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 30);
	tcase_add_test(t, stalled_caller_takes_no_newer_trial);
	tcase_add_test(t, lease_from_stale_reading_runs_from_now);
	tcase_add_test(t, failed_trial_lets_no_trial_in);
	tcase_add_test(t, generation_wrap_leaves_no_ghost_trial);
	tcase_add_test(t, gen_counts_never_move_back);
	tcase_add_test(t, stale_window_bucket_keeps_newer_calls);
	tcase_add_test(t, window_floor_never_moves_back);
	tcase_add_test(t, stale_reading_gives_gcra_no_fresh_burst);
	tcase_add_test(t, stale_reading_moves_no_window_back);
	tcase_add_test(t, rule_change_gives_gcra_no_fresh_burst);
	suite_add_tcase(s, t);
	TCase *k = tcase_create("kills");
	tcase_add_checked_fixture(k, setup, teardown);
	tcase_set_timeout(k, 30);
	tcase_add_test(k, openers_adopt_an_orphaned_empty_object);
	tcase_add_test(k, key_count_is_true_after_kills);
	tcase_add_test(k, unreadable_proc_steals_no_slot);
	tcase_add_test(k, truncated_box_is_reported_not_faulted);
	tcase_add_test(k, follower_waits_for_event_in_progress);
	tcase_add_test(k, abandoned_event_is_skipped_as_corrupt);
	tcase_add_test(k, unclaimed_event_dated_past_a_damaged_witness);
	tcase_add_test(k, stalled_writer_spares_newer_event);
	suite_add_tcase(s, k);
	TCase *d = tcase_create("scribbles");
	tcase_add_checked_fixture(d, setup, teardown);
	tcase_set_timeout(d, 10);
	tcase_add_loop_test(d, scribbled_limiter_config_fails_take, 0,
			    (int)(sizeof(scribble_name) / sizeof(scribble_name[0])));
	tcase_add_test(d, scribbled_registry_bytes_harm_nothing);
	tcase_add_test(d, registry_lock_excludes_a_forked_child);
	suite_add_tcase(s, d);
	return s;
}
