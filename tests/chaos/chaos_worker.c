/*
 * chaos_worker.c — one worker life: hammer the box and log every call.
 *
 * A worker behaves like a prefork server's worker with several upstreams:
 * it takes breaker permits and holds them while the "call" runs (trials
 * 5–60 ms, most closed calls no time at all), doing other work meanwhile,
 * and reports an outcome drawn from the upstream's current health; it
 * takes limiter keys from a small hot set (always at the limit) and a
 * large rolling one (the table's insert paths); a third of the lives also
 * raise key storms, every take a key never seen; now and then it reads
 * the box as a console does, follows the events, registers or finds
 * records, and opens the box read-only.  Every library call is written to the log with
 * the true time before and after it (chaos_log.h); calls that only count
 * (closed-state calls, rejections, denials, after the first closed permit
 * of each generation) are then folded into the slot's counters, the rest
 * published for the validator.
 *
 * Odd lives open the box themselves, even lives keep the handles inherited
 * from the master: both are supported uses after fork().
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "chaos.h"
#include "chaos_scribble.h"
#include "internal.h"

struct pending {
	bool on;
	fbx_permit p;
	uint64_t t_admit, due;
};

struct worker {
	struct chaos_run *run;
	struct chaos_ctl *ctl;
	struct chaos_region *reg;
	unsigned slot;
	uint16_t life;
	uint64_t rng;
	fbx_box *box;
	bool own_box;
	fbx_breaker *br[CHAOS_BREAKERS];
	fbx_limiter *lim[CHAOS_LIMITERS];
	struct pending pend[CHAOS_BREAKERS];
	struct chaos_stall stall;
	uint64_t stalls_seen;
	uint32_t closed_gen[CHAOS_BREAKERS]; /* last generation seen CLOSED (published) */
	bool storm_life;
	uint64_t storm_keys;
	fbx_snapshot *snap;
	uint64_t ev_next;
	uint64_t ops;
	uint64_t hard_end;
};

/* ---- records ------------------------------------------------------------ */

static struct chaos_rec *rec_open(struct worker *w, uint8_t op, uint8_t obj)
{
	return chaos_rec_open(w->run->log, w->reg, op, obj, w->life);
}

/* Publishes the call, or folds it into `fold` (and `also`) when given and
 * its clock did not stall: a stalled call is always worth a record. */
static void rec_done2(struct worker *w, struct chaos_rec *r, _Atomic uint64_t *fold,
		      _Atomic uint64_t *also)
{
	if (w->run->o.scribble) { /* only counted: chaos_scribble.h, struct chaos_codes */
		chaos_scribble_code(&w->run->shared->codes, w->slot, r->op, r->rc);
		chaos_agg_add(&w->reg->agg.calls);
		chaos_rec_aggregated(r);
		w->ops++;
		return;
	}
	bool stalled = w->stall.fired != w->stalls_seen;
	if (stalled) {
		w->stalls_seen = w->stall.fired;
		r->flags |= RF_STALLED;
		atomic_fetch_add(&w->ctl->stalls, 1);
	}
	w->stall.armed = false; /* armed for this call only */
	chaos_agg_add(&w->reg->agg.calls);
	if (fold != NULL && !stalled) {
		chaos_agg_add(fold);
		if (also != NULL)
			chaos_agg_add(also);
		chaos_rec_aggregated(r);
	} else {
		chaos_rec_publish(w->reg, r);
	}
	w->ops++;
}

static void rec_done(struct worker *w, struct chaos_rec *r, _Atomic uint64_t *fold)
{
	rec_done2(w, r, fold, NULL);
}

static bool stall_due(const struct worker *w)
{
	return w->stall.planned && w->stall.fired == 0 && w->ops >= w->stall.after;
}

static void stall_arm_if(struct worker *w, enum chaos_stall_kind kind, bool now)
{
	if (stall_due(w) && (w->stall.kind == STALL_ANY || (w->stall.kind == kind && now)))
		w->stall.armed = true;
}

/* ---- setup -------------------------------------------------------------- */

/* The failed call is in the log; the master counts the life as failed. */
static _Noreturn void setup_fail(void)
{
	_exit(CHAOS_EXIT_SETUP);
}

/* --scribble: a scribbled box may refuse this life's own open, register
 * or find (a damaged header, name or configuration); the life goes on
 * with the handle it inherited, as a service holding its handles would. */
static bool fall_back(struct worker *w, int rc)
{
	return rc != 0 && w->run->o.scribble;
}

static void setup(struct worker *w)
{
	const struct chaos_run *run = w->run;
	if (!w->own_box) {
		w->box = run->box;
		memcpy(w->br, run->br, sizeof(w->br));
		memcpy(w->lim, run->lim, sizeof(w->lim));
		return;
	}
	struct chaos_rec *r = rec_open(w, OP_OPEN, 0);
	if (r == NULL)
		setup_fail();
	chaos_rec_start(r);
	int rc = fbx_box_open(run->o.box, 0, NULL, &w->box);
	chaos_rec_finish(r, rc);
	rec_done(w, r, NULL);
	if (fall_back(w, rc)) {
		w->own_box = false;
		w->box = run->box;
		memcpy(w->br, run->br, sizeof(w->br));
		memcpy(w->lim, run->lim, sizeof(w->lim));
		return;
	}
	if (rc != 0)
		setup_fail();
	/* half by register (same settings: attach), half by find */
	for (unsigned i = 0; i < CHAOS_BREAKERS; i++) {
		if ((r = rec_open(w, OP_REGISTER, (uint8_t)i)) == NULL)
			setup_fail();
		r->flags = i % 2 ? RF_FIND : 0;
		chaos_rec_start(r);
		rc = i % 2 ? fbx_breaker_find(w->box, chaos_breakers[i].name, &w->br[i])
			   : fbx_breaker_register(w->box, chaos_breakers[i].name,
						  &chaos_breakers[i].cfg, &w->br[i]);
		chaos_rec_finish(r, rc);
		rec_done(w, r, NULL);
		if (fall_back(w, rc))
			w->br[i] = run->br[i];
		else if (rc != 0)
			setup_fail();
	}
	for (unsigned i = 0; i < CHAOS_LIMITERS; i++) {
		if ((r = rec_open(w, OP_REGISTER, (uint8_t)i)) == NULL)
			setup_fail();
		r->flags = RF_LIMITER | (i % 2 ? RF_FIND : 0);
		fbx_limiter_config c = chaos_limiter_config(i);
		chaos_rec_start(r);
		rc = i % 2 ? fbx_limiter_find(w->box, chaos_limiters[i].name, &w->lim[i])
			   : fbx_limiter_register(w->box, chaos_limiters[i].name, &c, &w->lim[i]);
		chaos_rec_finish(r, rc);
		rec_done(w, r, NULL);
		if (fall_back(w, rc))
			w->lim[i] = run->lim[i];
		else if (rc != 0)
			setup_fail();
	}
}

/* ---- breakers ----------------------------------------------------------- */

static fbx_outcome outcome(struct worker *w, unsigned b, bool trial, uint64_t t)
{
	bool sick = chaos_sick(b, t);
	uint64_t r = chaos_rand(&w->rng, 100);
	uint64_t fail = trial ? (sick ? 55 : 10) : (sick ? 60 : 3);
	if (r < fail)
		return FBX_FAILURE;
	return r >= 93 ? FBX_IGNORED : FBX_SUCCESS;
}

/* How long the call behind a permit runs. */
static uint64_t hold_ns(struct worker *w, unsigned b, bool trial, uint64_t t)
{
	if (trial)
		return (5 + chaos_rand(&w->rng, 56)) * CHAOS_MS;
	if (chaos_breakers[b].slow_when_sick && chaos_sick(b, t) && chaos_rand(&w->rng, 10) < 6)
		return 2500 * CHAOS_US + chaos_rand(&w->rng, 3500) * CHAOS_US;
	if (chaos_rand(&w->rng, 4) != 0)
		return 0;
	return 200 * CHAOS_US + chaos_rand(&w->rng, 3800) * CHAOS_US;
}

static bool finish(struct worker *w, unsigned b)
{
	struct pending *pd = &w->pend[b];
	uint64_t now = chaos_now();
	fbx_outcome o = outcome(w, b, pd->p._slot >= 0, now - w->ctl->t0);
	uint64_t dur = now - pd->t_admit;
	struct chaos_rec *r = rec_open(w, OP_DONE, (uint8_t)b);
	if (r == NULL)
		return false;
	r->arg = (uint8_t)o;
	r->slot = (int8_t)pd->p._slot;
	r->gen = (uint16_t)pd->p._gen;
	r->val = pd->p._lease;
	r->arg32 = dur / CHAOS_US > UINT32_MAX ? UINT32_MAX : (uint32_t)(dur / CHAOS_US);
	/* a lease that outlives the stall: the report still counts when it lands */
	stall_arm_if(w, STALL_FAILED_DONE,
		     pd->p._slot >= 0 && o == FBX_FAILURE &&
			     chaos_breakers[b].cfg.trial_lease_ns > w->stall.sleep_ns + 300 * CHAOS_MS);
	chaos_rec_start(r);
	int rc = fbx_breaker_done(w->br[b], &pd->p, o, dur);
	chaos_rec_finish(r, rc);
	struct chaos_agg *agg = &w->reg->agg;
	uint64_t slow_ns = chaos_breakers[b].cfg.slow_call_ns;
	bool slow = o != FBX_IGNORED && slow_ns != 0 && (uint64_t)r->arg32 * CHAOS_US >= slow_ns;
	bool fold = rc == 0 && pd->p._slot < 0;
	rec_done2(w, r, fold ? &agg->done[b][o] : NULL, fold && slow ? &agg->slow[b] : NULL);
	pd->on = false;
	return true;
}

static bool limiter_op(struct worker *w, uint64_t now);

static bool breaker_op(struct worker *w, unsigned b, uint64_t now)
{
	if (w->pend[b].on)
		return limiter_op(w, now); /* its call is still running */
	fbx_breaker *br = w->br[b];
	uint64_t st = atomic_load_explicit(&br->rec->state, memory_order_relaxed);
	stall_arm_if(w, STALL_HALF_OPEN, FBX__ST_STATE(st) == FBX_HALF_OPEN);
	struct chaos_rec *r = rec_open(w, OP_ALLOW, (uint8_t)b);
	if (r == NULL)
		return false;
	fbx_permit p;
	memset(&p, 0, sizeof(p));
	chaos_rec_start(r);
	int rc = fbx_breaker_allow(br, &p);
	chaos_rec_finish(r, rc);
	if (rc == 0) {
		r->slot = (int8_t)p._slot;
		r->gen = (uint16_t)p._gen;
		r->val = p._lease;
	} else {
		r->arg = (uint8_t)p.reason;
		r->val = p.retry_after_ns;
	}
	uint64_t admitted = r->t1;
	/* published: trials, the first closed permit of each generation this
	 * life sees (the validator needs to know which generations closed),
	 * and anything unexpected */
	_Atomic uint64_t *fold = NULL;
	if (rc == FBX_EOPEN && (p.reason == FBX_REJECT_OPEN || p.reason == FBX_REJECT_HALF_OPEN_FULL))
		fold = &w->reg->agg.rejected[b];
	else if (rc == 0 && p._slot < 0 && (uint32_t)(uint16_t)p._gen == w->closed_gen[b])
		fold = &w->reg->agg.closed[b];
	else if (rc == 0 && p._slot < 0)
		w->closed_gen[b] = (uint16_t)p._gen;
	rec_done(w, r, fold);
	if (rc != 0)
		return true;
	struct pending *pd = &w->pend[b];
	pd->on = true;
	pd->p = p;
	pd->t_admit = admitted;
	pd->due = admitted + hold_ns(w, b, p._slot >= 0, admitted - w->ctl->t0);
	return pd->due == admitted ? finish(w, b) : true;
}

/* ---- limiters ----------------------------------------------------------- */

/* chaos_key_text() without printf: it runs once per take, and time the
 * harness spends outside the library is time a kill cannot land inside */
static size_t key_text(uint32_t id, char text[32])
{
	if (id < CHAOS_HOT_KEYS)
		return chaos_key_text(id, text, 32);
	uint32_t n = id - CHAOS_HOT_KEYS;
	memcpy(text, "key-", 4);
	for (int i = 9; i >= 4; i--, n /= 10)
		text[i] = (char)('0' + n % 10);
	text[10] = '\0';
	return 10;
}

/* A take of a key nobody has used: the key table's insert path, and once
 * the table is full, the reuse of a spent entry.  A kill lands in there
 * often enough to catch a count updated apart from the table. */
static bool storm_op(struct worker *w)
{
	char text[40];
	int len = snprintf(text, sizeof(text), "storm-%u-%u-%llu", w->slot, w->life,
			   (unsigned long long)w->storm_keys++);
	struct chaos_rec *r = rec_open(w, OP_TAKE, CHAOS_STORM);
	if (r == NULL)
		return false;
	r->arg = 1;
	r->arg32 = UINT32_MAX; /* a key of no set: its budget is not checked */
	fbx_limit_result res;
	chaos_rec_start(r);
	int rc = fbx_limiter_take(w->lim[CHAOS_STORM], text, (size_t)len, 1, &res);
	chaos_rec_finish(r, rc);
	r->val = res.now_ns;
	if (rc == 0 && res.allowed && !res.dry_run_denied)
		r->flags |= RF_ALLOWED;
	_Atomic uint64_t *fold = rc == FBX_ELIMITED	      ? &w->reg->agg.denied[CHAOS_STORM]
				 : (r->flags & RF_ALLOWED) ? &w->reg->agg.allowed[CHAOS_STORM]
							   : NULL;
	rec_done(w, r, fold);
	return true;
}

static bool limiter_op(struct worker *w, uint64_t now)
{
	unsigned li = (unsigned)chaos_rand(&w->rng, CHAOS_STORM); /* any but the storm's */
	const struct chaos_limiter_spec *s = &chaos_limiters[li];
	uint32_t key = 0;
	char text[32];
	size_t len = 0;
	if (s->keyed) {
		key = chaos_pick_key(li, &w->rng, now - w->ctl->t0);
		len = key_text(key, text);
	}
	uint64_t c = chaos_rand(&w->rng, 10);
	uint32_t cost = c < 7 ? 1 : c < 9 ? 2 : 3;
	if (cost > s->max_cost)
		cost = s->max_cost;
	bool hot = !s->keyed || key < CHAOS_HOT_KEYS;
	stall_arm_if(w, STALL_HOT_GCRA, hot && s->algo == FBX_ALGO_GCRA);
	/* late in a one-second window: a 1.2 s stall puts the reading two
	 * windows behind the word the others keep moving */
	if (stall_due(w))
		stall_arm_if(w, STALL_HOT_WINDOW,
			     hot && s->algo == FBX_ALGO_WINDOW &&
				     s->parsed.limit[0].period_ns == CHAOS_SEC &&
				     chaos_now() % CHAOS_SEC >= 850 * CHAOS_MS);
	struct chaos_rec *r = rec_open(w, OP_TAKE, (uint8_t)li);
	if (r == NULL)
		return false;
	r->arg = (uint8_t)cost;
	r->arg32 = key;
	fbx_limit_result res;
	memset(&res, 0, sizeof(res));
	chaos_rec_start(r);
	int rc = fbx_limiter_take(w->lim[li], s->keyed ? text : NULL, len, cost, &res);
	chaos_rec_finish(r, rc);
	if (rc == 0 && res.allowed && !res.dry_run_denied)
		r->flags |= RF_ALLOWED;
	r->val = res.now_ns;
	/* admissions are published: the validator bounds them per key */
	rec_done(w, r, rc == FBX_ELIMITED ? &w->reg->agg.denied[li] : NULL);
	return true;
}

/* ---- reading the box, as consoles and followers do ---------------------- */

static bool events_op(struct worker *w)
{
	fbx_event buf[32];
	size_t n = 0;
	uint64_t next = w->ev_next;
	struct chaos_rec *r = rec_open(w, OP_EVENTS, 0);
	if (r == NULL)
		return false;
	stall_arm_if(w, STALL_ANY, false);
	chaos_rec_start(r);
	int rc = fbx_events_read(w->box, w->ev_next, buf, 32, &n, &next);
	chaos_rec_finish(r, rc);
	r->arg32 = (uint32_t)n;
	uint64_t want = w->ev_next;
	for (size_t i = 0; i < n; i++) {
		if (buf[i].seq < want)
			r->flags |= RF_BAD;
		want = buf[i].seq + 1;
	}
	if (rc == 0)
		w->ev_next = next;
	rec_done(w, r, NULL);
	return true;
}

static uint32_t corrupt_records(const fbx_snapshot *s)
{
	size_t nb, nl;
	const fbx_breaker_info *b = fbx_snapshot_breakers(s, &nb);
	const fbx_limiter_info *l = fbx_snapshot_limiters(s, &nl);
	uint32_t bad = 0;
	for (size_t i = 0; i < nb; i++)
		bad += b[i].corrupt != 0;
	for (size_t i = 0; i < nl; i++)
		bad += l[i].corrupt != 0;
	return bad;
}

static bool snapshot_op(struct worker *w)
{
	struct chaos_rec *r = rec_open(w, OP_SNAPSHOT, 0);
	if (r == NULL)
		return false;
	stall_arm_if(w, STALL_ANY, false);
	chaos_rec_start(r);
	int rc = w->snap ? 0 : fbx_snapshot_new(w->box, &w->snap);
	if (rc == 0)
		rc = fbx_snapshot_take(w->box, w->snap);
	chaos_rec_finish(r, rc);
	if (rc == 0)
		r->arg32 = corrupt_records(w->snap);
	rec_done(w, r, NULL);
	return true;
}

static bool open_ro_op(struct worker *w)
{
	struct chaos_rec *r = rec_open(w, OP_OPEN_RO, 0);
	if (r == NULL)
		return false;
	fbx_box *ro = NULL;
	fbx_snapshot *s = NULL;
	chaos_rec_start(r);
	int rc = fbx_box_open(w->run->o.box, FBX_OPEN_RDONLY, NULL, &ro);
	if (rc == 0)
		rc = fbx_snapshot_new(ro, &s);
	if (rc == 0)
		rc = fbx_snapshot_take(ro, s);
	chaos_rec_finish(r, rc);
	if (rc == 0)
		r->arg32 = corrupt_records(s);
	fbx_snapshot_free(s);
	fbx_box_close(ro);
	rec_done(w, r, NULL);
	return true;
}

/* Registration takes the box's one lock: killing its holder is the case
 * the robust mutex's repair exists for. */
static bool register_op(struct worker *w)
{
	unsigned kind = (unsigned)chaos_rand(&w->rng, 6);
	unsigned i = (unsigned)chaos_rand(&w->rng, kind >= 3 ? CHAOS_LIMITERS : CHAOS_BREAKERS);
	if (kind == 5)
		i = (unsigned)chaos_rand(&w->rng, CHAOS_EXTRAS);
	struct chaos_rec *r = rec_open(w, OP_REGISTER, (uint8_t)i);
	if (r == NULL)
		return false;
	fbx_breaker_config bc;
	fbx_limiter_config lc;
	fbx_breaker *bh;
	fbx_limiter *lh;
	char name[32];
	int rc = 0;
	bool extra_limiter = kind == 5 && chaos_rand(&w->rng, 2);
	switch (kind) {
	case 0:
	case 1:
		bc = chaos_breakers[i].cfg;
		if (kind == 1) { /* another configuration under the same name */
			if (bc.fail_max != 0)
				bc.fail_max++;
			else
				bc.min_calls++;
			r->val = (uint64_t)(int64_t)FBX_ECONFLICT;
		}
		break;
	case 2:
		r->flags = RF_FIND;
		break;
	case 3:
		lc = chaos_limiter_config(i);
		r->flags = RF_LIMITER;
		break;
	case 4:
		r->flags = RF_LIMITER | RF_FIND;
		break;
	default:
		r->flags = RF_EXTRA | (extra_limiter ? RF_LIMITER : 0);
		if (extra_limiter)
			chaos_extra_limiter(i, name, &lc);
		else
			chaos_extra_breaker(i, name, &bc);
		break;
	}
	stall_arm_if(w, STALL_ANY, false);
	chaos_rec_start(r);
	switch (kind) {
	case 0:
	case 1:
		rc = fbx_breaker_register(w->box, chaos_breakers[i].name, &bc, &bh);
		break;
	case 2:
		rc = fbx_breaker_find(w->box, chaos_breakers[i].name, &bh);
		break;
	case 3:
		rc = fbx_limiter_register(w->box, chaos_limiters[i].name, &lc, &lh);
		break;
	case 4:
		rc = fbx_limiter_find(w->box, chaos_limiters[i].name, &lh);
		break;
	default:
		rc = extra_limiter ? fbx_limiter_register(w->box, name, &lc, &lh)
				   : fbx_breaker_register(w->box, name, &bc, &bh);
		break;
	}
	chaos_rec_finish(r, rc);
	rec_done(w, r, NULL);
	return true;
}

/* ---- the life ----------------------------------------------------------- */

/* `rate` calls a second per slot: a slot that is ahead sleeps, and a
 * respawned worker may catch up in a burst.  Below full speed, so the
 * harness leaves room on a shared machine; in bursts of a few hundred
 * calls (sleeping 2-8 ms at a time), so that a worker seen on a CPU stays
 * there long enough for the killer's signal to land inside a call. */
static bool pace(struct worker *w, uint64_t *now_out)
{
	for (int i = 0; i < 1000000; i++) {
		if (atomic_load_explicit(&w->ctl->stop, memory_order_relaxed))
			return false;
		uint64_t now = *now_out = chaos_now();
		if (now > w->hard_end)
			return false;
		uint64_t el = now > w->ctl->t0 ? now - w->ctl->t0 : 0;
		uint64_t budget = el / CHAOS_US * w->run->o.rate / 1000000u + 256;
		uint64_t calls = atomic_load_explicit(&w->reg->agg.calls, memory_order_relaxed);
		if (calls < budget)
			return true;
		uint64_t ahead_ns = (calls - budget) * CHAOS_SEC / w->run->o.rate;
		chaos_sleep_ns(ahead_ns + (2 + chaos_rand(&w->rng, 7)) * CHAOS_MS);
	}
	return false;
}

static bool one_op(struct worker *w, uint64_t now)
{
	for (unsigned b = 0; b < CHAOS_BREAKERS; b++)
		if (w->pend[b].on && w->pend[b].due <= now)
			return finish(w, b);
	uint64_t r = chaos_rand(&w->rng, 10000);
	if (w->storm_life && r % 10 < 5)
		return storm_op(w);
	if (r < 4500)
		return breaker_op(w, (unsigned)chaos_rand(&w->rng, CHAOS_BREAKERS), now);
	if (r < 9960)
		return limiter_op(w, now);
	if (r < 9980)
		return events_op(w);
	if (r < 9988)
		return snapshot_op(w);
	if (r < 9999)
		return register_op(w);
	return open_ro_op(w);
}

void chaos_worker_main(struct chaos_run *run, unsigned slot, uint16_t life)
{
	/* die with the master, whatever kills it */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != run->master)
		_exit(0);
	/* ^C reaches the whole process group: the master decides what
	 * happens to workers, and a SIGINT death would read as a crash */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	signal(SIGALRM, SIG_DFL);
	if (run->o.scribble)
		chaos_trace_install("worker", &run->shared->traces); /* a crash or the watchdog's abort: a backtrace */

	static struct worker w; /* static: the stalled clock keeps a pointer into it */
	w.run = run;
	w.ctl = run->log->ctl;
	w.reg = chaos_log_region(run->log, slot);
	w.slot = slot;
	w.life = life;
	w.rng = run->o.seed ^ ((uint64_t)slot << 48) ^ ((uint64_t)life << 20) ^ 0x776f726bull;
	chaos_rng(&w.rng);
	w.own_box = life % 2 == 1;
	for (unsigned b = 0; b < CHAOS_BREAKERS; b++)
		w.closed_gen[b] = UINT32_MAX;
	w.hard_end = w.ctl->t_end + 30 * CHAOS_SEC;
	w.storm_life = chaos_rand(&w.rng, 3) == 0;
	if (run->o.stall) {
		chaos_stall_plan(&w.stall, &w.rng);
		chaos_stall_install(&w.stall);
	}
	setup(&w);
	uint64_t max_ops = (uint64_t)run->o.rate * (run->o.seconds + 40);
	uint64_t now;
	for (uint64_t i = 0; i < max_ops && pace(&w, &now); i++)
		if (!one_op(&w, now))
			break;
	/* asked to stop: report every call still running, then leave */
	for (unsigned b = 0; b < CHAOS_BREAKERS; b++)
		if (w.pend[b].on && !finish(&w, b))
			break;
	fbx_snapshot_free(w.snap);
	if (w.own_box)
		fbx_box_close(w.box);
	_exit(0);
}
