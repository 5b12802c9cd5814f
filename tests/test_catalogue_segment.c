/*
 * test_catalogue_segment.c — the rows of docs/HOSTILE-INPUTS.md's library
 * and segment sections that no other suite covers: objects under a box's
 * name that are not boxes, and what the tools show of, and do around, a
 * segment scribbled on.  The document's command and config rows are the
 * suite catalogue's.
 */
#include <check.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../lib/internal.h" /* the segment layout, to scribble on */
#include "catalogue_harness.h"
#include "fusebox.h"
#include "helpers.h"
#include "spawn.h"
#include "suites.h"

/* ======================================================================
 * Library rows no other suite covers: objects that are not boxes
 * ==================================================================== */

static const struct planted {
	const char *kind;
	int err[3];  /* flags 0, FBX_OPEN_RDONLY, FBX_OPEN_CREATE */
} planted[] = {
	{"fifo", {FBX_ECORRUPT, FBX_ECORRUPT, FBX_ECORRUPT}},
	{"symlink", {FBX_ECORRUPT, FBX_ECORRUPT, FBX_ECORRUPT}},
	{"short", {FBX_ECORRUPT, FBX_ECORRUPT, FBX_ECORRUPT}},
	{"garbage", {FBX_ECORRUPT, FBX_ECORRUPT, FBX_ECORRUPT}},
	/* a directory: glibc's shm_open says EINVAL; the library, not a box */
	{"directory", {FBX_ECORRUPT, FBX_ECORRUPT, FBX_ECORRUPT}},
};

static bool same_object(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_mode == b->st_mode &&
	       a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* The open is refused, neither blocking on a FIFO nor following a link,
 * and the object is left as it was: not grown, not initialised over. */
START_TEST(objects_that_are_not_boxes)
{
	const struct planted *p = &planted[_i];
	struct scratch s;
	ck_assert(scratch_prepare(&s, p->kind, p->kind));
	struct stat before, after, tbefore, tafter;
	char target[128];
	tshm_path(target, s.target);
	ck_assert_int_eq(lstat(s.path, &before), 0);
	ck_assert(s.target[0] == '\0' || lstat(target, &tbefore) == 0);
	static const unsigned flags[] = {0, FBX_OPEN_RDONLY, FBX_OPEN_CREATE};
	for (size_t f = 0; f < ARRAY_LEN(flags); f++) {
		fbx_box_config cfg;
		fbx_box_config_init(&cfg);
		cfg.timeout_ms = 200;
		fbx_box *box = NULL;
		int rc = fbx_box_open(s.name, flags[f], &cfg, &box);
		ck_assert_msg(rc == p->err[f], "%s, flags %u: %d (%s), expected %d (%s)", p->kind,
			      flags[f], rc, fbx_strerror(rc), p->err[f], fbx_strerror(p->err[f]));
		ck_assert_ptr_null(box);
	}
	fbx_box *box = NULL;
	ck_assert_int_eq(fbx_box_open(s.name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, NULL, &box),
			 FBX_EEXIST);
	ck_assert_int_eq(lstat(s.path, &after), 0);
	ck_assert_msg(same_object(&before, &after), "%s: the object was changed", p->kind);
	ck_assert(s.target[0] == '\0' || (lstat(target, &tafter) == 0 && same_object(&tbefore, &tafter)));
	scratch_remove(&s);
}
END_TEST

/* ======================================================================
 * Segment rows: what the tools show of a scribbled segment
 * ==================================================================== */

/* Breakers b_ok and b_bad, limiters l_ok and l_bad, b_ok tripped by an
 * operator; then b_bad's state word, l_bad's algorithm, the last event
 * (as if its writer was killed midway, 3 s ago) and the header's count
 * of breakers are scribbled on. */
static void scribbled_box(const char *name)
{
	fbx_box_config cfg;
	fbx_box_config_init(&cfg);
	cfg.breakers = 8;
	cfg.limiters = 8;
	cfg.keys = 256;
	cfg.events = 64;
	cfg.workers = 8;
	fbx_box *box;
	ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, &cfg, &box), 0);
	fbx_breaker_config bc;
	fbx_breaker_config_init(&bc);
	fbx_breaker *ok, *bad;
	ck_assert_int_eq(fbx_breaker_register(box, "b_ok", &bc, &ok), 0);
	ck_assert_int_eq(fbx_breaker_register(box, "b_bad", &bc, &bad), 0);
	fbx_limiter_config lc;
	fbx_limiter_config_init(&lc);
	lc.rule = "10/second";
	fbx_limiter *l;
	ck_assert_int_eq(fbx_limiter_register(box, "l_ok", &lc, &l), 0);
	ck_assert_int_eq(fbx_limiter_register(box, "l_bad", &lc, &l), 0);
	ck_assert_int_eq(fbx_breaker_trip(ok, "catalogue"), 0);
	atomic_store(&box->breakers[1].state, UINT64_MAX);
	box->limiters[1].algorithm = 7;
	uint64_t last = atomic_load(&box->hdr->event_head) - 1;
	struct fbx__event_slot *slot = &box->events[last % box->cap_events];
	atomic_store(&slot->seq1, (last + 1) | FBX__EV_BUSY);
	atomic_store(&slot->started, fbx__real_now() - 3000000000ull);
	atomic_store(&box->hdr->n_breakers, UINT32_MAX);
	fbx_box_close(box);
}

/* Runs a tool on box: it must exit with code, print err on stderr (NULL:
 * anything), and hold on stdout every one of want (NULL ended) and none
 * of unwanted. */
static void shows(const char *box, const char *const *argv, int code, const char *err,
		  const char *const *want, const char *unwanted)
{
	struct spawn_result res;
	run_tool(argv, NULL, box, false, &res);
	ck_assert_msg(res.code == code, "%s %s: exit %d, expected %d; stderr [%s]", argv[1],
		      argv[2] ? argv[2] : "", res.code, code, shown(res.err));
	ck_assert_msg(err == NULL || strcmp(res.err, err) == 0, "%s %s: stderr [%s], expected [%s]",
		      argv[1], argv[2] ? argv[2] : "", shown(res.err), shown(err));
	for (size_t i = 0; want[i] != NULL; i++)
		ck_assert_msg(strstr(res.out, want[i]) != NULL, "%s %s: no [%s] in [%s]", argv[1],
			      argv[2] ? argv[2] : "", want[i], shown(res.out));
	ck_assert_msg(unwanted == NULL || strstr(res.out, unwanted) == NULL, "%s: [%s] in [%s]",
		      argv[1], unwanted, shown(res.out));
	spawn_result_free(&res);
}

static const char *const nothing[] = {NULL};

START_TEST(tools_show_a_scribbled_segment)
{
	char box[40];
	snprintf(box, sizeof(box), "%s", tname(CG_PREFIX));
	scribbled_box(box);
	const char *ctl = program("fuseboxctl"), *top = program("fusebox-top");

	const char *status[] = {ctl, "status", NULL};
	const char *status_want[] = {"b_ok ", "forced-open", "b_bad                    (damaged record)",
				     "l_bad                    (damaged record)", "l_ok ", NULL};
	shows(box, status, 0, "", status_want, NULL);
	const char *show_b[] = {ctl, "breaker", "show", "b_bad", NULL};
	const char *show_b_want[] = {"breaker b_bad: record damaged (not shown)\n", NULL};
	shows(box, show_b, 0, "", show_b_want, NULL);
	const char *json_b[] = {ctl, "breaker", "show", "b_bad", "--json", NULL};
	const char *json_want[] = {"\"name\":\"b_bad\"", "\"corrupt\":true", NULL};
	shows(box, json_b, 0, "", json_want, NULL);
	const char *show_l[] = {ctl, "limiter", "show", "l_bad", NULL};
	const char *show_l_want[] = {"limiter l_bad: record damaged (not shown)\n", NULL};
	shows(box, show_l, 0, "", show_l_want, NULL);
	const char *events[] = {ctl, "events", NULL};
	const char *events_want[] = {"(damaged event)", "breaker b_ok", NULL};
	shows(box, events, 0, "", events_want, NULL);
	const char *metrics[] = {ctl, "metrics", NULL};
	const char *metrics_want[] = {"name=\"b_ok\"", "name=\"l_ok\"", NULL};
	shows(box, metrics, 0, "", metrics_want, "name=\"b_bad\"");
	const char *once[] = {top, "-1", NULL};
	const char *once_want[] = {"? DAMAGED", "b_bad", "l_bad", "(record damaged, not shown)",
				   "(damaged event)", NULL};
	shows(box, once, 0, "", once_want, NULL);
	fbx_box_unlink(box);
}
END_TEST

/* Calls through a damaged record are refused, the healthy records beside
 * it keep working, and an operator's reset writes a good state over it —
 * though the event of that reset, recording the garbage state it left,
 * is itself shown as damaged (see Known problems). */
START_TEST(tools_write_around_a_scribbled_record)
{
	char box[40];
	snprintf(box, sizeof(box), "%s", tname(CG_PREFIX));
	scribbled_box(box);
	const char *ctl = program("fuseboxctl");
	const char *record[] = {ctl, "breaker", "record", "b_bad", "success", NULL};
	shows(box, record, 2,
	      "fuseboxctl: breaker 'b_bad': not a fusebox segment, or truncated or damaged\n",
	      nothing, NULL);
	const char *take_bad[] = {ctl, "limiter", "take", "l_bad", NULL};
	shows(box, take_bad, 2,
	      "fuseboxctl: limiter 'l_bad': not a fusebox segment, or truncated or damaged\n",
	      nothing, NULL);
	const char *release[] = {ctl, "breaker", "release", "b_ok", NULL};
	shows(box, release, 0, "", nothing, NULL);
	const char *take_ok[] = {ctl, "limiter", "take", "l_ok", NULL};
	const char *allowed[] = {"allowed", NULL};
	shows(box, take_ok, 0, "", allowed, NULL);

	const char *reset[] = {ctl, "breaker", "reset", "b_bad", "--reason", "repair", NULL};
	shows(box, reset, 0, "", nothing, NULL);
	const char *show_b[] = {ctl, "breaker", "show", "b_bad", NULL};
	const char *closed[] = {"breaker b_bad\n  state                closed for ", NULL};
	shows(box, show_b, 0, "", closed, NULL);
	/* the repair is recorded whole: from an unknown state, with its reason */
	const char *events[] = {ctl, "events", "--json", NULL};
	const char *repaired_last[] = {
		"\"cause\":\"reset\",\"record\":\"breaker\",\"name\":\"b_bad\",\"from\":\"-\","
		"\"to\":\"closed\"",
		"\"reason\":\"repair\"}],\"dropped\":0}", NULL};
	shows(box, events, 0, "", repaired_last, NULL);
	fbx_box_unlink(box);
}
END_TEST

FBX_TEST_SUITE(catalogue_segment)
{
	Suite *s = suite_create("catalogue_segment");
	TCase *tc = tcase_create("segment");
	tcase_add_unchecked_fixture(tc, NULL, catalogue_sweep);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, objects_that_are_not_boxes, 0, (int)ARRAY_LEN(planted));
	tcase_add_test(tc, tools_show_a_scribbled_segment);
	tcase_add_test(tc, tools_write_around_a_scribbled_record);
	suite_add_tcase(s, tc);
	return s;
}
