/* test_ctl_basics.c — fuseboxctl's --help and --version, COMMAND --help,
 * the man page held to --help, which box a command finds (named, from the
 * environment, the only one, several, none), and the strict JSON reading
 * every other ctl suite relies on. */
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_harness.h"
#include "ctl_json.h"
#include "fusebox.h"
#include "helpers.h"
#include "suites.h"

/* What the other ctl suites rely on of the JSON reading: escapes decoded,
 * whole numbers told from the others (a count written 1.0 is not a
 * count), and anything but one well-formed value refused, duplicate keys
 * and trailing text included. */
START_TEST(json_strict_reading)
{
	json_error_t err;
	json_t *v = json_strict(" {\"a\" : [1, -2.5e3, 0, true, false, null, "
				"\"q\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\", 1.0], \"b\":{}} \n",
				&err);
	ck_assert_msg(v != NULL, "%s", err.text);
	const json_t *a = jarr(v, "a");
	ck_assert_uint_eq(json_array_size(a), 8);
	ck_assert(json_is_integer(json_array_get(a, 0)) &&
		  json_integer_value(json_array_get(a, 0)) == 1);
	ck_assert(json_is_real(json_array_get(a, 1)) && json_real_value(json_array_get(a, 1)) == -2500);
	ck_assert(json_is_true(json_array_get(a, 3)) && json_is_false(json_array_get(a, 4)));
	ck_assert(json_is_null(json_array_get(a, 5)));
	ck_assert_str_eq(json_string_value(json_array_get(a, 6)),
			 "q\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
	ck_assert(!json_is_integer(json_array_get(a, 7)));
	jobj(v, "b");
	json_decref(v);
	static const char *const bad[] = {
		"",          "{",           "{\"a\":1,}",     "[1,]",         "[01]",
		"[1 2]",     "{\"a\" 1}",   "{a:1}",          "tru",          "\"\\q\"",
		"\"a\x01\"", "{\"a\":1}{",  "{\"a\":1,\"a\":2}", "1.",        "-",
		".5",        "\"\\ud800\"", "\"\\udc00\"",    "\"abc",        "[\"\\u12\"]",
		"+1",        "NaN",         "[1e]",           "{\"a\":1}x",
		"[18446744073709551616]",
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		json_t *got = json_strict(bad[i], &err);
		ck_assert_msg(got == NULL, "accepted bad JSON [%s]", bad[i]);
	}
}
END_TEST

START_TEST(help_and_version)
{
	OK(NULL, "--help");
	ck_assert_msg(strstr(R.out, "usage: fuseboxctl") != NULL, "help: [%s]", R.out);
	ck_assert_str_eq(R.err, "");
	OK(NULL, "--version");
	char want[64];
	snprintf(want, sizeof(want), "fuseboxctl %s\n", FBX_VERSION_STRING);
	ck_assert_str_eq(R.out, want);
}
END_TEST

/* -b wins over FUSEBOX_BOX, which is used when there is no -b; an empty
 * FUSEBOX_BOX counts as none (what a box is found then is the find_*
 * tests', in a /dev/shm of their own). */
START_TEST(box_from_environment)
{
	const char *box = lib_box(), *other = lib_box();
	EXPECT_AS(box_env(box), 0, NULL, "status", "--json");
	ck_assert_str_eq(jstr(json_must(R.out), "box"), box);
	EXPECT_AS(box_env(box), 0, other, "status", "--json");
	ck_assert_str_eq(jstr(json_must(R.out), "box"), other);
	EXPECT_AS(box_env(""), 0, other, "status", "--json");
	ck_assert_str_eq(jstr(json_must(R.out), "box"), other);
	/* a box named but not there: said, and nobody is told to create it
	 * (in an incident that makes an empty box beside the real one) */
	const char *none = new_box();
	EXPECT_AS(box_env(box), 2, none, "status");
	one_error_line("does not exist");
	ck_assert_msg(strstr(R.err, "create") == NULL, "[%s]", R.err);
	ck_assert_msg(strstr(R.err, "fuseboxctl ls") != NULL, "[%s]", R.err);
	ck_assert(!tshm_exists(none));
}
END_TEST

/* The find_* tests need to know every box on the host: they get a
 * /dev/shm of their own, or say why not and stop. */
#define PRIVATE_SHM()                                                                      \
	do {                                                                               \
		const char *why_;                                                          \
		if (!ctl_private_shm(&why_)) {                                                 \
			fprintf(stderr, "%s: skipped: %s\n", __func__, why_);              \
			return;                                                            \
		}                                                                          \
	} while (0)

/* Every command that reads or steers a box, as a newcomer types it. */
static const char *const *const steering[] = {
	(const char *const[]){"status", NULL},
	(const char *const[]){"events", NULL},
	(const char *const[]){"metrics", NULL},
	(const char *const[]){"health", NULL},
	(const char *const[]){"breaker", "show", "b1", NULL},
	(const char *const[]){"breaker", "trip", "b1", NULL},
	(const char *const[]){"limiter", "take", "l1", NULL},
	(const char *const[]){"drain", NULL},
};

START_TEST(find_the_only_box)
{
	PRIVATE_SHM();
	const char *box = lib_box();
	EXPECT_AS(box_env(NULL), 0, NULL, "status", "--json");
	ck_assert_str_eq(jstr(json_must(R.out), "box"), box);
	EXPECT_AS(box_env(""), 0, NULL, "status");
	char want[96];
	snprintf(want, sizeof(want), "box %s: 1 breaker, 2 limiters, ", box);
	ck_assert_msg(strncmp(R.out, want, strlen(want)) == 0, "[%s]", R.out);
	/* steering it works as reading it does */
	EXPECT_AS(box_env(NULL), 0, NULL, "breaker", "trip", "b1", "--reason", "only box");
	ck_assert_str_eq(breaker_state(box, "b1"), "forced_open");
}
END_TEST

START_TEST(find_several_listed)
{
	PRIVATE_SHM();
	const char *a = lib_box(), *b = lib_box();
	for (size_t i = 0; i < ARRAY_LEN(steering); i++) {
		run_args(box_env(NULL), NULL, steering[i]);
		ck_assert_msg(R.code == 2, "%s: exit %d", R.cmd, R.code);
		one_error_line("pick one: -b NAME or FUSEBOX_BOX=NAME");
		ck_assert_msg(strstr(R.err, a) && strstr(R.err, b), "%s: boxes not listed: [%s]",
			      R.cmd, R.err);
		ck_assert_msg(R.out[0] == '\0', "%s: [%s]", R.cmd, R.out);
	}
	ck_assert_ptr_null(ready_box_change(a));
	ck_assert_ptr_null(ready_box_change(b));
	/* -b and FUSEBOX_BOX pick one */
	EXPECT_AS(box_env(NULL), 0, b, "status", "--json");
	ck_assert_str_eq(jstr(json_must(R.out), "box"), b);
	EXPECT_AS(box_env(a), 0, NULL, "status", "--json");
	ck_assert_str_eq(jstr(json_must(R.out), "box"), a);
}
END_TEST

START_TEST(find_none_said)
{
	PRIVATE_SHM();
	for (size_t i = 0; i < ARRAY_LEN(steering); i++) {
		run_args(box_env(NULL), NULL, steering[i]);
		ck_assert_msg(R.code == 2, "%s: exit %d", R.cmd, R.code);
		one_error_line("no box on this host");
		ck_assert_msg(strstr(R.err, "create it") == NULL &&
				      strstr(R.err, "fuseboxctl -b") == NULL,
			      "%s: advises making a box: [%s]", R.cmd, R.err);
		ck_assert_msg(R.out[0] == '\0', "%s: [%s]", R.cmd, R.out);
	}
	/* nothing was made on the way, and ls needs no box */
	EXPECT_AS(box_env(NULL), 0, NULL, "ls");
	ck_assert_uint_eq(count_char(R.out, '\n'), 1);
	ck_assert_msg(strncmp(R.out, "BOX ", 4) == 0, "[%s]", R.out);
}
END_TEST

/* create with no box makes "default" (the one name a newcomer's first
 * command can have); destroy removes only a box named. */
START_TEST(find_create_and_destroy)
{
	PRIVATE_SHM();
	EXPECT_AS(box_env(NULL), 0, NULL, "create", "--breakers", "4", "--limiters", "2",
		  "--keys", "64", "--events", "64", "--workers", "4");
	ck_assert_msg(strncmp(R.out, "created box default: 0 breakers, 0 limiters declared\n",
			      52) == 0, "[%s]", R.out);
	ck_assert(tshm_exists("default"));
	EXPECT_AS(box_env(NULL), 0, NULL, "status", "--json");
	ck_assert_str_eq(jstr(json_must(R.out), "box"), "default");
	EXPECT_AS(box_env(NULL), 2, NULL, "destroy");
	one_error_line("destroy: which box?");
	ck_assert(tshm_exists("default"));
	EXPECT_AS(box_env(NULL), 0, "default", "destroy");
	ck_assert(!tshm_exists("default"));
}
END_TEST

/* The commands --help lists, each once, in order. */
static size_t help_commands(char names[][32], size_t max)
{
	OK(NULL, "--help");
	static char lines[256][256];
	size_t n = split_lines(R.out, lines, 256), k = 0;
	bool in = false;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(lines[i], "commands:") == 0) {
			in = true;
			continue;
		}
		if (in && lines[i][0] == '\0')
			break;
		char w[32];
		if (!in || strncmp(lines[i], "  ", 2) != 0 || lines[i][2] == ' ' ||
		    sscanf(lines[i], " %31[a-z-]", w) != 1)
			continue;
		bool seen = false;
		for (size_t j = 0; j < k; j++)
			seen = seen || strcmp(names[j], w) == 0;
		if (!seen && k < max)
			snprintf(names[k++], 32, "%s", w);
	}
	return k;
}

/* COMMAND --help: every command, with or without a box, even after other
 * arguments; what follows "--" is breaker call's command's own. */
START_TEST(every_command_help)
{
	char names[64][32];
	size_t n = help_commands(names, 64);
	ck_assert_uint_ge(n, 20);
	const char *none = new_box();
	for (size_t i = 0; i < n; i++) {
		char want[64];
		snprintf(want, sizeof(want), "usage: fuseboxctl [-b BOX] %s", names[i]);
		EXPECT_AS(box_env(none), 0, NULL, names[i], "--help");
		ck_assert_msg(strncmp(R.out, want, strlen(want)) == 0, "%s: [%s]", R.cmd, R.out);
		ck_assert_str_eq(R.err, "");
		EXPECT_AS(box_env(none), 0, NULL, names[i], "x", "-h");
		ck_assert_msg(strncmp(R.out, want, strlen(want)) == 0, "%s: [%s]", R.cmd, R.out);
	}
	ck_assert(!tshm_exists(none));
	const char *box = lib_box();
	EXPECT(0, box, "breaker", "call", "b1", "--", "/bin/sh", "-c", "echo \"$1\"", "sh", "--help");
	ck_assert_str_eq(R.out, "--help\n");
}
END_TEST

/* ---- the man page holds to --help ---------------------------------------- */

#define MAX_OPTS 48

struct optset {
	char name[32];            /* a command, or "" for the global options */
	char opt[MAX_OPTS][32];
	size_t n;
};

static struct optset *set_for(struct optset *sets, size_t *nsets, size_t max, const char *name)
{
	for (size_t i = 0; i < *nsets; i++)
		if (strcmp(sets[i].name, name) == 0)
			return &sets[i];
	ck_assert_uint_lt(*nsets, max);
	struct optset *s = &sets[(*nsets)++];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	return s;
}

static bool has_opt(const struct optset *s, const char *opt)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->opt[i], opt) == 0)
			return true;
	return false;
}

/* Every option in text ("-n", "--since"): a dash not inside a word,
 * then a letter; "--" alone and "half-open" are not options. */
static void add_opts(struct optset *s, const char *text)
{
	for (size_t i = 0; text[i] != '\0'; i++) {
		if (text[i] != '-' || (i > 0 && (isalnum((unsigned char)text[i - 1]) ||
						 text[i - 1] == '-' || text[i - 1] == '\\')))
			continue;
		size_t start = i, j = i + (text[i + 1] == '-' ? 2 : 1);
		if (!isalpha((unsigned char)text[j]))
			continue;
		while (isalnum((unsigned char)text[j]) || text[j] == '-')
			j++;
		char opt[32];
		snprintf(opt, sizeof(opt), "%.*s", (int)(j - start), text + start);
		if (!has_opt(s, opt) && s->n < MAX_OPTS)
			snprintf(s->opt[s->n++], 32, "%s", opt);
		i = j - 1;
	}
}

/* The man page's lines, with groff's \- as -. */
static char *man_text(void)
{
	const char *path = getenv("FUSEBOX_MAN");
	if (path == NULL || *path == '\0')
		path = "man/fuseboxctl.1";
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s: cannot open (set FUSEBOX_MAN)", path);
	struct sbuf b = {0};
	char line[1024];
	while (fgets(line, sizeof(line), f) != NULL) {
		for (char *p = line; *p; p++) {
			if (p[0] == '\\' && p[1] == '-')
				p++;
			sb_putc(&b, *p);
		}
	}
	fclose(f);
	return sb_take(&b);
}

/* The first word of a macro line's text: ".BI \"breaker show \" NAME" ->
 * "breaker". */
static void first_word(const char *line, char *w, size_t len)
{
	const char *p = line;
	while (*p && *p != ' ')
		p++;
	while (*p == ' ' || *p == '"')
		p++;
	size_t n = 0;
	while (p[n] && p[n] != ' ' && p[n] != '"' && n + 1 < len)
		n++;
	snprintf(w, len, "%.*s", (int)n, p);
}

START_TEST(man_page_matches_help)
{
	char names[64][32];
	size_t ncmd = help_commands(names, 64);
	struct optset help[64], man[64];
	size_t nhelp = 0, nman = 0;

	/* --help: a command's line starts with two spaces and its name;
	 * before "commands:", the global options */
	OK(NULL, "--help");
	char *out = strdup(R.out);
	struct optset *cur = set_for(help, &nhelp, 64, "");
	bool in = false;
	for (char *save = NULL, *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (strcmp(l, "commands:") == 0) {
			in = true;
			continue;
		}
		if (in && strncmp(l, "  ", 2) == 0 && l[2] != ' ') {
			char w[32];
			first_word(l + 1, w, sizeof(w));
			cur = set_for(help, &nhelp, 64, w);
		} else if (in && l[0] != ' ') {
			break; /* the closing paragraph */
		}
		add_opts(cur, l);
	}
	free(out);

	/* the man page: SYNOPSIS items start after .br or .PP, the first word
	 * of their first line the command ("fuseboxctl": the global options);
	 * the global options also have their .TP under "Global options" */
	char *text = man_text();
	const char *syn = strstr(text, "\n.SH SYNOPSIS\n"), *desc = strstr(text, "\n.SH DESCRIPTION");
	ck_assert_msg(syn != NULL && desc != NULL && syn < desc, "no SYNOPSIS in the man page");
	cur = NULL;
	bool item_start = true;
	for (const char *p = syn + 1; p < desc;) {
		const char *eol = strchr(p, '\n');
		char line[512];
		snprintf(line, sizeof(line), "%.*s", (int)(eol - p), p);
		p = eol + 1;
		if (strcmp(line, ".br") == 0 || strcmp(line, ".PP") == 0) {
			item_start = true;
			continue;
		}
		if (line[0] != '.' || strncmp(line, ".SH", 3) == 0)
			continue;
		if (item_start) {
			char w[32];
			first_word(line, w, sizeof(w));
			cur = set_for(man, &nman, 64, strcmp(w, "fuseboxctl") == 0 ? "" : w);
			item_start = false;
		}
		if (cur != NULL)
			add_opts(cur, line);
	}
	const char *glob = strstr(text, "\n.SS Global options\n"), *gend = glob ? strstr(glob + 1, "\n.SS") : NULL;
	ck_assert_msg(glob != NULL && gend != NULL, "no \"Global options\" in the man page");
	struct optset *g = set_for(man, &nman, 64, "");
	for (const char *p = glob; p < gend && (p = strstr(p, "\n.TP\n")) != NULL && p < gend; p += 4) {
		const char *eol = strchr(p + 5, '\n');
		char line[256];
		snprintf(line, sizeof(line), "%.*s", (int)(eol - p - 5), p + 5);
		add_opts(g, line);
	}

	/* the same commands, and for each the same options, both ways */
	for (size_t i = 0; i < ncmd; i++) {
		bool found = false;
		for (size_t j = 0; j < nman; j++)
			found = found || strcmp(man[j].name, names[i]) == 0;
		ck_assert_msg(found, "'%s' is in --help but not in the man page's SYNOPSIS", names[i]);
	}
	for (size_t j = 0; j < nman; j++) {
		bool found = man[j].name[0] == '\0';
		for (size_t i = 0; i < ncmd; i++)
			found = found || strcmp(man[j].name, names[i]) == 0;
		ck_assert_msg(found, "'%s' is in the man page's SYNOPSIS but not in --help", man[j].name);
	}
	size_t compared = 0;
	for (size_t i = 0; i < nhelp; i++) {
		const struct optset *h = &help[i], *m = set_for(man, &nman, 64, h->name);
		const char *what = h->name[0] ? h->name : "(global)";
		for (size_t k = 0; k < h->n; k++)
			ck_assert_msg(has_opt(m, h->opt[k]), "%s %s: in --help, not in the man page",
				      what, h->opt[k]);
		for (size_t k = 0; k < m->n; k++)
			ck_assert_msg(has_opt(h, m->opt[k]), "%s %s: in the man page, not in --help",
				      what, m->opt[k]);
		compared += h->n;
	}
	/* a parser that found nothing would pass the above */
	ck_assert_uint_gt(compared, 60);
	ck_assert(has_opt(set_for(help, &nhelp, 64, "events"), "--newest-first"));
	ck_assert(has_opt(set_for(help, &nhelp, 64, ""), "--box"));
	free(text);
}
END_TEST

FBX_TEST_SUITE(ctl_basics)
{
	Suite *s = suite_create("ctl_basics");
	TCase *tc = ctl_tcase("basics", 0);
	tcase_add_test(tc, json_strict_reading);
	tcase_add_test(tc, help_and_version);
	tcase_add_test(tc, box_from_environment);
	tcase_add_test(tc, find_the_only_box);
	tcase_add_test(tc, find_several_listed);
	tcase_add_test(tc, find_none_said);
	tcase_add_test(tc, find_create_and_destroy);
	tcase_add_test(tc, every_command_help);
	tcase_add_test(tc, man_page_matches_help);
	suite_add_tcase(s, tc);
	return s;
}
