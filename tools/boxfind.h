/* boxfind.h — which box a tool uses when the user named none.
 *
 * -b NAME wins, then $FUSEBOX_BOX; otherwise the only box on the host.
 * With several, the tool lists them and says how to pick one; with none, it
 * says so.  Never "default" silently: in an incident, advice to create a box
 * that does not exist makes an empty one, and a console waiting for it shows
 * nothing while the service's box is elsewhere. */
#ifndef FBX_BOXFIND_H
#define FBX_BOXFIND_H

#include <stddef.h>

enum box_found {
	BOX_NAMED = 0,    /* -b or $FUSEBOX_BOX named it (it may not exist) */
	BOX_ONLY = 1,     /* none named: the only box on the host */
	BOX_NONE = 2,     /* none named and there is none */
	BOX_SEVERAL = 3,  /* none named and there are several */
	BOX_ERROR = 4,    /* the host's boxes could not be listed */
};

/* given: the -b value or NULL.  On BOX_NAMED and BOX_ONLY the name is in
 * out; otherwise msg (if msglen > 0) holds one line, without "PROGRAM: "
 * and without a newline, saying what was found and what to do, e.g.
 * "no -b and 2 boxes on this host: api, jobs; pick one: -b NAME or FUSEBOX_BOX=NAME". */
enum box_found box_find(const char *given, char *out, size_t outlen, char *msg, size_t msglen);

#endif
