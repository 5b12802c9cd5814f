/*
 * chaos_shared.c — the block the --scribble mode's processes share: the
 * scribble log, the progress beats and what the reader found.
 *
 * One MAP_SHARED anonymous mapping made before the first fork, like the
 * workers' log (chaos_log.c).  Each part has one writer: the scribbler
 * its log and beat, the reader (one life at a time) its report and beat;
 * the master only reads them, and sets the stop flags.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "chaos_scribble.h"

struct chaos_shared *chaos_shared_create(uint64_t scrib_cap)
{
	size_t size = sizeof(struct chaos_shared) + scrib_cap * sizeof(struct chaos_scrib);
	/* NORESERVE: pages are taken as scribbles are logged */
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	struct chaos_shared *s = p;
	s->scrib_cap = scrib_cap;
	return s;
}

void chaos_shared_destroy(struct chaos_shared *s)
{
	if (s != NULL)
		munmap(s, sizeof(*s) + s->scrib_cap * sizeof(struct chaos_scrib));
}

/* The step's words first, then the step and its start (release): the
 * watchdog that reads the step reads words that belong to it. */
void chaos_beat_step(struct chaos_beat *b, enum chaos_step step, const char *what)
{
	snprintf(b->what, sizeof(b->what), "%s", what);
	atomic_store_explicit(&b->t_step, chaos_now(), memory_order_relaxed);
	atomic_store_explicit(&b->step, (uint32_t)step, memory_order_release);
}

void chaos_beat_done(struct chaos_beat *b)
{
	atomic_store_explicit(&b->step, STEP_IDLE, memory_order_relaxed);
	atomic_fetch_add_explicit(&b->progress, 1, memory_order_release);
}

const char *chaos_step_name(unsigned step)
{
	static const char *names[STEP_N] = {"between steps", "fbx_box_open", "fbx_snapshot_take",
					    "checking a snapshot", "fbx_events_read", "tui_render",
					    "running fuseboxctl", "scribbling"};
	return step < STEP_N ? names[step] : "?";
}

const char *chaos_rinv_name(unsigned inv)
{
	static const char *names[RI_N] = {"damage-flagged", "events-flagged", "screen",
					  "tool-output", "no-crash", "no-hang"};
	return inv < RI_N ? names[inv] : "?";
}

void chaos_rviolation(struct chaos_reader_report *r, enum chaos_rinv inv, unsigned region,
		      uint32_t index, const char *fmt, ...)
{
	uint64_t k = r->violations[inv]++;
	if (k >= CHAOS_RMSG_MAX)
		return;
	struct chaos_rmsg *m = &r->msg[inv][k];
	m->t = chaos_now();
	m->region = region;
	m->index = index;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->text, sizeof(m->text), fmt, ap);
	va_end(ap);
}

/* One writer per slot (the slot's worker of the moment): plain adds. */
void chaos_scribble_code(struct chaos_codes *c, unsigned slot, unsigned op, int rc)
{
	if (slot >= CHAOS_SLOTS_MAX || op >= OP_N)
		return;
	unsigned k = rc <= 0 && rc >= FBX_ETRUNC ? (unsigned)-rc : CODE_OTHER;
	if (k == CODE_OTHER && c->first_other.t == 0) {
		c->first_other.t = chaos_now();
		c->first_other.rc = rc;
		c->first_other.op = (uint8_t)op;
		c->first_other.slot = (uint8_t)slot;
	}
	c->n[slot][op][k]++;
}
