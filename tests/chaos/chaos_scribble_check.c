/*
 * chaos_scribble_check.c — the checks after a --scribble run.
 *
 * The run's decisions are not judged: a scribbler may make any of them
 * wrong.  What is judged is what docs/SECURITY.md promises whatever was
 * written:
 *
 *   no-crash            no worker, reader, scribbler or fuseboxctl run died
 *                       of a signal (exit codes of the tool are its own)
 *   no-hang             nothing went CHAOS_HANG_NS without progress
 *                       (chaos_watchdog.c)
 *   return-codes        every call returned 0 or an FBX_E* code (no
 *                       truncation happens, so never FBX_ETRUNC)
 *   damage-flagged      every record a snapshot hands back is whole and in
 *                       its documented ranges, or marked corrupt: in every
 *                       snapshot the reader took, and after the run for each
 *                       record the scribbler touched
 *   untouched-readable  after the run, a record no scribble touched reads
 *                       whole, not corrupt (a false alarm is a reader bug too)
 *   events-flagged      events read are whole or marked corrupt, in order
 *   events-readable     after the run, a reader gets to the ring's head
 *   screen              the console's screen model stays printable text
 *   tool-output         fuseboxctl's JSON parses, its metrics are one sample
 *                       a line, nothing prints a control byte
 *
 * This file judges the processes and their calls, and replays what the
 * reader found; chaos_scribble_final.c judges the box the run left.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "chaos_scribble.h"

/* ---- deaths and hangs ------------------------------------------------------ */

/* The call a life had in flight when it died: its last record, which the
 * master settled as KILLED when it reaped it (chaos_log.c). */
static const struct chaos_rec *in_flight(const struct chaos_run *run, unsigned slot,
					 uint16_t life)
{
	const struct chaos_region *reg = chaos_log_region(run->log, slot);
	uint64_t n = chaos_log_count(reg);
	for (uint64_t i = n, k = 0; i > 0 && k < 4096; i--, k++) {
		const struct chaos_rec *r = &reg->rec[i - 1];
		if (r->life == life)
			return atomic_load(&r->phase) == PH_KILLED ? r : NULL;
	}
	return NULL;
}

static void worker_death(const struct chaos_run *run, unsigned slot, uint32_t life,
			 const struct chaos_life *l)
{
	if (!WIFSIGNALED(l->status)) {
		chaos_violation("no-crash", "worker %u (pid %d, life %u) exited with status %d at "
				"+%.3f s", slot, (int)l->pid, life, WEXITSTATUS(l->status),
				chaos_rel(run, l->t_reaped));
		return;
	}
	int sig = WTERMSIG(l->status);
	const struct chaos_rec *r = in_flight(run, slot, (uint16_t)life);
	char call[160] = "outside any library call";
	enum chaos_area region = RG_N;
	uint32_t index = 0;
	if (r != NULL) {
		chaos_call_describe(run, r, call, sizeof(call), &region, &index);
		snprintf(call + strlen(call), sizeof(call) - strlen(call), ", called at +%.6f s",
			 chaos_rel(run, r->t0));
	}
	chaos_violation("no-crash", "worker %u (pid %d, life %u) died of signal %d (%s) at "
			"+%.3f s, %s", slot, (int)l->pid, life, sig, strsignal(sig),
			chaos_rel(run, l->t_reaped), call);
	chaos_scrib_recent(run, "no-crash", l->t_reaped, region, index);
}

/* No killer runs in this mode: a worker killed is one that did not finish
 * its last call in the time it was given after the stop. */
static void settle_killed(const struct chaos_run *run, unsigned slot, uint32_t life,
			  const struct chaos_life *l)
{
	const struct chaos_rec *r = in_flight(run, slot, (uint16_t)life);
	char call[160] = "outside any library call";
	enum chaos_area region = RG_N;
	uint32_t index = 0;
	if (r != NULL)
		chaos_call_describe(run, r, call, sizeof(call), &region, &index);
	chaos_violation("no-hang", "worker %u (pid %d, life %u) had not finished when the run "
			"ended and was killed at +%.3f s, %s", slot, (int)l->pid, life,
			chaos_rel(run, l->t_kill), call);
	chaos_scrib_recent(run, "no-hang", l->t_kill, region, index);
}

void chaos_scribble_replay(const struct chaos_run *run, enum chaos_rinv inv)
{
	const struct chaos_reader_report *r = &run->shared->rep;
	const char *name = chaos_rinv_name(inv);
	chaos_checked(name, r->checked[inv]);
	for (uint64_t k = 0; k < r->violations[inv]; k++) {
		if (k >= CHAOS_RMSG_MAX) {
			chaos_violation(name, "(found by the reader; not kept in full)");
			continue;
		}
		const struct chaos_rmsg *m = &r->msg[inv][k];
		chaos_violation(name, "reader: %s", m->text);
		if (m->region != RG_N)
			chaos_scrib_recent(run, name, m->t, (enum chaos_area)m->region, m->index);
	}
}

static void check_deaths(const struct chaos_run *run)
{
	uint64_t lives = 0, aborted = 0;
	for (unsigned s = 0; s < run->o.workers; s++) {
		const struct chaos_slot *sl = &run->slots[s];
		for (uint32_t i = 0; i < sl->nlives; i++) {
			const struct chaos_life *l = &sl->lives[i];
			lives++;
			chaos_checked("no-crash", 1);
			if (WIFSIGNALED(l->status) && chaos_watchdog_aborted(l->pid))
				aborted++; /* hung: counted under no-hang */
			else if (l->end == END_KILLED) /* no killer: only the end's */
				settle_killed(run, s, i, l);
			else if (l->end == END_CRASHED)
				worker_death(run, s, i, l);
			else if (l->end == END_SETUP)
				chaos_note("worker %u life %u: its setup failed", s, i);
		}
	}
	size_t nd;
	const struct chaos_aux_death *d = chaos_aux_deaths(&nd);
	for (size_t i = 0; i < nd; i++) {
		if (!WIFSIGNALED(d[i].status)) {
			chaos_note("%s (pid %d) exited with status %d", d[i].who, (int)d[i].pid,
				   WEXITSTATUS(d[i].status));
		} else if (!chaos_watchdog_aborted(d[i].pid)) {
			chaos_violation("no-crash", "%s (pid %d) died of signal %d (%s) at +%.3f s",
					d[i].who, (int)d[i].pid, WTERMSIG(d[i].status),
					strsignal(WTERMSIG(d[i].status)), chaos_rel(run, d[i].t));
			chaos_scrib_recent(run, "no-crash", d[i].t, RG_N, 0);
		}
	}
	chaos_checked("no-crash", run->reader_lives + 1);
	chaos_scribble_replay(run, RI_CRASH);
	const struct chaos_reader_report *r = &run->shared->rep;
	uint64_t tools = 0;
	for (unsigned t = 0; t < TOOL_N; t++)
		tools += r->tool_runs[t];
	chaos_result("no-crash", "%llu worker lives, %u reader lives, the scribbler and %llu "
		     "fuseboxctl runs: none died of a signal (%llu aborted as hung)",
		     (unsigned long long)lives, run->reader_lives, (unsigned long long)tools,
		     (unsigned long long)aborted);
	chaos_checked("no-hang", lives + run->reader_lives + 1);
	chaos_scribble_replay(run, RI_HANG);
	chaos_result("no-hang", "no worker, reader step, fuseboxctl run or scribble went %.0f s "
		     "without progress (%llu did; each aborted with its call printed)",
		     (double)CHAOS_HANG_NS / 1e9, (unsigned long long)chaos_watchdog_hangs());
}

/* ---- return codes -------------------------------------------------------------- */

static void check_codes(const struct chaos_run *run)
{
	const struct chaos_codes *c = &run->shared->codes;
	uint64_t calls = 0, other = 0, per_op[OP_N][CODE_KINDS];
	memset(per_op, 0, sizeof(per_op));
	for (unsigned s = 0; s < run->o.workers && s < CHAOS_SLOTS_MAX; s++)
		for (unsigned op = 0; op < OP_N; op++)
			for (unsigned k = 0; k < CODE_KINDS; k++) {
				calls += c->n[s][op][k];
				per_op[op][k] += c->n[s][op][k];
				/* no truncation happens in this run */
				if (k == CODE_OTHER || k == (unsigned)-FBX_ETRUNC)
					other += c->n[s][op][k];
			}
	chaos_checked("return-codes", calls);
	for (uint64_t i = 0; i < other; i++)
		chaos_violation("return-codes", "worker %u: %s returned %d at +%.6f s (the first "
				"of %llu), which is no code of the library's, or FBX_ETRUNC with no "
				"truncation", c->first_other.slot, chaos_op_name(c->first_other.op),
				c->first_other.rc, chaos_rel(run, c->first_other.t),
				(unsigned long long)other);
	chaos_result("return-codes", "%llu calls returned 0 or an FBX_E* code",
		     (unsigned long long)calls);
	printf("errors the workers saw:");
	bool any = false;
	for (unsigned op = 1; op < OP_N; op++)
		for (unsigned k = 1; k < CODE_KINDS; k++) {
			if (per_op[op][k] == 0 || k == (unsigned)-FBX_EOPEN ||
			    k == (unsigned)-FBX_ELIMITED)
				continue;
			printf("%s %s %llu x %s", any ? "," : "", chaos_op_name((int)op),
			       (unsigned long long)per_op[op][k],
			       k == CODE_OTHER ? "other" : chaos_rc_name(-(int)k));
			any = true;
		}
	printf("%s\n", any ? "" : " none");
}

/* ---- what ran ------------------------------------------------------------------------ */

static void summary(const struct chaos_run *run, const uint64_t by_area[RG_N])
{
	const struct chaos_reader_report *r = &run->shared->rep;
	printf("scribbles: %llu:", (unsigned long long)chaos_aux_scribbles(run));
	for (unsigned g = 0; g < RG_N; g++)
		if (by_area[g])
			printf(" %llu on %s;", (unsigned long long)by_area[g], chaos_area_name(g));
	printf("\nreader: %llu lives, %llu snapshots (%llu refused), %llu event reads (%llu "
	       "events, %llu corrupt), %llu renders, %llu fresh opens (%llu refused); corrupt "
	       "records seen: %llu breakers, %llu limiters (summed over snapshots)\n",
	       (unsigned long long)r->lives, (unsigned long long)r->snapshots,
	       (unsigned long long)r->snapshot_fail, (unsigned long long)r->event_reads,
	       (unsigned long long)r->events, (unsigned long long)r->events_corrupt,
	       (unsigned long long)r->renders, (unsigned long long)r->opens,
	       (unsigned long long)r->open_fail, (unsigned long long)r->corrupt_breakers,
	       (unsigned long long)r->corrupt_limiters);
	printf("fuseboxctl:");
	for (unsigned k = 0; k < TOOL_N; k++)
		printf("%s %s %llu runs (exit 0: %llu, 2: %llu, other: %llu, signal: %llu; slowest "
		       "%.0f ms)", k ? ";" : "", chaos_tool_name(k), (unsigned long long)r->tool_runs[k],
		       (unsigned long long)r->tool_end[k][TX_OK],
		       (unsigned long long)r->tool_end[k][TX_TWO],
		       (unsigned long long)r->tool_end[k][TX_OTHER],
		       (unsigned long long)r->tool_end[k][TX_SIGNAL], (double)r->tool_ns_max[k] / 1e6);
	printf("\n");
	for (unsigned k = 0; k < TOOL_N; k++)
		if (r->tool_err[k][0])
			printf("fuseboxctl %s, last complaint: %s\n", chaos_tool_name(k),
			       r->tool_err[k]);
}

void chaos_scribble_validate(struct chaos_run *run)
{
	printf("---- checks\n");
	chaos_scribble_final_tools(run); /* first: its deaths count in the lines below */
	check_codes(run);
	check_deaths(run);
	chaos_scribble_replay(run, RI_DAMAGE);
	chaos_scribble_replay(run, RI_EVENTS);
	uint64_t by_area[RG_N] = {0};
	chaos_scribble_final(run, by_area);
	chaos_scribble_replay(run, RI_SCREEN);
	chaos_result("screen", "%llu renders of the console's screen model (80x24 and 132x40, "
		     "panes, details, filters, sorts): printable, inside the screen",
		     (unsigned long long)run->shared->rep.renders);
	chaos_scribble_replay(run, RI_TOOL_OUTPUT);
	chaos_result("tool-output", "fuseboxctl status --json and events --json parse as JSON, "
		     "metrics is one sample a line, status and every complaint are plain text");
	summary(run, by_area);
}
