/*
 * chaos_recover.c — after the chaos, nothing stays wedged.
 *
 * With every worker gone the master plays a healthy upstream: each
 * breaker must come back to CLOSED through its ordinary open period and
 * trials, whatever leases the dead left behind (a lease past its deadline
 * may make a call fail over to OPEN, never keep the breaker half-open
 * full); the registry lock that a killed registrar held must be
 * repaired; every keyed limiter must admit a key it has never seen, and a
 * global limiter must admit once the Retry-After it gives has passed.
 * Bounds are generous (open periods and leases here are at most 2 s);
 * they only keep a wedged breaker from hanging the run.
 */
#include <stdio.h>
#include <string.h>

#include "chaos.h"
#include "internal.h"

#define DRIVE_NS (15 * CHAOS_SEC)
#define DRIVE_CALLS 20000
#define SLACK_MS 10

static uint64_t now_ms(const struct chaos_run *run)
{
	uint64_t now = chaos_now();
	return now > run->created_ns ? (now - run->created_ns) / CHAOS_MS : 0;
}

/* HALF_OPEN_FULL needs a live lease of the current generation: one whose
 * deadline had not passed when the library read its clock.  Slack for the
 * coarse clock, which lags. */
static void check_full(const struct chaos_run *run, unsigned b, uint64_t before_ms)
{
	static const char inv[] = "nothing-wedged";
	struct fbx__breaker_rec *rec = run->br[b]->rec;
	uint64_t st = atomic_load(&rec->state);
	chaos_checked(inv, 1);
	for (uint32_t k = 0; k < chaos_breakers[b].cfg.half_open_max; k++) {
		uint64_t l = atomic_load(&rec->lease[k]);
		if (l != 0 && FBX__LEASE_GEN(l) == FBX__ST_GEN(st) &&
		    FBX__LEASE_DEADLINE(l) + SLACK_MS >= before_ms)
			return;
	}
	chaos_violation(inv, "breaker %s: allow() rejected as HALF_OPEN_FULL (generation %u) "
			"though no lease of that generation is live at %llu ms after creation",
			chaos_breakers[b].name, FBX__ST_GEN(st), (unsigned long long)before_ms);
	for (uint32_t k = 0; k < chaos_breakers[b].cfg.half_open_max; k++) {
		uint64_t l = atomic_load(&rec->lease[k]);
		chaos_detail(inv, "lease slot %u: %s generation %u until %llu ms", k,
			     l ? "held," : "free,", FBX__LEASE_GEN(l),
			     (unsigned long long)FBX__LEASE_DEADLINE(l));
	}
}

static void drive_closed(struct chaos_run *run, unsigned b)
{
	static const char inv[] = "nothing-wedged";
	fbx_breaker *br = run->br[b];
	uint64_t until = chaos_now() + DRIVE_NS;
	chaos_checked(inv, 1);
	for (int i = 0; i < DRIVE_CALLS && chaos_now() < until; i++) {
		if (FBX__ST_STATE(atomic_load(&br->rec->state)) == FBX_CLOSED)
			return;
		fbx_permit p;
		uint64_t before = now_ms(run);
		int rc = fbx_breaker_allow(br, &p);
		if (rc == 0) {
			rc = fbx_breaker_done(br, &p, FBX_SUCCESS, 0);
			if (rc != 0)
				chaos_violation(inv, "breaker %s: done() returned %s", br->rec->head.name,
						chaos_rc_name(rc));
			continue;
		}
		if (rc != FBX_EOPEN) {
			chaos_violation(inv, "breaker %s: allow() returned %s", chaos_breakers[b].name,
					chaos_rc_name(rc));
			return;
		}
		if (p.reason == FBX_REJECT_HALF_OPEN_FULL)
			check_full(run, b, before);
		uint64_t wait = p.retry_after_ns;
		chaos_sleep_ns(wait > 50 * CHAOS_MS ? 50 * CHAOS_MS : wait + CHAOS_MS);
	}
	uint64_t st = atomic_load(&br->rec->state);
	if (FBX__ST_STATE(st) != FBX_CLOSED)
		chaos_violation(inv, "breaker %s is still %s (generation %u) after %.0f s of "
				"successful calls", chaos_breakers[b].name,
				fbx_breaker_state_name((int)FBX__ST_STATE(st)), FBX__ST_GEN(st),
				(double)DRIVE_NS / 1e9);
}

static void limiter_admits(struct chaos_run *run, unsigned li)
{
	static const char inv[] = "nothing-wedged";
	const struct chaos_limiter_spec *s = &chaos_limiters[li];
	fbx_limit_result r;
	chaos_checked(inv, 1);
	if (s->keyed) {
		char key[32];
		snprintf(key, sizeof(key), "fresh-after-run-%u", li);
		int rc = fbx_limiter_take(run->lim[li], key, strlen(key), 1, &r);
		if (rc != 0)
			chaos_violation(inv, "limiter %s: a key never seen before got %s", s->name,
					chaos_rc_name(rc));
		return;
	}
	int rc = fbx_limiter_take(run->lim[li], NULL, 0, 1, &r);
	if (rc == FBX_ELIMITED) {
		uint64_t longest = 0;
		for (uint32_t k = 0; k < s->parsed.n; k++)
			if (s->parsed.limit[k].period_ns > longest)
				longest = s->parsed.limit[k].period_ns;
		if (r.retry_after_ns > 2 * longest) {
			chaos_violation(inv, "limiter %s: Retry-After %.3f s, beyond twice its longest "
					"period", s->name, (double)r.retry_after_ns / 1e9);
			return;
		}
		chaos_sleep_ns(r.retry_after_ns + 5 * CHAOS_MS);
		rc = fbx_limiter_take(run->lim[li], NULL, 0, 1, &r);
	}
	if (rc != 0)
		chaos_violation(inv, "limiter %s: denied (%s) even after waiting out its Retry-After",
				s->name, chaos_rc_name(rc));
}

void chaos_check_recovery(struct chaos_run *run)
{
	static const char inv[] = "nothing-wedged";
	uint64_t t = chaos_now();
	for (unsigned b = 0; b < CHAOS_BREAKERS; b++)
		drive_closed(run, b);
	/* a closed breaker holds no lease of its own generation */
	for (unsigned b = 0; b < CHAOS_BREAKERS; b++) {
		struct fbx__breaker_rec *rec = run->br[b]->rec;
		uint64_t st = atomic_load(&rec->state);
		for (uint32_t k = 0; k < chaos_breakers[b].cfg.half_open_max; k++) {
			uint64_t l = atomic_load(&rec->lease[k]);
			chaos_checked(inv, 1);
			if (FBX__ST_STATE(st) == FBX_CLOSED && l != 0 && FBX__LEASE_GEN(l) == FBX__ST_GEN(st))
				chaos_violation(inv, "breaker %s: CLOSED in generation %u, yet lease slot "
						"%u holds a lease of that generation", chaos_breakers[b].name,
						FBX__ST_GEN(st), k);
		}
	}
	for (unsigned li = 0; li < CHAOS_LIMITERS; li++)
		limiter_admits(run, li);
	fbx_breaker_config c;
	fbx_breaker_config_init(&c);
	fbx_breaker *b;
	int rc = fbx_breaker_register(run->box, "after-the-run", &c, &b);
	chaos_checked(inv, 1);
	if (rc != 0)
		chaos_violation(inv, "registering a breaker after the run returned %s (the registry "
				"lock is wedged?)", chaos_rc_name(rc));
	for (unsigned i = 0; i < CHAOS_EXTRAS; i++) {
		char name[32];
		fbx_breaker_config ec;
		fbx_limiter_config lc;
		fbx_breaker *eb;
		fbx_limiter *el;
		chaos_extra_breaker(i, name, &ec);
		rc = fbx_breaker_register(run->box, name, &ec, &eb);
		chaos_checked(inv, 2);
		if (rc != 0)
			chaos_violation(inv, "registering %s (same settings) after the run returned %s",
					name, chaos_rc_name(rc));
		chaos_extra_limiter(i, name, &lc);
		rc = fbx_limiter_register(run->box, name, &lc, &el);
		if (rc != 0)
			chaos_violation(inv, "registering %s (same settings) after the run returned %s",
					name, chaos_rc_name(rc));
	}
	chaos_result(inv, "every breaker back to CLOSED under successful calls (%.1f s), no "
		     "stale lease blocking a trial, fresh keys admitted, the registry lock free",
		     (double)(chaos_now() - t) / 1e9);
}
