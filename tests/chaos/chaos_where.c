/*
 * chaos_where.c — an offset of the box's mapping in words.
 *
 * A scribble is only worth reporting if a reader of the report can tell
 * what it hit: "breaker[2].state+3" says which record, which field and
 * which byte of it, and is what a reproducer writes again.  The layout is
 * the library's (lib/internal.h), read with offsetof so that a change of
 * layout changes the names with it.  A worker's call is put in words here
 * too, with the record it is about.
 */
#include <stdio.h>
#include <string.h>

#include "chaos_scribble.h"
#include "internal.h"

struct field {
	const char *name;
	size_t off, size;
	unsigned n;       /* > 1: an array of n elements of size bytes each */
};

#define F(type, member) {#member, offsetof(type, member), sizeof(((type *)0)->member), 1}
#define FA(type, member, count)                                                               \
	{#member, offsetof(type, member), sizeof(((type *)0)->member[0]), count}

static const struct field header_fields[] = {
	F(struct fbx__header, magic), F(struct fbx__header, layout_version),
	F(struct fbx__header, header_size), F(struct fbx__header, fingerprint),
	F(struct fbx__header, total_size), F(struct fbx__header, cap_breakers),
	F(struct fbx__header, cap_limiters), F(struct fbx__header, cap_keys),
	F(struct fbx__header, cap_events), F(struct fbx__header, cap_workers),
	F(struct fbx__header, cap_checks), F(struct fbx__header, key_buckets),
	F(struct fbx__header, mode), F(struct fbx__header, group),
	F(struct fbx__header, creator_pid), F(struct fbx__header, creator_start),
	F(struct fbx__header, created_ns), FA(struct fbx__header, secret, 2),
	F(struct fbx__header, off_breakers), F(struct fbx__header, off_rings),
	F(struct fbx__header, off_limiters), F(struct fbx__header, off_keys),
	F(struct fbx__header, off_events), F(struct fbx__header, off_workers),
	F(struct fbx__header, off_shards), F(struct fbx__header, off_checks),
	F(struct fbx__header, shard_stride), F(struct fbx__header, name),
	F(struct fbx__header, ready), F(struct fbx__header, registry),
	F(struct fbx__header, n_breakers), F(struct fbx__header, n_limiters),
	F(struct fbx__header, shards_hwm), F(struct fbx__header, event_head),
};

static const struct field breaker_fields[] = {
	F(struct fbx__breaker_rec, head.live), F(struct fbx__breaker_rec, head.index),
	F(struct fbx__breaker_rec, head.name), F(struct fbx__breaker_rec, cfg.fail_max),
	F(struct fbx__breaker_rec, cfg.failure_rate_pct),
	F(struct fbx__breaker_rec, cfg.slow_rate_pct), F(struct fbx__breaker_rec, cfg.slow_call_ns),
	F(struct fbx__breaker_rec, cfg.window_calls), F(struct fbx__breaker_rec, cfg.window_ns),
	F(struct fbx__breaker_rec, cfg.min_calls), F(struct fbx__breaker_rec, cfg.reset_timeout_ns),
	F(struct fbx__breaker_rec, cfg.reset_timeout_max_ns),
	F(struct fbx__breaker_rec, cfg.half_open_max),
	F(struct fbx__breaker_rec, cfg.success_threshold),
	F(struct fbx__breaker_rec, cfg.trial_lease_ns), F(struct fbx__breaker_rec, state),
	F(struct fbx__breaker_rec, consec), F(struct fbx__breaker_rec, ho_succ),
	F(struct fbx__breaker_rec, trips), F(struct fbx__breaker_rec, win_floor),
	F(struct fbx__breaker_rec, ring_seq), F(struct fbx__breaker_rec, last_bad),
	F(struct fbx__breaker_rec, eval_bucket), F(struct fbx__breaker_rec, short_by),
	FA(struct fbx__breaker_rec, lease, FBX_HALF_OPEN_MAX), F(struct fbx__breaker_rec, since_ms),
	FA(struct fbx__breaker_rec, manual, FBX__MANUAL_N), F(struct fbx__breaker_rec, op_who),
	F(struct fbx__breaker_rec, op_when_ms), F(struct fbx__breaker_rec, op_cause),
	FA(struct fbx__breaker_rec, op_reason, FBX_REASON_MAX / 8), F(struct fbx__breaker_rec, op_check),
};

static const struct field limiter_fields[] = {
	F(struct fbx__limiter_rec, head.live), F(struct fbx__limiter_rec, head.index),
	F(struct fbx__limiter_rec, head.name), F(struct fbx__limiter_rec, algorithm),
	F(struct fbx__limiter_rec, keyed), F(struct fbx__limiter_rec, cfg_active),
	F(struct fbx__limiter_rec, dry_run), F(struct fbx__limiter_rec, keys_unused),
	F(struct fbx__limiter_rec, evictions), FA(struct fbx__limiter_rec, cfg, 2),
	FA(struct fbx__limiter_rec, global_state, FBX_RULE_LIMITS_MAX),
	FA(struct fbx__limiter_rec, top, FBX_TOP_KEYS),
};

static const struct field cfg_fields[] = {
	F(struct fbx__limiter_cfg, rule), F(struct fbx__limiter_cfg, parsed.n),
	F(struct fbx__limiter_cfg, parsed.limit[0].count),
	F(struct fbx__limiter_cfg, parsed.limit[0].period_ns),
	F(struct fbx__limiter_cfg, parsed.limit[1].count),
	F(struct fbx__limiter_cfg, parsed.limit[1].period_ns),
	F(struct fbx__limiter_cfg, parsed.limit[2].count),
	F(struct fbx__limiter_cfg, parsed.limit[2].period_ns),
	FA(struct fbx__limiter_cfg, lim, FBX_RULE_LIMITS_MAX), F(struct fbx__limiter_cfg, min_count),
	F(struct fbx__limiter_cfg, burst), F(struct fbx__limiter_cfg, coarse_clock),
	F(struct fbx__limiter_cfg, fast_add), F(struct fbx__limiter_cfg, log_tick_ns),
};

static const struct field limit_fields[] = {
	F(struct fbx__limit, count), F(struct fbx__limit, period_ns),
	F(struct fbx__limit, inv_period), F(struct fbx__limit, gcra_t),
	F(struct fbx__limit, gcra_tau), F(struct fbx__limit, inv_t), F(struct fbx__limit, pad_t),
	F(struct fbx__limit, pad_tau), F(struct fbx__limit, pad_inv_t),
};

static const struct field top_fields[] = {
	F(struct fbx__topkey, tag), F(struct fbx__topkey, denials),
	FA(struct fbx__topkey, text, FBX__TOP_WORDS),
};

static const struct field event_fields[] = {
	F(struct fbx__event_slot, seq1), FA(struct fbx__event_slot, w, FBX__EV_WORDS),
	F(struct fbx__event_slot, started), F(struct fbx__event_slot, check),
	F(struct fbx__event_slot, pad),
};

static const struct field worker_fields[] = {
	F(struct fbx__worker, owner), FA(struct fbx__worker, reserved, 15),
};

static const struct field kbucket_fields[] = {
	FA(struct fbx__kbucket, tag, FBX__KB_WAYS), FA(struct fbx__kbucket, st, FBX__KB_WAYS),
};

static const struct field bshard_fields[] = {
	FA(struct fbx__breaker_shard, ctr, FBX__C_N),
	FA(struct fbx__breaker_shard, bucket, FBX_WINDOW_BUCKETS),
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Appends to buf the field of fs holding byte off: "name[i]+k". */
static void name_field(const struct field *fs, size_t nf, size_t off, char *buf, size_t len)
{
	size_t used = strlen(buf);
	for (size_t i = 0; i < nf; i++) {
		const struct field *f = &fs[i];
		if (off < f->off || off >= f->off + f->size * f->n)
			continue;
		size_t rel = off - f->off;
		if (f->n > 1) {
			size_t k = rel / f->size;
			rel %= f->size;
			/* the elements of these arrays are structures: name inside */
			const struct field *sub = NULL;
			size_t nsub = 0;
			if (fs == limiter_fields && strcmp(f->name, "cfg") == 0)
				sub = cfg_fields, nsub = COUNT(cfg_fields);
			else if (fs == cfg_fields && strcmp(f->name, "lim") == 0)
				sub = limit_fields, nsub = COUNT(limit_fields);
			else if (fs == limiter_fields && strcmp(f->name, "top") == 0)
				sub = top_fields, nsub = COUNT(top_fields);
			snprintf(buf + used, len - used, ".%s[%zu]", f->name, k);
			if (sub != NULL) {
				name_field(sub, nsub, rel, buf, len);
				return;
			}
		} else {
			snprintf(buf + used, len - used, ".%s", f->name);
		}
		used = strlen(buf);
		if (rel != 0)
			snprintf(buf + used, len - used, "+%zu", rel);
		return;
	}
	snprintf(buf + used, len - used, " (padding +%zu)", off);
}

static uint64_t region_off(const fbx_box *box, const void *p)
{
	return (uint64_t)((const uint8_t *)p - box->base);
}

/* Where the regions of box start, from the mapping's base. */
struct layout {
	uint64_t b, rng, l, k, e, w, s;
};

static struct layout layout_of(const fbx_box *box)
{
	return (struct layout){region_off(box, box->breakers), region_off(box, box->rings),
			       region_off(box, box->limiters), region_off(box, box->keys),
			       region_off(box, box->events), region_off(box, box->workers),
			       region_off(box, box->shards)};
}

enum chaos_area chaos_locate(const fbx_box *box, uint64_t off, uint32_t *index)
{
	struct layout o = layout_of(box);
	size_t bsz = sizeof(struct fbx__breaker_rec), lsz = sizeof(struct fbx__limiter_rec);
	uint64_t ring = (uint64_t)FBX_WINDOW_CALLS_MAX * sizeof(fbx__ring_slot);
	*index = 0;
	if (off < sizeof(struct fbx__header))
		return off >= offsetof(struct fbx__header, n_breakers) ? RG_HEADER : RG_HEADER_FIXED;
	if (off >= o.b && off < o.b + (uint64_t)box->cap_breakers * bsz) {
		*index = (uint32_t)((off - o.b) / bsz);
		return RG_BREAKER;
	}
	if (off >= o.rng && off < o.rng + (uint64_t)box->cap_breakers * ring) {
		*index = (uint32_t)((off - o.rng) / ring);
		return RG_RING;
	}
	if (off >= o.l && off < o.l + (uint64_t)box->cap_limiters * lsz) {
		*index = (uint32_t)((off - o.l) / lsz);
		return RG_LIMITER;
	}
	if (off >= o.k && off < o.k + (uint64_t)box->key_buckets * sizeof(struct fbx__kbucket)) {
		*index = (uint32_t)((off - o.k) / sizeof(struct fbx__kbucket));
		return RG_KEYS;
	}
	if (off >= o.e && off < o.e + (uint64_t)box->cap_events * sizeof(struct fbx__event_slot)) {
		*index = (uint32_t)((off - o.e) / sizeof(struct fbx__event_slot));
		return RG_EVENTS;
	}
	if (off >= o.w && off < o.w + (uint64_t)box->cap_workers * sizeof(struct fbx__worker)) {
		*index = (uint32_t)((off - o.w) / sizeof(struct fbx__worker));
		return RG_WORKERS;
	}
	if (off >= o.s && off < o.s + box->shard_stride * ((uint64_t)box->cap_workers + 1)) {
		*index = (uint32_t)((off - o.s) / box->shard_stride);
		return RG_SHARDS;
	}
	return RG_OTHER;
}

void chaos_where(const fbx_box *box, uint64_t off, struct chaos_where *w)
{
	memset(w, 0, sizeof(*w));
	struct layout o = layout_of(box);
	w->region = chaos_locate(box, off, &w->index);
	char *f = w->field;
	size_t n = sizeof(w->field);
	switch (w->region) {
	case RG_HEADER:
	case RG_HEADER_FIXED:
		snprintf(f, n, "header");
		name_field(header_fields, COUNT(header_fields), off, f, n);
		break;
	case RG_BREAKER:
		snprintf(f, n, "breaker[%u]", w->index);
		name_field(breaker_fields, COUNT(breaker_fields),
			   (off - o.b) % sizeof(struct fbx__breaker_rec), f, n);
		break;
	case RG_RING:
		snprintf(f, n, "count window of breaker[%u], slot %llu", w->index,
			 (unsigned long long)((off - o.rng) / sizeof(fbx__ring_slot) %
					      FBX_WINDOW_CALLS_MAX));
		break;
	case RG_LIMITER:
		snprintf(f, n, "limiter[%u]", w->index);
		name_field(limiter_fields, COUNT(limiter_fields),
			   (off - o.l) % sizeof(struct fbx__limiter_rec), f, n);
		break;
	case RG_KEYS:
		snprintf(f, n, "key bucket[%u]", w->index);
		name_field(kbucket_fields, COUNT(kbucket_fields),
			   (off - o.k) % sizeof(struct fbx__kbucket), f, n);
		break;
	case RG_EVENTS:
		snprintf(f, n, "event slot[%u]", w->index);
		name_field(event_fields, COUNT(event_fields),
			   (off - o.e) % sizeof(struct fbx__event_slot), f, n);
		break;
	case RG_WORKERS:
		snprintf(f, n, "worker[%u]", w->index);
		name_field(worker_fields, COUNT(worker_fields), (off - o.w) % sizeof(struct fbx__worker),
			   f, n);
		break;
	case RG_SHARDS: {
		uint64_t rel = (off - o.s) % box->shard_stride;
		uint64_t bpart = (uint64_t)box->cap_breakers * sizeof(struct fbx__breaker_shard);
		if (rel < bpart) {
			snprintf(f, n, "shard[%u].breaker[%llu]", w->index,
				 (unsigned long long)(rel / sizeof(struct fbx__breaker_shard)));
			name_field(bshard_fields, COUNT(bshard_fields),
				   rel % sizeof(struct fbx__breaker_shard), f, n);
		} else {
			rel -= bpart;
			snprintf(f, n, "shard[%u].limiter[%llu].ctr+%llu", w->index,
				 (unsigned long long)(rel / sizeof(struct fbx__limiter_shard)),
				 (unsigned long long)(rel % sizeof(struct fbx__limiter_shard)));
		}
		break;
	}
	default:
		snprintf(f, n, "between regions or past them");
		break;
	}
}

const char *chaos_area_name(unsigned r)
{
	static const char *names[RG_N] = {"header counters", "header (fixed part)",
					  "breaker records", "count windows", "limiter records",
					  "key table", "event ring", "worker slots",
					  "counter shards", "elsewhere"};
	return r < RG_N ? names[r] : "?";
}

static void hex(const uint8_t *b, unsigned n, char *out, size_t len)
{
	size_t used = 0;
	out[0] = '\0';
	for (unsigned i = 0; i < n && used + 4 < len; i++)
		used += (size_t)snprintf(out + used, len - used, "%s%02x", i ? " " : "", b[i]);
}

void chaos_scrib_text(const fbx_box *box, const struct chaos_scrib *s, char *buf, size_t len)
{
	struct chaos_where w;
	char was[64], now[64];
	chaos_where(box, s->off, &w);
	unsigned n = s->len <= CHAOS_SCRIB_MAX ? s->len : CHAOS_SCRIB_MAX;
	hex(s->old, n, was, sizeof(was));
	hex(s->now, n, now, sizeof(now));
	snprintf(buf, len, "offset 0x%llx (%s), %u byte%s: %s -> %s", (unsigned long long)s->off,
		 w.field, n, n == 1 ? "" : "s", was, now);
}

/* Whether scribble s wrote any byte of the record (region, index). */
static bool hits(const fbx_box *box, const struct chaos_scrib *s, enum chaos_area region,
		 uint32_t index)
{
	for (unsigned k = 0; k < s->len; k++) {
		uint32_t i;
		if (chaos_locate(box, s->off + k, &i) == region && i == index)
			return true;
	}
	return false;
}

void chaos_scrib_recent(const struct chaos_run *run, const char *inv, uint64_t t,
			enum chaos_area region, uint32_t index)
{
	const struct chaos_shared *sh = run->shared;
	uint64_t n = atomic_load_explicit(&sh->nscrib, memory_order_acquire);
	uint64_t end = n;
	while (end > 0 && sh->scrib[end - 1].t > t)
		end--;
	char text[256];
	unsigned shown = 0;
	for (uint64_t i = end; i > 0 && shown < 4; i--, shown++) {
		chaos_scrib_text(run->box, &sh->scrib[i - 1], text, sizeof(text));
		chaos_detail(inv, "scribble #%llu at +%.3f s: %s", (unsigned long long)(i - 1),
			     chaos_rel(run, sh->scrib[i - 1].t), text);
	}
	if (region == RG_N)
		return;
	shown = 0;
	for (uint64_t i = end; i > 0 && shown < 6; i--) {
		const struct chaos_scrib *s = &sh->scrib[i - 1];
		if (!hits(run->box, s, region, index))
			continue;
		chaos_scrib_text(run->box, s, text, sizeof(text));
		chaos_detail(inv, "on %s, scribble #%llu at +%.3f s: %s",
			     region == RG_HEADER ? "the header's counters" : "that record",
			     (unsigned long long)(i - 1), chaos_rel(run, s->t), text);
		shown++;
	}
}

void chaos_call_describe(const struct chaos_run *run, const struct chaos_rec *r, char *buf,
			 size_t len, enum chaos_area *region, uint32_t *index)
{
	const char *obj = "";
	*region = RG_HEADER; /* a call on no record reads the header's counters first */
	*index = 0;
	if ((r->op == OP_ALLOW || r->op == OP_DONE) && r->obj < CHAOS_BREAKERS) {
		obj = chaos_breakers[r->obj].name;
		*region = RG_BREAKER;
		*index = run->br[r->obj]->index;
	} else if (r->op == OP_TAKE && r->obj < CHAOS_LIMITERS) {
		obj = chaos_limiters[r->obj].name;
		*region = RG_LIMITER;
		*index = run->lim[r->obj]->index;
	}
	if (r->op == OP_TAKE)
		snprintf(buf, len, "in take %s (key id %u, cost %u)", obj, r->arg32, r->arg);
	else if (r->op == OP_DONE)
		snprintf(buf, len, "in done %s (%s)", obj, chaos_outcome_name(r->arg));
	else if (r->op == OP_REGISTER)
		snprintf(buf, len, "in %s of %s %u", (r->flags & RF_FIND) ? "find" : "register",
			 (r->flags & RF_LIMITER) ? "limiter" : "breaker", r->obj);
	else
		snprintf(buf, len, "in %s%s%s", chaos_op_name(r->op), obj[0] ? " " : "", obj);
}
