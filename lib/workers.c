/*
 * workers.c — the processes of a prefork server: who is there, who is
 * alive, how many requests are in flight host-wide, and the drain.
 *
 * A worker is a process that registered in its own worker slot (the slot
 * its counters use, process.c).  Only that process writes the slot (R6):
 * heartbeat, requests begun and requests served are plain stores and adds
 * on its own cache line, as counters are, unless threads share the handle
 * or the process has no slot of its own.  Readers add the slots up.
 *
 * Dead is what anyone can see: the process named by the slot's owner word
 * is gone (pid and start time, R7), or its heartbeat is older than the
 * timeout it registered with.  "Cannot tell" is alive (R8).  A dead
 * worker's requests in flight are not counted, and the next owner of its
 * slot sets begun to served, which reclaims them.  Nothing here sends a
 * signal to a pid read from the box.
 */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define TIMEOUT_MAX_MS (3600u * 1000u)

/* This process's registered slot, or NULL (not registered since the last
 * fork, or no slot of its own). */
static struct fbx__worker *my_slot(fbx_box *box)
{
	if (box == NULL || fbx__shard(box) == NULL)
		return NULL;
	int32_t w = atomic_load_explicit(&box->my_worker, memory_order_relaxed);
	if (w < 0 || atomic_load_explicit(&box->my_registered, memory_order_relaxed) !=
			     atomic_load_explicit(&box->fork_gen, memory_order_relaxed))
		return NULL;
	return &box->workers[w];
}

/* One writer: a plain add, unless threads share the handle. */
static void slot_add(const fbx_box *box, _Atomic uint64_t *c)
{
	if (atomic_load_explicit(&box->atomic_counts, memory_order_relaxed))
		atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
	else
		atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
				      memory_order_relaxed);
}

static uint64_t now_ms(const fbx_box *box)
{
	return fbx__ms_since(box, fbx__now_coarse());
}

int fbx__role_check(const char *role)
{
	if (role == NULL)
		return FBX_EINVAL;
	size_t n = strnlen(role, FBX_ROLE_MAX);
	if (n == 0 || n >= FBX_ROLE_MAX)
		return FBX_ENAME;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)role[i] <= 0x20 || (unsigned char)role[i] >= 0x7f)
			return FBX_ENAME;
	return 0;
}

int fbx_worker_register(fbx_box *box, const char *role, uint64_t heartbeat_timeout_ns)
{
	if (box == NULL)
		return FBX_EINVAL;
	int rc = fbx__role_check(role);
	if (rc)
		return rc;
	uint64_t timeout_ms = heartbeat_timeout_ns / 1000000u;
	if (timeout_ms == 0 || timeout_ms > TIMEOUT_MAX_MS)
		return FBX_EINVAL;
	if (box->read_only)
		return FBX_ERDONLY;
	if (fbx__shard(box) == NULL)
		return FBX_ERDONLY;
	int32_t w = atomic_load(&box->my_worker);
	if (w < 0)
		return FBX_EFULL; /* every slot is a live process's: never share one */
	struct fbx__worker *s = &box->workers[w];
	/* Not a worker while the words change, then whole at once. */
	atomic_store_explicit(&s->registered, 0, memory_order_release);
	uint64_t words[FBX_ROLE_MAX / 8] = {0};
	memcpy(words, role, strlen(role));
	for (size_t i = 0; i < FBX_ROLE_MAX / 8; i++)
		atomic_store_explicit(&s->role[i], words[i], memory_order_relaxed);
	atomic_store_explicit(&s->timeout_ms, timeout_ms, memory_order_relaxed);
	uint64_t t = now_ms(box);
	atomic_store_explicit(&s->heartbeat_ms, t, memory_order_relaxed);
	/* whatever a dead owner left in flight is not ours */
	atomic_store_explicit(&s->begun, atomic_load(&s->served), memory_order_relaxed);
	atomic_store_explicit(&s->registered, t + 1, memory_order_release);
	atomic_store(&box->my_registered, atomic_load(&box->fork_gen));
	return 0;
}

int fbx_worker_unregister(fbx_box *box)
{
	struct fbx__worker *s = my_slot(box);
	if (s == NULL)
		return box == NULL ? FBX_EINVAL : FBX_ENOENT;
	atomic_store_explicit(&s->registered, 0, memory_order_release);
	atomic_store(&box->my_registered, 0);
	return 0;
}

int fbx_worker_heartbeat(fbx_box *box)
{
	struct fbx__worker *s = my_slot(box);
	if (FBX__UNLIKELY(s == NULL))
		return box == NULL ? FBX_EINVAL : FBX_ENOENT;
	atomic_store_explicit(&s->heartbeat_ms, now_ms(box), memory_order_relaxed);
	return 0;
}

int fbx_request_begin(fbx_box *box)
{
	struct fbx__worker *s = my_slot(box);
	if (FBX__UNLIKELY(s == NULL))
		return box == NULL ? FBX_EINVAL : FBX_ENOENT;
	slot_add(box, &s->begun);
	return 0;
}

int fbx_request_end(fbx_box *box)
{
	struct fbx__worker *s = my_slot(box);
	if (FBX__UNLIKELY(s == NULL))
		return box == NULL ? FBX_EINVAL : FBX_ENOENT;
	/* an end without a begin would make in flight wrap: not counted */
	if (FBX__UNLIKELY(atomic_load_explicit(&s->served, memory_order_relaxed) >=
			  atomic_load_explicit(&s->begun, memory_order_relaxed)))
		return FBX_EINVAL;
	slot_add(box, &s->served);
	return 0;
}

/* ---- drain and startup -------------------------------------------------- */

int fbx_drain_reason(fbx_box *box, int on, const char *reason)
{
	if (box == NULL)
		return FBX_EINVAL;
	if (box->read_only)
		return FBX_ERDONLY;
	/* Async-signal-safe: a clock read, one compare-and-swap or exchange,
	 * and the event's stores; no lock, nothing allocated.  Readers see
	 * when the drain began from the word itself: a second drain keeps it,
	 * and only a change is an event, so the ring says who began the drain
	 * (and who ended it), not who repeated it. */
	_Atomic uint64_t *w = &box->hdr->draining;
	if (on) {
		uint64_t idle = 0;
		if (!atomic_compare_exchange_strong_explicit(w, &idle, now_ms(box) + 1,
							     memory_order_release,
							     memory_order_relaxed))
			return 0;
	} else if (atomic_exchange_explicit(w, 0, memory_order_release) == 0) {
		return 0;
	}
	fbx__event_emit(box, FBX_EV_MANUAL, on ? FBX_CAUSE_DRAIN_ON : FBX_CAUSE_DRAIN_OFF,
			FBX_REC_BOX, 0, -1, -1, reason);
	return 0;
}

int fbx_drain(fbx_box *box, int on)
{
	return fbx_drain_reason(box, on, NULL);
}

int fbx_draining(const fbx_box *box)
{
	return box != NULL &&
	       atomic_load_explicit(&box->hdr->draining, memory_order_relaxed) != 0;
}

int fbx_started(fbx_box *box)
{
	if (box == NULL)
		return FBX_EINVAL;
	if (box->read_only)
		return FBX_ERDONLY;
	uint64_t none = 0;
	atomic_compare_exchange_strong(&box->hdr->started, &none, now_ms(box) + 1);
	return 0;
}

/* ---- reading a slot ----------------------------------------------------- */

/* 1: a worker, read into *out; 0: not a worker (free, or a process that
 * only counts).  The slot is untrusted: a role that is not text, a
 * timeout out of range or more served than begun is damage. */
int fbx__worker_read(const fbx_box *box, uint32_t i, uint64_t now_ms_, fbx_worker_info *out)
{
	const struct fbx__worker *s = &box->workers[i];
	memset(out, 0, sizeof(*out));
	uint64_t reg = atomic_load_explicit(&s->registered, memory_order_acquire);
	uint64_t owner = atomic_load_explicit(&s->owner, memory_order_relaxed);
	if (reg == 0 || owner == 0)
		return 0;
	uint64_t words[FBX_ROLE_MAX / 8];
	for (size_t k = 0; k < FBX_ROLE_MAX / 8; k++)
		words[k] = atomic_load_explicit(&s->role[k], memory_order_relaxed);
	memcpy(out->role, words, FBX_ROLE_MAX);
	out->role[FBX_ROLE_MAX - 1] = '\0';
	uint64_t timeout = atomic_load_explicit(&s->timeout_ms, memory_order_relaxed);
	uint64_t beat = atomic_load_explicit(&s->heartbeat_ms, memory_order_relaxed);
	uint64_t served = atomic_load_explicit(&s->served, memory_order_relaxed);
	uint64_t begun = atomic_load_explicit(&s->begun, memory_order_relaxed);
	out->pid = FBX__OWNER_PID(owner);
	/* ahead of the reading by more than a tick: no writer wrote that */
	bool ok = fbx__role_check(out->role) == 0 && timeout >= 1 && timeout <= TIMEOUT_MAX_MS &&
		  reg - 1 <= now_ms_ + 10 && beat <= now_ms_ + 10 && begun >= served &&
		  begun - served < (1ull << 32);
	if (!ok) {
		out->corrupt = 1;
		for (char *c = out->role; *c != '\0'; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
				*c = '?';
		return 1;
	}
	out->heartbeat_timeout_ns = timeout * 1000000u;
	out->heartbeat_age_ns = now_ms_ > beat ? (now_ms_ - beat) * 1000000u : 0;
	out->registered_age_ns = now_ms_ + 1 > reg ? (now_ms_ + 1 - reg) * 1000000u : 0;
	out->served = served;
	bool fresh = now_ms_ <= beat || now_ms_ - beat <= timeout;
	out->process_gone = !fbx__owner_alive(owner);
	out->alive = fresh && !out->process_gone;
	out->in_flight = out->alive ? begun - served : 0;
	return 1;
}

int fbx_drain_wait(fbx_box *box, uint64_t timeout_ns, fbx_drain_busy *busy, size_t cap,
		   size_t *n)
{
	if (box == NULL || n == NULL || (cap > 0 && busy == NULL))
		return FBX_EINVAL;
	if (timeout_ns > (uint64_t)TIMEOUT_MAX_MS * 24 * 1000000u)
		return FBX_EINVAL;
	*n = 0;
	/* the real clock: a frozen test clock must not make this wait forever */
	struct timespec start, t;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		int rc = fbx__box_whole(box);
		if (rc)
			return rc;
		uint64_t at = now_ms(box), total = 0;
		size_t k = 0;
		for (uint32_t i = 0; i < box->cap_workers; i++) {
			fbx_worker_info wi;
			if (fbx__worker_read(box, i, at, &wi) != 1 || wi.corrupt || wi.in_flight == 0)
				continue;
			total += wi.in_flight;
			if (k < cap) {
				busy[k].pid = wi.pid;
				memcpy(busy[k].role, wi.role, FBX_ROLE_MAX);
				busy[k].in_flight = wi.in_flight;
			}
			k++;
		}
		if (total == 0)
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &t);
		uint64_t spent = (uint64_t)(t.tv_sec - start.tv_sec) * 1000000000u +
				 (uint64_t)t.tv_nsec - (uint64_t)start.tv_nsec;
		if (spent >= timeout_ns) {
			*n = k < cap ? k : cap;
			return FBX_ETIMEDOUT;
		}
		struct timespec step = {0, 10000000}; /* 10 ms */
		nanosleep(&step, NULL);
	}
}
