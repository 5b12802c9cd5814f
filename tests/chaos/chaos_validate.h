/* chaos_validate.h — what the checks after the run share (chaos_validate.c). */
#ifndef CHAOS_VALIDATE_H
#define CHAOS_VALIDATE_H

#include "chaos.h"

/* What the log says: returns logged (published or folded into counts),
 * and calls in flight when their worker died (KILLED records). */
struct chaos_tally {
	/* per breaker: returns logged, and calls in flight at a death */
	uint64_t b_done[CHAOS_BREAKERS][3], b_slow[CHAOS_BREAKERS], b_rej[CHAOS_BREAKERS];
	uint64_t b_allow[CHAOS_BREAKERS], b_trials[CHAOS_BREAKERS];
	uint64_t kb_done[CHAOS_BREAKERS][3], kb_slow[CHAOS_BREAKERS], kb_allow[CHAOS_BREAKERS];
	uint64_t l_allowed[CHAOS_LIMITERS], l_denied[CHAOS_LIMITERS], kl_take[CHAOS_LIMITERS];
	uint64_t l_takes[CHAOS_LIMITERS];
	uint64_t killed, killed_emitters, timeouts;
	uint64_t ops[OP_N], calls, published;
	uint8_t *key_used; /* [limiter][key]: taken at least once */
	uint32_t nkeys;
};

const fbx_breaker_info *chaos_find_breaker(const fbx_snapshot *s, const char *name);
const fbx_limiter_info *chaos_find_limiter(const fbx_snapshot *s, const char *name);

void chaos_check_keys(const struct chaos_run *run, const fbx_snapshot *s,
		      const struct chaos_tally *t);
void chaos_check_events(const struct chaos_run *run, const fbx_snapshot *s,
			const struct chaos_tally *t);
void chaos_check_reopen(const struct chaos_run *run, const fbx_snapshot *mine);

#endif
