/* ctl_limiter.c — `fuseboxctl limiter ...`. */
#include <string.h>

#include "ctl_settings.h"

static int open_limiter(const struct ctl *c, const char *name, bool write, fbx_box **box,
			fbx_limiter **l)
{
	int rc = ctl_open(c, write, box);
	if (rc)
		return rc;
	rc = fbx_limiter_find(*box, name, l);
	if (rc == 0)
		return 0;
	fbx_box_close(*box);
	*box = NULL;
	if (rc == FBX_ENOENT)
		return ctl_fail("box '%s' has no limiter '%s'", c->box, name);
	return ctl_fail_rc(rc, "limiter '%s'", name);
}

/* A log limiter the box's log cannot hold (FBX_ERANGE from the library):
 * say what it holds and what to do.  For set, only another limiter can
 * help: a limiter keeps the algorithm it was added with. */
static int log_too_small(fbx_box *box, const char *name, const char *rule, bool keyed, bool adding)
{
	fbx_box_info bi;
	char why[160];
	int short_of = fbx_box_info_get(box, &bi) != 0 ? LOG_FITS
			: log_misfit(rule, keyed, bi.capacity.log_slots, bi.capacity.log_keys, why,
				     sizeof(why));
	if (short_of == LOG_FITS)
		return ctl_fail_rc(FBX_ERANGE, "limiter '%s': rule '%s'", name, rule);
	if (!adding)
		return ctl_fail("limiter '%s': %s; a limiter keeps its algorithm: add another with "
				"--algo window", name, why);
	return ctl_fail("limiter '%s': %s; use --algo window, or a box created with a larger %s",
			name, why, short_of == LOG_NO_KEYS ? "--log-keys" : "--log-slots");
}

static int limiter_add(struct ctl *c, int argc, char **argv)
{
	struct ctl_opt o[] = {{"--rate", true, 0}, {"--algo", true, 0}, {"--burst", true, 0},
			      {"--keyed", false, 0}, {"--dry-run", false, 0}};
	const size_t no = sizeof(o) / sizeof(o[0]);
	char *name[1];
	size_t npos;
	int rest;
	if (ctl_options(argc, argv, o, no, name, 1, &npos, &rest) || ctl_end(argc, argv, rest))
		return CTL_ERR;
	if (npos != 1)
		return ctl_fail("usage: limiter add NAME --rate RULE [--algo auto|log|window|gcra] "
				"[--burst N] [--keyed] [--dry-run]");
	struct limiter_spec spec;
	limiter_spec_init(&spec);
	for (size_t k = 0; k < 3; k++)
		if (o[k].value != NULL && limiter_setting(&spec, o[k].name, o[k].value, "limiter add"))
			return CTL_ERR;
	spec.cfg.keyed = o[3].value != NULL;
	spec.cfg.dry_run = o[4].value != NULL;
	if (o[0].value == NULL)
		return ctl_fail("limiter add: --rate RULE is required (e.g. --rate 100/minute)");
	if (limiter_check(name[0], &spec, "limiter add"))
		return CTL_ERR;
	fbx_box *box;
	if (ctl_open(c, true, &box))
		return CTL_ERR;
	fbx_limiter *l;
	fbx_limiter_config cfg = limiter_config(&spec);
	int rc = fbx_limiter_register(box, name[0], &cfg, &l);
	if (rc == FBX_ECONFLICT)
		rc = ctl_fail("limiter '%s' exists with a different configuration (see: fuseboxctl "
			      "limiter show %s)", name[0], name[0]);
	else if (rc == FBX_ERANGE && cfg.algorithm == FBX_ALGO_LOG)
		rc = log_too_small(box, name[0], spec.rule, cfg.keyed != 0, true);
	else if (rc)
		rc = ctl_fail_rc(rc, "limiter '%s'", name[0]);
	fbx_box_close(box);
	return rc ? CTL_ERR : CTL_YES;
}

/* The limiter's rule and dry run as the box holds them now, for saying
 * what a change changed; "" and -1 when they cannot be read. */
static void limiter_now(fbx_box *box, const char *name, char *rule, size_t len, int *dry_run)
{
	fbx_snapshot *s;
	if (rule != NULL && len > 0)
		rule[0] = '\0';
	if (dry_run != NULL)
		*dry_run = -1;
	if (fbx_snapshot_new(box, &s) != 0)
		return;
	const fbx_limiter_info *l = fbx_snapshot_take(box, s) == 0 ? find_limiter(s, name) : NULL;
	if (l != NULL && !l->corrupt) {
		if (rule != NULL && len > 0)
			snprintf(rule, len, "%s", l->rule);
		if (dry_run != NULL)
			*dry_run = l->dry_run != 0;
	}
	fbx_snapshot_free(s);
}

/* Ends the line of what changed with the reason given, if any. */
static void said_reason(const char *reason)
{
	if (reason != NULL && reason[0] != '\0')
		printf(" (reason: %s)", reason);
	putchar('\n');
}

static int limiter_set(struct ctl *c, int argc, char **argv)
{
	struct ctl_opt o[] = {{"--rate", true, 0}, {"--reason", true, 0}};
	char *name[1];
	size_t npos;
	int rest;
	if (ctl_options(argc, argv, o, 2, name, 1, &npos, &rest) || ctl_end(argc, argv, rest))
		return CTL_ERR;
	if (npos != 1 || o[0].value == NULL)
		return ctl_fail("usage: limiter set NAME --rate RULE [--reason TEXT]");
	if (ctl_reason(o[1].value))
		return CTL_ERR;
	struct limiter_spec spec;
	limiter_spec_init(&spec);
	if (limiter_setting(&spec, "rate", o[0].value, "limiter set"))
		return CTL_ERR;
	fbx_box *box;
	fbx_limiter *l;
	if (open_limiter(c, name[0], true, &box, &l))
		return CTL_ERR;
	char was[FBX_RULE_TEXT_MAX] = "", now[FBX_RULE_TEXT_MAX] = "";
	limiter_now(box, name[0], was, sizeof(was), NULL);
	int rc = fbx_limiter_set_rule(l, o[0].value, o[1].value);
	if (rc == FBX_ERANGE && fbx_limiter_algorithm(l) == FBX_ALGO_LOG)
		rc = log_too_small(box, name[0], o[0].value, false, false);
	else if (rc)
		rc = ctl_fail_rc(rc, "limiter '%s': rule '%s'", name[0], o[0].value);
	if (rc == 0) {
		limiter_now(box, name[0], now, sizeof(now), NULL);
		/* the library records nothing for the rule in force: say so in
		 * the one form every "nothing changed" takes */
		if (was[0] && strcmp(was, now) == 0) {
			printf("%s: still rule %s, unchanged\n", name[0], now);
		} else {
			printf("%s: rule %s -> %s", name[0], was[0] ? was : "?", now[0] ? now : "?");
			said_reason(o[1].value);
		}
	}
	fbx_box_close(box);
	return rc ? CTL_ERR : CTL_YES;
}

static int limiter_dry_run(struct ctl *c, int argc, char **argv)
{
	struct ctl_opt o[] = {{"--reason", true, 0}};
	char *pos[2];
	size_t npos;
	int rest;
	if (ctl_options(argc, argv, o, 1, pos, 2, &npos, &rest) || ctl_end(argc, argv, rest))
		return CTL_ERR;
	if (npos != 2 || (strcmp(pos[1], "on") != 0 && strcmp(pos[1], "off") != 0))
		return ctl_fail("usage: limiter dry-run NAME on|off [--reason TEXT]");
	if (ctl_reason(o[0].value))
		return CTL_ERR;
	fbx_box *box;
	fbx_limiter *l;
	if (open_limiter(c, pos[0], true, &box, &l))
		return CTL_ERR;
	int was = -1;
	limiter_now(box, pos[0], NULL, 0, &was);
	int rc = fbx_limiter_set_dry_run(l, strcmp(pos[1], "on") == 0, o[0].value);
	if (rc == 0) {
		if (was < 0 || (was != 0) != (strcmp(pos[1], "on") == 0)) {
			printf("%s: dry run %s -> %s", pos[0], was < 0 ? "?" : was ? "on" : "off",
			       pos[1]);
			said_reason(o[0].value);
		} else {
			printf("%s: still dry run %s, unchanged\n", pos[0], pos[1]);
		}
	}
	fbx_box_close(box);
	return rc ? ctl_fail_rc(rc, "limiter '%s'", pos[0]) : CTL_YES;
}

static int limiter_take(struct ctl *c, int argc, char **argv)
{
	struct ctl_opt o[] = {{"--key", true, 0}, {"--cost", true, 0}, {"--json", false, 0}};
	char *name[1];
	size_t npos;
	int rest;
	if (ctl_options(argc, argv, o, 3, name, 1, &npos, &rest) || ctl_end(argc, argv, rest))
		return CTL_ERR;
	if (npos != 1)
		return ctl_fail("usage: limiter take NAME [--key KEY] [--cost N] [--json]");
	uint32_t cost = 1;
	if (o[1].value != NULL && ctl_u32("--cost", o[1].value, 1, UINT32_MAX, &cost))
		return CTL_ERR;
	fbx_box *box;
	fbx_limiter *l;
	if (open_limiter(c, name[0], true, &box, &l))
		return CTL_ERR;
	const char *key = o[0].value;
	if (key != NULL && *key == '\0') {
		fbx_box_close(box);
		return ctl_fail("--key: the key is empty");
	}
	fbx_limit_result r;
	int rc = fbx_limiter_take(l, key, key ? strlen(key) : 0, cost, &r);
	fbx_box_close(box);
	if (rc == FBX_EINVAL && key == NULL)
		return ctl_fail("limiter '%s' is keyed: give --key KEY", name[0]);
	if (rc == FBX_EINVAL && key != NULL)
		return ctl_fail("limiter '%s' is not keyed: drop --key (or give a non-empty key)",
				name[0]);
	if (rc != 0 && rc != FBX_ELIMITED)
		return ctl_fail_rc(rc, "limiter '%s'", name[0]);
	if (o[2].value != NULL)
		printf("{\"version\":1,\"allowed\":%s,\"dry_run_denied\":%s,\"limit\":%llu,"
		       "\"remaining\":%llu,\"reset_ms\":%llu,\"retry_after_ms\":%llu}\n",
		       r.allowed ? "true" : "false", r.dry_run_denied ? "true" : "false",
		       (unsigned long long)r.limit, (unsigned long long)r.remaining,
		       (unsigned long long)((r.reset_ns + 999999) / 1000000),
		       (unsigned long long)((r.retry_after_ns + 999999) / 1000000));
	else
		printf("%s limit=%llu remaining=%llu reset=%.3fs retry_after=%.3fs%s\n",
		       r.allowed ? "allowed" : "denied", (unsigned long long)r.limit,
		       (unsigned long long)r.remaining, (double)r.reset_ns / 1e9,
		       (double)r.retry_after_ns / 1e9, r.dry_run_denied ? " (dry-run: would deny)" : "");
	return rc == 0 ? CTL_YES : CTL_NO;
}

static int limiter_show(struct ctl *c, int argc, char **argv)
{
	struct ctl_opt o[] = {{"--json", false, NULL}, {"--top", true, NULL}};
	char *name[1];
	size_t npos;
	int rest;
	uint32_t top = 0;
	if (ctl_options(argc, argv, o, 2, name, 1, &npos, &rest) || ctl_end(argc, argv, rest))
		return CTL_ERR;
	if (npos != 1)
		return ctl_fail("usage: limiter show NAME [--json] [--top N]");
	if (o[1].value != NULL && ctl_u32("--top", o[1].value, 1, FBX_TOP_KEYS, &top))
		return CTL_ERR;
	fbx_box *box;
	fbx_snapshot *s;
	if (ctl_snapshot(c, &box, &s))
		return CTL_ERR;
	int rc = 0;
	const fbx_limiter_info *l = find_limiter(s, name[0]);
	if (l == NULL)
		rc = ctl_fail("box '%s' has no limiter '%s'", c->box, name[0]);
	else if (o[0].value != NULL)
		show_limiter_json(stdout, l, true, top), fputc('\n', stdout);
	else
		show_limiter_text(stdout, l, top);
	ctl_snapshot_close(box, s);
	return rc ? CTL_ERR : CTL_YES;
}

int cmd_limiter(struct ctl *c)
{
	if (c->argc < 1)
		return ctl_fail("limiter: which action? (add, set, dry-run, take, show)");
	const char *a = c->argv[0];
	int argc = c->argc - 1;
	char **argv = c->argv + 1;
	if (strcmp(a, "add") == 0)
		return limiter_add(c, argc, argv);
	if (strcmp(a, "set") == 0)
		return limiter_set(c, argc, argv);
	if (strcmp(a, "dry-run") == 0)
		return limiter_dry_run(c, argc, argv);
	if (strcmp(a, "take") == 0)
		return limiter_take(c, argc, argv);
	if (strcmp(a, "show") == 0)
		return limiter_show(c, argc, argv);
	return ctl_fail("limiter: unknown action '%s'", a);
}
