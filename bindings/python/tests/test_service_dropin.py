"""The service's own code, with only its import line changed from pybreaker
to fusebox: it runs unmodified otherwise (here in a subprocess, as the
service would, with its box named by FUSEBOX_BOX)."""
import os
import subprocess
import sys
import textwrap
import unittest

from helpers import PKG, box_name, fusebox

SERVICE = textwrap.dedent('''
    from fusebox import CircuitBreaker, CircuitBreakerError   # was: from pybreaker import ...

    breaker = CircuitBreaker(fail_max=5, reset_timeout=30, exclude=[ValueError])
    calls = []

    @breaker
    def get_embeddings(texts):
        calls.append(texts)
        if texts == ["bad"]:
            raise ValueError("empty input")
        raise ConnectionError("embedding service down")

    def embed(texts):
        try:
            return get_embeddings(texts)
        except CircuitBreakerError:
            return "fallback"
        except ConnectionError:
            return "error"
        except ValueError:
            return "bad request"

    print(embed(["bad"]))
    print(" ".join(embed(["hello"]) for _ in range(8)))
    print(len(calls), breaker.current_state)
''')


class ServiceDropIn(unittest.TestCase):
    def test_service_runs_with_only_its_import_changed(self):
        name = box_name("svc")
        env = dict(os.environ, FUSEBOX_BOX=name,
                   PYTHONPATH=PKG + os.pathsep + os.environ.get("PYTHONPATH", ""))
        try:
            out = subprocess.run([sys.executable, "-c", SERVICE], env=env, capture_output=True,
                                 text=True, timeout=30)
        finally:
            try:
                fusebox.unlink(name)
            except fusebox.NotFound:
                pass
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = out.stdout.splitlines()
        self.assertEqual(lines[0], "bad request")        # excluded: not a failure
        # four failures, the fifth trips it (CircuitBreakerError: fallback), then open
        self.assertEqual(lines[1], "error error error error fallback fallback fallback fallback")
        self.assertEqual(lines[2], "6 open")             # the upstream was called 1 + 5 times


if __name__ == "__main__":
    unittest.main()
