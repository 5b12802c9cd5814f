/*
 * main.c — runs every measurement once and prints the report: a table,
 * the targets, then one JSON line.  Every box is unlinked and the Redis
 * server stopped on every exit path (cleanup.c).  Exit status: 0 when
 * every measurement ran (failed targets are reported, not an error).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* FUSEBOX_BENCH_ONLY=floor,breaker,limiter,mutex,redis,accuracy runs only
 * those parts (for working on one); unset runs everything. */
static int wanted(const char *part, const char *what)
{
	const char *only = getenv("FUSEBOX_BENCH_ONLY");
	if (only != NULL && only[0] != '\0') {
		size_t n = strlen(part);
		const char *p = only;
		for (; (p = strstr(p, part)) != NULL; p += n)
			if ((p == only || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
				break;
		if (p == NULL)
			return 0;
	}
	fprintf(stderr, "bench: %s...\n", what);
	return 1;
}

static void loadavg(char *buf, size_t len)
{
	snprintf(buf, len, "?");
	FILE *f = fopen("/proc/loadavg", "r");
	if (f == NULL)
		return;
	double a, b, c;
	if (fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3)
		snprintf(buf, len, "%.2f %.2f %.2f", a, b, c);
	fclose(f);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	bench_cleanup_install();
	fbx_clock_set(NULL, NULL); /* speed runs use the real clock */
	static struct bench_all a;
	memset(&a, 0, sizeof(a));
	uint64_t t0 = bench_now_ns();
	loadavg(a.load_before, sizeof(a.load_before));

	if (wanted("floor", "floor"))
		a.floor_rc = bench_floor_run(&a.floor);
	if (wanted("breaker", "fusebox breaker"))
		a.breaker_rc = bench_breaker_run(&a.breaker);
	if (wanted("workers", "fusebox workers (heartbeat, request begin+end)"))
		a.workers_rc = bench_workers_run(&a.workers);
	if (wanted("resilience", "fusebox retry budget, bulkhead, cache"))
		a.resilience_rc = bench_resilience_run(&a.resilience);
	if (wanted("limiter", "fusebox limiter (hot key, 1k, 100k, 1M keys)"))
		a.limiter_rc = bench_limiter_run(&a.limiter);
	if (wanted("mutex", "mutex baseline"))
		a.mutex_rc = bench_mutex_run(&a.mutex);
	if (wanted("redis", "redis")) {
		a.redis_rc = bench_redis_run(&a.redis); /* not installed: the table says so */
	} else {
		a.redis.skipped = 1;
	}
	if (wanted("accuracy", "accuracy (fake clock), then Python limits side by side"))
		a.accuracy_rc = bench_accuracy_run(&a.accuracy);
	fbx_clock_set(NULL, NULL);

	a.seconds = (double)(bench_now_ns() - t0) / 1e9;
	loadavg(a.load_after, sizeof(a.load_after));
	bench_report(&a);
	bench_cleanup_run();
	int rc = a.floor_rc || a.breaker_rc || a.workers_rc || a.resilience_rc || a.limiter_rc ||
		 a.mutex_rc ||
		 a.redis_rc ||
		 a.accuracy_rc;
	if (rc)
		fprintf(stderr, "bench: some measurements failed (see above)\n");
	return rc ? 1 : 0;
}
