/*
 * test_ctl.c — black-box tests of the fuseboxctl binary (issue 3).
 *
 * Every test runs the built tool (FUSEBOX_CTL, else build/fuseboxctl from
 * the current directory) with fork/execv, captures stdout, stderr and the
 * exit status, and checks them against the contract: exit codes 0/1/2/75,
 * one "fuseboxctl: " line on stderr for every error, JSON parsed by a
 * small strict parser below, metrics checked line by line against the
 * Prometheus text exposition format by a validator below, exact totals
 * from parallel processes, the bad inputs, and a read-only user (nobody)
 * when the tests run as root.
 *
 * Boxes are named ct<runner pid>_<test pid>_<n> and temporary files
 * /tmp/fbxct<runner pid>_..., so the runner sweeps whatever a test left.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fusebox.h"
#include "helpers.h"
#include "suites.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define PREFIX "ct"
#define NOBODY 65534
#define MAX_ARGS 64

/* ======================================================================
 * Names, temporary files and clean-up
 * ==================================================================== */

static char *new_box(void)
{
	char *s = strdup(tname(PREFIX));
	ck_assert_ptr_nonnull(s);
	return s;
}

static bool shm_exists(const char *box)
{
	char path[128];
	struct stat st;
	snprintf(path, sizeof(path), "/dev/shm/fusebox.%s", box);
	return stat(path, &st) == 0;
}

static mode_t shm_mode(const char *box, gid_t *gid)
{
	char path[128];
	struct stat st;
	snprintf(path, sizeof(path), "/dev/shm/fusebox.%s", box);
	ck_assert_msg(stat(path, &st) == 0, "stat %s: %s", path, strerror(errno));
	if (gid != NULL)
		*gid = st.st_gid;
	return st.st_mode & 07777;
}

/* /tmp/fbxct<runner pid>_<test pid>_<n><suffix>, in a small ring of buffers. */
static const char *tpath(const char *suffix)
{
	static char ring[8][128];
	static int k, serial;
	char *p = ring[k++ % 8];
	snprintf(p, 128, "/tmp/fbx%s%d_%d_%d%s", PREFIX, (int)getppid(), (int)getpid(), ++serial,
		 suffix);
	return p;
}

static const char *tfile(const char *content)
{
	const char *path = tpath(".ini");
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	fputs(content, f);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

static bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static void remove_tree(const char *path)
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

/* Unchecked teardown: runs in the runner after each test case. */
static void sweep(void)
{
	tsweep(PREFIX);
	char pfx[64];
	snprintf(pfx, sizeof(pfx), "fbx%s%d_", PREFIX, (int)getpid());
	DIR *d = opendir("/tmp");
	if (d == NULL)
		return;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		if (strncmp(e->d_name, pfx, strlen(pfx)) != 0)
			continue;
		char path[512];
		snprintf(path, sizeof(path), "/tmp/%s", e->d_name);
		remove_tree(path);
	}
	closedir(d);
}

/* ======================================================================
 * Running the tool: fork/execv, stdout and stderr through pipes read to
 * the end before waitpid, no shell.
 * ==================================================================== */

static const char *ctl_path(void)
{
	static char path[PATH_MAX];
	if (path[0] == '\0') {
		const char *p = getenv("FUSEBOX_CTL");
		if (p == NULL || *p == '\0')
			p = "build/fuseboxctl";
		ck_assert_msg(realpath(p, path) != NULL && access(path, X_OK) == 0,
			      "fuseboxctl not found at '%s' (build it with `make tools`, or set "
			      "FUSEBOX_CTL)", p);
	}
	return path;
}

struct opts {
	const char *const *env; /* "NAME=VALUE" to set, "NAME" to unset */
	bool nobody;            /* setgid/setuid(65534) before exec */
	bool set_umask;
	mode_t umask;
	const char *stdout_path; /* stdout to this file instead of the pipe */
};

struct result {
	int code;      /* exit status; 128 + signal number when killed */
	bool signaled;
	pid_t pid;
	char *out, *err;
	char cmd[1024];
};

struct buf {
	char *p;
	size_t len, cap;
};

static int buf_add(struct buf *b, const char *src, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (p == NULL)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* No check assertions below this line until run(): these also run in
 * forked worker processes. */
static pid_t spawn(const struct opts *o, const char *const *argv, int *out_fd, int *err_fd)
{
	int po[2], pe[2];
	if (pipe2(po, O_CLOEXEC) != 0)
		return -1;
	if (pipe2(pe, O_CLOEXEC) != 0) {
		close(po[0]);
		close(po[1]);
		return -1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
		int out = o && o->stdout_path ? open(o->stdout_path, O_WRONLY | O_CLOEXEC) : po[1];
		if (nul < 0 || out < 0 || dup2(nul, 0) < 0 || dup2(out, 1) < 0 || dup2(pe[1], 2) < 0)
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
		if (o && o->nobody &&
		    (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)) {
			dprintf(2, "test: cannot become nobody: %s\n", strerror(errno));
			_exit(126);
		}
		execv(argv[0], (char *const *)argv);
		dprintf(2, "test: exec %s: %s\n", argv[0], strerror(errno));
		_exit(126);
	}
	close(po[1]);
	close(pe[1]);
	if (pid < 0) {
		close(po[0]);
		close(pe[0]);
		return -1;
	}
	*out_fd = po[0];
	*err_fd = pe[0];
	return pid;
}

/* Reads both pipes to EOF and closes them. */
static int drain(int ofd, int efd, struct buf *out, struct buf *err)
{
	struct pollfd p[2] = {{ofd, POLLIN, 0}, {efd, POLLIN, 0}};
	struct buf *dst[2] = {out, err};
	int open_fds = 2, rc = 0;
	buf_add(out, "", 0);
	buf_add(err, "", 0);
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
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(p[i].fd);
				p[i].fd = -1;
				open_fds--;
			} else if (buf_add(dst[i], chunk, (size_t)n) != 0) {
				rc = -1;
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
	return rc;
}

static int reap(pid_t pid, bool *signaled)
{
	int st = 0;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	*signaled = !WIFEXITED(st);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* argv: the tool's arguments (no argv[0]), NULL-terminated.  -1 on a
 * failure of the harness itself. */
static int run_raw(const struct opts *o, const char *const *args, struct result *r)
{
	const char *argv[MAX_ARGS + 2];
	size_t n = 0;
	argv[n++] = ctl_path();
	for (size_t i = 0; args[i] != NULL && n < MAX_ARGS; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	size_t used = 0;
	r->cmd[0] = '\0';
	for (size_t i = 1; i < n && used < sizeof(r->cmd); i++)
		used += (size_t)snprintf(r->cmd + used, sizeof(r->cmd) - used, "%s'%s'",
					 i > 1 ? " " : "fuseboxctl ", argv[i]);
	int ofd, efd;
	pid_t pid = spawn(o, argv, &ofd, &efd);
	if (pid < 0)
		return -1;
	struct buf out = {0}, err = {0};
	int rc = drain(ofd, efd, &out, &err);
	r->code = reap(pid, &r->signaled);
	r->pid = pid;
	r->out = out.p;
	r->err = err.p;
	return rc < 0 || r->code < 0 ? -1 : 0;
}

/* The last run, for the assertions. */
static struct result R;

static int run_args(const struct opts *o, const char *box, const char *const *args)
{
	const char *all[MAX_ARGS + 3];
	size_t n = 0;
	if (box != NULL) {
		all[n++] = "-b";
		all[n++] = box;
	}
	for (size_t i = 0; args[i] != NULL && n < MAX_ARGS; i++)
		all[n++] = args[i];
	all[n] = NULL;
	free(R.out);
	free(R.err);
	memset(&R, 0, sizeof(R));
	ck_assert_msg(run_raw(o, all, &R) == 0, "could not run %s", ctl_path());
	return R.code;
}

static int vrun(const struct opts *o, const char *box, va_list ap)
{
	const char *args[MAX_ARGS + 1];
	size_t n = 0;
	for (const char *a; n < MAX_ARGS && (a = va_arg(ap, const char *)) != NULL;)
		args[n++] = a;
	args[n] = NULL;
	return run_args(o, box, args);
}

/* ctl(box, arg, ..., NULL): runs "fuseboxctl -b box arg ..." (no -b when
 * box is NULL) and returns its exit status. */
__attribute__((sentinel)) static int ctl(const char *box, ...)
{
	va_list ap;
	va_start(ap, box);
	int rc = vrun(NULL, box, ap);
	va_end(ap);
	return rc;
}

__attribute__((sentinel)) static int ctl_as(const struct opts *o, const char *box, ...)
{
	va_list ap;
	va_start(ap, box);
	int rc = vrun(o, box, ap);
	va_end(ap);
	return rc;
}

static size_t count_char(const char *s, char c)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == c;
	return n;
}

/* stderr is exactly one line "fuseboxctl: ...", mentioning what. */
static void one_error_line(const char *what)
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

#define EXPECT_AS(o, code, ...)                                                                \
	do {                                                                                   \
		int rc_ = ctl_as((o), __VA_ARGS__, (const char *)NULL);                       \
		ck_assert_msg(rc_ == (code), "%s: exit %d, expected %d; stderr: %s", R.cmd, rc_, \
			      (code), R.err);                                                  \
	} while (0)
#define EXPECT(code, ...) EXPECT_AS(NULL, code, __VA_ARGS__)
#define OK(...) EXPECT(0, __VA_ARGS__)
/* exit 2, nothing on stdout, one line on stderr naming what */
#define FAILS(what, ...)                                                                  \
	do {                                                                              \
		EXPECT(2, __VA_ARGS__);                                                   \
		one_error_line(what);                                                     \
		ck_assert_msg(R.out[0] == '\0', "%s: stdout on error: [%s]", R.cmd, R.out); \
	} while (0)

/* A small box made through the library (fast set-up for tests that are
 * about something else), with breaker b1 and limiters l1 and lk (keyed). */
static char *lib_box(void)
{
	char *name = new_box();
	fbx_box_config cfg;
	fbx_box_config_init(&cfg);
	cfg.breakers = 16;
	cfg.limiters = 8;
	cfg.keys = 256;
	cfg.events = 64;
	cfg.workers = 16;
	fbx_box *box;
	int rc = fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, &cfg, &box);
	ck_assert_msg(rc == 0, "create %s: %s", name, fbx_strerror(rc));
	fbx_breaker_config bc;
	fbx_breaker_config_init(&bc);
	fbx_breaker *b;
	ck_assert_int_eq(fbx_breaker_register(box, "b1", &bc, &b), 0);
	fbx_limiter_config lc;
	fbx_limiter_config_init(&lc);
	lc.rule = "100/minute";
	fbx_limiter *l;
	ck_assert_int_eq(fbx_limiter_register(box, "l1", &lc, &l), 0);
	lc.keyed = 1;
	ck_assert_int_eq(fbx_limiter_register(box, "lk", &lc, &l), 0);
	fbx_box_close(box);
	return name;
}

/* A box made by the tool itself. */
static char *ctl_box(void)
{
	char *name = new_box();
	OK(name, "create", "--breakers", "16", "--limiters", "8", "--keys", "256", "--events",
	   "256", "--workers", "16");
	return name;
}

/* The line of `ls` that lists box (as the last run's user). */
static const char *ls_line(const char *box)
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

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ======================================================================
 * A strict JSON parser: objects, arrays, strings with every escape
 * (\uXXXX and surrogate pairs decoded to UTF-8), numbers by the grammar,
 * true/false/null; duplicate keys and trailing garbage are errors.
 * ==================================================================== */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jtype t;
	bool b;
	double num;
	bool integral;          /* J_NUM written without fraction or exponent */
	bool negative;
	unsigned long long u;   /* J_NUM: the value when integral and not negative */
	char *s;                /* J_STR, decoded */
	size_t n;               /* J_ARR, J_OBJ: members */
	struct jv *v;
	char **k;               /* J_OBJ: keys */
};

struct jparser {
	const char *p;
	const char *err;
	int depth;
};

static bool jerr(struct jparser *jp, const char *msg)
{
	if (jp->err == NULL)
		jp->err = msg;
	return false;
}

static void jws(struct jparser *jp)
{
	while (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' || *jp->p == '\r')
		jp->p++;
}

static int hex4(const char *s)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9' ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

static void put_utf8(struct buf *b, unsigned cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_add(b, u, n);
}

static bool jstring(struct jparser *jp, char **out)
{
	struct buf b = {0};
	buf_add(&b, "", 0);
	jp->p++; /* the opening quote */
	for (;;) {
		unsigned char c = (unsigned char)*jp->p;
		if (c == '\0') {
			free(b.p);
			return jerr(jp, "unterminated string");
		}
		if (c == '"') {
			jp->p++;
			break;
		}
		if (c < 0x20) {
			free(b.p);
			return jerr(jp, "raw control character in a string");
		}
		if (c != '\\') {
			buf_add(&b, jp->p++, 1);
			continue;
		}
		static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
		char e = jp->p[1];
		const char *simple = e != '\0' ? strchr(from, e) : NULL;
		if (simple != NULL) {
			buf_add(&b, &to[simple - from], 1);
			jp->p += 2;
			continue;
		}
		if (e != 'u') {
			free(b.p);
			return jerr(jp, "bad escape in a string");
		}
		int cp = hex4(jp->p + 2);
		if (cp < 0) {
			free(b.p);
			return jerr(jp, "bad \\u escape");
		}
		jp->p += 6;
		if (cp >= 0xdc00 && cp <= 0xdfff) {
			free(b.p);
			return jerr(jp, "lone low surrogate");
		}
		if (cp >= 0xd800 && cp <= 0xdbff) {
			int lo = jp->p[0] == '\\' && jp->p[1] == 'u' ? hex4(jp->p + 2) : -1;
			if (lo < 0xdc00 || lo > 0xdfff) {
				free(b.p);
				return jerr(jp, "lone high surrogate");
			}
			jp->p += 6;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		}
		put_utf8(&b, (unsigned)cp);
	}
	*out = b.p;
	return true;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool jnumber(struct jparser *jp, struct jv *v)
{
	const char *s = jp->p, *q = s;
	bool integral = true;
	if (*q == '-')
		q++;
	if (*q == '0')
		q++;
	else if (*q >= '1' && *q <= '9')
		while (is_digit(*q))
			q++;
	else
		return jerr(jp, "bad number");
	if (*q == '.') {
		q++;
		if (!is_digit(*q))
			return jerr(jp, "bad number: no digits after '.'");
		while (is_digit(*q))
			q++;
		integral = false;
	}
	if (*q == 'e' || *q == 'E') {
		q++;
		if (*q == '+' || *q == '-')
			q++;
		if (!is_digit(*q))
			return jerr(jp, "bad number: no exponent digits");
		while (is_digit(*q))
			q++;
		integral = false;
	}
	v->t = J_NUM;
	v->num = strtod(s, NULL);
	v->integral = integral;
	v->negative = *s == '-';
	if (integral && !v->negative) {
		errno = 0;
		v->u = strtoull(s, NULL, 10);
		if (errno)
			return jerr(jp, "integer out of range");
	}
	jp->p = q;
	return true;
}

static bool jvalue(struct jparser *jp, struct jv *v);

static bool jarray(struct jparser *jp, struct jv *v)
{
	v->t = J_ARR;
	jp->p++;
	jws(jp);
	if (*jp->p == ']') {
		jp->p++;
		return true;
	}
	for (;;) {
		struct jv *nv = realloc(v->v, (v->n + 1) * sizeof(*nv));
		if (nv == NULL)
			return jerr(jp, "out of memory");
		v->v = nv;
		memset(&v->v[v->n], 0, sizeof(*nv));
		if (!jvalue(jp, &v->v[v->n++]))
			return false;
		jws(jp);
		if (*jp->p == ',') {
			jp->p++;
			continue;
		}
		if (*jp->p == ']') {
			jp->p++;
			return true;
		}
		return jerr(jp, "expected ',' or ']' in an array");
	}
}

static bool jobject(struct jparser *jp, struct jv *v)
{
	v->t = J_OBJ;
	jp->p++;
	jws(jp);
	if (*jp->p == '}') {
		jp->p++;
		return true;
	}
	for (;;) {
		jws(jp);
		if (*jp->p != '"')
			return jerr(jp, "expected a string key");
		char *key;
		if (!jstring(jp, &key))
			return false;
		for (size_t i = 0; i < v->n; i++)
			if (strcmp(v->k[i], key) == 0) {
				free(key);
				return jerr(jp, "duplicate key in an object");
			}
		jws(jp);
		if (*jp->p != ':') {
			free(key);
			return jerr(jp, "expected ':' after a key");
		}
		jp->p++;
		struct jv *nv = realloc(v->v, (v->n + 1) * sizeof(*nv));
		char **nk = nv ? realloc(v->k, (v->n + 1) * sizeof(*nk)) : NULL;
		if (nv)
			v->v = nv;
		if (nk == NULL) {
			free(key);
			return jerr(jp, "out of memory");
		}
		v->k = nk;
		memset(&v->v[v->n], 0, sizeof(*nv));
		v->k[v->n] = key;
		if (!jvalue(jp, &v->v[v->n++]))
			return false;
		jws(jp);
		if (*jp->p == ',') {
			jp->p++;
			continue;
		}
		if (*jp->p == '}') {
			jp->p++;
			return true;
		}
		return jerr(jp, "expected ',' or '}' in an object");
	}
}

static bool jvalue(struct jparser *jp, struct jv *v)
{
	if (++jp->depth > 64)
		return jerr(jp, "nested too deeply");
	jws(jp);
	bool ok;
	switch (*jp->p) {
	case '{':
		ok = jobject(jp, v);
		break;
	case '[':
		ok = jarray(jp, v);
		break;
	case '"':
		v->t = J_STR;
		ok = jstring(jp, &v->s);
		break;
	case 't':
	case 'f':
	case 'n': {
		static const struct {
			const char *word;
			enum jtype t;
			bool b;
		} lit[] = {{"true", J_BOOL, true}, {"false", J_BOOL, false}, {"null", J_NULL, false}};
		ok = false;
		for (size_t i = 0; i < ARRAY_LEN(lit); i++) {
			size_t n = strlen(lit[i].word);
			if (strncmp(jp->p, lit[i].word, n) == 0) {
				v->t = lit[i].t;
				v->b = lit[i].b;
				jp->p += n;
				ok = true;
				break;
			}
		}
		if (!ok)
			jerr(jp, "bad literal");
		break;
	}
	default:
		ok = jnumber(jp, v);
	}
	jp->depth--;
	return ok;
}

/* NULL and *err set when text is not one JSON value (plus whitespace). */
static struct jv *json_parse(const char *text, const char **err)
{
	struct jparser jp = {text, NULL, 0};
	struct jv *v = calloc(1, sizeof(*v));
	if (v == NULL || !jvalue(&jp, v)) {
		*err = jp.err ? jp.err : "out of memory";
		return NULL;
	}
	jws(&jp);
	if (*jp.p != '\0') {
		*err = "trailing characters after the value";
		return NULL;
	}
	*err = NULL;
	return v;
}

static struct jv *json_must(const char *text)
{
	const char *err;
	struct jv *v = json_parse(text, &err);
	ck_assert_msg(v != NULL, "%s: not JSON (%s): [%s]", R.cmd, err, text);
	return v;
}

static const char *jtype_name(enum jtype t)
{
	static const char *const n[] = {"null", "bool", "number", "string", "array", "object"};
	return n[t];
}

static const struct jv *jget(const struct jv *o, const char *key)
{
	if (o == NULL || o->t != J_OBJ)
		return NULL;
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->k[i], key) == 0)
			return &o->v[i];
	return NULL;
}

static const struct jv *jreq(const struct jv *o, const char *key, enum jtype t)
{
	ck_assert_msg(o != NULL && o->t == J_OBJ, "not an object (looking for '%s')", key);
	const struct jv *v = jget(o, key);
	ck_assert_msg(v != NULL, "field '%s' missing", key);
	ck_assert_msg(v->t == t, "field '%s' is a %s, expected a %s", key, jtype_name(v->t),
		      jtype_name(t));
	return v;
}

/* A non-negative whole number. */
static unsigned long long juint(const struct jv *o, const char *key)
{
	const struct jv *v = jreq(o, key, J_NUM);
	ck_assert_msg(v->integral && !v->negative, "field '%s' is not a whole number >= 0", key);
	return v->u;
}

static const char *jstr(const struct jv *o, const char *key)
{
	return jreq(o, key, J_STR)->s;
}

static bool jbool(const struct jv *o, const char *key)
{
	return jreq(o, key, J_BOOL)->b;
}

/* The element of array arr whose "name" is name. */
static const struct jv *jfind_named(const struct jv *arr, const char *name)
{
	ck_assert_msg(arr != NULL && arr->t == J_ARR, "not an array");
	for (size_t i = 0; i < arr->n; i++) {
		const struct jv *nm = jget(&arr->v[i], "name");
		if (nm != NULL && nm->t == J_STR && strcmp(nm->s, name) == 0)
			return &arr->v[i];
	}
	ck_abort_msg("no element named '%s'", name);
	return NULL;
}

static const char *const breaker_states[] = {"closed", "open", "half_open", "forced_open",
					     "forced_closed"};

static bool one_of(const char *s, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, set[i]) == 0)
			return true;
	return false;
}

/* Every field the contract requires of a breaker, by name and type. */
static void check_breaker_schema(const struct jv *b)
{
	jstr(b, "name");
	const char *st = jstr(b, "state");
	ck_assert_msg(one_of(st, breaker_states, ARRAY_LEN(breaker_states)), "state '%s'", st);
	static const char *const counts[] = {"successes", "failures", "ignored", "slow",
					     "rejected", "trips", "consecutive_failures",
					     "open_remaining_ms", "half_open_in_flight"};
	for (size_t i = 0; i < ARRAY_LEN(counts); i++)
		juint(b, counts[i]);
	const struct jv *fr = jget(b, "failure_rate");
	ck_assert_msg(fr != NULL, "field 'failure_rate' missing");
	ck_assert_msg(fr->t == J_NULL || (fr->t == J_NUM && fr->num >= 0 && fr->num <= 1),
		      "failure_rate is neither null nor a number from 0 to 1");
	const struct jv *cfg = jreq(b, "config", J_OBJ);
	static const char *const settings[] = {
		"fail_max", "failure_rate_pct", "slow_rate_pct", "slow_call_ms", "window_calls",
		"window_ms", "min_calls", "reset_timeout_ms", "reset_timeout_max_ms",
		"half_open_max", "success_threshold", "trial_lease_ms"};
	for (size_t i = 0; i < ARRAY_LEN(settings); i++)
		juint(cfg, settings[i]);
}

static void check_limiter_schema(const struct jv *l)
{
	jstr(l, "name");
	jstr(l, "rule");
	static const char *const algos[] = {"window", "gcra"};
	const char *a = jstr(l, "algorithm");
	ck_assert_msg(one_of(a, algos, 2), "algorithm '%s'", a);
	jbool(l, "keyed");
	jbool(l, "dry_run");
	static const char *const counts[] = {"allowed", "denied", "keys", "evictions"};
	for (size_t i = 0; i < ARRAY_LEN(counts); i++)
		juint(l, counts[i]);
}

static void check_status_schema(const struct jv *s, const char *box)
{
	ck_assert_str_eq(jstr(s, "box"), box);
	ck_assert_uint_eq(juint(s, "version"), 1);
	const struct jv *b = jreq(s, "breakers", J_ARR), *l = jreq(s, "limiters", J_ARR);
	juint(s, "events_dropped");
	for (size_t i = 0; i < b->n; i++)
		check_breaker_schema(&b->v[i]);
	for (size_t i = 0; i < l->n; i++)
		check_limiter_schema(&l->v[i]);
}

static struct jv *status_json(const char *box)
{
	OK(box, "status", "--json");
	struct jv *s = json_must(R.out);
	check_status_schema(s, box);
	return s;
}

static struct jv *breaker_json(const char *box, const char *name)
{
	OK(box, "breaker", "show", name, "--json");
	struct jv *b = json_must(R.out);
	check_breaker_schema(b);
	ck_assert_str_eq(jstr(b, "name"), name);
	return b;
}

static struct jv *limiter_json(const char *box, const char *name)
{
	OK(box, "limiter", "show", name, "--json");
	struct jv *l = json_must(R.out);
	check_limiter_schema(l);
	ck_assert_str_eq(jstr(l, "name"), name);
	return l;
}

static const char *breaker_state(const char *box, const char *name)
{
	return jstr(breaker_json(box, name), "state");
}

static unsigned long long breaker_count(const char *box, const char *name, const char *field)
{
	return juint(breaker_json(box, name), field);
}

/* events --json: validated; returns the events array. */
static const struct jv *events_json(const char *box)
{
	OK(box, "events", "--json");
	struct jv *e = json_must(R.out);
	ck_assert_uint_eq(juint(e, "version"), 1);
	const struct jv *ev = jreq(e, "events", J_ARR);
	for (size_t i = 0; i < ev->n; i++) {
		const struct jv *x = &ev->v[i];
		juint(x, "seq");
		if (i > 0)
			ck_assert_msg(juint(x, "seq") > juint(&ev->v[i - 1], "seq"),
				      "events not oldest first");
		jstr(x, "kind");
		jstr(x, "cause");
		jstr(x, "record");
		jstr(x, "name");
	}
	return ev;
}

START_TEST(json_parser_self_check)
{
	const char *err;
	struct jv *v = json_parse(" {\"a\" : [1, -2.5e3, 0, true, false, null, "
				  "\"q\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"], \"b\":{}} \n",
				  &err);
	ck_assert_msg(v != NULL, "%s", err);
	const struct jv *a = jreq(v, "a", J_ARR);
	ck_assert_uint_eq(a->n, 7);
	ck_assert(a->v[0].integral && a->v[0].u == 1);
	ck_assert(!a->v[1].integral && a->v[1].num == -2500);
	ck_assert(a->v[3].t == J_BOOL && a->v[3].b && a->v[4].t == J_BOOL && !a->v[4].b);
	ck_assert(a->v[5].t == J_NULL);
	ck_assert_str_eq(a->v[6].s, "q\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
	jreq(v, "b", J_OBJ);
	static const char *const bad[] = {
		"",          "{",           "{\"a\":1,}",     "[1,]",         "[01]",
		"[1 2]",     "{\"a\" 1}",   "{a:1}",          "tru",          "\"\\q\"",
		"\"a\x01\"", "{\"a\":1}{",  "{\"a\":1,\"a\":2}", "1.",        "-",
		".5",        "\"\\ud800\"", "\"\\udc00\"",    "\"abc",        "[\"\\u12\"]",
		"+1",        "NaN",         "[1e]",           "{\"a\":1}x",
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		ck_assert_msg(json_parse(bad[i], &err) == NULL, "accepted bad JSON [%s]", bad[i]);
}
END_TEST

/* ======================================================================
 * A validator for the Prometheus text exposition format (version 0.0.4).
 * ==================================================================== */

#define P_MAX_LABELS 8

struct psample {
	char name[128];
	int nl;
	char ln[P_MAX_LABELS][32];
	char lv[P_MAX_LABELS][160];
	double v;
};

struct pfam {
	char name[128];
	char type[16];
	bool help, typed, closed;
	size_t samples;
};

struct expo {
	struct psample *s;
	size_t n, cap;
	struct pfam f[64];
	size_t nf;
	int cur; /* the family being written, -1 before the first */
	char err[400];
};

static bool metric_name_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
		if (!alpha && !(i > 0 && is_digit(c)))
			return false;
	}
	return true;
}

static bool label_name_ok(const char *s, size_t n)
{
	if (n == 0 || (n >= 2 && s[0] == '_' && s[1] == '_'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
		if (!alpha && !(i > 0 && is_digit(c)))
			return false;
	}
	return true;
}

static int pfail(struct expo *e, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int pfail(struct expo *e, int line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(e->err, sizeof(e->err), "line %d: ", line);
	va_start(ap, fmt);
	vsnprintf(e->err + n, sizeof(e->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* The family named name (created when new); switching to a family that was
 * already written and left is an error (families must be contiguous). */
static int pfamily(struct expo *e, int line, const char *name, size_t n)
{
	int i = 0;
	for (; i < (int)e->nf; i++)
		if (strlen(e->f[i].name) == n && strncmp(e->f[i].name, name, n) == 0)
			break;
	if (i == (int)e->nf) {
		if (e->nf == ARRAY_LEN(e->f) || n >= sizeof(e->f[0].name))
			return pfail(e, line, "too many families or name too long");
		memset(&e->f[i], 0, sizeof(e->f[i]));
		memcpy(e->f[i].name, name, n);
		e->nf++;
	}
	if (i != e->cur) {
		if (e->f[i].closed)
			return pfail(e, line, "family %s appears again after another family",
				     e->f[i].name);
		if (e->cur >= 0)
			e->f[e->cur].closed = true;
		e->cur = i;
	}
	return i;
}

static int pvalue(const char *s, size_t n, double *v)
{
	char tmp[64];
	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (strcmp(tmp, "NaN") == 0) {
		*v = NAN;
		return 0;
	}
	if (strcmp(tmp, "+Inf") == 0 || strcmp(tmp, "-Inf") == 0) {
		*v = tmp[0] == '-' ? -INFINITY : INFINITY;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (!is_digit(tmp[i]) && strchr(".eE+-", tmp[i]) == NULL)
			return -1;
	char *end;
	*v = strtod(tmp, &end);
	return *end == '\0' ? 0 : -1;
}

static int psample_line(struct expo *e, int line, const char *s)
{
	const char *p = s;
	while (*p && *p != '{' && *p != ' ')
		p++;
	if (!metric_name_ok(s, (size_t)(p - s)))
		return pfail(e, line, "bad metric name in [%s]", s);
	int fi = pfamily(e, line, s, (size_t)(p - s));
	if (fi < 0)
		return -1;
	struct pfam *f = &e->f[fi];
	if (!f->typed)
		return pfail(e, line, "sample of %s before its TYPE line", f->name);
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 256;
		struct psample *ns = realloc(e->s, cap * sizeof(*ns));
		if (ns == NULL)
			return pfail(e, line, "out of memory");
		e->s = ns;
		e->cap = cap;
	}
	struct psample *m = &e->s[e->n];
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", f->name);
	if (*p == '{') {
		p++;
		while (*p != '}') {
			const char *ln = p;
			while (*p && *p != '=')
				p++;
			if (*p != '=' || !label_name_ok(ln, (size_t)(p - ln)))
				return pfail(e, line, "bad label name in [%s]", s);
			if (m->nl == P_MAX_LABELS || (size_t)(p - ln) >= sizeof(m->ln[0]))
				return pfail(e, line, "too many labels or label name too long");
			memcpy(m->ln[m->nl], ln, (size_t)(p - ln));
			for (int j = 0; j < m->nl; j++)
				if (strcmp(m->ln[j], m->ln[m->nl]) == 0)
					return pfail(e, line, "label %s twice", m->ln[j]);
			p++;
			if (*p != '"')
				return pfail(e, line, "label value not quoted in [%s]", s);
			p++;
			size_t k = 0;
			for (;;) {
				char c = *p;
				if (c == '\0')
					return pfail(e, line, "unterminated label value in [%s]", s);
				if (c == '"')
					break;
				if (c == '\\') {
					char x = p[1];
					if (x != '\\' && x != '"' && x != 'n')
						return pfail(e, line, "bad escape '\\%c' in a label value", x);
					c = x == 'n' ? '\n' : x;
					p++;
				}
				if (k + 1 >= sizeof(m->lv[0]))
					return pfail(e, line, "label value too long");
				m->lv[m->nl][k++] = c;
				p++;
			}
			p++; /* closing quote */
			m->nl++;
			if (*p == ',' && p[1] != '}') {
				p++;
				continue;
			}
			if (*p != '}')
				return pfail(e, line, "expected ',' or '}' after a label in [%s]", s);
		}
		p++;
	}
	if (*p != ' ')
		return pfail(e, line, "expected one space before the value in [%s]", s);
	p++;
	const char *val = p;
	while (*p && *p != ' ')
		p++;
	if (pvalue(val, (size_t)(p - val), &m->v) != 0)
		return pfail(e, line, "bad value in [%s]", s);
	if (*p == ' ') { /* optional timestamp */
		p++;
		const char *ts = p;
		if (*p == '-')
			p++;
		while (is_digit(*p))
			p++;
		if (p == ts || *p != '\0')
			return pfail(e, line, "bad timestamp in [%s]", s);
	}
	if (strcmp(f->type, "counter") == 0 && !(m->v >= 0))
		return pfail(e, line, "counter %s is negative or NaN", f->name);
	/* the same series twice */
	for (size_t i = 0; i < e->n; i++) {
		const struct psample *o = &e->s[i];
		if (strcmp(o->name, m->name) != 0 || o->nl != m->nl)
			continue;
		int same = 0;
		for (int a = 0; a < m->nl; a++)
			for (int b = 0; b < o->nl; b++)
				same += strcmp(m->ln[a], o->ln[b]) == 0 && strcmp(m->lv[a], o->lv[b]) == 0;
		if (same == m->nl)
			return pfail(e, line, "series repeated: [%s]", s);
	}
	f->samples++;
	e->n++;
	return 0;
}

static int pcomment(struct expo *e, int line, const char *s)
{
	bool help = strncmp(s, "# HELP ", 7) == 0, type = strncmp(s, "# TYPE ", 7) == 0;
	if (!help && !type)
		return 0; /* a plain comment */
	const char *name = s + 7, *p = name;
	while (*p && *p != ' ')
		p++;
	if (!metric_name_ok(name, (size_t)(p - name)))
		return pfail(e, line, "bad metric name in [%s]", s);
	int fi = pfamily(e, line, name, (size_t)(p - name));
	if (fi < 0)
		return -1;
	struct pfam *f = &e->f[fi];
	if (help) {
		if (f->help)
			return pfail(e, line, "second HELP for %s", f->name);
		f->help = true;
		if (*p != ' ' || p[1] == '\0')
			return pfail(e, line, "HELP without text for %s", f->name);
		for (p++; *p; p++)
			if (*p == '\\' && p[1] != '\\' && p[1] != 'n')
				return pfail(e, line, "bad escape in HELP of %s", f->name);
			else if (*p == '\\')
				p++;
		if (f->samples)
			return pfail(e, line, "HELP for %s after its samples", f->name);
		return 0;
	}
	if (f->typed)
		return pfail(e, line, "second TYPE for %s", f->name);
	if (f->samples)
		return pfail(e, line, "TYPE for %s after its samples", f->name);
	static const char *const types[] = {"counter", "gauge", "histogram", "summary", "untyped"};
	if (*p != ' ' || !one_of(p + 1, types, ARRAY_LEN(types)))
		return pfail(e, line, "bad TYPE line [%s]", s);
	snprintf(f->type, sizeof(f->type), "%s", p + 1);
	f->typed = true;
	if (strcmp(f->type, "counter") == 0) {
		size_t n = strlen(f->name);
		if (n < 6 || strcmp(f->name + n - 6, "_total") != 0)
			return pfail(e, line, "counter %s does not end in _total", f->name);
	}
	return 0;
}

/* 0 when text is a valid exposition (samples into e), else -1 and e->err. */
static int prom_parse(const char *text, struct expo *e)
{
	memset(e, 0, sizeof(*e));
	e->cur = -1;
	size_t len = strlen(text);
	if (len == 0)
		return pfail(e, 0, "empty output");
	if (text[len - 1] != '\n')
		return pfail(e, 0, "the last line does not end with a newline");
	char *copy = strdup(text), *save = NULL;
	int line = 0, rc = 0;
	for (char *l = strtok_r(copy, "\n", &save); rc == 0 && l; l = strtok_r(NULL, "\n", &save)) {
		line++;
		if (*l == '#')
			rc = pcomment(e, line, l);
		else
			rc = psample_line(e, line, l);
	}
	free(copy);
	if (rc == 0 && strstr(text, "\n\n") != NULL)
		return pfail(e, 0, "empty line");
	return rc;
}

static struct expo *prom_must(const char *text)
{
	struct expo *e = calloc(1, sizeof(*e));
	ck_assert_ptr_nonnull(e);
	ck_assert_msg(prom_parse(text, e) == 0, "metrics not in the exposition format: %s\n%s",
		      e->err, text);
	return e;
}

static const struct pfam *pfam_of(const struct expo *e, const char *name)
{
	for (size_t i = 0; i < e->nf; i++)
		if (strcmp(e->f[i].name, name) == 0)
			return &e->f[i];
	return NULL;
}

static const char *plabel(const struct psample *s, const char *ln)
{
	for (int i = 0; i < s->nl; i++)
		if (strcmp(s->ln[i], ln) == 0)
			return s->lv[i];
	return NULL;
}

/* The one sample of metric name whose labels include the given pairs
 * (k1, v1, k2, v2, ..., NULL). */
__attribute__((sentinel)) static double pval(const struct expo *e, const char *name, ...)
{
	const struct psample *hit = NULL;
	size_t hits = 0;
	for (size_t i = 0; i < e->n; i++) {
		if (strcmp(e->s[i].name, name) != 0)
			continue;
		va_list ap;
		va_start(ap, name);
		bool match = true;
		for (const char *k; (k = va_arg(ap, const char *)) != NULL;) {
			const char *v = va_arg(ap, const char *), *have = plabel(&e->s[i], k);
			match = match && have != NULL && strcmp(have, v) == 0;
		}
		va_end(ap);
		if (match) {
			hit = &e->s[i];
			hits++;
		}
	}
	ck_assert_msg(hits == 1, "%zu samples of %s match, expected one", hits, name);
	return hit->v;
}

START_TEST(prom_validator_self_check)
{
	struct expo e;
	const char *good = "# HELP a_total Some \\\\ help\\n.\n# TYPE a_total counter\n"
			   "a_total{x=\"q\\\"\\\\\\n\",y=\"\"} 3\na_total{x=\"2\"} 4 1700000000\n"
			   "# a comment\n# TYPE g gauge\ng -1.5e3\ng{k=\"v\"} NaN\n";
	ck_assert_msg(prom_parse(good, &e) == 0, "%s", e.err);
	ck_assert_uint_eq(e.n, 4);
	ck_assert_str_eq(e.s[0].lv[0], "q\"\\\n");
	ck_assert(pval(&e, "a_total", "x", "2", NULL) == 4);
	static const char *const bad[] = {
		"a_total 1\n",                                        /* no TYPE */
		"# TYPE a_total counter\na_total 1",                  /* no final newline */
		"# TYPE a_total counter\na_total{x=\"1\"} -1\n",      /* negative counter */
		"# TYPE a counter\na 1\n",                            /* counter without _total */
		"# TYPE 1a gauge\n1a 1\n",                            /* bad name */
		"# TYPE a gauge\na{x=1} 1\n",                         /* unquoted */
		"# TYPE a gauge\na{x=\"\\t\"} 1\n",                   /* bad escape */
		"# TYPE a gauge\na{x=\"1\",x=\"2\"} 1\n",             /* label twice */
		"# TYPE a gauge\na{__x=\"1\"} 1\n",                   /* reserved label */
		"# TYPE a gauge\na 1\na 2\n",                         /* same series */
		"# TYPE a gauge\na abc\n",                            /* bad value */
		"# TYPE a gauge\na  1\n",                             /* two spaces */
		"# TYPE a gauge\n# TYPE a gauge\na 1\n",              /* two TYPEs */
		"# TYPE a gauge\na 1\n# TYPE a gauge\n",              /* TYPE after samples */
		"# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x=\"\"} 2\n", /* split family */
		"# TYPE a gauge\n# HELP a x\n# HELP a y\na 1\n",      /* two HELPs */
		"# TYPE a fancy\na 1\n",                              /* bad type */
		"# TYPE a gauge\na 1\n\n",                            /* empty line */
		"# TYPE a gauge\na{x=\"1\",} 1\n",                    /* trailing comma */
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		struct expo b;
		ck_assert_msg(prom_parse(bad[i], &b) != 0, "accepted bad exposition [%s]", bad[i]);
		free(b.s);
	}
	free(e.s);
}
END_TEST

/* ======================================================================
 * Basics: help, version, the box from the environment, no command
 * ==================================================================== */

START_TEST(help_and_version)
{
	OK(NULL, "--help");
	ck_assert_msg(strstr(R.out, "usage: fuseboxctl") != NULL, "help: [%s]", R.out);
	ck_assert_str_eq(R.err, "");
	OK(NULL, "--version");
	char want[64];
	snprintf(want, sizeof(want), "fuseboxctl %s\n", FBX_VERSION_STRING);
	ck_assert_str_eq(R.out, want);
}
END_TEST

/* "bad usage ... with one line on stderr naming what was wrong" */
START_TEST(no_command_one_line)
{
	char *box = lib_box();
	FAILS("command", box, NULL);
	FAILS("command", NULL, NULL);
}
END_TEST

START_TEST(box_from_environment)
{
	char *box = lib_box(), *other = lib_box();
	const char *env[] = {NULL, NULL};
	char var[64];
	snprintf(var, sizeof(var), "FUSEBOX_BOX=%s", box);
	env[0] = var;
	struct opts o = {.env = env};
	EXPECT_AS(&o, 0, NULL, "status", "--json");
	ck_assert_str_eq(jstr(json_must(R.out), "box"), box);
	/* -b wins over the environment */
	EXPECT_AS(&o, 0, other, "status", "--json");
	ck_assert_str_eq(jstr(json_must(R.out), "box"), other);
	/* without -b or FUSEBOX_BOX (or with it empty): the box "default" */
	if (!shm_exists("default")) {
		const char *unset[] = {"FUSEBOX_BOX", NULL}, *empty[] = {"FUSEBOX_BOX=", NULL};
		struct opts ou = {.env = unset}, oe = {.env = empty};
		EXPECT_AS(&ou, 2, NULL, "status");
		one_error_line("'default'");
		EXPECT_AS(&oe, 2, NULL, "status");
		one_error_line("'default'");
	}
}
END_TEST

/* ======================================================================
 * create, destroy, ls
 * ==================================================================== */

START_TEST(create_defaults)
{
	char *box = new_box();
	OK(box, "create");
	ck_assert_msg(strstr(R.out, box) != NULL, "create says: [%s]", R.out);
	ck_assert_str_eq(R.err, "");
	ck_assert_uint_eq(shm_mode(box, NULL), 0600);

	fbx_box *b;
	ck_assert_int_eq(fbx_box_open(box, FBX_OPEN_RDONLY, NULL, &b), 0);
	fbx_box_info info;
	ck_assert_int_eq(fbx_box_info_get(b, &info), 0);
	ck_assert_uint_ge(info.capacity.breakers, 256);
	ck_assert_uint_ge(info.capacity.limiters, 64);
	ck_assert_uint_ge(info.capacity.keys, 65536);
	ck_assert_uint_ge(info.capacity.events, 4096);
	fbx_box_close(b);

	struct jv *s = status_json(box);
	ck_assert_uint_eq(jreq(s, "breakers", J_ARR)->n, 0);
	ck_assert_uint_eq(jreq(s, "limiters", J_ARR)->n, 0);
	ck_assert_uint_eq(juint(s, "events_dropped"), 0);
	OK(box, "status");
	ck_assert_msg(strstr(R.out, box) != NULL, "status: [%s]", R.out);

	/* ls lists it, with its mode and capacities */
	OK(NULL, "ls");
	const char *line = ls_line(box);
	char name[64], bytes[32], mode[16], owner[64], state[64];
	unsigned nb, nl;
	ck_assert_msg(sscanf(line, "%63s %31s %15s %63s %u %u %63s", name, bytes, mode, owner, &nb,
			     &nl, state) == 7,
		      "ls: [%s]", line);
	ck_assert_str_eq(mode, "0600");
	ck_assert_uint_eq(nb, info.capacity.breakers);
	ck_assert_uint_eq(nl, info.capacity.limiters);
	ck_assert_str_eq(state, "ok");

	OK(box, "destroy");
	ck_assert_str_eq(R.err, "");
	ck_assert(!shm_exists(box));
	FAILS("does not exist", box, "destroy");
	FAILS("does not exist", box, "status");
}
END_TEST

static const mode_t umasks[] = {0, 022, 077, 0777};

START_TEST(create_mode_whatever_umask)
{
	char *box = new_box();
	struct opts o = {.set_umask = true, .umask = umasks[_i]};
	EXPECT_AS(&o, 0, box, "create", "--mode", "0660", "--keys", "256");
	ck_assert_uint_eq(shm_mode(box, NULL), 0660);
	if (_i == 0) { /* ls opens every box on the host: once is enough */
		OK(NULL, "ls");
		const char *line = ls_line(box);
		ck_assert_msg(strstr(line, " 0660 ") != NULL, "ls: [%s]", line);
	}
	/* a config file's [box] mode too */
	char *box2 = new_box();
	const char *cfg = tfile("[box]\nmode = 0640\nkeys = 256\n");
	EXPECT_AS(&o, 0, box2, "create", "--config", cfg);
	ck_assert_uint_eq(shm_mode(box2, NULL), 0640);
	unlink(cfg);
}
END_TEST

static const char *nobody_group(void)
{
	struct group *g = getgrgid(NOBODY);
	static char name[64];
	snprintf(name, sizeof(name), "%s", g ? g->gr_name : "65534");
	return name;
}

START_TEST(create_group)
{
	char *box = new_box();
	OK(box, "create", "--mode", "0660", "--group", nobody_group(), "--keys", "256");
	gid_t gid;
	ck_assert_uint_eq(shm_mode(box, &gid), 0660);
	ck_assert_uint_eq(gid, NOBODY);
	char *box2 = new_box();
	FAILS("no_such_group_fbx", box2, "create", "--group", "no_such_group_fbx");
	ck_assert(!shm_exists(box2));
	/* the group can write: as nobody (gid 65534 only) */
	if (geteuid() == 0) {
		OK(box, "breaker", "add", "g");
		struct opts nob = {.nobody = true};
		EXPECT_AS(&nob, 0, box, "breaker", "record", "g", "success");
		ck_assert_uint_eq(breaker_count(box, "g", "successes"), 1);
	}
}
END_TEST

START_TEST(create_existing)
{
	char *box = new_box();
	OK(box, "create");
	OK(box, "breaker", "add", "keep");
	OK(box, "breaker", "record", "keep", "failure");
	FAILS("exists", box, "create");
	ck_assert(shm_exists(box));
	OK(box, "create", "--exist-ok");
	ck_assert_msg(strstr(R.out, "kept") != NULL, "create --exist-ok says [%s]", R.out);
	/* the box was kept as it was */
	ck_assert_uint_eq(breaker_count(box, "keep", "failures"), 1);
	/* capacities that differ from the box's */
	FAILS("breakers", box, "create", "--exist-ok", "--breakers", "16");
	ck_assert(shm_exists(box));
	ck_assert_uint_eq(breaker_count(box, "keep", "failures"), 1);

	char *small = new_box();
	OK(small, "create", "--keys", "1024", "--events", "32");
	OK(small, "create", "--exist-ok", "--keys", "1024", "--events", "32");
	FAILS("keys", small, "create", "--exist-ok", "--keys", "2048", "--events", "32");
	FAILS("events", small, "create", "--exist-ok", "--keys", "1024", "--events", "64");
	EXPECT(2, small, "create", "--exist-ok");
	one_error_line(NULL);
	OK(small, "status");
}
END_TEST

static const char good_config[] =
	"# fusebox for the test\n"
	"[box]\n"
	"breakers = 32\n"
	"limiters = 8\n"
	"keys = 1024\n"
	"events = 128\n"
	"mode = 0640\n"
	"\n"
	"; breakers\n"
	"[breaker embedding_service]\n"
	"fail_max = 7\n"
	"reset_timeout = 30s\n"
	"reset_max = 2m\n"
	"trial_lease = 1500ms\n"
	"half_open = 2\n"
	"success_threshold = 3\n"
	"\n"
	"[breaker ratey]\n"
	"fail_max = 0\n"
	"failure_rate = 50\n"
	"window = 1h\n"
	"min_calls = 5\n"
	"slow_call = 2s\n"
	"slow_rate = 40\n"
	"\n"
	"  [limiter vector_search]  \n"
	"\trate = 100/minute\n"
	"  keyed = yes\n"
	"[limiter bursty]\n"
	"rate=10 per second\n"
	"algo = gcra\n"
	"burst = 5\n"
	"dry_run = on\n";

START_TEST(create_config)
{
	char *box = new_box();
	const char *cfg = tfile(good_config);
	OK(box, "create", "--config", cfg);
	ck_assert_msg(strstr(R.out, "2 breakers") && strstr(R.out, "2 limiters"), "[%s]", R.out);
	ck_assert_uint_eq(shm_mode(box, NULL), 0640);
	fbx_box *b;
	ck_assert_int_eq(fbx_box_open(box, FBX_OPEN_RDONLY, NULL, &b), 0);
	fbx_box_info info;
	ck_assert_int_eq(fbx_box_info_get(b, &info), 0);
	ck_assert_uint_eq(info.capacity.breakers, 32);
	ck_assert_uint_eq(info.capacity.limiters, 8);
	ck_assert_uint_eq(info.capacity.keys, 1024);
	ck_assert_uint_eq(info.capacity.events, 128);
	fbx_box_close(b);

	const struct jv *c = jreq(breaker_json(box, "embedding_service"), "config", J_OBJ);
	ck_assert_uint_eq(juint(c, "fail_max"), 7);
	ck_assert_uint_eq(juint(c, "reset_timeout_ms"), 30000);
	ck_assert_uint_eq(juint(c, "reset_timeout_max_ms"), 120000);
	ck_assert_uint_eq(juint(c, "trial_lease_ms"), 1500);
	ck_assert_uint_eq(juint(c, "half_open_max"), 2);
	ck_assert_uint_eq(juint(c, "success_threshold"), 3);
	c = jreq(breaker_json(box, "ratey"), "config", J_OBJ);
	ck_assert_uint_eq(juint(c, "fail_max"), 0);
	ck_assert_uint_eq(juint(c, "failure_rate_pct"), 50);
	ck_assert_uint_eq(juint(c, "window_calls"), 0);
	ck_assert_uint_eq(juint(c, "window_ms"), 3600000);
	ck_assert_uint_eq(juint(c, "min_calls"), 5);
	ck_assert_uint_eq(juint(c, "slow_call_ms"), 2000);
	ck_assert_uint_eq(juint(c, "slow_rate_pct"), 40);

	struct jv *l = limiter_json(box, "vector_search");
	ck_assert_str_eq(jstr(l, "rule"), "100/minute");
	ck_assert_str_eq(jstr(l, "algorithm"), "window");
	ck_assert(jbool(l, "keyed"));
	ck_assert(!jbool(l, "dry_run"));
	l = limiter_json(box, "bursty");
	ck_assert_str_eq(jstr(l, "rule"), "10/second");
	ck_assert_str_eq(jstr(l, "algorithm"), "gcra");
	ck_assert_uint_eq(juint(l, "burst"), 5);
	ck_assert(!jbool(l, "keyed"));
	ck_assert(jbool(l, "dry_run"));

	/* the same file again with --exist-ok: accepted, nothing changes */
	OK(box, "breaker", "record", "embedding_service", "failure");
	OK(box, "create", "--exist-ok", "--config", cfg);
	ck_assert_uint_eq(breaker_count(box, "embedding_service", "failures"), 1);
	unlink(cfg);
}
END_TEST

static const struct bad_config {
	const char *text;
	int line; /* the line the message names; 0: only the file */
	const char *what;
} bad_configs[] = {
	{"[breaker a]\nfail_max 5\n", 2, "key = value"},
	{"[breaker a]\n= 5\n", 2, "key = value"},
	{"[breaker a]\nfail_max =\n", 2, "key = value"},
	{"[breaker a]\nfail_maxx = 5\n", 2, "fail_maxx"},
	{"[breaker a]\nfail_max = 5\n\n[breaker a]\nfail_max = 6\n", 4, "duplicate"},
	{"[limiter l]\nrate = 5/minute\n[limiter l]\nrate = 5/minute\n", 3, "duplicate"},
	{"[box]\nbreakers = 8\n[box]\n", 3, "duplicate"},
	{"[limiter l]\nrate = 100/fortnight\n", 2, "100/fortnight"},
	{"[limiter l]\nrate = 0/minute\n", 2, "0/minute"},
	{"[limiter l]\nrate = abc\n", 2, "abc"},
	{"[limiter l]\nrate = 10/\n", 2, "10/"},
	{"[breakr a]\n", 1, "[breaker NAME]"},
	{"[breaker]\n", 1, "[breaker NAME]"},
	{"[breaker a b]\n", 1, "a b"},
	{"[box\n", 1, "[box]"},
	{"fail_max = 5\n", 1, "outside"},
	{"[breaker a]\nreset_timeout = 5x\n", 2, "5x"},
	{"[breaker a]\nreset_timeout = -1s\n", 2, "-1s"},
	{"[breaker a]\nfail_max = -1\n", 2, "-1"},
	{"[breaker a]\nfail_max = lots\n", 2, "lots"},
	{"[box]\nbreakers = lots\n", 2, "lots"},
	{"[box]\nflavour = mint\n", 2, "flavour"},
	{"[box]\nmode = 0999\n", 2, "mode"},
	{"[box]\ngroup = no_such_group_fbx\n", 2, "no_such_group_fbx"},
	{"# ok so far\n[breaker ok]\n[limiter l]\nrate = 10/minute\nalgo = leaky\n", 5, "leaky"},
	{"[limiter l]\nrate = 10/minute\nkeyed = maybe\n", 3, "maybe"},
	/* found when the section is checked as a whole: the section's line */
	{"\n\n[limiter l]\nalgo = gcra\n", 3, "rate"},
	{"[breaker ok]\n[breaker a]\nfail_max = 0\n", 2, "fail_max"},
	{"[limiter l]\nrate = 10/minute\nalgo = gcra\nburst = 11\n", 1, "burst"},
	{"[breaker a]\nhalf_open = 0\n", 2, "half_open"},
	{"[box]\nbreakers = 1\n[breaker a]\n[breaker b]\n", 0, "fit"},
};

START_TEST(create_config_bad)
{
	const struct bad_config *c = &bad_configs[_i];
	char *box = new_box();
	const char *cfg = tfile(c->text);
	FAILS(c->what, box, "create", "--config", cfg);
	char where[160];
	if (c->line > 0)
		snprintf(where, sizeof(where), "fuseboxctl: %s:%d: ", cfg, c->line);
	else
		snprintf(where, sizeof(where), "fuseboxctl: %s", cfg);
	ck_assert_msg(strncmp(R.err, where, strlen(where)) == 0, "expected [%s...], got [%s]", where,
		      R.err);
	ck_assert_msg(!shm_exists(box), "a box was created from a bad config");
	unlink(cfg);
}
END_TEST

START_TEST(create_config_unreadable)
{
	char *box = new_box();
	FAILS("/nonexistent/fbx.ini", box, "create", "--config", "/nonexistent/fbx.ini");
	ck_assert(!shm_exists(box));
	/* a bad config with --exist-ok on a box that exists: the box is kept as is */
	char *have = lib_box();
	const char *cfg = tfile("[breaker new_one]\n[limiter l]\nrate = 1/fortnight\n");
	FAILS("1/fortnight", have, "create", "--exist-ok", "--config", cfg);
	ck_assert(shm_exists(have));
	FAILS("no breaker", have, "breaker", "show", "new_one");
	unlink(cfg);
}
END_TEST

/* --exist-ok with a declared record that conflicts with the box: exit 2 and
 * nothing applied, not even the records declared before the conflict. */
START_TEST(create_exist_ok_nothing_half_applied)
{
	char *box = new_box();
	const char *first = tfile("[box]\nkeys = 256\n[limiter api]\nrate = 100/minute\nalgo = gcra\n"
				  "burst = 5\n");
	OK(box, "create", "--config", first);
	/* the same limiter with another burst, after a new breaker */
	const char *second = tfile("[box]\nkeys = 256\n[breaker newcomer]\nfail_max = 3\n"
				   "[limiter api]\nrate = 100/minute\nalgo = gcra\nburst = 3\n");
	FAILS("api", box, "create", "--exist-ok", "--config", second);
	int rc = ctl(box, "breaker", "show", "newcomer", (const char *)NULL);
	ck_assert_msg(rc == 2, "breaker 'newcomer' was registered by a create --exist-ok that "
		      "failed: half-applied");
	/* and a breaker conflict names the setting */
	const char *third = tfile("[box]\nkeys = 256\n[breaker b]\nfail_max = 3\n");
	OK(box, "create", "--exist-ok", "--config", third);
	const char *fourth = tfile("[box]\nkeys = 256\n[breaker b]\nfail_max = 4\n");
	FAILS("fail_max", box, "create", "--exist-ok", "--config", fourth);
	ck_assert_uint_eq(juint(jreq(breaker_json(box, "b"), "config", J_OBJ), "fail_max"), 3);
	unlink(first);
	unlink(second);
	unlink(third);
	unlink(fourth);
}
END_TEST

/* ======================================================================
 * Breakers
 * ==================================================================== */

static const struct add_case {
	const char *args[10];
	struct {
		const char *field;
		unsigned long long value;
	} want[3];
} add_cases[] = {
	{{"--fail-max", "7"}, {{"fail_max", 7}}},
	{{"--failure-rate", "40", "--window", "20", "--min-calls", "5"},
	 {{"failure_rate_pct", 40}, {"window_calls", 20}, {"min_calls", 5}}},
	{{"--failure-rate", "40", "--window", "30s", "--min-calls", "5"},
	 {{"window_calls", 0}, {"window_ms", 30000}, {"min_calls", 5}}},
	{{"--slow-call", "250ms", "--slow-rate", "60"}, {{"slow_call_ms", 250}, {"slow_rate_pct", 60}}},
	{{"--reset", "10s", "--reset-max", "2m"},
	 {{"reset_timeout_ms", 10000}, {"reset_timeout_max_ms", 120000}}},
	{{"--reset", "1h"}, {{"reset_timeout_ms", 3600000}}},
	{{"--half-open", "3"}, {{"half_open_max", 3}}},
	{{"--success-threshold", "4"}, {{"success_threshold", 4}}},
	{{"--trial-lease", "1500ms"}, {{"trial_lease_ms", 1500}}},
	{{"--fail-max", "0", "--failure-rate", "50"}, {{"fail_max", 0}, {"failure_rate_pct", 50}}},
	{{"--window", "8", "--fail-max", "2", "--failure-rate", "100", "--min-calls", "8"},
	 {{"window_calls", 8}, {"fail_max", 2}, {"failure_rate_pct", 100}}},
};

START_TEST(breaker_add_options)
{
	const struct add_case *c = &add_cases[_i];
	char *box = lib_box();
	const char *args[16] = {"breaker", "add", "opt"};
	size_t n = 3;
	for (size_t i = 0; c->args[i]; i++)
		args[n++] = c->args[i];
	args[n] = NULL;
	ck_assert_int_eq(run_args(NULL, box, args), 0);
	ck_assert_str_eq(R.err, "");
	struct jv *b = breaker_json(box, "opt");
	ck_assert_str_eq(jstr(b, "state"), "closed");
	const struct jv *cfg = jreq(b, "config", J_OBJ);
	for (size_t i = 0; i < 3 && c->want[i].field; i++)
		ck_assert_msg(juint(cfg, c->want[i].field) == c->want[i].value, "%s = %llu, want %llu",
			      c->want[i].field, juint(cfg, c->want[i].field), c->want[i].value);
	/* the text form too */
	OK(box, "breaker", "show", "opt");
	ck_assert_msg(strncmp(R.out, "breaker opt\n", 12) == 0, "[%s]", R.out);
	/* and the same command again is accepted */
	ck_assert_int_eq(run_args(NULL, box, args), 0);
}
END_TEST

START_TEST(breaker_add_again)
{
	char *box = ctl_box();
	OK(box, "breaker", "add", "svc", "--fail-max", "3", "--reset", "30s");
	OK(box, "breaker", "record", "svc", "success");
	OK(box, "breaker", "record", "svc", "success");
	OK(box, "breaker", "record", "svc", "failure");
	ck_assert_uint_eq(breaker_count(box, "svc", "consecutive_failures"), 1);
	/* same settings: accepted, state and counts kept */
	OK(box, "breaker", "add", "svc", "--fail-max", "3", "--reset", "30s");
	struct jv *b = breaker_json(box, "svc");
	ck_assert_str_eq(jstr(b, "state"), "closed");
	ck_assert_uint_eq(juint(b, "successes"), 2);
	ck_assert_uint_eq(juint(b, "failures"), 1);
	ck_assert_uint_eq(juint(b, "consecutive_failures"), 1);
	OK(box, "breaker", "trip", "svc");
	struct jv *before = breaker_json(box, "svc");
	OK(box, "breaker", "add", "svc", "--fail-max", "3", "--reset", "30s");
	b = breaker_json(box, "svc");
	static const char *const same[] = {"successes", "failures", "ignored", "rejected", "trips",
					   "consecutive_failures"};
	ck_assert_str_eq(jstr(b, "state"), "forced_open");
	for (size_t i = 0; i < ARRAY_LEN(same); i++)
		ck_assert_msg(juint(b, same[i]) == juint(before, same[i]), "%s changed", same[i]);
	/* different settings: refused, naming the setting */
	FAILS("fail_max", box, "breaker", "add", "svc", "--fail-max", "4", "--reset", "30s");
	FAILS("reset_timeout", box, "breaker", "add", "svc", "--fail-max", "3", "--reset", "31s");
	FAILS("half_open", box, "breaker", "add", "svc", "--fail-max", "3", "--reset", "30s",
	      "--half-open", "2");
	b = breaker_json(box, "svc");
	ck_assert_str_eq(jstr(b, "state"), "forced_open");
	ck_assert_uint_eq(juint(jreq(b, "config", J_OBJ), "fail_max"), 3);
	ck_assert_uint_eq(juint(b, "successes"), 2);
}
END_TEST

START_TEST(breaker_record_outcomes)
{
	char *box = ctl_box();
	OK(box, "breaker", "add", "rec", "--fail-max", "100", "--slow-call", "1s", "--slow-rate",
	   "50");
	OK(box, "breaker", "record", "rec", "success");
	ck_assert_str_eq(R.err, "");
	OK(box, "breaker", "record", "rec", "ignored");
	OK(box, "breaker", "record", "rec", "success", "--duration", "5s");   /* slow */
	OK(box, "breaker", "record", "rec", "success", "--duration", "500ms"); /* not slow */
	OK(box, "breaker", "record", "rec", "failure", "--duration", "1s");   /* slow */
	OK(box, "breaker", "record", "rec", "failure");
	OK(box, "breaker", "record", "rec", "ignored", "--duration", "1h");
	struct jv *b = breaker_json(box, "rec");
	ck_assert_uint_eq(juint(b, "successes"), 3);
	ck_assert_uint_eq(juint(b, "failures"), 2);
	ck_assert_uint_eq(juint(b, "ignored"), 2);
	ck_assert_uint_eq(juint(b, "slow"), 2);
	ck_assert_uint_eq(juint(b, "consecutive_failures"), 2);
	ck_assert_uint_eq(juint(b, "rejected"), 0);
	ck_assert_str_eq(jstr(b, "state"), "closed");
}
END_TEST

START_TEST(breaker_record_rejected)
{
	char *box = ctl_box();
	OK(box, "breaker", "add", "r", "--fail-max", "2", "--reset", "1h");
	OK(box, "breaker", "record", "r", "failure");
	OK(box, "breaker", "record", "r", "failure");
	struct jv *b = breaker_json(box, "r");
	ck_assert_str_eq(jstr(b, "state"), "open");
	ck_assert_uint_eq(juint(b, "trips"), 1);
	ck_assert_uint_gt(juint(b, "open_remaining_ms"), 0);
	ck_assert_uint_le(juint(b, "open_remaining_ms"), 3600000);
	EXPECT(75, box, "breaker", "record", "r", "success");
	one_error_line("rejected");
	ck_assert_msg(strstr(R.err, "trial") != NULL, "no word on when a trial is allowed: %s",
		      R.err);
	ck_assert_str_eq(R.out, "");
	b = breaker_json(box, "r");
	ck_assert_uint_eq(juint(b, "successes"), 0);
	ck_assert_uint_eq(juint(b, "failures"), 2);
	ck_assert_uint_eq(juint(b, "rejected"), 1);
	/* forced open by an operator */
	OK(box, "breaker", "add", "f");
	OK(box, "breaker", "trip", "f");
	EXPECT(75, box, "breaker", "record", "f", "failure");
	one_error_line("operator");
	b = breaker_json(box, "f");
	ck_assert_uint_eq(juint(b, "failures"), 0);
	ck_assert_uint_eq(juint(b, "rejected"), 1);
}
END_TEST

static const struct call_case {
	const char *ignore; /* --ignore-exit, or NULL */
	const char *cmd[6];
	int code;
	const char *counter; /* the one that goes up */
	const char *stderr_has; /* NULL: stderr empty */
} call_cases[] = {
	{NULL, {"/bin/true"}, 0, "successes", NULL},
	{NULL, {"/bin/false"}, 1, "failures", NULL},
	{NULL, {"/bin/sh", "-c", "exit 3"}, 3, "failures", NULL},
	{"3", {"/bin/sh", "-c", "exit 3"}, 3, "ignored", NULL},
	{"3,4", {"/bin/sh", "-c", "exit 4"}, 4, "ignored", NULL},
	{"3", {"/bin/sh", "-c", "exit 5"}, 5, "failures", NULL},
	{"0", {"/bin/true"}, 0, "successes", NULL},
	/* a signal is a failure, even when 128 + its number is "ignored" */
	{"137", {"/bin/sh", "-c", "kill -KILL $$"}, 128 + SIGKILL, "failures", NULL},
	{NULL, {"/bin/sh", "-c", "kill -TERM $$"}, 128 + SIGTERM, "failures", NULL},
	{NULL, {"/nonexistent/fbx-no-such-command"}, 127, "failures", "fbx-no-such-command"},
	{NULL, {"fbx-no-such-command-on-path"}, 127, "failures", "fbx-no-such-command-on-path"},
	{NULL, {"sh", "-c", "exit 0"}, 0, "successes", NULL}, /* found on PATH */
};

START_TEST(breaker_call_exit_codes)
{
	const struct call_case *c = &call_cases[_i];
	char *box = lib_box();
	OK(box, "breaker", "add", "call", "--fail-max", "100");
	const char *args[16] = {"breaker", "call", "call"};
	size_t n = 3;
	if (c->ignore) {
		args[n++] = "--ignore-exit";
		args[n++] = c->ignore;
	}
	args[n++] = "--";
	for (size_t i = 0; c->cmd[i]; i++)
		args[n++] = c->cmd[i];
	args[n] = NULL;
	int rc = run_args(NULL, box, args);
	ck_assert_msg(rc == c->code, "%s: exit %d, expected %d (stderr %s)", R.cmd, rc, c->code, R.err);
	ck_assert(!R.signaled);
	if (c->stderr_has)
		one_error_line(c->stderr_has);
	else
		ck_assert_str_eq(R.err, "");
	struct jv *b = breaker_json(box, "call");
	static const char *const counters[] = {"successes", "failures", "ignored"};
	for (size_t i = 0; i < ARRAY_LEN(counters); i++)
		ck_assert_msg(juint(b, counters[i]) == (strcmp(counters[i], c->counter) == 0),
			      "%s = %llu after %s", counters[i], juint(b, counters[i]), R.cmd);
}
END_TEST

START_TEST(breaker_call_passes_arguments_and_output)
{
	char *box = lib_box();
	OK(box, "breaker", "call", "b1", "--", "/bin/sh", "-c", "printf '%s|' \"$@\"; echo err >&2",
	   "sh", "a", "b c", "--fail-max", "-x");
	ck_assert_str_eq(R.out, "a|b c|--fail-max|-x|");
	ck_assert_str_eq(R.err, "err\n");
	OK(box, "breaker", "call", "b1", "--ignore-exit", "3", "--", "/bin/echo", "--", "--ignore-exit");
	ck_assert_str_eq(R.out, "-- --ignore-exit\n");
	ck_assert_uint_eq(breaker_count(box, "b1", "successes"), 2);
}
END_TEST

START_TEST(breaker_call_rejected_not_run)
{
	char *box = ctl_box();
	const char *marker = tpath(".ran");
	OK(box, "breaker", "add", "forced");
	OK(box, "breaker", "trip", "forced", "--reason", "maintenance");
	EXPECT(75, box, "breaker", "call", "forced", "--", "/bin/sh", "-c", "touch \"$0\"", marker);
	one_error_line("rejected");
	ck_assert_str_eq(R.out, "");
	ck_assert_msg(!file_exists(marker), "the command ran although the breaker rejected it");
	/* open after failures: says when a trial is allowed */
	OK(box, "breaker", "add", "auto", "--fail-max", "1", "--reset", "1h");
	EXPECT(1, box, "breaker", "call", "auto", "--", "/bin/false");
	ck_assert_str_eq(breaker_state(box, "auto"), "open");
	EXPECT(75, box, "breaker", "call", "auto", "--", "/bin/sh", "-c", "touch \"$0\"", marker);
	one_error_line("trial");
	ck_assert(!file_exists(marker));
	struct jv *b = breaker_json(box, "auto");
	ck_assert_uint_eq(juint(b, "rejected"), 1);
	ck_assert_uint_eq(juint(b, "failures"), 1);
	ck_assert_uint_eq(juint(b, "successes"), 0);
	ck_assert_uint_eq(juint(breaker_json(box, "forced"), "rejected"), 1);
	/* no such breaker or box: not run either */
	FAILS("no breaker", box, "breaker", "call", "nosuch", "--", "/bin/sh", "-c", "touch \"$0\"",
	      marker);
	ck_assert(!file_exists(marker));
	char *gone = new_box();
	FAILS("does not exist", gone, "breaker", "call", "auto", "--", "/bin/sh", "-c",
	      "touch \"$0\"", marker);
	ck_assert(!file_exists(marker));
	/* and the control: held closed, it runs */
	OK(box, "breaker", "hold", "forced");
	OK(box, "breaker", "call", "forced", "--", "/bin/sh", "-c", "touch \"$0\"", marker);
	ck_assert(file_exists(marker));
	unlink(marker);
}
END_TEST

START_TEST(breaker_call_duration_counts_as_slow)
{
	char *box = lib_box();
	OK(box, "breaker", "add", "slowpoke", "--slow-call", "10ms", "--slow-rate", "100");
	OK(box, "breaker", "call", "slowpoke", "--", "/bin/sh", "-c", "sleep 0.05");
	struct jv *b = breaker_json(box, "slowpoke");
	ck_assert_uint_eq(juint(b, "slow"), 1);
	ck_assert_uint_eq(juint(b, "successes"), 1);
}
END_TEST

/* An asynchronous run, for --follow and calls kept in flight. */
struct proc {
	pid_t pid;
	int out, err;
	struct buf obuf;
};

__attribute__((sentinel)) static void proc_start(struct proc *p, const char *box, ...)
{
	const char *argv[MAX_ARGS + 4];
	size_t n = 0;
	argv[n++] = ctl_path();
	argv[n++] = "-b";
	argv[n++] = box;
	va_list ap;
	va_start(ap, box);
	for (const char *a; n < MAX_ARGS && (a = va_arg(ap, const char *)) != NULL;)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	memset(p, 0, sizeof(*p));
	buf_add(&p->obuf, "", 0);
	p->pid = spawn(NULL, argv, &p->out, &p->err);
	ck_assert_int_gt(p->pid, 0);
	fcntl(p->out, F_SETFL, O_NONBLOCK);
}

/* Reads stdout until it contains needle (true) or timeout_ms passes. */
static bool proc_wait_for(struct proc *p, const char *needle, uint64_t timeout_ms)
{
	uint64_t until = now_ms() + timeout_ms;
	while (strstr(p->obuf.p, needle) == NULL) {
		if (now_ms() > until)
			return false;
		struct pollfd pf = {p->out, POLLIN, 0};
		if (poll(&pf, 1, 10) > 0) {
			char chunk[4096];
			ssize_t n = read(p->out, chunk, sizeof(chunk));
			if (n > 0)
				buf_add(&p->obuf, chunk, (size_t)n);
			else if (n == 0)
				return strstr(p->obuf.p, needle) != NULL;
		}
	}
	return true;
}

static int proc_finish(struct proc *p, bool *signaled, char **err)
{
	fcntl(p->out, F_SETFL, 0);
	struct buf o = {0}, e = {0};
	drain(p->out, p->err, &o, &e);
	buf_add(&p->obuf, o.p, o.len);
	free(o.p);
	*err = e.p;
	return reap(p->pid, signaled);
}

/* Polls breaker show until pred holds; bounded. */
static struct jv *poll_breaker(const char *box, const char *name,
			       bool (*pred)(const struct jv *b), uint64_t timeout_ms)
{
	uint64_t until = now_ms() + timeout_ms;
	for (;;) {
		struct jv *b = breaker_json(box, name);
		if (pred(b))
			return b;
		ck_assert_msg(now_ms() < until, "breaker %s never reached the expected state: %s",
			      name, R.out);
		sleep_ms(2);
	}
}

static bool open_period_over(const struct jv *b)
{
	return juint(b, "open_remaining_ms") == 0;
}

static bool trial_in_flight(const struct jv *b)
{
	return strcmp(jstr(b, "state"), "half_open") == 0 && juint(b, "half_open_in_flight") == 1;
}

START_TEST(breaker_half_open_trial_in_flight)
{
	char *box = ctl_box();
	const char *go = tpath(".go"), *marker = tpath(".ran");
	OK(box, "breaker", "add", "ho", "--fail-max", "1", "--reset", "1ms");
	EXPECT(1, box, "breaker", "call", "ho", "--", "/bin/false");
	poll_breaker(box, "ho", open_period_over, 5000);
	/* the trial call: waits for the go file.  The breaker may still turn
	 * it away for a clock tick after the open period shows as over: then
	 * it exits 75 at once and is started again. */
	struct proc p;
	struct jv *b = NULL;
	unsigned early = 0;
	for (uint64_t until = now_ms() + 5000; b == NULL;) {
		ck_assert_msg(now_ms() < until, "no trial admitted");
		proc_start(&p, box, "breaker", "call", "ho", "--", "/bin/sh", "-c",
			   "while [ ! -e \"$0\" ]; do sleep 0.005; done", go, NULL);
		for (;;) {
			struct jv *now = breaker_json(box, "ho");
			if (trial_in_flight(now)) {
				b = now;
				break;
			}
			int st;
			if (waitpid(p.pid, &st, WNOHANG) == p.pid) {
				ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 75,
					      "the trial call ended with %d", st);
				close(p.out);
				close(p.err);
				early++;
				break;
			}
			sleep_ms(2);
		}
	}
	ck_assert_str_eq(jstr(b, "state"), "half_open");
	/* every trial permit is taken: the next call is turned away */
	EXPECT(75, box, "breaker", "call", "ho", "--", "/bin/sh", "-c", "touch \"$0\"", marker);
	one_error_line("trial");
	ck_assert(!file_exists(marker));
	EXPECT(75, box, "breaker", "record", "ho", "success");
	/* the trial succeeds: closed */
	FILE *f = fopen(go, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	bool sig;
	char *err;
	ck_assert_int_eq(proc_finish(&p, &sig, &err), 0);
	ck_assert_str_eq(err, "");
	b = breaker_json(box, "ho");
	ck_assert_str_eq(jstr(b, "state"), "closed");
	ck_assert_uint_eq(juint(b, "half_open_in_flight"), 0);
	ck_assert_uint_eq(juint(b, "successes"), 1);
	ck_assert_uint_eq(juint(b, "rejected"), 2 + early);
	unlink(go);
}
END_TEST

static const struct manual_case {
	const char *action, *state, *cause;
} manual_cases[] = {
	{"trip", "forced_open", "trip"},
	{"hold", "forced_closed", "hold"},
	{"release", "closed", "release"},
	{"reset", "closed", "reset"},
};

START_TEST(breaker_manual_actions)
{
	const struct manual_case *c = &manual_cases[_i];
	char *box = ctl_box();
	OK(box, "breaker", "add", "m", "--fail-max", "5");
	OK(box, "breaker", "record", "m", "failure");
	OK(box, "breaker", "record", "m", "failure");
	if (strcmp(c->action, "release") == 0)
		OK(box, "breaker", "trip", "m");
	const char *from = breaker_state(box, "m");
	char from_state[32];
	snprintf(from_state, sizeof(from_state), "%s", from);
	char reason[64];
	snprintf(reason, sizeof(reason), "%s \"by\" the \\test\\ %d", c->action, _i);
	OK(box, "breaker", c->action, "m", "--reason", reason);
	ck_assert_str_eq(R.err, "");
	pid_t tool = R.pid;
	struct jv *b = breaker_json(box, "m");
	ck_assert_str_eq(jstr(b, "state"), c->state);
	if (strcmp(c->action, "reset") == 0)
		ck_assert_uint_eq(juint(b, "consecutive_failures"), 0);
	ck_assert_uint_eq(juint(b, "failures"), 2); /* totals are kept */

	const struct jv *ev = events_json(box);
	ck_assert_uint_gt(ev->n, 0);
	const struct jv *last = &ev->v[ev->n - 1];
	ck_assert_str_eq(jstr(last, "kind"), "manual");
	ck_assert_str_eq(jstr(last, "cause"), c->cause);
	ck_assert_str_eq(jstr(last, "record"), "breaker");
	ck_assert_str_eq(jstr(last, "name"), "m");
	ck_assert_str_eq(jstr(last, "reason"), reason);
	ck_assert_uint_eq(juint(last, "uid"), getuid());
	ck_assert_uint_eq(juint(last, "pid"), (unsigned long long)tool);
	ck_assert_str_eq(jstr(last, "from"), from_state);
	ck_assert_str_eq(jstr(last, "to"), c->state);
	/* the text form names the operator and the reason */
	OK(box, "events");
	char who[96];
	snprintf(who, sizeof(who), "by uid %u pid %d: %s", (unsigned)getuid(), (int)tool, reason);
	ck_assert_msg(strstr(R.out, who) != NULL, "events: no [%s] in [%s]", who, R.out);
	/* without a reason */
	OK(box, "breaker", c->action, "m");
	ev = events_json(box);
	ck_assert_str_eq(jstr(&ev->v[ev->n - 1], "reason"), "");
}
END_TEST

/* --ignore-exit with a long list: every code in it counts, none is cut. */
START_TEST(breaker_call_long_ignore_list)
{
	char *box = lib_box();
	OK(box, "breaker", "add", "long", "--fail-max", "100");
	char codes[512] = "";
	for (int i = 0; i < 127; i++)
		strcat(codes, "3,");
	strcat(codes, "100"); /* 257 characters */
	EXPECT(1, box, "breaker", "call", "long", "--ignore-exit", codes, "--", "/bin/sh", "-c",
	       "exit 1");
	ck_assert_msg(breaker_count(box, "long", "failures") == 1,
		      "--ignore-exit of %zu characters (3 and 100): exit 1 was not a failure",
		      strlen(codes));
	EXPECT(100, box, "breaker", "call", "long", "--ignore-exit", codes, "--", "/bin/sh", "-c",
	       "exit 100");
	ck_assert_msg(breaker_count(box, "long", "ignored") == 1,
		      "--ignore-exit of %zu characters (3 and 100): exit 100 was not ignored",
		      strlen(codes));
}
END_TEST

/* ======================================================================
 * Limiters
 * ==================================================================== */

START_TEST(limiter_add_and_show)
{
	char *box = ctl_box();
	OK(box, "limiter", "add", "plain", "--rate", "100/minute");
	ck_assert_str_eq(R.err, "");
	struct jv *l = limiter_json(box, "plain");
	ck_assert_str_eq(jstr(l, "rule"), "100/minute");
	ck_assert_str_eq(jstr(l, "algorithm"), "window");
	ck_assert(!jbool(l, "keyed"));
	ck_assert(!jbool(l, "dry_run"));
	ck_assert_uint_eq(juint(l, "allowed"), 0);
	OK(box, "limiter", "add", "fancy", "--rate", "10 per second", "--algo", "gcra", "--burst",
	   "5", "--keyed", "--dry-run");
	l = limiter_json(box, "fancy");
	ck_assert_str_eq(jstr(l, "rule"), "10/second");
	ck_assert_str_eq(jstr(l, "algorithm"), "gcra");
	ck_assert_uint_eq(juint(l, "burst"), 5);
	ck_assert(jbool(l, "keyed"));
	ck_assert(jbool(l, "dry_run"));
	OK(box, "limiter", "add", "multi", "--rate", "5/second;100/minute");
	ck_assert_str_eq(jstr(limiter_json(box, "multi"), "rule"), "5/second;100/minute");
	/* again: the same is fine, another rule is not */
	OK(box, "limiter", "add", "plain", "--rate", "100 per minute");
	FAILS("different", box, "limiter", "add", "plain", "--rate", "50/minute");
	FAILS("different", box, "limiter", "add", "plain", "--rate", "100/minute", "--keyed");
	ck_assert_str_eq(jstr(limiter_json(box, "plain"), "rule"), "100/minute");
	OK(box, "limiter", "show", "fancy");
	ck_assert_msg(strncmp(R.out, "limiter fancy\n", 14) == 0, "[%s]", R.out);
}
END_TEST

START_TEST(limiter_take_json)
{
	char *box = ctl_box();
	OK(box, "limiter", "add", "g", "--rate", "3/minute", "--algo", "gcra", "--burst", "3");
	for (unsigned i = 0; i < 3; i++) {
		OK(box, "limiter", "take", "g", "--json");
		struct jv *t = json_must(R.out);
		ck_assert(jbool(t, "allowed"));
		ck_assert_uint_eq(juint(t, "limit"), 3);
		ck_assert_uint_eq(juint(t, "remaining"), 2 - i);
		ck_assert_uint_gt(juint(t, "reset_ms"), 0);
		ck_assert_uint_eq(juint(t, "retry_after_ms"), 0);
	}
	EXPECT(1, box, "limiter", "take", "g", "--json");
	ck_assert_str_eq(R.err, "");
	struct jv *t = json_must(R.out);
	ck_assert(!jbool(t, "allowed"));
	ck_assert_uint_eq(juint(t, "limit"), 3);
	ck_assert_uint_eq(juint(t, "remaining"), 0);
	juint(t, "reset_ms");
	ck_assert_uint_gt(juint(t, "retry_after_ms"), 0);
	ck_assert_uint_le(juint(t, "retry_after_ms"), 60000 + 100); /* one interval (+ a tick) */
	/* the text form */
	EXPECT(1, box, "limiter", "take", "g");
	ck_assert_msg(strncmp(R.out, "denied", 6) == 0 && strstr(R.out, "retry_after=") &&
			      strstr(R.out, "remaining=0") && count_char(R.out, '\n') == 1,
		      "[%s]", R.out);
	struct jv *l = limiter_json(box, "g");
	ck_assert_uint_eq(juint(l, "allowed"), 3);
	ck_assert_uint_eq(juint(l, "denied"), 2);
	/* and an allowed take in text */
	OK(box, "limiter", "add", "w", "--rate", "5/hour");
	OK(box, "limiter", "take", "w");
	ck_assert_msg(strncmp(R.out, "allowed limit=5 remaining=4 ", 28) == 0, "[%s]", R.out);
}
END_TEST

START_TEST(limiter_take_key_and_cost)
{
	char *box = ctl_box();
	OK(box, "limiter", "add", "k", "--rate", "2/hour", "--keyed");
	OK(box, "limiter", "take", "k", "--key", "alice");
	EXPECT(1, box, "limiter", "take", "k", "--key", "alice", "--cost", "2");
	OK(box, "limiter", "take", "k", "--key", "alice");
	EXPECT(1, box, "limiter", "take", "k", "--key", "alice");
	OK(box, "limiter", "take", "k", "--key", "bob", "--cost", "2", "--json");
	ck_assert_uint_eq(juint(json_must(R.out), "remaining"), 0);
	FAILS("--key", box, "limiter", "take", "k");
	struct jv *l = limiter_json(box, "k");
	ck_assert_uint_eq(juint(l, "keys"), 2);
	ck_assert_uint_eq(juint(l, "allowed"), 3); /* decisions, not cost */
	ck_assert_uint_eq(juint(l, "denied"), 2);
	ck_assert_uint_eq(juint(l, "evictions"), 0);
	/* a cost no window could ever admit: an error, and nothing taken or kept */
	FAILS("k", box, "limiter", "take", "k", "--key", "carol", "--cost", "3");
	l = limiter_json(box, "k");
	ck_assert_uint_eq(juint(l, "allowed") + juint(l, "denied"), 5);
	ck_assert_msg(juint(l, "keys") == 2,
		      "a take refused with 'out of range' (cost 3 > limit 2) left its key in the "
		      "shared table: keys = %llu", juint(l, "keys"));
}
END_TEST

START_TEST(limiter_set_changes_rule_live)
{
	char *box = ctl_box();
	OK(box, "limiter", "add", "s", "--rate", "1/hour");
	OK(box, "limiter", "take", "s");
	EXPECT(1, box, "limiter", "take", "s");
	OK(box, "limiter", "set", "s", "--rate", "3 per hour");
	ck_assert_str_eq(R.err, "");
	ck_assert_str_eq(jstr(limiter_json(box, "s"), "rule"), "3/hour");
	OK(box, "limiter", "take", "s", "--json");
	ck_assert_uint_eq(juint(json_must(R.out), "limit"), 3);
	OK(box, "limiter", "take", "s");
	EXPECT(1, box, "limiter", "take", "s");
	const struct jv *ev = events_json(box);
	const struct jv *last = &ev->v[ev->n - 1];
	ck_assert_str_eq(jstr(last, "kind"), "config");
	ck_assert_str_eq(jstr(last, "cause"), "rule");
	ck_assert_str_eq(jstr(last, "name"), "s");
	/* a rule the library refuses leaves the old one */
	FAILS("abc", box, "limiter", "set", "s", "--rate", "abc");
	ck_assert_str_eq(jstr(limiter_json(box, "s"), "rule"), "3/hour");
}
END_TEST

START_TEST(limiter_dry_run)
{
	char *box = ctl_box();
	OK(box, "limiter", "add", "d", "--rate", "1/hour");
	OK(box, "limiter", "take", "d");
	OK(box, "limiter", "dry-run", "d", "on");
	ck_assert(jbool(limiter_json(box, "d"), "dry_run"));
	/* would be denied: exit 0, and says so */
	OK(box, "limiter", "take", "d", "--json");
	struct jv *t = json_must(R.out);
	ck_assert(jbool(t, "allowed"));
	ck_assert(jbool(t, "dry_run_denied"));
	OK(box, "limiter", "take", "d");
	ck_assert_msg(strstr(R.out, "dry-run") != NULL, "[%s]", R.out);
	struct jv *l = limiter_json(box, "d");
	ck_assert_uint_eq(juint(l, "denied"), 0);
	ck_assert_uint_eq(juint(l, "dry_run_denied"), 2);
	OK(box, "limiter", "dry-run", "d", "off");
	EXPECT(1, box, "limiter", "take", "d");
	l = limiter_json(box, "d");
	ck_assert(!jbool(l, "dry_run"));
	ck_assert_uint_eq(juint(l, "denied"), 1);
	const struct jv *ev = events_json(box);
	ck_assert_str_eq(jstr(&ev->v[ev->n - 1], "cause"), "dry_run_off");
	ck_assert_str_eq(jstr(&ev->v[ev->n - 2], "cause"), "dry_run_on");
}
END_TEST

/* An empty key for a keyed limiter: the message must not say it is not keyed. */
START_TEST(limiter_take_empty_key)
{
	char *box = lib_box();
	FAILS("key", box, "limiter", "take", "lk", "--key", "");
	ck_assert_msg(strstr(R.err, "not keyed") == NULL, "lk is keyed, but: %s", R.err);
	FAILS("not keyed", box, "limiter", "take", "l1", "--key", "k");
}
END_TEST

/* The contract: limiter show NAME [--json] [--top N] (top keys by denials). */
START_TEST(limiter_show_top)
{
	char *box = lib_box();
	OK(box, "limiter", "take", "lk", "--key", "somebody");
	OK(box, "limiter", "show", "lk", "--top", "3");
	ck_assert_msg(strstr(R.out, "none denied") != NULL, "[%s]", R.out);
	/* tk admits 2 a minute per key: the third take and on are denied */
	OK(box, "limiter", "add", "tk", "--rate", "2/minute", "--keyed");
	for (int i = 0; i < 6; i++)
		EXPECT(i < 2 ? 0 : 1, box, "limiter", "take", "tk", "--key", "greedy");
	for (int i = 0; i < 3; i++)
		EXPECT(i < 2 ? 0 : 1, box, "limiter", "take", "tk", "--key", "modest");
	OK(box, "limiter", "show", "tk", "--top", "3");
	ck_assert_msg(strstr(R.out, "greedy") != NULL && strstr(R.out, "modest") != NULL,
		      "[%s]", R.out);
	ck_assert_msg(strstr(R.out, "greedy") < strstr(R.out, "modest"), "order: [%s]", R.out);
	OK(box, "limiter", "show", "tk", "--json", "--top", "1");
	const struct jv *l = json_must(R.out);
	check_limiter_schema(l);
	const struct jv *top = jget(l, "top");
	ck_assert_ptr_nonnull(top);
	ck_assert_uint_eq(top->n, 1);
	ck_assert_str_eq(jstr(&top->v[0], "key"), "greedy");
	ck_assert_uint_eq(juint(&top->v[0], "denials"), 4);
	FAILS("--top", box, "limiter", "show", "lk", "--top", "0");
	FAILS("--top", box, "limiter", "show", "lk", "--top", "9");
}
END_TEST

/* ======================================================================
 * status, show, metrics, events
 * ==================================================================== */

/* A box in a known state: see the comments for the counts. */
static char *known_box(void)
{
	char *box = ctl_box();
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

START_TEST(status_json_fields)
{
	char *box = known_box();
	struct jv *s = status_json(box);
	ck_assert_uint_eq(juint(s, "events_dropped"), 0);
	const struct jv *bs = jreq(s, "breakers", J_ARR), *ls = jreq(s, "limiters", J_ARR);
	ck_assert_uint_eq(bs->n, 4);
	ck_assert_uint_eq(ls->n, 2);

	const struct jv *web = jfind_named(bs, "web");
	ck_assert_str_eq(jstr(web, "state"), "open");
	ck_assert_uint_eq(juint(web, "successes"), 2);
	ck_assert_uint_eq(juint(web, "failures"), 2);
	ck_assert_uint_eq(juint(web, "ignored"), 1);
	ck_assert_uint_eq(juint(web, "slow"), 1);
	ck_assert_uint_eq(juint(web, "rejected"), 1);
	ck_assert_uint_eq(juint(web, "trips"), 1);
	ck_assert_uint_gt(juint(web, "open_remaining_ms"), 0);
	ck_assert_uint_le(juint(web, "open_remaining_ms"), 3600000);
	ck_assert_uint_eq(juint(web, "half_open_in_flight"), 0);
	ck_assert(jget(web, "failure_rate")->t == J_NULL); /* no rate policy: below min calls */
	ck_assert_uint_eq(juint(jreq(web, "config", J_OBJ), "fail_max"), 2);
	ck_assert_uint_eq(juint(jreq(web, "config", J_OBJ), "slow_call_ms"), 1000);

	const struct jv *rate = jfind_named(bs, "rate");
	ck_assert_str_eq(jstr(rate, "state"), "closed");
	ck_assert_uint_eq(juint(rate, "consecutive_failures"), 0);
	ck_assert(jget(rate, "failure_rate")->t == J_NULL); /* 3 calls < min_calls 4 */
	OK(box, "breaker", "record", "rate", "failure");
	rate = jfind_named(jreq(status_json(box), "breakers", J_ARR), "rate");
	const struct jv *fr = jget(rate, "failure_rate");
	ck_assert_msg(fr->t == J_NUM && fr->num == 0.5, "failure_rate should be 0.5");
	ck_assert_uint_eq(juint(rate, "consecutive_failures"), 1);

	ck_assert_str_eq(jstr(jfind_named(bs, "q\"u\\o{t}e=,x"), "state"), "forced_open");
	ck_assert_str_eq(jstr(jfind_named(bs, "held"), "state"), "forced_closed");

	const struct jv *api = jfind_named(ls, "api");
	ck_assert_str_eq(jstr(api, "rule"), "2/hour");
	ck_assert_str_eq(jstr(api, "algorithm"), "window");
	ck_assert(jbool(api, "keyed"));
	ck_assert(!jbool(api, "dry_run"));
	ck_assert_uint_eq(juint(api, "allowed"), 3);
	ck_assert_uint_eq(juint(api, "denied"), 1);
	ck_assert_uint_eq(juint(api, "keys"), 2);
	ck_assert_uint_eq(juint(api, "evictions"), 0);
	const struct jv *shadow = jfind_named(ls, "shadow");
	ck_assert_str_eq(jstr(shadow, "algorithm"), "gcra");
	ck_assert(jbool(shadow, "dry_run"));
	ck_assert(!jbool(shadow, "keyed"));
	ck_assert_uint_eq(juint(shadow, "denied"), 0);
	ck_assert_msg(strstr(R.out, "SeCrEt") == NULL, "a limiter key in status --json");

	/* show --json gives the same objects */
	struct jv *one = breaker_json(box, "web");
	static const char *const f[] = {"state", "successes", "failures", "ignored", "slow",
					"rejected", "trips"};
	for (size_t i = 0; i < ARRAY_LEN(f); i++) {
		const struct jv *a = jget(one, f[i]), *b = jget(web, f[i]);
		ck_assert(a->t == b->t && (a->t == J_STR ? strcmp(a->s, b->s) == 0 : a->u == b->u));
	}
	struct jv *lone = limiter_json(box, "api");
	ck_assert_uint_eq(juint(lone, "allowed"), 3);
	ck_assert_uint_eq(juint(lone, "keys"), 2);

	/* the text forms */
	OK(box, "status");
	ck_assert_msg(strstr(R.out, "web") && strstr(R.out, "open") && strstr(R.out, "api") &&
			      strstr(R.out, "2/hour"),
		      "[%s]", R.out);
	ck_assert_msg(strstr(R.out, "SeCrEt") == NULL, "a limiter key in status");
}
END_TEST

/* "--json is one versioned object" for status and both show commands. */
START_TEST(show_json_is_versioned)
{
	char *box = lib_box();
	ck_assert_uint_eq(juint(status_json(box), "version"), 1);
	struct jv *b = breaker_json(box, "b1");
	ck_assert_msg(jget(b, "version") != NULL, "breaker show --json has no version: %s", R.out);
	ck_assert_uint_eq(juint(b, "version"), 1);
	struct jv *l = limiter_json(box, "l1");
	ck_assert_msg(jget(l, "version") != NULL, "limiter show --json has no version: %s", R.out);
	ck_assert_uint_eq(juint(l, "version"), 1);
}
END_TEST

/* A failed write of the output is an error, not a silent success. */
START_TEST(output_write_error)
{
	char *box = lib_box();
	struct opts full = {.stdout_path = "/dev/full"};
	static const char *const cmds[][6] = {
		{"status"}, {"status", "--json"}, {"breaker", "show", "b1", "--json"},
		{"limiter", "show", "l1"}, {"events", "--json"}, {"metrics"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cmds); i++) {
		int rc = run_args(&full, box, cmds[i]);
		ck_assert_msg(rc == 2, "%s > /dev/full: exit %d", R.cmd, rc);
		one_error_line("writ");
	}
}
END_TEST

START_TEST(metrics_format_and_values)
{
	char *box = known_box();
	OK(box, "metrics");
	ck_assert_str_eq(R.err, "");
	struct expo *e = prom_must(R.out);
	static const struct {
		const char *name, *type;
	} fams[] = {
		{"fusebox_breaker_state", "gauge"},
		{"fusebox_breaker_calls_total", "counter"},
		{"fusebox_breaker_not_permitted_calls_total", "counter"},
		{"fusebox_limiter_decisions_total", "counter"},
		{"fusebox_limiter_keys", "gauge"},
		{"fusebox_limiter_evictions_total", "counter"},
	};
	for (size_t i = 0; i < ARRAY_LEN(fams); i++) {
		const struct pfam *f = pfam_of(e, fams[i].name);
		ck_assert_msg(f != NULL && f->typed && f->help, "family %s missing", fams[i].name);
		ck_assert_str_eq(f->type, fams[i].type);
		ck_assert_msg(f->samples > 0, "family %s has no samples", fams[i].name);
	}
	/* every sample is labelled with the box */
	for (size_t i = 0; i < e->n; i++)
		ck_assert_msg(plabel(&e->s[i], "box") && strcmp(plabel(&e->s[i], "box"), box) == 0,
			      "%s without box=\"%s\"", e->s[i].name, box);
	/* state: one series per state, 1 for the current one */
	static const struct {
		const char *name, *state;
	} st[] = {{"web", "open"}, {"rate", "closed"}, {"q\"u\\o{t}e=,x", "forced_open"},
		  {"held", "forced_closed"}};
	for (size_t i = 0; i < ARRAY_LEN(st); i++) {
		size_t series = 0;
		for (size_t j = 0; j < e->n; j++)
			series += strcmp(e->s[j].name, "fusebox_breaker_state") == 0 &&
				  strcmp(plabel(&e->s[j], "name"), st[i].name) == 0;
		ck_assert_uint_eq(series, ARRAY_LEN(breaker_states));
		for (size_t k = 0; k < ARRAY_LEN(breaker_states); k++) {
			double v = pval(e, "fusebox_breaker_state", "name", st[i].name, "state",
					breaker_states[k], NULL);
			ck_assert_msg(v == (strcmp(breaker_states[k], st[i].state) == 0),
				      "%s state %s = %g", st[i].name, breaker_states[k], v);
		}
	}
	static const struct {
		const char *kind;
		double v;
	} calls[] = {{"successful", 2}, {"failed", 2}, {"ignored", 1}, {"slow", 1}};
	for (size_t i = 0; i < ARRAY_LEN(calls); i++)
		ck_assert(pval(e, "fusebox_breaker_calls_total", "name", "web", "kind", calls[i].kind,
			       NULL) == calls[i].v);
	ck_assert(pval(e, "fusebox_breaker_not_permitted_calls_total", "name", "web", NULL) == 1);
	ck_assert(pval(e, "fusebox_breaker_not_permitted_calls_total", "name", "rate", NULL) == 0);
	ck_assert(pval(e, "fusebox_limiter_decisions_total", "name", "api", "result", "allowed",
		       NULL) == 3);
	ck_assert(pval(e, "fusebox_limiter_decisions_total", "name", "api", "result", "denied",
		       NULL) == 1);
	ck_assert(pval(e, "fusebox_limiter_decisions_total", "name", "api", "result",
		       "dry_run_denied", NULL) == 0);
	ck_assert(pval(e, "fusebox_limiter_decisions_total", "name", "shadow", "result", "denied",
		       NULL) == 0);
	ck_assert(pval(e, "fusebox_limiter_decisions_total", "name", "shadow", "result",
		       "dry_run_denied", NULL) == 1);
	ck_assert(pval(e, "fusebox_limiter_keys", "name", "api", NULL) == 2);
	ck_assert(pval(e, "fusebox_limiter_evictions_total", "name", "api", NULL) == 0);
	/* never a limiter key, however it is spelt */
	ck_assert_msg(strstr(R.out, "SeCrEt") == NULL && strstr(R.out, "7f3a9") == NULL &&
			      strstr(R.out, "fusebox_injected") == NULL && strstr(R.out, "evil") == NULL,
		      "a limiter key in the metrics");
	for (size_t i = 0; i < e->n; i++)
		for (int j = 0; j < e->s[i].nl; j++)
			ck_assert_msg(strcmp(e->s[i].ln[j], "key") != 0, "a 'key' label");
}
END_TEST

START_TEST(metrics_out_file)
{
	char *box = known_box();
	char dir[128];
	snprintf(dir, sizeof(dir), "%s", tpath(".d"));
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	char file[192];
	snprintf(file, sizeof(file), "%s/fusebox.prom", dir);
	for (int round = 0; round < 2; round++) {
		OK(box, "metrics", "--out", file);
		ck_assert_str_eq(R.out, "");
		ck_assert_str_eq(R.err, "");
		FILE *f = fopen(file, "r");
		ck_assert_ptr_nonnull(f);
		static char text[1 << 16];
		size_t n = fread(text, 1, sizeof(text) - 1, f);
		text[n] = '\0';
		fclose(f);
		struct expo *e = prom_must(text);
		ck_assert(pval(e, "fusebox_breaker_calls_total", "name", "web", "kind", "successful",
			       NULL) == 2 + round);
		/* nothing but the file in the directory: no temp file left */
		DIR *d = opendir(dir);
		ck_assert_ptr_nonnull(d);
		int entries = 0;
		for (struct dirent *de; (de = readdir(d)) != NULL;)
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
				entries++;
				ck_assert_str_eq(de->d_name, "fusebox.prom");
			}
		closedir(d);
		ck_assert_int_eq(entries, 1);
		OK(box, "breaker", "hold", "web");
		OK(box, "breaker", "record", "web", "success");
	}
	char bad[256];
	snprintf(bad, sizeof(bad), "%s/no/such/dir/m.prom", dir);
	FAILS("m.prom", box, "metrics", "--out", bad);
	remove_tree(dir);
}
END_TEST

START_TEST(events_oldest_first)
{
	char *box = ctl_box();
	OK(box, "breaker", "add", "e1");
	OK(box, "limiter", "add", "e2", "--rate", "5/minute");
	OK(box, "breaker", "trip", "e1", "--reason", "first");
	OK(box, "limiter", "set", "e2", "--rate", "6/minute");
	OK(box, "breaker", "release", "e1", "--reason", "second");
	const struct jv *ev = events_json(box);
	static const struct {
		const char *kind, *cause, *record, *name;
	} want[] = {
		{"register", "created", "breaker", "e1"}, {"register", "created", "limiter", "e2"},
		{"manual", "trip", "breaker", "e1"},      {"config", "rule", "limiter", "e2"},
		{"manual", "release", "breaker", "e1"},
	};
	ck_assert_uint_eq(ev->n, ARRAY_LEN(want));
	for (size_t i = 0; i < ev->n; i++) {
		ck_assert_uint_eq(juint(&ev->v[i], "seq"), i);
		ck_assert_str_eq(jstr(&ev->v[i], "kind"), want[i].kind);
		ck_assert_str_eq(jstr(&ev->v[i], "cause"), want[i].cause);
		ck_assert_str_eq(jstr(&ev->v[i], "record"), want[i].record);
		ck_assert_str_eq(jstr(&ev->v[i], "name"), want[i].name);
	}
	ck_assert_str_eq(jstr(&ev->v[2], "reason"), "first");
	ck_assert_str_eq(jstr(&ev->v[2], "to"), "forced_open");
	/* the text form: one line per event, oldest first */
	OK(box, "events");
	ck_assert_uint_eq(count_char(R.out, '\n'), ARRAY_LEN(want));
	const char *p = R.out;
	for (size_t i = 0; i < ARRAY_LEN(want); i++) {
		char seq[16];
		snprintf(seq, sizeof(seq), "#%zu ", i);
		ck_assert_msg(strncmp(p, seq, strlen(seq)) == 0, "line %zu: [%s]", i, p);
		p = strchr(p, '\n') + 1;
	}
	/* an empty ring is an empty list */
	char *empty = ctl_box();
	ck_assert_uint_eq(events_json(empty)->n, 0);
}
END_TEST

START_TEST(events_ring_dropped)
{
	char *box = new_box();
	char cfg[2048] = "[box]\nevents = 16\nkeys = 256\n";
	for (int i = 0; i < 20; i++)
		snprintf(cfg + strlen(cfg), sizeof(cfg) - strlen(cfg), "[breaker r%02d]\n", i);
	const char *path = tfile(cfg);
	OK(box, "create", "--config", path);
	const struct jv *ev = events_json(box);
	ck_assert_uint_eq(ev->n, 16);
	ck_assert_uint_eq(juint(&ev->v[0], "seq"), 4);
	ck_assert_str_eq(jstr(&ev->v[0], "name"), "r04");
	ck_assert_uint_eq(juint(&ev->v[15], "seq"), 19);
	ck_assert_uint_eq(juint(status_json(box), "events_dropped"), 4);
	OK(box, "metrics");
	ck_assert(pval(prom_must(R.out), "fusebox_events_dropped_total", "box", box, NULL) == 4);
	unlink(path);
}
END_TEST

START_TEST(events_follow)
{
	char *box = ctl_box();
	OK(box, "breaker", "add", "f");
	struct proc p;
	proc_start(&p, box, "events", "--follow", "--json", NULL);
	ck_assert_msg(proc_wait_for(&p, "\"register\"", 10000), "no first event: [%s]", p.obuf.p);
	ck_assert_msg(strstr(p.obuf.p, "follow-me") == NULL, "not yet");
	OK(box, "breaker", "trip", "f", "--reason", "follow-me");
	ck_assert_msg(proc_wait_for(&p, "follow-me", 10000), "the new event never came: [%s]",
		      p.obuf.p);
	OK(box, "limiter", "add", "late", "--rate", "1/second");
	ck_assert_msg(proc_wait_for(&p, "\"late\"", 10000), "[%s]", p.obuf.p);
	ck_assert_int_eq(kill(p.pid, SIGTERM), 0);
	bool sig;
	char *err;
	int code = proc_finish(&p, &sig, &err);
	ck_assert_msg(!sig && code == 0, "events --follow ended with %d (signal: %d)", code, sig);
	ck_assert_str_eq(err, "");
	/* one JSON object per line, oldest first */
	char *save = NULL;
	unsigned long long prev = 0;
	int lines = 0;
	const char *last_kind = NULL;
	for (char *l = strtok_r(p.obuf.p, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		struct jv *o = json_must(l);
		unsigned long long seq = juint(o, "seq");
		ck_assert(lines == 0 || seq > prev);
		prev = seq;
		last_kind = jstr(o, "kind");
		if (lines == 1) {
			ck_assert_str_eq(jstr(o, "reason"), "follow-me");
			ck_assert_str_eq(jstr(o, "cause"), "trip");
		}
		lines++;
	}
	ck_assert_int_eq(lines, 3);
	ck_assert_str_eq(last_kind, "register");
}
END_TEST

/* ======================================================================
 * Parallel processes: exact totals
 * ==================================================================== */

#define WORKERS 8

/* Forks WORKERS processes, each running argv rounds times; counts[w][c]
 * is how often worker w saw exit status c (0, 1 or other = 2). */
static void parallel(const char *const *args, int rounds, int counts[WORKERS][3])
{
	ctl_path(); /* resolved before forking */
	int(*shared)[3] = mmap(NULL, sizeof(int[WORKERS][3]), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert(shared != MAP_FAILED);
	memset(shared, 0, sizeof(int[WORKERS][3]));
	pid_t pids[WORKERS];
	for (int w = 0; w < WORKERS; w++) {
		fflush(NULL);
		pids[w] = fork();
		ck_assert_int_ge(pids[w], 0);
		if (pids[w] == 0) {
			for (int i = 0; i < rounds; i++) {
				struct result r = {0};
				int rc = run_raw(NULL, args, &r);
				shared[w][rc != 0 ? 2 : r.code == 0 ? 0 : r.code == 1 ? 1 : 2]++;
				free(r.out);
				free(r.err);
			}
			_exit(0);
		}
	}
	for (int w = 0; w < WORKERS; w++)
		ck_assert_int_eq(twait(pids[w]), 0);
	memcpy(counts, shared, sizeof(int[WORKERS][3]));
	munmap(shared, sizeof(int[WORKERS][3]));
}

START_TEST(parallel_breaker_records)
{
	char *box = ctl_box();
	OK(box, "breaker", "add", "par");
	const char *args[] = {"-b", box, "breaker", "record", "par", "success", NULL};
	int counts[WORKERS][3];
	parallel(args, 25, counts);
	for (int w = 0; w < WORKERS; w++)
		ck_assert_msg(counts[w][0] == 25, "worker %d: %d ok, %d other", w, counts[w][0],
			      counts[w][1] + counts[w][2]);
	struct jv *b = breaker_json(box, "par");
	ck_assert_uint_eq(juint(b, "successes"), WORKERS * 25);
	ck_assert_uint_eq(juint(b, "failures"), 0);
	ck_assert_str_eq(jstr(b, "state"), "closed");
}
END_TEST

START_TEST(parallel_limiter_takes)
{
	char *box = ctl_box();
	OK(box, "limiter", "add", "fifty", "--rate", "50/minute");
	const char *args[] = {"-b", box, "limiter", "take", "fifty", NULL};
	int counts[WORKERS][3];
	parallel(args, 10, counts);
	int yes = 0, no = 0, other = 0;
	for (int w = 0; w < WORKERS; w++) {
		yes += counts[w][0];
		no += counts[w][1];
		other += counts[w][2];
	}
	ck_assert_int_eq(other, 0);
	ck_assert_int_eq(yes, 50);
	ck_assert_int_eq(no, 30);
	struct jv *l = limiter_json(box, "fifty");
	ck_assert_uint_eq(juint(l, "allowed"), 50);
	ck_assert_uint_eq(juint(l, "denied"), 30);
}
END_TEST

/* ======================================================================
 * Bad input: exit 2, one line naming the problem, nothing changed
 * ==================================================================== */

enum { ON_BOX, ON_MISSING, RAW };

#define LONG_REASON "0123456789012345678901234567890123456789012345678901234567890123456789"

static const struct bad_input {
	int on;
	const char *args[12];
	const char *what;
} bad_inputs[] = {
	{ON_BOX, {"frobnicate"}, "unknown command 'frobnicate'"},
	{RAW, {"--frob", "status"}, "unknown option '--frob'"},
	{RAW, {"-b"}, "box name"},
	{ON_BOX, {"status", "--frob"}, "--frob"},
	{ON_BOX, {"status", "extra"}, "extra"},
	{ON_BOX, {"events", "--frob"}, "--frob"},
	{ON_BOX, {"metrics", "--frob"}, "--frob"},
	{ON_BOX, {"metrics", "--out"}, "--out"},
	{ON_BOX, {"ls", "extra"}, "ls"},
	{ON_BOX, {"destroy", "extra"}, "destroy"},
	{ON_BOX, {"create"}, "exists"},
	{ON_BOX, {"breaker"}, "action"},
	{ON_BOX, {"breaker", "frob"}, "unknown action 'frob'"},
	{ON_BOX, {"breaker", "add"}, "which breaker"},
	{ON_BOX, {"breaker", "add", "x", "--frob", "1"}, "unknown option '--frob'"},
	{ON_BOX, {"breaker", "add", "x", "--fail-max"}, "needs a value"},
	{ON_BOX, {"breaker", "add", "x", "--fail-max", "-1"}, "'-1'"},
	{ON_BOX, {"breaker", "add", "x", "--fail-max", "abc"}, "'abc'"},
	{ON_BOX, {"breaker", "add", "x", "--fail-max", "5x"}, "'5x'"},
	{ON_BOX, {"breaker", "add", "x", "--fail-max", ""}, "--fail-max"},
	{ON_BOX, {"breaker", "add", "x", "--fail-max", "99999999999"}, "99999999999"},
	{ON_BOX, {"breaker", "add", "x", "--fail-max", "5", "--fail-max", "6"}, "twice"},
	{ON_BOX, {"breaker", "add", "x", "--reset", "5x"}, "'5x'"},
	{ON_BOX, {"breaker", "add", "x", "--reset", "-1s"}, "'-1s'"},
	{ON_BOX, {"breaker", "add", "x", "--reset", "1.5s"}, "'1.5s'"},
	{ON_BOX, {"breaker", "add", "x", "--reset", "10"}, "'10'"},
	{ON_BOX, {"breaker", "add", "x", "--reset", "0s"}, "reset_timeout"},
	{ON_BOX, {"breaker", "add", "x", "--slow-call", "-5ms", "--slow-rate", "50"}, "'-5ms'"},
	{ON_BOX, {"breaker", "add", "x", "--failure-rate", "101"}, "'101'"},
	{ON_BOX, {"breaker", "add", "x", "--failure-rate", "-5"}, "'-5'"},
	{ON_BOX, {"breaker", "add", "x", "--half-open", "17"}, "'17'"},
	{ON_BOX, {"breaker", "add", "x", "--window", "600", "--failure-rate", "50"}, "'600'"},
	{ON_BOX, {"breaker", "add", "x", "--window", "10ms", "--failure-rate", "50"}, "window"},
	{ON_BOX, {"breaker", "add", "x", "--slow-rate", "50"}, "slow_call"},
	{ON_BOX, {"breaker", "add", "x", "--fail-max", "0"}, "fail_max"},
	{ON_BOX, {"breaker", "add", "x", "--reset-max", "10s"}, "reset_timeout_max"},
	{ON_BOX, {"breaker", "add", "x", "--trial-lease", "0ms"}, "trial_lease"},
	{ON_BOX, {"breaker", "add", "x", "--success-threshold", "0"}, "'0'"},
	{ON_BOX, {"breaker", "add", "x", "--failure-rate", "50", "--min-calls", "0"}, "'0'"},
	{ON_BOX, {"breaker", "add", "x", "--half-open", "two"}, "'two'"},
	{ON_BOX, {"breaker", "add", "a b"}, "bad breaker name"},
	{ON_BOX, {"breaker", "add", "x", "y"}, "'y'"},
	{ON_BOX, {"breaker", "add", "b1", "--fail-max", "9"}, "fail_max"},
	{ON_BOX, {"breaker", "record", "b1"}, "usage"},
	{ON_BOX, {"breaker", "record", "b1", "maybe"}, "'maybe'"},
	{ON_BOX, {"breaker", "record", "b1", "success", "--duration", "5x"}, "'5x'"},
	{ON_BOX, {"breaker", "record", "b1", "success", "--duration", "-1s"}, "'-1s'"},
	{ON_BOX, {"breaker", "record", "nosuch", "success"}, "no breaker 'nosuch'"},
	{ON_BOX, {"breaker", "call", "b1", "/bin/true"}, "/bin/true"},
	{ON_BOX, {"breaker", "call", "b1", "--"}, "usage"},
	{ON_BOX, {"breaker", "call", "--", "/bin/true"}, "usage"},
	{ON_BOX, {"breaker", "call", "b1", "--ignore-exit", "abc", "--", "/bin/true"}, "'abc'"},
	{ON_BOX, {"breaker", "call", "b1", "--ignore-exit", "256", "--", "/bin/true"}, "'256'"},
	{ON_BOX, {"breaker", "call", "b1", "--ignore-exit", "-3", "--", "/bin/true"}, "'-3'"},
	{ON_BOX, {"breaker", "call", "b1", "--ignore-exit", ",", "--", "/bin/true"}, "--ignore-exit"},
	{ON_BOX, {"breaker", "call", "nosuch", "--", "/bin/true"}, "no breaker 'nosuch'"},
	{ON_BOX, {"breaker", "trip"}, "usage"},
	{ON_BOX, {"breaker", "trip", "nosuch"}, "no breaker 'nosuch'"},
	{ON_BOX, {"breaker", "hold", "b1", "--reason"}, "needs a value"},
	{ON_BOX, {"breaker", "release", "b1", "--frob"}, "--frob"},
	{ON_BOX, {"breaker", "reset", "b1", "--reason", LONG_REASON}, "--reason"},
	{ON_BOX, {"breaker", "show"}, "usage"},
	{ON_BOX, {"breaker", "show", "nosuch"}, "no breaker 'nosuch'"},
	{ON_BOX, {"limiter"}, "action"},
	{ON_BOX, {"limiter", "frob"}, "unknown action 'frob'"},
	{ON_BOX, {"limiter", "add"}, "usage"},
	{ON_BOX, {"limiter", "add", "x"}, "--rate"},
	{ON_BOX, {"limiter", "add", "x", "--rate", "100/fortnight"}, "100/fortnight"},
	{ON_BOX, {"limiter", "add", "x", "--rate", "0/minute"}, "0/minute"},
	{ON_BOX, {"limiter", "add", "x", "--rate", "abc"}, "'abc'"},
	{ON_BOX, {"limiter", "add", "x", "--rate", "10/"}, "'10/'"},
	{ON_BOX, {"limiter", "add", "x", "--rate", "-10/minute"}, "-10/minute"},
	{ON_BOX, {"limiter", "add", "x", "--rate", "10/minute", "--algo", "leaky"}, "'leaky'"},
	{ON_BOX, {"limiter", "add", "x", "--rate", "10/minute", "--algo", "gcra", "--burst", "11"},
	 "burst"},
	{ON_BOX, {"limiter", "add", "x", "--rate", "10/minute", "--burst", "-3"}, "'-3'"},
	{ON_BOX, {"limiter", "add", "x y", "--rate", "10/minute"}, "bad limiter name"},
	{ON_BOX, {"limiter", "add", "l1", "--rate", "7/minute"}, "different"},
	{ON_BOX, {"limiter", "set", "l1"}, "usage"},
	{ON_BOX, {"limiter", "set", "l1", "--rate", "abc"}, "'abc'"},
	{ON_BOX, {"limiter", "set", "l1", "--rate", "1/fortnight"}, "1/fortnight"},
	{ON_BOX, {"limiter", "set", "nosuch", "--rate", "5/minute"}, "no limiter 'nosuch'"},
	{ON_BOX, {"limiter", "dry-run", "l1"}, "on|off"},
	{ON_BOX, {"limiter", "dry-run", "l1", "maybe"}, "on|off"},
	{ON_BOX, {"limiter", "dry-run", "nosuch", "on"}, "no limiter 'nosuch'"},
	{ON_BOX, {"limiter", "take"}, "usage"},
	{ON_BOX, {"limiter", "take", "l1", "--cost", "0"}, "--cost"},
	{ON_BOX, {"limiter", "take", "l1", "--cost", "-1"}, "'-1'"},
	{ON_BOX, {"limiter", "take", "l1", "--cost", "x"}, "'x'"},
	{ON_BOX, {"limiter", "take", "l1", "--cost", "101"}, "l1"},
	{ON_BOX, {"limiter", "take", "l1", "--key", "k"}, "not keyed"},
	{ON_BOX, {"limiter", "take", "lk"}, "--key"},
	{ON_BOX, {"limiter", "take", "nosuch"}, "no limiter 'nosuch'"},
	{ON_BOX, {"limiter", "show", "nosuch"}, "no limiter 'nosuch'"},
	{ON_BOX, {"limiter", "show", "l1", "--frob"}, "--frob"},
	{ON_MISSING, {"status"}, "does not exist"},
	{ON_MISSING, {"status", "--json"}, "does not exist"},
	{ON_MISSING, {"events"}, "does not exist"},
	{ON_MISSING, {"metrics"}, "does not exist"},
	{ON_MISSING, {"destroy"}, "does not exist"},
	{ON_MISSING, {"breaker", "add", "x"}, "does not exist"},
	{ON_MISSING, {"breaker", "show", "b1"}, "does not exist"},
	{ON_MISSING, {"breaker", "trip", "b1"}, "does not exist"},
	{ON_MISSING, {"breaker", "record", "b1", "success"}, "does not exist"},
	{ON_MISSING, {"breaker", "call", "b1", "--", "/bin/true"}, "does not exist"},
	{ON_MISSING, {"limiter", "add", "x", "--rate", "1/second"}, "does not exist"},
	{ON_MISSING, {"limiter", "take", "l1"}, "does not exist"},
	{ON_MISSING, {"limiter", "show", "l1"}, "does not exist"},
	{ON_MISSING, {"create", "--breakers", "0"}, "breakers"},
	{ON_MISSING, {"create", "--breakers", "abc"}, "'abc'"},
	{ON_MISSING, {"create", "--breakers", "-1"}, "'-1'"},
	{ON_MISSING, {"create", "--keys", "1k"}, "'1k'"},
	{ON_MISSING, {"create", "--events", "8"}, "events"},
	{ON_MISSING, {"create", "--mode", "0999"}, "--mode"},
	{ON_MISSING, {"create", "--mode", "rw"}, "--mode"},
	{ON_MISSING, {"create", "--mode", "-0600"}, "--mode"},
	{ON_MISSING, {"create", "--group", "no_such_group_fbx"}, "no_such_group_fbx"},
	{ON_MISSING, {"create", "--config", "/nonexistent/fbx.ini"}, "/nonexistent/fbx.ini"},
	{ON_MISSING, {"create", "--config", "/"}, "'/'"},
	{ON_MISSING, {"create", "--config"}, "needs a value"},
	{ON_MISSING, {"create", "extra"}, "'extra'"},
	{ON_MISSING, {"create", "--frob"}, "--frob"},
};

/* What lib_box() made, untouched: b1 closed with no calls, l1 and lk with
 * no decisions, and nothing else. */
static void box_untouched(const char *box)
{
	fbx_box *b;
	ck_assert_int_eq(fbx_box_open(box, FBX_OPEN_RDONLY, NULL, &b), 0);
	fbx_snapshot *s;
	ck_assert_int_eq(fbx_snapshot_new(b, &s), 0);
	ck_assert_int_eq(fbx_snapshot_take(b, s), 0);
	size_t nb, nl, ne;
	uint64_t dropped;
	const fbx_breaker_info *bi = fbx_snapshot_breakers(s, &nb);
	const fbx_limiter_info *li = fbx_snapshot_limiters(s, &nl);
	fbx_snapshot_events(s, &ne, &dropped);
	ck_assert_msg(nb == 1 && nl == 2, "%s: %zu breakers, %zu limiters", R.cmd, nb, nl);
	ck_assert_msg(bi[0].state == FBX_CLOSED && bi[0].successes + bi[0].failures + bi[0].ignored +
							   bi[0].rejected == 0,
		      "%s changed breaker b1", R.cmd);
	for (size_t i = 0; i < nl; i++)
		ck_assert_msg(li[i].allowed + li[i].denied + li[i].dry_run_denied == 0 && !li[i].dry_run,
			      "%s changed limiter %s", R.cmd, li[i].name);
	ck_assert_str_eq(li[0].rule, "100/minute");
	ck_assert_msg(ne == 3, "%s: %zu events (expected the 3 registrations)", R.cmd, ne);
	fbx_snapshot_free(s);
	fbx_box_close(b);
}

START_TEST(bad_input)
{
	const struct bad_input *c = &bad_inputs[_i];
	char *box = c->on == ON_MISSING ? new_box() : lib_box();
	int rc = run_args(NULL, c->on == RAW ? NULL : box, c->args);
	ck_assert_msg(rc == 2, "%s: exit %d, expected 2 (stderr %s)", R.cmd, rc, R.err);
	one_error_line(c->what);
	ck_assert_msg(R.out[0] == '\0', "%s: stdout on error: [%s]", R.cmd, R.out);
	if (c->on == ON_MISSING)
		ck_assert_msg(!shm_exists(box), "%s created the box", R.cmd);
	else
		box_untouched(box);
}
END_TEST

static const char *const bad_box_names[] = {
	"a/b", "", ".hidden", "a b", "x\\y", "caf\xc3\xa9", "../../etc/passwd",
	"0123456789abcdef0123456789abcdefX", /* 33 characters */
};

START_TEST(bad_box_name)
{
	const char *name = bad_box_names[_i];
	FAILS("bad box name", name, "status");
	FAILS("bad box name", name, "create");
	FAILS("bad box name", name, "breaker", "trip", "b1");
	char path[128];
	snprintf(path, sizeof(path), "/dev/shm/fusebox.%s", name);
	ck_assert(name[0] == '\0' || !file_exists(path));
	/* through the environment too */
	char var[96];
	snprintf(var, sizeof(var), "FUSEBOX_BOX=%s", name);
	const char *env[] = {var, NULL};
	struct opts o = {.env = env};
	if (name[0] != '\0') {
		EXPECT_AS(&o, 2, NULL, "status");
		one_error_line("bad box name");
	}
}
END_TEST

/* ======================================================================
 * A read-only user (nobody), when the tests run as root
 * ==================================================================== */

static const char *const ro_reads[][8] = {
	{"status"},
	{"status", "--json"},
	{"breaker", "show", "ro"},
	{"breaker", "show", "ro", "--json"},
	{"limiter", "show", "rl"},
	{"limiter", "show", "rl", "--json"},
	{"events"},
	{"events", "--json"},
	{"metrics"},
};

static const char *const ro_writes[][8] = {
	{"breaker", "trip", "ro"},
	{"breaker", "hold", "ro", "--reason", "x"},
	{"breaker", "release", "ro"},
	{"breaker", "reset", "ro"},
	{"breaker", "record", "ro", "success"},
	{"breaker", "record", "ro", "failure"},
	{"breaker", "add", "new"},
	{"breaker", "add", "ro"},
	{"limiter", "take", "rl"},
	{"limiter", "add", "nl", "--rate", "1/minute"},
	{"limiter", "set", "rl", "--rate", "9/minute"},
	{"limiter", "dry-run", "rl", "on"},
	{"destroy"},
};

START_TEST(read_only_user)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_ctl: read_only_user needs root; skipped\n");
		return;
	}
	char *box = new_box();
	OK(box, "create", "--mode", "0644", "--keys", "256");
	OK(box, "breaker", "add", "ro");
	OK(box, "limiter", "add", "rl", "--rate", "5/minute");
	struct opts nob = {.nobody = true};
	for (size_t i = 0; i < ARRAY_LEN(ro_reads); i++) {
		int rc = run_args(&nob, box, ro_reads[i]);
		ck_assert_msg(rc == 0, "as nobody, %s: exit %d (%s)", R.cmd, rc, R.err);
		ck_assert_msg(R.out[0] != '\0', "as nobody, %s: no output", R.cmd);
		if (strcmp(ro_reads[i][0], "metrics") == 0)
			prom_must(R.out);
	}
	EXPECT_AS(&nob, 0, NULL, "ls");
	ck_assert_msg(strstr(R.out, box) != NULL, "ls as nobody: [%s]", R.out);
	EXPECT_AS(&nob, 0, box, "status", "--json");
	check_status_schema(json_must(R.out), box);
	for (size_t i = 0; i < ARRAY_LEN(ro_writes); i++) {
		int rc = run_args(&nob, box, ro_writes[i]);
		ck_assert_msg(rc == 2, "as nobody, %s: exit %d, expected 2", R.cmd, rc);
		one_error_line("permission");
	}
	const char *marker = tpath(".ran");
	EXPECT_AS(&nob, 2, box, "breaker", "call", "ro", "--", "/bin/sh", "-c", "touch \"$0\"", marker);
	one_error_line("permission");
	ck_assert(!file_exists(marker));
	/* nothing changed */
	ck_assert(shm_exists(box));
	struct jv *s = status_json(box);
	ck_assert_uint_eq(jreq(s, "breakers", J_ARR)->n, 1);
	ck_assert_uint_eq(jreq(s, "limiters", J_ARR)->n, 1);
	const struct jv *b = jfind_named(jreq(s, "breakers", J_ARR), "ro");
	ck_assert_str_eq(jstr(b, "state"), "closed");
	ck_assert_uint_eq(juint(b, "successes") + juint(b, "failures"), 0);
	const struct jv *l = jfind_named(jreq(s, "limiters", J_ARR), "rl");
	ck_assert_uint_eq(juint(l, "allowed"), 0);
	ck_assert_str_eq(jstr(l, "rule"), "5/minute");
	ck_assert(!jbool(l, "dry_run"));
}
END_TEST

START_TEST(unreadable_box)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_ctl: unreadable_box needs root; skipped\n");
		return;
	}
	char *box = new_box();
	OK(box, "create", "--mode", "0600", "--keys", "256");
	OK(box, "breaker", "add", "ro");
	OK(box, "limiter", "add", "rl", "--rate", "5/minute");
	struct opts nob = {.nobody = true};
	for (size_t i = 0; i < ARRAY_LEN(ro_reads); i++) {
		int rc = run_args(&nob, box, ro_reads[i]);
		ck_assert_msg(rc == 2, "as nobody, %s: exit %d, expected 2", R.cmd, rc);
		one_error_line("permission");
		ck_assert_msg(strstr(R.err, box) != NULL, "%s: the message does not name the box",
			      R.cmd);
		ck_assert_str_eq(R.out, "");
	}
	EXPECT_AS(&nob, 2, box, "breaker", "trip", "ro");
	one_error_line("permission");
	/* ls still works, and says why it cannot look inside */
	EXPECT_AS(&nob, 0, NULL, "ls");
	const char *line = ls_line(box);
	ck_assert_msg(strstr(line, "permission") != NULL, "ls: [%s]", line);
}
END_TEST

/* ====================================================================== */

FBX_TEST_SUITE(ctl)
{
	Suite *s = suite_create("ctl");
	TCase *tc;

	tc = tcase_create("harness");
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_add_test(tc, json_parser_self_check);
	tcase_add_test(tc, prom_validator_self_check);
	tcase_add_test(tc, help_and_version);
	tcase_add_test(tc, no_command_one_line);
	tcase_add_test(tc, box_from_environment);
	suite_add_tcase(s, tc);

	tc = tcase_create("create");
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, create_defaults);
	tcase_add_loop_test(tc, create_mode_whatever_umask, 0, (int)ARRAY_LEN(umasks));
	tcase_add_test(tc, create_group);
	tcase_add_test(tc, create_existing);
	tcase_add_test(tc, create_config);
	tcase_add_loop_test(tc, create_config_bad, 0, (int)ARRAY_LEN(bad_configs));
	tcase_add_test(tc, create_config_unreadable);
	tcase_add_test(tc, create_exist_ok_nothing_half_applied);
	suite_add_tcase(s, tc);

	tc = tcase_create("breaker");
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_set_timeout(tc, 20);
	tcase_add_loop_test(tc, breaker_add_options, 0, (int)ARRAY_LEN(add_cases));
	tcase_add_test(tc, breaker_add_again);
	tcase_add_test(tc, breaker_record_outcomes);
	tcase_add_test(tc, breaker_record_rejected);
	tcase_add_loop_test(tc, breaker_call_exit_codes, 0, (int)ARRAY_LEN(call_cases));
	tcase_add_test(tc, breaker_call_passes_arguments_and_output);
	tcase_add_test(tc, breaker_call_rejected_not_run);
	tcase_add_test(tc, breaker_call_duration_counts_as_slow);
	tcase_add_test(tc, breaker_call_long_ignore_list);
	tcase_add_test(tc, breaker_half_open_trial_in_flight);
	tcase_add_loop_test(tc, breaker_manual_actions, 0, (int)ARRAY_LEN(manual_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("limiter");
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, limiter_add_and_show);
	tcase_add_test(tc, limiter_take_json);
	tcase_add_test(tc, limiter_take_key_and_cost);
	tcase_add_test(tc, limiter_set_changes_rule_live);
	tcase_add_test(tc, limiter_dry_run);
	tcase_add_test(tc, limiter_take_empty_key);
	tcase_add_test(tc, limiter_show_top);
	suite_add_tcase(s, tc);

	tc = tcase_create("output");
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, status_json_fields);
	tcase_add_test(tc, show_json_is_versioned);
	tcase_add_test(tc, output_write_error);
	tcase_add_test(tc, metrics_format_and_values);
	tcase_add_test(tc, metrics_out_file);
	tcase_add_test(tc, events_oldest_first);
	tcase_add_test(tc, events_ring_dropped);
	tcase_add_test(tc, events_follow);
	suite_add_tcase(s, tc);

	tc = tcase_create("parallel");
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, parallel_breaker_records);
	tcase_add_test(tc, parallel_limiter_takes);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad_input");
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_set_timeout(tc, 20);
	tcase_add_loop_test(tc, bad_input, 0, (int)ARRAY_LEN(bad_inputs));
	tcase_add_loop_test(tc, bad_box_name, 0, (int)ARRAY_LEN(bad_box_names));
	suite_add_tcase(s, tc);

	tc = tcase_create("permissions");
	tcase_add_unchecked_fixture(tc, NULL, sweep);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, read_only_user);
	tcase_add_test(tc, unreadable_box);
	suite_add_tcase(s, tc);

	return s;
}
