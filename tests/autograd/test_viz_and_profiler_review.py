"""What a review of graph drawing and the profiler turned up: names of modules
held in containers that are never called (ModuleList, ModuleDict), characters
Graphviz treats specially in module names, drawing into a missing folder, and
the profiler's observer after errors, nesting and a second exit."""
import json
import re
import shutil
import subprocess
from collections import OrderedDict

import pytest

import autograd as ag
import nn
from autograd import function
from autograd.profiler import profile

pytest.importorskip("graphviz")


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
    out = Stack()(ag.randn(2, 3)).sum()
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


# --- profiler -------------------------------------------------------------------------------------

def test_profile_exited_twice_says_it_is_not_active(device):
    prof = profile()
    with prof:
        (ag.randn(2) * 2).sum()
    with pytest.raises(RuntimeError, match="profile: not active"):
        prof.__exit__(None, None, None)
    assert function.observers == []


def test_nested_profiles_and_errors_leave_no_observer(device, tmp_path):
    x = ag.randn(3, 3, requires_grad=True)
    with pytest.raises(ValueError, match="matmul|shape"):
        with profile() as outer:
            (x * 2).sum().backward()
            with profile() as inner:
                x.exp().sum().backward()
            x @ ag.randn(4, 4)
    assert function.observers == []
    assert [(e.name, e.phase) for e in inner.events] == [("Exp", "forward"), ("Sum", "forward"),
                                                        ("Sum", "backward"), ("Exp", "backward")]
    assert [e.name for e in outer.events] == ["Mul", "Sum", "Sum", "Mul", "Exp", "Sum", "Sum", "Exp"]
    trace = json.loads(open(outer.export_chrome_trace(tmp_path / "trace.json")).read())
    events = trace["traceEvents"]
    assert [e["name"] for e in events] == ["Mul", "Sum", "Sum backward", "Mul backward", "Exp", "Sum",
                                           "Sum backward", "Exp backward"]
    assert all(e["ph"] == "X" and e["dur"] >= 0 and e["ts"] >= 0 for e in events)
