/* catalogue_harness.h — what the two catalogue suites share: running the
 * tools as a row of docs/HOSTILE-INPUTS.md says, and the scratch objects a
 * row's box column asks for (a ready box, a FIFO, a link, noise, a box of
 * a newer layout, ...) under a box's name.
 *
 * Scratch names are cg<runner pid>_<test pid>_<n> and files
 * /tmp/fbxcg<runner pid>_..., so that catalogue_sweep(), an unchecked
 * fixture run in the runner, removes what a failed test left. */
#ifndef FBX_TEST_CATALOGUE_HARNESS_H
#define FBX_TEST_CATALOGUE_HARNESS_H

#include <stdbool.h>

#include "spawn.h"

#define CG_PREFIX "cg"

/* s with control bytes escaped, for failure messages about rows that are
 * about control characters; from a small ring of buffers. */
const char *shown(const char *s);

/* The path of the program a command cell names ("fuseboxctl",
 * "fusebox-top"); NULL for another. */
const char *program(const char *word);

/* Runs argv (argv[0] a path) as the catalogue says rows run: with
 * LC_ALL=C (messages quoting strerror are the same in every locale),
 * without NO_COLOR, with FUSEBOX_BOX=box and then env ("NAME=VALUE", may
 * be NULL), as nobody when asked.  Fails the test when it cannot run. */
void run_tool(const char *const *argv, const char *const *env, const char *box, bool nobody,
	      struct spawn_result *res);

struct scratch {
	char name[40];
	char path[128];  /* /dev/shm/fusebox.NAME */
	char target[40]; /* symlink: the box it points to */
	bool nobody;     /* run the tool as user nobody */
	bool pristine;   /* a ready box (ready_box_make) */
};

/* Sets up s for the kind named in a box cell; false for a kind this run
 * cannot make (as nobody, without root), which where names is skipped. */
bool scratch_prepare(struct scratch *s, const char *kind, const char *where);
void scratch_remove(const struct scratch *s);
/* Whether anything, a dangling link included, is at path. */
bool object_exists(const char *path);

void catalogue_sweep(void);

#endif
