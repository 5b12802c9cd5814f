/* test_ctl_events.c — fuseboxctl events: oldest first in text and JSON,
 * the ring dropping the oldest, --follow, the filters (--name, -n,
 * --since, --newest-first) and the one event line of the text form. */
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


/* The seqs of an events --json answer, in order, into seq[]; how many. */
static size_t seqs(const json_t *ev, unsigned long long *seq, size_t max)
{
	size_t n = json_array_size(ev);
	for (size_t i = 0; i < n && i < max; i++)
		seq[i] = juint(json_array_get(ev, i), "seq");
	return n;
}

static const json_t *events_args(const char *box, const char *const *args)
{
	const char *argv[16] = {"events", "--json"};
	size_t n = 2;
	for (size_t i = 0; args[i] != NULL && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	run_args(NULL, box, argv);
	ck_assert_msg(R.code == 0, "%s: exit %d: %s", R.cmd, R.code, R.err);
	const json_t *o = json_must(R.out);
	ck_assert_uint_eq(juint(o, "version"), 1);
	return jarr(o, "events");
}

/* --name, -n, --since and --newest-first choose and order the events,
 * alone and together; JSON keeps its envelope. */
START_TEST(events_filters)
{
	const char *box = ctl_box();
	OK(box, "breaker", "add", "a");                      /* 0 */
	OK(box, "breaker", "add", "b");                      /* 1 */
	OK(box, "breaker", "trip", "a", "--reason", "r1");   /* 2 */
	OK(box, "breaker", "trip", "b", "--reason", "r2");   /* 3 */
	OK(box, "breaker", "release", "a", "--reason", "r3"); /* 4 */
	OK(box, "limiter", "add", "a.l", "--rate", "5/minute"); /* 5 */
	static const struct {
		const char *args[8];
		size_t n;
		unsigned long long seq[6];
	} cases[] = {
		{{NULL}, 6, {0, 1, 2, 3, 4, 5}},
		{{"--name", "a", NULL}, 3, {0, 2, 4}},
		{{"--name", "a.l", NULL}, 1, {5}},
		{{"-n", "2", NULL}, 2, {4, 5}},
		{{"-n", "0", NULL}, 0, {0}},
		{{"-n", "100", NULL}, 6, {0, 1, 2, 3, 4, 5}},
		{{"--name", "a", "-n", "1", NULL}, 1, {4}},
		{{"--newest-first", NULL}, 6, {5, 4, 3, 2, 1, 0}},
		{{"--newest-first", "-n", "2", "--name", "a", NULL}, 2, {4, 2}},
		{{"--since", "1h", NULL}, 6, {0, 1, 2, 3, 4, 5}},
		/* every event was written by a tool that ended before this one
		 * started: none is younger than nothing */
		{{"--since", "0ms", NULL}, 0, {0}},
		{{"--since", "1h", "--name", "b", "--newest-first", NULL}, 2, {3, 1}},
	};
	for (size_t c = 0; c < ARRAY_LEN(cases); c++) {
		unsigned long long got[16];
		size_t n = seqs(events_args(box, cases[c].args), got, 16);
		ck_assert_msg(n == cases[c].n, "%s: %zu events, expected %zu", R.cmd, n, cases[c].n);
		for (size_t i = 0; i < n; i++)
			ck_assert_msg(got[i] == cases[c].seq[i], "%s: event %zu is #%llu, expected #%llu",
				      R.cmd, i, got[i], cases[c].seq[i]);
		ck_assert_uint_eq(juint(json_must(R.out), "dropped"), 0);
	}
	/* the same choice in text: one line per event */
	OK(box, "events", "--name", "a", "--newest-first");
	char lines[8][256];
	ck_assert_uint_eq(split_lines(R.out, lines, 8), 3);
	ck_assert_msg(strncmp(lines[0], "#4 ", 3) == 0 && strncmp(lines[2], "#0 ", 3) == 0, "[%s]",
		      R.out);
	for (size_t i = 0; i < 3; i++)
		ck_assert_msg(strstr(lines[i], "  breaker a  ") != NULL, "[%s]", lines[i]);
	/* a name the box never had is an error, not an empty list */
	FAILS("has no breaker or limiter 'zz'", box, "events", "--name", "zz");
	FAILS("--newest-first and --follow", box, "events", "--follow", "--newest-first");
}
END_TEST

/* The text lines are the library's one event line (fbx_event_format),
 * after "#SEQ ": the words the console and the examples print. */
START_TEST(events_text_is_the_event_line)
{
	const char *box = ctl_box();
	OK(box, "breaker", "add", "w", "--fail-max", "1", "--reset", "1h");
	OK(box, "breaker", "record", "w", "failure");
	OK(box, "breaker", "hold", "w", "--reason", "looking");
	OK(box, "limiter", "add", "wl", "--rate", "5/minute");
	OK(box, "limiter", "dry-run", "wl", "on", "--reason", "canary");
	OK(box, "events");
	char lines[16][256];
	size_t n = split_lines(R.out, lines, 16);

	fbx_box *b;
	ck_assert_int_eq(fbx_box_open(box, FBX_OPEN_RDONLY, NULL, &b), 0);
	fbx_snapshot *s;
	ck_assert_int_eq(fbx_snapshot_new(b, &s), 0);
	ck_assert_int_eq(fbx_snapshot_take(b, s), 0);
	size_t ne;
	uint64_t dropped;
	const fbx_event *e = fbx_snapshot_events(s, &ne, &dropped);
	ck_assert_uint_eq(n, ne);
	ck_assert_uint_eq(ne, 5);
	for (size_t i = 0; i < ne; i++) {
		/* the age differs by when each was printed: compare after it */
		char want[512], seq[32];
		fbx_event_format(&e[i], e[i].time_ns, want, sizeof(want));
		const char *rest = strstr(want, " ago  "), *got = strstr(lines[i], " ago  ");
		snprintf(seq, sizeof(seq), "#%llu ", (unsigned long long)e[i].seq);
		ck_assert_msg(strncmp(lines[i], seq, strlen(seq)) == 0, "[%s]", lines[i]);
		ck_assert_msg(rest != NULL && got != NULL && strcmp(rest, got) == 0,
			      "line %zu: [%s], the library's: [%s]", i, lines[i], want);
	}
	ck_assert_ptr_nonnull(strstr(R.out, "closed -> open  consecutive failures\n"));
	ck_assert_ptr_nonnull(strstr(R.out, "open -> forced-closed  held closed: looking  (uid "));
	ck_assert_ptr_null(strstr(R.out, "forced_"));
	fbx_snapshot_free(s);
	fbx_box_close(b);
}
END_TEST

/* "2026-11-30T15:55:20.123Z": RFC 3339, UTC, milliseconds. */
static bool rfc3339(const char *s)
{
	unsigned y, mo, d, h, mi, sec, ms;
	char z = 0, end = 0;
	return strlen(s) == 24 &&
	       sscanf(s, "%4u-%2u-%2uT%2u:%2u:%2u.%3u%c%c", &y, &mo, &d, &h, &mi, &sec, &ms, &z,
		      &end) == 8 &&
	       z == 'Z' && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h < 24 && mi < 60 &&
	       sec < 61;
}

/* Times an incident ticket can use: JSON's "time" and --time's prefix are
 * the wall clock, in order of the events; box events (a drain) are listed
 * under the box's own name. */
START_TEST(events_wall_time)
{
	const char *box = ctl_box();
	OK(box, "breaker", "add", "wt");
	OK(box, "breaker", "trip", "wt", "--reason", "INC-9");
	OK(box, "drain", "--reason", "maintenance");
	const json_t *ev = events_json(box);
	ck_assert_uint_eq(json_array_size(ev), 3);
	const char *prev = "";
	for (size_t i = 0; i < json_array_size(ev); i++) {
		const char *t = jstr(json_array_get(ev, i), "time");
		ck_assert_msg(rfc3339(t), "event %zu: time [%s]", i, t);
		ck_assert_msg(strcmp(prev, t) <= 0, "[%s] before [%s]", prev, t);
		prev = t;
	}
	ck_assert_str_eq(jstr(jlast(ev), "record"), "box");
	OK(box, "events", "--time");
	char lines[8][256];
	size_t n = split_lines(R.out, lines, 8);
	ck_assert_uint_eq(n, 3);
	for (size_t i = 0; i < n; i++) {
		char stamp[32], seq[16];
		snprintf(stamp, sizeof(stamp), "%.24s", lines[i]);
		snprintf(seq, sizeof(seq), " #%zu ", i);
		ck_assert_msg(rfc3339(stamp) && strncmp(lines[i] + 24, seq, strlen(seq)) == 0,
			      "line %zu: [%s]", i, lines[i]);
	}
	ck_assert_ptr_nonnull(strstr(lines[2], "  box "));
	ck_assert_ptr_nonnull(strstr(lines[2], "drain began: maintenance  (uid "));
	/* the box's own events by its name */
	OK(box, "events", "--name", box);
	ck_assert_uint_eq(count_char(R.out, '\n'), 1);
	ck_assert_ptr_nonnull(strstr(R.out, "drain began: maintenance"));
	/* nothing in the window: nothing on stdout for a script, exit 0 */
	OK(box, "events", "--name", "wt", "-n", "0");
	ck_assert_str_eq(R.out, "");
	ck_assert_str_eq(R.err, "");
	OK(box, "drain", "--off");
}
END_TEST

/* --follow with --name follows that record alone; -n chooses the backlog
 * printed first, as tail -n N -f does. */
START_TEST(events_follow_one_record)
{
	const char *box = ctl_box();
	OK(box, "breaker", "add", "f1");
	OK(box, "breaker", "add", "f2");
	OK(box, "breaker", "trip", "f2", "--reason", "backlog-old");
	OK(box, "breaker", "release", "f2", "--reason", "backlog-new");
	struct spawn_proc p;
	ctl_start(&p, box, "events", "--follow", "--name", "f2", "-n", "1", NULL);
	ck_assert_msg(spawn_wait_for(&p, "backlog-new", 10000), "no backlog: [%s]", p.obuf.p);
	OK(box, "breaker", "trip", "f1", "--reason", "not-me");
	OK(box, "breaker", "trip", "f2", "--reason", "me-too");
	ck_assert_msg(spawn_wait_for(&p, "me-too", 10000), "the new event never came: [%s]",
		      p.obuf.p);
	ck_assert_int_eq(kill(p.pid, SIGTERM), 0);
	bool sig;
	char *err;
	int code = spawn_finish(&p, &sig, &err);
	ck_assert_msg(!sig && code == 0, "events --follow ended with %d (signal: %d)", code, sig);
	ck_assert_str_eq(err, "");
	free(err);
	char lines[8][256];
	size_t n = split_lines(p.obuf.p, lines, 8);
	ck_assert_msg(n == 2, "[%s]", p.obuf.p);
	ck_assert_msg(strncmp(lines[0], "#3 ", 3) == 0 && strstr(lines[0], "backlog-new"), "[%s]",
		      lines[0]);
	ck_assert_msg(strncmp(lines[1], "#5 ", 3) == 0 && strstr(lines[1], "me-too"), "[%s]",
		      lines[1]);
	free(p.obuf.p);
}
END_TEST

FBX_TEST_SUITE(ctl_events)
{
	Suite *s = suite_create("ctl_events");
	TCase *tc = ctl_tcase("events", 20);
	tcase_add_test(tc, events_oldest_first);
	tcase_add_test(tc, events_ring_dropped);
	tcase_add_test(tc, events_follow);
	tcase_add_test(tc, events_filters);
	tcase_add_test(tc, events_text_is_the_event_line);
	tcase_add_test(tc, events_follow_one_record);
	tcase_add_test(tc, events_wall_time);
	suite_add_tcase(s, tc);
	return s;
}
