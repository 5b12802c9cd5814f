/*
 * fuzz_rule.c — the rate-rule grammar (lib/rule.c).
 *
 * The input is the rule's text.  Beyond not crashing, what the rest of
 * the library leans on is checked: a rule that parses is within the
 * grammar's bounds, formats into FBX_RULE_TEXT_MAX bytes (a limiter keeps
 * its rule there), and its canonical text parses to the same limits and
 * formats to itself, as does the limiter configuration built from it; a
 * refused rule leaves the caller's rule alone and points inside the text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "internal.h"

#define NS_PER_S 1000000000ull
#define PERIOD_MAX_S (366ull * 86400)

static bool same_limits(const fbx_rule *a, const fbx_rule *b)
{
	if (a->n != b->n)
		return false;
	for (uint32_t i = 0; i < a->n; i++)
		if (a->limit[i].count != b->limit[i].count ||
		    a->limit[i].period_ns != b->limit[i].period_ns)
			return false;
	return true;
}

/* Every shorter buffer must be refused whole (a cut rule reads as another
 * rule); each is allocated to its exact size so that ASan sees a write
 * past it. */
static void format_into_short_buffers(const fbx_rule *r, const char *canon)
{
	size_t need = strlen(canon) + 1;
	for (size_t len = 0; len <= need; len++) {
		char *buf = malloc(len ? len : 1);
		CHECK(buf != NULL);
		int rc = fbx_rule_format(r, buf, len);
		if (len < need) {
			CHECK(rc == FBX_ERANGE);
			CHECK(len == 0 || buf[0] == '\0');
		} else {
			CHECK(rc == 0 && strcmp(buf, canon) == 0);
		}
		free(buf);
	}
}

/* What a limiter is built from: the same canonical text, the same limits. */
static void limiter_configs(const fbx_rule *r, const char *text, const char *canon)
{
	uint64_t least = UINT64_MAX;
	bool window_fits = true;
	for (uint32_t i = 0; i < r->n; i++) {
		if (r->limit[i].count < least)
			least = r->limit[i].count;
		window_fits = window_fits && r->limit[i].count <= FBX_WINDOW_COUNT_MAX;
	}
	struct fbx__limiter_cfg cfg;
	int rc = fbx__limiter_cfg_build(FBX_ALGO_WINDOW, 1, text, &cfg);
	CHECK(rc == (window_fits ? 0 : FBX_ERANGE));
	if (rc == 0) {
		CHECK(strcmp(cfg.rule, canon) == 0 && same_limits(&cfg.parsed, r));
		CHECK(cfg.min_count == least);
	}
	uint32_t bursts[] = {1, (uint32_t)(least > 2 ? least / 2 : 1), (uint32_t)least};
	for (size_t k = 0; k < sizeof(bursts) / sizeof(bursts[0]); k++) {
		rc = fbx__limiter_cfg_build(FBX_ALGO_GCRA, bursts[k], text, &cfg);
		CHECK(rc == 0 || rc == FBX_ERANGE ||
		      (bursts[k] > FBX_GCRA_BURST_MAX && rc == FBX_EINVAL));
		if (rc != 0)
			continue;
		CHECK(strcmp(cfg.rule, canon) == 0 && same_limits(&cfg.parsed, r));
		for (uint32_t i = 0; i < r->n; i++) {
			/* the rule's rate sustained: never more than count calls
			 * a period apart from the burst, whatever the burst */
			const struct fbx__limit *l = &cfg.lim[i];
			CHECK(l->gcra_t > 0 && l->gcra_t * l->count >= l->period_ns &&
			      l->gcra_tau == l->gcra_t * (bursts[k] - 1));
		}
	}
}

static void accepted(const fbx_rule *r, const char *text)
{
	CHECK(r->n >= 1 && r->n <= FBX_RULE_LIMITS_MAX);
	for (uint32_t i = 0; i < r->n; i++) {
		CHECK(r->limit[i].count >= 1 && r->limit[i].count <= UINT32_MAX);
		CHECK(r->limit[i].period_ns % NS_PER_S == 0);
		CHECK(r->limit[i].period_ns >= NS_PER_S &&
		      r->limit[i].period_ns <= PERIOD_MAX_S * NS_PER_S);
	}
	char canon[FBX_RULE_TEXT_MAX];
	CHECK(fbx_rule_format(r, canon, sizeof(canon)) == 0);
	fbx_rule again;
	size_t where = 0;
	CHECK(fbx_rule_parse(canon, &again, &where) == 0);
	CHECK(same_limits(r, &again));
	char twice[FBX_RULE_TEXT_MAX];
	CHECK(fbx_rule_format(&again, twice, sizeof(twice)) == 0 && strcmp(canon, twice) == 0);
	format_into_short_buffers(r, canon);
	limiter_configs(r, text, canon);
}

static unsigned long inputs, parsed;

static void stats(void)
{
	/* run.sh adds this line to the target's summary */
	fprintf(stderr, "fuzz-stat: parsed %lu%% of inputs\n", inputs ? parsed * 100 / inputs : 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	atexit(stats);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	fbx_rule r, before;
	memset(&r, 0xa5, sizeof(r));
	before = r;
	size_t where = SIZE_MAX;
	int rc = fbx_rule_parse(text, &r, &where);
	inputs++;
	if (rc == 0) {
		parsed++;
		accepted(&r, text);
	} else {
		CHECK(rc == FBX_ERULE || rc == FBX_ERANGE);
		CHECK(memcmp(&r, &before, sizeof(r)) == 0);
		CHECK(where <= strnlen(text, FBX_RULE_TEXT_MAX - 1));
	}

	/* The parser promises to look no further than FBX_RULE_TEXT_MAX bytes,
	 * so a full buffer without a NUL is safe to offer: here it ends the
	 * allocation, and ASan guards the byte after it. */
	if (memchr(data, '\0', size < FBX_RULE_TEXT_MAX ? size : FBX_RULE_TEXT_MAX) == NULL &&
	    size >= FBX_RULE_TEXT_MAX) {
		char *raw = malloc(FBX_RULE_TEXT_MAX);
		if (raw != NULL) {
			memcpy(raw, data, FBX_RULE_TEXT_MAX);
			CHECK(fbx_rule_parse(raw, &r, &where) == FBX_ERULE);
			CHECK(where == FBX_RULE_TEXT_MAX - 1);
			free(raw);
		}
	}
	free(text);
	return 0;
}
