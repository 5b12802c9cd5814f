/*
 * chaos_report.c — counting checks and violations, and printing them.
 *
 * A broken invariant tends to break thousands of times in one run: the
 * first few violations of each are printed in full, the rest only counted,
 * so the output stays readable and the count stays exact.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "chaos.h"

#define MAX_INVARIANTS 40
#define PRINT_MAX 8

struct inv {
	const char *name;
	uint64_t checked, violations, after_stall;
	bool last_printed;
};

static struct inv invs[MAX_INVARIANTS];
static unsigned ninvs;
static uint64_t other_violations;

static struct inv *inv_get(const char *name)
{
	for (unsigned i = 0; i < ninvs; i++)
		if (strcmp(invs[i].name, name) == 0)
			return &invs[i];
	if (ninvs == MAX_INVARIANTS)
		return NULL;
	invs[ninvs].name = name;
	return &invs[ninvs++];
}

void chaos_checked(const char *inv, uint64_t n)
{
	struct inv *v = inv_get(inv);
	if (v != NULL)
		v->checked += n;
}

void chaos_violation(const char *inv, const char *fmt, ...)
{
	struct inv *v = inv_get(inv);
	if (v == NULL) {
		other_violations++;
		return;
	}
	v->violations++;
	v->last_printed = v->violations <= PRINT_MAX;
	if (!v->last_printed)
		return;
	va_list ap;
	va_start(ap, fmt);
	printf("VIOLATION %s: ", inv);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	if (v->violations == PRINT_MAX)
		printf("    (further violations of %s are counted, not printed)\n", inv);
}

void chaos_violation_after_stall(const char *inv)
{
	struct inv *v = inv_get(inv);
	if (v != NULL)
		v->after_stall++;
}

void chaos_detail(const char *inv, const char *fmt, ...)
{
	struct inv *v = inv_get(inv);
	if (v == NULL || !v->last_printed)
		return;
	va_list ap;
	va_start(ap, fmt);
	printf("    ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

void chaos_note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("note: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

void chaos_result(const char *inv, const char *fmt, ...)
{
	struct inv *v = inv_get(inv);
	uint64_t checked = v ? v->checked : 0, bad = v ? v->violations : 0;
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	printf("%-4s %-22s %s [%llu checked", bad ? "FAIL" : "ok", inv, what,
	       (unsigned long long)checked);
	if (bad)
		printf(", %llu violation%s", (unsigned long long)bad, bad == 1 ? "" : "s");
	if (bad && v->after_stall)
		printf(", %llu of them next to a stale call", (unsigned long long)v->after_stall);
	printf("]\n");
}

uint64_t chaos_total_checked(void)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < ninvs; i++)
		n += invs[i].checked;
	return n;
}

uint64_t chaos_total_violations(void)
{
	uint64_t n = other_violations;
	for (unsigned i = 0; i < ninvs; i++)
		n += invs[i].violations;
	return n;
}
