/*
 * chaos_spawn.c — running fuseboxctl on the box and keeping what it says.
 *
 * The tool is run as an operator would run it: its own process, its own
 * read-only mapping, its output on pipes.  Both pipes are drained while it
 * runs (a tool blocked on a full pipe would look hung).  While it runs the
 * reader's beat names it, so the master's watchdog can abort it when it
 * makes no progress; past kill_ns it is killed here, whatever happened.
 * It dies with the reader (PR_SET_PDEATHSIG), and ignores the terminal's
 * ^C like every process of the run: the master decides who stops.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chaos_scribble.h"

#define OUT_MAX (32u << 20) /* events --json of a full 16k ring is ~3 MB */
#define POLL_MS 20

const char *chaos_tool_name(unsigned tool)
{
	static const char *names[TOOL_N] = {"status --json", "events --json", "metrics", "status",
					    "limiter show gcra-key --json --top 8",
					    "limiter show win-key --top 8"};
	return tool < TOOL_N ? names[tool] : "?";
}

void chaos_tool_args(unsigned tool, const char *box, const char *args[10])
{
	unsigned n = 0;
	args[n++] = "-b";
	args[n++] = box;
	switch (tool) {
	case TOOL_STATUS_JSON: args[n++] = "status"; args[n++] = "--json"; break;
	case TOOL_EVENTS_JSON: args[n++] = "events"; args[n++] = "--json"; break;
	case TOOL_METRICS: args[n++] = "metrics"; break;
	case TOOL_TOP_JSON:
		args[n++] = "limiter", args[n++] = "show", args[n++] = "gcra-key";
		args[n++] = "--json", args[n++] = "--top", args[n++] = "8";
		break;
	case TOOL_TOP_TEXT:
		args[n++] = "limiter", args[n++] = "show", args[n++] = "win-key";
		args[n++] = "--top", args[n++] = "8";
		break;
	default: args[n++] = "status"; break;
	}
	args[n] = NULL;
}

static _Noreturn void child(const char *ctl, const char *const args[], int out, int err,
			    pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	if (dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(127);
	/* ignored dispositions survive exec: the terminal's ^C is the master's */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGPIPE, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	const char *argv[16] = {ctl};
	for (unsigned i = 0; i + 2 < 16 && args[i] != NULL; i++)
		argv[i + 1] = args[i];
	execv(ctl, (char *const *)(void *)argv);
	_exit(127);
}

/* Reads what fd has; false at its end (or an error). */
static bool drain(int fd, struct chaos_tool_out *o, bool is_out, size_t *cap)
{
	char tmp[65536];
	ssize_t n = read(fd, tmp, sizeof(tmp));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return false;
	if (!is_out) {
		size_t have = strlen(o->err), room = sizeof(o->err) - 1 - have;
		size_t k = (size_t)n < room ? (size_t)n : room;
		memcpy(o->err + have, tmp, k);
		o->err[have + k] = '\0';
		return true;
	}
	if (o->len + (size_t)n + 1 > *cap) {
		size_t want = *cap ? *cap * 2 : 1 << 16;
		while (want < o->len + (size_t)n + 1)
			want *= 2;
		char *p = want <= OUT_MAX ? realloc(o->out, want) : NULL;
		if (p == NULL) {
			o->cut = true; /* keep draining, keep nothing more */
			return true;
		}
		o->out = p;
		*cap = want;
	}
	memcpy(o->out + o->len, tmp, (size_t)n);
	o->len += (size_t)n;
	o->out[o->len] = '\0';
	return true;
}

int chaos_tool_run(const char *ctl, const char *const args[], struct chaos_beat *beat,
		   uint64_t kill_ns, struct chaos_tool_out *o)
{
	memset(o, 0, sizeof(*o));
	o->status = -1;
	int out[2], err[2];
	if (pipe2(out, O_CLOEXEC) != 0)
		return -1;
	if (pipe2(err, O_CLOEXEC) != 0) {
		close(out[0]);
		close(out[1]);
		return -1;
	}
	pid_t parent = getpid();
	uint64_t t0 = chaos_now();
	pid_t pid = fork();
	if (pid == 0)
		child(ctl, args, out[1], err[1], parent);
	close(out[1]);
	close(err[1]);
	if (pid < 0) {
		close(out[0]);
		close(err[0]);
		return -1;
	}
	o->pid = pid;
	atomic_store(&beat->child, pid);
	struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
	size_t cap = 0;
	bool reaped = false;
	uint64_t bound = kill_ns / (POLL_MS * CHAOS_MS) + 1000;
	for (uint64_t i = 0; i < bound && !reaped; i++) {
		if (fds[0].fd >= 0 || fds[1].fd >= 0) {
			if (poll(fds, 2, POLL_MS) > 0)
				for (int k = 0; k < 2; k++)
					if (fds[k].fd >= 0 && (fds[k].revents & (POLLIN | POLLHUP | POLLERR)) &&
					    !drain(fds[k].fd, o, k == 0, &cap)) {
						close(fds[k].fd);
						fds[k].fd = -1;
					}
		} else {
			chaos_sleep_ns(POLL_MS * CHAOS_MS);
		}
		if (fds[0].fd < 0 && fds[1].fd < 0 && waitpid(pid, &o->status, WNOHANG) == pid)
			reaped = true;
		if (!reaped && !o->killed && chaos_now() - t0 > kill_ns) {
			kill(pid, SIGKILL);
			o->killed = true;
		}
	}
	for (int k = 0; k < 2; k++)
		if (fds[k].fd >= 0)
			close(fds[k].fd);
	if (!reaped) {
		kill(pid, SIGKILL); /* the loop's bound: it cannot be waited for longer */
		o->killed = true;
		waitpid(pid, &o->status, 0);
	}
	o->ns = chaos_now() - t0;
	atomic_store(&beat->child, 0);
	return 0;
}

void chaos_tool_free(struct chaos_tool_out *o)
{
	free(o->out);
	o->out = NULL;
}

const char *chaos_tool_problem(unsigned tool, const struct chaos_tool_out *o, char *buf,
			       size_t len)
{
	const char *text = o->out ? o->out : "";
	const char *why = chaos_text_problem(o->err, strlen(o->err), buf, len);
	if (why != NULL)
		return why; /* on stderr, which goes to a terminal */
	if (o->cut)
		return NULL; /* too long to keep: only its bytes were seen */
	bool ok = WIFEXITED(o->status) && WEXITSTATUS(o->status) == 0;
	if (!ok || tool == TOOL_STATUS || tool == TOOL_TOP_TEXT)
		return chaos_text_problem(text, o->len, buf, len);
	if (tool == TOOL_METRICS)
		return chaos_metrics_problem(text, o->len, buf, len);
	if (o->len == 0 || text[o->len - 1] != '\n')
		return "the JSON does not end with a newline";
	return chaos_json_problem(text, o->len, buf, len);
}
