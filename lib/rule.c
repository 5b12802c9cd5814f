/*
 * rule.c — the rate-rule grammar, in the notation of Python's limits/slowapi
 * so that a service's rules carry over from Python unchanged (this side is
 * stricter in one way: "per" must stand apart as a word):
 *
 *	rule   := limit ( SEP limit )*            at most FBX_RULE_LIMITS_MAX
 *	SEP    := ";" | "," | "|"
 *	limit  := COUNT "/" [N] UNIT
 *	        | COUNT WS "per" WS [N] UNIT       ("per" in any case)
 *	UNIT   := second | sec | minute | min | hour | hr | day | month | year,
 *	          each with an optional plural "s", in any case; as in limits,
 *	          a month is 30 days and a year 12 of them (360 days)
 *
 * Blanks may surround every token.  COUNT and N are decimal digits only
 * (leading zeros are read as decimal); COUNT is 1..2^32-1 and N * UNIT is at
 * most 366 days.  The text may be at most FBX_RULE_TEXT_MAX - 1 bytes so it
 * always fits the copy a limiter keeps in the box.
 *
 * The first problem from the left decides the error; *where gets its byte
 * offset.  A period that is too long is reported at N, but only once its
 * unit is known, since N alone does not tell.
 */
#include <stdint.h>
#include <string.h>

#include "fusebox.h"

#define NS_PER_SEC 1000000000ull
#define SEC_PER_DAY 86400ull
/* A year, leap day included, is the longest window worth keeping. */
#define PERIOD_MAX_SEC (366 * SEC_PER_DAY)
/* Numbers saturate here: one past the largest COUNT is enough to reject
 * it, and every N that large is beyond PERIOD_MAX_SEC anyway. */
#define NUMBER_CAP ((uint64_t)UINT32_MAX + 1)

struct unit {
	const char *name;
	const char *abbrev;
	uint64_t sec;
};

/* Largest first: fbx_rule_format() takes the first that divides. */
static const struct unit units[] = {
	{ "year", NULL, 360 * SEC_PER_DAY },
	{ "month", NULL, 30 * SEC_PER_DAY },
	{ "day", NULL, SEC_PER_DAY },
	{ "hour", "hr", 3600 },
	{ "minute", "min", 60 },
	{ "second", "sec", 1 },
};

#define UNIT_COUNT (sizeof(units) / sizeof(units[0]))

struct cursor {
	const char *text;
	size_t pos;
};

/* Character classes by hand: ctype.h follows the locale, the grammar
 * must not.  Blanks are spaces only: a rule is echoed to terminals (the
 * console, error messages), and a carriage return or an escape in it
 * could rewrite what an operator sees, so every control character is a
 * syntax error. */
static int is_space(char ch)
{
	return ch == ' ';
}

static int is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static int is_alpha(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static char to_lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

static int is_sep(char ch)
{
	return ch == ';' || ch == ',' || ch == '|';
}

static char peek(const struct cursor *c)
{
	return c->text[c->pos];
}

static size_t skip_space(struct cursor *c)
{
	size_t from = c->pos;

	while (is_space(peek(c)))
		c->pos++;
	return c->pos - from;
}

static size_t word_len(const char *s)
{
	size_t n = 0;

	while (is_alpha(s[n]))
		n++;
	return n;
}

/* Whether s[0..len) is word, ignoring case. */
static int word_is(const char *s, size_t len, const char *word)
{
	size_t i;

	if (!word || strlen(word) != len)
		return 0;
	for (i = 0; i < len; i++)
		if (to_lower(s[i]) != word[i])
			return 0;
	return 1;
}

/* Singular or plural, whatever N says: limits accepts "100/minutes" too. */
static int unit_matches(const char *s, size_t len, const char *word)
{
	if (word_is(s, len, word))
		return 1;
	return len > 1 && to_lower(s[len - 1]) == 's' &&
	       word_is(s, len - 1, word);
}

static const struct unit *unit_find(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < UNIT_COUNT; i++)
		if (unit_matches(s, len, units[i].name) ||
		    unit_matches(s, len, units[i].abbrev))
			return &units[i];
	return NULL;
}

/* Reads digits, saturating at NUMBER_CAP; returns how many there were. */
static size_t scan_number(struct cursor *c, uint64_t *val)
{
	size_t from = c->pos;
	uint64_t v = 0;

	while (is_digit(peek(c))) {
		v = v * 10 + (uint64_t)(peek(c) - '0');
		if (v > NUMBER_CAP)
			v = NUMBER_CAP;
		c->pos++;
	}
	*val = v;
	return c->pos - from;
}

/*
 * "/" or " per ".  "per" must stand apart as a word: "10perminute" and
 * "10 perminute" are typos more often than rules, so they are refused.
 */
static int parse_divider(struct cursor *c)
{
	size_t gap = skip_space(c);
	const char *s = c->text + c->pos;
	size_t len;

	if (*s == '/') {
		c->pos++;
		return 0;
	}
	len = word_len(s);
	if (!gap || !word_is(s, len, "per"))
		return FBX_ERULE;
	c->pos += len;
	return is_space(peek(c)) ? 0 : FBX_ERULE;
}

static int parse_period(struct cursor *c, uint64_t *period_ns)
{
	const struct unit *u;
	uint64_t n;
	size_t n_at, len;

	skip_space(c);
	n_at = c->pos;
	if (!scan_number(c, &n)) {
		n = 1;
	} else if (n == 0) {
		c->pos = n_at;
		return FBX_ERULE;
	}
	skip_space(c);
	len = word_len(c->text + c->pos);
	u = unit_find(c->text + c->pos, len);
	if (!u)
		return FBX_ERULE;
	c->pos += len;
	if (n > PERIOD_MAX_SEC / u->sec) {
		c->pos = n_at;
		return FBX_ERANGE;
	}
	*period_ns = n * u->sec * NS_PER_SEC;
	return 0;
}

/* On error c->pos is left at the problem. */
static int parse_limit(struct cursor *c, uint64_t *count, uint64_t *period_ns)
{
	size_t at = c->pos;
	uint64_t cnt;
	int err;

	if (!scan_number(c, &cnt) || cnt == 0) {
		c->pos = at;
		return FBX_ERULE;
	}
	if (cnt > UINT32_MAX) {
		c->pos = at;
		return FBX_ERANGE;
	}
	err = parse_divider(c);
	if (!err)
		err = parse_period(c, period_ns);
	if (!err)
		*count = cnt;
	return err;
}

/* Looks no further than the limit, so an unterminated buffer of that size
 * is safe to offer. */
static int too_long(const char *text)
{
	size_t i;

	for (i = 0; i < FBX_RULE_TEXT_MAX; i++)
		if (text[i] == '\0')
			return 0;
	return 1;
}

int fbx_rule_parse(const char *text, fbx_rule *rule, size_t *where)
{
	struct cursor c = { text, 0 };
	fbx_rule r;
	int err;

	if (!text || !rule)
		return FBX_EINVAL;
	if (too_long(text)) {
		c.pos = FBX_RULE_TEXT_MAX - 1;
		err = FBX_ERULE;
		goto fail;
	}
	/* The caller's rule stays as it was unless the whole text is good. */
	memset(&r, 0, sizeof(r));
	for (;;) {
		skip_space(&c);
		if (r.n == FBX_RULE_LIMITS_MAX) {
			err = FBX_ERULE;
			goto fail;
		}
		err = parse_limit(&c, &r.limit[r.n].count,
				  &r.limit[r.n].period_ns);
		if (err)
			goto fail;
		r.n++;
		skip_space(&c);
		if (peek(&c) == '\0')
			break;
		if (!is_sep(peek(&c))) {
			err = FBX_ERULE;
			goto fail;
		}
		c.pos++;
	}
	*rule = r;
	return 0;
fail:
	if (where)
		*where = c.pos;
	return err;
}

struct out {
	char *buf;
	size_t len;
	size_t pos;
	int full;
};

/* Keeps one byte for the NUL that fbx_rule_format() always writes. */
static void put_char(struct out *o, char ch)
{
	if (o->pos + 1 >= o->len) {
		o->full = 1;
		return;
	}
	o->buf[o->pos++] = ch;
}

static void put_str(struct out *o, const char *s)
{
	while (*s)
		put_char(o, *s++);
}

static void put_u64(struct out *o, uint64_t v)
{
	char digits[20];
	size_t n = 0;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		put_char(o, digits[--n]);
}

/* Only what the parser could have produced, so the text always reparses. */
static int limit_ok(uint64_t count, uint64_t period_ns)
{
	return count >= 1 && count <= UINT32_MAX && period_ns != 0 &&
	       period_ns % NS_PER_SEC == 0 &&
	       period_ns / NS_PER_SEC <= PERIOD_MAX_SEC;
}

static void put_limit(struct out *o, uint64_t count, uint64_t period_ns)
{
	uint64_t sec = period_ns / NS_PER_SEC;
	const struct unit *u = &units[0];

	while (sec % u->sec)
		u++;
	put_u64(o, count);
	put_char(o, '/');
	if (sec == u->sec) {
		put_str(o, u->name);
		return;
	}
	put_u64(o, sec / u->sec);
	put_char(o, ' ');
	put_str(o, u->name);
	put_char(o, 's');
}

int fbx_rule_format(const fbx_rule *rule, char *buf, size_t len)
{
	struct out o = { buf, len, 0, 0 };
	uint32_t i;

	if (!buf)
		return FBX_EINVAL;
	if (len)
		buf[0] = '\0';
	if (!rule || rule->n == 0 || rule->n > FBX_RULE_LIMITS_MAX)
		return FBX_EINVAL;
	for (i = 0; i < rule->n; i++)
		if (!limit_ok(rule->limit[i].count, rule->limit[i].period_ns))
			return FBX_EINVAL;
	for (i = 0; i < rule->n; i++) {
		if (i)
			put_char(&o, ';');
		put_limit(&o, rule->limit[i].count, rule->limit[i].period_ns);
	}
	if (o.full) {
		/* A cut rule, "100/minute" out of "100/minute;5/second",
		 * would parse as another rule: give nothing instead. */
		if (len)
			buf[0] = '\0';
		return FBX_ERANGE;
	}
	buf[o.pos] = '\0';
	return 0;
}
