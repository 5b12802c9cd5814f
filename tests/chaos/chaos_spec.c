/*
 * chaos_spec.c — the breakers, limiters and keys of the chaos box.
 *
 * Open periods and leases are short so that every breaker goes through
 * half-open many times a second.  Two breakers have leases longer than a
 * stall (1.2 s): a caller that stalled while the breaker was half-open
 * comes back with a lease still valid, which is what makes a stale view of
 * the state observable as two trials at once.  The limiters cover both
 * algorithms, keyed and global, single and multi-limit rules, bursts, and
 * a GCRA interval long enough for the coarse clock, and one limiter only
 * for key storms, which keep the key table's insert and reuse paths busy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaos.h"

struct chaos_breaker_spec chaos_breakers[CHAOS_BREAKERS];

struct chaos_limiter_spec chaos_limiters[CHAOS_LIMITERS] = {
	{"gcra-key", "10/second", FBX_ALGO_GCRA, 5, 1, 3, {0}, false, false},
	{"win-key", "10/second", FBX_ALGO_WINDOW, 1, 1, 3, {0}, false, false},
	{"win-multi", "20/second;100/minute", FBX_ALGO_WINDOW, 1, 1, 3, {0}, false, false},
	{"gcra-multi", "20/second;100/minute", FBX_ALGO_GCRA, 4, 1, 3, {0}, false, false},
	{"gcra-coarse", "2/second", FBX_ALGO_GCRA, 2, 1, 2, {0}, false, false},
	{"win-global", "50/second", FBX_ALGO_WINDOW, 1, 0, 3, {0}, false, false},
	{"gcra-global", "30/second", FBX_ALGO_GCRA, 10, 0, 3, {0}, false, false},
	{"log-key", "10/second", FBX_ALGO_LOG, 1, 1, 3, {0}, false, false},
	{"log-multi", "20/second;100/minute", FBX_ALGO_LOG, 1, 1, 3, {0}, false, false},
	{"log-global", "40/second", FBX_ALGO_LOG, 1, 0, 3, {0}, false, false},
	/* Key storms: each key is taken once.  A 1 ms interval makes its
	 * budget whole again at once, so its entry is the first a full table
	 * reuses, and nobody's live keys are evicted for it. */
	{"storm", "1000/second", FBX_ALGO_GCRA, 1, 1, 1, {0}, false, true},
};

static void breaker(unsigned i, const char *name, uint32_t fail_max, uint64_t reset_ms,
		    uint32_t half_open_max, uint32_t successes, uint64_t lease_ms)
{
	struct chaos_breaker_spec *s = &chaos_breakers[i];
	s->name = name;
	fbx_breaker_config_init(&s->cfg);
	s->cfg.fail_max = fail_max;
	s->cfg.reset_timeout_ns = reset_ms * CHAOS_MS;
	s->cfg.reset_timeout_max_ns = reset_ms * CHAOS_MS;
	s->cfg.half_open_max = half_open_max;
	s->cfg.success_threshold = successes;
	s->cfg.trial_lease_ns = lease_ms * CHAOS_MS;
}

void chaos_spec_init(void)
{
	breaker(0, "consecutive", 3, 50, 1, 1, 150);
	breaker(1, "rate-time", 0, 100, 3, 2, 200);
	chaos_breakers[1].cfg.failure_rate_pct = 50;
	chaos_breakers[1].cfg.min_calls = 10;
	chaos_breakers[1].cfg.window_ns = CHAOS_SEC;
	breaker(2, "rate-count", 0, 200, 1, 1, 300);
	chaos_breakers[2].cfg.failure_rate_pct = 40;
	chaos_breakers[2].cfg.min_calls = 10;
	chaos_breakers[2].cfg.window_calls = 20;
	chaos_breakers[2].cfg.reset_timeout_max_ns = 800 * CHAOS_MS;
	breaker(3, "slow-calls", 5, 80, 3, 2, 120);
	chaos_breakers[3].cfg.slow_call_ns = 2 * CHAOS_MS;
	chaos_breakers[3].cfg.slow_rate_pct = 50;
	chaos_breakers[3].cfg.min_calls = 8;
	chaos_breakers[3].cfg.window_ns = 500 * CHAOS_MS;
	chaos_breakers[3].slow_when_sick = true;
	breaker(4, "long-lease-1", 2, 60, 1, 1, 2000);
	breaker(5, "long-lease-3", 2, 60, 3, 2, 1500);
	chaos_breakers[5].cfg.reset_timeout_max_ns = 240 * CHAOS_MS;
	for (unsigned i = 0; i < CHAOS_BREAKERS; i++) {
		const char *why = NULL;
		if (fbx_breaker_config_check(&chaos_breakers[i].cfg, &why) != 0) {
			fprintf(stderr, "chaos: breaker %s: bad setting %s\n", chaos_breakers[i].name,
				why ? why : "?");
			exit(2);
		}
	}
	for (unsigned i = 0; i < CHAOS_LIMITERS; i++) {
		struct chaos_limiter_spec *l = &chaos_limiters[i];
		if (fbx_rule_parse(l->rule, &l->parsed, NULL) != 0) {
			fprintf(stderr, "chaos: limiter %s: bad rule\n", l->name);
			exit(2);
		}
		l->rolling = true;
		for (uint32_t k = 0; k < l->parsed.n; k++)
			l->rolling &= l->parsed.limit[k].period_ns == CHAOS_SEC;
	}
}

fbx_limiter_config chaos_limiter_config(unsigned i)
{
	fbx_limiter_config c;
	fbx_limiter_config_init(&c);
	c.rule = chaos_limiters[i].rule;
	c.algorithm = chaos_limiters[i].algo;
	c.burst = chaos_limiters[i].burst;
	c.keyed = chaos_limiters[i].keyed;
	return c;
}

void chaos_extra_breaker(unsigned i, char name[32], fbx_breaker_config *cfg)
{
	snprintf(name, 32, "extra-breaker-%u", i);
	fbx_breaker_config_init(cfg);
	cfg->fail_max = 5 + i;
}

void chaos_extra_limiter(unsigned i, char name[32], fbx_limiter_config *cfg)
{
	snprintf(name, 32, "extra-limiter-%u", i);
	fbx_limiter_config_init(cfg);
	cfg->rule = "5/minute";
}

size_t chaos_key_text(uint32_t id, char *buf, size_t len)
{
	int n = id < CHAOS_HOT_KEYS ? snprintf(buf, len, "hot-%u", id)
				    : snprintf(buf, len, "key-%06u", id - CHAOS_HOT_KEYS);
	return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

/* workers may run up to 30 s past the end (chaos_worker.c), +10 spare */
uint32_t chaos_key_space(unsigned seconds)
{
	return CHAOS_HOT_KEYS + CHAOS_ROLL_STEP * (seconds + 40) + CHAOS_ROLL_KEYS;
}

uint32_t chaos_pick_key(unsigned li, uint64_t *rng, uint64_t elapsed)
{
	if (chaos_rand(rng, 2))
		return (uint32_t)chaos_rand(rng, CHAOS_HOT_KEYS);
	if (!chaos_limiters[li].rolling)
		return CHAOS_HOT_KEYS + (uint32_t)chaos_rand(rng, CHAOS_FIXED_KEYS);
	uint64_t base = elapsed / CHAOS_SEC * CHAOS_ROLL_STEP;
	return CHAOS_HOT_KEYS + (uint32_t)(base + chaos_rand(rng, CHAOS_ROLL_KEYS));
}

bool chaos_sick(unsigned b, uint64_t t)
{
	return (t / CHAOS_SEC + b) % 2 == 1;
}
