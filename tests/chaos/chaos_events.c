/* chaos_events.c — the event stream against the breakers' state. */
#include <string.h>

#include "chaos.h"
#include "chaos_validate.h"

/* Every transition is one CAS, then (to OPEN) the trips count, then its
 * event: a worker killed in between loses the event, or leaves it corrupt.
 * So per breaker, events <= transitions (the generation) and opening
 * events <= trips, and all the differences together are at most the calls
 * in flight at a death that could have been writing one. */
void chaos_check_events(const struct chaos_run *run, const fbx_snapshot *s,
			const struct chaos_tally *t)
{
	size_t n;
	uint64_t gaps;
	const fbx_event *ev = chaos_monitor_events(run->mon, &n, &gaps);
	uint64_t corrupt = 0, trans[CHAOS_BREAKERS] = {0}, opens[CHAOS_BREAKERS] = {0};
	uint64_t prev_seq = 0;
	for (size_t i = 0; i < n; i++) {
		chaos_checked("events", 1);
		if (i > 0 && ev[i].seq <= prev_seq)
			chaos_violation("events", "the event stream went from seq %llu back to %llu",
					(unsigned long long)prev_seq, (unsigned long long)ev[i].seq);
		prev_seq = ev[i].seq;
		if (ev[i].corrupt) {
			corrupt++;
			continue;
		}
		if (ev[i].kind != FBX_EV_TRANSITION || ev[i].record_type != FBX_REC_BREAKER)
			continue;
		for (unsigned b = 0; b < CHAOS_BREAKERS; b++) {
			if (strcmp(ev[i].name, chaos_breakers[b].name) != 0)
				continue;
			trans[b]++;
			opens[b] += ev[i].to == FBX_OPEN;
		}
	}
	chaos_checked("events", 1);
	if (corrupt > t->killed_emitters)
		chaos_violation("events", "%llu events read as corrupt, but only %llu calls that "
				"could write one were in flight when their worker died",
				(unsigned long long)corrupt, (unsigned long long)t->killed_emitters);
	if (gaps != 0) {
		chaos_note("%llu events were overwritten before they were read: the per-breaker "
			   "event counts are not checked", (unsigned long long)gaps);
		chaos_result("events", "%zu events read, %llu corrupt (at most one per writer killed "
			     "mid-call: %llu)", n, (unsigned long long)corrupt,
			     (unsigned long long)t->killed_emitters);
		return;
	}
	uint64_t lost_gen = 0, lost_trips = 0;
	for (unsigned b = 0; b < CHAOS_BREAKERS; b++) {
		const fbx_breaker_info *bi = chaos_find_breaker(s, chaos_breakers[b].name);
		if (bi == NULL || bi->corrupt)
			continue;
		uint64_t gen_gap = (bi->generation - trans[b]) & 0xffff;
		chaos_checked("events", 2);
		if (gen_gap > t->killed_emitters)
			chaos_violation("events", "breaker %s: generation %u, but %llu transition events "
					"(the difference exceeds the %llu writers killed mid-call)",
					bi->name, bi->generation, (unsigned long long)trans[b],
					(unsigned long long)t->killed_emitters);
		else
			lost_gen += gen_gap;
		if (bi->trips < opens[b] || bi->trips - opens[b] > t->killed_emitters)
			chaos_violation("events", "breaker %s: %llu trips counted, %llu events of "
					"transitions to OPEN", bi->name, (unsigned long long)bi->trips,
					(unsigned long long)opens[b]);
		else
			lost_trips += bi->trips - opens[b];
	}
	chaos_checked("events", 2);
	if (lost_gen > t->killed_emitters || lost_trips > t->killed_emitters)
		chaos_violation("events", "%llu transitions and %llu trips have no event, but only "
				"%llu writers died mid-call", (unsigned long long)lost_gen,
				(unsigned long long)lost_trips, (unsigned long long)t->killed_emitters);
	chaos_result("events", "%zu events followed, %llu corrupt; transitions without an event "
		     "%llu, trips without one %llu: each at most the %llu writers killed mid-call",
		     n, (unsigned long long)corrupt, (unsigned long long)lost_gen,
		     (unsigned long long)lost_trips, (unsigned long long)t->killed_emitters);
}

