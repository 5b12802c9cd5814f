/*
 * limiter.c — registering limiters, changing their rule live, and take().
 *
 * A rule of several limits must be admitted by all of them and a denied
 * take consumes nothing: each limit's word is updated by CAS in turn, and
 * if a later limit denies, the earlier ones get their cost back.  Between
 * the two a concurrent take may see the budget briefly lower — a possible
 * early denial, never an over-admission.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "keytable.h"
#include "limiter_algo.h"
#include "limiter_log.h"

void fbx_limiter_config_init(fbx_limiter_config *cfg)
{
	if (cfg == NULL)
		return;
	memset(cfg, 0, sizeof(*cfg));
	cfg->algorithm = FBX_ALGO_AUTO;
	cfg->burst = 1;
}

/* Optimistic adds stay clear of the count field's top: every process may
 * have one in flight, and none may carry into the next field. */
#define FAST_COST_MAX 256u
#define FAST_COUNT_MAX (FBX__CNT_MASK - 4096u * FAST_COST_MAX)
#define GCRA_SPAN_MAX (1ull << 61)

/* The coarse clock ticks every few ms and costs a fraction of the precise
 * one.  GCRA may use it when every interval is at least 64 ticks long, with
 * each interval padded by one tick: a coarse reading lags the true time by
 * less than a tick, so admissions a padded interval apart on the coarse
 * clock are a full interval apart in truth, and the limit still holds in
 * every window — at a sustained rate at most 1/64 lower. */
static uint64_t coarse_resolution_ns(void)
{
	struct timespec res;
	if (clock_getres(CLOCK_MONOTONIC_COARSE, &res) != 0)
		return UINT64_MAX;
	return (uint64_t)res.tv_sec * 1000000000u + (uint64_t)res.tv_nsec;
}

int fbx__limiter_cfg_build(uint32_t algorithm, uint32_t burst, const char *rule,
			   struct fbx__limiter_cfg *out)
{
	if (algorithm > FBX_ALGO_LOG)
		return FBX_EINVAL;
	memset(out, 0, sizeof(*out));
	int rc = fbx_rule_parse(rule, &out->parsed, NULL);
	if (rc)
		return rc;
	if (algorithm != FBX_ALGO_GCRA)
		burst = 1; /* only GCRA has a burst: ignore it */
	if (burst == 0 || burst > FBX_GCRA_BURST_MAX)
		return FBX_EINVAL;
	uint64_t tick = coarse_resolution_ns();
	out->coarse_clock = 1;
	out->fast_add = 1;
	out->min_count = UINT64_MAX;
	for (uint32_t i = 0; i < out->parsed.n; i++) {
		struct fbx__limit *k = &out->lim[i];
		k->count = out->parsed.limit[i].count;
		k->period_ns = out->parsed.limit[i].period_ns;
		k->inv_period = UINT64_MAX / k->period_ns;
		if (algorithm == FBX_ALGO_WINDOW && k->count > FBX_WINDOW_COUNT_MAX)
			return FBX_ERANGE;
		if (k->count < out->min_count)
			out->min_count = k->count;
		if (k->count > FAST_COUNT_MAX)
			out->fast_add = 0;
		if (algorithm == FBX_ALGO_LOG && k->count > FBX__LOG_SLOTS_MAX - 1)
			return FBX_ERANGE;
		/* The log may read the coarse clock on the same terms as GCRA:
		 * periods of 64 ticks and more, units stamped a tick late. */
		if (algorithm == FBX_ALGO_LOG && (tick == UINT64_MAX || k->period_ns < 64 * tick))
			out->coarse_clock = 0;
		if (algorithm == FBX_ALGO_GCRA) {
			/* The sustained rate is the rule's, whatever the burst:
			 * one call per period / count, rounded up (a shorter
			 * interval would let count + 1 through a period). */
			k->gcra_t = k->period_ns / k->count;
			if (k->gcra_t == 0)
				return FBX_ERANGE;
			if (k->gcra_t * k->count < k->period_ns)
				k->gcra_t++;
			k->gcra_tau = k->gcra_t * (burst - 1);
			k->inv_t = UINT64_MAX / k->gcra_t;
			if (tick == UINT64_MAX || k->gcra_t < 64 * tick)
				out->coarse_clock = 0;
			else
				k->pad_t = k->gcra_t + tick;
			/* TATs run up to now + burst intervals: keep that far from
			 * wrapping (a day-long period with a burst in the millions
			 * would not be) */
			uint64_t t_max = k->pad_t > k->gcra_t ? k->pad_t : k->gcra_t;
			if (t_max > GCRA_SPAN_MAX / burst)
				return FBX_ERANGE;
			k->pad_tau = k->pad_t * (burst - 1);
			k->pad_inv_t = k->pad_t ? UINT64_MAX / k->pad_t : 0;
		}
	}
	out->burst = burst;
	if (algorithm == FBX_ALGO_LOG && out->coarse_clock)
		out->log_tick_ns = tick > UINT32_MAX ? UINT32_MAX : (uint32_t)tick;
	return fbx_rule_format(&out->parsed, out->rule, sizeof(out->rule));
}

/*
 * The two rule copies in the record are written by set_rule (inactive copy,
 * then a flip of cfg_active) and read by every take's refresh, snapshots
 * and the key table: all of it in 8-byte relaxed atomic words, so a reader
 * racing a writer gets a mix of words, never undefined behaviour, and the
 * seqlock re-check of cfg_active tells it to copy again.
 */
static_assert(sizeof(struct fbx__limiter_cfg) % 8 == 0 &&
		      alignof(struct fbx__limiter_cfg) >= 8,
	      "a limiter config is copied in 8-byte words");
#define CFG_WORDS (sizeof(struct fbx__limiter_cfg) / 8)

static void cfg_store(struct fbx__limiter_cfg *shared, const struct fbx__limiter_cfg *c)
{
	uint64_t w[CFG_WORDS];
	memcpy(w, c, sizeof(w));
	uint64_t *dst = (uint64_t *)(void *)shared;
	for (size_t i = 0; i < CFG_WORDS; i++)
		__atomic_store_n(&dst[i], w[i], __ATOMIC_RELAXED);
}

int fbx__limiter_cfg_copy(const struct fbx__limiter_rec *rec, struct fbx__limiter_cfg *out,
			  uint64_t *active)
{
	uint64_t a = atomic_load_explicit(&rec->cfg_active, memory_order_acquire);
	for (int tries = 0; tries < 100; tries++) {
		const uint64_t *src = (const uint64_t *)(const void *)&rec->cfg[a & 1];
		uint64_t w[CFG_WORDS];
		for (size_t i = 0; i < CFG_WORDS; i++)
			w[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
		/* A seqlock read: the copy's loads must complete before the
		 * re-check.  An acquire load orders what follows it, not what
		 * came before; on a weakly ordered CPU the copy could otherwise
		 * see a rewrite that the re-check misses. */
		atomic_thread_fence(memory_order_acquire);
		uint64_t again = atomic_load_explicit(&rec->cfg_active, memory_order_relaxed);
		if (again == a) {
			memcpy(out, w, sizeof(w));
			*active = a;
			return 0;
		}
		a = again;
	}
	return FBX_ETIMEDOUT;
}

int fbx_limiter_config_check(const fbx_limiter_config *cfg)
{
	if (cfg == NULL || cfg->rule == NULL || cfg->algorithm < 0 ||
	    cfg->algorithm > FBX_ALGO_AUTO)
		return FBX_EINVAL;
	struct fbx__limiter_cfg built;
	uint32_t algo = cfg->algorithm == FBX_ALGO_AUTO ? FBX_ALGO_WINDOW : (uint32_t)cfg->algorithm;
	return fbx__limiter_cfg_build(algo, cfg->burst, cfg->rule, &built);
}

static fbx_limiter *handle_for(fbx_box *box, uint32_t index)
{
	pthread_mutex_lock(&box->lock);
	fbx_limiter *l = box->limiter_list;
	while (l != NULL && l->index != index)
		l = l->next;
	if (l == NULL && (l = calloc(1, sizeof(*l))) != NULL) {
		l->box = box;
		l->rec = &box->limiters[index];
		l->index = index;
		l->algorithm = l->rec->algorithm;
		l->keyed = l->rec->keyed != 0;
		l->hash_salt = (uint64_t)index * 0x9e3779b97f4a7c15ull;
		l->shard_off = (uint64_t)box->cap_breakers * sizeof(struct fbx__breaker_shard) +
			       (uint64_t)index * sizeof(struct fbx__limiter_shard);
		/* R1: an index below the validated capacity: the limiter's
		 * counters lie inside every shard */
		FBX_ASSERT(index < box->cap_limiters &&
			   l->shard_off + sizeof(struct fbx__limiter_shard) <= box->shard_stride);
		atomic_store(&l->cfg_seen, UINT64_MAX); /* load the config on first use */
		l->next = box->limiter_list;
		box->limiter_list = l;
	}
	pthread_mutex_unlock(&box->lock);
	return l;
}

int fbx_limiter_find(fbx_box *box, const char *name, fbx_limiter **out)
{
	if (box == NULL || out == NULL)
		return FBX_EINVAL;
	int rc = fbx_name_check_record(name);
	if (rc == 0)
		rc = fbx__box_whole(box);
	if (rc)
		return rc;
	struct fbx__records rs = fbx__limiter_records(box);
	int i = fbx__record_find(&rs, name);
	if (i < 0)
		return FBX_ENOENT;
	if (box->limiters[i].algorithm > FBX_ALGO_LOG)
		return FBX_ECORRUPT;
	*out = handle_for(box, (uint32_t)i);
	return *out ? 0 : FBX_ENOMEM;
}

/* Whether rule c fits the box's log: its largest count below log_slots,
 * and for a keyed limiter, a log key table to put keys in. */
static int log_fits(const fbx_box *box, const struct fbx__limiter_cfg *c, bool keyed)
{
	if (box->cap_log_slots < 2 || (keyed && box->log_key_buckets < 2))
		return FBX_ERANGE;
	for (uint32_t i = 0; i < c->parsed.n; i++)
		if (c->lim[i].count >= box->cap_log_slots)
			return FBX_ERANGE;
	return 0;
}

/* FBX_ALGO_AUTO: the log where the rule fits it, else the window. */
static uint32_t resolve(const fbx_box *box, const fbx_limiter_config *cfg,
			const struct fbx__limiter_cfg *as_log)
{
	if (cfg->algorithm != FBX_ALGO_AUTO)
		return (uint32_t)cfg->algorithm;
	return log_fits(box, as_log, cfg->keyed != 0) == 0 ? FBX_ALGO_LOG : FBX_ALGO_WINDOW;
}

static int conflict(const struct fbx__limiter_rec *r, uint32_t algorithm,
		    const fbx_limiter_config *cfg, const struct fbx__limiter_cfg *want)
{
	struct fbx__limiter_cfg have;
	uint64_t active;
	int rc = fbx__limiter_cfg_copy(r, &have, &active);
	if (rc)
		return rc;
	have.rule[sizeof(have.rule) - 1] = '\0';
	/* auto matches what it would resolve to now or what it resolved to
	 * when the limiter was made (a fit decided by the same box) */
	bool algo_ok = r->algorithm == algorithm ||
		       (cfg->algorithm == FBX_ALGO_AUTO &&
			(r->algorithm == FBX_ALGO_LOG || r->algorithm == FBX_ALGO_WINDOW));
	if (!algo_ok || r->keyed != (cfg->keyed != 0) ||
	    strcmp(have.rule, want->rule) != 0 || have.burst != want->burst)
		return FBX_ECONFLICT;
	return 0;
}

static int create_record(fbx_box *box, const char *name, uint32_t algorithm,
			 const fbx_limiter_config *cfg, const struct fbx__limiter_cfg *built)
{
	struct fbx__records rs = fbx__limiter_records(box);
	int i = fbx__record_claim(&rs, name);
	if (i < 0)
		return i;
	struct fbx__limiter_rec *r = &box->limiters[i];
	r->algorithm = algorithm;
	if (algorithm == FBX_ALGO_LOG) {
		/* a ring left by an earlier limiter of this slot holds nothing */
		struct fbx__log lg = fbx__log_of_limiter(box, (uint32_t)i);
		fbx__log_clear_ring(&lg);
		atomic_store(lg.head, 0);
	}
	r->keyed = cfg->keyed != 0;
	cfg_store(&r->cfg[0], built);
	atomic_store(&r->cfg_active, 0);
	atomic_store(&r->dry_run, cfg->dry_run != 0);
	fbx__record_publish(&rs, (uint32_t)i);
	return i;
}

int fbx_limiter_register(fbx_box *box, const char *name, const fbx_limiter_config *cfg,
			 fbx_limiter **out)
{
	if (box == NULL || cfg == NULL || out == NULL)
		return FBX_EINVAL;
	int rc = fbx_name_check_record(name);
	if (rc)
		return rc;
	struct fbx__limiter_cfg built;
	uint32_t algorithm = (uint32_t)cfg->algorithm;
	if (algorithm == FBX_ALGO_AUTO) {
		/* built as a log first: that is what the fit is decided on */
		rc = fbx__limiter_cfg_build(FBX_ALGO_LOG, cfg->burst, cfg->rule, &built);
		algorithm = rc == 0 ? resolve(box, cfg, &built) : FBX_ALGO_WINDOW;
	}
	rc = fbx__limiter_cfg_build(algorithm, cfg->burst, cfg->rule, &built);
	if (rc == 0 && algorithm == FBX_ALGO_LOG)
		rc = log_fits(box, &built, cfg->keyed != 0);
	if (rc == 0)
		rc = fbx__box_whole(box);
	if (rc)
		return rc;
	int lock = fbx__registry_lock(box);
	if (lock < 0)
		return lock;
	struct fbx__records rs = fbx__limiter_records(box);
	int i = fbx__record_find(&rs, name);
	bool fresh = false;
	if (i >= 0) {
		rc = conflict(&box->limiters[i], algorithm, cfg, &built);
		if (rc)
			i = rc;
	} else {
		i = create_record(box, name, algorithm, cfg, &built);
		fresh = i >= 0;
	}
	fbx__registry_unlock(lock);
	if (i < 0)
		return i;
	if (fresh)
		fbx__event_emit(box, FBX_EV_REGISTER, FBX_CAUSE_CREATED, FBX_REC_LIMITER,
				(uint32_t)i, -1, -1, built.rule);
	*out = handle_for(box, (uint32_t)i);
	return *out ? 0 : FBX_ENOMEM;
}

const char *fbx_limiter_name(const fbx_limiter *l)
{
	return l ? l->rec->head.name : NULL;
}

int fbx_limiter_algorithm(const fbx_limiter *l)
{
	return l ? (int)l->algorithm : FBX_EINVAL;
}

/* The text of a limiter's config event: what changed, and the operator's
 * reason when one was given. */
static void config_text(char *out, size_t n, const char *what, const char *reason)
{
	if (reason != NULL && reason[0] != '\0')
		snprintf(out, n, "%s%s%s", what ? what : "", what ? ": " : "", reason);
	else
		snprintf(out, n, "%s", what ? what : "");
}

int fbx_limiter_set_rule(fbx_limiter *l, const char *rule, const char *reason)
{
	if (l == NULL)
		return FBX_EINVAL;
	if (l->box->read_only)
		return FBX_ERDONLY;
	struct fbx__limiter_cfg built, now_in_force;
	uint64_t active;
	int rc = fbx__limiter_cfg_copy(l->rec, &now_in_force, &active);
	if (rc)
		return rc;
	/* the burst stays: it is tolerance on top of the rate, whatever the
	 * counts */
	uint32_t burst = now_in_force.burst;
	rc = fbx__limiter_cfg_build(l->algorithm, burst ? burst : 1, rule, &built);
	if (rc == 0 && l->algorithm == FBX_ALGO_LOG)
		rc = log_fits(l->box, &built, l->keyed);
	if (rc)
		return rc;
	int lock = fbx__registry_lock(l->box);
	if (lock < 0)
		return lock;
	/* Write the copy nobody reads, then flip: a writer that dies here
	 * leaves the old rule in force. */
	active = atomic_load(&l->rec->cfg_active);
	/* The rule in force already (a sound copy with the same canonical
	 * text, so the same figures): nothing to write, nothing to record —
	 * an audit trail of "rule X -> X" hides the changes that mattered.  A
	 * damaged copy is rewritten: setting the rule again repairs it. */
	struct fbx__limiter_cfg cur;
	uint64_t cur_active;
	if (fbx__limiter_cfg_copy(l->rec, &cur, &cur_active) == 0 &&
	    fbx__limiter_cfg_sane(&cur, l->algorithm) && strcmp(cur.rule, built.rule) == 0) {
		fbx__registry_unlock(lock);
		return 0;
	}
	/* under the lock nobody rewrites the copy in force: read it whole */
	built.fast_add &= __atomic_load_n(&l->rec->cfg[active & 1].fast_add, __ATOMIC_RELAXED);
	uint64_t written = (active & 1) ^ 1, next = ((active >> 1) + 1) << 1 | written;
	cfg_store(&l->rec->cfg[written], &built);
	/* R5: the flip names the copy just written, never the one in force */
	FBX_ASSERT((next & 1) == written && (next & 1) != (active & 1));
	atomic_store_explicit(&l->rec->cfg_active, next, memory_order_release);
	fbx__registry_unlock(lock);
	char text[FBX_RULE_TEXT_MAX + FBX_REASON_MAX + 2];
	config_text(text, sizeof(text), built.rule, reason);
	fbx__event_emit(l->box, FBX_EV_CONFIG, FBX_CAUSE_RULE, FBX_REC_LIMITER, l->index, -1, -1,
			text);
	return 0;
}

int fbx_limiter_set_dry_run(fbx_limiter *l, int on, const char *reason)
{
	if (l == NULL)
		return FBX_EINVAL;
	if (l->box->read_only)
		return FBX_ERDONLY;
	/* Already so: no event, like a rule set to the rule in force.  Any
	 * other word (a scribbled one) is rewritten and recorded. */
	uint32_t was = atomic_exchange(&l->rec->dry_run, on != 0);
	if (was == (uint32_t)(on != 0))
		return 0;
	char text[FBX_REASON_MAX + 1];
	config_text(text, sizeof(text), NULL, reason);
	fbx__event_emit(l->box, FBX_EV_CONFIG, on ? FBX_CAUSE_DRY_RUN_ON : FBX_CAUSE_DRY_RUN_OFF,
			FBX_REC_LIMITER, l->index, -1, -1, text[0] ? text : NULL);
	return 0;
}

/* ---- take -------------------------------------------------------------- */

/*
 * Every figure of a config copied out of the segment that the hot path
 * divides by, loops on or indexes with must be one the build would give:
 * a scribbled config makes take() fail with FBX_ECORRUPT, never hang or
 * fault, and a config whose text says one thing while its figures enforce
 * another is not shown to an operator as whole (docs/DESIGN.md R10).  So
 * the config is built again from its own rule text and burst (a refresh or
 * a snapshot, not a hot path) and compared.  fast_add is not compared: a
 * rule change may have cleared it on purpose.
 */
bool fbx__limiter_cfg_sane(const struct fbx__limiter_cfg *c, uint32_t algorithm)
{
	if (c->parsed.n == 0 || c->parsed.n > FBX_RULE_LIMITS_MAX || c->fast_add > 1 ||
	    memchr(c->rule, '\0', sizeof(c->rule)) == NULL)
		return false;
	struct fbx__limiter_cfg again;
	if (fbx__limiter_cfg_build(algorithm, c->burst, c->rule, &again) != 0 ||
	    again.burst != c->burst || again.parsed.n != c->parsed.n ||
	    again.coarse_clock != c->coarse_clock || again.min_count != c->min_count ||
	    again.log_tick_ns != c->log_tick_ns)
		return false;
	for (uint32_t i = 0; i < c->parsed.n; i++)
		if (memcmp(&again.lim[i], &c->lim[i], sizeof(again.lim[i])) != 0 ||
		    again.parsed.limit[i].count != c->parsed.limit[i].count ||
		    again.parsed.limit[i].period_ns != c->parsed.limit[i].period_ns)
			return false;
	return true;
}

/* A local copy that no take uses: not the current one, and (threads
 * sharing the handle) pinned by none.  -1 if every one is in use. */
static int spare_copy(fbx_limiter *l)
{
	uint32_t cur = atomic_load(&l->cur);
	for (uint32_t k = 1; k < FBX__LOCAL_CFGS; k++) {
		uint32_t i = (cur + k) % FBX__LOCAL_CFGS;
		if (atomic_load(&l->pins[i]) == 0)
			return (int)i;
	}
	return -1;
}

/*
 * Slow path: the rule changed since this handle last looked.  The new rule
 * goes into a spare local copy, then `cur` moves to it.  Threads sharing the
 * handle pin the copy they take with (take_pinned), so a copy in use is
 * never rewritten under them, however many rule changes land meanwhile.
 */
static int refresh_cfg(fbx_limiter *l)
{
	int rc = 0;
	pthread_mutex_lock(&l->box->lock);
	uint64_t active = atomic_load(&l->rec->cfg_active);
	if (active == atomic_load(&l->cfg_seen))
		goto out; /* another thread of this handle got here first */
	int spare = spare_copy(l);
	for (int tries = 0; spare < 0 && tries < 1000; tries++) {
		sched_yield(); /* every copy pinned: takes end in nanoseconds */
		spare = spare_copy(l);
	}
	if (spare < 0) {
		rc = FBX_ETIMEDOUT;
		goto out;
	}
	/* a refresh never rewrites the copy takes use: `cur` moves only
	 * under the lock held here */
	FBX_ASSERT((uint32_t)spare != atomic_load(&l->cur));
	struct fbx__limiter_cfg *c = &l->cfgs[spare];
	rc = fbx__limiter_cfg_copy(l->rec, c, &active);
	if (rc == 0 && !fbx__limiter_cfg_sane(c, l->algorithm))
		rc = FBX_ECORRUPT;
	if (rc == 0) {
		atomic_store_explicit(&l->cur, (uint32_t)spare, memory_order_release);
		atomic_store(&l->cfg_seen, active);
	}
out:
	pthread_mutex_unlock(&l->box->lock);
	return rc;
}

enum fbx__decision fbx__limit_decide(const fbx_limiter *l, const struct fbx__limit *k,
				     uint64_t w, const struct fbx__reading *at, uint64_t cost,
				     uint64_t *next, struct fbx__verdict *v)
{
	return l->algorithm == FBX_ALGO_GCRA
		       ? fbx__gcra_decide(k, at->padded, w, at->now, at->fresh, cost, next, v)
		       : fbx__window_decide(k, w, at->now, at->fresh, cost, next, v);
}

static enum fbx__decision decide(const fbx_limiter *l, const struct fbx__limit *k,
				 uint64_t w, const struct fbx__reading *at, uint64_t cost,
				 uint64_t *next, struct fbx__verdict *v)
{
	if (l->algorithm == FBX_ALGO_GCRA)
		return fbx__gcra_decide(k, at->padded, w, at->now, at->fresh, cost, next, v);
	return fbx__window_decide(k, w, at->now, at->fresh, cost, next, v);
}

/* Once per take at most: the reading predates a stall.  Later limits and
 * the refunds use the new one too; what earlier limits did on the old one
 * only ever erred towards denial. */
__attribute__((cold, noinline)) void fbx__reading_again(struct fbx__reading *at)
{
	uint64_t now = at->coarse ? fbx__now_coarse() : fbx__now();
	if (now > at->now)
		at->now = now;
	at->fresh = true;
}

/* Gives back what limits 0..upto-1 took, each in the window it counted in. */
static void refund(const fbx_limiter *l, const struct fbx__limiter_cfg *c,
		   _Atomic uint64_t *st, uint32_t upto, const uint64_t *used_idx,
		   const struct fbx__reading *at, uint64_t cost)
{
	for (uint32_t i = 0; i < upto; i++) {
		if (l->algorithm == FBX_ALGO_WINDOW) {
			fbx__window_unadd(&st[i], used_idx[i], cost);
			continue;
		}
		uint64_t w = atomic_load(&st[i]), next;
		while ((next = fbx__gcra_refund(&c->lim[i], at->padded, w, at->now, cost)) != w &&
		       !atomic_compare_exchange_weak(&st[i], &w, next))
			;
	}
}

/* Limit i denied; the later limits may deny for longer, and Retry-After
 * must cover them all.  Each only grows more permissive with time, so the
 * longest wait among them is exact. */
static void later_denials(const fbx_limiter *l, const struct fbx__limiter_cfg *c,
			  _Atomic uint64_t *st, uint32_t from, struct fbx__reading *at, uint64_t cost,
			  struct fbx__verdict *v)
{
	for (uint32_t i = from; i < c->parsed.n; i++) {
		struct fbx__verdict w;
		uint64_t unused;
		enum fbx__decision d;
		while ((d = decide(l, &c->lim[i], atomic_load(&st[i]), at, cost, &unused, &w)) ==
		       FBX__STALE)
			fbx__reading_again(at);
		if (d == FBX__DENY && w.retry_ns > v->retry_ns)
			*v = w;
	}
}

/*
 * One limit of a take.  In the common case of the window algorithm the
 * cost is added first with fetch_add and the word it was added to decides:
 * a fetch_add never fails, so workers sharing a hot key pay one cache-line
 * transfer per take instead of CAS retries.  When that word does not
 * admit, or belongs to an older window, the add is taken back and the CAS
 * path decides.  While an add is in flight others see the budget lower:
 * an early denial at worst, never an extra admission.
 */
static bool take_limit(const fbx_limiter *l, const struct fbx__limit *k, bool fast,
		       _Atomic uint64_t *word, struct fbx__reading *at, uint64_t cost,
		       struct fbx__verdict *v)
{
	uint64_t w, next;
	enum fbx__decision d;
	if (l->algorithm == FBX_ALGO_WINDOW && cost <= FAST_COST_MAX && fast) {
		w = atomic_fetch_add(word, cost);
		d = decide(l, k, w, at, cost, &next, v);
		if (d == FBX__ADMIT && next == w + cost)
			return true; /* same window, and it had room */
		fbx__window_unadd(word, FBX__W_IDX(w), cost);
		if (d == FBX__DENY && FBX__W_IDX(w) == v->idx)
			return false; /* decided on the word of its own window */
	}
	w = atomic_load_explicit(word, memory_order_relaxed);
	for (;;) {
		d = decide(l, k, w, at, cost, &next, v);
		if (FBX__UNLIKELY(d == FBX__STALE)) {
			fbx__reading_again(at);
			continue;
		}
		if (d == FBX__DENY) {
			/* a foreign word settled on a fresh reading: best effort */
			if (FBX__UNLIKELY(v->repair))
				atomic_compare_exchange_strong(word, &w, next);
			return false;
		}
		if (atomic_compare_exchange_weak(word, &w, next))
			return true;
	}
}

static int denied(fbx_limiter *l, struct fbx__limiter_shard *ls, const struct fbx__verdict *v,
		  uint64_t now, const void *key, size_t keylen, fbx_limit_result *res)
{
	if (l->keyed)
		fbx__top_note(l, key, keylen);
	res->limit = v->limit;
	res->remaining = v->remaining;
	res->reset_ns = v->reset_ns;
	res->retry_after_ns = v->retry_ns;
	res->now_ns = now;
	if (atomic_load_explicit(&l->rec->dry_run, memory_order_relaxed)) {
		fbx__count(l->box, &ls->ctr[FBX__L_DRY_DENIED]);
		res->allowed = 1;
		res->dry_run_denied = 1;
		return 0;
	}
	fbx__count(l->box, &ls->ctr[FBX__L_DENIED]);
	res->allowed = 0;
	res->dry_run_denied = 0;
	return FBX_ELIMITED;
}

/* The exact log decides on all limits at once (limiter_log.c). */
static int take_log(fbx_limiter *l, const struct fbx__limiter_cfg *c,
		    struct fbx__limiter_shard *ls, _Atomic uint64_t *st, struct fbx__reading *at,
		    const void *key, size_t keylen, uint32_t cost, fbx_limit_result *res)
{
	struct fbx__log lg = l->keyed ? fbx__log_of_key(l->box, st)
				      : fbx__log_of_limiter(l->box, l->index);
	struct fbx__verdict v;
	int d = fbx__log_take(c, &lg, at, cost, &v);
	if (FBX__UNLIKELY(d < 0))
		return d;
	if (d == FBX__DENY)
		return denied(l, ls, &v, at->now, key, keylen, res);
	fbx__count(l->box, &ls->ctr[FBX__L_ALLOWED]);
	res->allowed = 1;
	res->dry_run_denied = 0;
	res->limit = v.limit;
	res->remaining = v.remaining;
	res->reset_ns = v.reset_ns;
	res->retry_after_ns = 0;
	res->now_ns = at->now;
	return 0;
}

static inline __attribute__((always_inline)) int
take_with(fbx_limiter *l, const struct fbx__limiter_cfg *c, uint8_t *shard, const void *key,
	  size_t keylen, uint32_t cost, fbx_limit_result *res)
{
	/* No window could ever admit it (GCRA admits at most burst at once);
	 * said before the key is looked up, so it is not stored either. */
	if (FBX__UNLIKELY(l->algorithm == FBX_ALGO_GCRA ? cost > c->burst : cost > c->min_count))
		return FBX_ERANGE;
	uint64_t now = c->coarse_clock ? fbx__now_coarse() : fbx__now();
	/* GCRA pads its intervals for the coarse clock, and the log its
	 * stamps; a substituted clock is exact, with no tick to pad for */
	struct fbx__reading at = {now,
			  l->algorithm != FBX_ALGO_WINDOW && c->coarse_clock &&
				  !fbx__clock_substituted(),
			  false, c->coarse_clock != 0};
	_Atomic uint64_t *st = l->rec->global_state;
	if (l->keyed) {
		st = NULL;
		for (int tries = 0; st == NULL && tries < 8; tries++)
			st = fbx__key_state(l, key, keylen, now);
		if (FBX__UNLIKELY(st == NULL))
			return FBX_ETIMEDOUT;
	}
	struct fbx__limiter_shard *ls = (void *)(shard + l->shard_off);
	struct fbx__verdict v, tight = {0, 0, 0, 0, 0, false};
	if (l->algorithm == FBX_ALGO_LOG)
		return take_log(l, c, ls, st, &at, key, keylen, cost, res);
	/* Ask for the line in exclusive state at once: a plain load would
	 * fetch it shared and the CAS fetch it again when another process
	 * wrote it last (a hot key taken by several workers). */
	__builtin_prefetch(st, 1);
	uint64_t used_idx[FBX_RULE_LIMITS_MAX];
	for (uint32_t i = 0; i < c->parsed.n; i++) {
		const struct fbx__limit *k = &c->lim[i];
		if (!take_limit(l, k, c->fast_add, &st[i], &at, cost, &v)) {
			refund(l, c, st, i, used_idx, &at, cost);
			later_denials(l, c, st, i + 1, &at, cost, &v);
			return denied(l, ls, &v, at.now, key, keylen, res);
		}
		used_idx[i] = v.idx;
		if (i == 0 || v.remaining < tight.remaining)
			tight = v;
	}
	fbx__count(l->box, &ls->ctr[FBX__L_ALLOWED]);
	res->allowed = 1;
	res->dry_run_denied = 0;
	res->limit = tight.limit;
	res->remaining = tight.remaining;
	res->reset_ns = tight.reset_ns;
	res->retry_after_ns = 0;
	res->now_ns = at.now;
	return 0;
}

/* Threads sharing the handle: pin the current local copy for the take, so
 * that no refresh rewrites it meanwhile (refresh_cfg). */
static __attribute__((noinline)) int take_pinned(fbx_limiter *l, uint8_t *shard, const void *key,
						 size_t keylen, uint32_t cost,
						 fbx_limit_result *res)
{
	uint32_t i;
	for (;;) {
		i = atomic_load(&l->cur);
		atomic_fetch_add(&l->pins[i], 1);
		if (atomic_load(&l->cur) == i)
			break;
		atomic_fetch_sub(&l->pins[i], 1); /* moved on meanwhile: it may be rewritten */
	}
	int rc = take_with(l, &l->cfgs[i], shard, key, keylen, cost, res);
	atomic_fetch_sub_explicit(&l->pins[i], 1, memory_order_release);
	return rc;
}

/* An error leaves every field 0 (allowed 0, no retry-after): not the
 * figures of an earlier take, which a caller could send as headers. */
__attribute__((cold, noinline)) int fbx__limit_failed(fbx_limit_result *res, int err)
{
	if (res != NULL)
		memset(res, 0, sizeof(*res));
	return err;
}

int fbx_limiter_take(fbx_limiter *l, const void *key, size_t keylen, uint32_t cost,
		     fbx_limit_result *res)
{
	if (FBX__UNLIKELY(l == NULL || res == NULL || cost == 0 ||
			  (l->keyed ? key == NULL || keylen == 0 : keylen != 0)))
		return fbx__limit_failed(res, FBX_EINVAL);
	uint8_t *shard = fbx__shard(l->box);
	if (FBX__UNLIKELY(shard == NULL))
		return fbx__limit_failed(res, FBX_ERDONLY);
	uint64_t active = atomic_load_explicit(&l->rec->cfg_active, memory_order_acquire);
	if (FBX__UNLIKELY(active != atomic_load_explicit(&l->cfg_seen, memory_order_relaxed))) {
		int rc = refresh_cfg(l);
		if (rc)
			return fbx__limit_failed(res, rc);
	}
	int rc;
	if (FBX__UNLIKELY(l->box->threads)) {
		rc = take_pinned(l, shard, key, keylen, cost, res);
	} else {
		/* one thread: nobody refreshes while this take runs */
		uint32_t i = atomic_load_explicit(&l->cur, memory_order_acquire);
		rc = take_with(l, &l->cfgs[i], shard, key, keylen, cost, res);
	}
	/* the rare errors of take_with (ERANGE, a key table or log that
	 * never settled) are cleared here, off the paths that decide */
	if (FBX__UNLIKELY(rc != 0 && rc != FBX_ELIMITED))
		return fbx__limit_failed(res, rc);
	return rc;
}

/* The rule in force, pinned against a refresh when threads share the
 * handle (take_pinned's scheme), for the slow paths of limiter_peek.c. */
const struct fbx__limiter_cfg *fbx__limiter_cfg_pin(fbx_limiter *l, uint32_t *pin, int *rc)
{
	uint64_t active = atomic_load_explicit(&l->rec->cfg_active, memory_order_acquire);
	*rc = 0;
	if (active != atomic_load_explicit(&l->cfg_seen, memory_order_relaxed) &&
	    (*rc = refresh_cfg(l)) != 0)
		return NULL;
	uint32_t i;
	for (;;) {
		i = atomic_load(&l->cur);
		atomic_fetch_add(&l->pins[i], 1);
		if (atomic_load(&l->cur) == i)
			break;
		atomic_fetch_sub(&l->pins[i], 1);
	}
	*pin = i;
	return &l->cfgs[i];
}

void fbx__limiter_cfg_unpin(fbx_limiter *l, uint32_t pin)
{
	atomic_fetch_sub_explicit(&l->pins[pin], 1, memory_order_release);
}
