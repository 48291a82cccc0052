"""Each example runs in its quick mode and reaches a result worth showing; its command line
refuses bad arguments before any training (the benchmarks' are checked in
tests/benchmarks/test_suite.py)."""
import pytest

from examples import classification_mlp, digits_regularized, digits_transformer, lstm_sine, maml_sine, xor
from tests.command_line import assert_refused, run_module


def test_xor_is_learned_to_zero_error():
    result = xor.main(["--quick"])
    assert result["errors"] == 0
    assert result["loss"] < 0.05


def test_classification_mlp_accuracy_and_recall():
    result = classification_mlp.main(["--quick"])
    assert result["accuracy"] >= 0.8
    assert result["recall"] >= 0.8


def test_digits_regularized_generalizes():
    result = digits_regularized.main(["--quick"])
    assert result["test_accuracy"] >= 0.9


def test_digits_transformer_reads_rows_well():
    result = digits_transformer.main(["--quick"])
    assert result["test_accuracy"] >= 0.85  # chance is 0.1


def test_lstm_beats_the_naive_forecast():
    result = lstm_sine.main(["--quick"])
    assert result["test_mse"] < 0.5 * result["baseline_mse"]


def test_maml_adapts_better_than_before_meta_training_and_than_without_its_step():
    result = maml_sine.main(["--quick"])
    assert result["adapted_mse"] < 0.85 * result["untrained_mse"]
    assert result["adapted_mse"] < result["unadapted_mse"]


@pytest.mark.slow
def test_demo_quick_run_writes_its_outputs(tmp_path):
    import json
    import shutil
    from examples import demo
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's `dot` is not installed (.ci/run installs it); the next test covers its absence")
    out = tmp_path / "demo"
    metrics = demo.main(["--epochs", "2", "--limit", "1024", "--out", str(out)])
    for name in ("model.safetensors", "metrics.json", "curves.png", "graph.svg", "profile.svg", "trace.json"):
        assert (out / name).stat().st_size > 0, name
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["test_accuracy"] == metrics["test_accuracy"] > 0.5  # chance is 0.1
    assert {"test_accuracy", "epochs", "train_seconds", "device"} <= saved.keys()


def test_demo_without_graphviz_writes_the_graph_source(tmp_path, monkeypatch):
    import shutil
    from examples import demo
    monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: None)
    out = tmp_path / "demo"
    demo.main(["--epochs", "1", "--limit", "256", "--out", str(out)])
    for name in ("graph.gv", "profile.gv"):
        assert (out / name).read_text().startswith("digraph"), name
    assert not (out / "graph.svg").exists()


def test_demo_on_a_missing_gpu_stops_with_the_install_hint():
    import backends
    from examples import demo
    if backends.cuda_is_available():
        pytest.skip("a CUDA device is present here")
    with pytest.raises(SystemExit, match="pip install 'topograd\\[cuda\\]'"):
        demo.main(["--device", "cuda"])


# --- examples.demo ---------------------------------------------------------------------------------

@pytest.mark.parametrize("args, fragment", [
    (["--epochs", "0"], "argument --epochs: must be at least 1, got 0"),           # was OneCycleLR's traceback
    (["--batch-size", "0"], "argument --batch-size: must be at least 1, got 0"),   # was a ZeroDivisionError
    (["--lr", "nan"], "argument --lr: must be a finite number above 0, got nan"),  # was AdamW's traceback
    (["--seed", "-1"], "argument --seed: must be at least 0, got -1"),             # was NumPy's SeedSequence
    (["--seed", str(2 ** 64)], f"argument --seed: must be at most {2 ** 64 - 1}, got {2 ** 64}"),  # manual_seed's
    (["--limit", "0"], "argument --limit: must be at least 1, got 0"),             # trained on all 4,000 digits
])
def test_demo_refuses_bad_numbers_before_loading_anything(tmp_path, args, fragment):
    out = tmp_path / "demo"
    assert_refused(run_module("examples.demo", *args, "--out", str(out)), 2, fragment)
    assert not out.exists()


def test_demo_names_an_unknown_device():
    assert_refused(run_module("examples.demo", "--device", "cuda:x"), 1, "demo: unknown device 'cuda:x'")


def test_demo_refuses_an_out_path_that_is_a_file_before_training(tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("")
    assert_refused(run_module("examples.demo", "--epochs", "1", "--limit", "8", "--out", str(taken)), 1,
             f"demo: cannot write to --out {taken}: File exists")
    assert_refused(run_module("examples.demo", "--epochs", "1", "--limit", "8", "--out", str(taken / "sub")), 1,
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
    assert_refused(run_module(f"examples.{name}", option, "0"), 2, f"argument {option}: must be at least 1, got 0")


@pytest.mark.parametrize("main, option", [
    (xor.main, "--steps"), (classification_mlp.main, "--epochs"), (digits_regularized.main, "--epochs"),
    (digits_transformer.main, "--epochs"), (lstm_sine.main, "--epochs"), (maml_sine.main, "--iterations"),
], ids=["xor", "classification_mlp", "digits_regularized", "digits_transformer", "lstm_sine", "maml_sine"])
def test_quick_and_an_explicit_length_are_refused_together(main, option, capsys):
    # --quick sets the length itself; it overrode an explicit one without a word
    with pytest.raises(SystemExit) as stopped:
        main(["--quick", option, "3"])
    assert stopped.value.code == 2
    assert f"argument {option}: not allowed with argument --quick" in capsys.readouterr().err


def test_mnist_cnn_takes_the_demo_s_options_after_its_own():
    # --help started a 3-epoch training run: the module passed the demo fixed arguments only
    done = run_module("examples.mnist_cnn", "--help", timeout=60)
    assert done.returncode == 0 and "--epochs" in done.stdout and "--limit" in done.stdout
    assert_refused(run_module("examples.mnist_cnn", "--epochs", "0", timeout=60), 2,
                   "argument --epochs: must be at least 1, got 0")
