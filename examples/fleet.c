/*
 * fleet.c — a simulated prefork fleet, the load behind `make demo`.
 *
 *     fleet BOX [--workers N] [--seconds S]
 *
 * BOX must exist already, made from examples/demo.ini (breakers "catalog",
 * "payments", "search"; keyed limiter "api"; retry budget "payments",
 * bulkhead "search", cache "quotes"):
 *
 *     fuseboxctl -b demo create --config examples/demo.ini
 *     build/examples/fleet demo &
 *     build/fusebox-top -b demo
 *
 * The master opens the box, looks the records up and forks N workers (4 by
 * default), which inherit the handles, exactly as a prefork server would.
 * Each worker serves about 150 simulated requests a second: it takes the
 * caller's API token from the keyed limiter "api" (a 429 when denied), then
 * calls one of three simulated upstreams through its breaker:
 *
 *   catalog   healthy: about 1% of calls fail
 *   payments  fails in waves: every 20 s it fails every call for 6 s
 *             (from 3 s to 9 s of each cycle), else 2% of calls
 *   search    turns slow: every 40 s its latency climbs from 40 ms by
 *             60 ms a second for 20 s (past the 200 ms slow-call
 *             threshold), then it recovers for 20 s
 *
 * Callers: tok-alice, tok-bob and tok-carol at about 10 requests a second
 * each, tok-mallory sending as much as the three together, and a long tail
 * of 300 occasional users.  A simulated call sleeps a few milliseconds (the
 * latency it reports to the breaker is the simulated one), so the fleet
 * costs little CPU.  A rejected call (FBX_EOPEN) returns at once.
 *
 * Each upstream is called the way its trouble asks for:
 *
 *   payments  through fbx_retry(): a failed call is retried after a short
 *             backoff (2 ms base, 10 ms cap, full jitter, 2 retries),
 *             never into the open breaker and never past the retry budget
 *             "payments" (20% of requests plus 5 a second, host-wide), so
 *             a wave of failures cannot become a retry storm.  The answer
 *             goes through fbx_fallback(): the payments call, else the
 *             last good quote for the caller from the shared cache
 *             "quotes" (fresh 2 s, served stale for a minute), else a
 *             canned "quotes unavailable"; every good answer is put in
 *             the cache, for whichever worker needs it next.
 *   search    behind the bulkhead "search" (2 calls at once, host-wide):
 *             a call that finds it full is refused at once instead of
 *             queueing on the slow upstream.
 *
 * The processes also say how they are: the master registers as "master",
 * each worker after its fork as "worker", and they heartbeat every 100 ms;
 * each request is counted in flight from its first step to its answer;
 * the master says it has started once the workers are forked, keeps a
 * critical check "fleet" set (pass while every worker runs, TTL 3 s) and
 * adds a check "payments-breaker" that follows the payments breaker
 * (not critical: it degrades the box while payments fails, and no more).
 * While the box drains (`fuseboxctl drain`), workers take no new request.
 *
 * SIGTERM or SIGINT to the master marks the box draining, stops the
 * workers, reaps them and exits 0; a worker exits when the master dies.
 * Only errors are printed.  Uses only the public API (fusebox.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fusebox.h"

#define NS 1000000000ull
#define MS 1000000ull
#define WORKERS_MAX 64
#define WORKER_RATE 150 /* requests a second per worker */
#define TAIL_USERS 300

#define HEARTBEAT_NS (100 * MS)
#define HEARTBEAT_TIMEOUT_NS (5 * NS)

static volatile sig_atomic_t stop;
static fbx_box *the_box;
static pid_t master_pid;

/* fbx_drain_reason is async-signal-safe: readiness fails at once, before
 * the slower work of stopping the workers begins, and the event ring says
 * which signal began the drain. */
static void on_signal(int sig)
{
	stop = 1;
	if (getpid() == master_pid && the_box != NULL)
		fbx_drain_reason(the_box, 1, sig == SIGTERM ? "SIGTERM to the fleet's master"
							    : "SIGINT to the fleet's master");
}

static int usage(void)
{
	fprintf(stderr, "usage: fleet BOX [--workers N] [--seconds S]\n");
	return 2;
}

static void nap_ns(uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / NS), (long)(ns % NS)};
	nanosleep(&ts, NULL); /* a signal cuts it short: the loop checks stop */
}

/* xorshift32: each worker its own stream, no shared state. */
static uint32_t rnd(uint32_t *s)
{
	uint32_t x = *s;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

/* A uniform double in [0, 1). */
static double unit(uint32_t *s)
{
	return (rnd(s) >> 8) / 16777216.0;
}

struct fleet {
	fbx_box *box;
	fbx_breaker *catalog, *payments, *search;
	fbx_limiter *api;
	fbx_budget *retries;     /* payments' retries */
	fbx_bulkhead *in_search; /* calls to search at once */
	fbx_cache *quotes;       /* payments' last good answers */
	uint64_t start;  /* the master's clock at start: the upstreams' timeline */
	uint64_t stop;   /* 0 = until signalled */
	int workers;
};

/* One simulated upstream call: how long it took and how it went.  The
 * worker sleeps a fraction of the simulated latency, at most 5 ms. */
static fbx_outcome call_upstream(int which, uint64_t t, uint32_t *seed, uint64_t *dur)
{
	double x = unit(seed);
	double sec = (double)t / NS;
	fbx_outcome o = FBX_SUCCESS;
	uint64_t d;
	switch (which) {
	case 0: /* catalog: healthy */
		d = (uint64_t)((2 + 3 * unit(seed)) * MS);
		if (x < 0.01)
			o = FBX_FAILURE;
		break;
	case 1: { /* payments: fails in waves */
		double phase = sec - 20.0 * (double)(uint64_t)(sec / 20.0);
		bool wave = phase >= 3.0 && phase < 9.0;
		d = (uint64_t)((3 + 4 * unit(seed)) * MS);
		if (wave || x < 0.02)
			o = FBX_FAILURE;
		break;
	}
	default: { /* search: turns slow, then recovers */
		double phase = sec - 40.0 * (double)(uint64_t)(sec / 40.0);
		double base = phase < 20.0 ? 40.0 + 60.0 * phase : 40.0; /* ms */
		d = (uint64_t)(base * (0.7 + 0.6 * unit(seed)) * MS);
		if (x < 0.01)
			o = FBX_FAILURE;
		break;
	}
	}
	uint64_t real = d / 40;
	if (real < 2 * MS)
		real = 2 * MS;
	if (real > 5 * MS)
		real = 5 * MS;
	nap_ns(real);
	*dur = d;
	return o;
}

static void request(const struct fleet *f, int id, fbx_breaker *const br[3], uint32_t *seedp,
		    double p_named, double p_mallory, unsigned long *limited,
		    unsigned long *rejected, unsigned long *failed, unsigned long *served);

static void worker(const struct fleet *f, int id, pid_t master)
{
	/* die with the master; it may have died before prctl() took effect */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != master)
		return;

	fbx_breaker *const br[3] = {f->catalog, f->payments, f->search};
	uint32_t seed = 2463534242u ^ ((uint32_t)getpid() * 2654435761u) ^ (uint32_t)id;
	if (seed == 0)
		seed = 1;
	/* shares of this worker's requests: 10/s per named token and 30/s for
	 * mallory, fleet-wide; the rest is the long tail */
	double fleet_rate = (double)WORKER_RATE * f->workers;
	double p_named = 10.0 / fleet_rate, p_mallory = 30.0 / fleet_rate;
	if (3 * p_named + p_mallory > 0.9) {
		p_named = 0.9 / 6;
		p_mallory = 0.45;
	}
	unsigned long served = 0, limited = 0, rejected = 0, failed = 0;
	int rc = fbx_worker_register(f->box, "worker", HEARTBEAT_TIMEOUT_NS);
	if (rc != 0)
		fprintf(stderr, "fleet: worker %d: register: %s\n", id, fbx_strerror(rc));
	uint64_t interval = NS / WORKER_RATE, next = fbx_clock_now(), beat = next;
	while (!stop && (f->stop == 0 || fbx_clock_now() < f->stop)) {
		/* the next request arrives */
		next += interval;
		uint64_t now = fbx_clock_now();
		if (next > now)
			nap_ns(next - now);
		else if (now - next > NS)
			next = now; /* fell far behind (stopped?): do not burst */
		if (stop)
			break;
		if (fbx_clock_now() - beat >= HEARTBEAT_NS) {
			fbx_worker_heartbeat(f->box);
			beat = fbx_clock_now();
		}
		/* draining: the load balancer is taking this host out; finish
		 * what is in flight, start nothing new */
		if (fbx_draining(f->box))
			continue;
		fbx_request_begin(f->box);
		request(f, id, br, &seed, p_named, p_mallory, &limited, &rejected, &failed, &served);
		fbx_request_end(f->box);
		if (stop)
			break;
	}
	fbx_worker_unregister(f->box);
	(void)served, (void)limited, (void)rejected, (void)failed;
}

/* A payment for one caller: what fbx_retry, fbx_fallback and the cache
 * pass around. */
struct payment {
	const struct fleet *f;
	uint32_t *seed;
	const char *tok;
	char key[32];        /* the caller's quote in the cache */
	char answer[64];
	int attempts_failed;
};

/* One call to payments; fbx_retry reports it to the breaker. */
static int pay_once(void *arg)
{
	struct payment *p = arg;
	uint64_t dur;
	fbx_outcome o = call_upstream(1, fbx_clock_now() - p->f->start, p->seed, &dur);
	if (o == FBX_FAILURE) {
		p->attempts_failed++;
		return -1;
	}
	return 0;
}

/* Primary: payments, retried within the budget; a good answer is
 * shared with every worker through the cache. */
static int pay_primary(void *arg)
{
	struct payment *p = arg;
	/* short delays: the demo's requests are a few milliseconds each */
	fbx_backoff policy;
	fbx_backoff_init(&policy);
	policy.max_retries = 2;
	policy.base_ns = 2 * MS;
	policy.cap_ns = 10 * MS;
	fbx_retry_result out;
	if (fbx_retry(p->f->box, &policy, p->f->payments, p->f->retries, pay_once, p, &out) != 0)
		return -1;
	int n = snprintf(p->answer, sizeof(p->answer), "quote for %s: %u.%02u EUR", p->tok,
			 10 + rnd(p->seed) % 90, rnd(p->seed) % 100);
	fbx_cache_put(p->f->quotes, p->key, strlen(p->key), p->answer, (size_t)n);
	return 0;
}

/* Backup: the last good quote, stale or not (stale-if-error). */
static int pay_cached(void *arg)
{
	struct payment *p = arg;
	fbx_cache_hit hit;
	if (fbx_cache_get(p->f->quotes, p->key, strlen(p->key), p->answer, sizeof(p->answer) - 1,
			  &hit) != 0)
		return -1;
	p->answer[hit.len] = '\0';
	return 0;
}

static int pay_default(void *arg)
{
	struct payment *p = arg;
	snprintf(p->answer, sizeof(p->answer), "quotes unavailable, try again shortly");
	return 0;
}

/* One request: the caller's token through the limiter, then one upstream
 * through its breaker (payments through retries and a fallback, search
 * behind its bulkhead). */
static void request(const struct fleet *f, int id, fbx_breaker *const br[3], uint32_t *seedp,
		    double p_named, double p_mallory, unsigned long *limited,
		    unsigned long *rejected, unsigned long *failed, unsigned long *served)
{
	static const char *const named[] = {"tok-alice", "tok-bob", "tok-carol"};
	char tok[24];
	double x = unit(seedp);
	if (x < 3 * p_named)
		snprintf(tok, sizeof(tok), "%s", named[(int)(x / p_named) % 3]);
	else if (x < 3 * p_named + p_mallory)
		snprintf(tok, sizeof(tok), "tok-mallory");
	else
		snprintf(tok, sizeof(tok), "tok-u%03u", rnd(seedp) % TAIL_USERS);
	fbx_limit_result lr;
	int rc = fbx_limiter_take(f->api, tok, strlen(tok), 1, &lr);
	if (rc == FBX_ELIMITED) {
		(*limited)++; /* 429, Retry-After: lr.retry_after_ns */
		return;
	}
	if (rc != 0) {
		fprintf(stderr, "fleet: worker %d: take: %s\n", id, fbx_strerror(rc));
		stop = 1;
		return;
	}

	/* half the calls go to catalog, a quarter to each of the others */
	uint32_t r = rnd(seedp) % 4;
	int which = r < 2 ? 0 : (int)r - 1;
	if (which == 1) {
		struct payment pay = {.f = f, .seed = seedp, .tok = tok};
		snprintf(pay.key, sizeof(pay.key), "quote:%s", tok);
		fbx_fallback_source from;
		rc = fbx_fallback(pay_primary, pay_cached, pay_default, &pay, &from);
		if (rc != 0) {
			fprintf(stderr, "fleet: worker %d: fallback: %s\n", id, fbx_strerror(rc));
			stop = 1;
			return;
		}
		/* answered either way; the cache or the default stood in */
		*failed += pay.attempts_failed > 0;
		*rejected += from != FBX_FALLBACK_PRIMARY;
		(*served)++;
		return;
	}
	/* search: at most the bulkhead's cap at once, host-wide; a call that
	 * finds it full is refused now rather than pile onto a slow upstream */
	fbx_bulkhead_permit place;
	if (which == 2) {
		rc = fbx_bulkhead_acquire(f->in_search, 0, &place);
		if (rc == FBX_EFULL) {
			(*rejected)++;
			return;
		}
		if (rc != 0) {
			fprintf(stderr, "fleet: worker %d: bulkhead: %s\n", id, fbx_strerror(rc));
			stop = 1;
			return;
		}
	}
	fbx_permit p;
	rc = fbx_breaker_allow(br[which], &p);
	if (rc == FBX_EOPEN) {
		(*rejected)++; /* 503 at once, the sick upstream is left alone */
		if (which == 2)
			fbx_bulkhead_release(f->in_search, &place);
		return;
	}
	if (rc != 0) {
		fprintf(stderr, "fleet: worker %d: allow: %s\n", id, fbx_strerror(rc));
		stop = 1;
		return;
	}
	uint64_t dur;
	fbx_outcome o = call_upstream(which, fbx_clock_now() - f->start, seedp, &dur);
	if (which == 2)
		fbx_bulkhead_release(f->in_search, &place);
	rc = fbx_breaker_done(br[which], &p, o, dur);
	if (rc != 0) {
		fprintf(stderr, "fleet: worker %d: done: %s\n", id, fbx_strerror(rc));
		stop = 1;
		return;
	}
	if (o == FBX_FAILURE)
		(*failed)++;
	else
		(*served)++;
}

static int find_all(fbx_box *box, struct fleet *f)
{
	static const char *const names[] = {"catalog", "payments", "search"};
	fbx_breaker **slot[] = {&f->catalog, &f->payments, &f->search};
	for (int i = 0; i < 3; i++) {
		int rc = fbx_breaker_find(box, names[i], slot[i]);
		if (rc) {
			fprintf(stderr, "fleet: breaker '%s': %s (create the box from "
					"examples/demo.ini)\n", names[i], fbx_strerror(rc));
			return rc;
		}
	}
	int rc = fbx_limiter_find(box, "api", &f->api);
	const char *what = "limiter 'api'";
	if (rc == 0 && (rc = fbx_budget_find(box, "payments", &f->retries)) != 0)
		what = "retry budget 'payments'";
	if (rc == 0 && (rc = fbx_bulkhead_find(box, "search", &f->in_search)) != 0)
		what = "bulkhead 'search'";
	if (rc == 0 && (rc = fbx_cache_find(box, "quotes", &f->quotes)) != 0)
		what = "cache 'quotes'";
	if (rc)
		fprintf(stderr, "fleet: %s: %s (create the box from examples/demo.ini)\n", what,
			fbx_strerror(rc));
	return rc;
}

int main(int argc, char **argv)
{
	const char *name = NULL;
	struct fleet f = {.workers = 4};
	double seconds = 0;
	for (int i = 1; i < argc; i++) {
		char *end;
		if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
			long n = strtol(argv[++i], &end, 10);
			if (*end != '\0' || n < 1 || n > WORKERS_MAX) {
				fprintf(stderr, "fleet: --workers: '%s' is not a number from 1 to %d\n",
					argv[i], WORKERS_MAX);
				return 2;
			}
			f.workers = (int)n;
		} else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			seconds = strtod(argv[++i], &end);
			if (*end != '\0' || !(seconds > 0 && seconds <= 86400)) {
				fprintf(stderr, "fleet: --seconds: '%s' is not a number of seconds "
						"in (0, 86400]\n", argv[i]);
				return 2;
			}
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("usage: fleet BOX [--workers N] [--seconds S]\n");
			return 0;
		} else if (argv[i][0] != '-' && name == NULL) {
			name = argv[i];
		} else {
			return usage();
		}
	}
	if (name == NULL)
		return usage();

	fbx_box *box;
	int rc = fbx_box_open(name, 0, NULL, &box);
	if (rc) {
		fprintf(stderr, "fleet: open box '%s': %s\n", name, fbx_strerror(rc));
		return 1;
	}
	if (find_all(box, &f)) {
		fbx_box_close(box);
		return 1;
	}
	f.box = box;
	master_pid = getpid();
	/* the master before its workers: live means the master too */
	rc = fbx_worker_register(box, "master", HEARTBEAT_TIMEOUT_NS);
	if (rc == 0)
		rc = fbx_check_bind_breaker(box, "payments-breaker", "payments", 0);
	if (rc) {
		fprintf(stderr, "fleet: health: %s\n", fbx_strerror(rc));
		fbx_box_close(box);
		return 1;
	}

	/* Block the stop signals until the handler is in place and every
	 * worker is forked; workers get the same handler (a clean stop lets
	 * a worker report its call rather than strand a trial permit). */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &old);
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	the_box = box;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	f.start = fbx_clock_now();
	f.stop = seconds > 0 ? f.start + (uint64_t)(seconds * NS) : 0;
	pid_t master = getpid(), kids[WORKERS_MAX];
	int nkids = 0;
	for (int i = 0; i < f.workers; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			fprintf(stderr, "fleet: fork: %s\n", strerror(errno));
			stop = 1;
			break;
		}
		if (pid == 0) {
			sigprocmask(SIG_SETMASK, &old, NULL);
			worker(&f, i, master);
			fbx_box_close(box);
			_exit(0);
		}
		kids[nkids++] = pid;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	fbx_started(box); /* startup probes pass from now */

	/* wait for a signal or the end of --seconds; reap workers that die */
	int alive = nkids;
	while (!stop && alive > 0 && (f.stop == 0 || fbx_clock_now() < f.stop)) {
		nap_ns(HEARTBEAT_NS);
		fbx_worker_heartbeat(box);
		/* set again well within its TTL: if the master hangs, it expires */
		char msg[64];
		snprintf(msg, sizeof(msg), "%d of %d workers running", alive, f.workers);
		fbx_check_set(box, "fleet", alive == f.workers ? FBX_CHECK_PASS : FBX_CHECK_WARN, 1,
			      3 * NS, msg);
		for (int i = 0; i < nkids; i++) {
			int st;
			if (kids[i] > 0 && waitpid(kids[i], &st, WNOHANG) == kids[i]) {
				if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
					fprintf(stderr, "fleet: worker %d (pid %d) died\n", i, (int)kids[i]);
				kids[i] = -1;
				alive--;
			}
		}
	}

	/* stop the workers: SIGTERM, then SIGKILL after a second */
	for (int i = 0; i < nkids; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGTERM);
	uint64_t deadline = fbx_clock_now() + NS;
	while (alive > 0) {
		for (int i = 0; i < nkids; i++) {
			if (kids[i] > 0 && waitpid(kids[i], NULL, WNOHANG) == kids[i]) {
				kids[i] = -1;
				alive--;
			}
		}
		if (alive == 0)
			break;
		if (fbx_clock_now() >= deadline) {
			for (int i = 0; i < nkids; i++)
				if (kids[i] > 0) {
					kill(kids[i], SIGKILL);
					waitpid(kids[i], NULL, 0);
					kids[i] = -1;
				}
			break;
		}
		nap_ns(10 * MS);
	}
	fbx_worker_unregister(box);
	fbx_box_close(box);
	return 0;
}
