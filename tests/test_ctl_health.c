/* test_ctl_health.c — fuseboxctl health (each probe's exit status and
 * line, --json), workers, checks, check set/rm/bind, drain (--wait naming
 * who is busy, --off), started, and what status and metrics say of them.
 * Workers are real processes forked here that register through the
 * library: the tool sees them as a prefork server's would be seen. */
#include <check.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/internal.h"
#include "ctl_harness.h"
#include "ctl_json.h"
#include "fusebox.h"
#include "helpers.h"
#include "prom_check.h"
#include "suites.h"

#define MS 1000000ull

enum after { STAY, EXIT, STALE };

/* A process registered in box as role, with in_flight requests begun and
 * not ended and 5 served; it stays (until killed; no heartbeat, so its
 * timeout is a minute), exits (gone, once reaped) or goes stale (a 30 ms
 * timeout it never heartbeats within).  Returns its pid, reaped already
 * when it exits. */
static pid_t worker_proc(const char *box, const char *role, int in_flight, enum after after)
{
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	pid_t parent = getpid(), pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		close(fds[0]);
		fbx_box *b;
		uint64_t timeout = after == STALE ? 30 * MS : 60000 * MS;
		if (fbx_box_open(box, 0, NULL, &b) != 0 || fbx_worker_register(b, role, timeout) != 0)
			_exit(3);
		for (int i = 0; i < 5; i++)
			if (fbx_request_begin(b) != 0 || fbx_request_end(b) != 0)
				_exit(4);
		for (int i = 0; i < in_flight; i++)
			fbx_request_begin(b);
		if (write(fds[1], "x", 1) != 1)
			_exit(5);
		if (after == EXIT)
			_exit(0); /* no unregister: a worker that died */
		for (;;)
			pause();
	}
	close(fds[1]);
	char c;
	ck_assert_msg(read(fds[0], &c, 1) == 1, "worker %s did not register", role);
	close(fds[0]);
	if (after == EXIT) /* a zombie still has its /proc entry: reap it */
		ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	if (after == STALE)
		tsleep_ms(80);
	return pid;
}

static void stop_proc(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* exit status and the one line on stdout of `health [probe]` */
static void probe_says(const char *box, const char *probe, int code, const char *line)
{
	const char *args[] = {"health", probe, NULL};
	int rc = run_args(NULL, box, probe ? args : (const char *const[]){"health", NULL});
	ck_assert_msg(rc == code, "%s: exit %d, expected %d; stderr %s", R.cmd, rc, code, R.err);
	ck_assert_str_eq(R.err, "");
	char want[512];
	snprintf(want, sizeof(want), "%s\n", line);
	ck_assert_msg(strcmp(R.out, want) == 0, "%s: [%s], expected [%s]", R.cmd, R.out, line);
}

START_TEST(health_probes)
{
	const char *box = lib_box();
	probe_says(box, NULL, 0, "ok");
	probe_says(box, "--startup", 1, "not started: fbx_started() not called yet");
	probe_says(box, "--ready", 1, "not ready: not started");
	probe_says(box, "--live", 1, "not live: no worker is alive");
	OK(box, "started");
	ck_assert_str_eq(R.out, "");
	probe_says(box, "--startup", 0, "started");
	probe_says(box, "--ready", 0, "ready");

	/* a master that registered must be alive, with at least one worker */
	pid_t m = worker_proc(box, "master", 0, STAY);
	probe_says(box, "--live", 1, "not live: no worker is alive");
	pid_t w = worker_proc(box, "worker", 0, STAY);
	probe_says(box, "--live", 0, "live");
	stop_proc(m);
	probe_says(box, "--live", 1, "not live: the master is not alive");

	OK(box, "drain", "--reason", "deploy 42");
	char said[160];
	snprintf(said, sizeof(said), "box %s: not draining -> draining (reason: deploy 42)\n", box);
	ck_assert_str_eq(R.out, said);
	pid_t drainer = R.pid;
	/* again: the first drain stays, with who began it and why */
	OK(box, "drain", "--reason", "someone else");
	snprintf(said, sizeof(said), "box %s: still draining (began ", box);
	ck_assert_msg(strncmp(R.out, said, strlen(said)) == 0, "[%s]", R.out);
	snprintf(said, sizeof(said), " by %s pid %d: deploy 42), unchanged\n", uid_text(),
		 (int)drainer);
	ck_assert_msg(strstr(R.out, said) != NULL, "[%s]: no [%s]", R.out, said);
	/* status says it too, under the DRAINING line */
	OK(box, "status");
	snprintf(said, sizeof(said), "\n  drain began ");
	ck_assert_msg(strstr(R.out, said) != NULL, "[%s]", R.out);
	snprintf(said, sizeof(said), " by %s pid %d: deploy 42\n", uid_text(), (int)drainer);
	ck_assert_msg(strstr(R.out, said) != NULL, "[%s]: no [%s]", R.out, said);
	/* the ring has the one drain, a box event with the reason */
	const json_t *dev = jlast(events_json(box));
	ck_assert_str_eq(jstr(dev, "record"), "box");
	ck_assert_str_eq(jstr(dev, "cause"), "drain_on");
	ck_assert_str_eq(jstr(dev, "name"), box);
	ck_assert_str_eq(jstr(dev, "reason"), "deploy 42");
	FAILS("control character", box, "drain", "--reason", "a\033[2Jb");
	probe_says(box, "--ready", 1, "not ready: draining");
	const json_t *h = health_json(box, "--ready", 1);
	ck_assert_str_eq(jstr(h, "probe"), "ready");
	ck_assert_str_eq(jstr(h, "verdict"), "not ready");
	ck_assert_str_eq(jstr(h, "reason"), "draining");
	ck_assert(jbool(jobj(h, "health"), "draining"));
	OK(box, "drain", "--off");
	snprintf(said, sizeof(said), "box %s: draining -> not draining\n", box);
	ck_assert_str_eq(R.out, said);
	OK(box, "drain", "--off");
	snprintf(said, sizeof(said), "box %s: still not draining, unchanged\n", box);
	ck_assert_str_eq(R.out, said);
	probe_says(box, "--ready", 0, "ready");
	ck_assert(json_is_null(jget(health_json(box, "--ready", 0), "reason")));

	/* the aggregate: a critical check failing is unhealthy (and not
	 * ready), a warning only degraded (exit 0) */
	OK(box, "check", "set", "db", "fail", "--critical", "--message", "primary down");
	probe_says(box, NULL, 1, "unhealthy: critical check 'db' failing");
	probe_says(box, "--ready", 1, "not ready: critical check 'db' failing");
	OK(box, "drain");
	probe_says(box, "--ready", 1, "not ready: draining; critical check 'db' failing");
	OK(box, "check", "set", "db", "warn", "--critical");
	probe_says(box, NULL, 0, "degraded: critical check 'db' warning");
	probe_says(box, "--ready", 1, "not ready: draining");
	h = health_json(box, NULL, 0);
	ck_assert_str_eq(jstr(h, "probe"), "aggregate");
	ck_assert_str_eq(jstr(h, "verdict"), "degraded");
	ck_assert_str_eq(jstr(jobj(h, "health"), "status"), "degraded");
	stop_proc(w);

	/* errors exit 2, nothing on stdout */
	FAILS("--live", box, "health", "--live", "--ready");
	FAILS("--frob", box, "health", "--frob");
	FAILS("does not exist", new_box(), "health", "--ready");
}
END_TEST

START_TEST(workers_alive_and_dead)
{
	const char *box = lib_box();
	OK(box, "workers");
	ck_assert_msg(strncmp(R.out, "PID ", 4) == 0 && count_char(R.out, '\n') == 1, "[%s]", R.out);
	ck_assert_uint_eq(json_array_size(jarr(workers_json(box), "workers")), 0);
	pid_t m = worker_proc(box, "master", 0, STAY);
	pid_t busy = worker_proc(box, "worker", 2, STAY);
	pid_t gone = worker_proc(box, "worker", 3, EXIT);
	pid_t stale = worker_proc(box, "slowpoke", 1, STALE);
	const json_t *v = workers_json(box);
	const json_t *a = jarr(v, "workers");
	ck_assert_uint_eq(json_array_size(a), 4);
	int seen = 0;
	for (size_t i = 0; i < json_array_size(a); i++) {
		const json_t *x = json_array_get(a, i);
		pid_t pid = (pid_t)juint(x, "pid");
		ck_assert_uint_eq(juint(x, "served"), 5);
		if (pid == m || pid == busy) {
			ck_assert(jbool(x, "alive"));
			ck_assert_str_eq(jstr(x, "role"), pid == m ? "master" : "worker");
			ck_assert_uint_eq(juint(x, "in_flight"), pid == m ? 0 : 2);
			ck_assert_uint_eq(juint(x, "heartbeat_timeout_ms"), 60000);
			seen |= pid == m ? 1 : 2;
		} else if (pid == gone) {
			ck_assert(!jbool(x, "alive"));
			ck_assert_str_eq(jstr(x, "dead_because"), "process_gone");
			seen |= 4;
		} else {
			ck_assert_int_eq(pid, stale);
			ck_assert_str_eq(jstr(x, "role"), "slowpoke");
			ck_assert_str_eq(jstr(x, "dead_because"), "heartbeat_stale");
			seen |= 8;
		}
	}
	ck_assert_int_eq(seen, 15);
	/* dead workers' requests are not in flight any more */
	const json_t *h = jobj(v, "health");
	ck_assert_uint_eq(juint(h, "in_flight"), 2);
	ck_assert_uint_eq(juint(h, "workers_alive"), 1);
	ck_assert_uint_eq(juint(h, "masters_alive"), 1);
	ck_assert_uint_eq(juint(h, "workers_dead"), 2);
	OK(box, "workers");
	ck_assert_ptr_nonnull(strstr(R.out, "dead: gone"));
	ck_assert_ptr_nonnull(strstr(R.out, "dead: stale"));
	ck_assert_ptr_nonnull(strstr(R.out, " slowpoke "));
	ck_assert_uint_eq(count_char(R.out, '\n'), 5);
	FAILS("extra", box, "workers", "extra");
	stop_proc(m);
	stop_proc(busy);
	stop_proc(stale);
}
END_TEST

START_TEST(check_set_bind_rm)
{
	const char *box = ctl_box(); /* room for 64 checks */
	OK(box, "breaker", "add", "b1");
	OK(box, "check", "set", "db", "pass", "--critical", "--ttl", "2m", "--message",
	   "primary ok; 3 ms");
	OK(box, "check", "set", "disk", "warn");
	const json_t *c = jarr(checks_json(box), "checks");
	ck_assert_uint_eq(json_array_size(c), 2);
	const json_t *db = jfind_named(c, "db");
	ck_assert_str_eq(jstr(db, "status"), "pass");
	ck_assert(jbool(db, "critical"));
	ck_assert_uint_eq(juint(db, "ttl_ms"), 120000);
	ck_assert_str_eq(jstr(db, "message"), "primary ok; 3 ms");
	ck_assert_uint_eq(juint(db, "setter_pid") > 0, 1);
	const json_t *disk = jfind_named(c, "disk");
	ck_assert_uint_eq(juint(disk, "ttl_ms"), 30000); /* the default TTL */
	ck_assert(!jbool(disk, "critical"));

	/* a check not set again within its TTL fails */
	OK(box, "check", "set", "cron", "pass", "--ttl", "50ms");
	tsleep_ms(120);
	const json_t *cron = jfind_named(jarr(checks_json(box), "checks"), "cron");
	ck_assert(jbool(cron, "expired"));
	ck_assert_str_eq(jstr(cron, "status"), "fail");
	ck_assert_str_eq(jstr(cron, "set_status"), "pass");
	OK(box, "checks");
	ck_assert_ptr_nonnull(strstr(R.out, "EXPIRED (set pass)"));

	/* a check that follows breaker b1: critical, fails while it is open */
	OK(box, "check", "bind", "b1-up", "--breaker", "b1", "--critical");
	OK(box, "check", "bind", "b1-up", "--breaker", "b1", "--critical"); /* again: a no-op */
	FAILS("follows breaker 'b1' as a critical check", box, "check", "bind", "b1-up",
	      "--breaker", "b1");
	FAILS("follows breaker 'b1'", box, "check", "set", "b1-up", "pass");
	FAILS("no breaker 'nosuch'", box, "check", "bind", "x", "--breaker", "nosuch");
	FAILS("is set by hand", box, "check", "bind", "db", "--breaker", "b1");
	const json_t *up = jfind_named(jarr(checks_json(box), "checks"), "b1-up");
	ck_assert_str_eq(jstr(up, "breaker"), "b1");
	ck_assert_str_eq(jstr(up, "status"), "pass");
	OK(box, "breaker", "trip", "b1");
	up = jfind_named(jarr(checks_json(box), "checks"), "b1-up");
	ck_assert_str_eq(jstr(up, "status"), "fail");
	EXPECT(1, box, "health");
	ck_assert_str_eq(R.out, "unhealthy: critical check 'b1-up' failing (its breaker is not "
				"closed)\n");
	OK(box, "checks");
	ck_assert_ptr_nonnull(strstr(R.out, "follows breaker b1"));

	OK(box, "check", "rm", "b1-up");
	ck_assert_str_eq(R.out, "check b1-up removed\n");
	OK(box, "check", "rm", "cron");
	FAILS("no check 'cron'", box, "check", "rm", "cron");
	ck_assert_uint_eq(json_array_size(jarr(checks_json(box), "checks")), 2);
	OK(box, "health");

	/* a full table: nothing added, the way out named */
	const char *small = new_box();
	OK(small, "create", "--breakers", "2", "--limiters", "1", "--keys", "16", "--events", "64",
	   "--workers", "4", "--checks", "1");
	OK(small, "check", "set", "only", "pass");
	FAILS("no room for another check (it holds 1", small, "check", "set", "more", "pass");
	OK(small, "check", "set", "only", "fail"); /* setting the one there still works */
}
END_TEST

/* A drain whose begin-event is missing (its process killed between the
 * drain word and the event, or a library that recorded none) is not
 * credited to an older drain's author. */
START_TEST(drain_not_credited_to_an_older_one)
{
	const char *box = lib_box();
	OK(box, "drain", "--reason", "deploy 42");
	fbx_box *b;
	ck_assert_int_eq(fbx_box_open(box, 0, NULL, &b), 0);
	atomic_store(&b->hdr->draining, 0);          /* ended: no event */
	usleep(1200 * 1000);                          /* past the reader's slack */
	atomic_store(&b->hdr->draining, fbx__ms_since(b, fbx__now_coarse()) + 1);
	OK(box, "status");
	ck_assert_msg(strstr(R.out, "DRAINING") != NULL, "[%s]", R.out);
	ck_assert_msg(strstr(R.out, "deploy 42") == NULL, "[%s]", R.out);
	OK(box, "drain");
	ck_assert_msg(strstr(R.out, "still draining") != NULL && strstr(R.out, "deploy 42") == NULL,
		      "[%s]", R.out);
	fbx_box_close(b);
}
END_TEST

START_TEST(drain_wait_names_the_busy)
{
	const char *box = lib_box();
	pid_t idle = worker_proc(box, "worker", 0, STAY);
	pid_t busy = worker_proc(box, "worker", 3, STAY);
	pid_t gone = worker_proc(box, "worker", 4, EXIT); /* dead: its 4 do not count */
	(void)gone;
	EXPECT(1, box, "drain", "--wait", "100ms");
	ck_assert_str_eq(R.err, "");
	ck_assert_msg(strncmp(R.out, "not drained after ", 18) == 0, "[%s]", R.out);
	ck_assert_ptr_nonnull(strstr(R.out, "3 requests in flight in 1 worker"));
	char row[64];
	snprintf(row, sizeof(row), "\n%-8d %-15s %9d\n", (int)busy, "worker", 3);
	ck_assert_msg(strstr(R.out, row) != NULL, "no [%s] in [%s]", row, R.out);
	ck_assert(jbool(jobj(status_json(box), "health"), "draining"));
	/* once the busy one is gone, nothing is in flight */
	stop_proc(busy);
	OK(box, "drain", "--wait", "2s");
	ck_assert_msg(strncmp(R.out, "drained: no request in flight", 29) == 0, "[%s]", R.out);
	OK(box, "drain", "--off");
	ck_assert(!jbool(jobj(status_json(box), "health"), "draining"));
	stop_proc(idle);
	FAILS("--wait", box, "drain", "--wait", "25h");
	FAILS("not both", box, "drain", "--wait", "1s", "--off");
}
END_TEST

START_TEST(status_and_metrics_show_health)
{
	const char *box = lib_box();
	OK(box, "status");
	ck_assert_ptr_nonnull(strstr(R.out, "  health ok\n"));
	ck_assert_ptr_null(strstr(R.out, "CHECK ")); /* no table for what is not there */
	pid_t m = worker_proc(box, "master", 0, STAY);
	pid_t w = worker_proc(box, "worker", 2, STAY);
	OK(box, "started");
	OK(box, "check", "set", "db", "warn", "--message", "slow");
	OK(box, "drain");
	OK(box, "status");
	ck_assert_ptr_nonnull(strstr(R.out, "  health degraded: check 'db' warning\n"));
	ck_assert_ptr_nonnull(strstr(R.out, "live, not ready, started, DRAINING for "));
	ck_assert_ptr_nonnull(strstr(R.out, "1 worker and 1 master alive, 0 dead, 2 in flight"));
	ck_assert_ptr_nonnull(strstr(R.out, "\nPID "));
	ck_assert_ptr_nonnull(strstr(R.out, "\nCHECK "));
	const json_t *s = status_json(box);
	ck_assert_uint_eq(json_array_size(jarr(s, "workers")), 2);
	ck_assert_uint_eq(juint(jobj(s, "capacity"), "checks"), 2);
	const json_t *h = jobj(s, "health");
	ck_assert_str_eq(jstr(h, "status"), "degraded");
	ck_assert(jbool(h, "live") && !jbool(h, "ready") && jbool(h, "started"));
	ck_assert_uint_eq(juint(h, "in_flight"), 2);
	ck_assert_uint_eq(juint(h, "served"), 10);
	ck_assert_str_eq(jstr(jfind_named(jarr(s, "checks"), "db"), "message"), "slow");

	OK(box, "metrics");
	struct expo *e = prom_must(R.out);
	static const struct {
		const char *name, *type;
	} fams[] = {
		{"fusebox_health_status", "gauge"},     {"fusebox_live", "gauge"},
		{"fusebox_ready", "gauge"},             {"fusebox_started", "gauge"},
		{"fusebox_draining", "gauge"},          {"fusebox_draining_since_seconds", "gauge"},
		{"fusebox_masters_alive", "gauge"},     {"fusebox_workers_alive", "gauge"},
		{"fusebox_workers_dead", "gauge"},      {"fusebox_in_flight", "gauge"},
		{"fusebox_requests_served_total", "counter"}, {"fusebox_check_status", "gauge"},
		{"fusebox_check_critical", "gauge"},    {"fusebox_check_expired", "gauge"},
		{"fusebox_check_age_seconds", "gauge"},
	};
	for (size_t i = 0; i < ARRAY_LEN(fams); i++) {
		const struct pfam *f = pfam_of(e, fams[i].name);
		ck_assert_msg(f != NULL, "no family %s", fams[i].name);
		ck_assert_str_eq(f->type, fams[i].type);
	}
	ck_assert(pval(e, "fusebox_health_status", "status", "degraded", NULL) == 1);
	ck_assert(pval(e, "fusebox_health_status", "status", "ok", NULL) == 0);
	ck_assert(pval(e, "fusebox_health_status", "status", "unhealthy", NULL) == 0);
	ck_assert(pval(e, "fusebox_live", "box", box, NULL) == 1);
	ck_assert(pval(e, "fusebox_ready", "box", box, NULL) == 0);
	ck_assert(pval(e, "fusebox_started", "box", box, NULL) == 1);
	ck_assert(pval(e, "fusebox_draining", "box", box, NULL) == 1);
	ck_assert(pval(e, "fusebox_masters_alive", "box", box, NULL) == 1);
	ck_assert(pval(e, "fusebox_workers_alive", "box", box, NULL) == 1);
	ck_assert(pval(e, "fusebox_workers_dead", "box", box, NULL) == 0);
	ck_assert(pval(e, "fusebox_in_flight", "box", box, NULL) == 2);
	ck_assert(pval(e, "fusebox_requests_served_total", "box", box, NULL) == 10);
	ck_assert(pval(e, "fusebox_check_status", "name", "db", "status", "warn", NULL) == 1);
	ck_assert(pval(e, "fusebox_check_status", "name", "db", "status", "pass", NULL) == 0);
	ck_assert(pval(e, "fusebox_check_critical", "name", "db", NULL) == 0);
	ck_assert(pval(e, "fusebox_check_expired", "name", "db", NULL) == 0);
	/* a worker that dies keeps its count in the total: not a counter reset */
	stop_proc(w);
	OK(box, "metrics");
	struct expo *e2 = prom_must(R.out);
	ck_assert(pval(e2, "fusebox_requests_served_total", "box", box, NULL) == 10);
	ck_assert(pval(e2, "fusebox_workers_dead", "box", box, NULL) == 1);
	ck_assert(pval(e2, "fusebox_in_flight", "box", box, NULL) == 0);
	stop_proc(m);
}
END_TEST

FBX_TEST_SUITE(ctl_health)
{
	Suite *s = suite_create("ctl_health");
	TCase *tc = ctl_tcase("health", 30);
	tcase_add_test(tc, health_probes);
	tcase_add_test(tc, workers_alive_and_dead);
	tcase_add_test(tc, check_set_bind_rm);
	tcase_add_test(tc, drain_wait_names_the_busy);
	tcase_add_test(tc, drain_not_credited_to_an_older_one);
	tcase_add_test(tc, status_and_metrics_show_health);
	suite_add_tcase(s, tc);
	return s;
}
