/* chaos_util.c — clock, sleep, random numbers, /proc, names. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chaos.h"

uint64_t chaos_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * CHAOS_SEC + (uint64_t)ts.tv_nsec;
}

/* To an absolute deadline, so a signal that interrupts it does not make
 * the sleep longer or shorter; bounded, as a stream of signals could keep
 * interrupting it. */
void chaos_sleep_ns(uint64_t ns)
{
	uint64_t until = chaos_now() + ns;
	struct timespec ts = {(time_t)(until / CHAOS_SEC), (long)(until % CHAOS_SEC)};
	for (int i = 0; i < 1000; i++)
		if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != EINTR)
			return;
}

/* splitmix64: small, fast and good enough to pick victims and keys */
uint64_t chaos_rng(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t chaos_rand(uint64_t *s, uint64_t n)
{
	return n == 0 ? 0 : chaos_rng(s) % n;
}

double chaos_rand01(uint64_t *s)
{
	return (double)(chaos_rng(s) >> 11) / 9007199254740992.0;
}

uint64_t chaos_proc_start(pid_t pid)
{
	char path[40], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* the command may hold spaces and ')' */
	if (p == NULL || p[1] != ' ')
		return 0;
	p += 2;
	if (*p == 'Z' || *p == 'X')
		return 0;
	for (int field = 3; field < 22 && p != NULL; field++) {
		p = strchr(p, ' ');
		if (p != NULL)
			p++;
	}
	return p == NULL ? 0 : strtoull(p, NULL, 10);
}

double chaos_rel(const struct chaos_run *run, uint64_t t)
{
	return ((double)t - (double)run->t0) / 1e9;
}

const char *chaos_outcome_name(int outcome)
{
	switch (outcome) {
	case FBX_SUCCESS: return "SUCCESS";
	case FBX_FAILURE: return "FAILURE";
	case FBX_IGNORED: return "IGNORED";
	default: return "?";
	}
}

const char *chaos_op_name(int op)
{
	static const char *names[OP_N] = {"?", "allow", "done", "take", "snapshot",
					  "events_read", "register/find", "open", "open_rdonly"};
	return op > 0 && op < OP_N ? names[op] : "?";
}

const char *chaos_rc_name(int rc)
{
	static char buf[16];
	switch (rc) {
	case 0: return "0";
	case FBX_EINVAL: return "FBX_EINVAL";
	case FBX_ENOENT: return "FBX_ENOENT";
	case FBX_ECONFLICT: return "FBX_ECONFLICT";
	case FBX_EFULL: return "FBX_EFULL";
	case FBX_ERDONLY: return "FBX_ERDONLY";
	case FBX_ECORRUPT: return "FBX_ECORRUPT";
	case FBX_ETIMEDOUT: return "FBX_ETIMEDOUT";
	case FBX_ENOMEM: return "FBX_ENOMEM";
	case FBX_ESYS: return "FBX_ESYS";
	case FBX_EOPEN: return "FBX_EOPEN";
	case FBX_ELIMITED: return "FBX_ELIMITED";
	case FBX_ERANGE: return "FBX_ERANGE";
	default:
		snprintf(buf, sizeof(buf), "%d", rc);
		return buf;
	}
}
