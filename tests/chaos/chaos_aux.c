/*
 * chaos_aux.c — the master's side of the --scribble mode's own processes:
 * starting the scribbler and the reader, noting how they end, respawning
 * the reader (a reader that crashed is a violation, and the run goes on to
 * find more), and stopping them at the end: the scribbler first, so that
 * the box holds still for the workers' last calls and the checks.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chaos_scribble.h"

#define READER_LIVES_MAX 1000
#define DEATHS_MAX 64
#define SCRIBBLER_STOP_NS (2 * CHAOS_SEC)
/* A reader asked to stop finishes its step; a step running a hung tool
 * ends when the watchdog aborts the tool (or the reader's own kill). */
#define READER_STOP_NS (40 * CHAOS_SEC)

static struct chaos_aux_death deaths[DEATHS_MAX];
static size_t ndeaths;
static bool stopping_reader;

const struct chaos_aux_death *chaos_aux_deaths(size_t *n)
{
	*n = ndeaths;
	return deaths;
}

static void spawn_reader(struct chaos_run *run)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0)
		chaos_reader_main(run, run->reader_lives);
	if (pid < 0) {
		chaos_note("fork (reader): %s", strerror(errno));
		return;
	}
	run->reader = pid;
	run->reader_lives++;
	chaos_emergency_aux(CHAOS_AUX_READER, pid);
}

int chaos_aux_start(struct chaos_run *run)
{
	if (run->shared == NULL)
		return -1;
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0)
		chaos_scribbler_main(run);
	if (pid < 0)
		return -1;
	run->scribbler = pid;
	chaos_emergency_aux(CHAOS_AUX_SCRIBBLER, pid);
	spawn_reader(run);
	return run->reader != 0 ? 0 : -1;
}

static void note_death(struct chaos_run *run, pid_t pid, const char *who, int status)
{
	if (ndeaths < DEATHS_MAX)
		deaths[ndeaths++] = (struct chaos_aux_death){pid, who, status, chaos_now()};
	if (WIFSIGNALED(status))
		printf("chaos: %s (pid %d) died of signal %d (%s) at +%.3f s\n", who, (int)pid,
		       WTERMSIG(status), strsignal(WTERMSIG(status)), chaos_rel(run, chaos_now()));
}

bool chaos_aux_reaped(struct chaos_run *run, pid_t pid, int status, bool respawn)
{
	if (run->shared == NULL)
		return false;
	if (pid == run->scribbler) {
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			note_death(run, pid, "the scribbler", status);
		run->scribbler = 0;
		chaos_emergency_aux(CHAOS_AUX_SCRIBBLER, 0);
		return true;
	}
	if (pid != run->reader)
		return false;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		note_death(run, pid, "the reader", status);
	run->reader = 0;
	chaos_emergency_aux(CHAOS_AUX_READER, 0);
	if (respawn && !stopping_reader && run->reader_lives < READER_LIVES_MAX)
		spawn_reader(run);
	return true;
}

/* Waits for *pid to be reaped (by chaos_aux_reaped), ticking the watchdog;
 * kills it past wait_ns. */
static void wait_for(struct chaos_run *run, pid_t *pid, uint64_t wait_ns, const char *who)
{
	uint64_t until = chaos_now() + wait_ns;
	for (int i = 0; i < 100000 && *pid != 0; i++) {
		int status;
		pid_t p = *pid, got = waitpid(p, &status, WNOHANG);
		if (got == p) {
			chaos_aux_reaped(run, p, status, false);
			break;
		}
		uint64_t now = chaos_now();
		chaos_watchdog_tick(run, now);
		if (now > until) {
			chaos_note("%s (pid %d) did not stop within %.0f s: killed", who, (int)p,
				   (double)wait_ns / 1e9);
			kill(p, SIGKILL);
			if (waitpid(p, &status, 0) == p)
				chaos_aux_reaped(run, p, status, false);
			break;
		}
		chaos_sleep_ns(2 * CHAOS_MS);
	}
}

void chaos_aux_stop_scribbler(struct chaos_run *run)
{
	if (run->shared == NULL)
		return;
	atomic_store(&run->shared->stop_scribbler, 1);
	wait_for(run, &run->scribbler, SCRIBBLER_STOP_NS, "the scribbler");
}

void chaos_aux_stop_reader(struct chaos_run *run)
{
	if (run->shared == NULL)
		return;
	stopping_reader = true;
	atomic_store(&run->shared->stop_reader, 1);
	wait_for(run, &run->reader, READER_STOP_NS, "the reader");
}

uint64_t chaos_aux_reader_ops(const struct chaos_run *run)
{
	return run->shared ? run->shared->rep.ops : 0;
}

uint64_t chaos_aux_scribbles(const struct chaos_run *run)
{
	return run->shared ? atomic_load(&run->shared->nscrib) : 0;
}
