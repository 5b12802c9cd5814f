/* test_ctl_resilience.c — fuseboxctl's retry budgets, bulkheads and
 * caches: add, show, the listings, cache get and drop, the config file's
 * sections and create's capacities, and what status and metrics say of
 * them.  Figures are made through the library here (deposits, places
 * held, values put), as a fleet's workers would make them. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_harness.h"
#include "ctl_json.h"
#include "fusebox.h"
#include "helpers.h"
#include "prom_check.h"
#include "suites.h"

#define MS 1000000ull

static fbx_box *lib_open(const char *name)
{
	fbx_box *b;
	int rc = fbx_box_open(name, 0, NULL, &b);
	ck_assert_msg(rc == 0, "open %s: %s", name, fbx_strerror(rc));
	return b;
}

START_TEST(budget_add_show_and_conflict)
{
	const char *box = ctl_box();
	OK(box, "budget", "add", "pay", "--percent", "10", "--min-per-sec", "2", "--ttl", "30s");
	ck_assert_str_eq(R.out, "");
	OK(box, "budget", "add", "pay", "--percent", "10", "--min-per-sec", "2", "--ttl", "30s");
	OK(box, "budget", "add", "dflt");
	const json_t *b = budget_json(box, "dflt");
	ck_assert_uint_eq(juint(b, "percent"), 20);
	ck_assert_uint_eq(juint(b, "min_per_sec"), 10);
	ck_assert_uint_eq(juint(b, "ttl_ms"), 10000);

	/* 20 first attempts and 3 retries through the library */
	fbx_box *lb = lib_open(box);
	fbx_budget *g;
	ck_assert_int_eq(fbx_budget_find(lb, "pay", &g), 0);
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(fbx_budget_deposit(g), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(fbx_budget_withdraw(g), 0);
	fbx_box_close(lb);
	b = budget_json(box, "pay");
	ck_assert_uint_eq(juint(b, "deposits"), 20);
	ck_assert_uint_eq(juint(b, "withdrawals"), 3);
	ck_assert_uint_eq(juint(b, "attempts"), 20);
	ck_assert_uint_eq(juint(b, "retries_allowed"), 3);
	ck_assert_uint_eq(juint(b, "balance"), 20 * 10 / 100 + 2 * 30 - 3);
	OK(box, "budget", "show", "pay");
	ck_assert_msg(strstr(R.out, "budget pay\n  policy     retries up to 10% of requests plus 2 a "
				    "second, over the last 30s\n") != NULL, "[%s]", R.out);
	ck_assert_msg(strstr(R.out, "  window     20 requests, 3 retries: 59 more retries allowed "
				    "now\n") != NULL, "[%s]", R.out);
	OK(box, "budgets");
	ck_assert_msg(strstr(R.out, "pay                      10% + 2/s over 30s") != NULL, "[%s]",
		      R.out);
	ck_assert_uint_eq(json_array_size(resilience_listing_json(box, "budgets")), 2);

	/* another configuration: refused, naming what is there */
	FAILS("budget 'pay' exists with a different configuration (--percent 10 --min-per-sec 2 "
	      "--ttl 30s)", box, "budget", "add", "pay", "--percent", "11", "--min-per-sec", "2",
	      "--ttl", "30s");
	FAILS("box '", box, "budget", "show", "nosuch");
	ck_assert_ptr_nonnull(strstr(R.err, "has no budget 'nosuch'"));
	FAILS("--percent", box, "budget", "add", "x", "--percent", "0");
	FAILS("--percent", box, "budget", "add", "x", "--percent", "101");
	FAILS("--ttl: '0s' is not from 1s to 1h", box, "budget", "add", "x", "--ttl", "0s");
	FAILS("--ttl: '61m' is not from 1s to 1h", box, "budget", "add", "x", "--ttl", "61m");
	FAILS("--min-per-sec", box, "budget", "add", "x", "--min-per-sec", "-1");
	FAILS("bad budget name", box, "budget", "add", "a b");
	ck_assert_uint_eq(json_array_size(resilience_listing_json(box, "budgets")), 2);
}
END_TEST

START_TEST(bulkhead_add_show_in_flight)
{
	const char *box = ctl_box();
	OK(box, "bulkhead", "add", "search", "--cap", "2");
	OK(box, "bulkhead", "add", "search", "--cap", "2");
	FAILS("bulkhead 'search' exists with a different configuration (--cap 2)", box, "bulkhead",
	      "add", "search", "--cap", "3");
	FAILS("usage: bulkhead add NAME --cap N", box, "bulkhead", "add", "nocap");
	FAILS("--cap: '0' is not a whole number from 1 to 1024", box, "bulkhead", "add", "z",
	      "--cap", "0");
	FAILS("--cap: '1025' is not a whole number from 1 to 1024", box, "bulkhead", "add", "z",
	      "--cap", "1025");
	FAILS("--cap: '-3' is not a whole number", box, "bulkhead", "add", "z", "--cap", "-3");

	fbx_box *lb = lib_open(box);
	fbx_bulkhead *h;
	fbx_bulkhead_permit p1, p2, p3;
	ck_assert_int_eq(fbx_bulkhead_find(lb, "search", &h), 0);
	ck_assert_int_eq(fbx_bulkhead_acquire(h, 0, &p1), 0);
	ck_assert_int_eq(fbx_bulkhead_acquire(h, 0, &p2), 0);
	ck_assert_int_eq(fbx_bulkhead_acquire(h, 0, &p3), FBX_EFULL);
	const json_t *j = bulkhead_json(box, "search");
	ck_assert_uint_eq(juint(j, "cap"), 2);
	ck_assert_uint_eq(juint(j, "in_flight"), 2);
	ck_assert_uint_eq(juint(j, "peak"), 2);
	ck_assert_uint_eq(juint(j, "refused"), 1);
	OK(box, "bulkhead", "show", "search");
	ck_assert_msg(strstr(R.out, "  in flight  2 of 2 (full: calls are refused)\n") != NULL,
		      "[%s]", R.out);
	ck_assert_int_eq(fbx_bulkhead_release(h, &p1), 0);
	ck_assert_int_eq(fbx_bulkhead_release(h, &p2), 0);
	fbx_box_close(lb);
	j = bulkhead_json(box, "search");
	ck_assert_uint_eq(juint(j, "in_flight"), 0);
	ck_assert_uint_eq(juint(j, "peak"), 2);
	OK(box, "bulkheads");
	ck_assert_msg(strstr(R.out, "search                       2         0      2        1") !=
		      NULL, "[%s]", R.out);
	ck_assert_uint_eq(json_array_size(resilience_listing_json(box, "bulkheads")), 1);
}
END_TEST

/* Values are bytes: printable text comes out as it is, anything else as
 * \xHH (a backslash as \\), --hex gives every byte, --json both. */
START_TEST(cache_get_and_drop)
{
	const char *box = ctl_box();
	OK(box, "cache", "add", "quotes", "--ttl", "1h", "--stale", "10m");
	OK(box, "cache", "add", "quotes", "--ttl", "1h", "--stale", "10m");
	FAILS("cache 'quotes' exists with a different configuration (--ttl 1h --stale 10m)", box,
	      "cache", "add", "quotes", "--ttl", "1h");
	fbx_box *lb = lib_open(box);
	fbx_cache *c;
	ck_assert_int_eq(fbx_cache_find(lb, "quotes", &c), 0);
	static const char bin[] = "a\\b\x1b[31m\n\0\xff\xc3\xa9!";
	ck_assert_int_eq(fbx_cache_put(c, "k1", 2, "12.34 EUR", 9), 0);
	ck_assert_int_eq(fbx_cache_put(c, "bin", 3, bin, sizeof(bin) - 1), 0);
	fbx_box_close(lb);

	OK(box, "cache", "get", "quotes", "k1");
	ck_assert_str_eq(R.out, "12.34 EUR\n");
	OK(box, "cache", "get", "quotes", "bin");
	ck_assert_str_eq(R.out, "a\\\\b\\x1b[31m\\x0a\\x00\\xff\xc3\xa9!\n");
	OK(box, "cache", "get", "quotes", "bin", "--hex");
	ck_assert_str_eq(R.out, "615c621b5b33316d0a00ffc3a921\n");
	OK(box, "cache", "get", "quotes", "k1", "--json");
	const json_t *j = json_must(R.out);
	ck_assert(jbool(j, "found"));
	ck_assert(!jbool(j, "stale"));
	ck_assert_str_eq(jstr(j, "value"), "12.34 EUR");
	ck_assert_str_eq(jstr(j, "value_hex"), "31322e333420455552");
	ck_assert_uint_eq(juint(j, "bytes"), 9);
	OK(box, "cache", "get", "quotes", "bin", "--json");
	j = json_must(R.out);
	ck_assert(json_is_null(jget(j, "value"))); /* not ASCII: only the hex says it */

	/* not there: exit 1 and nothing said, as grep */
	EXPECT(1, box, "cache", "get", "quotes", "nokey");
	ck_assert_str_eq(R.out, "");
	ck_assert_str_eq(R.err, "");
	EXPECT(1, box, "cache", "get", "quotes", "nokey", "--json");
	ck_assert(!jbool(json_must(R.out), "found"));
	OK(box, "cache", "drop", "quotes", "k1");
	ck_assert_str_eq(R.out, "cache quotes: key 'k1' dropped\n");
	EXPECT(1, box, "cache", "drop", "quotes", "k1");
	ck_assert_str_eq(R.out, "");
	EXPECT(1, box, "cache", "get", "quotes", "k1");

	char long_key[FBX_CACHE_KEY_MAX + 2];
	memset(long_key, 'k', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
	FAILS("cache get: the key is 129 bytes, at most 128", box, "cache", "get", "quotes", long_key);
	FAILS("cache drop: the key is 129 bytes, at most 128", box, "cache", "drop", "quotes",
	      long_key);
	long_key[FBX_CACHE_KEY_MAX] = '\0';
	EXPECT(1, box, "cache", "get", "quotes", long_key); /* 128 is a key */
	FAILS("cache get: the key is empty", box, "cache", "get", "quotes", "");
	FAILS("has no cache 'nosuch'", box, "cache", "get", "nosuch", "k");
	FAILS("--hex or --json, not both", box, "cache", "get", "quotes", "k", "--hex", "--json");
	FAILS("--ttl: '0s' is not from 1ms to 720h (30 days)", box, "cache", "add", "z", "--ttl",
	      "0s");
	FAILS("--ttl: '721h' is not from 1ms to 720h (30 days)", box, "cache", "add", "z", "--ttl",
	      "721h");
	FAILS("--stale: '721h' is not from 0 to 720h (30 days)", box, "cache", "add", "z", "--ttl",
	      "1s", "--stale", "721h");
	FAILS("usage: cache add NAME --ttl DURATION", box, "cache", "add", "z");

	const json_t *k = cache_json(box, "quotes");
	ck_assert_uint_eq(juint(k, "entries"), 1);
	ck_assert_uint_eq(juint(k, "puts"), 2);
	/* the tool reads through a read-only handle: an operator looking at
	 * values does not skew the service's hit ratio */
	ck_assert_uint_eq(juint(k, "hits"), 0);
	ck_assert_uint_eq(juint(k, "misses"), 0);
	OK(box, "cache", "show", "quotes");
	ck_assert_msg(strstr(R.out, "  freshness  fresh for 1h, then served stale for 10m more\n"),
		      "[%s]", R.out);
	ck_assert_uint_eq(json_array_size(resilience_listing_json(box, "caches")), 1);
}
END_TEST

/* A box with no room: the option to make it larger is named. */
START_TEST(full_and_capacities)
{
	const char *box = new_box();
	OK(box, "create", "--budgets", "1", "--bulkheads", "1", "--caches", "0", "--cache-slots",
	   "8", "--cache-value-max", "64");
	ck_assert_msg(strstr(R.out, "  1 retry budget, 1 bulkhead, no caches\n"), "[%s]", R.out);
	fbx_box_info bi = box_info(box);
	ck_assert_uint_eq(bi.capacity.budgets, 1);
	ck_assert_uint_eq(bi.capacity.cache_slots, 8);
	ck_assert_uint_eq(bi.capacity.cache_value_max, 64);
	const json_t *cap = jobj(status_json(box), "capacity");
	ck_assert_uint_eq(juint(cap, "caches"), 0);
	ck_assert_uint_eq(juint(cap, "cache_value_max"), 64);
	OK(box, "budget", "add", "one");
	FAILS("box '", box, "budget", "add", "two");
	ck_assert_msg(strstr(R.err, "has no room for another budget (it holds 1; create the box with "
				    "a larger --budgets)"), "[%s]", R.err);
	OK(box, "bulkhead", "add", "one", "--cap", "1");
	FAILS("larger --bulkheads", box, "bulkhead", "add", "two", "--cap", "1");
	FAILS("has no room for another cache (it holds 0; create the box with a larger --caches)",
	      box, "cache", "add", "c", "--ttl", "1s");

	const char *bad = new_box();
	FAILS("--cache-slots: '6' is not a multiple of 4", bad, "create", "--cache-slots", "6");
	FAILS("--cache-slots: '65540' is not a whole number from 4 to 65536", bad, "create",
	      "--cache-slots", "65540");
	FAILS("--cache-value-max: '8200' is not a whole number from 8 to 8192", bad, "create",
	      "--cache-value-max", "8200");
	FAILS("--cache-value-max: '100' is not a multiple of 8", bad, "create", "--cache-value-max",
	      "100");
	FAILS("--budgets: '-1' is not a whole number", bad, "create", "--budgets", "-1");
	FAILS("--caches: '1025' is not a whole number from 0 to 1024", bad, "create", "--caches",
	      "1025");
	EXPECT(2, bad, "status");
	ck_assert_ptr_nonnull(strstr(R.err, "does not exist"));
}
END_TEST

/* The config file declares them with the rest; nothing is made unless all
 * of it is right, and --exist-ok keeps what matches. */
START_TEST(config_sections)
{
	const char *ini = tfile("[box]\nbudgets = 2\ncache_slots = 16\n"
				"[budget pay]\npercent = 5\nmin_per_sec = 0\nttl = 1m\n"
				"[bulkhead search]\ncap = 3\n"
				"[cache quotes]\nttl = 30s\nstale = 5m\n");
	const char *box = new_box();
	OK(box, "create", "--config", ini);
	ck_assert_msg(strstr(R.out, "0 breakers, 0 limiters, 1 budget, 1 bulkhead, 1 cache "
				    "declared"), "[%s]", R.out);
	const json_t *b = budget_json(box, "pay");
	ck_assert_uint_eq(juint(b, "percent"), 5);
	ck_assert_uint_eq(juint(b, "min_per_sec"), 0);
	ck_assert_uint_eq(juint(b, "ttl_ms"), 60000);
	ck_assert_uint_eq(juint(bulkhead_json(box, "search"), "cap"), 3);
	const json_t *c = cache_json(box, "quotes");
	ck_assert_uint_eq(juint(c, "ttl_ms"), 30000);
	ck_assert_uint_eq(juint(c, "stale_ms"), 300000);
	ck_assert_uint_eq(juint(c, "slots"), 16);
	OK(box, "create", "--config", ini, "--exist-ok");
	ck_assert_msg(strstr(R.out, "kept box"), "[%s]", R.out);

	const char *other = tfile("[box]\nbudgets = 2\ncache_slots = 16\n"
				  "[budget pay]\npercent = 6\n");
	FAILS("budget 'pay' exists with a different configuration (--percent 5 --min-per-sec 0 "
	      "--ttl 1m)", box, "create", "--config", other, "--exist-ok");
	other = tfile("[box]\nbudgets = 2\ncache_slots = 16\n[cache quotes]\nttl = 31s\nstale = 5m\n");
	FAILS("cache 'quotes' exists with a different configuration (--ttl 30s --stale 5m)", box,
	      "create", "--config", other, "--exist-ok");
	other = tfile("[box]\nbudgets = 2\ncache_slots = 16\n[bulkhead search]\ncap = 4\n");
	FAILS("bulkhead 'search' exists with a different configuration (cap 3)", box, "create",
	      "--config", other, "--exist-ok");

	/* the options may leave less room than the file's records need */
	const char *fresh = new_box();
	FAILS(": 1 budgets do not fit in budgets = 0", fresh, "create", "--config", ini,
	      "--budgets", "0");
	ck_assert_int_eq(fbx_box_open(fresh, FBX_OPEN_RDONLY, NULL, &(fbx_box *){NULL}),
			 FBX_ENOENT);
}
END_TEST

START_TEST(status_and_metrics)
{
	const char *box = ctl_box();
	OK(box, "status");
	ck_assert_ptr_null(strstr(R.out, "BUDGET")); /* none: status reads as before */
	OK(box, "budget", "add", "pay");
	OK(box, "bulkhead", "add", "search", "--cap", "4");
	OK(box, "cache", "add", "quotes", "--ttl", "1m", "--stale", "1h");
	fbx_box *lb = lib_open(box);
	fbx_budget *g;
	fbx_bulkhead *h;
	fbx_cache *c;
	fbx_bulkhead_permit p;
	fbx_cache_hit hit;
	char buf[16];
	ck_assert_int_eq(fbx_budget_find(lb, "pay", &g), 0);
	ck_assert_int_eq(fbx_bulkhead_find(lb, "search", &h), 0);
	ck_assert_int_eq(fbx_cache_find(lb, "quotes", &c), 0);
	for (int i = 0; i < 10; i++)
		fbx_budget_deposit(g);
	fbx_budget_withdraw(g);
	ck_assert_int_eq(fbx_bulkhead_acquire(h, 0, &p), 0);
	ck_assert_int_eq(fbx_cache_put(c, "k", 1, "v", 1), 0);
	ck_assert_int_eq(fbx_cache_get(c, "k", 1, buf, sizeof(buf), &hit), 0);
	ck_assert_int_eq(fbx_cache_get(c, "x", 1, buf, sizeof(buf), &hit), FBX_ENOENT);

	OK(box, "status");
	ck_assert_msg(strstr(R.out, "\nBUDGET ") && strstr(R.out, "\nBULKHEAD ") &&
		      strstr(R.out, "\nCACHE "), "[%s]", R.out);
	ck_assert_msg(strstr(R.out, "quotes                       1m     1h         1/256         1"),
		      "[%s]", R.out);
	const json_t *s = status_json(box);
	ck_assert_uint_eq(juint(jfind_named(jarr(s, "budgets"), "pay"), "deposits"), 10);
	ck_assert_uint_eq(juint(jfind_named(jarr(s, "bulkheads"), "search"), "in_flight"), 1);
	ck_assert_uint_eq(juint(jfind_named(jarr(s, "caches"), "quotes"), "hits"), 1);

	OK(box, "metrics");
	struct expo *e = prom_must(R.out);
	ck_assert(pval(e, "fusebox_retry_budget_deposits", "name", "pay", NULL) == 10);
	ck_assert(pval(e, "fusebox_retry_budget_withdrawals", "name", "pay", NULL) == 1);
	ck_assert(pval(e, "fusebox_retry_budget_balance", "name", "pay", NULL) == 2 + 100 - 1);
	ck_assert(pval(e, "fusebox_retry_budget_attempts_total", "name", "pay", NULL) == 10);
	ck_assert(pval(e, "fusebox_retry_budget_retries_total", "name", "pay", "result", "allowed",
		       NULL) == 1);
	ck_assert(pval(e, "fusebox_retry_budget_retries_total", "name", "pay", "result", "refused",
		       NULL) == 0);
	ck_assert(pval(e, "fusebox_bulkhead_cap", "name", "search", NULL) == 4);
	ck_assert(pval(e, "fusebox_bulkhead_in_flight", "name", "search", NULL) == 1);
	ck_assert(pval(e, "fusebox_bulkhead_peak", "name", "search", NULL) == 1);
	ck_assert(pval(e, "fusebox_bulkhead_refused_total", "name", "search", NULL) == 0);
	ck_assert(pval(e, "fusebox_bulkhead_reclaimed_total", "name", "search", NULL) == 0);
	ck_assert(pval(e, "fusebox_cache_entries", "name", "quotes", NULL) == 1);
	ck_assert(pval(e, "fusebox_cache_gets_total", "name", "quotes", "result", "hit", NULL) == 1);
	ck_assert(pval(e, "fusebox_cache_gets_total", "name", "quotes", "result", "stale_hit",
		       NULL) == 0);
	ck_assert(pval(e, "fusebox_cache_gets_total", "name", "quotes", "result", "miss", NULL) == 1);
	ck_assert(pval(e, "fusebox_cache_puts_total", "name", "quotes", NULL) == 1);
	ck_assert(pval(e, "fusebox_cache_puts_total", "box", box, NULL) == 1);
	fbx_bulkhead_release(h, &p);
	fbx_box_close(lb);
}
END_TEST

/* A reader of the box sees every figure and reads the cache; adding and
 * dropping need write permission. */
START_TEST(unknown_names_and_bad_words)
{
	const char *box = lib_box();
	FAILS("has no budget 'nosuch'", box, "budget", "show", "nosuch");
	FAILS("has no bulkhead 'nosuch'", box, "bulkhead", "show", "nosuch");
	FAILS("has no cache 'nosuch'", box, "cache", "show", "nosuch");
	FAILS("has no cache 'nosuch'", box, "cache", "drop", "nosuch", "k");
	FAILS("budget: which action? (add, show)", box, "budget");
	FAILS("budget: unknown action 'rm' (add, show)", box, "budget", "rm", "x");
	FAILS("bulkhead: unknown action 'acquire' (add, show)", box, "bulkhead", "acquire", "x");
	FAILS("cache: unknown action 'put' (add, show, get, drop)", box, "cache", "put", "x", "k",
	      "v");
	FAILS("usage: cache get NAME KEY", box, "cache", "get", "x");
	FAILS("usage: budget show NAME [--json]", box, "budget", "show");
	FAILS("budgets: unknown argument 'x' (budgets [--json])", box, "budgets", "x");
	FAILS("unknown option '--frob'", box, "budget", "add", "x", "--frob", "1");
	FAILS("unexpected argument 'y' after '--'", box, "budget", "add", "x", "--", "y");
	ck_assert_ptr_null(ready_box_change(box));
}
END_TEST

FBX_TEST_SUITE(ctl_resilience)
{
	Suite *s = suite_create("ctl_resilience");
	TCase *tc = ctl_tcase("resilience", 30);
	tcase_add_test(tc, budget_add_show_and_conflict);
	tcase_add_test(tc, bulkhead_add_show_in_flight);
	tcase_add_test(tc, cache_get_and_drop);
	tcase_add_test(tc, full_and_capacities);
	tcase_add_test(tc, config_sections);
	tcase_add_test(tc, status_and_metrics);
	tcase_add_test(tc, unknown_names_and_bad_words);
	suite_add_tcase(s, tc);
	return s;
}
