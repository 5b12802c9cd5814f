/* test_ctl_metrics.c — fuseboxctl metrics, held to the Prometheus text
 * format by tests/prom_check.c (tested first, on good and bad input), with
 * every value of a box in a known state, and --out writing the file whole. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl_harness.h"
#include "ctl_json.h"
#include "fusebox.h"
#include "helpers.h"
#include "prom_check.h"
#include "suites.h"

START_TEST(prom_validator_self_check)
{
	struct expo e;
	const char *good = "# HELP a_total Some \\\\ help\\n.\n# TYPE a_total counter\n"
			   "a_total{x=\"q\\\"\\\\\\n\",y=\"\"} 3\na_total{x=\"2\"} 4 1700000000\n"
			   "# a comment\n# TYPE g gauge\ng -1.5e3\ng{k=\"v\"} NaN\n";
	ck_assert_msg(prom_parse(good, &e) == 0, "%s", e.err);
	ck_assert_uint_eq(e.n, 4);
	ck_assert_str_eq(e.s[0].lv[0], "q\"\\\n");
	ck_assert(pval(&e, "a_total", "x", "2", NULL) == 4);
	static const char *const bad[] = {
		"a_total 1\n",                                        /* no TYPE */
		"# TYPE a_total counter\na_total 1",                  /* no final newline */
		"# TYPE a_total counter\na_total{x=\"1\"} -1\n",      /* negative counter */
		"# TYPE a counter\na 1\n",                            /* counter without _total */
		"# TYPE 1a gauge\n1a 1\n",                            /* bad name */
		"# TYPE a gauge\na{x=1} 1\n",                         /* unquoted */
		"# TYPE a gauge\na{x=\"\\t\"} 1\n",                   /* bad escape */
		"# TYPE a gauge\na{x=\"1\",x=\"2\"} 1\n",             /* label twice */
		"# TYPE a gauge\na{__x=\"1\"} 1\n",                   /* reserved label */
		"# TYPE a gauge\na 1\na 2\n",                         /* same series */
		"# TYPE a gauge\na abc\n",                            /* bad value */
		"# TYPE a gauge\na  1\n",                             /* two spaces */
		"# TYPE a gauge\n# TYPE a gauge\na 1\n",              /* two TYPEs */
		"# TYPE a gauge\na 1\n# TYPE a gauge\n",              /* TYPE after samples */
		"# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x=\"\"} 2\n", /* split family */
		"# TYPE a gauge\n# HELP a x\n# HELP a y\na 1\n",      /* two HELPs */
		"# TYPE a fancy\na 1\n",                              /* bad type */
		"# TYPE a gauge\na 1\n\n",                            /* empty line */
		"# TYPE a gauge\na{x=\"1\",} 1\n",                    /* trailing comma */
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		struct expo b;
		ck_assert_msg(prom_parse(bad[i], &b) != 0, "accepted bad exposition [%s]", bad[i]);
		free(b.s);
	}
	free(e.s);
}
END_TEST

START_TEST(metrics_format_and_values)
{
	const char *box = known_box();
	OK(box, "metrics");
	ck_assert_str_eq(R.err, "");
	struct expo *e = prom_must(R.out);
	static const struct {
		const char *name, *type;
	} fams[] = {
		{"fusebox_breaker_state", "gauge"},
		{"fusebox_breaker_calls_total", "counter"},
		{"fusebox_breaker_not_permitted_calls_total", "counter"},
		{"fusebox_breaker_trips_total", "counter"},
		{"fusebox_breaker_manual_actions_total", "counter"},
		{"fusebox_breaker_state_since_seconds", "gauge"},
		{"fusebox_breaker_trial_due", "gauge"},
		{"fusebox_limiter_decisions_total", "counter"},
		{"fusebox_limiter_keys", "gauge"},
		{"fusebox_limiter_evictions_total", "counter"},
	};
	for (size_t i = 0; i < ARRAY_LEN(fams); i++) {
		const struct pfam *f = pfam_of(e, fams[i].name);
		ck_assert_msg(f != NULL && f->typed && f->help, "family %s missing", fams[i].name);
		ck_assert_str_eq(f->type, fams[i].type);
		ck_assert_msg(f->samples > 0, "family %s has no samples", fams[i].name);
	}
	/* every sample is labelled with the box */
	for (size_t i = 0; i < e->n; i++)
		ck_assert_msg(plabel(&e->s[i], "box") && strcmp(plabel(&e->s[i], "box"), box) == 0,
			      "%s without box=\"%s\"", e->s[i].name, box);
	/* state: one series per state, 1 for the current one */
	static const struct {
		const char *name, *state;
	} st[] = {{"web", "open"}, {"rate", "closed"}, {"q\"u\\o{t}e=,x", "forced_open"},
		  {"held", "forced_closed"}};
	for (size_t i = 0; i < ARRAY_LEN(st); i++) {
		size_t series = 0;
		for (size_t j = 0; j < e->n; j++)
			series += strcmp(e->s[j].name, "fusebox_breaker_state") == 0 &&
				  strcmp(plabel(&e->s[j], "name"), st[i].name) == 0;
		ck_assert_uint_eq(series, ARRAY_LEN(breaker_states));
		for (size_t k = 0; k < ARRAY_LEN(breaker_states); k++) {
			double v = pval(e, "fusebox_breaker_state", "name", st[i].name, "state",
					breaker_states[k], NULL);
			ck_assert_msg(v == (strcmp(breaker_states[k], st[i].state) == 0),
				      "%s state %s = %g", st[i].name, breaker_states[k], v);
		}
	}
	static const struct {
		const char *kind;
		double v;
	} calls[] = {{"successful", 2}, {"failed", 2}, {"ignored", 1}, {"slow", 1}};
	for (size_t i = 0; i < ARRAY_LEN(calls); i++)
		ck_assert(pval(e, "fusebox_breaker_calls_total", "name", "web", "kind", calls[i].kind,
			       NULL) == calls[i].v);
	ck_assert(pval(e, "fusebox_breaker_not_permitted_calls_total", "name", "web", NULL) == 1);
	ck_assert(pval(e, "fusebox_breaker_not_permitted_calls_total", "name", "rate", NULL) == 0);
	/* operator actions by kind, beside the automatic trips */
	static const struct {
		const char *name;
		double trips, manual[4];
	} acts[] = {{"web", 1, {0, 0, 0, 0}},
		    {"rate", 0, {0, 0, 0, 0}},
		    {"q\"u\\o{t}e=,x", 0, {1, 0, 0, 0}},
		    {"held", 0, {0, 1, 0, 0}}};
	for (size_t i = 0; i < ARRAY_LEN(acts); i++) {
		ck_assert(pval(e, "fusebox_breaker_trips_total", "name", acts[i].name, NULL) ==
			  acts[i].trips);
		for (size_t k = 0; k < ARRAY_LEN(manual_actions); k++) {
			double v = pval(e, "fusebox_breaker_manual_actions_total", "name",
					acts[i].name, "action", manual_actions[k], NULL);
			ck_assert_msg(v == acts[i].manual[k], "%s %s = %g", acts[i].name,
				      manual_actions[k], v);
		}
		/* seconds in the state: the box was made in this test */
		double since = pval(e, "fusebox_breaker_state_since_seconds", "name", acts[i].name,
				    NULL);
		ck_assert_msg(since >= 0 && since < 600, "%s since %g", acts[i].name, since);
		/* web is open for an hour: not due */
		ck_assert(pval(e, "fusebox_breaker_trial_due", "name", acts[i].name, NULL) == 0);
	}
	ck_assert(pval(e, "fusebox_limiter_decisions_total", "name", "api", "result", "allowed",
		       NULL) == 3);
	ck_assert(pval(e, "fusebox_limiter_decisions_total", "name", "api", "result", "denied",
		       NULL) == 1);
	ck_assert(pval(e, "fusebox_limiter_decisions_total", "name", "api", "result",
		       "dry_run_denied", NULL) == 0);
	ck_assert(pval(e, "fusebox_limiter_decisions_total", "name", "shadow", "result", "denied",
		       NULL) == 0);
	ck_assert(pval(e, "fusebox_limiter_decisions_total", "name", "shadow", "result",
		       "dry_run_denied", NULL) == 1);
	ck_assert(pval(e, "fusebox_limiter_keys", "name", "api", NULL) == 2);
	ck_assert(pval(e, "fusebox_limiter_evictions_total", "name", "api", NULL) == 0);
	/* never a limiter key, however it is spelt */
	ck_assert_msg(strstr(R.out, "SeCrEt") == NULL && strstr(R.out, "7f3a9") == NULL &&
			      strstr(R.out, "fusebox_injected") == NULL && strstr(R.out, "evil") == NULL,
		      "a limiter key in the metrics");
	for (size_t i = 0; i < e->n; i++)
		for (int j = 0; j < e->s[i].nl; j++)
			ck_assert_msg(strcmp(e->s[i].ln[j], "key") != 0, "a 'key' label");
}
END_TEST

/* An idle open breaker past its open period: trial_due 1, which an alert
 * on state="open" alone cannot see; its state's age counts from the
 * trip, and an operator's trip is not an automatic one. */
START_TEST(metrics_trial_due)
{
	const char *box = ctl_box();
	OK(box, "breaker", "add", "idle", "--fail-max", "1", "--reset", "50ms");
	OK(box, "breaker", "trip", "idle", "--reason", "drill");
	OK(box, "breaker", "reset", "idle", "--reason", "drill over");
	OK(box, "breaker", "record", "idle", "failure");
	OK(box, "breaker", "add", "other");
	unsigned long long age_ms = juint(breaker_wait_due(box, "idle"), "state_age_ms");
	OK(box, "metrics");
	ck_assert_str_eq(R.err, "");
	struct expo *e = prom_must(R.out);
	ck_assert(pval(e, "fusebox_breaker_trial_due", "name", "idle", NULL) == 1);
	ck_assert(pval(e, "fusebox_breaker_trial_due", "name", "other", NULL) == 0);
	ck_assert(pval(e, "fusebox_breaker_state", "name", "idle", "state", "open", NULL) == 1);
	double since = pval(e, "fusebox_breaker_state_since_seconds", "name", "idle", NULL);
	ck_assert_msg(since * 1000 >= (double)age_ms - 1 && since < 60, "since %g, age %llu ms", since,
		      age_ms);
	ck_assert(pval(e, "fusebox_breaker_trips_total", "name", "idle", NULL) == 1);
	static const double want[4] = {1, 0, 0, 1};
	for (size_t k = 0; k < ARRAY_LEN(manual_actions); k++)
		ck_assert(pval(e, "fusebox_breaker_manual_actions_total", "name", "idle", "action",
			       manual_actions[k], NULL) == want[k]);
	/* one series per action and breaker, never more */
	size_t series = 0;
	for (size_t i = 0; i < e->n; i++)
		series += strcmp(e->s[i].name, "fusebox_breaker_manual_actions_total") == 0;
	ck_assert_uint_eq(series, 2 * ARRAY_LEN(manual_actions));
	/* the trial goes through: closed, not due */
	OK(box, "breaker", "record", "idle", "success");
	OK(box, "metrics");
	e = prom_must(R.out);
	ck_assert(pval(e, "fusebox_breaker_trial_due", "name", "idle", NULL) == 0);
	ck_assert(pval(e, "fusebox_breaker_state", "name", "idle", "state", "closed", NULL) == 1);
	/* counted from the close now, not from the trip */
	ck_assert(pval(e, "fusebox_breaker_state_since_seconds", "name", "idle", NULL) < 5);
}
END_TEST

START_TEST(metrics_out_file)
{
	const char *box = known_box();
	char dir[128];
	snprintf(dir, sizeof(dir), "%s", tpath(".d"));
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	char file[192];
	snprintf(file, sizeof(file), "%s/fusebox.prom", dir);
	for (int round = 0; round < 2; round++) {
		OK(box, "metrics", "--out", file);
		ck_assert_str_eq(R.out, "");
		ck_assert_str_eq(R.err, "");
		FILE *f = fopen(file, "r");
		ck_assert_ptr_nonnull(f);
		static char text[1 << 16];
		size_t n = fread(text, 1, sizeof(text) - 1, f);
		text[n] = '\0';
		fclose(f);
		struct expo *e = prom_must(text);
		ck_assert(pval(e, "fusebox_breaker_calls_total", "name", "web", "kind", "successful",
			       NULL) == 2 + round);
		/* nothing but the file in the directory: no temp file left */
		DIR *d = opendir(dir);
		ck_assert_ptr_nonnull(d);
		int entries = 0;
		for (struct dirent *de; (de = readdir(d)) != NULL;)
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
				entries++;
				ck_assert_str_eq(de->d_name, "fusebox.prom");
			}
		closedir(d);
		ck_assert_int_eq(entries, 1);
		OK(box, "breaker", "hold", "web");
		OK(box, "breaker", "record", "web", "success");
	}
	char bad[256];
	snprintf(bad, sizeof(bad), "%s/no/such/dir/m.prom", dir);
	FAILS("m.prom", box, "metrics", "--out", bad);
	remove_tree(dir);
}
END_TEST

FBX_TEST_SUITE(ctl_metrics)
{
	Suite *s = suite_create("ctl_metrics");
	TCase *tc = ctl_tcase("metrics", 20);
	tcase_add_test(tc, prom_validator_self_check);
	tcase_add_test(tc, metrics_format_and_values);
	tcase_add_test(tc, metrics_trial_due);
	tcase_add_test(tc, metrics_out_file);
	suite_add_tcase(s, tc);
	return s;
}
