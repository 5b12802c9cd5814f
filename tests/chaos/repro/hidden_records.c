/*
 * hidden_records.c — found by `fusebox-chaos --scribble`: two scribbles
 * make live records vanish from every snapshot, flagged nowhere.
 *
 *   build/chaos-repro/hidden_records
 *
 * 1. breaker[0].head.live, 1 byte: 02 -> 42 (seen in runs: 0xf, 0x42,
 *    0xffffffff, ...).  fbx_snapshot_take (lib/snapshot.c) lists a record
 *    only when its live word is FBX__REC_LIVE; a value that is none of
 *    FREE, INIT and LIVE is damage, but the record is skipped as if free,
 *    not handed back marked corrupt (DESIGN.md R10: bound every enum, mark
 *    the record corrupt rather than trust it).
 * 2. header.n_breakers, 1 byte: 03 -> 01.  Snapshots (and
 *    fbx__record_find, so registrations too) read records only below this
 *    mark; a mark scribbled low hides every LIVE record above it, and
 *    nothing tells that LIVE records lie past the mark.
 *
 * Exit status 1 when a LIVE or damaged record is missing from the
 * snapshot without a corrupt entry standing for it (reproduced).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static size_t listed(fbx_box *box)
{
	fbx_snapshot *s;
	size_t n = 0;
	if (fbx_snapshot_new(box, &s) == 0 && fbx_snapshot_take(box, s) == 0)
		fbx_snapshot_breakers(s, &n);
	fbx_snapshot_free(s);
	return n;
}

int main(void)
{
	char name[40];
	snprintf(name, sizeof(name), "repro-hidden-%d", (int)getpid());
	fbx_box_config bc;
	fbx_box_config_init(&bc);
	fbx_box *box;
	int rc = fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, &bc, &box);
	if (rc != 0) {
		fprintf(stderr, "hidden_records: %s\n", fbx_strerror(rc));
		return 2;
	}
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	fbx_breaker *b;
	fbx_breaker_register(box, "b0", &c, &b);
	fbx_breaker_register(box, "b1", &c, &b);
	fbx_breaker_register(box, "b2", &c, &b);
	size_t before = listed(box);

	uint8_t v = 0x42;
	memcpy((uint8_t *)&box->breakers[0].head.live, &v, 1);
	size_t after_live = listed(box);

	v = 0x01;
	memcpy(box->base + offsetof(struct fbx__header, n_breakers), &v, 1);
	size_t after_mark = listed(box);

	printf("hidden_records: 3 breakers listed %zu; live word 0x42 on breaker 0: %zu listed; "
	       "n_breakers 1: %zu listed (none marked corrupt)\n", before, after_live, after_mark);
	fbx_box_close(box);
	fbx_box_unlink(name);
	return after_live < before || after_mark < after_live ? 1 : 0;
}
