/*
 * prefork.c — a prefork server in miniature, protecting an upstream with a
 * host-wide breaker and limiting callers per API token.
 *
 * The master creates the box and forks WORKERS workers.  Each worker serves
 * simulated requests: it takes the caller's budget from the keyed limiter
 * "api" (a 429 when denied) and calls the upstream "payments" through the
 * breaker.  The upstream is down for the first second.  Watch the breaker
 * trip after fail_max failures *host-wide* (not per worker), reject calls
 * while open, admit one trial at a time, and close once it recovers; and
 * watch the abusive token be limited while the others are not.
 *
 * Build: make examples; run: build/examples/prefork [seconds]
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fusebox.h"

#define WORKERS 4
#define NS 1000000000ull

static const char *const tokens[] = {"tok-alice", "tok-bob", "tok-carol", "tok-mallory"};
#define NTOKENS 4

/* The demo's own tally, per token, in memory all workers share. */
struct tally {
	_Atomic unsigned long allowed[NTOKENS], denied[NTOKENS];
};
static struct tally *tally;
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "prefork: %s: %s\n", what, fbx_strerror(rc));
	exit(1);
}

static void nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* The upstream: down for the first second after start, then healthy. */
static fbx_outcome payments(uint64_t start)
{
	nap_ms(2);
	return fbx_clock_now() - start < NS ? FBX_FAILURE : FBX_SUCCESS;
}

/* The handles were made by the master before fork(): they keep working
 * in each worker, which moves to a counter shard of its own. */
static void worker(fbx_breaker *br, fbx_limiter *lim, int id, uint64_t start, uint64_t stop)
{
	unsigned seed = (unsigned)id * 7919u;
	while (fbx_clock_now() < stop && !interrupted) {
		nap_ms(5); /* the next request arrives */
		/* mallory sends as much as the other three together */
		seed = seed * 1103515245u + 12345u;
		int t = (seed >> 16) % 2 ? 3 : (int)((seed >> 17) % 3);
		const char *tok = tokens[t];
		fbx_limit_result lr;
		int rc = fbx_limiter_take(lim, tok, strlen(tok), 1, &lr);
		if (rc == FBX_ELIMITED) {
			atomic_fetch_add(&tally->denied[t], 1);
			continue; /* 429 with Retry-After: lr.retry_after_ns */
		}
		if (rc != 0)
			die("take", rc); /* an error is not a 429 */
		atomic_fetch_add(&tally->allowed[t], 1);
		fbx_permit p;
		rc = fbx_breaker_allow(br, &p);
		if (rc == FBX_EOPEN)
			continue; /* 503 at once, without touching the sick upstream */
		if (rc != 0)
			die("allow", rc);
		uint64_t t0 = fbx_clock_now();
		fbx_outcome o = payments(start);
		if ((rc = fbx_breaker_done(br, &p, o, fbx_clock_now() - t0)) != 0)
			die("done", rc);
	}
}

static void report(fbx_box *box, fbx_snapshot *snap, double t)
{
	fbx_snapshot_take(box, snap);
	size_t nb, nl;
	const fbx_breaker_info *b = fbx_snapshot_breakers(snap, &nb);
	const fbx_limiter_info *l = fbx_snapshot_limiters(snap, &nl);
	for (size_t i = 0; i < nb; i++)
		printf("t=%.1fs  breaker %-8s %-9s ok=%-5llu failed=%-3llu rejected=%-5llu trips=%llu\n",
		       t, b[i].name, fbx_breaker_state_name(b[i].state),
		       (unsigned long long)b[i].successes, (unsigned long long)b[i].failures,
		       (unsigned long long)b[i].rejected, (unsigned long long)b[i].trips);
	for (size_t i = 0; i < nl; i++)
		printf("t=%.1fs  limiter %-8s %s  allowed=%llu denied=%llu keys=%llu\n", t,
		       l[i].name, l[i].rule, (unsigned long long)l[i].allowed,
		       (unsigned long long)l[i].denied, (unsigned long long)l[i].keys);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 3.0;
	if (seconds <= 0 || seconds > 3600) {
		fprintf(stderr, "prefork: seconds must be in (0, 3600]\n");
		return 2;
	}
	char name[32];
	snprintf(name, sizeof(name), "prefork-%d", (int)getpid());
	fbx_box *box;
	int rc = fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, NULL, &box);
	if (rc)
		die("create box", rc);

	fbx_breaker_config bc;
	fbx_breaker_config_init(&bc);       /* fail_max 5, like pybreaker */
	bc.reset_timeout_ns = NS / 4;       /* short, for the demo */
	fbx_limiter_config lc;
	fbx_limiter_config_init(&lc);
	lc.rule = "200/second;8000/minute";
	lc.keyed = 1;
	fbx_breaker *br;
	fbx_limiter *lim;
	if ((rc = fbx_breaker_register(box, "payments", &bc, &br)) ||
	    (rc = fbx_limiter_register(box, "api", &lc, &lim)))
		die("register", rc);

	printf("box /fusebox.%s: %d workers share breaker 'payments' (fail_max %u) and "
	       "limiter 'api' (%s per token)\n", name, WORKERS, bc.fail_max, lc.rule);
	uint64_t start = fbx_clock_now(), stop = start + (uint64_t)(seconds * NS);
	tally = mmap(NULL, sizeof(*tally), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (tally == MAP_FAILED) {
		fbx_box_unlink(name);
		die("tally", FBX_ENOMEM);
	}
	/* Ctrl-C stops the fleet and still removes the box */
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	pid_t kids[WORKERS];
	for (int i = 0; i < WORKERS; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			worker(br, lim, i, start, stop);
			fbx_box_close(box);
			_exit(0);
		}
	}
	fbx_snapshot *snap;
	if ((rc = fbx_snapshot_new(box, &snap)))
		die("snapshot", rc);
	while (fbx_clock_now() < stop && !interrupted) {
		nap_ms(500);
		report(box, snap, (double)(fbx_clock_now() - start) / NS);
	}
	for (int i = 0; i < WORKERS; i++)
		waitpid(kids[i], NULL, 0);

	printf("\nper token (limit %s each):\n", lc.rule);
	for (int t = 0; t < NTOKENS; t++)
		printf("  %-12s allowed %5lu  denied %5lu\n", tokens[t], atomic_load(&tally->allowed[t]),
		       atomic_load(&tally->denied[t]));

	fbx_snapshot_take(box, snap);
	size_t ne;
	uint64_t dropped;
	const fbx_event *ev = fbx_snapshot_events(snap, &ne, &dropped);
	printf("\nevents (%zu, %llu dropped):\n", ne, (unsigned long long)dropped);
	/* the line fuseboxctl events and fusebox-top print */
	char line[256];
	for (size_t i = 0; i < ne; i++) {
		fbx_event_format(&ev[i], fbx_snapshot_time(snap), line, sizeof(line));
		printf("  %s\n", line);
	}
	fbx_snapshot_free(snap);
	fbx_box_unlink(name);
	fbx_box_close(box);
	return 0;
}
