/* helpers.c — see helpers.h. */
#include <check.h>
#include <dirent.h>
#include <stddef.h>
#include <errno.h>
#include <grp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

/* ---- box names and clean-up -------------------------------------------- */

/* Boxes this test process created, unlinked when it exits (check's fork
 * mode exits after each test, failed or not). */
static char made[16][32];
static int n_made;

static void unlink_made(void)
{
	for (int i = 0; i < n_made; i++)
		fbx_box_unlink(made[i]);
	n_made = 0;
}

const char *tbox_name(void)
{
	static char name[32];
	static int serial;
	snprintf(name, sizeof(name), "t%d-%d", (int)getpid(), ++serial);
	return name;
}

const char *tname(const char *prefix)
{
	static char name[40];
	static int serial;
	snprintf(name, sizeof(name), "%s%d_%d_%d", prefix, (int)getppid(), (int)getpid(), ++serial);
	return name;
}

void tsweep(const char *prefix)
{
	char pfx[64];
	snprintf(pfx, sizeof(pfx), "fusebox.%s%d_", prefix, (int)getpid());
	DIR *d = opendir("/dev/shm");
	if (d == NULL)
		return;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		if (strncmp(e->d_name, pfx, strlen(pfx)) == 0) {
			char obj[300];
			snprintf(obj, sizeof(obj), "/%s", e->d_name);
			shm_unlink(obj);
		}
	}
	closedir(d);
}

fbx_box *tbox_create(const fbx_box_config *cfg)
{
	fbx_box_config c;
	if (cfg == NULL) {
		fbx_box_config_init(&c);
		c.breakers = 16;
		c.limiters = 8;
		c.keys = 256;
		c.events = 64;
		c.workers = 16;
		cfg = &c;
	}
	fbx_box *box = NULL;
	const char *name = tbox_name();
	int rc = fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, cfg, &box);
	if (rc == FBX_EEXIST) {
		/* the name holds our pid: a test killed before it could unlink,
		 * in an earlier run, had the same pid */
		fbx_box_unlink(name);
		rc = fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, cfg, &box);
	}
	ck_assert_msg(rc == 0, "create box: %s", fbx_strerror(rc));
	if (n_made == 0)
		atexit(unlink_made);
	if (n_made < 16)
		snprintf(made[n_made++], sizeof(made[0]), "%s", name);
	return box;
}

void tbox_unlink(fbx_box *box)
{
	fbx_box_info info;
	if (fbx_box_info_get(box, &info) == 0)
		fbx_box_unlink(info.name);
}

void tbox_config_small(fbx_box_config *c)
{
	fbx_box_config_init(c);
	c->breakers = 16;
	c->limiters = 8;
	c->keys = 256;
	c->events = 64;
	c->workers = 16;
	c->checks = 4;
}

fbx_box *tbox_create_named(const char *name, const fbx_box_config *cfg)
{
	fbx_box_config c;
	if (cfg == NULL) {
		tbox_config_small(&c);
		cfg = &c;
	}
	fbx_box *box = NULL;
	int rc = fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, cfg, &box);
	ck_assert_msg(rc == 0, "create box %s: %s", name, fbx_strerror(rc));
	ck_assert_ptr_nonnull(box);
	return box;
}

fbx_box *tbox_create_unlinked(const char *prefix, const fbx_box_config *cfg)
{
	const char *name = tname(prefix);
	fbx_box *box = tbox_create_named(name, cfg);
	ck_assert_int_eq(fbx_box_unlink(name), 0);
	return box;
}

fbx_box *tbox_populated(const char *name, uint32_t mode)
{
	fbx_box_config cfg;
	tbox_config_small(&cfg);
	cfg.mode = mode;
	fbx_box *box = tbox_create_named(name, &cfg);
	fbx_breaker_config bc;
	tbreaker_config_no_trip(&bc);
	tbreaker_outcomes(tbreaker_reg(box, "ro-b", &bc), 4, 0, 0);
	fbx_limiter_config lc;
	tlim_config(&lc, "10/second", FBX_ALGO_WINDOW, 1, 0, 0);
	fbx_limiter *l;
	ck_assert_int_eq(fbx_limiter_register(box, "ro-l", &lc, &l), 0);
	fbx_limit_result res;
	ck_assert_int_eq(fbx_limiter_take(l, NULL, 0, 1, &res), 0);
	return box;
}

#define TSNAP_PREFIX "sn"

void tbox_config_snap(fbx_box_config *c)
{
	tbox_config_small(c);
	c->breakers = 8;
	c->workers = 8;
}

fbx_box *tsnap_box(const fbx_box_config *cfg)
{
	fbx_box_config c;
	if (cfg == NULL) {
		tbox_config_snap(&c);
		cfg = &c;
	}
	return tbox_create_unlinked(TSNAP_PREFIX, cfg);
}

void tsnap_sweep(void)
{
	tsweep(TSNAP_PREFIX);
}

fbx_box *treopen(fbx_box *box)
{
	fbx_box_info info;
	fbx_box *other = NULL;
	ck_assert_int_eq(fbx_box_info_get(box, &info), 0);
	ck_assert_int_eq(fbx_box_open(info.name, 0, NULL, &other), 0);
	ck_assert_ptr_nonnull(other);
	ck_assert_ptr_ne(other, box);
	return other;
}

void tshm_path(char out[128], const char *name)
{
	snprintf(out, 128, "/dev/shm/fusebox.%.64s", name);
}

void tshm_obj(char out[128], const char *name)
{
	snprintf(out, 128, "/fusebox.%.64s", name);
}

int tshm_exists(const char *name)
{
	char path[128];
	struct stat st;
	tshm_path(path, name);
	return stat(path, &st) == 0;
}

/* ---- a fake clock -------------------------------------------------------- */

static _Atomic uint64_t *clock_word;

static uint64_t fake_now(void *arg)
{
	(void)arg;
	return atomic_load(clock_word);
}

void tclock_install(void)
{
	if (clock_word == NULL) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		ck_assert(p != MAP_FAILED);
		clock_word = p;
	}
	atomic_store(clock_word, 1000ull * 1000000000ull);
	fbx_clock_set(fake_now, NULL);
}

void tclock_advance_ms(uint64_t ms)
{
	atomic_fetch_add(clock_word, ms * 1000000ull);
}

void tclock_set_ns(uint64_t ns)
{
	atomic_store(clock_word, ns);
}

uint64_t tclock_ns(void)
{
	return atomic_load(clock_word);
}

void tsleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- processes ------------------------------------------------------------ */

int twait(pid_t pid)
{
	int st = 0;
	while (waitpid(pid, &st, 0) < 0)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

pid_t tfork(void)
{
	pid_t pid = fork();
	ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
	return pid;
}

int tfork_wait(int (*child)(void *), void *arg)
{
	pid_t pid = tfork();
	if (pid == 0)
		_exit(child(arg));
	return twait(pid);
}

void tbecome_nobody(void)
{
	if (setgroups(0, NULL) != 0 || setgid(TNOBODY) != 0 || setuid(TNOBODY) != 0)
		_exit(100);
	if (geteuid() != TNOBODY || getegid() != TNOBODY)
		_exit(101);
}

/* ---- breakers and snapshots ---------------------------------------------- */

fbx_breaker *tbreaker_reg(fbx_box *box, const char *name, const fbx_breaker_config *cfg)
{
	fbx_breaker_config def;
	if (cfg == NULL) {
		fbx_breaker_config_init(&def);
		cfg = &def;
	}
	fbx_breaker *b = NULL;
	int rc = fbx_breaker_register(box, name, cfg, &b);
	ck_assert_msg(rc == 0, "register %s: %s", name, fbx_strerror(rc));
	return b;
}

void tbreaker_config_no_trip(fbx_breaker_config *c)
{
	fbx_breaker_config_init(c);
	c->fail_max = 1000;
}

void tbreaker_call(fbx_breaker *b, fbx_outcome o, uint64_t dur)
{
	fbx_permit p;
	int rc = fbx_breaker_allow(b, &p);
	ck_assert_msg(rc == 0, "allow: %s", fbx_strerror(rc));
	ck_assert_int_eq(fbx_breaker_done(b, &p, o, dur), 0);
}

void tbreaker_outcomes(fbx_breaker *b, int succ, int fail, int ign)
{
	for (int i = 0; i < succ + fail + ign; i++)
		tbreaker_call(b, i < succ ? FBX_SUCCESS : i < succ + fail ? FBX_FAILURE : FBX_IGNORED,
			      0);
}

fbx_snapshot *tsnap_of(fbx_box *box)
{
	fbx_snapshot *s = NULL;
	ck_assert_int_eq(fbx_snapshot_new(box, &s), 0);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(fbx_snapshot_take(box, s), 0);
	return s;
}

/* A snapshot's breakers and limiters are both arrays of records that hold
 * their name and a corrupt flag: one finder serves both. */
struct recs {
	const char *kind;
	const char *base;
	size_t n, size, name_off, corrupt_off;
};

static struct recs breakers_of(const fbx_snapshot *s)
{
	struct recs r = {"breaker", NULL, 0, sizeof(fbx_breaker_info),
			 offsetof(fbx_breaker_info, name), offsetof(fbx_breaker_info, corrupt)};
	r.base = (const char *)fbx_snapshot_breakers(s, &r.n);
	return r;
}

static struct recs limiters_of(const fbx_snapshot *s)
{
	struct recs r = {"limiter", NULL, 0, sizeof(fbx_limiter_info),
			 offsetof(fbx_limiter_info, name), offsetof(fbx_limiter_info, corrupt)};
	r.base = (const char *)fbx_snapshot_limiters(s, &r.n);
	return r;
}

/* The first record named NAME, or NULL; *count says how many are. */
static const void *rec_find(struct recs r, const char *name, size_t *count)
{
	const char *found = NULL;
	size_t k = 0;
	for (size_t i = 0; i < r.n; i++) {
		const char *rec = r.base + i * r.size;
		if (strcmp(rec + r.name_off, name) == 0) {
			found = found != NULL ? found : rec;
			k++;
		}
	}
	if (count != NULL)
		*count = k;
	return found;
}

/* With once, the name must also be on no other record. */
static const void *rec_need(struct recs r, const char *name, int once)
{
	size_t k;
	const char *rec = rec_find(r, name, &k);
	ck_assert_msg(rec != NULL, "no %s %s in the snapshot", r.kind, name);
	ck_assert_msg(!once || k == 1, "%s %s found %zu times in the snapshot", r.kind, name, k);
	int corrupt;
	memcpy(&corrupt, rec + r.corrupt_off, sizeof(corrupt));
	ck_assert_msg(!corrupt, "%s %s reads as corrupt", r.kind, name);
	return rec;
}

const fbx_breaker_info *tsnap_breaker(const fbx_snapshot *s, const char *name)
{
	return rec_find(breakers_of(s), name, NULL);
}

const fbx_limiter_info *tsnap_limiter(const fbx_snapshot *s, const char *name)
{
	return rec_find(limiters_of(s), name, NULL);
}

const fbx_breaker_info *tneed_breaker(const fbx_snapshot *s, const char *name)
{
	return rec_need(breakers_of(s), name, 0);
}

const fbx_limiter_info *tneed_limiter(const fbx_snapshot *s, const char *name)
{
	return rec_need(limiters_of(s), name, 0);
}

const fbx_breaker_info *tbreaker_info(fbx_box *box, fbx_snapshot *s, const char *name)
{
	ck_assert_int_eq(fbx_snapshot_take(box, s), 0);
	return tneed_breaker(s, name);
}

const fbx_limiter_info *tlimiter_info(fbx_box *box, fbx_snapshot *s, const char *name)
{
	ck_assert_int_eq(fbx_snapshot_take(box, s), 0);
	return tneed_limiter(s, name);
}

fbx_breaker_info tbreaker_now(fbx_box *box, const char *name)
{
	fbx_snapshot *s = tsnap_of(box);
	fbx_breaker_info out = *(const fbx_breaker_info *)rec_need(breakers_of(s), name, 1);
	fbx_snapshot_free(s);
	return out;
}

fbx_limiter_info tlimiter_now(fbx_box *box, const char *name)
{
	fbx_snapshot *s = tsnap_of(box);
	fbx_limiter_info out = *(const fbx_limiter_info *)rec_need(limiters_of(s), name, 1);
	fbx_snapshot_free(s);
	return out;
}

/* ---- limiters ------------------------------------------------------------- */

fbx_box *tlim_box(uint32_t limiters, uint32_t keys)
{
	fbx_box_config c;
	fbx_box_config_init(&c);
	c.breakers = 4;
	c.limiters = limiters;
	c.keys = keys;
	c.events = 64;
	c.workers = 8;
	return tbox_create(&c);
}

void tlim_config(fbx_limiter_config *cfg, const char *rule, fbx_algorithm algo, uint32_t burst,
		 int keyed, int dry)
{
	fbx_limiter_config_init(cfg);
	cfg->rule = rule;
	cfg->algorithm = algo;
	cfg->burst = burst;
	cfg->keyed = keyed;
	cfg->dry_run = dry;
}

fbx_limiter *tlim_reg(fbx_box *box, const char *name, const char *rule, fbx_algorithm algo,
		      uint32_t burst, int keyed, int dry)
{
	fbx_limiter_config cfg;
	fbx_limiter *l = NULL;
	tlim_config(&cfg, rule, algo, burst, keyed, dry);
	int rc = fbx_limiter_register(box, name, &cfg, &l);
	ck_assert_msg(rc == 0, "register %s \"%s\" %s burst %u: %s", name, rule,
		      fbx_algorithm_name(algo), burst, fbx_strerror(rc));
	ck_assert_ptr_nonnull(l);
	return l;
}

int tlim_take(fbx_limiter *l, const char *key, uint32_t cost, fbx_limit_result *res)
{
	memset(res, 0xa5, sizeof(*res));
	return fbx_limiter_take(l, key, key ? strlen(key) : 0, cost, res);
}

void tlim_shape(int rc, const fbx_limit_result *r, const char *what)
{
	ck_assert_msg(rc == 0 || rc == FBX_ELIMITED, "%s: rc %d (%s)", what, rc,
		      fbx_strerror(rc));
	ck_assert_msg(r->now_ns == tclock_ns(), "%s: now_ns %llu, clock %llu", what,
		      (ull)r->now_ns, (ull)tclock_ns());
	if (rc == 0) {
		ck_assert_msg(r->allowed == 1, "%s: admitted, allowed %d", what, r->allowed);
		ck_assert_msg(r->remaining < r->limit, "%s: remaining %llu of %llu", what,
			      (ull)r->remaining, (ull)r->limit);
		if (!r->dry_run_denied)
			ck_assert_msg(r->retry_after_ns == 0, "%s: admitted, retry %llu",
				      what, (ull)r->retry_after_ns);
	} else {
		ck_assert_msg(r->allowed == 0 && r->dry_run_denied == 0,
			      "%s: denied, allowed %d dry %d", what, r->allowed,
			      r->dry_run_denied);
		ck_assert_msg(r->retry_after_ns > 0, "%s: denied without retry-after", what);
		ck_assert_msg(r->remaining <= r->limit, "%s: remaining %llu of %llu", what,
			      (ull)r->remaining, (ull)r->limit);
	}
}

int tlim_take_at(fbx_limiter *l, uint64_t t, uint32_t cost, fbx_limit_result *res,
		 const char *what)
{
	tclock_set_ns(t);
	int rc = tlim_take(l, NULL, cost, res);
	tlim_shape(rc, res, what);
	return rc;
}

int tlim_same(const fbx_limit_result *a, const fbx_limit_result *b)
{
	return a->allowed == b->allowed && a->dry_run_denied == b->dry_run_denied &&
	       a->limit == b->limit && a->remaining == b->remaining &&
	       a->reset_ns == b->reset_ns && a->retry_after_ns == b->retry_after_ns;
}

void tlim_counts(fbx_box *box, const char *name, uint64_t allowed, uint64_t denied,
		 uint64_t dry_denied)
{
	fbx_limiter_info li = tlimiter_now(box, name);
	ck_assert_msg(li.allowed == allowed && li.denied == denied &&
			      li.dry_run_denied == dry_denied,
		      "%s: allowed/denied/dry %llu/%llu/%llu, want %llu/%llu/%llu", name,
		      (ull)li.allowed, (ull)li.denied, (ull)li.dry_run_denied,
		      (ull)allowed, (ull)denied, (ull)dry_denied);
}

uint64_t trule_max_period(const char *text)
{
	fbx_rule r;
	uint64_t p = 0;
	ck_assert_int_eq(fbx_rule_parse(text, &r, NULL), 0);
	for (uint32_t i = 0; i < r.n; i++)
		if (r.limit[i].period_ns > p)
			p = r.limit[i].period_ns;
	return p;
}

uint64_t trnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s >> 33;
}

/* The largest is found with s at an admitted time, the first of its
 * instant. */
uint64_t tmax_sliding(const struct tadm *a, size_t n, uint64_t period)
{
	uint64_t best = 0, sum = 0;
	size_t hi = 0;
	for (size_t lo = 0; lo < n; lo++) {
		while (hi < n && a[hi].t - a[lo].t < period)
			sum += a[hi++].cost;
		if ((lo == 0 || a[lo - 1].t != a[lo].t) && sum > best)
			best = sum;
		sum -= a[lo].cost;
	}
	return best;
}

uint64_t tmax_aligned(const struct tadm *a, size_t n, uint64_t period)
{
	uint64_t best = 0, sum = 0, cur = UINT64_MAX;
	for (size_t i = 0; i < n; i++) {
		if (a[i].t / period != cur) {
			cur = a[i].t / period;
			sum = 0;
		}
		sum += a[i].cost;
		if (sum > best)
			best = sum;
	}
	return best;
}

struct tadm *tlim_run_sequence(fbx_limiter *l, const struct tlim_seq *row, uint64_t period,
			       uint64_t limit, uint64_t seed, size_t *n_adm, uint64_t *n_denied,
			       int probe_retry)
{
	struct tadm *adm = calloc(TLIM_SEQ_STEPS * 2, sizeof(*adm));
	uint64_t t = T_DAY0 + 12345, gap = period / limit;
	uint64_t last_retry = 0;
	fbx_limit_result r, p;
	size_t n = 0;
	int rc, denied_last = 0;

	ck_assert_ptr_nonnull(adm);
	*n_denied = 0;
	for (int step = 0; step < TLIM_SEQ_STEPS; step++) {
		uint64_t x = trnd(&seed);
		uint32_t cost = 1 + (uint32_t)(trnd(&seed) % row->max_cost);

		if (denied_last && x % 4 != 0)
			t += last_retry; /* a client that honours Retry-After */
		else if (x % 29 == 0)
			t += trnd(&seed) % (2 * period + 1); /* idle */
		else
			t += trnd(&seed) % (2 * gap + 1);
		rc = tlim_take_at(l, t, cost, &r, row->rule);
		if (rc == 0) {
			adm[n].t = t;
			adm[n].cost = cost;
			n++;
			denied_last = 0;
			continue;
		}
		(*n_denied)++;
		denied_last = 1;
		last_retry = r.retry_after_ns;
		if (probe_retry) {
			/* exact: one ns earlier is still too early */
			tclock_set_ns(t + r.retry_after_ns - 1);
			rc = tlim_take(l, NULL, cost, &p);
			ck_assert_msg(rc == FBX_ELIMITED,
				      "%s burst %u cost %u: admitted 1 ns before retry-after %llu",
				      row->rule, row->burst, cost, (ull)r.retry_after_ns);
			ck_assert_msg(p.retry_after_ns == 1,
				      "%s burst %u cost %u: 1 ns before, retry-after %llu",
				      row->rule, row->burst, cost, (ull)p.retry_after_ns);
			t += r.retry_after_ns;
			tclock_set_ns(t);
			rc = tlim_take(l, NULL, cost, &p);
			ck_assert_msg(rc == 0,
				      "%s burst %u cost %u: denied at retry-after %llu",
				      row->rule, row->burst, cost, (ull)r.retry_after_ns);
			adm[n].t = t;
			adm[n].cost = cost;
			n++;
			denied_last = 0;
		}
	}
	*n_adm = n;
	return adm;
}

struct tadm *tlim_sequence_run(fbx_box **box, const char *name, const struct tlim_seq *row,
			       uint64_t seed, int probe_retry, fbx_rule *rule, size_t *n_adm,
			       uint64_t *n_denied)
{
	tclock_install();
	*box = tlim_box(4, 64);
	fbx_limiter *l = tlim_reg(*box, name, row->rule, row->algo, row->burst, 0, 0);
	ck_assert_int_eq(fbx_rule_parse(row->rule, rule, NULL), 0);
	return tlim_run_sequence(l, row, rule->limit[0].period_ns, rule->limit[0].count, seed,
				 n_adm, n_denied, probe_retry);
}

/* ---- the threads suites --------------------------------------------------- */

fbx_box *tthreads_box;
static char tthreads_name[40];
pthread_barrier_t tline_up;

void tthreads_setup(void)
{
	tclock_install();
	fbx_box_config cfg;
	fbx_box_config_init(&cfg);
	cfg.breakers = 16;
	cfg.limiters = 8;
	cfg.keys = 1024;
	cfg.events = TTHREADS_EVENTS;
	cfg.workers = 4;
	snprintf(tthreads_name, sizeof(tthreads_name), "%s", tname(TTHREADS_PREFIX));
	int rc = fbx_box_open(tthreads_name, FBX_OPEN_CREATE | FBX_OPEN_EXCL | FBX_OPEN_THREADS,
			      &cfg, &tthreads_box);
	ck_assert_msg(rc == 0, "create %s: %s", tthreads_name, fbx_strerror(rc));
}

void tthreads_teardown(void)
{
	fbx_box_unlink(tthreads_name);
	fbx_box_close(tthreads_box);
	fbx_clock_set(NULL, NULL);
}

void tthreads_sweep(void)
{
	tsweep(TTHREADS_PREFIX);
}

void tno_surprise(const struct tsurprise *s, int thread)
{
	ck_assert_msg(s->line == 0, "thread %d: '%s' was false at line %d (value %d%s%s)", thread,
		      s->what, s->line, s->value, s->value < 0 ? ": " : "",
		      s->value < 0 ? fbx_strerror(s->value) : "");
}

void tthreads_start(pthread_t *th, int n, void *(*fn)(void *), void *args, size_t size,
		    unsigned barrier_parties)
{
	ck_assert_int_eq(pthread_barrier_init(&tline_up, NULL, barrier_parties), 0);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, fn, (char *)args + (size_t)i * size), 0);
}

void tthreads_join(pthread_t *th, int n)
{
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	pthread_barrier_destroy(&tline_up);
}

void tthreads_run(int n, void *(*fn)(void *), void *args, size_t size)
{
	pthread_t th[TTHREADS_N * 2];
	ck_assert_int_le(n, (int)ARRAY_LEN(th));
	tthreads_start(th, n, fn, args, size, (unsigned)n);
	tthreads_join(th, n);
}

fbx_event *tevents_all(fbx_box *box, size_t *n)
{
	fbx_event *ev = calloc(TTHREADS_EVENTS, sizeof(*ev));
	ck_assert_ptr_nonnull(ev);
	uint64_t next;
	ck_assert_int_eq(fbx_events_read(box, 0, ev, TTHREADS_EVENTS, n, &next), 0);
	ck_assert_uint_eq(next, *n);
	for (size_t i = 0; i < *n; i++) {
		ck_assert_uint_eq(ev[i].seq, i);
		ck_assert_msg(!ev[i].corrupt, "event %zu is corrupt with no writer left", i);
	}
	return ev;
}

void tevents_in_order(const fbx_event *ev, size_t n, uint64_t first)
{
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(ev[i].seq, first + i);
		if (i > 0)
			ck_assert_uint_ge(ev[i].time_ns, ev[i - 1].time_ns);
	}
}

size_t tcount_events(const fbx_event *ev, size_t n, fbx_event_kind kind, int cause,
		     const char *rec)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += ev[i].kind == kind && (cause < 0 || (int)ev[i].cause == cause) &&
		     (rec == NULL || strcmp(ev[i].name, rec) == 0);
	return k;
}
