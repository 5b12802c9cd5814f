/*
 * fuzz_box.c — every reader of a box, over a segment anyone with write
 * access could have scribbled on.
 *
 * Once: a real box is made with the public API (breakers closed, open,
 * half-open with trials out, forced, with count and time windows; keyed
 * and global limiters, window and GCRA, dry-run, a changed rule, evicted
 * and most-denied keys; a ring of events that has wrapped), and its bytes
 * are kept.  Each input: those bytes are put back into the shm object,
 * the input's patches are written over them, and then everything a reader
 * does is done: open read-only (refuse or accept, never crash), snapshot
 * twice, events from several points, find by name, the console's screen
 * model at three sizes, fuseboxctl's printers and its status, events and
 * metrics commands.  What the header promises of a snapshot of a damaged
 * box is checked, and so is every JSON text the tool prints.
 *
 * Input: VIEW SELECTED OBJECT, then patches {REGION OFF_LO OFF_HI LEN
 * BYTES...}.  VIEW and SELECTED set up the console (console()); OBJECT
 * bit 0 reseals the events (reseal_events()), 0xf0-0xff cuts the object
 * short (truncate_object()); REGION picks the
 * header, a record array, the event ring, ... (region()) and OFF is taken
 * modulo its size.  No writer ever runs on a patched box: hardening
 * writers against a scribbled segment is separate work.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "fuzz.h"
#include "internal.h"
#include "json_valid.h"
#include "screen.h"

#define BOX_PREFIX "fuzzbox-"
#define S_NS 1000000000ull
#define MS_NS 1000000ull

static char box_name[40];
static int obj_fd = -1;
static uint8_t *obj, *pristine;
static size_t obj_size;
static fbx_snapshot *pristine_snap;
static struct tui_history history;
static unsigned long inputs, opened;

/* The box's clock stands still while fuzzing, so each input is read the
 * same way every time it runs. */
static uint64_t now_ns = 1000 * S_NS;
static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return now_ns;
}

/* ---- the box, made once ----------------------------------------------------- */

static void must(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(fuzz_err, "fuzz_box: setting up %s: %s\n", what, fbx_strerror(rc));
		exit(1);
	}
}

static fbx_breaker *breaker(fbx_box *box, const char *name, const fbx_breaker_config *c)
{
	fbx_breaker *b;
	must(fbx_breaker_register(box, name, c, &b), name);
	return b;
}

static void call(fbx_breaker *b, fbx_outcome outcome, uint64_t duration_ns)
{
	fbx_permit p;
	if (fbx_breaker_allow(b, &p) == 0)
		fbx_breaker_done(b, &p, outcome, duration_ns);
	now_ns += 10 * MS_NS;
}

static void make_breakers(fbx_box *box)
{
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	fbx_breaker *b = breaker(box, "catalog", &c);
	for (int i = 0; i < 6; i++)
		call(b, i % 3 == 2 ? FBX_FAILURE : i == 4 ? FBX_IGNORED : FBX_SUCCESS, MS_NS);

	c.fail_max = 3;
	c.reset_timeout_ns = 30 * S_NS;
	b = breaker(box, "payments", &c);
	for (int i = 0; i < 5; i++)
		call(b, FBX_FAILURE, 0); /* three trip it, two are rejected */

	fbx_breaker_config_init(&c);
	c.fail_max = 0;
	c.failure_rate_pct = 60;
	c.slow_rate_pct = 70;
	c.slow_call_ns = 100 * MS_NS;
	c.window_ns = 10 * S_NS;
	c.min_calls = 4;
	b = breaker(box, "search", &c);
	for (int i = 0; i < 8; i++) {
		call(b, i % 4 == 1 ? FBX_FAILURE : FBX_SUCCESS, i % 3 == 0 ? 150 * MS_NS : MS_NS);
		now_ns += 700 * MS_NS; /* over several buckets */
	}

	c.window_ns = 0;
	c.window_calls = 16;
	c.failure_rate_pct = 40;
	b = breaker(box, "counted", &c);
	for (int i = 0; i < 20; i++)
		call(b, i % 4 == 0 ? FBX_FAILURE : FBX_SUCCESS, i % 5 == 0 ? 200 * MS_NS : MS_NS);

	/* open -> half-open, a failed trial (the period doubles), half-open
	 * again with two trials never reported */
	fbx_breaker_config_init(&c);
	c.fail_max = 1;
	c.reset_timeout_ns = 2 * MS_NS;
	c.reset_timeout_max_ns = 16 * MS_NS;
	c.half_open_max = 4;
	c.success_threshold = 3;
	c.trial_lease_ns = 3600 * S_NS;
	b = breaker(box, "embedding", &c);
	call(b, FBX_FAILURE, 0);
	call(b, FBX_FAILURE, 0);
	now_ns += 20 * MS_NS;
	fbx_permit p[3];
	for (int i = 0; i < 3; i++)
		must(fbx_breaker_allow(b, &p[i]), "a trial");
	must(fbx_breaker_done(b, &p[0], FBX_SUCCESS, MS_NS), "a trial");

	fbx_breaker_config_init(&c);
	must(fbx_breaker_trip(breaker(box, "ledger", &c), "db failover"), "trip");
	must(fbx_breaker_hold(breaker(box, "mailer", &c), "maint\xc3\xa9nance\tnight"), "hold");
	b = breaker(box, "legacy", &c);
	must(fbx_breaker_trip(b, NULL), "trip");
	must(fbx_breaker_release(b, "all clear"), "release");
	call(b, FBX_FAILURE, 0);
	must(fbx_breaker_reset(b, "a reason longer than the sixty-three bytes an event keeps of it"),
	     "reset");
}

static fbx_limiter *limiter(fbx_box *box, const char *name, const char *rule,
			    fbx_algorithm algo, uint32_t burst, int keyed, int dry_run)
{
	fbx_limiter_config c;
	fbx_limiter_config_init(&c);
	c.rule = rule;
	c.algorithm = algo;
	c.burst = burst;
	c.keyed = keyed;
	c.dry_run = dry_run;
	fbx_limiter *l;
	must(fbx_limiter_register(box, name, &c, &l), name);
	return l;
}

static void take(fbx_limiter *l, const void *key, size_t len, int times)
{
	fbx_limit_result r;
	for (int i = 0; i < times; i++) {
		fbx_limiter_take(l, key, len, 1, &r);
		now_ns += MS_NS;
	}
}

static void make_limiters(fbx_box *box)
{
	fbx_limiter *api = limiter(box, "api", "10/second;100/minute", FBX_ALGO_WINDOW, 1, 1, 0);
	char key[32];
	for (int i = 0; i < 200; i++) { /* more than the table holds: evictions */
		int n = snprintf(key, sizeof(key), "token-%d", i);
		take(api, key, (size_t)n, 1 + i % 3);
	}
	const char long_key[] = "a-key-much-longer-than-the-47-bytes-a-top-entry-keeps-of-it";
	const char odd_key[] = {'k', 0, 1, (char)0xff, '"', '\\', 'z'};
	take(api, "abuser", 6, 25);
	take(api, long_key, sizeof(long_key) - 1, 14);
	take(api, odd_key, sizeof(odd_key), 12);

	take(limiter(box, "global", "5/minute", FBX_ALGO_WINDOW, 1, 0, 0), NULL, 0, 8);
	take(limiter(box, "exact", "3/second;20/minute", FBX_ALGO_LOG, 1, 0, 0), NULL, 0, 7);
	fbx_limiter *users = limiter(box, "users", "5/minute", FBX_ALGO_LOG, 1, 1, 0);
	take(users, "u1", 2, 7);
	take(users, "u2", 2, 2);
	take(limiter(box, "pace", "10 per second", FBX_ALGO_GCRA, 3, 0, 0), NULL, 0, 9);
	fbx_limiter *tokens = limiter(box, "tokens", "100/hour;10/minute", FBX_ALGO_GCRA, 2, 1, 1);
	take(tokens, "t1", 2, 6);
	take(tokens, "t2", 2, 3);
	must(fbx_limiter_set_rule(tokens, "20/minute;200/hour", NULL), "set_rule");
	must(fbx_limiter_set_dry_run(tokens, 0, NULL), "dry-run");
	take(tokens, "t1", 2, 4);
	must(fbx_limiter_set_dry_run(tokens, 1, NULL), "dry-run");
}

/* Boxes of fuzzers that crashed stay in /dev/shm: remove those whose
 * process is gone. */
static void remove_stale_boxes(void)
{
	DIR *d = opendir("/dev/shm");
	for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
		int pid;
		char tail;
		if (sscanf(e->d_name, "fusebox." BOX_PREFIX "%d%c", &pid, &tail) == 1 && pid > 0 &&
		    kill(pid, 0) != 0 && errno == ESRCH)
			fbx_box_unlink(e->d_name + strlen("fusebox."));
	}
	if (d != NULL)
		closedir(d);
}

static void at_exit(void)
{
	fbx_box_unlink(box_name);
	/* run.sh adds this line to the target's summary */
	fprintf(fuzz_err, "fuzz-stat: opened %lu%% of inputs\n",
		inputs ? opened * 100 / inputs : 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* fuseboxctl's messages are of no interest here (fuzz.h) */
	fuzz_keep_stderr();
	stderr = fopen("/dev/null", "w");
	if (stderr == NULL)
		abort();
	remove_stale_boxes();
	snprintf(box_name, sizeof(box_name), BOX_PREFIX "%d", (int)getpid());
	fbx_box_unlink(box_name); /* a crashed run of a process with our pid */
	fbx_clock_set(fake_clock, NULL);

	fbx_box_config bc;
	fbx_box_config_init(&bc);
	bc.breakers = 8;
	bc.limiters = 6;
	bc.keys = 64;
	bc.events = 16;
	bc.workers = 4;
	bc.checks = 0;
	fbx_box *box;
	must(fbx_box_open(box_name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, &bc, &box), "the box");
	atexit(at_exit);
	make_breakers(box);
	make_limiters(box);
	fbx_box_close(box);

	char path[64];
	snprintf(path, sizeof(path), "/fusebox.%s", box_name);
	obj_fd = shm_open(path, O_RDWR | O_CLOEXEC, 0);
	struct stat st;
	if (obj_fd < 0 || fstat(obj_fd, &st) != 0)
		abort();
	obj_size = (size_t)st.st_size;
	obj = mmap(NULL, obj_size, PROT_READ | PROT_WRITE, MAP_SHARED, obj_fd, 0);
	pristine = malloc(obj_size);
	if (obj == MAP_FAILED || pristine == NULL)
		abort();
	/* An event's writer stamps the real clock when it begins, and readers
	 * call one in progress for over 2 s abandoned.  Stamped "long ago",
	 * an event the input marks in progress reads the same at every run. */
	const struct fbx__header *h = (const void *)obj;
	struct fbx__event_slot *ev = (void *)(obj + h->off_events);
	for (uint32_t i = 0; i < h->cap_events; i++)
		atomic_store(&ev[i].started, 1);
	memcpy(pristine, obj, obj_size);

	must(fbx_box_open(box_name, FBX_OPEN_RDONLY, NULL, &box), "reading the box");
	must(fbx_snapshot_new(box, &pristine_snap), "a snapshot");
	must(fbx_snapshot_take(box, pristine_snap), "a snapshot");
	if (tui_history_init(&history, box->cap_breakers) != 0)
		abort();
	fbx_box_close(box);
	now_ns += S_NS; /* the samples the console compares are a second apart */
	return 0;
}

/* ---- the input's patches ------------------------------------------------------ */

struct region {
	uint64_t off, len;
};

static struct region region(unsigned which)
{
	const struct fbx__header *h = (const void *)pristine;
	switch (which % 8) {
	case 0: return (struct region){0, sizeof(*h)};
	case 1: return (struct region){h->off_breakers, h->cap_breakers * sizeof(struct fbx__breaker_rec)};
	case 2: return (struct region){h->off_limiters, h->cap_limiters * sizeof(struct fbx__limiter_rec)};
	case 3: return (struct region){h->off_events, h->cap_events * sizeof(struct fbx__event_slot)};
	case 4: return (struct region){h->off_workers, h->off_checks - h->off_workers}; /* and shards */
	case 5: return (struct region){h->off_rings, h->off_limiters - h->off_rings};
	case 6: return (struct region){h->off_keys, h->off_events - h->off_keys};
	default: return (struct region){0, obj_size};
	}
}

/* Returns how many patches it wrote. */
static unsigned patch(const uint8_t *p, const uint8_t *end)
{
	unsigned n = 0;
	while (end - p >= 4) {
		struct region r = region(p[0]);
		size_t at = r.off + ((size_t)p[1] | (size_t)p[2] << 8) % r.len;
		size_t len = p[3];
		p += 4;
		if (len > (size_t)(end - p))
			len = (size_t)(end - p);
		if (len > obj_size - at)
			len = obj_size - at;
		memcpy(obj + at, p, len);
		p += len;
		n++;
	}
	return n;
}

/* Events carry a hash that catches torn records, not scribbles: anyone
 * who can write the box can write a matching hash too.  Resealed, the
 * patched fields of complete events reach the readers' range checks. */
static void reseal_events(void)
{
	const struct fbx__header *h = (const void *)pristine;
	struct fbx__event_slot *ev = (void *)(obj + h->off_events);
	for (uint32_t i = 0; i < h->cap_events; i++) {
		uint64_t s1 = atomic_load(&ev[i].seq1), w[FBX__EV_WORDS];
		if (s1 == 0 || (s1 & FBX__EV_BUSY))
			continue;
		for (int k = 0; k < FBX__EV_WORDS; k++)
			w[k] = atomic_load(&ev[i].w[k]);
		atomic_store(&ev[i].check, fbx__event_check(s1 - 1, w));
	}
}

/* A short object: validation must refuse it, nobody may map past its end. */
static bool truncate_object(unsigned how)
{
	const off_t sizes[] = {0, 64, sizeof(struct fbx__header) - 1,
			       (off_t)obj_size - 4096, (off_t)obj_size - 1};
	return ftruncate(obj_fd, sizes[how % 5]) == 0;
}

/* ---- what a snapshot of any box must look like ------------------------------- */

UNCOVERED static bool printable(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return n < cap;
}

UNCOVERED static void check_breaker(const fbx_breaker_info *b)
{
	CHECK(fbx_name_check_record(b->name) == 0);
	if (b->corrupt) {
		/* "returned with corrupt = 1 instead of its figures" */
		CHECK(b->successes == 0 && b->failures == 0 && b->trips == 0 && b->rejected == 0);
		CHECK(b->config.fail_max == 0 && b->config.reset_timeout_ns == 0);
		return;
	}
	CHECK(b->state < FBX_BREAKER_STATE_COUNT);
	CHECK(fbx_breaker_config_check(&b->config, NULL) == 0);
	CHECK(b->half_open_in_flight <= b->config.half_open_max);
	CHECK(b->state == FBX_OPEN || b->open_remaining_ns == 0);
	CHECK(b->state == FBX_CLOSED || b->consecutive_failures == 0);
	if (b->config.window_calls != 0)
		CHECK(b->window_calls <= b->config.window_calls &&
		      b->window_failures <= b->window_calls && b->window_slow <= b->window_calls);
}

UNCOVERED static void check_limiter(const fbx_limiter_info *l, uint64_t table_entries)
{
	CHECK(fbx_name_check_record(l->name) == 0);
	CHECK(memchr(l->rule, '\0', sizeof(l->rule)) != NULL);
	if (l->corrupt) {
		CHECK(l->rule[0] == '\0' && l->allowed == 0 && l->ntop == 0);
		return;
	}
	fbx_rule r;
	CHECK(fbx_rule_parse(l->rule, &r, NULL) == 0 && memcmp(&r, &l->parsed, sizeof(r)) == 0);
	CHECK(l->algorithm == FBX_ALGO_WINDOW || l->algorithm == FBX_ALGO_GCRA ||
	      l->algorithm == FBX_ALGO_LOG);
	CHECK(l->keys <= table_entries && l->ntop <= FBX_TOP_KEYS);
	CHECK(l->keyed || l->ntop == 0);
	for (uint32_t i = 0; i < l->ntop; i++) {
		CHECK(printable(l->top[i].key, sizeof(l->top[i].key)));
		CHECK(i == 0 || l->top[i].denials <= l->top[i - 1].denials);
	}
}

UNCOVERED static void check_event(const fbx_event *e, const fbx_box *box)
{
	CHECK(printable(e->reason, sizeof(e->reason)));
	if (e->corrupt) {
		CHECK(e->name[0] == '\0' && e->from == -1 && e->to == -1);
		return;
	}
	CHECK(e->kind >= FBX_EV_TRANSITION && e->kind <= FBX_EV_CONFIG);
	CHECK(e->cause < FBX_CAUSE_COUNT);
	CHECK(e->from >= -1 && e->from < FBX_BREAKER_STATE_COUNT);
	CHECK(e->to >= -1 && e->to < FBX_BREAKER_STATE_COUNT);
	CHECK(fbx_name_check_record(e->name) == 0);
	CHECK(e->record_type == FBX_REC_BREAKER   ? e->record < box->cap_breakers
	      : e->record_type == FBX_REC_LIMITER ? e->record < box->cap_limiters
						  : e->record_type == FBX_REC_BOX && e->record == 0);
}

UNCOVERED static void check_events(const fbx_event *ev, size_t n, const fbx_box *box)
{
	for (size_t i = 0; i < n; i++) {
		check_event(&ev[i], box);
		CHECK(i == 0 || ev[i].seq > ev[i - 1].seq);
	}
}

UNCOVERED static void check_snapshot(fbx_box *box, const fbx_snapshot *s)
{
	size_t nb, nl, ne;
	uint64_t dropped;
	const fbx_breaker_info *b = fbx_snapshot_breakers(s, &nb);
	const fbx_limiter_info *l = fbx_snapshot_limiters(s, &nl);
	const fbx_event *e = fbx_snapshot_events(s, &ne, &dropped);
	CHECK(nb <= box->cap_breakers && nl <= box->cap_limiters && ne <= box->cap_events);
	for (size_t i = 0; i < nb; i++)
		check_breaker(&b[i]);
	for (size_t i = 0; i < nl; i++)
		check_limiter(&l[i], (uint64_t)box->key_buckets * FBX__KB_WAYS);
	check_events(e, ne, box);
	CHECK(ne == 0 || dropped == e[0].seq);
}

/* Nothing writes the box meanwhile: a second copy of the records is the
 * same, byte for byte (padding included: the library clears each record
 * first).  Not so the events: one in progress turns abandoned when the
 * real clock passes its writer's stamp by 2 s, which an input may set to
 * any moment. */
UNCOVERED static void check_same(const fbx_snapshot *a, const fbx_snapshot *b)
{
	size_t na, nb;
	const void *x = fbx_snapshot_breakers(a, &na), *y = fbx_snapshot_breakers(b, &nb);
	CHECK(na == nb && memcmp(x, y, na * sizeof(fbx_breaker_info)) == 0);
	x = fbx_snapshot_limiters(a, &na);
	y = fbx_snapshot_limiters(b, &nb);
	CHECK(na == nb && memcmp(x, y, na * sizeof(fbx_limiter_info)) == 0);
}

/* ---- events from several points ----------------------------------------------- */

static void read_events_from(fbx_box *box, uint64_t from, size_t cap)
{
	static fbx_event out[1u << 10];
	size_t n = SIZE_MAX;
	uint64_t next = 0;
	CHECK(cap <= sizeof(out) / sizeof(out[0]));
	CHECK(fbx_events_read(box, from, cap ? out : NULL, cap, &n, &next) == 0);
	CHECK(n <= cap);
	check_events(out, n, box);
	if (n > 0)
		CHECK(out[0].seq >= from && next > out[n - 1].seq);
}

static void read_events(fbx_box *box, const fbx_snapshot *s, uint64_t extra)
{
	size_t n;
	uint64_t dropped;
	const fbx_event *e = fbx_snapshot_events(s, &n, &dropped);
	uint64_t last = n ? e[n - 1].seq : 0;
	const uint64_t from[] = {0, dropped, dropped + 1, last, last + 1, UINT64_MAX, extra};
	for (size_t i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
		read_events_from(box, from[i], 0);
		read_events_from(box, from[i], 3);
		read_events_from(box, from[i], box->cap_events);
	}
}

/* ---- finding records by name --------------------------------------------------- */

static void find_breaker_named(fbx_box *box, const char *name)
{
	fbx_breaker *b;
	if (fbx_breaker_find(box, name, &b) != 0)
		return;
	CHECK(strcmp(fbx_breaker_name(b), name) == 0);
	fbx_breaker_config c;
	CHECK(fbx_breaker_config_get(b, &c) == 0 && fbx_breaker_config_check(&c, NULL) == 0);
}

static void find_limiter_named(fbx_box *box, const char *name)
{
	fbx_limiter *l;
	if (fbx_limiter_find(box, name, &l) == 0)
		CHECK(strcmp(fbx_limiter_name(l), name) == 0);
}

static void find_all(fbx_box *box, const fbx_snapshot *s)
{
	const fbx_snapshot *both[] = {s, pristine_snap};
	for (size_t k = 0; k < 2; k++) {
		size_t n;
		const fbx_breaker_info *b = fbx_snapshot_breakers(both[k], &n);
		for (size_t i = 0; i < n; i++)
			find_breaker_named(box, b[i].name);
		const fbx_limiter_info *l = fbx_snapshot_limiters(both[k], &n);
		for (size_t i = 0; i < n; i++)
			find_limiter_named(box, l[i].name);
	}
}

/* ---- the console's screen model ------------------------------------------------ */

UNCOVERED static void check_screen(const struct tui_screen *scr)
{
	for (int r = 0; r < scr->rows; r++) {
		const struct tui_line *l = &scr->line[r];
		CHECK(strnlen(l->text, sizeof(l->text)) <= (size_t)scr->cols);
		CHECK(l->nspans <= TUI_SPANS_MAX);
		for (int k = 0; k < l->nspans; k++)
			CHECK(l->span[k].col + l->span[k].len <= scr->cols &&
			      l->span[k].attr < TUI_ATTR_COUNT);
	}
}

static void console(fbx_box *box, const fbx_snapshot *s, uint8_t flags, uint8_t selected)
{
	static struct tui_screen scr;
	static const char *const filters[] = {"", "e", "api", "zz"};
	fbx_box_info info;
	CHECK(fbx_box_info_get(box, &info) == 0 && info.read_only);
	struct tui_sample cur = {s, fbx_snapshot_time(s), info.created_ns, info.layout_version,
				 info.capacity.keys, info.capacity.log_keys};
	struct tui_sample before = {pristine_snap, fbx_snapshot_time(pristine_snap),
				    info.created_ns, info.layout_version, info.capacity.keys,
				    info.capacity.log_keys};
	const struct tui_sample *prev = flags & 0x80 ? NULL : &before;

	history.len = history.head = 0;
	if (prev != NULL)
		tui_history_push(&history, &cur, prev);
	struct tui_view v = {
		.box = box_name,
		.pane = (enum tui_pane)((flags >> 2 & 3) % TUI_PANE_COUNT),
		.selected = (int8_t)selected,
		.sort = (enum tui_sort)((flags >> 4 & 3) % TUI_SORT_COUNT),
		.read_only = true,
		.paused = flags & 1,
		.interval_s = 1.0,
		.message = flags & 0x40 ? "breaker payments: tripped" : NULL,
		.clock = "12:03:04",
		.history = &history,
	};
	snprintf(v.filter, sizeof(v.filter), "%s", filters[selected >> 6]);
	const int sizes[][2] = {{24, 80}, {40, 132}, {3, 20}};
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		v.detail = false;
		tui_render(&cur, prev, &v, sizes[k][0], sizes[k][1], &scr);
		check_screen(&scr);
		v.detail = flags & 2;
		if (v.detail) {
			tui_render(&cur, prev, &v, sizes[k][0], sizes[k][1], &scr);
			check_screen(&scr);
		}
	}
	for (int p = 0; p < TUI_PANE_COUNT; p++)
		CHECK(tui_pane_rows(&cur, &v, (enum tui_pane)p) >= 0);
	/* a damaged box may hold two records of one name: the first is found */
	const char *name = tui_selected_name(&cur, &v);
	if (name != NULL) {
		int row = tui_find_row(&cur, &v, name);
		CHECK(row >= 0 && row <= v.selected);
	}
}

/* ---- fuseboxctl's output --------------------------------------------------------- */

/* Each printer writes into memory; the text stays until the next one. */
static char *out_text;
static size_t out_len;
static FILE *out_open(void)
{
	free(out_text);
	out_text = NULL;
	FILE *f = open_memstream(&out_text, &out_len);
	CHECK(f != NULL);
	return f;
}

static void printers(const fbx_snapshot *s)
{
	size_t n;
	const fbx_breaker_info *b = fbx_snapshot_breakers(s, &n);
	for (size_t i = 0; i < n; i++) {
		CHECK(find_breaker(s, b[i].name) != NULL);
		for (int versioned = 0; versioned < 2; versioned++) {
			FILE *f = out_open();
			show_breaker_json(f, &b[i], versioned);
			fclose(f);
			CHECK(json_valid(out_text, out_len));
		}
		FILE *f = out_open();
		show_breaker_text(f, &b[i]);
		fclose(f);
	}
	const fbx_limiter_info *l = fbx_snapshot_limiters(s, &n);
	for (size_t i = 0; i < n; i++) {
		CHECK(find_limiter(s, l[i].name) != NULL);
		for (uint32_t top = 0; top <= FBX_TOP_KEYS; top += FBX_TOP_KEYS) {
			FILE *f = out_open();
			show_limiter_json(f, &l[i], top != 0, top);
			fclose(f);
			CHECK(json_valid(out_text, out_len));
			f = out_open();
			show_limiter_text(f, &l[i], top);
			fclose(f);
		}
	}
}

/* A command of fuseboxctl on this box, its stdout into out_text. */
static int command(int (*cmd)(struct ctl *), const char *arg)
{
	char word[16];
	char *argv[] = {word, NULL};
	snprintf(word, sizeof(word), "%s", arg ? arg : "");
	struct ctl c = {box_name, arg ? 1 : 0, argv};
	FILE *real_stdout = stdout;
	stdout = out_open();
	int rc = cmd(&c);
	fclose(stdout);
	stdout = real_stdout;
	return rc;
}

static void commands(void)
{
	CHECK(command(cmd_status, "--json") == CTL_YES);
	CHECK(json_valid(out_text, out_len));
	CHECK(command(cmd_status, NULL) == CTL_YES);
	CHECK(command(cmd_events, "--json") == CTL_YES);
	CHECK(json_valid(out_text, out_len));
	CHECK(command(cmd_events, NULL) == CTL_YES);
	CHECK(command(cmd_metrics, NULL) == CTL_YES);
}

/* ---- the target -------------------------------------------------------------------- */

static void read_box(fbx_box *box, const uint8_t *data, size_t size)
{
	uint8_t flags = size > 0 ? data[0] : 0, selected = size > 1 ? data[1] : 0;
	fbx_snapshot *s, *again;
	CHECK(fbx_snapshot_new(box, &s) == 0 && fbx_snapshot_new(box, &again) == 0);
	CHECK(fbx_snapshot_take(box, s) == 0 && fbx_snapshot_take(box, again) == 0);
	check_snapshot(box, s);
	check_same(s, again);
	uint64_t extra = 0;
	if (size > 0)
		memcpy(&extra, data, size < 8 ? size : 8);
	read_events(box, s, extra);
	find_all(box, s);
	console(box, s, flags, selected);
	printers(s);
	commands();
	fbx_snapshot_free(s);
	fbx_snapshot_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (ftruncate(obj_fd, (off_t)obj_size) != 0)
		abort();
	memcpy(obj, pristine, obj_size);
	unsigned patches = size > 3 ? patch(data + 3, data + size) : 0;
	if (size > 2 && (data[2] & 1))
		reseal_events();
	bool truncated = size > 2 && (data[2] & 0xf0) == 0xf0 && truncate_object(data[2]);
	inputs++;

	fbx_box_config cfg;
	fbx_box_config_init(&cfg);
	cfg.timeout_ms = 1; /* a box that is "not ready" need not be waited for */
	fbx_box *box = (fbx_box *)1;
	int rc = fbx_box_open(box_name, FBX_OPEN_RDONLY, &cfg, &box);
	if (rc != 0) {
		CHECK(box == NULL);
		CHECK(rc == FBX_ECORRUPT || rc == FBX_EVERSION || rc == FBX_ETIMEDOUT);
		CHECK(patches > 0 || truncated);
		return 0;
	}
	opened++;
	read_box(box, data, size);
	fbx_box_close(box);
	return 0;
}
