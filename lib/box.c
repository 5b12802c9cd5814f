/*
 * box.c — create, open, close and unlink the shared segment.
 *
 * Creation is elected by O_CREAT|O_EXCL; initialisation happens under an
 * OFD write lock on the object, and only while `ready` is still 0, so a
 * creator that died half-way is replaced by the next FBX_OPEN_CREATE and
 * never by two at once.  Nobody maps more than fstat() says the object
 * holds, and the creator preallocates, so a full /dev/shm is FBX_ENOSPC at
 * creation instead of a SIGBUS later (docs/DESIGN.md R2).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define WAIT_STEP_NS 1000000L
/* Anybody may create files in /dev/shm: a FIFO or a symlink planted under
 * a box's name must be refused, not block the open or lead elsewhere. */
#define OPEN_FLAGS (O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)

void fbx_box_config_init(fbx_box_config *cfg)
{
	if (cfg == NULL)
		return;
	memset(cfg, 0, sizeof(*cfg));
	cfg->breakers = 256;
	cfg->limiters = 64;
	cfg->keys = 65536;
	cfg->events = 4096;
	cfg->workers = 64;
	cfg->checks = 64;
	cfg->log_keys = 4096;
	cfg->log_slots = 128;
	cfg->budgets = 16;
	cfg->bulkheads = 16;
	cfg->caches = 4;
	cfg->cache_slots = 256;
	cfg->cache_value_max = 1024;
	cfg->mode = 0600;
	cfg->timeout_ms = 2000;
}

static int errno_to_fbx(int e)
{
	switch (e) {
	case ENOENT: return FBX_ENOENT;
	case EEXIST: return FBX_EEXIST;
	case EACCES: case EPERM: return FBX_EACCES;
	case ENOSPC: return FBX_ENOSPC;
	case ELOOP: case ENXIO: case EISDIR: return FBX_ECORRUPT; /* not a shm object */
	case ENOMEM: return FBX_ENOMEM;
	case EINVAL: return FBX_EINVAL;
	default: return FBX_ESYS;
	}
}

static void shm_path(char out[64], const char *name)
{
	snprintf(out, 64, "%s%s", FBX__SHM_PREFIX, name);
}

static void sleep_step(void)
{
	struct timespec ts = {0, WAIT_STEP_NS};
	nanosleep(&ts, NULL);
}

/* Non-blocking OFD lock on the whole object: 1 taken, 0 busy, <0 error. */
static int try_init_lock(int fd)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
		return 1;
	return errno == EAGAIN || errno == EACCES ? 0 : FBX_ESYS;
}

static void init_unlock(int fd)
{
	struct flock fl = {.l_type = F_UNLCK, .l_whence = SEEK_SET};
	fcntl(fd, F_OFD_SETLK, &fl);
}

static void fill_secret(uint64_t secret[2])
{
	if (getrandom(secret, 16, 0) == 16)
		return;
	/* No entropy source: still different per box, though guessable. */
	secret[0] = fbx__now() ^ ((uint64_t)getpid() << 32);
	secret[1] = (uint64_t)(uintptr_t)secret * 0x9e3779b97f4a7c15ull;
}

/* Runs with the init lock held and ready == 0. */
static int initialise(int fd, const char *name, const fbx_box_config *cfg)
{
	struct fbx__layout lay;
	int rc = fbx__layout_compute(cfg, &lay);
	if (rc)
		return rc;
	if (ftruncate(fd, (off_t)lay.total) != 0)
		return errno_to_fbx(errno);
	int e = posix_fallocate(fd, 0, (off_t)lay.total);
	if (e != 0 && e != EOPNOTSUPP && e != EINVAL)
		return e == ENOSPC || e == EFBIG ? FBX_ENOSPC : errno_to_fbx(e);
	/* umask masks the mode given to shm_open; fchmod does not. */
	if (fchmod(fd, cfg->mode & 07777) != 0)
		return errno_to_fbx(errno);
	if (cfg->group_set && fchown(fd, (uid_t)-1, cfg->group) != 0)
		return errno_to_fbx(errno);

	uint8_t *base = mmap(NULL, lay.total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		return errno_to_fbx(errno);
	memset(base, 0, lay.total); /* a replaced creator may have left bytes */
	struct fbx__header *h = (void *)base;
	h->magic = FBX__MAGIC;
	h->layout_version = FBX__LAYOUT_VERSION;
	h->header_size = sizeof(*h);
	h->fingerprint = fbx__fingerprint();
	h->total_size = lay.total;
#define CAP_WRITE(name, lo, hi) h->cap_##name = cfg->name;
	FBX__CAPACITIES(CAP_WRITE)
#undef CAP_WRITE
	h->key_buckets = lay.key_buckets;
	h->log_key_buckets = lay.log_key_buckets;
	h->mode = cfg->mode & 07777;
	h->group = cfg->group_set ? (uint32_t)cfg->group : (uint32_t)-1;
	uint64_t me = fbx__self_identity();
	h->creator_pid = FBX__OWNER_PID(me);
	h->creator_start = FBX__OWNER_START(me);
	h->created_ns = fbx__now();
	fill_secret(h->secret);
#define OFF_WRITE(r) h->off_##r = lay.off_##r;
	FBX__REGIONS(OFF_WRITE)
#undef OFF_WRITE
	h->shard_stride = lay.shard_stride;
	snprintf(h->name, sizeof(h->name), "%s", name);
	struct fbx__breaker_rec *br = (void *)(base + lay.off_breakers);
	for (uint32_t i = 0; i < cfg->breakers; i++)
		br[i].head.index = i;
	struct fbx__limiter_rec *lr = (void *)(base + lay.off_limiters);
	for (uint32_t i = 0; i < cfg->limiters; i++)
		lr[i].head.index = i;
	atomic_store_explicit(&h->ready, 1, memory_order_release);
	munmap(base, lay.total);
	return 0;
}

/* The header is untrusted until every figure in it agrees with the layout
 * this build would compute from its capacities, and with the object size.
 * Each figure is read once: *caps and *lay are what was checked, whatever
 * the header says a moment later, and what the handle is bound to. */
static int validate(const struct fbx__header *h, uint64_t object_size, fbx_box_config *caps,
		    struct fbx__layout *lay)
{
	if (h->magic != FBX__MAGIC)
		return FBX_ECORRUPT;
	if (h->layout_version != FBX__LAYOUT_VERSION)
		return FBX_EVERSION;
	if (h->fingerprint != fbx__fingerprint() || h->header_size != sizeof(*h))
		return FBX_EVERSION;
	fbx_box_config_init(caps);
#define CAP_READ(name, lo, hi) caps->name = h->cap_##name;
	FBX__CAPACITIES(CAP_READ)
#undef CAP_READ
	if (fbx__layout_compute(caps, lay) != 0)
		return FBX_ECORRUPT;
	bool same = lay->total == h->total_size && lay->key_buckets == h->key_buckets &&
		    lay->log_key_buckets == h->log_key_buckets &&
		    lay->shard_stride == h->shard_stride;
#define OFF_SAME(r) same = same && lay->off_##r == h->off_##r;
	FBX__REGIONS(OFF_SAME)
#undef OFF_SAME
	if (!same)
		return FBX_ECORRUPT;
	if (object_size < lay->total)
		return FBX_ECORRUPT; /* truncated: mapping it all would SIGBUS */
	return 0;
}

/* The real clock, even under a test's substitute: a frozen fake clock must
 * not turn a wait for a dead creator into a hang. */
static uint64_t real_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Looks at the header page: 1 ready, 0 not yet, <0 error.  Magic and
 * version are checked before `ready`: a foreign object or a newer layout
 * (whose ready word may sit elsewhere) is refused, never waited on or
 * initialised over.  A creator that died midway leaves magic 0 or ours. */
static int peek_ready(int fd, uint64_t *size_out)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return errno_to_fbx(errno);
	*size_out = (uint64_t)st.st_size;
	/* A FIFO, device or directory under our name is not a box; neither is
	 * a short file: a creator sizes the object in one step, 0 to whole. */
	if (!S_ISREG(st.st_mode) ||
	    (st.st_size > 0 && (uint64_t)st.st_size < sizeof(struct fbx__header)))
		return FBX_ECORRUPT;
	if ((uint64_t)st.st_size < sizeof(struct fbx__header))
		return 0;
	const struct fbx__header *h = mmap(NULL, sizeof(*h), PROT_READ, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED)
		return errno_to_fbx(errno);
	int ready = atomic_load_explicit(&((struct fbx__header *)h)->ready,
					 memory_order_acquire) == 1;
	uint64_t magic = h->magic;
	uint32_t version = h->layout_version;
	munmap((void *)h, sizeof(*h));
	if (magic != 0 && magic != FBX__MAGIC)
		return FBX_ECORRUPT;
	if (magic == FBX__MAGIC && version != 0 && version != FBX__LAYOUT_VERSION)
		return FBX_EVERSION;
	return ready;
}

/* How long an empty object, unlocked, is left to the process that made
 * it.  That creator takes the lock right after creating the object; an
 * empty object still unlocked after this long lost its creator (killed
 * before it sized the object), and any opener with CREATE initialises it.
 * Stepping in early is safe — the lock makes initialisation exclusive and
 * the creator then finds the box ready — it only lets the first opener's
 * capacities win over the creator's. */
#define ORPHAN_GRACE_NS 50000000ull

static int wait_ready(int fd, bool may_init, bool created, const char *name,
		      const fbx_box_config *cfg, uint64_t *size_out)
{
	uint64_t start = real_now();
	uint64_t deadline = start + (uint64_t)cfg->timeout_ms * 1000000u;
	for (;;) {
		int r = peek_ready(fd, size_out);
		if (r != 0)
			return r < 0 ? r : 0;
		/* The elected creator initialises at once; anyone else with
		 * CREATE steps in when the lock shows no creator at work: over
		 * a half-initialised object at once, over an empty one after
		 * the grace. */
		if (may_init) {
			int got = try_init_lock(fd);
			if (got < 0)
				return got;
			if (got) {
				r = peek_ready(fd, size_out);
				bool init = r == 0 && (created ||
						       *size_out >= sizeof(struct fbx__header) ||
						       real_now() - start >= ORPHAN_GRACE_NS);
				if (init)
					r = initialise(fd, name, cfg);
				init_unlock(fd);
				if (r < 0)
					return r;
				if (r > 0 || init)
					continue; /* ready now: the next peek says so */
			}
		}
		if (real_now() >= deadline)
			return FBX_ETIMEDOUT;
		sleep_step();
	}
}

static int map_box(int fd, bool rdonly, uint64_t object_size, fbx_box *box)
{
	const struct fbx__header *peek = mmap(NULL, sizeof(*peek), PROT_READ, MAP_SHARED, fd, 0);
	if (peek == MAP_FAILED)
		return errno_to_fbx(errno);
	fbx_box_config caps;
	struct fbx__layout lay;
	int rc = validate(peek, object_size, &caps, &lay);
	munmap((void *)peek, sizeof(*peek));
	if (rc)
		return rc;
	uint64_t total = lay.total;
	int prot = rdonly ? PROT_READ : PROT_READ | PROT_WRITE;
	void *base = mmap(NULL, total, prot, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		return errno_to_fbx(errno);
	box->base = base;
	box->size = total;
	box->hdr = base;
	/* Re-check on the mapping we keep: the object may have been replaced.
	 * A layout of another size than the one mapped is a header rewritten
	 * in between; binding to it would reach past the mapping. */
	rc = validate(box->hdr, object_size, &caps, &lay);
	if (rc == 0 && lay.total != total)
		rc = FBX_ECORRUPT;
	if (rc) {
		munmap(base, total);
		box->base = NULL;
		return rc;
	}
	fbx__box_bind(box, &caps, &lay);
	return 0;
}

/* Whether path still names the object fd has open.  A creator whose
 * initialisation failed unlinks its object; whoever initialised or mapped
 * it meanwhile holds an orphan that no other process will ever see. */
static bool still_named(const char *path, int fd)
{
	char dev[80];
	struct stat a, b;
	snprintf(dev, sizeof(dev), "/dev/shm%s", path);
	return fstat(fd, &a) == 0 && stat(dev, &b) == 0 && a.st_ino == b.st_ino &&
	       a.st_dev == b.st_dev;
}

/*
 * A service opening with CREATE will trust the box: whoever controls it
 * steers the service's breakers and limits.  Like sshd's StrictModes, it
 * adopts a box only if its owner is the service's own user, root, or a
 * user it named as trusted, and nobody it did not grant may write it.
 */
static int adoptable(int fd, const fbx_box_config *cfg)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return errno_to_fbx(errno);
	uid_t me = geteuid();
	if (st.st_uid != me && st.st_uid != 0 &&
	    !(cfg->trusted_set && st.st_uid == cfg->trusted_uid))
		return FBX_EOWNER;
	uint32_t mode = (uint32_t)st.st_mode & 07777, asked = cfg->mode & 07777;
	if ((mode & 0002) && !(asked & 0002))
		return FBX_EOWNER; /* anybody may write it */
	if (mode & 0020) {
		gid_t group = cfg->group_set ? cfg->group : getegid();
		if (!(asked & 0020) || st.st_gid != group)
			return FBX_EOWNER; /* a group we did not name may write it */
	}
	return 0;
}

int fbx_box_owner_get(const char *name, fbx_box_owner *out)
{
	if (out == NULL)
		return FBX_EINVAL;
	int rc = fbx_name_check_box(name);
	if (rc)
		return rc;
	char path[80];
	snprintf(path, sizeof(path), "/dev/shm%s%s", FBX__SHM_PREFIX, name);
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno_to_fbx(errno);
	out->uid = st.st_uid;
	out->gid = st.st_gid;
	out->mode = (uint32_t)st.st_mode & 07777;
	out->size = (uint64_t)st.st_size;
	return 0;
}

#define FBX__REPLACED 1 /* internal: the object was unlinked under us; again */

static int open_once(const char *name, unsigned flags, const fbx_box_config *cfg_in,
		     fbx_box **out);

int fbx_box_open(const char *name, unsigned flags, const fbx_box_config *cfg_in,
		 fbx_box **out)
{
	int rc = FBX__REPLACED;
	for (int attempt = 0; rc == FBX__REPLACED && attempt < 8; attempt++)
		rc = open_once(name, flags, cfg_in, out);
	return rc == FBX__REPLACED ? FBX_ETIMEDOUT : rc;
}

static int open_once(const char *name, unsigned flags, const fbx_box_config *cfg_in,
		     fbx_box **out)
{
	if (out == NULL || (flags & ~15u) != 0)
		return FBX_EINVAL;
	*out = NULL;
	bool create = flags & FBX_OPEN_CREATE, excl = flags & FBX_OPEN_EXCL;
	bool rdonly = flags & FBX_OPEN_RDONLY;
	if ((excl && !create) || (rdonly && create))
		return FBX_EINVAL;
	int rc = fbx_name_check_box(name);
	if (rc)
		return rc;
	fbx_box_config cfg;
	fbx_box_config_init(&cfg);
	if (cfg_in != NULL)
		cfg = *cfg_in;
	struct fbx__layout lay;
	if (create && (fbx__layout_compute(&cfg, &lay) != 0 || cfg.mode > 07777))
		return FBX_EINVAL;
	if (cfg.timeout_ms == 0)
		cfg.timeout_ms = 1;

	char path[64];
	shm_path(path, name);
	fbx__fork_hook_install();
	int fd = -1;
	bool created = false;
	for (int attempt = 0; fd < 0 && attempt < 100; attempt++) {
		if (create) {
			fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | OPEN_FLAGS, 0600);
			if (fd >= 0) {
				created = true;
				break;
			}
			if (errno != EEXIST)
				return errno_to_fbx(errno);
			if (excl)
				return FBX_EEXIST;
		}
		fd = shm_open(path, (rdonly ? O_RDONLY : O_RDWR) | OPEN_FLAGS, 0);
		if (fd < 0 && errno == EACCES && !rdonly && !create) {
			/* A viewer without write permission still gets a view. */
			rdonly = true;
			fd = shm_open(path, O_RDONLY | OPEN_FLAGS, 0);
		}
		/* glibc's shm_open turns EISDIR into EINVAL; the name was
		 * checked, so EINVAL here is a directory under it: not a box */
		if (fd < 0 && errno == EINVAL)
			return FBX_ECORRUPT;
		if (fd < 0 && (errno != ENOENT || !create))
			return errno_to_fbx(errno);
		/* ENOENT with CREATE: it was unlinked between our two calls. */
	}
	if (fd < 0)
		return FBX_ESYS;
	if (create && !created && (rc = adoptable(fd, &cfg)) != 0) {
		close(fd);
		return rc;
	}

	fbx_box *box = calloc(1, sizeof(*box));
	if (box == NULL) {
		rc = FBX_ENOMEM;
		goto fail_fd;
	}
	uint64_t size = 0;
	rc = wait_ready(fd, create, created, name, &cfg, &size);
	if (rc)
		goto fail_box;
	rc = map_box(fd, rdonly, size, box);
	if (rc)
		goto fail_box;
	if (!still_named(path, fd)) {
		munmap(box->base, box->size);
		rc = FBX__REPLACED;
		goto fail_box;
	}
	box->fd = fd;
	snprintf(box->name, sizeof(box->name), "%s", name);
	box->read_only = rdonly;
	box->threads = (flags & FBX_OPEN_THREADS) != 0;
	atomic_store(&box->atomic_counts, 1); /* until a slot of its own is known */
	pthread_mutex_init(&box->lock, NULL);
	atomic_store(&box->my_worker, -1);
	atomic_store(&box->fork_gen, 0); /* never current: first use claims */
	if (!rdonly)
		fbx__shard_acquire(box);
	*out = box;
	return 0;

fail_box:
	free(box);
fail_fd:
	if (created && rc < 0)
		shm_unlink(path); /* leave no half-born box behind */
	close(fd);
	return rc;
}

int fbx__box_whole(const fbx_box *box)
{
	struct stat st;
	if (fstat(box->fd, &st) != 0)
		return FBX_ESYS;
	return (uint64_t)st.st_size < box->size ? FBX_ETRUNC : 0;
}

void fbx_box_close(fbx_box *box)
{
	if (box == NULL)
		return;
	/* Giving the worker slot back writes the mapping: not past the end
	 * of an object someone truncated (the slot is reclaimed anyway once
	 * we are gone). */
	if (fbx__box_whole(box) == 0)
		fbx__shard_release(box);
	for (fbx_breaker *b = box->breaker_list, *next; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	for (fbx_budget *g = box->budget_list, *next; g != NULL; g = next) {
		next = g->next;
		free(g);
	}
	for (fbx_cache *k = box->cache_list, *next; k != NULL; k = next) {
		next = k->next;
		free(k);
	}
	for (fbx_bulkhead *h = box->bulkhead_list, *next; h != NULL; h = next) {
		next = h->next;
		free(h);
	}
	for (fbx_limiter *l = box->limiter_list, *next; l != NULL; l = next) {
		next = l->next;
		free(l);
	}
	munmap(box->base, box->size);
	close(box->fd);
	pthread_mutex_destroy(&box->lock);
	free(box);
}

int fbx_box_unlink(const char *name)
{
	int rc = fbx_name_check_box(name);
	if (rc)
		return rc;
	char path[64];
	shm_path(path, name);
	return shm_unlink(path) == 0 ? 0 : errno_to_fbx(errno);
}

int fbx_box_info_get(const fbx_box *box, fbx_box_info *info)
{
	if (box == NULL || info == NULL)
		return FBX_EINVAL;
	memset(info, 0, sizeof(*info));
	const struct fbx__header *h = box->hdr;
	snprintf(info->name, sizeof(info->name), "%s", box->name);
	info->layout_version = h->layout_version;
	info->total_size = box->size;
	fbx_box_config_init(&info->capacity);
#define CAP_INFO(name, lo, hi) info->capacity.name = box->cap_##name;
	FBX__CAPACITIES(CAP_INFO)
#undef CAP_INFO
	info->capacity.mode = h->mode & 07777;
	info->capacity.group_set = h->group != (uint32_t)-1;
	info->capacity.group = info->capacity.group_set ? (gid_t)h->group : 0;
	info->creator_pid = h->creator_pid;
	info->created_ns = box->created_ns;
	info->read_only = box->read_only;
	info->key_bytes = sizeof(uint64_t) * (1 + FBX_RULE_LIMITS_MAX);
	info->log_key_bytes = box->cap_log_slots ? info->key_bytes + 8ull * box->cap_log_slots : 0;
	info->log_count_max = box->cap_log_slots ? box->cap_log_slots - 1 : 0;
	return 0;
}
