/* errors.c — the text behind every FBX_E* code and enum name. */
#include <string.h>

#include "internal.h"

const char *fbx_strerror(int err)
{
	switch (err) {
	case FBX_OK: return "success";
	case FBX_EINVAL: return "invalid argument (NULL, zero, negative or out of range)";
	case FBX_ENAME: return "invalid name (empty, too long, or a character that is not allowed)";
	case FBX_ERULE: return "malformed rate rule (expected e.g. 100/minute or 5/second;100/hour)";
	case FBX_ENOENT: return "no such box, breaker or limiter";
	case FBX_EEXIST: return "the box exists already";
	case FBX_ECONFLICT: return "the name exists with a different configuration";
	case FBX_EFULL: return "the box has no room for another record (capacity reached)";
	case FBX_EACCES: return "permission denied";
	case FBX_ERDONLY: return "the box is open read-only";
	case FBX_ENOSPC: return "no space left in /dev/shm for the box";
	case FBX_EVERSION: return "the box was made by an incompatible layout version";
	case FBX_ECORRUPT: return "not a fusebox segment, or truncated or damaged";
	case FBX_ETIMEDOUT: return "timed out waiting for the box (its creator stalled or died)";
	case FBX_ENOMEM: return "out of memory";
	case FBX_ESYS: return "unexpected system call failure";
	case FBX_EOPEN: return "circuit breaker is open: call rejected";
	case FBX_ELIMITED: return "rate limit exceeded: call denied";
	case FBX_ERANGE: return "number out of range for this setting";
	case FBX_EOWNER: return "the box belongs to another user or others may write it: not adopted";
	case FBX_ETRUNC: return "the box was truncated under this handle (close and open it again)";
	case FBX_EFAILED: return "the call failed, and no more retries were allowed";
	default: return "unknown error";
	}
}

const char *fbx_breaker_state_name(int state)
{
	static const char *const names[FBX_BREAKER_STATE_COUNT] = {
		"closed", "open", "half_open", "forced_open", "forced_closed",
	};
	return state >= 0 && state < FBX_BREAKER_STATE_COUNT ? names[state] : "invalid";
}

static const char *const algorithm_names[] = {"window", "gcra", "log", "auto"};

const char *fbx_algorithm_name(int algo)
{
	return algo >= 0 && algo <= FBX_ALGO_AUTO ? algorithm_names[algo] : "invalid";
}

const char *fbx_algorithm_accuracy(int algo)
{
	switch (algo) {
	case FBX_ALGO_LOG: return "exact sliding log: at most count in any period";
	case FBX_ALGO_WINDOW:
		return "sliding-window estimate: at most 2 x count in any period";
	case FBX_ALGO_GCRA:
		return "GCRA: count per period sustained, at most count + burst - 1 in any period";
	case FBX_ALGO_AUTO: return "log where the counts fit the box's log, else window";
	default: return "invalid";
	}
}

int fbx_algorithm_parse(const char *name)
{
	for (int i = 0; name != NULL && i <= FBX_ALGO_AUTO; i++)
		if (strcmp(name, algorithm_names[i]) == 0)
			return i;
	return FBX_EINVAL;
}

const char *fbx_event_cause_name(int cause)
{
	static const char *const names[FBX_CAUSE_COUNT] = {
		"none", "fail_max", "failure_rate", "slow_rate", "timeout",
		"trial_failed", "trial_lease_expired", "trials_succeeded",
		"trip", "hold", "release", "reset", "rule", "dry_run_on",
		"dry_run_off", "created", "drain_on", "drain_off",
	};
	return cause >= 0 && cause < FBX_CAUSE_COUNT ? names[cause] : "invalid";
}

const char *fbx_event_kind_name(int kind)
{
	switch (kind) {
	case FBX_EV_TRANSITION: return "transition";
	case FBX_EV_MANUAL: return "manual";
	case FBX_EV_REGISTER: return "register";
	case FBX_EV_CONFIG: return "config";
	default: return "invalid";
	}
}
