/*
 * chaos_stall.c — a clock reading that goes stale before it is used.
 *
 * In --stall mode each worker substitutes the library's clock (the coarse
 * one too: see lib/clock.c) with one that returns a true CLOCK_MONOTONIC
 * reading, but once per worker life sleeps about 1.2 s after taking it.
 * The library then acts on a reading over a second old, as it would after
 * a preemption, a SIGSTOP or a cgroup throttle at the worst instruction.
 *
 * A stall anywhere is mostly harmless, so besides stalls at a random call
 * (STALL_ANY) a life may aim its stall at the moments where a stale reading
 * has something to break: an allow() while the breaker is half-open, a
 * take() of a key whose budget is being used up as fast as it refills, a
 * take() late in a one-second window, so that the reading ends up two
 * windows behind the key's word, or the done() of a failed trial, whose
 * report must re-open the breaker before any other trial gets in.  The worker arms the stall just before
 * such a call; the first clock reading inside it sleeps.
 */
#include "chaos.h"

#define STALL_NS (1200 * CHAOS_MS)
#define STALL_JITTER_NS (100 * CHAOS_MS)

static uint64_t stalled_clock(void *arg)
{
	struct chaos_stall *s = arg;
	uint64_t now = chaos_now();
	if (s->armed) {
		s->armed = false;
		s->fired++;
		chaos_sleep_ns(s->sleep_ns);
	}
	return now;
}

void chaos_stall_plan(struct chaos_stall *s, uint64_t *rng)
{
	static const enum chaos_stall_kind weights[] = {
		STALL_ANY,	  STALL_HALF_OPEN,  STALL_HALF_OPEN,
		STALL_HOT_GCRA,	  STALL_HOT_WINDOW, STALL_FAILED_DONE,
	};
	s->planned = true;
	s->armed = false;
	s->fired = 0;
	s->kind = weights[chaos_rand(rng, sizeof(weights) / sizeof(weights[0]))];
	s->after = 50 + chaos_rand(rng, 2000);
	s->sleep_ns = STALL_NS - STALL_JITTER_NS / 2 + chaos_rand(rng, STALL_JITTER_NS);
}

void chaos_stall_install(struct chaos_stall *s)
{
	fbx_clock_set(stalled_clock, s);
}
