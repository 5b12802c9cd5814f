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

/* What `create` will make: the box's capacities, then its records. */
struct plan {
	fbx_box_config box;
	struct plan_breaker *breakers;
	size_t nbreakers;
	struct plan_limiter *limiters;
	size_t nlimiters;
};

void plan_init(struct plan *p);
void plan_free(struct plan *p);
/* Reads FILE into p; every error names the file and line.  0 or CTL_ERR. */
int plan_read(const char *path, struct plan *p);
/* The [box] settings, also reachable as create's options. */
int box_setting(fbx_box_config *b, const char *key, const char *value, const char *where);

#endif
