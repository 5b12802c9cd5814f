/* test_workers.c — workers in their slots, what anyone sees of them, and
 * the drain: registration, heartbeat, requests in flight host-wide, a
 * worker killed with requests in flight, a reused pid, a full table, a
 * drain started from a signal handler and waited for. */
#include <check.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
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
	c.workers = 4;
	box = tbox_create(&c);
}

static void teardown(void)
{
	tbox_unlink(box);
	fbx_box_close(box);
	fbx_clock_set(NULL, NULL);
}

static fbx_snapshot *snap(void)
{
	return tsnap_of(box);
}

/* The worker of pid in s, or NULL. */
static const fbx_worker_info *worker_of(const fbx_snapshot *s, pid_t pid)
{
	size_t n;
	const fbx_worker_info *w = fbx_snapshot_workers(s, &n);
	for (size_t i = 0; i < n; i++)
		if (w[i].pid == pid)
			return &w[i];
	return NULL;
}

/* A pipe-driven child: registers, then begins `busy` requests and waits
 * to be killed or told to end them. */
struct kid {
	pid_t pid;
	int go[2];
};

static void kid_start(struct kid *k, const char *role, int busy)
{
	ck_assert_int_eq(pipe(k->go), 0);
	k->pid = tfork();
	if (k->pid == 0) {
		close(k->go[1]);
		if (fbx_worker_register(box, role, T_S(5)) != 0)
			_exit(10);
		for (int i = 0; i < busy; i++)
			if (fbx_request_begin(box) != 0)
				_exit(11);
		char c;
		if (read(k->go[0], &c, 1) != 1)
			_exit(12);
		for (int i = 0; i < busy; i++)
			if (fbx_request_end(box) != 0)
				_exit(13);
		_exit(0);
	}
	close(k->go[0]);
}

static void kid_wait_registered(const struct kid *k)
{
	for (int tries = 0; tries < 2000; tries++) {
		fbx_snapshot *s = snap();
		const fbx_worker_info *w = worker_of(s, k->pid);
		bool there = w != NULL;
		fbx_snapshot_free(s);
		if (there)
			return;
		tsleep_ms(1);
	}
	ck_abort_msg("worker %d never registered", (int)k->pid);
}

static void kid_finish(struct kid *k)
{
	ck_assert_int_eq(write(k->go[1], "x", 1), 1);
	close(k->go[1]);
	ck_assert_int_eq(twait(k->pid), 0);
}

START_TEST(register_and_count)
{
	ck_assert_int_eq(fbx_request_begin(box), FBX_ENOENT); /* not a worker yet */
	ck_assert_int_eq(fbx_worker_register(box, "master", T_S(2)), 0);
	fbx_snapshot *s = snap();
	const fbx_worker_info *w = worker_of(s, getpid());
	ck_assert_ptr_nonnull(w);
	ck_assert_str_eq(w->role, "master");
	ck_assert_int_eq(w->alive, 1);
	ck_assert_uint_eq(w->heartbeat_timeout_ns, T_S(2));
	ck_assert_uint_eq(w->in_flight, 0);
	fbx_snapshot_free(s);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(fbx_request_begin(box), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(fbx_request_end(box), 0);
	tclock_advance_ms(1500);
	s = snap();
	w = worker_of(s, getpid());
	ck_assert_uint_eq(w->in_flight, 2);
	ck_assert_uint_eq(w->served, 3);
	ck_assert_uint_eq(w->heartbeat_age_ns, T_MS(1500));
	ck_assert_int_eq(w->alive, 1);
	fbx_snapshot_free(s);
	/* past its timeout without a heartbeat: dead, its requests not counted */
	tclock_advance_ms(600);
	s = snap();
	w = worker_of(s, getpid());
	ck_assert_int_eq(w->alive, 0);
	ck_assert_int_eq(w->process_gone, 0);
	ck_assert_uint_eq(w->in_flight, 0);
	ck_assert_uint_eq(fbx_snapshot_health(s)->in_flight, 0);
	fbx_snapshot_free(s);
	ck_assert_int_eq(fbx_worker_heartbeat(box), 0);
	s = snap();
	ck_assert_int_eq(worker_of(s, getpid())->alive, 1);
	ck_assert_uint_eq(fbx_snapshot_health(s)->in_flight, 2);
	fbx_snapshot_free(s);
	/* an end without a begin is refused, not counted below zero */
	ck_assert_int_eq(fbx_request_end(box), 0);
	ck_assert_int_eq(fbx_request_end(box), 0);
	ck_assert_int_eq(fbx_request_end(box), FBX_EINVAL);
	ck_assert_int_eq(fbx_worker_unregister(box), 0);
	s = snap();
	ck_assert_ptr_null(worker_of(s, getpid()));
	fbx_snapshot_free(s);
}
END_TEST

START_TEST(bad_registrations)
{
	ck_assert_int_eq(fbx_worker_register(NULL, "w", T_S(1)), FBX_EINVAL);
	ck_assert_int_eq(fbx_worker_register(box, NULL, T_S(1)), FBX_EINVAL);
	ck_assert_int_eq(fbx_worker_register(box, "", T_S(1)), FBX_ENAME);
	ck_assert_int_eq(fbx_worker_register(box, "a role too long!", T_S(1)), FBX_ENAME);
	ck_assert_int_eq(fbx_worker_register(box, "two words", T_S(1)), FBX_ENAME);
	ck_assert_int_eq(fbx_worker_register(box, "esc\x1b", T_S(1)), FBX_ENAME);
	ck_assert_int_eq(fbx_worker_register(box, "w", 0), FBX_EINVAL);
	ck_assert_int_eq(fbx_worker_register(box, "w", T_MS(1) - 1), FBX_EINVAL);
	ck_assert_int_eq(fbx_worker_register(box, "w", T_S(3601)), FBX_EINVAL);
	ck_assert_int_eq(fbx_worker_register(box, "w", T_S(3600)), 0);
	ck_assert_int_eq(fbx_worker_unregister(NULL), FBX_EINVAL);
	ck_assert_int_eq(fbx_worker_heartbeat(NULL), FBX_EINVAL);
}
END_TEST

/* Killed with requests in flight: seen dead by anyone who looks (its
 * process is gone), its requests no longer counted, and the next process
 * in its slot starts from none. */
START_TEST(killed_worker_reclaimed)
{
	struct kid a, b;
	kid_start(&a, "worker", 3);
	kid_start(&b, "worker", 2);
	kid_wait_registered(&a);
	kid_wait_registered(&b);
	fbx_snapshot *s = snap();
	ck_assert_uint_eq(fbx_snapshot_health(s)->in_flight, 5);
	ck_assert_uint_eq(fbx_snapshot_health(s)->workers_alive, 2);
	fbx_snapshot_free(s);
	kill(a.pid, SIGKILL);
	ck_assert_int_eq(twait(a.pid), -1);
	close(a.go[1]);
	s = snap();
	const fbx_worker_info *w = worker_of(s, a.pid);
	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(w->alive, 0);
	ck_assert_int_eq(w->process_gone, 1);
	ck_assert_uint_eq(w->in_flight, 0);
	ck_assert_uint_eq(fbx_snapshot_health(s)->in_flight, 2);
	ck_assert_uint_eq(fbx_snapshot_health(s)->workers_dead, 1);
	fbx_snapshot_free(s);
	kid_finish(&b);
	/* the box has 4 slots: fill them, so that one new process must take
	 * the dead one's; it starts with nothing in flight */
	struct kid c[3];
	for (int i = 0; i < 3; i++) {
		kid_start(&c[i], "worker", 0);
		kid_wait_registered(&c[i]);
	}
	s = snap();
	ck_assert_ptr_null(worker_of(s, a.pid)); /* its slot was taken over */
	ck_assert_uint_eq(fbx_snapshot_health(s)->in_flight, 0);
	fbx_snapshot_free(s);
	for (int i = 0; i < 3; i++)
		kid_finish(&c[i]);
}
END_TEST

/* A pid that names another process now: the start time tells them apart. */
START_TEST(reused_pid_is_not_the_worker)
{
	ck_assert_int_eq(fbx_worker_register(box, "worker", T_S(5)), 0);
	ck_assert_int_eq(fbx_request_begin(box), 0);
	int32_t w = atomic_load(&box->my_worker);
	ck_assert_int_ge(w, 0);
	/* this process's pid with another start time: what a recycled pid
	 * looks like to the slot of the process that had it first */
	uint64_t owner = atomic_load(&box->workers[w].owner);
	atomic_store(&box->workers[w].owner,
		     FBX__OWNER_MAKE(FBX__OWNER_PID(owner), FBX__OWNER_START(owner) + 7));
	fbx_snapshot *s = snap();
	const fbx_worker_info *wi = worker_of(s, getpid());
	ck_assert_ptr_nonnull(wi);
	ck_assert_int_eq(wi->alive, 0);
	ck_assert_int_eq(wi->process_gone, 1);
	ck_assert_uint_eq(wi->in_flight, 0);
	fbx_snapshot_free(s);
	atomic_store(&box->workers[w].owner, owner);
}
END_TEST

/* More processes than slots: a clear error, never a shared slot. */
START_TEST(full_table_is_efull)
{
	/* the test process holds one of the 4 slots since it opened the box */
	struct kid k[3];
	for (int i = 0; i < 3; i++) {
		kid_start(&k[i], "worker", 0);
		kid_wait_registered(&k[i]);
	}
	pid_t pid = tfork();
	if (pid == 0)
		_exit(fbx_worker_register(box, "late", T_S(1)) == FBX_EFULL ? 0 : 1);
	ck_assert_int_eq(twait(pid), 0);
	for (int i = 0; i < 3; i++)
		kid_finish(&k[i]);
}
END_TEST

/* A fork() child has a slot of its own and is not a worker until it
 * registers itself. */
START_TEST(fork_child_registers_itself)
{
	ck_assert_int_eq(fbx_worker_register(box, "master", T_S(5)), 0);
	pid_t pid = tfork();
	if (pid == 0) {
		if (fbx_request_begin(box) != FBX_ENOENT)
			_exit(1);
		if (fbx_worker_register(box, "worker", T_S(5)) != 0)
			_exit(2);
		if (atomic_load(&box->my_worker) < 0 || fbx_request_begin(box) != 0)
			_exit(3);
		fbx_snapshot *s = tsnap_of(box);
		const fbx_worker_info *me = worker_of(s, getpid());
		const fbx_worker_info *parent = worker_of(s, getppid());
		int ok = me != NULL && parent != NULL && strcmp(me->role, "worker") == 0 &&
			 strcmp(parent->role, "master") == 0 && me->in_flight == 1 &&
			 parent->in_flight == 0;
		fbx_snapshot_free(s);
		_exit(ok ? 0 : 4);
	}
	ck_assert_int_eq(twait(pid), 0);
}
END_TEST

/* A scribbled slot reads as damaged, never as a live worker's figures. */
START_TEST(scribbled_slot_flagged)
{
	ck_assert_int_eq(fbx_worker_register(box, "worker", T_S(5)), 0);
	int32_t w = atomic_load(&box->my_worker);
	struct fbx__worker *slot = &box->workers[w];
	atomic_store(&slot->served, atomic_load(&slot->begun) + 5); /* more ended than begun */
	fbx_snapshot *s = snap();
	const fbx_worker_info *wi = worker_of(s, getpid());
	ck_assert_int_eq(wi->corrupt, 1);
	ck_assert_uint_eq(fbx_snapshot_health(s)->in_flight, 0);
	fbx_snapshot_free(s);
	atomic_store(&slot->role[0], 0x1b5b324a41414141ull);
	s = snap();
	wi = worker_of(s, getpid());
	ck_assert_int_eq(wi->corrupt, 1);
	for (const char *c = wi->role; *c; c++)
		ck_assert(*c >= 0x20 && *c < 0x7f);
	fbx_snapshot_free(s);
}
END_TEST

/* ---- drain -------------------------------------------------------------- */

static fbx_box *signal_box;
static void on_term(int sig)
{
	(void)sig;
	fbx_drain(signal_box, 1);
}

/* The drain from a SIGTERM handler: one store, and readiness fails. */
START_TEST(drain_from_a_signal_handler)
{
	ck_assert_int_eq(fbx_started(box), 0);
	ck_assert_int_eq(fbx_worker_register(box, "worker", T_S(5)), 0);
	fbx_snapshot *s = snap();
	ck_assert_int_eq(fbx_snapshot_health(s)->ready, 1);
	ck_assert_int_eq(fbx_snapshot_health(s)->draining, 0);
	fbx_snapshot_free(s);
	signal_box = box;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	ck_assert_int_eq(sigaction(SIGTERM, &sa, NULL), 0);
	ck_assert_int_eq(fbx_draining(box), 0);
	kill(getpid(), SIGTERM);
	ck_assert_int_eq(fbx_draining(box), 1);
	s = snap();
	ck_assert_int_eq(fbx_snapshot_health(s)->draining, 1);
	ck_assert_int_eq(fbx_snapshot_health(s)->ready, 0);
	ck_assert_str_eq(fbx_snapshot_health(s)->reason, "draining");
	fbx_snapshot_free(s);
	ck_assert_int_eq(fbx_drain(box, 0), 0);
	ck_assert_int_eq(fbx_draining(box), 0);
	ck_assert_int_eq(fbx_draining(NULL), 0);
}
END_TEST

/* Box events for the drain: only changes, who and why; a second drain
 * keeps the time the first began. */
START_TEST(drain_recorded_once_with_who_and_why)
{
	fbx_event ev[16];
	size_t n;
	uint64_t next, from;
	ck_assert_int_eq(fbx_events_read(box, 0, ev, 16, &n, &from), 0);
	ck_assert_int_eq(fbx_drain_reason(box, 1, "deploy 42"), 0);
	fbx_snapshot *s = snap();
	uint64_t age = fbx_snapshot_health(s)->drain_age_ns;
	fbx_snapshot_free(s);
	tclock_advance_ms(3000);
	ck_assert_int_eq(fbx_drain_reason(box, 1, "again"), 0);   /* no change */
	s = snap();
	ck_assert_uint_ge(fbx_snapshot_health(s)->drain_age_ns, age + T_MS(3000));
	const fbx_event *began = fbx_snapshot_drain_event(s);     /* the first one's */
	ck_assert_ptr_nonnull(began);
	ck_assert_str_eq(began->reason, "deploy 42");
	fbx_snapshot_free(s);
	ck_assert_int_eq(fbx_drain(box, 0), 0);
	ck_assert_int_eq(fbx_drain(box, 0), 0);                    /* no change */
	s = snap();
	ck_assert_ptr_null(fbx_snapshot_drain_event(s));           /* not draining */
	fbx_snapshot_free(s);
	ck_assert_ptr_null(fbx_snapshot_drain_event(NULL));
	ck_assert_int_eq(fbx_events_read(box, from, ev, 16, &n, &next), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(ev[0].record_type, FBX_REC_BOX);
	ck_assert_int_eq(ev[0].kind, FBX_EV_MANUAL);
	ck_assert_int_eq(ev[0].cause, FBX_CAUSE_DRAIN_ON);
	ck_assert_str_eq(ev[0].reason, "deploy 42");
	ck_assert_int_eq(ev[0].pid, getpid());
	ck_assert_int_eq(ev[1].cause, FBX_CAUSE_DRAIN_OFF);
	ck_assert_str_eq(ev[1].reason, "");
	fbx_box_info info;
	ck_assert_int_eq(fbx_box_info_get(box, &info), 0);
	ck_assert_str_eq(ev[0].name, info.name);
	char line[256], want[256];
	fbx_event_format(&ev[0], ev[0].time_ns, line, sizeof(line));
	snprintf(want, sizeof(want), "0.0s ago  box %s  drain began: deploy 42  (uid %u pid %d)",
		 info.name, (unsigned)getuid(), (int)getpid());
	ck_assert_str_eq(line, want);
	ck_assert_str_eq(fbx_record_type_name(FBX_REC_BOX), "box");
	ck_assert_str_eq(fbx_event_cause_name(FBX_CAUSE_DRAIN_OFF), "drain_off");
	/* a reader may not drain */
	fbx_box *ro;
	ck_assert_int_eq(fbx_box_open(info.name, FBX_OPEN_RDONLY, NULL, &ro), 0);
	ck_assert_int_eq(fbx_drain_reason(ro, 1, "x"), FBX_ERDONLY);
	fbx_box_close(ro);
	ck_assert_int_eq(fbx_drain_reason(NULL, 1, "x"), FBX_EINVAL);
}
END_TEST

/* drain wait: in-flight work that ends before the deadline, work that
 * does not (reported per worker), and a worker that dies meanwhile. */
START_TEST(drain_wait_deadline)
{
	struct kid a, b;
	kid_start(&a, "worker", 2);
	kid_start(&b, "slow", 1);
	kid_wait_registered(&a);
	kid_wait_registered(&b);
	ck_assert_int_eq(fbx_drain(box, 1), 0);
	fbx_drain_busy busy[4];
	size_t n = 99;
	ck_assert_int_eq(fbx_drain_wait(box, T_MS(50), busy, 4, &n), FBX_ETIMEDOUT);
	ck_assert_uint_eq(n, 2);
	uint64_t total = busy[0].in_flight + busy[1].in_flight;
	ck_assert_uint_eq(total, 3);
	kid_finish(&a);
	ck_assert_int_eq(fbx_drain_wait(box, T_MS(50), busy, 4, &n), FBX_ETIMEDOUT);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(busy[0].pid, b.pid);
	ck_assert_str_eq(busy[0].role, "slow");
	ck_assert_uint_eq(busy[0].in_flight, 1);
	/* dies during the drain: does not keep it waiting */
	kill(b.pid, SIGKILL);
	twait(b.pid);
	close(b.go[1]);
	ck_assert_int_eq(fbx_drain_wait(box, T_S(5), busy, 4, &n), 0);
	ck_assert_int_eq(fbx_drain_wait(box, UINT64_MAX, busy, 4, &n), FBX_EINVAL);
	ck_assert_int_eq(fbx_drain_wait(NULL, 0, busy, 4, &n), FBX_EINVAL);
}
END_TEST

/* Work that ends while the drain waits: it returns as soon as it does. */
START_TEST(drain_wait_work_ends)
{
	struct kid a;
	kid_start(&a, "worker", 4);
	kid_wait_registered(&a);
	pid_t ender = tfork();
	if (ender == 0) {
		usleep(100000);
		_exit(write(a.go[1], "x", 1) == 1 ? 0 : 1);
	}
	size_t n;
	ck_assert_int_eq(fbx_drain_wait(box, T_S(10), NULL, 0, &n), 0);
	ck_assert_int_eq(twait(ender), 0);
	close(a.go[1]);
	ck_assert_int_eq(twait(a.pid), 0);
}
END_TEST

FBX_TEST_SUITE(workers)
{
	Suite *s = suite_create("workers");
	TCase *tc = tcase_create("workers");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, register_and_count);
	tcase_add_test(tc, bad_registrations);
	tcase_add_test(tc, killed_worker_reclaimed);
	tcase_add_test(tc, reused_pid_is_not_the_worker);
	tcase_add_test(tc, full_table_is_efull);
	tcase_add_test(tc, fork_child_registers_itself);
	tcase_add_test(tc, scribbled_slot_flagged);
	suite_add_tcase(s, tc);
	tc = tcase_create("drain");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, drain_from_a_signal_handler);
	tcase_add_test(tc, drain_recorded_once_with_who_and_why);
	tcase_add_test(tc, drain_wait_deadline);
	tcase_add_test(tc, drain_wait_work_ends);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}
