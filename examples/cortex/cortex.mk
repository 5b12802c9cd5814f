# examples/cortex/cortex.mk — Cortex, the service end to end (included by
# the Makefile).
#
#   make cortex         the service on 127.0.0.1:4949 with fusebox-top on its
#                       box; quitting the console drains and stops everything
#   make cortex-test    end-to-end tests (gunicorn, uvicorn, wrk, ab); the last
#                       line is "N passed, N failed"
#   make cortex-bench   p50/p90/p99 with wrk, healthy and during an outage
#
# Debian's interpreter ($(PYTHON)): it has gunicorn, FastAPI and uvicorn.

CORTEX_PORT ?= 4949
CORTEX_BOX  ?= cortex
CORTEX_LIB   = FUSEBOX_LIB=$(abspath $(B))/libfusebox.so.0

.PHONY: cortex cortex-test cortex-bench

cortex:
	@sh tools/install-deps.sh cortex
	$(MAKE) --no-print-directory B=$(B) lib $(B)/fusebox-top
	$(CORTEX_LIB) $(PYTHON) examples/cortex/stack.py --port $(CORTEX_PORT) --box $(CORTEX_BOX) \
		--top $(B)/fusebox-top

# No install step here: a missing package makes the tests skip, naming it
# (make test's deps installs them).  CORTEX_TEST_PORT picks the service's
# port; by default each run takes a free one, and always a box of its own.
cortex-test: lib
	$(CORTEX_LIB) $(PYTHON) examples/cortex/tests/run.py

cortex-bench:
	@sh tools/install-deps.sh cortex
	$(MAKE) --no-print-directory B=$(B) lib
	$(CORTEX_LIB) PYTHON=$(PYTHON) sh examples/cortex/bench.sh
