/* probe_box.c — the box behind the probe: opened read-only when a request
 * first needs it, opened again when it vanished, was recreated or cut
 * short, and read into one snapshot per request. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "busguard.h"
#include "probe.h"

void probe_box_init(struct probe_box *pb, const char *name)
{
	memset(pb, 0, sizeof(*pb));
	pb->name = name;
	pthread_mutex_init(&pb->lock, NULL);
}

static void detach(struct probe_box *pb)
{
	fbx_snapshot_free(pb->snap);
	fbx_box_close(pb->box);
	pb->snap = NULL;
	pb->box = NULL;
	pb->ino = 0;
}

void probe_box_fini(struct probe_box *pb)
{
	detach(pb);
	pthread_mutex_destroy(&pb->lock);
}

/* The object's inode, 0 when there is none: a recreated box is another
 * object under the same name, which the old mapping would never show. */
static ino_t object_ino(const char *name)
{
	char path[80];
	struct stat st;
	snprintf(path, sizeof(path), "/dev/shm/fusebox.%s", name);
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* Probes come every few seconds from one kubelet: a state is worth one
 * line on stderr when it changes, not one per request. */
static void say(struct probe_box *pb, const char *what)
{
	if (strcmp(pb->said, what) == 0)
		return;
	snprintf(pb->said, sizeof(pb->said), "%s", what);
	fprintf(stderr, "fusebox-probe: %s\n", what);
}

struct open_args {
	struct probe_box *pb;
	int step; /* which call failed: 0 open, 1 snapshot */
};

/* Opening reads the segment's header too, so it runs under the guard as
 * the reads do; a fault there leaks one handle, once, rather than
 * killing the probe. */
static int open_box(void *arg)
{
	struct open_args *a = arg;
	fbx_box_config quick;
	fbx_box_config_init(&quick);
	/* a box still being created is waited for this long by a request */
	quick.timeout_ms = 100;
	int rc = fbx_box_open(a->pb->name, FBX_OPEN_RDONLY, &quick, &a->pb->box);
	if (rc != 0) {
		a->pb->box = NULL;
		return rc;
	}
	a->step = 1;
	return fbx_snapshot_new(a->pb->box, &a->pb->snap);
}

/* 0 when attached to the box as its name now names it; else why not. */
static int attach(struct probe_box *pb, char *why, size_t len)
{
	ino_t ino = object_ino(pb->name);
	if (pb->box != NULL && ino == pb->ino)
		return 0;
	detach(pb);
	if (ino == 0) {
		snprintf(why, len, "box '%s' does not exist", pb->name);
		return -1;
	}
	struct open_args a = {pb, 0};
	int rc = bus_guard(open_box, &a);
	if (rc != 0) {
		if (a.step == 1 && rc != FBX_ETRUNC)
			detach(pb);
		else
			pb->box = NULL, pb->snap = NULL;
		snprintf(why, len, "box '%s' cannot be read: %s", pb->name, fbx_strerror(rc));
		return -1;
	}
	pb->ino = ino;
	return 0;
}

static int take(void *arg)
{
	struct probe_box *pb = arg;
	return fbx_snapshot_take_health(pb->box, pb->snap);
}

char *probe_answer(struct probe_box *pb, enum probe_endpoint ep, unsigned *code)
{
	char why[160] = "";
	pthread_mutex_lock(&pb->lock);
	if (attach(pb, why, sizeof(why)) == 0) {
		int rc = bus_guard(take, pb);
		if (rc == FBX_ETRUNC) {
			/* the same object, cut short: opened afresh once whole */
			detach(pb);
			snprintf(why, sizeof(why), "box '%s' was truncated under the probe", pb->name);
		} else if (rc != 0) {
			detach(pb);
			snprintf(why, sizeof(why), "box '%s' cannot be read: %s", pb->name,
				 fbx_strerror(rc));
		}
	}
	char *body;
	if (why[0] != '\0') {
		say(pb, why);
		body = probe_body(ep, pb->name, NULL, why, code);
	} else {
		char ok[80];
		snprintf(ok, sizeof(ok), "reading box '%s'", pb->name);
		say(pb, ok);
		body = probe_body(ep, pb->name, pb->snap, NULL, code);
	}
	pthread_mutex_unlock(&pb->lock);
	return body;
}
