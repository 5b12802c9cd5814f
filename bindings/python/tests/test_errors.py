"""Bad input raises clear exceptions carrying the library's message; it never
crashes the interpreter."""
import os
import subprocess
import sys
import unittest

from helpers import PKG, BoxCase, box_name, fusebox
from fusebox import RateLimiter


class Errors(unittest.TestCase):
    def test_unknown_box(self):
        name = box_name("missing")
        with self.assertRaises(fusebox.NotFound) as e:
            fusebox.Box(name, create=False)
        self.assertIn(name, str(e.exception))
        self.assertIn(fusebox.strerror(-4), str(e.exception))   # fbx_strerror's sentence
        with self.assertRaises(fusebox.NotFound):
            fusebox.unlink(name)

    def test_bad_box_names_and_types(self):
        for bad in ("", "a/b", ".hidden", "x" * 40, "nul\0byte"):
            with self.subTest(name=bad), self.assertRaises(fusebox.BadName):
                fusebox.Box(bad)
        with self.assertRaises(TypeError):
            fusebox.Box(42)
        with self.assertRaises(TypeError):
            fusebox.Box(box_name(), breakers="many")
        with self.assertRaises(TypeError):
            fusebox.Box(box_name(), colour=3)

    def test_exclusive_create(self):
        name = box_name("excl")
        b = fusebox.Box(name)
        try:
            with self.assertRaises(fusebox.AlreadyExists):
                fusebox.Box(name, exclusive=True)
        finally:
            b.remove()

    def test_error_has_code_and_reason(self):
        try:
            fusebox.Box(box_name("m"), create=False)
        except fusebox.FuseboxError as e:
            self.assertEqual(e.code, -4)
            self.assertEqual(e.reason, fusebox.strerror(-4))

    def test_library_errors_do_not_kill_the_interpreter(self):
        # NULL-ish and hostile values through the binding, in a child
        code = ("import fusebox\n"
                "for args in [(None,), (b'',)]:\n"
                "    try: fusebox.Box(*args)\n"
                "    except (TypeError, fusebox.FuseboxError): pass\n"
                "print('alive')\n")
        env = dict(os.environ, PYTHONPATH=PKG)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, timeout=30)
        self.assertEqual(out.stdout.strip(), "alive", out.stderr)


class LimiterErrors(BoxCase):
    def test_bad_rules(self):
        for rule in ("100/fortnight", "0/minute", "-5/second", "abc", "10/", ""):
            with self.subTest(rule=rule), self.assertRaises(fusebox.BadRule) as e:
                RateLimiter("l", rule, box=self.box)
            self.assertIn(rule, str(e.exception))
        with self.assertRaises(TypeError):
            RateLimiter("l", 100, box=self.box)
        with self.assertRaises(fusebox.InvalidArgument):
            RateLimiter("l", "1/second", box=self.box, algorithm="magic")

    def test_bad_takes(self):
        keyed = RateLimiter("k", "5/second", box=self.box, keyed=True)
        glob = RateLimiter("g", "5/second", box=self.box)
        with self.assertRaises(TypeError):
            keyed.take()
        with self.assertRaises(TypeError):
            keyed.take(42)
        with self.assertRaises(ValueError):
            keyed.take("")
        with self.assertRaises(TypeError):
            glob.take("key")
        with self.assertRaises(ValueError):
            glob.take(cost=0)
        with self.assertRaises(fusebox.OutOfRange):
            glob.take(cost=6)                      # beyond any window
        with self.assertRaises(fusebox.ConfigConflict):
            RateLimiter("g", "6/second", box=self.box)

    def test_read_only_box(self):
        RateLimiter("g", "5/second", box=self.box)
        ro = fusebox.Box(self.box_name, readonly=True)
        try:
            with self.assertRaises(fusebox.ReadOnly):
                RateLimiter("g", "5/second", box=ro).take()
        finally:
            ro.close()

    def test_closed_box(self):
        glob = RateLimiter("g", "5/second", box=self.box)
        self.box.close()
        with self.assertRaises(fusebox.BoxClosedError):
            glob.take()
        with self.assertRaises(fusebox.BoxClosedError):
            self.box.health()
        with self.assertRaises(fusebox.BoxClosedError):
            RateLimiter("h", "5/second", box=self.box)
        self.box.close()                            # twice: a no-op


if __name__ == "__main__":
    unittest.main()
