# tests/chaos/chaos.mk — the chaos harness, included by the Makefile.
#
#   make chaos         a CHAOS_SECONDS run (default 60), then a --stall run
#                      of CHAOS_STALL_SECONDS (default the same), then a
#                      --scribble run of CHAOS_SCRIBBLE_SECONDS (default the
#                      same); all run, and the target fails if any found a
#                      violation
#   make chaos-smoke   the same, short: a few seconds each (for make test)
#
# CHAOS_FLAGS passes more options to every run (--workers, --kills-per-min,
# --seed, ...: build/fusebox-chaos --help).  The harness includes the
# library's internal.h (-Ilib) to read the box's words directly; the
# --scribble run renders the console's screen model (the tui/ files but
# main.c, -Itui, as the tests link them) and runs fuseboxctl on the box.
# -rdynamic: a crash's backtrace names the library's functions.

CHAOS_SECONDS          ?= 60
CHAOS_STALL_SECONDS    ?= $(CHAOS_SECONDS)
CHAOS_SCRIBBLE_SECONDS ?= $(CHAOS_SECONDS)
CHAOS_SMOKE_SECONDS    ?= 5
CHAOS_FLAGS            ?=
CHAOS_SRC              := $(wildcard tests/chaos/*.c)
CHAOS_HDR              := $(wildcard tests/chaos/*.h)
CHAOS_TUI              := $(filter-out tui/main.c,$(wildcard tui/*.c))
CHAOS_SCRIBBLE         := --scribble --ctl $(B)/fuseboxctl

.PHONY: chaos chaos-smoke

$(B)/fusebox-chaos: $(CHAOS_SRC) $(CHAOS_HDR) $(CHAOS_TUI) $(wildcard tui/*.h) $(LIB_HDR) $(STATIC)
	$(CC) $(BASEFLAGS) -Ilib -Itui $(OPT) $(CFLAGS) -rdynamic -o $@ $(CHAOS_SRC) $(CHAOS_TUI) \
		$(STATIC) $(LDLIBS) -lm

chaos: $(B)/fusebox-chaos $(B)/fuseboxctl
	@rc=0; \
	$(B)/fusebox-chaos --seconds $(CHAOS_SECONDS) $(CHAOS_FLAGS) || rc=1; \
	$(B)/fusebox-chaos --seconds $(CHAOS_STALL_SECONDS) --stall $(CHAOS_FLAGS) || rc=1; \
	$(B)/fusebox-chaos --seconds $(CHAOS_SCRIBBLE_SECONDS) $(CHAOS_SCRIBBLE) $(CHAOS_FLAGS) || rc=1; \
	exit $$rc

chaos-smoke: $(B)/fusebox-chaos $(B)/fuseboxctl
	@rc=0; \
	$(B)/fusebox-chaos --seconds $(CHAOS_SMOKE_SECONDS) --workers 4 $(CHAOS_FLAGS) || rc=1; \
	$(B)/fusebox-chaos --seconds $(CHAOS_SMOKE_SECONDS) --workers 4 --stall $(CHAOS_FLAGS) || rc=1; \
	$(B)/fusebox-chaos --seconds $(CHAOS_SMOKE_SECONDS) --workers 4 $(CHAOS_SCRIBBLE) $(CHAOS_FLAGS) || rc=1; \
	exit $$rc

# Reproducers of what --scribble runs found (tests/chaos/repro/*.c, one
# program each): `make chaos-repro` builds and runs them; each exits 1
# while its problem is still there.
CHAOS_REPRO := $(patsubst tests/chaos/repro/%.c,$(B)/chaos-repro/%,$(wildcard tests/chaos/repro/*.c))

.PHONY: chaos-repro
$(B)/chaos-repro/%: tests/chaos/repro/%.c $(LIB_HDR) $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(BASEFLAGS) -Ilib $(OPT) $(CFLAGS) -o $@ $< $(STATIC) $(LDLIBS)

chaos-repro: $(CHAOS_REPRO)
	@rc=0; for r in $(CHAOS_REPRO); do $$r || rc=1; done; exit $$rc
