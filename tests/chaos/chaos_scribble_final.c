/*
 * chaos_scribble_final.c — the box as a --scribble run left it.
 *
 * Once the scribbler, the workers and the reader are gone the box holds
 * still, so the final snapshot's records can be matched with the offsets
 * the scribbler logged: each record a scribble touched must be listed
 * whole and in range, or marked corrupt (damage-flagged); each record none
 * touched must read whole (untouched-readable); the events are whole or
 * corrupt, in order (events-flagged), up to the head (events-readable).
 * A record the snapshot no longer lists is accounted for by why: freed (a
 * reader cannot tell), or hidden by damage a reader could see and does
 * not flag.  The tools run once more on that box.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "chaos_scribble.h"
#include "internal.h"

#define NOTES_MAX 4

struct touched {
	bool *b, *l;
	uint64_t scribbles[RG_N];
};

static void find_touched(const struct chaos_run *run, struct touched *t)
{
	const struct chaos_shared *sh = run->shared;
	uint64_t n = atomic_load(&sh->nscrib);
	for (uint64_t i = 0; i < n; i++) {
		const struct chaos_scrib *s = &sh->scrib[i];
		uint32_t index;
		t->scribbles[chaos_locate(run->box, s->off, &index)]++;
		for (unsigned k = 0; k < s->len; k++) {
			enum chaos_area rg = chaos_locate(run->box, s->off + k, &index);
			if (rg == RG_BREAKER && index < run->box->cap_breakers)
				t->b[index] = true;
			else if (rg == RG_LIMITER && index < run->box->cap_limiters)
				t->l[index] = true;
		}
	}
}

/* The position of record i in the final snapshot, or -1 when it is not
 * listed. */
static long listed_at(const struct chaos_run *run, bool breakers, uint32_t i)
{
	fbx_box *box = run->box;
	/* Snapshots list every slot that is LIVE or damaged, in order (the
	 * header's high-water mark is not trusted): damaged is a life word
	 * that is none of FREE, INIT and LIVE, or FREE with a name.  INIT
	 * (being created, or left by a dead registrar) is not listed. */
	long pos = 0;
	for (uint32_t k = 0; k <= i; k++) {
		const struct fbx__rec_head *h = breakers ? &box->breakers[k].head
							 : &box->limiters[k].head;
		uint32_t life = atomic_load(&h->live);
		bool shown = life == FBX__REC_FREE ? h->name[0] != '\0' : life != FBX__REC_INIT;
		if (k == i)
			return shown ? pos : -1;
		pos += shown;
	}
	return -1;
}

/* A whole limiter whose rule text is not the rule its figures enforce:
 * every value is in range, yet the reader shows a rule not in force. */
static bool rule_differs(const struct chaos_run *run, uint32_t i, const fbx_limiter_info *li)
{
	struct fbx__limiter_cfg c;
	uint64_t active;
	if (fbx__limiter_cfg_copy(&run->box->limiters[i], &c, &active) != 0 || c.parsed.n != li->parsed.n)
		return true;
	for (uint32_t k = 0; k < c.parsed.n && k < FBX_RULE_LIMITS_MAX; k++)
		if (c.lim[k].count != li->parsed.limit[k].count ||
		    c.lim[k].period_ns != li->parsed.limit[k].period_ns)
			return true;
	return false;
}

/* Whether a record not listed was ever registered: a free one never
 * named is a slot no registration reached, not a record gone missing. */
static bool ever_used(const struct fbx__rec_head *h)
{
	if (atomic_load(&h->live) != FBX__REC_FREE)
		return true;
	for (size_t i = 0; i < sizeof(h->name); i++)
		if (h->name[i] != '\0')
			return true;
	return false;
}

struct tally {
	uint64_t touched, flagged, whole, freed, untouched, lying;
	unsigned garbage, missing;        /* records hidden, unflagged: how many */
	char garbage_at[400], missing_at[400]; /* and which */
};

/* Appends "i" (with the live word, when it says something) to list. */
static void add_index(char *list, size_t len, uint32_t i, uint32_t live, bool with_live)
{
	size_t used = strlen(list);
	if (used + 24 >= len)
		return;
	if (with_live)
		snprintf(list + used, len - used, "%s%u: live 0x%x", used ? ", " : "", i, live);
	else
		snprintf(list + used, len - used, "%s%u", used ? ", " : "", i);
}

/* A record the final snapshot does not list.  Freed (live word FREE or
 * INIT) a reader cannot tell from a slot never used or a registrar that
 * died; but a LIVE record, or a live word that is none of the three, is a
 * record a reader could see and does not show: gone from every snapshot,
 * its figures with it. */
static void unlisted(const struct chaos_run *run, bool breaker, uint32_t i, bool touched,
		     struct tally *t)
{
	const struct fbx__rec_head *h = breaker ? &run->box->breakers[i].head
						: &run->box->limiters[i].head;
	uint32_t live = atomic_load(&h->live);
	if (!ever_used(h))
		return;
	if (live == FBX__REC_LIVE) {
		t->missing++;
		add_index(t->missing_at, sizeof(t->missing_at), i, live, false);
	} else if (!touched) {
		return;
	} else if (live != FBX__REC_FREE && live != FBX__REC_INIT && live != FBX__REC_LIVE) {
		t->garbage++;
		add_index(t->garbage_at, sizeof(t->garbage_at), i, live, true);
	} else {
		t->freed++;
	}
}

static void report_unlisted(const char *kind, const struct tally *t)
{
	chaos_checked("damage-flagged", 2);
	if (t->garbage)
		chaos_violation("damage-flagged", "after the run, %u touched %s records (%s) are in no "
				"snapshot and flagged nowhere: their live word holds none of FREE, "
				"INIT and LIVE", t->garbage, kind, t->garbage_at);
	if (t->missing)
		chaos_violation("damage-flagged", "after the run, %u LIVE %s records (%s) are in no "
				"snapshot", t->missing, kind, t->missing_at);
}

static void judge(const struct chaos_run *run, bool breaker, uint32_t i, bool touched,
		  const void *info, const char *why, struct tally *t)
{
	const char *kind = breaker ? "breaker" : "limiter";
	int corrupt = breaker ? ((const fbx_breaker_info *)info)->corrupt
			      : ((const fbx_limiter_info *)info)->corrupt;
	chaos_checked(touched ? "damage-flagged" : "untouched-readable", 1);
	if (touched) {
		t->touched++;
		t->flagged += corrupt != 0;
		t->whole += corrupt == 0 && why == NULL;
		if (why != NULL) {
			chaos_violation("damage-flagged", "after the run, %s record %u, touched by the "
					"scribbler, reads neither whole nor corrupt: %s", kind, i, why);
			chaos_scrib_recent(run, "damage-flagged", UINT64_MAX,
					   breaker ? RG_BREAKER : RG_LIMITER, i);
		}
		return;
	}
	t->untouched++;
	if (why != NULL || corrupt)
		chaos_violation("untouched-readable", "after the run, %s record %u, which no "
				"scribble touched, reads %s%s", kind, i, corrupt ? "corrupt" : "badly: ",
				why ? why : "");
}

static void check_records(const struct chaos_run *run, const fbx_snapshot *s,
			  const struct touched *tc)
{
	size_t nb, nl;
	const fbx_breaker_info *b = fbx_snapshot_breakers(s, &nb);
	const fbx_limiter_info *l = fbx_snapshot_limiters(s, &nl);
	uint64_t key_slots = (uint64_t)run->box->key_buckets * FBX__KB_WAYS;
	struct tally tb, tl;
	memset(&tb, 0, sizeof(tb));
	memset(&tl, 0, sizeof(tl));
	char buf[400];
	for (uint32_t i = 0; i < run->box->cap_breakers; i++) {
		long at = listed_at(run, true, i);
		if (at < 0 || (size_t)at >= nb) {
			unlisted(run, true, i, tc->b[i], &tb);
			continue;
		}
		judge(run, true, i, tc->b[i], &b[at], chaos_breaker_problem(&b[at], buf, sizeof(buf)),
		      &tb);
	}
	unsigned lies = 0;
	for (uint32_t i = 0; i < run->box->cap_limiters; i++) {
		long at = listed_at(run, false, i);
		if (at < 0 || (size_t)at >= nl) {
			unlisted(run, false, i, tc->l[i], &tl);
			continue;
		}
		const char *why = chaos_limiter_problem(&l[at], key_slots, buf, sizeof(buf));
		judge(run, false, i, tc->l[i], &l[at], why, &tl);
		if (tc->l[i] && why == NULL && !l[at].corrupt && rule_differs(run, i, &l[at])) {
			tl.lying++;
			if (lies++ < NOTES_MAX)
				chaos_note("limiter record %u (%s) reads whole, showing rule '%s', but the "
					   "limits its takes enforce are others (its precomputed figures "
					   "were scribbled, not its text)", i, l[at].name, l[at].rule);
		}
	}
	report_unlisted("breaker", &tb);
	report_unlisted("limiter", &tl);
	chaos_result("damage-flagged", "in every snapshot the reader took (%llu sightings of a "
		     "record damaged and unflagged), and after the run for the %llu listed records the "
		     "scribbler touched: %llu flagged corrupt, %llu whole and in range; %llu touched "
		     "records freed (live word FREE or INIT), %u hidden by their live word, %u LIVE "
		     "ones missing", (unsigned long long)run->shared->rep.damage_sightings,
		     (unsigned long long)(tb.touched + tl.touched),
		     (unsigned long long)(tb.flagged + tl.flagged),
		     (unsigned long long)(tb.whole + tl.whole), (unsigned long long)(tb.freed + tl.freed),
		     tb.garbage + tl.garbage, tb.missing + tl.missing);
	chaos_result("untouched-readable", "%llu records no scribble touched read whole",
		     (unsigned long long)(tb.untouched + tl.untouched));
	if (tl.lying)
		chaos_note("%llu touched limiters read whole with a rule text that is not the rule "
			   "in force (unflagged: every value is in its range)",
			   (unsigned long long)tl.lying);
}

static void check_final_events(const struct chaos_run *run, const fbx_snapshot *s)
{
	size_t ne;
	uint64_t dropped;
	const fbx_event *e = fbx_snapshot_events(s, &ne, &dropped);
	char buf[400];
	uint64_t corrupt = 0;
	for (size_t i = 0; i < ne; i++) {
		chaos_checked("events-flagged", 1);
		corrupt += e[i].corrupt != 0;
		const char *why = chaos_event_problem(&e[i], buf, sizeof(buf));
		if (why == NULL && i > 0 && e[i].seq <= e[i - 1].seq)
			why = "out of sequence order";
		if (why != NULL)
			chaos_violation("events-flagged", "after the run, event %llu: %s",
					(unsigned long long)e[i].seq, why);
	}
	const struct chaos_reader_report *r = &run->shared->rep;
	chaos_result("events-flagged", "%llu events the reader read (%llu corrupt) and %zu in the "
		     "final snapshot (%llu corrupt): each whole and in range, or marked corrupt, in "
		     "order", (unsigned long long)r->events, (unsigned long long)r->events_corrupt, ne,
		     (unsigned long long)corrupt);
}

/* With every writer gone, each event up to the head is complete, or in
 * progress for longer than the grace and so read as corrupt: a reader
 * must get to the head.  One that stops short for good hides every event
 * after the slot it stops at, and flags nothing. */
static void check_events_readable(const struct chaos_run *run, const fbx_snapshot *s)
{
	size_t ne;
	uint64_t dropped, head = atomic_load(&run->box->hdr->event_head);
	const fbx_event *e = fbx_snapshot_events(s, &ne, &dropped);
	uint64_t at = ne ? e[ne - 1].seq + 1 : dropped;
	chaos_checked("events-readable", 1);
	if (at >= head || head - at > run->box->cap_events)
		goto done; /* at the head; or a head scribbled past any reading */
	/* A slot nobody claimed is dated by the first complete event after
	 * it (lib/snapshot.c): none, and it may still be coming (not hidden:
	 * there is nothing after it); one younger than the grace, and a
	 * reader waits for it to age, as must this check. */
	uint64_t began = 0, now = chaos_now();
	for (uint64_t k = at + 1; k < head && k < at + run->box->cap_events && began == 0; k++) {
		const struct fbx__event_slot *o = &run->box->events[k % run->box->cap_events];
		/* as the library: a start of none, or after now, is no evidence */
		uint64_t b = atomic_load(&o->started);
		if ((atomic_load(&o->seq1) & ~FBX__EV_BUSY) == k + 1 && b != 0 && b <= now)
			began = b;
	}
	if (began == 0)
		goto done;
	uint64_t ripe = began + FBX__EV_GRACE_NS + 200 * CHAOS_MS;
	if (ripe > now && ripe - now <= FBX__EV_GRACE_NS + 200 * CHAOS_MS)
		chaos_sleep_ns(ripe - now);
	fbx_event ev[8];
	size_t n = 0;
	uint64_t next = at;
	if (fbx_events_read(run->box, at, ev, 8, &n, &next) == 0 && n == 0 && next == at) {
		const struct fbx__event_slot *slot = &run->box->events[at % run->box->cap_events];
		chaos_violation("events-readable", "after the run, readers stop at event %llu of %llu "
				"for good (slot %llu: seq1 0x%llx, started %llu): the events after it are "
				"in no snapshot, and nothing is flagged", (unsigned long long)at,
				(unsigned long long)head,
				(unsigned long long)(at % run->box->cap_events),
				(unsigned long long)atomic_load(&slot->seq1),
				(unsigned long long)atomic_load(&slot->started));
		chaos_scrib_recent(run, "events-readable", UINT64_MAX, RG_EVENTS,
				   (uint32_t)(at % run->box->cap_events));
	}
done:
	chaos_result("events-readable", "after the run, a reader gets to the head of the ring "
		     "(event %llu)", (unsigned long long)head);
}

/* The tools once more, on the box as the run left it. */
void chaos_scribble_final_tools(const struct chaos_run *run)
{
	struct chaos_beat beat;
	memset(&beat, 0, sizeof(beat));
	for (unsigned t = 0; t < TOOL_N; t++) {
		const char *args[10];
		struct chaos_tool_out o;
		char buf[400];
		chaos_tool_args(t, run->o.box, args);
		if (chaos_tool_run(run->o.ctl, args, &beat, CHAOS_HANG_NS, &o) != 0)
			continue;
		chaos_checked("tool-output", 1);
		chaos_checked("no-crash", 1);
		if (WIFSIGNALED(o.status))
			chaos_violation(o.killed ? "no-hang" : "no-crash", "after the run, fuseboxctl "
					"%s (pid %d) %s signal %d (%s)", chaos_tool_name(t), (int)o.pid,
					o.killed ? "ran too long and was killed by" : "died of",
					WTERMSIG(o.status), strsignal(WTERMSIG(o.status)));
		else if (chaos_tool_problem(t, &o, buf, sizeof(buf)) != NULL)
			chaos_violation("tool-output", "after the run, fuseboxctl %s (exit %d): %s",
					chaos_tool_name(t), WEXITSTATUS(o.status),
					chaos_tool_problem(t, &o, buf, sizeof(buf)));
		chaos_tool_free(&o);
	}
}

void chaos_scribble_final(const struct chaos_run *run, uint64_t by_area[RG_N])
{
	struct touched t;
	memset(&t, 0, sizeof(t));
	t.b = calloc(run->box->cap_breakers, sizeof(bool));
	t.l = calloc(run->box->cap_limiters, sizeof(bool));
	fbx_snapshot *s = NULL;
	int rc = t.b && t.l ? fbx_snapshot_new(run->box, &s) : FBX_ENOMEM;
	if (rc == 0)
		rc = fbx_snapshot_take(run->box, s);
	if (rc == 0) {
		find_touched(run, &t);
		check_records(run, s, &t);
		check_final_events(run, s);
		check_events_readable(run, s);
	} else {
		chaos_violation("damage-flagged", "the final snapshot failed: %s", chaos_rc_name(rc));
		chaos_result("damage-flagged", "the final snapshot could not be taken");
	}
	memcpy(by_area, t.scribbles, sizeof(t.scribbles));
	fbx_snapshot_free(s);
	free(t.b);
	free(t.l);
}
