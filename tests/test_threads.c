/*
 * test_threads.c — one box handle (FBX_OPEN_THREADS) shared by threads
 * that read it while others write, and that register and find the same
 * names at once.  The breaker and limiter hot paths under threads are in
 * test_threads_breaker.c and test_threads_limiter.c.
 *
 * Threads sharing a handle also share its counter shard, its limiter
 * handles' local copies of the rule and its handle lists.  Every figure is
 * exact: the snapshot's totals must equal what the threads were told, and
 * on a frozen clock limits admit exactly what the rule allows.  Nothing
 * here depends on timing, so these run in plain `make test`; `make tsan`
 * runs them (tag "threads") under ThreadSanitizer, which also sees the
 * races that do not change a total.
 */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "suites.h"

#define MS 1000000ull
#define SEC 1000000000ull

#define RW_ITER 6000

struct rw {
	int id;
	struct tsurprise s;
	_Atomic int *stop;
	fbx_breaker *b;
	fbx_limiter *keyed, *global;
	/* writers */
	uint64_t out[3], rejected, allowed, denied, manual, config;
	/* readers */
	uint64_t snapshots, seen;
};

static void *rw_writer(void *arg)
{
	struct rw *t = arg;
	pthread_barrier_wait(&tline_up);
	for (int i = 0; i < RW_ITER; i++) {
		fbx_permit p;
		int rc = fbx_breaker_allow(t->b, &p);
		if (rc == 0) {
			fbx_outcome o = (fbx_outcome)(i % 2);
			rc = fbx_breaker_done(t->b, &p, o, 0);
			TNOTE(&t->s, rc == 0, rc);
			t->out[o]++;
		} else {
			TNOTE(&t->s, rc == FBX_EOPEN, rc);
			t->rejected++;
		}
		char key[8];
		int len = snprintf(key, sizeof(key), "u%d", i % 16);
		fbx_limit_result r;
		fbx_limiter *both[2] = {t->keyed, t->global};
		for (int k = 0; k < 2; k++) {
			rc = fbx_limiter_take(both[k], k == 0 ? key : NULL, k == 0 ? (size_t)len : 0, 1,
					      &r);
			TNOTE(&t->s, rc == 0 || rc == FBX_ELIMITED, rc);
			if (rc == 0 && !r.dry_run_denied)
				t->allowed++;
			else
				t->denied++; /* dry-run denials and denials alike */
		}
		if (i % 50 == t->id) {
			TNOTE(&t->s, (rc = fbx_breaker_trip(t->b, "rw")) == 0, rc);
			TNOTE(&t->s, (rc = fbx_breaker_release(t->b, "rw")) == 0, rc);
			t->manual += 2;
		}
		if (i % 100 == t->id) {
			TNOTE(&t->s, (rc = fbx_limiter_set_dry_run(t->global, i % 200 < 100, NULL)) == 0, rc);
			TNOTE(&t->s, (rc = fbx_limiter_set_rule(t->keyed, i % 300 < 100 ? "900/minute"
										       : "1000/minute", NULL)) == 0,
			     rc);
			t->config += 2;
		}
	}
	return NULL;
}

static bool known_name(const char *n)
{
	return strcmp(n, "rwb") == 0 || strcmp(n, "rwk") == 0 || strcmp(n, "rwg") == 0;
}

static void check_event(struct tsurprise *s, const fbx_event *e)
{
	if (e->corrupt)
		return;
	TNOTE(s, e->kind >= FBX_EV_TRANSITION && e->kind <= FBX_EV_CONFIG, (int)e->kind);
	TNOTE(s, e->cause < FBX_CAUSE_COUNT, (int)e->cause);
	TNOTE(s, known_name(e->name), 0);
}

static void *snapshot_reader(void *arg)
{
	struct rw *t = arg;
	pthread_barrier_wait(&tline_up);
	fbx_snapshot *snap;
	int rc = fbx_snapshot_new(tthreads_box, &snap);
	TNOTE(&t->s, rc == 0, rc);
	if (rc != 0)
		return NULL;
	uint64_t last[5] = {0};
	do {
		rc = fbx_snapshot_take(tthreads_box, snap);
		TNOTE(&t->s, rc == 0, rc);
		t->snapshots++;
		size_t nb, nl, ne;
		uint64_t dropped;
		const fbx_breaker_info *bi = fbx_snapshot_breakers(snap, &nb);
		const fbx_limiter_info *li = fbx_snapshot_limiters(snap, &nl);
		const fbx_event *ev = fbx_snapshot_events(snap, &ne, &dropped);
		TNOTE(&t->s, nb == 1 && nl == 2 && dropped == 0, (int)(nb * 10 + nl));
		if (nb != 1 || nl != 2)
			break;
		TNOTE(&t->s, !bi[0].corrupt && !li[0].corrupt && !li[1].corrupt, 0);
		/* counters never go back between two snapshots of one reader */
		uint64_t now[5] = {bi[0].successes, bi[0].failures, bi[0].rejected,
				   li[0].allowed + li[0].denied, li[1].allowed + li[1].denied};
		for (int k = 0; k < 5; k++) {
			TNOTE(&t->s, now[k] >= last[k], k);
			last[k] = now[k];
		}
		const char *rule = strcmp(li[0].name, "rwk") == 0 ? li[0].rule : li[1].rule;
		TNOTE(&t->s, strcmp(rule, "900/minute") == 0 || strcmp(rule, "1000/minute") == 0, 0);
		for (size_t i = 0; i < ne; i++) {
			TNOTE(&t->s, ev[i].seq == i, (int)i);
			check_event(&t->s, &ev[i]);
		}
	} while (!atomic_load(t->stop));
	fbx_snapshot_free(snap);
	return NULL;
}

/* Reads on from where it stopped, as `fuseboxctl events --follow` does.
 * An event still being written is "not yet" to fbx_events_read, so with
 * no writer killed or stopped a follower is handed each event once, whole. */
static void *event_follower(void *arg)
{
	struct rw *t = arg;
	fbx_event batch[32];
	uint64_t next = 0;
	pthread_barrier_wait(&tline_up);
	for (bool last_round = false;;) {
		size_t n;
		int rc = fbx_events_read(tthreads_box, next, batch, ARRAY_LEN(batch), &n, &next);
		TNOTE(&t->s, rc == 0, rc);
		if (rc != 0)
			break;
		for (size_t i = 0; i < n; i++) {
			TNOTE(&t->s, batch[i].seq == t->seen, (int)batch[i].seq);
			TNOTE(&t->s, !batch[i].corrupt, (int)batch[i].seq);
			check_event(&t->s, &batch[i]);
			t->seen++;
		}
		TNOTE(&t->s, next == t->seen, (int)next);
		if (n == ARRAY_LEN(batch))
			continue;
		if (last_round)
			break;
		last_round = atomic_load(t->stop); /* one more read after the writers are done */
	}
	return NULL;
}

/* Snapshots and an event follower run while writers call, take, trip,
 * release and change limiters: readers never see a damaged record, a
 * counter going back, or an event twice or out of order, and once the
 * writers are done the totals and the event count are exact. */
START_TEST(readers_race_writers)
{
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.fail_max = 4000000000u;
	fbx_breaker *b = tbreaker_reg(tthreads_box, "rwb", &c);
	fbx_limiter *keyed = tlim_reg(tthreads_box, "rwk", "1000/minute", FBX_ALGO_WINDOW, 1, 1, 0);
	fbx_limiter *global = tlim_reg(tthreads_box, "rwg", "3000/minute", FBX_ALGO_GCRA, 100, 0, 0);
	_Atomic int stop = 0;
	struct rw t[TTHREADS_N];
	memset(t, 0, sizeof(t));
	pthread_t th[TTHREADS_N];
	ck_assert_int_eq(pthread_barrier_init(&tline_up, NULL, TTHREADS_N), 0);
	void *(*const roles[TTHREADS_N])(void *) = {rw_writer, rw_writer, snapshot_reader,
						   event_follower};
	for (int i = 0; i < TTHREADS_N; i++) {
		t[i].id = i;
		t[i].stop = &stop;
		t[i].b = b;
		t[i].keyed = keyed;
		t[i].global = global;
		ck_assert_int_eq(pthread_create(&th[i], NULL, roles[i], &t[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	atomic_store(&stop, 1);
	for (int i = 2; i < TTHREADS_N; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	pthread_barrier_destroy(&tline_up);

	uint64_t out[3] = {0}, rejected = 0, allowed = 0, denied = 0, calls = 3;
	for (int i = 0; i < TTHREADS_N; i++) {
		tno_surprise(&t[i].s, i);
		for (int k = 0; k < 3; k++)
			out[k] += t[i].out[k];
		rejected += t[i].rejected;
		allowed += t[i].allowed;
		denied += t[i].denied;
		calls += t[i].manual + t[i].config;
	}
	/* An action that finds things as it would leave them records nothing
	 * (a trip of a breaker the other writer tripped, a rule already in
	 * force), so how many were recorded depends on the interleaving: the
	 * ring says, and the follower must have been handed each of them once. */
	size_t n;
	fbx_event *ev = tevents_all(tthreads_box, &n);
	uint64_t events = n;
	ck_assert_uint_le(events, calls);
	ck_assert_uint_gt(events, 3);
	ck_assert_uint_gt(t[2].snapshots, 0);
	ck_assert_uint_eq(t[3].seen, events); /* each event handed over once */
	fbx_snapshot *s = tsnap_of(tthreads_box);
	const fbx_breaker_info *bi = tneed_breaker(s, "rwb");
	ck_assert_uint_eq(bi->successes, out[FBX_SUCCESS]);
	ck_assert_uint_eq(bi->failures, out[FBX_FAILURE]);
	ck_assert_uint_eq(bi->rejected, rejected);
	ck_assert_int_eq(bi->state, FBX_CLOSED);
	const fbx_limiter_info *lk = tneed_limiter(s, "rwk"), *lg = tneed_limiter(s, "rwg");
	ck_assert_uint_eq(lk->allowed + lg->allowed, allowed);
	ck_assert_uint_eq(lk->denied + lk->dry_run_denied + lg->denied + lg->dry_run_denied, denied);
	ck_assert_uint_eq(lk->keys, 16);
	fbx_snapshot_free(s);
	ck_assert_uint_eq(ev[n - 1].seq + 1, n); /* none dropped: the count is the ring's */
	ck_assert_uint_eq(tcount_events(ev, n, FBX_EV_REGISTER, -1, NULL), 3);
	free(ev);
}
END_TEST

/* ======================================================================
 * Registering and finding the same names at once
 * ==================================================================== */

#define REG_NAMES 15 /* plus "dup": the box's 16 breaker records */
#define REG_LIMS 7   /* plus "ldup": its 8 limiter records */

struct reg {
	int id;
	struct tsurprise s;
	fbx_breaker *b[REG_NAMES], *found[REG_NAMES];
	fbx_limiter *l[REG_LIMS], *lfound[REG_LIMS];
	int dup_rc, ldup_rc;
};

static void *registrar(void *arg)
{
	struct reg *t = arg;
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	fbx_limiter_config lc;
	fbx_limiter_config_init(&lc);
	lc.rule = "50/minute";
	pthread_barrier_wait(&tline_up);
	for (int k = 0; k < REG_NAMES; k++) {
		/* each thread starts elsewhere in the list, and looks up the
		 * name it will register next, which may or may not exist yet */
		int i = (k + t->id * 4) % REG_NAMES, j = (i + 1) % REG_NAMES;
		char bn[16], next[16];
		snprintf(bn, sizeof(bn), "n%02d", i);
		snprintf(next, sizeof(next), "n%02d", j);
		fbx_breaker *f = NULL;
		int rc = fbx_breaker_find(tthreads_box, next, &f);
		TNOTE(&t->s, rc == 0 || rc == FBX_ENOENT, rc);
		if (rc == 0)
			t->found[j] = f;
		rc = fbx_breaker_register(tthreads_box, bn, &c, &t->b[i]);
		TNOTE(&t->s, rc == 0, rc);
		if (k < REG_LIMS) {
			i = (k + t->id * 2) % REG_LIMS;
			j = (i + 1) % REG_LIMS;
			snprintf(bn, sizeof(bn), "l%d", i);
			snprintf(next, sizeof(next), "l%d", j);
			fbx_limiter *lf = NULL;
			rc = fbx_limiter_find(tthreads_box, next, &lf);
			TNOTE(&t->s, rc == 0 || rc == FBX_ENOENT, rc);
			if (rc == 0)
				t->lfound[j] = lf;
			rc = fbx_limiter_register(tthreads_box, bn, &lc, &t->l[i]);
			TNOTE(&t->s, rc == 0, rc);
		}
	}
	/* Half the threads want one configuration, half another. */
	c.fail_max = t->id % 2 ? 6 : 5;
	fbx_breaker *d;
	t->dup_rc = fbx_breaker_register(tthreads_box, "dup", &c, &d);
	lc.rule = t->id % 2 ? "6/minute" : "5/minute";
	fbx_limiter *ld;
	t->ldup_rc = fbx_limiter_register(tthreads_box, "ldup", &lc, &ld);
	return NULL;
}

/* One record per name, however many threads register or look it up at
 * once; every thread gets the same handle for it; a name wanted with two
 * configurations goes to exactly one of them. */
START_TEST(same_names_at_once)
{
	struct reg t[TTHREADS_N];
	memset(t, 0, sizeof(t));
	for (int i = 0; i < TTHREADS_N; i++)
		t[i].id = i;
	tthreads_run(TTHREADS_N, registrar, t, sizeof(t[0]));
	for (int i = 0; i < TTHREADS_N; i++)
		tno_surprise(&t[i].s, i);
	for (int k = 0; k < REG_NAMES; k++) {
		char bn[16];
		snprintf(bn, sizeof(bn), "n%02d", k);
		ck_assert_ptr_nonnull(t[0].b[k]);
		ck_assert_str_eq(fbx_breaker_name(t[0].b[k]), bn);
		for (int i = 0; i < TTHREADS_N; i++) {
			ck_assert_ptr_eq(t[i].b[k], t[0].b[k]);
			if (t[i].found[k] != NULL)
				ck_assert_ptr_eq(t[i].found[k], t[0].b[k]);
		}
	}
	for (int k = 0; k < REG_LIMS; k++) {
		char ln[16];
		snprintf(ln, sizeof(ln), "l%d", k);
		ck_assert_ptr_nonnull(t[0].l[k]);
		ck_assert_str_eq(fbx_limiter_name(t[0].l[k]), ln);
		for (int i = 0; i < TTHREADS_N; i++) {
			ck_assert_ptr_eq(t[i].l[k], t[0].l[k]);
			if (t[i].lfound[k] != NULL)
				ck_assert_ptr_eq(t[i].lfound[k], t[0].l[k]);
		}
	}
	/* the first registrar of "dup" chose its configuration; the threads
	 * that wanted the same one share it, the others are refused */
	int winner = t[0].dup_rc == 0 ? 0 : 1, lwinner = t[0].ldup_rc == 0 ? 0 : 1;
	for (int i = 0; i < TTHREADS_N; i++) {
		ck_assert_int_eq(t[i].dup_rc, i % 2 == winner ? 0 : FBX_ECONFLICT);
		ck_assert_int_eq(t[i].ldup_rc, i % 2 == lwinner ? 0 : FBX_ECONFLICT);
	}
	fbx_snapshot *s = tsnap_of(tthreads_box);
	size_t nb, nl;
	fbx_snapshot_breakers(s, &nb);
	fbx_snapshot_limiters(s, &nl);
	ck_assert_uint_eq(nb, REG_NAMES + 1);
	ck_assert_uint_eq(nl, REG_LIMS + 1);
	ck_assert_uint_eq(tneed_breaker(s, "dup")->config.fail_max, winner ? 6u : 5u);
	ck_assert_uint_eq(tneed_limiter(s, "ldup")->parsed.limit[0].count, lwinner ? 6u : 5u);
	fbx_snapshot_free(s);
	/* every record is taken: one more name does not fit */
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	fbx_breaker *extra;
	ck_assert_int_eq(fbx_breaker_register(tthreads_box, "extra", &c, &extra), FBX_EFULL);
	size_t n;
	fbx_event *ev = tevents_all(tthreads_box, &n);
	ck_assert_uint_eq(n, REG_NAMES + 1 + REG_LIMS + 1);
	ck_assert_uint_eq(tcount_events(ev, n, FBX_EV_REGISTER, FBX_CAUSE_CREATED, NULL), n);
	free(ev);
}
END_TEST

FBX_TEST_SUITE(threads)
{
	Suite *s = suite_create("threads");
	TCase *tc = tcase_create("shared_handle");
	/* what make tsan selects: all the threads suites */
	tcase_set_tags(tc, "threads");
	/* ThreadSanitizer makes these several times slower; nothing waits on time */
	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, NULL, tthreads_sweep);
	tcase_add_checked_fixture(tc, tthreads_setup, tthreads_teardown);
	tcase_add_test(tc, readers_race_writers);
	tcase_add_test(tc, same_names_at_once);
	suite_add_tcase(s, tc);
	return s;
}
