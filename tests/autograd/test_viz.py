"""Graph drawings (autograd.viz): the DOT a drawing produces is parsed back and
checked against the graph, walked independently here: op names and shapes,
parameter names, module clusters and their nesting, edge counts, folding of
repeated blocks, summaries of huge graphs, rendering and its errors."""
import html
import os
import re
import shutil
import subprocess
import sys
from collections import OrderedDict

import pytest

import autograd as ag
import nn
from autograd import viz

from tests.conftest import DEVICES
from .wide_models import CountingModules, wide_model

pytest.importorskip("graphviz")


# --- models built from Module + Parameter + autograd ops only ---------------------------------------
class Block(nn.Module):
    """relu(x @ w.T + b); remembers its intermediate tensors so tests can check labels against them."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(ag.randn(n_out, n_in) * 0.1)
        self.bias = nn.Parameter(ag.zeros(n_out))
        self.seen = []

    def forward(self, x):
        wt = self.weight.T
        mm = x @ wt
        pre = mm + self.bias
        out = pre.relu()
        self.seen.extend([wt, mm, pre, out])
        return out


class Seq(nn.Module):
    def __init__(self, *modules):
        super().__init__()
        for i, m in enumerate(modules):
            self.add_module(str(i), m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = Seq(Block(4, 8), Block(8, 6))
        self.head = Block(6, 3)

    def forward(self, x):
        return self.head(self.features(x))


class Cell(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.w_ih = nn.Parameter(ag.randn(n, n) * 0.1)
        self.w_hh = nn.Parameter(ag.randn(n, n) * 0.1)
        self.bias = nn.Parameter(ag.zeros(n))

    def forward(self, x, h):
        return (x @ self.w_ih.T + h @ self.w_hh.T + self.bias).tanh()


class Unrolled(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.cell = Cell(n)
        self.head = Block(n, 2)

    def forward(self, xs):
        h = ag.zeros(xs.shape[1], xs.shape[2])
        for t in range(xs.shape[0]):
            h = self.cell(xs[t], h)
        return self.head(h)


# --- an independent walk of the graph ---------------------------------------------------------------
def walk(*roots):
    """(nodes, leaves, edge count) of the graph, by breadth-first search over next_functions."""
    nodes, leaves, edges = {}, {}, len(roots)
    queue = [r.grad_fn for r in roots if r.grad_fn is not None]
    for n in queue:
        nodes[id(n)] = n
    while queue:
        node = queue.pop()
        for edge in node.next_functions:
            if edge[0] is None:
                continue
            edges += 1
            target = edge[0]
            if edge[1] < 0:
                leaves[id(target)] = target
            elif id(target) not in nodes:
                nodes[id(target)] = target
                queue.append(target)
    return list(nodes.values()), list(leaves.values()), edges


# --- reading DOT back -------------------------------------------------------------------------------
_KEY = re.compile(r"\s*(\w+)=")
_BARE = re.compile(r"[^\s\]]+")


def _attrs(text):
    out, i = {}, 0
    while True:
        m = _KEY.match(text, i)
        if m is None:
            return out
        key, i = m.group(1), m.end()
        if text[i] == "<":  # an HTML-like label: up to the matching '>'
            depth, j = 0, i
            while True:
                depth += {"<": 1, ">": -1}.get(text[j], 0)
                if depth == 0:
                    break
                j += 1
            out[key], i = text[i + 1:j], j + 1
        elif text[i] == '"':
            j = i + 1
            while text[j] != '"' or text[j - 1] == "\\":
                j += 1
            out[key], i = text[i + 1:j], j + 1
        else:
            m = _BARE.match(text, i)
            out[key], i = m.group(0), m.end()


def text_of(label):
    return html.unescape(re.sub(r"<[^>]+>", " ", label)).split()


class Dot:
    """Nodes (name -> attrs, with the clusters holding them), edges and clusters of a DOT source."""

    def __init__(self, source):
        self.nodes, self.edges, self.clusters = {}, [], {}
        stack = []
        for raw in source.splitlines():
            line = raw.strip()
            if line.startswith("subgraph "):
                name = line.split()[1]
                self.clusters[name] = {"parent": stack[-1] if stack else None, "attrs": {}}
                stack.append(name)
            elif line == "}":
                if stack:
                    stack.pop()
            elif "->" in line:
                m = re.match(r"(\w+) -> (\w+)(?: \[(.*)\])?$", line)
                self.edges.append((m.group(1), m.group(2), _attrs(m.group(3) or "")))
            elif re.match(r"(\w+) \[", line) and line.split()[0] not in ("graph", "node", "edge"):
                name = line.split()[0]
                self.nodes[name] = dict(_attrs(line[len(name) + 2:-1]), cluster=stack[-1] if stack else None)
            elif stack and "=" in line:
                self.clusters[stack[-1]]["attrs"].update(_attrs(line))

    def label(self, name):
        return " ".join(text_of(self.nodes[name].get("label", "")))

    def named(self, title):
        """Names of nodes whose bold title is ``title``."""
        return [n for n, a in self.nodes.items() if f"<B>{title}</B>" in a.get("label", "")]

    def cluster_label(self, cluster):
        return html.unescape(self.clusters[cluster]["attrs"].get("label", ""))

    def cluster_named(self, text):
        found = [c for c in self.clusters if self.cluster_label(c) == text]
        assert len(found) == 1, (text, [self.cluster_label(c) for c in self.clusters])
        return found[0]

    def visible_edges(self):
        return [e for e in self.edges if e[2].get("style") != "invis"]


def shape_text(shape):
    return "scalar" if not shape else "×".join(map(str, shape))


# --- structure ---------------------------------------------------------------------------------------
def test_ops_are_labelled_with_name_shape_and_dtype(device):
    model = MLP()
    x = ag.randn(5, 4)
    loss = model(x).mean()
    dot = Dot(ag.make_dot(loss).source)
    expected = sorted((t.grad_fn.name, shape_text(t.shape), str(t.dtype))
                      for block in (model.features._modules["0"], model.features._modules["1"], model.head)
                      for t in block.seen)
    expected.append(("Mean", "scalar", "float32"))
    drawn = []
    for name, attrs in dot.nodes.items():
        if name.startswith("op"):
            words = text_of(attrs["label"])
            drawn.append((words[0], words[1], words[3]))  # title, shape, "·", dtype
    assert sorted(drawn) == sorted(expected)


def test_parameters_are_named_with_shape_and_grad_state(device):
    model = MLP()
    loss = model(ag.randn(5, 4)).mean()
    loss.backward()
    model.head.bias.grad = None  # one parameter without a gradient
    dot = Dot(ag.make_dot(loss).source)
    leaves = {dot.label(n).split()[0]: dot.label(n) for n in dot.nodes if n.startswith("leaf")}
    assert set(leaves) == {name for name, _ in model.named_parameters()}
    for name, p in model.named_parameters():
        assert f"{shape_text(p.shape)} · float32" in leaves[name]
        assert ("grad: yes" if p.grad is not None else "grad: none") in leaves[name]
    assert "grad: none" in leaves["head.bias"] and "grad: yes" in leaves["head.weight"]


def test_params_argument_names_plain_tensors(device):
    w = ag.randn(3, 2, requires_grad=True)
    x = ag.randn(4, 3, requires_grad=True)
    y = (x @ w).sum()
    dot = Dot(ag.make_dot(y, params={"w": w}).source)
    leaves = {dot.label(n).split()[0]: dot.nodes[n] for n in dot.nodes if n.startswith("leaf")}
    assert sorted(leaves) == ["input", "w"]
    assert leaves["w"]["fillcolor"] != leaves["input"]["fillcolor"]  # parameters and inputs look different


def test_module_clusters_nest_and_hold_their_ops(device):
    model = MLP()
    loss = model(ag.randn(5, 4)).mean()
    dot = Dot(ag.make_dot(loss).source)
    assert all(c.startswith("cluster_") for c in dot.clusters)
    top = dot.cluster_named("MLP")
    features = dot.cluster_named("features (Seq)")
    first = dot.cluster_named("features.0 (Block)")
    second = dot.cluster_named("features.1 (Block)")
    head = dot.cluster_named("head (Block)")
    assert dot.clusters[top]["parent"] is None
    assert dot.clusters[features]["parent"] == top and dot.clusters[head]["parent"] == top
    assert dot.clusters[first]["parent"] == features and dot.clusters[second]["parent"] == features
    for cluster, block in ((first, model.features._modules["0"]), (head, model.head)):
        inside = sorted(dot.label(n).split()[0] for n, a in dot.nodes.items() if a["cluster"] == cluster)
        ops = [t.grad_fn.name for t in block.seen]
        params = [n for n, p in model.named_parameters() if any(p is q for q in block.parameters())]
        assert inside == sorted(ops + params)
    (mean,) = dot.named("Mean")  # the loss is computed outside the model
    assert dot.nodes[mean]["cluster"] is None


def test_edge_count_matches_the_graph(device):
    model = MLP()
    x = ag.randn(5, 4, requires_grad=True)
    out = model(x)
    loss = (out * out).sum() + out.mean()  # x*x draws two edges from one producer
    nodes, leaves, edges = walk(loss)
    dot = Dot(ag.make_dot(loss).source)
    assert len(dot.visible_edges()) == edges
    assert sum(n.startswith("op") for n in dot.nodes) == len(nodes)
    assert sum(n.startswith("leaf") for n in dot.nodes) == len(leaves)
    ids = set(dot.nodes)
    assert all(t in ids and h in ids for t, h, _ in dot.edges)


def test_edges_follow_the_data(device):
    a = ag.randn(2, 3, requires_grad=True)
    y = a.exp().sum()
    dot = Dot(ag.make_dot(y).source)
    (leaf,) = [n for n in dot.nodes if n.startswith("leaf")]
    (exp,), (total,) = dot.named("Exp"), dot.named("Sum")
    (root,) = [n for n in dot.nodes if n.startswith("root")]
    assert {(t, h) for t, h, _ in dot.edges} == {(leaf, exp), (exp, total), (total, root)}


def test_multiple_roots_and_multi_output_ops(device):
    x = ag.randn(4, 6, requires_grad=True)
    a, b, c = ag.split(x, 3, axis=1)
    u, v = (a * b).sum(), c.sum()
    dot = Dot(ag.make_dot(u, v).source)
    (split,) = dot.named("Split")
    assert "3 × 4×2 · float32" in dot.label(split)
    ports = sorted(e[2].get("label") for e in dot.edges if e[0] == split)
    assert ports == ["[0]", "[1]", "[2]"]
    roots = sorted(dot.label(n) for n in dot.nodes if n.startswith("root"))
    assert roots == ["output 0 scalar · float32", "output 1 scalar · float32"]
    assert len(dot.visible_edges()) == walk(u, v)[2]


def test_show_saved_draws_saved_tensors_with_bytes(device):
    a = ag.randn(3, 4, dtype="float64", requires_grad=True)
    b = ag.randn(3, 4, dtype="float64", requires_grad=True)
    y = (a * b).exp().sum()
    dot = Dot(ag.make_dot(y, show_saved=True).source)
    saved = sorted(dot.label(n) for n in dot.nodes if "_saved" in n)
    # Mul saves both inputs, Exp its output: 3*4 float64 = 96 bytes each
    assert saved == ["saved input 3×4 · float64 96 B"] * 2 + ["saved output 3×4 · float64 96 B"]
    (mul,) = dot.named("Mul")
    assert sum(1 for t, h, _ in dot.edges if h == mul and "_saved" in t) == 2
    plain = Dot(ag.make_dot(y).source)
    assert not any("_saved" in n for n in plain.nodes)
    y.backward()
    freed = Dot(ag.make_dot(y, show_saved=True).source)
    assert not any("_saved" in n for n in freed.nodes)
    assert "saved tensors freed by backward()" in freed.label(freed.named("Mul")[0])


def test_group_modules_false_draws_no_clusters(device):
    model = MLP()
    loss = model(ag.randn(2, 4)).mean()
    source = ag.make_dot(loss, group_modules=False).source
    assert "subgraph" not in source
    assert "features.0.weight" in source  # names still come from the modules


def test_second_order_graph(device):
    w = ag.randn(3, dtype="float64", requires_grad=True)
    y = (w.tanh() * w).sum()
    (g,) = ag.grad(y, w, create_graph=True)
    nodes, leaves, edges = walk(g)
    dot = Dot(ag.make_dot(g).source)
    drawn = sorted(dot.label(n).split()[0] for n in dot.nodes if n.startswith("op"))
    assert drawn == sorted(n.name for n in nodes)
    assert "Tanh" in drawn  # the forward op is part of the gradient's graph
    assert len(dot.visible_edges()) == edges
    assert [dot.label(n) for n in dot.nodes if n.startswith("leaf")] == ["input 3 · float64 grad: none"]
    (gg,) = ag.grad(g.sum(), w, create_graph=True)
    assert len(Dot(ag.make_dot(gg).source).named("Tanh")) == 1


# --- folding -------------------------------------------------------------------------------------------
def test_collapse_folds_an_unrolled_loop(device):
    model = Unrolled(4)
    xs = ag.randn(50, 3, 4, requires_grad=True)
    loss = model(xs).sum()
    nodes, leaves, edges = walk(loss)
    folded = Dot(ag.make_dot(loss).source)
    cell = folded.cluster_named("cell (Cell)  × 50")
    assert len(folded.named("Tanh")) == 1 and folded.nodes[folded.named("Tanh")[0]]["cluster"] == cell
    assert len(folded.named("MatMul")) == 3  # two in the cell, one in the head
    (getitem,) = folded.named("GetItem")  # xs[t] for every step, folded too
    assert "× 50" in folded.label(getitem)
    recurrent = [e for e in folded.edges if e[2].get("label") == "next"]
    assert len(recurrent) == 1 and recurrent[0][0] == folded.named("Tanh")[0]
    assert sum(n.startswith("op") for n in folded.nodes) < 20

    unfolded = Dot(ag.make_dot(loss, collapse_repeats=False, max_nodes=10_000).source)
    labels = sorted(unfolded.cluster_label(c) for c in unfolded.clusters)
    assert labels == sorted(["Unrolled", "head (Block)"] + [f"cell (Cell)  #{i}" for i in range(1, 51)])
    assert len(unfolded.named("Tanh")) == 50
    assert len(unfolded.visible_edges()) == edges
    assert sum(n.startswith("op") for n in unfolded.nodes) == len(nodes)


def test_collapse_folds_identical_layers(device):
    model = Seq(*[Block(6, 6) for _ in range(12)])
    loss = model(ag.randn(2, 6)).sum()
    dot = Dot(ag.make_dot(loss).source)
    dot.cluster_named("0 … 11 (Block)  × 12")
    assert len(dot.named("MatMul")) == 1
    leaves = sorted(dot.label(n) for n in dot.nodes if n.startswith("leaf"))
    assert leaves == ["0.bias … 11.bias 6 · float32 grad: none × 12",
                      "0.weight … 11.weight 6×6 · float32 grad: none × 12"]


def test_collapse_keeps_different_blocks_apart(device):
    model = Seq(Block(4, 6), Block(6, 6), Block(6, 2))  # shapes differ: nothing repeats
    loss = model(ag.randn(3, 4)).sum()
    dot = Dot(ag.make_dot(loss).source)
    assert sorted(dot.cluster_label(c) for c in dot.clusters) == ["0 (Block)", "1 (Block)", "2 (Block)", "Seq"]
    assert len(dot.visible_edges()) == walk(loss)[2]


# --- size limits ------------------------------------------------------------------------------------
def test_a_100000_node_graph_draws_a_summary_then_in_full(device):
    x = ag.randn(2, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = -y
    # deeper than the recursion limit: any recursive walk would fail here
    summary = Dot(ag.make_dot(y, collapse_repeats=False).source)
    assert not any(n.startswith("op") for n in summary.nodes)
    assert "Graph too large to draw" in summary.label("summary_header")
    assert "Neg 100,000" in summary.label("summary_ops")
    assert "(outside any module) 100,000" in summary.label("summary_modules")
    full = ag.make_dot(y, collapse_repeats=False, max_nodes=200_000).source
    assert full.count("<B>Neg</B>") == 100_000
    assert full.count(" -> ") == 100_001
    assert "rankdir=TB" in full  # a long thin chain scrolls down the page


def test_max_nodes_counts_the_saved_tensor_boxes_of_show_saved(device):
    """show_saved draws a box per saved tensor, but max_nodes counted ops, leaves and
    outputs only: this graph drew 15 boxes under max_nodes=8."""
    x = ag.randn(3, requires_grad=True)
    y = x
    for _ in range(4):
        y = y * x  # each Mul saves both inputs
    y = y.sum()
    saved = Dot(ag.make_dot(y, show_saved=True, collapse_repeats=False).source)
    assert len(saved.nodes) == 15  # 5 ops, 1 leaf, 1 output, 8 saved tensors
    summary = Dot(ag.make_dot(y, show_saved=True, collapse_repeats=False, max_nodes=8).source)
    assert "15 boxes (max_nodes=8)" in summary.label("summary_header")
    assert len(Dot(ag.make_dot(y, collapse_repeats=False, max_nodes=8).source).nodes) == 7

def test_wide_shallow_graphs_go_left_to_right(device):
    xs = [ag.randn(3, requires_grad=True) for _ in range(30)]
    wide = ag.stack([x.exp() for x in xs]).sum()
    assert "rankdir=LR" in ag.make_dot(wide).source
    assert "rankdir=TB" in ag.make_dot(wide, rankdir="TB").source
    assert "rankdir=TB" in ag.make_dot(xs[0].exp().sum()).source


def test_collapse_folds_a_loop_outside_modules(device):
    w = ag.randn(3, 3, requires_grad=True)
    h = ag.randn(2, 3)
    for _ in range(40):
        h = (h @ w).tanh()
    loss = h.sum()
    dot = Dot(ag.make_dot(loss).source)
    (body,) = dot.clusters
    count = int(re.search(r"loop body  × (\d+)", dot.cluster_label(body)).group(1))
    inside = [dot.label(n).split()[0] for n, a in dot.nodes.items() if a["cluster"] == body]
    assert sorted(inside) == ["MatMul", "Tanh"]
    # the steps before the folded ones are drawn one by one
    outside = [dot.label(n).split()[0] for n, a in dot.nodes.items() if n.startswith("op") and a["cluster"] is None]
    assert outside.count("Tanh") + count == 40 and outside.count("MatMul") + count == 40
    assert count >= 35
    (w_box,) = [n for n in dot.nodes if n.startswith("leaf")]
    assert sum(1 for t, h, _ in dot.edges if t == w_box) == outside.count("MatMul") + 1
    assert [e[2].get("label") for e in dot.edges if e[2].get("style") == "dashed"] == ["next"]


class Looping(nn.Module):
    """A recurrence run inside one forward, as a recurrent layer does: no module call per step."""

    def __init__(self, n):
        super().__init__()
        self.w_hh = nn.Parameter(ag.randn(n, n) * 0.1)

    def forward(self, xs):
        steps = ag.split(xs, xs.shape[0], axis=0)
        h = ag.zeros(1, xs.shape[1])
        hs = []
        for x in steps:
            h = (x + h @ self.w_hh.T).tanh()
            hs.append(h)
        return ag.concat(hs, axis=0)


def test_collapse_folds_a_loop_inside_one_module(device):
    model = Looping(4)
    loss = model(ag.randn(30, 4, requires_grad=True)).sum()
    dot = Dot(ag.make_dot(loss).source)
    body = next(c for c in dot.clusters if dot.cluster_label(c).startswith("loop body"))
    assert dot.clusters[body]["parent"] == dot.cluster_named("Looping")
    assert sorted(dot.label(n).split()[0] for n, a in dot.nodes.items() if a["cluster"] == body) == [
        "Add", "MatMul", "Tanh", "Transpose"]  # w_hh.T is taken at every step
    count = int(dot.cluster_label(body).split("× ")[1])
    (split,) = dot.named("Split")
    # the Split feeds the first steps one by one, and all folded steps through one edge
    labels = sorted(e[2].get("label") for e in dot.edges if e[0] == split)
    assert f"[{30 - count}…29]" in labels and len(labels) == 30 - count + 1
    (concat,) = dot.named("Concat")
    assert sum(1 for t, h, _ in dot.edges if h == concat) == 30 - count + 1
    unfolded = Dot(ag.make_dot(loss, collapse_repeats=False).source)
    assert len(unfolded.named("Tanh")) == 30 and len(unfolded.visible_edges()) == walk(loss)[2]


def test_summary_counts_ops_per_module(device):
    model = MLP()
    loss = model(ag.randn(5, 4)).mean()
    dot = Dot(ag.make_dot(loss, max_nodes=5).source)
    modules = dot.label("summary_modules")
    for label in ("features.0 (Block) 4", "features.1 (Block) 4", "head (Block) 4", "(outside any module) 1"):
        assert label in modules
    assert "MatMul 3" in dot.label("summary_ops")


# --- files and errors --------------------------------------------------------------------------------
def small_loss():
    w = ag.randn(3, requires_grad=True)
    return (w * w).sum()


@pytest.mark.parametrize("suffix, magic", [(".svg", b"<svg"), (".png", b"\x89PNG\r\n\x1a\n"), (".pdf", b"%PDF")])
def test_draw_renders_with_dot(device, tmp_path, suffix, magic):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot program is not installed")
    path = tmp_path / f"graph{suffix}"
    assert ag.draw(small_loss(), path) == str(path)
    data = path.read_bytes()
    assert (magic in data[:400]) if suffix == ".svg" else data.startswith(magic)
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("suffix", [".gv", ".dot"])
def test_draw_writes_source_without_dot(device, tmp_path, monkeypatch, suffix):
    loss = small_loss()
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    path = tmp_path / f"graph{suffix}"
    ag.draw(loss, path, show_saved=True)
    assert path.read_text() == ag.make_dot(loss, show_saved=True).source


def test_draw_without_dot_names_the_package(device, tmp_path, monkeypatch):
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    path = tmp_path / "graph.png"
    with pytest.raises(RuntimeError, match="apt-get install graphviz") as info:
        ag.draw(small_loss(), path)
    assert "brew install graphviz" in str(info.value) and ".gv" in str(info.value)
    assert not path.exists()


def test_without_the_graphviz_package(device, monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    with pytest.raises(ImportError, match=r"pip install 'topograd\[viz\]'"):
        ag.make_dot(small_loss())


def test_bad_arguments(device, tmp_path):
    loss = small_loss()
    with pytest.raises(ValueError, match="at least one tensor"):
        ag.make_dot()
    with pytest.raises(TypeError, match="root 0 is a float"):
        ag.make_dot(1.5)
    with pytest.raises(ValueError, match="color_by"):
        ag.make_dot(loss, color_by="speed")
    with pytest.raises(ValueError, match="max_nodes"):
        ag.make_dot(loss, max_nodes=0)
    with pytest.raises(ValueError, match=r"\.svg"):
        ag.draw(loss, tmp_path / "graph.jpg")
    assert not any(tmp_path.iterdir())


class Residual(nn.Module):
    """Two chained Blocks inside a residual layer: folds inside a fold."""

    def __init__(self):
        super().__init__()
        self.a, self.b = Block(6, 6), Block(6, 6)
        self.scale = nn.Parameter(ag.ones(6))

    def forward(self, x):
        return self.b(self.a(x)) * self.scale + x


def test_collapse_folds_inside_a_folded_block(device):
    model = Seq(*[Residual() for _ in range(3)])
    loss = model(ag.randn(2, 6)).sum()
    dot = Dot(ag.make_dot(loss).source)
    outer = dot.cluster_named("0 … 2 (Residual)  × 3")
    inner = dot.cluster_named("0.a … 0.b (Block)  × 2")
    assert dot.clusters[inner]["parent"] == outer
    assert len(dot.named("MatMul")) == 1 and len(dot.named("Mul")) == 1
    weights = [dot.label(n) for n in dot.nodes if "weight" in dot.label(n)]
    assert weights == ["0.a.weight … 2.b.weight 6×6 · float32 grad: none × 6"]
    # each folded step loops back once: Block a -> b, and layer k -> layer k+1 (into MatMul and the residual Add)
    assert sorted(dot.label(h) for t, h, a in dot.edges if a.get("label") == "next") == [
        "Add 2×6 · float32", "MatMul 2×6 · float32", "MatMul 2×6 · float32"]
    assert all(t in dot.nodes and h in dot.nodes for t, h, _ in dot.edges)


def test_params_must_name_tensors(device):
    loss = small_loss()
    with pytest.raises(TypeError, match="params must map names to Tensors"):
        ag.make_dot(loss, params=[loss])
    with pytest.raises(TypeError, match="params must map names to Tensors"):
        ag.make_dot(loss, params={"w": 3})


# --- what a review turned up: modules in containers, special characters, missing folders ------

def cluster_labels(source):
    """The label of each cluster in a DOT source, with DOT's quoting undone."""
    labels = []
    for match in re.finditer(r'label=("(?:[^"\\]|\\.)*"|\w+) labelloc', source):
        text = match.group(1)
        labels.append(text[1:-1].replace('\\"', '"') if text.startswith('"') else text)
    return labels


class Stack(nn.Module):
    """Layers in a ModuleList and a ModuleDict, called from forward (the containers never are)."""

    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(3, 4), nn.Linear(4, 3)])
        self.heads = nn.ModuleDict({"out": nn.Linear(3, 2)})

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.heads["out"](x)


def test_clusters_of_modules_in_containers_are_named_by_their_path(device):
    model = Stack()  # kept: nodes hold their modules weakly, and a freed model's clusters are not drawn
    out = model(ag.randn(2, 3)).sum()
    labels = cluster_labels(ag.make_dot(out).source)
    assert sorted(labels) == ["Stack", "heads.out (Linear)", "layers.0 (Linear)", "layers.1 (Linear)"]


def test_backslashes_in_module_names_are_drawn_literally(device):
    model = nn.Sequential(OrderedDict([("a\\N", nn.Linear(3, 3)), ('b"\\', nn.ReLU())]))
    dot = ag.make_dot(model(ag.randn(2, 3)).sum())
    # DOT reads backslash escapes (\N is the node name) in plain labels: a literal one is doubled
    assert 'label="a\\\\N (Linear)"' in dot.source
    assert 'label="b\\"\\\\ (ReLU)"' in dot.source
    if shutil.which("dot"):
        svg = subprocess.run(["dot", "-Tsvg"], input=dot.source.encode(), capture_output=True, check=True)
        texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg.stdout.decode())
        assert "a\\N (Linear)" in texts and "b&quot;\\ (ReLU)" in texts


def test_html_labels_escape_special_characters(device):
    w = ag.randn(2, requires_grad=True)
    name = 'w<"{|}>&'
    source = ag.make_dot((w * 2).sum(), params={name: w}).source
    assert "<B>w&lt;\"{|}&gt;&amp;</B>" in source
    if shutil.which("dot"):
        subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True, check=True)


def test_draw_into_a_missing_folder_names_the_folder(device, tmp_path):
    y = (ag.randn(2, requires_grad=True) * 2).sum()
    target = tmp_path / "missing" / "graph.gv"
    with pytest.raises(FileNotFoundError, match=r"draw: folder .*missing.* does not exist"):
        ag.draw(y, target)
    assert list(tmp_path.iterdir()) == []


def test_draw_onto_a_folder_names_it_and_leaves_nothing(device, tmp_path):
    """Where the target was a folder, the OS's error named graph.gv.partial, a file the caller
    never named (the partial file was removed)."""
    y = (ag.randn(2, requires_grad=True) * 2).sum()
    (tmp_path / "graph.gv").mkdir()
    with pytest.raises(IsADirectoryError, match=r"draw: .*graph\.gv' is a folder"):
        ag.draw(y, tmp_path / "graph.gv")
    assert [p.name for p in tmp_path.iterdir()] == ["graph.gv"]




def test_draw_takes_a_bytes_path_as_open_does(device, tmp_path):
    """A bytes path (which open() and os.path take) was refused: "cannot tell the format of
    b'.../graph.gv' from its suffix"."""
    y = (ag.randn(2, requires_grad=True) * 2).sum()
    written = ag.draw(y, os.fsencode(tmp_path / "graph.gv"))
    assert written == str(tmp_path / "graph.gv")
    assert (tmp_path / "graph.gv").read_text().startswith("digraph")

@pytest.mark.parametrize("wrong", ["summary", "class", "flag"])
def test_a_profile_that_is_not_a_profile_is_named(device, wrong):
    """profile=prof.summary(), profile=profiler.profile (the class) or profile=True failed
    inside the drawing: "'dict' object has no attribute 'node_stats'" and the like."""
    with ag.profiler.profile() as prof:
        loss = small_loss()
    given = {"summary": prof.summary(), "class": ag.profiler.profile, "flag": True}[wrong]
    with pytest.raises(TypeError, match=r"make_dot: profile must be the autograd\.profiler\.profile"):
        ag.make_dot(loss, profile=given)

# --- labels Graphviz could not read or drew wrongly -------------------------------------------

def svg_texts(source):
    """The texts Graphviz draws for a DOT source (dot must read it)."""
    svg = subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True)
    assert svg.returncode == 0, svg.stderr.decode()
    return [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg.stdout.decode())]


def quoted_cluster_labels(source):
    return re.findall(r'^\s*color="#8a9bb0".* label=("(?:[^"\\]|\\.)*"|<.*>|\S+)', source, flags=re.M)


class Scaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(ag.randn(3))
        self.inner = nn.Linear(3, 3)

    def forward(self, x):
        return self.inner(x * self.w)


@pytest.mark.parametrize("class_name", ["<Net>", "<a<b>", "<>"])
def test_a_model_class_named_in_angle_brackets_is_drawn_as_written(device, class_name):
    """The model's cluster is labelled with its class name alone, and the graphviz package
    passes a text in <...> on as an HTML-like label: <Net> was drawn as "Net", <> as
    nothing, and dot could not read the drawing of <a<b> at all (syntax error)."""
    pytest.importorskip("graphviz")
    model = type(class_name, (Scaled,), {})()
    source = ag.make_dot(model(ag.randn(2, 3)).sum()).source
    assert sorted(quoted_cluster_labels(source)) == sorted([f'"{class_name}"', '"inner (Linear)"'])
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
    assert f'"k{escaped.replace(chr(92), chr(92) * 2)} (Linear)"' in quoted_cluster_labels(source)
    if shutil.which("dot"):
        texts = svg_texts(source)
        assert f"w{escaped}" in texts and f"k{escaped} (Linear)" in texts


# --- module names: one walk per parent ------------------------------------------------------
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
        labels = quoted_cluster_labels(source)
        assert sorted(labels) == sorted(["Sequential"] + [f'"{i} (Linear)"' for i in range(width)])
    assert listed[60] == listed[10]  # (naming parameters lists them too)


# --- what an op's box says of its outputs ---------------------------------------------------
class DoubledWithCount(ag.Function):
    """A custom op that returns, beside its tensor, two Python objects (which stay as they are)."""

    @staticmethod
    def forward(ctx, x):
        return x * 2, 3, "doubled"

    @staticmethod
    def backward(ctx, gy, gcount, gnote):
        return gy * 2


def test_non_tensor_outputs_of_a_custom_function_are_not_labelled_as_scalars(device):
    """A custom Function's non-tensor outputs were described as 0-d tensors: the box of one
    returning (a 3-vector, 3, "doubled") read "3 outputs: 3, scalar, scalar · float32"."""
    x = ag.randn(3, requires_grad=True)
    y, count, note = DoubledWithCount.apply(x)
    assert (count, note) == (3, "doubled")
    dot = Dot(ag.make_dot(y.sum()).source)
    (op,) = dot.named("DoubledWithCount")
    assert dot.label(op) == "DoubledWithCount 3 outputs: 3 · float32, not a tensor, not a tensor"
    if shutil.which("dot"):
        assert "3 outputs: 3 · float32, not a tensor, not a tensor" in svg_texts(ag.make_dot(y.sum()).source)


class DoubledWithSigns(ag.Function):
    """A custom op that returns a float tensor and an int64 one (which takes no gradient)."""

    @staticmethod
    def forward(ctx, x):
        xp = x.backend.xp
        return x * 2, ag.Tensor._make(xp.astype(xp.sign(x.data), xp.int64), x.backend)

    @staticmethod
    def backward(ctx, gy, gsigns):
        return gy * 2


def test_outputs_of_different_dtypes_are_each_labelled_with_their_own(device):
    """Only the first output's dtype was shown, as if it were every output's: the box of an
    op returning a float32 and an int64 tensor of shape 2×3 read "2 outputs: 2×3, 2×3 · float32"."""
    x = ag.randn(2, 3, requires_grad=True)
    y, signs = DoubledWithSigns.apply(x)
    assert (y.dtype, signs.dtype) == (ag.float32, ag.int64)
    dot = Dot(ag.make_dot(y.sum()).source)
    (op,) = dot.named("DoubledWithSigns")
    assert dot.label(op) == "DoubledWithSigns 2 outputs: 2×3 · float32, 2×3 · int64"


# --- views changed in place -----------------------------------------------------------------
def test_a_view_whose_base_changed_in_place_is_drawn_with_the_change(device):
    """v = y[0], then y.mul_(2): backward from v goes through the in-place Mul (x's gradient
    is 2), but the drawing of v showed the graph of v as it was taken (Mul, GetItem: one
    Mul, no sign of the change), since the view's place in the graph is rebased lazily and
    make_dot read it as it stood."""
    x = ag.randn(3, 2, requires_grad=True)
    y = x * 1
    v = y[0]
    y.mul_(2)
    dot = Dot(ag.make_dot(v).source)
    assert len(dot.named("Mul")) == 2
    nodes, leaves, edges = walk(v)  # (v is rebased now)
    assert sorted(dot.label(n).split()[0] for n in dot.nodes if n.startswith("op")) == sorted(n.name for n in nodes)
    assert len(dot.visible_edges()) == edges
    v.backward(ag.ones(2))
    assert x.grad.tolist() == [[2.0, 2.0], [0.0, 0.0], [0.0, 0.0]]


# --- devices ------------------------------------------------------------------------------------
def test_a_graph_across_devices_names_the_device_of_every_box(device):
    """A drawing never named a device, so in a graph that moves data between devices
    (x on one, .to() the other, ops there) nothing showed which ops ran where: the ToDevice
    box read "2 · float32" like every other. Now, where a graph spans several devices, each
    box names its own; a graph on one device is drawn as before."""
    other = next((d for d in DEVICES if d != device), None)
    if other is None:
        pytest.skip("needs a second device")
    x = ag.randn(2, requires_grad=True)
    y = (x.exp().to(other) * 2).sum()
    dot = Dot(ag.make_dot(y).source)
    labels = sorted(dot.label(n) for n in dot.nodes)
    assert labels == sorted([f"input 2 · float32 · {device} grad: none", f"Exp 2 · float32 · {device}",
                             f"ToDevice 2 · float32 · {other}", f"Mul 2 · float32 · {other}",
                             f"Sum scalar · float32 · {other}", f"output scalar · float32 · {other}"])
    one = Dot(ag.make_dot((x.exp() * 2).sum()).source)
    assert not any(device in one.label(n) or other in one.label(n) for n in one.nodes)


# --- tensors outside any graph ----------------------------------------------------------------
@pytest.mark.parametrize("how", ["plain", "detached", "no_grad"])
def test_a_tensor_with_no_graph_is_drawn_as_such(device, how):
    """Drawing a tensor that records no graph (made without requires_grad, detached, or
    computed under no_grad: a common slip before make_dot) gave one box titled "input" with
    "grad: none", as if it were an input waiting for its gradient; it now says why there is
    nothing more to draw."""
    x = ag.randn(3, requires_grad=True)
    if how == "plain":
        t = ag.randn(3)
    elif how == "detached":
        t = (x * 2).detach()
    else:
        with ag.no_grad():
            t = x * 2
    dot = Dot(ag.make_dot(t).source)
    labels = sorted(dot.label(n) for n in dot.nodes)
    assert labels == ["output 3 · float32", "tensor 3 · float32 requires_grad=False: no graph recorded"]
    # a leaf that requires grad is still an input, before and after backward
    assert Dot(ag.make_dot(x).source).label("leaf0") == "input 3 · float32 grad: none"


def test_a_model_output_nested_in_tuples_is_drawn_whole(device):
    """An LSTM returns (output, (h, c)): make_dot(lstm(x)) and draw(lstm(x), ...) took one
    level of tuple only and refused the rest ("root 1 is a tuple, not a Tensor"); the tensors
    at any depth are drawn now, in order, as output 0, 1 and 2."""
    lstm = nn.LSTM(3, 4)
    result = lstm(ag.randn(5, 2, 3))
    out, (h, c) = result
    dot = Dot(ag.make_dot(result).source)
    assert [dot.label(f"root{i}") for i in range(3)] == [
        "output 0 5×2×4 · float32", "output 1 1×2×4 · float32", "output 2 1×2×4 · float32"]
    assert ag.make_dot(result).source == ag.make_dot(out, h, c).source
    with pytest.raises(TypeError, match=r"root 2 is a str, not a Tensor"):
        ag.make_dot([out, (h, "c")])


class CubeSavingItsSquare(ag.Function):
    """A custom op that saves a tensor it computed, which is neither an input nor an output."""

    @staticmethod
    def forward(ctx, x):
        square = x * x
        ctx.save_for_backward(square, x)
        return square * x

    @staticmethod
    def backward(ctx, gy):
        square, x = ctx.saved_tensors
        return gy * 3 * square


def test_show_saved_calls_a_tensor_a_custom_function_computed_no_input(device):
    """show_saved titled every saved tensor "saved input": a custom forward that computes
    x * x and saves it beside x had both boxes read "saved input 3 · float32 12 B", though
    the square is no input of the op."""
    x = ag.randn(3, requires_grad=True)
    y = CubeSavingItsSquare.apply(x).sum()
    dot = Dot(ag.make_dot(y, show_saved=True).source)
    saved = sorted(dot.label(n) for n in dot.nodes if "_saved" in n)
    assert saved == ["saved input 3 · float32 12 B", "saved tensor 3 · float32 12 B"]
    y.backward()
    assert x.grad.tolist() == pytest.approx((3 * x * x).tolist())
