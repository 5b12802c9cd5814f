/* test_rule.c — the rate-rule grammar: what parses, what does not and where,
 * and that the canonical text reads back as the same rule. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "fusebox.h"
#include "suites.h"

#define S(x) ((uint64_t)(x) * 1000000000ull)
#define MIN(x) S((uint64_t)(x) * 60)
#define HOUR(x) S((uint64_t)(x) * 3600)
#define DAY(x) S((uint64_t)(x) * 86400)

#define SENTINEL 0xa5
#define WHERE_UNSET ((size_t)0xdeadbeef)

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A rule full of a byte no parse writes, to see that errors leave it alone. */
static void prefill(fbx_rule *r)
{
	memset(r, SENTINEL, sizeof(*r));
}

static int untouched(const fbx_rule *r)
{
	const unsigned char *p = (const unsigned char *)r;
	size_t i;

	for (i = 0; i < sizeof(*r); i++)
		if (p[i] != SENTINEL)
			return 0;
	return 1;
}

static void rule_set(fbx_rule *r, uint32_t n, const uint64_t *count,
		     const uint64_t *period_ns)
{
	uint32_t i;

	memset(r, 0, sizeof(*r));
	r->n = n;
	for (i = 0; i < n && i < FBX_RULE_LIMITS_MAX; i++) {
		r->limit[i].count = count[i];
		r->limit[i].period_ns = period_ns[i];
	}
}

static void assert_same_rule(const fbx_rule *a, const fbx_rule *b,
			     const char *text)
{
	uint32_t i;

	ck_assert_msg(a->n == b->n, "\"%s\": n %u vs %u", text, a->n, b->n);
	for (i = 0; i < a->n; i++) {
		ck_assert_msg(a->limit[i].count == b->limit[i].count,
			      "\"%s\": limit %u count differs", text, i);
		ck_assert_msg(a->limit[i].period_ns == b->limit[i].period_ns,
			      "\"%s\": limit %u period differs", text, i);
	}
}

/* ---- good rules ---------------------------------------------------- */

static const struct good {
	const char *text;
	uint32_t n;
	uint64_t count[FBX_RULE_LIMITS_MAX];
	uint64_t period_ns[FBX_RULE_LIMITS_MAX];
} goods[] = {
	{ "100/minute", 1, { 100 }, { MIN(1) } },
	{ "10 per second", 1, { 10 }, { S(1) } },
	{ "5/second;100/minute", 2, { 5, 100 }, { S(1), MIN(1) } },
	{ "30/5 minutes", 1, { 30 }, { MIN(5) } },
	{ "1 per 2 hours", 1, { 1 }, { HOUR(2) } },
	{ "10/Second", 1, { 10 }, { S(1) } },
	{ "  7 / 3 days ", 1, { 7 }, { DAY(3) } },
	{ "5/second, 100/minute | 1000/day", 3,
	  { 5, 100, 1000 }, { S(1), MIN(1), DAY(1) } },
	{ "100/minutes", 1, { 100 }, { MIN(1) } },
	{ "1/seconds", 1, { 1 }, { S(1) } },
	{ "1/sec", 1, { 1 }, { S(1) } },
	{ "1/secs", 1, { 1 }, { S(1) } },
	{ "1/min", 1, { 1 }, { MIN(1) } },
	{ "1/mins", 1, { 1 }, { MIN(1) } },
	{ "1/hour", 1, { 1 }, { HOUR(1) } },
	{ "1/hr", 1, { 1 }, { HOUR(1) } },
	{ "1/hrs", 1, { 1 }, { HOUR(1) } },
	{ "1/day", 1, { 1 }, { DAY(1) } },
	{ "1/DAYS", 1, { 1 }, { DAY(1) } },
	/* months and years as Python's limits counts them: 30 and 360 days */
	{ "1 per month", 1, { 1 }, { DAY(30) } },
	{ "1/MONTH", 1, { 1 }, { DAY(30) } },
	{ "1 / year", 1, { 1 }, { DAY(360) } },
	{ "5 per 2 months", 1, { 5 }, { DAY(60) } },
	{ "1/years", 1, { 1 }, { DAY(360) } },
	{ "10/second;1000/month", 2, { 10, 1000 }, { S(1), DAY(30) } },
	{ "3 PER 4 Hrs", 1, { 3 }, { HOUR(4) } },
	{ "3 Per minute", 1, { 3 }, { MIN(1) } },
	{ "30/5 minute", 1, { 30 }, { MIN(5) } },
	{ "30/5minutes", 1, { 30 }, { MIN(5) } },
	{ "5/1 minute", 1, { 5 }, { MIN(1) } },
	{ "007/010 seconds", 1, { 7 }, { S(10) } },
	{ "1/second;2/second;3/second", 3, { 1, 2, 3 }, { S(1), S(1), S(1) } },
	{ "1/second|2/minute", 2, { 1, 2 }, { S(1), MIN(1) } },
	{ " 1 / second ; 2 per minute , 3/hour ", 3,
	  { 1, 2, 3 }, { S(1), MIN(1), HOUR(1) } },
	/* the edges of what fits */
	{ "4294967295/second", 1, { 4294967295u }, { S(1) } },
	{ "1/366 days", 1, { 1 }, { DAY(366) } },
	{ "1/8784 hours", 1, { 1 }, { DAY(366) } },
	{ "1/527040 minutes", 1, { 1 }, { DAY(366) } },
	{ "1/31622400 seconds", 1, { 1 }, { DAY(366) } },
	{ "1/00000000000000000000031622400 seconds", 1, { 1 }, { DAY(366) } },
	{ "00000000000000000000001/second", 1, { 1 }, { S(1) } },
};

START_TEST(parse_good)
{
	const struct good *g = &goods[_i];
	size_t where = WHERE_UNSET;
	fbx_rule r;
	uint32_t i;
	int rc;

	prefill(&r);
	rc = fbx_rule_parse(g->text, &r, &where);
	ck_assert_msg(rc == 0, "\"%s\": rc %d at %zu", g->text, rc, where);
	ck_assert_msg(where == WHERE_UNSET, "\"%s\": where written", g->text);
	ck_assert_msg(r.n == g->n, "\"%s\": n %u, want %u", g->text, r.n, g->n);
	for (i = 0; i < g->n; i++) {
		ck_assert_msg(r.limit[i].count == g->count[i],
			      "\"%s\": limit %u count %llu, want %llu", g->text,
			      i, (unsigned long long)r.limit[i].count,
			      (unsigned long long)g->count[i]);
		ck_assert_msg(r.limit[i].period_ns == g->period_ns[i],
			      "\"%s\": limit %u period %llu, want %llu",
			      g->text, i,
			      (unsigned long long)r.limit[i].period_ns,
			      (unsigned long long)g->period_ns[i]);
	}
	/* Unused limits are zero, so rules compare and hash the same. */
	for (; i < FBX_RULE_LIMITS_MAX; i++) {
		ck_assert_uint_eq(r.limit[i].count, 0);
		ck_assert_uint_eq(r.limit[i].period_ns, 0);
	}
	/* where is optional */
	prefill(&r);
	ck_assert_int_eq(fbx_rule_parse(g->text, &r, NULL), 0);
	ck_assert_uint_eq(r.n, g->n);
}
END_TEST

/* ---- bad rules ----------------------------------------------------- */

static const struct bad {
	const char *text;
	int err;
	size_t where;
} bads[] = {
	{ "", FBX_ERULE, 0 },
	/* control characters are not blanks: they would reach terminals */
	{ "3\tper\t2\tmin", FBX_ERULE, 1 },
	{ "\n1/day", FBX_ERULE, 0 },
	{ "1/day\r", FBX_ERULE, 5 },
	{ "10/\x1b[2Jsecond", FBX_ERULE, 3 },
	{ "10\v/second", FBX_ERULE, 2 },
	{ "   ", FBX_ERULE, 3 },
	{ "abc", FBX_ERULE, 0 },
	{ "10/", FBX_ERULE, 3 },
	{ "10", FBX_ERULE, 2 },
	{ "10 ", FBX_ERULE, 3 },
	{ "/minute", FBX_ERULE, 0 },
	{ "minute", FBX_ERULE, 0 },
	{ "100/fortnight", FBX_ERULE, 4 },
	{ "100/week", FBX_ERULE, 4 },
	{ "1 per millienium", FBX_ERULE, 6 },
	{ "1 per year; 2 per decade", FBX_ERULE, 18 },
	{ "1/mon", FBX_ERULE, 2 },
	{ "1/yr", FBX_ERULE, 2 },
	{ "0/minute", FBX_ERULE, 0 },
	{ "000/minute", FBX_ERULE, 0 },
	{ "-5/second", FBX_ERULE, 0 },
	{ "+5/second", FBX_ERULE, 0 },
	{ "5/-1 seconds", FBX_ERULE, 2 },
	{ "5/+2 seconds", FBX_ERULE, 2 },
	{ "5/0 minutes", FBX_ERULE, 2 },
	{ "5//minute", FBX_ERULE, 2 },
	{ "5/minute;", FBX_ERULE, 9 },
	{ "5/minute; ", FBX_ERULE, 10 },
	{ ";5/minute", FBX_ERULE, 0 },
	{ "5/minute;;10/hour", FBX_ERULE, 9 },
	{ "5/minute ; ; 10/hour", FBX_ERULE, 11 },
	{ "5/minute 10/hour", FBX_ERULE, 9 },
	{ "10perminute", FBX_ERULE, 2 },
	{ "10per minute", FBX_ERULE, 2 },
	{ "10 perminute", FBX_ERULE, 3 },
	{ "10 per5 minutes", FBX_ERULE, 6 },
	{ "10 per", FBX_ERULE, 6 },
	{ "10 per ", FBX_ERULE, 7 },
	{ "10 pr minute", FBX_ERULE, 3 },
	{ "10 per / minute", FBX_ERULE, 7 },
	{ "10/per minute", FBX_ERULE, 3 },
	{ "10 per per minute", FBX_ERULE, 7 },
	{ "5/minute x", FBX_ERULE, 9 },
	{ "5/minutex", FBX_ERULE, 2 },
	{ "5/minute2", FBX_ERULE, 8 },
	{ "5/minute.", FBX_ERULE, 8 },
	{ "1.5/second", FBX_ERULE, 1 },
	{ "5/1.5 seconds", FBX_ERULE, 3 },
	{ "1e3/second", FBX_ERULE, 1 },
	{ "0x10/second", FBX_ERULE, 0 },
	{ "5/s", FBX_ERULE, 2 },
	{ "5/m", FBX_ERULE, 2 },
	{ "5/h", FBX_ERULE, 2 },
	{ "5/d", FBX_ERULE, 2 },
	{ "5/ss", FBX_ERULE, 2 },
	{ "5/secondss", FBX_ERULE, 2 },
	{ "5/minute:10/hour", FBX_ERULE, 8 },
	{ "5/minute\xc2\xa0", FBX_ERULE, 8 },
	{ "5/minut\xc3\xa9", FBX_ERULE, 2 },
	{ "1/second;2/second;3/second;4/second", FBX_ERULE, 27 },
	{ "1/second;2/second;3/second;", FBX_ERULE, 27 },
	/* numbers beyond what the layout holds */
	{ "4294967296/second", FBX_ERANGE, 0 },
	{ "99999999999999999999999999/second", FBX_ERANGE, 0 },
	{ "5/second;4294967296/minute", FBX_ERANGE, 9 },
	{ "1/367 days", FBX_ERANGE, 2 },
	{ "1/2 years", FBX_ERANGE, 2 },
	{ "1/13 months", FBX_ERANGE, 2 },
	{ "1/8785 hours", FBX_ERANGE, 2 },
	{ "1/527041 minutes", FBX_ERANGE, 2 },
	{ "1/31622401 seconds", FBX_ERANGE, 2 },
	{ "1 per 99999999999999999999 seconds", FBX_ERANGE, 6 },
	{ "1/18446744073709551617 days", FBX_ERANGE, 2 },
	/* the first problem from the left wins */
	{ "1/367 days;x", FBX_ERANGE, 2 },
	{ "1/99999 fortnights", FBX_ERULE, 8 },
	{ "x;1/367 days", FBX_ERULE, 0 },
};

START_TEST(parse_bad)
{
	const struct bad *b = &bads[_i];
	size_t where = WHERE_UNSET;
	fbx_rule r;
	int rc;

	prefill(&r);
	rc = fbx_rule_parse(b->text, &r, &where);
	ck_assert_msg(rc == b->err, "\"%s\": rc %d, want %d", b->text, rc,
		      b->err);
	ck_assert_msg(where == b->where, "\"%s\": where %zu, want %zu",
		      b->text, where, b->where);
	ck_assert_msg(untouched(&r), "\"%s\": rule written on error", b->text);
	/* where is optional */
	ck_assert_int_eq(fbx_rule_parse(b->text, &r, NULL), b->err);
	ck_assert_msg(untouched(&r), "\"%s\": rule written on error", b->text);
}
END_TEST

START_TEST(parse_null)
{
	size_t where = WHERE_UNSET;
	fbx_rule r;

	prefill(&r);
	ck_assert_int_eq(fbx_rule_parse(NULL, &r, &where), FBX_EINVAL);
	ck_assert(untouched(&r));
	ck_assert_uint_eq(where, WHERE_UNSET);
	ck_assert_int_eq(fbx_rule_parse("100/minute", NULL, &where),
			 FBX_EINVAL);
	ck_assert_uint_eq(where, WHERE_UNSET);
	ck_assert_int_eq(fbx_rule_parse("bad", NULL, &where), FBX_EINVAL);
	ck_assert_int_eq(fbx_rule_parse(NULL, NULL, NULL), FBX_EINVAL);
}
END_TEST

/* FBX_RULE_TEXT_MAX - 1 bytes is the most a box can keep, blanks included. */
START_TEST(parse_length)
{
	char text[FBX_RULE_TEXT_MAX + 8];
	size_t where = WHERE_UNSET;
	size_t len;
	fbx_rule r;

	for (len = 10; len <= FBX_RULE_TEXT_MAX + 4; len++) {
		memset(text, ' ', len);
		memcpy(text, "100/minute", 10);
		text[len] = '\0';
		prefill(&r);
		where = WHERE_UNSET;
		if (len <= FBX_RULE_TEXT_MAX - 1) {
			ck_assert_int_eq(fbx_rule_parse(text, &r, &where), 0);
			ck_assert_uint_eq(r.limit[0].count, 100);
		} else {
			ck_assert_int_eq(fbx_rule_parse(text, &r, &where),
					 FBX_ERULE);
			ck_assert_uint_eq(where, FBX_RULE_TEXT_MAX - 1);
			ck_assert(untouched(&r));
		}
	}
}
END_TEST

/* The length is checked before anything else: a good start does not help. */
START_TEST(parse_length_unterminated)
{
	char text[FBX_RULE_TEXT_MAX];
	size_t where = WHERE_UNSET;
	fbx_rule r;

	/* exactly FBX_RULE_TEXT_MAX bytes and no NUL: must not read past */
	memset(text, '1', sizeof(text));
	prefill(&r);
	ck_assert_int_eq(fbx_rule_parse(text, &r, &where), FBX_ERULE);
	ck_assert_uint_eq(where, FBX_RULE_TEXT_MAX - 1);
	ck_assert(untouched(&r));
}
END_TEST

/* ---- format -------------------------------------------------------- */

static const struct canon {
	const char *text;
	const char *want;
} canons[] = {
	{ "100/minute", "100/minute" },
	{ "10 per second", "10/second" },
	{ "5/second;100/minute", "5/second;100/minute" },
	{ "100/minute;5/second", "100/minute;5/second" },
	{ "30/5 minutes", "30/5 minutes" },
	{ "1 per 2 hours", "1/2 hours" },
	{ "10/Second", "10/second" },
	{ "  7 / 3 days ", "7/3 days" },
	{ "5/second, 100/minute | 1000/day", "5/second;100/minute;1000/day" },
	{ "100/minutes", "100/minute" },
	{ "5/1 minute", "5/minute" },
	{ "1/60 seconds", "1/minute" },
	{ "1/90 seconds", "1/90 seconds" },
	{ "1/120 sec", "1/2 minutes" },
	{ "1/120 minutes", "1/2 hours" },
	{ "1/90 minutes", "1/90 minutes" },
	{ "1/24 hrs", "1/day" },
	{ "1/36 hours", "1/36 hours" },
	{ "1/48 hours", "1/2 days" },
	{ "1/86401 seconds", "1/86401 seconds" },
	{ "1/366 days", "1/366 days" },
	{ "1/30 days", "1/month" },
	{ "1/60 days", "1/2 months" },
	{ "1/360 days", "1/year" },
	{ "3 per 12 months", "3/year" },
	{ "1/31 days", "1/31 days" },
	{ "007/010 seconds", "7/10 seconds" },
	{ "4294967295/31622399 seconds;4294967295/31622399 seconds;"
	  "4294967295/31622399 seconds",
	  "4294967295/31622399 seconds;4294967295/31622399 seconds;"
	  "4294967295/31622399 seconds" },
};

START_TEST(format_canonical)
{
	const struct canon *k = &canons[_i];
	char buf[FBX_RULE_TEXT_MAX];
	fbx_rule r, again;

	ck_assert_int_eq(fbx_rule_parse(k->text, &r, NULL), 0);
	memset(buf, 'Z', sizeof(buf));
	ck_assert_int_eq(fbx_rule_format(&r, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, k->want);
	ck_assert_int_eq(fbx_rule_parse(buf, &again, NULL), 0);
	assert_same_rule(&r, &again, k->text);
}
END_TEST

/* Every good rule reads back the same after a format. */
START_TEST(format_round_trip_goods)
{
	const struct good *g = &goods[_i];
	char buf[FBX_RULE_TEXT_MAX];
	fbx_rule r, again;

	ck_assert_int_eq(fbx_rule_parse(g->text, &r, NULL), 0);
	ck_assert_int_eq(fbx_rule_format(&r, buf, sizeof(buf)), 0);
	ck_assert_int_eq(fbx_rule_parse(buf, &again, NULL), 0);
	assert_same_rule(&r, &again, g->text);
}
END_TEST

/* Every period a parse can give, in a stride that touches each unit. */
START_TEST(format_round_trip_periods)
{
	const uint64_t max_sec = 366ull * 86400;
	const uint64_t count[3] = { 1, 4294967295u, 77 };
	char buf[FBX_RULE_TEXT_MAX];
	uint64_t period[3];
	fbx_rule r, again;
	uint64_t sec;

	for (sec = 1; sec <= max_sec; sec += sec < 100000 ? 1 : 997) {
		period[0] = S(sec);
		period[1] = S(max_sec - sec + 1);
		period[2] = S(sec * 60 <= max_sec ? sec * 60 : sec);
		rule_set(&r, 3, count, period);
		ck_assert_int_eq(fbx_rule_format(&r, buf, sizeof(buf)), 0);
		ck_assert_msg(fbx_rule_parse(buf, &again, NULL) == 0,
			      "\"%s\" does not reparse", buf);
		assert_same_rule(&r, &again, buf);
	}
}
END_TEST

static const struct bad_format {
	uint32_t n;
	uint64_t count[FBX_RULE_LIMITS_MAX];
	uint64_t period_ns[FBX_RULE_LIMITS_MAX];
} bad_formats[] = {
	{ 0, { 0 }, { 0 } },
	{ FBX_RULE_LIMITS_MAX + 1, { 1, 1, 1 }, { S(1), S(1), S(1) } },
	{ UINT32_MAX, { 1, 1, 1 }, { S(1), S(1), S(1) } },
	{ 1, { 0 }, { S(1) } },
	{ 1, { 4294967296ull }, { S(1) } },
	{ 1, { UINT64_MAX }, { S(1) } },
	{ 1, { 1 }, { 0 } },
	{ 1, { 1 }, { 1 } },
	{ 1, { 1 }, { 1500000000ull } },
	{ 1, { 1 }, { S(1) - 1 } },
	{ 1, { 1 }, { DAY(366) + S(1) } },
	{ 1, { 1 }, { UINT64_MAX } },
	/* one bad limit spoils the rule, wherever it is */
	{ 3, { 1, 2, 0 }, { S(1), S(1), S(1) } },
	{ 2, { 1, 2 }, { S(1), 5 } },
};

START_TEST(format_invalid)
{
	const struct bad_format *f = &bad_formats[_i];
	char buf[FBX_RULE_TEXT_MAX];
	fbx_rule r;

	rule_set(&r, f->n, f->count, f->period_ns);
	memset(buf, 'Z', sizeof(buf));
	ck_assert_int_eq(fbx_rule_format(&r, buf, sizeof(buf)), FBX_EINVAL);
	ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(format_null)
{
	char buf[FBX_RULE_TEXT_MAX];
	fbx_rule r;

	ck_assert_int_eq(fbx_rule_parse("100/minute", &r, NULL), 0);
	ck_assert_int_eq(fbx_rule_format(&r, NULL, 0), FBX_EINVAL);
	ck_assert_int_eq(fbx_rule_format(&r, NULL, sizeof(buf)), FBX_EINVAL);
	memset(buf, 'Z', sizeof(buf));
	ck_assert_int_eq(fbx_rule_format(NULL, buf, sizeof(buf)), FBX_EINVAL);
	ck_assert_str_eq(buf, "");
}
END_TEST

/*
 * Each length short of the text gives FBX_ERANGE and an empty string (a cut
 * rule could parse as another rule), never a byte past len.
 */
static const char *const small_texts[] = {
	"100/minute",
	"5/second;100/minute",
	"30/5 minutes",
	"1/second;2/3 hours;4294967295/366 days",
};

START_TEST(format_small_buffer)
{
	const char *text = small_texts[_i];
	size_t need = strlen(text) + 1;
	char buf[FBX_RULE_TEXT_MAX + 1];
	fbx_rule r;
	size_t len, i;

	ck_assert_int_eq(fbx_rule_parse(text, &r, NULL), 0);
	for (len = 0; len <= need; len++) {
		memset(buf, 'Z', sizeof(buf));
		if (len < need) {
			ck_assert_int_eq(fbx_rule_format(&r, buf, len),
					 FBX_ERANGE);
			if (len)
				ck_assert_int_eq(buf[0], '\0');
			else
				ck_assert_int_eq(buf[0], 'Z');
		} else {
			ck_assert_int_eq(fbx_rule_format(&r, buf, len), 0);
			ck_assert_str_eq(buf, text);
		}
		for (i = len ? len : 1; i < sizeof(buf); i++)
			ck_assert_msg(buf[i] == 'Z',
				      "len %zu: byte %zu written", len, i);
	}
}
END_TEST

/* The longest canonical text still fits what a box keeps. */
START_TEST(format_longest_fits)
{
	const uint64_t count[3] = { 4294967295u, 4294967295u, 4294967295u };
	const uint64_t period[3] = { S(31622399), S(31622399), S(31622399) };
	char buf[FBX_RULE_TEXT_MAX];
	fbx_rule r;

	rule_set(&r, 3, count, period);
	ck_assert_int_eq(fbx_rule_format(&r, buf, sizeof(buf)), 0);
	ck_assert_uint_lt(strlen(buf), FBX_RULE_TEXT_MAX);
}
END_TEST

FBX_TEST_SUITE(rule)
{
	Suite *s = suite_create("rule");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, parse_good, 0, (int)ARRAY_LEN(goods));
	tcase_add_loop_test(tc, parse_bad, 0, (int)ARRAY_LEN(bads));
	tcase_add_test(tc, parse_null);
	tcase_add_test(tc, parse_length);
	tcase_add_test(tc, parse_length_unterminated);
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_loop_test(tc, format_canonical, 0, (int)ARRAY_LEN(canons));
	tcase_add_loop_test(tc, format_round_trip_goods, 0,
			    (int)ARRAY_LEN(goods));
	tcase_add_test(tc, format_round_trip_periods);
	tcase_add_loop_test(tc, format_invalid, 0, (int)ARRAY_LEN(bad_formats));
	tcase_add_test(tc, format_null);
	tcase_add_loop_test(tc, format_small_buffer, 0,
			    (int)ARRAY_LEN(small_texts));
	tcase_add_test(tc, format_longest_fits);
	suite_add_tcase(s, tc);

	return s;
}
