/* ctl_resilience.c — retry budgets, bulkheads and shared caches:
 * `fuseboxctl budget|bulkhead|cache ...`, the `budgets`, `bulkheads` and
 * `caches` listings, and the parts of `status` and `create` that show
 * them.  The figures are the snapshot's (fbx_snapshot_budgets() and the
 * rest); only `cache get` and `cache drop` go through a record's handle. */
#include <string.h>

#include "ctl_settings.h"

static unsigned long long ull(uint64_t v)
{
	return (unsigned long long)v;
}

static unsigned long long ms(uint64_t ns)
{
	return (unsigned long long)((ns + 999999) / 1000000);
}

const fbx_budget_info *find_budget(const fbx_snapshot *s, const char *name)
{
	size_t n;
	const fbx_budget_info *b = fbx_snapshot_budgets(s, &n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(b[i].name, name) == 0)
			return &b[i];
	return NULL;
}

const fbx_bulkhead_info *find_bulkhead(const fbx_snapshot *s, const char *name)
{
	size_t n;
	const fbx_bulkhead_info *h = fbx_snapshot_bulkheads(s, &n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(h[i].name, name) == 0)
			return &h[i];
	return NULL;
}

const fbx_cache_info *find_cache(const fbx_snapshot *s, const char *name)
{
	size_t n;
	const fbx_cache_info *c = fbx_snapshot_caches(s, &n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(c[i].name, name) == 0)
			return &c[i];
	return NULL;
}

bool cache_same(const fbx_cache_info *c, const struct cache_spec *spec)
{
	return !c->corrupt && c->ttl_ns == spec->ttl_ns && c->stale_ns == spec->stale_ns;
}

const char *budget_policy_options(const fbx_budget_info *b)
{
	static char buf[96];
	char ttl[32];
	if (b->corrupt)
		return "its record is damaged";
	duration_text(ttl, sizeof(ttl), b->config.ttl_ns);
	snprintf(buf, sizeof(buf), "--percent %u --min-per-sec %u --ttl %s", b->config.percent,
		 b->config.min_per_sec, ttl);
	return buf;
}

const char *cache_policy_options(const fbx_cache_info *c)
{
	static char buf[96];
	char ttl[32], stale[32];
	if (c->corrupt)
		return "its record is damaged";
	duration_text(ttl, sizeof(ttl), c->ttl_ns);
	duration_text(stale, sizeof(stale), c->stale_ns);
	snprintf(buf, sizeof(buf), "--ttl %s --stale %s", ttl, stale);
	return buf;
}

/* "20% + 10/s over 10s": what a budget lets through, in one column. */
static void budget_policy(char *buf, size_t len, const fbx_budget_config *c)
{
	char ttl[32];
	duration_text(ttl, sizeof(ttl), c->ttl_ns);
	snprintf(buf, len, "%u%% + %u/s over %s", c->percent, c->min_per_sec, ttl);
}

/* Gets answered from the cache, fresh or stale; -1 before any get. */
static double hit_ratio(const fbx_cache_info *c)
{
	uint64_t answered = c->hits + c->stale_hits, all = answered + c->misses;
	return all == 0 ? -1 : (double)answered / (double)all;
}

/* ---- tables (budgets, bulkheads, caches, status) ----------------------- */

void show_budgets_text(FILE *f, const fbx_budget_info *b, size_t n)
{
	fprintf(f, "%-24s %-22s %8s %8s %8s %10s %8s\n", "BUDGET", "POLICY", "REQUESTS", "RETRIES",
		"BALANCE", "ALLOWED", "REFUSED");
	for (size_t i = 0; i < n; i++) {
		char policy[64];
		if (b[i].corrupt) {
			fprintf(f, "%-24s %s\n", b[i].name, "(damaged record)");
			continue;
		}
		budget_policy(policy, sizeof(policy), &b[i].config);
		fprintf(f, "%-24s %-22s %8llu %8llu %8llu %10llu %8llu\n", b[i].name, policy,
			ull(b[i].deposits), ull(b[i].withdrawals), ull(b[i].balance),
			ull(b[i].retries_allowed), ull(b[i].retries_refused));
	}
}

void show_bulkheads_text(FILE *f, const fbx_bulkhead_info *h, size_t n)
{
	fprintf(f, "%-24s %5s %9s %6s %8s %9s\n", "BULKHEAD", "CAP", "IN_FLIGHT", "PEAK", "REFUSED",
		"RECLAIMED");
	for (size_t i = 0; i < n; i++) {
		if (h[i].corrupt) {
			fprintf(f, "%-24s %s\n", h[i].name, "(damaged record)");
			continue;
		}
		fprintf(f, "%-24s %5u %9llu %6llu %8llu %9llu\n", h[i].name, h[i].cap,
			ull(h[i].in_flight), ull(h[i].peak), ull(h[i].refused), ull(h[i].reclaimed));
	}
}

void show_caches_text(FILE *f, const fbx_cache_info *c, size_t n)
{
	fprintf(f, "%-24s %6s %6s %13s %9s %9s %9s %8s %6s\n", "CACHE", "TTL", "STALE", "ENTRIES",
		"HITS", "STALE_HIT", "MISSES", "PUTS", "HIT%");
	for (size_t i = 0; i < n; i++) {
		char ttl[32], stale[32], entries[32], ratio[16];
		if (c[i].corrupt) {
			fprintf(f, "%-24s %s\n", c[i].name, "(damaged record)");
			continue;
		}
		duration_text(ttl, sizeof(ttl), c[i].ttl_ns);
		duration_text(stale, sizeof(stale), c[i].stale_ns);
		snprintf(entries, sizeof(entries), "%llu/%u", ull(c[i].entries), c[i].slots);
		double r = hit_ratio(&c[i]);
		if (r < 0)
			snprintf(ratio, sizeof(ratio), "-");
		else
			snprintf(ratio, sizeof(ratio), "%.1f", r * 100);
		fprintf(f, "%-24s %6s %6s %13s %9llu %9llu %9llu %8llu %6s\n", c[i].name, ttl, stale,
			entries, ull(c[i].hits), ull(c[i].stale_hits), ull(c[i].misses),
			ull(c[i].puts), ratio);
	}
}

/* ---- JSON ---------------------------------------------------------------- */

static void json_head(FILE *f, const char *name, bool versioned)
{
	fputs(versioned ? "{\"version\":1,\"name\":" : "{\"name\":", f);
	json_str(f, name);
}

void show_budget_json(FILE *f, const fbx_budget_info *b, bool versioned)
{
	json_head(f, b->name, versioned);
	if (b->corrupt) {
		fputs(",\"corrupt\":true}", f);
		return;
	}
	fprintf(f, ",\"percent\":%u,\"min_per_sec\":%u,\"ttl_ms\":%llu,\"deposits\":%llu,"
		   "\"withdrawals\":%llu,\"balance\":%llu,\"attempts\":%llu,\"retries_allowed\":%llu,"
		   "\"retries_refused\":%llu}",
		b->config.percent, b->config.min_per_sec, ms(b->config.ttl_ns), ull(b->deposits),
		ull(b->withdrawals), ull(b->balance), ull(b->attempts), ull(b->retries_allowed),
		ull(b->retries_refused));
}

void show_bulkhead_json(FILE *f, const fbx_bulkhead_info *h, bool versioned)
{
	json_head(f, h->name, versioned);
	if (h->corrupt) {
		fputs(",\"corrupt\":true}", f);
		return;
	}
	fprintf(f, ",\"cap\":%u,\"in_flight\":%llu,\"peak\":%llu,\"refused\":%llu,\"reclaimed\":%llu}",
		h->cap, ull(h->in_flight), ull(h->peak), ull(h->refused), ull(h->reclaimed));
}

void show_cache_json(FILE *f, const fbx_cache_info *c, bool versioned)
{
	json_head(f, c->name, versioned);
	if (c->corrupt) {
		fputs(",\"corrupt\":true}", f);
		return;
	}
	fprintf(f, ",\"ttl_ms\":%llu,\"stale_ms\":%llu,\"slots\":%u,\"value_max\":%u,\"entries\":%llu,"
		   "\"hits\":%llu,\"stale_hits\":%llu,\"misses\":%llu,\"puts\":%llu,\"hit_ratio\":",
		ms(c->ttl_ns), ms(c->stale_ns), c->slots, c->value_max, ull(c->entries), ull(c->hits),
		ull(c->stale_hits), ull(c->misses), ull(c->puts));
	double r = hit_ratio(c);
	if (r < 0)
		fputs("null}", f);
	else
		fprintf(f, "%.6f}", r);
}

/* ---- show, one record ------------------------------------------------------ */

static void budget_text(FILE *f, const fbx_budget_info *b)
{
	if (b->corrupt) {
		fprintf(f, "budget %s: record damaged (not shown)\n", b->name);
		return;
	}
	char ttl[32];
	duration_text(ttl, sizeof(ttl), b->config.ttl_ns);
	fprintf(f, "budget %s\n", b->name);
	fprintf(f, "  policy     retries up to %u%% of requests plus %u a second, over the last %s\n",
		b->config.percent, b->config.min_per_sec, ttl);
	fprintf(f, "  window     %llu %s, %llu %s: %llu more %s allowed now\n", ull(b->deposits),
		noun(b->deposits, "request", "requests"), ull(b->withdrawals),
		noun(b->withdrawals, "retry", "retries"), ull(b->balance),
		noun(b->balance, "retry", "retries"));
	fprintf(f, "  since made %llu %s; %llu %s allowed, %llu refused\n", ull(b->attempts),
		noun(b->attempts, "request", "requests"), ull(b->retries_allowed),
		noun(b->retries_allowed, "retry", "retries"), ull(b->retries_refused));
}

static void bulkhead_text(FILE *f, const fbx_bulkhead_info *h)
{
	if (h->corrupt) {
		fprintf(f, "bulkhead %s: record damaged (not shown)\n", h->name);
		return;
	}
	fprintf(f, "bulkhead %s\n", h->name);
	fprintf(f, "  in flight  %llu of %u%s\n", ull(h->in_flight), h->cap,
		h->in_flight >= h->cap ? " (full: calls are refused)" : "");
	fprintf(f, "  peak       %llu\n  refused    %llu\n", ull(h->peak), ull(h->refused));
	fprintf(f, "  reclaimed  %llu (places taken back from processes that died holding them)\n",
		ull(h->reclaimed));
}

static void cache_text(FILE *f, const fbx_cache_info *c)
{
	if (c->corrupt) {
		fprintf(f, "cache %s: record damaged (not shown)\n", c->name);
		return;
	}
	char ttl[32], stale[32];
	duration_text(ttl, sizeof(ttl), c->ttl_ns);
	duration_text(stale, sizeof(stale), c->stale_ns);
	fprintf(f, "cache %s\n", c->name);
	if (c->stale_ns > 0)
		fprintf(f, "  freshness  fresh for %s, then served stale for %s more\n", ttl, stale);
	else
		fprintf(f, "  freshness  fresh for %s, never served stale\n", ttl);
	fprintf(f, "  entries    %llu of %u (values up to %u bytes)\n", ull(c->entries), c->slots,
		c->value_max);
	fprintf(f, "  gets       %llu %s, %llu %s, %llu %s", ull(c->hits), noun(c->hits, "hit", "hits"),
		ull(c->stale_hits), noun(c->stale_hits, "stale hit", "stale hits"), ull(c->misses),
		noun(c->misses, "miss", "misses"));
	double r = hit_ratio(c);
	if (r >= 0)
		fprintf(f, " (%.1f%% answered)", r * 100);
	fprintf(f, "\n  puts       %llu\n", ull(c->puts));
}

/* ---- commands ---------------------------------------------------------------- */

static int bad_name(const char *kind, const char *action, const char *name)
{
	if (fbx_name_check_record(name) == 0)
		return 0;
	return ctl_fail("%s %s: bad %s name '%s' (1-63 printable characters, no spaces)", kind,
			action, kind, name);
}

static int full(const struct ctl *c, fbx_box *box, const char *kind, const char *option)
{
	fbx_box_info bi;
	uint32_t cap = 0;
	if (fbx_box_info_get(box, &bi) == 0)
		cap = strcmp(kind, "budget") == 0     ? bi.capacity.budgets
		      : strcmp(kind, "bulkhead") == 0 ? bi.capacity.bulkheads
						      : bi.capacity.caches;
	return ctl_fail("box '%s' has no room for another %s (it holds %u; create the box with a "
			"larger %s)", c->box, kind, cap, option);
}

/* `KIND show NAME [--json]`, from a snapshot. */
static int show(struct ctl *c, const char *kind, int argc, char **argv)
{
	struct ctl_opt o[] = {{"--json", false, NULL}};
	char *name[1];
	size_t npos;
	int rest;
	if (ctl_options(argc, argv, o, 1, name, 1, &npos, &rest) || ctl_end(argc, argv, rest))
		return CTL_ERR;
	if (npos != 1)
		return ctl_fail("usage: %s show NAME [--json]", kind);
	if (bad_name(kind, "show", name[0]))
		return CTL_ERR;
	fbx_box *box;
	fbx_snapshot *s;
	if (ctl_snapshot(c, &box, &s))
		return CTL_ERR;
	bool json = o[0].value != NULL;
	int rc = CTL_YES;
	if (strcmp(kind, "budget") == 0) {
		const fbx_budget_info *b = find_budget(s, name[0]);
		if (b == NULL)
			rc = ctl_fail("box '%s' has no budget '%s'", c->box, name[0]);
		else if (json)
			show_budget_json(stdout, b, true);
		else
			budget_text(stdout, b);
	} else if (strcmp(kind, "bulkhead") == 0) {
		const fbx_bulkhead_info *h = find_bulkhead(s, name[0]);
		if (h == NULL)
			rc = ctl_fail("box '%s' has no bulkhead '%s'", c->box, name[0]);
		else if (json)
			show_bulkhead_json(stdout, h, true);
		else
			bulkhead_text(stdout, h);
	} else {
		const fbx_cache_info *k = find_cache(s, name[0]);
		if (k == NULL)
			rc = ctl_fail("box '%s' has no cache '%s'", c->box, name[0]);
		else if (json)
			show_cache_json(stdout, k, true);
		else
			cache_text(stdout, k);
	}
	if (rc == CTL_YES && json)
		fputc('\n', stdout);
	ctl_snapshot_close(box, s);
	return rc;
}

/* Says who is in the way of an add with other settings: the record as it
 * is, as the options that would match it. */
static int conflict(fbx_box *box, const char *kind, const char *name)
{
	fbx_snapshot *s = NULL;
	char have[128] = "";
	if (fbx_snapshot_new(box, &s) == 0 && fbx_snapshot_take(box, s) == 0) {
		const fbx_budget_info *b = strcmp(kind, "budget") == 0 ? find_budget(s, name) : NULL;
		const fbx_bulkhead_info *h = strcmp(kind, "bulkhead") == 0 ? find_bulkhead(s, name) : NULL;
		const fbx_cache_info *k = strcmp(kind, "cache") == 0 ? find_cache(s, name) : NULL;
		if (b != NULL)
			snprintf(have, sizeof(have), " (%s)", budget_policy_options(b));
		else if (h != NULL)
			snprintf(have, sizeof(have), " (--cap %u)", h->cap);
		else if (k != NULL)
			snprintf(have, sizeof(have), " (%s)", cache_policy_options(k));
	}
	fbx_snapshot_free(s);
	return ctl_fail("%s '%s' exists with a different configuration%s", kind, name, have);
}

/* What every add does once its settings are checked: register, and say
 * why not. */
static int added(const struct ctl *c, fbx_box *box, int rc, const char *kind, const char *name,
		 const char *option)
{
	if (rc == FBX_ECONFLICT)
		rc = conflict(box, kind, name);
	else if (rc == FBX_EFULL)
		rc = full(c, box, kind, option);
	else if (rc)
		rc = ctl_fail_rc(rc, "%s '%s'", kind, name);
	fbx_box_close(box);
	return rc ? CTL_ERR : CTL_YES;
}

static int budget_add(struct ctl *c, int argc, char **argv)
{
	struct ctl_opt o[] = {{"--percent", true, 0}, {"--min-per-sec", true, 0}, {"--ttl", true, 0}};
	char *name[1];
	size_t npos;
	int rest;
	if (ctl_options(argc, argv, o, 3, name, 1, &npos, &rest) || ctl_end(argc, argv, rest))
		return CTL_ERR;
	if (npos != 1)
		return ctl_fail("usage: budget add NAME [--percent P] [--min-per-sec N] [--ttl DURATION]");
	fbx_budget_config cfg;
	fbx_budget_config_init(&cfg);
	for (size_t k = 0; k < 3; k++)
		if (o[k].value != NULL && budget_setting(&cfg, o[k].name, o[k].value, "budget add"))
			return CTL_ERR;
	if (budget_check(name[0], &cfg, "budget add"))
		return CTL_ERR;
	fbx_box *box;
	if (ctl_open(c, true, &box))
		return CTL_ERR;
	fbx_budget *g;
	return added(c, box, fbx_budget_register(box, name[0], &cfg, &g), "budget", name[0],
		     "--budgets");
}

int cmd_budget(struct ctl *c)
{
	if (c->argc < 1)
		return ctl_fail("budget: which action? (add, show)");
	const char *a = c->argv[0];
	if (strcmp(a, "add") == 0)
		return budget_add(c, c->argc - 1, c->argv + 1);
	if (strcmp(a, "show") == 0)
		return show(c, "budget", c->argc - 1, c->argv + 1);
	return ctl_fail("budget: unknown action '%s' (add, show)", a);
}

static int bulkhead_add(struct ctl *c, int argc, char **argv)
{
	struct ctl_opt o[] = {{"--cap", true, 0}};
	char *name[1];
	size_t npos;
	int rest;
	if (ctl_options(argc, argv, o, 1, name, 1, &npos, &rest) || ctl_end(argc, argv, rest))
		return CTL_ERR;
	if (npos != 1 || o[0].value == NULL)
		return ctl_fail("usage: bulkhead add NAME --cap N");
	uint32_t cap = 0;
	if (bulkhead_setting(&cap, "--cap", o[0].value, "bulkhead add") ||
	    bulkhead_check(name[0], cap, "bulkhead add"))
		return CTL_ERR;
	fbx_box *box;
	if (ctl_open(c, true, &box))
		return CTL_ERR;
	fbx_bulkhead *h;
	return added(c, box, fbx_bulkhead_register(box, name[0], cap, &h), "bulkhead", name[0],
		     "--bulkheads");
}

int cmd_bulkhead(struct ctl *c)
{
	if (c->argc < 1)
		return ctl_fail("bulkhead: which action? (add, show)");
	const char *a = c->argv[0];
	if (strcmp(a, "add") == 0)
		return bulkhead_add(c, c->argc - 1, c->argv + 1);
	if (strcmp(a, "show") == 0)
		return show(c, "bulkhead", c->argc - 1, c->argv + 1);
	return ctl_fail("bulkhead: unknown action '%s' (add, show)", a);
}

static int cache_add(struct ctl *c, int argc, char **argv)
{
	struct ctl_opt o[] = {{"--ttl", true, 0}, {"--stale", true, 0}};
	char *name[1];
	size_t npos;
	int rest;
	if (ctl_options(argc, argv, o, 2, name, 1, &npos, &rest) || ctl_end(argc, argv, rest))
		return CTL_ERR;
	if (npos != 1 || o[0].value == NULL)
		return ctl_fail("usage: cache add NAME --ttl DURATION [--stale DURATION]");
	struct cache_spec spec = {0, 0};
	for (size_t k = 0; k < 2; k++)
		if (o[k].value != NULL && cache_setting(&spec, o[k].name, o[k].value, "cache add"))
			return CTL_ERR;
	if (cache_check(name[0], &spec, "cache add"))
		return CTL_ERR;
	fbx_box *box;
	if (ctl_open(c, true, &box))
		return CTL_ERR;
	fbx_cache *k;
	return added(c, box, fbx_cache_register(box, name[0], spec.ttl_ns, spec.stale_ns, &k),
		     "cache", name[0], "--caches");
}

/* The key as typed: a cache key is 1 to FBX_CACHE_KEY_MAX bytes. */
static int cache_key(const char *action, const char *key)
{
	size_t n = strlen(key);
	if (n == 0)
		return ctl_fail("cache %s: the key is empty", action);
	if (n > FBX_CACHE_KEY_MAX)
		return ctl_fail("cache %s: the key is %zu bytes, at most %d", action, n,
				FBX_CACHE_KEY_MAX);
	return 0;
}

/* A cache's handle: read-only for a get (a read-only handle counts
 * nothing), writable for a drop. */
static int open_cache(const struct ctl *c, const char *name, bool write, fbx_box **box,
		      fbx_cache **k)
{
	if (ctl_open(c, write, box))
		return CTL_ERR;
	int rc = fbx_cache_find(*box, name, k);
	if (rc == 0)
		return 0;
	fbx_box_close(*box);
	*box = NULL;
	if (rc == FBX_ENOENT)
		return ctl_fail("box '%s' has no cache '%s'", c->box, name);
	return ctl_fail_rc(rc, "cache '%s'", name);
}

/* UTF-8's length of the sequence at s (n bytes left), or 0 when it is not
 * one a terminal shows as text: C1 controls and malformed or overlong
 * sequences are escaped like the C0 ones. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
	if (len == 0 || len > n || s[0] >= 0xf5)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (len == 2 && s[0] == 0xc2 && s[1] < 0xa0)
		return 0; /* U+0080..U+009F */
	if ((len == 3 && s[0] == 0xe0 && s[1] < 0xa0) || (len == 3 && s[0] == 0xed && s[1] >= 0xa0) ||
	    (len == 4 && s[0] == 0xf0 && s[1] < 0x90) || (len == 4 && s[0] == 0xf4 && s[1] >= 0x90))
		return 0; /* overlong, a surrogate, beyond U+10FFFF */
	return len;
}

/* Printable text as it is, every other byte as \xHH and a backslash as \\,
 * so that the output can be read back exactly. */
static void put_value(const unsigned char *v, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t u = v[i] >= 0x80 ? utf8_char(v + i, n - i) : 0;
		if (u > 0) {
			fwrite(v + i, 1, u, stdout);
			i += u;
			continue;
		}
		if (v[i] == '\\')
			fputs("\\\\", stdout);
		else if (v[i] < 0x20 || v[i] >= 0x7f)
			printf("\\x%02x", v[i]);
		else
			fputc(v[i], stdout);
		i++;
	}
}

static void put_hex(const unsigned char *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", v[i]);
}

static int cache_get(struct ctl *c, int argc, char **argv)
{
	struct ctl_opt o[] = {{"--hex", false, 0}, {"--json", false, 0}};
	char *pos[2];
	size_t npos;
	int rest;
	if (ctl_options(argc, argv, o, 2, pos, 2, &npos, &rest) || ctl_end(argc, argv, rest))
		return CTL_ERR;
	if (npos != 2)
		return ctl_fail("usage: cache get NAME KEY [--hex | --json]");
	if (o[0].value != NULL && o[1].value != NULL)
		return ctl_fail("cache get: --hex or --json, not both");
	if (bad_name("cache", "get", pos[0]) || cache_key("get", pos[1]))
		return CTL_ERR;
	fbx_box *box;
	fbx_cache *k;
	if (open_cache(c, pos[0], false, &box, &k))
		return CTL_ERR;
	/* the largest value a box holds, and a NUL after it */
	static unsigned char buf[8192 + 1];
	fbx_cache_hit hit;
	int rc = fbx_cache_get(k, pos[1], strlen(pos[1]), buf, sizeof(buf) - 1, &hit);
	fbx_box_close(box);
	if (rc != 0 && rc != FBX_ENOENT)
		return ctl_fail_rc(rc, "cache '%s'", pos[0]);
	if (o[1].value != NULL) {
		fputs("{\"version\":1,\"cache\":", stdout);
		json_str(stdout, pos[0]);
		fputs(",\"key\":", stdout);
		json_str(stdout, pos[1]);
		printf(",\"found\":%s", rc == 0 ? "true" : "false");
		if (rc == 0) {
			bool ascii = true;
			for (size_t i = 0; i < hit.len; i++)
				ascii &= buf[i] != 0 && buf[i] < 0x80;
			printf(",\"stale\":%s,\"age_ms\":%llu,\"bytes\":%zu,\"value_hex\":\"",
			       hit.stale ? "true" : "false", (unsigned long long)(hit.age_ns / 1000000u),
			       hit.len);
			put_hex(buf, hit.len);
			/* json_str writes bytes, not characters: only ASCII goes
			 * through it unchanged */
			fputs("\",\"value\":", stdout);
			if (ascii) {
				buf[hit.len] = '\0';
				json_str(stdout, (const char *)buf);
			} else {
				fputs("null", stdout);
			}
		}
		fputs("}\n", stdout);
	} else if (rc == 0) {
		if (o[0].value != NULL)
			put_hex(buf, hit.len);
		else
			put_value(buf, hit.len);
		fputc('\n', stdout);
	}
	return rc == 0 ? CTL_YES : CTL_NO;
}

static int cache_drop(struct ctl *c, int argc, char **argv)
{
	char *pos[2];
	size_t npos;
	int rest;
	if (ctl_options(argc, argv, NULL, 0, pos, 2, &npos, &rest) || ctl_end(argc, argv, rest))
		return CTL_ERR;
	if (npos != 2)
		return ctl_fail("usage: cache drop NAME KEY");
	if (bad_name("cache", "drop", pos[0]) || cache_key("drop", pos[1]))
		return CTL_ERR;
	fbx_box *box;
	fbx_cache *k;
	if (open_cache(c, pos[0], true, &box, &k))
		return CTL_ERR;
	int rc = fbx_cache_drop(k, pos[1], strlen(pos[1]));
	fbx_box_close(box);
	/* a key that is not there: "no", as grep says it, not an error */
	if (rc == FBX_ENOENT)
		return CTL_NO;
	if (rc)
		return ctl_fail_rc(rc, "cache '%s'", pos[0]);
	/* the key as typed may hold anything a terminal acts on */
	printf("cache %s: key '", pos[0]);
	for (const char *p = pos[1]; *p; p++)
		putchar((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f ? *p : '?');
	printf("' dropped\n");
	return CTL_YES;
}

int cmd_cache(struct ctl *c)
{
	if (c->argc < 1)
		return ctl_fail("cache: which action? (add, show, get, drop)");
	const char *a = c->argv[0];
	if (strcmp(a, "add") == 0)
		return cache_add(c, c->argc - 1, c->argv + 1);
	if (strcmp(a, "show") == 0)
		return show(c, "cache", c->argc - 1, c->argv + 1);
	if (strcmp(a, "get") == 0)
		return cache_get(c, c->argc - 1, c->argv + 1);
	if (strcmp(a, "drop") == 0)
		return cache_drop(c, c->argc - 1, c->argv + 1);
	return ctl_fail("cache: unknown action '%s' (add, show, get, drop)", a);
}

/* ---- budgets, bulkheads, caches ------------------------------------------ */

enum listing { L_BUDGETS, L_BULKHEADS, L_CACHES };

static int listing(struct ctl *c, enum listing which)
{
	static const char *const cmd[] = {"budgets", "bulkheads", "caches"};
	bool json = false;
	for (int i = 0; i < c->argc; i++) {
		if (strcmp(c->argv[i], "--json") == 0)
			json = true;
		else
			return ctl_fail("%s: unknown argument '%s' (%s [--json])", cmd[which],
					c->argv[i], cmd[which]);
	}
	fbx_box *box;
	fbx_snapshot *s;
	if (ctl_snapshot(c, &box, &s))
		return CTL_ERR;
	size_t n[3];
	const fbx_budget_info *b = fbx_snapshot_budgets(s, &n[0]);
	const fbx_bulkhead_info *h = fbx_snapshot_bulkheads(s, &n[1]);
	const fbx_cache_info *k = fbx_snapshot_caches(s, &n[2]);
	if (json) {
		fputs("{\"version\":1,\"box\":", stdout);
		json_str(stdout, c->box);
		printf(",\"%s\":[", cmd[which]);
		for (size_t i = 0; i < n[which]; i++) {
			if (i)
				fputc(',', stdout);
			if (which == L_BUDGETS)
				show_budget_json(stdout, &b[i], false);
			else if (which == L_BULKHEADS)
				show_bulkhead_json(stdout, &h[i], false);
			else
				show_cache_json(stdout, &k[i], false);
		}
		fputs("]}\n", stdout);
	} else if (which == L_BUDGETS) {
		show_budgets_text(stdout, b, n[0]);
	} else if (which == L_BULKHEADS) {
		show_bulkheads_text(stdout, h, n[1]);
	} else {
		show_caches_text(stdout, k, n[2]);
	}
	ctl_snapshot_close(box, s);
	return CTL_YES;
}

int cmd_budgets(struct ctl *c)
{
	return listing(c, L_BUDGETS);
}

int cmd_bulkheads(struct ctl *c)
{
	return listing(c, L_BULKHEADS);
}

int cmd_caches(struct ctl *c)
{
	return listing(c, L_CACHES);
}
