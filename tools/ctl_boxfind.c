/* ctl_boxfind.c — which box a tool uses when the user named none (boxfind.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boxfind.h"
#include "fusebox.h"

/* Enough to name them in one line; a host with more is told how many. */
#define LISTED 8

static void copy(char *out, size_t outlen, const char *s)
{
	if (outlen > 0)
		snprintf(out, outlen, "%s", s);
}

enum box_found box_find(const char *given, char *out, size_t outlen, char *msg, size_t msglen)
{
	if (msglen > 0)
		msg[0] = '\0';
	if (given == NULL || given[0] == '\0')
		given = getenv("FUSEBOX_BOX");
	if (given != NULL && given[0] != '\0') {
		copy(out, outlen, given);
		return BOX_NAMED;
	}
	fbx_box_name names[LISTED];
	size_t n;
	if (fbx_box_list(names, LISTED, &n) != 0) {
		if (msglen > 0)
			snprintf(msg, msglen, "no -b, and the boxes in /dev/shm cannot be listed "
					      "(name one: -b NAME or FUSEBOX_BOX=NAME)");
		return BOX_ERROR;
	}
	if (n == 1) {
		copy(out, outlen, names[0].name);
		return BOX_ONLY;
	}
	if (n == 0) {
		if (msglen > 0)
			snprintf(msg, msglen, "no box on this host (a service creates its box when it "
					      "starts; name one with -b NAME or FUSEBOX_BOX=NAME)");
		return BOX_NONE;
	}
	if (msglen > 0) {
		size_t at = (size_t)snprintf(msg, msglen, "no -b and %zu boxes on this host: ", n);
		for (size_t i = 0; i < n && i < LISTED && at < msglen; i++)
			at += (size_t)snprintf(msg + at, msglen - at, "%s%s", i ? ", " : "", names[i].name);
		if (n > LISTED && at < msglen)
			at += (size_t)snprintf(msg + at, msglen - at, ", ...");
		if (at < msglen)
			at += (size_t)snprintf(msg + at, msglen - at,
					       "; pick one: -b NAME or FUSEBOX_BOX=NAME");
		if (n > LISTED && at < msglen)
			snprintf(msg + at, msglen - at, " (fuseboxctl ls lists all %zu)", n);
	}
	return BOX_SEVERAL;
}
