"""Shared by the tests: the package from the source tree, fresh box names,
a test case that creates a box and removes it afterwards."""
import itertools
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.dirname(HERE)
ROOT = os.path.dirname(os.path.dirname(PKG))
if PKG not in sys.path:
    sys.path.insert(0, PKG)

import fusebox  # noqa: E402

_n = itertools.count()


def box_name(tag="t"):
    """A box name no other test (or run) uses: removed in tearDown."""
    return "py%s-%d-%d" % (tag[:8], os.getpid(), next(_n))


class BoxCase(unittest.TestCase):
    """self.box: a fresh box, closed and unlinked after the test."""
    box_kwargs = {}

    def setUp(self):
        self.box_name = box_name(self.__class__.__name__.lower())
        self.box = fusebox.Box(self.box_name, **self.box_kwargs)
        self.addCleanup(self._remove)

    def _remove(self):
        self.box.close()
        try:
            fusebox.unlink(self.box_name)
        except fusebox.NotFound:
            pass
