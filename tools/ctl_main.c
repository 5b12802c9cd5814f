/*
 * fuseboxctl — the command-line tool for operators, scripts and probes.
 *
 * fuseboxctl [-b BOX] COMMAND ...   (BOX: -b, else $FUSEBOX_BOX, else the
 * only box on the host; create alone falls back to "default", ls needs none)
 * Exit codes follow grep: 0 yes/done, 1 no (denied), 2 error; `breaker call`
 * returns its command's status, or 75 (EX_TEMPFAIL) when the breaker rejects.
 * One table describes every command; dispatch, --help and COMMAND --help all
 * come from it, and the suite ctl_basics holds the man page to it.
 */
#include <stdlib.h>
#include <string.h>

#include "boxfind.h"
#include "ctl.h"

static const struct command {
	const char *name;
	int (*run)(struct ctl *c);
	const char *synopsis;
} commands[] = {
	{"create", cmd_create,
	 "create [--config FILE] [--breakers N] [--limiters N] [--keys N] [--log-keys N]\n"
	 "         [--log-slots N] [--events N] [--workers N] [--checks N] [--budgets N]\n"
	 "         [--bulkheads N] [--caches N] [--cache-slots N] [--cache-value-max BYTES]\n"
	 "         [--mode 0660] [--group NAME] [--exist-ok]"},
	{"destroy", cmd_destroy, "destroy   (only a box named: never the only one found)"},
	{"ls", cmd_ls, "ls   (every box on the host; needs no box)"},
	{"breaker", cmd_breaker,
	 "breaker add NAME [--fail-max N] [--failure-rate PCT --window N|DURATION --min-calls N]\n"
	 "         [--slow-call DURATION --slow-rate PCT] [--reset DURATION [--reset-max DURATION]]\n"
	 "         [--half-open N] [--success-threshold N] [--trial-lease DURATION]\n"
	 "  breaker call NAME [--ignore-exit CODES] -- CMD [ARG...]\n"
	 "  breaker record NAME success|failure|ignored [--duration DURATION]\n"
	 "  breaker trip|hold|release|reset NAME [--reason TEXT]\n"
	 "  breaker show NAME [--json]"},
	{"limiter", cmd_limiter,
	 "limiter add NAME --rate RULE [--algo auto|log|window|gcra] [--burst N] [--keyed]\n"
	 "         [--dry-run]\n"
	 "  limiter set NAME --rate RULE [--reason TEXT]\n"
	 "  limiter dry-run NAME on|off [--reason TEXT]\n"
	 "  limiter take NAME [--key KEY] [--cost N] [--json]\n"
	 "  limiter show NAME [--json] [--top N]"},
	{"status", cmd_status, "status [--json]"},
	{"events", cmd_events,
	 "events [--name NAME] [-n N] [--since DURATION] [--newest-first] [--time]\n"
	 "         [--json] [--follow]   (--follow: oldest first, so not with --newest-first)"},
	{"metrics", cmd_metrics, "metrics [--out FILE]"},
	{"health", cmd_health, "health [--live|--ready|--startup] [--json]   (exit 0 yes, 1 no)"},
	{"workers", cmd_workers, "workers [--json]"},
	{"checks", cmd_checks, "checks [--json]"},
	{"check", cmd_check,
	 "check set NAME pass|warn|fail [--critical] [--ttl DURATION] [--message TEXT]\n"
	 "         (TTL 30s unless given: a check not set again within it counts as failed)\n"
	 "  check bind NAME --breaker BREAKER [--critical]\n"
	 "  check rm NAME"},
	{"drain", cmd_drain, "drain [--wait DURATION | --off] [--reason TEXT]   (--wait: exit 1 if work is\n"
	 "         still in flight)"},
	{"started", cmd_started, "started"},
	{"budget", cmd_budget,
	 "budget add NAME [--percent P] [--min-per-sec N] [--ttl DURATION]\n"
	 "         (retries within P% of requests plus N a second, over the last DURATION)\n"
	 "  budget show NAME [--json]"},
	{"budgets", cmd_budgets, "budgets [--json]"},
	{"bulkhead", cmd_bulkhead,
	 "bulkhead add NAME --cap N   (calls in flight at once, host-wide)\n"
	 "  bulkhead show NAME [--json]"},
	{"bulkheads", cmd_bulkheads, "bulkheads [--json]"},
	{"cache", cmd_cache,
	 "cache add NAME --ttl DURATION [--stale DURATION]\n"
	 "  cache show NAME [--json]\n"
	 "  cache get NAME KEY [--hex | --json]   (exit 1 when not cached)\n"
	 "  cache drop NAME KEY   (exit 1 when not cached)"},
	{"caches", cmd_caches, "caches [--json]"},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: fuseboxctl [-b|--box BOX] COMMAND ...\n"
		   "       fuseboxctl -h|--help | --version\n"
		   "       fuseboxctl COMMAND --help\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %s\n", commands[i].synopsis);
	fprintf(f, "\nBOX: -b, else $FUSEBOX_BOX, else the only box on this host (with none or\n"
		   "several, the command fails and says which there are); create with no BOX\n"
		   "makes 'default'.  Exit status: 0 yes/done, 1 no (denied, not healthy, not\n"
		   "drained), 2 error; breaker call: the command's own, 75 when rejected.\n");
}

/* COMMAND --help (or -h) anywhere before "--": what follows "--" is
 * breaker call's command, whose own --help it is. */
static bool wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	return false;
}

/* Which box the command is about.  create and destroy do not guess: one
 * would make a box the user did not name in a place they did not look,
 * the other remove one they did not name.  Everything else reads or steers
 * a box that exists, so with none named the only one there is is meant. */
static int pick_box(const char *command, const char *given, char *buf, size_t len,
		    const char **box)
{
	char msg[512];
	enum box_found f = box_find(given, buf, len, msg, sizeof(msg));
	/* named: the name as given, not the copy, which a name far too long
	 * to be valid would have cut to one that looks shorter in the message */
	if (f == BOX_NAMED) {
		*box = given != NULL && given[0] != '\0' ? given : getenv("FUSEBOX_BOX");
		return 0;
	}
	if (f == BOX_ONLY && strcmp(command, "create") != 0 && strcmp(command, "destroy") != 0) {
		*box = buf;
		return 0;
	}
	if (strcmp(command, "create") == 0) {
		*box = "default";
		return 0;
	}
	if (strcmp(command, "destroy") == 0)
		return ctl_fail("destroy: which box? name it: fuseboxctl -b BOX destroy "
				"(fuseboxctl ls lists them)");
	return ctl_fail("%s", msg);
}

static int bad_box_name(const char *name)
{
	return ctl_fail("bad box name '%s' (1-32 of A-Z a-z 0-9 _ . -, not starting with '.')",
			name);
}

int main(int argc, char **argv)
{
	struct ctl c = {0};
	const char *given = NULL;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-b") == 0 || strcmp(argv[i], "--box") == 0) {
			if (i + 1 >= argc)
				return ctl_fail("option '%s' needs a box name", argv[i]);
			given = argv[++i];
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return CTL_YES;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("fuseboxctl %s\n", FBX_VERSION_STRING);
			return CTL_YES;
		} else {
			return ctl_fail("unknown option '%s' (see fuseboxctl --help)", argv[i]);
		}
	}
	if (i >= argc)
		return ctl_fail("which command? (see fuseboxctl --help)");
	const struct command *cmd = NULL;
	for (size_t k = 0; k < NCOMMANDS && cmd == NULL; k++)
		if (strcmp(argv[i], commands[k].name) == 0)
			cmd = &commands[k];
	if (cmd == NULL)
		return ctl_fail("unknown command '%s' (see fuseboxctl --help)", argv[i]);
	c.argc = argc - i - 1;
	c.argv = argv + i + 1;
	if (wants_help(c.argc, c.argv)) {
		printf("usage: fuseboxctl [-b BOX] %s\n", cmd->synopsis);
		return fflush(stdout) == 0 ? CTL_YES : ctl_fail("writing the output failed");
	}
	char found[64];
	/* a name given is checked even where none is needed: a typo in a
	 * script's -b should not pass unnoticed */
	if (given != NULL && fbx_name_check_box(given) != 0)
		return bad_box_name(given);
	if (strcmp(cmd->name, "ls") == 0)
		c.box = "";
	else if (pick_box(cmd->name, given, found, sizeof(found), &c.box))
		return CTL_ERR;
	if (c.box[0] != '\0' && fbx_name_check_box(c.box) != 0)
		return bad_box_name(c.box);
	int rc = cmd->run(&c);
	if (fflush(stdout) != 0 && rc == CTL_YES)
		return ctl_fail("writing the output failed");
	return rc;
}
