/*
 * test_security.c — who may be adopted as a box.
 *
 * A service that opens with FBX_OPEN_CREATE trusts what the box says; a
 * user who made the box first, or who may write it, would steer the
 * service's breakers.  These tests squat box names as "nobody" and check
 * that root's service refuses them, that the refusal names the owner, and
 * that operators opening without CREATE are not affected.  Switching users
 * needs root; without it the tests check what one user can.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "suites.h"

#define PREFIX "sq"

static void sweep(void)
{
	tsweep(PREFIX);
}

enum squat { SQ_BOX_0666, SQ_EMPTY_0666, SQ_ZEROS_0666, SQ_BOX_0600, SQ_GARBAGE_0644 };

/* As nobody, makes what a squatter would leave under the box's name. */
static void squat(const char *name, enum squat how)
{
	pid_t pid = tfork();
	if (pid == 0) {
		tbecome_nobody();
		char path[80];
		snprintf(path, sizeof(path), "/fusebox.%s", name);
		if (how == SQ_BOX_0666 || how == SQ_BOX_0600) {
			fbx_box_config c;
			fbx_box_config_init(&c);
			c.mode = how == SQ_BOX_0666 ? 0666 : 0600;
			fbx_box *b;
			_exit(fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, &c, &b) == 0 ? 0 : 1);
		}
		int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd < 0 || fchmod(fd, how == SQ_GARBAGE_0644 ? 0644 : 0666) != 0)
			_exit(2);
		if (how == SQ_ZEROS_0666 && ftruncate(fd, 1 << 20) != 0)
			_exit(3);
		char junk[4096];
		memset(junk, 'j', sizeof(junk)); /* longer than a header, not a box */
		if (how == SQ_GARBAGE_0644 && write(fd, junk, sizeof(junk)) != (ssize_t)sizeof(junk))
			_exit(4);
		_exit(0);
	}
	ck_assert_int_eq(twait(pid), 0);
}

static bool root(void)
{
	return geteuid() == 0;
}

static const struct {
	const char *what;
	enum squat how;
} squats[] = {
	{"a 0666 box made by nobody", SQ_BOX_0666},
	{"an empty 0666 object made by nobody", SQ_EMPTY_0666},
	{"a zero-filled 0666 object of 1 MiB made by nobody", SQ_ZEROS_0666},
	{"a 0600 box made by nobody", SQ_BOX_0600},
};

/* Root's service with CREATE refuses whatever nobody left, leaves it as it
 * was, and fbx_box_owner_get names nobody.  The operator's path (no
 * CREATE) still opens a real box. */
START_TEST(service_refuses_squatted_name)
{
	if (!root()) {
		ck_assert_int_ne(geteuid(), 0); /* covered by own_box_adopted */
		return;
	}
	const char *name = tname(PREFIX);
	squat(name, squats[_i].how);
	fbx_box_owner before, after;
	ck_assert_int_eq(fbx_box_owner_get(name, &before), 0);
	ck_assert_uint_eq(before.uid, TNOBODY);
	fbx_box *b = NULL;
	int rc = fbx_box_open(name, FBX_OPEN_CREATE, NULL, &b);
	ck_assert_msg(rc == FBX_EOWNER, "%s: %s", squats[_i].what, fbx_strerror(rc));
	ck_assert_ptr_null(b);
	ck_assert_int_eq(fbx_box_owner_get(name, &after), 0);
	ck_assert_uint_eq(after.uid, TNOBODY);
	ck_assert_uint_eq(after.size, before.size); /* not initialised over */
	ck_assert_uint_eq(after.mode, before.mode); /* not chmod'ed */
	if (squats[_i].how == SQ_BOX_0666) {
		ck_assert_int_eq(fbx_box_open(name, 0, NULL, &b), 0); /* the operator's path */
		fbx_box_close(b);
	}
	fbx_box_unlink(name);
}
END_TEST

/* A user the service names as trusted is adopted, if nobody else may write. */
START_TEST(trusted_user_adopted)
{
	if (!root())
		return;
	const char *name = tname(PREFIX);
	squat(name, SQ_BOX_0600);
	fbx_box_config c;
	fbx_box_config_init(&c);
	c.trusted_uid = TNOBODY;
	c.trusted_set = 1;
	fbx_box *b;
	ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_CREATE, &c, &b), 0);
	fbx_box_close(b);
	fbx_box_unlink(name);
	squat(name, SQ_BOX_0666);
	ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_CREATE, &c, &b), FBX_EOWNER);
	fbx_box_unlink(name);
}
END_TEST

static const struct {
	uint32_t made_mode;
	int made_group;       /* gid, or -1 for none */
	uint32_t asked_mode;
	int asked_group;
	int expect;
} modes[] = {
	{0600, -1, 0600, -1, 0},
	{0644, -1, 0600, -1, 0},            /* readable, not writable, by others */
	{0666, -1, 0600, -1, FBX_EOWNER},   /* anybody may write */
	{0666, -1, 0666, -1, 0},            /* as asked */
	{0660, TNOBODY, 0660, TNOBODY, 0},    /* the operators' group, as asked */
	{0660, TNOBODY, 0600, -1, FBX_EOWNER},
	{0660, TNOBODY, 0660, 0, FBX_EOWNER}, /* another group than asked */
	{0640, TNOBODY, 0600, -1, 0},        /* the group may only read */
};

/* Our own box is adopted only when nobody we did not grant may write it. */
START_TEST(own_box_adopted_by_mode_and_group)
{
	if (modes[_i].made_group >= 0 && !root())
		return; /* chown to another group needs root */
	const char *name = tname(PREFIX);
	fbx_box_config c;
	fbx_box_config_init(&c);
	c.mode = modes[_i].made_mode;
	c.group_set = modes[_i].made_group >= 0;
	c.group = (gid_t)modes[_i].made_group;
	fbx_box *made, *b = NULL;
	ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, &c, &made), 0);
	c.mode = modes[_i].asked_mode;
	c.group_set = modes[_i].asked_group >= 0;
	c.group = (gid_t)modes[_i].asked_group;
	int rc = fbx_box_open(name, FBX_OPEN_CREATE, &c, &b);
	ck_assert_msg(rc == modes[_i].expect, "made %04o, asked %04o: %s", modes[_i].made_mode,
		      modes[_i].asked_mode, fbx_strerror(rc));
	fbx_box_close(b);
	fbx_box_close(made);
	fbx_box_unlink(name);
}
END_TEST

/* An operator in the box's group opens the service's box without CREATE
 * or any flag, and trips a breaker. */
START_TEST(operator_in_group_trips)
{
	if (!root())
		return;
	const char *name = tname(PREFIX);
	fbx_box_config c;
	fbx_box_config_init(&c);
	c.mode = 0660;
	c.group = TNOBODY;
	c.group_set = 1;
	fbx_box *box;
	ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, &c, &box), 0);
	fbx_breaker_config bc;
	fbx_breaker_config_init(&bc);
	fbx_breaker *br;
	ck_assert_int_eq(fbx_breaker_register(box, "payments", &bc, &br), 0);
	pid_t pid = tfork();
	if (pid == 0) {
		tbecome_nobody();
		fbx_box *o;
		fbx_breaker *ob;
		if (fbx_box_open(name, 0, NULL, &o) != 0)
			_exit(1);
		if (fbx_breaker_find(o, "payments", &ob) != 0 || fbx_breaker_trip(ob, "oncall") != 0)
			_exit(2);
		_exit(0);
	}
	ck_assert_int_eq(twait(pid), 0);
	fbx_permit p;
	ck_assert_int_eq(fbx_breaker_allow(br, &p), FBX_EOPEN);
	ck_assert_int_eq(p.reason, FBX_REJECT_FORCED_OPEN);
	fbx_box_close(box);
	fbx_box_unlink(name);
}
END_TEST

/* Runs the tool with a shell line; returns its exit status, output in out. */
static int tool(char *out, size_t cap, const char *fmt, const char *a, const char *b)
{
	const char *ctl = getenv("FUSEBOX_CTL");
	char cmd[512], line[400];
	snprintf(line, sizeof(line), fmt, a, b);
	snprintf(cmd, sizeof(cmd), "'%s' %s 2>&1", ctl ? ctl : "build/fuseboxctl", line);
	FILE *f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	int st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* `create --exist-ok` as root keeps nobody's box no more: it says whose it
 * is and what to do; a garbage object names its owner too. */
START_TEST(tool_names_the_squatter)
{
	if (!root())
		return;
	char out[1024];
	const char *name = tname(PREFIX);
	squat(name, SQ_BOX_0666);
	ck_assert_int_eq(tool(out, sizeof(out), "-b %s create --exist-ok%s", name, ""), 2);
	ck_assert_msg(strstr(out, "uid 65534") != NULL && strstr(out, "0666") != NULL &&
			      strstr(out, "destroy") != NULL,
		      "%s", out);
	ck_assert_int_eq(strchr(out, '\n') - out + 1, (long)strlen(out)); /* one line */
	fbx_box_unlink(name);
	squat(name, SQ_GARBAGE_0644);
	ck_assert_int_eq(tool(out, sizeof(out), "-b %s status%s", name, ""), 2);
	ck_assert_msg(strstr(out, "uid 65534") != NULL && strstr(out, "not a fusebox") != NULL,
		      "%s", out);
	fbx_box_unlink(name);
}
END_TEST

/* Reads what fd has to say until it contains want or 10 s pass. */
static bool wait_for(int fd, char *buf, size_t cap, size_t *len, const char *want)
{
	for (int i = 0; i < 200 && strstr(buf, want) == NULL; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 50) == 1) {
			ssize_t n = read(fd, buf + *len, cap - 1 - *len);
			if (n <= 0)
				break;
			*len += (size_t)n;
			buf[*len] = '\0';
		}
	}
	return strstr(buf, want) != NULL;
}

/* `events --follow` outlives its box being truncated: it says so on one
 * line, waits, and follows the box that comes back under that name. */
START_TEST(follower_survives_truncation)
{
	const char *name = tname(PREFIX);
	fbx_box *box;
	ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, NULL, &box), 0);
	fbx_breaker_config bc;
	fbx_breaker_config_init(&bc);
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "before", &bc, &b), 0);
	fbx_box_close(box);
	int out[2];
	ck_assert_int_eq(pipe(out), 0);
	pid_t pid = tfork();
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(out[1], 2);
		const char *ctl = getenv("FUSEBOX_CTL");
		execl(ctl ? ctl : "build/fuseboxctl", "fuseboxctl", "-b", name, "events", "--follow",
		      (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	char buf[4096] = "";
	size_t len = 0;
	/* attached once it has printed the box's first event */
	ck_assert_msg(wait_for(out[0], buf, sizeof(buf), &len, "before"), "%s", buf);
	char path[80];
	snprintf(path, sizeof(path), "/fusebox.%s", name);
	int fd = shm_open(path, O_RDWR, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 4096), 0);
	close(fd);
	ck_assert_msg(wait_for(out[0], buf, sizeof(buf), &len, "truncated"), "%s", buf);
	fbx_box_unlink(name);
	ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, NULL, &box), 0);
	ck_assert_int_eq(fbx_breaker_register(box, "back", &bc, &b), 0);
	ck_assert_msg(wait_for(out[0], buf, sizeof(buf), &len, "back"), "%s", buf);
	kill(pid, SIGTERM);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d: %s", st, buf);
	close(out[0]);
	fbx_box_close(box);
	fbx_box_unlink(name);
}
END_TEST

/* metrics --out never writes through a symlink planted in the target's
 * directory: neither at the target nor at a temporary name. */
START_TEST(metrics_out_follows_no_symlink)
{
	char dir[] = "/tmp/fbx-metrics-XXXXXX", victim[128], out[160], buf[1024];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	FILE *v = fopen(victim, "w");
	ck_assert_ptr_nonnull(v);
	fputs("keep me\n", v);
	fclose(v);
	snprintf(out, sizeof(out), "%s/fusebox.prom", dir);
	ck_assert_int_eq(symlink(victim, out), 0);
	for (int pid = 1; pid < 4096; pid++) { /* the old temporary names */
		char planted[200];
		snprintf(planted, sizeof(planted), "%s.tmp.%d", out, pid);
		ck_assert_int_eq(symlink(victim, planted), 0);
	}
	const char *name = tname(PREFIX);
	fbx_box *box;
	ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, NULL, &box), 0);
	ck_assert_int_eq(tool(buf, sizeof(buf), "-b %s metrics --out %s", name, out), 0);
	v = fopen(victim, "r");
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), v));
	fclose(v);
	ck_assert_str_eq(buf, "keep me\n");
	struct stat st;
	ck_assert_int_eq(lstat(out, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	fbx_box_close(box);
	fbx_box_unlink(name);
}
END_TEST

/* What the tool says about bad words is one line, with control
 * characters shown as \xHH, never sent to the terminal. */
static const struct {
	const char *args;   /* after -b BOX; sh syntax */
	const char *says;   /* in the message */
} bad_words[] = {
	{"breaker trip \"$(printf 'x\\033[2J')\"", "x\\x1b[2J"},
	{"limiter add y --rate \"$(printf '10\\r/second')\"", "10\\x0d/second"},
	{"breaker add z --slow-call 18446744073709ms", "slow_call"},
	{"breaker add z -- foo", "unexpected argument 'foo' after '--'"},
	{"status -- foo", "'--'"},
	{"limiter add w --rate \"$(printf '3\\tper minute')\"", "3\\x09per minute"},
};

START_TEST(tool_messages_are_one_safe_line)
{
	const char *name = tname(PREFIX);
	fbx_box *box;
	ck_assert_int_eq(fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, NULL, &box), 0);
	char out[2048];
	int rc = tool(out, sizeof(out), "-b %s %s", name, bad_words[_i].args);
	ck_assert_msg(rc == 2, "%s: exit %d: %s", bad_words[_i].args, rc, out);
	ck_assert_msg(strstr(out, bad_words[_i].says) != NULL, "%s: %s", bad_words[_i].args, out);
	size_t len = strlen(out);
	ck_assert_msg(len > 0 && strchr(out, '\n') == out + len - 1, "not one line: %s", out);
	for (size_t i = 0; i + 1 < len; i++)
		ck_assert_msg((unsigned char)out[i] >= 0x20 && out[i] != 0x7f,
			      "%s: control byte 0x%02x in the message", bad_words[_i].args,
			      (unsigned char)out[i]);
	fbx_box_close(box);
	fbx_box_unlink(name);
}
END_TEST

START_TEST(owner_get_arguments)
{
	fbx_box_owner o;
	ck_assert_int_eq(fbx_box_owner_get("no-such-box-here", &o), FBX_ENOENT);
	ck_assert_int_eq(fbx_box_owner_get("bad/name", &o), FBX_ENAME);
	ck_assert_int_eq(fbx_box_owner_get("x", NULL), FBX_EINVAL);
	ck_assert_str_eq(fbx_strerror(FBX_EOWNER),
			 "the box belongs to another user or others may write it: not adopted");
}
END_TEST

FBX_TEST_SUITE(security)
{
	Suite *s = suite_create("security");
	TCase *t = tcase_create("adoption");
	tcase_add_unchecked_fixture(t, NULL, sweep);
	tcase_add_loop_test(t, service_refuses_squatted_name, 0,
			    (int)(sizeof(squats) / sizeof(squats[0])));
	tcase_add_test(t, trusted_user_adopted);
	tcase_add_loop_test(t, own_box_adopted_by_mode_and_group, 0,
			    (int)(sizeof(modes) / sizeof(modes[0])));
	tcase_add_test(t, operator_in_group_trips);
	tcase_add_test(t, tool_names_the_squatter);
	tcase_add_test(t, owner_get_arguments);
	tcase_add_test(t, follower_survives_truncation);
	tcase_add_test(t, metrics_out_follows_no_symlink);
	tcase_add_loop_test(t, tool_messages_are_one_safe_line, 0,
			    (int)(sizeof(bad_words) / sizeof(bad_words[0])));
	suite_add_tcase(s, t);
	return s;
}
