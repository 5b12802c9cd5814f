/* probe_reaper.c — a deadline for reading each request.
 *
 * MHD's connection timeout is an idle timeout: a slowloris that sends one
 * byte every few seconds is never idle, and its memory limit is reached
 * only after hours of drips.  So every connection is listed here with the
 * time its current request began (its opening, or the previous request's
 * answer), and a thread shuts down the socket of any connection still
 * reading one after PROBE_REQUEST_DEADLINE_S.  shutdown(), not close():
 * the descriptor stays MHD's, which sees the end of the stream and closes
 * the connection its own way; a connection leaves the list (under the
 * same lock) before MHD closes its descriptor, so a number that has been
 * reused is never shut down. */
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "probe.h"

struct tracked {
	struct tracked *prev, *next;
	int fd;
	int shut;
	uint64_t since_ns;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct tracked *head;
static int stopping;
static pthread_t thread;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void probe_reaper_notify(void *cls, struct MHD_Connection *c, void **socket_context,
			 enum MHD_ConnectionNotificationCode toe)
{
	(void)cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *info =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct tracked *t = info != NULL ? calloc(1, sizeof(*t)) : NULL;
		*socket_context = t;
		if (t == NULL)
			return; /* untracked: MHD's own timeout still applies */
		t->fd = info->connect_fd;
		t->since_ns = now_ns();
		pthread_mutex_lock(&lock);
		t->next = head;
		if (head != NULL)
			head->prev = t;
		head = t;
		pthread_mutex_unlock(&lock);
		return;
	}
	struct tracked *t = *socket_context;
	if (t == NULL)
		return;
	pthread_mutex_lock(&lock);
	if (t->prev != NULL)
		t->prev->next = t->next;
	else
		head = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	pthread_mutex_unlock(&lock);
	free(t);
	*socket_context = NULL;
}

void probe_reaper_served(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct tracked *t = info != NULL ? info->socket_context : NULL;
	if (t == NULL)
		return;
	pthread_mutex_lock(&lock);
	t->since_ns = now_ns();
	pthread_mutex_unlock(&lock);
}

static void *reap(void *arg)
{
	(void)arg;
	const uint64_t deadline = (uint64_t)PROBE_REQUEST_DEADLINE_S * 1000000000u;
	pthread_mutex_lock(&lock);
	while (!stopping) {
		uint64_t now = now_ns();
		for (struct tracked *t = head; t != NULL; t = t->next)
			if (!t->shut && now - t->since_ns > deadline) {
				shutdown(t->fd, SHUT_RDWR);
				t->shut = 1;
			}
		/* a quarter of a second late at most: deadlines are seconds */
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 250000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&wake, &lock, &until);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int probe_reaper_start(void)
{
	stopping = 0;
	return pthread_create(&thread, NULL, reap, NULL);
}

void probe_reaper_stop(void)
{
	pthread_mutex_lock(&lock);
	stopping = 1;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
}
