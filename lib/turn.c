/*
 * turn.c — one writer at a time on a record that any process may rewrite
 * (a health check, a cache entry): a busy word holding the writer's owner
 * word.  A holder that is gone, or has held the turn for 100 ms (a set
 * takes microseconds: it was stopped midway), is taken over; what it left
 * half-written is rewritten whole by the next writer, and readers tell a
 * half-written record by its check word (R5, R8).
 */
#include <sched.h>
#include <time.h>

#include "internal.h"

#define SPINS 2000
#define STUCK_NS 100000000u

void fbx__turn_take(_Atomic uint64_t *busy, uint64_t me)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int spins = 0;; spins++) {
		uint64_t held = 0;
		if (atomic_compare_exchange_strong(busy, &held, me))
			return;
		if (spins < SPINS) {
			sched_yield();
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		uint64_t waited = (uint64_t)(t.tv_sec - t0.tv_sec) * 1000000000u +
				  (uint64_t)t.tv_nsec - (uint64_t)t0.tv_nsec;
		if ((!fbx__owner_alive(held) || waited >= STUCK_NS) &&
		    atomic_compare_exchange_strong(busy, &held, me))
			return;
		sched_yield();
	}
}

void fbx__turn_give(_Atomic uint64_t *busy, uint64_t me)
{
	atomic_compare_exchange_strong(busy, &me, 0);
}
