/* helpers.h — what the test files share: box names, a fake clock. */
#ifndef FBX_TEST_HELPERS_H
#define FBX_TEST_HELPERS_H

#include <stdint.h>

#include "fusebox.h"

/* A box name unique to this process and call ("t12345-3"). */
const char *tbox_name(void);
/* A box name PREFIX<runner pid>_<test pid>_<n>: the runner (the parent of
 * every forked test) can tsweep(PREFIX) whatever a failed or killed test
 * left in /dev/shm. */
const char *tname(const char *prefix);
void tsweep(const char *prefix);
/* Creates a fresh box with small capacities (cfg may be NULL) and unlinks
 * it at exit of the test process; fails the test on error. */
fbx_box *tbox_create(const fbx_box_config *cfg);
/* The unlink half of tbox_create, for tests that close early. */
void tbox_unlink(fbx_box *box);

/* A fake clock in MAP_SHARED memory, so forked children see the same
 * time.  tclock_install() starts it at 1000 s and substitutes it. */
void tclock_install(void);
void tclock_advance_ms(uint64_t ms);
void tclock_set_ns(uint64_t ns);
uint64_t tclock_ns(void);

/* Waits for a forked child and returns its exit status (-1 on signal). */
int twait(pid_t pid);

#endif
