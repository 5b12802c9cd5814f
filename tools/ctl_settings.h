/* ctl_settings.h — breaker and limiter settings by name (ctl_settings.c). */
#ifndef FBX_CTL_SETTINGS_H
#define FBX_CTL_SETTINGS_H

#include "ctl.h"

struct limiter_spec {
	fbx_limiter_config cfg; /* cfg.rule unused: see limiter_config() */
	char rule[FBX_RULE_TEXT_MAX];
};

fbx_limiter_config limiter_config(const struct limiter_spec *l);

void limiter_spec_init(struct limiter_spec *l);
void setting_name(char *out, size_t len, const char *where, const char *key);
/* key as "--fail-max" or "fail_max"; where names the source for errors. */
int breaker_setting(fbx_breaker_config *c, const char *key, const char *value,
		    const char *where);
int limiter_setting(struct limiter_spec *l, const char *key, const char *value,
		    const char *where);
int breaker_check(const char *name, const fbx_breaker_config *c, const char *where);
int limiter_check(const char *name, const struct limiter_spec *l, const char *where);

#endif
