/*
 * process.c — who this process is, whether another one is alive, and the
 * counter shard each process writes.
 *
 * A process is named by (pid, start time), never a bare pid: a recycled
 * pid has another start time (docs/DESIGN.md R7).  Each process claims a worker
 * slot and writes its counters only into that slot's shard, so two workers
 * never fight over a cache line (R6).  A dead owner's slot is taken over
 * with its counts intact: readers add up all shards, so nothing is lost.
 *
 * "Cannot tell" never means dead (R8): a slot is taken over only when its owner
 * is known to be gone.  When /proc cannot be read (EMFILE, hidepid, a
 * chroot without it) an owner counts as alive, and a process that finds no
 * free slot writes the shared overflow shard with locked adds instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

_Atomic uint64_t fbx__fork_generation = 1;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t claim_lock = PTHREAD_MUTEX_INITIALIZER;

static void after_fork_child(void)
{
	/* Another thread may have held the lock at fork time. */
	pthread_mutex_init(&claim_lock, NULL);
	atomic_fetch_add_explicit(&fbx__fork_generation, 1, memory_order_relaxed);
	fbx__registry_atfork_child();
}

static void install(void)
{
	pthread_atfork(fbx__registry_atfork_prepare, fbx__registry_atfork_parent,
		       after_fork_child);
}

void fbx__fork_hook_install(void)
{
	pthread_once(&fork_once, install);
}

/* What /proc says of a process: its start time, or one of these. */
#define START_GONE 0ull          /* no such process, or a dead zombie */
#define START_UNKNOWN UINT64_MAX /* /proc could not be read */

/* A zombie leader with threads still running is a live process whose
 * main thread called pthread_exit(); a zombie with one task is dead.
 * Unreadable: alive. */
static bool other_threads_run(pid_t pid)
{
	char path[40], buf[2048];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno != ENOENT && errno != ESRCH;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	const char *t = strstr(buf, "\nThreads:");
	return t == NULL || strtol(t + 9, NULL, 10) > 1;
}

/* Field 22 of /proc/PID/stat, in clock ticks since boot.  Gone only when
 * the kernel says so: the file does not exist, or the process is a zombie
 * that will never write again.  Any other failure is START_UNKNOWN. */
static uint64_t start_time_of(pid_t pid)
{
	char path[40], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH ? START_GONE : START_UNKNOWN;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	int e = errno;
	close(fd);
	if (n < 0)
		return e == ESRCH ? START_GONE : START_UNKNOWN; /* exited meanwhile */
	if (n == 0)
		return START_UNKNOWN;
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
	if (p == NULL || p[1] != ' ')
		return START_UNKNOWN;
	p += 2;
	if ((*p == 'Z' && !other_threads_run(pid)) || *p == 'X')
		return START_GONE;
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (p == NULL)
			return START_UNKNOWN;
		p++;
	}
	unsigned long long t = strtoull(p, NULL, 10);
	return t == 0 ? 1 : (uint64_t)t & ((1ull << 42) - 1);
}

/* Start time 0 in an owner word: this process could not read its own, so
 * others can tell only whether the pid exists. */
uint64_t fbx__self_identity(void)
{
	pid_t pid = getpid();
	uint64_t start = start_time_of(pid);
	start = start == START_UNKNOWN ? 0 : start;
	uint64_t me = FBX__OWNER_MAKE(pid, start);
	/* R7: the owner word names this process by pid and start time (pids
	 * are below 2^22), and is never 0, which means a free slot */
	FBX_ASSERT(me != 0 && FBX__OWNER_PID(me) == pid && FBX__OWNER_START(me) == start);
	return me;
}

/* 1 alive or cannot tell, 0 known to be gone.  kill(pid, 0) delivers no
 * signal: it only asks whether the pid exists, and answers even where
 * /proc is hidden or absent. */
int fbx__owner_alive(uint64_t owner)
{
	if (owner == 0)
		return 0;
	pid_t pid = FBX__OWNER_PID(owner);
	if (pid <= 0)
		return 0; /* not an owner any process could have written */
	if (kill(pid, 0) != 0 && errno == ESRCH)
		return 0;
	uint64_t start = start_time_of(pid);
	if (start == START_UNKNOWN || FBX__OWNER_START(owner) == 0)
		return 1;
	return start != START_GONE && start == FBX__OWNER_START(owner);
}

static uint8_t *shard_at(fbx_box *box, int32_t worker)
{
	uint8_t *s = box->shards + box->shard_stride * (uint64_t)(worker + 1);
	/* R1, R6: a slot claimed below the validated capacity, or the
	 * overflow shard: its shard lies inside the mapping */
	FBX_ASSERT(worker >= -1 && worker < (int32_t)box->cap_workers &&
		   s + box->shard_stride <= box->base + box->size);
	return s;
}

static void raise_hwm(fbx_box *box, uint32_t v)
{
	uint32_t cur = atomic_load(&box->hdr->shards_hwm);
	while (cur < v && !atomic_compare_exchange_weak(&box->hdr->shards_hwm, &cur, v))
		;
}

static int32_t claim_slot(fbx_box *box, uint64_t me)
{
	for (uint32_t i = 0; i < box->cap_workers; i++) {
		uint64_t w = 0;
		if (atomic_compare_exchange_strong(&box->workers[i].owner, &w, me))
			return (int32_t)i;
	}
	for (uint32_t i = 0; i < box->cap_workers; i++) {
		uint64_t w = atomic_load(&box->workers[i].owner);
		if (w != me && !fbx__owner_alive(w) &&
		    atomic_compare_exchange_strong(&box->workers[i].owner, &w, me))
			return (int32_t)i;
	}
	return -1;
}

/* Slow path of fbx__shard(): first use, or first use after fork(). */
uint8_t *fbx__shard_acquire(fbx_box *box)
{
	pthread_mutex_lock(&claim_lock);
	uint64_t gen = atomic_load(&fbx__fork_generation);
	if (atomic_load(&box->fork_gen) != gen) {
		uint8_t *shard = NULL;
		if (!box->read_only) {
			uint64_t me = fbx__self_identity();
			int32_t w = claim_slot(box, me);
			box->my_identity = me;
			box->my_owner = w >= 0 ? me : 0;
			if (w >= 0) {
				/* A dead owner's registration is not ours: this
				 * process is a worker only once it registers. */
				struct fbx__worker *slot = &box->workers[w];
				atomic_store(&slot->registered, 0);
				atomic_store(&slot->begun, atomic_load(&slot->served));
			}
			/* R6: a slot of our own is named by us, never by 0 (free) */
			FBX_ASSERT(w < 0 || box->my_owner != 0);
			atomic_store(&box->my_worker, w);
			raise_hwm(box, (uint32_t)(w + 2));
			shard = shard_at(box, w); /* w == -1: shared overflow shard */
			atomic_store(&box->atomic_counts, box->threads || w < 0);
		}
		atomic_store(&box->my_shard, shard);
		atomic_store(&box->fork_gen, gen);
	}
	uint8_t *s = atomic_load(&box->my_shard);
	pthread_mutex_unlock(&claim_lock);
	return s;
}

void fbx__shard_release(fbx_box *box)
{
	int32_t w = atomic_load(&box->my_worker);
	if (box->read_only || w < 0 || box->my_owner == 0)
		return;
	/* After fork() the slot is the parent's; only its owner frees it. */
	if (FBX__OWNER_PID(box->my_owner) != (getpid() & 0x3fffff))
		return;
	uint64_t me = box->my_owner;
	/* R6: only the slot this handle claimed is given back */
	FBX_ASSERT(w < (int32_t)box->cap_workers);
	atomic_compare_exchange_strong(&box->workers[w].owner, &me, 0);
}
