/*
 * redis.h — a private redis-server for the bench: started on a free
 * loopback port as our child, stopped at the end (and by cleanup.c on any
 * exit path; PR_SET_PDEATHSIG kills it if the bench itself is killed).
 */
#ifndef BENCH_REDIS_H
#define BENCH_REDIS_H

#include <stddef.h>

/* Finds redis-server in PATH (and /usr/sbin, /usr/bin), or takes the one
 * FUSEBOX_BENCH_REDIS_SERVER names (empty: none); 0 if found. */
int redis_server_find(char *path, size_t len);
/* Starts it and waits until it answers PING.  0 on success, *port set. */
int redis_server_start(const char *path, int *port);
void redis_server_stop(void);

/* The sliding-window script: KEYS[1] = key, ARGV[1] = limit,
 * ARGV[2] = window in seconds; returns 1 (admitted) or 0. */
extern const char redis_window_script[];

#endif /* BENCH_REDIS_H */
