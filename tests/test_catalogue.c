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
 * the library and segment sections that no other suite covers (objects
 * that are not boxes, what the tools show of a scribbled segment) are
 * tested at the end of this file.
 *
 * Scratch boxes are cg<runner pid>_<test pid>_<n> and files
 * /tmp/fbxcg<runner pid>_..., so the runner sweeps what a failed test left.
 */
#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fusebox.h"
#include "helpers.h"
#include "suites.h"
#include "../lib/internal.h" /* the segment layout: a newer version, scribbles */

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define PREFIX "cg"
#define NOBODY 65534
#define MAX_WORDS 64
#define DOC_DEFAULT "docs/HOSTILE-INPUTS.md"
#define NOTHING "(nothing)" /* a stderr cell for an empty stderr */

/* ======================================================================
 * Growing strings
 * ==================================================================== */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (p == NULL)
			abort(); /* the harness cannot go on without memory */
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_putc(struct sbuf *b, char c)
{
	sb_putn(b, &c, 1);
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

/* Takes the string out of b, leaving b empty; never NULL. */
static char *sb_take(struct sbuf *b)
{
	if (b->p == NULL)
		sb_putn(b, "", 0);
	char *p = b->p;
	*b = (struct sbuf){0};
	return p;
}

/* A failure message shows control bytes escaped, so that the report of
 * a row about control characters stays readable. */
static const char *shown(const char *s)
{
	static char ring[4][2048];
	static int k;
	char *out = ring[k++ % 4];
	size_t n = 0;
	for (; *s && n + 5 < sizeof(ring[0]); s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\n')
			n += (size_t)snprintf(out + n, 5, "\\n");
		else if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(out + n, 5, "\\x%02x", c);
		else
			out[n++] = (char)c;
	}
	out[n] = '\0';
	return out;
}

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
 * Running the tools: fork/execv, stdout and stderr through pipes read to
 * the end before waitpid, no shell
 * ==================================================================== */

static const char *tool_path(const char *env, const char *fallback)
{
	static char paths[2][PATH_MAX];
	char *path = paths[strcmp(fallback, "build/fuseboxctl") == 0];
	const char *p = getenv(env);
	if (p == NULL || *p == '\0')
		p = fallback;
	ck_assert_msg(realpath(p, path) != NULL && access(path, X_OK) == 0,
		      "%s not found (run `make %s`, or set %s)", p, fallback, env);
	return path;
}

/* Which program a command cell names, as a path; NULL for another. */
static const char *program(const char *word)
{
	if (strcmp(word, "fuseboxctl") == 0)
		return tool_path("FUSEBOX_CTL", "build/fuseboxctl");
	if (strcmp(word, "fusebox-top") == 0)
		return tool_path("FUSEBOX_TOP", "build/fusebox-top");
	return NULL;
}

struct run {
	const char *const *argv;   /* argv[0] is the path */
	const char *const *env;    /* NAME=VALUE, applied after FUSEBOX_BOX */
	const char *box;           /* FUSEBOX_BOX */
	bool nobody;               /* setgid/setuid(65534) before exec */
};

struct result {
	int code; /* the exit status; 128 + N when killed by signal N */
	char *out, *err;
};

/* In the child: no check assertions from here on. */
static void child(const struct run *r, int out, int err)
{
	int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (nul < 0 || dup2(nul, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(126);
	/* messages that quote strerror are the same in every locale */
	setenv("LC_ALL", "C", 1);
	unsetenv("NO_COLOR");
	setenv("FUSEBOX_BOX", r->box, 1);
	for (size_t i = 0; r->env != NULL && r->env[i] != NULL; i++) {
		const char *eq = strchr(r->env[i], '=');
		char name[128];
		snprintf(name, sizeof(name), "%.*s", (int)(eq - r->env[i]), r->env[i]);
		setenv(name, eq + 1, 1);
	}
	if (r->nobody && (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)) {
		dprintf(2, "test: cannot become nobody: %s\n", strerror(errno));
		_exit(126);
	}
	execv(r->argv[0], (char *const *)r->argv);
	dprintf(2, "test: exec %s: %s\n", r->argv[0], strerror(errno));
	_exit(126);
}

static void drain(int ofd, int efd, struct sbuf *out, struct sbuf *err)
{
	struct pollfd p[2] = {{ofd, POLLIN, 0}, {efd, POLLIN, 0}};
	struct sbuf *dst[2] = {out, err};
	for (int open_fds = 2; open_fds > 0;) {
		if (poll(p, 2, -1) < 0) {
			ck_assert_msg(errno == EINTR, "poll: %s", strerror(errno));
			continue;
		}
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || p[i].revents == 0)
				continue;
			char chunk[8192];
			ssize_t n = read(p[i].fd, chunk, sizeof(chunk));
			if (n < 0 && errno == EINTR)
				continue;
			if (n > 0) {
				sb_putn(dst[i], chunk, (size_t)n);
				continue;
			}
			close(p[i].fd);
			p[i].fd = -1;
			open_fds--;
		}
	}
}

static void run_tool(const struct run *r, struct result *res)
{
	int po[2], pe[2];
	ck_assert_int_eq(pipe2(po, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(pe, O_CLOEXEC), 0);
	fflush(NULL);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		child(r, po[1], pe[1]);
	close(po[1]);
	close(pe[1]);
	struct sbuf out = {0}, err = {0};
	drain(po[0], pe[0], &out, &err);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0)
		ck_assert_msg(errno == EINTR, "waitpid: %s", strerror(errno));
	res->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	res->out = sb_take(&out);
	res->err = sb_take(&err);
}

static void result_free(struct result *res)
{
	free(res->out);
	free(res->err);
	*res = (struct result){0};
}

/* ======================================================================
 * Scratch boxes, as a command row's box column asks
 * ==================================================================== */

struct scratch {
	char name[40];
	char path[128];      /* /dev/shm/fusebox.NAME */
	char target[40];     /* symlink: the box it points to */
	bool nobody;         /* run the tool as user nobody */
	bool pristine;       /* a box as make_box() left it */
};

static void shm_path(char out[128], const char *name)
{
	snprintf(out, 128, "/dev/shm/fusebox.%s", name);
}

/* The box every "ready" row starts from: breaker b1 (the defaults),
 * limiters l1 (100/minute) and lk (100/minute, keyed), small capacities. */
static void make_box(const char *name, uint32_t mode)
{
	fbx_box_config cfg;
	fbx_box_config_init(&cfg);
	cfg.breakers = 16;
	cfg.limiters = 8;
	cfg.keys = 256;
	cfg.events = 64;
	cfg.workers = 16;
	cfg.mode = mode;
	fbx_box *box;
	int rc = fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, &cfg, &box);
	ck_assert_msg(rc == 0, "create %s: %s", name, fbx_strerror(rc));
	fbx_breaker_config bc;
	fbx_breaker_config_init(&bc);
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "b1", &bc, &b), 0);
	fbx_limiter_config lc;
	fbx_limiter_config_init(&lc);
	lc.rule = "100/minute";
	fbx_limiter *l;
	ck_assert_int_eq(fbx_limiter_register(box, "l1", &lc, &l), 0);
	lc.keyed = 1;
	ck_assert_int_eq(fbx_limiter_register(box, "lk", &lc, &l), 0);
	fbx_box_close(box);
}

/* Bytes that are no box's: the same every run. */
static void write_noise(const char *path, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t done = 0; done < size;) {
		uint8_t buf[4096];
		for (size_t i = 0; i < sizeof(buf); i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = (uint8_t)(x >> 24);
		}
		size_t n = size - done < sizeof(buf) ? size - done : sizeof(buf);
		ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
		done += n;
	}
	close(fd);
}

/* A box of the next layout version: one this build must not read. */
static void make_newer(struct scratch *s)
{
	make_box(s->name, 0600);
	int fd = open(s->path, O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	uint32_t v = FBX__LAYOUT_VERSION + 1;
	ck_assert_int_eq(pwrite(fd, &v, 4, offsetof(struct fbx__header, layout_version)), 4);
	close(fd);
}

/* A box that user nobody made first, writable by all: a squatter's. */
static void make_squatted(const char *name)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		fbx_box_config cfg;
		fbx_box_config_init(&cfg);
		cfg.mode = 0666;
		fbx_box *box;
		if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0 ||
		    fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, &cfg, &box) != 0)
			_exit(1);
		_exit(0);
	}
	ck_assert_msg(twait(pid) == 0, "nobody could not make box %s", name);
}

static void make_symlink(struct scratch *s)
{
	snprintf(s->target, sizeof(s->target), "%s", tname(PREFIX));
	make_box(s->target, 0600);
	char to[128];
	shm_path(to, s->target);
	ck_assert_int_eq(symlink(to, s->path), 0);
}

/* Sets up s for the kind named in a box cell; false for a kind this
 * run cannot make (as nobody, without root), which is skipped. */
static bool scratch_prepare(struct scratch *s, const char *kind, const char *where)
{
	*s = (struct scratch){0};
	snprintf(s->name, sizeof(s->name), "%s", tname(PREFIX));
	shm_path(s->path, s->name);
	s->nobody = !strcmp(kind, "read-only") || !strcmp(kind, "unreadable");
	if ((s->nobody || !strcmp(kind, "squatted")) && geteuid() != 0) {
		printf("test_catalogue: %s needs root; skipped\n", where);
		return false;
	}
	s->pristine = !strcmp(kind, "ready") || s->nobody;
	if (s->pristine)
		make_box(s->name, strcmp(kind, "read-only") == 0 ? 0644 : 0600);
	else if (!strcmp(kind, "fifo"))
		ck_assert_int_eq(mkfifo(s->path, 0600), 0);
	else if (!strcmp(kind, "symlink"))
		make_symlink(s);
	else if (!strcmp(kind, "directory"))
		ck_assert_int_eq(mkdir(s->path, 0700), 0);
	else if (!strcmp(kind, "short"))
		write_noise(s->path, 100);
	else if (!strcmp(kind, "garbage"))
		write_noise(s->path, 1u << 20);
	else if (!strcmp(kind, "empty"))
		write_noise(s->path, 0);
	else if (!strcmp(kind, "newer"))
		make_newer(s);
	else if (!strcmp(kind, "squatted"))
		make_squatted(s->name);
	else
		ck_assert_msg(!strcmp(kind, "none"), "%s: unknown box '%s'", where, kind);
	return true;
}

static void scratch_remove(const struct scratch *s)
{
	if (unlink(s->path) != 0)
		rmdir(s->path);
	if (s->target[0] != '\0')
		fbx_box_unlink(s->target);
}

static bool object_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* The box as make_box() left it: an error must change nothing. */
static void check_untouched(const struct row *r, const char *name)
{
	fbx_box *b;
	ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_RDONLY, NULL, &b), 0);
	fbx_snapshot *s;
	ck_assert_int_eq(fbx_snapshot_new(b, &s), 0);
	ck_assert_int_eq(fbx_snapshot_take(b, s), 0);
	size_t nb, nl, ne;
	uint64_t dropped;
	const fbx_breaker_info *bi = fbx_snapshot_breakers(s, &nb);
	const fbx_limiter_info *li = fbx_snapshot_limiters(s, &nl);
	fbx_snapshot_events(s, &ne, &dropped);
	bool same = nb == 1 && nl == 2 && ne == 3 && bi[0].state == FBX_CLOSED &&
		    bi[0].successes + bi[0].failures + bi[0].ignored + bi[0].rejected == 0;
	for (size_t i = 0; same && i < nl; i++)
		same = li[i].allowed + li[i].denied + li[i].dry_run_denied == 0 && !li[i].dry_run &&
		       strcmp(li[i].rule, "100/minute") == 0;
	fbx_snapshot_free(s);
	fbx_box_close(b);
	ck_assert_msg(same, "%s: exit 2, yet the box changed", row_where(r));
}

/* ======================================================================
 * The rows
 * ==================================================================== */

static void check_result(const struct row *r, int err_col, const char *box, const char *file,
			 const struct result *res)
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
	struct run run = {argv, env, s.name, s.nobody};
	struct result res;
	run_tool(&run, &res);
	check_result(r, C_STDERR, s.name, NULL, &res);
	if (r->exit == 2 && s.pristine)
		check_untouched(r, s.name);
	if (r->exit != 0 && strcmp(r->cell[C_BOX], "none") == 0)
		ck_assert_msg(!object_exists(s.path), "%s: exit %d, yet it made %s", row_where(r),
			      r->exit, s.path);
	result_free(&res);
	words_free(&w);
	scratch_remove(&s);
}
END_TEST

/* /tmp/fbxcg<runner pid>_<test pid>_<n>.ini */
static const char *temp_path(void)
{
	static char path[128];
	static int serial;
	snprintf(path, sizeof(path), "/tmp/fbx%s%d_%d_%d.ini", PREFIX, (int)getppid(),
		 (int)getpid(), ++serial);
	return path;
}

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
	snprintf(box, sizeof(box), "%s", tname(PREFIX));
	snprintf(path, sizeof(path), "%s", temp_path());
	shm_path(shm, box);
	write_config(r, path);
	const char *argv[] = {program("fuseboxctl"), "create", "--config", path, NULL};
	struct run run = {argv, NULL, box, false};
	struct result res;
	run_tool(&run, &res);
	check_result(r, F_STDERR, box, path, &res);
	if (r->exit != 0)
		ck_assert_msg(!object_exists(shm), "%s: exit %d, yet the box was made", row_where(r),
			      r->exit);
	result_free(&res);
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

/* Every C file of tests/, to look citations up in. */
static size_t load_sources(struct source *src, size_t max)
{
	DIR *d = opendir("tests");
	ck_assert_msg(d != NULL, "tests/: %s (run from the repository root)", strerror(errno));
	size_t n = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL && n < max;) {
		size_t len = strlen(e->d_name);
		if (len < 3 || strcmp(e->d_name + len - 2, ".c") != 0)
			continue;
		char path[300];
		snprintf(path, sizeof(path), "tests/%s", e->d_name);
		src[n++] = (struct source){strdup(e->d_name), slurp(path)};
	}
	closedir(d);
	return n;
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
	struct source src[64];
	size_t n = load_sources(src, ARRAY_LEN(src));
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
}
END_TEST

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
	shm_path(target, s.target);
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
	struct run run = {argv, NULL, box, false};
	struct result res;
	run_tool(&run, &res);
	ck_assert_msg(res.code == code, "%s %s: exit %d, expected %d; stderr [%s]", argv[1],
		      argv[2] ? argv[2] : "", res.code, code, shown(res.err));
	ck_assert_msg(err == NULL || strcmp(res.err, err) == 0, "%s %s: stderr [%s], expected [%s]",
		      argv[1], argv[2] ? argv[2] : "", shown(res.err), shown(err));
	for (size_t i = 0; want[i] != NULL; i++)
		ck_assert_msg(strstr(res.out, want[i]) != NULL, "%s %s: no [%s] in [%s]", argv[1],
			      argv[2] ? argv[2] : "", want[i], shown(res.out));
	ck_assert_msg(unwanted == NULL || strstr(res.out, unwanted) == NULL, "%s: [%s] in [%s]",
		      argv[1], unwanted, shown(res.out));
	result_free(&res);
}

static const char *const nothing[] = {NULL};

START_TEST(tools_show_a_scribbled_segment)
{
	char box[40];
	snprintf(box, sizeof(box), "%s", tname(PREFIX));
	scribbled_box(box);
	const char *ctl = program("fuseboxctl"), *top = program("fusebox-top");

	const char *status[] = {ctl, "status", NULL};
	const char *status_want[] = {"b_ok ", "forced_open", "b_bad                    (damaged record)",
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
	snprintf(box, sizeof(box), "%s", tname(PREFIX));
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
	const char *closed[] = {"breaker b_bad\n  state                closed\n", NULL};
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

/* ====================================================================== */

/* Unchecked teardown, in the runner: what a failed or killed row left. */
static void sweep(void)
{
	char pfx[64];
	snprintf(pfx, sizeof(pfx), "fusebox.%s%d_", PREFIX, (int)getpid());
	DIR *d = opendir("/dev/shm");
	for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
		char path[300];
		snprintf(path, sizeof(path), "/dev/shm/%s", e->d_name);
		if (strncmp(e->d_name, pfx, strlen(pfx)) == 0 && unlink(path) != 0)
			rmdir(path);
	}
	if (d != NULL)
		closedir(d);
	snprintf(pfx, sizeof(pfx), "fbx%s%d_", PREFIX, (int)getpid());
	d = opendir("/tmp");
	for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
		char path[300];
		snprintf(path, sizeof(path), "/tmp/%s", e->d_name);
		if (strncmp(e->d_name, pfx, strlen(pfx)) == 0)
			unlink(path);
	}
	if (d != NULL)
		closedir(d);
}

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
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, command_rows, 0, (int)doc.command.n);
	tcase_add_loop_test(tc, config_rows, 0, (int)doc.config.n);
	suite_add_tcase(s, tc);

	tc = tcase_create("segment");
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, objects_that_are_not_boxes, 0, (int)ARRAY_LEN(planted));
	tcase_add_test(tc, tools_show_a_scribbled_segment);
	tcase_add_test(tc, tools_write_around_a_scribbled_record);
	suite_add_tcase(s, tc);
	return s;
}
