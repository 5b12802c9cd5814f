/*
 * chaos_monitor.c — what the master checks while the run goes on.
 *
 * Every ~100 ms it takes a snapshot, as a console would, and checks that
 * no total went backwards (per-process shards are added up by readers: a
 * shard written by two live processes, or a slot taken over from a live
 * owner, would show as a total that drops), that no record reads as
 * corrupt, that no deadline in a breaker's words lies further ahead than
 * its configuration allows, and that every worker slot held by a live
 * process is held by one of this run's.  Every ~20 ms it follows the event
 * ring, like `fuseboxctl events --follow`, so that the validator sees
 * every event even if the ring turns over.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaos.h"
#include "internal.h"

#define SAMPLE_NS (100 * CHAOS_MS)
#define POLL_NS (20 * CHAOS_MS)
#define EVENTS_MAX (4u << 20)
#define RETRY_MAX 4096

enum { BC_SUCC, BC_FAIL, BC_IGN, BC_SLOW, BC_REJ, BC_TRIPS, BC_N };
enum { LC_ALLOWED, LC_DENIED, LC_DRY, LC_EVICT, LC_N };
static const char *bc_names[BC_N] = {"successes", "failures", "ignored", "slow", "rejected", "trips"};
static const char *lc_names[LC_N] = {"allowed", "denied", "dry_run_denied", "evictions"};

struct chaos_monitor {
	fbx_snapshot *snap;
	bool have_prev;
	uint64_t prev_t;
	uint64_t bprev[CHAOS_BREAKERS][BC_N];
	uint64_t lprev[CHAOS_LIMITERS][LC_N];
	uint64_t samples, next_sample, next_poll;
	/* the event stream */
	fbx_event *ev;
	size_t nev, cap;
	uint64_t next_seq, gaps;
	size_t retry[RETRY_MAX]; /* indices of events read as corrupt: maybe in progress */
	size_t nretry;
	bool full_noted;
};

struct chaos_monitor *chaos_monitor_new(struct chaos_run *run)
{
	struct chaos_monitor *m = calloc(1, sizeof(*m));
	if (m == NULL || fbx_snapshot_new(run->box, &m->snap) != 0) {
		free(m);
		return NULL;
	}
	return m;
}

void chaos_monitor_free(struct chaos_monitor *m)
{
	if (m == NULL)
		return;
	fbx_snapshot_free(m->snap);
	free(m->ev);
	free(m);
}

const fbx_event *chaos_monitor_events(const struct chaos_monitor *m, size_t *n, uint64_t *gaps)
{
	*n = m->nev;
	*gaps = m->gaps;
	return m->ev;
}

uint64_t chaos_monitor_samples(const struct chaos_monitor *m)
{
	return m->samples;
}

bool chaos_pid_is_ours(const struct chaos_run *run, pid_t pid)
{
	if (pid == run->master)
		return true;
	for (unsigned i = 0; i < run->o.workers; i++)
		if (run->slots[i].pid == pid)
			return true;
	return false;
}

static int breaker_index(const char *name)
{
	for (int i = 0; i < CHAOS_BREAKERS; i++)
		if (strcmp(name, chaos_breakers[i].name) == 0)
			return i;
	return -1;
}

static int limiter_index(const char *name)
{
	for (int i = 0; i < CHAOS_LIMITERS; i++)
		if (strcmp(name, chaos_limiters[i].name) == 0)
			return i;
	return -1;
}

/* ---- counters ----------------------------------------------------------- */

static void check_monotonic(struct chaos_run *run, struct chaos_monitor *m, uint64_t now)
{
	size_t nb, nl;
	const fbx_breaker_info *bi = fbx_snapshot_breakers(m->snap, &nb);
	const fbx_limiter_info *li = fbx_snapshot_limiters(m->snap, &nl);
	for (size_t i = 0; i < nb; i++) {
		if (bi[i].corrupt) {
			chaos_violation("snapshot-readable", "breaker record %zu (%s) reads as corrupt "
				        "in the sample at +%.3f s", i, bi[i].name, chaos_rel(run, now));
			continue;
		}
		chaos_checked("snapshot-readable", 1);
		int k = breaker_index(bi[i].name);
		if (k < 0)
			continue;
		uint64_t cur[BC_N] = {bi[i].successes, bi[i].failures, bi[i].ignored,
				      bi[i].slow, bi[i].rejected, bi[i].trips};
		for (int c = 0; c < BC_N; c++) {
			chaos_checked("counters-monotonic", 1);
			if (m->have_prev && cur[c] < m->bprev[k][c])
				chaos_violation("counters-monotonic",
						"breaker %s: %s went from %llu (+%.3f s) back to %llu (+%.3f s)",
						bi[i].name, bc_names[c],
						(unsigned long long)m->bprev[k][c], chaos_rel(run, m->prev_t),
						(unsigned long long)cur[c], chaos_rel(run, now));
			m->bprev[k][c] = cur[c];
		}
	}
	for (size_t i = 0; i < nl; i++) {
		if (li[i].corrupt) {
			chaos_violation("snapshot-readable", "limiter record %zu (%s) reads as corrupt "
				        "in the sample at +%.3f s", i, li[i].name, chaos_rel(run, now));
			continue;
		}
		chaos_checked("snapshot-readable", 1);
		int k = limiter_index(li[i].name);
		if (k < 0)
			continue;
		uint64_t cur[LC_N] = {li[i].allowed, li[i].denied, li[i].dry_run_denied,
				      li[i].evictions};
		for (int c = 0; c < LC_N; c++) {
			chaos_checked("counters-monotonic", 1);
			if (m->have_prev && cur[c] < m->lprev[k][c])
				chaos_violation("counters-monotonic",
						"limiter %s: %s went from %llu (+%.3f s) back to %llu (+%.3f s)",
						li[i].name, lc_names[c],
						(unsigned long long)m->lprev[k][c], chaos_rel(run, m->prev_t),
						(unsigned long long)cur[c], chaos_rel(run, now));
			m->lprev[k][c] = cur[c];
		}
	}
	m->have_prev = true;
	m->prev_t = now;
}

/* A deadline is written from a reading no later than the write, so no
 * deadline may lie further ahead of now than its period: an open period of
 * at most reset_timeout_max, a lease of trial_lease (+1 ms: the ms
 * rounding).  Read after the words, `now` is later than every write seen. */
static void check_deadlines(struct chaos_run *run)
{
	for (unsigned i = 0; i < CHAOS_BREAKERS; i++) {
		const fbx_breaker_config *c = &chaos_breakers[i].cfg;
		struct fbx__breaker_rec *rec = run->br[i]->rec;
		uint64_t st = atomic_load(&rec->state), lease[FBX_HALF_OPEN_MAX];
		for (uint32_t k = 0; k < c->half_open_max; k++)
			lease[k] = atomic_load(&rec->lease[k]);
		uint64_t now = chaos_now();
		uint64_t now_ms = now > run->created_ns ? (now - run->created_ns) / CHAOS_MS : 0;
		uint64_t open_max = c->reset_timeout_max_ns > c->reset_timeout_ns
					    ? c->reset_timeout_max_ns
					    : c->reset_timeout_ns;
		chaos_checked("deadlines-bounded", 1 + c->half_open_max);
		if (FBX__ST_STATE(st) == FBX_OPEN && FBX__ST_DEADLINE(st) > now_ms + open_max / CHAOS_MS + 1)
			chaos_violation("deadlines-bounded",
					"breaker %s: OPEN (generation %u) until %llu ms after creation, "
					"%llu ms from now (+%.3f s), beyond its longest open period (%llu ms)",
					chaos_breakers[i].name, FBX__ST_GEN(st),
					(unsigned long long)FBX__ST_DEADLINE(st),
					(unsigned long long)(FBX__ST_DEADLINE(st) - now_ms),
					chaos_rel(run, now), (unsigned long long)(open_max / CHAOS_MS));
		for (uint32_t k = 0; k < c->half_open_max; k++) {
			uint64_t l = lease[k];
			if (l != 0 && FBX__LEASE_DEADLINE(l) > now_ms + c->trial_lease_ns / CHAOS_MS + 1)
				chaos_violation("deadlines-bounded",
						"breaker %s: lease slot %u (generation %u) runs until %llu ms "
						"after creation, %llu ms from now (+%.3f s), beyond its lease "
						"(%llu ms)", chaos_breakers[i].name, k, FBX__LEASE_GEN(l),
						(unsigned long long)FBX__LEASE_DEADLINE(l),
						(unsigned long long)(FBX__LEASE_DEADLINE(l) - now_ms),
						chaos_rel(run, now),
						(unsigned long long)(c->trial_lease_ns / CHAOS_MS));
		}
	}
}

/* A slot whose owner is alive must belong to a process of this run; a
 * dead owner's slot is free for the taking (reclaimable), which is fine. */
static void check_slots_live(struct chaos_run *run, uint64_t now)
{
	fbx_box *box = run->box;
	for (uint32_t i = 0; i < box->cap_workers; i++) {
		uint64_t owner = atomic_load(&box->workers[i].owner);
		chaos_checked("worker-slots", 1);
		if (owner == 0)
			continue;
		pid_t pid = FBX__OWNER_PID(owner);
		uint64_t start = chaos_proc_start(pid);
		bool alive = start != 0 && (start & ((1ull << 42) - 1)) == FBX__OWNER_START(owner);
		if (alive && !chaos_pid_is_ours(run, pid))
			chaos_violation("worker-slots", "slot %u is held by live pid %d at +%.3f s, "
				        "which is no process of this run", i, (int)pid,
				        chaos_rel(run, now));
	}
}

static void sample(struct chaos_run *run, struct chaos_monitor *m, uint64_t now)
{
	int rc = fbx_snapshot_take(run->box, m->snap);
	chaos_checked("snapshot-readable", 1);
	if (rc != 0) {
		chaos_violation("snapshot-readable", "fbx_snapshot_take returned %s at +%.3f s",
				chaos_rc_name(rc), chaos_rel(run, now));
		return;
	}
	m->samples++;
	check_monotonic(run, m, now);
	check_deadlines(run);
	check_slots_live(run, now);
}

/* ---- events ------------------------------------------------------------- */

static void retry_corrupt(struct chaos_run *run, struct chaos_monitor *m)
{
	size_t keep = 0;
	for (size_t i = 0; i < m->nretry; i++) {
		fbx_event *e = &m->ev[m->retry[i]];
		fbx_event again;
		size_t n = 0;
		uint64_t next;
		if (fbx_events_read(run->box, e->seq, &again, 1, &n, &next) == 0 && n == 1 &&
		    again.seq == e->seq && !again.corrupt) {
			*e = again;
			continue;
		}
		/* still in progress, or gone from the ring (then it stays corrupt) */
		if (n == 1 && again.seq == e->seq)
			m->retry[keep++] = m->retry[i];
	}
	m->nretry = keep;
}

/* Reads what the ring holds past next_seq; false when nothing came. */
static bool poll_events(struct chaos_run *run, struct chaos_monitor *m)
{
	fbx_event buf[512];
	size_t n = 0;
	uint64_t next = m->next_seq;
	if (fbx_events_read(run->box, m->next_seq, buf, 512, &n, &next) != 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (buf[i].seq > m->next_seq)
			m->gaps += buf[i].seq - m->next_seq; /* overwritten before we came */
		m->next_seq = buf[i].seq + 1;
		if (m->nev == m->cap) {
			size_t cap = m->cap ? m->cap * 2 : 4096;
			fbx_event *ev = cap <= EVENTS_MAX ? realloc(m->ev, cap * sizeof(*ev)) : NULL;
			if (ev == NULL) {
				if (!m->full_noted)
					chaos_note("event stream longer than %u events: the rest is "
						   "not kept", EVENTS_MAX);
				m->full_noted = true;
				m->gaps++;
				continue;
			}
			m->ev = ev;
			m->cap = cap;
		}
		if (buf[i].corrupt && m->nretry < RETRY_MAX)
			m->retry[m->nretry++] = m->nev;
		m->ev[m->nev++] = buf[i];
	}
	if (next > m->next_seq)
		m->next_seq = next;
	return n > 0;
}

void chaos_monitor_tick(struct chaos_run *run, uint64_t now)
{
	struct chaos_monitor *m = run->mon;
	if (now >= m->next_poll) {
		for (int i = 0; i < 16 && poll_events(run, m); i++)
			;
		retry_corrupt(run, m);
		m->next_poll = now + POLL_NS;
	}
	if (now >= m->next_sample) {
		sample(run, m, now);
		m->next_sample = now + SAMPLE_NS;
	}
}

/* After every worker is gone: read the stream to its end.  An event whose
 * writer was killed midway is at worst reported as in progress for a
 * grace period (lib/events.c); past it readers must move on. */
void chaos_monitor_final(struct chaos_run *run)
{
	struct chaos_monitor *m = run->mon;
	uint64_t start = chaos_now(), head = 0;
	for (int i = 0; i < 2000; i++) {
		while (poll_events(run, m))
			;
		retry_corrupt(run, m);
		head = atomic_load(&run->box->hdr->event_head);
		if (m->next_seq >= head)
			break;
		if (chaos_now() - start > 10 * CHAOS_SEC)
			break;
		chaos_sleep_ns(10 * CHAOS_MS);
	}
	chaos_checked("events-readable", 1);
	if (m->next_seq < head)
		chaos_violation("events-readable",
				"an event follower is stuck at seq %llu of %llu: 10 s after the "
				"last worker died the event there still reads as in progress",
				(unsigned long long)m->next_seq, (unsigned long long)head);
	else if (chaos_now() - start > 1 * CHAOS_SEC)
		chaos_note("the event follower waited %.1f s for events whose writers died",
			   (double)(chaos_now() - start) / 1e9);
	sample(run, m, chaos_now());
}
