/* header.c — the first two lines: the box at a glance, and the keys or
 * the operator's last message. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"

void tui_header(const struct tui_sample *cur, const struct tui_sample *prev,
		   const struct tui_view *v, struct tui_screen *s)
{
	struct pen p = tui_pen_at(s, 0);
	/* what must survive 80 columns comes first: the box, the badges, the
	 * counts; uptime, version, interval and the clock trail, the clock's
	 * room kept whatever comes before it: an operator reading a
	 * screenshot needs to know when it was taken */
	char clock[24] = "";
	if (v->clock[0] != '\0' && cur != NULL && cur->snap != NULL)
		snprintf(clock, sizeof(clock), " %.8s", v->clock);
	int lc = (int)strlen(clock);
	if (p.line != NULL && p.cols > lc)
		p.cols -= lc;
	tui_putf(&p, -1, TUI_TITLE, "%s", v->box ? v->box : "?");
	if (v->read_only)
		tui_put(&p, " READ-ONLY", -1, TUI_WARN);
	if (v->paused)
		tui_put(&p, " PAUSED", -1, TUI_WARN);
	if (cur == NULL || cur->snap == NULL) {
		tui_putf(&p, -1, TUI_WARN, "  (%s)",
			 v->no_box ? v->no_box : "no box: waiting for it to appear");
		return;
	}
	size_t nb, nl, ne;
	uint64_t dropped;
	const fbx_breaker_info *b = fbx_snapshot_breakers(cur->snap, &nb);
	const fbx_limiter_info *l = fbx_snapshot_limiters(cur->snap, &nl);
	const fbx_event *e = fbx_snapshot_events(cur->snap, &ne, &dropped);
	int open = 0, due = 0, half = 0, forced = 0, dry = 0;
	for (size_t i = 0; i < nb; i++) {
		open += b[i].state == FBX_OPEN;
		due += b[i].trial_due != 0;
		half += b[i].state == FBX_HALF_OPEN;
		forced += b[i].state == FBX_FORCED_OPEN || b[i].state == FBX_FORCED_CLOSED;
	}
	for (size_t i = 0; i < nl; i++)
		dry += l[i].dry_run;
	/* the drain and the aggregate before the breakers: a drain started
	 * by mistake takes a host out of rotation */
	if (tui_health_used(cur->snap)) {
		const fbx_health *h = fbx_snapshot_health(cur->snap);
		if (h->draining) {
			char age[16];
			tui_age(age, sizeof(age), h->drain_age_ns, true);
			tui_putf(&p, -1, TUI_BAD, " DRAINING %s", age);
		}
		tui_putf(&p, -1, h->status == FBX_HEALTH_OK ? TUI_GOOD
				 : h->status == FBX_HEALTH_DEGRADED ? TUI_WARN : TUI_BAD,
			 "  %s", tui_health_word(h->status));
		tui_putf(&p, -1, TUI_NORMAL, " %u up", h->workers_alive + h->masters_alive);
		if (h->workers_dead)
			tui_putf(&p, -1, TUI_BAD, " %u dead", h->workers_dead);
	}
	tui_putf(&p, -1, open ? TUI_BAD : TUI_NORMAL, "  %d %s", open, tui_state_word(FBX_OPEN));
	if (due)
		tui_putf(&p, -1, TUI_BAD, " (%d due)", due);
	tui_putf(&p, -1, half ? TUI_WARN : TUI_NORMAL, " %d %s", half, tui_state_word(FBX_HALF_OPEN));
	tui_putf(&p, -1, forced ? TUI_MANUAL : TUI_NORMAL, " %d forced", forced);
	tui_putf(&p, -1, dry ? TUI_WARN : TUI_NORMAL, " %d dry-run", dry);
	/* over the last few seconds: one refresh's count jumps between 0 and
	 * a burst and says nothing about the rate */
	double rate = tui_history_event_rate(v->history, 5.0);
	if (rate < 0) {
		double dt = tui_seconds_between(cur, prev);
		uint64_t first = ne ? e[0].seq : 0, pfirst = 0;
		size_t pne = 0;
		if (prev != NULL && prev->snap != NULL) {
			uint64_t pd;
			const fbx_event *pe = fbx_snapshot_events(prev->snap, &pne, &pd);
			pfirst = pne ? pe[0].seq : 0;
		}
		rate = tui_per_s(first + ne, pfirst + pne, dt);
	}
	tui_putf(&p, -1, TUI_NORMAL, "  %.1f ev/s", rate);
	/* what trails gives way from the left, the clock last */
	uint64_t up = cur->time_ns > cur->box_created_ns ? (cur->time_ns - cur->box_created_ns) / 1000000000u : 0;
	char every[24], upv[48];
	snprintf(every, sizeof(every), "  %.1fs", v->interval_s);
	snprintf(upv, sizeof(upv), "  up %lluh%02llum v%u", (unsigned long long)(up / 3600),
		 (unsigned long long)(up / 60 % 60), cur->layout_version);
	int room = p.cols - p.col, le = (int)strlen(every), lu = (int)strlen(upv);
	if (lu + le <= room)
		tui_put(&p, upv, -1, TUI_DIM);
	if (le <= room - (lu + le <= room ? lu : 0))
		tui_put(&p, every, -1, TUI_DIM);
	if (p.line != NULL)
		p.cols = s->cols;
	tui_put(&p, clock, -1, TUI_DIM);
}

/* The key hints, most useful first; "? help  q quit" is kept at the end
 * whatever the width, the others are left out from the last when they do
 * not fit.  A message (a result, an error) takes the place of the hints,
 * not of help and quit. */
void tui_hint(const struct tui_view *v, struct tui_screen *s)
{
	static const char *const tail = "  ? help  q quit";
	/* each pane's own actions first: at 80 columns there is room for
	 * about six hints, and t in the limiters pane would only be refused */
	static const char *const ro[] = {"Tab pane", "j/k move", "Enter detail", "/ filter",
					 "s sort", "p pause", "+/- interval", NULL};
	static const char *const brk[] = {"Tab pane", "j/k move", "t trip", "c hold", "a release",
					  "r reset", "/ filter", "Enter detail", "s sort", "p pause",
					  NULL};
	static const char *const lim[] = {"Tab pane", "j/k move", "d dry-run", "Enter detail",
					  "/ filter", "s sort", "p pause", NULL};
	static const char *const hl[] = {"Tab pane", "j/k move", "x remove check", "D drain on/off",
					 "/ filter", "s sort", "p pause", NULL};
	static const char *const res[] = {"Tab pane", "j/k move", "D drain on/off", "/ filter",
					  "s sort", "p pause", "+/- interval", NULL};
	static const char *const ev[] = {"Tab pane", "j/k move", "PgUp/PgDn page", "D drain",
					 "p pause", "+/- interval", NULL};
	const char *const *hint = v->read_only ? ro
				  : v->pane == TUI_PANE_BREAKERS ? brk
				  : v->pane == TUI_PANE_LIMITERS ? lim
				  : v->pane == TUI_PANE_RESILIENCE ? res
				  : v->pane == TUI_PANE_EVENTS ? ev
				  : hl;
	struct pen p = tui_pen_at(s, 1);
	int room = s->cols - (int)strlen(tail);
	if (v->message != NULL && v->message[0] != '\0') {
		int n = (int)strlen(v->message);
		tui_put(&p, v->message, n < room ? n : room > 0 ? room : 0, TUI_BOLD);
	} else {
		for (int i = 0; hint[i] != NULL; i++) {
			int w = (i ? 2 : 0) + (int)strlen(hint[i]);
			if (p.col + w > room)
				break;
			tui_putf(&p, -1, TUI_DIM, "%s%s", i ? "  " : "", hint[i]);
		}
	}
	tui_put(&p, tail + (p.col == 0 ? 2 : 0), -1, TUI_DIM);
}
