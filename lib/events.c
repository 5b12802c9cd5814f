/*
 * events.c — the ring of state changes and operator actions.
 *
 * Writers claim a sequence number with one fetch_add and fill the slot it
 * names; seq1 is cleared first and set last, so a reader that sees the same
 * seq1 before and after copying has a whole record.  A writer killed midway
 * leaves seq1 at 0: that one event reads as corrupt and nothing else is hurt.
 */
#include <string.h>
#include <unistd.h>

#include "internal.h"

static uint64_t pack_text(const char *s, size_t i)
{
	uint64_t w = 0;
	for (size_t k = 0; k < 8; k++) {
		unsigned char c = (unsigned char)s[i * 8 + k];
		w |= (uint64_t)c << (8 * k);
	}
	return w;
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
	w[3] = manual ? ((uint64_t)(uint32_t)getpid() | (uint64_t)getuid() << 32) : 0;
	for (size_t i = 0; i < 8; i++)
		w[4 + i] = pack_text(text, i);

	uint64_t seq = atomic_fetch_add(&box->hdr->event_head, 1);
	struct fbx__event_slot *s = &box->events[seq % box->cap_events];
	atomic_store_explicit(&s->seq1, 0, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	for (size_t i = 0; i < FBX__EV_WORDS; i++)
		atomic_store_explicit(&s->w[i], w[i], memory_order_relaxed);
	atomic_store_explicit(&s->seq1, seq + 1, memory_order_release);
}
