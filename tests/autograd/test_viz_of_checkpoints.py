"""Drawings of activation checkpoints: the one node that stands for a checkpointed call is
titled ``Checkpoint`` (it was ``_Checkpoint``, a private class name), and where the
checkpointed function is a Module the node is drawn in that module's cluster with the
module's parameters named, as the module's own ops are drawn without a checkpoint (they
were unnamed "input" boxes at the top level)."""
import pytest

import autograd as ag
import nn
from autograd.checkpoint import checkpoint

from .test_viz import Dot, text_of

pytest.importorskip("graphviz")


def _leaf_titles(dot):
    return sorted(text_of(a["label"])[0] for n, a in dot.nodes.items() if n.startswith("leaf"))


def _op_titles(dot):
    return sorted(text_of(a["label"])[0] for n, a in dot.nodes.items() if n.startswith("op"))


def test_a_checkpoint_node_has_a_public_name(device):
    x = ag.randn(4, 3, requires_grad=True)
    y = checkpoint(lambda t: (t * 2).exp(), x, use_reentrant=False)
    assert y.grad_fn.name == "Checkpoint" and y.grad_fn.name() == "Checkpoint"
    assert _op_titles(Dot(ag.make_dot(y.sum()).source)) == ["Checkpoint", "Sum"]


@pytest.mark.parametrize("use_reentrant", [False, True])
def test_a_top_level_checkpoint_of_a_module_names_its_parameters(device, use_reentrant):
    lin = nn.Linear(3, 2)
    x = ag.randn(4, 3)
    plain = Dot(ag.make_dot(lin(x).sum()).source)
    drawn = Dot(ag.make_dot(checkpoint(lin, x, use_reentrant=use_reentrant).sum()).source)
    assert _leaf_titles(drawn) == _leaf_titles(plain) == ["bias", "weight"]
    [node] = drawn.named("Checkpoint")
    assert drawn.cluster_label(drawn.nodes[node]["cluster"]) == "Linear"  # where lin's own op is drawn
    for leaf in (n for n in drawn.nodes if n.startswith("leaf")):
        assert drawn.nodes[leaf]["fillcolor"] == plain.nodes[next(n for n in plain.nodes if n.startswith("leaf"))][
            "fillcolor"]  # drawn as parameters, not inputs


def test_a_checkpointed_block_inside_a_model_is_named_by_its_path(device):
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = nn.Linear(3, 3)
            self.head = nn.Linear(3, 1)

        def forward(self, x):
            return self.head(checkpoint(self.block, x, use_reentrant=False))

    model = Model()
    dot = Dot(ag.make_dot(model(ag.randn(2, 3)).sum()).source)
    assert _leaf_titles(dot) == sorted(name for name, _ in model.named_parameters())
    [node] = dot.named("Checkpoint")
    assert dot.cluster_label(dot.nodes[node]["cluster"]) == "block (Linear)"


def test_a_checkpoint_of_a_plain_function_stays_outside_any_cluster(device):
    w = ag.randn(3, 3, requires_grad=True)
    dot = Dot(ag.make_dot(checkpoint(lambda t: t @ w, ag.randn(2, 3), use_reentrant=False).sum()).source)
    [node] = dot.named("Checkpoint")
    assert dot.nodes[node]["cluster"] is None and _leaf_titles(dot) == ["input"]


def test_the_checkpointed_gradients_are_unchanged(device):
    lin = nn.Linear(3, 2)
    x = ag.randn(4, 3, requires_grad=True)
    lin(x).sum().backward()
    want = [t.grad.numpy().copy() for t in (x, lin.weight, lin.bias)]
    for t in (x, lin.weight, lin.bias):
        t.grad = None
    checkpoint(lin, x, use_reentrant=False).sum().backward()
    for t, w in zip((x, lin.weight, lin.bias), want):
        assert (t.grad.numpy() == w).all()
