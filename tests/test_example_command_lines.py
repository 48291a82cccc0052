"""The examples' command lines as a user runs them: a mistake in an argument stops with a
one-line error (argparse's exit status 2, or a message naming the problem) before any
training, never with a traceback from deep inside. (test_examples.py runs the examples
themselves; the benchmarks' command lines are checked in tests/benchmarks/test_suite.py.)"""
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _run(module, *args, timeout=120):
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def _refused(done, status, fragment):
    assert done.returncode == status, done.stdout[-2000:] + done.stderr[-2000:]
    assert fragment in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr


# --- examples.demo ---------------------------------------------------------------------------------

@pytest.mark.parametrize("args, fragment", [
    (["--epochs", "0"], "argument --epochs: must be at least 1, got 0"),           # was OneCycleLR's traceback
    (["--batch-size", "0"], "argument --batch-size: must be at least 1, got 0"),   # was a ZeroDivisionError
    (["--lr", "nan"], "argument --lr: must be a finite number above 0, got nan"),  # was AdamW's traceback
    (["--seed", "-1"], "argument --seed: must be at least 0, got -1"),             # was NumPy's SeedSequence
    (["--limit", "0"], "argument --limit: must be at least 1, got 0"),             # trained on all 4,000 digits
])
def test_demo_refuses_bad_numbers_before_loading_anything(tmp_path, args, fragment):
    out = tmp_path / "demo"
    _refused(_run("examples.demo", *args, "--out", str(out)), 2, fragment)
    assert not out.exists()


def test_demo_names_an_unknown_device():
    _refused(_run("examples.demo", "--device", "cuda:x"), 1, "demo: unknown device 'cuda:x'")


def test_demo_refuses_an_out_path_that_is_a_file_before_training(tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("")
    _refused(_run("examples.demo", "--epochs", "1", "--limit", "8", "--out", str(taken)), 1,
             f"demo: cannot write to --out {taken}: File exists")
    _refused(_run("examples.demo", "--epochs", "1", "--limit", "8", "--out", str(taken / "sub")), 1,
             "Not a directory")


def test_demo_refuses_a_folder_it_cannot_write_before_training(tmp_path, monkeypatch):
    import os

    from examples import demo
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # a read-only folder, even when run as root
    monkeypatch.setattr(demo, "random_shift", lambda *a: pytest.fail("training started"))
    with pytest.raises(SystemExit, match="demo: cannot write to --out .*: Permission denied"):
        demo.main(["--epochs", "1", "--limit", "8", "--out", str(tmp_path)])


# --- the other examples ---------------------------------------------------------------------------

@pytest.mark.parametrize("name, option", [
    ("xor", "--steps"),                       # was an UnboundLocalError on `loss`
    ("digits_regularized", "--epochs"),       # was a KeyError from an empty History
    ("digits_transformer", "--epochs"),       # was CosineAnnealingLR's T_max=0 traceback
    ("classification_mlp", "--epochs"),       # reported an untrained model as the result
    ("lstm_sine", "--epochs"),
])
def test_examples_refuse_zero_training(name, option):
    _refused(_run(f"examples.{name}", option, "0"), 2, f"argument {option}: must be at least 1, got 0")
