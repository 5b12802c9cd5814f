/*
 * event_head_ahead.c — found by `fusebox-chaos --scribble`: a reader of a
 * box whose event head was scribbled ahead by a turn of the ring (or up to
 * 64 turns) does work quadratic in the ring's capacity.
 *
 *   build/chaos-repro/event_head_ahead [EVENTS [JUMP]]    (65536, 65536)
 *
 * The scribble: byte 2 of header.event_head goes up by one (JUMP 65536).
 * Every sequence number from the old head to the new one is then a hole
 * no writer will ever fill, and events written later sit past them.  For
 * each hole, read_event() asks abandoned() (lib/snapshot.c), whose loop
 * looks from seq + 1 for a later event that is complete, to date the hole
 * by it: up to a ring's length of slots per hole, so a snapshot (which
 * reads the whole ring) costs EVENTS^2 / 2 slot reads: ~11 s at 65536
 * events here, ~3 min at 262144, ~45 min at the layout's 1M.  Every
 * fbx_snapshot_take, `fuseboxctl status|events|metrics` and console refresh
 * pays it, on every call, for as long as the box lives.
 *
 * Exit status 1 when a snapshot takes longer than the chaos watchdog's
 * 5 s (reproduced), 0 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static double seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	uint32_t events = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : 65536;
	uint64_t jump = argc > 2 ? strtoull(argv[2], NULL, 0) : 65536;
	char name[40];
	snprintf(name, sizeof(name), "repro-head-%d", (int)getpid());
	fbx_box_config bc;
	fbx_box_config_init(&bc);
	bc.events = events;
	fbx_box *box;
	int rc = fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, &bc, &box);
	if (rc != 0) {
		fprintf(stderr, "event_head_ahead: %s\n", fbx_strerror(rc));
		return 2;
	}
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	fbx_breaker *b;
	fbx_breaker_register(box, "b", &c, &b); /* event 0 */

	/* the scribble: a plain write of the head's bytes, as any writer can */
	uint8_t *head = box->base + offsetof(struct fbx__header, event_head);
	uint64_t v;
	memcpy(&v, head, 8);
	v += jump;
	memcpy(head, &v, 8);

	fbx_breaker_trip(b, "after the scribble");    /* events past the holes */
	fbx_breaker_release(b, "after the scribble");
	sleep(3); /* the holes are older than the 2 s grace: read as abandoned */

	fbx_snapshot *s;
	fbx_snapshot_new(box, &s);
	double t0 = seconds();
	rc = fbx_snapshot_take(box, s);
	double took = seconds() - t0;
	size_t n;
	uint64_t dropped;
	fbx_snapshot_events(s, &n, &dropped);
	printf("event_head_ahead: %u events, head +%llu: fbx_snapshot_take returned %d after "
	       "%.3f s (%zu events, all but the last few corrupt)\n", events,
	       (unsigned long long)jump, rc, took, n);
	fbx_snapshot_free(s);
	fbx_box_close(box);
	fbx_box_unlink(name);
	return took > 5.0 ? 1 : 0;
}
