/*
 * resp.h — a tiny blocking Redis client: RESP2 over one TCP connection.
 * Enough for PING, INFO, SCRIPT LOAD and EVALSHA; not a general client.
 */
#ifndef RESP_H
#define RESP_H

#include <stddef.h>
#include <stdint.h>

typedef struct resp_conn resp_conn;

/* A reply's type ('+', '-', ':', '$', '*') and its scalar value: text for
 * simple strings, errors and bulk strings (cut to fit, NUL-terminated),
 * the number for integers, the length for bulk strings and arrays (-1 for
 * nil).  Array elements are read and dropped. */
typedef struct resp_reply {
	char type;
	int64_t integer;
	char text[4096];
} resp_reply;

int resp_connect(const char *host, int port, resp_conn **out);
void resp_close(resp_conn *c);

/* Encodes argv as a RESP array into buf; returns its length, or 0 when it
 * does not fit. */
size_t resp_encode(char *buf, size_t cap, int argc, const char *const *argv);
/* Sends len bytes already encoded, then reads one reply.  0 or -1. */
int resp_roundtrip(resp_conn *c, const char *req, size_t len, resp_reply *r);
/* Encodes, sends and reads in one go.  0 or -1. */
int resp_command(resp_conn *c, int argc, const char *const *argv, resp_reply *r);

#endif /* RESP_H */
