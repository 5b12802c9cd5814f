/* ctl_harness.c — see ctl_harness.h. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl_harness.h"
#include "fusebox.h"
#include "helpers.h"

#define MAX_ARGS 64

/* ======================================================================
 * Scratch names and files
 * ==================================================================== */

const char *new_box(void)
{
	/* a ring, not the heap: nothing for LeakSanitizer to report */
	static char ring[16][48];
	static int k;
	char *s = ring[k++ % 16];
	snprintf(s, sizeof(ring[0]), "%s", tname(CTL_PREFIX));
	return s;
}

mode_t shm_mode(const char *box, gid_t *gid)
{
	char path[128];
	struct stat st;
	tshm_path(path, box);
	ck_assert_msg(stat(path, &st) == 0, "stat %s: %s", path, strerror(errno));
	if (gid != NULL)
		*gid = st.st_gid;
	return st.st_mode & 07777;
}

const char *scratch_path(const char *prefix, const char *suffix)
{
	static char ring[8][128];
	static int k, serial;
	char *p = ring[k++ % 8];
	snprintf(p, 128, "/tmp/fbx%s%d_%d_%d%s", prefix, (int)getppid(), (int)getpid(), ++serial,
		 suffix);
	return p;
}

const char *tpath(const char *suffix)
{
	return scratch_path(CTL_PREFIX, suffix);
}

const char *tfile(const char *content)
{
	const char *path = tpath(".ini");
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	fputs(content, f);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

void remove_tree(const char *path)
{
	if (unlink(path) == 0)
		return;
	DIR *d = opendir(path);
	if (d == NULL)
		return;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char sub[512];
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		unlink(sub);
	}
	closedir(d);
	rmdir(path);
}

/* Every entry of dir whose name starts with pfx. */
static void remove_prefixed(const char *dir, const char *pfx)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		if (strncmp(e->d_name, pfx, strlen(pfx)) != 0)
			continue;
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		remove_tree(path);
	}
	closedir(d);
}

/* Runs in the runner, whose pid the names of its tests' objects hold;
 * directories too, since some tests plant one under a box's name. */
void sweep_scratch(const char *prefix)
{
	char pfx[64];
	snprintf(pfx, sizeof(pfx), "fusebox.%s%d_", prefix, (int)getpid());
	remove_prefixed("/dev/shm", pfx);
	snprintf(pfx, sizeof(pfx), "fbx%s%d_", prefix, (int)getpid());
	remove_prefixed("/tmp", pfx);
}

void ctl_sweep(void)
{
	sweep_scratch(CTL_PREFIX);
}

TCase *ctl_tcase(const char *name, int timeout)
{
	TCase *tc = tcase_create(name);
	tcase_set_tags(tc, "ctl");
	tcase_add_unchecked_fixture(tc, NULL, ctl_sweep);
	if (timeout > 0)
		tcase_set_timeout(tc, timeout);
	return tc;
}

/* ======================================================================
 * The built tools
 * ==================================================================== */

void built_tool(const char *env, const char *fallback, char path[PATH_MAX])
{
	const char *p = getenv(env);
	if (p == NULL || *p == '\0')
		p = fallback;
	ck_assert_msg(realpath(p, path) != NULL && access(path, X_OK) == 0,
		      "%s not found (build it with `make all`, or set %s)", p, env);
}

const char *ctl_path(void)
{
	static char path[PATH_MAX];
	if (path[0] == '\0')
		built_tool("FUSEBOX_CTL", "build/fuseboxctl", path);
	return path;
}

/* ======================================================================
 * Running fuseboxctl
 * ==================================================================== */

struct spawn_result R;

/* argv for fuseboxctl [-b box] args... (args NULL-terminated). */
static void tool_argv(const char **argv, const char *box, const char *const *args)
{
	size_t n = 0;
	argv[n++] = ctl_path();
	if (box != NULL) {
		argv[n++] = "-b";
		argv[n++] = box;
	}
	for (size_t i = 0; args[i] != NULL && n < MAX_ARGS; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
}

/* The rest of ap, up to its NULL, as a NULL-terminated array. */
static void collect(const char **args, va_list ap)
{
	size_t n = 0;
	for (const char *a; n < MAX_ARGS && (a = va_arg(ap, const char *)) != NULL;)
		args[n++] = a;
	args[n] = NULL;
}

int ctl_raw(const char *const *args, struct spawn_result *r)
{
	const char *argv[MAX_ARGS + 1];
	tool_argv(argv, NULL, args);
	return spawn_run(NULL, argv, r);
}

int run_args(const struct spawn_opts *o, const char *box, const char *const *args)
{
	const char *argv[MAX_ARGS + 1];
	tool_argv(argv, box, args);
	spawn_result_free(&R);
	ck_assert_msg(spawn_run(o, argv, &R) == 0, "could not run %s", ctl_path());
	return R.code;
}

static int vrun(const struct spawn_opts *o, const char *box, va_list ap)
{
	const char *args[MAX_ARGS + 1];
	collect(args, ap);
	return run_args(o, box, args);
}

int ctl(const char *box, ...)
{
	va_list ap;
	va_start(ap, box);
	int rc = vrun(NULL, box, ap);
	va_end(ap);
	return rc;
}

int ctl_as(const struct spawn_opts *o, const char *box, ...)
{
	va_list ap;
	va_start(ap, box);
	int rc = vrun(o, box, ap);
	va_end(ap);
	return rc;
}

void ctl_start(struct spawn_proc *p, const char *box, ...)
{
	const char *args[MAX_ARGS + 1], *argv[MAX_ARGS + 1];
	va_list ap;
	va_start(ap, box);
	collect(args, ap);
	va_end(ap);
	tool_argv(argv, box, args);
	ck_assert_int_eq(spawn_start(p, NULL, argv), 0);
}

const struct spawn_opts *box_env(const char *value)
{
	static char var[128];
	static const char *env[] = {var, NULL};
	static const struct spawn_opts o = {.env = env};
	snprintf(var, sizeof(var), "FUSEBOX_BOX%s%s", value ? "=" : "", value ? value : "");
	return &o;
}

size_t count_char(const char *s, char c)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == c;
	return n;
}

const char *uid_text(void)
{
	static char buf[128];
	const struct passwd *pw = getpwuid(getuid());
	if (pw != NULL && fbx_name_check_record(pw->pw_name) == 0)
		snprintf(buf, sizeof(buf), "uid %u (%s)", (unsigned)getuid(), pw->pw_name);
	else
		snprintf(buf, sizeof(buf), "uid %u", (unsigned)getuid());
	return buf;
}

size_t split_lines(const char *text, char lines[][256], size_t max)
{
	size_t n = 0;
	for (const char *p = text; p != NULL && *p != '\0' && n < max; n++) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		snprintf(lines[n], 256, "%.*s", (int)(len < 255 ? len : 255), p);
		p = eol ? eol + 1 : NULL;
	}
	return n;
}

void one_error_line(const char *what)
{
	ck_assert_msg(strncmp(R.err, "fuseboxctl: ", 12) == 0,
		      "%s: stderr does not start with 'fuseboxctl: ': [%s]", R.cmd, R.err);
	size_t len = strlen(R.err);
	ck_assert_msg(len > 12 && R.err[len - 1] == '\n' && count_char(R.err, '\n') == 1,
		      "%s: stderr is not exactly one line: [%s]", R.cmd, R.err);
	if (what != NULL)
		ck_assert_msg(strcasestr(R.err, what) != NULL, "%s: stderr [%s] does not mention '%s'",
			      R.cmd, R.err, what);
}

const char *ls_line(const char *box)
{
	static char line[512];
	const char *p = R.out;
	size_t n = strlen(box);
	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		if (strncmp(p, box, n) == 0 && p[n] == ' ') {
			snprintf(line, sizeof(line), "%.*s", (int)len, p);
			return line;
		}
		p = eol ? eol + 1 : NULL;
	}
	ck_abort_msg("ls does not list %s: [%s]", box, R.out);
	return NULL;
}

bool ctl_private_shm(const char **why)
{
	const char *fork_mode = getenv("CK_FORK");
	if (fork_mode != NULL && strcmp(fork_mode, "no") == 0) {
		*why = "CK_FORK=no: the test runs in the runner, which must keep the host's /dev/shm";
		return false;
	}
	if (unshare(CLONE_NEWNS) != 0) {
		*why = "unshare(CLONE_NEWNS) refused (needs root and mount namespaces)";
		return false;
	}
	/* private first: a mount made under a shared parent would show in
	 * the host's /dev/shm too */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("fbxtest", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") != 0) {
		*why = "mounting a private tmpfs on /dev/shm failed";
		return false;
	}
	return true;
}

/* ======================================================================
 * Boxes to start from
 * ==================================================================== */

void ready_box_make(const char *name, uint32_t mode)
{
	fbx_box_config cfg;
	fbx_box_config_init(&cfg);
	cfg.breakers = 16;
	cfg.limiters = 8;
	cfg.keys = 256;
	cfg.events = 64;
	cfg.workers = 16;
	cfg.checks = 2;
	cfg.mode = mode;
	fbx_box *box;
	int rc = fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, &cfg, &box);
	ck_assert_msg(rc == 0, "create %s: %s", name, fbx_strerror(rc));
	tbreaker_reg(box, "b1", NULL);
	fbx_limiter_config lc;
	fbx_limiter_config_init(&lc);
	lc.rule = "100/minute";
	fbx_limiter *l;
	ck_assert_int_eq(fbx_limiter_register(box, "l1", &lc, &l), 0);
	lc.keyed = 1;
	ck_assert_int_eq(fbx_limiter_register(box, "lk", &lc, &l), 0);
	fbx_box_close(box);
}

const char *ready_box_change(const char *name)
{
	static char why[160];
	fbx_box *b;
	ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_RDONLY, NULL, &b), 0);
	fbx_snapshot *s;
	ck_assert_int_eq(fbx_snapshot_new(b, &s), 0);
	ck_assert_int_eq(fbx_snapshot_take(b, s), 0);
	size_t nb, nl, ne;
	uint64_t dropped;
	const fbx_breaker_info *bi = fbx_snapshot_breakers(s, &nb);
	const fbx_limiter_info *li = fbx_snapshot_limiters(s, &nl);
	fbx_snapshot_events(s, &ne, &dropped);
	why[0] = '\0';
	if (nb != 1 || nl != 2)
		snprintf(why, sizeof(why), "%zu breakers, %zu limiters", nb, nl);
	else if (bi[0].state != FBX_CLOSED ||
		 bi[0].successes + bi[0].failures + bi[0].ignored + bi[0].rejected != 0)
		snprintf(why, sizeof(why), "breaker b1 changed");
	for (size_t i = 0; why[0] == '\0' && i < nl; i++)
		if (li[i].allowed + li[i].denied + li[i].dry_run_denied != 0 || li[i].dry_run ||
		    strcmp(li[i].rule, "100/minute") != 0)
			snprintf(why, sizeof(why), "limiter %s changed", li[i].name);
	if (why[0] == '\0' && ne != 3)
		snprintf(why, sizeof(why), "%zu events (expected the 3 registrations)", ne);
	/* the health side: nobody registered, no drain, no start, and no
	 * checks but the ones ready_box_fill_checks() made */
	size_t nw, nc;
	fbx_snapshot_workers(s, &nw);
	const fbx_check_info *ci = fbx_snapshot_checks(s, &nc);
	const fbx_health *h = fbx_snapshot_health(s);
	if (why[0] == '\0' && (nw != 0 || h->draining || h->started))
		snprintf(why, sizeof(why), "%zu workers, draining %d, started %d", nw, h->draining,
			 h->started);
	/* the ready box has no budget, bulkhead or cache: a command that
	 * failed must not have added one */
	size_t ng, nh, nk;
	fbx_snapshot_budgets(s, &ng);
	fbx_snapshot_bulkheads(s, &nh);
	fbx_snapshot_caches(s, &nk);
	if (why[0] == '\0' && ng + nh + nk != 0)
		snprintf(why, sizeof(why), "%zu budgets, %zu bulkheads, %zu caches", ng, nh, nk);
	if (why[0] == '\0' && nc != 0 && nc != 2)
		snprintf(why, sizeof(why), "%zu checks", nc);
	for (size_t i = 0; why[0] == '\0' && i < nc; i++)
		if (ci[i].corrupt || ci[i].set_status != FBX_CHECK_PASS || ci[i].critical ||
		    ci[i].ttl_ns != 3600000000000ull || ci[i].message[0] != '\0' ||
		    ci[i].breaker[0] != '\0' ||
		    (strcmp(ci[i].name, "c1") != 0 && strcmp(ci[i].name, "c2") != 0))
			snprintf(why, sizeof(why), "check %s changed", ci[i].name);
	fbx_snapshot_free(s);
	fbx_box_close(b);
	return why[0] == '\0' ? NULL : why;
}

void ready_box_fill_checks(const char *name)
{
	fbx_box *box;
	ck_assert_int_eq(fbx_box_open(name, 0, NULL, &box), 0);
	ck_assert_int_eq(fbx_check_set(box, "c1", FBX_CHECK_PASS, 0, 3600000000000ull, NULL), 0);
	ck_assert_int_eq(fbx_check_set(box, "c2", FBX_CHECK_PASS, 0, 3600000000000ull, NULL), 0);
	fbx_box_close(box);
}

const char *lib_box(void)
{
	const char *name = new_box();
	ready_box_make(name, 0600);
	return name;
}

fbx_box_info box_info(const char *name)
{
	fbx_box *b;
	ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_RDONLY, NULL, &b), 0);
	fbx_box_info info;
	ck_assert_int_eq(fbx_box_info_get(b, &info), 0);
	fbx_box_close(b);
	return info;
}

const char *ctl_box(void)
{
	const char *name = new_box();
	OK(name, "create", "--breakers", "16", "--limiters", "8", "--keys", "256", "--events",
	   "256", "--workers", "16");
	return name;
}

const char *known_box(void)
{
	const char *box = ctl_box();
	/* web: 2 ok, 2 failed (one slow), 1 ignored, then open, 1 rejected */
	OK(box, "breaker", "add", "web", "--fail-max", "2", "--slow-call", "1s", "--slow-rate", "90",
	   "--reset", "1h");
	OK(box, "breaker", "record", "web", "success");
	OK(box, "breaker", "record", "web", "success");
	OK(box, "breaker", "record", "web", "ignored");
	OK(box, "breaker", "record", "web", "failure", "--duration", "2s");
	OK(box, "breaker", "record", "web", "failure");
	EXPECT(75, box, "breaker", "record", "web", "success");
	/* rate: failure rate over the last 4 calls, from 4 calls on */
	OK(box, "breaker", "add", "rate", "--fail-max", "10", "--failure-rate", "60", "--window", "4",
	   "--min-calls", "4");
	OK(box, "breaker", "record", "rate", "success");
	OK(box, "breaker", "record", "rate", "failure");
	OK(box, "breaker", "record", "rate", "success");
	/* an awkward name, tripped */
	OK(box, "breaker", "add", "q\"u\\o{t}e=,x");
	OK(box, "breaker", "trip", "q\"u\\o{t}e=,x");
	OK(box, "breaker", "add", "held");
	OK(box, "breaker", "hold", "held");
	/* api: keyed, 2/hour: 3 allowed (2 keys), 1 denied */
	OK(box, "limiter", "add", "api", "--rate", "2/hour", "--keyed");
	OK(box, "limiter", "take", "api", "--key", "SeCrEt-KeY-7f3a9-a");
	OK(box, "limiter", "take", "api", "--key", "SeCrEt-KeY-7f3a9-a");
	EXPECT(1, box, "limiter", "take", "api", "--key", "SeCrEt-KeY-7f3a9-a");
	OK(box, "limiter", "take", "api", "--key", "evil\"} 1\nfusebox_injected{x=\"1\"} 1");
	/* shadow: dry-run, 1/hour: 2 allowed, 1 of them dry-run denied */
	OK(box, "limiter", "add", "shadow", "--rate", "1/hour", "--dry-run", "--algo", "gcra");
	OK(box, "limiter", "take", "shadow");
	OK(box, "limiter", "take", "shadow");
	return box;
}
