/*
 * checks.c — named health checks any process may set, and what readers
 * make of them.
 *
 * A check is a record (registry.c) whose words any process may rewrite:
 * one setter at a time, by a busy word naming the setter's process, taken
 * over when that process is gone or has held it for longer than any set
 * takes (a setter stopped midway).  The words are vouched for by a check
 * word computed over them, so a reader tells a set that a kill tore apart
 * from a whole one, and counts a torn check as failed until it is set
 * again: "cannot tell" is never "pass" (R8).  A check that is not set again
 * within its TTL counts as failed for the same reason: its checker may be
 * dead.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define TTL_MIN_MS 1ull
#define TTL_MAX_MS (30ull * 24 * 3600 * 1000)

static struct fbx__check_rec *check_at(const fbx_box *box, uint32_t i)
{
	return (struct fbx__check_rec *)(void *)(box->checks + (uint64_t)FBX__CHECK_SIZE * i);
}

static uint64_t words_check(const uint64_t w[FBX__CHECK_WORDS])
{
	uint64_t h = 0x636865636b73ull; /* FNV-1a over the words */
	for (int i = 0; i < FBX__CHECK_WORDS; i++) {
		h ^= w[i];
		h *= 0x100000001b3ull;
	}
	return h | 1; /* never 0: 0 is "never set" */
}

const char *fbx_check_status_name(int status)
{
	static const char *const names[] = {"pass", "warn", "fail"};
	return status >= 0 && status <= FBX_CHECK_FAIL ? names[status] : "invalid";
}

int fbx_check_status_parse(const char *name)
{
	for (int i = 0; name != NULL && i <= FBX_CHECK_FAIL; i++)
		if (strcmp(name, fbx_check_status_name(i)) == 0)
			return i;
	return FBX_EINVAL;
}

const char *fbx_health_status_name(int status)
{
	static const char *const names[] = {"ok", "degraded", "unhealthy"};
	return status >= 0 && status <= FBX_HEALTH_UNHEALTHY ? names[status] : "invalid";
}

static void write_words(struct fbx__check_rec *r, const uint64_t w[FBX__CHECK_WORDS], uint64_t me)
{
	fbx__turn_take(&r->busy, me);
	for (int i = 0; i < FBX__CHECK_WORDS; i++)
		atomic_store_explicit(&r->w[i], w[i], memory_order_relaxed);
	atomic_store_explicit(&r->check, words_check(w), memory_order_release);
	fbx__turn_give(&r->busy, me);
}

static int message_words(const char *message, uint64_t *w)
{
	memset(w, 0, FBX__CHECK_MSG_WORDS * 8);
	if (message == NULL)
		return 0;
	size_t n = strnlen(message, FBX_CHECK_MESSAGE_MAX);
	if (n >= FBX_CHECK_MESSAGE_MAX)
		n = FBX_CHECK_MESSAGE_MAX - 1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)message[i] < 0x20 || message[i] == 0x7f)
			return FBX_EINVAL; /* shown on terminals and in probe bodies */
	memcpy(w, message, n);
	return 0;
}

/* Under the registry lock: the LIVE record named name, or a new one made
 * with breaker binding bind (0: none).  A new record's body is whole
 * before it is published. */
static int find_or_add(fbx_box *box, const char *name, uint32_t bind, int critical)
{
	struct fbx__records rs = fbx__check_records(box);
	int i = fbx__record_find(&rs, name);
	if (i >= 0)
		return i;
	i = fbx__record_claim(&rs, name);
	if (i < 0)
		return i;
	struct fbx__check_rec *r = check_at(box, (uint32_t)i);
	r->breaker = bind;
	r->bound_critical = critical != 0;
	atomic_store(&r->busy, 0);
	for (int k = 0; k < FBX__CHECK_WORDS; k++)
		atomic_store(&r->w[k], 0);
	atomic_store(&r->check, 0);
	fbx__record_publish(&rs, (uint32_t)i);
	return i;
}

static int writable(fbx_box *box, const char *name)
{
	if (box == NULL)
		return FBX_EINVAL;
	int rc = fbx_name_check_record(name);
	if (rc)
		return rc;
	if (box->read_only)
		return FBX_ERDONLY;
	if (box->cap_checks == 0)
		return FBX_EFULL;
	return fbx__box_whole(box);
}

int fbx_check_set(fbx_box *box, const char *name, fbx_check_status status, int critical,
		  uint64_t ttl_ns, const char *message)
{
	int rc = writable(box, name);
	if (rc)
		return rc;
	uint64_t ttl_ms = ttl_ns / 1000000u;
	if ((unsigned)status > FBX_CHECK_FAIL || ttl_ms < TTL_MIN_MS || ttl_ms > TTL_MAX_MS)
		return FBX_EINVAL;
	uint64_t w[FBX__CHECK_WORDS];
	rc = message_words(message, &w[4]);
	if (rc)
		return rc;
	struct fbx__records rs = fbx__check_records(box);
	int i = fbx__record_find(&rs, name);
	if (i < 0) {
		int lock = fbx__registry_lock(box);
		if (lock < 0)
			return lock;
		i = find_or_add(box, name, 0, critical);
		fbx__registry_unlock(lock);
		if (i < 0)
			return i;
	}
	struct fbx__check_rec *r = check_at(box, (uint32_t)i);
	if (r->breaker != 0)
		return FBX_ECONFLICT; /* it follows a breaker: nothing to set */
	uint64_t me = fbx__identity(box);
	w[0] = (uint64_t)status | (uint64_t)(critical != 0) << 8;
	w[1] = fbx__ms_since(box, fbx__now_coarse());
	w[2] = ttl_ms;
	w[3] = (uint64_t)geteuid() << 32 | (uint32_t)getpid();
	write_words(r, w, me);
	return 0;
}

int fbx_check_bind_breaker(fbx_box *box, const char *name, const char *breaker, int critical)
{
	int rc = writable(box, name);
	if (rc == 0)
		rc = fbx_name_check_record(breaker);
	if (rc)
		return rc;
	struct fbx__records bs = fbx__breaker_records(box);
	int b = fbx__record_find(&bs, breaker);
	if (b < 0)
		return FBX_ENOENT;
	int lock = fbx__registry_lock(box);
	if (lock < 0)
		return lock;
	int i = find_or_add(box, name, (uint32_t)b + 1, critical);
	fbx__registry_unlock(lock);
	if (i < 0)
		return i;
	const struct fbx__check_rec *r = check_at(box, (uint32_t)i);
	return r->breaker == (uint32_t)b + 1 && r->bound_critical == (critical != 0)
		       ? 0
		       : FBX_ECONFLICT;
}

int fbx_check_remove(fbx_box *box, const char *name)
{
	int rc = writable(box, name);
	if (rc)
		return rc;
	int lock = fbx__registry_lock(box);
	if (lock < 0)
		return lock;
	struct fbx__records rs = fbx__check_records(box);
	int i = fbx__record_find(&rs, name);
	if (i >= 0) {
		/* the name first: a reader that sees FREE never takes it for a
		 * live check (snapshot.c reads the life word first) */
		struct fbx__check_rec *r = check_at(box, (uint32_t)i);
		atomic_store_explicit(&r->head.live, FBX__REC_FREE, memory_order_release);
		memset(r->head.name, 0, sizeof(r->head.name));
	}
	fbx__registry_unlock(lock);
	return i >= 0 ? 0 : FBX_ENOENT;
}

/* ---- reading ------------------------------------------------------------ */

/* A bound check's status from its breaker's state word (0 if unreadable:
 * fail, as "cannot tell" is). */
static fbx_check_status from_breaker(const fbx_box *box, uint32_t bind, char *name)
{
	if (bind == 0 || bind > box->cap_breakers)
		return FBX_CHECK_FAIL;
	const struct fbx__breaker_rec *b = &box->breakers[bind - 1];
	if (atomic_load(&b->head.live) != FBX__REC_LIVE)
		return FBX_CHECK_FAIL;
	memcpy(name, b->head.name, FBX_NAME_MAX);
	name[FBX_NAME_MAX - 1] = '\0';
	if (fbx_name_check_record(name) != 0)
		name[0] = '\0';
	switch (FBX__ST_STATE(atomic_load(&b->state))) {
	case FBX_CLOSED:
	case FBX_FORCED_CLOSED: return FBX_CHECK_PASS;
	case FBX_HALF_OPEN: return FBX_CHECK_WARN;
	default: return FBX_CHECK_FAIL; /* open, forced open, or a damaged word */
	}
}

int fbx__check_read(const fbx_box *box, uint32_t i, uint64_t now_ms, fbx_check_info *out)
{
	const struct fbx__check_rec *r = check_at(box, i);
	memset(out, 0, sizeof(*out));
	if (atomic_load_explicit(&r->head.live, memory_order_acquire) != FBX__REC_LIVE)
		return 0;
	memcpy(out->name, r->head.name, FBX_NAME_MAX);
	out->name[FBX_NAME_MAX - 1] = '\0';
	if (fbx_name_check_record(out->name) != 0) {
		out->corrupt = 1;
		out->status = FBX_CHECK_FAIL;
		snprintf(out->name, sizeof(out->name), "(damaged check %u)", i);
		return 1;
	}
	uint32_t bind = r->breaker;
	if (bind != 0) {
		out->critical = r->bound_critical == 1;
		out->set_status = out->status = from_breaker(box, bind, out->breaker);
		if (out->breaker[0] == '\0')
			snprintf(out->message, sizeof(out->message), "its breaker is gone");
		return 1;
	}
	uint64_t w[FBX__CHECK_WORDS];
	uint64_t check = atomic_load_explicit(&r->check, memory_order_acquire);
	for (int k = 0; k < FBX__CHECK_WORDS; k++)
		w[k] = atomic_load_explicit(&r->w[k], memory_order_relaxed);
	uint32_t status = (uint32_t)(w[0] & 0xff), critical = (uint32_t)(w[0] >> 8);
	if (check == 0) { /* made, never set: a dead setter, as far as anyone knows */
		out->status = out->set_status = FBX_CHECK_FAIL;
		out->expired = 1;
		snprintf(out->message, sizeof(out->message), "never set");
		return 1;
	}
	if (check != words_check(w) || status > FBX_CHECK_FAIL || critical > 1 ||
	    w[2] < TTL_MIN_MS || w[2] > TTL_MAX_MS || w[1] > now_ms + 10) {
		/* torn by a setter killed midway, or damaged: failed until set,
		 * and critical unless its status word says otherwise */
		out->status = out->set_status = FBX_CHECK_FAIL;
		out->critical = critical != 0;
		out->corrupt = 1;
		snprintf(out->message, sizeof(out->message), "(unreadable: set it again)");
		return 1;
	}
	out->set_status = (fbx_check_status)status;
	out->critical = (int)critical;
	out->ttl_ns = w[2] * 1000000u;
	out->age_ns = now_ms > w[1] ? (now_ms - w[1]) * 1000000u : 0;
	out->expired = now_ms > w[1] && now_ms - w[1] > w[2];
	out->status = out->expired ? FBX_CHECK_FAIL : out->set_status;
	out->setter_uid = (uint32_t)(w[3] >> 32);
	out->setter_pid = (int32_t)(uint32_t)w[3];
	memcpy(out->message, &w[4], FBX__CHECK_MSG_WORDS * 8);
	out->message[FBX_CHECK_MESSAGE_MAX - 1] = '\0';
	for (char *c = out->message; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	return 1;
}

/* ---- the aggregate ------------------------------------------------------ */

static void because(fbx_health *h, const char *fmt, const char *what)
{
	if (h->reason[0] == '\0')
		snprintf(h->reason, sizeof(h->reason), fmt, what);
}

void fbx__health_of(const fbx_worker_info *w, size_t nw, const fbx_check_info *c, size_t nc,
		    uint64_t draining, uint64_t started, uint64_t now_ms, fbx_health *out)
{
	memset(out, 0, sizeof(*out));
	uint32_t masters_registered = 0;
	for (size_t i = 0; i < nw; i++) {
		bool master = strcmp(w[i].role, "master") == 0;
		masters_registered += master;
		if (w[i].corrupt || !w[i].alive) {
			out->workers_dead++;
			continue;
		}
		if (master)
			out->masters_alive++;
		else
			out->workers_alive++;
		out->in_flight += w[i].in_flight;
		out->served += w[i].served;
	}
	out->started = started != 0;
	out->draining = draining != 0;
	if (out->draining)
		out->drain_age_ns = now_ms + 1 > draining ? (now_ms + 1 - draining) * 1000000u : 0;
	bool crit_fail = false, degraded = false;
	const char *failing = NULL, *warning = NULL;
	for (size_t i = 0; i < nc; i++) {
		if (c[i].status == FBX_CHECK_FAIL && c[i].critical) {
			crit_fail = true;
			failing = failing ? failing : c[i].name;
		} else if (c[i].status != FBX_CHECK_PASS) {
			degraded = true;
			warning = warning ? warning : c[i].name;
		}
	}
	out->status = crit_fail  ? FBX_HEALTH_UNHEALTHY
		      : degraded ? FBX_HEALTH_DEGRADED
				 : FBX_HEALTH_OK;
	/* A box whose processes never named a master asks for live workers
	 * only (a server without one); once one registered, it must be alive. */
	out->live = (masters_registered == 0 || out->masters_alive > 0) && out->workers_alive > 0;
	out->ready = out->started && !crit_fail && !out->draining;
	if (!out->live && masters_registered > 0 && out->masters_alive == 0)
		because(out, "%s", "the master is not alive");
	else if (!out->live)
		because(out, "%s", "no worker is alive");
	if (!out->started)
		because(out, "%s", "not started");
	if (out->draining)
		because(out, "%s", "draining");
	if (crit_fail)
		because(out, "critical check '%s' failing", failing);
	else if (degraded)
		because(out, "check '%s' not passing", warning);
}
