/*
 * fusebox-probe — the box's health over HTTP, for Kubernetes httpGet
 * probes, load balancers and monitoring.
 *
 * fusebox-probe [-b BOX] [--listen ADDR:PORT]
 *
 * BOX: -b, else $FUSEBOX_BOX, else the only box on the host, as fuseboxctl
 * and fusebox-top pick it (boxfind.h); with several or none it refuses to
 * start, since a probe must know whose health it reports.  Listens on
 * 127.0.0.1:4949 unless told otherwise; runs until SIGTERM or SIGINT.
 * Bad options: one line on stderr naming what was wrong, exit 2.
 */
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "boxfind.h"
#include "probe.h"

#define DEFAULT_LISTEN "127.0.0.1:4949"

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* what the user typed is echoed: no control character reaches the terminal */
	for (char *c = msg; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	fprintf(stderr, "fusebox-probe: %s\n", msg);
	return 2;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fusebox-probe [-b BOX] [--listen ADDR:PORT]\n"
		"\n"
		"Serves the health of box BOX over HTTP (GET or HEAD):\n"
		"  /live      200 when the master and a worker are alive, else 503\n"
		"  /ready     200 when started, not draining and no critical check fails\n"
		"  /healthz   200 when ok or degraded, 503 when unhealthy\n"
		"  /startup   200 once the master called fbx_started()\n"
		"\n"
		"BOX defaults to $FUSEBOX_BOX, else the only box on this host (with\n"
		"several or none, name it); ADDR:PORT to %s\n"
		"(0.0.0.0:4949 in a pod, [::]:4949 for IPv6).  Stops on SIGTERM or SIGINT.\n",
		DEFAULT_LISTEN);
}

/* 1,000 idle connections need 1,000 descriptors: the soft limit (often
 * 1,024) is raised towards the hard one, never beyond it. */
static void enough_descriptors(void)
{
	struct rlimit rl;
	rlim_t want = PROBE_CONN_LIMIT + 64;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

int main(int argc, char **argv)
{
	const char *box = NULL;
	const char *listen = DEFAULT_LISTEN;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-b") == 0 || strcmp(a, "--box") == 0) {
			if (i + 1 >= argc)
				return fail("option '%s' needs a box name", a);
			box = argv[++i];
		} else if (strcmp(a, "--listen") == 0 || strcmp(a, "-l") == 0) {
			if (i + 1 >= argc)
				return fail("option '%s' needs ADDR:PORT", a);
			listen = argv[++i];
		} else if (strncmp(a, "--listen=", 9) == 0) {
			listen = a + 9;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--version") == 0) {
			printf("fusebox-probe %s\n", FBX_VERSION_STRING);
			return 0;
		} else if (a[0] == '-') {
			return fail("unknown option '%s' (see fusebox-probe --help)", a);
		} else {
			return fail("unexpected argument '%s' (see fusebox-probe --help)", a);
		}
	}
	/* what was typed first: a bad --listen is said as such wherever the
	 * box is */
	struct probe_listen where;
	const char *why;
	if (probe_parse_listen(listen, &where, &why) != 0)
		return fail("bad --listen '%s': %s", listen, why);
	/* Which box, as fuseboxctl and fusebox-top choose it: a probe that
	 * quietly watched 'default' would answer for a box nobody runs.  A
	 * named box that does not exist yet is served as 503 until it does. */
	char found[64], msg[512];
	enum box_found how = BOX_NAMED;
	if (box == NULL) {
		how = box_find(NULL, found, sizeof(found), msg, sizeof(msg));
		if (how == BOX_NONE)
			return fail("no box on this host and none named: a probe must know whose "
				    "health it reports; name it with -b NAME or FUSEBOX_BOX=NAME");
		if (how != BOX_NAMED && how != BOX_ONLY)
			return fail("%s", msg);
		box = found;
	}
	if (fbx_name_check_box(box) != 0)
		return fail("bad box name '%s' (1-32 of A-Z a-z 0-9 _ . -, not starting with '.')",
			    box);

	enough_descriptors();
	/* SIGTERM and SIGINT are waited for below; blocked first, so that
	 * the threads started next inherit the mask and never take them */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct probe_box pb;
	probe_box_init(&pb, box);
	if (probe_reaper_start() != 0)
		return fail("cannot start a thread");
	char err[256];
	unsigned port = 0;
	struct MHD_Daemon *d = probe_http_start(&pb, &where, &port, err, sizeof(err));
	if (d == NULL) {
		probe_reaper_stop();
		probe_box_fini(&pb);
		return fail("%s", err);
	}
	char addr[INET6_ADDRSTRLEN] = "?";
	if (where.ipv6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&where.addr)->sin6_addr, addr,
			  sizeof(addr));
	else
		inet_ntop(AF_INET, &((struct sockaddr_in *)&where.addr)->sin_addr, addr,
			  sizeof(addr));
	printf("fusebox-probe: box '%s'%s served on http://%s%s%s:%u (/live /ready /healthz "
	       "/startup)\n", box, how == BOX_ONLY ? " (the only one on this host)" : "",
	       where.ipv6 ? "[" : "", addr, where.ipv6 ? "]" : "", port);
	fflush(stdout);

	int sig = 0;
	while (sigwait(&stop, &sig) != 0)
		;
	probe_http_stop(d);
	probe_reaper_stop();
	probe_box_fini(&pb);
	return 0;
}
