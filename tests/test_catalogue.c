/*
 * test_catalogue.c — holds docs/HOSTILE-INPUTS.md, the catalogue of bad
 * input and what fusebox does with it, to the code.
 *
 * The document is read once, when the suite is made (FUSEBOX_DOCS names
 * it or its directory; else docs/HOSTILE-INPUTS.md, the tests running from
 * the repository root).  Then:
 *
 *  - every row of a command table, | box | command | exit | stderr |, runs
 *    the built fuseboxctl (FUSEBOX_CTL) or fusebox-top (FUSEBOX_TOP) on a
 *    scratch box prepared as its box column says, and must end with that
 *    exit status and that stderr; an exit status of 2 must also leave
 *    nothing on stdout, create no box and change no box;
 *  - every row of a config table, | file content (\n escaped) | exit |
 *    stderr |, runs `fuseboxctl create --config FILE` on that file;
 *  - every test the document cites as `suite/test_name` must exist in
 *    tests/ (its START_TEST, in the file whose suite has that name), and
 *    every row of a "tested by" table must cite one.
 *
 * Each row is a test of its own whose failure names the row's line, and
 * the suite fails when the document gives no row to run.  The few rows of
 * the library and segment sections that no other suite covers are the
 * suite catalogue_segment's; the scratch objects and the running of the
 * tools both share are in catalogue_harness.c.
 */
#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalogue_harness.h"
#include "ctl_harness.h"
#include "fusebox.h"
#include "helpers.h"
#include "spawn.h"
#include "suites.h"

#define MAX_WORDS 64
#define DOC_DEFAULT "docs/HOSTILE-INPUTS.md"
#define NOTHING "(nothing)" /* a stderr cell for an empty stderr */

/* ======================================================================
 * The document: tables and citations
 * ==================================================================== */

enum table { T_NONE, T_COMMAND, T_CONFIG, T_TESTED };

/* Columns of the tables that run. */
enum { C_BOX, C_COMMAND, C_EXIT, C_STDERR, C_NCOMMAND };
enum { F_CONTENT, F_EXIT, F_STDERR, F_NCONFIG };

struct row {
	int line;
	bool config;  /* a config row: cells F_*, else C_* */
	int exit;
	char *cell[C_NCOMMAND];
};

/* A code span `suite/test_name`.  In a "tested by" cell it must name a
 * test (strict); elsewhere only when its suite exists, since prose may
 * well write `a/b`. */
struct cite {
	char *text;
	int line;
	bool strict;
};

struct rows {
	struct row *v;
	size_t n, cap;
};

static struct {
	char path[PATH_MAX];
	char error[512];         /* why the document could not be used */
	struct rows command, config;
	size_t ntested;          /* rows of "tested by" tables */
	struct cite *cites;
	size_t ncites, citecap;
	int uncited[32];         /* "tested by" rows that cite nothing */
	size_t nuncited;
} doc;

static void doc_error(int line, const char *what, const char *detail)
{
	if (doc.error[0] == '\0')
		snprintf(doc.error, sizeof(doc.error), "%.200s:%d: %s%s%s", doc.path, line, what,
			 detail ? ": " : "", detail ? detail : "");
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* A cell written as one code span is the span's text. */
static char *unspan(char *s)
{
	size_t n = strlen(s);
	if (n >= 2 && s[0] == '`' && s[n - 1] == '`' && memchr(s + 1, '`', n - 2) == NULL) {
		s[n - 1] = '\0';
		return s + 1;
	}
	return s;
}

/* Splits "| a | b \| c |" into trimmed cells ("a", "b | c"): markdown
 * writes a | inside a cell as \|.  A cell that is one code span becomes
 * the span's text unless raw.  Returns the number of cells. */
static size_t split_cells(const char *line, char **cells, size_t max, bool raw)
{
	struct sbuf b = {0};
	size_t n = 0;
	const char *p = line;
	while (*p == ' ')
		p++;
	if (*p == '|')
		p++;
	for (; *p && *p != '\n'; p++) {
		if (p[0] == '\\' && p[1] == '|') {
			sb_putc(&b, '|');
			p++;
		} else if (*p == '|') {
			char *text = sb_take(&b);
			if (n < max)
				cells[n] = strdup(raw ? trim(text) : unspan(trim(text)));
			n++;
			free(text);
		} else {
			sb_putc(&b, *p);
		}
	}
	char *rest = sb_take(&b);
	if (*trim(rest) != '\0') { /* a row without its closing | */
		if (n < max)
			cells[n] = strdup(raw ? trim(rest) : unspan(trim(rest)));
		n++;
	}
	free(rest);
	return n;
}

static void free_cells(char **cells, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(cells[i]);
}

static bool is_separator(const char *line)
{
	const char *p = line;
	while (*p == ' ')
		p++;
	if (*p != '|')
		return false;
	for (; *p && *p != '\n'; p++)
		if (strchr("|-: \t", *p) == NULL)
			return false;
	return true;
}

/* Which table a header line opens; T_NONE for one the catalogue does not
 * know, which is an error: a typo in a header must not hide its rows. */
static enum table table_of(const char *header)
{
	char *c[8] = {0};
	size_t n = split_cells(header, c, ARRAY_LEN(c), false);
	enum table t = T_NONE;
	if (n == 4 && !strcasecmp(c[0], "box") && !strcasecmp(c[1], "command") &&
	    !strcasecmp(c[2], "exit") && !strcasecmp(c[3], "stderr"))
		t = T_COMMAND;
	else if (n == 3 && !strcasecmp(c[0], "file content (\\n escaped)") &&
		 !strcasecmp(c[1], "exit") && !strcasecmp(c[2], "stderr"))
		t = T_CONFIG;
	else if (n >= 2 && n <= ARRAY_LEN(c) && !strcasecmp(c[n - 1], "tested by"))
		t = T_TESTED;
	free_cells(c, n < ARRAY_LEN(c) ? n : ARRAY_LEN(c));
	return t;
}

/* A code span `suite/test_name` cites a test. */
static bool is_citation(const char *s, size_t n)
{
	const char *slash = memchr(s, '/', n);
	if (slash == NULL || slash == s || slash == s + n - 1 || !islower((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s + i != slash && !islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) &&
		    s[i] != '_')
			return false;
	return true;
}

static void add_cite(const char *s, size_t n, int line, bool strict)
{
	if (doc.ncites == doc.citecap) {
		doc.citecap = doc.citecap ? doc.citecap * 2 : 64;
		doc.cites = realloc(doc.cites, doc.citecap * sizeof(*doc.cites));
		if (doc.cites == NULL)
			abort();
	}
	doc.cites[doc.ncites++] = (struct cite){strndup(s, n), line, strict};
}

/* Counts the citations in text, and records them when line > 0. */
static int scan_citations(const char *text, int line, bool strict)
{
	int found = 0;
	for (const char *p = strchr(text, '`'); p != NULL;) {
		const char *end = strchr(p + 1, '`');
		if (end == NULL)
			break;
		if (is_citation(p + 1, (size_t)(end - p - 1))) {
			if (line > 0)
				add_cite(p + 1, (size_t)(end - p - 1), line, strict);
			found++;
		}
		p = strchr(end + 1, '`');
	}
	return found;
}

static void add_row(struct rows *rs, struct row r)
{
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 128;
		rs->v = realloc(rs->v, rs->cap * sizeof(*rs->v));
		if (rs->v == NULL)
			abort();
	}
	rs->v[rs->n++] = r;
}

static bool parse_exit(const char *s, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 0 || v > 255)
		return false;
	*out = (int)v;
	return true;
}

/* A row of a table that runs: its cells, checked for shape. */
static void table_row(enum table t, const char *line, int no)
{
	size_t want = t == T_COMMAND ? C_NCOMMAND : F_NCONFIG;
	size_t exit_col = t == T_COMMAND ? C_EXIT : F_EXIT;
	struct row r = {.line = no, .config = t == T_CONFIG};
	size_t n = split_cells(line, r.cell, C_NCOMMAND, false);
	if (n != want) {
		free_cells(r.cell, n < C_NCOMMAND ? n : C_NCOMMAND);
		doc_error(no, "a row with the wrong number of cells", line);
		return;
	}
	if (!parse_exit(r.cell[exit_col], &r.exit)) {
		doc_error(no, "the exit cell is not a number from 0 to 255", r.cell[exit_col]);
		free_cells(r.cell, n);
		return;
	}
	add_row(t == T_COMMAND ? &doc.command : &doc.config, r);
}

/* A row of a "tested by" table must cite at least one test in its last
 * cell, and every test it cites must exist. */
static void tested_row(const char *line, int no)
{
	char *c[8] = {0};
	size_t n = split_cells(line, c, ARRAY_LEN(c), true);
	size_t kept = n < ARRAY_LEN(c) ? n : ARRAY_LEN(c);
	if ((kept == 0 || scan_citations(c[kept - 1], no, true) == 0) &&
	    doc.nuncited < ARRAY_LEN(doc.uncited))
		doc.uncited[doc.nuncited++] = no;
	doc.ntested++;
	free_cells(c, kept);
}

static void doc_locate(void)
{
	const char *env = getenv("FUSEBOX_DOCS");
	struct stat st;
	if (env == NULL || *env == '\0')
		snprintf(doc.path, sizeof(doc.path), "%s", DOC_DEFAULT);
	else if (stat(env, &st) == 0 && S_ISDIR(st.st_mode))
		snprintf(doc.path, sizeof(doc.path), "%.*s/HOSTILE-INPUTS.md", PATH_MAX - 32, env);
	else
		snprintf(doc.path, sizeof(doc.path), "%s", env);
}

/* Reads the document once, in the runner: the rows become loop tests. */
static void doc_load(void)
{
	doc_locate();
	FILE *f = fopen(doc.path, "r");
	if (f == NULL) {
		snprintf(doc.error, sizeof(doc.error), "%.200s: %s (run from the repository root, or set "
			 "FUSEBOX_DOCS)", doc.path, strerror(errno));
		return;
	}
	char *line = NULL, *prev = NULL;
	size_t cap = 0;
	enum table t = T_NONE;
	bool fenced = false;
	for (int no = 1; getline(&line, &cap, f) > 0 && doc.error[0] == '\0'; no++) {
		const char *s = line + strspn(line, " ");
		if (strncmp(s, "```", 3) == 0)
			fenced = !fenced;
		bool in_table = !fenced && *s == '|';
		if (!in_table) {
			t = T_NONE;
		} else if (is_separator(s)) {
			t = prev != NULL ? table_of(prev) : T_NONE;
			if (t == T_NONE)
				doc_error(no - 1, "a table the catalogue does not know", prev ? trim(prev) : "");
		} else if (t == T_COMMAND || t == T_CONFIG) {
			table_row(t, s, no);
		} else if (t == T_TESTED) {
			tested_row(s, no);
		}
		if (!fenced)
			scan_citations(s, no, false);
		free(prev);
		prev = strdup(line);
	}
	free(prev);
	free(line);
	fclose(f);
}

static const char *row_where(const struct row *r)
{
	static char buf[1200];
	snprintf(buf, sizeof(buf), "%.200s:%d: `%s`", doc.path, r->line,
		 shown(r->config ? r->cell[F_CONTENT] : r->cell[C_COMMAND]));
	return buf;
}

/* ======================================================================
 * Escapes and patterns
 * ==================================================================== */

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* C escapes, as the document writes bytes that a cell cannot hold:
 * \n \t \r \e \0 \\ \' \" \xHH.  Writes at most strlen(in) bytes and a
 * NUL into out; returns the length (NULs may be inside), or -1 for an
 * escape it does not know: a typo must not pass for a byte. */
static long unescape(const char *in, char *out)
{
	static const char from[] = "ntre0\\'\"", to[] = "\n\t\r\033\0\\'\"";
	size_t n = 0;
	for (const char *p = in; *p; p++) {
		if (*p != '\\') {
			out[n++] = *p;
			continue;
		}
		const char *k = p[1] ? strchr(from, p[1]) : NULL;
		if (k != NULL) {
			out[n++] = to[k - from];
			p++;
		} else if (p[1] == 'x' && hexval(p[2]) >= 0 && hexval(p[3]) >= 0) {
			out[n++] = (char)(hexval(p[2]) * 16 + hexval(p[3]));
			p += 3;
		} else {
			return -1;
		}
	}
	out[n] = '\0';
	return (long)n;
}

/* Replaces every $BOX and $FILE in s. */
static char *substitute(const char *s, const char *box, const char *file)
{
	struct sbuf b = {0};
	for (const char *p = s; *p;) {
		if (strncmp(p, "$BOX", 4) == 0) {
			sb_puts(&b, box);
			p += 4;
		} else if (file != NULL && strncmp(p, "$FILE", 5) == 0) {
			sb_puts(&b, file);
			p += 5;
		} else {
			sb_putc(&b, *p++);
		}
	}
	return sb_take(&b);
}

/* "..." in a pattern stands for any text within one line: a pid, a time,
 * the owner of an object. */
static bool match(const char *p, const char *s)
{
	if (strncmp(p, "...", 3) == 0) {
		for (;; s++) {
			if (match(p + 3, s))
				return true;
			if (*s == '\0' || *s == '\n')
				return false;
		}
	}
	if (*p == '\0')
		return *s == '\0';
	return *p == *s && match(p + 1, s + 1);
}

/* A stderr cell writes ESC, a tab and a newline as \e, \t and \n, for a
 * message that repeats them raw; any other backslash is itself, since
 * messages show bytes as \xHH and names may hold a backslash. */
static void unescape_stderr(const char *in, char *out)
{
	static const char from[] = "etn", to[] = "\033\t\n";
	size_t n = 0;
	for (const char *p = in; *p; p++) {
		const char *k = p[0] == '\\' && p[1] ? strchr(from, p[1]) : NULL;
		if (k != NULL) {
			out[n++] = to[k - from];
			p++;
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
}

/* What stderr must be: NOTHING, or one line (plus the \n the cell never
 * shows) matching the cell once $BOX, $FILE and escapes are replaced. */
static bool stderr_ok(const char *cell, const char *box, const char *file, const char *err,
		      const char **why)
{
	if (strcmp(cell, NOTHING) == 0) {
		*why = "stderr is not empty";
		return err[0] == '\0';
	}
	char *pat = substitute(cell, box, file);
	char *dec = malloc(strlen(pat) + 1);
	ck_assert_ptr_nonnull(dec);
	unescape_stderr(pat, dec);
	size_t len = strlen(err);
	bool ok = len > 0 && err[len - 1] == '\n';
	if (ok) {
		char *line = strndup(err, len - 1);
		ok = line != NULL && match(dec, line);
		free(line);
	}
	*why = "stderr does not match";
	free(dec);
	free(pat);
	return ok;
}

/* ======================================================================
 * Command cells: words as a POSIX shell splits them
 * ==================================================================== */

struct words {
	char *w[MAX_WORDS];
	int n;
	const char *error;
};

static bool is_box_var(const char *p)
{
	return strncmp(p, "$BOX", 4) == 0 && !isalnum((unsigned char)p[4]) && p[4] != '_';
}

/* '...': the text as it stands. */
static const char *quoted_single(const char *p, struct sbuf *b, struct words *w)
{
	for (p++; *p && *p != '\''; p++)
		sb_putc(b, *p);
	if (*p != '\'')
		w->error = "a ' is not closed";
	return *p ? p + 1 : p;
}

/* $'...': C escapes. */
static const char *quoted_ansi(const char *p, struct sbuf *b, struct words *w)
{
	struct sbuf raw = {0};
	for (p += 2; *p && *p != '\''; p++) {
		if (*p == '\\' && p[1] != '\0')
			sb_putc(&raw, *p++);
		sb_putc(&raw, *p);
	}
	char *r = sb_take(&raw);
	char *dec = malloc(strlen(r) + 1);
	long n = dec ? unescape(r, dec) : -1;
	if (*p != '\'' || n < 0 || (size_t)n != strlen(dec))
		w->error = "a $'...' word is not closed, has an unknown escape or a NUL";
	else
		sb_puts(b, dec);
	free(dec);
	free(r);
	return *p ? p + 1 : p;
}

/* "...": \" \\ \$ escaped, $BOX expanded. */
static const char *quoted_double(const char *p, const char *box, struct sbuf *b, struct words *w)
{
	for (p++; *p && *p != '"';) {
		if (*p == '\\' && p[1] && strchr("\"\\$", p[1])) {
			sb_putc(b, p[1]);
			p += 2;
		} else if (is_box_var(p)) {
			sb_puts(b, box);
			p += 4;
		} else {
			sb_putc(b, *p++);
		}
	}
	if (*p != '"')
		w->error = "a \" is not closed";
	return *p ? p + 1 : p;
}

static const char *one_word(const char *p, const char *box, struct words *w)
{
	struct sbuf b = {0};
	sb_putn(&b, "", 0); /* '' is a word too */
	while (*p && *p != ' ' && *p != '\t' && w->error == NULL) {
		if (*p == '\'') {
			p = quoted_single(p, &b, w);
		} else if (p[0] == '$' && p[1] == '\'') {
			p = quoted_ansi(p, &b, w);
		} else if (*p == '"') {
			p = quoted_double(p, box, &b, w);
		} else if (*p == '\\' && p[1]) {
			sb_putc(&b, p[1]);
			p += 2;
		} else if (is_box_var(p)) {
			sb_puts(&b, box);
			p += 4;
		} else {
			sb_putc(&b, *p++);
		}
	}
	if (w->n < MAX_WORDS)
		w->w[w->n++] = sb_take(&b);
	else
		free(sb_take(&b));
	return p;
}

static void split_words(const char *cell, const char *box, struct words *w)
{
	*w = (struct words){0};
	for (const char *p = cell; *p && w->error == NULL;) {
		p += strspn(p, " \t");
		if (*p)
			p = one_word(p, box, w);
	}
}

static void words_free(struct words *w)
{
	for (int i = 0; i < w->n; i++)
		free(w->w[i]);
	w->n = 0;
}

/* NAME=VALUE before the program: an assignment to its environment. */
static bool is_assignment(const char *s)
{
	const char *eq = strchr(s, '=');
	if (eq == NULL || eq == s)
		return false;
	for (const char *p = s; p < eq; p++)
		if (!isupper((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_')
			return false;
	return true;
}

/* ======================================================================
 * The rows
 * ==================================================================== */

static void check_result(const struct row *r, int err_col, const char *box, const char *file,
			 const struct spawn_result *res)
{
	ck_assert_msg(res->code == r->exit, "%s: exit %d, expected %d; stderr [%s]", row_where(r),
		      res->code, r->exit, shown(res->err));
	const char *why;
	ck_assert_msg(stderr_ok(r->cell[err_col], box, file, res->err, &why),
		      "%s: %s: [%s], expected [%s]", row_where(r), why, shown(res->err),
		      shown(r->cell[err_col]));
	ck_assert_msg(r->exit != 2 || res->out[0] == '\0', "%s: exit 2 with output on stdout [%s]",
		      row_where(r), shown(res->out));
}

/* Parses a command cell into argv and env for run_tool(). */
static void command_of(const struct row *r, const char *box, struct words *w, const char **argv,
		       const char **env)
{
	split_words(r->cell[C_COMMAND], box, w);
	ck_assert_msg(w->error == NULL, "%s: %s", row_where(r), w->error);
	int i = 0, ne = 0;
	while (i < w->n && is_assignment(w->w[i]))
		env[ne++] = w->w[i++];
	env[ne] = NULL;
	ck_assert_msg(i < w->n && program(w->w[i]) != NULL,
		      "%s: a command starts with fuseboxctl or fusebox-top", row_where(r));
	int na = 0;
	argv[na++] = program(w->w[i++]);
	while (i < w->n)
		argv[na++] = w->w[i++];
	argv[na] = NULL;
}

START_TEST(command_rows)
{
	const struct row *r = &doc.command.v[_i];
	struct scratch s;
	if (!scratch_prepare(&s, r->cell[C_BOX], row_where(r)))
		return;
	struct words w;
	const char *argv[MAX_WORDS + 2], *env[MAX_WORDS + 1];
	command_of(r, s.name, &w, argv, env);
	struct spawn_result res;
	run_tool(argv, env, s.name, s.nobody, &res);
	check_result(r, C_STDERR, s.name, NULL, &res);
	const char *changed = r->exit == 2 && s.pristine ? ready_box_change(s.name) : NULL;
	ck_assert_msg(changed == NULL, "%s: exit 2, yet the box changed: %s", row_where(r), changed);
	if (r->exit != 0 && strcmp(r->cell[C_BOX], "none") == 0)
		ck_assert_msg(!object_exists(s.path), "%s: exit %d, yet it made %s", row_where(r),
			      r->exit, s.path);
	spawn_result_free(&res);
	words_free(&w);
	scratch_remove(&s);
}
END_TEST

static void write_config(const struct row *r, const char *path)
{
	char *content = malloc(strlen(r->cell[F_CONTENT]) + 1);
	ck_assert_ptr_nonnull(content);
	long n = unescape(r->cell[F_CONTENT], content);
	ck_assert_msg(n >= 0, "%s: the content has an escape the catalogue does not know",
		      row_where(r));
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert_uint_eq(fwrite(content, 1, (size_t)n, f), (size_t)n);
	ck_assert_int_eq(fclose(f), 0);
	free(content);
}

START_TEST(config_rows)
{
	const struct row *r = &doc.config.v[_i];
	char box[40], path[128], shm[128];
	snprintf(box, sizeof(box), "%s", tname(CG_PREFIX));
	snprintf(path, sizeof(path), "%s", scratch_path(CG_PREFIX, ".ini"));
	tshm_path(shm, box);
	write_config(r, path);
	const char *argv[] = {program("fuseboxctl"), "create", "--config", path, NULL};
	struct spawn_result res;
	run_tool(argv, NULL, box, false, &res);
	check_result(r, F_STDERR, box, path, &res);
	if (r->exit != 0)
		ck_assert_msg(!object_exists(shm), "%s: exit %d, yet the box was made", row_where(r),
			      r->exit);
	spawn_result_free(&res);
	fbx_box_unlink(box);
	unlink(path);
}
END_TEST

/* ======================================================================
 * The document as a whole
 * ==================================================================== */

START_TEST(document_has_rows)
{
	ck_assert_msg(doc.error[0] == '\0', "%s", doc.error);
	ck_assert_msg(doc.command.n > 0, "%s: no row in a | box | command | exit | stderr | table",
		      doc.path);
	ck_assert_msg(doc.config.n > 0,
		      "%s: no row in a | file content (\\n escaped) | exit | stderr | table", doc.path);
	ck_assert_msg(doc.ntested > 0, "%s: no row in a table with a 'tested by' column", doc.path);
}
END_TEST

START_TEST(every_tested_row_cites_a_test)
{
	ck_assert_msg(doc.error[0] == '\0', "%s", doc.error);
	ck_assert_msg(doc.nuncited == 0, "%s:%d: the row cites no test (`suite/test_name`)",
		      doc.path, doc.nuncited ? doc.uncited[0] : 0);
}
END_TEST

struct source {
	char *name;
	char *text;
};

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	struct sbuf b = {0};
	char chunk[8192];
	for (size_t n; (n = fread(chunk, 1, sizeof(chunk), f)) > 0;)
		sb_putn(&b, chunk, n);
	fclose(f);
	return sb_take(&b);
}

/* Every C file of tests/, to look citations up in; as many as there are,
 * since the suites are one file each and their number only grows. */
static struct source *load_sources(size_t *n)
{
	DIR *d = opendir("tests");
	ck_assert_msg(d != NULL, "tests/: %s (run from the repository root)", strerror(errno));
	struct source *src = NULL;
	size_t cap = 0;
	*n = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		size_t len = strlen(e->d_name);
		if (len < 3 || strcmp(e->d_name + len - 2, ".c") != 0)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			src = realloc(src, cap * sizeof(*src));
			ck_assert_ptr_nonnull(src);
		}
		char path[300];
		snprintf(path, sizeof(path), "tests/%s", e->d_name);
		src[(*n)++] = (struct source){strdup(e->d_name), slurp(path)};
	}
	closedir(d);
	return src;
}

/* Whether some file defines suite `suite` and, when test is given, in it
 * test `test`. */
static bool cited_test_exists(const struct source *src, size_t n, const char *cite, bool test)
{
	const char *slash = strchr(cite, '/');
	char want_suite[128], want_test[128];
	snprintf(want_suite, sizeof(want_suite), "suite_create(\"%.*s\")", (int)(slash - cite),
		 cite);
	snprintf(want_test, sizeof(want_test), "START_TEST(%s)", slash + 1);
	for (size_t i = 0; i < n; i++)
		if (strstr(src[i].text, want_suite) != NULL &&
		    (!test || strstr(src[i].text, want_test) != NULL))
			return true;
	return false;
}

START_TEST(cited_tests_exist)
{
	ck_assert_msg(doc.error[0] == '\0', "%s", doc.error);
	ck_assert_msg(doc.ncites > 0, "%s cites no test", doc.path);
	size_t n;
	struct source *src = load_sources(&n);
	for (size_t i = 0; i < doc.ncites; i++)
		ck_assert_msg((!doc.cites[i].strict &&
			       !cited_test_exists(src, n, doc.cites[i].text, false)) ||
				      cited_test_exists(src, n, doc.cites[i].text, true),
			      "%s:%d: `%s` names no test: no START_TEST(%s) in the tests/*.c file "
			      "whose suite is '%.*s'", doc.path, doc.cites[i].line, doc.cites[i].text,
			      strchr(doc.cites[i].text, '/') + 1,
			      (int)(strchr(doc.cites[i].text, '/') - doc.cites[i].text),
			      doc.cites[i].text);
	for (size_t i = 0; i < n; i++) {
		free(src[i].name);
		free(src[i].text);
	}
	free(src);
}
END_TEST

/* ====================================================================== */

FBX_TEST_SUITE(catalogue)
{
	doc_load();
	Suite *s = suite_create("catalogue");
	TCase *tc;

	tc = tcase_create("document");
	tcase_add_test(tc, document_has_rows);
	tcase_add_test(tc, every_tested_row_cites_a_test);
	tcase_add_test(tc, cited_tests_exist);
	suite_add_tcase(s, tc);

	/* generous: a row on an empty object waits out the tool's 2 s */
	tc = tcase_create("rows");
	tcase_add_unchecked_fixture(tc, NULL, catalogue_sweep);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, command_rows, 0, (int)doc.command.n);
	tcase_add_loop_test(tc, config_rows, 0, (int)doc.config.n);
	suite_add_tcase(s, tc);
	return s;
}
