/* helpers.h — what the test files share, so that each file holds only its
 * tests: box names and clean-up, a fake clock, processes, snapshots, and
 * the harnesses of the limiter and threads suites.
 *
 * Every function here that can fail fails the calling test (check's
 * assertions), unless it says it returns an error. */
#ifndef FBX_TEST_HELPERS_H
#define FBX_TEST_HELPERS_H

#include <check.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fusebox.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* For printing uint64_t with %llu on every platform. */
typedef unsigned long long ull;

/* ---- box names and clean-up -------------------------------------------- */

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

/* The small capacities the box tests are written for (16 breakers, 8
 * limiters, 256 keys, 64 events, 16 workers, 4 checks). */
void tbox_config_small(fbx_box_config *c);
/* Creates box NAME exclusively, with cfg or tbox_config_small; the caller
 * unlinks it (the box tests look at the name in /dev/shm). */
fbx_box *tbox_create_named(const char *name, const fbx_box_config *cfg);
/* Creates a box under tname(prefix) and unlinks the name at once: the
 * mapping stays, and nothing is left behind whatever becomes of the test. */
fbx_box *tbox_create_unlinked(const char *prefix, const fbx_box_config *cfg);
/* A box (tbox_create_named) holding one breaker, "ro-b", with 4 successes
 * and one limiter, "ro-l" (10/second), with one allowed take. */
fbx_box *tbox_populated(const char *name, uint32_t mode);
/* The snapshot suites' boxes: tbox_config_small with 8 breakers and 8
 * workers, created by tsnap_box (cfg NULL: those) under names that
 * tsnap_sweep removes, and unlinked at once. */
void tbox_config_snap(fbx_box_config *c);
fbx_box *tsnap_box(const fbx_box_config *cfg);
void tsnap_sweep(void);
/* A second handle on the same box, as another process would have. */
fbx_box *treopen(fbx_box *box);

/* "/dev/shm/fusebox.NAME" and the shm_open() name "/fusebox.NAME". */
void tshm_path(char out[128], const char *name);
void tshm_obj(char out[128], const char *name);
int tshm_exists(const char *name);

/* ---- a fake clock -------------------------------------------------------- */

/* A fake clock in MAP_SHARED memory, so forked children see the same
 * time.  tclock_install() starts it at 1000 s and substitutes it. */
void tclock_install(void);
void tclock_advance_ms(uint64_t ms);
void tclock_set_ns(uint64_t ns);
uint64_t tclock_ns(void);

/* Durations in nanoseconds. */
#define T_MS(x) ((uint64_t)(x) * 1000000ull)
#define T_S(x) ((uint64_t)(x) * 1000000000ull)
#define T_MIN(x) T_S((uint64_t)(x) * 60)
#define T_HOUR(x) T_S((uint64_t)(x) * 3600)
#define T_DAY(x) T_S((uint64_t)(x) * 86400)
/* A whole number of days: every window of every rule the limiter tests use
 * starts on it, so positions "in the window" are known exactly. */
#define T_DAY0 T_DAY(100)

/* Sleeps on the real clock, through signals. */
void tsleep_ms(long ms);

/* ---- processes ------------------------------------------------------------ */

/* Waits for a forked child and returns its exit status (-1 on signal). */
int twait(pid_t pid);
/* fork(), failing the test when it cannot. */
pid_t tfork(void);
/* Runs child(arg) in a forked process and returns its exit status, as
 * twait: the child exits with what child() returns. */
int tfork_wait(int (*child)(void *), void *arg);

#define TNOBODY 65534
/* In a forked child: drops to user and group "nobody", or exits 100/101. */
void tbecome_nobody(void);

/* ---- breakers and snapshots ---------------------------------------------- */

/* Registers breaker NAME (cfg NULL: the defaults). */
fbx_breaker *tbreaker_reg(fbx_box *box, const char *name, const fbx_breaker_config *cfg);
/* The defaults, with fail_max so high that tests counting outcomes never
 * trip the breaker. */
void tbreaker_config_no_trip(fbx_breaker_config *c);
/* One admitted call with outcome o lasting dur ns. */
void tbreaker_call(fbx_breaker *b, fbx_outcome o, uint64_t dur);
/* succ successes, then fail failures, then ign ignored calls. */
void tbreaker_outcomes(fbx_breaker *b, int succ, int fail, int ign);

/* A new snapshot of box, taken. */
fbx_snapshot *tsnap_of(fbx_box *box);
/* The snapshot's record of NAME, or NULL. */
const fbx_breaker_info *tsnap_breaker(const fbx_snapshot *s, const char *name);
const fbx_limiter_info *tsnap_limiter(const fbx_snapshot *s, const char *name);
/* The same, failing the test when the record is missing or damaged. */
const fbx_breaker_info *tneed_breaker(const fbx_snapshot *s, const char *name);
const fbx_limiter_info *tneed_limiter(const fbx_snapshot *s, const char *name);
/* Takes s again from box, then as tneed_*. */
const fbx_breaker_info *tbreaker_info(fbx_box *box, fbx_snapshot *s, const char *name);
const fbx_limiter_info *tlimiter_info(fbx_box *box, fbx_snapshot *s, const char *name);
/* A copy of the record as a fresh snapshot shows it: exactly one record
 * of the name, not damaged. */
fbx_breaker_info tbreaker_now(fbx_box *box, const char *name);
fbx_limiter_info tlimiter_now(fbx_box *box, const char *name);

/* ev[0..n) are numbered from first on, in time order. */
void tevents_in_order(const fbx_event *ev, size_t n, uint64_t first);

/* ---- limiters ------------------------------------------------------------- */

/* A box for the limiter tests: 4 breakers, 64 events, 8 workers. */
fbx_box *tlim_box(uint32_t limiters, uint32_t keys);
void tlim_config(fbx_limiter_config *cfg, const char *rule, fbx_algorithm algo, uint32_t burst,
		 int keyed, int dry);
fbx_limiter *tlim_reg(fbx_box *box, const char *name, const char *rule, fbx_algorithm algo,
		      uint32_t burst, int keyed, int dry);
/* One take; the result is prefilled with junk so that every field the
 * library must write is seen written. */
int tlim_take(fbx_limiter *l, const char *key, uint32_t cost, fbx_limit_result *res);
/* What every decision must look like, whatever the figures (the clock is
 * the fake one). */
void tlim_shape(int rc, const fbx_limit_result *r, const char *what);
/* A global take at time t on the fake clock, checked as tlim_shape. */
int tlim_take_at(fbx_limiter *l, uint64_t t, uint32_t cost, fbx_limit_result *res,
		 const char *what);
/* Whether two results carry the same figures. */
int tlim_same(const fbx_limit_result *a, const fbx_limit_result *b);
/* The limiter's allowed, denied and dry-run-denied counts are these. */
void tlim_counts(fbx_box *box, const char *name, uint64_t allowed, uint64_t denied,
		 uint64_t dry_denied);
/* The longest period of a rule. */
uint64_t trule_max_period(const char *text);

/* Fixed-seed LCG (Knuth's MMIX constants): "random" runs that are the same
 * every time. */
uint64_t trnd(uint64_t *s);

/* Admitted takes of a simulated run, in time order. */
struct tadm {
	uint64_t t;
	uint64_t cost;
};
/* Largest admitted cost in any half-open window [s, s + period). */
uint64_t tmax_sliding(const struct tadm *a, size_t n, uint64_t period);
/* Largest admitted cost in any window aligned to the clock. */
uint64_t tmax_aligned(const struct tadm *a, size_t n, uint64_t period);

/* A long arrival sequence against one limiter: random gaps, idle
 * stretches, clients that retry exactly when told. */
struct tlim_seq {
	const char *rule;
	fbx_algorithm algo;
	uint32_t burst;
	uint32_t max_cost;
};
#define TLIM_SEQ_STEPS 4000
/* Runs it; returns the admitted takes (the caller frees them).  With
 * probe_retry, every denial is checked to be exact: denied 1 ns before its
 * retry-after, admitted at it. */
struct tadm *tlim_run_sequence(fbx_limiter *l, const struct tlim_seq *row, uint64_t period,
			       uint64_t limit, uint64_t seed, size_t *n_adm, uint64_t *n_denied,
			       int probe_retry);

/* tlim_run_sequence on limiter NAME of a fresh tlim_box(4, 64) (in *box),
 * with the period and count of the rule's first limit (in *rule). */
struct tadm *tlim_sequence_run(fbx_box **box, const char *name, const struct tlim_seq *row,
			       uint64_t seed, int probe_retry, fbx_rule *rule, size_t *n_adm,
			       uint64_t *n_denied);

/* ---- the threads suites --------------------------------------------------- */

/* Their fixture: a box opened with FBX_OPEN_THREADS, on a fake clock frozen
 * before the box exists (breaker deadlines count from its creation, and
 * limits can only be exact on a clock that stands still). */
#define TTHREADS_PREFIX "th"
#define TTHREADS_EVENTS 8192 /* no test wraps the ring: event counts are exact */
#define TTHREADS_N 4
extern fbx_box *tthreads_box;
void tthreads_setup(void);
void tthreads_teardown(void);
/* Unchecked: a test that crashed or timed out never reached its teardown. */
void tthreads_sweep(void);

/* Threads never call check's assertions (a failing one ends the process
 * from whichever thread it is in): they note the first surprise, and the
 * test's own thread asserts after joining them. */
struct tsurprise {
	int line; /* 0: none */
	int value; /* a return code, or what was seen instead */
	const char *what;
};
#define TNOTE(s, cond, r)                                                                \
	do {                                                                             \
		if (!(cond) && (s)->line == 0) {                                         \
			(s)->line = __LINE__;                                            \
			(s)->value = (r);                                                \
			(s)->what = #cond;                                               \
		}                                                                        \
	} while (0)
void tno_surprise(const struct tsurprise *s, int thread);

/* Every thread of a test, and the test's thread when it takes part,
 * passes this before doing anything, so they all start together. */
extern pthread_barrier_t tline_up;
/* n threads on fn(args + i * size), lined up with barrier_parties. */
void tthreads_start(pthread_t *th, int n, void *(*fn)(void *), void *args, size_t size,
		    unsigned barrier_parties);
void tthreads_join(pthread_t *th, int n);
/* n threads, all started at once; returns when all are done. */
void tthreads_run(int n, void *(*fn)(void *), void *args, size_t size);

/* Every event so far, oldest first (the caller frees them); none may be
 * corrupt once the writers are done, and none dropped. */
fbx_event *tevents_all(fbx_box *box, size_t *n);
/* Events of this kind, with this cause (-1: any) and record (NULL: any). */
size_t tcount_events(const fbx_event *ev, size_t n, fbx_event_kind kind, int cause,
		     const char *rec);

#endif
