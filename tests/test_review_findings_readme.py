"""What checking README.md claim by claim turned up in the code.

- "PyTorch is never a dependency ... everything skips cleanly without it": `python -m
  benchmarks.gc_share` imported torch unconditionally, so without PyTorch it stopped with a
  ModuleNotFoundError, and tests/test_fuzz_findings_cli.py, which runs it, failed.
"""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]

# Runs the module as `python -m` would, with PyTorch made unimportable whether or not it is
# installed (a None in sys.modules makes `import torch` raise ImportError).
WITHOUT_TORCH = ("import runpy, sys; sys.modules['torch'] = None; "
                 "sys.argv = ['gc_share', '--rounds', '1', '--cycles', '10']; "
                 "runpy.run_module('benchmarks.gc_share', run_name='__main__')")


def test_gc_share_runs_without_pytorch_and_prints_no_ratio_to_it():
    done = subprocess.run([sys.executable, "-c", WITHOUT_TORCH], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    lines = done.stdout.splitlines()
    rows = [line.split()[0:3] for line in lines if line.strip().startswith(("topograd", "torch"))]
    assert rows == [["topograd,", "collector", "on"], ["topograd,", "collector", "paused"]]
    assert "x torch" not in done.stdout
    assert any(line.strip().startswith("objects tracked per recorded op:") for line in lines)
