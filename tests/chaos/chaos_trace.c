/*
 * chaos_trace.c — where a process of the run was when it crashed or hung.
 *
 * A crash or a hang found by a scribble is only useful with the place it
 * happened.  Processes of the run (workers, the reader, the scribbler)
 * print their own backtrace on a fatal signal — including the SIGABRT the
 * watchdog sends to a hung one — and then die of that signal as they
 * would have, so the wait status the validator judges is unchanged.  The
 * binary is linked with -rdynamic (chaos.mk), so frames of the library's
 * exported functions have names; static ones show as "(+0x...)", which
 * `addr2line -f -e build/fusebox-chaos 0x...` resolves.
 *
 * A tool that hangs is not ours to instrument: the watchdog asks gdb, when
 * it is installed, for the backtrace of every thread before aborting it.
 */
#include <execinfo.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chaos_scribble.h"

#define GDB_WAIT_NS (20 * CHAOS_SEC)

static const char *trace_who = "?";
static _Atomic uint32_t *traces_printed; /* shared by the run's processes */
static char alt_stack[64 * 1024]; /* a stack overflow still gets its trace */

static void put(const char *s)
{
	ssize_t rc = write(2, s, strlen(s));
	(void)rc;
}

static void put_num(long v)
{
	char buf[24];
	int i = (int)sizeof(buf) - 1;
	bool neg = v < 0;
	unsigned long u = neg ? 0ul - (unsigned long)v : (unsigned long)v;
	buf[i] = '\0';
	do {
		buf[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0 && i > 1);
	if (neg)
		buf[--i] = '-';
	put(buf + i);
}

/* Only async-signal-safe calls, but for backtrace(), whose first call
 * (which loads libgcc) was made at install time. */
static void on_fatal(int sig)
{
	/* a lock-free add: safe in a handler */
	if (atomic_fetch_add(traces_printed, 1) >= CHAOS_TRACES_MAX) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	put("chaos: ");
	put(trace_who);
	put(" pid ");
	put_num((long)getpid());
	put(sig == SIGABRT ? " got SIGABRT (the watchdog's, if it says so): backtrace\n"
			   : " got a fatal signal ");
	if (sig != SIGABRT) {
		put_num(sig);
		put(": backtrace\n");
	}
	void *frames[64];
	int n = backtrace(frames, 64);
	backtrace_symbols_fd(frames, n, 2);
	signal(sig, SIG_DFL);
	raise(sig);
}

void chaos_trace_install(const char *who, _Atomic uint32_t *printed)
{
	trace_who = who;
	traces_printed = printed;
	void *warm[2];
	backtrace(warm, 2);
	stack_t ss = {.ss_sp = alt_stack, .ss_size = sizeof(alt_stack), .ss_flags = 0};
	sigaltstack(&ss, NULL);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal;
	sa.sa_flags = SA_ONSTACK | SA_RESETHAND | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

void chaos_trace_attach(pid_t pid)
{
	static unsigned attached;
	if (attached++ >= CHAOS_TRACES_MAX / 2)
		return; /* the same hang tends to repeat: its first traces tell */
	char num[24];
	snprintf(num, sizeof(num), "%d", (int)pid);
	printf("---- gdb's backtrace of pid %d (if gdb is installed and may attach)\n", (int)pid);
	fflush(stdout);
	fflush(stderr);
	pid_t gdb = fork();
	if (gdb == 0) {
		dup2(1, 2);
		execlp("gdb", "gdb", "-nx", "-batch", "-p", num, "-ex", "thread apply all bt",
		       (char *)NULL);
		_exit(127);
	}
	if (gdb < 0)
		return;
	uint64_t until = chaos_now() + GDB_WAIT_NS;
	int status;
	for (int i = 0; i < 100000; i++) {
		if (waitpid(gdb, &status, WNOHANG) == gdb)
			break;
		if (chaos_now() > until) {
			kill(gdb, SIGKILL);
			waitpid(gdb, &status, 0);
			break;
		}
		chaos_sleep_ns(10 * CHAOS_MS);
	}
	printf("---- end of gdb's backtrace\n");
	fflush(stdout);
}
