/* words.c — the words an operator reads: states, causes and the one event
 * line.  The identifiers for JSON and metrics are in errors.c; everything
 * that prints text for a person (fuseboxctl, fusebox-top, the examples, the
 * Python binding) comes through here, so the tool, the console and the
 * documents spell a state or an event the same way. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *fbx_breaker_state_label(int state)
{
	static const char *const labels[FBX_BREAKER_STATE_COUNT] = {
		"closed", "open", "half-open", "forced-open", "forced-closed",
	};
	return state >= 0 && state < FBX_BREAKER_STATE_COUNT ? labels[state] : "invalid";
}

const char *fbx_event_cause_label(int cause)
{
	static const char *const labels[FBX_CAUSE_COUNT] = {
		"no cause",
		"consecutive failures",
		"failure rate",
		"slow-call rate",
		"open period over",
		"trial failed",
		"trial lease expired",
		"trials succeeded",
		"tripped",
		"held closed",
		"released",
		"reset",
		"rule changed",
		"dry run on",
		"dry run off",
		"created",
		"drain began",
		"drain ended",
	};
	return cause >= 0 && cause < FBX_CAUSE_COUNT ? labels[cause] : "invalid";
}

const char *fbx_record_type_name(int type)
{
	switch (type) {
	case FBX_REC_BREAKER: return "breaker";
	case FBX_REC_LIMITER: return "limiter";
	case FBX_REC_BOX: return "box";
	default: return "invalid";
	}
}

/* A line being written into a caller's buffer: like snprintf, the length
 * of the whole line is counted even past the end of the buffer. */
struct line {
	char *buf;
	size_t len;
	size_t at;
};

static void put(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct line *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *dst = l->at < l->len ? l->buf + l->at : NULL;
	size_t room = l->at < l->len ? l->len - l->at : 0;
	int n = vsnprintf(dst, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->at += (size_t)n;
}

/* Text from the event ring came from another process: a name or reason
 * that lost its NUL, or holds a control character, must not run past its
 * field or drive the reader's terminal. */
static void put_text(struct line *l, const char *s, size_t max)
{
	for (size_t i = 0; i < max && s[i] != '\0'; i++, l->at++) {
		unsigned char c = (unsigned char)s[i];
		/* as snprintf would: the character while it fits with the NUL
		 * after it, counted either way */
		if (l->at + 1 < l->len) {
			l->buf[l->at] = c < 0x20 || c == 0x7f ? '?' : (char)c;
			l->buf[l->at + 1] = '\0';
		}
	}
}

static void put_age(struct line *l, uint64_t ns)
{
	unsigned long long s = (unsigned long long)(ns / 1000000000u);
	if (s < 60)
		put(l, "%.1fs", (double)ns / 1e9);
	else if (s < 3600)
		put(l, "%llum%02llus", s / 60, s % 60);
	else if (s < 86400)
		put(l, "%lluh%02llum", s / 3600, s / 60 % 60);
	else
		put(l, "%llud%02lluh", s / 86400, s / 3600 % 24);
}

int fbx_event_format(const fbx_event *e, uint64_t now_ns, char *buf, size_t len)
{
	if (e == NULL || (buf == NULL && len > 0))
		return FBX_EINVAL;
	struct line l = {.buf = buf, .len = len};
	if (len > 0)
		buf[0] = '\0';
	put_age(&l, now_ns > e->time_ns ? now_ns - e->time_ns : 0);
	put(&l, " ago  ");
	if (e->corrupt) {
		put(&l, "(damaged event)");
		return (int)l.at;
	}
	put(&l, "%s ", fbx_record_type_name(e->record_type));
	put_text(&l, e->name, sizeof(e->name));
	put(&l, "  ");
	/* a transition; a record's creation names no state it came from, and
	 * its cause says all */
	if (e->from >= 0 && e->to >= 0)
		put(&l, "%s -> %s  ", fbx_breaker_state_label(e->from),
		    fbx_breaker_state_label(e->to));
	put(&l, "%s", fbx_event_cause_label(e->cause));
	if (e->kind == FBX_EV_MANUAL || e->kind == FBX_EV_CONFIG) {
		/* the reason before who acted: at 80 columns the reason is
		 * what an operator needs to see */
		if (e->reason[0] != '\0') {
			put(&l, ": ");
			put_text(&l, e->reason, sizeof(e->reason));
		}
		put(&l, "  (uid %u pid %d)", (unsigned)e->uid, (int)e->pid);
	}
	return (int)l.at;
}
