/*
 * chaos_validate.c — the checks after the run, on the log and the box.
 *
 * Runs once every worker is gone (chaos_main.c settles them first), so
 * the box holds still: totals, slots, keys and events can be compared
 * exactly.  Each check says which way it may legitimately err and checks
 * that direction: a worker killed inside a call may have left the call's
 * effect in the box without logging its return (the record says KILLED),
 * never the other way round.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "chaos.h"
#include "chaos_validate.h"
#include "internal.h"

const struct chaos_life *chaos_life_of(const struct chaos_run *run, unsigned slot, uint16_t life)
{
	const struct chaos_slot *s = &run->slots[slot];
	return life < s->nlives ? &s->lives[life] : NULL;
}

static pid_t pid_of(const struct chaos_run *run, unsigned slot, uint16_t life)
{
	const struct chaos_life *l = chaos_life_of(run, slot, life);
	return l ? l->pid : 0;
}

/* ---- what the log says ------------------------------------------------------ */

static bool slow_done(unsigned b, const struct chaos_rec *r)
{
	uint64_t slow_ns = chaos_breakers[b].cfg.slow_call_ns;
	return r->arg != FBX_IGNORED && slow_ns != 0 && (uint64_t)r->arg32 * CHAOS_US >= slow_ns;
}

/* A return code the call may give in this run (no operator actions, no
 * read-only handles, costs within every limit). */
static bool rc_expected(const struct chaos_rec *r, struct chaos_tally *t)
{
	switch (r->op) {
	case OP_ALLOW:
		return r->rc == 0 || (r->rc == FBX_EOPEN && (r->arg == FBX_REJECT_OPEN ||
							     r->arg == FBX_REJECT_HALF_OPEN_FULL));
	case OP_TAKE:
		if (r->rc == FBX_ETIMEDOUT) {
			t->timeouts++; /* the key table could not place a key: allowed, noted */
			return true;
		}
		return r->rc == 0 || r->rc == FBX_ELIMITED;
	case OP_REGISTER:
		if (r->rc == FBX_ETIMEDOUT) {
			t->timeouts++; /* the registry lock's 5 s wait: noted */
			return true;
		}
		return r->rc == (int)(int64_t)r->val;
	case OP_EVENTS:
		return r->rc == 0 && !(r->flags & RF_BAD);
	case OP_SNAPSHOT:
	case OP_OPEN_RO:
		return r->rc == 0 && r->arg32 == 0;
	default:
		return r->rc == 0;
	}
}

static void describe_call(const struct chaos_run *run, unsigned slot, const struct chaos_rec *r)
{
	const char *what = "";
	if (r->op == OP_ALLOW || r->op == OP_DONE)
		what = chaos_breakers[r->obj % CHAOS_BREAKERS].name;
	else if (r->op == OP_TAKE)
		what = chaos_limiters[r->obj % CHAOS_LIMITERS].name;
	chaos_violation("return-codes",
			"%s %s by pid %d (worker %u, life %u) at +%.6f..+%.6f s returned %s%s%s",
			chaos_op_name(r->op), what, (int)pid_of(run, slot, r->life), slot, r->life,
			chaos_rel(run, r->t0), chaos_rel(run, r->t1), chaos_rc_name(r->rc),
			r->op == OP_REGISTER ? ", expected " : "",
			r->op == OP_REGISTER ? chaos_rc_name((int)(int64_t)r->val) : "");
	if ((r->op == OP_SNAPSHOT || r->op == OP_OPEN_RO) && r->rc == 0)
		chaos_detail("return-codes", "the snapshot held %u corrupt breaker or limiter "
			     "records", r->arg32);
	if (r->op == OP_EVENTS && (r->flags & RF_BAD))
		chaos_detail("return-codes", "events came back out of sequence order");
}

static void tally_rec(const struct chaos_run *run, unsigned slot, const struct chaos_rec *r,
		      bool killed, struct chaos_tally *t)
{
	unsigned o = r->obj;
	if (killed) {
		t->killed++;
		if (r->op == OP_ALLOW || r->op == OP_DONE || r->op == OP_REGISTER)
			t->killed_emitters++; /* could have been writing an event */
		if (r->op == OP_DONE && o < CHAOS_BREAKERS && r->arg <= FBX_IGNORED) {
			t->kb_done[o][r->arg]++;
			t->kb_slow[o] += slow_done(o, r);
		} else if (r->op == OP_ALLOW && o < CHAOS_BREAKERS) {
			t->kb_allow[o]++;
		} else if (r->op == OP_TAKE && o < CHAOS_LIMITERS) {
			t->kl_take[o]++;
			if (r->arg32 < t->nkeys)
				t->key_used[(size_t)o * t->nkeys + r->arg32] = 1;
		}
		return;
	}
	if (r->op < OP_N)
		t->ops[r->op]++;
	t->published++;
	if (!rc_expected(r, t))
		describe_call(run, slot, r);
	if (r->op == OP_DONE && o < CHAOS_BREAKERS && r->rc == 0 && r->arg <= FBX_IGNORED) {
		t->b_done[o][r->arg]++;
		t->b_slow[o] += slow_done(o, r);
	} else if (r->op == OP_ALLOW && o < CHAOS_BREAKERS) {
		t->b_allow[o]++;
		t->b_rej[o] += r->rc == FBX_EOPEN;
		t->b_trials[o] += r->rc == 0 && r->slot >= 0;
	} else if (r->op == OP_TAKE && o < CHAOS_LIMITERS) {
		t->l_takes[o]++;
		t->l_allowed[o] += r->rc == 0 && (r->flags & RF_ALLOWED);
		t->l_denied[o] += r->rc == FBX_ELIMITED;
		if (r->arg32 < t->nkeys)
			t->key_used[(size_t)o * t->nkeys + r->arg32] = 1;
	}
}

/* The calls a slot folded into counts (chaos_log.h). */
static void tally_agg(const struct chaos_agg *a, struct chaos_tally *t)
{
	t->calls += atomic_load(&a->calls);
	for (unsigned b = 0; b < CHAOS_BREAKERS; b++) {
		for (int o = 0; o < 3; o++)
			t->b_done[b][o] += atomic_load(&a->done[b][o]);
		t->b_slow[b] += atomic_load(&a->slow[b]);
		t->b_rej[b] += atomic_load(&a->rejected[b]);
		t->b_allow[b] += atomic_load(&a->rejected[b]) + atomic_load(&a->closed[b]);
	}
	for (unsigned l = 0; l < CHAOS_LIMITERS; l++) {
		t->l_allowed[l] += atomic_load(&a->allowed[l]);
		t->l_denied[l] += atomic_load(&a->denied[l]);
		t->l_takes[l] += atomic_load(&a->allowed[l]) + atomic_load(&a->denied[l]);
	}
}

static void tally_log(const struct chaos_run *run, struct chaos_tally *t)
{
	for (unsigned s = 0; s < run->o.workers; s++) {
		const struct chaos_region *reg = chaos_log_region(run->log, s);
		uint64_t n = chaos_log_count(reg);
		for (uint64_t i = 0; i < n; i++) {
			const struct chaos_rec *r = &reg->rec[i];
			int ph = atomic_load(&r->phase);
			tally_rec(run, s, r, ph == PH_KILLED, t);
		}
		tally_agg(&reg->agg, t);
	}
	/* folded calls were folded because their code was one they may return */
	chaos_checked("return-codes", t->calls);
	chaos_result("return-codes", "every call returned a code it may return (%llu calls, "
		     "%llu of them logged in full; %llu calls in flight when their worker died "
		     "are not judged)", (unsigned long long)t->calls,
		     (unsigned long long)t->published, (unsigned long long)t->killed);
	if (t->timeouts)
		chaos_note("%llu calls returned FBX_ETIMEDOUT (a key that could not be placed, or "
			   "the registry lock's wait)", (unsigned long long)t->timeouts);
}

/* ---- workers ------------------------------------------------------------------ */

static void check_workers(const struct chaos_run *run)
{
	uint64_t lives = 0, killed = 0, exited = 0;
	for (unsigned s = 0; s < run->o.workers; s++) {
		const struct chaos_slot *sl = &run->slots[s];
		for (uint32_t i = 0; i < sl->nlives; i++) {
			const struct chaos_life *l = &sl->lives[i];
			lives++;
			chaos_checked("workers", 1);
			killed += l->end == END_KILLED;
			exited += l->end == END_EXITED;
			if (l->end == END_CRASHED) {
				if (WIFSIGNALED(l->status))
					chaos_violation("workers", "pid %d (worker %u, life %u) died of "
							"signal %d (%s) at +%.3f s", (int)l->pid, s, i,
							WTERMSIG(l->status), strsignal(WTERMSIG(l->status)),
							chaos_rel(run, l->t_reaped));
				else
					chaos_violation("workers", "pid %d (worker %u, life %u) exited "
							"with status %d at +%.3f s", (int)l->pid, s, i,
							WEXITSTATUS(l->status), chaos_rel(run, l->t_reaped));
			} else if (l->end == END_SETUP) {
				chaos_violation("workers", "pid %d (worker %u, life %u): a setup call "
						"failed (see return-codes)", (int)l->pid, s, i);
			}
		}
	}
	chaos_result("workers", "%llu worker lives: %llu killed, %llu exited when asked; none "
		     "may crash or fail to open the box and find its records",
		     (unsigned long long)lives, (unsigned long long)killed,
		     (unsigned long long)exited);
}

/* ---- the final snapshot ---------------------------------------------------------- */

const fbx_breaker_info *chaos_find_breaker(const fbx_snapshot *s, const char *name)
{
	size_t n;
	const fbx_breaker_info *b = fbx_snapshot_breakers(s, &n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(b[i].name, name) == 0)
			return &b[i];
	return NULL;
}

const fbx_limiter_info *chaos_find_limiter(const fbx_snapshot *s, const char *name)
{
	size_t n;
	const fbx_limiter_info *l = fbx_snapshot_limiters(s, &n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(l[i].name, name) == 0)
			return &l[i];
	return NULL;
}

static void check_snapshot(const struct chaos_run *run, const fbx_snapshot *s)
{
	size_t nb, nl;
	const fbx_breaker_info *b = fbx_snapshot_breakers(s, &nb);
	const fbx_limiter_info *l = fbx_snapshot_limiters(s, &nl);
	for (size_t i = 0; i < nb; i++) {
		chaos_checked("snapshot-readable", 1);
		if (b[i].corrupt)
			chaos_violation("snapshot-readable", "breaker record %zu (%s) reads as corrupt "
					"after the run", i, b[i].name);
	}
	for (size_t i = 0; i < nl; i++) {
		chaos_checked("snapshot-readable", 1);
		if (l[i].corrupt)
			chaos_violation("snapshot-readable", "limiter record %zu (%s) reads as corrupt "
					"after the run", i, l[i].name);
	}
	for (unsigned i = 0; i < CHAOS_BREAKERS; i++) {
		chaos_checked("snapshot-readable", 1);
		if (chaos_find_breaker(s, chaos_breakers[i].name) == NULL)
			chaos_violation("snapshot-readable", "breaker %s is missing from the snapshot",
					chaos_breakers[i].name);
	}
	for (unsigned i = 0; i < CHAOS_LIMITERS; i++) {
		chaos_checked("snapshot-readable", 1);
		if (chaos_find_limiter(s, chaos_limiters[i].name) == NULL)
			chaos_violation("snapshot-readable", "limiter %s is missing from the snapshot",
					chaos_limiters[i].name);
	}
	chaos_result("snapshot-readable", "%zu breakers and %zu limiters, in %llu samples during "
		     "the run and after it: none corrupt, none missing", nb, nl,
		     (unsigned long long)chaos_monitor_samples(run->mon));
}

/* low <= box <= low + in_flight, or a violation naming the figure */
static void within(const char *what, const char *name, const char *counter, uint64_t box,
		   uint64_t logged, uint64_t in_flight)
{
	chaos_checked("exact-totals", 1);
	if (box < logged || box > logged + in_flight)
		chaos_violation("exact-totals",
				"%s %s: %s is %llu in the box; the workers logged %llu returns, and "
				"%llu calls were in flight when their worker died, so it must be "
				"%llu..%llu", what, name, counter, (unsigned long long)box,
				(unsigned long long)logged, (unsigned long long)in_flight,
				(unsigned long long)logged, (unsigned long long)(logged + in_flight));
}

static void check_totals(const fbx_snapshot *s, const struct chaos_tally *t)
{
	static const char *names[3] = {"successes", "failures", "ignored"};
	for (unsigned i = 0; i < CHAOS_BREAKERS; i++) {
		const fbx_breaker_info *b = chaos_find_breaker(s, chaos_breakers[i].name);
		if (b == NULL || b->corrupt)
			continue;
		uint64_t box[3] = {b->successes, b->failures, b->ignored};
		for (int o = 0; o < 3; o++)
			within("breaker", b->name, names[o], box[o], t->b_done[i][o], t->kb_done[i][o]);
		within("breaker", b->name, "slow", b->slow, t->b_slow[i], t->kb_slow[i]);
		within("breaker", b->name, "rejected", b->rejected, t->b_rej[i], t->kb_allow[i]);
	}
	for (unsigned i = 0; i < CHAOS_LIMITERS; i++) {
		const fbx_limiter_info *l = chaos_find_limiter(s, chaos_limiters[i].name);
		if (l == NULL || l->corrupt)
			continue;
		within("limiter", l->name, "allowed", l->allowed, t->l_allowed[i], t->kl_take[i]);
		within("limiter", l->name, "denied", l->denied, t->l_denied[i], t->kl_take[i]);
		uint64_t extra = (l->allowed - t->l_allowed[i]) + (l->denied - t->l_denied[i]);
		chaos_checked("exact-totals", 2);
		if (l->allowed >= t->l_allowed[i] && l->denied >= t->l_denied[i] &&
		    extra > t->kl_take[i])
			chaos_violation("exact-totals", "limiter %s: allowed + denied exceed the logged "
					"returns by %llu, but only %llu takes were in flight at a death",
					l->name, (unsigned long long)extra,
					(unsigned long long)t->kl_take[i]);
		if (l->dry_run_denied != 0)
			chaos_violation("exact-totals", "limiter %s: %llu dry-run denials, but dry-run "
					"was never on", l->name, (unsigned long long)l->dry_run_denied);
	}
	chaos_result("exact-totals", "breaker successes/failures/ignored/slow/rejected and "
		     "limiter allowed/denied equal the returns logged, plus at most the calls in "
		     "flight at a death (never fewer)");
}

/* ---- worker slots --------------------------------------------------------------- */

static void check_slots(const struct chaos_run *run)
{
	fbx_box *box = run->box;
	unsigned free_ = 0, dead = 0, mine = 0;
	for (uint32_t i = 0; i < box->cap_workers; i++) {
		uint64_t owner = atomic_load(&box->workers[i].owner);
		chaos_checked("worker-slots", 1);
		if (owner == 0) {
			free_++;
			continue;
		}
		pid_t pid = FBX__OWNER_PID(owner);
		uint64_t start = chaos_proc_start(pid);
		bool alive = start != 0 && (start & ((1ull << 42) - 1)) == FBX__OWNER_START(owner);
		if (!alive)
			dead++;
		else if (pid == run->master)
			mine++;
		else
			chaos_violation("worker-slots", "after the run, slot %u is held by live pid %d, "
					"which is not the master", i, (int)pid);
	}
	chaos_result("worker-slots", "%u slots: %u free, %u held by dead processes (reclaimable), "
		     "%u by the master; during the run, live holders were all this run's processes",
		     box->cap_workers, free_, dead, mine);
}

/* ---- what ran ------------------------------------------------------------------------ */

static void coverage(const fbx_snapshot *s, const struct chaos_tally *t)
{
	printf("breakers:");
	for (unsigned i = 0; i < CHAOS_BREAKERS; i++) {
		const fbx_breaker_info *b = chaos_find_breaker(s, chaos_breakers[i].name);
		printf("%s %s %llu allows/%llu trials/%llu trips", i ? ";" : "", chaos_breakers[i].name,
		       (unsigned long long)t->b_allow[i], (unsigned long long)t->b_trials[i],
		       (unsigned long long)(b ? b->trips : 0));
	}
	printf("\nlimiters:");
	for (unsigned i = 0; i < CHAOS_LIMITERS; i++) {
		const fbx_limiter_info *l = chaos_find_limiter(s, chaos_limiters[i].name);
		printf("%s %s %llu takes/%llu allowed/%llu keys", i ? ";" : "", chaos_limiters[i].name,
		       (unsigned long long)t->l_takes[i], (unsigned long long)t->l_allowed[i],
		       (unsigned long long)(l ? l->keys : 0));
	}
	printf("\nother calls: %llu snapshots, %llu event reads, %llu registers/finds, %llu "
	       "read-only opens, %llu own opens\n", (unsigned long long)t->ops[OP_SNAPSHOT],
	       (unsigned long long)t->ops[OP_EVENTS], (unsigned long long)t->ops[OP_REGISTER],
	       (unsigned long long)t->ops[OP_OPEN_RO], (unsigned long long)t->ops[OP_OPEN]);
}

void chaos_validate(struct chaos_run *run)
{
	static struct chaos_tally t;
	memset(&t, 0, sizeof(t));
	t.nkeys = run->key_space;
	t.key_used = calloc((size_t)CHAOS_LIMITERS * t.nkeys, 1);
	fbx_snapshot *s = NULL;
	int rc = fbx_snapshot_new(run->box, &s);
	if (rc == 0)
		rc = fbx_snapshot_take(run->box, s);
	if (rc != 0 || t.key_used == NULL) {
		chaos_violation("snapshot-readable", "the final snapshot failed: %s",
				chaos_rc_name(rc));
		fbx_snapshot_free(s);
		free(t.key_used);
		return;
	}
	printf("---- checks\n");
	tally_log(run, &t);
	check_workers(run);
	check_snapshot(run, s);
	chaos_result("counters-monotonic", "every breaker and limiter total, sampled every 100 ms, "
		     "never below the sample before");
	chaos_result("deadlines-bounded", "open periods and trial leases never end further "
		     "ahead than their configuration allows");
	check_totals(s, &t);
	check_slots(run);
	chaos_check_keys(run, s, &t);
	chaos_check_events(run, s, &t);
	chaos_check_trials(run);
	chaos_check_bounds(run);
	chaos_check_reopen(run, s);
	chaos_check_recovery(run);
	coverage(s, &t);
	fbx_snapshot_free(s);
	free(t.key_used);
}
