/* spawn.h — running a program from a test: fork/execvp, stdin from
 * /dev/null, stdout and stderr through pipes read to the end before
 * waitpid, no shell.  The tests of fuseboxctl, of the catalogue and of the
 * console all run programs this way.
 *
 * Nothing here makes a check assertion: the parallel tests call it from
 * forked workers, where a failed assertion would report into the wrong
 * process.  Errors of the harness itself are returned as -1. */
#ifndef FBX_TEST_SPAWN_H
#define FBX_TEST_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A growing string, always NUL-terminated once anything was put in it. */
struct sbuf {
	char *p;
	size_t len, cap;
};

/* Aborts when memory runs out: no test can go on without it. */
void sb_putn(struct sbuf *b, const char *s, size_t n);
void sb_puts(struct sbuf *b, const char *s);
void sb_putc(struct sbuf *b, char c);
/* Takes the string out of b, leaving b empty; never NULL. */
char *sb_take(struct sbuf *b);

struct spawn_opts {
	const char *const *env; /* applied in order: "NAME=VALUE" sets, "NAME" unsets */
	bool nobody;            /* setgroups/setgid/setuid(65534) before exec */
	bool set_umask;
	mode_t umask;
	const char *stdout_path; /* stdout to this file instead of the pipe */
};

struct spawn_result {
	int code;      /* exit status; 128 + N when killed by signal N */
	bool signaled;
	pid_t pid;
	char *out, *err;
	char cmd[1024]; /* "prog 'arg' 'arg'", for failure messages */
};

/* Runs argv (argv[0] a path, or a name looked up on PATH) to its end.
 * o may be NULL.  Returns 0, or -1 when the harness failed. */
int spawn_run(const struct spawn_opts *o, const char *const *argv, struct spawn_result *r);
void spawn_result_free(struct spawn_result *r);

/* A program left running, for --follow and calls kept in flight. */
struct spawn_proc {
	pid_t pid;
	int out, err;
	struct sbuf obuf; /* stdout read so far */
};

int spawn_start(struct spawn_proc *p, const struct spawn_opts *o, const char *const *argv);
/* Reads stdout until it holds needle (true) or timeout_ms passes. */
bool spawn_wait_for(struct spawn_proc *p, const char *needle, uint64_t timeout_ms);
/* Whether it has ended, without waiting; *code as spawn_result's.  An
 * ended p is done with: its pipes are closed and its output freed. */
bool spawn_ended(struct spawn_proc *p, int *code);
/* Reads both pipes to the end and waits: the exit status as spawn_result's,
 * stderr into *err.  The caller frees *err and p->obuf.p. */
int spawn_finish(struct spawn_proc *p, bool *signaled, char **err);

uint64_t spawn_now_ms(void); /* CLOCK_MONOTONIC */

#endif
