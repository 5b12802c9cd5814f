/*
 * harness.c — timing loops in this process or in forked children started
 * together by a shared go flag (see bench.h for the method).
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define CALIB_MIN_S 0.03
#define READY_TIMEOUT_NS (60ull * 1000000000ull)

struct round {
	_Atomic int ready;
	_Atomic int go;
	uint64_t t0[BENCH_MAX_PROCS], t1[BENCH_MAX_PROCS], admitted[BENCH_MAX_PROCS];
};

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static void nap_us(long us)
{
	struct timespec ts = {0, us * 1000};
	nanosleep(&ts, NULL);
}

static void child_main(const bench_op *op, struct round *r, int proc, uint64_t n,
		       pid_t parent)
{
	/* never outlive the bench, e.g. spinning on a go flag nobody will set */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(3);
	if (op->setup != NULL && op->setup(op->ctx, proc) < 0)
		_exit(2);
	uint64_t warm = n / 8 < 1000 ? (n < 1000 ? n : 1000) : n / 8;
	op->run(op->ctx, warm);
	atomic_fetch_add(&r->ready, 1);
	while (!atomic_load_explicit(&r->go, memory_order_acquire))
		cpu_relax();
	r->t0[proc] = bench_now_ns();
	r->admitted[proc] = op->run(op->ctx, n);
	r->t1[proc] = bench_now_ns();
	if (op->finish != NULL)
		op->finish(op->ctx, 1);
	_exit(0);
}

/* Kills and reaps the children not reaped yet. */
static void reap_all(pid_t *pids, int procs, int kill_them)
{
	for (int i = 0; i < procs; i++) {
		if (pids[i] <= 0)
			continue;
		if (kill_them)
			kill(pids[i], SIGKILL);
		while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
			;
		pids[i] = 0;
	}
}

/* One forked round: procs children run n ops each.  0 on success. */
static int fork_round(const bench_op *op, int procs, uint64_t n, double *wall_s,
		      double *admitted)
{
	struct round *r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED)
		return -1;
	memset(r, 0, sizeof(*r));
	pid_t pids[BENCH_MAX_PROCS] = {0};
	int rc = -1;
	fflush(NULL);
	pid_t parent = getpid();
	for (int i = 0; i < procs; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			pids[i] = 0;
			goto out;
		}
		if (pids[i] == 0)
			child_main(op, r, i, n, parent);
	}
	/* Wait for every child to be ready, or for one to die trying. */
	uint64_t deadline = bench_now_ns() + READY_TIMEOUT_NS;
	while (atomic_load(&r->ready) < procs) {
		for (int i = 0; i < procs; i++) {
			int st;
			if (waitpid(pids[i], &st, WNOHANG) == pids[i]) {
				pids[i] = 0;
				goto out;
			}
		}
		if (bench_now_ns() > deadline)
			goto out;
		nap_us(200);
	}
	atomic_store_explicit(&r->go, 1, memory_order_release);
	rc = 0;
	for (int i = 0; i < procs; i++) {
		int st = 0;
		while (waitpid(pids[i], &st, 0) < 0 && errno == EINTR)
			;
		pids[i] = 0;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			rc = -1;
	}
	if (rc == 0) {
		uint64_t first = UINT64_MAX, last = 0, adm = 0;
		for (int i = 0; i < procs; i++) {
			first = r->t0[i] < first ? r->t0[i] : first;
			last = r->t1[i] > last ? r->t1[i] : last;
			adm += r->admitted[i];
		}
		*wall_s = (double)(last - first) / 1e9;
		*admitted = (double)adm / ((double)n * procs);
	}
out:
	reap_all(pids, procs, 1);
	munmap(r, sizeof(*r));
	return rc;
}

static int local_round(const bench_op *op, uint64_t n, double *wall_s, double *admitted)
{
	uint64_t t0 = bench_now_ns();
	uint64_t adm = op->run(op->ctx, n);
	*wall_s = (double)(bench_now_ns() - t0) / 1e9;
	*admitted = (double)adm / (double)n;
	return 0;
}

static int one_round(const bench_op *op, int procs, uint64_t n, double *wall_s,
		     double *admitted)
{
	return procs == 1 ? local_round(op, n, wall_s, admitted)
			  : fork_round(op, procs, n, wall_s, admitted);
}

static bench_result measure(const bench_op *op, int procs, uint64_t n, int runs)
{
	bench_result res = {.procs = procs};
	if (procs < 1 || procs > BENCH_MAX_PROCS)
		return res;
	if (procs == 1 && op->setup != NULL && op->setup(op->ctx, 0) < 0)
		return res;
	double wall = 0, adm = 0;
	if (n == 0) {
		/* Calibrate: grow n until a round takes CALIB_MIN_S. */
		n = 4096;
		for (;;) {
			if (one_round(op, procs, n, &wall, &adm) != 0)
				goto done;
			if (wall >= CALIB_MIN_S || n >= (1ull << 34))
				break;
			n *= wall < CALIB_MIN_S / 16 ? 16 : 4;
		}
		double scaled = (double)n * BENCH_TARGET_S / (wall > 0 ? wall : 1e-9);
		n = scaled < 1000 ? 1000 : (uint64_t)scaled;
	}
	double best = 0, best_adm = 0;
	for (int i = 0; i < runs; i++) {
		if (one_round(op, procs, n, &wall, &adm) != 0)
			goto done;
		if (best == 0 || wall < best) {
			best = wall;
			best_adm = adm;
		}
	}
	if (best > 0) {
		res.ok = 1;
		res.n = n;
		res.ns_op = best * 1e9 / (double)n;
		res.mops = (double)n * procs / best / 1e6;
		res.admitted = best_adm;
	}
done:
	if (procs == 1 && op->finish != NULL)
		op->finish(op->ctx, 0);
	if (!res.ok)
		fprintf(stderr, "bench: %s with %d process(es) failed\n", op->name, procs);
	return res;
}

bench_result bench_measure(const bench_op *op, int procs)
{
	return measure(op, procs, 0, BENCH_RUNS);
}

bench_result bench_measure_fixed(const bench_op *op, int procs, uint64_t n, int runs)
{
	return measure(op, procs, n == 0 ? 1 : n, runs < 1 ? 1 : runs);
}
