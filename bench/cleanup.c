/*
 * cleanup.c — whatever the bench creates goes away, on every exit path:
 * boxes are unlinked and the Redis server is stopped at exit(), on a fatal
 * signal, and (for Redis) by PR_SET_PDEATHSIG if the bench is SIGKILLed.
 * Forked children never clean up: only the main process does.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define MAX_BOXES 32

/* "/fusebox.NAME", the documented shm object of box NAME, so that a signal
 * handler can shm_unlink() without formatting anything. */
static char shm_paths[MAX_BOXES][64];
static char names[MAX_BOXES][40];
static volatile sig_atomic_t n_boxes;
static volatile sig_atomic_t redis_pid;
static pid_t main_pid;
static unsigned serial;

static void unlink_all(void)
{
	for (int i = 0; i < n_boxes; i++)
		if (shm_paths[i][0] != '\0')
			shm_unlink(shm_paths[i]);
}

static void on_signal(int sig)
{
	if (getpid() == main_pid) {
		if (redis_pid > 0) {
			kill((pid_t)redis_pid, SIGKILL);
			waitpid((pid_t)redis_pid, NULL, 0); /* leave no zombie behind */
		}
		unlink_all();
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

void bench_cleanup_run(void)
{
	if (getpid() != main_pid)
		return;
	if (redis_pid > 0) {
		pid_t p = (pid_t)redis_pid;
		redis_pid = 0;
		kill(p, SIGKILL);
		while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
			;
	}
	unlink_all();
	n_boxes = 0;
}

void bench_cleanup_install(void)
{
	main_pid = getpid();
	atexit(bench_cleanup_run);
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGSEGV, SIGBUS,
				   SIGABRT, SIGFPE, SIGILL, SIGPIPE};
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

void bench_cleanup_set_redis(int pid)
{
	redis_pid = pid;
}

const char *bench_box_name(const char *tag, char *buf, size_t len)
{
	snprintf(buf, len, "bench-%d-%s%u", (int)main_pid, tag, serial++);
	return buf;
}

int bench_box_create(const char *tag, const fbx_box_config *cfg, fbx_box **out)
{
	if (n_boxes >= MAX_BOXES) {
		fprintf(stderr, "bench: more than %d boxes in one run (MAX_BOXES)\n", MAX_BOXES);
		return FBX_EFULL;
	}
	char name[40];
	bench_box_name(tag, name, sizeof(name));
	int i = n_boxes;
	snprintf(names[i], sizeof(names[i]), "%s", name);
	snprintf(shm_paths[i], sizeof(shm_paths[i]), "/fusebox.%s", name);
	n_boxes = i + 1; /* registered before it exists: unlinking nothing is harmless */
	int rc = fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, cfg, out);
	if (rc != 0) {
		fprintf(stderr, "bench: cannot create box %s: %s\n", name, fbx_strerror(rc));
		if (rc == FBX_EEXIST)
			shm_paths[i][0] = '\0'; /* not ours: leave it alone */
		*out = NULL;
	}
	return rc;
}

void bench_box_destroy(fbx_box *box)
{
	if (box == NULL)
		return;
	fbx_box_info info;
	int have = fbx_box_info_get(box, &info) == 0;
	fbx_box_close(box);
	if (!have)
		return;
	fbx_box_unlink(info.name);
	for (int i = 0; i < n_boxes; i++)
		if (strcmp(names[i], info.name) == 0)
			shm_paths[i][0] = '\0';
}
