"""benchmarks.step_kernels, the ncu probe of one training step: its arguments, and its
refusal by name where CuPy is missing (its run needs a GPU: README, "On a GPU")."""
import importlib.util

import pytest

from benchmarks import step_kernels


def test_it_refuses_a_contender_or_model_it_does_not_know(capsys):
    for argv in (["torch", "mlp", "64"], ["floor", "lstm", "64"], ["floor", "mlp", "many"]):
        with pytest.raises(SystemExit):
            step_kernels.main(argv)
    assert "invalid" in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="CuPy is installed here")
def test_without_cupy_it_says_what_it_needs(capsys):
    with pytest.raises(SystemExit):
        step_kernels.main(["floor", "mlp", "8"])
    assert "needs CuPy and a CUDA device" in capsys.readouterr().err
