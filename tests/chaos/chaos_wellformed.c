/*
 * chaos_wellformed.c — is what a reader printed well-formed?
 *
 * A scribbled name or rule must reach a script as data, never as syntax
 * or as terminal control: `status --json` and `events --json` must stay
 * JSON (RFC 8259, checked here by a small recursive-descent reader, as no
 * JSON library is installed), `metrics` must stay one sample per line of
 * the Prometheus text format, plain text must hold no control byte but
 * newlines, and the console's screen model must stay printable text
 * inside its rows and columns.
 */
#include <stdio.h>
#include <string.h>

#include "screen.h"
#include "chaos_scribble.h"

/* ---- JSON ------------------------------------------------------------------- */

#define JSON_DEPTH_MAX 32

struct cur {
	const char *p, *end;
	const char *why;
};

static bool fail(struct cur *c, const char *why)
{
	if (c->why == NULL)
		c->why = why;
	return false;
}

static int peekc(const struct cur *c)
{
	return c->p < c->end ? (unsigned char)*c->p : -1;
}

static void space(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\t' || *c->p == '\r'))
		c->p++;
}

static bool hexdigit(int ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* fuseboxctl escapes everything outside printable ASCII: anything else
 * inside a string is a byte that escaped the escaping. */
static bool string(struct cur *c)
{
	if (peekc(c) != '"')
		return fail(c, "a string expected");
	c->p++;
	while (c->p < c->end) {
		unsigned char ch = (unsigned char)*c->p++;
		if (ch == '"')
			return true;
		if (ch < 0x20 || ch >= 0x7f)
			return fail(c, "a raw control or non-ASCII byte inside a string");
		if (ch != '\\')
			continue;
		int e = peekc(c);
		c->p++;
		if (e == 'u') {
			for (int i = 0; i < 4; i++, c->p++)
				if (!hexdigit(peekc(c)))
					return fail(c, "a bad \\u escape");
		} else if (e < 0 || strchr("\"\\/bfnrt", e) == NULL) {
			return fail(c, "a bad escape");
		}
	}
	return fail(c, "an unterminated string");
}

static size_t digits(struct cur *c)
{
	size_t n = 0;
	while (peekc(c) >= '0' && peekc(c) <= '9')
		c->p++, n++;
	return n;
}

static bool number(struct cur *c)
{
	if (peekc(c) == '-')
		c->p++;
	if (peekc(c) == '0')
		c->p++;
	else if (digits(c) == 0)
		return fail(c, "a bad number");
	if (peekc(c) == '.') {
		c->p++;
		if (digits(c) == 0)
			return fail(c, "a bad fraction");
	}
	if (peekc(c) == 'e' || peekc(c) == 'E') {
		c->p++;
		if (peekc(c) == '+' || peekc(c) == '-')
			c->p++;
		if (digits(c) == 0)
			return fail(c, "a bad exponent");
	}
	return true;
}

static bool literal(struct cur *c, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
		return fail(c, "an unknown word");
	c->p += n;
	return true;
}

static bool value(struct cur *c, int depth);

/* The members of an object or the elements of an array, up to close. */
static bool members(struct cur *c, char close, int depth)
{
	c->p++;
	space(c);
	if (peekc(c) == close) {
		c->p++;
		return true;
	}
	for (int guard = 0; guard < (1 << 24); guard++) {
		space(c);
		if (close == '}') {
			if (!string(c))
				return false;
			space(c);
			if (peekc(c) != ':')
				return fail(c, "':' expected");
			c->p++;
		}
		if (!value(c, depth + 1))
			return false;
		space(c);
		if (peekc(c) == close) {
			c->p++;
			return true;
		}
		if (peekc(c) != ',')
			return fail(c, close == '}' ? "',' or '}' expected" : "',' or ']' expected");
		c->p++;
	}
	return fail(c, "too many members");
}

static bool value(struct cur *c, int depth)
{
	if (depth > JSON_DEPTH_MAX)
		return fail(c, "nested too deep");
	space(c);
	switch (peekc(c)) {
	case '{': return members(c, '}', depth);
	case '[': return members(c, ']', depth);
	case '"': return string(c);
	case 't': return literal(c, "true");
	case 'f': return literal(c, "false");
	case 'n': return literal(c, "null");
	case -1: return fail(c, "the text ends early");
	default: return number(c);
	}
}

const char *chaos_json_problem(const char *text, size_t len, char *buf, size_t blen)
{
	struct cur c = {text, text + len, NULL};
	if (value(&c, 0)) {
		space(&c);
		if (c.p != c.end)
			c.why = "more after the value";
	}
	if (c.why == NULL)
		return NULL;
	size_t at = (size_t)(c.p - text);
	size_t from = at > 40 ? at - 40 : 0;
	char near[120];
	size_t k = 0;
	for (size_t i = from; i < len && i < at + 40 && k + 5 < sizeof(near); i++) {
		unsigned char ch = (unsigned char)text[i];
		if (ch >= 0x20 && ch < 0x7f)
			near[k++] = (char)ch;
		else
			k += (size_t)snprintf(near + k, 5, "\\x%02x", ch);
	}
	near[k] = '\0';
	snprintf(buf, blen, "not JSON at byte %zu of %zu: %s (near \"%s\")", at, len, c.why, near);
	return buf;
}

/* ---- Prometheus text format ---------------------------------------------------- */

static bool name_char(char ch, bool first)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == ':' ||
	       (!first && ch >= '0' && ch <= '9');
}

/* One sample line: name{label="value",...} number */
static const char *sample_problem(const char *s, const char *end)
{
	if (s == end || !name_char(*s, true))
		return "a sample line that does not start with a metric name";
	while (s < end && name_char(*s, false))
		s++;
	if (s < end && *s == '{') {
		s++;
		for (int guard = 0; guard < 64; guard++) {
			if (s == end || !name_char(*s, true))
				return "a label without a name";
			while (s < end && name_char(*s, false))
				s++;
			if (end - s < 2 || s[0] != '=' || s[1] != '"')
				return "a label without =\"value\"";
			s += 2;
			while (s < end && *s != '"') {
				if (*s == '\\') {
					if (end - s < 2 || strchr("\\\"n", s[1]) == NULL)
						return "a bad escape in a label value";
					s++;
				}
				s++;
			}
			if (s == end)
				return "an unterminated label value";
			s++;
			if (s < end && *s == ',') {
				s++;
				continue;
			}
			if (s < end && *s == '}') {
				s++;
				break;
			}
			return "labels not closed by '}'";
		}
	}
	if (s == end || *s != ' ')
		return "no space before the value";
	s++;
	if (s == end)
		return "no value";
	if (*s == '-' || *s == '+')
		s++;
	const char *from = s;
	while (s < end && ((*s >= '0' && *s <= '9') || *s == '.' || *s == 'e' || *s == 'E' ||
			   *s == '+' || *s == '-'))
		s++;
	if (s == from)
		return "a value that is not a number";
	return s == end ? NULL : "more after the value";
}

const char *chaos_metrics_problem(const char *text, size_t len, char *buf, size_t blen)
{
	const char *why = chaos_text_problem(text, len, buf, blen);
	if (why != NULL)
		return why;
	if (len == 0 || text[len - 1] != '\n')
		return "the exposition does not end with a newline";
	size_t line = 0;
	for (const char *s = text, *end = text + len; s < end; line++) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *stop = nl ? nl : end;
		if (stop - s >= 7 && (memcmp(s, "# HELP ", 7) == 0 || memcmp(s, "# TYPE ", 7) == 0))
			why = NULL;
		else
			why = sample_problem(s, stop);
		if (why != NULL) {
			int n = (int)(stop - s > 120 ? 120 : stop - s);
			snprintf(buf, blen, "line %zu: %s: \"%.*s\"", line + 1, why, n, s);
			return buf;
		}
		s = stop + 1;
	}
	return NULL;
}

/* ---- text, and the screen ------------------------------------------------------- */

const char *chaos_text_problem(const char *text, size_t len, char *buf, size_t blen)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)text[i];
		if ((ch < 0x20 && ch != '\n') || ch >= 0x7f) {
			snprintf(buf, blen, "byte 0x%02x at %zu of %zu: a control or non-ASCII byte "
				 "reached the output", ch, i, len);
			return buf;
		}
	}
	return NULL;
}

const char *chaos_screen_problem(const struct tui_screen *s, int rows, int cols, char *buf,
				 size_t blen)
{
	if (s->rows != rows || s->cols != cols) {
		snprintf(buf, blen, "asked for %dx%d, got %dx%d", cols, rows, s->cols, s->rows);
		return buf;
	}
	for (int r = 0; r < rows; r++) {
		const struct tui_line *l = &s->line[r];
		if (memchr(l->text, '\0', sizeof(l->text)) == NULL) {
			snprintf(buf, blen, "row %d is not terminated", r);
			return buf;
		}
		size_t n = strlen(l->text);
		if (n > (size_t)cols) {
			snprintf(buf, blen, "row %d is %zu columns wide, the screen %d", r, n, cols);
			return buf;
		}
		for (size_t i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)l->text[i];
			if (ch < 0x20 || ch >= 0x7f) {
				snprintf(buf, blen, "row %d column %zu holds byte 0x%02x: \"%.*s\"", r, i,
					 ch, (int)n, l->text);
				return buf;
			}
		}
		if (l->nspans > TUI_SPANS_MAX) {
			snprintf(buf, blen, "row %d has %u spans", r, l->nspans);
			return buf;
		}
		for (unsigned k = 0; k < l->nspans; k++) {
			const struct tui_span *sp = &l->span[k];
			if (sp->col + sp->len > cols || sp->attr >= TUI_ATTR_COUNT) {
				snprintf(buf, blen, "row %d span %u: columns %u+%u, attribute %u", r, k,
					 sp->col, sp->len, sp->attr);
				return buf;
			}
		}
	}
	return NULL;
}
