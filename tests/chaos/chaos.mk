# tests/chaos/chaos.mk — the chaos harness, included by the Makefile.
#
#   make chaos         a CHAOS_SECONDS run (default 60), then a --stall run
#                      of CHAOS_STALL_SECONDS (default the same); both run,
#                      and the target fails if either found a violation
#   make chaos-smoke   the same, short: a few seconds each (for make test)
#
# CHAOS_FLAGS passes more options to both runs (--workers, --kills-per-min,
# --seed, ...: build/fusebox-chaos --help).  The harness includes the
# library's internal.h (-Ilib) to read the box's words directly.

CHAOS_SECONDS       ?= 60
CHAOS_STALL_SECONDS ?= $(CHAOS_SECONDS)
CHAOS_SMOKE_SECONDS ?= 5
CHAOS_FLAGS         ?=
CHAOS_SRC           := $(wildcard tests/chaos/*.c)
CHAOS_HDR           := $(wildcard tests/chaos/*.h)

.PHONY: chaos chaos-smoke

$(B)/fusebox-chaos: $(CHAOS_SRC) $(CHAOS_HDR) $(LIB_HDR) $(STATIC)
	$(CC) $(BASEFLAGS) -Ilib $(OPT) $(CFLAGS) -o $@ $(CHAOS_SRC) $(STATIC) $(LDLIBS) -lm

chaos: $(B)/fusebox-chaos
	@rc=0; \
	$(B)/fusebox-chaos --seconds $(CHAOS_SECONDS) $(CHAOS_FLAGS) || rc=1; \
	$(B)/fusebox-chaos --seconds $(CHAOS_STALL_SECONDS) --stall $(CHAOS_FLAGS) || rc=1; \
	exit $$rc

chaos-smoke: $(B)/fusebox-chaos
	@rc=0; \
	$(B)/fusebox-chaos --seconds $(CHAOS_SMOKE_SECONDS) --workers 4 $(CHAOS_FLAGS) || rc=1; \
	$(B)/fusebox-chaos --seconds $(CHAOS_SMOKE_SECONDS) --workers 4 --stall $(CHAOS_FLAGS) || rc=1; \
	exit $$rc
