/* ctl_config.h — the `create --config FILE` file (ctl_config.c). */
#ifndef FBX_CTL_CONFIG_H
#define FBX_CTL_CONFIG_H

#include "ctl_settings.h"

struct plan_breaker {
	char name[FBX_NAME_MAX];
	fbx_breaker_config cfg;
	char where[80];
};

struct plan_limiter {
	char name[FBX_NAME_MAX];
	struct limiter_spec spec;
	char where[80];
};

/* A retry budget, a bulkhead or a cache: the settings of its kind. */
enum res_kind { RES_BUDGET, RES_BULKHEAD, RES_CACHE, RES_KINDS };
struct plan_res {
	char name[FBX_NAME_MAX];
	fbx_budget_config budget;
	uint32_t cap;
	struct cache_spec cache;
	char where[80];
};

/* What `create` will make: the box's capacities, then its records. */
struct plan {
	fbx_box_config box;
	struct plan_breaker *breakers;
	size_t nbreakers;
	struct plan_limiter *limiters;
	size_t nlimiters;
	struct plan_res *res[RES_KINDS];
	size_t nres[RES_KINDS];
};

/* "budget", "bulkhead", "cache"; and their plurals. */
extern const char *const res_word[RES_KINDS];
extern const char *const res_words[RES_KINDS];

void plan_init(struct plan *p);
void plan_free(struct plan *p);
/* Reads FILE into p; every error names the file and line.  0 or CTL_ERR. */
int plan_read(const char *path, struct plan *p);
/* Budgets, bulkheads and caches beyond the box's capacities: said with
 * where (the file, or "create" once the options are applied). */
int plan_fits(const struct plan *p, const char *where);
/* The [box] settings, also reachable as create's options. */
int box_setting(fbx_box_config *b, const char *key, const char *value, const char *where);

#endif
