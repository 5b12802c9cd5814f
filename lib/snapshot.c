/*
 * snapshot.c — a copy of the whole box for consoles and tools.
 *
 * The segment is hostile input here (docs/DESIGN.md R10): any process with
 * write access could have scribbled on it.  Every count of records is
 * clamped to the capacity validated at open, every string is cut and
 * checked, every enum is range-checked, and a record that fails is handed
 * back marked corrupt rather than trusted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct fbx_snapshot {
	uint64_t time;
	uint32_t cap_b, cap_l, cap_e, cap_w, cap_c, cap_g, cap_h, cap_k;
	size_t nb, nl, ne, nw, nc, ng, nh, nk;
	uint64_t dropped;
	uint64_t *keys;  /* per limiter index */
	fbx_breaker_info *b;
	fbx_limiter_info *l;
	fbx_event *ev;
	fbx_worker_info *w;
	fbx_check_info *c;
	fbx_budget_info *g;
	fbx_bulkhead_info *h;
	fbx_cache_info *k;
	fbx_health health;
};

int fbx_snapshot_new(fbx_box *box, fbx_snapshot **out)
{
	if (box == NULL || out == NULL)
		return FBX_EINVAL;
	fbx_snapshot *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return FBX_ENOMEM;
	s->cap_b = box->cap_breakers;
	s->cap_l = box->cap_limiters;
	s->cap_e = box->cap_events;
	s->b = calloc(s->cap_b, sizeof(*s->b));
	s->l = calloc(s->cap_l, sizeof(*s->l));
	s->ev = calloc(s->cap_e, sizeof(*s->ev));
	s->keys = calloc(s->cap_l, sizeof(*s->keys));
	s->cap_w = box->cap_workers;
	s->cap_c = box->cap_checks;
	s->w = calloc(s->cap_w, sizeof(*s->w));
	s->c = calloc(s->cap_c ? s->cap_c : 1, sizeof(*s->c));
	s->cap_g = box->cap_budgets;
	s->cap_h = box->cap_bulkheads;
	s->g = calloc(s->cap_g ? s->cap_g : 1, sizeof(*s->g));
	s->h = calloc(s->cap_h ? s->cap_h : 1, sizeof(*s->h));
	s->cap_k = box->cap_caches;
	s->k = calloc(s->cap_k ? s->cap_k : 1, sizeof(*s->k));
	if (s->b == NULL || s->l == NULL || s->ev == NULL || s->keys == NULL || s->w == NULL ||
	    s->c == NULL || s->g == NULL || s->h == NULL || s->k == NULL) {
		fbx_snapshot_free(s);
		return FBX_ENOMEM;
	}
	*out = s;
	return 0;
}

void fbx_snapshot_free(fbx_snapshot *s)
{
	if (s == NULL)
		return;
	free(s->b);
	free(s->l);
	free(s->ev);
	free(s->keys);
	free(s->w);
	free(s->c);
	free(s->g);
	free(s->h);
	free(s->k);
	free(s);
}

/* Copies a name out of the segment; false when it is not a valid name
 * (an unterminated one included: cutting it would name another record). */
static bool copy_name(char dst[FBX_NAME_MAX], const char *src)
{
	memcpy(dst, src, FBX_NAME_MAX);
	bool terminated = memchr(dst, '\0', FBX_NAME_MAX) != NULL;
	dst[FBX_NAME_MAX - 1] = '\0';
	return terminated && fbx_name_check_record(dst) == 0;
}

/* Whether a record with life word `live` is damaged rather than free or
 * being created: a life word that is none of the three, or a FREE slot
 * with a name (a free slot is all zeros).  Shown as damaged, not skipped.
 * An INIT slot is skipped: it is being created, or was left by a
 * registrar that died (the next registration wipes it) — or scribbled,
 * which a reader cannot tell from that. */
static bool damaged_life(uint32_t live, const char *name)
{
	if (live == FBX__REC_FREE)
		return name[0] != '\0';
	return live != FBX__REC_INIT;
}

/* A damaged record's name: its own when that is still a valid name, else
 * one that says which slot it is. */
static void damaged_name(char name[FBX_NAME_MAX], const char *kind, uint32_t i)
{
	if (fbx_name_check_record(name) != 0)
		snprintf(name, FBX_NAME_MAX, "corrupt-%s-%u", kind, i);
}

static void damaged_breaker(fbx_box *box, uint32_t i, fbx_breaker_info *bi)
{
	memset(bi, 0, sizeof(*bi));
	bi->corrupt = 1;
	copy_name(bi->name, box->breakers[i].head.name);
	damaged_name(bi->name, "breaker", i);
}

static void damaged_limiter(fbx_box *box, uint32_t i, fbx_limiter_info *li)
{
	memset(li, 0, sizeof(*li));
	li->corrupt = 1;
	copy_name(li->name, box->limiters[i].head.name);
	damaged_name(li->name, "limiter", i);
}

static uint32_t shard_count(const fbx_box *box)
{
	uint32_t n = atomic_load(&box->hdr->shards_hwm);
	return n > box->cap_workers + 1 ? box->cap_workers + 1 : n;
}

static void breaker_counts(fbx_box *box, uint32_t index, fbx_breaker_info *bi)
{
	uint64_t sum[FBX__C_N] = {0};
	for (uint32_t s = 0, n = shard_count(box); s < n; s++) {
		const struct fbx__breaker_shard *bs =
			fbx__bshard(box->shards + box->shard_stride * s, index);
		for (int k = 0; k < FBX__C_N; k++)
			sum[k] += atomic_load_explicit(&bs->ctr[k], memory_order_relaxed);
	}
	bi->successes = sum[FBX__C_SUCC];
	bi->failures = sum[FBX__C_FAIL];
	bi->ignored = sum[FBX__C_IGN];
	bi->slow = sum[FBX__C_SLOW];
	bi->rejected = sum[FBX__C_REJ];
}

/* How far ahead of a reader's clock a deadline written before the read
 * may lie beyond its period.  Every writer reads the same coarse clock as
 * the reader, one clock for all processes, so none; but a substituted
 * clock (a test's, the chaos run's stalled one) reads the precise clock,
 * ahead of the coarse one by up to a tick: 10 ms at the coarsest kernel
 * tick there is (HZ=100). */
#define TICK_MS 10

/* Whether a state word's times are ones a transition could have written
 * before now_ms, a reading taken after the word was read.  A transition
 * writes an OPEN deadline as its own reading plus the open period of the
 * streak it writes into the same word (the configuration does not change
 * once LIVE), and a HALF_OPEN start as its own reading.  A second of slack
 * here once let a scribble push a deadline up to a second past the longest
 * open period and be shown as a figure, unflagged (make chaos-smoke). */
static bool times_plausible(uint64_t w, uint64_t now_ms, const fbx_breaker_config *c)
{
	if (FBX__ST_STATE(w) == FBX_OPEN && FBX__ST_DEADLINE(w) > now_ms)
		return FBX__ST_DEADLINE(w) - now_ms <=
		       fbx__open_period_ns(c, FBX__ST_STREAK(w)) / 1000000u + TICK_MS;
	if (FBX__ST_STATE(w) == FBX_HALF_OPEN)
		return FBX__ST_DEADLINE(w) <= now_ms + TICK_MS;
	return true;
}

/* The same for a trial lease: its holder's reading plus trial_lease.  A
 * lease left by an earlier period only lies further back. */
static bool lease_plausible(uint64_t l, uint64_t now_ms, const fbx_breaker_config *c)
{
	return l == 0 ||
	       FBX__LEASE_DEADLINE(l) <= now_ms + c->trial_lease_ns / 1000000u + TICK_MS;
}

static bool breaker_times_plausible(uint64_t w, const uint64_t lease[FBX_HALF_OPEN_MAX],
				    uint64_t now_ms, const fbx_breaker_config *c)
{
	if (!times_plausible(w, now_ms, c))
		return false;
	for (uint32_t k = 0; k < c->half_open_max; k++)
		if (!lease_plausible(lease[k], now_ms, c))
			return false;
	return true;
}

/* The last operator action, when its words agree with their check: two
 * actions at once may leave them torn, which reads as unknown. */
static void read_operator(const struct fbx__breaker_rec *r, uint64_t now_ms,
			  fbx_breaker_info *bi)
{
	uint64_t check = atomic_load_explicit(&r->op_check, memory_order_acquire);
	uint64_t w[FBX__OP_WORDS];
	w[0] = atomic_load(&r->op_who);
	w[1] = atomic_load(&r->op_when_ms);
	w[2] = atomic_load(&r->op_cause);
	for (size_t k = 0; k < FBX_REASON_MAX / 8; k++)
		w[3 + k] = atomic_load(&r->op_reason[k]);
	if (check == 0 || check != fbx__op_check(w) || w[1] > now_ms + TICK_MS ||
	    w[2] < FBX_CAUSE_TRIP || w[2] > FBX_CAUSE_RESET)
		return;
	bi->operator_known = 1;
	bi->operator_uid = (uint32_t)(w[0] >> 32);
	bi->operator_pid = (int32_t)(uint32_t)w[0];
	bi->operator_age_ns = now_ms > w[1] ? (now_ms - w[1]) * 1000000u : 0;
	bi->operator_cause = (fbx_event_cause)w[2];
	memcpy(bi->operator_reason, &w[3], FBX_REASON_MAX);
	bi->operator_reason[FBX_REASON_MAX - 1] = '\0';
	/* shown on terminals, as event reasons are: printable ASCII only */
	for (char *c = bi->operator_reason; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
}

static void read_breaker(fbx_box *box, uint32_t i, uint64_t now, fbx_breaker_info *bi)
{
	struct fbx__breaker_rec *r = &box->breakers[i];
	memset(bi, 0, sizeof(*bi));
	bool ok = copy_name(bi->name, r->head.name);
	bi->config = r->cfg;
	ok = ok && fbx_breaker_config_check(&bi->config, NULL) == 0;
	uint64_t w = atomic_load(&r->state), now_ms = fbx__ms_since(box, now);
	uint64_t lease[FBX_HALF_OPEN_MAX] = {0};
	ok = ok && FBX__ST_STATE(w) < FBX_BREAKER_STATE_COUNT;
	if (ok)
		for (uint32_t k = 0; k < bi->config.half_open_max; k++)
			lease[k] = atomic_load(&r->lease[k]);
	/* A time no writer could have written before the read is damage.
	 * The snapshot's own reading may predate a transition (a stall, a
	 * preemption after it was taken): judged again on a reading taken
	 * after the words, and the figures are then counted from that one,
	 * or an open period would show longer than it is. */
	uint64_t since = atomic_load(&r->since_ms);
	if (ok && (!breaker_times_plausible(w, lease, now_ms, &bi->config) ||
		   since > now_ms + TICK_MS)) {
		now_ms = fbx__ms_since(box, fbx__now_coarse());
		ok = breaker_times_plausible(w, lease, now_ms, &bi->config) &&
		     since <= now_ms + TICK_MS;
	}
	if (!ok) {
		bi->corrupt = 1;
		memset(&bi->config, 0, sizeof(bi->config)); /* figures of a damaged record */
		damaged_name(bi->name, "breaker", i);
		return;
	}
	bi->state = (fbx_breaker_state)FBX__ST_STATE(w);
	bi->generation = FBX__ST_GEN(w);
	bi->open_streak = FBX__ST_STREAK(w);
	bi->trips = atomic_load(&r->trips);
	breaker_counts(box, i, bi);
	uint64_t c = atomic_load(&r->consec);
	if (bi->state == FBX_CLOSED && FBX__GC_GEN(c) == bi->generation)
		bi->consecutive_failures = FBX__GC_COUNT(c);
	if (bi->state == FBX_OPEN && FBX__ST_DEADLINE(w) > now_ms)
		bi->open_remaining_ns = (FBX__ST_DEADLINE(w) - now_ms) * 1000000u;
	/* The move to half-open happens at the next call: an idle breaker
	 * whose open period has passed still reads OPEN, and says so. */
	bi->trial_due = bi->state == FBX_OPEN && FBX__ST_DEADLINE(w) <= now_ms;
	bi->state_age_ns = now_ms > since ? (now_ms - since) * 1000000u : 0;
	for (int k = 0; k < FBX__MANUAL_N; k++)
		bi->manual_actions[k] = atomic_load(&r->manual[k]);
	read_operator(r, now_ms, bi);
	if (bi->state == FBX_HALF_OPEN) {
		for (uint32_t k = 0; k < bi->config.half_open_max; k++) {
			uint64_t l = lease[k];
			if (l != 0 && FBX__LEASE_GEN(l) == bi->generation &&
			    FBX__LEASE_DEADLINE(l) >= FBX__ST_DEADLINE(w) &&
			    FBX__LEASE_DEADLINE(l) > now_ms)
				bi->half_open_in_flight++;
		}
	}
	if (bi->config.failure_rate_pct != 0 || bi->config.slow_rate_pct != 0)
		fbx__window_figures(box, r, &bi->config, now, &bi->window_calls,
				    &bi->window_failures, &bi->window_slow);
}

static void read_limiter(fbx_box *box, uint32_t i, uint64_t keys, fbx_limiter_info *li)
{
	struct fbx__limiter_rec *r = &box->limiters[i];
	memset(li, 0, sizeof(*li));
	bool ok = copy_name(li->name, r->head.name);
	/* a whole copy: checked figures must be the ones reported, even if
	 * the rule changes while we read */
	struct fbx__limiter_cfg copy;
	uint64_t active;
	const struct fbx__limiter_cfg *c = &copy;
	ok = fbx__limiter_cfg_copy(r, &copy, &active) == 0 && ok;
	memcpy(li->rule, c->rule, sizeof(li->rule));
	ok = ok && memchr(li->rule, '\0', sizeof(li->rule)) != NULL;
	li->rule[sizeof(li->rule) - 1] = '\0';
	ok = ok && r->algorithm <= FBX_ALGO_LOG &&
	     fbx_rule_parse(li->rule, &li->parsed, NULL) == 0 &&
	     fbx__limiter_cfg_sane(c, r->algorithm);
	if (!ok) {
		li->corrupt = 1;
		damaged_name(li->name, "limiter", i);
		li->rule[0] = '\0';
		return;
	}
	li->algorithm = (fbx_algorithm)r->algorithm;
	li->burst = c->burst;
	li->keyed = r->keyed != 0;
	li->dry_run = atomic_load(&r->dry_run) != 0;
	li->keys = li->keyed ? keys : 0;
	if (li->keyed)
		fbx__top_read(r, li);
	li->evictions = atomic_load(&r->evictions);
	for (uint32_t s = 0, n = shard_count(box); s < n; s++) {
		struct fbx__limiter_shard *ls = fbx__lshard(box, box->shards + box->shard_stride * s, i);
		li->allowed += atomic_load_explicit(&ls->ctr[FBX__L_ALLOWED], memory_order_relaxed);
		li->denied += atomic_load_explicit(&ls->ctr[FBX__L_DENIED], memory_order_relaxed);
		li->dry_run_denied += atomic_load_explicit(&ls->ctr[FBX__L_DRY_DENIED],
							   memory_order_relaxed);
	}
}

enum { EV_SKIP = 0, EV_COPIED = 1, EV_NOT_YET = -1 };

/* How many turns of the ring an unclaimed slot may lag behind: each
 * writer still on its way holds back its slot by a turn at most. */
#define LAG_TURNS 64

/* The first claimed event after an unclaimed one, found once per read:
 * every unclaimed event before it has the same evidence, so a read is
 * linear in the ring even when a scribbled head leaves it all unclaimed
 * (scanning afresh for each one took seconds on a large ring). */
struct evidence {
	uint64_t upto;  /* the scan covered (.., upto) */
	uint64_t began; /* started of the claimed event at upto, 0: none */
};

static uint64_t later_claimed(fbx_box *box, uint64_t seq, uint64_t head, uint64_t now,
			      struct evidence *ev)
{
	if (ev->upto > seq)
		return ev->began;
	uint64_t cap = box->cap_events, k = seq + 1, end = seq + cap < head ? seq + cap : head;
	ev->began = 0;
	for (; k < end; k++) {
		struct fbx__event_slot *o = &box->events[k % cap];
		if ((atomic_load_explicit(&o->seq1, memory_order_acquire) & ~FBX__EV_BUSY) != k + 1)
			continue;
		/* A start no writer could have had (none, or after now) is
		 * damage, not evidence: trusting it would hold every reader at
		 * this slot for good.  The next complete event may testify. */
		uint64_t b = atomic_load_explicit(&o->started, memory_order_relaxed);
		if (b != 0 && b <= now) {
			ev->began = b;
			break;
		}
	}
	ev->upto = k;
	return ev->began;
}

/* Whether event seq, in progress, has been so for longer than a writer
 * ever takes.  A claimed slot says when its writer began.  An unclaimed one
 * (the writer took seq but not the slot yet) holds an event of an earlier
 * turn of the ring, or nothing, not too far back; anything else is damage.
 * Its writer began no later than any event after it, as sequence numbers
 * are taken in order, so a later event older than the grace settles it. */
static bool abandoned(fbx_box *box, uint64_t seq, uint64_t s1, uint64_t head,
		      struct evidence *ev)
{
	uint64_t now = fbx__real_now(), began = 0, held = s1 & ~FBX__EV_BUSY;
	uint64_t cap = box->cap_events, lag_max = LAG_TURNS * cap;
	if (s1 == ((seq + 1) | FBX__EV_BUSY))
		began = atomic_load_explicit(&box->events[seq % cap].started,
					     memory_order_relaxed);
	else if (held == 0 ? seq >= lag_max
			   : held % cap != (seq + 1) % cap || seq + 1 - held > lag_max)
		return true;
	else
		began = later_claimed(box, seq, head, now, ev);
	return began != 0 && now > began && now - began > FBX__EV_GRACE_NS;
}

static void mark_corrupt(fbx_event *e, uint64_t seq)
{
	memset(e, 0, sizeof(*e));
	e->seq = seq;
	e->corrupt = 1;
	e->from = e->to = -1;
}

/* One event: EV_COPIED, EV_SKIP (overwritten by a newer one meanwhile) or
 * EV_NOT_YET (still being written: stop here and come back). */
static int read_event(fbx_box *box, uint64_t seq, uint64_t head, struct evidence *ev,
		      fbx_event *e)
{
	struct fbx__event_slot *s = &box->events[seq % box->cap_events];
	uint64_t w[FBX__EV_WORDS];
	uint64_t s1 = atomic_load_explicit(&s->seq1, memory_order_acquire);
	for (int i = 0; i < FBX__EV_WORDS; i++)
		w[i] = atomic_load_explicit(&s->w[i], memory_order_relaxed);
	uint64_t check = atomic_load_explicit(&s->check, memory_order_relaxed);
	atomic_thread_fence(memory_order_acquire);
	uint64_t s2 = atomic_load_explicit(&s->seq1, memory_order_relaxed);
	if ((s1 & ~FBX__EV_BUSY) > seq + 1 || (s2 & ~FBX__EV_BUSY) > seq + 1)
		return EV_SKIP;
	if (s1 != seq + 1 || s2 != s1) {
		if (!abandoned(box, seq, s2, head, ev))
			return EV_NOT_YET;
		mark_corrupt(e, seq); /* its writer died or stopped midway */
		return EV_COPIED;
	}
	memset(e, 0, sizeof(*e));
	e->seq = seq;
	if (check != fbx__event_check(seq, w)) {
		mark_corrupt(e, seq); /* torn: a stalled writer wrote into it */
		return EV_COPIED;
	}
	e->time_ns = w[0];
	uint32_t kind = w[1] & 0xff, cause = (w[1] >> 8) & 0xff, rtype = (w[1] >> 16) & 0xff;
	uint32_t record = (uint32_t)(w[1] >> 32);
	int32_t from = (int32_t)(uint32_t)w[2], to = (int32_t)(uint32_t)(w[2] >> 32);
	e->pid = (pid_t)(uint32_t)w[3];
	e->uid = (uid_t)(w[3] >> 32);
	for (int i = 0; i < 8; i++)
		for (int k = 0; k < 8; k++) {
			char ch = (char)(w[4 + i] >> (8 * k));
			e->reason[i * 8 + k] = ch == '\0' || (ch >= 0x20 && ch < 0x7f) ? ch : '?';
		}
	e->reason[FBX_REASON_MAX - 1] = '\0';
	bool ok = kind >= FBX_EV_TRANSITION && kind <= FBX_EV_CONFIG && cause < FBX_CAUSE_COUNT &&
		  from >= -1 && from < FBX_BREAKER_STATE_COUNT && to >= -1 &&
		  to < FBX_BREAKER_STATE_COUNT;
	if (ok && rtype == FBX_REC_BREAKER && record < box->cap_breakers)
		ok = copy_name(e->name, box->breakers[record].head.name);
	else if (ok && rtype == FBX_REC_LIMITER && record < box->cap_limiters)
		ok = copy_name(e->name, box->limiters[record].head.name);
	else if (ok && rtype == FBX_REC_BOX && record == 0)
		snprintf(e->name, sizeof(e->name), "%s", box->name);   /* the handle's own */
	else
		ok = false;
	e->kind = (fbx_event_kind)kind;
	e->cause = (fbx_event_cause)cause;
	e->record_type = (fbx_record_type)rtype;
	e->record = record;
	e->from = from;
	e->to = to;
	if (!ok) {
		/* keep seq and time; nothing else of a damaged event */
		uint64_t seq_kept = e->seq, time_kept = e->time_ns;
		memset(e, 0, sizeof(*e));
		e->seq = seq_kept;
		e->time_ns = time_kept;
		e->corrupt = 1;
		e->from = e->to = -1;
	}
	return EV_COPIED;
}

int fbx_events_read(fbx_box *box, uint64_t from_seq, fbx_event *out, size_t cap,
		    size_t *n, uint64_t *next)
{
	if (box == NULL || (out == NULL && cap != 0) || n == NULL || next == NULL)
		return FBX_EINVAL;
	int rc = fbx__box_whole(box);
	if (rc)
		return rc;
	uint64_t head = atomic_load(&box->hdr->event_head);
	uint64_t oldest = head > box->cap_events ? head - box->cap_events : 0;
	uint64_t seq = from_seq < oldest ? oldest : from_seq;
	if (seq > head)
		seq = head; /* asked for the future, or the box was recreated */
	size_t got = 0;
	struct evidence ev = {0, 0};
	for (; seq < head && got < cap; seq++) {
		int r = read_event(box, seq, head, &ev, &out[got]);
		if (r == EV_NOT_YET)
			break;
		got += (size_t)r;
	}
	*n = got;
	*next = seq;
	return 0;
}

int fbx__breaker_read(fbx_box *box, uint32_t i, fbx_breaker_info *out)
{
	int rc = fbx__box_whole(box);
	if (rc)
		return rc;
	read_breaker(box, i, fbx__now_coarse(), out);
	return out->corrupt ? FBX_ECORRUPT : 0;
}

const fbx_event *fbx_snapshot_drain_event(const fbx_snapshot *snap)
{
	const fbx_health *h = snap ? fbx_snapshot_health(snap) : NULL;
	if (h == NULL || !h->draining)
		return NULL;
	size_t n;
	uint64_t dropped, now = fbx_snapshot_time(snap);
	const fbx_event *e = fbx_snapshot_events(snap, &n, &dropped);
	uint64_t began = now > h->drain_age_ns ? now - h->drain_age_ns : 0;
	for (size_t i = n; e != NULL && i-- > 0;) {
		const fbx_event *x = &e[i];
		if (x->corrupt || x->record_type != FBX_REC_BOX)
			continue;
		if (x->cause == FBX_CAUSE_DRAIN_OFF)
			return NULL;
		if (x->cause == FBX_CAUSE_DRAIN_ON)
			return x->time_ns + 1000000000u >= began ? x : NULL;
	}
	return NULL;
}

/* One breaker's record without a snapshot of the box: what a retry loop,
 * a binding's state property or a tool's single-record view needs. */
int fbx_breaker_info_get(fbx_breaker *b, fbx_breaker_info *out)
{
	if (b == NULL || out == NULL)
		return FBX_EINVAL;
	return fbx__breaker_read(b->box, b->index, out);
}

/* Workers, checks and what they add up to, on one reading. */
static void take_health(fbx_box *box, fbx_snapshot *s, uint64_t now_ms)
{
	s->nw = 0;
	for (uint32_t i = 0; i < box->cap_workers; i++)
		s->nw += (size_t)fbx__worker_read(box, i, now_ms, &s->w[s->nw]);
	s->nc = 0;
	for (uint32_t i = 0; i < box->cap_checks; i++)
		s->nc += (size_t)fbx__check_read(box, i, now_ms, &s->c[s->nc]);
	fbx__health_of(s->w, s->nw, s->c, s->nc, atomic_load(&box->hdr->draining),
		       atomic_load(&box->hdr->started), now_ms, &s->health);
}

static bool fits(const fbx_box *box, const fbx_snapshot *s)
{
	return box != NULL && s != NULL && s->cap_b == box->cap_breakers &&
	       s->cap_l == box->cap_limiters && s->cap_e == box->cap_events &&
	       s->cap_w == box->cap_workers && s->cap_c == box->cap_checks &&
	       s->cap_g == box->cap_budgets && s->cap_h == box->cap_bulkheads &&
	       s->cap_k == box->cap_caches;
}

int fbx_snapshot_take_health(fbx_box *box, fbx_snapshot *s)
{
	if (!fits(box, s))
		return FBX_EINVAL;
	int rc = fbx__box_whole(box);
	if (rc)
		return rc;
	uint64_t now = fbx__now_coarse();
	s->time = now;
	take_health(box, s, fbx__ms_since(box, now));
	return 0;
}

int fbx_snapshot_take(fbx_box *box, fbx_snapshot *s)
{
	if (!fits(box, s))
		return FBX_EINVAL;
	int rc = fbx__box_whole(box);
	if (rc)
		return rc;
	/* the coarse clock, as allow() reads it: an open breaker never shows
	 * 0 ms left while it still rejects */
	uint64_t now = fbx__now_coarse();
	s->time = now;
	/* Every slot, not up to the high-water mark: the mark is in the
	 * segment, and one scribbled low would hide live records. */
	s->nb = 0;
	for (uint32_t i = 0; i < box->cap_breakers; i++) {
		uint32_t live = atomic_load_explicit(&box->breakers[i].head.live,
						     memory_order_acquire);
		if (live == FBX__REC_LIVE)
			read_breaker(box, i, now, &s->b[s->nb++]);
		else if (damaged_life(live, box->breakers[i].head.name))
			damaged_breaker(box, i, &s->b[s->nb++]);
	}
	s->nl = 0;
	fbx__keys_count(box, s->keys, box->cap_limiters);
	for (uint32_t i = 0; i < box->cap_limiters; i++) {
		uint32_t live = atomic_load_explicit(&box->limiters[i].head.live,
						     memory_order_acquire);
		if (live == FBX__REC_LIVE)
			read_limiter(box, i, s->keys[i], &s->l[s->nl++]);
		else if (damaged_life(live, box->limiters[i].head.name))
			damaged_limiter(box, i, &s->l[s->nl++]);
	}
	uint64_t now_ms = fbx__ms_since(box, now);
	take_health(box, s, now_ms);
	s->ng = 0;
	for (uint32_t i = 0; i < box->cap_budgets; i++)
		s->ng += (size_t)fbx__budget_read(box, i, now, &s->g[s->ng]);
	s->nh = 0;
	for (uint32_t i = 0; i < box->cap_bulkheads; i++)
		s->nh += (size_t)fbx__bulkhead_read(box, i, &s->h[s->nh]);
	s->nk = 0;
	for (uint32_t i = 0; i < box->cap_caches; i++)
		s->nk += (size_t)fbx__cache_read(box, i, now_ms, &s->k[s->nk]);
	uint64_t next;
	rc = fbx_events_read(box, 0, s->ev, s->cap_e, &s->ne, &next);
	/* everything before the oldest event copied was overwritten */
	s->dropped = s->ne > 0 ? s->ev[0].seq : next;
	return rc;
}

uint64_t fbx_snapshot_time(const fbx_snapshot *s)
{
	return s ? s->time : 0;
}

const fbx_breaker_info *fbx_snapshot_breakers(const fbx_snapshot *s, size_t *n)
{
	if (n != NULL)
		*n = s ? s->nb : 0;
	return s ? s->b : NULL;
}

const fbx_limiter_info *fbx_snapshot_limiters(const fbx_snapshot *s, size_t *n)
{
	if (n != NULL)
		*n = s ? s->nl : 0;
	return s ? s->l : NULL;
}

/* The arrays a snapshot holds beside breakers, limiters and events: each
 * accessor hands out the array and its length. */
#define ACCESSOR(fn, type, count, array)                   \
	const type *fn(const fbx_snapshot *s, size_t *n)   \
	{                                                  \
		if (n != NULL)                             \
			*n = s ? s->count : 0;             \
		return s ? s->array : NULL;                \
	}
ACCESSOR(fbx_snapshot_workers, fbx_worker_info, nw, w)
ACCESSOR(fbx_snapshot_checks, fbx_check_info, nc, c)
ACCESSOR(fbx_snapshot_budgets, fbx_budget_info, ng, g)
ACCESSOR(fbx_snapshot_bulkheads, fbx_bulkhead_info, nh, h)
ACCESSOR(fbx_snapshot_caches, fbx_cache_info, nk, k)
#undef ACCESSOR

const fbx_health *fbx_snapshot_health(const fbx_snapshot *s)
{
	return s ? &s->health : NULL;
}

const fbx_event *fbx_snapshot_events(const fbx_snapshot *s, size_t *n, uint64_t *dropped)
{
	if (n != NULL)
		*n = s ? s->ne : 0;
	if (dropped != NULL)
		*dropped = s ? s->dropped : 0;
	return s ? s->ev : NULL;
}
