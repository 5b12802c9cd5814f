/* detail.c — one breaker or limiter in full (Enter). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"

static void kv(struct tui_screen *s, int *row, const char *key, enum tui_attr attr,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void kv(struct tui_screen *s, int *row, const char *key, enum tui_attr attr,
	       const char *fmt, ...)
{
	if (*row >= s->rows)
		return;
	char buf[TUI_COLS_MAX + 1];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* a long value (an accuracy line) goes on under itself rather than
	 * being cut at the edge of an 80-column terminal */
	const char *text = buf;
	int width = s->cols - 24;
	do {
		size_t n = strlen(text);
		if (width > 20 && n > (size_t)width) {
			/* after a ", " or ": " in the second half of the line if there is
			 * one, so that a clause stays whole; else at the last blank */
			size_t at = 0;
			for (size_t i = (size_t)width / 2; i + 1 < (size_t)width; i++)
				if ((text[i] == ',' || text[i] == ':') && text[i + 1] == ' ')
					at = i + 1;
			for (n = (size_t)width; at == 0 && n > 0 && text[n] != ' ';)
				n--;
			n = at ? at : n ? n : (size_t)width;
		}
		struct pen p = tui_pen_at(s, (*row)++);
		tui_putf(&p, 24, TUI_BOLD, "  %s", text == buf ? key : "");
		tui_putf(&p, -1, attr, "%.*s", (int)n, text);
		text += n;
		while (*text == ' ')
			text++;
	} while (*text != '\0' && *row < s->rows);
}

/* "1 success" and "2 successes": the detail view is read in sentences. */
static const char *plural(unsigned long long n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* A configured or remaining duration as fuseboxctl breaker show prints
 * it, "60.000 s": the detail view and the tool are read side by side in
 * an incident, and the same figure must not look like two. */
static const char *seconds(char *buf, size_t len, uint64_t ns)
{
	snprintf(buf, len, "%.3f s", (double)ns / 1e9);
	return buf;
}

static void recent_events(const struct tui_sample *cur, const char *name, struct tui_screen *s,
			  int row)
{
	if (row >= s->rows)
		return;
	tui_title(s, row++, "RECENT EVENTS", false);
	size_t n;
	uint64_t dropped;
	const fbx_event *e = fbx_snapshot_events(cur->snap, &n, &dropped);
	for (size_t i = 0; i < n && row < s->rows; i++) {
		const fbx_event *x = &e[n - 1 - i];
		if (x->corrupt || strcmp(x->name, name) != 0)
			continue;
		struct pen p = tui_pen_at(s, row++);
		tui_gap(&p, 0);
		tui_event_line(&p, cur, x);
	}
}

static void breaker_detail(const struct tui_sample *cur, const fbx_breaker_info *b,
			   struct tui_screen *s, int row)
{
	char t[96];
	snprintf(t, sizeof(t), "BREAKER %s", b->name);
	tui_title(s, row++, t, true);
	if (b->corrupt) {
		kv(s, &row, "record", TUI_BAD, "damaged: not shown");
		return;
	}
	const fbx_breaker_config *c = &b->config;
	char age[32], word[32];
	tui_age(age, sizeof(age), b->state_age_ns, false);
	kv(s, &row, "state", tui_state_attr(b->state), "%s %s for %s", tui_state_glyph(b->state),
	   tui_breaker_word(b, word, sizeof(word)), age);
	if (b->trial_due)
		kv(s, &row, "trial allowed in", TUI_BAD, "due: the next call is the trial");
	else if (b->state == FBX_OPEN)
		kv(s, &row, "trial allowed in", TUI_BAD, "%s",
		   seconds(age, sizeof(age), b->open_remaining_ns));
	kv(s, &row, "calls", TUI_NORMAL, "%llu ok, %llu failed, %llu ignored, %llu slow",
	   (unsigned long long)b->successes, (unsigned long long)b->failures,
	   (unsigned long long)b->ignored, (unsigned long long)b->slow);
	kv(s, &row, "rejected / trips", TUI_NORMAL, "%llu / %llu", (unsigned long long)b->rejected,
	   (unsigned long long)b->trips);
	/* fail_max 0 turns the policy off: "0 of 0" would read as tripping */
	if (c->fail_max == 0)
		kv(s, &row, "consecutive failures", TUI_DIM, "off (%llu in a row)",
		   (unsigned long long)b->consecutive_failures);
	else
		kv(s, &row, "consecutive failures", tui_rate_attr((double)b->consecutive_failures, c->fail_max),
		   "%llu of %u", (unsigned long long)b->consecutive_failures, c->fail_max);
	const uint64_t *m = b->manual_actions;
	kv(s, &row, "operator actions", TUI_NORMAL, "%llu %s, %llu %s, %llu %s, %llu %s",
	   (unsigned long long)m[0], plural(m[0], "trip", "trips"), (unsigned long long)m[1],
	   plural(m[1], "hold", "holds"), (unsigned long long)m[2],
	   plural(m[2], "release", "releases"), (unsigned long long)m[3],
	   plural(m[3], "reset", "resets"));
	if (b->operator_known) {
		/* read from the box, which any writer may have scribbled on: a
		 * control byte must not reach the terminal */
		char why[FBX_REASON_MAX];
		size_t n = 0;
		for (; b->operator_reason[n] != '\0' && n + 1 < sizeof(why); n++)
			why[n] = b->operator_reason[n] >= 0x20 && b->operator_reason[n] < 0x7f
					 ? b->operator_reason[n]
					 : '?';
		why[n] = '\0';
		tui_age(age, sizeof(age), b->operator_age_ns, false);
		kv(s, &row, "last operator action", TUI_MANUAL, "%s %s ago by uid %u pid %d%s%s",
		   fbx_event_cause_label(b->operator_cause), age, (unsigned)b->operator_uid,
		   (int)b->operator_pid, why[0] ? ": " : "", why);
	}
	if (c->failure_rate_pct || c->slow_rate_pct) {
		char fr[24] = "off", sr[24] = "off";
		if (c->failure_rate_pct)
			snprintf(fr, sizeof(fr), "%u%%", c->failure_rate_pct);
		if (c->slow_rate_pct)
			snprintf(sr, sizeof(sr), "%u%%", c->slow_rate_pct);
		kv(s, &row, "window", TUI_NORMAL,
		   "%llu %s, %llu failed, %llu slow (trips at %s failed / %s slow, min %u %s)",
		   (unsigned long long)b->window_calls, plural(b->window_calls, "call", "calls"),
		   (unsigned long long)b->window_failures, (unsigned long long)b->window_slow, fr, sr,
		   c->min_calls, plural(c->min_calls, "call", "calls"));
	}
	char period[32], upto[48] = "";
	if (c->reset_timeout_max_ns > c->reset_timeout_ns)
		snprintf(upto, sizeof(upto), ", doubling to %s",
			 seconds(period, sizeof(period), c->reset_timeout_max_ns));
	kv(s, &row, "open period", TUI_NORMAL, "%s%s",
	   seconds(period, sizeof(period), c->reset_timeout_ns), upto);
	/* fuseboxctl's words ("2 successes to close"), trials in flight first */
	kv(s, &row, "half-open", TUI_NORMAL, "%u/%u %s in flight, %u %s to close, lease %s",
	   b->half_open_in_flight, c->half_open_max, plural(c->half_open_max, "trial", "trials"),
	   c->success_threshold, plural(c->success_threshold, "success", "successes"),
	   seconds(period, sizeof(period), c->trial_lease_ns));
	recent_events(cur, b->name, s, row + 1);
}

static void limiter_detail(const struct tui_sample *cur, const fbx_limiter_info *l,
			   struct tui_screen *s, int row)
{
	char t[96];
	snprintf(t, sizeof(t), "LIMITER %s", l->name);
	tui_title(s, row++, t, true);
	if (l->corrupt) {
		kv(s, &row, "record", TUI_BAD, "damaged: not shown");
		return;
	}
	kv(s, &row, "rule", TUI_NORMAL, "%s (%s%s)", l->rule, fbx_algorithm_name(l->algorithm),
	   l->keyed ? ", keyed" : "");
	kv(s, &row, "accuracy", TUI_NORMAL, "%s", fbx_algorithm_accuracy(l->algorithm));
	if (l->algorithm == FBX_ALGO_GCRA) {
		char worst[FBX_RULE_TEXT_MAX];
		fbx_rule r = l->parsed;
		for (uint32_t i = 0; i < r.n && i < FBX_RULE_LIMITS_MAX; i++)
			r.limit[i].count += l->burst > 0 ? l->burst - 1 : 0;
		if (fbx_rule_format(&r, worst, sizeof(worst)) != 0)
			snprintf(worst, sizeof(worst), "count + %u a period", l->burst > 0 ? l->burst - 1 : 0);
		kv(s, &row, "burst", TUI_NORMAL, "%u of tolerance on the sustained %s: at most %s",
		   l->burst, l->rule, worst);
	}
	kv(s, &row, "mode", l->dry_run ? TUI_WARN : TUI_NORMAL, "%s", l->dry_run ? "DRY-RUN: denies nothing" : "enforcing");
	kv(s, &row, "decisions", TUI_NORMAL, "%llu allowed, %llu denied, %llu dry-run denied",
	   (unsigned long long)l->allowed, (unsigned long long)l->denied,
	   (unsigned long long)l->dry_run_denied);
	if (l->keyed) {
		kv(s, &row, "keys", TUI_NORMAL, "%llu %s held, %llu evicted", (unsigned long long)l->keys,
		   plural(l->keys, "key", "keys"), (unsigned long long)l->evictions);
		if (row < s->rows)
			tui_title(s, row++, "MOST DENIED KEYS (estimates, never low)", false);
		for (uint32_t i = 0; i < l->ntop && row < s->rows; i++) {
			struct pen p = tui_pen_at(s, row++);
			tui_putf(&p, 52, TUI_NORMAL, "  %-48s", l->top[i].key);
			tui_putf(&p, -1, TUI_WARN, "%10llu", (unsigned long long)l->top[i].denials);
		}
	}
	recent_events(cur, l->name, s, row + 1);
}

void tui_detail(const struct tui_sample *cur, const struct tui_view *v, struct tui_screen *s)
{
	const char *name = cur && cur->snap ? tui_selected_name(cur, v) : NULL;
	struct pen p = tui_pen_at(s, 2);
	if (name == NULL) {
		tui_put(&p, "  nothing selected (Enter to go back)", -1, TUI_DIM);
		return;
	}
	size_t n;
	if (v->pane == TUI_PANE_BREAKERS) {
		const fbx_breaker_info *b = fbx_snapshot_breakers(cur->snap, &n);
		for (size_t i = 0; i < n; i++)
			if (strcmp(b[i].name, name) == 0)
				breaker_detail(cur, &b[i], s, 2);
	} else {
		const fbx_limiter_info *l = fbx_snapshot_limiters(cur->snap, &n);
		for (size_t i = 0; i < n; i++)
			if (strcmp(l[i].name, name) == 0)
				limiter_detail(cur, &l[i], s, 2);
	}
}

