/* test_probe.c — fusebox-probe, black box: the built server ($FUSEBOX_PROBE)
 * started on a free port against boxes set up through the public API,
 * asked over raw sockets (and curl), its bodies parsed with jansson.
 *
 * Workers are forked children that register and then wait to be killed;
 * the box and its checks are set from the test process itself. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl_harness.h"
#include "suites.h"

/* ---- what a test leaves running --------------------------------------------- */

/* A failed assertion ends the test's process through exit(): whatever it
 * started (the probe, workers waiting to be killed) is killed then, not
 * left behind for the rest of the run. */
static pid_t started[32];

static void kill_started(void)
{
	for (size_t i = 0; i < ARRAY_LEN(started); i++)
		if (started[i] > 0) {
			kill(started[i], SIGKILL);
			waitpid(started[i], NULL, 0);
			started[i] = 0;
		}
}

static void track(pid_t pid)
{
	static bool registered;
	if (!registered) {
		atexit(kill_started);
		registered = true;
	}
	for (size_t i = 0; i < ARRAY_LEN(started); i++)
		if (started[i] == 0) {
			started[i] = pid;
			return;
		}
}

static void untrack(pid_t pid)
{
	for (size_t i = 0; i < ARRAY_LEN(started); i++)
		if (started[i] == pid)
			started[i] = 0;
}

/* ---- the server ------------------------------------------------------------ */

struct probe {
	struct spawn_proc proc;
	unsigned port;
};

static const char *probe_path(void)
{
	static char path[PATH_MAX];
	if (path[0] == '\0')
		built_tool("FUSEBOX_PROBE", "build/fusebox-probe", path);
	return path;
}

/* Started on a port the kernel chooses, which it prints. */
static void probe_start(struct probe *p, const char *box)
{
	const char *argv[] = {probe_path(), "-b", box, "--listen", "127.0.0.1:0", NULL};
	ck_assert_int_eq(spawn_start(&p->proc, NULL, argv), 0);
	track(p->proc.pid);
	ck_assert_msg(spawn_wait_for(&p->proc, "/startup)", 5000), "the probe did not start: [%s]",
		      p->proc.obuf.p ? p->proc.obuf.p : "");
	const char *at = strstr(p->proc.obuf.p, "http://127.0.0.1:");
	ck_assert_ptr_nonnull(at);
	p->port = (unsigned)strtoul(at + strlen("http://127.0.0.1:"), NULL, 10);
	ck_assert_uint_gt(p->port, 0);
}

/* SIGTERM ends it cleanly: exit 0 (under ASan, no leak either). */
static void probe_stop(struct probe *p)
{
	ck_assert_int_eq(kill(p->proc.pid, SIGTERM), 0);
	bool signaled = false;
	char *err = NULL;
	int code = spawn_finish(&p->proc, &signaled, &err);
	untrack(p->proc.pid);
	ck_assert_msg(code == 0 && !signaled, "probe ended with %d%s; stderr: %s", code,
		      signaled ? " (signal)" : "", err ? err : "");
	free(err);
	free(p->proc.obuf.p);
}

static void probe_still_running(struct probe *p)
{
	int code;
	ck_assert_msg(!spawn_ended(&p->proc, &code), "the probe died: %d", code);
}

/* ---- sockets ----------------------------------------------------------------- */

/* A connection to the probe from source address src (any 127/8 address
 * is this host's: the per-address limit is seen from several clients). */
static int connect_from(const char *src, unsigned port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	if (src != NULL) {
		inet_pton(AF_INET, src, &a.sin_addr);
		ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	}
	a.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	ck_assert_msg(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect: %s",
		      strerror(errno));
	return fd;
}

static void send_all(int fd, const void *data, size_t n)
{
	const char *p = data;
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return; /* the server may close early on hostile input: fine */
		p += k;
		n -= (size_t)k;
	}
}

/* Reads until the peer closes (true) or timeout_ms passes (false). */
static bool read_to_end(int fd, int timeout_ms, struct sbuf *out)
{
	uint64_t end = spawn_now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		uint64_t now = spawn_now_ms();
		/* a timeout of 0 still looks once */
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		int r = poll(&pf, 1, now < end ? (int)(end - now) : 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		char buf[8192];
		ssize_t k = recv(fd, buf, sizeof(buf), 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return true; /* closed, or reset */
		sb_putn(out, buf, (size_t)k);
	}
}

/* Whether the server has closed fd (EOF or reset), waiting up to ms. */
static bool closed_within(int fd, int ms)
{
	struct sbuf junk = {0};
	bool closed = read_to_end(fd, ms, &junk);
	free(junk.p);
	return closed;
}

struct reply {
	int status;
	char *raw;   /* the whole answer; head and body point into it */
	char *head;  /* status line and headers */
	char *body;
	size_t body_len;
	json_t *json; /* the body, parsed, when there is one */
};

static void reply_free(struct reply *r)
{
	json_decref(r->json);
	free(r->raw);
	memset(r, 0, sizeof(*r));
}

/* One answer parsed out of raw (which it takes). */
static void parse_reply(char *raw, struct reply *r)
{
	memset(r, 0, sizeof(*r));
	r->raw = raw;
	ck_assert_msg(strncmp(raw, "HTTP/1.1 ", 9) == 0, "not an HTTP answer: [%.80s]", raw);
	r->status = atoi(raw + 9);
	char *sep = strstr(raw, "\r\n\r\n");
	ck_assert_ptr_nonnull(sep);
	*sep = '\0';
	r->head = raw;
	r->body = sep + 4;
	r->body_len = strlen(r->body);
	if (r->body_len > 0) {
		json_error_t e;
		r->json = json_loadb(r->body, r->body_len, 0, &e);
		ck_assert_msg(r->json != NULL, "body is not JSON (%s): [%s]", e.text, r->body);
	}
}

/* The value of header name in r's head, or NULL (static buffer). */
static const char *header(const struct reply *r, const char *name)
{
	static char value[256];
	size_t n = strlen(name);
	for (const char *l = strstr(r->head, "\r\n"); l != NULL; l = strstr(l + 2, "\r\n"))
		if (strncasecmp(l + 2, name, n) == 0 && l[2 + n] == ':') {
			const char *v = l + 3 + n;
			while (*v == ' ')
				v++;
			size_t k = strcspn(v, "\r");
			snprintf(value, sizeof(value), "%.*s", (int)k, v);
			return value;
		}
	return NULL;
}

/* METHOD path, answered and closed within 3 s, from src (NULL: any). */
static void request_from(const char *src, unsigned port, const char *method, const char *path,
			 struct reply *r)
{
	char req[512];
	int n = snprintf(req, sizeof(req),
			 "%s %s HTTP/1.1\r\nHost: probe\r\nUser-Agent: kube-probe/1.29\r\n"
			 "Connection: close\r\n\r\n",
			 method, path);
	int fd = connect_from(src, port);
	send_all(fd, req, (size_t)n);
	struct sbuf out = {0};
	bool closed = read_to_end(fd, 3000, &out);
	close(fd);
	ck_assert_msg(closed, "%s %s: no complete answer within 3 s: [%s]", method, path,
		      out.p ? out.p : "");
	parse_reply(sb_take(&out), r);
}

static void get(unsigned port, const char *path, struct reply *r)
{
	request_from(NULL, port, "GET", path, r);
}

/* ---- bodies ------------------------------------------------------------------- */

static const char *jstr(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	ck_assert_msg(json_is_string(v), "\"%s\" is not a string", key);
	return json_string_value(v);
}

static bool jbool(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	ck_assert_msg(json_is_boolean(v), "\"%s\" is not a boolean", key);
	return json_is_true(v);
}

static json_int_t jint(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	ck_assert_msg(json_is_integer(v), "\"%s\" is not an integer", key);
	return json_integer_value(v);
}

/* "2026-11-30T13:20:00Z", within a minute of now. */
static void timestamp_ok(const char *ts)
{
	ck_assert_uint_eq(strlen(ts), 20);
	struct tm tm = {0};
	const char *end = strptime(ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
	ck_assert_msg(end != NULL && *end == '\0', "not RFC 3339 UTC: %s", ts);
	time_t t = timegm(&tm), now = time(NULL);
	ck_assert_msg(t <= now + 1 && t >= now - 60, "timestamp %s is not now", ts);
}

/* What every probe body holds: status, timestamp, checks; verdict key
 * (live, ready, started; NULL for healthz) with its value, and a reason. */
static void body_ok(const struct reply *r, int code, const char *status, const char *key,
		    bool value)
{
	ck_assert_msg(r->status == code, "HTTP %d, expected %d: %s", r->status, code, r->body);
	ck_assert_ptr_nonnull(r->json);
	ck_assert_str_eq(jstr(r->json, "status"), status);
	timestamp_ok(jstr(r->json, "timestamp"));
	ck_assert(json_is_object(json_object_get(r->json, "checks")));
	ck_assert(strlen(jstr(r->json, "reason")) > 0);
	if (key != NULL)
		ck_assert_msg(jbool(r->json, key) == value, "\"%s\" is not %d: %s", key, value,
			      r->body);
	const char *type = header(r, "Content-Type");
	ck_assert(type != NULL && strcmp(type, "application/json") == 0);
}

static const json_t *check_of(const struct reply *r, const char *name)
{
	const json_t *c = json_object_get(json_object_get(r->json, "checks"), name);
	ck_assert_msg(json_is_object(c), "no check '%s' in %s", name, r->body);
	return c;
}

static void reason_has(const struct reply *r, const char *what)
{
	const char *reason = jstr(r->json, "reason");
	ck_assert_msg(strstr(reason, what) != NULL, "reason \"%s\" does not say \"%s\"", reason,
		      what);
}

/* GET path: code, status, verdict (as body_ok); the reply kept in *r. */
static void expect(unsigned port, const char *path, int code, const char *status, bool value,
		   struct reply *r)
{
	const char *key = strcmp(path, "/live") == 0      ? "live"
			  : strcmp(path, "/ready") == 0   ? "ready"
			  : strcmp(path, "/startup") == 0 ? "started"
							  : NULL;
	get(port, path, r);
	body_ok(r, code, status, key, value);
}

/* ---- boxes and workers ---------------------------------------------------------- */

static fbx_box *box_make(const char *name)
{
	fbx_box_config c;
	fbx_box_config_init(&c);
	c.breakers = 4;
	c.limiters = 2;
	c.keys = 256;
	c.log_keys = 16;
	c.events = 64;
	c.workers = 16;
	c.checks = 8;
	fbx_box *box = NULL;
	ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, &c, &box), 0);
	return box;
}

/* A forked process registered as role, holding in_flight requests, that
 * waits to be killed. */
static pid_t worker(fbx_box *box, const char *role, int in_flight)
{
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	pid_t pid = tfork();
	if (pid == 0) {
		/* killed by check's time limit, the test takes its workers along */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(fds[0]);
		int rc = fbx_worker_register(box, role, T_S(60));
		for (int i = 0; rc == 0 && i < in_flight; i++)
			rc = fbx_request_begin(box);
		char c = rc == 0 ? 'y' : 'n';
		if (write(fds[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	track(pid);
	char c = 0;
	ck_assert_int_eq(read(fds[0], &c, 1), 1);
	close(fds[0]);
	ck_assert_msg(c == 'y', "worker %s did not register", role);
	return pid;
}

static void kill_worker(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	untrack(pid);
}

/* ---- the states --------------------------------------------------------------- */

START_TEST(probe_not_started_no_worker)
{
	const char *name = new_box();
	fbx_box *box = box_make(name);
	struct probe p;
	probe_start(&p, name);
	struct reply r;

	expect(p.port, "/live", 503, "ok", false, &r);
	reason_has(&r, "no worker is alive");
	ck_assert_int_eq(jint(json_object_get(r.json, "workers"), "alive"), 0);
	reply_free(&r);
	expect(p.port, "/ready", 503, "ok", false, &r);
	reason_has(&r, "not started");
	ck_assert(!jbool(r.json, "started"));
	reply_free(&r);
	expect(p.port, "/healthz", 200, "ok", false, &r);
	ck_assert_uint_eq(json_object_size(json_object_get(r.json, "checks")), 0);
	reply_free(&r);
	expect(p.port, "/startup", 503, "ok", false, &r);
	reply_free(&r);

	/* started, and a worker (no master ever registered: none asked for) */
	ck_assert_int_eq(fbx_started(box), 0);
	pid_t w = worker(box, "worker", 0);
	expect(p.port, "/live", 200, "ok", true, &r);
	reply_free(&r);
	expect(p.port, "/ready", 200, "ok", true, &r);
	reply_free(&r);
	expect(p.port, "/startup", 200, "ok", true, &r);
	reply_free(&r);

	kill_worker(w);
	expect(p.port, "/live", 503, "ok", false, &r);
	reason_has(&r, "no worker is alive");
	ck_assert_int_eq(jint(json_object_get(r.json, "workers"), "dead"), 1);
	reply_free(&r);
	probe_stop(&p);
	fbx_box_close(box);
	fbx_box_unlink(name);
}
END_TEST

START_TEST(probe_ok_degraded_unhealthy)
{
	const char *name = new_box();
	fbx_box *box = box_make(name);
	ck_assert_int_eq(fbx_started(box), 0);
	pid_t m = worker(box, "master", 0);
	pid_t w1 = worker(box, "worker", 2);
	pid_t w2 = worker(box, "worker", 1);
	ck_assert_int_eq(fbx_check_set(box, "db", FBX_CHECK_PASS, 1, T_S(60), "12 ms"), 0);
	ck_assert_int_eq(fbx_check_set(box, "disk", FBX_CHECK_PASS, 0, T_S(60), NULL), 0);
	struct probe p;
	probe_start(&p, name);
	struct reply r;

	/* ok */
	expect(p.port, "/healthz", 200, "ok", false, &r);
	const json_t *db = check_of(&r, "db");
	ck_assert_str_eq(jstr(db, "status"), "pass");
	ck_assert(jbool(db, "critical"));
	ck_assert_str_eq(jstr(db, "message"), "12 ms");
	ck_assert_str_eq(jstr(check_of(&r, "disk"), "status"), "pass");
	ck_assert(!jbool(check_of(&r, "disk"), "critical"));
	const json_t *wk = json_object_get(r.json, "workers");
	ck_assert_int_eq(jint(wk, "alive"), 2);
	ck_assert_int_eq(jint(wk, "masters_alive"), 1);
	ck_assert_int_eq(jint(wk, "in_flight"), 3);
	reply_free(&r);
	expect(p.port, "/live", 200, "ok", true, &r);
	reason_has(&r, "2 workers alive");
	reply_free(&r);
	expect(p.port, "/ready", 200, "ok", true, &r);
	reply_free(&r);

	/* degraded: a check that is not critical fails, one critical warns */
	ck_assert_int_eq(fbx_check_set(box, "disk", FBX_CHECK_FAIL, 0, T_S(60), "93% full"), 0);
	ck_assert_int_eq(fbx_check_set(box, "db", FBX_CHECK_WARN, 1, T_S(60), "slow"), 0);
	expect(p.port, "/healthz", 200, "degraded", false, &r);
	ck_assert_str_eq(jstr(check_of(&r, "disk"), "status"), "fail");
	ck_assert_str_eq(jstr(check_of(&r, "disk"), "error"), "93% full");
	ck_assert_str_eq(jstr(check_of(&r, "db"), "status"), "warn");
	ck_assert_str_eq(jstr(check_of(&r, "db"), "message"), "slow");
	reason_has(&r, "disk");
	reply_free(&r);
	expect(p.port, "/ready", 200, "degraded", true, &r);
	reply_free(&r);

	/* unhealthy: a critical check fails; live all the same */
	ck_assert_int_eq(fbx_check_set(box, "db", FBX_CHECK_FAIL, 1, T_S(60), "refused"), 0);
	expect(p.port, "/healthz", 503, "unhealthy", false, &r);
	ck_assert_str_eq(jstr(check_of(&r, "db"), "error"), "refused");
	reason_has(&r, "'db'");
	reply_free(&r);
	expect(p.port, "/ready", 503, "unhealthy", false, &r);
	reason_has(&r, "critical check failing: 'db'");
	reply_free(&r);
	expect(p.port, "/live", 200, "unhealthy", true, &r);
	reply_free(&r);

	/* a pass that expires counts as a failure, and says so */
	ck_assert_int_eq(fbx_check_set(box, "db", FBX_CHECK_PASS, 1, T_MS(20), "fine"), 0);
	ck_assert_int_eq(fbx_check_set(box, "disk", FBX_CHECK_PASS, 0, T_S(60), NULL), 0);
	tsleep_ms(120);
	expect(p.port, "/healthz", 503, "unhealthy", false, &r);
	db = check_of(&r, "db");
	ck_assert_str_eq(jstr(db, "status"), "fail");
	ck_assert_msg(strstr(jstr(db, "error"), "expired") != NULL, "%s", jstr(db, "error"));
	ck_assert_msg(strstr(jstr(db, "error"), "fine") != NULL, "%s", jstr(db, "error"));
	reply_free(&r);

	/* the master gone: not live */
	ck_assert_int_eq(fbx_check_set(box, "db", FBX_CHECK_PASS, 1, T_S(60), NULL), 0);
	kill_worker(m);
	expect(p.port, "/live", 503, "ok", false, &r);
	reason_has(&r, "the master is not alive");
	reply_free(&r);

	probe_stop(&p);
	kill_worker(w1);
	kill_worker(w2);
	fbx_box_close(box);
	fbx_box_unlink(name);
}
END_TEST

START_TEST(probe_draining)
{
	const char *name = new_box();
	fbx_box *box = box_make(name);
	ck_assert_int_eq(fbx_started(box), 0);
	pid_t w = worker(box, "worker", 1);
	struct probe p;
	probe_start(&p, name);
	struct reply r;
	expect(p.port, "/ready", 200, "ok", true, &r);
	ck_assert(!jbool(r.json, "draining"));
	reply_free(&r);

	ck_assert_int_eq(fbx_drain(box, 1), 0);
	expect(p.port, "/ready", 503, "ok", false, &r);
	reason_has(&r, "draining");
	ck_assert(jbool(r.json, "draining"));
	ck_assert_int_ge(jint(r.json, "drain_age_ms"), 0);
	ck_assert_int_eq(jint(json_object_get(r.json, "workers"), "in_flight"), 1);
	reply_free(&r);
	/* draining is not dying: live and healthy still */
	expect(p.port, "/live", 200, "ok", true, &r);
	reply_free(&r);
	expect(p.port, "/healthz", 200, "ok", false, &r);
	reply_free(&r);

	ck_assert_int_eq(fbx_drain(box, 0), 0);
	expect(p.port, "/ready", 200, "ok", true, &r);
	reply_free(&r);
	probe_stop(&p);
	kill_worker(w);
	fbx_box_close(box);
	fbx_box_unlink(name);
}
END_TEST

/* Missing, created late, recreated, truncated: 503 with a reason, and the
 * box found again each time. */
START_TEST(probe_box_comes_and_goes)
{
	const char *name = new_box();
	struct probe p;
	probe_start(&p, name);
	struct reply r;
	const char *paths[] = {"/live", "/ready", "/healthz", "/startup"};
	for (size_t i = 0; i < ARRAY_LEN(paths); i++) {
		get(p.port, paths[i], &r);
		ck_assert_int_eq(r.status, 503);
		ck_assert_str_eq(jstr(r.json, "status"), "unhealthy");
		reason_has(&r, "does not exist");
		timestamp_ok(jstr(r.json, "timestamp"));
		reply_free(&r);
	}

	fbx_box *box = box_make(name);
	ck_assert_int_eq(fbx_check_set(box, "first", FBX_CHECK_PASS, 0, T_S(60), NULL), 0);
	expect(p.port, "/healthz", 200, "ok", false, &r);
	check_of(&r, "first");
	reply_free(&r);

	/* recreated: the new object, not the old mapping */
	fbx_box_close(box);
	ck_assert_int_eq(fbx_box_unlink(name), 0);
	box = box_make(name);
	ck_assert_int_eq(fbx_check_set(box, "second", FBX_CHECK_FAIL, 1, T_S(60), "x"), 0);
	expect(p.port, "/healthz", 503, "unhealthy", false, &r);
	check_of(&r, "second");
	ck_assert_ptr_null(json_object_get(json_object_get(r.json, "checks"), "first"));
	reply_free(&r);

	/* cut short under the probe's mapping: a reason, never a crash */
	char path[128];
	tshm_path(path, name);
	ck_assert_int_eq(truncate(path, 4096), 0);
	for (size_t i = 0; i < ARRAY_LEN(paths); i++) {
		get(p.port, paths[i], &r);
		ck_assert_int_eq(r.status, 503);
		ck_assert(strlen(jstr(r.json, "reason")) > 0);
		reply_free(&r);
	}
	probe_still_running(&p);

	fbx_box_close(box);
	ck_assert_int_eq(fbx_box_unlink(name), 0);
	box = box_make(name);
	expect(p.port, "/healthz", 200, "ok", false, &r);
	reply_free(&r);
	probe_stop(&p);
	fbx_box_close(box);
	fbx_box_unlink(name);
}
END_TEST

/* ---- HTTP ---------------------------------------------------------------------- */

START_TEST(probe_http_methods_and_paths)
{
	const char *name = new_box();
	fbx_box *box = box_make(name);
	struct probe p;
	probe_start(&p, name);
	struct reply r;

	/* HEAD: the GET's status and length, no body */
	request_from(NULL, p.port, "HEAD", "/healthz", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.body_len, 0);
	ck_assert_ptr_nonnull(header(&r, "Content-Length"));
	ck_assert_int_gt(atoi(header(&r, "Content-Length")), 0);
	reply_free(&r);
	request_from(NULL, p.port, "HEAD", "/ready", &r);
	ck_assert_int_eq(r.status, 503);
	ck_assert_uint_eq(r.body_len, 0);
	reply_free(&r);

	const char *not_found[] = {"/", "/nope", "/live/", "/healthzz", "/LIVE", "/live/../ready"};
	for (size_t i = 0; i < ARRAY_LEN(not_found); i++) {
		get(p.port, not_found[i], &r);
		ck_assert_msg(r.status == 404, "%s: %d", not_found[i], r.status);
		ck_assert_str_eq(jstr(r.json, "error"), "not found");
		reply_free(&r);
	}
	/* a query string is not part of the path */
	expect(p.port, "/healthz?verbose=1", 200, "ok", false, &r);
	reply_free(&r);

	const char *methods[] = {"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW"};
	for (size_t i = 0; i < ARRAY_LEN(methods); i++) {
		request_from(NULL, p.port, methods[i], "/live", &r);
		ck_assert_msg(r.status == 405, "%s: %d", methods[i], r.status);
		ck_assert_str_eq(header(&r, "Allow"), "GET, HEAD");
		ck_assert_str_eq(jstr(r.json, "error"), "method not allowed");
		reply_free(&r);
	}
	/* a POST with a body it will not read */
	int fd = connect_from(NULL, p.port);
	const char post[] = "POST /ready HTTP/1.1\r\nHost: p\r\nContent-Length: 100000\r\n\r\nabc";
	send_all(fd, post, sizeof(post) - 1);
	struct sbuf out = {0};
	read_to_end(fd, 3000, &out);
	close(fd);
	ck_assert_msg(out.p != NULL && strncmp(out.p, "HTTP/1.1 405", 12) == 0, "[%s]",
		      out.p ? out.p : "");
	free(out.p);

	probe_still_running(&p);
	probe_stop(&p);
	fbx_box_close(box);
	fbx_box_unlink(name);
}
END_TEST

/* curl, as an operator or a script would ask. */
START_TEST(probe_with_curl)
{
	const char *name = new_box();
	fbx_box *box = box_make(name);
	ck_assert_int_eq(fbx_started(box), 0);
	pid_t w = worker(box, "worker", 0);
	ck_assert_int_eq(fbx_check_set(box, "cache", FBX_CHECK_WARN, 0, T_S(60), "cold"), 0);
	struct probe p;
	probe_start(&p, name);
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/ready", p.port);
	const char *argv[] = {"curl", "-sS", "--max-time", "5", "-w", "\n%{http_code}", url, NULL};
	struct spawn_result res;
	ck_assert_int_eq(spawn_run(NULL, argv, &res), 0);
	ck_assert_msg(res.code == 0, "curl: %s", res.err);
	char *code = strrchr(res.out, '\n');
	ck_assert_ptr_nonnull(code);
	ck_assert_str_eq(code + 1, "200");
	*code = '\0';
	json_error_t e;
	json_t *j = json_loads(res.out, 0, &e);
	ck_assert_msg(j != NULL, "%s: [%s]", e.text, res.out);
	ck_assert_str_eq(jstr(j, "status"), "degraded");
	ck_assert(jbool(j, "ready"));
	const json_t *cache = json_object_get(json_object_get(j, "checks"), "cache");
	ck_assert_str_eq(jstr(cache, "status"), "warn");
	ck_assert_str_eq(jstr(cache, "message"), "cold");
	json_decref(j);
	spawn_result_free(&res);

	/* --fail: 503 is a failure to curl, as to a kubelet */
	ck_assert_int_eq(fbx_drain(box, 1), 0);
	const char *fail_argv[] = {"curl", "-sS", "--fail", "--max-time", "5", "-o", "/dev/null",
				   url, NULL};
	ck_assert_int_eq(spawn_run(NULL, fail_argv, &res), 0);
	ck_assert_int_eq(res.code, 22);
	spawn_result_free(&res);

	probe_stop(&p);
	kill_worker(w);
	fbx_box_close(box);
	fbx_box_unlink(name);
}
END_TEST

/* Which box with no -b and no FUSEBOX_BOX: as fuseboxctl and fusebox-top
 * choose it, never a quiet 'default' nobody runs.  Needs a /dev/shm of
 * its own to know every box there is. */
#define PRIVATE_SHM()                                                                      \
	do {                                                                               \
		const char *why_;                                                          \
		if (!ctl_private_shm(&why_)) {                                             \
			fprintf(stderr, "%s: skipped: %s\n", __func__, why_);              \
			return;                                                            \
		}                                                                          \
	} while (0)

/* The probe run to its end with no box named: exit 2, one line on
 * stderr holding want, nothing on stdout. */
static void probe_refuses(const char *want)
{
	const char *argv[] = {probe_path(), "--listen", "127.0.0.1:0", NULL};
	struct spawn_result res;
	ck_assert_int_eq(spawn_run(box_env(NULL), argv, &res), 0);
	ck_assert_msg(res.code == 2, "%s: exit %d, stdout [%s]", res.cmd, res.code, res.out);
	ck_assert_msg(count_char(res.err, '\n') == 1 &&
			      strncmp(res.err, "fusebox-probe: ", 15) == 0 &&
			      strstr(res.err, want) != NULL,
		      "%s: stderr [%s]", res.cmd, res.err);
	ck_assert_str_eq(res.out, "");
	spawn_result_free(&res);
}

START_TEST(probe_finds_the_box)
{
	PRIVATE_SHM();
	/* none: it cannot know whose health to report */
	probe_refuses("name it with -b NAME");
	/* one: that one, and it says it chose it */
	const char *a = new_box();
	fbx_box *box = box_make(a);
	ck_assert_int_eq(fbx_started(box), 0);
	struct probe p;
	const char *argv[] = {probe_path(), "--listen", "127.0.0.1:0", NULL};
	ck_assert_int_eq(spawn_start(&p.proc, box_env(NULL), argv), 0);
	track(p.proc.pid);
	ck_assert_msg(spawn_wait_for(&p.proc, "/startup)", 5000), "the probe did not start: [%s]",
		      p.proc.obuf.p ? p.proc.obuf.p : "");
	char said[128];
	snprintf(said, sizeof(said), "box '%s' (the only one on this host) served on ", a);
	ck_assert_msg(strstr(p.proc.obuf.p, said) != NULL, "[%s]", p.proc.obuf.p);
	const char *at = strstr(p.proc.obuf.p, "http://127.0.0.1:");
	ck_assert_ptr_nonnull(at);
	p.port = (unsigned)strtoul(at + strlen("http://127.0.0.1:"), NULL, 10);
	struct reply r;
	get(p.port, "/startup", &r);
	ck_assert_int_eq(r.status, 200); /* the box it found is the one started */
	reply_free(&r);
	probe_stop(&p);
	/* several: listed, and how to pick one */
	const char *b = new_box();
	fbx_box *box2 = box_make(b);
	probe_refuses("pick one: -b NAME or FUSEBOX_BOX=NAME");
	probe_refuses(a);
	probe_refuses(b);
	fbx_box_close(box2);
	fbx_box_close(box);
	fbx_box_unlink(a);
	fbx_box_unlink(b);
}
END_TEST

START_TEST(probe_bad_options)
{
	const char *cases[][3] = {
		{"--bogus", NULL, "--bogus"},
		{"--listen", "nonsense", "nonsense"},
		{"--listen", "127.0.0.1:70000", "port"},
		{"--listen", "localhost:4949", "numeric"},
		{"-b", "../etc", "box name"},
		{"--listen", NULL, "--listen"},
		{"stray", NULL, "stray"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		const char *argv[4] = {probe_path(), cases[i][0], cases[i][1], NULL};
		struct spawn_result res;
		ck_assert_int_eq(spawn_run(NULL, argv, &res), 0);
		ck_assert_msg(res.code == 2, "%s: exit %d", res.cmd, res.code);
		ck_assert_msg(count_char(res.err, '\n') == 1 &&
				      strncmp(res.err, "fusebox-probe: ", 15) == 0 &&
				      strstr(res.err, cases[i][2]) != NULL,
			      "%s: stderr [%s]", res.cmd, res.err);
		ck_assert_str_eq(res.out, "");
		spawn_result_free(&res);
	}
	const char *help[] = {probe_path(), "--help", NULL};
	struct spawn_result res;
	ck_assert_int_eq(spawn_run(NULL, help, &res), 0);
	ck_assert_int_eq(res.code, 0);
	ck_assert(strstr(res.out, "usage: fusebox-probe") != NULL);
	spawn_result_free(&res);
}
END_TEST

/* ---- hostile clients ------------------------------------------------------------ */

static size_t count_answers(const char *s)
{
	size_t n = 0;
	for (const char *p = s; (p = strstr(p, "HTTP/1.1 ")) != NULL; p++)
		n++;
	return n;
}

enum want { REFUSED, ANSWERED_200, ANYTHING, PIPELINED };

struct attack {
	const char *what;
	struct sbuf data;
	bool half_close; /* the client stops sending after it */
	enum want want;
	int fd;
};

static void attack_add(struct attack *a, size_t *n, const char *what, const void *data, size_t len,
		       bool half_close, enum want want)
{
	struct attack *t = &a[(*n)++];
	memset(t, 0, sizeof(*t));
	t->what = what;
	sb_putn(&t->data, data, len);
	t->half_close = half_close;
	t->want = want;
}

/* Every attack at once, each on a connection of its own; then each must
 * have been answered or closed within the idle timeout and a margin: a
 * request MHD cannot finish (no line end, a half-close it notices only
 * at the idle timeout) costs at most that, and all of them together cost
 * it once. */
START_TEST(probe_hostile_requests)
{
	const char *name = new_box();
	fbx_box *box = box_make(name);
	struct probe p;
	probe_start(&p, name);
	static struct attack a[32];
	size_t n = 0;
	struct sbuf b = {0};

	/* 100 kB of headers, and one header line of 1 MB: refused, not buffered */
	sb_puts(&b, "GET /healthz HTTP/1.1\r\nHost: p\r\n");
	for (int i = 0; i < 1000; i++)
		sb_puts(&b, "X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
	sb_puts(&b, "\r\n");
	attack_add(a, &n, "100 kB of headers", b.p, b.len, false, REFUSED);
	b.len = 0;
	sb_puts(&b, "GET /healthz HTTP/1.1\r\nX-Long: ");
	for (int i = 0; i < 1 << 20; i++)
		sb_putc(&b, 'x');
	sb_puts(&b, "\r\n\r\n");
	attack_add(a, &n, "a 1 MB header", b.p, b.len, false, REFUSED);
	/* no line end ever, the connection kept open: cut at the memory limit */
	b.len = 0;
	for (int i = 0; i < 20000; i++)
		sb_putc(&b, 'A');
	attack_add(a, &n, "20 kB without a line end", b.p, b.len, false, REFUSED);
	free(b.p);

	/* bare LF line ends: answered, as HTTP/1.1 allows */
	const char lf[] = "GET /healthz HTTP/1.1\nHost: p\nConnection: close\n\n";
	attack_add(a, &n, "LF line ends", lf, sizeof(lf) - 1, false, ANSWERED_200);
	const char nocrlf[] = "GET /healthz HTTP/1.1 Host: p";
	attack_add(a, &n, "no line end, then silence", nocrlf, sizeof(nocrlf) - 1, true, REFUSED);

	/* binary garbage, of a few shapes */
	uint64_t seed = 42;
	for (int round = 0; round < 6; round++) {
		unsigned char junk[6000];
		size_t len = round < 3 ? 64u << round : sizeof(junk);
		for (size_t i = 0; i < len; i++)
			junk[i] = (unsigned char)(trnd(&seed) >> 24);
		if (round == 4)
			memcpy(junk, "GET /live HTTP/1.1\r\n", 20); /* a good start, then junk */
		if (round == 5)
			memset(junk, 0, len);
		attack_add(a, &n, "binary garbage", junk, len, round % 2 == 0, REFUSED);
	}
	const char *bad_lines[] = {
		"GET\r\n\r\n", "GET /live\r\n\r\n", "GET /live HTTP/9.9\r\n\r\n",
		"GET /live HTTP/1.1\r\nHost p\r\n\r\n", " /live HTTP/1.1\r\n\r\n",
		"GET /live HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
		"GET /live HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"GET /live HTTP/1.1\r\nHost: p\r\nContent-Length: 99999999999999999999\r\n\r\n",
	};
	for (size_t i = 0; i < ARRAY_LEN(bad_lines); i++)
		attack_add(a, &n, bad_lines[i], bad_lines[i], strlen(bad_lines[i]), true, ANYTHING);

	/* pipelined: three requests in one write, three answers in order */
	const char pipe3[] = "GET /live HTTP/1.1\r\nHost: p\r\n\r\n"
			     "HEAD /ready HTTP/1.1\r\nHost: p\r\n\r\n"
			     "GET /healthz HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n";
	attack_add(a, &n, "pipelined", pipe3, sizeof(pipe3) - 1, false, PIPELINED);
	ck_assert_uint_le(n, ARRAY_LEN(a));

	for (size_t i = 0; i < n; i++) {
		a[i].fd = connect_from(NULL, p.port);
		send_all(a[i].fd, a[i].data.p, a[i].data.len);
		if (a[i].half_close)
			shutdown(a[i].fd, SHUT_WR);
	}
	/* meanwhile, a well-behaved client is answered */
	struct reply r;
	expect(p.port, "/healthz", 200, "ok", false, &r);
	reply_free(&r);

	uint64_t deadline = spawn_now_ms() + 8000;
	for (size_t i = 0; i < n; i++) {
		struct sbuf out = {0};
		uint64_t now = spawn_now_ms();
		bool closed = read_to_end(a[i].fd, now < deadline ? (int)(deadline - now) : 0, &out);
		close(a[i].fd);
		const char *got = out.p ? out.p : "";
		ck_assert_msg(closed, "%s: neither answered nor closed within 8 s", a[i].what);
		switch (a[i].want) {
		case REFUSED:
			ck_assert_msg(got[0] == '\0' || strncmp(got, "HTTP/1.1 4", 10) == 0,
				      "%s: [%.60s]", a[i].what, got);
			break;
		case ANSWERED_200:
			ck_assert_msg(strncmp(got, "HTTP/1.1 200", 12) == 0, "%s: [%.60s]", a[i].what,
				      got);
			break;
		case PIPELINED: {
			ck_assert_msg(count_answers(got) == 3, "%s: [%s]", a[i].what, got);
			const char *second = strstr(got + 1, "HTTP/1.1 ");
			const char *third = strstr(second + 1, "HTTP/1.1 ");
			ck_assert(strncmp(got, "HTTP/1.1 503", 12) == 0);    /* no worker */
			ck_assert(strncmp(second, "HTTP/1.1 503", 12) == 0); /* not started */
			ck_assert(strncmp(third, "HTTP/1.1 200", 12) == 0);  /* ok */
			break;
		}
		case ANYTHING:
			break; /* any answer, or none: what matters is that it ended */
		}
		free(out.p);
		free(a[i].data.p);
	}

	expect(p.port, "/healthz", 200, "ok", false, &r);
	reply_free(&r);
	probe_still_running(&p);
	probe_stop(&p);
	fbx_box_close(box);
	fbx_box_unlink(name);
}
END_TEST

/* A well-behaved request, from its own address, answered within 2 s. */
static void answered_meanwhile(unsigned port)
{
	uint64_t t0 = spawn_now_ms();
	struct reply r;
	request_from("127.0.0.1", port, "GET", "/healthz", &r);
	ck_assert_int_eq(r.status, 200);
	reply_free(&r);
	ck_assert_msg(spawn_now_ms() - t0 < 2000, "answered after %llu ms",
		      (ull)(spawn_now_ms() - t0));
}

/* 1,000 idle connections from 20 addresses, a slowloris dripping a
 * header a byte at a time, 100 from one address: well-behaved requests
 * are answered all along, idle connections are closed after the idle
 * timeout (5 s), the slowloris at the request deadline (10 s), and one
 * address never holds more than 64. */
START_TEST(probe_under_load)
{
	struct rlimit rl;
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < 2048 && (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= 2048)) {
		rl.rlim_cur = 2048;
		ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	ck_assert_msg(rl.rlim_cur >= 1300, "needs 1,300 descriptors, has %llu",
		      (ull)rl.rlim_cur);
	const char *name = new_box();
	fbx_box *box = box_make(name);
	struct probe p;
	probe_start(&p, name);

	enum { IDLE = 1000, CROWD = 100 };
	static int idle[IDLE], crowd[CROWD];
	char src[32];
	for (int i = 0; i < IDLE; i++) {
		snprintf(src, sizeof(src), "127.0.0.%d", 2 + i % 20);
		idle[i] = connect_from(src, p.port);
		if (i % 250 == 0)
			answered_meanwhile(p.port);
	}
	uint64_t t0 = spawn_now_ms();
	int loris = connect_from("127.0.0.30", p.port);
	const char drip[] = "GET /healthz HTTP/1.1\r\nX-a: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
	size_t dripped = 0;
	for (int i = 0; i < CROWD; i++)
		crowd[i] = connect_from("127.0.0.31", p.port);
	answered_meanwhile(p.port);

	/* one address: beyond 64, closed at once */
	tsleep_ms(300);
	int crowd_closed = 0;
	for (int i = 0; i < CROWD; i++)
		crowd_closed += closed_within(crowd[i], 0);
	ck_assert_msg(crowd_closed >= CROWD - 64, "only %d of %d closed", crowd_closed, CROWD);
	for (int i = 0; i < CROWD; i++)
		close(crowd[i]);

	/* the drip, one byte every 250 ms, with well-behaved requests between */
	bool loris_closed = false, idle_checked = false;
	uint64_t loris_at = 0;
	while (!loris_closed && spawn_now_ms() - t0 < 14000) {
		if (dripped < sizeof(drip) - 1)
			send_all(loris, drip + dripped++, 1);
		answered_meanwhile(p.port);
		loris_closed = closed_within(loris, 250);
		if (loris_closed)
			loris_at = spawn_now_ms() - t0;
		if (!idle_checked && spawn_now_ms() - t0 > 7500) {
			/* the idle ones are gone by now (5 s) */
			int still = 0;
			for (int i = 0; i < IDLE; i++)
				still += !closed_within(idle[i], 0);
			ck_assert_msg(still == 0, "%d idle connections still open after 7.5 s", still);
			idle_checked = true;
		}
	}
	ck_assert_msg(loris_closed, "the slowloris was never cut off");
	ck_assert_msg(loris_at >= 9000, "the slowloris was cut off after %llu ms, before its deadline",
		      (ull)loris_at);
	ck_assert(idle_checked);
	close(loris);
	for (int i = 0; i < IDLE; i++)
		close(idle[i]);
	answered_meanwhile(p.port);
	probe_still_running(&p);
	probe_stop(&p);
	fbx_box_close(box);
	fbx_box_unlink(name);
}
END_TEST

FBX_TEST_SUITE(probe)
{
	Suite *s = suite_create("probe");
	TCase *states = tcase_create("probe_states");
	tcase_add_unchecked_fixture(states, NULL, ctl_sweep);
	tcase_set_timeout(states, 20);
	tcase_add_test(states, probe_not_started_no_worker);
	tcase_add_test(states, probe_ok_degraded_unhealthy);
	tcase_add_test(states, probe_draining);
	tcase_add_test(states, probe_box_comes_and_goes);
	tcase_add_test(states, probe_finds_the_box);
	suite_add_tcase(s, states);

	TCase *http = tcase_create("probe_http");
	tcase_add_unchecked_fixture(http, NULL, ctl_sweep);
	tcase_set_timeout(http, 30);
	tcase_add_test(http, probe_http_methods_and_paths);
	tcase_add_test(http, probe_with_curl);
	tcase_add_test(http, probe_bad_options);
	tcase_add_test(http, probe_hostile_requests);
	tcase_add_test(http, probe_under_load);
	suite_add_tcase(s, http);
	return s;
}
