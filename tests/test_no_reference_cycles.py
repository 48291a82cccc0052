"""The memory promise: the graph holds no reference cycles, so everything a step made is
returned by reference counting alone the moment the user drops the last tensor, and
backward (without retain_graph) frees what the nodes saved while the user still holds
the graph.

Each check runs a piece of code with Python's cyclic collector off, drops every
reference, then asks the collector what it finds: anything of topograd's (tensors,
nodes, arrays, modules) it finds was kept alive by a cycle. The failure names those
objects. The collector is always switched back on, whatever happens.
"""
import gc
import os
import warnings
import weakref
from collections import Counter

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F
from autograd import function, grad_mode
from autograd.checkpoint import checkpoint
from autograd.function import Function
from autograd.tensor import Tensor
from backends.scratch_pool import ScratchPool
from nn.utils import prune
from nn.utils.spectral_norm import spectral_norm
from nn.utils.weight_norm import weight_norm
from tests.autograd.test_ops_table import TABLE, draw_inputs
from tests.autograd.test_viz import cluster_labels

OUR_PACKAGES = ("autograd", "nn", "backends", "numpy", "array_api_strict")


def _ours(obj):
    """Whether ``obj`` belongs to topograd or holds array memory (test-defined Functions too)."""
    if isinstance(obj, (Tensor, Function, nn.Module)):
        return True
    return type(obj).__module__.split(".")[0] in OUR_PACKAGES


def cyclic_garbage(run):
    """Run ``run()`` with the cyclic collector off; return a Counter of our objects that
    only the collector could free afterwards (members of, or kept by, a cycle)."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        run()
        gc.set_debug(gc.DEBUG_SAVEALL)  # what collect() frees is kept in gc.garbage to be named
        gc.collect()
        found = Counter(type(o).__qualname__ for o in gc.garbage if _ours(o))
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if was_enabled:
            gc.enable()
    return found


def assert_no_cycles(run, what):
    found = cyclic_garbage(run)
    assert not found, f"{what}: reference cycles kept these alive until gc ran: {dict(found)}"


def assert_none_leaves_cycles(runs):
    """``runs``: (name, run) pairs. One collection for all of them (a full collection is
    the slow part), then, only if it found something, one per run to name the culprit."""
    runs = list(runs)
    if cyclic_garbage(lambda: [run() for _, run in runs]):
        for name, run in runs:
            assert_no_cycles(run, name)


def _nodes(*roots):
    """Every node of the graph behind ``roots``, without recursion."""
    seen, stack = {}, [r.grad_fn for r in roots if r.grad_fn is not None]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen[id(node)] = node
            stack.extend(p for p in node.producer_tuple() if isinstance(p, Function))
    return list(seen.values())


def _arrays_held(node):
    """The attributes of ``node`` (besides its producers) through which it still holds an
    array or tensor, looking into tuples, lists and dicts."""
    held, stack = [], [(k, v) for k, v in vars(node).items() if k != "_producers"]
    while stack:
        name, value = stack.pop()
        if isinstance(value, Tensor) or hasattr(value, "__array_namespace__") or isinstance(value, np.ndarray):
            held.append(name)
        elif isinstance(value, (tuple, list)):
            stack.extend((f"{name}[{i}]", v) for i, v in enumerate(value))
        elif isinstance(value, dict):
            stack.extend((f"{name}[{k!r}]", v) for k, v in value.items())
    return sorted(held)


def _leaves(op):
    return [ag.tensor(a, dtype="float64", requires_grad=True) for a in draw_inputs(op)]


def _total(outputs):
    outputs = list(outputs) if isinstance(outputs, (tuple, list)) else [outputs]
    return sum((o * o).sum() for o in outputs)


# --- failing now: the cycles and the buffers found --------------------------------------------
class _DoubleInPlace(ag.Function):
    @staticmethod
    def forward(ctx, x):
        x.data *= 2
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        return g * 2


def test_mark_dirty_leaves_no_cycle(device):
    """Function.mark_dirty keeps the changed inputs in ctx._marks.dirty, and each of them
    then takes the node as its grad_fn: Tensor -> node (_DoubleInPlace) -> _OutputMarks ->
    tuple -> Tensor, a cycle per call, kept until the collector runs."""
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)

    def run():
        y = x * 1
        _DoubleInPlace.apply(y)
        _DoubleInPlace.apply(y[1:])  # through a view too
        (y * y).sum().backward()

    assert_no_cycles(run, "a custom Function that calls mark_dirty")


def test_drawing_a_graph_leaves_no_cycle(device, tmp_path):
    """make_dot's module calls (autograd/viz/module_calls.Call) point at their parent and
    the parent at them (.parent / .children), and a folded call's .fold lists itself: each
    drawing kept the graph's nodes, the model and its parameters alive until gc ran."""
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    cell = nn.RNNCell(2, 2)
    x = ag.randn(3, 4, requires_grad=True)

    def run():
        loss = model(x).sum()
        ag.make_dot(loss, params=model).source
        h = ag.zeros(3, 2)
        for _ in range(4):
            h = cell(model(x), h)
        ag.make_dot(h.sum(), show_saved=True).source

    assert_no_cycles(run, "make_dot of a model's graph")


def test_index_arrays_are_freed_after_backward(device):
    """GetItem, IndexAdd and IndexPut (autograd/ops/indexing.py) keep their index arrays as
    ctx.index, and the scale_grad_by_freq embedding lookup (nn/functional/embedding.py)
    its ctx.index and ctx.inverse_counts, outside save_for_backward: backward does not
    free them, so they live as long as the graph (PyTorch frees an index op's indices)."""
    x = ag.randn(6, 3, requires_grad=True)
    rows, cols = np.array([0, 2, 2, 5]), np.array([1, 0, 2, 2])
    y = x * 1
    y[np.array([1, 3])] = ag.randn(2, 3, requires_grad=True)
    emb = nn.Embedding(10, 3, scale_grad_by_freq=True)
    loss = y[rows, cols].sum() + y[y.detach() > 0].sum() + emb(ag.tensor([[1, 2, 2], [0, 9, 1]])).sum()
    loss.backward()
    held = {node.name: _arrays_held(node) for node in _nodes(loss) if _arrays_held(node)}
    assert held == {}, f"nodes still hold arrays after backward: {held}"


# --- pinned: the op table ------------------------------------------------------------------------
def _forward(op):
    _total(op.fn(*_leaves(op)))


def _backward(op):
    _total(op.fn(*_leaves(op))).backward()


def _double_backward(op):
    xs = _leaves(op)
    grads = ag.grad(_total(op.fn(*xs)), xs, create_graph=True)
    total = sum((g * g).sum() for g in grads)
    if total.requires_grad:  # sign's and relu's second derivatives are constant
        total.backward()


@pytest.mark.parametrize("run", [_forward, _backward, _double_backward], ids=lambda f: f.__name__.strip("_"))
def test_op_table_leaves_no_cycles(device, run):
    assert_none_leaves_cycles((op.name, lambda op=op: run(op)) for op in TABLE)


def test_backward_frees_every_saved_buffer_while_the_graph_is_held(device):
    for op in TABLE:
        xs = _leaves(op)
        loss = _total(op.fn(*xs))
        saving = [n for n in _nodes(loss) if n._saved is not None]
        loss.backward()
        kept = [n.name for n in saving if n._saved is not None or not n._released]
        assert not kept, f"{op.name}: still saved after backward: {kept}"


def test_retain_graph_keeps_saved_buffers_until_the_last_backward(device):
    x = ag.tensor([0.5, 1.5, 2.0], dtype="float64", requires_grad=True)
    loss = (x.exp() * x.tanh()).sum()
    saving = [n for n in _nodes(loss) if n._saved is not None]
    loss.backward(retain_graph=True)
    assert all(n._saved is not None for n in saving)
    loss.backward()
    assert all(n._saved is None for n in saving)
    np.testing.assert_allclose(x.grad.numpy(), 2 * ((np.exp(x.numpy()) * np.tanh(x.numpy()))
                                                    + np.exp(x.numpy()) / np.cosh(x.numpy()) ** 2))


def test_the_graph_dies_with_its_last_tensor_while_the_model_lives(device):
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2))
    gc.collect()
    gc.disable()
    try:
        loss = F.cross_entropy(model(ag.randn(5, 4)), ag.tensor([0, 1, 1, 0, 1]))
        refs = [weakref.ref(loss)] + [weakref.ref(n) for n in _nodes(loss)]
        del loss  # before backward: every saved activation goes with it
        assert [r() for r in refs] == [None] * len(refs)
    finally:
        gc.enable()


# --- pinned: the rest of autograd ----------------------------------------------------------------
class _Square(ag.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.data * x.data

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * 2 * x


class _SquareKeptAsAttribute(ag.Function):
    """ctx.x = x instead of save_for_backward: the user's choice; no cycle (a node never
    points at its outputs), but backward cannot free it or check it for in-place changes."""
    @staticmethod
    def forward(ctx, x):
        ctx.x = x
        return x.data * x.data

    @staticmethod
    def backward(ctx, g):
        return g * 2 * ctx.x


class _Split(ag.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.data * 2, x.data * 3

    @staticmethod
    def backward(ctx, g1, g2):
        return g1 * 2 + g2 * 3


def _views_and_inplace():
    a = ag.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    y = a * 1
    x = ag.zeros(3, 4)
    vv, old = y[1][1:], y[:, 2]
    vv.mul_(2.0)
    x[2][1:3] = w
    x[2][0:2] += w
    turned = x.reshape(4, 3).T
    turned[1:].mul_(w[0])
    ag.split(y, 2, axis=1)[1].T.add_(w.reshape(2, 1))
    y.relu_()
    y -= 0.5
    y *= w.sum()
    y[[0, 2], 1:] = w[0]
    ((old * vv[1]).sum() + (x * y).sum() + turned.sum()).backward()


def _hooks_and_retain_grad():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    handle = y.register_hook(lambda g: g * 2)
    z = y.exp()
    z.register_hook(lambda g: None)
    x.register_hook(lambda g: g + 1)
    z.sum().backward()
    assert y.grad is not None
    handle.remove()


def _custom_functions():
    x = ag.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    _Square.apply(x * 1).sum().backward()
    _SquareKeptAsAttribute.apply(x * 1).sum().backward()
    a, b = _Split.apply(x)
    (a.sum() + b.sum()).backward()
    (g,) = ag.grad(_Square.apply(x).sum(), x, create_graph=True)
    g.sum().backward()


def _grad_and_backward_inputs():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = ag.tensor([0.5, 0.5, 0.5], requires_grad=True)
    (g,) = ag.grad((x ** 3 * w).sum(), x, create_graph=True)
    ag.grad(g.sum(), [x, w])
    (x.sin() * w).sum().backward(inputs=[w])


def _anomaly_and_errors():
    x = ag.tensor([0.0, 2.0], requires_grad=True)
    with ag.detect_anomaly():
        (x.exp() * x).sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for bad in (lambda: (x - 1).log().sum(), lambda: x.sqrt().sum().backward()):
            try:
                with ag.detect_anomaly():
                    bad()
            except RuntimeError:
                pass
    y = x * 1
    z = y.exp()
    y.add_(1)
    try:
        (z * y).sum().backward()
    except RuntimeError:
        pass
    loss = x.exp().sum()
    loss.backward()
    try:
        loss.backward()
    except RuntimeError:
        pass


def _profiler(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    with ag.profiler.profile() as prof:
        model(ag.randn(5, 3)).sum().backward()
    prof.table(group_by="module")
    prof.summary()
    prof.export_chrome_trace(tmp_path / "trace.json")


@pytest.mark.parametrize("run", [_views_and_inplace, _hooks_and_retain_grad, _custom_functions,
                                 _grad_and_backward_inputs, _anomaly_and_errors],
                         ids=lambda f: f.__name__.strip("_"))
def test_autograd_features_leave_no_cycles(device, run):
    assert_no_cycles(run, run.__name__)


def test_the_profiler_leaves_no_cycles(device, tmp_path):
    assert_no_cycles(lambda: _profiler(tmp_path), "a profiled step")


@pytest.mark.filterwarnings("ignore:backward\\(create_graph=True\\) records:UserWarning")  # (the cycle it warns of)
def test_backward_with_create_graph_cycle_is_only_the_leaf_and_its_grad(device):
    """As in PyTorch (which warns about it): backward(create_graph=True) gives a leaf a
    .grad whose graph leads back to the leaf. Setting .grad to None breaks it."""
    def run():
        x = ag.tensor([1.0, 2.0], requires_grad=True)
        (x ** 3).sum().backward(create_graph=True)
        x.grad = None

    assert_no_cycles(run, "backward(create_graph=True), then x.grad = None")


def _multi_grad_hooks():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    seen = []
    for mode in ("all", "any"):
        ag.graph.register_multi_grad_hook([x, y], seen.append, mode=mode)
    (y.exp() * x).sum().backward()
    assert len(seen) == 2
    z = x * 3  # never differentiated
    ag.graph.register_multi_grad_hook([z], seen.append)


def test_multi_grad_hooks_leave_no_cycle(device):
    """Each tensor's hook closed over the tuple of tensors (to ask the pass which it
    reaches): leaf -> its hooks -> the hook -> the tuple -> leaf, and node -> its output's
    hooks -> ... -> the tensor -> node. PyTorch's mode "any" keeps nothing alive."""
    assert_no_cycles(_multi_grad_hooks, "register_multi_grad_hook")


# --- pinned: nn --------------------------------------------------------------------------------------
def _x(*shape):
    return ag.randn(*shape)


def _ids():
    return ag.tensor([[1, 2, 2], [0, 9, 1]])


LAYERS = [
    (lambda: nn.Linear(4, 3), lambda: _x(2, 4)),
    (lambda: nn.Conv2d(2, 4, 3, padding=1, groups=2), lambda: _x(2, 2, 5, 5)),
    (lambda: nn.BatchNorm1d(4), lambda: _x(3, 4)),
    (lambda: nn.BatchNorm2d(2), lambda: _x(3, 2, 4, 4)),
    (lambda: nn.LayerNorm(4), lambda: _x(3, 4)),
    (lambda: nn.Dropout(0.3), lambda: _x(3, 4)),
    (lambda: nn.Dropout(0.3, inplace=True), lambda: _x(3, 4)),
    (lambda: nn.Flatten(), lambda: _x(2, 3, 4)),
    (lambda: nn.MaxPool2d(2), lambda: _x(1, 2, 4, 4)),
    (lambda: nn.AvgPool2d(2), lambda: _x(1, 2, 4, 4)),
    (lambda: nn.AdaptiveAvgPool2d((2, 3)), lambda: _x(1, 2, 5, 5)),
    (lambda: nn.AdaptiveMaxPool2d((2, 3), return_indices=True), lambda: _x(1, 2, 5, 5)),
    (lambda: nn.MaxPool3d(2, return_indices=True), lambda: _x(1, 2, 4, 4, 4)),
    (lambda: nn.AvgPool3d(3, 2, 1, count_include_pad=False), lambda: _x(1, 2, 4, 5, 4)),
    (lambda: nn.AdaptiveAvgPool3d((2, 3, 2)), lambda: _x(1, 2, 5, 5, 5)),
    (lambda: nn.AdaptiveMaxPool3d((2, 3, 2), return_indices=True), lambda: _x(1, 2, 5, 5, 5)),
    (lambda: nn.ConvTranspose2d(2, 4, 3, stride=2, output_padding=1, groups=2), lambda: _x(2, 2, 3, 3)),
    (lambda: nn.Conv3d(2, 4, (2, 3, 3), padding=(1, 0, 1), groups=2), lambda: _x(2, 2, 3, 4, 4)),
    (lambda: nn.ConvTranspose3d(2, 4, 2, stride=2, output_padding=1, groups=2), lambda: _x(2, 2, 2, 3, 3)),
    (lambda: nn.Sequential(nn.ReLU(inplace=True), nn.LeakyReLU(0.1), nn.ELU(), nn.GELU(), nn.GELU("tanh"),
                           nn.Sigmoid(), nn.Tanh(), nn.Softplus(), nn.Softmax(-1), nn.LogSoftmax(-1),
                           nn.Identity()), lambda: _x(3, 4)),
    (lambda: nn.Sequential(nn.PReLU(4), nn.SiLU(), nn.Mish(), nn.Hardswish(), nn.Hardsigmoid(), nn.Hardtanh(),
                           nn.ReLU6(), nn.SELU(), nn.CELU(0.5), nn.LogSigmoid(), nn.Softsign(), nn.Softmin(-1),
                           nn.Threshold(-0.5, 0.0), nn.Tanhshrink(), nn.Hardshrink(0.1), nn.Softshrink(0.1),
                           nn.GLU()), lambda: _x(3, 4)),
    (lambda: nn.Embedding(10, 3, padding_idx=0, max_norm=1.0), _ids),
    (lambda: nn.RNN(3, 4, num_layers=2, bidirectional=True), lambda: _x(5, 2, 3)),
    (lambda: nn.LSTM(3, 4, proj_size=2, num_layers=2, dropout=0.2, batch_first=True), lambda: _x(2, 5, 3)),
    (lambda: nn.GRU(3, 4), lambda: _x(5, 2, 3)),
    (lambda: nn.ModuleList([nn.RNNCell(3, 4), nn.LSTMCell(3, 4), nn.GRUCell(3, 4)]), lambda: _x(2, 3)),
]


def _outputs_requiring_grad(out):
    stack, found = [out], []
    while stack:
        o = stack.pop()
        if isinstance(o, (tuple, list)):
            stack.extend(o)
        elif isinstance(o, Tensor) and o.requires_grad:
            found.append(o)
    return found


def _call(module, x):
    if isinstance(module, nn.ModuleList):
        return [cell(x) for cell in module]
    return module(x)


def _layer_step(make, inputs, double):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dropout between one layer's steps
        module = make()
    x = inputs()
    leaf = x.detach().requires_grad_(True) if x.dtype.kind == "f" else None
    loss = _total(_outputs_requiring_grad(_call(module, x if leaf is None else leaf * 1)))
    if not double:
        loss.backward()
        return
    wrt = [p for p in module.parameters() if p.requires_grad] + ([leaf] if leaf is not None else [])
    grads = ag.grad(loss, wrt, create_graph=True, allow_unused=True)
    total = sum((g * g).sum() for g in grads if g is not None)
    if isinstance(total, Tensor) and total.requires_grad:
        total.backward()


@pytest.mark.parametrize("double", [False, True], ids=["backward", "double_backward"])
def test_every_layer_leaves_no_cycles(device, double):
    assert_none_leaves_cycles((f"layer {i}", lambda make=make, inputs=inputs: _layer_step(make, inputs, double))
                              for i, (make, inputs) in enumerate(LAYERS))


LOSSES = [
    lambda x: nn.CrossEntropyLoss()(x, ag.tensor([0, 2, 1, 1])),
    lambda x: nn.CrossEntropyLoss(weight=ag.tensor([1.0, 2.0, 3.0]), label_smoothing=0.1,
                                  ignore_index=1)(x, ag.tensor([0, 2, 1, 1])),
    lambda x: nn.CrossEntropyLoss()(x, F.softmax(ag.randn(4, 3), axis=1)),
    lambda x: nn.NLLLoss()(F.log_softmax(x, axis=1), ag.tensor([0, 2, 1, 1])),
    lambda x: nn.MSELoss()(x, ag.randn(4, 3)),
    lambda x: nn.L1Loss()(x, ag.randn(4, 3)),
    lambda x: nn.HuberLoss()(x, ag.randn(4, 3)),
    lambda x: nn.BCELoss()(x.sigmoid(), ag.rand(4, 3)),
    lambda x: nn.BCEWithLogitsLoss(pos_weight=ag.tensor([1.0, 2.0, 3.0]))(x, ag.rand(4, 3)),
    lambda x: nn.SmoothL1Loss(beta=0.5)(x, ag.randn(4, 3)),
    lambda x: nn.KLDivLoss(reduction="batchmean")(F.log_softmax(x, axis=1), F.softmax(ag.randn(4, 3), axis=1)),
    lambda x: nn.PoissonNLLLoss(full=True)(x, ag.rand(4, 3) * 3),
    lambda x: nn.GaussianNLLLoss()(x, ag.randn(4, 3), ag.rand(4, 3) + 0.1),
    lambda x: nn.MarginRankingLoss(0.1)(x[:, 0], x[:, 1], ag.tensor([1.0, -1.0, 1.0, -1.0])),
    lambda x: nn.HingeEmbeddingLoss()(x, ag.tensor([[1.0, -1.0, 1.0]] * 4)),
    lambda x: nn.SoftMarginLoss()(x, ag.tensor([[1.0, -1.0, 1.0]] * 4)),
    lambda x: nn.CosineEmbeddingLoss()(x, ag.randn(4, 3), ag.tensor([1.0, -1.0, 1.0, -1.0])),
    lambda x: nn.TripletMarginLoss(swap=True)(x, ag.randn(4, 3), ag.randn(4, 3)),
    lambda x: nn.MultiLabelSoftMarginLoss()(x, ag.tensor([[1.0, 0.0, 1.0]] * 4)),
    lambda x: nn.MultiMarginLoss()(x, ag.tensor([0, 2, 1, 1])),
    lambda x: (F.normalize(x) * F.cosine_similarity(x, ag.randn(4, 3))[:, None]).sum()
    + F.pairwise_distance(x, ag.randn(4, 3)).sum(),
    lambda x: nn.MultiLabelMarginLoss()(x, ag.tensor([[0, 2, -1], [1, -1, 0], [2, 1, 0], [-1, 0, 0]])),
    lambda x: nn.TripletMarginWithDistanceLoss(distance_function=nn.PairwiseDistance(), swap=True)(
        x, ag.randn(4, 3), ag.randn(4, 3)),
]


def _loss_step(loss_of):
    x = ag.randn(4, 3, requires_grad=True)
    (g,) = ag.grad(loss_of(x), x, create_graph=True)
    total = (g * g).sum()
    if total.requires_grad:  # the margin losses' gradients are piecewise constant, off the graph
        total.backward()


def test_every_loss_leaves_no_cycles(device):
    assert_none_leaves_cycles((f"loss {i}", lambda loss_of=loss_of: _loss_step(loss_of))
                              for i, loss_of in enumerate(LOSSES))


def _ctc_step():
    x = ag.randn(5, 2, 3, requires_grad=True)
    loss = nn.CTCLoss(zero_infinity=True)(F.log_softmax(x, axis=2), ag.tensor([[1, 2], [2, 0]]), (5, 3), (2, 1))
    (g,) = ag.grad(loss, x, create_graph=True)
    with pytest.raises(RuntimeError, match="second derivative"):  # none, as in PyTorch
        (g * g).sum().backward()
    nn.CTCLoss(reduction="sum")(F.log_softmax(x, axis=2), ag.tensor([1, 2, 2]), (5, 3), (2, 1)).backward()


def test_ctc_loss_leaves_no_cycles_even_when_its_second_derivative_is_refused(device):
    assert_none_leaves_cycles([("ctc loss", _ctc_step)])


OPTIMIZERS = [
    lambda p: nn.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda p: nn.optim.Adam(p, lr=1e-3, amsgrad=True, weight_decay=0.1),
    lambda p: nn.optim.AdamW(p, lr=1e-3),
    lambda p: nn.optim.RMSprop(p, lr=1e-3, momentum=0.9, centered=True),
    lambda p: nn.optim.Adagrad(p, lr=0.1),
]
SCHEDULERS = [
    lambda o: nn.optim.lr_scheduler.LambdaLR(o, lambda epoch: 0.9 ** epoch),
    lambda o: nn.optim.lr_scheduler.StepLR(o, 2),
    lambda o: nn.optim.lr_scheduler.MultiStepLR(o, [1, 2]),
    lambda o: nn.optim.lr_scheduler.ExponentialLR(o, 0.9),
    lambda o: nn.optim.lr_scheduler.CosineAnnealingLR(o, 5),
    lambda o: nn.optim.lr_scheduler.OneCycleLR(o, 0.1, total_steps=10),
    lambda o: nn.optim.lr_scheduler.ReduceLROnPlateau(o),
]


def _training(make_optimizer, make_scheduler):
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    optimizer = make_optimizer(model.parameters())
    scheduler = None if make_scheduler is None else make_scheduler(optimizer)
    for _ in range(3):
        loss = F.cross_entropy(model(ag.randn(5, 4)), ag.tensor([0, 1, 2, 0, 1]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if isinstance(scheduler, nn.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(loss.item())
        elif scheduler is not None:
            scheduler.step()
    optimizer.load_state_dict(optimizer.state_dict())
    if scheduler is not None:
        scheduler.load_state_dict(scheduler.state_dict())
    model.load_state_dict(model.state_dict())


def test_training_steps_with_every_optimizer_and_scheduler_leave_no_cycles(device):
    assert_none_leaves_cycles(
        [(f"optimizer {i}", lambda make=make: _training(make, None)) for i, make in enumerate(OPTIMIZERS)]
        + [(f"scheduler {i}", lambda make=make: _training(OPTIMIZERS[0], make)) for i, make in enumerate(SCHEDULERS)])


def test_grad_scaler_steps_leave_no_cycle(device):
    """GradScaler.scale walked its outputs with a closure that called itself: a cycle per
    call (function -> its cell -> function) holding the scaler and the scale's tensors."""
    def run():
        model = nn.Linear(4, 3)
        optimizer = nn.optim.SGD(model.parameters(), lr=0.1)
        scaler = nn.amp.GradScaler("cuda" if device.startswith("cuda") else "cpu")
        for _ in range(2):
            loss = model(ag.randn(5, 4)).sum()
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        scaled, (again,) = scaler.scale([loss, (loss,)])
        list(scaler.scale(iter([loss])))

    assert_no_cycles(run, "GradScaler steps")


def test_checkpoints_data_and_fit_leave_no_cycles(device, tmp_path):
    def run():
        data = nn.data.TensorDataset(ag.randn(20, 4), ag.tensor(np.arange(20) % 3))
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
        handle = model[0].register_forward_hook(lambda module, inputs, output: output * 1)
        model.register_forward_pre_hook(lambda module, inputs: None)
        optimizer = nn.optim.Adam(model.parameters(), lr=1e-2)
        nn.fit(model, F.cross_entropy, optimizer, nn.data.DataLoader(data, batch_size=5, shuffle=True, seed=1),
               nn.data.DataLoader(data, batch_size=10), epochs=2, progress=False,
               scheduler=nn.optim.lr_scheduler.OneCycleLR(optimizer, 0.1, total_steps=8),
               callbacks=[nn.EarlyStopping(patience=1),
                          nn.ModelCheckpoint(os.fspath(tmp_path / "best.safetensors"))])
        handle.remove()
        path = os.fspath(tmp_path / "last.safetensors")
        nn.save(model.state_dict(), path, optimizer=optimizer, metadata={"epoch": "2"})
        model.load_state_dict(nn.load(path))
        optimizer.load_state_dict(nn.load_optimizer_state(path))
        nn.restore(path, model, optimizer)
        next(iter(nn.data.DataLoader([(ag.randn(2), 1) for _ in range(5)], batch_size=2)))

    assert_no_cycles(run, "fit, DataLoader and checkpoints")


# --- the scratch pool ------------------------------------------------------------------------------
def test_the_scratch_pool_keeps_dead_arrays_only_within_its_bound(monkeypatch):
    monkeypatch.setattr(ScratchPool, "MAX_BYTES", 8 << 20)
    pool = ScratchPool()
    for step in range(3):
        for kib in range(256, 2048, 128):  # many sizes, each dropped at once
            pool.take((kib * 256,), np.float32)
            assert pool.reserved_bytes <= ScratchPool.MAX_BYTES
    assert pool.in_use_bytes() == 0
    kept = pool.take((1 << 20,), np.float32)  # 4 MiB: reuses or evicts, never exceeds the bound
    assert pool.reserved_bytes <= ScratchPool.MAX_BYTES and pool.in_use_bytes() == kept.nbytes
    del kept
    assert pool.in_use_bytes() == 0


# --- a module's backward pre-hook under create_graph ----------------------------------------------

def test_backward_pre_hook_with_no_input_grad_leaves_no_cycle_under_create_graph():
    # The pre-hooks' grad_output was kept on the call's hooks although no inputs' node would
    # ever clear it; under create_graph it leads back to the outputs' node: a cycle.
    def run():
        ag.manual_seed(0)
        layer = nn.Linear(3, 2)
        seen = []
        layer.register_full_backward_pre_hook(lambda module, grad_output: seen.append(len(grad_output)))
        out = layer(ag.randn(4, 3))  # data: no input requires grad
        ag.grad((out ** 2).sum(), [layer.weight], create_graph=True)
        assert seen == [1]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_no_cycles(run, "a module's backward pre-hook under create_graph")


# --- modules that keep a tensor of their call, checkpoint's arguments, failures, training steps

class _KeepsItsLoss(nn.Module):
    """PyTorch's style-transfer tutorial's ContentLoss: forward keeps the loss it made."""

    def __init__(self, target):
        super().__init__()
        self.target = target

    def forward(self, x):
        self.loss = F.mse_loss(x, self.target)
        return x


def _model_keeping_a_loss():
    model = nn.Sequential(nn.Linear(3, 3), _KeepsItsLoss(ag.randn(2, 3)))
    model(ag.randn(2, 3))
    model[1].loss.backward()


def _forward_hook_keeping_the_output():
    layer = nn.Linear(3, 3)
    layer.register_forward_hook(lambda module, inputs, output: setattr(module, "last_output", output))
    layer(ag.randn(2, 3))


def _pruned_and_normed_layers_in_a_container():
    # the pre-hook sets layer.weight = mask * weight_orig inside the container's call
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3), weight_norm(nn.Linear(3, 3)),
                          spectral_norm(nn.Linear(3, 2)))
    prune.ln_structured(model[1], "weight", 0.5, n=2, dim=0)
    prune.global_unstructured([(model[0], "weight"), (model[1], "bias")], prune.L1Unstructured, amount=0.2)
    model(ag.randn(2, 3)).sum().backward()


@pytest.mark.filterwarnings("ignore:nn.utils.weight_norm is deprecated")
@pytest.mark.parametrize("run", [_model_keeping_a_loss, _forward_hook_keeping_the_output,
                                 _pruned_and_normed_layers_in_a_container], ids=lambda f: f.__name__.strip("_"))
def test_a_module_that_keeps_a_tensor_of_its_call_leaves_no_cycle(device, run):
    """Each node kept the stack of modules it was recorded in (for drawings and the
    profiler) as strong references, so a module keeping a tensor made in its call, or
    in a call of a module inside it, closed a cycle: module -> tensor -> node -> scope
    tuple -> module. The model, its parameters and the whole graph stayed until gc ran.
    PyTorch's nodes hold no modules; topograd's now hold them weakly."""
    assert_no_cycles(run, run.__name__)


def test_a_model_that_keeps_its_loss_is_freed_with_its_graph_by_reference_counting(device):
    gc.collect()
    gc.disable()
    try:
        model = nn.Sequential(nn.Linear(3, 3), _KeepsItsLoss(ag.randn(2, 3)))
        model(ag.randn(2, 3))
        refs = [weakref.ref(o) for o in (model, model[1].loss, model[1].loss.grad_fn, model[0].weight)]
        del model
        assert [r() for r in refs] == [None] * len(refs)
    finally:
        gc.enable()


class _Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = nn.Linear(3, 4)
        self.out = nn.Linear(4, 2)

    def forward(self, x):
        return self.out(self.inner(x).tanh())


def test_drawings_and_the_profiler_name_modules_while_they_live_and_skip_freed_ones(device):
    model = _Block()
    loss = model(ag.randn(2, 3)).sum()
    assert sorted(cluster_labels(ag.make_dot(loss).source)) == ["_Block", "inner (Linear)", "out (Linear)"]
    del model  # the graph lives on, its modules do not: drawn and profiled outside any module
    assert cluster_labels(ag.make_dot(loss).source) == []
    assert "(outside any module)" in ag.make_dot(loss, max_nodes=1).source
    with ag.profiler.profile() as prof:
        loss.backward()
    assert prof.events and {e.module for e in prof.events} == {None}


def test_checkpoint_frees_tensors_passed_inside_a_list_after_backward(device):
    """checkpoint kept its non-Tensor arguments (a list of tensors among them) on the
    node for the recomputation, and backward freed only the RNG states and the
    external tensors: a tensor in a list argument lived as long as the graph."""
    lin = nn.Linear(4, 4)
    x = ag.tensor(np.linspace(-1.0, 1.0, 12, dtype=np.float32).reshape(3, 4), requires_grad=True)

    def f(xs):
        return lin(xs[0]).tanh() * xs[1]

    gc.collect()
    gc.disable()
    try:
        doubled = x * 2
        kept = weakref.ref(doubled.data)
        loss = checkpoint(f, [x, doubled], use_reentrant=False).sum()
        del doubled
        loss.backward()
        assert kept() is None, "the list argument's tensor outlived backward"
    finally:
        gc.enable()
    w, b, xv = lin.weight.numpy(), lin.bias.numpy(), x.numpy()
    h = np.tanh(xv @ w.T + b)
    expected = ((1 - h ** 2) * 2 * xv) @ w + 2 * h
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_checkpoint_with_retain_graph_still_recomputes_for_the_second_backward(device):
    x = ag.tensor([0.5, -1.0, 2.0], dtype="float64", requires_grad=True)
    loss = checkpoint(lambda xs: (xs[0].exp() * xs[1]).sum(), [x, x * 3], use_reentrant=False)
    loss.backward(retain_graph=True)
    loss.backward()
    xv = x.numpy()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (np.exp(xv) * 3 * xv + 3 * np.exp(xv)))
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()


class _FailingBackward(ag.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.data * 1

    @staticmethod
    def backward(ctx, g):
        raise ValueError("backward fails")


def _failures_in_forward_and_backward():
    x = ag.randn(3, requires_grad=True)
    with pytest.raises(ValueError, match="backward fails"):
        (_FailingBackward.apply(x.exp()) * x).sum().backward()
    with pytest.raises(ValueError, match="backward fails"), ag.profiler.profile(), ag.detect_anomaly():
        ag.grad(_FailingBackward.apply(x.exp()).sum(), x, create_graph=True)
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    model[1].register_forward_pre_hook(lambda module, inputs: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        model(x.reshape(1, 3))
    calls = []

    def fails_when_recomputed(t):
        calls.append(1)
        if len(calls) > 1:
            raise KeyError("recomputation fails")
        return t.exp()

    y = checkpoint(fails_when_recomputed, x, use_reentrant=False).sum()
    with pytest.raises(KeyError, match="recomputation fails"):
        y.backward()


def test_a_failed_forward_or_backward_leaves_no_cycle_and_no_thread_state(device):
    assert_no_cycles(_failures_in_forward_and_backward, "failures in forward and backward")
    state = grad_mode.state
    assert (state.enabled, state.scope, state.retain_graph, function.observers) == (True, None, True, [])


def test_training_steps_do_not_grow_the_objects_the_collector_tracks(device):
    model = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.1), nn.Linear(8, 3))
    model[4].register_full_backward_hook(lambda module, grad_input, grad_output: None)
    model[0].register_forward_hook(lambda module, inputs, output: None)
    optimizer = nn.optim.AdamW(model.parameters(), lr=1e-2, amsgrad=True)
    scheduler = nn.optim.lr_scheduler.OneCycleLR(optimizer, 0.1, total_steps=100)
    x, target = ag.randn(10, 6), ag.tensor(np.arange(10) % 3)

    def step():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), target)
        loss.backward()
        optimizer.step()
        scheduler.step()

    for _ in range(5):  # optimizer state and lazily made caches first
        step()
    gc.collect()
    gc.disable()
    try:
        before = len(gc.get_objects())
        for _ in range(50):
            step()
        grown = len(gc.get_objects()) - before
    finally:
        gc.enable()
    assert grown < 25, f"50 training steps left {grown} more objects for the collector"
