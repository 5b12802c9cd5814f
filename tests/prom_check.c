/* prom_check.c — see prom_check.h. */
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom_check.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool one_of(const char *s, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, set[i]) == 0)
			return true;
	return false;
}

static bool metric_name_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
		if (!alpha && !(i > 0 && is_digit(c)))
			return false;
	}
	return true;
}

static bool label_name_ok(const char *s, size_t n)
{
	if (n == 0 || (n >= 2 && s[0] == '_' && s[1] == '_'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
		if (!alpha && !(i > 0 && is_digit(c)))
			return false;
	}
	return true;
}

static int pfail(struct expo *e, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int pfail(struct expo *e, int line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(e->err, sizeof(e->err), "line %d: ", line);
	va_start(ap, fmt);
	vsnprintf(e->err + n, sizeof(e->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* The family named name (created when new); switching to a family that was
 * already written and left is an error (families must be contiguous). */
static int pfamily(struct expo *e, int line, const char *name, size_t n)
{
	int i = 0;
	for (; i < (int)e->nf; i++)
		if (strlen(e->f[i].name) == n && strncmp(e->f[i].name, name, n) == 0)
			break;
	if (i == (int)e->nf) {
		if (e->nf == ARRAY_LEN(e->f) || n >= sizeof(e->f[0].name))
			return pfail(e, line, "too many families or name too long");
		memset(&e->f[i], 0, sizeof(e->f[i]));
		memcpy(e->f[i].name, name, n);
		e->nf++;
	}
	if (i != e->cur) {
		if (e->f[i].closed)
			return pfail(e, line, "family %s appears again after another family",
				     e->f[i].name);
		if (e->cur >= 0)
			e->f[e->cur].closed = true;
		e->cur = i;
	}
	return i;
}

static int pvalue(const char *s, size_t n, double *v)
{
	char tmp[64];
	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (strcmp(tmp, "NaN") == 0) {
		*v = NAN;
		return 0;
	}
	if (strcmp(tmp, "+Inf") == 0 || strcmp(tmp, "-Inf") == 0) {
		*v = tmp[0] == '-' ? -INFINITY : INFINITY;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (!is_digit(tmp[i]) && strchr(".eE+-", tmp[i]) == NULL)
			return -1;
	char *end;
	*v = strtod(tmp, &end);
	return *end == '\0' ? 0 : -1;
}

static int psample_line(struct expo *e, int line, const char *s)
{
	const char *p = s;
	while (*p && *p != '{' && *p != ' ')
		p++;
	if (!metric_name_ok(s, (size_t)(p - s)))
		return pfail(e, line, "bad metric name in [%s]", s);
	int fi = pfamily(e, line, s, (size_t)(p - s));
	if (fi < 0)
		return -1;
	struct pfam *f = &e->f[fi];
	if (!f->typed)
		return pfail(e, line, "sample of %s before its TYPE line", f->name);
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 256;
		struct psample *ns = realloc(e->s, cap * sizeof(*ns));
		if (ns == NULL)
			return pfail(e, line, "out of memory");
		e->s = ns;
		e->cap = cap;
	}
	struct psample *m = &e->s[e->n];
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", f->name);
	if (*p == '{') {
		p++;
		while (*p != '}') {
			const char *ln = p;
			while (*p && *p != '=')
				p++;
			if (*p != '=' || !label_name_ok(ln, (size_t)(p - ln)))
				return pfail(e, line, "bad label name in [%s]", s);
			if (m->nl == P_MAX_LABELS || (size_t)(p - ln) >= sizeof(m->ln[0]))
				return pfail(e, line, "too many labels or label name too long");
			memcpy(m->ln[m->nl], ln, (size_t)(p - ln));
			for (int j = 0; j < m->nl; j++)
				if (strcmp(m->ln[j], m->ln[m->nl]) == 0)
					return pfail(e, line, "label %s twice", m->ln[j]);
			p++;
			if (*p != '"')
				return pfail(e, line, "label value not quoted in [%s]", s);
			p++;
			size_t k = 0;
			for (;;) {
				char c = *p;
				if (c == '\0')
					return pfail(e, line, "unterminated label value in [%s]", s);
				if (c == '"')
					break;
				if (c == '\\') {
					char x = p[1];
					if (x != '\\' && x != '"' && x != 'n')
						return pfail(e, line, "bad escape '\\%c' in a label value", x);
					c = x == 'n' ? '\n' : x;
					p++;
				}
				if (k + 1 >= sizeof(m->lv[0]))
					return pfail(e, line, "label value too long");
				m->lv[m->nl][k++] = c;
				p++;
			}
			p++; /* closing quote */
			m->nl++;
			if (*p == ',' && p[1] != '}') {
				p++;
				continue;
			}
			if (*p != '}')
				return pfail(e, line, "expected ',' or '}' after a label in [%s]", s);
		}
		p++;
	}
	if (*p != ' ')
		return pfail(e, line, "expected one space before the value in [%s]", s);
	p++;
	const char *val = p;
	while (*p && *p != ' ')
		p++;
	if (pvalue(val, (size_t)(p - val), &m->v) != 0)
		return pfail(e, line, "bad value in [%s]", s);
	if (*p == ' ') { /* optional timestamp */
		p++;
		const char *ts = p;
		if (*p == '-')
			p++;
		while (is_digit(*p))
			p++;
		if (p == ts || *p != '\0')
			return pfail(e, line, "bad timestamp in [%s]", s);
	}
	if (strcmp(f->type, "counter") == 0 && !(m->v >= 0))
		return pfail(e, line, "counter %s is negative or NaN", f->name);
	/* the same series twice */
	for (size_t i = 0; i < e->n; i++) {
		const struct psample *o = &e->s[i];
		if (strcmp(o->name, m->name) != 0 || o->nl != m->nl)
			continue;
		int same = 0;
		for (int a = 0; a < m->nl; a++)
			for (int b = 0; b < o->nl; b++)
				same += strcmp(m->ln[a], o->ln[b]) == 0 && strcmp(m->lv[a], o->lv[b]) == 0;
		if (same == m->nl)
			return pfail(e, line, "series repeated: [%s]", s);
	}
	f->samples++;
	e->n++;
	return 0;
}

static int pcomment(struct expo *e, int line, const char *s)
{
	bool help = strncmp(s, "# HELP ", 7) == 0, type = strncmp(s, "# TYPE ", 7) == 0;
	if (!help && !type)
		return 0; /* a plain comment */
	const char *name = s + 7, *p = name;
	while (*p && *p != ' ')
		p++;
	if (!metric_name_ok(name, (size_t)(p - name)))
		return pfail(e, line, "bad metric name in [%s]", s);
	int fi = pfamily(e, line, name, (size_t)(p - name));
	if (fi < 0)
		return -1;
	struct pfam *f = &e->f[fi];
	if (help) {
		if (f->help)
			return pfail(e, line, "second HELP for %s", f->name);
		f->help = true;
		if (*p != ' ' || p[1] == '\0')
			return pfail(e, line, "HELP without text for %s", f->name);
		for (p++; *p; p++)
			if (*p == '\\' && p[1] != '\\' && p[1] != 'n')
				return pfail(e, line, "bad escape in HELP of %s", f->name);
			else if (*p == '\\')
				p++;
		if (f->samples)
			return pfail(e, line, "HELP for %s after its samples", f->name);
		return 0;
	}
	if (f->typed)
		return pfail(e, line, "second TYPE for %s", f->name);
	if (f->samples)
		return pfail(e, line, "TYPE for %s after its samples", f->name);
	static const char *const types[] = {"counter", "gauge", "histogram", "summary", "untyped"};
	if (*p != ' ' || !one_of(p + 1, types, ARRAY_LEN(types)))
		return pfail(e, line, "bad TYPE line [%s]", s);
	snprintf(f->type, sizeof(f->type), "%s", p + 1);
	f->typed = true;
	if (strcmp(f->type, "counter") == 0) {
		size_t n = strlen(f->name);
		if (n < 6 || strcmp(f->name + n - 6, "_total") != 0)
			return pfail(e, line, "counter %s does not end in _total", f->name);
	}
	return 0;
}

int prom_parse(const char *text, struct expo *e)
{
	memset(e, 0, sizeof(*e));
	e->cur = -1;
	size_t len = strlen(text);
	if (len == 0)
		return pfail(e, 0, "empty output");
	if (text[len - 1] != '\n')
		return pfail(e, 0, "the last line does not end with a newline");
	char *copy = strdup(text), *save = NULL;
	int line = 0, rc = 0;
	for (char *l = strtok_r(copy, "\n", &save); rc == 0 && l; l = strtok_r(NULL, "\n", &save)) {
		line++;
		if (*l == '#')
			rc = pcomment(e, line, l);
		else
			rc = psample_line(e, line, l);
	}
	free(copy);
	if (rc == 0 && strstr(text, "\n\n") != NULL)
		return pfail(e, 0, "empty line");
	return rc;
}

struct expo *prom_must(const char *text)
{
	/* kept reachable until the test process ends, as the tests hold
	 * pointers into it: LeakSanitizer does not report reachable memory */
	static struct expo **kept;
	static size_t nkept;
	struct expo *e = calloc(1, sizeof(*e));
	struct expo **k = realloc(kept, (nkept + 1) * sizeof(*k));
	ck_assert(e != NULL && k != NULL);
	kept = k;
	kept[nkept++] = e;
	ck_assert_msg(prom_parse(text, e) == 0, "metrics not in the exposition format: %s\n%s",
		      e->err, text);
	return e;
}

const struct pfam *pfam_of(const struct expo *e, const char *name)
{
	for (size_t i = 0; i < e->nf; i++)
		if (strcmp(e->f[i].name, name) == 0)
			return &e->f[i];
	return NULL;
}

const char *plabel(const struct psample *s, const char *ln)
{
	for (int i = 0; i < s->nl; i++)
		if (strcmp(s->ln[i], ln) == 0)
			return s->lv[i];
	return NULL;
}

double pval(const struct expo *e, const char *name, ...)
{
	const struct psample *hit = NULL;
	size_t hits = 0;
	for (size_t i = 0; i < e->n; i++) {
		if (strcmp(e->s[i].name, name) != 0)
			continue;
		va_list ap;
		va_start(ap, name);
		bool match = true;
		for (const char *k; (k = va_arg(ap, const char *)) != NULL;) {
			const char *v = va_arg(ap, const char *), *have = plabel(&e->s[i], k);
			match = match && have != NULL && strcmp(have, v) == 0;
		}
		va_end(ap);
		if (match) {
			hit = &e->s[i];
			hits++;
		}
	}
	ck_assert_msg(hits == 1, "%zu samples of %s match, expected one", hits, name);
	return hit->v;
}
