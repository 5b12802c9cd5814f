"""Runs Cortex's end-to-end tests; the last line is "N passed, N failed"."""
import os
import signal
import sys
import time
import unittest


def _interrupt(sig, frame):
    # as Ctrl-C: unittest lets KeyboardInterrupt through (any other exception
    # would fail one test and go on), and the exit runs atexit, which stops
    # every stack a test started
    raise KeyboardInterrupt


signal.signal(signal.SIGTERM, _interrupt)

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
t0 = time.monotonic()
suite = unittest.defaultTestLoader.discover(here, top_level_dir=here)
try:
    result = unittest.TextTestRunner(verbosity=2).run(suite)
except KeyboardInterrupt:
    print("cortex: interrupted (its processes and boxes are stopped and removed)")
    sys.exit(130)
for test, why in result.skipped:
    print("skipped %s: %s" % (test.id(), why))
bad = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
passed = result.testsRun - bad - len(result.skipped)
print("cortex: %d tests in %.1fs (%d skipped)" % (result.testsRun, time.monotonic() - t0,
                                                 len(result.skipped)))
if result.skipped:
    print("%d passed, %d failed, %d skipped" % (passed, bad, len(result.skipped)))
else:
    print("%d passed, %d failed" % (passed, bad))
sys.exit(0 if result.wasSuccessful() else 1)
