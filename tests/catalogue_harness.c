/* catalogue_harness.c — see catalogue_harness.h. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/internal.h" /* the segment layout: a box of a newer version */
#include "catalogue_harness.h"
#include "ctl_harness.h"
#include "fusebox.h"
#include "helpers.h"

const char *shown(const char *s)
{
	static char ring[4][2048];
	static int k;
	char *out = ring[k++ % 4];
	size_t n = 0;
	for (; *s && n + 5 < sizeof(ring[0]); s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\n')
			n += (size_t)snprintf(out + n, 5, "\\n");
		else if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(out + n, 5, "\\x%02x", c);
		else
			out[n++] = (char)c;
	}
	out[n] = '\0';
	return out;
}

const char *program(const char *word)
{
	static char top[PATH_MAX];
	if (strcmp(word, "fuseboxctl") == 0)
		return ctl_path();
	if (strcmp(word, "fusebox-top") == 0) {
		built_tool("FUSEBOX_TOP", "build/fusebox-top", top);
		return top;
	}
	return NULL;
}

void run_tool(const char *const *argv, const char *const *env, const char *box, bool nobody,
	      struct spawn_result *res)
{
	const char *all[72];
	char box_var[64];
	snprintf(box_var, sizeof(box_var), "FUSEBOX_BOX=%s", box);
	size_t n = 0;
	all[n++] = "LC_ALL=C";
	all[n++] = "NO_COLOR";
	all[n++] = box_var;
	for (size_t i = 0; env != NULL && env[i] != NULL && n + 1 < ARRAY_LEN(all); i++)
		all[n++] = env[i];
	all[n] = NULL;
	struct spawn_opts o = {.env = all, .nobody = nobody};
	ck_assert_msg(spawn_run(&o, argv, res) == 0, "could not run %s", argv[0]);
}

/* Bytes that are no box's: the same every run. */
static void write_noise(const char *path, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t done = 0; done < size;) {
		uint8_t buf[4096];
		for (size_t i = 0; i < sizeof(buf); i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = (uint8_t)(x >> 24);
		}
		size_t n = size - done < sizeof(buf) ? size - done : sizeof(buf);
		ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
		done += n;
	}
	close(fd);
}

/* A box of the next layout version: one this build must not read. */
static void make_newer(struct scratch *s)
{
	ready_box_make(s->name, 0600);
	int fd = open(s->path, O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	uint32_t v = FBX__LAYOUT_VERSION + 1;
	ck_assert_int_eq(pwrite(fd, &v, 4, offsetof(struct fbx__header, layout_version)), 4);
	close(fd);
}

/* A box that user nobody made first, writable by all: a squatter's. */
static void make_squatted(const char *name)
{
	pid_t pid = tfork();
	if (pid == 0) {
		fbx_box_config cfg;
		fbx_box_config_init(&cfg);
		cfg.mode = 0666;
		fbx_box *box;
		tbecome_nobody();
		_exit(fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, &cfg, &box) != 0);
	}
	ck_assert_msg(twait(pid) == 0, "nobody could not make box %s", name);
}

static void make_symlink(struct scratch *s)
{
	snprintf(s->target, sizeof(s->target), "%s", tname(CG_PREFIX));
	ready_box_make(s->target, 0600);
	char to[128];
	tshm_path(to, s->target);
	ck_assert_int_eq(symlink(to, s->path), 0);
}

bool scratch_prepare(struct scratch *s, const char *kind, const char *where)
{
	*s = (struct scratch){0};
	snprintf(s->name, sizeof(s->name), "%s", tname(CG_PREFIX));
	tshm_path(s->path, s->name);
	s->nobody = !strcmp(kind, "read-only") || !strcmp(kind, "unreadable");
	if ((s->nobody || !strcmp(kind, "squatted")) && geteuid() != 0) {
		printf("test_catalogue: %s needs root; skipped\n", where);
		return false;
	}
	s->pristine = !strcmp(kind, "ready") || !strcmp(kind, "checks-full") || s->nobody;
	if (!strcmp(kind, "checks-full")) {
		ready_box_make(s->name, 0600);
		ready_box_fill_checks(s->name);
	} else if (s->pristine)
		ready_box_make(s->name, strcmp(kind, "read-only") == 0 ? 0644 : 0600);
	else if (!strcmp(kind, "fifo"))
		ck_assert_int_eq(mkfifo(s->path, 0600), 0);
	else if (!strcmp(kind, "symlink"))
		make_symlink(s);
	else if (!strcmp(kind, "directory"))
		ck_assert_int_eq(mkdir(s->path, 0700), 0);
	else if (!strcmp(kind, "short"))
		write_noise(s->path, 100);
	else if (!strcmp(kind, "garbage"))
		write_noise(s->path, 1u << 20);
	else if (!strcmp(kind, "empty"))
		write_noise(s->path, 0);
	else if (!strcmp(kind, "newer"))
		make_newer(s);
	else if (!strcmp(kind, "squatted"))
		make_squatted(s->name);
	else
		ck_assert_msg(!strcmp(kind, "none"), "%s: unknown box '%s'", where, kind);
	return true;
}

void scratch_remove(const struct scratch *s)
{
	if (unlink(s->path) != 0)
		rmdir(s->path);
	if (s->target[0] != '\0')
		fbx_box_unlink(s->target);
}

bool object_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

void catalogue_sweep(void)
{
	sweep_scratch(CG_PREFIX);
}
