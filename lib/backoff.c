/*
 * backoff.c — the delay before a retry: exponential, capped, jittered as in
 * AWS's "Exponential Backoff and Jitter".  A pure function of the policy
 * and the caller's own generator: nothing shared, nothing locked.
 */
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define DELAY_MAX_NS (3600ull * 1000000000u) /* an hour: longer is not a retry */

void fbx_backoff_init(fbx_backoff *b)
{
	if (b == NULL)
		return;
	b->max_retries = 3;
	b->base_ns = 100000000u;
	b->cap_ns = 10000000000ull;
	b->jitter = FBX_JITTER_FULL;
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	/* processes forked from one master must not draw the same delays */
	fbx_backoff_seed(b, (uint64_t)t.tv_nsec ^ (uint64_t)t.tv_sec << 32 ^
				    (uint64_t)getpid() * 0x9e3779b97f4a7c15ull);
}

void fbx_backoff_seed(fbx_backoff *b, uint64_t seed)
{
	if (b == NULL)
		return;
	b->state[0] = seed | 1; /* xorshift must not start at 0 */
	b->state[1] = 0;        /* decorrelated: no previous delay yet */
}

int fbx_backoff_check(const fbx_backoff *b)
{
	if (b == NULL || b->base_ns == 0 || b->cap_ns < b->base_ns || b->cap_ns > DELAY_MAX_NS ||
	    (unsigned)b->jitter > FBX_JITTER_DECORRELATED || b->max_retries > 1000)
		return FBX_EINVAL;
	return 0;
}

static uint64_t next_random(fbx_backoff *b)
{
	uint64_t x = b->state[0];
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	b->state[0] = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* A uniform draw in [lo, hi]. */
static uint64_t between(fbx_backoff *b, uint64_t lo, uint64_t hi)
{
	if (hi <= lo)
		return lo;
	uint64_t span = hi - lo + 1;
	return lo + (uint64_t)(((unsigned __int128)next_random(b) * span) >> 64);
}

uint64_t fbx_backoff_delay(fbx_backoff *b, uint32_t n)
{
	if (fbx_backoff_check(b) != 0 || n == 0)
		return 0;
	/* base * 2^(n - 1), capped, without overflowing on a large n: the
	 * first retry waits about base, as the service's backoff does */
	uint64_t e = b->base_ns;
	for (uint32_t i = 1; i < n && e < b->cap_ns; i++)
		e = e > b->cap_ns / 2 ? b->cap_ns : e * 2;
	if (e > b->cap_ns)
		e = b->cap_ns;
	switch (b->jitter) {
	case FBX_JITTER_NONE: return e;
	case FBX_JITTER_EQUAL: return e / 2 + between(b, 0, e - e / 2);
	case FBX_JITTER_DECORRELATED: {
		uint64_t prev = b->state[1] ? b->state[1] : b->base_ns;
		uint64_t hi = prev > b->cap_ns / 3 ? b->cap_ns : prev * 3;
		uint64_t d = between(b, b->base_ns, hi);
		d = d > b->cap_ns ? b->cap_ns : d;
		b->state[1] = d;
		return d;
	}
	default: return between(b, 0, e);
	}
}
