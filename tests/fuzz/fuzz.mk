# tests/fuzz/fuzz.mk — libFuzzer targets, included by the Makefile.
#
#   make fuzz         replays tests/fuzz/regress/, then fuzzes each target
#                     for FUZZ_SECONDS
#   make fuzz-smoke   the same for FUZZ_SMOKE_SECONDS (for make test)
#
# clang builds everything here, the library included, into $(B)/fuzz/: the
# coverage feedback and the sanitizers must see the code under test, not a
# gcc-built libfusebox.a.  Inputs a run discovers go to $(B)/fuzz/run/, never
# into the repository (tests/fuzz/run.sh).

FUZZ_CC            ?= clang
FUZZ_SECONDS       ?= 60
FUZZ_SMOKE_SECONDS ?= 3
FUZZ_TARGETS       := rule config options box json
FUZZ_OUT           := $(B)/fuzz
FUZZ_SAN           := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS        := $(BASEFLAGS) -Ilib -Itools -Itui -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN)
# fuseboxctl's objects read the config file with inih
FUZZ_LIBS          := $(INIH_LIBS) -pthread -lrt -lm

FUZZ_HDR      := include/fusebox.h $(wildcard lib/*.h tools/*.h tui/*.h tests/fuzz/*.h)
FUZZ_LIB_OBJ  := $(LIB_SRC:lib/%.c=$(FUZZ_OUT)/lib/%.o)
FUZZ_TOOL_OBJ := $(patsubst tools/%.c,$(FUZZ_OUT)/tools/%.o,\
		   $(filter-out tools/ctl_main.c,$(wildcard tools/ctl_*.c)))
# the model's own files: any tool file it shares is in FUZZ_TOOL_OBJ
FUZZ_TUI_OBJ  := $(patsubst tui/%.c,$(FUZZ_OUT)/tui/%.o,$(filter tui/%.c,$(TUI_MODEL)))
FUZZ_BINS     := $(FUZZ_TARGETS:%=$(FUZZ_OUT)/fuzz_%)

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-toolchain

fuzz: fuzz-build
	sh tests/fuzz/run.sh $(FUZZ_OUT) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	sh tests/fuzz/run.sh --fresh $(FUZZ_OUT) $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)

fuzz-build: fuzz-toolchain
	$(MAKE) --no-print-directory B=$(B) $(FUZZ_BINS)

# Without libFuzzer's runtime the link fails with a message that names no
# package; say which ones instead.
fuzz-toolchain:
	@command -v $(FUZZ_CC) >/dev/null && \
	ls "$$($(FUZZ_CC) --print-runtime-dir)"/libclang_rt.fuzzer-*.a >/dev/null 2>&1 || { \
	echo "fuzz: needs clang with libFuzzer (Debian 12: apt-get install clang libclang-rt-14-dev)" >&2; \
	exit 1; }

# Objects under test: only edge coverage here; the fuzzer's main comes
# with the link of each target.
$(FUZZ_OUT)/lib/%.o: lib/%.c $(FUZZ_HDR)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
$(FUZZ_OUT)/tools/%.o: tools/%.c $(FUZZ_HDR)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
$(FUZZ_OUT)/tui/%.o: tui/%.c $(FUZZ_HDR)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_OUT)/fuzz_rule: tests/fuzz/fuzz_rule.c $(FUZZ_LIB_OBJ)
$(FUZZ_OUT)/fuzz_config $(FUZZ_OUT)/fuzz_options: $(FUZZ_LIB_OBJ) $(FUZZ_TOOL_OBJ)
$(FUZZ_OUT)/fuzz_config: tests/fuzz/fuzz_config.c
$(FUZZ_OUT)/fuzz_options: tests/fuzz/fuzz_options.c
$(FUZZ_OUT)/fuzz_box: tests/fuzz/fuzz_box.c $(FUZZ_LIB_OBJ) $(FUZZ_TOOL_OBJ) $(FUZZ_TUI_OBJ)
# jansson is the independent parser the tool's JSON writer is held to
$(FUZZ_OUT)/fuzz_json: tests/fuzz/fuzz_json.c $(FUZZ_LIB_OBJ) $(FUZZ_TOOL_OBJ)
$(FUZZ_OUT)/fuzz_json: FUZZ_LIBS += $(JANSSON_LIBS)
$(FUZZ_BINS): $(FUZZ_HDR)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $(filter %.c %.o,$^) $(FUZZ_LIBS)
