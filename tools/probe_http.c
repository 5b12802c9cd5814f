/* probe_http.c — the HTTP side: libmicrohttpd parses every byte a client
 * sends; this file chooses its limits and answers complete requests.
 *
 * Threading: a small pool of threads, each with an epoll set.  A thread
 * per connection would let 1,000 idle connections cost 1,000 threads, and
 * select() stops at FD_SETSIZE; with epoll an idle or dripping connection
 * costs a file descriptor and its memory pool, and the threads stay free
 * for the requests that arrive whole. */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

static const struct route {
	const char *path;
	enum probe_endpoint ep;
} routes[] = {
	{"/live", PROBE_LIVE},
	{"/ready", PROBE_READY},
	{"/healthz", PROBE_HEALTHZ},
	{"/startup", PROBE_STARTUP},
};

int probe_parse_listen(const char *text, struct probe_listen *out, const char **why)
{
	char host[128];
	const char *port;
	memset(out, 0, sizeof(*out));
	if (text[0] == '[') {
		const char *end = strchr(text, ']');
		if (end == NULL || end[1] != ':' || (size_t)(end - text - 1) >= sizeof(host)) {
			*why = "an IPv6 address is written [ADDR]:PORT";
			return -1;
		}
		memcpy(host, text + 1, (size_t)(end - text - 1));
		host[end - text - 1] = '\0';
		port = end + 2;
	} else {
		const char *colon = strrchr(text, ':');
		if (colon == NULL || (size_t)(colon - text) >= sizeof(host) ||
		    memchr(text, ':', (size_t)(colon - text)) != NULL) {
			*why = "expected ADDR:PORT, e.g. 127.0.0.1:4949 or [::1]:4949";
			return -1;
		}
		memcpy(host, text, (size_t)(colon - text));
		host[colon - text] = '\0';
		port = colon + 1;
	}
	char *end;
	long p = strtol(port, &end, 10);
	if (*port == '\0' || *end != '\0' || p < 0 || p > 65535 || port[0] == '-' ||
	    port[0] == '+') {
		*why = "the port is a number from 0 to 65535";
		return -1;
	}
	/* numeric only: a name could resolve to several addresses, or to
	 * another one tomorrow */
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
				 .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	if (host[0] == '\0' || getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL) {
		*why = "the address is a numeric IPv4 or IPv6 address";
		return -1;
	}
	memcpy(&out->addr, ai->ai_addr, ai->ai_addrlen);
	out->len = ai->ai_addrlen;
	out->ipv6 = ai->ai_family == AF_INET6;
	freeaddrinfo(ai);
	return 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, char *body,
			     const char *allow)
{
	if (body == NULL)
		return MHD_NO; /* out of memory: closing is the honest answer */
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	/* every answer is of this moment: no cache may hand out an old one */
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (allow != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	enum MHD_Result rc = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_size, void **req)
{
	static int begun; /* only its address is used: "the head was seen" */
	(void)version;
	(void)upload_data;
	struct probe_box *pb = cls;
	const struct route *route = NULL;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(url, routes[i].path) == 0)
			route = &routes[i];
	int readable = strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
		       strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	if (!readable) {
		/* answered at once: MHD then closes the connection rather
		 * than read a body nobody wants */
		probe_reaper_served(c);
		if (route == NULL)
			return reply(c, MHD_HTTP_NOT_FOUND,
				     probe_error_body("not found",
						      "endpoints: /live, /ready, /healthz, /startup"),
				     NULL);
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED,
			     probe_error_body("method not allowed", "use GET or HEAD"), "GET, HEAD");
	}
	/* GET and HEAD are answered on the call after the head was read:
	 * an answer queued on the first call makes MHD close the
	 * connection, and keep-alive clients would reconnect each time */
	if (*req == NULL) {
		*req = &begun;
		return MHD_YES;
	}
	if (*upload_size != 0) {
		*upload_size = 0; /* a GET with a body: read and dropped, within the deadline */
		return MHD_YES;
	}
	probe_reaper_served(c);
	if (route == NULL)
		return reply(c, MHD_HTTP_NOT_FOUND,
			     probe_error_body("not found", "endpoints: /live, /ready, /healthz, /startup"),
			     NULL);
	/* MHD leaves out the body of a HEAD answer and keeps its length */
	unsigned code = 503;
	char *body = probe_answer(pb, route->ep, &code);
	return reply(c, code, body, NULL);
}

struct MHD_Daemon *probe_http_start(struct probe_box *pb, const struct probe_listen *l,
				    unsigned *port, char *err, size_t errlen)
{
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | (l->ipv6 ? MHD_USE_IPv6 : 0);
	struct MHD_Daemon *d = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, pb,
		MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&l->addr,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)PROBE_THREADS,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)PROBE_CONN_LIMIT,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)PROBE_PER_IP_LIMIT,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)PROBE_IDLE_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)PROBE_MEMORY_LIMIT,
		MHD_OPTION_NOTIFY_CONNECTION, probe_reaper_notify, NULL,
		/* a restarted probe must not wait out TIME_WAIT for its port */
		MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
		MHD_OPTION_END);
	if (d == NULL) {
		char text[INET6_ADDRSTRLEN] = "?";
		const void *a = l->ipv6 ? (const void *)&((const struct sockaddr_in6 *)&l->addr)->sin6_addr
					: (const void *)&((const struct sockaddr_in *)&l->addr)->sin_addr;
		inet_ntop(l->ipv6 ? AF_INET6 : AF_INET, a, text, sizeof(text));
		snprintf(err, errlen, "cannot listen on %s port %u (in use, or not this host's address)",
			 text, ntohs(l->ipv6 ? ((const struct sockaddr_in6 *)&l->addr)->sin6_port
					     : ((const struct sockaddr_in *)&l->addr)->sin_port));
		return NULL;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	*port = info != NULL ? info->port : 0;
	return d;
}

void probe_http_stop(struct MHD_Daemon *d)
{
	MHD_stop_daemon(d);
}
