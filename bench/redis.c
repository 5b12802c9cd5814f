/*
 * redis.c — the usual shared limiter: a sliding-window-counter Lua script
 * in Redis on loopback, one EVALSHA round trip per decision, timed with 1
 * client and with 2 clients (2 processes, each with its own connection).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "redis.h"
#include "resp.h"

#define OPS_PER_CLIENT 20000
#define HOT_KEY "rl:user:0000000042"
#define NEVER_LIMIT "1000000000"

const char redis_window_script[] =
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
	"local limit = tonumber(ARGV[1])\n"
	"local win = tonumber(ARGV[2]) * 1000000\n"
	"local idx = math.floor(now / win)\n"
	"local cur_key = KEYS[1] .. ':' .. idx\n"
	"local prev = tonumber(redis.call('GET', KEYS[1] .. ':' .. (idx - 1)) or '0')\n"
	"local cur = redis.call('INCR', cur_key)\n"
	"redis.call('EXPIRE', cur_key, 2 * tonumber(ARGV[2]))\n"
	"local weight = (win - (now % win)) / win\n"
	"if prev * weight + cur > limit then\n"
	"  redis.call('DECR', cur_key)\n"
	"  return 0\n"
	"end\n"
	"return 1\n";

struct redis_ctx {
	int port;
	char req[512];      /* the EVALSHA request, encoded once */
	size_t req_len;
	resp_conn *conn;
	resp_reply *reply;
};

static int redis_setup(void *arg, int proc)
{
	(void)proc;
	struct redis_ctx *c = arg;
	c->reply = malloc(sizeof(*c->reply));
	if (c->reply == NULL || resp_connect("127.0.0.1", c->port, &c->conn) != 0)
		return -1;
	return 0;
}

static uint64_t redis_loop(void *arg, uint64_t n)
{
	struct redis_ctx *c = arg;
	uint64_t admitted = 0;
	for (uint64_t i = 0; i < n; i++) {
		if (resp_roundtrip(c->conn, c->req, c->req_len, c->reply) != 0) {
			fprintf(stderr, "bench: redis connection failed\n");
			break;
		}
		if (c->reply->type == ':' && c->reply->integer == 1) {
			admitted++;
		} else if (c->reply->type == '-') {
			fprintf(stderr, "bench: redis: %s\n", c->reply->text);
			break;
		}
	}
	return admitted;
}

static void redis_finish(void *arg, int forked)
{
	(void)forked;
	struct redis_ctx *c = arg;
	resp_close(c->conn);
	c->conn = NULL;
	free(c->reply);
	c->reply = NULL;
}

/* Loads the script and reads the version with a connection of our own. */
static int prepare(struct redis_ctx *c, struct bench_redis *out)
{
	resp_conn *conn = NULL;
	resp_reply *r = malloc(sizeof(*r));
	int rc = -1;
	if (r == NULL || resp_connect("127.0.0.1", c->port, &conn) != 0)
		goto out;
	const char *info[] = {"INFO", "server"};
	if (resp_command(conn, 2, info, r) == 0 && r->type == '$') {
		const char *v = strstr(r->text, "redis_version:");
		if (v != NULL)
			sscanf(v + 14, "%31[^\r\n]", out->version);
	}
	const char *load[] = {"SCRIPT", "LOAD", redis_window_script};
	if (resp_command(conn, 3, load, r) != 0 || r->type != '$' || strlen(r->text) != 40) {
		fprintf(stderr, "bench: redis SCRIPT LOAD failed: %s\n", r->text);
		goto out;
	}
	const char *eval[] = {"EVALSHA", r->text, "1", HOT_KEY, NEVER_LIMIT, "1"};
	c->req_len = resp_encode(c->req, sizeof(c->req), 6, eval);
	if (c->req_len == 0)
		goto out;
	/* one decision by hand: the script must run and admit */
	if (resp_roundtrip(conn, c->req, c->req_len, r) != 0 || r->type != ':' ||
	    r->integer != 1) {
		fprintf(stderr, "bench: redis EVALSHA failed: %c%s\n", r->type, r->text);
		goto out;
	}
	rc = 0;
out:
	resp_close(conn);
	free(r);
	return rc;
}

int bench_redis_run(struct bench_redis *out)
{
	char path[512];
	memset(out, 0, sizeof(*out));
	if (redis_server_find(path, sizeof(path)) != 0)
		return 0; /* available = 0: the report says how to install it */
	out->available = 1;
	struct redis_ctx ctx = {0};
	if (redis_server_start(path, &ctx.port) != 0) {
		fprintf(stderr, "bench: could not start %s\n", path);
		return -1;
	}
	int rc = prepare(&ctx, out);
	if (rc == 0) {
		bench_op op = {.name = "redis EVALSHA", .setup = redis_setup, .run = redis_loop,
			       .finish = redis_finish, .ctx = &ctx};
		out->c1 = bench_measure_fixed(&op, 1, OPS_PER_CLIENT, BENCH_RUNS);
		out->c2 = bench_measure_fixed(&op, 2, OPS_PER_CLIENT, BENCH_RUNS);
		out->ok = out->c1.ok && out->c2.ok && out->c1.admitted == 1.0 &&
			  out->c2.admitted == 1.0;
		if (!out->ok)
			rc = -1;
	}
	redis_server_stop();
	return rc;
}
