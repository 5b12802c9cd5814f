/*
 * chaos_watchdog.c — a library call that does not return fails the run.
 *
 * Every process of a --scribble run shows progress: a worker's count of
 * calls in its log region (chaos_log.h: every call, published or folded),
 * the reader's and the scribbler's beats (chaos_shared.c).  None of them
 * waits for long on purpose: workers pace themselves in sleeps of a few
 * milliseconds, the reader's slowest step is one fuseboxctl run.  So one
 * that made no progress for CHAOS_HANG_NS is hung.  The watchdog says in
 * which call, from the log or the beat (the call and record it started,
 * and when), lists the scribbles that hit that record, asks gdb for a
 * backtrace if it can, then sends SIGABRT: our processes print their own
 * backtrace on it (chaos_trace.c).  A process that outlives its SIGABRT
 * by a few seconds is killed.  The run goes on: a worker is respawned,
 * the reader too.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "chaos_scribble.h"
#include "internal.h"

#define TICK_NS (100 * CHAOS_MS)
#define ABORT_GRACE_NS (3 * CHAOS_SEC)
#define WATCH_MAX 64
#define ABORTED_MAX 1024

struct watch {
	pid_t pid;
	uint64_t progress, t_change;
	bool flagged;
};

static struct watch workers[WATCH_MAX], reader, scribbler;
static struct {
	pid_t pid;
	uint64_t t;
} aborted[ABORTED_MAX];
static unsigned naborted;
static uint64_t next_tick, hangs;

bool chaos_watchdog_aborted(pid_t pid)
{
	for (unsigned i = 0; i < naborted; i++)
		if (aborted[i].pid == pid)
			return true;
	return false;
}

uint64_t chaos_watchdog_hangs(void)
{
	return hangs;
}

/* True once, when pid has shown no progress for CHAOS_HANG_NS. */
static bool stuck(struct watch *w, pid_t pid, uint64_t progress, uint64_t now)
{
	if (pid != w->pid || progress != w->progress) {
		*w = (struct watch){pid, progress, now, false};
		return false;
	}
	if (w->flagged || now - w->t_change < CHAOS_HANG_NS)
		return false;
	w->flagged = true;
	return true;
}

static void abort_it(pid_t pid, uint64_t now)
{
	chaos_trace_attach(pid);
	if (naborted < ABORTED_MAX)
		aborted[naborted++].pid = pid, aborted[naborted - 1].t = now;
	kill(pid, SIGABRT);
}

/* What a hung worker was doing, from the record at its log's count. */
static void worker_hung(struct chaos_run *run, unsigned slot, pid_t pid, uint64_t since,
			uint64_t now)
{
	const struct chaos_slot *s = &run->slots[slot];
	struct chaos_region *reg = chaos_log_region(run->log, slot);
	uint64_t n = chaos_log_count(reg);
	uint16_t life = (uint16_t)(s->nlives - 1);
	const struct chaos_rec *r = n < run->log->cap ? &reg->rec[n] : NULL;
	char call[200] = "between library calls (in the harness's own code)";
	enum chaos_area region = RG_HEADER;
	uint32_t index = 0;
	if (r != NULL && atomic_load(&r->phase) == PH_STARTED && r->life == life) {
		chaos_call_describe(run, r, call, sizeof(call), &region, &index);
		snprintf(call + strlen(call), sizeof(call) - strlen(call), " since +%.3f s",
			 chaos_rel(run, r->t0));
	}
	hangs++;
	chaos_violation("no-hang", "worker %u (pid %d, life %u) made no progress for %.1f s "
			"(at +%.3f s): %s", slot, (int)pid, life, (double)(now - since) / 1e9,
			chaos_rel(run, now), call);
	/* what was written before the call began: what it found */
	chaos_scrib_recent(run, "no-hang", since, region, index);
	abort_it(pid, now);
}

static void beat_hung(struct chaos_run *run, const char *who, pid_t pid,
		      struct chaos_beat *b, uint64_t since, uint64_t now)
{
	uint32_t step = atomic_load_explicit(&b->step, memory_order_acquire);
	pid_t child = atomic_load(&b->child);
	char what[sizeof(b->what)];
	memcpy(what, b->what, sizeof(what));
	what[sizeof(what) - 1] = '\0';
	hangs++;
	if (step == STEP_IDLE)
		chaos_violation("no-hang", "%s (pid %d) made no progress for %.1f s (at +%.3f s): "
				"between steps (in the harness's own code)", who, (int)pid,
				(double)(now - since) / 1e9, chaos_rel(run, now));
	else
		chaos_violation("no-hang", "%s (pid %d) made no progress for %.1f s (at +%.3f s): in "
				"%s (%s) since +%.3f s%s", who, (int)pid, (double)(now - since) / 1e9,
				chaos_rel(run, now), chaos_step_name(step), what,
				chaos_rel(run, atomic_load(&b->t_step)),
				child ? ", waiting for that tool" : "");
	chaos_scrib_recent(run, "no-hang", since, RG_HEADER, 0);
	if (child != 0) {
		/* the tool is what hangs: abort it, and the reader goes on */
		atomic_store(&b->aborted_child, child);
		abort_it(child, now);
	} else {
		abort_it(pid, now);
	}
}

/* A process that outlived its SIGABRT (its handler hung, or it ignores
 * it): the run must still end. */
static void reap_the_aborted(uint64_t now)
{
	for (unsigned i = 0; i < naborted; i++)
		if (aborted[i].t != 0 && now - aborted[i].t > ABORT_GRACE_NS) {
			kill(aborted[i].pid, SIGKILL); /* ESRCH once it is gone: harmless */
			aborted[i].t = 0;
		}
}

void chaos_watchdog_tick(struct chaos_run *run, uint64_t now)
{
	if (now < next_tick)
		return;
	next_tick = now + TICK_NS;
	for (unsigned i = 0; i < run->o.workers && i < WATCH_MAX; i++) {
		pid_t pid = run->slots[i].pid;
		if (pid == 0)
			continue;
		uint64_t calls = atomic_load(&chaos_log_region(run->log, i)->agg.calls);
		uint64_t since = workers[i].t_change;
		if (stuck(&workers[i], pid, calls, now))
			worker_hung(run, i, pid, since, now);
	}
	struct chaos_shared *sh = run->shared;
	if (run->reader != 0) {
		uint64_t since = reader.t_change;
		if (stuck(&reader, run->reader, atomic_load(&sh->reader.progress), now))
			beat_hung(run, "the reader", run->reader, &sh->reader, since, now);
	}
	if (run->scribbler != 0) {
		uint64_t since = scribbler.t_change;
		if (stuck(&scribbler, run->scribbler, atomic_load(&sh->scribbler.progress), now))
			beat_hung(run, "the scribbler", run->scribbler, &sh->scribbler, since, now);
	}
	reap_the_aborted(now);
}
