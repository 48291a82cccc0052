"""The PyTorch version the reference tests compare with.

The tests were written against PyTorch 2.13; a machine may hold an older one (the GPU
machine's 2.11 lacks features and prints and words some things differently). A test that
depends on a newer PyTorch says so through this module, so that it skips with the version
and the reason, or adapts its expectation, rather than failing on the reference. Without
PyTorch nothing here skips: the ``torch`` fixture skips those tests already.
"""
import re
from importlib import metadata

import pytest


def _installed():
    # The distribution's version, read without importing torch (marks are made at collection).
    try:
        text = metadata.version("torch")
    except metadata.PackageNotFoundError:
        return None
    found = re.match(r"(\d+)\.(\d+)", text)
    return tuple(map(int, found.groups())) if found else None


INSTALLED = _installed()


def torch_older_than(version):
    """Whether the installed PyTorch predates ``version`` ("major.minor")."""
    return INSTALLED is not None and INSTALLED < tuple(map(int, version.split(".")))


def needs_torch(version, why):
    """A mark that skips a test (or one parameter of it) on a PyTorch older than ``version``;
    ``why`` says what that version changed, e.g. "PyTorch 2.13 added nn.LinearCrossEntropyLoss"."""
    return pytest.mark.skipif(torch_older_than(version), reason=f"needs PyTorch >= {version}: {why}")


def as_torch_prints(text):
    """A topograd module's repr as the installed PyTorch prints the same module: before 2.13
    the norm layers (BatchNorm, InstanceNorm, LayerNorm, GroupNorm) printed no ``bias=``,
    which follows ``affine=``/``elementwise_affine=`` in theirs."""
    if torch_older_than("2.13"):
        text = re.sub(r"(affine=(?:True|False)), bias=(?:True|False)", r"\1", text)
    return text


def with_torch_marks(values, newer):
    """``values`` to parametrize over, each one named in ``newer`` ({value: (version, why)})
    marked with needs_torch, so that only those parameters skip on an older PyTorch."""
    return [pytest.param(v, marks=needs_torch(*newer[v])) if v in newer else v for v in values]
