/* test_events.c — the event ring: order, causes and operator actions,
 * limiter events, overflow, and incremental reads with fbx_events_read(). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fusebox.h"
#include "helpers.h"
#include "suites.h"

#define MS 1000000ull
#define SEC 1000000000ull

START_TEST(manual_events)
{
	tclock_install();
	uint64_t t0 = tclock_ns();
	fbx_box *box = tsnap_box(NULL);
	fbx_breaker_config cfg;
	fbx_breaker_config_init(&cfg);
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "db", &cfg, &b), 0);
	char longr[120];
	memset(longr, 'r', sizeof(longr) - 1);
	longr[sizeof(longr) - 1] = '\0';
	tclock_advance_ms(1000);
	ck_assert_int_eq(fbx_breaker_trip(b, "db failover"), 0);
	tclock_advance_ms(1000);
	ck_assert_int_eq(fbx_breaker_hold(b, NULL), 0);
	tclock_advance_ms(1000);
	ck_assert_int_eq(fbx_breaker_release(b, "back"), 0);
	tclock_advance_ms(1000);
	ck_assert_int_eq(fbx_breaker_reset(b, longr), 0);

	static const struct {
		int kind, cause, from, to;
		const char *reason;
	} want[] = {
		{ FBX_EV_REGISTER, FBX_CAUSE_CREATED, -1, FBX_CLOSED, "" },
		{ FBX_EV_MANUAL, FBX_CAUSE_TRIP, FBX_CLOSED, FBX_FORCED_OPEN, "db failover" },
		{ FBX_EV_MANUAL, FBX_CAUSE_HOLD, FBX_FORCED_OPEN, FBX_FORCED_CLOSED, "" },
		{ FBX_EV_MANUAL, FBX_CAUSE_RELEASE, FBX_FORCED_CLOSED, FBX_CLOSED, "back" },
		{ FBX_EV_MANUAL, FBX_CAUSE_RESET, FBX_CLOSED, FBX_CLOSED, NULL /* long */ },
	};
	fbx_snapshot *s = tsnap_of(box);
	size_t ne;
	uint64_t dropped;
	const fbx_event *ev = fbx_snapshot_events(s, &ne, &dropped);
	ck_assert_uint_eq(ne, ARRAY_LEN(want));
	ck_assert_uint_eq(dropped, 0);
	tevents_in_order(ev, ne, 0);
	for (size_t i = 0; i < ne; i++) {
		ck_assert_int_eq(ev[i].corrupt, 0);
		ck_assert_int_eq(ev[i].kind, want[i].kind);
		ck_assert_int_eq(ev[i].cause, want[i].cause);
		ck_assert_int_eq(ev[i].from, want[i].from);
		ck_assert_int_eq(ev[i].to, want[i].to);
		ck_assert_int_eq(ev[i].record_type, FBX_REC_BREAKER);
		ck_assert_str_eq(ev[i].name, "db");
		ck_assert_uint_eq(ev[i].time_ns, t0 + i * SEC);
		if (want[i].kind == FBX_EV_MANUAL) {
			ck_assert_int_eq(ev[i].uid, getuid());
			ck_assert_int_eq(ev[i].pid, getpid());
		}
		if (want[i].reason != NULL) {
			ck_assert_str_eq(ev[i].reason, want[i].reason);
		} else {
			ck_assert_uint_eq(strlen(ev[i].reason), FBX_REASON_MAX - 1);
			ck_assert_int_eq(strncmp(ev[i].reason, longr, FBX_REASON_MAX - 1), 0);
		}
	}
	ck_assert_str_eq(fbx_event_kind_name(FBX_EV_MANUAL), "manual");
	ck_assert_str_eq(fbx_event_cause_name(FBX_CAUSE_TRIP), "trip");
	ck_assert_str_eq(fbx_event_kind_name(99), "invalid");
	ck_assert_str_eq(fbx_event_cause_name(FBX_CAUSE_COUNT), "invalid");
	fbx_snapshot_free(s);
	fbx_box_close(box);
}
END_TEST

START_TEST(limiter_events)
{
	tclock_install();
	fbx_box *box = tsnap_box(NULL);
	fbx_breaker_config bc;
	fbx_breaker_config_init(&bc);
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "first", &bc, &b), 0);
	fbx_limiter_config c;
	fbx_limiter_config_init(&c);
	c.rule = "100 per minute";
	fbx_limiter *l;
	ck_assert_int_eq(fbx_limiter_register(box, "api-rate", &c, &l), 0);
	/* attaching again registers nothing */
	ck_assert_int_eq(fbx_limiter_register(box, "api-rate", &c, &l), 0);
	ck_assert_int_eq(fbx_limiter_set_rule(l, "5/second", NULL), 0);
	ck_assert_int_eq(fbx_limiter_set_dry_run(l, 1, NULL), 0);
	ck_assert_int_eq(fbx_limiter_set_dry_run(l, 0, NULL), 0);

	static const struct {
		int kind, cause;
		const char *reason;
		int manual;
	} want[] = {
		{ FBX_EV_REGISTER, FBX_CAUSE_CREATED, "100/minute", 0 },
		{ FBX_EV_CONFIG, FBX_CAUSE_RULE, "5/second", 1 },
		{ FBX_EV_CONFIG, FBX_CAUSE_DRY_RUN_ON, "", 1 },
		{ FBX_EV_CONFIG, FBX_CAUSE_DRY_RUN_OFF, "", 1 },
	};
	fbx_snapshot *s = tsnap_of(box);
	size_t ne;
	uint64_t dropped;
	const fbx_event *ev = fbx_snapshot_events(s, &ne, &dropped);
	ck_assert_uint_eq(ne, 1 + ARRAY_LEN(want));
	tevents_in_order(ev, ne, 0);
	ck_assert_int_eq(ev[0].record_type, FBX_REC_BREAKER);
	ck_assert_str_eq(ev[0].name, "first");
	for (size_t i = 0; i < ARRAY_LEN(want); i++) {
		const fbx_event *e = &ev[i + 1];
		ck_assert_int_eq(e->corrupt, 0);
		ck_assert_int_eq(e->kind, want[i].kind);
		ck_assert_int_eq(e->cause, want[i].cause);
		ck_assert_int_eq(e->record_type, FBX_REC_LIMITER);
		ck_assert_uint_eq(e->record, 0);
		ck_assert_str_eq(e->name, "api-rate");
		ck_assert_str_eq(e->reason, want[i].reason);
		ck_assert_int_eq(e->from, -1);
		ck_assert_int_eq(e->to, -1);
		if (want[i].manual) {
			ck_assert_int_eq(e->pid, getpid());
			ck_assert_int_eq(e->uid, getuid());
		}
	}
	fbx_snapshot_free(s);
	fbx_box_close(box);
}
END_TEST

#define RING 16
#define EMITTED 40

/* 40 events in a ring of 16: the newest 16 stay, 24 were dropped. */
static fbx_box *overflowed_box(void)
{
	fbx_box_config cfg;
	tbox_config_snap(&cfg);
	cfg.events = RING;
	fbx_box *box = tsnap_box(&cfg);
	fbx_breaker_config bc;
	fbx_breaker_config_init(&bc);
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "ov", &bc, &b), 0); /* seq 0 */
	for (int i = 1; i < EMITTED; i++) {
		char reason[16];
		snprintf(reason, sizeof(reason), "r%d", i);
		if (i % 2)
			ck_assert_int_eq(fbx_breaker_trip(b, reason), 0);
		else
			ck_assert_int_eq(fbx_breaker_hold(b, reason), 0);
	}
	return box;
}

static void check_overflow_event(const fbx_event *e, uint64_t seq)
{
	char reason[16];
	snprintf(reason, sizeof(reason), "r%llu", (unsigned long long)seq);
	ck_assert_uint_eq(e->seq, seq);
	ck_assert_int_eq(e->corrupt, 0);
	ck_assert_int_eq(e->kind, FBX_EV_MANUAL);
	ck_assert_int_eq(e->cause, seq % 2 ? FBX_CAUSE_TRIP : FBX_CAUSE_HOLD);
	ck_assert_int_eq(e->to, seq % 2 ? FBX_FORCED_OPEN : FBX_FORCED_CLOSED);
	ck_assert_int_eq(e->from, seq % 2 ? FBX_FORCED_CLOSED : FBX_FORCED_OPEN);
	ck_assert_str_eq(e->reason, reason);
	ck_assert_str_eq(e->name, "ov");
}

START_TEST(ring_overflow)
{
	fbx_box *box = overflowed_box();
	fbx_snapshot *s = tsnap_of(box);
	size_t ne;
	uint64_t dropped;
	const fbx_event *ev = fbx_snapshot_events(s, &ne, &dropped);
	ck_assert_uint_eq(ne, RING);
	ck_assert_uint_eq(dropped, EMITTED - RING);
	tevents_in_order(ev, ne, EMITTED - RING);
	for (size_t i = 0; i < ne; i++)
		check_overflow_event(&ev[i], EMITTED - RING + i);
	fbx_snapshot_free(s);
	fbx_box_close(box);
}
END_TEST

START_TEST(events_read)
{
	fbx_box *box = overflowed_box();
	fbx_event out[64];
	size_t n = 999;
	uint64_t next = 999;

	/* from the middle of what is kept: the rest */
	ck_assert_int_eq(fbx_events_read(box, 30, out, 64, &n, &next), 0);
	ck_assert_uint_eq(n, EMITTED - 30);
	ck_assert_uint_eq(next, EMITTED);
	for (size_t i = 0; i < n; i++)
		check_overflow_event(&out[i], 30 + i);

	/* from before the oldest kept: starts at the oldest */
	ck_assert_int_eq(fbx_events_read(box, 0, out, 64, &n, &next), 0);
	ck_assert_uint_eq(n, RING);
	ck_assert_uint_eq(out[0].seq, EMITTED - RING);
	ck_assert_uint_eq(next, EMITTED);

	/* from now or the future: nothing */
	static const uint64_t futures[] = {EMITTED, EMITTED + 1, 1000, UINT64_MAX};
	for (size_t i = 0; i < ARRAY_LEN(futures); i++) {
		n = 999;
		ck_assert_int_eq(fbx_events_read(box, futures[i], out, 64, &n, &next), 0);
		ck_assert_uint_eq(n, 0);
		ck_assert_uint_le(next, futures[i]);
		ck_assert_uint_ge(next, EMITTED);
	}

	/* in chunks of 5: every kept event once, in order, no gap */
	uint64_t from = 0, expect = EMITTED - RING;
	size_t total = 0;
	for (int round = 0; round < 10; round++) {
		ck_assert_int_eq(fbx_events_read(box, from, out, 5, &n, &next), 0);
		ck_assert_uint_le(n, 5);
		for (size_t i = 0; i < n; i++)
			check_overflow_event(&out[i], expect++);
		total += n;
		from = next;
		if (n == 0)
			break;
	}
	ck_assert_uint_eq(total, RING);
	ck_assert_uint_eq(from, EMITTED);

	/* a new event is there for whoever reads from `next` */
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_find(box, "ov", &b), 0);
	ck_assert_int_eq(fbx_breaker_release(b, "r40"), 0);
	ck_assert_int_eq(fbx_events_read(box, from, out, 64, &n, &next), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(out[0].seq, EMITTED);
	ck_assert_int_eq(out[0].cause, FBX_CAUSE_RELEASE);
	ck_assert_str_eq(out[0].reason, "r40");
	ck_assert_uint_eq(next, EMITTED + 1);

	/* cap 0 copies nothing */
	ck_assert_int_eq(fbx_events_read(box, EMITTED - 3, NULL, 0, &n, &next), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(next, EMITTED - 3);

	/* arguments */
	ck_assert_int_eq(fbx_events_read(NULL, 0, out, 64, &n, &next), FBX_EINVAL);
	ck_assert_int_eq(fbx_events_read(box, 0, NULL, 64, &n, &next), FBX_EINVAL);
	ck_assert_int_eq(fbx_events_read(box, 0, out, 64, NULL, &next), FBX_EINVAL);
	ck_assert_int_eq(fbx_events_read(box, 0, out, 64, &n, NULL), FBX_EINVAL);
	fbx_box_close(box);
}
END_TEST

FBX_TEST_SUITE(events)
{
	Suite *s = suite_create("events");
	TCase *tc = tcase_create("events");
	tcase_add_unchecked_fixture(tc, NULL, tsnap_sweep);
	tcase_add_test(tc, manual_events);
	tcase_add_test(tc, limiter_events);
	tcase_add_test(tc, ring_overflow);
	tcase_add_test(tc, events_read);
	suite_add_tcase(s, tc);
	return s;
}
