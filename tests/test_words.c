/* test_words.c — the words an operator reads (lib/words.c): one spelling
 * of each state, the causes in words, and the one event line, with what
 * it does to text that came from another process; and the host's boxes
 * (fbx_box_list). */
#include <check.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fusebox.h"
#include "helpers.h"
#include "suites.h"

START_TEST(state_labels_one_spelling)
{
	static const char *const want[] = {"closed", "open", "half-open", "forced-open",
					   "forced-closed"};
	for (int s = 0; s < FBX_BREAKER_STATE_COUNT; s++)
		ck_assert_str_eq(fbx_breaker_state_label(s), want[s]);
	ck_assert_str_eq(fbx_breaker_state_label(-1), "invalid");
	ck_assert_str_eq(fbx_breaker_state_label(FBX_BREAKER_STATE_COUNT), "invalid");
	/* the identifiers stay what JSON and metrics carry */
	ck_assert_str_eq(fbx_breaker_state_name(FBX_HALF_OPEN), "half_open");
}
END_TEST

START_TEST(cause_labels_cover_every_cause)
{
	for (int c = 0; c < FBX_CAUSE_COUNT; c++) {
		const char *l = fbx_event_cause_label(c);
		ck_assert_str_ne(l, "invalid");
		/* words, not identifiers: no underscore */
		ck_assert_ptr_null(strchr(l, '_'));
	}
	ck_assert_str_eq(fbx_event_cause_label(FBX_CAUSE_FAIL_MAX), "consecutive failures");
	ck_assert_str_eq(fbx_event_cause_label(FBX_CAUSE_COUNT), "invalid");
	ck_assert_str_eq(fbx_event_cause_label(-3), "invalid");
}
END_TEST

static fbx_event event(int kind, int cause, int from, int to)
{
	fbx_event e;
	memset(&e, 0, sizeof(e));
	e.seq = 7;
	e.time_ns = 1000000000ull;
	e.kind = kind;
	e.cause = cause;
	e.record_type = FBX_REC_BREAKER;
	snprintf(e.name, sizeof(e.name), "payments");
	e.from = from;
	e.to = to;
	return e;
}

/* Input -> expected line, as data. */
START_TEST(event_lines)
{
	char buf[256];
	fbx_event e = event(FBX_EV_TRANSITION, FBX_CAUSE_FAIL_MAX, FBX_CLOSED, FBX_OPEN);
	ck_assert_int_eq(fbx_event_format(&e, 13300000000ull, buf, sizeof(buf)), (int)strlen(buf));
	ck_assert_str_eq(buf, "12.3s ago  breaker payments  closed -> open  consecutive failures");

	e = event(FBX_EV_MANUAL, FBX_CAUSE_TRIP, FBX_CLOSED, FBX_FORCED_OPEN);
	e.uid = 0, e.pid = 4242;
	snprintf(e.reason, sizeof(e.reason), "failover");
	fbx_event_format(&e, 1000000000ull + 90 * 1000000000ull, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1m30s ago  breaker payments  closed -> forced-open  tripped: failover"
			      "  (uid 0 pid 4242)");

	/* a limiter's rule change: no states, who and why */
	e = event(FBX_EV_CONFIG, FBX_CAUSE_RULE, -1, -1);
	e.record_type = FBX_REC_LIMITER;
	e.uid = 1000, e.pid = 9;
	snprintf(e.reason, sizeof(e.reason), "10/second: launch");
	fbx_event_format(&e, 1000000000ull + 7200 * 1000000000ull, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2h00m ago  limiter payments  rule changed: 10/second: launch"
			      "  (uid 1000 pid 9)");

	/* a manual action without a reason names who, still */
	e = event(FBX_EV_MANUAL, FBX_CAUSE_RESET, FBX_OPEN, FBX_CLOSED);
	e.uid = 5, e.pid = 6;
	fbx_event_format(&e, 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0.0s ago  breaker payments  open -> closed  reset  (uid 5 pid 6)");

	e = event(FBX_EV_REGISTER, FBX_CAUSE_CREATED, -1, FBX_CLOSED);
	fbx_event_format(&e, 1000000000ull + 3 * 86400 * 1000000000ull, buf, sizeof(buf));
	ck_assert_str_eq(buf, "3d00h ago  breaker payments  created");

	e.corrupt = 1;
	fbx_event_format(&e, 1500000000ull, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0.5s ago  (damaged event)");
}
END_TEST

/* Text from the ring came from another process: control characters are
 * not passed to a terminal, and a name without its NUL stops at its field. */
START_TEST(event_line_untrusted_text)
{
	char buf[512];
	fbx_event e = event(FBX_EV_MANUAL, FBX_CAUSE_TRIP, FBX_CLOSED, FBX_FORCED_OPEN);
	snprintf(e.reason, sizeof(e.reason), "a\033[2Jb\nc");
	memset(e.name, 'n', sizeof(e.name));   /* no NUL */
	/* out-of-range fields read as words, not as indexes */
	e.from = 99;
	e.cause = 1000;
	int n = fbx_event_format(&e, e.time_ns, buf, sizeof(buf));
	ck_assert_int_eq(n, (int)strlen(buf));
	ck_assert_ptr_null(strchr(buf, '\033'));
	ck_assert_ptr_null(strchr(buf, '\n'));
	ck_assert_ptr_nonnull(strstr(buf, "a?[2Jb?c"));
	ck_assert_ptr_nonnull(strstr(buf, "invalid -> forced-open  invalid"));
	char names[FBX_NAME_MAX + 2];
	memset(names, 'n', FBX_NAME_MAX);
	names[FBX_NAME_MAX] = ' ';
	names[FBX_NAME_MAX + 1] = '\0';
	ck_assert_ptr_nonnull(strstr(buf, names));
}
END_TEST

/* Like snprintf: cut to the buffer, always terminated, the whole length
 * returned; a zero-length buffer is only measured. */
START_TEST(event_line_cut_like_snprintf)
{
	fbx_event e = event(FBX_EV_TRANSITION, FBX_CAUSE_TIMEOUT, FBX_OPEN, FBX_HALF_OPEN);
	char whole[256], cut[16];
	int n = fbx_event_format(&e, e.time_ns, whole, sizeof(whole));
	ck_assert_int_gt(n, (int)sizeof(cut));
	memset(cut, 'x', sizeof(cut));
	ck_assert_int_eq(fbx_event_format(&e, e.time_ns, cut, sizeof(cut)), n);
	ck_assert_uint_eq(strlen(cut), sizeof(cut) - 1);
	ck_assert_int_eq(strncmp(cut, whole, sizeof(cut) - 1), 0);
	ck_assert_int_eq(fbx_event_format(&e, e.time_ns, NULL, 0), n);
	ck_assert_int_eq(fbx_event_format(NULL, 0, whole, sizeof(whole)), FBX_EINVAL);
	ck_assert_int_eq(fbx_event_format(&e, 0, NULL, 8), FBX_EINVAL);
}
END_TEST

/* An event the library wrote reads as the line the tools print. */
START_TEST(event_line_of_a_real_trip)
{
	fbx_box *box = tbox_create(NULL);
	fbx_breaker *b;
	fbx_breaker_config cfg;
	fbx_breaker_config_init(&cfg);
	ck_assert_int_eq(fbx_breaker_register(box, "db", &cfg, &b), 0);
	ck_assert_int_eq(fbx_breaker_trip(b, "maintenance"), 0);
	fbx_event ev[8];
	size_t n;
	uint64_t next;
	ck_assert_int_eq(fbx_events_read(box, 0, ev, 8, &n, &next), 0);
	ck_assert_uint_ge(n, 1);
	char buf[256];
	fbx_event_format(&ev[n - 1], ev[n - 1].time_ns, buf, sizeof(buf));
	char want[128];
	snprintf(want, sizeof(want), "0.0s ago  breaker db  closed -> forced-open  tripped: "
				     "maintenance  (uid %u pid %d)", (unsigned)geteuid(), (int)getpid());
	ck_assert_str_eq(buf, want);
	tbox_unlink(box);
	fbx_box_close(box);
}
END_TEST

START_TEST(box_list_names_boxes)
{
	const char *name = tbox_name();
	fbx_box *box = tbox_create_named(name, NULL);
	char second[64];
	snprintf(second, sizeof(second), "%s-2", name);
	fbx_box *box2 = tbox_create_named(second, NULL);
	size_t n;
	ck_assert_int_eq(fbx_box_list(NULL, 0, &n), 0);
	ck_assert_uint_ge(n, 1);
	fbx_box_name *names = calloc(n + 16, sizeof(*names));
	size_t m;
	ck_assert_int_eq(fbx_box_list(names, n + 16, &m), 0);
	bool found = false;
	for (size_t i = 0; i < m && i < n + 16; i++) {
		ck_assert_int_eq(fbx_name_check_box(names[i].name), 0);
		if (i > 0)
			ck_assert_int_lt(strcmp(names[i - 1].name, names[i].name), 0);
		found |= strcmp(names[i].name, name) == 0;
	}
	ck_assert(found);
	free(names);
	/* a file in /dev/shm that is not a box is not listed */
	char path[128];
	snprintf(path, sizeof(path), "/dev/shm/fusebox..%s", name);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	fbx_box_name one[1];
	ck_assert_int_eq(fbx_box_list(one, 1, &m), 0);
	ck_assert_uint_ge(m, 1);
	ck_assert_int_eq(fbx_name_check_box(one[0].name), 0);
	unlink(path);
	/* too short an array gets the first names by name, not the first the
	 * directory returned (other processes may add boxes meanwhile: try
	 * until two full listings agree around the short one) */
	for (int tries = 0;; tries++) {
		size_t all, again;
		ck_assert_int_eq(fbx_box_list(NULL, 0, &all), 0);
		fbx_box_name *full = calloc(all + 1, sizeof(*full));
		fbx_box_name two[2];
		ck_assert_int_eq(fbx_box_list(full, all + 1, &all), 0);
		ck_assert_int_eq(fbx_box_list(two, 2, &m), 0);
		ck_assert_int_eq(fbx_box_list(NULL, 0, &again), 0);
		if (all == m && m == again && all >= 2) {
			ck_assert_str_eq(two[0].name, full[0].name);
			ck_assert_str_eq(two[1].name, full[1].name);
			free(full);
			break;
		}
		free(full);
		ck_assert_int_lt(tries, 20);
	}
	ck_assert_int_eq(fbx_box_list(NULL, 0, NULL), FBX_EINVAL);
	ck_assert_int_eq(fbx_box_list(NULL, 1, &m), FBX_EINVAL);
	fbx_box_unlink(name);
	fbx_box_close(box);
	fbx_box_unlink(second);
	fbx_box_close(box2);
}
END_TEST

FBX_TEST_SUITE(words)
{
	Suite *s = suite_create("words");
	TCase *tc = tcase_create("words");
	tcase_add_test(tc, state_labels_one_spelling);
	tcase_add_test(tc, cause_labels_cover_every_cause);
	tcase_add_test(tc, event_lines);
	tcase_add_test(tc, event_line_untrusted_text);
	tcase_add_test(tc, event_line_cut_like_snprintf);
	tcase_add_test(tc, event_line_of_a_real_trip);
	tcase_add_test(tc, box_list_names_boxes);
	suite_add_tcase(s, tc);
	return s;
}
