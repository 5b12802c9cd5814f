/* ctl_busguard.c — see busguard.h (the console links it too). */
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>

#include "busguard.h"
#include "fusebox.h"

static sigjmp_buf *volatile target;

static void on_bus(int sig)
{
	if (target != NULL)
		siglongjmp(*target, 1);
	/* a fault outside a guarded read: die of it, as without the guard */
	signal(sig, SIG_DFL);
	raise(sig);
}

int bus_guard(int (*fn)(void *arg), void *arg)
{
	static int installed;
	if (!installed) {
		struct sigaction sa = {.sa_handler = on_bus, .sa_flags = SA_NODEFER};
		sigemptyset(&sa.sa_mask);
		sigaction(SIGBUS, &sa, NULL);
		installed = 1;
	}
	sigjmp_buf here;
	if (sigsetjmp(here, 1) != 0) {
		target = NULL;
		return FBX_ETRUNC;
	}
	target = &here;
	int rc = fn(arg);
	target = NULL;
	return rc;
}
