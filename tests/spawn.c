/* spawn.c — see spawn.h. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spawn.h"

#define NOBODY 65534

void sb_putn(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (p == NULL)
			abort();
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void sb_puts(struct sbuf *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

void sb_putc(struct sbuf *b, char c)
{
	sb_putn(b, &c, 1);
}

char *sb_take(struct sbuf *b)
{
	if (b->p == NULL)
		sb_putn(b, "", 0);
	char *p = b->p;
	*b = (struct sbuf){0};
	return p;
}

uint64_t spawn_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* In the child, between fork and exec. */
static void child(const struct spawn_opts *o, const char *const *argv, int out, int err)
{
	int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (o && o->stdout_path)
		out = open(o->stdout_path, O_WRONLY | O_CLOEXEC);
	if (nul < 0 || out < 0 || dup2(nul, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(126);
	for (size_t i = 0; o && o->env && o->env[i]; i++) {
		const char *eq = strchr(o->env[i], '=');
		if (eq == NULL) {
			unsetenv(o->env[i]);
		} else {
			char name[128];
			snprintf(name, sizeof(name), "%.*s", (int)(eq - o->env[i]), o->env[i]);
			setenv(name, eq + 1, 1);
		}
	}
	if (o && o->set_umask)
		umask(o->umask);
	if (o && o->nobody && (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)) {
		dprintf(2, "test: cannot become nobody: %s\n", strerror(errno));
		_exit(126);
	}
	execvp(argv[0], (char *const *)argv);
	dprintf(2, "test: exec %s: %s\n", argv[0], strerror(errno));
	_exit(126);
}

int spawn_start(struct spawn_proc *p, const struct spawn_opts *o, const char *const *argv)
{
	*p = (struct spawn_proc){.pid = -1, .out = -1, .err = -1};
	sb_putn(&p->obuf, "", 0);
	int po[2], pe[2];
	if (pipe2(po, O_CLOEXEC) != 0)
		return -1;
	if (pipe2(pe, O_CLOEXEC) != 0) {
		close(po[0]);
		close(po[1]);
		return -1;
	}
	/* what stdio holds would otherwise be written twice */
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0)
		child(o, argv, po[1], pe[1]);
	close(po[1]);
	close(pe[1]);
	if (pid < 0) {
		close(po[0]);
		close(pe[0]);
		return -1;
	}
	p->pid = pid;
	p->out = po[0];
	p->err = pe[0];
	return 0;
}

/* Reads both pipes to EOF and closes them. */
static int drain(int ofd, int efd, struct sbuf *out, struct sbuf *err)
{
	struct pollfd p[2] = {{ofd, POLLIN, 0}, {efd, POLLIN, 0}};
	struct sbuf *dst[2] = {out, err};
	int open_fds = 2, rc = 0;
	sb_putn(out, "", 0);
	sb_putn(err, "", 0);
	while (open_fds > 0) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			rc = -1;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || p[i].revents == 0)
				continue;
			char chunk[8192];
			ssize_t n = read(p[i].fd, chunk, sizeof(chunk));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				close(p[i].fd);
				p[i].fd = -1;
				open_fds--;
			} else {
				sb_putn(dst[i], chunk, (size_t)n);
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
	return rc;
}

static int status_code(int st, bool *signaled)
{
	*signaled = !WIFEXITED(st);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int reap(pid_t pid, bool *signaled)
{
	int st = 0;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status_code(st, signaled);
}

bool spawn_wait_for(struct spawn_proc *p, const char *needle, uint64_t timeout_ms)
{
	fcntl(p->out, F_SETFL, O_NONBLOCK);
	uint64_t until = spawn_now_ms() + timeout_ms;
	while (strstr(p->obuf.p, needle) == NULL) {
		if (spawn_now_ms() > until)
			return false;
		struct pollfd pf = {p->out, POLLIN, 0};
		if (poll(&pf, 1, 10) > 0) {
			char chunk[4096];
			ssize_t n = read(p->out, chunk, sizeof(chunk));
			if (n > 0)
				sb_putn(&p->obuf, chunk, (size_t)n);
			else if (n == 0)
				return false;
		}
	}
	return true;
}

bool spawn_ended(struct spawn_proc *p, int *code)
{
	int st;
	if (waitpid(p->pid, &st, WNOHANG) != p->pid)
		return false;
	bool signaled;
	*code = status_code(st, &signaled);
	close(p->out);
	close(p->err);
	free(p->obuf.p);
	p->obuf = (struct sbuf){0};
	return true;
}

int spawn_finish(struct spawn_proc *p, bool *signaled, char **err)
{
	fcntl(p->out, F_SETFL, 0);
	struct sbuf o = {0}, e = {0};
	drain(p->out, p->err, &o, &e);
	sb_putn(&p->obuf, o.p, o.len);
	free(o.p);
	*err = e.p;
	return reap(p->pid, signaled);
}

int spawn_run(const struct spawn_opts *o, const char *const *argv, struct spawn_result *r)
{
	*r = (struct spawn_result){0};
	const char *base = strrchr(argv[0], '/');
	size_t used = (size_t)snprintf(r->cmd, sizeof(r->cmd), "%s", base ? base + 1 : argv[0]);
	for (size_t i = 1; argv[i] != NULL && used < sizeof(r->cmd); i++)
		used += (size_t)snprintf(r->cmd + used, sizeof(r->cmd) - used, " '%s'", argv[i]);
	struct spawn_proc p;
	if (spawn_start(&p, o, argv) != 0) {
		free(p.obuf.p);
		return -1;
	}
	struct sbuf out = {0}, err = {0};
	int rc = drain(p.out, p.err, &out, &err);
	free(p.obuf.p);
	r->code = reap(p.pid, &r->signaled);
	r->pid = p.pid;
	r->out = sb_take(&out);
	r->err = sb_take(&err);
	return rc < 0 || r->code < 0 ? -1 : 0;
}

void spawn_result_free(struct spawn_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}
