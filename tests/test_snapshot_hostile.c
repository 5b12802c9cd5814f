/* test_snapshot_hostile.c — snapshots of a segment somebody scribbled on:
 * every kind of damage to breakers, limiters, key entries, events and the
 * header's counts is read without a fault, marked, and kept apart from the
 * records it did not touch. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fusebox.h"
#include "helpers.h"
#include "suites.h"
#include "../lib/internal.h" /* the segment layout, for hostile tests */

#define MS 1000000ull
#define SEC 1000000000ull

/* A string that ends within max bytes and holds only bytes lo..0x7e. */
static int safe_text(const char *s, size_t max, unsigned char lo)
{
	size_t n = strnlen(s, max);
	if (n == max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < lo || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

#define NB 3
#define NL 3
#define NEV 7

static const struct expect_b {
	const char *name;
	int succ, fail;
	int state;
} exp_b[NB] = {
	{ "alpha", 3, 1, FBX_CLOSED },
	{ "beta", 5, 0, FBX_CLOSED },
	{ "gamma", 1, 2, FBX_FORCED_OPEN },
};

static const struct expect_l {
	const char *name, *rule;
	int takes;
} exp_l[NL] = {
	{ "lim-a", "10/minute", 4 },
	{ "lim-b", "20/minute", 2 },
	{ "lim-c", "30/hour", 1 },
};

/* Events: 0..2 breakers registered, 3..5 limiters, 6 gamma tripped. */
static const struct expect_ev {
	int kind, rtype;
	uint32_t record;
} exp_ev[NEV] = {
	{ FBX_EV_REGISTER, FBX_REC_BREAKER, 0 }, { FBX_EV_REGISTER, FBX_REC_BREAKER, 1 },
	{ FBX_EV_REGISTER, FBX_REC_BREAKER, 2 }, { FBX_EV_REGISTER, FBX_REC_LIMITER, 0 },
	{ FBX_EV_REGISTER, FBX_REC_LIMITER, 1 }, { FBX_EV_REGISTER, FBX_REC_LIMITER, 2 },
	{ FBX_EV_MANUAL, FBX_REC_BREAKER, 2 },
};

static fbx_box *hostile_world(void)
{
	fbx_box_config cfg;
	tbox_config_snap(&cfg);
	cfg.events = 32;
	fbx_box *box = tsnap_box(&cfg);
	fbx_breaker_config bc;
	fbx_breaker_config_init(&bc);
	for (int i = 0; i < NB; i++) {
		fbx_breaker *b;
		ck_assert_int_eq(fbx_breaker_register(box, exp_b[i].name, &bc, &b), 0);
		for (int k = 0; k < exp_b[i].succ; k++)
			tbreaker_call(b, FBX_SUCCESS, 0);
		for (int k = 0; k < exp_b[i].fail; k++)
			tbreaker_call(b, FBX_FAILURE, 0);
	}
	for (int i = 0; i < NL; i++) {
		fbx_limiter_config lc;
		fbx_limiter_config_init(&lc);
		lc.rule = exp_l[i].rule;
		fbx_limiter *l;
		ck_assert_int_eq(fbx_limiter_register(box, exp_l[i].name, &lc, &l), 0);
		fbx_limit_result r;
		for (int k = 0; k < exp_l[i].takes; k++)
			ck_assert_int_eq(fbx_limiter_take(l, NULL, 0, 1, &r), 0);
	}
	fbx_breaker *g;
	ck_assert_int_eq(fbx_breaker_find(box, "gamma", &g), 0);
	ck_assert_int_eq(fbx_breaker_trip(g, "keep"), 0);
	return box;
}

enum damage {
	D_NONE,
	D_BNAME_CONTROL,    /* breaker name: control bytes, no NUL */
	D_BNAME_HIGH,       /* breaker name: bytes >= 0x80, NUL inside */
	D_BNAME_NO_NUL,     /* breaker name: 64 printable bytes, no NUL */
	D_BNAME_EMPTY,      /* breaker name: "" */
	D_BSTATE_F,         /* state value 0xf */
	D_BSTATE_ONES,      /* the whole state word all ones */
	D_BCFG_HOM0,        /* half_open_max 0 */
	D_BCFG_HOM_BIG,     /* half_open_max beyond the lease array */
	D_BCFG_WINDOW,      /* window_calls beyond the ring */
	D_LRULE_GARBAGE,    /* limiter rule: 0xfe bytes, no NUL */
	D_LRULE_NO_NUL,     /* limiter rule: a valid rule then 'x' to the end */
	D_LRULE_BLANKS,     /* limiter rule: a valid rule then blanks, no NUL */
	D_LALGO_7,          /* algorithm 7 */
	D_LNAME,            /* limiter name: control bytes */
	D_LCFG_SPARE,       /* cfg_active points at the never-written copy */
	D_LKEYS_FOREIGN,    /* key tags naming no limiter, or a reservation */
	D_EV_TORN,          /* a writer killed midway, long ago */
	D_EV_UNCHECKED,     /* event words changed, hash not recomputed */
	D_EV_KIND,          /* kind 99 */
	D_EV_RECORD,        /* record index 0xffffffff */
	D_EV_RTYPE,         /* record type 9 */
	D_EV_CAUSE,         /* cause 200 */
	D_EV_FROM,          /* from state 12 */
	D_EV_REASON,        /* reason bytes 0x01..0xff, no NUL */
	D_HDR_NBREAKERS,    /* n_breakers huge */
	D_HDR_NLIMITERS,    /* n_limiters huge */
	D_HDR_SHARDS,       /* shards_hwm huge */
	D_HDR_EVHEAD,       /* event_head far ahead of what was written */
	D_HDR_EVHEAD_MAX,   /* event_head UINT64_MAX */
};

static const struct hostile {
	const char *what;
	enum damage d;
	int bad_b, bad_l;   /* record marked corrupt, or -1 */
	int keeps_name;     /* the corrupt record's name was not touched */
	int bad_ev;         /* event seq marked corrupt, or -1 */
	int all_ev_bad;     /* every event is garbage */
} hostiles[] = {
	{ "nothing", D_NONE, -1, -1, 0, -1, 0 },
	{ "breaker name, control bytes", D_BNAME_CONTROL, 1, -1, 0, -1, 0 },
	{ "breaker name, high bytes", D_BNAME_HIGH, 1, -1, 0, -1, 0 },
	{ "breaker name, no NUL", D_BNAME_NO_NUL, 1, -1, 0, -1, 0 },
	{ "breaker name, empty", D_BNAME_EMPTY, 1, -1, 0, -1, 0 },
	{ "breaker state 0xf", D_BSTATE_F, 1, -1, 1, -1, 0 },
	{ "breaker state word ~0", D_BSTATE_ONES, 1, -1, 1, -1, 0 },
	{ "breaker half_open_max 0", D_BCFG_HOM0, 1, -1, 1, -1, 0 },
	{ "breaker half_open_max 1000", D_BCFG_HOM_BIG, 1, -1, 1, -1, 0 },
	{ "breaker window_calls 100000", D_BCFG_WINDOW, 1, -1, 1, -1, 0 },
	{ "limiter rule garbage", D_LRULE_GARBAGE, -1, 1, 1, -1, 0 },
	{ "limiter rule, no NUL", D_LRULE_NO_NUL, -1, 1, 1, -1, 0 },
	{ "limiter rule, blanks and no NUL", D_LRULE_BLANKS, -1, 1, 1, -1, 0 },
	{ "limiter algorithm 7", D_LALGO_7, -1, 1, 1, -1, 0 },
	{ "limiter name", D_LNAME, -1, 1, 0, -1, 0 },
	{ "limiter spare config", D_LCFG_SPARE, -1, 1, 1, -1, 0 },
	{ "limiter key tags foreign", D_LKEYS_FOREIGN, -1, -1, 0, -1, 0 },
	{ "event torn", D_EV_TORN, -1, -1, 0, 3, 0 },
	{ "event words without their hash", D_EV_UNCHECKED, -1, -1, 0, 5, 0 },
	{ "event kind 99", D_EV_KIND, -1, -1, 0, 3, 0 },
	{ "event record ~0", D_EV_RECORD, -1, -1, 0, 1, 0 },
	{ "event record type 9", D_EV_RTYPE, -1, -1, 0, 1, 0 },
	{ "event cause 200", D_EV_CAUSE, -1, -1, 0, 6, 0 },
	{ "event from 12", D_EV_FROM, -1, -1, 0, 6, 0 },
	{ "event reason", D_EV_REASON, -1, -1, 0, -1, 0 },
	{ "n_breakers huge", D_HDR_NBREAKERS, -1, -1, 0, -1, 0 },
	{ "n_limiters huge", D_HDR_NLIMITERS, -1, -1, 0, -1, 0 },
	{ "shards_hwm huge", D_HDR_SHARDS, -1, -1, 0, -1, 0 },
	{ "event_head far ahead", D_HDR_EVHEAD, -1, -1, 0, -1, 1 },
	{ "event_head max", D_HDR_EVHEAD_MAX, -1, -1, 0, -1, 1 },
};

static struct fbx__event_slot *slot_of(fbx_box *box, uint64_t seq)
{
	return &box->events[seq % box->cap_events];
}

/* A writer that scribbles an event on purpose can recompute its hash: the
 * readers' field checks must hold on their own. */
static void rehash(fbx_box *box, uint64_t seq)
{
	struct fbx__event_slot *s = slot_of(box, seq);
	uint64_t w[FBX__EV_WORDS];
	for (int i = 0; i < FBX__EV_WORDS; i++)
		w[i] = atomic_load(&s->w[i]);
	atomic_store(&s->check, fbx__event_check(seq, w));
}

static void set_w1_byte(fbx_box *box, uint64_t seq, int shift, uint64_t mask, uint64_t v)
{
	_Atomic uint64_t *w = &slot_of(box, seq)->w[1];
	atomic_store(w, (atomic_load(w) & ~(mask << shift)) | (v << shift));
	rehash(box, seq);
}

static void apply_damage(fbx_box *box, enum damage d)
{
	struct fbx__breaker_rec *br = &box->breakers[1];
	struct fbx__limiter_rec *lr = &box->limiters[1];
	struct fbx__limiter_cfg *lc = &lr->cfg[atomic_load(&lr->cfg_active) & 1];
	switch (d) {
	case D_NONE:
		break;
	case D_BNAME_CONTROL:
		for (int i = 0; i < FBX_NAME_MAX; i++)
			br->head.name[i] = (char)(1 + i % 31);
		break;
	case D_BNAME_HIGH:
		memset(br->head.name, 0xc3, FBX_NAME_MAX);
		br->head.name[10] = '\0';
		break;
	case D_BNAME_NO_NUL:
		memset(br->head.name, 'B', FBX_NAME_MAX);
		break;
	case D_BNAME_EMPTY:
		memset(br->head.name, 0, FBX_NAME_MAX);
		break;
	case D_BSTATE_F:
		atomic_store(&br->state, (atomic_load(&br->state) & ~0xfull) | 0xf);
		break;
	case D_BSTATE_ONES:
		atomic_store(&br->state, UINT64_MAX);
		break;
	case D_BCFG_HOM0:
		br->cfg.half_open_max = 0;
		break;
	case D_BCFG_HOM_BIG:
		br->cfg.half_open_max = 1000;
		break;
	case D_BCFG_WINDOW:
		br->cfg.failure_rate_pct = 50;
		br->cfg.window_calls = 100000;
		break;
	case D_LRULE_GARBAGE:
		memset(lc->rule, 0xfe, FBX_RULE_TEXT_MAX);
		break;
	case D_LRULE_NO_NUL:
		memset(lc->rule, 'x', FBX_RULE_TEXT_MAX);
		memcpy(lc->rule, "20/minute", 9);
		break;
	case D_LRULE_BLANKS:
		memset(lc->rule, ' ', FBX_RULE_TEXT_MAX);
		memcpy(lc->rule, "20/minute", 9);
		break;
	case D_LALGO_7:
		lr->algorithm = 7;
		break;
	case D_LNAME:
		for (int i = 0; i < FBX_NAME_MAX; i++)
			lr->head.name[i] = (char)(0x7f + i);
		break;
	case D_LCFG_SPARE:
		atomic_store(&lr->cfg_active, atomic_load(&lr->cfg_active) ^ 1);
		break;
	case D_LKEYS_FOREIGN:
		for (uint64_t b = 0; b < box->key_buckets; b++) {
			atomic_store(&box->keys[b].tag[0], (1000ull << FBX__TAG_LIM_SHIFT) | b);
			atomic_store(&box->keys[b].tag[1], (2ull << FBX__TAG_LIM_SHIFT) |
								   FBX__TAG_RESERVED | b);
		}
		break;
	case D_EV_TORN:
		atomic_store(&slot_of(box, 3)->seq1, 4 | FBX__EV_BUSY);
		atomic_store(&slot_of(box, 3)->started, fbx__real_now() - 3000000000ull);
		break;
	case D_EV_UNCHECKED:
		atomic_store(&slot_of(box, 5)->w[2], atomic_load(&slot_of(box, 5)->w[2]) ^ 1);
		break;
	case D_EV_KIND:
		set_w1_byte(box, 3, 0, 0xff, 99);
		break;
	case D_EV_RECORD:
		set_w1_byte(box, 1, 32, 0xffffffffull, 0xffffffffull);
		break;
	case D_EV_RTYPE:
		set_w1_byte(box, 1, 16, 0xff, 9);
		break;
	case D_EV_CAUSE:
		set_w1_byte(box, 6, 8, 0xff, 200);
		break;
	case D_EV_FROM: {
		_Atomic uint64_t *w = &slot_of(box, 6)->w[2];
		atomic_store(w, (atomic_load(w) & ~0xffffffffull) | 12);
		rehash(box, 6);
		break;
	}
	case D_EV_REASON:
		for (int i = 0; i < 8; i++) {
			uint64_t v = 0;
			for (int k = 0; k < 8; k++)
				v |= (uint64_t)(uint8_t)(1 + (i * 8 + k) * 4) << (8 * k);
			atomic_store(&slot_of(box, 6)->w[4 + i], v);
		}
		rehash(box, 6);
		break;
	case D_HDR_NBREAKERS:
		atomic_store(&box->hdr->n_breakers, UINT32_MAX);
		break;
	case D_HDR_NLIMITERS:
		atomic_store(&box->hdr->n_limiters, UINT32_MAX);
		break;
	case D_HDR_SHARDS:
		atomic_store(&box->hdr->shards_hwm, UINT32_MAX);
		break;
	case D_HDR_EVHEAD:
		atomic_store(&box->hdr->event_head, 1ull << 62);
		break;
	case D_HDR_EVHEAD_MAX:
		atomic_store(&box->hdr->event_head, UINT64_MAX);
		break;
	}
}

static void check_breakers(const struct hostile *t, const fbx_snapshot *s)
{
	size_t n;
	const fbx_breaker_info *bi = fbx_snapshot_breakers(s, &n);
	ck_assert_msg(n == NB, "%s: %zu breakers", t->what, n);
	for (int i = 0; i < NB; i++) {
		ck_assert_msg(safe_text(bi[i].name, FBX_NAME_MAX, 0x21) && bi[i].name[0] != '\0',
			      "%s: breaker %d has an unsafe name", t->what, i);
		if (i == t->bad_b) {
			ck_assert_msg(bi[i].corrupt == 1, "%s: breaker %d not marked corrupt",
				      t->what, i);
			if (t->keeps_name)
				ck_assert_str_eq(bi[i].name, exp_b[i].name);
			continue;
		}
		ck_assert_msg(bi[i].corrupt == 0, "%s: breaker %d marked corrupt", t->what, i);
		ck_assert_str_eq(bi[i].name, exp_b[i].name);
		ck_assert_msg(bi[i].successes == (uint64_t)exp_b[i].succ &&
				      bi[i].failures == (uint64_t)exp_b[i].fail,
			      "%s: breaker %d counts %llu/%llu", t->what, i,
			      (unsigned long long)bi[i].successes,
			      (unsigned long long)bi[i].failures);
		ck_assert_int_eq(bi[i].state, exp_b[i].state);
		ck_assert_uint_eq(bi[i].consecutive_failures,
				  exp_b[i].state == FBX_CLOSED ? (uint64_t)exp_b[i].fail : 0);
	}
}

static void check_limiters(const struct hostile *t, const fbx_snapshot *s, uint32_t cap_keys)
{
	size_t n;
	const fbx_limiter_info *li = fbx_snapshot_limiters(s, &n);
	ck_assert_msg(n == NL, "%s: %zu limiters", t->what, n);
	for (int i = 0; i < NL; i++) {
		ck_assert_msg(safe_text(li[i].name, FBX_NAME_MAX, 0x21) && li[i].name[0] != '\0',
			      "%s: limiter %d has an unsafe name", t->what, i);
		ck_assert_msg(safe_text(li[i].rule, FBX_RULE_TEXT_MAX, 0x20),
			      "%s: limiter %d has an unsafe rule", t->what, i);
		ck_assert_msg(li[i].keys <= 2ull * cap_keys, "%s: limiter %d keys %llu", t->what,
			      i, (unsigned long long)li[i].keys);
		if (i == t->bad_l) {
			ck_assert_msg(li[i].corrupt == 1, "%s: limiter %d not marked corrupt",
				      t->what, i);
			if (t->keeps_name)
				ck_assert_str_eq(li[i].name, exp_l[i].name);
			continue;
		}
		ck_assert_msg(li[i].corrupt == 0, "%s: limiter %d marked corrupt", t->what, i);
		ck_assert_str_eq(li[i].name, exp_l[i].name);
		ck_assert_str_eq(li[i].rule, exp_l[i].rule);
		ck_assert_uint_eq(li[i].allowed, (uint64_t)exp_l[i].takes);
		ck_assert_uint_eq(li[i].denied, 0);
		ck_assert_int_eq(li[i].algorithm, FBX_ALGO_LOG); /* the default, where it fits */
	}
}

static void check_events(const struct hostile *t, const fbx_snapshot *s, uint32_t cap)
{
	size_t n;
	uint64_t dropped;
	const fbx_event *ev = fbx_snapshot_events(s, &n, &dropped);
	ck_assert_msg(n <= cap, "%s: %zu events", t->what, n);
	for (size_t i = 0; i < n; i++) {
		const fbx_event *e = &ev[i];
		ck_assert_msg(safe_text(e->name, FBX_NAME_MAX, 0x21), "%s: event %zu name",
			      t->what, i);
		ck_assert_msg(safe_text(e->reason, FBX_REASON_MAX, 0x20), "%s: event %zu reason",
			      t->what, i);
		ck_assert_msg(e->from >= -1 && e->from < FBX_BREAKER_STATE_COUNT && e->to >= -1 &&
				      e->to < FBX_BREAKER_STATE_COUNT,
			      "%s: event %zu from %d to %d", t->what, i, e->from, e->to);
		if (i > 0)
			ck_assert_uint_gt(e->seq, ev[i - 1].seq);
	}
	if (t->all_ev_bad) {
		ck_assert_uint_eq(n, cap);
		for (size_t i = 0; i < n; i++)
			ck_assert_msg(ev[i].corrupt == 1, "%s: event %zu not corrupt", t->what, i);
		return;
	}
	ck_assert_msg(n == NEV, "%s: %zu events", t->what, n);
	ck_assert_uint_eq(dropped, 0);
	for (size_t i = 0; i < n; i++) {
		const fbx_event *e = &ev[i];
		const struct expect_ev *x = &exp_ev[i];
		ck_assert_uint_eq(e->seq, i);
		if ((int)i == t->bad_ev) {
			ck_assert_msg(e->corrupt == 1, "%s: event %zu not corrupt", t->what, i);
			continue;
		}
		/* an event about a damaged record may be marked corrupt */
		int about_bad = (x->rtype == FBX_REC_BREAKER && (int)x->record == t->bad_b) ||
				(x->rtype == FBX_REC_LIMITER && (int)x->record == t->bad_l);
		if (about_bad && e->corrupt)
			continue;
		if (t->d == D_EV_REASON && i == 6) {
			ck_assert_uint_eq(strlen(e->reason), FBX_REASON_MAX - 1);
			continue;
		}
		ck_assert_msg(e->corrupt == 0, "%s: event %zu marked corrupt", t->what, i);
		ck_assert_int_eq(e->kind, x->kind);
		ck_assert_int_eq(e->record_type, x->rtype);
		ck_assert_uint_eq(e->record, x->record);
		ck_assert_str_eq(e->name, x->rtype == FBX_REC_BREAKER ? exp_b[x->record].name
								      : exp_l[x->record].name);
		if (i == 6)
			ck_assert_str_eq(e->reason, "keep");
	}
}

START_TEST(hostile_segment)
{
	const struct hostile *t = &hostiles[_i];
	fbx_box *box = hostile_world();
	fbx_snapshot *s = NULL;
	ck_assert_int_eq(fbx_snapshot_new(box, &s), 0);
	apply_damage(box, t->d);
	/* twice: a second take into the same snapshot must be as good */
	for (int round = 0; round < 2; round++) {
		ck_assert_int_eq(fbx_snapshot_take(box, s), 0);
		check_breakers(t, s);
		check_limiters(t, s, box->cap_keys);
		check_events(t, s, box->cap_events);
	}
	/* and the same through fbx_events_read */
	fbx_event out[64];
	size_t n;
	uint64_t next;
	ck_assert_int_eq(fbx_events_read(box, 0, out, 64, &n, &next), 0);
	ck_assert_uint_le(n, box->cap_events);
	for (size_t i = 0; i < n; i++) {
		ck_assert(safe_text(out[i].name, FBX_NAME_MAX, 0x21));
		ck_assert(safe_text(out[i].reason, FBX_REASON_MAX, 0x20));
	}
	fbx_snapshot_free(s);
	fbx_box_close(box);
}
END_TEST

/* ---- times in a breaker's words ------------------------------------------ */

/* Scribbles a single byte of a word, as the chaos run does, after checking
 * that it holds what the scenario computed (byte 0 is the least
 * significant: the layout is little-endian here). */
static void scribble_byte(_Atomic uint64_t *word, unsigned at, uint8_t was, uint8_t now)
{
	uint8_t *p = (uint8_t *)word;
	ck_assert_msg(p[at] == was, "byte %u holds %02x, not %02x", at, p[at], was);
	p[at] = now;
}

static const fbx_breaker_info *the_breaker(fbx_box *box, fbx_snapshot *s)
{
	ck_assert_int_eq(fbx_snapshot_take(box, s), 0);
	size_t n;
	const fbx_breaker_info *bi = fbx_snapshot_breakers(s, &n);
	ck_assert_uint_eq(n, 1);
	return bi;
}

/* A breaker that opens 200 ms after the box was made, with an open period
 * of 100 ms (no doubling): its deadline is 300 ms, 0x12c, so byte 4 of the
 * state word (deadline bits 8..15) holds 0x01. */
static fbx_breaker *opened_at_200ms(fbx_box **box)
{
	tclock_install();
	*box = tsnap_box(NULL);
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.fail_max = 1;
	c.reset_timeout_ns = 100 * MS;
	c.trial_lease_ns = 1000 * MS;
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(*box, "rate-time", &c, &b), 0);
	tclock_advance_ms(200);
	tbreaker_call(b, FBX_FAILURE, 0);
	return b;
}

/* Found by make chaos-smoke (scribble `breaker[3].state+4 01 -> 03`): a
 * scribble that moves an OPEN deadline less than a second past the
 * longest open period was shown as a figure, unflagged, as the reader
 * allowed a second of slack for readings taken apart. */
START_TEST(open_deadline_pushed)
{
	fbx_box *box;
	opened_at_200ms(&box);
	fbx_snapshot *s = NULL;
	ck_assert_int_eq(fbx_snapshot_new(box, &s), 0);
	const fbx_breaker_info *bi = the_breaker(box, s);
	ck_assert_int_eq(bi->corrupt, 0);
	ck_assert_int_eq(bi->state, FBX_OPEN);
	ck_assert_uint_eq(bi->open_remaining_ns, 100 * MS);
	/* +512 ms: 612 ms until a trial for a breaker never open over 100 ms */
	scribble_byte(&box->breakers[0].state, 4, 0x01, 0x03);
	bi = the_breaker(box, s);
	ck_assert_msg(bi->corrupt == 1, "OPEN for %llu ms more, beyond 100 ms: not flagged",
		      (unsigned long long)(bi->open_remaining_ns / MS));
	ck_assert_str_eq(bi->name, "rate-time");
	ck_assert_uint_eq(bi->open_remaining_ns, 0);
	fbx_snapshot_free(s);
	fbx_box_close(box);
}
END_TEST

/* The open period a deadline is judged by is the one of the streak written
 * with it: a streak scribbled down from 2 to 1 leaves a deadline 200 ms
 * ahead under a period of 100 ms. */
START_TEST(open_streak_lowered)
{
	fbx_box *box;
	tclock_install();
	box = tsnap_box(NULL);
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	c.fail_max = 1;
	c.reset_timeout_ns = 100 * MS;
	c.reset_timeout_max_ns = 1000 * MS;
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "doubling", &c, &b), 0);
	tbreaker_call(b, FBX_FAILURE, 0);
	tclock_advance_ms(100);
	tbreaker_call(b, FBX_FAILURE, 0); /* the trial fails: open again, 200 ms */
	fbx_snapshot *s = NULL;
	ck_assert_int_eq(fbx_snapshot_new(box, &s), 0);
	const fbx_breaker_info *bi = the_breaker(box, s);
	ck_assert_int_eq(bi->corrupt, 0);
	ck_assert_int_eq(bi->state, FBX_OPEN);
	ck_assert_uint_eq(bi->open_streak, 2);
	ck_assert_uint_eq(bi->open_remaining_ns, 200 * MS);
	/* byte 0: state 1 (OPEN), streak 2 */
	scribble_byte(&box->breakers[0].state, 0, 0x21, 0x11);
	bi = the_breaker(box, s);
	ck_assert_int_eq(bi->corrupt, 1);
	fbx_snapshot_free(s);
	fbx_box_close(box);
}
END_TEST

/* A half-open period that begins 512 ms from now, and a trial lease that
 * runs 512 ms past trial_lease: no writer reads a clock ahead of the
 * reader's, so neither was written by one. */
START_TEST(half_open_times_pushed)
{
	for (int which = 0; which < 2; which++) {
		fbx_box *box;
		fbx_breaker *b = opened_at_200ms(&box);
		tclock_advance_ms(100);
		fbx_permit p;
		ck_assert_int_eq(fbx_breaker_allow(b, &p), 0); /* half-open from 300 ms */
		fbx_snapshot *s = NULL;
		ck_assert_int_eq(fbx_snapshot_new(box, &s), 0);
		const fbx_breaker_info *bi = the_breaker(box, s);
		ck_assert_int_eq(bi->corrupt, 0);
		ck_assert_int_eq(bi->state, FBX_HALF_OPEN);
		ck_assert_uint_eq(bi->half_open_in_flight, 1);
		if (which == 0) /* the start, 300 ms: 0x12c in bits 24.. */
			scribble_byte(&box->breakers[0].state, 4, 0x01, 0x03);
		else /* the lease's deadline, 1300 ms: 0x514 in bits 8.. */
			scribble_byte(&box->breakers[0].lease[0], 2, 0x05, 0x07);
		bi = the_breaker(box, s);
		ck_assert_msg(bi->corrupt == 1, "%s pushed 512 ms ahead: not flagged",
			      which == 0 ? "half-open start" : "trial lease");
		fbx_snapshot_free(s);
		fbx_box_close(box);
	}
}
END_TEST

/* The snapshot's reading may predate a transition (the reader preempted
 * after taking it): the record is whole, judged on a reading taken after
 * its words, and its figures come from that reading too, never an open
 * period longer than the breaker has. */
static uint64_t stale_ns;
static int readings;
static uint64_t first_reading_stale(void *arg)
{
	(void)arg;
	return readings++ == 0 ? stale_ns : tclock_ns();
}

START_TEST(reading_before_transition)
{
	fbx_box *box;
	opened_at_200ms(&box); /* OPEN until 300 ms */
	fbx_snapshot *s = NULL;
	ck_assert_int_eq(fbx_snapshot_new(box, &s), 0);
	stale_ns = tclock_ns() - 150 * MS; /* 50 ms after creation */
	readings = 0;
	fbx_clock_set(first_reading_stale, NULL);
	const fbx_breaker_info *bi = the_breaker(box, s);
	ck_assert_uint_eq(fbx_snapshot_time(s), stale_ns);
	ck_assert_int_eq(bi->corrupt, 0);
	ck_assert_int_eq(bi->state, FBX_OPEN);
	ck_assert_uint_eq(bi->open_remaining_ns, 100 * MS);
	fbx_snapshot_free(s);
	fbx_box_close(box);
}
END_TEST

FBX_TEST_SUITE(snapshot_hostile)
{
	Suite *s = suite_create("snapshot_hostile");
	TCase *tc = tcase_create("hostile");
	tcase_add_unchecked_fixture(tc, NULL, tsnap_sweep);
	tcase_add_loop_test(tc, hostile_segment, 0, (int)ARRAY_LEN(hostiles));
	suite_add_tcase(s, tc);
	TCase *times = tcase_create("times");
	tcase_add_unchecked_fixture(times, NULL, tsnap_sweep);
	tcase_add_test(times, open_deadline_pushed);
	tcase_add_test(times, open_streak_lowered);
	tcase_add_test(times, half_open_times_pushed);
	tcase_add_test(times, reading_before_transition);
	suite_add_tcase(s, times);
	return s;
}
