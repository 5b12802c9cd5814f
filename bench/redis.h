/*
 * redis.h — a private redis-server for the bench: started on a free
 * loopback port as our child, stopped at the end (and by cleanup.c on any
 * exit path; PR_SET_PDEATHSIG kills it if the bench itself is killed).
 */
#ifndef BENCH_REDIS_H
#define BENCH_REDIS_H

#include <stddef.h>

#include <hiredis/hiredis.h>

/* Finds redis-server in PATH (and /usr/sbin, /usr/bin), or takes the one
 * FUSEBOX_BENCH_REDIS_SERVER names (empty: none); 0 if found. */
int redis_server_find(char *path, size_t len);
/* Starts it and waits until it answers PING.  0 on success, *port set. */
int redis_server_start(const char *path, int *port);
void redis_server_stop(void);
/* A blocking hiredis connection to it on loopback (hiredis sets
 * TCP_NODELAY), with timeouts so that a wedged server cannot hang the
 * bench; NULL when it fails. */
redisContext *redis_connect(int port);

/* The sliding-window script: KEYS[1] = key, ARGV[1] = limit,
 * ARGV[2] = window in seconds; returns 1 (admitted) or 0. */
extern const char redis_window_script[];

#endif /* BENCH_REDIS_H */
