"""Runs every test of the binding; the last line is "N passed, N failed"."""
import os
import sys
import time
import unittest

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
t0 = time.monotonic()
suite = unittest.defaultTestLoader.discover(here, top_level_dir=here)
result = unittest.TextTestRunner(verbosity=1).run(suite)
bad = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
passed = result.testsRun - bad - len(result.skipped)
print("python binding: %d tests in %.1fs (%d skipped)" % (result.testsRun, time.monotonic() - t0,
                                                         len(result.skipped)))
print("%d passed, %d failed" % (passed, bad))
sys.exit(0 if result.wasSuccessful() else 1)
