"""The structs the binding declares against the C header: every size and
every field offset, measured by a small C program compiled here against
include/fusebox.h, so a change of the header cannot silently break them."""
import ctypes
import os
import shutil
import subprocess
import tempfile
import unittest

from helpers import ROOT, fusebox  # noqa: F401
from fusebox import _lib as L

HEADER_DIR = os.path.join(ROOT, "include")
CONSTANTS = ["FBX_EINVAL", "FBX_ERULE", "FBX_ENOENT", "FBX_ECONFLICT", "FBX_EOPEN",
             "FBX_ELIMITED", "FBX_ERANGE", "FBX_ETRUNC", "FBX_EFAILED", "FBX_OPEN_CREATE",
             "FBX_OPEN_RDONLY", "FBX_OPEN_THREADS", "FBX_FORCED_CLOSED", "FBX_IGNORED",
             "FBX_ALGO_LOG", "FBX_ALGO_AUTO", "FBX_NAME_MAX", "FBX_REASON_MAX",
             "FBX_RULE_TEXT_MAX", "FBX_RULE_LIMITS_MAX", "FBX_ROLE_MAX",
             "FBX_CHECK_MESSAGE_MAX", "FBX_TOP_KEYS", "FBX_TOP_KEY_TEXT", "FBX_CHECK_FAIL",
             "FBX_HEALTH_UNHEALTHY", "FBX_JITTER_DECORRELATED", "FBX_RETRY_DRAINING",
             "FBX_CACHE_KEY_MAX", "FBX_BULKHEAD_MAX", "FBX_HALF_OPEN_MAX"]


def c_program():
    lines = ["#include <stdio.h>", "#include <stddef.h>", "#include <fusebox.h>",
             "int main(void) {"]
    for cname, cls in L.STRUCTS.items():
        lines.append('printf("%s %%zu\\n", sizeof(%s));' % (cname, cname))
        for field, _ in cls._fields_:
            lines.append('printf("%s.%s %%zu\\n", offsetof(%s, %s));'
                         % (cname, field, cname, field))
    lines.append('printf("fbx_rule.limit[0] %zu\\n", sizeof(((fbx_rule *)0)->limit[0]));')
    for c in CONSTANTS:
        lines.append('printf("=%s %%lld\\n", (long long)(%s));' % (c, c))
    lines += ["return 0;", "}"]
    return "\n".join(lines)


class StructLayout(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
        if not cc:
            raise unittest.SkipTest("no C compiler to measure the header with")
        if not os.path.exists(os.path.join(HEADER_DIR, "fusebox.h")):
            raise unittest.SkipTest("include/fusebox.h not found (not a source tree)")
        d = tempfile.mkdtemp()
        try:
            src, exe = os.path.join(d, "sizes.c"), os.path.join(d, "sizes")
            with open(src, "w") as f:
                f.write(c_program())
            subprocess.run([cc, "-std=c11", "-D_GNU_SOURCE", "-I", HEADER_DIR, "-o", exe, src],
                           check=True, capture_output=True)
            out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
        finally:
            shutil.rmtree(d)
        cls.c = dict(line.rsplit(" ", 1) for line in out.splitlines())

    def test_sizes(self):
        for cname, cls in L.STRUCTS.items():
            with self.subTest(struct=cname):
                self.assertEqual(ctypes.sizeof(cls), int(self.c[cname]),
                                 "%s: sizeof differs from the header" % cname)
        self.assertEqual(ctypes.sizeof(L.fbx_rule_limit), int(self.c["fbx_rule.limit[0]"]))

    def test_offsets(self):
        for cname, cls in L.STRUCTS.items():
            for field, _ in cls._fields_:
                with self.subTest(field="%s.%s" % (cname, field)):
                    self.assertEqual(getattr(cls, field).offset,
                                     int(self.c["%s.%s" % (cname, field)]))

    def test_constants(self):
        for c in CONSTANTS:
            with self.subTest(constant=c):
                self.assertEqual(getattr(L, c), int(self.c["=" + c]))

    def test_every_prototype_resolves(self):
        lib = L.lib()
        missing = [n for n in L.PROTOTYPES if not hasattr(lib, n)]
        self.assertEqual(missing, [])

    def test_version_matches_header(self):
        with open(os.path.join(HEADER_DIR, "fusebox.h")) as f:
            want = [l.split('"')[1] for l in f if l.startswith("#define FBX_VERSION_STRING")][0]
        self.assertEqual(fusebox.version(), want)


if __name__ == "__main__":
    unittest.main()
