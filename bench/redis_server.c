/* redis_server.c — see redis.h. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "redis.h"

#define START_TIMEOUT_NS (10ull * 1000000000u)

static pid_t server_pid;

int redis_server_find(char *path, size_t len)
{
	/* FUSEBOX_BENCH_REDIS_SERVER names the binary; empty = act as if absent */
	const char *forced = getenv("FUSEBOX_BENCH_REDIS_SERVER");
	if (forced != NULL) {
		snprintf(path, len, "%s", forced);
		return forced[0] != '\0' && access(path, X_OK) == 0 ? 0 : -1;
	}
	const char *env = getenv("PATH");
	char dirs[4096];
	snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/usr/bin:/usr/local/bin:/usr/local/sbin",
		 env ? env : "");
	for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d != NULL;
	     d = strtok_r(NULL, ":", &save)) {
		if (d[0] == '\0')
			continue;
		snprintf(path, len, "%s/redis-server", d);
		if (access(path, X_OK) == 0)
			return 0;
	}
	return -1;
}

/* A loopback port nobody listens on right now. */
static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof(sa);
	int port = -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static pid_t spawn(const char *path, int port)
{
	char ports[16];
	snprintf(ports, sizeof(ports), "%d", port);
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	/* child: die with the bench, keep quiet, become redis-server */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	execl(path, "redis-server", "--port", ports, "--bind", "127.0.0.1", "--save", "",
	      "--appendonly", "no", "--daemonize", "no", "--dir", "/tmp", (char *)NULL);
	_exit(127);
}

redisContext *redis_connect(int port)
{
	const struct timeval connect_tv = {2, 0}, io_tv = {10, 0};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, connect_tv);
	if (c != NULL && (c->err || redisSetTimeout(c, io_tv) != REDIS_OK)) {
		redisFree(c);
		c = NULL;
	}
	return c;
}

static int answers_ping(int port)
{
	redisContext *c = redis_connect(port);
	if (c == NULL)
		return 0;
	redisReply *r = redisCommand(c, "PING");
	int ok = r != NULL && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
	freeReplyObject(r);
	redisFree(c);
	return ok;
}

int redis_server_start(const char *path, int *port_out)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		int port = free_port();
		if (port <= 0)
			return -1;
		pid_t pid = spawn(path, port);
		if (pid < 0)
			return -1;
		server_pid = pid;
		bench_cleanup_set_redis((int)pid);
		uint64_t deadline = bench_now_ns() + START_TIMEOUT_NS;
		int exited = 0;
		while (bench_now_ns() < deadline) {
			if (waitpid(pid, NULL, WNOHANG) == pid) {
				exited = 1; /* e.g. the port was taken meanwhile */
				break;
			}
			if (answers_ping(port)) {
				*port_out = port;
				return 0;
			}
			struct timespec ts = {0, 20 * 1000000L};
			nanosleep(&ts, NULL);
		}
		if (!exited) {
			redis_server_stop();
			return -1;
		}
		server_pid = 0;
		bench_cleanup_set_redis(0);
	}
	return -1;
}

void redis_server_stop(void)
{
	if (server_pid <= 0)
		return;
	pid_t pid = server_pid;
	server_pid = 0;
	kill(pid, SIGTERM);
	uint64_t deadline = bench_now_ns() + 3000000000ull;
	for (;;) {
		pid_t w = waitpid(pid, NULL, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR))
			break;
		if (bench_now_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			break;
		}
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
	bench_cleanup_set_redis(0);
}
