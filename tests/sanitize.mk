# tests/sanitize.mk — the sanitizers that `make asan` does not cover,
# included by the Makefile (which defines B, BASEFLAGS, OPT, STATIC and the
# test sources and flags used here).
#
#   make tsan       the library and the test binary built with ThreadSanitizer
#                   (build/tsan), running the threads tests (tag `threads`): one box handle
#                   shared by threads.  Any report fails the target.
#   make valgrind   the ctl tests (tag `ctl`) with every fuseboxctl run under memcheck
#                   (tests/valgrind-ctl.sh); any memcheck error fails a test.

.PHONY: tsan valgrind sanitize-deps

sanitize-deps:
	@sh tools/install-deps.sh sanitize

# ---- ThreadSanitizer ---------------------------------------------------

# gcc's runtime (libtsan2) comes with gcc itself; TSAN_CC=clang works too
# (remove build/tsan when switching: make does not see a compiler change).
TSAN_CC ?= $(CC)
# -Wno-error=tsan: gcc warns that TSan does not model atomic_thread_fence.
# Where a fence orders only atomic accesses TSan cannot report a race on
# them anyway; where it orders plain ones (a seqlock copy) TSan reports the
# race, which is right, as the copy is a data race.  So the warning stays
# visible and the build goes on.
TSAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=thread \
	$(if $(findstring clang,$(TSAN_CC)),,-Wno-error=tsan)
# halt_on_error: the first report ends the test's (forked) process with
# exitcode 66, so check counts that test as failed and the target fails.
# history_size: enough history to name both sides of a race.
TSAN_RUN_OPTIONS := halt_on_error=1 exitcode=66 history_size=7 second_deadlock_stack=1 \
	suppressions=$(CURDIR)/tests/tsan.supp

tsan: sanitize-deps
	$(MAKE) --no-print-directory B=build/tsan CC="$(TSAN_CC)" OPT="$(TSAN_FLAGS)" \
		build/tsan/fusebox-tests
	CK_INCLUDE_TAGS=threads TSAN_OPTIONS="$(TSAN_RUN_OPTIONS)" build/tsan/fusebox-tests

# ---- valgrind ------------------------------------------------------------

# The tool as `make test` builds it (-O2 -g): what is shipped is what is
# checked.  Each run costs memcheck's start-up (about 0.8 s here), so
# check's time limits are stretched; the tests' own deadlines already
# allow for a slow tool.
VALGRIND_SLOWDOWN ?= 10

# The one place a test is left out under valgrind, by name:
#   parallel_limiter_takes  80 takes from 8 processes must all land in one
#                           60-second window for "exactly 50 admitted"; under
#                           memcheck they take 20-40 s, so about a third of runs
#                           cross a window and the sliding window rightly admits
#                           a few more.  `limiter take` itself stays checked in
#                           the limiter test case.
VALGRIND_SKIP := parallel_limiter_takes

# The test binary with the FBX_TEST_SKIP hook (tests/run.c); the tool is
# the one under test, so nothing here is built differently from `make test`.
VG_TESTS := $(B)/valgrind/fusebox-tests
$(VG_TESTS): $(TEST_SRC) $(TEST_HDR) $(TUI_MODEL) $(wildcard tui/*.h) bench/trace.c \
		bench/trace.h $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(BASEFLAGS) -Ilib -Itui -Ibench $(OPT) $(CFLAGS) $(CHECK_FLAGS) -DFBX_TEST_SKIP_WRAP \
		-o $@ $(TEST_SRC) $(TUI_MODEL) bench/trace.c $(STATIC) -Wl,--wrap=_tcase_add_test \
		$(CHECK_LIBS) $(JANSSON_LIBS) $(LDLIBS) -lm

valgrind: sanitize-deps
	$(MAKE) --no-print-directory B=$(B) $(VG_TESTS) $(B)/fuseboxctl
	FUSEBOX_CTL=tests/valgrind-ctl.sh FUSEBOX_CTL_BIN=$(CURDIR)/$(B)/fuseboxctl \
		FBX_TEST_SKIP="$(VALGRIND_SKIP)" CK_INCLUDE_TAGS=ctl \
		CK_TIMEOUT_MULTIPLIER=$(VALGRIND_SLOWDOWN) $(VG_TESTS)
