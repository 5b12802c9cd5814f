/*
 * breaker_manual.c — operator overrides (docs/DESIGN.md R12).
 *
 * Forced states are outside the automatic machine: every automatic CAS
 * expects CLOSED, OPEN or HALF_OPEN of a given generation, so none can
 * leave a forced state.  Each action that changes something is recorded
 * with uid, pid and reason; one that would change nothing (trip of a
 * forced-open breaker, hold of a forced-closed one, release of one that is
 * not forced) leaves everything as it was, so a second trip without a
 * reason cannot overwrite the incident's who, when and why.
 */
#include "internal.h"

#include <string.h>
#include <unistd.h>

static_assert(FBX_CAUSE_HOLD == FBX_CAUSE_TRIP + FBX__MANUAL_HOLD &&
		      FBX_CAUSE_RELEASE == FBX_CAUSE_TRIP + FBX__MANUAL_RELEASE &&
		      FBX_CAUSE_RESET == FBX_CAUSE_TRIP + FBX__MANUAL_RESET,
	      "the manual causes index the manual counters");

/* The record of the last operator action, for readers (fbx_breaker_info):
 * words first, then the check that vouches for them. */
static void note_operator(struct fbx__breaker_rec *rec, fbx_event_cause cause, uint64_t now_ms,
			  const char *reason)
{
	uint64_t words[FBX__OP_WORDS] = {0};
	words[0] = (uint64_t)geteuid() << 32 | (uint32_t)getpid();
	words[1] = now_ms;
	words[2] = (uint64_t)cause;
	if (reason != NULL)
		strncpy((char *)&words[3], reason, FBX_REASON_MAX - 1);
	atomic_store(&rec->op_who, words[0]);
	atomic_store(&rec->op_when_ms, words[1]);
	atomic_store(&rec->op_cause, words[2]);
	for (size_t i = 0; i < FBX_REASON_MAX / 8; i++)
		atomic_store(&rec->op_reason[i], words[3 + i]);
	atomic_store_explicit(&rec->op_check, fbx__op_check(words), memory_order_release);
}

/* What an action does when the breaker is already where it would put it. */
enum same { SAME_NOTHING, SAME_CLEAR };

static int set_state(fbx_breaker *b, uint32_t to, fbx_event_cause cause,
		     const char *reason, bool only_from_forced, enum same same)
{
	if (b == NULL)
		return FBX_EINVAL;
	if (b->box->read_only)
		return FBX_ERDONLY;
	uint64_t now = fbx__now_coarse();
	uint64_t w = atomic_load(&b->rec->state), next = w;
	uint32_t from = FBX__ST_STATE(w);
	/* window first, as in fbx__breaker_transition(); a no-op (release of
	 * an automatic state, trip of a forced-open one...) leaves it alone */
	bool noop = (only_from_forced && from != FBX_FORCED_OPEN && from != FBX_FORCED_CLOSED) ||
		    (same == SAME_NOTHING && from == to);
	if (to == FBX_CLOSED && !noop)
		fbx__window_floor_raise(b, now);
	do {
		from = FBX__ST_STATE(w);
		noop = (only_from_forced && from != FBX_FORCED_OPEN &&
			from != FBX_FORCED_CLOSED) ||
		       (same == SAME_NOTHING && from == to);
		if (noop)
			break;
		next = FBX__ST_MAKE(to, 0, FBX__ST_GEN(w) + 1, 0);
	} while (!atomic_compare_exchange_weak(&b->rec->state, &w, next));
	/* Nothing to do: no count, no operator record, no event.  The record
	 * keeps the action that put the breaker where it is (an incident's
	 * ticket), and the ring does not fill with "forced-open -> forced-open".
	 * When another action closed the breaker between the first look and
	 * the CAS, the window floor raised above stays raised: harmless, it
	 * only forgets calls that the other action's close forgot too. */
	if (noop)
		return 0;
	/* R9, R12: an override moves the generation forward like any
	 * transition, so permits and counts of the state it replaces are void */
	FBX_ASSERT(FBX__ST_STATE(next) == to &&
		   fbx__gen_newer(FBX__ST_GEN(next), FBX__ST_GEN(w)));
	uint64_t now_ms = fbx__ms_since(b->box, now);
	fbx__gen_retag(&b->rec->consec, FBX__ST_GEN(next));
	fbx__gen_retag(&b->rec->ho_succ, FBX__ST_GEN(next));
	/* A reset of a closed breaker clears its window and counts but the
	 * state did not change: "closed for 3h" stays true. */
	if (from != to)
		fbx__breaker_since(b->rec, now_ms);
	atomic_fetch_add(&b->rec->manual[cause - FBX_CAUSE_TRIP], 1);
	note_operator(b->rec, cause, now_ms, reason);
	/* A scribbled state word is repaired by any of these actions; the
	 * event then records where it came from as unknown (-1), so readers
	 * keep who repaired it and why instead of flagging the event. */
	int was = from < FBX_BREAKER_STATE_COUNT ? (int)from : -1;
	fbx__event_emit(b->box, FBX_EV_MANUAL, cause, FBX_REC_BREAKER, b->index, was,
			(int)FBX__ST_STATE(next), reason);
	return 0;
}

int fbx_breaker_trip(fbx_breaker *b, const char *reason)
{
	return set_state(b, FBX_FORCED_OPEN, FBX_CAUSE_TRIP, reason, false, SAME_NOTHING);
}

int fbx_breaker_hold(fbx_breaker *b, const char *reason)
{
	return set_state(b, FBX_FORCED_CLOSED, FBX_CAUSE_HOLD, reason, false, SAME_NOTHING);
}

int fbx_breaker_release(fbx_breaker *b, const char *reason)
{
	return set_state(b, FBX_CLOSED, FBX_CAUSE_RELEASE, reason, true, SAME_NOTHING);
}

/* The generation change voids the consecutive-failure and half-open
 * counts; win_floor voids the window.  Lifetime totals stay: Prometheus
 * counters must never go backwards.  Never a no-op: on a closed breaker it
 * still clears the window and counts, and is recorded as doing so. */
int fbx_breaker_reset(fbx_breaker *b, const char *reason)
{
	return set_state(b, FBX_CLOSED, FBX_CAUSE_RESET, reason, false, SAME_CLEAR);
}
