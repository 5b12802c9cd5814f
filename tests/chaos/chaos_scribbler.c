/*
 * chaos_scribbler.c — a writer who scribbles random bytes on the live box.
 *
 * The threat model (docs/SECURITY.md) lets anyone with write access write
 * anything anywhere in the segment, short of truncating it.  Uniformly
 * random offsets would mostly hit counters and empty key buckets, so the
 * scribbler aims: at the words the library decides on or reads back —
 * breaker state words, configurations, names and leases; limiter rules
 * (text, parsed figures, precomputed divisors), the word saying which copy
 * is in force, key state, top keys; the header's counters; key tags and
 * state; events near the head of the ring; worker slots and shards — and,
 * now and then, anywhere.  What it writes is random bytes, a bit flip,
 * zeros, ones, a small number (a count or an enum just out of range is
 * where checks get off by one), or printable text on names and rules (a
 * quote or a backslash in a name must reach JSON and metrics escaped).
 *
 * Every scribble is logged (offset, bytes before and after, time) for the
 * validator and for reproducers.  The choices come from the --seed; only
 * the event slot near the head and the key bucket that holds a key depend
 * on the box as it is at that moment.
 *
 * Some damage is lasting: the header's fixed part (magic, capacities,
 * offsets: no new process can open the box), its record counts and the
 * records' live words (records vanish from every reader), an event head
 * sent far ahead by random bytes (the ring reads as corrupt for good).
 * Early, it would leave the rest of the run testing one refusal or an
 * empty view, so it comes only in the last tenth of the run, LASTING_MAX
 * times at most; before that the event head only gets bit flips in its
 * low bytes (off by up to 2^23), and the header's counters are left alone
 * in the first half (see choose()).
 */
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "chaos_scribble.h"
#include "internal.h"

#define START_DELAY_NS (100 * CHAOS_MS)
#define LASTING_MAX 4
/* Breakers and limiters the run registers: the box's first records. */
#define LIVE_BREAKERS (CHAOS_BREAKERS + CHAOS_EXTRAS)
#define LIVE_LIMITERS (CHAOS_LIMITERS + CHAOS_EXTRAS)

struct target {
	uint64_t off;  /* of the field */
	size_t size;   /* of the field: the scribble starts inside it */
	bool text;     /* a name or a rule: printable text is worth writing */
	uint64_t end;  /* it may run on up to here (0: the mapping's end) */
	bool lasting;  /* hides records from readers for good (see choose()) */
	/* A count or a clock: mostly bit flips, which move it by 2^k and keep
	 * it plausible far more often than random bytes do; flip_bytes > 0
	 * keeps them to its low bytes (a count off by up to 2^(8n - 1)). */
	bool flip, flip_only;
	unsigned flip_bytes;
};

struct scribbler {
	struct chaos_run *run;
	struct chaos_shared *sh;
	fbx_box *box;
	uint64_t rng;
	uint64_t t0, t_end;
	unsigned lasting;  /* lasting scribbles left (see choose()) */
};

static uint64_t rnd(struct scribbler *s, uint64_t n)
{
	return chaos_rand(&s->rng, n);
}

/* One of n weights, chosen in proportion. */
static unsigned weighted(struct scribbler *s, const unsigned *w, unsigned n)
{
	unsigned total = 0;
	for (unsigned i = 0; i < n; i++)
		total += w[i];
	uint64_t r = rnd(s, total);
	for (unsigned i = 0; i < n; i++) {
		if (r < w[i])
			return i;
		r -= w[i];
	}
	return n - 1;
}

static uint64_t base_off(const struct scribbler *s, const void *p)
{
	return (uint64_t)((const uint8_t *)p - s->box->base);
}

static struct target lasting(struct target t)
{
	t.lasting = true;
	return t;
}

static struct target flippable(struct target t, unsigned low_bytes)
{
	t.flip = true;
	t.flip_bytes = low_bytes;
	return t;
}

static struct target field(const struct scribbler *s, const void *p, size_t size, bool text)
{
	return (struct target){base_off(s, p), size, text, 0, false, false, false, 0};
}

/* A field of a record: a scribble may run on past the field, not into the
 * next record (whose live word it could hit: see record_anywhere). */
static struct target in_record(const struct scribbler *s, struct target t, const void *rec,
			       size_t rec_size)
{
	t.end = base_off(s, rec) + rec_size;
	return t;
}

/* A record's bytes, but for its live word until late: a live word that is
 * no longer LIVE takes the record out of every reader's view for good. */
static struct target record_anywhere(struct scribbler *s, const void *rec, size_t size,
				     bool late)
{
	size_t skip = late ? 0 : sizeof(_Atomic uint32_t);
	return field(s, (const uint8_t *)rec + skip, size - skip, false);
}

static struct target breaker_field(struct scribbler *s, struct fbx__breaker_rec *r, bool late)
{
	const unsigned w[] = {30, 15, 15, 12, 13, late ? 10 : 0, 10};
	switch (weighted(s, w, sizeof(w) / sizeof(w[0]))) {
	case 0: return flippable(field(s, &r->state, sizeof(r->state), false), 0);
	case 1: return field(s, &r->cfg, sizeof(r->cfg), false);
	case 2: return field(s, r->head.name, sizeof(r->head.name), true);
	case 3: return field(s, &r->lease[rnd(s, 4)], sizeof(r->lease[0]), false);
	case 4: {
		_Atomic uint64_t *words[] = {&r->consec, &r->ho_succ, &r->trips, &r->win_floor,
					     &r->ring_seq};
		return field(s, words[rnd(s, 5)], 8, false);
	}
	case 5: return lasting(field(s, &r->head, offsetof(struct fbx__rec_head, name), false));
	default: return record_anywhere(s, r, sizeof(*r), late);
	}
}

static struct target limiter_field(struct scribbler *s, struct fbx__limiter_rec *r, bool late)
{
	/* the copy in force is the one readers and refreshes read */
	struct fbx__limiter_cfg *in = &r->cfg[atomic_load(&r->cfg_active) & 1];
	struct fbx__limiter_cfg *other = &r->cfg[(atomic_load(&r->cfg_active) & 1) ^ 1];
	const unsigned w[] = {5, 12, 10, 15, 8, 5, 10, 5, 10, 10, 4, late ? 10 : 0, 3};
	switch (weighted(s, w, sizeof(w) / sizeof(w[0]))) {
	case 0: return field(s, &r->cfg_active, sizeof(r->cfg_active), false);
	case 1: return field(s, in->rule, sizeof(in->rule), true);
	case 2: return field(s, &in->parsed, sizeof(in->parsed), false);
	case 3: return field(s, &in->lim[rnd(s, FBX_RULE_LIMITS_MAX)], sizeof(in->lim[0]), false);
	case 4: return field(s, &in->min_count, sizeof(*in) - offsetof(struct fbx__limiter_cfg,
								       min_count), false);
	case 5: return field(s, other, sizeof(*other), false);
	case 6: return field(s, r->head.name, sizeof(r->head.name), true);
	case 7: return field(s, &r->algorithm, 2 * sizeof(uint32_t), false);
	case 8: return field(s, &r->global_state[rnd(s, FBX_RULE_LIMITS_MAX)], 8, false);
	case 9: return field(s, &r->top[rnd(s, FBX_TOP_KEYS)], sizeof(r->top[0]), false);
	case 10: return field(s, &r->dry_run, offsetof(struct fbx__limiter_rec, cfg) -
						   offsetof(struct fbx__limiter_rec, dry_run), false);
	case 11: return lasting(field(s, &r->head, offsetof(struct fbx__rec_head, name), false));
	default: return record_anywhere(s, r, sizeof(*r), late);
	}
}

/* A record index: mostly the records the run registers, now and then any;
 * never the control record (CHAOS_CONTROL_*), which must read whole after
 * the run, so that a reader flagging sound records would show. */
static uint32_t record_index(struct scribbler *s, uint32_t live, uint32_t cap, uint32_t control)
{
	uint32_t i = (uint32_t)(rnd(s, 5) ? rnd(s, live) : rnd(s, cap));
	if (i >= cap)
		i = 0;
	return i == control ? (i + 1) % cap : i;
}

static struct target breaker_target(struct scribbler *s, bool late)
{
	uint32_t i = record_index(s, LIVE_BREAKERS, s->box->cap_breakers, CHAOS_CONTROL_BREAKER);
	struct fbx__breaker_rec *r = &s->box->breakers[i];
	return in_record(s, breaker_field(s, r, late), r, sizeof(*r));
}

static struct target limiter_target(struct scribbler *s, bool late)
{
	uint32_t i = record_index(s, LIVE_LIMITERS, s->box->cap_limiters, CHAOS_CONTROL_LIMITER);
	struct fbx__limiter_rec *r = &s->box->limiters[i];
	return in_record(s, limiter_field(s, r, late), r, sizeof(*r));
}

/* late: the last tenth of the run, when lasting damage may come */
static struct target header_target(struct scribbler *s, bool late)
{
	struct fbx__header *h = s->box->hdr;
	if (late && rnd(s, 10) == 0)
		return lasting(field(s, h, offsetof(struct fbx__header, ready), false));
	const unsigned w[] = {late ? 25 : 0, late ? 25 : 0, 20, 30};
	switch (weighted(s, w, 4)) {
	case 0: return lasting(field(s, &h->n_breakers, sizeof(h->n_breakers), false));
	case 1: return lasting(field(s, &h->n_limiters, sizeof(h->n_limiters), false));
	case 2: return flippable(field(s, &h->shards_hwm, sizeof(h->shards_hwm), false), 1);
	default: {
		/* random bytes send the head past any reading, which drowns the
		 * ring in corrupt events for good: lasting damage, kept late */
		struct target t = flippable(field(s, &h->event_head, 8, false), 3);
		t.flip_only = !late;
		return late ? lasting(t) : t;
	}
	}
}

static struct target key_target(struct scribbler *s)
{
	const fbx_box *box = s->box;
	struct fbx__kbucket *b = &box->keys[rnd(s, box->key_buckets)];
	/* a bucket that holds keys: an empty one is mostly left alone */
	for (int tries = 0; tries < 4 && atomic_load(&b->tag[0]) == 0; tries++)
		b = &box->keys[rnd(s, box->key_buckets)];
	unsigned way = (unsigned)rnd(s, FBX__KB_WAYS);
	if (rnd(s, 2))
		return field(s, &b->tag[way], 8, false);
	return field(s, &b->st[way][rnd(s, FBX_RULE_LIMITS_MAX)], 8, false);
}

static struct target event_target(struct scribbler *s)
{
	const fbx_box *box = s->box;
	uint64_t head = atomic_load(&box->hdr->event_head), seq;
	/* near the head: what followers are reading and writers claiming */
	if (head > 0 && head < (1ull << 40) && rnd(s, 10) < 7)
		seq = head - 1 - rnd(s, head < 512 ? head : 512);
	else
		seq = rnd(s, box->cap_events);
	struct fbx__event_slot *e = &box->events[seq % box->cap_events];
	static const unsigned w[] = {30, 40, 15, 15};
	switch (weighted(s, w, 4)) {
	case 0: return field(s, &e->seq1, 8, false);
	case 1: return field(s, &e->w[rnd(s, FBX__EV_WORDS)], 8, false);
	case 2: return field(s, &e->check, 8, false);
	default: return field(s, &e->started, 8, false);
	}
}

static struct target other_target(struct scribbler *s, unsigned kind)
{
	fbx_box *box = s->box;
	switch (kind) {
	case 0:
		return field(s, &box->workers[rnd(s, box->cap_workers)].owner, 8, false);
	case 1: {
		uint64_t shard = rnd(s, (uint64_t)box->cap_workers + 1);
		uint8_t *p = box->shards + box->shard_stride * shard;
		uint64_t used = (uint64_t)box->cap_breakers * sizeof(struct fbx__breaker_shard) +
				(uint64_t)box->cap_limiters * sizeof(struct fbx__limiter_shard);
		return field(s, p, used, false);
	}
	case 2: /* the count window of rate-count (chaos_spec.c: window_calls 20) */
		return field(s, box->rings + 2 * FBX_WINDOW_CALLS_MAX + rnd(s, 32), 4, false);
	default:
		return (struct target){rnd(s, box->size), 1, false, 0, false, false, false, 0};
	}
}

static struct target choose(struct scribbler *s, uint64_t now)
{
	uint64_t span = s->t_end - s->t0;
	bool second_half = now >= s->t0 + span / 2;
	bool late = now >= s->t_end - span / 10 && s->lasting > 0;
	/* the header's counters only in the second half; lasting damage
	 * (the targets marked lasting()) only when late: in the last tenth,
	 * LASTING_MAX times at most (see the top of this file) */
	const unsigned w[] = {25, 25, second_half ? 3 : 0, 15, 10, 5, 5, 3, 2};
	unsigned k = weighted(s, w, sizeof(w) / sizeof(w[0]));
	switch (k) {
	case 0: return breaker_target(s, late);
	case 1: return limiter_target(s, late);
	case 2: return header_target(s, late);
	case 3: return key_target(s);
	case 4: return event_target(s);
	default: return other_target(s, k - 5);
	}
}

/* Bytes a name or a rule may be made of, and some it must survive. */
static const char text_bytes[] = "abcxyz019/;,| \"\\{}[]:%'<>=.-_persecondminutehourday";

static uint64_t small_value(struct scribbler *s)
{
	static const uint64_t v[] = {0, 1, 2, 3, 4, 5, 6, 7, 15, 16, 17, 63, 64, 127, 128, 255, 256,
				     511, 512, 513, 1000, 65535, 65536, 1000000, 1000000000,
				     0x7fffffff, 0x80000000ull, 0xffffffffull, 1ull << 40,
				     1ull << 53, 1ull << 63, UINT64_MAX};
	return rnd(s, 3) ? v[rnd(s, sizeof(v) / sizeof(v[0]))] : rnd(s, 100);
}

/* Fills sc (offset, length, new bytes) for target t. */
static void compose(struct scribbler *s, const struct target *t, struct chaos_scrib *sc)
{
	uint64_t start = t->off + rnd(s, t->size ? t->size : 1);
	unsigned len = (unsigned)(rnd(s, 4) == 0 ? 1 : rnd(s, 3) == 0 ? 8 : 1 + rnd(s, 16));
	if (t->text && rnd(s, 10) < 6) {
		sc->mode = SM_TEXT;
		len = (unsigned)(1 + rnd(s, 8));
		for (unsigned k = 0; k < len; k++)
			sc->now[k] = (uint8_t)text_bytes[rnd(s, sizeof(text_bytes) - 1)];
	} else {
		static const unsigned w[SM_TEXT] = {40, 20, 10, 8, 22};
		sc->mode = (uint8_t)(t->flip && (t->flip_only || rnd(s, 4)) ? SM_FLIP
									  : weighted(s, w, SM_TEXT));
		if (sc->mode == SM_FLIP) {
			len = 1;
			if (t->flip_bytes != 0)
				start = t->off + rnd(s, t->flip_bytes);
		} else if (sc->mode == SM_SMALL || len == 8) {
			start &= ~7ull; /* a word, where words are */
		}
		uint64_t v = small_value(s);
		for (unsigned k = 0; k < len; k++) {
			switch (sc->mode) {
			case SM_RANDOM: sc->now[k] = (uint8_t)rnd(s, 256); break;
			case SM_ZERO: sc->now[k] = 0; break;
			case SM_ONES: sc->now[k] = 0xff; break;
			case SM_SMALL: sc->now[k] = k < 8 ? (uint8_t)(v >> (8 * k)) : 0; break;
			default: sc->now[k] = (uint8_t)(1u << rnd(s, 8)); break; /* xor mask */
			}
		}
	}
	uint64_t end = t->end && t->end < s->box->size ? t->end : s->box->size;
	if (start >= end)
		start = end - 1;
	if (start + len > end)
		len = (unsigned)(end - start); /* never past the end: no truncation */
	sc->off = start;
	sc->len = (uint8_t)len;
}

static void scribble(struct scribbler *s, uint64_t now)
{
	struct chaos_shared *sh = s->sh;
	uint64_t i = atomic_load_explicit(&sh->nscrib, memory_order_relaxed);
	if (i >= sh->scrib_cap)
		return;
	struct chaos_scrib *sc = &sh->scrib[i];
	memset(sc, 0, sizeof(*sc));
	struct target t = choose(s, now);
	compose(s, &t, sc);
	s->lasting -= t.lasting && s->lasting > 0;
	/* plain bytes, as a hostile writer would write them: not atomics, and
	 * torn as far as the library's readers can tell */
	volatile uint8_t *p = s->box->base + sc->off;
	for (unsigned k = 0; k < sc->len; k++) {
		sc->old[k] = p[k];
		if (sc->mode == SM_FLIP)
			sc->now[k] ^= sc->old[k];
		p[k] = sc->now[k];
	}
	sc->t = chaos_now();
	atomic_store_explicit(&sh->nscrib, i + 1, memory_order_release);
}

void chaos_scribbler_main(struct chaos_run *run)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != run->master)
		_exit(0);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	signal(SIGALRM, SIG_DFL);
	chaos_trace_install("scribbler", &run->shared->traces);
	struct scribbler s = {run, run->shared, run->box, run->o.seed ^ 0x736372696262ull,
			      run->log->ctl->t0, run->log->ctl->t_end, LASTING_MAX};
	chaos_rng(&s.rng);
	struct chaos_beat *beat = &s.sh->scribbler;
	uint64_t gap = CHAOS_SEC / run->o.scribbles_per_s;
	chaos_sleep_ns(START_DELAY_NS);
	uint64_t bound = (uint64_t)run->o.scribbles_per_s * (run->o.seconds + 10) + 1000;
	for (uint64_t n = 0; n < bound; n++) {
		uint64_t now = chaos_now();
		if (atomic_load(&s.sh->stop_scribbler) || now >= s.t_end)
			break;
		chaos_beat_step(beat, STEP_SCRIBBLE, "scribbling");
		scribble(&s, now);
		chaos_beat_done(beat);
		/* between half and one and a half gaps: no beat the workers
		 * could fall into step with */
		chaos_sleep_ns(gap / 2 + rnd(&s, gap + 1));
	}
	_exit(0);
}
