/*
 * mutex_baseline.c — the baseline of mutex_baseline.h.
 *
 * Breaker: CLOSED / OPEN / HALF_OPEN with a consecutive-failure count, a
 * generation, and success/failure/rejection counters; allow() and done()
 * each take the mutex, as a two-step breaker guarded by one lock does.
 * Limiter: a sliding-window counter per key (previous and current window
 * counts, estimate = prev * (time left / window) + cur), keys in a small
 * open-addressing table, FNV-1a hashed outside the lock.
 *
 * A holder that dies leaves the mutex EOWNERDEAD: the next locker repairs
 * what a half-done update could have left (counters out of range, a
 * half-written table entry) before pthread_mutex_consistent().
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "mutex_baseline.h"

#define MB_TABLE 4096u         /* power of two */
#define MB_KEY_MAX 48

enum { MB_CLOSED, MB_OPEN, MB_HALF_OPEN };

struct mb_entry {
	uint64_t hash;         /* 0 = empty */
	uint32_t keylen;
	uint32_t valid;        /* written last: 0 while the entry is being filled */
	char key[MB_KEY_MAX];
	uint64_t window;       /* index of the current window */
	uint64_t prev, cur;
};

struct mb_box {
	pthread_mutex_t mu;
	/* breaker */
	uint32_t state, gen;
	uint32_t fail_max, half_open_busy;
	uint64_t reset_ns, open_until;
	uint64_t consecutive, successes, failures, rejected, trips;
	/* limiter */
	uint64_t limit, period_ns;
	uint64_t allowed, denied;
	struct mb_entry table[MB_TABLE];
};

static uint64_t now_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The previous holder died inside a critical section: make the data sane. */
static void repair(mb_box *b)
{
	if (b->state > MB_HALF_OPEN) {
		b->state = MB_CLOSED;
		b->gen++;
	}
	if (b->state != MB_HALF_OPEN)
		b->half_open_busy = 0;
	if (b->consecutive > b->fail_max)
		b->consecutive = b->fail_max;
	for (uint32_t i = 0; i < MB_TABLE; i++) {
		struct mb_entry *e = &b->table[i];
		if (e->hash != 0 && (!e->valid || e->keylen > MB_KEY_MAX))
			memset(e, 0, sizeof(*e)); /* half-inserted: drop it */
		if (e->cur > b->limit)
			e->cur = b->limit;
	}
}

static int lock(mb_box *b)
{
	int rc = pthread_mutex_lock(&b->mu);
	if (rc == EOWNERDEAD) {
		repair(b);
		rc = pthread_mutex_consistent(&b->mu);
	}
	return rc == 0 ? 0 : -1;
}

static void unlock(mb_box *b)
{
	pthread_mutex_unlock(&b->mu);
}

int mb_create(uint32_t fail_max, uint64_t reset_ns, uint64_t limit, uint64_t period_ns,
	      mb_box **out)
{
	mb_box *b = mmap(NULL, sizeof(*b), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			 -1, 0);
	if (b == MAP_FAILED)
		return -1;
	memset(b, 0, sizeof(*b));
	pthread_mutexattr_t a;
	int rc = pthread_mutexattr_init(&a);
	if (rc == 0) {
		rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED) ||
		     pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) ||
		     pthread_mutex_init(&b->mu, &a);
		pthread_mutexattr_destroy(&a);
	}
	if (rc != 0) {
		munmap(b, sizeof(*b));
		return -1;
	}
	b->state = MB_CLOSED;
	b->fail_max = fail_max;
	b->reset_ns = reset_ns;
	b->limit = limit;
	b->period_ns = period_ns;
	*out = b;
	return 0;
}

void mb_destroy(mb_box *b)
{
	if (b == NULL)
		return;
	pthread_mutex_destroy(&b->mu);
	munmap(b, sizeof(*b));
}

void mb_set_limit(mb_box *b, uint64_t limit)
{
	if (lock(b) == 0) {
		b->limit = limit;
		memset(b->table, 0, sizeof(b->table));
		unlock(b);
	}
}

/* ---- breaker ------------------------------------------------------------ */

int mb_breaker_allow(mb_box *b, uint32_t *gen)
{
	if (lock(b) != 0)
		return -1;
	int rc = 0;
	if (b->state == MB_OPEN) {
		if (now_ns(CLOCK_MONOTONIC_COARSE) >= b->open_until) {
			b->state = MB_HALF_OPEN;
			b->gen++;
			b->half_open_busy = 0;
		} else {
			rc = 1;
		}
	}
	if (rc == 0 && b->state == MB_HALF_OPEN) {
		if (b->half_open_busy)
			rc = 1;
		else
			b->half_open_busy = 1;
	}
	if (rc == 0)
		*gen = b->gen;
	else
		b->rejected++;
	unlock(b);
	return rc;
}

static void trip(mb_box *b)
{
	b->state = MB_OPEN;
	b->gen++;
	b->trips++;
	b->open_until = now_ns(CLOCK_MONOTONIC_COARSE) + b->reset_ns;
}

int mb_breaker_done(mb_box *b, uint32_t gen, int failure)
{
	if (lock(b) != 0)
		return -1;
	if (failure)
		b->failures++;
	else
		b->successes++;
	if (gen == b->gen) {
		if (b->state == MB_HALF_OPEN) {
			b->half_open_busy = 0;
			if (failure) {
				trip(b);
			} else {
				b->state = MB_CLOSED;
				b->gen++;
				b->consecutive = 0;
			}
		} else if (b->state == MB_CLOSED) {
			if (!failure)
				b->consecutive = 0;
			else if (++b->consecutive >= b->fail_max)
				trip(b);
		}
	}
	unlock(b);
	return 0;
}

/* ---- limiter ------------------------------------------------------------ */

static uint64_t fnv1a(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h ? h : 1;
}

static struct mb_entry *find(mb_box *b, uint64_t h, const void *key, size_t len)
{
	for (uint32_t i = 0; i < MB_TABLE; i++) {
		struct mb_entry *e = &b->table[(h + i) & (MB_TABLE - 1)];
		if (e->hash == h && e->keylen == len && memcmp(e->key, key, len) == 0)
			return e;
		if (e->hash == 0) {
			e->hash = h;
			e->keylen = (uint32_t)len;
			memcpy(e->key, key, len);
			e->window = e->prev = e->cur = 0;
			e->valid = 1;
			return e;
		}
	}
	return NULL;
}

int mb_limiter_take(mb_box *b, const void *key, size_t keylen, uint32_t cost)
{
	if (keylen == 0 || keylen > MB_KEY_MAX)
		return -1;
	uint64_t h = fnv1a(key, keylen);
	uint64_t now = now_ns(CLOCK_MONOTONIC_COARSE);
	if (lock(b) != 0)
		return -1;
	int rc = -1;
	struct mb_entry *e = find(b, h, key, keylen);
	if (e != NULL) {
		uint64_t idx = now / b->period_ns, el = now - idx * b->period_ns;
		if (idx != e->window) {
			e->prev = idx == e->window + 1 ? e->cur : 0;
			e->cur = 0;
			e->window = idx;
		}
		double est = (double)e->prev * (double)(b->period_ns - el) / (double)b->period_ns +
			     (double)e->cur;
		if (est + cost <= (double)b->limit) {
			e->cur += cost;
			b->allowed++;
			rc = 0;
		} else {
			b->denied++;
			rc = 1;
		}
	}
	unlock(b);
	return rc;
}
