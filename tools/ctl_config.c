/*
 * ctl_config.c — the config file of `fuseboxctl create --config FILE`:
 *
 *     # capacities (all optional)
 *     [box]
 *     breakers = 256
 *     mode = 0660
 *
 *     [breaker embedding_service]
 *     fail_max = 5
 *     reset_timeout = 30s
 *
 *     [limiter vector_search]
 *     rate = 100/minute
 *     keyed = yes
 *
 *     [budget payments]          # retries: 20% of requests + 10/s, over 10s
 *     percent = 20
 *     [bulkhead search]          # calls in flight at once, host-wide
 *     cap = 8
 *     [cache quotes]             # fresh 30s, then served stale for 10m
 *     ttl = 30s
 *     stale = 10m
 *
 * Every line is checked before anything is created, and an error names
 * the file and the line: nothing is ever half-applied.
 *
 * inih (Debian's libinih) parses the lines.  It is fed through a reader
 * of our own, which keeps each line as it is in the file, and everything
 * inih does that the file's author would not expect is undone or refused:
 *  - a NUL byte would end inih's line early (it works on C strings): the
 *    reader refuses it;
 *  - a line too long for inih's buffer would come back as two lines:
 *    refused;
 *  - Debian builds inih with multi-line values, where a line starting
 *    with a blank continues the value above: the reader hands inih every
 *    line without its leading blanks, so indenting means nothing, as it
 *    always did here;
 *  - Debian builds inih with inline comments, where ';' after a blank ends
 *    the value, but a rule separates its limits with ';'
 *    ("3/second ; 5/minute"): the value is read from the kept line, and a
 *    '#' or ';' after a blank in any other value is refused as a comment;
 *  - inih calls back only for settings (never for a section, so an empty
 *    one would go unseen) and cuts section names at 49 bytes: section
 *    headers are read from the kept line too;
 *  - inih also splits "key: value" (Python's configparser does): refused,
 *    since "key = value" is the one form;
 *  - a UTF-8 byte-order mark at the start of the file, which some editors
 *    write, is skipped, as inih would.
 */
#include <ctype.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_config.h"

/* inih reads each line into a buffer of INI_MAX_LINE bytes, which must
 * also hold a carriage return, the newline and the NUL; a longer line
 * would be cut in two, so it is refused instead. */
#define LINE_MAX_LEN (INI_MAX_LINE - 3)

void plan_init(struct plan *p)
{
	memset(p, 0, sizeof(*p));
	fbx_box_config_init(&p->box);
	p->box.breakers = 256;
	p->box.limiters = 64;
	p->box.keys = 65536;
	p->box.events = 4096;
}

void plan_free(struct plan *p)
{
	free(p->breakers);
	free(p->limiters);
	p->breakers = NULL;
	p->limiters = NULL;
	for (int k = 0; k < RES_KINDS; k++) {
		free(p->res[k]);
		p->res[k] = NULL;
		p->nres[k] = 0;
	}
}

const char *const res_word[RES_KINDS] = {"budget", "bulkhead", "cache"};
const char *const res_words[RES_KINDS] = {"budgets", "bulkheads", "caches"};

int box_setting(fbx_box_config *b, const char *key, const char *v, const char *where)
{
	char what[96], k[40];
	size_t n = 0;
	const char *from = key;
	while (*from == '-')
		from++;
	/* "--log-keys" on the command line is "log_keys" in the file */
	for (; from[n] != '\0' && n + 1 < sizeof(k); n++)
		k[n] = from[n] == '-' ? '_' : from[n];
	k[n] = '\0';
	setting_name(what, sizeof(what), where, key);
	if (strcmp(k, "breakers") == 0)
		return ctl_u32(what, v, 1, 65536, &b->breakers);
	if (strcmp(k, "limiters") == 0)
		return ctl_u32(what, v, 1, 1023, &b->limiters);
	if (strcmp(k, "keys") == 0)
		return ctl_u32(what, v, 1, 64u << 20, &b->keys);
	if (strcmp(k, "log_keys") == 0)
		return ctl_u32(what, v, 0, 64u << 20, &b->log_keys);
	if (strcmp(k, "log_slots") == 0)
		return ctl_pow2(what, v, 65536, &b->log_slots);
	if (strcmp(k, "events") == 0)
		return ctl_u32(what, v, 16, 1u << 20, &b->events);
	if (strcmp(k, "workers") == 0)
		return ctl_u32(what, v, 1, 4096, &b->workers);
	if (strcmp(k, "checks") == 0)
		return ctl_u32(what, v, 0, 65536, &b->checks);
	if (strcmp(k, "budgets") == 0)
		return ctl_u32(what, v, 0, 65536, &b->budgets);
	/* 8 KiB each: the most a tool should ask for is what a fleet can name */
	if (strcmp(k, "bulkheads") == 0)
		return ctl_u32(what, v, 0, 65536, &b->bulkheads);
	if (strcmp(k, "caches") == 0)
		return ctl_u32(what, v, 0, 1024, &b->caches);
	/* entries are found in 4-way buckets, and values are copied a word
	 * at a time: the layout takes only these */
	if (strcmp(k, "cache_slots") == 0) {
		if (ctl_u32(what, v, 4, 65536, &b->cache_slots))
			return CTL_ERR;
		if (b->cache_slots % 4 != 0)
			return ctl_fail("%s: '%s' is not a multiple of 4 (entries come in buckets of 4)",
					what, v);
		return 0;
	}
	if (strcmp(k, "cache_value_max") == 0) {
		if (ctl_u32(what, v, 8, 8192, &b->cache_value_max))
			return CTL_ERR;
		if (b->cache_value_max % 8 != 0)
			return ctl_fail("%s: '%s' is not a multiple of 8 (values are kept in whole "
					"8-byte words)", what, v);
		return 0;
	}
	if (strcmp(k, "mode") == 0)
		return ctl_mode(what, v, &b->mode);
	if (strcmp(k, "group") == 0) {
		b->group_set = 1;
		return ctl_group(what, v, &b->group);
	}
	return ctl_fail("%s: unknown box setting '%s'", where, k);
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* BUDGET, BULKHEAD and CACHE follow RES_* in order. */
enum section { NONE, BOX, BREAKER, LIMITER, BUDGET, BULKHEAD, CACHE };
#define RES_OF(kind) ((int)(kind) - (int)BUDGET)
#define SECTIONS_WANTED                                                                    \
	"expected [box], [breaker NAME], [limiter NAME], [budget NAME], [bulkhead NAME] or " \
	"[cache NAME]"

static const char *section_word(enum section kind)
{
	return kind == BREAKER ? "breaker" : kind == LIMITER ? "limiter" : res_word[RES_OF(kind)];
}

static bool seen_name(const struct plan *p, enum section kind, const char *name)
{
	for (size_t i = 0; kind == BREAKER && i < p->nbreakers; i++)
		if (strcmp(p->breakers[i].name, name) == 0)
			return true;
	for (size_t i = 0; kind == LIMITER && i < p->nlimiters; i++)
		if (strcmp(p->limiters[i].name, name) == 0)
			return true;
	for (size_t i = 0; kind >= BUDGET && i < p->nres[RES_OF(kind)]; i++)
		if (strcmp(p->res[RES_OF(kind)][i].name, name) == 0)
			return true;
	return false;
}

static int open_section(struct plan *p, enum section kind, const char *name, const char *where)
{
	if (fbx_name_check_record(name) != 0)
		return ctl_fail("%s: bad %s name '%s' (1-63 printable characters, no spaces)", where,
				section_word(kind), name);
	if (seen_name(p, kind, name))
		return ctl_fail("%s: duplicate section [%s %s]", where, section_word(kind), name);
	if (kind >= BUDGET) {
		int k = RES_OF(kind);
		struct plan_res *nr = realloc(p->res[k], (p->nres[k] + 1) * sizeof(*nr));
		if (nr == NULL)
			return ctl_fail("out of memory");
		p->res[k] = nr;
		struct plan_res *r = &nr[p->nres[k]++];
		memset(r, 0, sizeof(*r));
		snprintf(r->name, sizeof(r->name), "%s", name);
		fbx_budget_config_init(&r->budget);
		snprintf(r->where, sizeof(r->where), "%s", where);
	} else if (kind == BREAKER) {
		struct plan_breaker *nb = realloc(p->breakers, (p->nbreakers + 1) * sizeof(*nb));
		if (nb == NULL)
			return ctl_fail("out of memory");
		p->breakers = nb;
		struct plan_breaker *b = &p->breakers[p->nbreakers++];
		snprintf(b->name, sizeof(b->name), "%s", name);
		fbx_breaker_config_init(&b->cfg);
		snprintf(b->where, sizeof(b->where), "%s", where);
	} else {
		struct plan_limiter *nl = realloc(p->limiters, (p->nlimiters + 1) * sizeof(*nl));
		if (nl == NULL)
			return ctl_fail("out of memory");
		p->limiters = nl;
		struct plan_limiter *l = &p->limiters[p->nlimiters++];
		snprintf(l->name, sizeof(l->name), "%s", name);
		limiter_spec_init(&l->spec);
		snprintf(l->where, sizeof(l->where), "%s", where);
	}
	return 0;
}

/* A key as the setting it names, so that a setting given twice under two
 * spellings ("reset" and "reset_timeout", "fail-max" and "fail_max") is
 * still found twice.  The aliases are ctl_settings.c's. */
static void setting_id(const char *key, char *out, size_t len)
{
	static const char *const alias[][2] = {{"reset", "reset_timeout"}, {"algorithm", "algo"}};
	size_t i = 0;
	for (; key[i] != '\0' && i + 1 < len; i++)
		out[i] = key[i] == '-' ? '_' : key[i];
	out[i] = '\0';
	for (size_t a = 0; a < sizeof(alias) / sizeof(alias[0]); a++)
		if (strcmp(out, alias[a][0]) == 0)
			snprintf(out, len, "%s", alias[a][1]);
}

/* Every setting has a short name, and one that is not known is an error
 * before it is recorded: these bounds are never reached by a good file. */
#define KEYS_MAX 32
#define KEY_LEN 24

struct reading {
	FILE *f;
	const char *path;
	struct plan *p;
	int no;                         /* the line inih is reading */
	char where[80];                 /* "FILE:LINE" of it */
	char raw[LINE_MAX_LEN + 2];     /* as in the file (a CR may end it) */
	const char *text;               /* raw without a BOM or leading blanks */
	bool pending;                   /* handed to inih, not yet looked at after it */
	bool handed;                    /* inih called the handler for it */
	enum section cur;
	bool box_seen;
	struct {
		char id[KEY_LEN];
		int no;
	} keys[KEYS_MAX];               /* the settings of the current section */
	size_t nkeys;
	int rc;                         /* the first error: it stops the reading */
};

/* "[breaker NAME]" from the kept line.  The first ']' ends the header, as
 * for inih; anything after it, a comment included, is refused rather than
 * dropped. */
static int section_line(struct reading *r)
{
	char line[sizeof(r->raw)];
	snprintf(line, sizeof(line), "%s", r->text);
	char *close = strchr(line, ']');
	r->cur = NONE;
	r->nkeys = 0;
	if (close == NULL)
		return ctl_fail("%s: " SECTIONS_WANTED, r->where);
	*close = '\0';
	char *after = trim(close + 1);
	if (*after != '\0')
		return ctl_fail("%s: '%s' after the section header (a comment goes on a line "
				"of its own)", r->where, after);
	char *body = trim(line + 1);
	if (strcmp(body, "box") == 0) {
		if (r->box_seen)
			return ctl_fail("%s: duplicate section [box]", r->where);
		r->box_seen = true;
		r->cur = BOX;
		return 0;
	}
	char *sp = body + strcspn(body, " \t");
	enum section kind = NONE;
	if (*sp != '\0') {
		*sp = '\0';
		if (strcmp(body, "breaker") == 0)
			kind = BREAKER;
		else if (strcmp(body, "limiter") == 0)
			kind = LIMITER;
		for (int k = 0; k < RES_KINDS; k++)
			if (strcmp(body, res_word[k]) == 0)
				kind = (enum section)(BUDGET + k);
	}
	if (kind == NONE)
		return ctl_fail("%s: " SECTIONS_WANTED, r->where);
	int rc = open_section(r->p, kind, trim(sp + 1), r->where);
	if (rc == 0)
		r->cur = kind;
	return rc;
}

/* A '#' or ';' after a blank: inih would end the value there (for ';'),
 * and a reader of the file would take it for a comment either way. */
static const char *comment_in(const char *s, const char *marks)
{
	for (; *s != '\0'; s++)
		if (isspace((unsigned char)s[0]) && s[1] != '\0' && strchr(marks, s[1]) != NULL)
			return s + 1;
	return NULL;
}

/* One "key = value" line, as inih split it (name, value) and as the file
 * has it: the kept line decides, and inih must agree on the key. */
static int setting_line(struct reading *r, const char *name, const char *value)
{
	char line[sizeof(r->raw)];
	snprintf(line, sizeof(line), "%s", r->text);
	char *eq = strchr(line, '=');
	if (eq == NULL)
		return ctl_fail("%s: expected 'key = value'", r->where);
	*eq = '\0';
	char *key = trim(line);
	if (strcmp(key, name) != 0) /* "key: value = ..." */
		return ctl_fail("%s: expected 'key = value'", r->where);
	/* "--fail-max" would read as an option, and its errors would name no
	 * file and line: in a file it is just "fail-max" */
	while (*key == '-')
		key++;
	char id[KEY_LEN];
	setting_id(key, id, sizeof(id));
	/* in a rule, ';' separates the limits: "3/second ; 5/minute" */
	bool rule = strcmp(id, "rate") == 0;
	const char *comment = comment_in(eq + 1, rule ? "#" : "#;");
	if (comment != NULL)
		return ctl_fail("%s: '%s' after the value of %s (a comment goes on a line of its "
				"own)", r->where, comment, *key ? key : "the key");
	char *v = trim(eq + 1);
	/* inih ends a value at ';' after a blank, which only a rule may hold */
	if (strcmp(v, value) != 0 && !rule)
		return ctl_fail("%s: the INI reader read the value as '%s'", r->where, value);
	if (*key == '\0' || *v == '\0')
		return ctl_fail("%s: expected 'key = value'", r->where);
	if (r->cur == NONE)
		return ctl_fail("%s: '%s' is outside any section", r->where, key);
	for (size_t i = 0; i < r->nkeys; i++)
		if (strcmp(r->keys[i].id, id) == 0)
			return ctl_fail("%s: duplicate key '%s' (first on line %d)", r->where, key,
					r->keys[i].no);
	struct plan *p = r->p;
	int rc;
	if (r->cur == BOX)
		rc = box_setting(&p->box, key, v, r->where);
	else if (r->cur == BREAKER)
		rc = breaker_setting(&p->breakers[p->nbreakers - 1].cfg, key, v, r->where);
	else if (r->cur == LIMITER)
		rc = limiter_setting(&p->limiters[p->nlimiters - 1].spec, key, v, r->where);
	else {
		int k = RES_OF(r->cur);
		struct plan_res *res = &p->res[k][p->nres[k] - 1];
		rc = k == RES_BUDGET     ? budget_setting(&res->budget, key, v, r->where)
		     : k == RES_BULKHEAD ? bulkhead_setting(&res->cap, key, v, r->where)
					 : cache_setting(&res->cache, key, v, r->where);
	}
	if (rc == 0 && r->nkeys < KEYS_MAX) {
		snprintf(r->keys[r->nkeys].id, KEY_LEN, "%s", id);
		r->keys[r->nkeys++].no = r->no;
	}
	return rc;
}

static int on_setting(void *user, const char *section, const char *name, const char *value)
{
	struct reading *r = user;
	(void)section; /* headers are read from the kept line */
	if (r->rc != 0)
		return 0;
	r->handed = true;
	r->rc = setting_line(r, name, value);
	return r->rc == 0;
}

/* Called once inih is done with a line: a header is read now, and a line
 * that is neither blank, a comment nor a header but was not handed to the
 * handler is one inih could not split. */
static void line_done(struct reading *r)
{
	r->pending = false;
	const char *s = r->text;
	if (r->handed || *s == '\0' || *s == '#' || *s == ';')
		return;
	if (*s == '[')
		r->rc = section_line(r);
	else
		r->rc = ctl_fail("%s: expected 'key = value'", r->where);
}

enum { LINE_OK, LINE_EOF, LINE_LONG, LINE_NUL };

/* One line without its newline, read a byte at a time: a NUL byte would
 * end a C string early and hide the rest of its line, and a file without
 * newlines (a device) must end in an error, not in a read that never
 * ends.  The line may be one byte longer if that byte is a CR. */
static int read_line(FILE *f, char line[LINE_MAX_LEN + 2])
{
	size_t n = 0;
	int ch;
	while ((ch = getc(f)) != EOF && ch != '\n') {
		if (ch == '\0')
			return LINE_NUL;
		if (n == LINE_MAX_LEN + 1)
			return LINE_LONG;
		line[n++] = (char)ch;
	}
	line[n] = '\0';
	if (n == LINE_MAX_LEN + 1 && line[n - 1] != '\r')
		return LINE_LONG;
	return ch == EOF && n == 0 ? LINE_EOF : LINE_OK;
}

/* inih's reader (fgets-like): the next line, checked, without its
 * leading blanks. */
static char *next_line(char *buf, int size, void *stream)
{
	struct reading *r = stream;
	if (r->pending && r->rc == 0)
		line_done(r);
	if (r->rc != 0)
		return NULL;
	int got = read_line(r->f, r->raw);
	if (got == LINE_EOF)
		return NULL;
	r->no++;
	snprintf(r->where, sizeof(r->where), "%.60s:%d", r->path, r->no);
	if (got == LINE_LONG) {
		r->rc = ctl_fail("%s: line longer than %d characters", r->where, LINE_MAX_LEN);
		return NULL;
	}
	if (got == LINE_NUL) {
		r->rc = ctl_fail("%s: a NUL byte (this is not a text file)", r->where);
		return NULL;
	}
	static const char bom[] = "\xef\xbb\xbf";
	const char *s = r->raw;
	if (r->no == 1 && strncmp(s, bom, 3) == 0)
		s += 3;
	while (isspace((unsigned char)*s))
		s++;
	/* elsewhere it is invisible, and would make a name no one can type */
	if (strncmp(s, bom, 3) == 0) {
		r->rc = ctl_fail("%s: a byte-order mark (U+FEFF) not at the start of the file",
				 r->where);
		return NULL;
	}
	size_t n = strlen(s);
	/* only if inih's buffer is smaller than its header says */
	if (size < 3 || n > (size_t)size - 2) {
		r->rc = ctl_fail("%s: line longer than %d characters", r->where, size - 3);
		return NULL;
	}
	memcpy(buf, s, n);
	buf[n] = '\n';
	buf[n + 1] = '\0';
	r->text = s;
	r->handed = false;
	r->pending = true;
	return buf;
}

int plan_fits(const struct plan *p, const char *where)
{
	const uint32_t cap[RES_KINDS] = {p->box.budgets, p->box.bulkheads, p->box.caches};
	for (int k = 0; k < RES_KINDS; k++)
		if (p->nres[k] > cap[k])
			return ctl_fail("%s: %zu %s do not fit in %s = %u", where, p->nres[k],
					res_words[k], res_words[k], cap[k]);
	return 0;
}

int plan_read(const char *path, struct plan *p)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return ctl_fail("--config: cannot read '%s'", path);
	struct reading *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		fclose(f);
		return ctl_fail("out of memory");
	}
	r->f = f;
	r->path = path;
	r->p = p;
	int bad = ini_parse_stream(next_line, r, on_setting, r);
	if (r->pending && r->rc == 0)
		line_done(r);
	int rc = r->rc;
	if (rc == 0 && ferror(f))
		rc = ctl_fail("--config: error reading '%s'", path);
	if (rc == 0 && bad == -2)
		rc = ctl_fail("out of memory");
	else if (rc == 0 && bad != 0) /* every line inih refuses is refused above */
		rc = ctl_fail("%.60s:%d: the INI reader refused this line", path, bad);
	fclose(f);
	free(r);
	for (size_t i = 0; rc == 0 && i < p->nbreakers; i++)
		rc = breaker_check(p->breakers[i].name, &p->breakers[i].cfg, p->breakers[i].where);
	for (size_t i = 0; rc == 0 && i < p->nlimiters; i++)
		rc = limiter_check(p->limiters[i].name, &p->limiters[i].spec, p->limiters[i].where);
	if (rc == 0 && p->nbreakers > p->box.breakers)
		rc = ctl_fail("%s: %zu breakers do not fit in breakers = %u", path, p->nbreakers,
			      p->box.breakers);
	if (rc == 0 && p->nlimiters > p->box.limiters)
		rc = ctl_fail("%s: %zu limiters do not fit in limiters = %u", path, p->nlimiters,
			      p->box.limiters);
	for (int k = 0; rc == 0 && k < RES_KINDS; k++) {
		for (size_t i = 0; rc == 0 && i < p->nres[k]; i++) {
			const struct plan_res *x = &p->res[k][i];
			rc = k == RES_BUDGET     ? budget_check(x->name, &x->budget, x->where)
			     : k == RES_BULKHEAD ? bulkhead_check(x->name, x->cap, x->where)
						 : cache_check(x->name, &x->cache, x->where);
		}
	}
	rc = rc ? rc : plan_fits(p, path);
	return rc;
}
