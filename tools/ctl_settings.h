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
/* Whether a log limiter of rule (keyed or not) does not fit a box whose log
 * has log_slots slots and log_keys keys: 0 when it fits, else what is
 * short, with the reason in why.  The library says only "out of range";
 * an operator needs the figures. */
enum { LOG_FITS, LOG_TOO_SHORT, LOG_NO_KEYS };
/* Retry budgets, bulkheads and caches: the same settings on the command
 * line ("--min-per-sec 5") and in the file ("min_per_sec = 5"), each bound
 * checked where it is read, so that a file's error names its line. */
struct cache_spec {
	uint64_t ttl_ns, stale_ns; /* ttl 0: not given yet */
};
int budget_setting(fbx_budget_config *c, const char *key, const char *value, const char *where);
int bulkhead_setting(uint32_t *cap, const char *key, const char *value, const char *where);
int cache_setting(struct cache_spec *c, const char *key, const char *value, const char *where);
/* A record's name, and what a section or command must have been given. */
int budget_check(const char *name, const fbx_budget_config *c, const char *where);
int bulkhead_check(const char *name, uint32_t cap, const char *where);
int cache_check(const char *name, const struct cache_spec *c, const char *where);
/* Whether cache c was registered with spec's ttl and stale. */
bool cache_same(const fbx_cache_info *c, const struct cache_spec *spec);
/* "1500ms" as the shortest exact text a duration option takes ("1500ms",
 * "30s", "10m", "2h"), for messages that say how to ask for the same. */
void duration_text(char *buf, size_t len, uint64_t ns);

int log_misfit(const char *rule, bool keyed, uint32_t log_slots, uint32_t log_keys, char *why,
	       size_t len);

#endif
