/* helpers.c — see helpers.h. */
#include <check.h>
#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

static _Atomic uint64_t *clock_word;

/* Boxes this test process created, unlinked when it exits (check's fork
 * mode exits after each test, failed or not). */
static char made[16][32];
static int n_made;

static void unlink_made(void)
{
	for (int i = 0; i < n_made; i++)
		fbx_box_unlink(made[i]);
	n_made = 0;
}

const char *tbox_name(void)
{
	static char name[32];
	static int serial;
	snprintf(name, sizeof(name), "t%d-%d", (int)getpid(), ++serial);
	return name;
}

const char *tname(const char *prefix)
{
	static char name[40];
	static int serial;
	snprintf(name, sizeof(name), "%s%d_%d_%d", prefix, (int)getppid(), (int)getpid(), ++serial);
	return name;
}

void tsweep(const char *prefix)
{
	char pfx[64];
	snprintf(pfx, sizeof(pfx), "fusebox.%s%d_", prefix, (int)getpid());
	DIR *d = opendir("/dev/shm");
	if (d == NULL)
		return;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		if (strncmp(e->d_name, pfx, strlen(pfx)) == 0) {
			char obj[300];
			snprintf(obj, sizeof(obj), "/%s", e->d_name);
			shm_unlink(obj);
		}
	}
	closedir(d);
}

fbx_box *tbox_create(const fbx_box_config *cfg)
{
	fbx_box_config c;
	if (cfg == NULL) {
		fbx_box_config_init(&c);
		c.breakers = 16;
		c.limiters = 8;
		c.keys = 256;
		c.events = 64;
		c.workers = 16;
		cfg = &c;
	}
	fbx_box *box = NULL;
	const char *name = tbox_name();
	int rc = fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, cfg, &box);
	if (rc == FBX_EEXIST) {
		/* the name holds our pid: a test killed before it could unlink,
		 * in an earlier run, had the same pid */
		fbx_box_unlink(name);
		rc = fbx_box_open(name, FBX_OPEN_CREATE | FBX_OPEN_EXCL, cfg, &box);
	}
	ck_assert_msg(rc == 0, "create box: %s", fbx_strerror(rc));
	if (n_made == 0)
		atexit(unlink_made);
	if (n_made < 16)
		snprintf(made[n_made++], sizeof(made[0]), "%s", name);
	return box;
}

void tbox_unlink(fbx_box *box)
{
	fbx_box_info info;
	if (fbx_box_info_get(box, &info) == 0)
		fbx_box_unlink(info.name);
}

static uint64_t fake_now(void *arg)
{
	(void)arg;
	return atomic_load(clock_word);
}

void tclock_install(void)
{
	if (clock_word == NULL) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		ck_assert(p != MAP_FAILED);
		clock_word = p;
	}
	atomic_store(clock_word, 1000ull * 1000000000ull);
	fbx_clock_set(fake_now, NULL);
}

void tclock_advance_ms(uint64_t ms)
{
	atomic_fetch_add(clock_word, ms * 1000000ull);
}

void tclock_set_ns(uint64_t ns)
{
	atomic_store(clock_word, ns);
}

uint64_t tclock_ns(void)
{
	return atomic_load(clock_word);
}

int twait(pid_t pid)
{
	int st = 0;
	while (waitpid(pid, &st, 0) < 0)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
