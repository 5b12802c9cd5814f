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
	 * counts; uptime, version, interval and the clock trail */
	tui_putf(&p, -1, TUI_TITLE, "%s", v->box ? v->box : "?");
	if (v->read_only)
		tui_put(&p, " READ-ONLY", -1, TUI_WARN);
	if (v->paused)
		tui_put(&p, " PAUSED", -1, TUI_WARN);
	if (cur == NULL || cur->snap == NULL) {
		tui_put(&p, "  (no box: waiting for it to appear)", -1, TUI_WARN);
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
	tui_putf(&p, -1, open ? TUI_BAD : TUI_NORMAL, "  %d open", open);
	if (due)
		tui_putf(&p, -1, TUI_BAD, " (%d due)", due);
	tui_putf(&p, -1, half ? TUI_WARN : TUI_NORMAL, " %d half", half);
	tui_putf(&p, -1, forced ? TUI_MANUAL : TUI_NORMAL, " %d forced", forced);
	tui_putf(&p, -1, dry ? TUI_WARN : TUI_NORMAL, " %d dry-run", dry);
	double dt = tui_seconds_between(cur, prev);
	uint64_t first = ne ? e[0].seq : 0, pfirst = 0;
	size_t pne = 0;
	if (prev != NULL && prev->snap != NULL) {
		uint64_t pd;
		const fbx_event *pe = fbx_snapshot_events(prev->snap, &pne, &pd);
		pfirst = pne ? pe[0].seq : 0;
	}
	tui_putf(&p, -1, TUI_NORMAL, "  %.1f ev/s", tui_per_s(first + ne, pfirst + pne, dt));
	uint64_t up = cur->time_ns > cur->box_created_ns ? (cur->time_ns - cur->box_created_ns) / 1000000000u : 0;
	tui_putf(&p, -1, TUI_DIM, "  up %lluh%02llum v%u  %.1fs", (unsigned long long)(up / 3600),
		 (unsigned long long)(up / 60 % 60), cur->layout_version, v->interval_s);
	if (v->clock[0] != '\0')
		tui_putf(&p, -1, TUI_DIM, " %s", v->clock);
}

void tui_hint(const struct tui_view *v, struct tui_screen *s)
{
	struct pen p = tui_pen_at(s, 1);
	if (v->message != NULL && v->message[0] != '\0') {
		tui_put(&p, v->message, -1, TUI_BOLD);
		return;
	}
	const char *hint = v->read_only
		? "Tab pane  j/k move  / filter  s sort  p pause  +/- interval  ? help  q quit"
		: v->pane == TUI_PANE_RESILIENCE
		? "Tab pane  j/k move  D drain on/off  / filter  s sort  p pause  +/- interval  "
		  "? help  q quit"
		: v->pane == TUI_PANE_HEALTH || v->pane == TUI_PANE_WORKERS
		? "Tab pane  j/k move  x remove check  D drain on/off  / filter  s sort  p pause  "
		  "? help  q quit"
		: "Tab pane  j/k move  t trip  c hold  a release  r reset  d dry-run  D drain  "
		  "/ filter  s sort  p pause  ? help  q quit";
	tui_put(&p, hint, -1, TUI_DIM);
}

