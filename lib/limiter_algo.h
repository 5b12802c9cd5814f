/* limiter_algo.h — the per-limit decision functions (see limiter_algo.c). */
#ifndef FBX_LIMITER_ALGO_H
#define FBX_LIMITER_ALGO_H

#include <stdbool.h>
#include <stdint.h>

struct fbx__verdict {
	uint64_t limit, remaining, reset_ns, retry_ns;
};

bool fbx__window_decide(uint64_t w, uint64_t now, uint64_t limit, uint64_t period,
			uint64_t cost, uint64_t *next, struct fbx__verdict *v);
bool fbx__gcra_decide(uint64_t tat, uint64_t now, uint64_t limit, uint64_t t,
		      uint64_t tau, uint64_t cost, uint64_t *next, struct fbx__verdict *v);
/* Gives back cost taken by a take that a later limit of the rule denied. */
uint64_t fbx__window_refund(uint64_t w, uint64_t now, uint64_t period, uint64_t cost);

#endif
