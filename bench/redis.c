/*
 * redis.c — the usual shared limiter: a sliding-window-counter Lua script
 * in Redis on loopback, one EVALSHA round trip per decision, timed with 1
 * client and with 2 clients (2 processes, each with its own connection).
 * The client is hiredis; the request is formatted once, so that a round
 * trip costs what a server's pre-built call would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "redis.h"

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
	char *req;          /* the EVALSHA request, formatted once */
	size_t req_len;
	redisContext *conn;
};

static int redis_setup(void *arg, int proc)
{
	(void)proc;
	struct redis_ctx *c = arg;
	c->conn = redis_connect(c->port);
	return c->conn != NULL ? 0 : -1;
}

/* One decision: the formatted request out, one reply back. */
static redisReply *decide(redisContext *conn, const struct redis_ctx *c)
{
	void *reply = NULL;
	if (redisAppendFormattedCommand(conn, c->req, c->req_len) != REDIS_OK ||
	    redisGetReply(conn, &reply) != REDIS_OK)
		return NULL;
	return reply;
}

static uint64_t redis_loop(void *arg, uint64_t n)
{
	struct redis_ctx *c = arg;
	uint64_t admitted = 0;
	for (uint64_t i = 0; i < n; i++) {
		redisReply *r = decide(c->conn, c);
		if (r == NULL) {
			fprintf(stderr, "bench: redis connection failed: %s\n", c->conn->errstr);
			break;
		}
		int stop = r->type == REDIS_REPLY_ERROR;
		if (r->type == REDIS_REPLY_INTEGER && r->integer == 1)
			admitted++;
		else if (stop)
			fprintf(stderr, "bench: redis: %s\n", r->str);
		freeReplyObject(r);
		if (stop)
			break;
	}
	return admitted;
}

static void redis_finish(void *arg, int forked)
{
	(void)forked;
	struct redis_ctx *c = arg;
	if (c->conn != NULL)
		redisFree(c->conn);
	c->conn = NULL;
}

/* Loads the script and reads the version with a connection of our own. */
static int prepare(struct redis_ctx *c, struct bench_redis *out)
{
	redisContext *conn = redis_connect(c->port);
	redisReply *r = NULL;
	int rc = -1;
	if (conn == NULL)
		goto out;
	r = redisCommand(conn, "INFO server");
	if (r != NULL && r->type == REDIS_REPLY_STRING) {
		const char *v = strstr(r->str, "redis_version:");
		if (v != NULL)
			sscanf(v + 14, "%31[^\r\n]", out->version);
	}
	freeReplyObject(r);
	r = redisCommand(conn, "SCRIPT LOAD %s", redis_window_script);
	if (r == NULL || r->type != REDIS_REPLY_STRING || r->len != 40) {
		fprintf(stderr, "bench: redis SCRIPT LOAD failed: %s\n",
			r == NULL ? conn->errstr : r->str ? r->str : "(no text)");
		goto out;
	}
	const char *eval[] = {"EVALSHA", r->str, "1", HOT_KEY, NEVER_LIMIT, "1"};
	int len = redisFormatCommandArgv(&c->req, 6, eval, NULL);
	if (len < 0)
		goto out;
	c->req_len = (size_t)len;
	freeReplyObject(r);
	/* one decision by hand: the script must run and admit */
	r = decide(conn, c);
	if (r == NULL || r->type != REDIS_REPLY_INTEGER || r->integer != 1) {
		fprintf(stderr, "bench: redis EVALSHA failed: %s\n",
			r == NULL ? conn->errstr : r->str ? r->str : "not 1");
		goto out;
	}
	rc = 0;
out:
	freeReplyObject(r);
	if (conn != NULL)
		redisFree(conn);
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
	redisFreeCommand(ctx.req);
	return rc;
}
