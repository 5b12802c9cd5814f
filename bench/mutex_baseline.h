/*
 * mutex_baseline.h — the textbook way to share a breaker and a limiter
 * between processes: every piece of state in one struct in shared memory,
 * guarded by ONE process-shared robust pthread mutex.  This is what fusebox
 * is measured against; it is deliberately plain, not tuned.
 */
#ifndef MUTEX_BASELINE_H
#define MUTEX_BASELINE_H

#include <stddef.h>
#include <stdint.h>

typedef struct mb_box mb_box;

/* Maps the shared struct (MAP_SHARED | MAP_ANONYMOUS, inherited by fork)
 * with a breaker (fail_max consecutive failures trip it for reset_ns) and a
 * keyed sliding-window-counter limiter of `limit` calls per period_ns. */
int mb_create(uint32_t fail_max, uint64_t reset_ns, uint64_t limit, uint64_t period_ns,
	      mb_box **out);
void mb_destroy(mb_box *box);
/* Changes the limiter's limit (between measurements only). */
void mb_set_limit(mb_box *box, uint64_t limit);

/* Breaker: 0 = admitted (*gen receives the generation to pass to done),
 * 1 = rejected, <0 = error. */
int mb_breaker_allow(mb_box *box, uint32_t *gen);
int mb_breaker_done(mb_box *box, uint32_t gen, int failure);

/* Limiter: 0 = admitted, 1 = denied, <0 = error (table full, lock lost). */
int mb_limiter_take(mb_box *box, const void *key, size_t keylen, uint32_t cost);

#endif /* MUTEX_BASELINE_H */
