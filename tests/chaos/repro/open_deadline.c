/*
 * open_deadline.c — found by `fusebox-chaos --scribble`: a scribbled OPEN
 * deadline is shown by snapshots as a figure, not flagged.
 *
 *   build/chaos-repro/open_deadline
 *
 * The scribble (seen in a run): breaker[1].state, 8 bytes
 *   41 10 00 e3 03 00 00 00 -> 11 d6 b6 b8 09 65 21 11
 * leaves a valid state (1, OPEN) with a deadline 2^36 ms after the box's
 * creation.  read_breaker() (lib/snapshot.c) checks the state's range but
 * not the deadline against the open period the configuration allows
 * (reset_timeout_ns, doubled up to reset_timeout_max_ns): the record comes
 * back whole, with open_remaining_ns of ~2.3 years for a breaker whose
 * longest open period is 60 s, and fuseboxctl and the console print it.
 * (allow() rejecting until then is a wrong decision, which the threat model
 * allows; the reader not flagging it is what R10 promises it would.)  A
 * configuration scribbled to a shorter period under an OPEN breaker shows
 * the same way.
 *
 * Exit status 1 when the snapshot shows it unflagged (reproduced).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

int main(void)
{
	char name[40];
	snprintf(name, sizeof(name), "repro-open-%d", (int)getpid());
	fbx_box_config bc;
	fbx_box_config_init(&bc);
	fbx_box *box;
	int rc = fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, &bc, &box);
	if (rc != 0) {
		fprintf(stderr, "open_deadline: %s\n", fbx_strerror(rc));
		return 2;
	}
	fbx_breaker_config c;
	fbx_breaker_config_init(&c); /* reset 60 s, no doubling */
	fbx_breaker *b;
	fbx_breaker_register(box, "b", &c, &b);

	static const uint8_t bytes[8] = {0x11, 0xd6, 0xb6, 0xb8, 0x09, 0x65, 0x21, 0x11};
	memcpy((uint8_t *)&box->breakers[0].state, bytes, sizeof(bytes));

	fbx_snapshot *s;
	fbx_snapshot_new(box, &s);
	fbx_snapshot_take(box, s);
	size_t n;
	const fbx_breaker_info *bi = fbx_snapshot_breakers(s, &n);
	uint64_t longest = c.reset_timeout_max_ns > c.reset_timeout_ns ? c.reset_timeout_max_ns
								      : c.reset_timeout_ns;
	bool unflagged = n == 1 && !bi->corrupt && bi->open_remaining_ns > longest;
	printf("open_deadline: corrupt %d, state %s, open_remaining %.0f s, longest open period "
	       "%.0f s: %s\n", n ? bi->corrupt : -1, n ? fbx_breaker_state_name(bi->state) : "-",
	       n ? (double)bi->open_remaining_ns / 1e9 : 0.0, (double)longest / 1e9,
	       unflagged ? "shown as a figure, not flagged" : "flagged");
	fbx_snapshot_free(s);
	fbx_box_close(box);
	fbx_box_unlink(name);
	return unflagged ? 1 : 0;
}
