/*
 * fuzz_options.c — fuseboxctl's words: options (ctl_options), numbers,
 * durations, percentages, modes, groups (tools/ctl_parse.c) and the
 * settings they feed (tools/ctl_settings.c, the [box] keys).
 *
 * The first byte picks a command's option table, the rest is split into
 * argv words on NUL or newline.  The options are parsed as that command
 * does, every value goes through the parser the command would use, and
 * then every word goes through each parser on its own.  Checked beyond
 * not crashing: every word is accounted for exactly once (a positional,
 * an option, its value, or the "--"), durations and numbers are accepted
 * exactly when a plain reading of their text says so and have that value,
 * and every refusal prints one line while an acceptance prints nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_config.h"
#include "fuzz.h"
#include "internal.h"

#define MAX_WORDS 64
#define MAX_OPTS 12

static char *msg;
static size_t msg_len;
static void stats(void);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* the parsers' messages are caught per input (fuzz.h) */
	fuzz_keep_stderr();
	atexit(stats);
	return 0;
}

/* Each parser says nothing when it accepts and one line when it refuses. */
static int said(int rc, size_t before)
{
	fflush(stderr);
	size_t lines = 0;
	for (size_t i = before; i < msg_len; i++)
		lines += msg[i] == '\n';
	CHECK(rc == 0 || rc == CTL_ERR);
	if (rc == 0)
		CHECK(msg_len == before);
	else
		CHECK(lines == 1 && msg[msg_len - 1] == '\n');
	return rc;
}
/* The comma operator takes the length before the call; as two arguments
 * of said() the two would be evaluated in either order. */
static size_t said_before;
#define SAID(call) (said_before = (fflush(stderr), msg_len), said((call), said_before))

/* ---- the commands' option tables (tools/ctl_*.c) -------------------------- */

struct table {
	const char *opts[MAX_OPTS];
	unsigned flags;  /* bit k: opts[k] takes no value */
	size_t maxpos;
	bool rest_ok;    /* "-- CMD ..." may follow (breaker call) */
	enum { T_CREATE, T_BREAKER, T_LIMITER, T_DURATION, T_CODES, T_COST, T_TOP, T_NONE } kind;
};

static const struct table tables[] = {
	{{"--config", "--breakers", "--limiters", "--keys", "--events", "--workers", "--mode",
	  "--group", "--exist-ok"}, 1u << 8, 0, false, T_CREATE},
	{{"--fail-max", "--failure-rate", "--window", "--min-calls", "--slow-call", "--slow-rate",
	  "--reset", "--reset-max", "--half-open", "--success-threshold", "--trial-lease"},
	 0, 1, false, T_BREAKER},
	{{"--rate", "--algo", "--burst", "--keyed", "--dry-run"}, 3u << 3, 1, false, T_LIMITER},
	{{"--duration"}, 0, 2, false, T_DURATION},
	{{"--ignore-exit"}, 0, 1, true, T_CODES},
	{{"--key", "--cost", "--json"}, 1u << 2, 1, false, T_COST},
	{{"--json", "--top"}, 1u, 1, false, T_TOP},
	{{"--reason"}, 0, 1, false, T_NONE},
};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

static size_t table_opts(const struct table *t, struct ctl_opt *o)
{
	size_t n = 0;
	for (; n < MAX_OPTS && t->opts[n] != NULL; n++)
		o[n] = (struct ctl_opt){t->opts[n], !(t->flags & (1u << n)), NULL};
	return n;
}

static int index_of(char **argv, int argc, const char *p)
{
	for (int i = 0; i < argc; i++)
		if (argv[i] == p)
			return i;
	return -1;
}

static void check_options(int argc, char **argv, const struct ctl_opt *o, size_t no,
			  char **pos, size_t maxpos, size_t npos, int rest)
{
	CHECK(npos <= maxpos && rest >= 0 && rest <= argc);
	CHECK(rest == argc || (rest > 0 && strcmp(argv[rest - 1], "--") == 0));
	bool taken[MAX_WORDS] = {false};
	size_t used = npos;
	for (size_t i = 0; i < npos; i++) {
		int at = index_of(argv, argc, pos[i]);
		CHECK(at >= 0 && at < rest && !taken[at]);
		CHECK(i == 0 || at > index_of(argv, argc, pos[i - 1]));
		taken[at] = true;
	}
	for (size_t k = 0; k < no; k++) {
		if (o[k].value == NULL)
			continue;
		used++; /* the option's own word */
		if (o[k].takes_value) {
			int at = index_of(argv, argc, o[k].value);
			CHECK(at > 0 && at < rest && !taken[at]);
			CHECK(strcmp(argv[at - 1], o[k].name) == 0);
			taken[at] = true;
			used++;
		} else {
			CHECK(o[k].value[0] == '\0');
		}
	}
	/* every word before rest once; the "--" that ends them, if any */
	CHECK(used == (size_t)rest ||
	      (used + 1 == (size_t)rest && strcmp(argv[rest - 1], "--") == 0));
}

/* What each command does with its options' values before opening a box. */
static void apply(const struct table *t, const struct ctl_opt *o, size_t no, char **pos,
		  size_t npos, unsigned long *lib_refusals)
{
	if (t->kind == T_CREATE) {
		struct plan p;
		plan_init(&p);
		for (size_t k = 1; k < 8; k++)
			if (o[k].value != NULL)
				SAID(box_setting(&p.box, o[k].name, o[k].value, "create"));
		struct fbx__layout lay;
		CHECK(fbx__layout_compute(&p.box, &lay) == 0 && p.box.mode <= 0777);
		plan_free(&p);
	} else if (t->kind == T_BREAKER) {
		fbx_breaker_config cfg;
		fbx_breaker_config_init(&cfg);
		int rc = 0;
		for (size_t k = 0; rc == 0 && k < no; k++)
			if (o[k].value != NULL)
				rc = SAID(breaker_setting(&cfg, o[k].name, o[k].value, "breaker add"));
		if (rc == 0 && npos == 1 && SAID(breaker_check(pos[0], &cfg, "breaker add")) == 0)
			CHECK(fbx_breaker_config_check(&cfg, NULL) == 0);
	} else if (t->kind == T_LIMITER) {
		struct limiter_spec spec;
		limiter_spec_init(&spec);
		int rc = 0;
		for (size_t k = 0; rc == 0 && k < 3; k++)
			if (o[k].value != NULL)
				rc = SAID(limiter_setting(&spec, o[k].name, o[k].value, "limiter add"));
		spec.cfg.keyed = o[3].value != NULL;
		spec.cfg.dry_run = o[4].value != NULL;
		if (rc == 0 && npos == 1 && o[0].value != NULL &&
		    SAID(limiter_check(pos[0], &spec, "limiter add")) == 0) {
			fbx_limiter_config cfg = limiter_config(&spec);
			struct fbx__limiter_cfg built;
			/* auto builds as the window wherever the log does not fit */
			uint32_t algo = cfg.algorithm == FBX_ALGO_AUTO ? FBX_ALGO_WINDOW
								       : cfg.algorithm;
			if (fbx__limiter_cfg_build(algo, cfg.burst, cfg.rule, &built) != 0)
				(*lib_refusals)++;
		}
	} else if (t->kind == T_DURATION && o[0].value != NULL) {
		uint64_t ns;
		SAID(ctl_duration("--duration", o[0].value, &ns));
	} else if (t->kind == T_COST && o[1].value != NULL) {
		uint32_t v;
		SAID(ctl_u32("--cost", o[1].value, 1, UINT32_MAX, &v));
	} else if (t->kind == T_TOP && o[1].value != NULL) {
		uint32_t v;
		SAID(ctl_u32("--top", o[1].value, 1, FBX_TOP_KEYS, &v));
	}
}

/* ---- each parser against a plain reading of the word ------------------- */

/* Decimal digits only, as a value: false when there is none or it passes
 * 2^64 (leading zeros are fine). */
static bool plain_number(const char *s, size_t n, unsigned __int128 *v)
{
	*v = 0;
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (unsigned)(s[i] - '0');
		if (*v > UINT64_MAX)
			return false;
	}
	return true;
}

static void check_u32(const char *s, uint32_t min, uint32_t max)
{
	unsigned __int128 v;
	uint32_t got = 0xdeadbeef;
	int rc = SAID(ctl_u32("n", s, min, max, &got));
	bool ok = plain_number(s, strlen(s), &v) && v >= min && v <= max;
	CHECK((rc == 0) == ok);
	CHECK(!ok || got == (uint32_t)v);
}

static void check_duration(const char *s)
{
	static const struct {
		const char *unit;
		uint64_t ns;
	} units[] = {{"ms", 1000000ull}, {"s", 1000000000ull}, {"m", 60000000000ull},
		     {"h", 3600000000000ull}};
	uint64_t got = 0;
	int rc = SAID(ctl_duration("d", s, &got));
	size_t d = strspn(s, "0123456789");
	bool ok = false;
	unsigned __int128 v, want = 0;
	/* at most 19 digits: the parser's stated bound, below 2^64 */
	for (size_t i = 0; d >= 1 && d <= 19 && i < 4; i++) {
		if (strcmp(s + d, units[i].unit) == 0 && plain_number(s, d, &v)) {
			want = v * units[i].ns;
			ok = want <= UINT64_MAX;
		}
	}
	CHECK((rc == 0) == ok);
	CHECK(!ok || got == (uint64_t)want);
}

static void check_mode(const char *s)
{
	uint32_t got = 07777;
	int rc = SAID(ctl_mode("m", s, &got));
	CHECK(rc != 0 || got <= 0777);
	size_t n = strlen(s), oct = strspn(s, "01234567");
	if (n > 0 && oct == n && n <= 8) {
		unsigned long v = strtoul(s, NULL, 8);
		CHECK((rc == 0) == (v <= 0777));
	}
}

static void every_parser(const char *w, bool group)
{
	check_u32(w, 0, UINT32_MAX);
	check_u32(w, 1, 100);
	check_u32(w, 16, 1u << 20);
	check_duration(w);
	check_mode(w);
	uint32_t pct;
	if (SAID(ctl_pct("p", w, &pct)) == 0)
		CHECK(pct >= 1 && pct <= 100);
	gid_t g;
	if (group) /* a lookup in /etc/group: once an input is enough */
		SAID(ctl_group("g", w, &g));
}

/* ---- the target ------------------------------------------------------------- */

static unsigned long inputs, accepted, lib_refusals;

static void stats(void)
{
	/* run.sh adds this line to the target's summary */
	fprintf(fuzz_err,
		"fuzz-stat: options accepted in %lu%% of inputs, %lu accepted limiters the library refuses\n",
		inputs ? accepted * 100 / inputs : 0, lib_refusals);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	inputs++;
	const struct table *t = &tables[data[0] % NTABLES];
	char *argv[MAX_WORDS + 1];
	int argc = 0;
	/* words of their own size, so that reading past one is seen */
	for (size_t at = 1; at <= size && argc < MAX_WORDS;) {
		size_t end = at;
		while (end < size && data[end] != '\0' && data[end] != '\n')
			end++;
		char *w = malloc(end - at + 1);
		CHECK(w != NULL);
		memcpy(w, data + at, end - at);
		w[end - at] = '\0';
		argv[argc++] = w;
		at = end + 1;
	}
	argv[argc] = NULL;

	stderr = open_memstream(&msg, &msg_len);
	CHECK(stderr != NULL);
	struct ctl_opt o[MAX_OPTS];
	size_t no = table_opts(t, o), npos = 0;
	char *pos[2] = {NULL, NULL};
	int rest = -1;
	int rc = SAID(ctl_options(argc, argv, o, no, pos, t->maxpos, &npos, &rest));
	if (rc == 0) {
		accepted++;
		check_options(argc, argv, o, no, pos, t->maxpos, npos, rest);
		if (t->rest_ok || rest == argc)
			apply(t, o, no, pos, npos, &lib_refusals);
		CHECK(ctl_opt(o, no, "--no-such-option") == NULL);
		for (size_t k = 0; k < no; k++)
			CHECK(ctl_opt(o, no, o[k].name) == o[k].value);
	}
	/* the first words are enough: the parsers see one word at a time */
	for (int i = 0; i < argc && i < 8; i++)
		every_parser(argv[i], i == 0);
	fclose(stderr);
	stderr = fuzz_err;
	free(msg);
	msg = NULL;
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	return 0;
}
