/* tables.c — the words of the console that the man page repeats: column
 * headings, prompts and header fields.  The panes draw from these tables
 * and fusebox-top --man prints the page's parts from them, so a heading
 * renamed here is renamed in both (tests/test_console.c compares the
 * committed page with --man). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"

/* Widths: every column of the workers, limiters and health panes and the
 * breakers' up to TRIAL-IN fit 80 columns with the two-blank lead and a
 * blank between columns. */
static const struct tui_column breakers[] = {
	{"STATE", 15, false,
	 "The breaker's state as a glyph and the word fuseboxctl prints: o closed (green: calls pass), "
	 "X open (red: calls are rejected until the open period ends), X open, due (red: the open "
	 "period has ended but no call has come since; the breaker moves to half-open only at its "
	 "next call, which is the trial, so an idle breaker stays open; fuseboxctl breaker call sends "
	 "one), ~ half-open (yellow: a few trial calls pass, enough successes close it), ! forced-open "
	 "(red: tripped by an operator, every call is rejected until it is released or reset), "
	 "= forced-closed (yellow: held closed by an operator, every call passes)."},
	{"SINCE", 5, true,
	 "How long the breaker has been in its state, in the largest unit: 12s, 4m, 3h, 2d."},
	{"NAME", 18, false, "The breaker's name, cut to 18 characters."},
	{"CALLS/S", 7, true,
	 "Calls (successful, failed and ignored) per second between the last two samples."},
	{"FAIL%", 6, true,
	 "The share of failed calls: in the breaker's own window when it keeps one (a failure-rate or "
	 "slow-rate policy is on and the window holds calls), otherwise among the calls since the "
	 "previous sample; - when there were none.  Coloured by its distance to this breaker's own "
	 "failure-rate threshold: yellow from half of it, red at or over it; never coloured when the "
	 "breaker has no failure-rate policy."},
	{"SLOW%", 6, true,
	 "The share of slow calls, measured the same way, and coloured the same way against the "
	 "breaker's slow-call-rate threshold."},
	{"CONSEC", 6, true,
	 "Consecutive failures: yellow from half the breaker's fail_max, red at it; never coloured "
	 "when that policy is off."},
	{"TRIAL-IN", 8, true,
	 "For an open breaker, the time until it admits a trial call, or due once its open period "
	 "has ended; otherwise -."},
	{"HALF", 5, true,
	 "Half-open trial calls in flight, host-wide, and the most allowed at once, as IN/MAX."},
	{"TRIPS", 5, true,
	 "How many times the breaker has tripped by itself (an operator's trips are counted in the "
	 "detail view)."},
	{"RECENT", 0, false,
	 "A sparkline of the breaker's calls per second over the last 12 samples, oldest first, each "
	 "one of the characters \" _.-=+*#\" scaled to the most in the line (at least 5 calls a "
	 "second, so a trickle stays low); samples within 15% of that most are drawn full, so a "
	 "steady rate draws a flat line.  A sample in which most calls failed is shown in red."},
};

static const struct tui_column limiters[] = {
	{"NAME", 18, false, "The limiter's name, cut to 18 characters."},
	{"RULE", 17, false,
	 "Its rule, such as 100/minute;10/second, cut to 17 characters; for a limiter in dry-run "
	 "mode, cut to 12 and followed by the badge DRY (yellow): it counts what it would deny and "
	 "denies nothing."},
	{"ALGO", 6, false,
	 "The algorithm the limiter uses (one added with auto, the default, shows what that resolved "
	 "to): log (exact: at most the count in any period), window (an estimate: at most twice the "
	 "count) or gcra (count per period sustained, at most count + burst - 1).  The detail view "
	 "says what each promises."},
	{"ALLOW/S", 7, true, "Takes allowed per second between the last two samples."},
	{"DENY/S", 7, true,
	 "Takes denied per second, the ones let through in dry-run mode included (yellow when not 0)."},
	{"KEYS/CAP", 11, true,
	 "For a keyed limiter, the keys it holds and the size of the table they live in: the box's "
	 "log keys for a log limiter, its shared key table for the others; - for a limiter that is "
	 "not keyed."},
	{"EVICT", 5, true, "Keys evicted to make room for new ones (yellow when not 0)."},
};

static const struct tui_column workers[] = {
	{"PID", 7, false, "The process.  fusebox-top never signals it."},
	{"ROLE", 10, false, "The role it registered with (master bold), cut to 10 characters."},
	{"STATE", 9, false,
	 "o alive (green), X gone (its process is gone) or X stale (its heartbeat is older than its "
	 "timeout), both red; ? damaged for a slot whose words do not hold together."},
	{"BEAT", 6, true,
	 "The age of its last heartbeat: yellow past half its timeout, red when stale."},
	{"TIMEOUT", 7, true, "The heartbeat timeout it registered with."},
	{"INFLIGHT", 8, true, "Requests begun and not yet ended (0 for a dead one: reclaimed)."},
	{"SERVED", 9, true, "Requests ended in its slot."},
	{"REQ/S", 7, true,
	 "Requests served per second between the last two samples (- for one not in the previous "
	 "sample)."},
	{"UP", 6, true, "How long ago it registered."},
};

static const struct tui_column health[] = {
	{"STATUS", 6, false,
	 "o pass (green), ~ warn (yellow) or X FAIL (red), as the check counts now: one not set "
	 "again within its TTL fails."},
	{"CHECK", 22, false, "Its name, cut to 22 characters."},
	{"CRIT", 4, false, "yes when its failing makes the box unhealthy."},
	{"AGE", 5, true,
	 "Since it was last set (red once past its TTL); - for a check that follows a breaker."},
	{"TTL", 5, true, "Its TTL; - for a check that follows a breaker."},
	{"MESSAGE", 0, false,
	 "Its message; EXPIRED (set STATUS) MESSAGE for one past its TTL; follows breaker NAME for "
	 "one that follows a breaker."},
};

static const struct tui_column budgets[] = {
	{"BUDGET", 19, false, "The retry budget's name."},
	{"BALANCE", 7, true,
	 "The retries the budget still allows now: red at 0, when every retry on the host is "
	 "refused."},
	{"RETRIES", 7, true, "Retries in its window."},
	{"REQUESTS", 8, true, "First attempts in its window."},
	{"ALLOWED", 8, true, "Retries allowed since it was made."},
	{"REFUSED", 8, true, "Retries refused since it was made (yellow when any was)."},
	{"POLICY", 0, false, "Percent + floor a second, and window: 20%+10/s 10s."},
};

static const struct tui_column bulkheads[] = {
	{"BULKHEAD", 19, false, "The bulkhead's name."},
	{"IN FLIGHT", 11, true,
	 "Places held out of the cap: red when full, yellow from three quarters."},
	{"PEAK", 6, true, "The most places held at once."},
	{"REFUSED", 9, true, "Calls refused because it was full."},
	{"RECLAIMED", 9, true, "Places taken back from processes that died holding them."},
	{"LOAD", 0, false, "The places held, as a bar of 16 cells."},
};

static const struct tui_column caches[] = {
	{"CACHE", 19, false, "The cache's name."},
	{"ENTRIES", 13, true, "Values held, fresh or servable stale, out of its slots."},
	{"HIT%", 6, true, "Gets answered, fresh or stale, out of all gets."},
	{"HITS", 8, true, "Fresh answers."},
	{"STALE", 8, true,
	 "Answers served past their TTL: yellow, as they mean the upstream is failing and the "
	 "cache covers for it."},
	{"MISSES", 8, true, "Gets not answered."},
	{"PUTS", 8, true, "Values stored."},
};

#define LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const struct {
	const char *name;
	const struct tui_column *cols;
	int n;
} tables[TUI_TABLE_COUNT] = {
	[TUI_COLS_BREAKERS] = {"breakers", breakers, LEN(breakers)},
	[TUI_COLS_LIMITERS] = {"limiters", limiters, LEN(limiters)},
	[TUI_COLS_WORKERS] = {"workers", workers, LEN(workers)},
	[TUI_COLS_HEALTH] = {"health", health, LEN(health)},
	[TUI_COLS_BUDGETS] = {"budgets", budgets, LEN(budgets)},
	[TUI_COLS_BULKHEADS] = {"bulkheads", bulkheads, LEN(bulkheads)},
	[TUI_COLS_CACHES] = {"caches", caches, LEN(caches)},
};

const struct tui_column *tui_columns(enum tui_table t, int *n)
{
	*n = tables[t].n;
	return tables[t].cols;
}

const char *tui_table_name(enum tui_table t)
{
	return tables[t].name;
}

/* Only y confirms a [y/N]: a stray Enter during an incident must not trip
 * a breaker.  At the reason prompt Esc cancels the whole action: an
 * operator who presses it has changed their mind, and the line says
 * "cancelled" so nobody believes the action was done. */
#define YN "only y confirms; Enter, Esc, Y and any other key cancel"
static const struct tui_prompt_text prompts[TUI_Q_COUNT] = {
	[TUI_Q_TRIP] = {"Trip %s? [y/N] ", "payments", YN},
	[TUI_Q_HOLD] = {"Hold closed %s? [y/N] ", "payments", YN},
	[TUI_Q_RELEASE] = {"Release to automatic %s? [y/N] ", "payments", YN},
	[TUI_Q_RESET] = {"Reset %s? [y/N] ", "payments", YN},
	[TUI_Q_DRY_ON] = {"Dry-run ON for %s? [y/N] ", "mailer", YN},
	[TUI_Q_DRY_OFF] = {"Dry-run OFF for %s? [y/N] ", "mailer", YN},
	[TUI_Q_DRAIN_ON] = {"Start draining box %s (readiness fails from now)? [y/N] ", "shop", YN},
	[TUI_Q_DRAIN_OFF] = {"Stop draining box %s (ready again)? [y/N] ", "shop", YN},
	[TUI_Q_REMOVE_CHECK] = {"Remove check %s? [y/N] ", "disk", YN},
	[TUI_Q_REASON] = {"Reason (Enter to skip, Esc cancels): ", NULL,
			  "Asked once a trip, hold, release, reset, dry-run change or the start or "
			  "end of a drain is confirmed.  Enter does the action and records it in the "
			  "event ring with the reason and the operator's uid and pid (with no reason "
			  "when the line is empty); Esc cancels the action, which is not done, and "
			  "the line says cancelled"},
	[TUI_Q_FILTER] = {"Filter: ", NULL,
			  "Enter applies the filter (an empty one shows every row); Esc clears it"},
};

/* Tab's order, which a printout (-1) follows too. */
static const char *const panes[TUI_PANE_COUNT] = {
	[TUI_PANE_BREAKERS] = "breakers", [TUI_PANE_LIMITERS] = "limiters",
	[TUI_PANE_WORKERS] = "workers",   [TUI_PANE_HEALTH] = "health",
	[TUI_PANE_RESILIENCE] = "resilience", [TUI_PANE_EVENTS] = "events",
};

const char *tui_pane_name(enum tui_pane p)
{
	return p >= 0 && p < TUI_PANE_COUNT ? panes[p] : "?";
}

/* ncurses waits ESCDELAY ms (1000 by default) after an Esc for the rest
 * of a function key's sequence, so Esc at the filter or the reason acted
 * a second late; 25 ms is ample for a terminal's own sequences, even over
 * ssh, where they arrive in one packet.  An operator's own ESCDELAY (a
 * number of ms) stands. */
int tui_escape_delay(const char *env)
{
	if (env != NULL && env[0] >= '0' && env[0] <= '9') {
		char *end;
		long ms = strtol(env, &end, 10);
		if (*end == '\0' && ms <= 60000)
			return (int)ms;
	}
	return 25;
}

const struct tui_prompt_text *tui_prompt(enum tui_prompt q)
{
	return &prompts[q >= 0 && q < TUI_Q_COUNT ? q : TUI_Q_FILTER];
}

static const struct tui_header_field header[] = {
	{"BOX", "The box shown.  While there is none, the rest of the line says why and that the "
		"console waits for it."},
	{"READ-ONLY", "Actions are off (see ACTIONS)."},
	{"PAUSED", "Sampling is paused (p); the figures are those of the last sample."},
	{"DRAINING AGE",
	 "The box is draining, and has been for AGE (red): readiness probes fail while it drains.  "
	 "Who began the drain and why are in the health pane.  Shown only for a box whose "
	 "processes use workers, checks or the drain."},
	{"ok | DEGRADED | UNHEALTHY",
	 "The box's aggregate health (green, yellow, red): a critical check failing is unhealthy; a "
	 "critical check warning, or any other check failing or warning, is degraded.  Shown, with "
	 "the figures after it, only for a box whose processes register as workers, set checks, or "
	 "call fbx_started or fbx_drain."},
	{"N up N dead",
	 "Registered processes alive (the master included), and those that are gone or whose "
	 "heartbeat is stale (red; left out when none)."},
	{"N open (N due) N half-open N forced",
	 "How many breakers are open (with how many of them have a trial due, when any), half-open, "
	 "and forced-open or forced-closed by an operator."},
	{"N dry-run", "How many limiters are in dry-run mode."},
	{"N ev/s", "Events added to the event ring per second, over the last 5 seconds."},
	{"up HhMMm vN",
	 "The time since the box was created and its layout version (left out first when the line "
	 "is too narrow)."},
	{"Ns", "The sampling interval (left out before the clock)."},
	{"HH:MM:SS", "The wall-clock time of the last sample: its room is always kept."},
};

const struct tui_header_field *tui_header_fields(int *n)
{
	*n = LEN(header);
	return header;
}

/* ---- the man page's parts ------------------------------------------------- */

void tui_man_text(FILE *f, const char *text)
{
	if (text[0] == '.' || text[0] == '\'')
		fputs("\\&", f);
	for (const char *c = text; *c; c++) {
		if (*c == '\\')
			fputs("\\e", f);
		else if (*c == '-')
			fputs("\\-", f);
		else
			fputc(*c, f);
	}
}

/* The word in bold, quoted for troff when it has a blank. */
static void bold(FILE *f, const char *word)
{
	fputs(strchr(word, ' ') ? ".B \"" : ".B ", f);
	tui_man_text(f, word);
	fputs(strchr(word, ' ') ? "\"\n" : "\n", f);
}

void tui_man_columns(FILE *f)
{
	for (int t = 0; t < TUI_TABLE_COUNT; t++) {
		fprintf(f, ".\\\" BEGIN GENERATED columns-%s\n", tables[t].name);
		for (int i = 0; i < tables[t].n; i++) {
			fputs(".TP\n", f);
			bold(f, tables[t].cols[i].head);
			tui_man_text(f, tables[t].cols[i].help);
			fputc('\n', f);
		}
		fprintf(f, ".\\\" END GENERATED columns-%s\n", tables[t].name);
	}
}

void tui_man_prompts(FILE *f)
{
	fputs(".\\\" BEGIN GENERATED prompts\n.PP\n.RS 4\n.EX\n", f);
	for (int q = 0; q < TUI_Q_COUNT; q++) {
		char line[160];
		snprintf(line, sizeof(line), prompts[q].format,
			 prompts[q].example ? prompts[q].example : "");
		size_t n = strlen(line);
		while (n > 0 && line[n - 1] == ' ')
			line[--n] = '\0';
		tui_man_text(f, line);
		fputc('\n', f);
	}
	fputs(".EE\n.RE\n", f);
	for (int q = 0; q < TUI_Q_COUNT; q++) {
		if (q > 0 && strcmp(prompts[q].answers, prompts[q - 1].answers) == 0)
			continue;
		fputs(".TP\n", f);
		char line[160];
		snprintf(line, sizeof(line), prompts[q].format, "NAME");
		size_t n = strlen(line);
		while (n > 0 && line[n - 1] == ' ')
			line[--n] = '\0';
		fputs(".B \"", f);
		tui_man_text(f, q == TUI_Q_TRIP ? "[y/N]" : line);
		fputs("\"\n", f);
		tui_man_text(f, prompts[q].answers);
		fputs(".\n", f);
	}
	fputs(".\\\" END GENERATED prompts\n", f);
}

/* The panes a printout holds, in its order: the page's list cannot leave
 * one out (it left out resilience once). */
void tui_man_printout(FILE *f)
{
	fputs(".\\\" BEGIN GENERATED printout\n(", f);
	for (int p = 0; p < TUI_PANE_COUNT; p++)
		fprintf(f, "%s%s", p == 0 ? "" : p + 1 == TUI_PANE_COUNT ? " and " : ", ", panes[p]);
	fputs(", one after the other)\n.\\\" END GENERATED printout\n", f);
}

void tui_man_header(FILE *f)
{
	fputs(".\\\" BEGIN GENERATED header\n", f);
	for (size_t i = 0; i < sizeof(header) / sizeof(header[0]); i++) {
		fputs(".TP\n", f);
		bold(f, header[i].shown);
		tui_man_text(f, header[i].help);
		fputc('\n', f);
	}
	fputs(".\\\" END GENERATED header\n", f);
}
