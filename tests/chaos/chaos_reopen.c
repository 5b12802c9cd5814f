/* chaos_reopen.c — the box opens and validates after the run, both ways. */
#include "chaos.h"
#include "chaos_validate.h"

static bool same_figures(const fbx_snapshot *a, const fbx_snapshot *b, const char **what)
{
	for (unsigned i = 0; i < CHAOS_BREAKERS; i++) {
		const fbx_breaker_info *x = chaos_find_breaker(a, chaos_breakers[i].name);
		const fbx_breaker_info *y = chaos_find_breaker(b, chaos_breakers[i].name);
		*what = chaos_breakers[i].name;
		if (x == NULL || y == NULL || x->state != y->state || x->generation != y->generation ||
		    x->successes != y->successes || x->failures != y->failures ||
		    x->rejected != y->rejected || x->trips != y->trips)
			return false;
	}
	for (unsigned i = 0; i < CHAOS_LIMITERS; i++) {
		const fbx_limiter_info *x = chaos_find_limiter(a, chaos_limiters[i].name);
		const fbx_limiter_info *y = chaos_find_limiter(b, chaos_limiters[i].name);
		*what = chaos_limiters[i].name;
		if (x == NULL || y == NULL || x->allowed != y->allowed || x->denied != y->denied ||
		    x->keys != y->keys)
			return false;
	}
	return true;
}

void chaos_check_reopen(const struct chaos_run *run, const fbx_snapshot *mine)
{
	static const char inv[] = "box-reopen";
	fbx_box *rw = NULL, *ro = NULL;
	fbx_snapshot *srw = NULL, *sro = NULL;
	const char *what = "";
	int rc = fbx_box_open(run->o.box, 0, NULL, &rw);
	chaos_checked(inv, 1);
	if (rc != 0)
		chaos_violation(inv, "fbx_box_open(%s, read-write) returned %s", run->o.box,
				chaos_rc_name(rc));
	rc = fbx_box_open(run->o.box, FBX_OPEN_RDONLY, NULL, &ro);
	chaos_checked(inv, 1);
	if (rc != 0)
		chaos_violation(inv, "fbx_box_open(%s, read-only) returned %s", run->o.box,
				chaos_rc_name(rc));
	fbx_box *h[2] = {rw, ro};
	fbx_snapshot **sp[2] = {&srw, &sro};
	for (int i = 0; i < 2; i++) {
		if (h[i] == NULL)
			continue;
		fbx_box_info info;
		chaos_checked(inv, 3);
		if (fbx_box_info_get(h[i], &info) != 0 || info.read_only != (i == 1) ||
		    info.created_ns != run->created_ns)
			chaos_violation(inv, "%s handle: box info disagrees (read_only %d, created "
					"%llu vs %llu)", i ? "read-only" : "read-write", info.read_only,
					(unsigned long long)info.created_ns,
					(unsigned long long)run->created_ns);
		if ((rc = fbx_snapshot_new(h[i], sp[i])) == 0)
			rc = fbx_snapshot_take(h[i], *sp[i]);
		if (rc != 0)
			chaos_violation(inv, "%s handle: snapshot returned %s",
					i ? "read-only" : "read-write", chaos_rc_name(rc));
		else if (!same_figures(mine, *sp[i], &what))
			chaos_violation(inv, "%s handle: the figures of %s differ from the master's "
					"snapshot", i ? "read-only" : "read-write", what);
	}
	if (ro != NULL) {
		fbx_breaker *b;
		fbx_limiter *l;
		fbx_permit p;
		fbx_limit_result r;
		chaos_checked(inv, 2);
		if (fbx_breaker_find(ro, chaos_breakers[0].name, &b) != 0 ||
		    (rc = fbx_breaker_allow(b, &p)) != FBX_ERDONLY)
			chaos_violation(inv, "allow() on a read-only handle did not return FBX_ERDONLY");
		if (fbx_limiter_find(ro, chaos_limiters[0].name, &l) != 0 ||
		    (rc = fbx_limiter_take(l, "k", 1, 1, &r)) != FBX_ERDONLY)
			chaos_violation(inv, "take() on a read-only handle did not return FBX_ERDONLY");
	}
	fbx_snapshot_free(srw);
	fbx_snapshot_free(sro);
	fbx_box_close(rw);
	fbx_box_close(ro);
	chaos_result(inv, "the box opens read-write and read-only after the run, validates, and "
		     "both handles read the same figures; the read-only one refuses writes");
}

