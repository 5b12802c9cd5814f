/* ctl_json.h — fuseboxctl's --json output, parsed with jansson and held to
 * the contract: required fields by name and type, whole numbers >= 0 for
 * the counts, and a strict reading (one value, no duplicate keys). */
#ifndef FBX_TEST_CTL_JSON_H
#define FBX_TEST_CTL_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The JSON value that is all of text (whitespace aside), with duplicate
 * keys refused; NULL with *err set otherwise. */
json_t *json_strict(const char *text, json_error_t *err);
/* The same, failing the test (naming the last run) when text is not JSON.
 * The value is kept until the test process ends. */
json_t *json_must(const char *text);

/* Member key of object o, NULL when o is not an object or lacks it. */
const json_t *jget(const json_t *o, const char *key);
/* Member key of o, which must be there and of the named kind, else the
 * test fails. */
const json_t *jobj(const json_t *o, const char *key);
const json_t *jarr(const json_t *o, const char *key);
unsigned long long juint(const json_t *o, const char *key); /* a whole number >= 0 */
const char *jstr(const json_t *o, const char *key);
bool jbool(const json_t *o, const char *key);
/* The element of array arr whose "name" is name. */
const json_t *jfind_named(const json_t *arr, const char *name);

extern const char *const breaker_states[5];
/* The keys of a breaker's manual_actions, in fbx_breaker_info's order. */
extern const char *const manual_actions[4];

void check_breaker_schema(const json_t *b);
void check_limiter_schema(const json_t *l);
void check_capacity_schema(const json_t *c);
void check_budget_schema(const json_t *b);
void check_bulkhead_schema(const json_t *h);
void check_cache_schema(const json_t *c);
void check_status_schema(const json_t *s, const char *box);
void check_health_schema(const json_t *h);
void check_worker_schema(const json_t *w);
void check_check_schema(const json_t *c);
/* `health --json [probe]` (probe "--ready", ... or NULL), exiting
 * want_exit (0 or 1), checked. */
const json_t *health_json(const char *box, const char *probe, int want_exit);
/* `workers --json`, `checks --json`, checked: the whole object. */
const json_t *workers_json(const char *box);
const json_t *checks_json(const char *box);

/* `status --json`, `breaker show NAME --json`, `limiter show NAME --json`:
 * run (exit 0), parsed and checked against the schema. */
const json_t *status_json(const char *box);
const json_t *breaker_json(const char *box, const char *name);
const json_t *limiter_json(const char *box, const char *name);
/* `budget|bulkhead|cache show NAME --json`, checked. */
const json_t *budget_json(const char *box, const char *name);
const json_t *bulkhead_json(const char *box, const char *name);
const json_t *cache_json(const char *box, const char *name);
/* `budgets --json`, `bulkheads --json` or `caches --json` (cmd), checked:
 * the array. */
const json_t *resilience_listing_json(const char *box, const char *cmd);
const char *breaker_state(const char *box, const char *name);
unsigned long long breaker_count(const char *box, const char *name, const char *field);
/* `breaker show NAME --json`, polled (bounded) until it says trial_due:
 * an open breaker whose open period is over and that no call has tried. */
const json_t *breaker_wait_due(const char *box, const char *name);
/* `events --json`, checked (oldest first); the events array. */
const json_t *events_json(const char *box);
/* The last element of array a. */
const json_t *jlast(const json_t *a);

#endif
