/* clock.c — CLOCK_MONOTONIC, or a clock a test substitutes for the process. */
#include <time.h>

#include "internal.h"

static fbx_clock_fn fake_fn;
static void *fake_arg;

void fbx_clock_set(fbx_clock_fn fn, void *arg)
{
	fake_arg = arg;
	fake_fn = fn;
}

static uint64_t read_clock(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t fbx__now(void)
{
	if (FBX__UNLIKELY(fake_fn != NULL))
		return fake_fn(fake_arg);
	return read_clock(CLOCK_MONOTONIC);
}

/* Windows of a second and more do not need the precise clock; the coarse
 * one costs an eighth as much (docs/DESIGN.md R4). */
uint64_t fbx__now_coarse(void)
{
	if (FBX__UNLIKELY(fake_fn != NULL))
		return fake_fn(fake_arg);
	return read_clock(CLOCK_MONOTONIC_COARSE);
}

uint64_t fbx_clock_now(void)
{
	return fbx__now();
}

bool fbx__clock_substituted(void)
{
	return fake_fn != NULL;
}
