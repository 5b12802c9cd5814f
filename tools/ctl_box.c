/* ctl_box.c — create, destroy and list boxes. */
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl_config.h"

static int capacities_match(const char *box, const fbx_box_config *want, const fbx_box_info *have)
{
	const struct {
		const char *name;
		uint32_t want, have;
	} caps[] = {
		{"breakers", want->breakers, have->capacity.breakers},
		{"limiters", want->limiters, have->capacity.limiters},
		{"keys", want->keys, have->capacity.keys},
		{"events", want->events, have->capacity.events},
		{"workers", want->workers, have->capacity.workers},
		{"checks", want->checks, have->capacity.checks},
		{"log_keys", want->log_keys, have->capacity.log_keys},
		{"log_slots", want->log_slots, have->capacity.log_slots},
		{"budgets", want->budgets, have->capacity.budgets},
		{"bulkheads", want->bulkheads, have->capacity.bulkheads},
		{"caches", want->caches, have->capacity.caches},
		{"cache_slots", want->cache_slots, have->capacity.cache_slots},
		{"cache_value_max", want->cache_value_max, have->capacity.cache_value_max},
	};
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		if (caps[i].want != caps[i].have)
			return ctl_fail("box '%s' exists with %s = %u, not %u", box, caps[i].name,
					caps[i].have, caps[i].want);
	return 0;
}

/* --exist-ok: every record the plan names must already match or be new. */
static int plan_conflicts(fbx_box *box, const struct plan *p)
{
	fbx_snapshot *s;
	int rc = fbx_snapshot_new(box, &s);
	if (rc == 0)
		rc = fbx_snapshot_take(box, s);
	if (rc)
		return ctl_fail_rc(rc, "reading the box");
	for (size_t i = 0; rc == 0 && i < p->nbreakers; i++) {
		const fbx_breaker_info *b = find_breaker(s, p->breakers[i].name);
		const char *diff = b ? fbx_breaker_config_diff(&b->config, &p->breakers[i].cfg) : NULL;
		if (diff != NULL)
			rc = ctl_fail("%s: breaker '%s' exists with a different %s", p->breakers[i].where,
				      p->breakers[i].name, diff);
	}
	for (size_t i = 0; rc == 0 && i < p->nlimiters; i++) {
		const struct limiter_spec *want = &p->limiters[i].spec;
		const fbx_limiter_info *l = find_limiter(s, p->limiters[i].name);
		fbx_rule r;
		char canon[FBX_RULE_TEXT_MAX] = "";
		if (fbx_rule_parse(want->rule, &r, NULL) == 0)
			fbx_rule_format(&r, canon, sizeof(canon));
		bool burst_differs = want->cfg.algorithm == FBX_ALGO_GCRA && l != NULL &&
				     l->burst != want->cfg.burst;
		/* as the library does: auto is whichever of the two it resolved to */
		bool algo_differs = l != NULL &&
				    (want->cfg.algorithm == FBX_ALGO_AUTO
					     ? l->algorithm != FBX_ALGO_LOG && l->algorithm != FBX_ALGO_WINDOW
					     : l->algorithm != want->cfg.algorithm);
		if (l != NULL && (strcmp(l->rule, canon) != 0 || algo_differs ||
				  l->keyed != (want->cfg.keyed != 0) || burst_differs))
			rc = ctl_fail("%s: limiter '%s' exists with a different configuration (%s %s%s)",
				      p->limiters[i].where, p->limiters[i].name, l->rule,
				      fbx_algorithm_name(l->algorithm), l->keyed ? " keyed" : "");
	}
	for (size_t i = 0; rc == 0 && i < p->nres[RES_BUDGET]; i++) {
		const struct plan_res *want = &p->res[RES_BUDGET][i];
		const fbx_budget_info *have = find_budget(s, want->name);
		if (have != NULL && (have->corrupt || memcmp(&have->config, &want->budget,
							     sizeof(want->budget)) != 0))
			rc = ctl_fail("%s: budget '%s' exists with a different configuration (%s)",
				      want->where, want->name, budget_policy_options(have));
	}
	for (size_t i = 0; rc == 0 && i < p->nres[RES_BULKHEAD]; i++) {
		const struct plan_res *want = &p->res[RES_BULKHEAD][i];
		const fbx_bulkhead_info *have = find_bulkhead(s, want->name);
		if (have != NULL && have->cap != want->cap)
			rc = ctl_fail("%s: bulkhead '%s' exists with a different configuration (cap %u)",
				      want->where, want->name, have->cap);
	}
	for (size_t i = 0; rc == 0 && i < p->nres[RES_CACHE]; i++) {
		const struct plan_res *want = &p->res[RES_CACHE][i];
		const fbx_cache_info *have = find_cache(s, want->name);
		if (have != NULL && !cache_same(have, &want->cache))
			rc = ctl_fail("%s: cache '%s' exists with a different configuration (%s)",
				      want->where, want->name, cache_policy_options(have));
	}
	fbx_snapshot_free(s);
	return rc;
}

static int apply(fbx_box *box, const struct plan *p)
{
	for (size_t i = 0; i < p->nbreakers; i++) {
		fbx_breaker *b;
		int rc = fbx_breaker_register(box, p->breakers[i].name, &p->breakers[i].cfg, &b);
		if (rc)
			return ctl_fail_rc(rc, "%s: breaker '%s'", p->breakers[i].where,
					   p->breakers[i].name);
	}
	for (size_t i = 0; i < p->nlimiters; i++) {
		fbx_limiter *l;
		fbx_limiter_config cfg = limiter_config(&p->limiters[i].spec);
		int rc = fbx_limiter_register(box, p->limiters[i].name, &cfg, &l);
		if (rc)
			return ctl_fail_rc(rc, "%s: limiter '%s'", p->limiters[i].where,
					   p->limiters[i].name);
	}
	for (int k = 0; k < RES_KINDS; k++) {
		for (size_t i = 0; i < p->nres[k]; i++) {
			const struct plan_res *x = &p->res[k][i];
			fbx_budget *g;
			fbx_bulkhead *h;
			fbx_cache *c;
			int rc = k == RES_BUDGET ? fbx_budget_register(box, x->name, &x->budget, &g)
				 : k == RES_BULKHEAD
				     ? fbx_bulkhead_register(box, x->name, x->cap, &h)
				     : fbx_cache_register(box, x->name, x->cache.ttl_ns,
							  x->cache.stale_ns, &c);
			if (rc)
				return ctl_fail_rc(rc, "%s: %s '%s'", x->where, res_word[k], x->name);
		}
	}
	return 0;
}

/* Log limiters the box's log will not hold, found before anything is
 * made: the capacities are final only once the options are applied. */
static int plan_log_fits(const struct plan *p)
{
	for (size_t i = 0; i < p->nlimiters; i++) {
		const struct plan_limiter *l = &p->limiters[i];
		char why[160];
		if (l->spec.cfg.algorithm != FBX_ALGO_LOG)
			continue;
		int short_of = log_misfit(l->spec.rule, l->spec.cfg.keyed != 0, p->box.log_slots,
					  p->box.log_keys, why, sizeof(why));
		if (short_of != LOG_FITS)
			return ctl_fail("%s: limiter '%s': %s; use algo = window, or a larger %s",
					l->where, l->name, why,
					short_of == LOG_NO_KEYS ? "log_keys" : "log_slots");
	}
	return 0;
}

int cmd_create(struct ctl *c)
{
	enum { O_CONFIG, O_EXIST_OK, O_BOX }; /* the box's settings follow O_BOX */
	struct ctl_opt o[] = {
		{"--config", true, 0}, {"--exist-ok", false, 0},
		{"--breakers", true, 0}, {"--limiters", true, 0}, {"--keys", true, 0},
		{"--log-keys", true, 0}, {"--log-slots", true, 0}, {"--events", true, 0},
		{"--workers", true, 0}, {"--checks", true, 0}, {"--mode", true, 0},
		{"--group", true, 0}, {"--budgets", true, 0}, {"--bulkheads", true, 0},
		{"--caches", true, 0}, {"--cache-slots", true, 0}, {"--cache-value-max", true, 0},
	};
	const size_t no = sizeof(o) / sizeof(o[0]);
	size_t npos;
	int rest;
	if (ctl_options(c->argc, c->argv, o, no, NULL, 0, &npos, &rest) || ctl_end(c->argc, c->argv, rest))
		return CTL_ERR;
	struct plan p;
	plan_init(&p);
	int rc = 0;
	if (o[O_CONFIG].value != NULL)
		rc = plan_read(o[O_CONFIG].value, &p);
	for (size_t k = O_BOX; rc == 0 && k < no; k++)
		if (o[k].value != NULL)
			rc = box_setting(&p.box, o[k].name, o[k].value, "create");
	if (rc == 0)
		rc = plan_log_fits(&p);
	/* the options may have made room smaller than the file's records */
	if (rc == 0)
		rc = plan_fits(&p, o[O_CONFIG].value != NULL ? o[O_CONFIG].value : "create");
	if (rc) {
		plan_free(&p);
		return CTL_ERR;
	}
	fbx_box *box = NULL;
	bool made = true;
	rc = fbx_box_open(c->box, FBX_OPEN_CREATE | FBX_OPEN_EXCL, &p.box, &box);
	if (rc == FBX_EEXIST && o[O_EXIST_OK].value != NULL) {
		made = false;
		fbx_box_info info;
		/* adopting: the library refuses a box someone else controls */
		rc = fbx_box_open(c->box, FBX_OPEN_CREATE, &p.box, &box);
		if (rc)
			rc = ctl_fail_open(rc, c->box);
		if (rc == 0 && fbx_box_info_get(box, &info) == 0)
			rc = capacities_match(c->box, &p.box, &info);
		if (rc == 0)
			rc = plan_conflicts(box, &p);
	} else if (rc == FBX_EEXIST) {
		rc = ctl_fail("box '%s' exists already (use --exist-ok to accept it)", c->box);
	} else if (rc) {
		rc = ctl_fail_open(rc, c->box);
	}
	if (rc == 0)
		rc = apply(box, &p);
	fbx_box_info bi;
	if (rc == 0 && fbx_box_info_get(box, &bi) != 0)
		rc = ctl_fail("box '%s': cannot read its capacities", c->box);
	if (rc && made && box != NULL)
		fbx_box_unlink(c->box); /* nothing half-applied */
	if (rc == 0) {
		printf("%s box %s: %zu %s, %zu %s", made ? "created" : "kept", c->box, p.nbreakers,
		       noun(p.nbreakers, "breaker", "breakers"), p.nlimiters,
		       noun(p.nlimiters, "limiter", "limiters"));
		/* said only when there are any: the line stays as scripts knew it */
		if (p.nres[RES_BUDGET] + p.nres[RES_BULKHEAD] + p.nres[RES_CACHE] > 0)
			printf(", %zu %s, %zu %s, %zu %s", p.nres[RES_BUDGET],
			       noun(p.nres[RES_BUDGET], "budget", "budgets"), p.nres[RES_BULKHEAD],
			       noun(p.nres[RES_BULKHEAD], "bulkhead", "bulkheads"), p.nres[RES_CACHE],
			       noun(p.nres[RES_CACHE], "cache", "caches"));
		printf(" declared\n");
		show_capacity_text(stdout, &bi);
	}
	fbx_box_close(box);
	plan_free(&p);
	return rc ? CTL_ERR : CTL_YES;
}

int cmd_destroy(struct ctl *c)
{
	if (c->argc != 0)
		return ctl_fail("destroy takes no arguments");
	int rc = fbx_box_unlink(c->box);
	if (rc == FBX_ENOENT)
		return ctl_fail("box '%s' does not exist", c->box);
	if (rc)
		return ctl_fail_rc(rc, "destroying box '%s'", c->box);
	printf("destroyed box %s\n", c->box);
	return CTL_YES;
}

int cmd_ls(struct ctl *c)
{
	if (c->argc != 0)
		return ctl_fail("ls takes no arguments");
	/* by name, as the library lists them for finding the only box: the
	 * directory's own order changes from run to run */
	size_t n = 0, cap = 0;
	fbx_box_name *names = NULL;
	int rc = fbx_box_list(NULL, 0, &n);
	/* boxes made between the two calls: ask again with room for them */
	for (int tries = 0; rc == 0 && n > cap && tries < 4; tries++) {
		free(names);
		cap = n + 16;
		names = calloc(cap, sizeof(*names));
		if (names == NULL)
			return ctl_fail("ls: out of memory listing %zu boxes", cap);
		rc = fbx_box_list(names, cap, &n);
	}
	if (rc) {
		free(names);
		return ctl_fail_rc(rc, "cannot list /dev/shm");
	}
	if (n > cap)
		n = cap;
	/* the capacities, not what the box holds: BREAKER_CAP and LIMITER_CAP
	 * say so (what each holds is in status) */
	printf("%-32s %10s %5s %-10s %11s %11s %s\n", "BOX", "BYTES", "MODE", "OWNER", "BREAKER_CAP",
	       "LIMITER_CAP", "STATE");
	for (size_t i = 0; i < n; i++) {
		const char *name = names[i].name;
		struct stat st;
		char path[300];
		snprintf(path, sizeof(path), "/dev/shm/fusebox.%s", name);
		if (stat(path, &st) != 0)
			continue; /* gone since it was listed */
		struct passwd *pw = getpwuid(st.st_uid);
		fbx_box *box;
		fbx_box_info info = {0};
		/* a box still being created is not worth more than a glance */
		fbx_box_config quick;
		fbx_box_config_init(&quick);
		quick.timeout_ms = 100;
		int orc = fbx_box_open(name, FBX_OPEN_RDONLY, &quick, &box);
		if (orc == 0) {
			fbx_box_info_get(box, &info);
			fbx_box_close(box);
		}
		printf("%-32s %10lld %04o %-10s %11u %11u %s\n", name, (long long)st.st_size,
		       (unsigned)(st.st_mode & 07777), pw ? pw->pw_name : "?", info.capacity.breakers,
		       info.capacity.limiters, orc == 0 ? "ok" : fbx_strerror(orc));
	}
	free(names);
	return CTL_YES;
}
