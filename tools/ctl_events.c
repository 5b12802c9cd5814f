/* ctl_events.c — `fuseboxctl events`: the event ring, oldest first (or
 * newest first), narrowed to one record, the last N or the last DURATION;
 * --follow prints that backlog and then streams new events until
 * interrupted. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "busguard.h"
#include "ctl.h"

static volatile sig_atomic_t stop;

struct reading {
	fbx_box *box;
	uint64_t from, *next;
	fbx_event *out;
	size_t cap, *n;
};

static int read_events(void *arg)
{
	struct reading *r = arg;
	return fbx_events_read(r->box, r->from, r->out, r->cap, r->n, r->next);
}

static void pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Following a box that was truncated under us: say so once, then wait
 * for a box of that name to open again (it can only come back recreated,
 * so its events start over).  false when interrupted first. */
static bool reattach(const struct ctl *c, fbx_box **box)
{
	fbx_box_close(*box);
	*box = NULL;
	ctl_fail("box '%s' was truncated under us: waiting for it to come back", c->box);
	fflush(stderr);
	while (!stop) {
		fbx_box_config quick;
		fbx_box_config_init(&quick);
		quick.timeout_ms = 100;
		if (fbx_box_open(c->box, FBX_OPEN_RDONLY, &quick, box) == 0)
			return true;
		pause_ms(200);
	}
	return false;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static const char *state_or_dash(int s)
{
	return s < 0 ? "-" : fbx_breaker_state_name(s);
}

/* An event's wall-clock time as RFC 3339 UTC, "2026-11-30T15:55:20.123Z":
 * the ring keeps monotonic times (immune to the clock being set), so the
 * wall time is now's less the event's age; an incident ticket wants the
 * time of day, not "12m ago" of whenever the command ran. */
void event_wall_time(char *buf, size_t len, uint64_t time_ns, uint64_t now_ns)
{
	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	uint64_t age = now_ns > time_ns ? now_ns - time_ns : 0;
	uint64_t w = (uint64_t)wall.tv_sec * 1000000000u + (uint64_t)wall.tv_nsec;
	w = w > age ? w - age : 0;
	time_t secs = (time_t)(w / 1000000000u);
	struct tm tm;
	if (gmtime_r(&secs, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(buf, len, "?");
		return;
	}
	size_t at = strlen(buf);
	snprintf(buf + at, len - at, ".%03uZ", (unsigned)(w / 1000000u % 1000));
}

static void print_event(const fbx_event *e, uint64_t now, bool json, bool wall)
{
	char when[40];
	event_wall_time(when, sizeof(when), e->time_ns, now);
	if (json) {
		printf("{\"seq\":%llu,\"age_ms\":%llu,\"time\":\"%s\",", (unsigned long long)e->seq,
		       (unsigned long long)(now > e->time_ns ? (now - e->time_ns) / 1000000 : 0),
		       when);
		if (e->corrupt) {
			printf("\"corrupt\":true}");
			return;
		}
		printf("\"kind\":\"%s\",\"cause\":\"%s\",\"record\":\"%s\",\"name\":",
		       fbx_event_kind_name(e->kind), fbx_event_cause_name(e->cause),
		       fbx_record_type_name(e->record_type));
		json_str(stdout, e->name);
		printf(",\"from\":\"%s\",\"to\":\"%s\"", state_or_dash(e->from), state_or_dash(e->to));
		if (e->kind == FBX_EV_MANUAL || e->kind == FBX_EV_CONFIG) {
			printf(",\"pid\":%d,\"uid\":%u,\"reason\":", (int)e->pid, (unsigned)e->uid);
			json_str(stdout, e->reason);
		}
		putchar('}');
		return;
	}
	/* the seq stays in front of the library's line: it is what --follow's
	 * reader and a bug report quote, and it shows a gap where the ring
	 * dropped events; --time puts the wall time before it */
	char line[512];
	fbx_event_format(e, now, line, sizeof(line));
	if (wall)
		printf("%s #%llu %s\n", when, (unsigned long long)e->seq, line);
	else
		printf("#%llu %s\n", (unsigned long long)e->seq, line);
}

struct filter {
	const char *name;   /* NULL: every record */
	bool last;          /* -n given */
	uint32_t count;     /* -n */
	bool since;         /* --since given */
	uint64_t since_ns;
	bool newest_first, json, follow;
	bool wall;          /* --time */
};

/* A damaged event has no name to match, so --name leaves it out; --since
 * keeps it when its time could be read. */
static bool wanted(const struct filter *f, const fbx_event *e, uint64_t now)
{
	if (f->name != NULL &&
	    (e->corrupt || strncmp(e->name, f->name, sizeof(e->name)) != 0))
		return false;
	if (f->since && now > e->time_ns && now - e->time_ns > f->since_ns)
		return false;
	return true;
}

static int parse(const struct ctl *c, struct filter *f)
{
	for (int i = 0; i < c->argc; i++) {
		const char *a = c->argv[i];
		bool valued = strcmp(a, "--name") == 0 || strcmp(a, "-n") == 0 ||
			      strcmp(a, "--since") == 0;
		if (valued && i + 1 >= c->argc)
			return ctl_fail("events: option '%s' needs a value", a);
		const char *v = valued ? c->argv[++i] : NULL;
		if (strcmp(a, "--json") == 0) {
			f->json = true;
		} else if (strcmp(a, "--follow") == 0) {
			f->follow = true;
		} else if (strcmp(a, "--newest-first") == 0) {
			f->newest_first = true;
		} else if (strcmp(a, "--time") == 0) {
			f->wall = true;
		} else if (strcmp(a, "--name") == 0) {
			if (fbx_name_check_record(v) != 0)
				return ctl_fail("events --name: '%s' is not a breaker, limiter or box name "
						"(1-63 printable characters, no space)", v);
			f->name = v;
		} else if (strcmp(a, "-n") == 0) {
			if (ctl_u32("events -n", v, 0, 1u << 20, &f->count))
				return CTL_ERR;
			f->last = true;
		} else if (strcmp(a, "--since") == 0) {
			if (ctl_duration("events --since", v, &f->since_ns))
				return CTL_ERR;
			f->since = true;
		} else {
			return ctl_fail("events: unknown argument '%s' (see fuseboxctl events --help)", a);
		}
	}
	/* following prints events as they come, which is oldest first */
	if (f->follow && f->newest_first)
		return ctl_fail("events: --newest-first and --follow do not go together "
				"(following prints events as they come, oldest first)");
	return 0;
}

/* The events kept for printing: every wanted one of the ring (bounded by
 * the ring's size), or the last -n of them. */
struct kept {
	fbx_event *e;
	size_t n, cap;
	size_t start;  /* -n, once full: where the oldest kept is */
};

static int keep(struct kept *k, const fbx_event *e, const struct filter *f)
{
	if (f->last && f->count == 0)
		return 0;
	if (f->last && k->n == f->count) {
		/* -n: a window over the newest, the oldest kept giving way */
		k->e[k->start] = *e;
		k->start = (k->start + 1) % k->n;
		return 0;
	}
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 256;
		if (f->last && cap > f->count)
			cap = f->count;
		fbx_event *grown = realloc(k->e, cap * sizeof(*grown));
		if (grown == NULL)
			return ctl_fail("events: out of memory keeping %zu events", k->n);
		k->e = grown;
		k->cap = cap;
	}
	k->e[k->n++] = *e;
	return 0;
}

static void print_kept(const struct kept *k, const struct filter *f, uint64_t now, bool *first)
{
	for (size_t i = 0; i < k->n; i++) {
		size_t at = f->newest_first ? k->n - 1 - i : i;
		const fbx_event *e = &k->e[(k->start + at) % k->n];
		if (f->json && !f->follow && !*first)
			putchar(',');
		print_event(e, now, f->json, f->wall);
		if (f->json && f->follow)
			putchar('\n');
		*first = false;
	}
}

int cmd_events(struct ctl *c)
{
	struct filter f = {0};
	if (parse(c, &f))
		return CTL_ERR;
	fbx_box *box;
	if (ctl_open(c, false, &box))
		return CTL_ERR;
	/* a name the box never had is a typo, not a quiet record: saying
	 * nothing would read as "nothing happened to it" */
	fbx_breaker *hb;
	fbx_limiter *hl;
	if (f.name != NULL && strcmp(f.name, c->box) != 0 &&
	    fbx_breaker_find(box, f.name, &hb) == FBX_ENOENT &&
	    fbx_limiter_find(box, f.name, &hl) == FBX_ENOENT) {
		fbx_box_close(box);
		return ctl_fail("box '%s' has no breaker or limiter '%s' (its own events: --name %s)",
				c->box, f.name, c->box);
	}
	fbx_event batch[64];
	uint64_t next = 0, dropped = 0;
	size_t n;
	bool first = true;
	/* the backlog: what the ring holds now, kept so that -n and
	 * --newest-first can choose from all of it before anything is printed */
	bool backlog = true;
	struct kept k = {0};
	uint64_t now0 = fbx_clock_now();
	if (f.follow) {
		struct sigaction sa = {.sa_handler = on_signal};
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	int rc = 0;
	for (;;) {
		uint64_t from = next;
		rc = bus_guard(read_events, &(struct reading){box, next, &next, batch, 64, &n});
		if (rc == FBX_ETRUNC && f.follow && reattach(c, &box)) {
			next = 0;
			/* a backlog half read from the box that went is not the
			 * new box's: -n and --newest-first choose from one box */
			if (backlog) {
				k.n = k.start = 0;
				dropped = 0;
			}
			continue;
		}
		if (rc != 0)
			break;
		if (n > 0 && batch[0].seq > from)
			dropped += batch[0].seq - from; /* overwritten before we read them */
		uint64_t now = fbx_clock_now();
		for (size_t i = 0; i < n && rc == 0; i++) {
			if (backlog) {
				if (wanted(&f, &batch[i], now0))
					rc = keep(&k, &batch[i], &f);
			} else if (wanted(&f, &batch[i], now)) {
				print_event(&batch[i], now, f.json, f.wall);
				if (f.json)
					putchar('\n');
			}
		}
		if (rc != 0)
			break;
		if (n == 64)
			continue;
		if (backlog) {
			backlog = false;
			if (f.json && !f.follow)
				fputs("{\"version\":1,\"events\":[", stdout);
			print_kept(&k, &f, fbx_clock_now(), &first);
			/* nothing to show: said to a person at a terminal, so that
			 * an empty screen is not taken for a hung command; a script
			 * reading stdout gets nothing and exit 0, as from grep -c */
			if (k.n == 0 && !f.json && isatty(STDOUT_FILENO))
				fprintf(stderr, "fuseboxctl: no events%s%s\n",
					f.name ? " of " : "", f.name ? f.name : "");
			/* --since and -n chose the backlog; what comes next is new */
			f.since = false;
		}
		if (!f.follow || stop)
			break;
		fflush(stdout);
		pause_ms(200);
		if (stop)
			break;
	}
	free(k.e);
	fbx_box_close(box);
	if (rc == CTL_ERR)
		return CTL_ERR;
	if (f.json && !f.follow && !backlog)
		printf("],\"dropped\":%llu}\n", (unsigned long long)dropped);
	if (rc != 0 && !(rc == FBX_ETRUNC && stop))
		return ctl_fail_rc(rc, "reading the events of box '%s'", c->box);
	return CTL_YES;
}
