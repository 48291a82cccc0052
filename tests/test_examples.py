"""Each example runs in its quick mode and reaches a result worth showing."""
import pytest

from examples import classification_mlp, digits_regularized, digits_transformer, lstm_sine, maml_sine, xor


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
