/*
 * events.c — the ring of state changes and operator actions.
 *
 * Writers claim a sequence number with one fetch_add, then the slot it
 * names with a CAS on the slot's seq1: from an older event's mark to
 * (seq + 1) | BUSY.  A slot that already holds a newer event is left alone
 * (a writer stalled for a whole turn of the ring drops its event, which is
 * older than anything the ring still keeps).  The words follow, then a
 * hash of them, then seq1 = seq + 1 with release.
 *
 * Readers tell three cases apart: complete (seq1 = seq + 1, the hash
 * matches), in progress (BUSY, or not claimed yet: "not yet", and a
 * follower waits there), and damaged — a hash that does not match (a
 * writer stalled mid-record while a newer one took the slot over), or a
 * record in progress for longer than FBX__EV_GRACE_NS (its writer died or
 * is stopped).  A writer killed midway thus costs its own event and
 * nothing else, and no reader ever takes a torn record for a whole one
 * (docs/DESIGN.md R5).
 */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* The real clock: a test's substitute must not make a record look
 * abandoned, or keep an abandoned one young. */
uint64_t fbx__real_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t fbx__event_check(uint64_t seq, const uint64_t w[FBX__EV_WORDS])
{
	uint64_t h = (seq + 1) * 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < FBX__EV_WORDS; i++) {
		h ^= w[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 29;
	}
	return h;
}

static uint64_t pack_text(const char *s, size_t i)
{
	uint64_t w = 0;
	for (size_t k = 0; k < 8; k++) {
		unsigned char c = (unsigned char)s[i * 8 + k];
		w |= (uint64_t)c << (8 * k);
	}
	return w;
}

void fbx__event_write(fbx_box *box, uint64_t seq, const uint64_t w[FBX__EV_WORDS])
{
	struct fbx__event_slot *s = &box->events[seq % box->cap_events];
	uint64_t mine = seq + 1, cur = atomic_load(&s->seq1);
	/* before the claim, so a reader that sees the claim sees this time
	 * (or a later writer's) */
	atomic_store_explicit(&s->started, fbx__real_now(), memory_order_relaxed);
	do {
		if ((cur & ~FBX__EV_BUSY) >= mine)
			return;
	} while (!atomic_compare_exchange_weak(&s->seq1, &cur, mine | FBX__EV_BUSY));
	for (size_t i = 0; i < FBX__EV_WORDS; i++)
		atomic_store_explicit(&s->w[i], w[i], memory_order_relaxed);
	atomic_store_explicit(&s->check, fbx__event_check(seq, w), memory_order_relaxed);
	uint64_t busy = mine | FBX__EV_BUSY;
	atomic_compare_exchange_strong_explicit(&s->seq1, &busy, mine, memory_order_release,
						memory_order_relaxed);
}

void fbx__event_emit(fbx_box *box, fbx_event_kind kind, fbx_event_cause cause,
		     fbx_record_type rtype, uint32_t record, int from, int to,
		     const char *reason)
{
	if (box->read_only)
		return;
	char text[FBX_REASON_MAX] = {0};
	if (reason != NULL) {
		size_t n = strnlen(reason, FBX_REASON_MAX - 1);
		memcpy(text, reason, n);
	}
	bool manual = kind == FBX_EV_MANUAL || kind == FBX_EV_CONFIG;
	uint64_t w[FBX__EV_WORDS];
	w[0] = fbx__now();
	w[1] = (uint64_t)kind | (uint64_t)cause << 8 | (uint64_t)rtype << 16 |
	       (uint64_t)record << 32;
	w[2] = (uint64_t)(uint32_t)from | (uint64_t)(uint32_t)to << 32;
	/* the record reads back as written (snapshot.c unpacks the same
	 * fields), or readers would call a whole event corrupt */
	FBX_ASSERT((w[1] & 0xff) == (uint64_t)kind && ((w[1] >> 8) & 0xff) == (uint64_t)cause &&
		   ((w[1] >> 16) & 0xff) == (uint64_t)rtype && (w[1] >> 32) == record);
	w[3] = manual ? ((uint64_t)(uint32_t)getpid() | (uint64_t)getuid() << 32) : 0;
	for (size_t i = 0; i < 8; i++)
		w[4 + i] = pack_text(text, i);
	fbx__event_write(box, atomic_fetch_add(&box->hdr->event_head, 1), w);
}
