/* test_ctl_events.c — fuseboxctl events: oldest first in text and JSON,
 * the ring dropping the oldest, and --follow. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_harness.h"
#include "ctl_json.h"
#include "fusebox.h"
#include "helpers.h"
#include "prom_check.h"
#include "suites.h"

START_TEST(events_oldest_first)
{
	const char *box = ctl_box();
	OK(box, "breaker", "add", "e1");
	OK(box, "limiter", "add", "e2", "--rate", "5/minute");
	OK(box, "breaker", "trip", "e1", "--reason", "first");
	OK(box, "limiter", "set", "e2", "--rate", "6/minute");
	OK(box, "breaker", "release", "e1", "--reason", "second");
	const json_t *ev = events_json(box);
	static const struct {
		const char *kind, *cause, *record, *name;
	} want[] = {
		{"register", "created", "breaker", "e1"}, {"register", "created", "limiter", "e2"},
		{"manual", "trip", "breaker", "e1"},      {"config", "rule", "limiter", "e2"},
		{"manual", "release", "breaker", "e1"},
	};
	ck_assert_uint_eq(json_array_size(ev), ARRAY_LEN(want));
	for (size_t i = 0; i < json_array_size(ev); i++) {
		ck_assert_uint_eq(juint(json_array_get(ev, i), "seq"), i);
		ck_assert_str_eq(jstr(json_array_get(ev, i), "kind"), want[i].kind);
		ck_assert_str_eq(jstr(json_array_get(ev, i), "cause"), want[i].cause);
		ck_assert_str_eq(jstr(json_array_get(ev, i), "record"), want[i].record);
		ck_assert_str_eq(jstr(json_array_get(ev, i), "name"), want[i].name);
	}
	ck_assert_str_eq(jstr(json_array_get(ev, 2), "reason"), "first");
	ck_assert_str_eq(jstr(json_array_get(ev, 2), "to"), "forced_open");
	/* the text form: one line per event, oldest first */
	OK(box, "events");
	ck_assert_uint_eq(count_char(R.out, '\n'), ARRAY_LEN(want));
	const char *p = R.out;
	for (size_t i = 0; i < ARRAY_LEN(want); i++) {
		char seq[16];
		snprintf(seq, sizeof(seq), "#%zu ", i);
		ck_assert_msg(strncmp(p, seq, strlen(seq)) == 0, "line %zu: [%s]", i, p);
		p = strchr(p, '\n') + 1;
	}
	/* an empty ring is an empty list */
	const char *empty = ctl_box();
	ck_assert_uint_eq(json_array_size(events_json(empty)), 0);
}
END_TEST

START_TEST(events_ring_dropped)
{
	const char *box = new_box();
	char cfg[2048] = "[box]\nevents = 16\nkeys = 256\n";
	for (int i = 0; i < 20; i++)
		snprintf(cfg + strlen(cfg), sizeof(cfg) - strlen(cfg), "[breaker r%02d]\n", i);
	const char *path = tfile(cfg);
	OK(box, "create", "--config", path);
	const json_t *ev = events_json(box);
	ck_assert_uint_eq(json_array_size(ev), 16);
	ck_assert_uint_eq(juint(json_array_get(ev, 0), "seq"), 4);
	ck_assert_str_eq(jstr(json_array_get(ev, 0), "name"), "r04");
	ck_assert_uint_eq(juint(json_array_get(ev, 15), "seq"), 19);
	ck_assert_uint_eq(juint(status_json(box), "events_dropped"), 4);
	OK(box, "metrics");
	ck_assert(pval(prom_must(R.out), "fusebox_events_dropped_total", "box", box, NULL) == 4);
	unlink(path);
}
END_TEST

START_TEST(events_follow)
{
	const char *box = ctl_box();
	OK(box, "breaker", "add", "f");
	struct spawn_proc p;
	ctl_start(&p, box, "events", "--follow", "--json", NULL);
	ck_assert_msg(spawn_wait_for(&p, "\"register\"", 10000), "no first event: [%s]", p.obuf.p);
	ck_assert_msg(strstr(p.obuf.p, "follow-me") == NULL, "not yet");
	OK(box, "breaker", "trip", "f", "--reason", "follow-me");
	ck_assert_msg(spawn_wait_for(&p, "follow-me", 10000), "the new event never came: [%s]",
		      p.obuf.p);
	OK(box, "limiter", "add", "late", "--rate", "1/second");
	ck_assert_msg(spawn_wait_for(&p, "\"late\"", 10000), "[%s]", p.obuf.p);
	ck_assert_int_eq(kill(p.pid, SIGTERM), 0);
	bool sig;
	char *err;
	int code = spawn_finish(&p, &sig, &err);
	ck_assert_msg(!sig && code == 0, "events --follow ended with %d (signal: %d)", code, sig);
	ck_assert_str_eq(err, "");
	free(err);
	/* one JSON object per line, oldest first */
	char *save = NULL;
	unsigned long long prev = 0;
	int lines = 0;
	const char *last_kind = NULL;
	for (char *l = strtok_r(p.obuf.p, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		const json_t *o = json_must(l);
		unsigned long long seq = juint(o, "seq");
		ck_assert(lines == 0 || seq > prev);
		prev = seq;
		last_kind = jstr(o, "kind");
		if (lines == 1) {
			ck_assert_str_eq(jstr(o, "reason"), "follow-me");
			ck_assert_str_eq(jstr(o, "cause"), "trip");
		}
		lines++;
	}
	free(p.obuf.p);
	ck_assert_int_eq(lines, 3);
	ck_assert_str_eq(last_kind, "register");
}
END_TEST

FBX_TEST_SUITE(ctl_events)
{
	Suite *s = suite_create("ctl_events");
	TCase *tc = ctl_tcase("events", 20);
	tcase_add_test(tc, events_oldest_first);
	tcase_add_test(tc, events_ring_dropped);
	tcase_add_test(tc, events_follow);
	suite_add_tcase(s, tc);
	return s;
}
