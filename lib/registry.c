/*
 * registry.c — the one lock of the box, taken only to create records and
 * to change a limiter's rule.
 *
 * It is an OFD lock on a byte range of the object, taken through a
 * descriptor of its own for each locker: the kernel releases it when its
 * holder dies, it excludes threads and forked children as well as other
 * processes (each open file description is a separate owner), and no lock
 * state lives in the segment, so a scribble can neither wedge the lock nor
 * make a locker abort (a process-shared mutex in the segment could do
 * both).  A registrar that died holding it can only have left records in
 * INIT, so whoever takes the lock wipes those first (docs/DESIGN.md R5).
 *
 * Breaker and limiter records share their head (state, index, name), so
 * finding, claiming and publishing them is written once, here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define REGISTRY_TIMEOUT_NS 5000000000ull

/*
 * A child forked while a thread holds the lock inherits the locking
 * descriptor, and an OFD lock lives as long as any descriptor of its open
 * file description: the child would hold the box's registry for its whole
 * life.  So the descriptors of locks held are recorded, fork waits until
 * none is being opened or closed, and the child closes what it inherited.
 */
#define HELD_MAX 64
static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;
static int held[HELD_MAX];
static int n_held;

void fbx__registry_atfork_prepare(void)
{
	pthread_mutex_lock(&held_lock);
}

void fbx__registry_atfork_parent(void)
{
	pthread_mutex_unlock(&held_lock);
}

void fbx__registry_atfork_child(void)
{
	for (int i = 0; i < n_held; i++)
		close(held[i]);
	n_held = 0;
	pthread_mutex_init(&held_lock, NULL);
}

static void hold(int fd)
{
	if (n_held < HELD_MAX)
		held[n_held++] = fd;
}

static void unhold(int fd)
{
	for (int i = 0; i < n_held; i++)
		if (held[i] == fd) {
			held[i] = held[--n_held];
			return;
		}
}

struct fbx__records fbx__breaker_records(fbx_box *box)
{
	return (struct fbx__records){(uint8_t *)box->breakers, sizeof(struct fbx__breaker_rec),
				     box->cap_breakers};
}

struct fbx__records fbx__budget_records(fbx_box *box)
{
	return (struct fbx__records){(uint8_t *)box->budgets, sizeof(struct fbx__budget_rec),
				     box->cap_budgets};
}

struct fbx__records fbx__bulkhead_records(fbx_box *box)
{
	return (struct fbx__records){(uint8_t *)box->bulkheads, sizeof(struct fbx__bulkhead_rec),
				     box->cap_bulkheads};
}

struct fbx__records fbx__cache_records(fbx_box *box)
{
	return (struct fbx__records){(uint8_t *)box->caches, sizeof(struct fbx__cache_rec),
				     box->cap_caches};
}

struct fbx__records fbx__check_records(fbx_box *box)
{
	return (struct fbx__records){box->checks, FBX__CHECK_SIZE, box->cap_checks};
}

struct fbx__records fbx__limiter_records(fbx_box *box)
{
	return (struct fbx__records){(uint8_t *)box->limiters, sizeof(struct fbx__limiter_rec),
				     box->cap_limiters};
}

/* Every slot up to the capacity: the high-water mark is in the segment, and
 * one scribbled low would hide records, and make a registration create a
 * second record of a name that exists. */
int fbx__record_find(const struct fbx__records *rs, const char *name)
{
	for (uint32_t i = 0; i < rs->cap; i++) {
		struct fbx__rec_head *r = fbx__record(rs, i);
		if (atomic_load_explicit(&r->live, memory_order_acquire) == FBX__REC_LIVE &&
		    strncmp(r->name, name, FBX_NAME_MAX) == 0)
			return (int)i;
	}
	return -1;
}

int fbx__record_lookup(fbx_box *box, const struct fbx__records *rs, const char *name)
{
	int rc = fbx_name_check_record(name);
	if (rc == 0)
		rc = fbx__box_whole(box);
	if (rc)
		return rc;
	int i = fbx__record_find(rs, name);
	return i < 0 ? FBX_ENOENT : i;
}

int fbx__record_claim(const struct fbx__records *rs, const char *name)
{
	for (uint32_t i = 0; i < rs->cap; i++) {
		struct fbx__rec_head *r = fbx__record(rs, i);
		if (atomic_load(&r->live) != FBX__REC_FREE)
			continue;
		atomic_store(&r->live, FBX__REC_INIT);
		fbx__name_copy(r->name, name);
		return (int)i;
	}
	return FBX_EFULL;
}

/* A registrar killed before this leaves an INIT record, which the next
 * registration wipes; finders and readers go through every slot, so no
 * count in the header has to be kept in step. */
void fbx__record_publish(const struct fbx__records *rs, uint32_t i)
{
	atomic_store_explicit(&fbx__record(rs, i)->live, FBX__REC_LIVE, memory_order_release);
}

/* The only state a dead registrar can leave behind: records still in INIT. */
static void wipe_unfinished(const struct fbx__records *rs)
{
	for (uint32_t i = 0; i < rs->cap; i++) {
		struct fbx__rec_head *r = fbx__record(rs, i);
		if (atomic_load(&r->live) == FBX__REC_INIT) {
			memset((void *)r, 0, rs->stride);
			r->index = i;
		}
	}
}

/* A descriptor of the box's object with an open file description of its
 * own: through /proc when it is there (the very object this handle maps),
 * else by name, checked to be the same object. */
static int lock_fd(const fbx_box *box)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", box->fd);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	snprintf(path, sizeof(path), "%s%s", FBX__SHM_PREFIX, box->name);
	fd = shm_open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	struct stat a, b;
	if (fstat(fd, &a) != 0 || fstat(box->fd, &b) != 0 || a.st_ino != b.st_ino ||
	    a.st_dev != b.st_dev) {
		close(fd);
		return -1;
	}
	return fd;
}

int fbx__registry_lock(fbx_box *box)
{
	if (box->read_only)
		return FBX_ERDONLY;
	fbx__fork_hook_install();
	pthread_mutex_lock(&held_lock);
	int fd = lock_fd(box);
	if (fd >= 0)
		hold(fd);
	pthread_mutex_unlock(&held_lock);
	if (fd < 0)
		return FBX_ESYS;
	struct flock fl = {.l_type = F_WRLCK,
			   .l_whence = SEEK_SET,
			   .l_start = (off_t)offsetof(struct fbx__header, registry),
			   .l_len = 1};
	uint64_t deadline = fbx__real_now() + REGISTRY_TIMEOUT_NS;
	long wait_ns = 50000;
	while (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
		if ((errno != EAGAIN && errno != EACCES) || fbx__real_now() >= deadline) {
			int e = errno;
			fbx__registry_unlock(fd);
			return e == EAGAIN || e == EACCES ? FBX_ETIMEDOUT : FBX_ESYS;
		}
		struct timespec ts = {0, wait_ns};
		nanosleep(&ts, NULL);
		if (wait_ns < 1000000)
			wait_ns *= 2;
	}
	struct fbx__records b = fbx__breaker_records(box), l = fbx__limiter_records(box);
	struct fbx__records c = fbx__check_records(box), g = fbx__budget_records(box),
			    h = fbx__bulkhead_records(box), k = fbx__cache_records(box);
	wipe_unfinished(&b);
	wipe_unfinished(&l);
	wipe_unfinished(&c);
	wipe_unfinished(&g);
	wipe_unfinished(&h);
	wipe_unfinished(&k);
	return fd;
}

/* Closing the descriptor releases the lock. */
void fbx__registry_unlock(int token)
{
	pthread_mutex_lock(&held_lock);
	close(token);
	unhold(token);
	pthread_mutex_unlock(&held_lock);
}
