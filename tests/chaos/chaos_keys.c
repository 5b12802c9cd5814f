/*
 * chaos_keys.c — the limiter key table after the run.
 *
 * Each keyed limiter's keys figure must equal its published tags in its
 * table (the shared one, or the exact log's own): a figure kept apart from the table (a counter bumped after the
 * tag's CAS) drifts when a process dies between the two.  No tag may be
 * published twice (a key's budget split in two), and a limiter cannot
 * hold more tags than keys it was ever asked for.
 */
#include <stdlib.h>

#include "chaos.h"
#include "chaos_validate.h"
#include "internal.h"
#include "keytable.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

void chaos_check_keys(const struct chaos_run *run, const fbx_snapshot *s,
		      const struct chaos_tally *t)
{
	fbx_box *box = run->box;
	uint64_t published[CHAOS_LIMITERS] = {0}, reserved = 0, stray = 0;
	size_t ntags = ((size_t)box->key_buckets + box->log_key_buckets) * FBX__KB_WAYS, n = 0;
	uint64_t *tags = malloc(ntags * sizeof(*tags));
	/* The shared table and the log's own: each holds its algorithms' keys. */
	const struct {
		struct fbx__kbucket *b;
		uint32_t n;
		bool log;
	} tables[2] = {{box->keys, box->key_buckets, false},
		       {box->log_keys, box->log_key_buckets, true}};
	for (int tb = 0; tb < 2; tb++) {
		for (uint32_t b = 0; b < tables[tb].n; b++) {
			for (int w = 0; w < FBX__KB_WAYS; w++) {
				uint64_t tag = atomic_load(&tables[tb].b[b].tag[w]);
				if (tag == 0)
					continue;
				if (tag & FBX__TAG_RESERVED) {
					reserved++;
					continue;
				}
				uint32_t li = (uint32_t)(tag >> FBX__TAG_LIM_SHIFT) - 1;
				int k = -1;
				for (int i = 0; i < CHAOS_LIMITERS; i++)
					if (run->lim[i]->index == li)
						k = i;
				if (k < 0 || !chaos_limiters[k].keyed ||
				    (chaos_limiters[k].algo == FBX_ALGO_LOG) != tables[tb].log)
					stray++;
				else
					published[k]++;
				if (tags)
					tags[n++] = tag;
			}
		}
	}
	chaos_checked("keys-count", 1);
	if (stray)
		chaos_violation("keys-count", "%llu published tags in the key table belong to no "
				"keyed limiter", (unsigned long long)stray);
	uint64_t used_total = 0;
	for (int k = 0; k < CHAOS_LIMITERS; k++) {
		if (!chaos_limiters[k].keyed)
			continue;
		const fbx_limiter_info *l = chaos_find_limiter(s, chaos_limiters[k].name);
		uint64_t used = 0;
		for (uint32_t id = 0; id < t->nkeys; id++)
			used += t->key_used[(size_t)k * t->nkeys + id];
		used_total += used;
		chaos_checked("keys-count", 2);
		if (l != NULL && !l->corrupt && l->keys != published[k])
			chaos_violation("keys-count", "limiter %s: the snapshot says %llu keys, the key "
					"table holds %llu published tags for it (%llu writers died "
					"inside a take; %llu evictions)", l->name,
					(unsigned long long)l->keys, (unsigned long long)published[k],
					(unsigned long long)t->kl_take[k], (unsigned long long)l->evictions);
		if (published[k] > used && !chaos_limiters[k].storm)
			chaos_violation("keys-count", "limiter %s: %llu published tags, but only %llu "
					"distinct keys were ever taken", chaos_limiters[k].name,
					(unsigned long long)published[k], (unsigned long long)used);
	}
	chaos_result("keys-count", "each keyed limiter's keys figure equals its published tags "
		     "in the table, and no limiter has more tags than keys it took (%llu keys "
		     "taken, besides storms; %llu reservations left by killed inserters)",
		     (unsigned long long)used_total, (unsigned long long)reserved);

	/* a key published twice would split its budget in two */
	uint64_t twice = 0;
	if (tags != NULL) {
		qsort(tags, n, sizeof(*tags), cmp_u64);
		for (size_t i = 1; i < n; i++)
			twice += tags[i] == tags[i - 1];
	}
	chaos_checked("keys-unique", n);
	if (twice)
		chaos_violation("keys-unique", "%llu tags are published in two entries of the key "
				"table", (unsigned long long)twice);
	uint64_t missing = 0, looked = 0;
	for (int k = 0; k < CHAOS_LIMITERS; k++) {
		if (!chaos_limiters[k].keyed)
			continue;
		fbx_limiter *l = run->lim[k];
		const uint64_t seed[2] = {box->secret[0] ^ l->hash_salt, box->secret[1]};
		for (uint32_t id = 0; id < t->nkeys; id++) {
			if (!t->key_used[(size_t)k * t->nkeys + id])
				continue;
			char text[32];
			size_t len = chaos_key_text(id, text, sizeof(text));
			uint64_t h = fbx__keyhash(seed, text, len), tag = fbx__key_tag(l, h);
			struct fbx__kbucket *bk[2];
			fbx__key_buckets(l, h, bk);
			unsigned found = 0;
			for (int b = 0; b < 2; b++)
				for (int w = 0; w < FBX__KB_WAYS; w++)
					found += atomic_load(&bk[b]->tag[w]) == tag;
			looked++;
			missing += found == 0;
			if (found > 1)
				chaos_violation("keys-unique", "limiter %s key %s is published in %u "
						"entries", chaos_limiters[k].name, text, found);
		}
	}
	chaos_checked("keys-unique", looked);
	chaos_result("keys-unique", "no tag published twice; each of the %llu keys taken is in "
		     "at most one entry of its two buckets (%llu no longer there: their entries "
		     "were reused once spent)", (unsigned long long)looked,
		     (unsigned long long)missing);
	free(tags);
}

