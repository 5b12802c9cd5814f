/*
 * chaos_killer.c — SIGKILL and SIGSTOP at random moments.
 *
 * Kills and stops arrive as two Poisson processes (exponential gaps), so
 * they land at any instruction of a worker, not on a beat the workers
 * could fall into step with.  A stopped worker is continued after 5 to
 * 400 ms: long enough for leases and open periods to run out under it,
 * which is what makes its late results and stale views interesting.
 *
 * Workers run below full speed and sleep in between bursts of calls, so a
 * signal sent at a uniformly random moment mostly finds them asleep.  Three
 * kills and stops in four therefore wait (a few ms at most) for a victim
 * that is on a CPU at that moment, which lands them inside a library call
 * about once in four (the rest of a running worker's time is the harness's
 * own bookkeeping); the others take whoever is chosen, asleep, stopped or
 * stalled.
 */
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "chaos.h"

#define STOP_MIN_MS 5
#define STOP_MAX_MS 400
#define EVENTS_PER_TICK 16 /* a long master stall must not turn into a burst */

static uint64_t gap(uint64_t *rng, unsigned per_min)
{
	if (per_min == 0)
		return UINT64_MAX / 4;
	double mean_ns = 60e9 / per_min;
	double u = chaos_rand01(rng);
	return (uint64_t)(-log(1.0 - u) * mean_ns) + 1;
}

void chaos_killer_init(struct chaos_killer *k, const struct chaos_run *run, uint64_t now)
{
	k->rng = run->o.seed ^ 0x6b696c6c6572ull;
	k->next_kill = now + gap(&k->rng, run->o.kills_per_min);
	k->next_stop = now + gap(&k->rng, run->o.stops_per_min);
}

#define ON_CPU_TRIES 300

static bool on_cpu(pid_t pid)
{
	char path[40], buf[256];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	return p != NULL && p[1] == ' ' && p[2] == 'R';
}

/* A worker of this run, chosen uniformly (mostly among those on a CPU, if
 * one shows up within ON_CPU_TRIES looks); -1 when there is none. */
static int victim(struct chaos_killer *k, const struct chaos_run *run, bool for_stop)
{
	int cand[256], n = 0;
	for (unsigned i = 0; i < run->o.workers && n < 256; i++) {
		const struct chaos_slot *s = &run->slots[i];
		if (s->pid != 0 && !s->killing && !s->stopped)
			cand[n++] = (int)i;
		else if (s->pid != 0 && !s->killing && !for_stop)
			cand[n++] = (int)i; /* a stopped worker may be killed */
	}
	if (n == 0)
		return -1;
	if (chaos_rand(&k->rng, 4) != 0)
		for (int t = 0; t < ON_CPU_TRIES; t++) {
			int v = cand[chaos_rand(&k->rng, (uint64_t)n)];
			if (!run->slots[v].stopped && on_cpu(run->slots[v].pid))
				return v;
		}
	return cand[chaos_rand(&k->rng, (uint64_t)n)];
}

void chaos_killer_tick(struct chaos_killer *k, struct chaos_run *run, uint64_t now)
{
	for (unsigned i = 0; i < run->o.workers; i++) {
		struct chaos_slot *s = &run->slots[i];
		if (s->pid != 0 && s->stopped && !s->killing && now >= s->cont_at) {
			kill(s->pid, SIGCONT);
			s->stopped = false;
		}
	}
	for (int n = 0; n < EVENTS_PER_TICK && k->next_kill <= now; n++) {
		k->next_kill += gap(&k->rng, run->o.kills_per_min);
		int v = victim(k, run, false);
		if (v < 0)
			continue;
		struct chaos_slot *s = &run->slots[v];
		/* read before the signal: the worker dies after this moment,
		 * which is all the validator may assume about its death */
		s->lives[s->nlives - 1].t_kill = chaos_now();
		kill(s->pid, SIGKILL);
		s->killing = true;
		run->kills++;
	}
	if (k->next_kill <= now)
		k->next_kill = now + gap(&k->rng, run->o.kills_per_min);
	for (int n = 0; n < EVENTS_PER_TICK && k->next_stop <= now; n++) {
		k->next_stop += gap(&k->rng, run->o.stops_per_min);
		int v = victim(k, run, true);
		if (v < 0)
			continue;
		struct chaos_slot *s = &run->slots[v];
		kill(s->pid, SIGSTOP);
		s->stopped = true;
		s->cont_at = now + (STOP_MIN_MS + chaos_rand(&k->rng, STOP_MAX_MS - STOP_MIN_MS)) *
					   CHAOS_MS;
		run->stops++;
	}
	if (k->next_stop <= now)
		k->next_stop = now + gap(&k->rng, run->o.stops_per_min);
}

void chaos_killer_release(struct chaos_run *run)
{
	for (unsigned i = 0; i < run->o.workers; i++) {
		struct chaos_slot *s = &run->slots[i];
		if (s->pid != 0 && s->stopped) {
			kill(s->pid, SIGCONT);
			s->stopped = false;
		}
	}
}
