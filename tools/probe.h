/* probe.h — fusebox-probe: the box's health over HTTP, for Kubernetes
 * httpGet probes and anything else that speaks HTTP.
 *
 *   probe_main.c    options, signals, start and stop
 *   probe_box.c     the box, (re)opened read-only, and one snapshot of it
 *   probe_json.c    the bodies: what a snapshot says, per endpoint
 *   probe_http.c    libmicrohttpd: the daemon, its limits, routing
 *   probe_reaper.c  a deadline per request, which MHD's idle timeout is not
 */
#ifndef FBX_PROBE_H
#define FBX_PROBE_H

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <microhttpd.h>

#include "fusebox.h"

enum probe_endpoint { PROBE_LIVE, PROBE_READY, PROBE_HEALTHZ, PROBE_STARTUP };

/* ---- probe_box.c ---- */

struct probe_box {
	const char *name;
	/* One snapshot, reused: it is not thread-safe, and the SIGBUS guard
	 * has one landing place per process, so reads take turns. */
	pthread_mutex_t lock;
	fbx_box *box;
	fbx_snapshot *snap;
	ino_t ino;
	char said[160]; /* the last state written to stderr: changes only */
};

void probe_box_init(struct probe_box *pb, const char *name);
void probe_box_fini(struct probe_box *pb);
/* The answer to ep now: its HTTP status into *code and a JSON body
 * (malloc'd; NULL only when memory ran out). */
char *probe_answer(struct probe_box *pb, enum probe_endpoint ep, unsigned *code);

/* ---- probe_json.c ---- */

/* The body for ep from snap, or, when snap is NULL, for a box that cannot
 * be read, saying why (unavailable).  *code gets the HTTP status. */
char *probe_body(enum probe_endpoint ep, const char *box, const fbx_snapshot *snap,
		 const char *unavailable, unsigned *code);
/* A small {"error": ...} body for 404 and 405. */
char *probe_error_body(const char *error, const char *detail);

/* ---- probe_http.c ---- */

struct probe_listen {
	struct sockaddr_storage addr;
	socklen_t len;
	int ipv6;
};
/* "ADDR:PORT", or "[ADDR6]:PORT"; 0 or -1 with *why set. */
int probe_parse_listen(const char *text, struct probe_listen *out, const char **why);

/* Starts serving; NULL with err filled on failure.  *port gets the port
 * bound (the one chosen when 0 was asked for). */
struct MHD_Daemon *probe_http_start(struct probe_box *pb, const struct probe_listen *l,
				    unsigned *port, char *err, size_t errlen);
void probe_http_stop(struct MHD_Daemon *d);

/* ---- probe_reaper.c ---- */

/* MHD_OPTION_NOTIFY_CONNECTION's callback: keeps the list of connections. */
void probe_reaper_notify(void *cls, struct MHD_Connection *c, void **socket_context,
			 enum MHD_ConnectionNotificationCode toe);
/* A request was read whole on c: its deadline starts again. */
void probe_reaper_served(struct MHD_Connection *c);
int probe_reaper_start(void);
void probe_reaper_stop(void);

/* Every limit, in one place (probe_http.c and the reaper use them; the
 * man page and README give the same figures). */
#define PROBE_CONN_LIMIT 2048        /* connections at once, all clients */
#define PROBE_PER_IP_LIMIT 64        /* connections at once from one address */
#define PROBE_IDLE_TIMEOUT_S 5       /* a connection silent this long is closed */
#define PROBE_REQUEST_DEADLINE_S 10  /* a request not read whole by then: closed */
#define PROBE_MEMORY_LIMIT 8192      /* bytes per connection: request head + reply */
#define PROBE_THREADS 2              /* epoll threads */

#endif
