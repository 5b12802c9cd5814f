/*
 * chaos_main.c — the master: options, the box, the workers, the end.
 *
 *   fusebox-chaos [--seconds N] [--workers N] [--kills-per-min N]
 *                 [--stops-per-min N] [--rate N] [--seed N] [--stall]
 *                 [--scribble [--scribbles-per-s N] [--ctl PATH]] [--box NAME]
 *
 * The master creates the box and the shared log, forks the workers,
 * respawns those the killer takes, samples the box, and when the time is
 * up asks the workers to finish, waits for them (killing stragglers),
 * validates everything and removes the box.  It cleans up on SIGINT,
 * SIGTERM and SIGHUP too (a second one, or its own time bound running out,
 * cleans up at once from the signal handler), and the workers die with it
 * whatever kills it (PR_SET_PDEATHSIG).  Exit status: 0 when no invariant
 * was violated, 1 when one was, 2 on a usage or setup error, 130 when
 * interrupted without a violation in what ran (not a pass).
 *
 * --scribble replaces the killer with a scribbler and a reader, and the
 * checks with those of chaos_scribble.h: the master then also runs the
 * watchdog, and stops the scribbler before the workers.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chaos.h"
#include "chaos_scribble.h"
#include "internal.h"

#define TICK_NS (1 * CHAOS_MS)
#define SETTLE_WAIT_NS (5 * CHAOS_SEC)
#define WORKERS_MAX 64
#define SECONDS_MAX 300 /* keeps breaker generations far from their 16-bit wrap */
#define SLACK_S 120     /* time bound: run + settle + validation */
_Static_assert(WORKERS_MAX <= CHAOS_SLOTS_MAX, "--scribble counts every slot's return codes");

/* ---- emergency cleanup, from signal handlers ------------------------------ */

static volatile sig_atomic_t interrupted;
/* workers by slot, then the --scribble mode's scribbler and reader */
static pid_t emergency_pids[WORKERS_MAX + CHAOS_AUX_N];
static char emergency_shm[80];

void chaos_emergency_aux(unsigned which, pid_t pid)
{
	if (which < CHAOS_AUX_N)
		emergency_pids[WORKERS_MAX + which] = pid;
}

static void emergency(const char *why)
{
	for (int i = 0; i < WORKERS_MAX + CHAOS_AUX_N; i++)
		if (emergency_pids[i] > 0)
			kill(emergency_pids[i], SIGKILL);
	if (emergency_shm[0])
		unlink(emergency_shm);
	ssize_t rc = write(2, why, strlen(why));
	(void)rc;
}

static void on_signal(int sig)
{
	if (sig == SIGALRM) {
		emergency("chaos: time bound exceeded: workers killed, box removed\n");
		_exit(3);
	}
	if (interrupted) {
		emergency("chaos: interrupted again: workers killed, box removed\n");
		_exit(130);
	}
	interrupted = 1;
}

static void handle_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* ---- options -------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: fusebox-chaos [--seconds N] [--workers N] [--kills-per-min N]\n"
		"                     [--stops-per-min N] [--rate N] [--seed N] [--stall]\n"
		"                     [--scribble [--scribbles-per-s N] [--ctl PATH]] [--box NAME]\n"
		"  --seconds N        run time (default 60, at most %d)\n"
		"  --workers N        worker processes (default 6, at most %d)\n"
		"  --kills-per-min N  SIGKILLs a minute (default 300; 0: none)\n"
		"  --stops-per-min N  SIGSTOP/SIGCONT pairs a minute (default half the kills)\n"
		"  --rate N           library calls a second per worker slot (default 100000)\n"
		"  --seed N           random seed (default: from the clock; printed)\n"
		"  --stall            workers' clock readings go stale by ~1.2 s once a life\n"
		"  --scribble         no killer: a scribbler writes random bytes on the box while\n"
		"                     a reader takes snapshots, renders the console and runs\n"
		"                     fuseboxctl; checks that nothing crashes, hangs or shows\n"
		"                     damage unflagged\n"
		"  --scribbles-per-s N  scribbles a second (default 300)\n"
		"  --ctl PATH         the fuseboxctl the reader runs (default: next to this program)\n"
		"  --box NAME         box name (default chaos-PID); must not exist\n",
		SECONDS_MAX, WORKERS_MAX);
	exit(2);
}

static unsigned number(const char *opt, const char *v, unsigned lo, unsigned hi)
{
	char *end;
	errno = 0;
	unsigned long n = v ? strtoul(v, &end, 10) : 0;
	if (v == NULL || errno || *end || end == v || n < lo || n > hi) {
		fprintf(stderr, "chaos: %s wants a number from %u to %u\n", opt, lo, hi);
		exit(2);
	}
	return (unsigned)n;
}

/* --scribble: every death must be the library's, so no killer; the tool
 * the reader runs is the one built next to this program unless named. */
static void scribble_opts(struct chaos_opts *o)
{
	if (o->stall) {
		fprintf(stderr, "chaos: --scribble and --stall are separate runs\n");
		exit(2);
	}
	o->kills_per_min = o->stops_per_min = 0;
	if (o->scribbles_per_s == 0)
		o->scribbles_per_s = 300;
	if (o->ctl[0] == '\0') {
		char self[sizeof(o->ctl)];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 16);
		char *slash = n > 0 ? memrchr(self, '/', (size_t)n) : NULL;
		if (slash == NULL) {
			fprintf(stderr, "chaos: where is fuseboxctl? (--ctl PATH)\n");
			exit(2);
		}
		snprintf(o->ctl, sizeof(o->ctl), "%.*s/fuseboxctl", (int)(slash - self), self);
	}
	if (access(o->ctl, X_OK) != 0) {
		fprintf(stderr, "chaos: cannot run %s: %s (build it, or --ctl PATH)\n", o->ctl,
			strerror(errno));
		exit(2);
	}
}

static void parse(int argc, char **argv, struct chaos_opts *o)
{
	bool stops_set = false;
	o->seconds = 60;
	o->workers = 6;
	o->kills_per_min = 300;
	o->rate = 100000;
	o->seed = chaos_now() ^ ((uint64_t)getpid() << 32);
	snprintf(o->box, sizeof(o->box), "chaos-%d", (int)getpid());
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--stall") == 0) {
			o->stall = true;
			continue;
		}
		if (strcmp(a, "--scribble") == 0) {
			o->scribble = true;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			usage();
		i++;
		if (strcmp(a, "--seconds") == 0) {
			o->seconds = number(a, v, 1, SECONDS_MAX);
		} else if (strcmp(a, "--workers") == 0) {
			o->workers = number(a, v, 1, WORKERS_MAX);
		} else if (strcmp(a, "--kills-per-min") == 0) {
			o->kills_per_min = number(a, v, 0, 60000);
		} else if (strcmp(a, "--stops-per-min") == 0) {
			o->stops_per_min = number(a, v, 0, 60000);
			stops_set = true;
		} else if (strcmp(a, "--rate") == 0) {
			o->rate = number(a, v, 100, 1000000);
		} else if (strcmp(a, "--scribbles-per-s") == 0) {
			o->scribbles_per_s = number(a, v, 1, 10000);
		} else if (strcmp(a, "--ctl") == 0) {
			if (v == NULL || strlen(v) >= sizeof(o->ctl))
				usage();
			snprintf(o->ctl, sizeof(o->ctl), "%s", v);
		} else if (strcmp(a, "--seed") == 0) {
			char *end;
			if (v == NULL || (o->seed = strtoull(v, &end, 0), *end != '\0'))
				usage();
		} else if (strcmp(a, "--box") == 0) {
			if (v == NULL || fbx_name_check_box(v) != 0) {
				fprintf(stderr, "chaos: --box wants a box name ([A-Za-z0-9_.-], "
						"1..32 characters)\n");
				exit(2);
			}
			snprintf(o->box, sizeof(o->box), "%s", v);
		} else {
			usage();
		}
	}
	if (!stops_set)
		o->stops_per_min = o->kills_per_min / 2;
	if (o->scribble)
		scribble_opts(o);
}

/* ---- workers ---------------------------------------------------------------- */

static void spawn(struct chaos_run *run, unsigned i)
{
	struct chaos_slot *s = &run->slots[i];
	if (s->nlives >= CHAOS_LIVES_MAX)
		return;
	/* a full region would fail every new life's setup: leave the slot */
	if (chaos_log_count(chaos_log_region(run->log, i)) + 1024 > run->log->cap) {
		if (s->nlives == 0 || s->lives[s->nlives - 1].end != END_SETUP)
			chaos_note("worker slot %u: its log is full; not respawned", i);
		return;
	}
	if (s->nlives == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 64;
		struct chaos_life *l = realloc(s->lives, cap * sizeof(*l));
		if (l == NULL)
			return;
		s->lives = l;
		s->cap = cap;
	}
	uint16_t life = (uint16_t)s->nlives;
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0)
		chaos_worker_main(run, i, life);
	if (pid < 0) {
		chaos_note("fork: %s", strerror(errno));
		return;
	}
	memset(&s->lives[life], 0, sizeof(s->lives[life]));
	s->lives[life].pid = pid;
	s->lives[life].t_spawn = chaos_now();
	s->nlives++;
	s->pid = pid;
	s->stopped = s->killing = false;
	emergency_pids[i] = pid;
	run->spawns++;
}

static int slot_of(const struct chaos_run *run, pid_t pid)
{
	for (unsigned i = 0; i < run->o.workers; i++)
		if (run->slots[i].pid == pid)
			return (int)i;
	return -1;
}

static void reaped(struct chaos_run *run, unsigned i, int status)
{
	struct chaos_slot *s = &run->slots[i];
	uint16_t life = (uint16_t)(s->nlives - 1);
	struct chaos_life *l = &s->lives[life];
	l->status = status;
	l->t_reaped = chaos_now();
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && l->t_kill != 0)
		l->end = END_KILLED;
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		l->end = END_EXITED;
	else if (WIFEXITED(status) && WEXITSTATUS(status) == CHAOS_EXIT_SETUP)
		l->end = END_SETUP;
	else
		l->end = END_CRASHED;
	chaos_log_settle(run->log, chaos_log_region(run->log, i), life);
	s->pid = 0;
	s->stopped = s->killing = false;
	emergency_pids[i] = 0;
}

/* Reaps whatever died; respawns into its slot while the run goes on. */
static unsigned reap(struct chaos_run *run, bool respawn, bool block)
{
	unsigned n = 0;
	for (int guard = 0; guard < 1024; guard++) {
		int status;
		pid_t pid = waitpid(-1, &status, block ? 0 : WNOHANG);
		if (pid <= 0)
			break;
		int i = slot_of(run, pid);
		if (i < 0) {
			chaos_aux_reaped(run, pid, status, respawn);
			continue;
		}
		reaped(run, (unsigned)i, status);
		n++;
		if (respawn)
			spawn(run, (unsigned)i);
		block = false;
	}
	return n;
}

static unsigned running(const struct chaos_run *run)
{
	unsigned n = 0;
	for (unsigned i = 0; i < run->o.workers; i++)
		n += run->slots[i].pid != 0;
	return n;
}

/* Workers finish the calls they hold and exit; the few that do not within
 * the wait (stopped at the end, or in a stall) are killed. */
static void settle(struct chaos_run *run)
{
	atomic_store(&run->log->ctl->stop, 1);
	chaos_killer_release(run);
	/* --scribble: long enough for the watchdog to catch (and trace) a
	 * worker whose last call does not return, before the kill below */
	uint64_t until = chaos_now() + SETTLE_WAIT_NS + (run->o.scribble ? 2 * CHAOS_SEC : 0);
	while (running(run) > 0 && chaos_now() < until) {
		reap(run, false, false);
		/* a worker that does not come back from its last call is hung */
		if (run->o.scribble)
			chaos_watchdog_tick(run, chaos_now());
		chaos_sleep_ns(2 * CHAOS_MS);
	}
	for (unsigned i = 0; i < run->o.workers; i++) {
		struct chaos_slot *s = &run->slots[i];
		if (s->pid != 0 && !s->killing) {
			s->lives[s->nlives - 1].t_kill = chaos_now();
			kill(s->pid, SIGKILL);
			s->killing = true;
			run->settle_kills++;
		}
	}
	for (int guard = 0; guard < 1000 && running(run) > 0; guard++)
		reap(run, false, true);
}

/* ---- the run ---------------------------------------------------------------- */

static int make_box(struct chaos_run *run)
{
	fbx_box_config bc;
	fbx_box_config_init(&bc);
	bc.breakers = 16;
	bc.limiters = 16;
	/* small: the rolling keys fill it within seconds, and from then on
	 * every new key reuses a spent entry (chaos_spec.c) */
	bc.keys = 16384;
	bc.events = 16384;
	/* --scribble: a ring as large as services configure, so that work a
	 * damaged ring costs readers per event shows at the watchdog's scale */
	if (run->o.scribble)
		bc.events = 65536;
	/* few spare slots, so that dead workers' slots are taken over all the
	 * time, and now and then the shared overflow shard is used */
	bc.workers = run->o.workers + 2;
	int rc = fbx_box_open(run->o.box, FBX_OPEN_CREATE | FBX_OPEN_EXCL, &bc, &run->box);
	if (rc == FBX_EEXIST) {
		fprintf(stderr, "chaos: box %s exists; remove it (fuseboxctl -b %s destroy) or "
				"pick another --box\n", run->o.box, run->o.box);
		return rc;
	}
	if (rc != 0) {
		fprintf(stderr, "chaos: cannot create box %s: %s\n", run->o.box, fbx_strerror(rc));
		return rc;
	}
	snprintf(emergency_shm, sizeof(emergency_shm), "/dev/shm/fusebox.%s", run->o.box);
	fbx_box_info info;
	fbx_box_info_get(run->box, &info);
	run->created_ns = info.created_ns;
	for (unsigned i = 0; i < CHAOS_BREAKERS && rc == 0; i++)
		rc = fbx_breaker_register(run->box, chaos_breakers[i].name, &chaos_breakers[i].cfg,
					  &run->br[i]);
	for (unsigned i = 0; i < CHAOS_LIMITERS && rc == 0; i++) {
		fbx_limiter_config c = chaos_limiter_config(i);
		rc = fbx_limiter_register(run->box, chaos_limiters[i].name, &c, &run->lim[i]);
	}
	if (rc != 0)
		fprintf(stderr, "chaos: cannot register the records: %s\n", fbx_strerror(rc));
	return rc;
}

static uint64_t total_ops(const struct chaos_run *run)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < run->o.workers; i++)
		n += atomic_load(&chaos_log_region(run->log, i)->agg.calls);
	return n;
}

static void progress(const struct chaos_run *run, uint64_t now)
{
	if (run->o.scribble) {
		printf("chaos: +%.0f s: %llu operations, %llu scribbles, %llu violations so far\n",
		       chaos_rel(run, now),
		       (unsigned long long)(total_ops(run) + chaos_aux_reader_ops(run)),
		       (unsigned long long)chaos_aux_scribbles(run),
		       (unsigned long long)chaos_total_violations());
		return;
	}
	printf("chaos: +%.0f s: %llu operations, %llu kills, %llu stops, %llu stalls, "
	       "%llu violations so far\n", chaos_rel(run, now),
	       (unsigned long long)total_ops(run), (unsigned long long)run->kills,
	       (unsigned long long)run->stops,
	       (unsigned long long)atomic_load(&run->log->ctl->stalls),
	       (unsigned long long)chaos_total_violations());
}

static void cleanup(struct chaos_run *run)
{
	for (unsigned i = 0; i < run->o.workers; i++)
		if (run->slots && run->slots[i].pid > 0)
			kill(run->slots[i].pid, SIGKILL);
	if (run->box != NULL) {
		fbx_box_close(run->box);
		fbx_box_unlink(run->o.box);
	}
	emergency_shm[0] = '\0';
	if (run->scribbler > 0)
		kill(run->scribbler, SIGKILL);
	if (run->reader > 0)
		kill(run->reader, SIGKILL);
	chaos_shared_destroy(run->shared);
	chaos_monitor_free(run->mon);
	chaos_log_destroy(run->log);
	if (run->slots)
		for (unsigned i = 0; i < run->o.workers; i++)
			free(run->slots[i].lives);
	free(run->slots);
}

/* --scribble: workers, a scribbler and a reader; the watchdog instead of
 * the killer and the monitor (whose checks assume an undamaged box). */
static int scribble_run(struct chaos_run *run)
{
	printf("chaos: box %s: %d breakers, %d limiters; %u workers, %u s, no killer, "
	       "%u scribbles/s, %u calls/s per worker, seed %llu; reader runs %s\n", run->o.box,
	       CHAOS_BREAKERS, CHAOS_LIMITERS, run->o.workers, run->o.seconds,
	       run->o.scribbles_per_s, run->o.rate, (unsigned long long)run->o.seed, run->o.ctl);
	/* before the workers: they count their calls' codes in it */
	run->shared = chaos_shared_create((uint64_t)run->o.scribbles_per_s *
					  (run->o.seconds + 10) + 1024);
	if (run->shared == NULL) {
		fprintf(stderr, "chaos: out of memory for the scribble log\n");
		cleanup(run);
		return 2;
	}
	run->t0 = chaos_now();
	run->log->ctl->t0 = run->t0;
	run->log->ctl->t_end = run->t0 + run->o.seconds * CHAOS_SEC;
	for (unsigned i = 0; i < run->o.workers; i++)
		spawn(run, i);
	if (chaos_aux_start(run) != 0) {
		fprintf(stderr, "chaos: cannot start the scribbler and the reader\n");
		cleanup(run);
		return 2;
	}
	uint64_t next_progress = run->t0 + 10 * CHAOS_SEC;
	for (uint64_t tick = 0; tick < (run->o.seconds + 5) * 1000ull; tick++) {
		uint64_t now = chaos_now();
		if (now >= run->log->ctl->t_end || interrupted)
			break;
		reap(run, true, false);
		chaos_watchdog_tick(run, now);
		if (now >= next_progress) {
			progress(run, now);
			next_progress += 10 * CHAOS_SEC;
		}
		chaos_sleep_ns(TICK_NS);
	}
	uint64_t ran = chaos_now() - run->t0;
	if (interrupted)
		printf("chaos: interrupted after %.1f s: stopping and checking what ran\n",
		       (double)ran / 1e9);
	/* the box holds still from here: the workers' last calls and the
	 * checks see what the scribbler left */
	chaos_aux_stop_scribbler(run);
	settle(run);
	chaos_aux_stop_reader(run);
	printf("chaos: ran %.1f s; %llu worker operations, %llu reader operations, %llu "
	       "scribbles, %llu worker lives, %u reader lives; %llu workers killed at the end\n",
	       (double)ran / 1e9, (unsigned long long)total_ops(run),
	       (unsigned long long)chaos_aux_reader_ops(run),
	       (unsigned long long)chaos_aux_scribbles(run), (unsigned long long)run->spawns,
	       run->reader_lives, (unsigned long long)run->settle_kills);
	chaos_scribble_validate(run);
	uint64_t ops = total_ops(run) + chaos_aux_reader_ops(run), bad = chaos_total_violations();
	printf("chaos: %llu operations, %llu scribbles, %llu invariants checked, %llu violations\n",
	       (unsigned long long)ops, (unsigned long long)chaos_aux_scribbles(run),
	       (unsigned long long)chaos_total_checked(), (unsigned long long)bad);
	cleanup(run);
	return bad ? 1 : interrupted ? 130 : 0;
}

int main(int argc, char **argv)
{
	static struct chaos_run run;
	setvbuf(stdout, NULL, _IOLBF, 0);
	parse(argc, argv, &run.o);
	chaos_spec_init();
	run.master = getpid();
	handle_signals();
	alarm(run.o.seconds + SLACK_S);
	if (make_box(&run) != 0) {
		cleanup(&run);
		return 2;
	}
	/* Published records: admissions, trials and the like, a few thousand a
	 * second per slot; room for far more (pages are taken as written). */
	uint64_t cap = 25000ull * (run.o.seconds + 40) + 65536;
	run.key_space = chaos_key_space(run.o.seconds);
	run.log = chaos_log_create(run.o.workers, cap);
	run.slots = calloc(run.o.workers, sizeof(*run.slots));
	run.mon = chaos_monitor_new(&run);
	if (run.log == NULL || run.slots == NULL || run.mon == NULL) {
		fprintf(stderr, "chaos: out of memory for the log\n");
		cleanup(&run);
		return 2;
	}
	if (run.o.scribble)
		return scribble_run(&run);
	printf("chaos: box %s: %d breakers, %d limiters; %u workers, %u s, %u kills/min, "
	       "%u stops/min, %u calls/s per worker, stall %s, seed %llu\n", run.o.box,
	       CHAOS_BREAKERS, CHAOS_LIMITERS, run.o.workers, run.o.seconds, run.o.kills_per_min,
	       run.o.stops_per_min, run.o.rate, run.o.stall ? "on" : "off",
	       (unsigned long long)run.o.seed);

	run.t0 = chaos_now();
	run.log->ctl->t0 = run.t0;
	run.log->ctl->t_end = run.t0 + run.o.seconds * CHAOS_SEC;
	for (unsigned i = 0; i < run.o.workers; i++)
		spawn(&run, i);
	struct chaos_killer killer;
	chaos_killer_init(&killer, &run, run.t0);
	uint64_t next_progress = run.t0 + 10 * CHAOS_SEC;
	for (uint64_t tick = 0; tick < (run.o.seconds + 5) * 1000ull; tick++) {
		uint64_t now = chaos_now();
		if (now >= run.log->ctl->t_end || interrupted)
			break;
		reap(&run, true, false);
		chaos_killer_tick(&killer, &run, now);
		chaos_monitor_tick(&run, now);
		if (now >= next_progress) {
			progress(&run, now);
			next_progress += 10 * CHAOS_SEC;
		}
		chaos_sleep_ns(TICK_NS);
	}
	uint64_t ran = chaos_now() - run.t0;
	if (interrupted)
		printf("chaos: interrupted after %.1f s: stopping the workers and checking what "
		       "ran\n", (double)ran / 1e9);
	settle(&run);
	chaos_monitor_final(&run);
	printf("chaos: ran %.1f s; %llu operations, %llu kills (%llu stops), %llu stalls, %llu "
	       "worker lives; %llu workers killed at the end\n", (double)ran / 1e9,
	       (unsigned long long)total_ops(&run), (unsigned long long)run.kills,
	       (unsigned long long)run.stops,
	       (unsigned long long)atomic_load(&run.log->ctl->stalls),
	       (unsigned long long)run.spawns, (unsigned long long)run.settle_kills);
	chaos_validate(&run);
	uint64_t ops = total_ops(&run), bad = chaos_total_violations();
	printf("chaos: %llu operations, %llu kills (%llu stops), %llu invariants checked, "
	       "%llu violations\n", (unsigned long long)ops, (unsigned long long)run.kills,
	       (unsigned long long)run.stops, (unsigned long long)chaos_total_checked(),
	       (unsigned long long)bad);
	cleanup(&run);
	return bad ? 1 : interrupted ? 130 : 0;
}
