/*
 * chaos_ranges.c — is a record a snapshot hands back whole, or flagged?
 *
 * fusebox.h documents what each figure of fbx_breaker_info,
 * fbx_limiter_info and fbx_event may hold, and that a record failing a
 * check comes back with corrupt set instead of its figures.  Whatever a
 * scribbler wrote, every record a reader gets must be one or the other:
 * these functions say which rule a record breaks, in words a report can
 * quote.  They are used on every snapshot the reader takes during the run
 * and on the final one.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "chaos_scribble.h"

bool chaos_printable(const char *s, size_t max)
{
	for (size_t i = 0; i < max; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\0')
			return true;
		if (c < 0x20 || c >= 0x7f)
			return false;
	}
	return false; /* no NUL within its array */
}

static const char *say(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static const char *say(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return buf;
}

/* The name of a record as a report may print it: escaped, never raw. */
static void shown(const char *name, char out[FBX_NAME_MAX * 4 + 1])
{
	size_t o = 0;
	for (size_t i = 0; i < FBX_NAME_MAX && name[i] != '\0'; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
	}
	out[o] = '\0';
}

/* The longest a breaker may stay OPEN before a trial: its configured open
 * period, doubled up to the cap (fusebox.h, fbx_breaker_config), plus the
 * millisecond the deadline is rounded to and a tick of the coarse clock. */
static uint64_t open_max_ns(const fbx_breaker_config *c)
{
	uint64_t p = c->reset_timeout_max_ns > c->reset_timeout_ns ? c->reset_timeout_max_ns
								    : c->reset_timeout_ns;
	return p + 2 * CHAOS_MS + 10 * CHAOS_MS;
}

const char *chaos_breaker_problem(const fbx_breaker_info *b, char *buf, size_t len)
{
	char name[FBX_NAME_MAX * 4 + 1];
	shown(b->name, name);
	if (!chaos_printable(b->name, sizeof(b->name)) || fbx_name_check_record(b->name) != 0)
		return say(buf, len, "breaker '%s' (corrupt %d): its name is not a valid record name "
			   "(1-63 printable characters, no space)", name, b->corrupt);
	if (b->corrupt)
		return b->corrupt == 1 ? NULL : say(buf, len, "breaker %s: corrupt is %d, not 0 or 1",
						    name, b->corrupt);
	const char *why = NULL;
	if ((unsigned)b->state >= FBX_BREAKER_STATE_COUNT)
		return say(buf, len, "breaker %s: state %d is no state", name, (int)b->state);
	if (fbx_breaker_config_check(&b->config, &why) != 0)
		return say(buf, len, "breaker %s: its configuration fails fbx_breaker_config_check "
			   "(%s)", name, why ? why : "?");
	const fbx_breaker_config *c = &b->config;
	if (b->half_open_in_flight > c->half_open_max ||
	    (b->state != FBX_HALF_OPEN && b->half_open_in_flight != 0))
		return say(buf, len, "breaker %s (%s): %u trials in flight, half_open_max %u", name,
			   fbx_breaker_state_name(b->state), b->half_open_in_flight, c->half_open_max);
	if (b->state != FBX_OPEN && b->open_remaining_ns != 0)
		return say(buf, len, "breaker %s (%s): open_remaining_ns %llu outside OPEN", name,
			   fbx_breaker_state_name(b->state), (unsigned long long)b->open_remaining_ns);
	if (b->open_remaining_ns > open_max_ns(c))
		return say(buf, len, "breaker %s: OPEN with %.3f s until a trial, beyond its longest "
			   "open period (%.3f s): a damaged deadline shown as a figure", name,
			   (double)b->open_remaining_ns / 1e9, (double)open_max_ns(c) / 1e9);
	if (b->state != FBX_CLOSED && b->consecutive_failures != 0)
		return say(buf, len, "breaker %s (%s): %llu consecutive failures outside CLOSED", name,
			   fbx_breaker_state_name(b->state),
			   (unsigned long long)b->consecutive_failures);
	if (b->window_failures > b->window_calls || b->window_slow > b->window_calls)
		return say(buf, len, "breaker %s: window of %llu calls holds %llu failures and %llu "
			   "slow calls", name, (unsigned long long)b->window_calls,
			   (unsigned long long)b->window_failures, (unsigned long long)b->window_slow);
	bool rates = c->failure_rate_pct != 0 || c->slow_rate_pct != 0;
	if (rates && c->window_calls != 0 && b->window_calls > c->window_calls)
		return say(buf, len, "breaker %s: %llu calls in a window of the last %u calls", name,
			   (unsigned long long)b->window_calls, c->window_calls);
	if (!rates && b->window_calls != 0)
		return say(buf, len, "breaker %s: %llu window calls, but it measures no rate", name,
			   (unsigned long long)b->window_calls);
	if (b->open_streak > 15)
		return say(buf, len, "breaker %s: open_streak %u (the state word keeps 4 bits)", name,
			   b->open_streak);
	return NULL;
}

static const char *rule_problem(const fbx_limiter_info *l, const char *name, char *buf,
				size_t len)
{
	if (!chaos_printable(l->rule, sizeof(l->rule)))
		return say(buf, len, "limiter %s: its rule is not printable text", name);
	fbx_rule r;
	if (fbx_rule_parse(l->rule, &r, NULL) != 0)
		return say(buf, len, "limiter %s: rule '%s' does not parse", name, l->rule);
	if (r.n != l->parsed.n || r.n < 1 || r.n > FBX_RULE_LIMITS_MAX)
		return say(buf, len, "limiter %s: rule '%s' has %u limits, parsed says %u", name,
			   l->rule, r.n, l->parsed.n);
	for (uint32_t i = 0; i < r.n; i++) {
		if (r.limit[i].count != l->parsed.limit[i].count ||
		    r.limit[i].period_ns != l->parsed.limit[i].period_ns)
			return say(buf, len, "limiter %s: parsed limit %u is not rule '%s'", name, i,
				   l->rule);
		if (r.limit[i].count == 0 || r.limit[i].period_ns < CHAOS_SEC)
			return say(buf, len, "limiter %s: limit %u of rule '%s' is empty", name, i,
				   l->rule);
		if (l->algorithm == FBX_ALGO_WINDOW && r.limit[i].count > FBX_WINDOW_COUNT_MAX)
			return say(buf, len, "limiter %s: window limit of %llu, above "
				   "FBX_WINDOW_COUNT_MAX", name, (unsigned long long)r.limit[i].count);
	}
	/* GCRA: 1..FBX_GCRA_BURST_MAX, tolerance on top of the rate; the
	 * others have none (1) */
	if (l->burst == 0 || l->burst > FBX_GCRA_BURST_MAX ||
	    (l->algorithm != FBX_ALGO_GCRA && l->burst != 1))
		return say(buf, len, "limiter %s (%s, rule '%s'): burst %u", name,
			   fbx_algorithm_name(l->algorithm), l->rule, l->burst);
	return NULL;
}

const char *chaos_limiter_problem(const fbx_limiter_info *l, uint64_t key_slots, char *buf,
				  size_t len)
{
	char name[FBX_NAME_MAX * 4 + 1];
	shown(l->name, name);
	if (!chaos_printable(l->name, sizeof(l->name)) || fbx_name_check_record(l->name) != 0)
		return say(buf, len, "limiter '%s' (corrupt %d): its name is not a valid record name",
			   name, l->corrupt);
	if (l->corrupt)
		return l->corrupt == 1 ? NULL : say(buf, len, "limiter %s: corrupt is %d, not 0 or 1",
						    name, l->corrupt);
	if ((unsigned)l->algorithm > FBX_ALGO_LOG)
		return say(buf, len, "limiter %s: algorithm %d is none", name, (int)l->algorithm);
	if ((l->keyed != 0 && l->keyed != 1) || (l->dry_run != 0 && l->dry_run != 1))
		return say(buf, len, "limiter %s: keyed %d, dry_run %d", name, l->keyed, l->dry_run);
	const char *why = rule_problem(l, name, buf, len);
	if (why != NULL)
		return why;
	if (l->keys > key_slots || (!l->keyed && l->keys != 0))
		return say(buf, len, "limiter %s: %llu keys (keyed %d), in a table of %llu", name,
			   (unsigned long long)l->keys, l->keyed, (unsigned long long)key_slots);
	if (l->ntop > FBX_TOP_KEYS || (!l->keyed && l->ntop != 0))
		return say(buf, len, "limiter %s: %u top keys (keyed %d)", name, l->ntop, l->keyed);
	for (uint32_t i = 0; i < l->ntop; i++)
		if (!chaos_printable(l->top[i].key, sizeof(l->top[i].key)))
			return say(buf, len, "limiter %s: top key %u is not printable text", name, i);
	return NULL;
}

const char *chaos_event_problem(const fbx_event *e, char *buf, size_t len)
{
	if (e->corrupt) {
		/* "Only seq (and time_ns when it could be read) are kept." */
		if (e->corrupt != 1 || e->name[0] != '\0' || e->reason[0] != '\0' || e->kind != 0 ||
		    e->pid != 0 || e->uid != 0)
			return say(buf, len, "event %llu: marked corrupt but keeps more than seq and "
				   "time", (unsigned long long)e->seq);
		return NULL;
	}
	if (e->kind < FBX_EV_TRANSITION || e->kind > FBX_EV_CONFIG)
		return say(buf, len, "event %llu: kind %d", (unsigned long long)e->seq, (int)e->kind);
	if ((unsigned)e->cause >= FBX_CAUSE_COUNT)
		return say(buf, len, "event %llu: cause %d", (unsigned long long)e->seq, (int)e->cause);
	if (e->record_type != FBX_REC_BREAKER && e->record_type != FBX_REC_LIMITER &&
	    e->record_type != FBX_REC_BOX)
		return say(buf, len, "event %llu: record type %d", (unsigned long long)e->seq,
			   (int)e->record_type);
	if (e->from < -1 || e->from >= FBX_BREAKER_STATE_COUNT || e->to < -1 ||
	    e->to >= FBX_BREAKER_STATE_COUNT)
		return say(buf, len, "event %llu: from %d to %d", (unsigned long long)e->seq, e->from,
			   e->to);
	if (!chaos_printable(e->name, sizeof(e->name)) || fbx_name_check_record(e->name) != 0)
		return say(buf, len, "event %llu: its record's name is not a valid name",
			   (unsigned long long)e->seq);
	if (!chaos_printable(e->reason, sizeof(e->reason)))
		return say(buf, len, "event %llu: its reason is not printable text",
			   (unsigned long long)e->seq);
	return NULL;
}
