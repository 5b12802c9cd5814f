/*
 * fuzz_config.c — the file of `fuseboxctl create --config FILE`
 * (tools/ctl_config.c, plan_read).
 *
 * The input is the file.  plan_read() takes a path, so the input is kept
 * in a memfd and read back through /proc/self/fd/N.  Beyond not crashing:
 * a plan it accepts is one `create` can make (capacities the layout takes,
 * valid unique names, breaker configurations the library accepts, rules
 * that parse, records that fit, each rule the whole value of a line of
 * the file: inih alone would end a value at " ;", the separator of a
 * rule's limits), and a file it refuses gets exactly one message line,
 * naming the file.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ctl_config.h"
#include "fuzz.h"
#include "internal.h"

static int file_fd = -1;
static char path[64];
static unsigned long inputs, accepted, refused_by_library;

static void stats(void)
{
	/* run.sh adds this line to the target's summary */
	fprintf(fuzz_err,
		"fuzz-stat: accepted %lu%% of inputs, %lu accepted limiters the library refuses\n",
		inputs ? accepted * 100 / inputs : 0, refused_by_library);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* plan_read()'s messages are caught per input (fuzz.h) */
	fuzz_keep_stderr();
	file_fd = memfd_create("fuzz_config", MFD_CLOEXEC);
	if (file_fd < 0) {
		perror("fuzz_config: memfd_create");
		exit(1);
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", file_fd);
	atexit(stats);
	return 0;
}

/* Whether rule is all that follows a '=' on some line of the file. */
UNCOVERED static bool whole_value(const uint8_t *data, size_t size, const char *rule)
{
	size_t n = strlen(rule);
	for (size_t i = 0; n > 0 && i + n <= size; i++) {
		if (memcmp(data + i, rule, n) != 0)
			continue;
		size_t a = i, z = i + n;
		while (a > 0 && data[a - 1] != '\n' && isspace(data[a - 1]))
			a--;
		while (z < size && data[z] != '\n' && isspace(data[z]))
			z++;
		if (a > 0 && data[a - 1] == '=' && (z == size || data[z] == '\n'))
			return true;
	}
	return false;
}

/* What create would do with an accepted plan, short of making the box. */
static void check_plan(const struct plan *p, const uint8_t *data, size_t size)
{
	struct fbx__layout lay;
	CHECK(fbx__layout_compute(&p->box, &lay) == 0);
	CHECK(p->box.mode <= 0777);
	CHECK(p->nbreakers <= p->box.breakers && p->nlimiters <= p->box.limiters);
	for (size_t i = 0; i < p->nbreakers; i++) {
		CHECK(fbx_name_check_record(p->breakers[i].name) == 0);
		CHECK(fbx_breaker_config_check(&p->breakers[i].cfg, NULL) == 0);
		for (size_t k = 0; k < i; k++)
			CHECK(strcmp(p->breakers[i].name, p->breakers[k].name) != 0);
	}
	for (size_t i = 0; i < p->nlimiters; i++) {
		const struct limiter_spec *s = &p->limiters[i].spec;
		fbx_limiter_config cfg = limiter_config(s);
		fbx_rule r;
		CHECK(fbx_name_check_record(p->limiters[i].name) == 0);
		CHECK(cfg.rule == s->rule && fbx_rule_parse(cfg.rule, &r, NULL) == 0);
		CHECK(whole_value(data, size, s->rule));
		CHECK(cfg.algorithm == FBX_ALGO_WINDOW || cfg.algorithm == FBX_ALGO_GCRA ||
		      cfg.algorithm == FBX_ALGO_LOG || cfg.algorithm == FBX_ALGO_AUTO);
		CHECK(cfg.burst >= 1 && (cfg.keyed == 0 || cfg.keyed == 1) &&
		      (cfg.dry_run == 0 || cfg.dry_run == 1));
		for (size_t k = 0; k < i; k++)
			CHECK(strcmp(p->limiters[i].name, p->limiters[k].name) != 0);
		/* What fbx_limiter_register() will build.  limiter_check() asks
		 * fbx_limiter_config_check(), so none should be refused once the
		 * box is made (create --exist-ok would then leave the records
		 * registered before it); counted, for run.sh's summary. */
		struct fbx__limiter_cfg built;
		/* auto builds as the window wherever the log does not fit */
		uint32_t algo = cfg.algorithm == FBX_ALGO_AUTO ? FBX_ALGO_WINDOW : cfg.algorithm;
		if (fbx__limiter_cfg_build(algo, cfg.burst, cfg.rule, &built) != 0)
			refused_by_library++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (ftruncate(file_fd, 0) != 0 || pwrite(file_fd, data, size, 0) != (ssize_t)size)
		abort();
	char *msg = NULL;
	size_t msg_len = 0;
	stderr = open_memstream(&msg, &msg_len);
	CHECK(stderr != NULL);

	struct plan p;
	plan_init(&p);
	int rc = plan_read(path, &p);
	fclose(stderr);
	stderr = fuzz_err;
	inputs++;
	if (rc == 0) {
		accepted++;
		CHECK(msg_len == 0);
		check_plan(&p, data, size);
	} else {
		CHECK(rc == CTL_ERR);
		char want[80];
		snprintf(want, sizeof(want), "fuseboxctl: %s:", path);
		CHECK(strncmp(msg, want, strlen(want)) == 0 ||
		      strcmp(msg, "fuseboxctl: out of memory\n") == 0);
		CHECK(msg_len > 0 && memchr(msg, '\n', msg_len) == msg + msg_len - 1);
	}
	plan_free(&p);
	free(msg);
	return 0;
}
