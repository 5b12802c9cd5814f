/*
 * budget.c — a retry budget for the whole host (gRPC's retry throttling,
 * Finagle's RetryBudget, Envoy's retry budget).
 *
 * Every first attempt deposits, every retry withdraws; a retry is allowed
 * while the retries of the last ttl stay within percent of its deposits,
 * plus min_per_sec * ttl so that a quiet service can still retry.  The
 * window is FBX__BUDGET_BUCKETS buckets whose words carry their own index
 * in time (tag:32 | count:32): a stale bucket is restarted by the one CAS
 * that counts in it, so no reset step can be interrupted by a kill.
 *
 * A withdrawal adds first and looks second: two processes racing for the
 * last retry both add, at most one of them sees room, and the other takes
 * its add back — a retry refused early at worst, never one too many.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define TTL_MIN_NS 1000000000ull
#define TTL_MAX_NS (3600ull * 1000000000u)
#define MIN_PER_SEC_MAX 1000000u

void fbx_budget_config_init(fbx_budget_config *cfg)
{
	if (cfg == NULL)
		return;
	cfg->percent = 20;
	cfg->min_per_sec = 10;
	cfg->ttl_ns = 10 * TTL_MIN_NS;
}

static int config_check(const fbx_budget_config *c)
{
	if (c == NULL || c->percent == 0 || c->percent > 100 || c->min_per_sec > MIN_PER_SEC_MAX ||
	    c->ttl_ns < TTL_MIN_NS || c->ttl_ns > TTL_MAX_NS)
		return FBX_EINVAL;
	return 0;
}

static fbx_budget *handle_for(fbx_box *box, uint32_t i)
{
	struct fbx__budget_rec *r = &box->budgets[i];
	fbx_budget_config cfg = r->cfg;
	if (config_check(&cfg) != 0)
		return NULL; /* a damaged record: FBX_ECORRUPT for the caller */
	pthread_mutex_lock(&box->lock);
	fbx_budget *g = box->budget_list;
	while (g != NULL && g->rec != r)
		g = g->next;
	if (g == NULL && (g = calloc(1, sizeof(*g))) != NULL) {
		g->box = box;
		g->rec = r;
		g->cfg = cfg;
		g->bucket_ns = cfg.ttl_ns / FBX__BUDGET_BUCKETS;
		g->next = box->budget_list;
		box->budget_list = g;
	}
	pthread_mutex_unlock(&box->lock);
	return g;
}

int fbx_budget_register(fbx_box *box, const char *name, const fbx_budget_config *cfg,
			fbx_budget **out)
{
	if (box == NULL || out == NULL)
		return FBX_EINVAL;
	int rc = fbx_name_check_record(name);
	if (rc == 0)
		rc = config_check(cfg);
	if (rc == 0 && box->read_only)
		rc = FBX_ERDONLY;
	if (rc == 0)
		rc = fbx__box_whole(box);
	if (rc)
		return rc;
	int lock = fbx__registry_lock(box);
	if (lock < 0)
		return lock;
	struct fbx__records rs = fbx__budget_records(box);
	int i = fbx__record_find(&rs, name);
	if (i >= 0) {
		if (memcmp(&box->budgets[i].cfg, cfg, sizeof(*cfg)) != 0)
			i = FBX_ECONFLICT;
	} else if ((i = fbx__record_claim(&rs, name)) >= 0) {
		struct fbx__budget_rec *r = &box->budgets[i];
		r->cfg = *cfg;
		for (int k = 0; k < FBX__BUDGET_BUCKETS; k++) {
			atomic_store(&r->dep[k], 0);
			atomic_store(&r->wd[k], 0);
		}
		atomic_store(&r->attempts, 0);
		atomic_store(&r->allowed, 0);
		atomic_store(&r->refused, 0);
		fbx__record_publish(&rs, (uint32_t)i);
	}
	fbx__registry_unlock(lock);
	if (i < 0)
		return i;
	*out = handle_for(box, (uint32_t)i);
	return *out ? 0 : FBX_ECORRUPT;
}

int fbx_budget_find(fbx_box *box, const char *name, fbx_budget **out)
{
	if (box == NULL || out == NULL)
		return FBX_EINVAL;
	struct fbx__records rs = fbx__budget_records(box);
	int i = fbx__record_lookup(box, &rs, name);
	if (i < 0)
		return i;
	*out = handle_for(box, (uint32_t)i);
	return *out ? 0 : FBX_ECORRUPT;
}

/* Takes back one from the bucket of index idx, if it is still that one. */
static void bucket_undo(_Atomic uint64_t *word, uint32_t idx)
{
	uint64_t w = atomic_load(word);
	while ((uint32_t)(w >> 32) == idx && (uint32_t)w != 0 &&
	       !atomic_compare_exchange_weak(word, &w, w - 1))
		;
}

/* The counts of the buckets still in the window that ends with idx. */
static uint64_t window_sum(const _Atomic uint64_t *words, uint32_t idx)
{
	uint64_t sum = 0;
	for (int k = 0; k < FBX__BUDGET_BUCKETS; k++) {
		uint64_t w = atomic_load_explicit(&words[k], memory_order_relaxed);
		if (w != 0 && (uint32_t)(idx - (uint32_t)(w >> 32)) < FBX__BUDGET_BUCKETS)
			sum += (uint32_t)w;
	}
	return sum;
}

int fbx_budget_deposit(fbx_budget *g)
{
	if (FBX__UNLIKELY(g == NULL))
		return FBX_EINVAL;
	if (FBX__UNLIKELY(g->box->read_only))
		return FBX_ERDONLY;
	uint32_t idx = (uint32_t)(fbx__now_coarse() / g->bucket_ns);
	fbx__bucket_add(&g->rec->dep[idx % FBX__BUDGET_BUCKETS], idx, 1);
	atomic_fetch_add_explicit(&g->rec->attempts, 1, memory_order_relaxed);
	return 0;
}

int fbx_budget_withdraw(fbx_budget *g)
{
	if (FBX__UNLIKELY(g == NULL))
		return FBX_EINVAL;
	if (FBX__UNLIKELY(g->box->read_only))
		return FBX_ERDONLY;
	uint32_t idx = (uint32_t)(fbx__now_coarse() / g->bucket_ns);
	_Atomic uint64_t *mine = &g->rec->wd[idx % FBX__BUDGET_BUCKETS];
	bool counted = fbx__bucket_add(mine, idx, 1);
	uint64_t deposits = window_sum(g->rec->dep, idx);
	uint64_t withdrawn = window_sum(g->rec->wd, idx);
	uint64_t allowed = deposits * g->cfg.percent / 100 +
			   (uint64_t)g->cfg.min_per_sec * (g->cfg.ttl_ns / 1000000000u);
	if (counted && withdrawn <= allowed) {
		atomic_fetch_add_explicit(&g->rec->allowed, 1, memory_order_relaxed);
		return 0;
	}
	if (counted)
		bucket_undo(mine, idx);
	atomic_fetch_add_explicit(&g->rec->refused, 1, memory_order_relaxed);
	return FBX_ELIMITED;
}

int fbx__budget_read(const fbx_box *box, uint32_t i, uint64_t now, fbx_budget_info *out)
{
	const struct fbx__budget_rec *r = &box->budgets[i];
	memset(out, 0, sizeof(*out));
	uint32_t live = atomic_load_explicit(&r->head.live, memory_order_acquire);
	if (live != FBX__REC_LIVE)
		return 0;
	memcpy(out->name, r->head.name, FBX_NAME_MAX);
	out->name[FBX_NAME_MAX - 1] = '\0';
	out->config = r->cfg;
	if (fbx_name_check_record(out->name) != 0 || config_check(&out->config) != 0) {
		out->corrupt = 1;
		snprintf(out->name, sizeof(out->name), "(damaged budget %u)", i);
		memset(&out->config, 0, sizeof(out->config));
		return 1;
	}
	uint32_t idx = (uint32_t)(now / (out->config.ttl_ns / FBX__BUDGET_BUCKETS));
	out->deposits = window_sum(r->dep, idx);
	out->withdrawals = window_sum(r->wd, idx);
	out->attempts = atomic_load(&r->attempts);
	out->retries_allowed = atomic_load(&r->allowed);
	out->retries_refused = atomic_load(&r->refused);
	uint64_t allowed = out->deposits * out->config.percent / 100 +
			   (uint64_t)out->config.min_per_sec * (out->config.ttl_ns / 1000000000u);
	out->balance = allowed > out->withdrawals ? allowed - out->withdrawals : 0;
	return 1;
}
