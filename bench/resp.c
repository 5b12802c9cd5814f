/* resp.c — see resp.h. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "resp.h"

#define RBUF 16384

struct resp_conn {
	int fd;
	size_t start, end;
	char buf[RBUF];
};

int resp_connect(const char *host, int port, resp_conn **out)
{
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	resp_conn *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return -1;
	}
	c->fd = fd;
	*out = c;
	return 0;
}

void resp_close(resp_conn *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c);
}

static int fill(resp_conn *c)
{
	if (c->start > 0 && c->start == c->end)
		c->start = c->end = 0;
	if (c->end == RBUF) {
		if (c->start == 0)
			return -1; /* a line longer than the buffer */
		memmove(c->buf, c->buf + c->start, c->end - c->start);
		c->end -= c->start;
		c->start = 0;
	}
	for (;;) {
		ssize_t n = read(c->fd, c->buf + c->end, RBUF - c->end);
		if (n > 0) {
			c->end += (size_t)n;
			return 0;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return -1;
	}
}

/* Next CRLF-terminated line, without the CRLF, NUL-terminated in place. */
static char *read_line(resp_conn *c)
{
	for (;;) {
		char *s = c->buf + c->start;
		char *cr = memchr(s, '\r', c->end - c->start);
		if (cr != NULL && cr + 1 < c->buf + c->end) {
			if (cr[1] != '\n')
				return NULL;
			*cr = '\0';
			c->start = (size_t)(cr + 2 - c->buf);
			return s;
		}
		if (fill(c) != 0)
			return NULL;
	}
}

/* Copies up to cap-1 of the next n bytes into dst, drops the rest and CRLF. */
static int read_bulk(resp_conn *c, int64_t n, char *dst, size_t cap)
{
	size_t want = (size_t)n + 2, copied = 0;
	while (want > 0) {
		if (c->start == c->end && fill(c) != 0)
			return -1;
		size_t have = c->end - c->start;
		size_t take = have < want ? have : want;
		size_t data = want > 2 ? want - 2 : 0; /* payload bytes still unread */
		size_t to_copy = take < data ? take : data;
		if (dst != NULL) {
			size_t room = cap > copied + 1 ? cap - 1 - copied : 0;
			size_t k = to_copy < room ? to_copy : room;
			memcpy(dst + copied, c->buf + c->start, k);
			copied += k;
		}
		c->start += take;
		want -= take;
	}
	if (dst != NULL && cap > 0)
		dst[copied] = '\0';
	return 0;
}

static int read_reply(resp_conn *c, resp_reply *r, int depth)
{
	char *line = read_line(c);
	if (line == NULL || line[0] == '\0' || depth > 8)
		return -1;
	char type = line[0];
	if (r != NULL) {
		r->type = type;
		r->integer = 0;
		r->text[0] = '\0';
	}
	switch (type) {
	case '+':
	case '-':
		if (r != NULL)
			snprintf(r->text, sizeof(r->text), "%s", line + 1);
		return 0;
	case ':':
		if (r != NULL)
			r->integer = strtoll(line + 1, NULL, 10);
		return 0;
	case '$': {
		int64_t n = strtoll(line + 1, NULL, 10);
		if (r != NULL)
			r->integer = n;
		if (n < 0)
			return 0;
		return read_bulk(c, n, r ? r->text : NULL, r ? sizeof(r->text) : 0);
	}
	case '*': {
		int64_t n = strtoll(line + 1, NULL, 10);
		if (r != NULL)
			r->integer = n;
		for (int64_t i = 0; i < n; i++)
			if (read_reply(c, NULL, depth + 1) != 0)
				return -1;
		return 0;
	}
	default:
		return -1;
	}
}

size_t resp_encode(char *buf, size_t cap, int argc, const char *const *argv)
{
	size_t off = 0;
	int n = snprintf(buf, cap, "*%d\r\n", argc);
	if (n < 0 || (size_t)n >= cap)
		return 0;
	off = (size_t)n;
	for (int i = 0; i < argc; i++) {
		size_t len = strlen(argv[i]);
		n = snprintf(buf + off, cap - off, "$%zu\r\n", len);
		if (n < 0 || (size_t)n >= cap - off || off + (size_t)n + len + 2 > cap)
			return 0;
		off += (size_t)n;
		memcpy(buf + off, argv[i], len);
		off += len;
		memcpy(buf + off, "\r\n", 2);
		off += 2;
	}
	return off;
}

int resp_roundtrip(resp_conn *c, const char *req, size_t len, resp_reply *r)
{
	size_t sent = 0;
	while (sent < len) {
		ssize_t n = write(c->fd, req + sent, len - sent);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		sent += (size_t)n;
	}
	return read_reply(c, r, 0);
}

int resp_command(resp_conn *c, int argc, const char *const *argv, resp_reply *r)
{
	char *buf = malloc(65536);
	if (buf == NULL)
		return -1;
	size_t len = resp_encode(buf, 65536, argc, argv);
	int rc = len == 0 ? -1 : resp_roundtrip(c, buf, len, r);
	free(buf);
	return rc;
}
