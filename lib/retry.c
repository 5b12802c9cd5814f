/*
 * retry.c — one call, retried with backoff, within what the host allows:
 * never into an open breaker, never past the retry budget, and not once
 * the box drains.  Every decision it takes is one the caller could take
 * with the public calls; this is the loop written once, correctly.
 */
#include <errno.h>
#include <stdbool.h>
#include <time.h>

#include "internal.h"

const char *fbx_retry_stop_name(int stop)
{
	static const char *const names[] = {"succeeded", "exhausted", "breaker_open", "budget",
					    "draining"};
	return stop >= 0 && stop <= FBX_RETRY_DRAINING ? names[stop] : "invalid";
}

/* One attempt through the breaker: 0 called (*rc its result), or the
 * breaker's rejection (FBX_EOPEN, *retry_after set), or an error. */
static int attempt(fbx_breaker *b, int (*fn)(void *), void *arg, int *rc, uint64_t *retry_after)
{
	if (b == NULL) {
		*rc = fn(arg);
		return 0;
	}
	fbx_permit p;
	int a = fbx_breaker_allow(b, &p);
	if (a == FBX_EOPEN)
		*retry_after = p.retry_after_ns;
	if (a)
		return a;
	uint64_t t0 = fbx_clock_now();
	*rc = fn(arg);
	fbx_breaker_done(b, &p, *rc == 0 ? FBX_SUCCESS : FBX_FAILURE, fbx_clock_now() - t0);
	return 0;
}

/* Whether b refuses calls now, without asking it for a permit: after an
 * attempt that tripped it (or while another process's failures did), a
 * retry would spend the budget and sleep a backoff only to be refused. */
static bool refuses_now(fbx_breaker *b, uint64_t *retry_after)
{
	fbx_breaker_info info;
	if (b == NULL || fbx_breaker_info_get(b, &info) != 0)
		return false;   /* cannot tell: let allow() decide */
	if (info.state == FBX_FORCED_OPEN || (info.state == FBX_OPEN && !info.trial_due)) {
		*retry_after = info.state == FBX_OPEN ? info.open_remaining_ns : 0;
		return true;
	}
	return false;
}

int fbx_retry(fbx_box *box, fbx_backoff *policy, fbx_breaker *b, fbx_budget *budget,
	      int (*fn)(void *arg), void *arg, fbx_retry_result *out)
{
	fbx_retry_result local;
	fbx_retry_result *r = out ? out : &local;
	*r = (fbx_retry_result){0, 0, FBX_RETRY_SUCCEEDED, 0, 0};
	fbx_backoff defaults;
	if (policy == NULL) {
		fbx_backoff_init(&defaults);
		policy = &defaults;
	}
	if (fn == NULL || fbx_backoff_check(policy) != 0)
		return FBX_EINVAL;
	if (budget != NULL)
		fbx_budget_deposit(budget);
	for (uint32_t n = 0;; n++) {
		if (n > 0) {
			if (n > policy->max_retries) {
				r->stopped = FBX_RETRY_EXHAUSTED;
				return FBX_EFAILED;
			}
			if (fbx_draining(box)) {
				r->stopped = FBX_RETRY_DRAINING;
				return FBX_EFAILED;
			}
			if (refuses_now(b, &r->retry_after_ns)) {
				r->stopped = FBX_RETRY_BREAKER_OPEN;
				return FBX_EFAILED;
			}
			if (budget != NULL && fbx_budget_withdraw(budget) != 0) {
				r->stopped = FBX_RETRY_BUDGET;
				return FBX_EFAILED;
			}
			uint64_t d = fbx_backoff_delay(policy, n);
			struct timespec ts = {(time_t)(d / 1000000000u), (long)(d % 1000000000u)};
			while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
				; /* a signal cut the sleep short: sleep the rest */
			r->slept_ns += d;
		}
		int rc = 0;
		int a = attempt(b, fn, arg, &rc, &r->retry_after_ns);
		if (a == FBX_EOPEN) {
			r->stopped = FBX_RETRY_BREAKER_OPEN;
			return r->attempts == 0 ? FBX_EOPEN : FBX_EFAILED;
		}
		if (a)
			return a;
		r->attempts++;
		r->last = rc;
		if (rc == 0)
			return 0;
	}
}
