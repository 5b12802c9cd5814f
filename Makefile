# fusebox — plain make.  `make` builds the libraries, `make test` runs the
# check suite, `make asan` runs it under ASan+UBSan, `make bench` measures.

VERSION   := $(shell sed -n 's/^#define FBX_VERSION_STRING "\(.*\)"/\1/p' include/fusebox.h)
SOMAJOR   := 0
PREFIX    ?= /usr/local
DESTDIR   ?=
CC        ?= cc
OPT       ?= -O2 -g
WARN      := -Wall -Wextra -Werror
BASEFLAGS := -std=c11 -D_GNU_SOURCE -Iinclude -pthread $(WARN)
CFLAGS    ?=
LDLIBS    := -pthread -lrt

B         := build
LIB_SRC   := $(wildcard lib/*.c)
LIB_HDR   := include/fusebox.h $(wildcard lib/*.h)
LIB_OBJ   := $(LIB_SRC:lib/%.c=$(B)/lib/%.o)
PIC_OBJ   := $(LIB_SRC:lib/%.c=$(B)/pic/%.o)
TEST_SRC  := $(wildcard tests/*.c)
TEST_HDR  := $(wildcard tests/*.h)
CHECK_FLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS  = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck)
# Well-kept Debian libraries the tools, tests and bench use (never the
# library): tools/install-deps.sh installs them for the targets that need them.
JANSSON_LIBS = $(shell pkg-config --libs jansson 2>/dev/null || echo -ljansson)
INIH_LIBS    = $(shell pkg-config --libs inih 2>/dev/null || echo -linih)
HIREDIS_CFLAGS = $(shell pkg-config --cflags hiredis 2>/dev/null)
HIREDIS_LIBS = $(shell pkg-config --libs hiredis 2>/dev/null || echo -lhiredis)
MHD_CFLAGS   = $(shell pkg-config --cflags libmicrohttpd 2>/dev/null)
MHD_LIBS     = $(shell pkg-config --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)

STATIC    := $(B)/libfusebox.a
SHARED    := $(B)/libfusebox.so.$(VERSION)

.PHONY: all lib tools tui probe test asan bench demo deps install install-lib uninstall clean \
	examples
all: lib tools tui probe examples

lib: $(STATIC) $(SHARED)

$(B)/lib/%.o: lib/%.c $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(BASEFLAGS) $(OPT) $(CFLAGS) -c -o $@ $<

$(B)/pic/%.o: lib/%.c $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(BASEFLAGS) $(OPT) $(CFLAGS) -fPIC -c -o $@ $<

$(STATIC): $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

# SONAME by major; the version script exports fbx_ names only; nodelete
# because the library registers a pthread_atfork handler.
$(SHARED): $(PIC_OBJ) lib/fusebox.map
	$(CC) -shared -o $@ $(PIC_OBJ) -Wl,-soname,libfusebox.so.$(SOMAJOR) \
		-Wl,--version-script=lib/fusebox.map -Wl,-z,nodelete $(LDLIBS)
	ln -sf libfusebox.so.$(VERSION) $(B)/libfusebox.so.$(SOMAJOR)
	ln -sf libfusebox.so.$(SOMAJOR) $(B)/libfusebox.so

# Made at every install: they record the PREFIX of that install.
# fusebox-static.pc names libfusebox.a itself: `pkg-config --static fusebox`
# still says -lfusebox, which the linker resolves to the .so beside the .a.
.PHONY: $(B)/fusebox.pc $(B)/fusebox-static.pc
$(B)/fusebox.pc $(B)/fusebox-static.pc: $(B)/%.pc: lib/%.pc.in
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

# ---- tools -------------------------------------------------------------

CTL_SRC := $(wildcard tools/ctl_*.c)
tools: $(B)/fuseboxctl
$(B)/fuseboxctl: $(CTL_SRC) $(wildcard tools/*.h) $(STATIC)
	$(CC) $(BASEFLAGS) $(OPT) $(CFLAGS) -o $@ $(CTL_SRC) $(STATIC) $(INIH_LIBS) $(LDLIBS)

# ---- console -----------------------------------------------------------

# The console shares the tool's guard against a box truncated under it and
# its way of writing what the user typed to a terminal, and its way of
# finding the box when none was named.
TUI_SRC := $(wildcard tui/*.c) tools/ctl_busguard.c tools/ctl_term.c tools/ctl_boxfind.c
tui: $(B)/fusebox-top
$(B)/fusebox-top: $(TUI_SRC) $(wildcard tui/*.h) tools/busguard.h tools/term.h tools/boxfind.h $(STATIC)
	$(CC) $(BASEFLAGS) -Itools $(OPT) $(CFLAGS) -o $@ $(TUI_SRC) $(STATIC) -lncurses $(LDLIBS)

# ---- probe -------------------------------------------------------------

# HTTP for Kubernetes probes: libmicrohttpd parses, jansson writes the
# bodies, and reads of the box go through the tool's SIGBUS guard.
PROBE_SRC := $(wildcard tools/probe_*.c) tools/ctl_busguard.c tools/ctl_boxfind.c
probe: $(B)/fusebox-probe
$(B)/fusebox-probe: $(PROBE_SRC) tools/probe.h tools/busguard.h tools/boxfind.h $(STATIC)
	$(CC) $(BASEFLAGS) -Itools $(MHD_CFLAGS) $(OPT) $(CFLAGS) -o $@ $(PROBE_SRC) $(STATIC) \
		$(MHD_LIBS) $(JANSSON_LIBS) $(LDLIBS)

# ---- tests -------------------------------------------------------------

deps:
	@sh tools/install-deps.sh test

# The console's screen model is tested without a terminal.
TUI_MODEL := $(filter-out tui/main.c,$(wildcard tui/*.c))
# The bench's traces (bench/trace.c) are replayed by the tests too, so the
# exactness make test proves is the one make bench reports.
$(B)/fusebox-tests: $(TEST_SRC) $(TEST_HDR) $(TUI_MODEL) $(wildcard tui/*.h) bench/trace.c \
		bench/trace.h $(STATIC)
	$(CC) $(BASEFLAGS) -Ilib -Itui -Ibench $(OPT) $(CFLAGS) $(CHECK_FLAGS) -o $@ $(TEST_SRC) \
		$(TUI_MODEL) bench/trace.c \
		$(STATIC) $(CHECK_LIBS) $(JANSSON_LIBS) $(LDLIBS) -lm

# A short chaos run and a few seconds of each fuzz target come first, so
# that check's counts are the last lines printed.
test: deps
	$(MAKE) --no-print-directory B=$(B) $(B)/fusebox-tests $(B)/fuseboxctl $(B)/fusebox-top \
		$(B)/fusebox-probe examples lib
	$(MAKE) --no-print-directory B=$(B) chaos-smoke
	$(MAKE) --no-print-directory B=$(B) fuzz-smoke
	FUSEBOX_CTL=$(B)/fuseboxctl FUSEBOX_TOP=$(B)/fusebox-top FUSEBOX_FLEET=$(B)/examples/fleet \
		FUSEBOX_PROBE=$(B)/fusebox-probe FUSEBOX_BUILD=$(B) FUSEBOX_CC="$(CC)" $(B)/fusebox-tests
	$(MAKE) --no-print-directory B=$(B) python-test
	$(MAKE) --no-print-directory B=$(B) cortex-test

# The Python binding (bindings/python) with Debian's interpreter, which has
# python3-limits, flask-limiter, fastapi and gunicorn (a pyenv python3 on
# PATH may not); its last line is "N passed, N failed".
PYTHON ?= /usr/bin/python3
.PHONY: python-test
python-test: lib
	cd bindings/python && FUSEBOX_LIB=$(abspath $(B))/libfusebox.so.0 $(PYTHON) tests/run.py

# The same suite, library and tests built with ASan+UBSan.
# FBX_DEBUG compiles the library's invariant assertions in (lib/debug.h).
ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	      -DFBX_DEBUG
asan: deps
	$(MAKE) --no-print-directory B=build/asan OPT="$(ASAN_FLAGS)" build/asan/fusebox-tests \
		build/asan/fuseboxctl build/asan/fusebox-top build/asan/fusebox-probe examples lib
	FUSEBOX_CTL=build/asan/fuseboxctl FUSEBOX_TOP=build/asan/fusebox-top FUSEBOX_BUILD=build/asan \
		FUSEBOX_FLEET=build/asan/examples/fleet FUSEBOX_PROBE=build/asan/fusebox-probe ASAN_OPTIONS=detect_leaks=1 \
		LSAN_OPTIONS=suppressions=tests/lsan.supp UBSAN_OPTIONS=print_stacktrace=1 \
		build/asan/fusebox-tests

# ---- examples, demo, bench ---------------------------------------------

EXAMPLES := $(patsubst examples/%.c,$(B)/examples/%,$(wildcard examples/*.c))
examples: $(EXAMPLES)
$(B)/examples/%: examples/%.c $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(BASEFLAGS) $(OPT) $(CFLAGS) -o $@ $< $(STATIC) $(LDLIBS)

demo:
	@sh tools/install-deps.sh demo
	$(MAKE) --no-print-directory lib tools tui probe examples
	B=$(B) sh tools/demo.sh

BENCH_SRC := $(wildcard bench/*.c)
$(B)/fusebox-bench: $(BENCH_SRC) $(wildcard bench/*.h) $(STATIC)
	$(CC) $(BASEFLAGS) $(HIREDIS_CFLAGS) -O2 -g $(CFLAGS) -o $@ $(BENCH_SRC) $(STATIC) \
		$(HIREDIS_LIBS) $(LDLIBS) -lm

# The packages first: the bench links hiredis.
bench:
	@sh tools/install-deps.sh bench
	$(MAKE) --no-print-directory B=$(B) $(B)/fusebox-bench
	$(B)/fusebox-bench
	@if [ -x /usr/bin/python3 ]; then $(MAKE) --no-print-directory B=$(B) lib >/dev/null && \
		FUSEBOX_LIB=$(abspath $(B))/libfusebox.so.0 /usr/bin/python3 bench/python_bench.py; \
	else echo "bench: no /usr/bin/python3: the Python rows are left out"; fi

# ---- proof: fuzzing, chaos, more sanitizers ----------------------------

-include tests/fuzz/fuzz.mk tests/chaos/chaos.mk tests/sanitize.mk

# make man: the console's generated parts of man/fusebox-top.1
include tui/man.mk

# ---- the service end to end (examples/cortex) ---------------------------

-include examples/cortex/cortex.mk

# ---- install -----------------------------------------------------------

install: lib tools tui probe install-lib
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(B)/fuseboxctl $(B)/fusebox-top $(B)/fusebox-probe $(DESTDIR)$(PREFIX)/bin/
	install -m 644 man/fuseboxctl.1 man/fusebox-top.1 man/fusebox-probe.1 \
		$(DESTDIR)$(PREFIX)/share/man/man1/

# The library alone (header, both libraries, both .pc files): what a
# program needs to build against fusebox, and what make test installs.
install-lib: lib $(B)/fusebox.pc $(B)/fusebox-static.pc
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 include/fusebox.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(STATIC) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHARED) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libfusebox.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libfusebox.so.$(SOMAJOR)
	ln -sf libfusebox.so.$(SOMAJOR) $(DESTDIR)$(PREFIX)/lib/libfusebox.so
	install -m 644 $(B)/fusebox.pc $(B)/fusebox-static.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/include/fusebox.h $(DESTDIR)$(PREFIX)/lib/libfusebox.* \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig/fusebox.pc \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig/fusebox-static.pc $(DESTDIR)$(PREFIX)/bin/fuseboxctl \
		$(DESTDIR)$(PREFIX)/bin/fusebox-top $(DESTDIR)$(PREFIX)/bin/fusebox-probe \
		$(DESTDIR)$(PREFIX)/share/man/man1/fuseboxctl.1 \
		$(DESTDIR)$(PREFIX)/share/man/man1/fusebox-top.1 \
		$(DESTDIR)$(PREFIX)/share/man/man1/fusebox-probe.1

clean:
	rm -rf build
