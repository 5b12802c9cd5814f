/*
 * limiter_peek.c — what a take would decide, without taking; forgetting a
 * key; starting a limiter over.  None of these is a hot path: they are
 * for readers that must answer "how much is left?" (a limits storage's
 * get_moving_window, RateLimit headers on a request that takes nothing)
 * and for operators.
 */
#include <string.h>

#include "internal.h"
#include "keytable.h"
#include "limiter_algo.h"
#include "limiter_log.h"

static void fill(fbx_limit_result *res, const struct fbx__verdict *v, int allowed, uint64_t now)
{
	res->allowed = allowed;
	res->dry_run_denied = 0;
	res->limit = v->limit;
	res->remaining = v->remaining;
	res->reset_ns = v->reset_ns;
	res->retry_after_ns = allowed ? 0 : v->retry_ns;
	res->now_ns = now;
}

static int peek_log(fbx_limiter *l, const struct fbx__limiter_cfg *c, _Atomic uint64_t *st,
		    struct fbx__reading *at, uint64_t cost, fbx_limit_result *res)
{
	/* a key not in the table: an empty log, whose ring is never read */
	_Atomic uint64_t empty = 0;
	struct fbx__log lg = st == NULL ? (struct fbx__log){&empty, NULL, 0}
			     : l->keyed ? fbx__log_of_key(l->box, st)
					: fbx__log_of_limiter(l->box, l->index);
	uint64_t pad = at->padded ? c->log_tick_ns : 0;
	struct fbx__verdict v;
	for (int round = 0; round < 16; round++) {
		uint64_t h = atomic_load_explicit(lg.head, memory_order_acquire), last;
		struct fbx__log_gap gap;
		int d = fbx__log_decide(c, &lg, h, at->now, pad, at->fresh, cost, &last, &gap, &v);
		if (d == FBX__STALE) {
			fbx__reading_again(at);
			continue;
		}
		if (d == FBX__LOG_HELP) {
			/* writing a dead take's units consumes nothing of ours;
			 * a read-only handle cannot, and cannot tell */
			if (l->box->read_only)
				return FBX_ERDONLY;
			fbx__reading_again(at);
			fbx__log_settle(&lg, h, &gap, at->now + pad);
			continue;
		}
		uint64_t top = FBX__LOG_START(h) + FBX__LOG_PENDING(h);
		uint64_t own = d == FBX__ADMIT ? (at->now + pad > last ? at->now + pad : last) : 0;
		fbx__log_figures(c, &lg, top, at->now, cost, own, &v);
		fill(res, &v, d == FBX__ADMIT, at->now);
		return d == FBX__ADMIT ? 0 : FBX_ELIMITED;
	}
	return FBX_ECORRUPT;
}

static int peek_words(fbx_limiter *l, const struct fbx__limiter_cfg *c, _Atomic uint64_t *st,
		      struct fbx__reading *at, uint64_t cost, fbx_limit_result *res)
{
	struct fbx__verdict v, tight = {0, 0, 0, 0, 0, false}, longest = tight;
	bool denied = false;
	for (uint32_t i = 0; i < c->parsed.n; i++) {
		uint64_t next;
		enum fbx__decision d;
		while ((d = fbx__limit_decide(l, &c->lim[i], atomic_load(&st[i]), at, cost, &next,
					      &v)) == FBX__STALE)
			fbx__reading_again(at);
		if (d == FBX__DENY) {
			if (!denied || v.retry_ns > longest.retry_ns)
				longest = v;
			denied = true;
		} else if (i == 0 || v.remaining < tight.remaining) {
			tight = v;
		}
	}
	fill(res, denied ? &longest : &tight, !denied, at->now);
	return denied ? FBX_ELIMITED : 0;
}

int fbx_limiter_peek(fbx_limiter *l, const void *key, size_t keylen, uint32_t cost,
		     fbx_limit_result *res)
{
	if (l == NULL || res == NULL || cost == 0 ||
	    (l->keyed ? key == NULL || keylen == 0 : keylen != 0))
		return fbx__limit_failed(res, FBX_EINVAL);
	int rc = fbx__box_whole(l->box);
	if (rc)
		return fbx__limit_failed(res, rc);
	uint32_t pin;
	const struct fbx__limiter_cfg *c = fbx__limiter_cfg_pin(l, &pin, &rc);
	if (c == NULL)
		return fbx__limit_failed(res, rc);
	if (l->algorithm == FBX_ALGO_GCRA ? cost > c->burst : cost > c->min_count) {
		fbx__limiter_cfg_unpin(l, pin);
		return fbx__limit_failed(res, FBX_ERANGE);
	}
	uint64_t now = c->coarse_clock ? fbx__now_coarse() : fbx__now();
	struct fbx__reading at = {now,
				  l->algorithm != FBX_ALGO_WINDOW && c->coarse_clock &&
					  !fbx__clock_substituted(),
				  false, c->coarse_clock != 0};
	_Atomic uint64_t *st = l->rec->global_state;
	if (l->keyed) { /* a peek never adds a key */
		uint64_t tag;
		struct fbx__kbucket *bk[2];
		int pos;
		st = fbx__key_find(l, key, keylen, &tag, bk, &pos);
	}
	/* A key not in the table decides as a fresh entry would: state 0. */
	_Atomic uint64_t fresh[FBX_RULE_LIMITS_MAX] = {0};
	if (l->algorithm == FBX_ALGO_LOG)
		rc = peek_log(l, c, st, &at, cost, res);
	else
		rc = peek_words(l, c, st != NULL ? st : fresh, &at, cost, res);
	fbx__limiter_cfg_unpin(l, pin);
	if (rc != 0 && rc != FBX_ELIMITED)
		return fbx__limit_failed(res, rc); /* the log's ERDONLY or ECORRUPT */
	return rc;
}

/* Drops the entry at pos of bk if it still holds tag. */
static bool drop(struct fbx__kbucket *bk[2], int pos, uint64_t tag)
{
	_Atomic uint64_t *t = &bk[pos / FBX__KB_WAYS]->tag[pos % FBX__KB_WAYS];
	return atomic_compare_exchange_strong(t, &tag, 0);
}

/* A global limiter's state from scratch: its words, or its log. */
static void clear_global(fbx_limiter *l)
{
	if (l->algorithm == FBX_ALGO_LOG) {
		struct fbx__log lg = fbx__log_of_limiter(l->box, l->index);
		atomic_store(lg.head, 0);
		fbx__log_clear_ring(&lg);
		return;
	}
	for (int i = 0; i < FBX_RULE_LIMITS_MAX; i++)
		atomic_store(&l->rec->global_state[i], 0);
}

int fbx_limiter_forget(fbx_limiter *l, const void *key, size_t keylen)
{
	if (l == NULL || (l->keyed ? key == NULL || keylen == 0 : keylen != 0))
		return FBX_EINVAL;
	if (l->box->read_only)
		return FBX_ERDONLY;
	int rc = fbx__box_whole(l->box);
	if (rc)
		return rc;
	if (!l->keyed) {
		clear_global(l);
		return 0;
	}
	uint64_t tag;
	struct fbx__kbucket *bk[2];
	int pos;
	if (fbx__key_find(l, key, keylen, &tag, bk, &pos) == NULL)
		return FBX_ENOENT;
	/* The key leaves the table: its next take adds it with a whole
	 * budget (a take racing this one may land in the freed entry: a
	 * little budget use inherited, as keytable.c explains). */
	drop(bk, pos, tag);
	return 0;
}

static void drop_tags_of(struct fbx__kbucket *table, uint64_t buckets, uint32_t index)
{
	for (uint64_t b = 0; b < buckets; b++)
		for (int i = 0; i < FBX__KB_WAYS; i++) {
			uint64_t t = atomic_load(&table[b].tag[i]);
			if (t != 0 && (uint32_t)(t >> FBX__TAG_LIM_SHIFT) == index + 1)
				atomic_compare_exchange_strong(&table[b].tag[i], &t, 0);
		}
}

int fbx_limiter_reset(fbx_limiter *l, const char *reason)
{
	if (l == NULL)
		return FBX_EINVAL;
	if (l->box->read_only)
		return FBX_ERDONLY;
	int rc = fbx__box_whole(l->box);
	if (rc)
		return rc;
	fbx_box *box = l->box;
	if (l->keyed) {
		if (l->algorithm == FBX_ALGO_LOG)
			drop_tags_of(box->log_keys, box->log_key_buckets, l->index);
		else
			drop_tags_of(box->keys, box->key_buckets, l->index);
	} else {
		clear_global(l);
	}
	fbx__event_emit(box, FBX_EV_MANUAL, FBX_CAUSE_RESET, FBX_REC_LIMITER, l->index, -1, -1,
			reason);
	return 0;
}
