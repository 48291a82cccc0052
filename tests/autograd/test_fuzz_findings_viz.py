"""What a fuzz of graph drawing (make_dot) and the profiler turned up: labels that
Graphviz could not read or drew wrongly, module naming that was quadratic in a
model's width, and per-node profiler figures given to the wrong node or to none."""
import html
import re
import shutil
import subprocess
from collections import OrderedDict

import numpy as np
import pytest

import autograd as ag
import nn
from autograd.profiler import profile
from tests.test_no_reference_cycles import _DoubleInPlace

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot program")


def svg_texts(source):
    """The texts Graphviz draws for a DOT source (dot must read it)."""
    svg = subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True)
    assert svg.returncode == 0, svg.stderr.decode()
    return [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg.stdout.decode())]


def cluster_labels(source):
    return re.findall(r'^\s*color="#8a9bb0".* label=("(?:[^"\\]|\\.)*"|<.*>|\S+)', source, flags=re.M)


class Scaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(ag.randn(3))
        self.inner = nn.Linear(3, 3)

    def forward(self, x):
        return self.inner(x * self.w)


# --- labels ------------------------------------------------------------------------------------

@pytest.mark.parametrize("class_name", ["<Net>", "<a<b>", "<>"])
def test_a_model_class_named_in_angle_brackets_is_drawn_as_written(device, class_name):
    """The model's cluster is labelled with its class name alone, and the graphviz package
    passes a text in <...> on as an HTML-like label: <Net> was drawn as "Net", <> as
    nothing, and dot could not read the drawing of <a<b> at all (syntax error)."""
    pytest.importorskip("graphviz")
    model = type(class_name, (Scaled,), {})()
    source = ag.make_dot(model(ag.randn(2, 3)).sum()).source
    assert sorted(cluster_labels(source)) == sorted([f'"{class_name}"', '"inner (Linear)"'])
    if shutil.which("dot"):
        texts = svg_texts(source)
        assert class_name in texts and "inner (Linear)" in texts


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1f", "\ud800"])
def test_characters_dot_cannot_hold_are_drawn_as_escapes(device, char):
    """A NUL, another control character or a lone surrogate in a parameter's or a module's
    name made a DOT source that dot refused ("not well-formed (invalid token)", or a
    syntax error), or that could not be written as UTF-8 at all; each is drawn as its
    Python escape instead."""
    pytest.importorskip("graphviz")
    escaped = ascii(char)[1:-1]
    model = nn.Sequential(OrderedDict([(f"k{char}", nn.Linear(3, 3))]))
    w = ag.randn(3, requires_grad=True)
    source = ag.make_dot(model(ag.randn(2, 3) * w).sum(), params={f"w{char}": w}).source
    assert char not in source
    source.encode("utf-8")
    assert f"<B>w{escaped}</B>" in source and f"<B>k{escaped}.weight</B>" in source
    assert f'"k{escaped.replace(chr(92), chr(92) * 2)} (Linear)"' in cluster_labels(source)
    if shutil.which("dot"):
        texts = svg_texts(source)
        assert f"w{escaped}" in texts and f"k{escaped} (Linear)" in texts


# --- module names: one walk per parent -----------------------------------------------------------

class CountingModules(OrderedDict):
    """A module registry that counts how often its entries are listed."""
    listed = 0

    def items(self):
        type(self).listed += 1
        return super().items()


def wide_model(width):
    model = nn.Sequential(*[nn.Linear(2, 2) for _ in range(width)])
    object.__setattr__(model, "_modules", CountingModules(model._modules))
    CountingModules.listed = 0
    return model


def test_drawing_a_wide_model_lists_its_children_a_fixed_number_of_times(device):
    """Each child's name was found by walking its parent's children again, so naming the
    clusters of a Sequential of n layers took n walks of n children: drawing 13,000
    Linear layers took 110 s (2 s now)."""
    pytest.importorskip("graphviz")
    listed = {}
    for width in (10, 60):
        model = wide_model(width)
        source = ag.make_dot(model(ag.randn(1, 2)).sum(), collapse_repeats=False, max_nodes=10_000).source
        listed[width] = CountingModules.listed
        labels = cluster_labels(source)
        assert sorted(labels) == sorted(["Sequential"] + [f'"{i} (Linear)"' for i in range(width)])
    assert listed[60] == listed[10]  # (naming parameters lists them too)


def test_profiling_a_wide_model_lists_its_children_once(device):
    """The profiler labels each op's module as drawings do, and was quadratic the same
    way: profiling the forward of 6,000 Linear layers took 10.7 s (0.17 s now)."""
    model = wide_model(40)
    with profile() as prof:
        model(ag.randn(1, 2))
    assert CountingModules.listed == 1
    modules = prof.summary()["modules"]
    assert sorted(modules) == sorted(f"{i} (Linear)" for i in range(40))
    assert all(row["calls"] == 1 for row in modules.values())


# --- the profiler's figures per node ----------------------------------------------------------------

def forward_seconds(prof, name):
    return sum(e.duration for e in prof.events if e.name == name and e.phase == "forward") / 1e9


def test_an_op_whose_first_output_takes_no_gradient_has_its_forward_counted(device):
    """Per-node figures (what drawings colour by) went to the node of the first output,
    and slogdet's first output, the sign, is outside the graph: its node showed 0 calls,
    no forward time and no output bytes, only its backward."""
    a = ag.tensor(np.array([[2.0, 1.0], [1.0, 3.0]]), requires_grad=True, dtype="float64")
    with profile() as prof:
        sign, logabsdet = ag.linalg.slogdet(a)
        logabsdet.backward()
    stats = prof.node_stats(logabsdet.grad_fn)
    assert sign.grad_fn is None and stats.calls == 1 and stats.backward_calls == 1
    assert stats.forward == forward_seconds(prof, "Slogdet") > 0
    assert stats.output_bytes == 2 * 8  # two float64 scalars


def test_an_input_changed_in_place_under_no_grad_leaves_its_producer_figures_alone(device):
    """Under no_grad a Function that changes its input in place returns that input, whose
    node is the op that made it: the profiler added the in-place op's time and bytes to
    that node (the Mul below showed 2 calls and twice its bytes)."""
    x = ag.randn(3, requires_grad=True)
    with profile() as prof:
        y = x * 2
        with ag.no_grad():
            _DoubleInPlace.apply(y)
    stats = prof.node_stats(y.grad_fn)
    assert y.grad_fn.name == "Mul" and stats.calls == 1
    assert stats.forward == forward_seconds(prof, "Mul")
    assert stats.output_bytes == y.size * y.dtype.itemsize
    assert [e.name for e in prof.events] == ["Mul", "_DoubleInPlace"]
    np.testing.assert_array_equal(y.numpy(), x.numpy() * 4)
