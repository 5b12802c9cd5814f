/* ctl_parse.c — turning command-line words into numbers, durations and
 * options, and saying exactly which word was wrong. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "busguard.h"
#include "ctl.h"
#include "term.h"

static void fail_line(const char *fmt, va_list ap, const char *tail)
{
	char msg[2048];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	fputs("fuseboxctl: ", stderr);
	term_put(stderr, msg);
	if (tail != NULL) {
		fputs(": ", stderr);
		fputs(tail, stderr);
	}
	fputc('\n', stderr);
}

int ctl_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fail_line(fmt, ap, NULL);
	va_end(ap);
	return CTL_ERR;
}

int ctl_fail_rc(int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fail_line(fmt, ap, fbx_strerror(rc));
	va_end(ap);
	return CTL_ERR;
}

int ctl_fail_open(int rc, const char *box)
{
	fbx_box_owner o;
	if ((rc != FBX_EOWNER && rc != FBX_ECORRUPT && rc != FBX_EVERSION && rc != FBX_EACCES) ||
	    fbx_box_owner_get(box, &o) != 0)
		return ctl_fail_rc(rc, "box '%s'", box);
	const struct passwd *pw = getpwuid(o.uid);
	char who[96];
	if (pw != NULL && fbx_name_check_record(pw->pw_name) == 0)
		snprintf(who, sizeof(who), "uid %u (%s)", (unsigned)o.uid, pw->pw_name);
	else
		snprintf(who, sizeof(who), "uid %u", (unsigned)o.uid);
	if (rc == FBX_EOWNER)
		return ctl_fail("box '%s' belongs to %s, group %u, mode %04o: not adopted, as "
				"someone other than you could steer it (remove it if it is not "
				"meant to be there: fuseboxctl -b %s destroy, as root or its owner)",
				box, who, (unsigned)o.gid, (unsigned)o.mode, box);
	return ctl_fail("box '%s' (/dev/shm/fusebox.%s, owned by %s, mode %04o, %llu bytes): %s",
			box, box, who, (unsigned)o.mode, (unsigned long long)o.size,
			fbx_strerror(rc));
}

int ctl_open(const struct ctl *c, bool write, fbx_box **out)
{
	int rc = fbx_box_open(c->box, write ? 0 : FBX_OPEN_RDONLY, NULL, out);
	/* not "create it": in an incident that makes an empty box beside the
	 * service's, and the command then reads or steers the wrong one */
	if (rc == FBX_ENOENT)
		return ctl_fail("box '%s' does not exist (fuseboxctl ls lists the boxes on this host)",
				c->box);
	if (rc)
		return ctl_fail_open(rc, c->box);
	fbx_box_info info;
	if (write && fbx_box_info_get(*out, &info) == 0 && info.read_only) {
		fbx_box_close(*out);
		*out = NULL;
		return ctl_fail("box '%s': no write permission (this command changes it)", c->box);
	}
	return 0;
}

struct take {
	fbx_box *box;
	fbx_snapshot *snap;
};

static int take(void *arg)
{
	struct take *t = arg;
	return fbx_snapshot_take(t->box, t->snap);
}

int ctl_snapshot(const struct ctl *c, fbx_box **box, fbx_snapshot **snap)
{
	*snap = NULL;
	if (ctl_open(c, false, box))
		return CTL_ERR;
	int rc = fbx_snapshot_new(*box, snap);
	if (rc == 0)
		rc = bus_guard(take, &(struct take){*box, *snap});
	if (rc == 0)
		return 0;
	ctl_snapshot_close(*box, *snap);
	*box = NULL;
	*snap = NULL;
	return ctl_fail_rc(rc, "reading box '%s'", c->box);
}

void ctl_snapshot_close(fbx_box *box, fbx_snapshot *snap)
{
	fbx_snapshot_free(snap);
	fbx_box_close(box);
}

/* Digits only: no sign, no spaces, no hex, no overflow. */
static int digits(const char *s, uint64_t *out)
{
	if (s == NULL || *s == '\0')
		return -1;
	uint64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = v;
	return 0;
}

int ctl_reason(const char *value)
{
	if (value != NULL && strlen(value) >= FBX_REASON_MAX)
		return ctl_fail("--reason: at most %d characters", FBX_REASON_MAX - 1);
	for (const char *r = value; r != NULL && *r != '\0'; r++)
		if ((unsigned char)*r < 0x20 || *r == 0x7f)
			return ctl_fail("--reason: '%s' holds a control character", value);
	return 0;
}

int ctl_u32(const char *what, const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v;
	if (digits(s, &v) != 0 || v < min || v > max)
		return ctl_fail("%s: '%s' is not a whole number from %u to %u", what, s ? s : "",
				min, max);
	*out = (uint32_t)v;
	return 0;
}

int ctl_pow2(const char *what, const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v;
	if (digits(s, &v) != 0 || v == 1 || v > max || (v & (v - 1)) != 0)
		return ctl_fail("%s: '%s' is not 0 or a power of two from 2 to %u", what, s ? s : "",
				max);
	*out = (uint32_t)v;
	return 0;
}

int ctl_duration(const char *what, const char *s, uint64_t *ns)
{
	static const struct {
		const char *unit;
		uint64_t ns;
	} units[] = {{"ms", 1000000ull}, {"s", 1000000000ull}, {"m", 60000000000ull},
		     {"h", 3600000000000ull}};
	if (s != NULL) {
		size_t n = strlen(s), d = 0;
		while (d < n && s[d] >= '0' && s[d] <= '9')
			d++;
		for (size_t i = 0; d > 0 && d < 20 && i < sizeof(units) / sizeof(units[0]); i++) {
			if (strcmp(s + d, units[i].unit) != 0)
				continue;
			char num[24];
			memcpy(num, s, d);
			num[d] = '\0';
			uint64_t v;
			if (digits(num, &v) == 0 && v <= UINT64_MAX / units[i].ns) {
				*ns = v * units[i].ns;
				return 0;
			}
		}
	}
	return ctl_fail("%s: '%s' is not a duration (a whole number with ms, s, m or h, e.g. 30s)",
			what, s ? s : "");
}

int ctl_pct(const char *what, const char *s, uint32_t *out)
{
	return ctl_u32(what, s, 1, 100, out);
}

int ctl_mode(const char *what, const char *s, uint32_t *out)
{
	char *end = NULL;
	errno = 0;
	/* octal digits only: strtoul would also take blanks and signs */
	bool octal = s != NULL && *s != '\0' && s[strspn(s, "01234567")] == '\0';
	unsigned long v = octal ? strtoul(s, &end, 8) : 0;
	if (!octal || errno || *end != '\0' || v > 0777)
		return ctl_fail("%s: '%s' is not an octal mode such as 0600 or 0660", what, s ? s : "");
	*out = (uint32_t)v;
	return 0;
}

int ctl_group(const char *what, const char *s, gid_t *out)
{
	struct group *g = s && *s ? getgrnam(s) : NULL;
	uint64_t v;
	if (g != NULL) {
		*out = g->gr_gid;
		return 0;
	}
	if (digits(s, &v) == 0 && v < (uint64_t)(gid_t)-1) {
		*out = (gid_t)v;
		return 0;
	}
	return ctl_fail("%s: no group named '%s'", what, s ? s : "");
}

int ctl_options(int argc, char **argv, struct ctl_opt *opts, size_t nopts,
		char **pos, size_t maxpos, size_t *npos, int *rest)
{
	*npos = 0;
	*rest = argc;
	for (size_t k = 0; k < nopts; k++)
		opts[k].value = NULL;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			*rest = i + 1;
			return 0;
		}
		if (a[0] == '-' && a[1] != '\0') {
			size_t k = 0;
			while (k < nopts && strcmp(opts[k].name, a) != 0)
				k++;
			if (k == nopts)
				return ctl_fail("unknown option '%s'", a);
			if (opts[k].value != NULL)
				return ctl_fail("option '%s' given twice", a);
			if (opts[k].takes_value) {
				if (i + 1 >= argc)
					return ctl_fail("option '%s' needs a value", a);
				opts[k].value = argv[++i];
			} else {
				opts[k].value = "";
			}
			continue;
		}
		if (*npos == maxpos)
			return ctl_fail("unexpected argument '%s'", a);
		pos[(*npos)++] = argv[i];
	}
	return 0;
}

int ctl_end(int argc, char **argv, int rest)
{
	if (rest >= argc)
		return 0;
	return ctl_fail("unexpected argument '%s' after '--' (only 'breaker call' runs a "
			"command)",
			argv[rest]);
}

const char *ctl_opt(const struct ctl_opt *opts, size_t nopts, const char *name)
{
	for (size_t k = 0; k < nopts; k++)
		if (strcmp(opts[k].name, name) == 0)
			return opts[k].value;
	return NULL;
}

void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}
