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
             "FBX_CACHE_KEY_MAX", "FBX_BULKHEAD_MAX", "FBX_HALF_OPEN_MAX", "FBX_ERDONLY",
             "FBX_ECORRUPT"]

# Functions whose whole C signature is checked: the program asserts at compile
# time that each has this type in the header, and the ctypes prototype must
# pass the same kinds of arguments.
SIGNATURES = {
    "fbx_limiter_take": ("int", ["fbx_limiter *", "const void *", "size_t", "uint32_t",
                                 "fbx_limit_result *"]),
    "fbx_limiter_peek": ("int", ["fbx_limiter *", "const void *", "size_t", "uint32_t",
                                 "fbx_limit_result *"]),
    "fbx_limiter_forget": ("int", ["fbx_limiter *", "const void *", "size_t"]),
    "fbx_limiter_reset": ("int", ["fbx_limiter *", "const char *"]),
    "fbx_limiter_find": ("int", ["fbx_box *", "const char *", "fbx_limiter **"]),
    "fbx_breaker_info_get": ("int", ["fbx_breaker *", "fbx_breaker_info *"]),
    "fbx_breaker_find": ("int", ["fbx_box *", "const char *", "fbx_breaker **"]),
    "fbx_events_read": ("int", ["fbx_box *", "uint64_t", "fbx_event *", "size_t", "size_t *",
                                "uint64_t *"]),
}
_SCALARS = {"int": ctypes.c_int, "size_t": ctypes.c_size_t, "uint32_t": ctypes.c_uint32,
            "uint64_t": ctypes.c_uint64}


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
    for fn, (ret, args) in SIGNATURES.items():
        lines.append('_Static_assert(__builtin_types_compatible_p(__typeof__(&%s), %s (*)(%s)), '
                     '"%s: the header declares another signature");'
                     % (fn, ret, ", ".join(args), fn))
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
            built = subprocess.run([cc, "-std=c11", "-D_GNU_SOURCE", "-I", HEADER_DIR,
                                    "-o", exe, src], capture_output=True, text=True)
            if built.returncode:
                raise AssertionError("the header does not compile with the binding's "
                                     "declarations:\n" + built.stderr)
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

    def test_signatures(self):
        # the C side was checked when the program compiled; here the ctypes side
        for fn, (ret, args) in SIGNATURES.items():
            with self.subTest(function=fn):
                self.assertIn(fn, L.PROTOTYPES)
                res, argtypes = L.PROTOTYPES[fn]
                self.assertIs(res, _SCALARS[ret])
                self.assertEqual(len(argtypes), len(args))
                for c, t in zip(args, argtypes):
                    if c.endswith("*"):
                        self.assertTrue(t in (ctypes.c_void_p, ctypes.c_char_p) or
                                        issubclass(t, ctypes._Pointer), (c, t))
                        base = c.rstrip(" *").replace("const ", "")
                        if issubclass(t, ctypes._Pointer) and base in L.STRUCTS:
                            self.assertIs(t._type_, L.STRUCTS[base], c)
                    else:
                        self.assertIs(t, _SCALARS[c], c)
        lib = L.lib()
        for fn in SIGNATURES:
            self.assertEqual(getattr(lib, fn).argtypes, L.PROTOTYPES[fn][1], fn)

    def test_version_matches_header(self):
        with open(os.path.join(HEADER_DIR, "fusebox.h")) as f:
            want = [l.split('"')[1] for l in f if l.startswith("#define FBX_VERSION_STRING")][0]
        self.assertEqual(fusebox.version(), want)


if __name__ == "__main__":
    unittest.main()
