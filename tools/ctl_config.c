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
 * Every line is checked before anything is created, and an error names
 * the file and the line: nothing is ever half-applied.
 */
#include <stdlib.h>
#include <string.h>

#include "ctl_config.h"

#define LINE_MAX_LEN 1024

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
}

int box_setting(fbx_box_config *b, const char *key, const char *v, const char *where)
{
	char what[96];
	const char *k = key;
	while (*k == '-')
		k++;
	setting_name(what, sizeof(what), where, key);
	if (strcmp(k, "breakers") == 0)
		return ctl_u32(what, v, 1, 65536, &b->breakers);
	if (strcmp(k, "limiters") == 0)
		return ctl_u32(what, v, 1, 1023, &b->limiters);
	if (strcmp(k, "keys") == 0)
		return ctl_u32(what, v, 1, 64u << 20, &b->keys);
	if (strcmp(k, "events") == 0)
		return ctl_u32(what, v, 16, 1u << 20, &b->events);
	if (strcmp(k, "workers") == 0)
		return ctl_u32(what, v, 1, 4096, &b->workers);
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
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
			 s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

enum section { NONE, BOX, BREAKER, LIMITER };

/* "[breaker NAME]" -> BREAKER and NAME; -1 when the header is malformed. */
static int header(char *s, char **name)
{
	size_t n = strlen(s);
	if (n < 2 || s[n - 1] != ']')
		return -1;
	s[n - 1] = '\0';
	char *body = trim(s + 1);
	*name = NULL;
	if (strcmp(body, "box") == 0)
		return BOX;
	char *sp = strpbrk(body, " \t");
	if (sp == NULL)
		return -1;
	*sp = '\0';
	*name = trim(sp + 1);
	if (strcmp(body, "breaker") == 0)
		return BREAKER;
	if (strcmp(body, "limiter") == 0)
		return LIMITER;
	return -1;
}

static bool seen_name(const struct plan *p, enum section kind, const char *name)
{
	for (size_t i = 0; kind == BREAKER && i < p->nbreakers; i++)
		if (strcmp(p->breakers[i].name, name) == 0)
			return true;
	for (size_t i = 0; kind == LIMITER && i < p->nlimiters; i++)
		if (strcmp(p->limiters[i].name, name) == 0)
			return true;
	return false;
}

static int open_section(struct plan *p, enum section kind, const char *name, const char *where)
{
	if (fbx_name_check_record(name) != 0)
		return ctl_fail("%s: bad %s name '%s' (1-63 printable characters, no spaces)", where,
				kind == BREAKER ? "breaker" : "limiter", name);
	if (seen_name(p, kind, name))
		return ctl_fail("%s: duplicate section [%s %s]", where,
				kind == BREAKER ? "breaker" : "limiter", name);
	if (kind == BREAKER) {
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

enum { LINE_OK, LINE_EOF, LINE_LONG, LINE_NUL };

/* One line without its newline, read a byte at a time: a NUL byte would
 * end a C string early and hide the rest of its line, and a file without
 * newlines (a device) must end in an error, not in a read that never
 * ends. */
static int read_line(FILE *f, char line[LINE_MAX_LEN + 1])
{
	size_t n = 0;
	int ch;
	while ((ch = getc(f)) != EOF && ch != '\n') {
		if (ch == '\0')
			return LINE_NUL;
		if (n == LINE_MAX_LEN)
			return LINE_LONG;
		line[n++] = (char)ch;
	}
	line[n] = '\0';
	return ch == EOF && n == 0 ? LINE_EOF : LINE_OK;
}

int plan_read(const char *path, struct plan *p)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return ctl_fail("--config: cannot read '%s'", path);
	char line[LINE_MAX_LEN + 1], where[80];
	enum section cur = NONE;
	bool box_seen = false;
	int rc = 0, got;
	for (int no = 1; rc == 0 && (got = read_line(f, line)) != LINE_EOF; no++) {
		snprintf(where, sizeof(where), "%.60s:%d", path, no);
		if (got == LINE_LONG) {
			rc = ctl_fail("%s: line longer than %d characters", where, LINE_MAX_LEN);
			break;
		}
		if (got == LINE_NUL) {
			rc = ctl_fail("%s: a NUL byte (this is not a text file)", where);
			break;
		}
		char *s = trim(line);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *name;
			int kind = header(s, &name);
			if (kind < 0)
				rc = ctl_fail("%s: expected [box], [breaker NAME] or [limiter NAME]", where);
			else if (kind == BOX && box_seen)
				rc = ctl_fail("%s: duplicate section [box]", where);
			else if (kind == BOX)
				box_seen = true;
			else
				rc = open_section(p, (enum section)kind, name, where);
			cur = kind < 0 ? NONE : (enum section)kind;
			continue;
		}
		char *eq = strchr(s, '=');
		if (eq == NULL) {
			rc = ctl_fail("%s: expected 'key = value'", where);
			break;
		}
		*eq = '\0';
		char *key = trim(s), *value = trim(eq + 1);
		/* "--fail-max" would read as an option, and its errors would
		 * name no file and line: in a file it is just "fail-max" */
		while (*key == '-')
			key++;
		if (*key == '\0' || *value == '\0')
			rc = ctl_fail("%s: expected 'key = value'", where);
		else if (cur == NONE)
			rc = ctl_fail("%s: '%s' is outside any section", where, key);
		else if (cur == BOX)
			rc = box_setting(&p->box, key, value, where);
		else if (cur == BREAKER)
			rc = breaker_setting(&p->breakers[p->nbreakers - 1].cfg, key, value, where);
		else
			rc = limiter_setting(&p->limiters[p->nlimiters - 1].spec, key, value, where);
	}
	if (rc == 0 && ferror(f))
		rc = ctl_fail("--config: error reading '%s'", path);
	fclose(f);
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
	return rc;
}
