/* breaker_config.c — breaker settings: defaults, validation, comparison. */
#include <string.h>

#include "internal.h"

#define NS_PER_S 1000000000ull
/* deadlines are 40-bit milliseconds: keep every period far below that */
#define PERIOD_MAX_NS (30ull * 24 * 3600 * NS_PER_S)

void fbx_breaker_config_init(fbx_breaker_config *cfg)
{
	if (cfg == NULL)
		return;
	memset(cfg, 0, sizeof(*cfg));
	cfg->fail_max = 5;
	cfg->window_ns = 60 * NS_PER_S;
	cfg->min_calls = 10;
	cfg->reset_timeout_ns = 60 * NS_PER_S;
	cfg->half_open_max = 1;
	cfg->success_threshold = 1;
	cfg->trial_lease_ns = 30 * NS_PER_S;
}

static int bad(const char **why, const char *field)
{
	if (why != NULL)
		*why = field;
	return FBX_EINVAL;
}

int fbx_breaker_config_check(const fbx_breaker_config *c, const char **why)
{
	if (c == NULL)
		return bad(why, "config");
	if (c->fail_max == 0 && c->failure_rate_pct == 0 && c->slow_rate_pct == 0)
		return bad(why, "fail_max (no trip policy is on)");
	if (c->failure_rate_pct > 100)
		return bad(why, "failure_rate_pct");
	if (c->slow_rate_pct > 100)
		return bad(why, "slow_rate_pct");
	if ((c->slow_rate_pct != 0 && c->slow_call_ns == 0) || c->slow_call_ns > PERIOD_MAX_NS)
		return bad(why, "slow_call_ns");
	if (c->failure_rate_pct != 0 || c->slow_rate_pct != 0) {
		if (c->window_calls > FBX_WINDOW_CALLS_MAX)
			return bad(why, "window_calls");
		if (c->window_calls == 0 &&
		    (c->window_ns < NS_PER_S / 10 || c->window_ns > PERIOD_MAX_NS))
			return bad(why, "window_ns");
		if (c->min_calls == 0 ||
		    (c->window_calls != 0 && c->min_calls > c->window_calls))
			return bad(why, "min_calls");
	}
	if (c->reset_timeout_ns < 1000000u || c->reset_timeout_ns > PERIOD_MAX_NS)
		return bad(why, "reset_timeout_ns");
	if (c->reset_timeout_max_ns != 0 &&
	    (c->reset_timeout_max_ns < c->reset_timeout_ns ||
	     c->reset_timeout_max_ns > PERIOD_MAX_NS))
		return bad(why, "reset_timeout_max_ns");
	if (c->half_open_max == 0 || c->half_open_max > FBX_HALF_OPEN_MAX)
		return bad(why, "half_open_max");
	if (c->success_threshold == 0)
		return bad(why, "success_threshold");
	if (c->trial_lease_ns < 1000000u || c->trial_lease_ns > PERIOD_MAX_NS)
		return bad(why, "trial_lease_ns");
	return 0;
}

const char *fbx_breaker_config_diff(const fbx_breaker_config *a,
				    const fbx_breaker_config *b)
{
	if (a == NULL || b == NULL)
		return a == b ? NULL : "config";
#define DIFF(f)                 \
	if (a->f != b->f)       \
		return #f;
	DIFF(fail_max)
	DIFF(failure_rate_pct)
	DIFF(slow_rate_pct)
	DIFF(slow_call_ns)
	DIFF(window_calls)
	DIFF(window_ns)
	DIFF(min_calls)
	DIFF(reset_timeout_ns)
	DIFF(reset_timeout_max_ns)
	DIFF(half_open_max)
	DIFF(success_threshold)
	DIFF(trial_lease_ns)
#undef DIFF
	return NULL;
}

uint64_t fbx__open_period_ns(const fbx_breaker_config *cfg, uint32_t streak)
{
	uint64_t p = cfg->reset_timeout_ns, cap = cfg->reset_timeout_max_ns;
	for (uint32_t i = 1; i < streak && p < cap; i++)
		p *= 2;
	return cap > cfg->reset_timeout_ns && p > cap ? cap : p;
}
