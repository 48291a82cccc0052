"""A module's command line run as a user runs it, for the tests of the examples' and the
benchmarks' argument checks: a mistake stops with a one-line error (argparse's exit status
2, or a message naming the problem) before any work, never with a traceback."""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run_module(module, *args, timeout=120):
    """``python -m module *args`` from the repository's root, its output captured."""
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def assert_refused(done, status, fragment):
    """The run stopped with exit status ``status``, saying ``fragment``, without a traceback."""
    assert done.returncode == status, done.stdout[-2000:] + done.stderr[-2000:]
    assert fragment in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
