/* ctl_events.c — `fuseboxctl events [--json] [--follow]`: the event ring,
 * oldest first; --follow keeps streaming new events until interrupted. */
#include <signal.h>
#include <string.h>
#include <time.h>

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

static void print_event(const fbx_event *e, uint64_t now, bool json)
{
	if (json) {
		printf("{\"seq\":%llu,\"age_ms\":%llu,", (unsigned long long)e->seq,
		       (unsigned long long)(now > e->time_ns ? (now - e->time_ns) / 1000000 : 0));
		if (e->corrupt) {
			printf("\"corrupt\":true}");
			return;
		}
		printf("\"kind\":\"%s\",\"cause\":\"%s\",\"record\":\"%s\",\"name\":",
		       fbx_event_kind_name(e->kind), fbx_event_cause_name(e->cause),
		       e->record_type == FBX_REC_BREAKER ? "breaker" : "limiter");
		json_str(stdout, e->name);
		printf(",\"from\":\"%s\",\"to\":\"%s\"", state_or_dash(e->from), state_or_dash(e->to));
		if (e->kind == FBX_EV_MANUAL || e->kind == FBX_EV_CONFIG) {
			printf(",\"pid\":%d,\"uid\":%u,\"reason\":", (int)e->pid, (unsigned)e->uid);
			json_str(stdout, e->reason);
		}
		putchar('}');
		return;
	}
	double age = now > e->time_ns ? (double)(now - e->time_ns) / 1e9 : 0;
	if (e->corrupt) {
		printf("#%-6llu %9.1fs ago  (damaged event)\n", (unsigned long long)e->seq, age);
		return;
	}
	printf("#%-6llu %9.1fs ago  %-7s %-20s %-13s -> %-13s %s",
	       (unsigned long long)e->seq, age,
	       e->record_type == FBX_REC_BREAKER ? "breaker" : "limiter", e->name,
	       state_or_dash(e->from), state_or_dash(e->to), fbx_event_cause_name(e->cause));
	if (e->kind == FBX_EV_MANUAL || e->kind == FBX_EV_CONFIG)
		printf("  by uid %u pid %d%s%s", (unsigned)e->uid, (int)e->pid,
		       e->reason[0] ? ": " : "", e->reason);
	putchar('\n');
}

int cmd_events(struct ctl *c)
{
	bool json = false, follow = false;
	for (int i = 0; i < c->argc; i++) {
		if (strcmp(c->argv[i], "--json") == 0)
			json = true;
		else if (strcmp(c->argv[i], "--follow") == 0)
			follow = true;
		else
			return ctl_fail("events: unknown argument '%s'", c->argv[i]);
	}
	fbx_box *box;
	if (ctl_open(c, false, &box))
		return CTL_ERR;
	fbx_event batch[64];
	uint64_t next = 0, dropped = 0;
	size_t n;
	bool first = true;
	if (json && !follow)
		fputs("{\"version\":1,\"events\":[", stdout);
	if (follow) {
		struct sigaction sa = {.sa_handler = on_signal};
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	int rc = 0;
	for (;;) {
		uint64_t from = next;
		rc = bus_guard(read_events, &(struct reading){box, next, &next, batch, 64, &n});
		if (rc == FBX_ETRUNC && follow && reattach(c, &box)) {
			next = 0;
			continue;
		}
		if (rc != 0)
			break;
		if (n > 0 && batch[0].seq > from)
			dropped += batch[0].seq - from; /* overwritten before we read them */
		uint64_t now = fbx_clock_now();
		for (size_t i = 0; i < n; i++) {
			if (json && !follow && !first)
				putchar(',');
			print_event(&batch[i], now, json);
			if (json && follow)
				putchar('\n');
			first = false;
		}
		if (n == 64)
			continue;
		if (!follow || stop)
			break;
		fflush(stdout);
		pause_ms(200);
		if (stop)
			break;
	}
	if (json && !follow)
		printf("],\"dropped\":%llu}\n", (unsigned long long)dropped);
	fbx_box_close(box);
	if (rc != 0 && !(rc == FBX_ETRUNC && stop))
		return ctl_fail_rc(rc, "reading the events of box '%s'", c->box);
	return CTL_YES;
}
