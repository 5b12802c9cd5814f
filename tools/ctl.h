/* ctl.h — what the parts of fuseboxctl share. */
#ifndef FBX_CTL_H
#define FBX_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "fusebox.h"

/* Exit codes follow grep: yes, no, error; EX_TEMPFAIL when a breaker rejects. */
enum { CTL_YES = 0, CTL_NO = 1, CTL_ERR = 2, CTL_REJECTED = 75 };

struct ctl {
	/* -b BOX, $FUSEBOX_BOX, else the only box on the host (create:
	 * "default"); "" for ls, which needs none */
	const char *box;
	int argc;          /* the command's own arguments */
	char **argv;
};

/* Prints "fuseboxctl: " and the message on stderr; returns CTL_ERR. */
int ctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same for a library error: "fuseboxctl: WHAT: fbx_strerror(rc)". */
int ctl_fail_rc(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Says why box could not be opened; for a refused or unreadable object,
 * whose it is and what to do. */
int ctl_fail_open(int rc, const char *box);
/* Opens the box (read-only when write is false); on failure prints why. */
int ctl_open(const struct ctl *c, bool write, fbx_box **out);
/* Opens the box read-only and copies it; ctl_snapshot_close() ends both. */
int ctl_snapshot(const struct ctl *c, fbx_box **box, fbx_snapshot **snap);
void ctl_snapshot_close(fbx_box *box, fbx_snapshot *snap);

/* Argument parsing: each returns 0, or prints what was wrong and returns CTL_ERR. */
int ctl_u32(const char *what, const char *s, uint32_t min, uint32_t max, uint32_t *out);
/* 0 or a power of two from 2 to max (a log's slots: a ring indexed by a mask). */
int ctl_pow2(const char *what, const char *s, uint32_t max, uint32_t *out);
int ctl_duration(const char *what, const char *s, uint64_t *ns);
int ctl_pct(const char *what, const char *s, uint32_t *out);
int ctl_mode(const char *what, const char *s, uint32_t *out);
int ctl_group(const char *what, const char *s, gid_t *out);

/* Options of one command: "--name VALUE" pairs and flags, in any order,
 * up to "--" or the end.  Unknown options are errors. */
struct ctl_opt {
	const char *name;   /* "--fail-max" */
	bool takes_value;
	const char *value;  /* filled: the value, or "" for a flag that was given */
};
/* Splits argv into options (matched against opts) and positionals;
 * stops at "--" and returns the index after it in *rest (or argc). */
int ctl_options(int argc, char **argv, struct ctl_opt *opts, size_t nopts,
		char **pos, size_t maxpos, size_t *npos, int *rest);
const char *ctl_opt(const struct ctl_opt *opts, size_t nopts, const char *name);
/* For a command that takes nothing after "--": 0, or says what was there. */
int ctl_end(int argc, char **argv, int rest);
/* 0 when --reason's value (NULL: none given) may go into the audit trail:
 * short enough, and no control character (it is read on terminals). */
int ctl_reason(const char *value);

/* JSON output. */
void json_str(FILE *f, const char *s);

/* The commands. */
int cmd_create(struct ctl *c);
int cmd_destroy(struct ctl *c);
int cmd_ls(struct ctl *c);
int cmd_breaker(struct ctl *c);
int cmd_limiter(struct ctl *c);
int cmd_status(struct ctl *c);
int cmd_events(struct ctl *c);
int cmd_metrics(struct ctl *c);
int cmd_health(struct ctl *c);
int cmd_workers(struct ctl *c);
int cmd_checks(struct ctl *c);
int cmd_check(struct ctl *c);
int cmd_drain(struct ctl *c);
int cmd_started(struct ctl *c);
int cmd_budget(struct ctl *c);
int cmd_budgets(struct ctl *c);
int cmd_bulkhead(struct ctl *c);
int cmd_bulkheads(struct ctl *c);
int cmd_cache(struct ctl *c);
int cmd_caches(struct ctl *c);

/* "1 breaker", "2 breakers": the noun for a count, one or many. */
const char *noun(uint64_t n, const char *one, const char *many);

/* Shared by status / show / metrics. */
void show_breaker_text(FILE *f, const fbx_breaker_info *b);
/* The state as text: fbx_breaker_state_label(), or "open, trial due". */
const char *breaker_state_text(const fbx_breaker_info *b);
/* A duration as "350ms", "12s", "2m13s", "3h05m" or "4d02h". */
void age_text(char *buf, size_t len, uint64_t ns);
/* The last operator action: "reset 2m13s ago by uid 1000 (ann) pid 4242:
 * why". */
void operator_text(char *buf, size_t len, const fbx_breaker_info *b);
/* "tripped by uid 1000 (ann) 2m43s ago: INC-1": who put a forced breaker
 * where it is, and why, for an action that changed nothing. */
void operator_record(char *buf, size_t len, const fbx_breaker_info *b);
/* versioned: the object stands alone (show), not inside status's arrays */
void show_breaker_json(FILE *f, const fbx_breaker_info *b, bool versioned);
/* top: how many of the most denied keys to list (0: none) */
void show_limiter_text(FILE *f, const fbx_limiter_info *l, uint32_t top);
void show_limiter_json(FILE *f, const fbx_limiter_info *l, bool versioned, uint32_t top);
/* The box's size and capacities, with what a key of each kind costs. */
void show_capacity_text(FILE *f, const fbx_box_info *bi);
void show_capacity_json(FILE *f, const fbx_box_info *bi);
/* GCRA: the most a limiter admits in any period, count + burst - 1 for
 * each limit, as a rule ("14/second"). */
void gcra_worst(const fbx_limiter_info *l, char *buf, size_t len);
/* An event's time on the wall clock, RFC 3339 UTC with milliseconds
 * ("2026-11-30T15:55:20.123Z"): the wall clock now less the event's age,
 * now_ns - time_ns, on the monotonic clock the ring keeps. */
void event_wall_time(char *buf, size_t len, uint64_t time_ns, uint64_t now_ns);
/* Who began the box's drain and why, from the newest drain event the
 * snapshot's ring holds: "began 5s ago (2026-11-30T15:55:20.123Z) by uid
 * 0 (root) pid 42: deploy"; "" when the ring no longer holds it. */
void drain_text(char *buf, size_t len, const fbx_snapshot *s);
/* Workers, checks and health (ctl_health.c), for status, workers, checks
 * and health. */
enum health_probe { PROBE_AGGREGATE, PROBE_LIVE, PROBE_READY, PROBE_STARTUP };
struct health_verdict {
	bool pass;          /* exit 0 */
	char verdict[16];   /* "ready", "not ready", "degraded", ... */
	char reason[320];   /* why, when there is something to say ("" otherwise) */
};
void health_verdict(const fbx_snapshot *s, enum health_probe probe, struct health_verdict *v);
/* "alive", "dead: gone", "dead: stale" or "damaged". */
const char *worker_state_text(const fbx_worker_info *w);
void show_health_text(FILE *f, const fbx_snapshot *s);
void show_health_json(FILE *f, const fbx_health *h);
void show_workers_text(FILE *f, const fbx_worker_info *w, size_t n);
void show_worker_json(FILE *f, const fbx_worker_info *w);
void show_checks_text(FILE *f, const fbx_check_info *c, size_t n);
void show_check_json(FILE *f, const fbx_check_info *c);
/* Retry budgets, bulkheads and caches (ctl_resilience.c), for their
 * commands, status and create.  A table prints its heading and a row per
 * record; a JSON object stands alone (show) when versioned. */
const fbx_budget_info *find_budget(const fbx_snapshot *s, const char *name);
const fbx_bulkhead_info *find_bulkhead(const fbx_snapshot *s, const char *name);
const fbx_cache_info *find_cache(const fbx_snapshot *s, const char *name);
void show_budgets_text(FILE *f, const fbx_budget_info *b, size_t n);
void show_bulkheads_text(FILE *f, const fbx_bulkhead_info *h, size_t n);
void show_caches_text(FILE *f, const fbx_cache_info *c, size_t n);
void show_budget_json(FILE *f, const fbx_budget_info *b, bool versioned);
void show_bulkhead_json(FILE *f, const fbx_bulkhead_info *h, bool versioned);
void show_cache_json(FILE *f, const fbx_cache_info *c, bool versioned);
/* The options that would add the record as it is ("--percent 20
 * --min-per-sec 10 --ttl 10s"), for a conflict's message; a static buffer. */
const char *budget_policy_options(const fbx_budget_info *b);
const char *cache_policy_options(const fbx_cache_info *c);
const fbx_breaker_info *find_breaker(const fbx_snapshot *s, const char *name);
const fbx_limiter_info *find_limiter(const fbx_snapshot *s, const char *name);

#endif
