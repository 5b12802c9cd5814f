/*
 * debug.h — invariant assertions, compiled in only when FBX_DEBUG is
 * defined (make asan does).
 *
 * An assertion states what this process's own code guarantees: a word it
 * has just packed unpacks to the fields it packed, a slot it writes is its
 * own by its local handle, an offset it computed from validated capacities
 * lies inside the mapping, a generation it computed moves forward.  Never
 * assert a property of a value read from the segment: another process may
 * have written anything there, and the library answers that with an error
 * code, never an abort (docs/DESIGN.md R10).  docs/DESIGN.md lists the
 * invariants asserted.
 *
 * Without FBX_DEBUG (or with NDEBUG, which would empty assert) the
 * condition is never evaluated — `0 &&` stops before it, and the compiler
 * drops it — yet it is still compiled: the variables and helpers it names
 * are not reported unused (clang reports a helper named only inside sizeof
 * as unneeded), and a condition that stops compiling is seen in every
 * build.
 */
#ifndef FBX_DEBUG_H
#define FBX_DEBUG_H

#if defined(FBX_DEBUG) && !defined(NDEBUG)
#include <assert.h>
#define FBX_ASSERT(cond) assert(cond)
#else
#define FBX_ASSERT(cond) ((void)(0 && (cond)))
#endif

#endif /* FBX_DEBUG_H */
