/* fuzz.h — what the fuzz targets share. */
#ifndef FBX_FUZZ_H
#define FBX_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

/* Where checks report.  The targets that run fuseboxctl's code point the
 * stderr stream elsewhere to silence it (libFuzzer and the sanitizers keep
 * writing to fd 2): this keeps the stream that was there first. */
static FILE *fuzz_err;

static inline void fuzz_keep_stderr(void)
{
	if (fuzz_err == NULL)
		fuzz_err = stderr;
}

/* A broken promise is a finding like a crash: abort, and libFuzzer keeps
 * the input.  run.sh shows the line. */
#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(fuzz_err ? fuzz_err : stderr, "%s:%d: check failed: %s\n", \
				__FILE__, __LINE__, #cond);                           \
			abort();                                                      \
		}                                                                     \
	} while (0)

/* For the checks themselves: their own coverage would slow the runs and
 * reward inputs for the shape of the output rather than of what is read.
 * (Not inlined: the caller's instrumentation would cover them again.) */
#define UNCOVERED __attribute__((no_sanitize("coverage"), noinline))

#endif
