"""AdaptiveLogSoftmaxWithLoss: the adaptive softmax of Grave et al. (2016) for many
classes, with PyTorch's arguments, submodules (``head``, ``tail.i.0``, ``tail.i.1``,
so state_dict keys match), initialization and methods.

Classes below ``cutoffs[0]`` (the shortlist) are scored by the head, which also has
one logit per tail cluster; a class in cluster i scores head's log-probability of
cluster i plus its log-probability within the cluster, from a two-layer bottleneck
whose width shrinks by ``div_value`` per cluster. Everything is composed of Linear,
log_softmax and indexing, so the gradients come from those ops.

forward groups the rows by cluster with one stable sort of the cluster ids: each
cluster's rows are gathered once and run through its tail only, and one gather puts
the per-row tail terms back in batch order."""
import numbers
from collections import namedtuple

from autograd import no_grad
from autograd.ops.elementwise import constant
from autograd.ops.gather import take_along_axis
from autograd.ops.indexing import getitem
from autograd.ops.reduction import argmax, mean
from autograd.ops.shape import concat, reshape
from backends import dtypes

from ..functional.activation import log_softmax
from ..functional.arguments import floating, kind, real, require_tensor
from ..module import Module
from .arguments import positive_int
from .container import ModuleList, Sequential
from .linear import Linear

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])

_NAME = "AdaptiveLogSoftmaxWithLoss"


def _checked_cutoffs(cutoffs, n_classes):
    """``cutoffs`` as a list of ints, or the error PyTorch raises (with the offending value)."""
    try:
        cutoffs = list(cutoffs)
    except TypeError:
        raise TypeError(f"{_NAME}: cutoffs must be a sequence of ints, not {type(cutoffs).__name__}") from None
    if not cutoffs:
        raise ValueError(f"{_NAME}: cutoffs should be a sequence of length larger than 0")
    rule = ("cutoffs should be a sequence of unique, positive integers sorted in an increasing order, where "
            f"each value is between 1 and n_classes-1 = {n_classes - 1}")
    for c in cutoffs:
        if isinstance(c, bool) or not isinstance(c, numbers.Real):
            raise TypeError(f"{_NAME}: cutoffs must hold ints, got {c!r} of type {type(c).__name__}")
        if not isinstance(c, numbers.Integral):
            raise ValueError(f"{_NAME}: {rule}; {c!r} is not an int")
    cutoffs = [int(c) for c in cutoffs]
    for c in cutoffs:
        if not 1 <= c <= n_classes - 1:
            raise ValueError(f"{_NAME}: {rule}; got {c}")
    for a, b in zip(cutoffs, cutoffs[1:]):
        if a >= b:
            raise ValueError(f"{_NAME}: {rule}; got {a} before {b} in {cutoffs}")
    return cutoffs


class AdaptiveLogSoftmaxWithLoss(Module):
    """``forward(input, target)`` returns the named tuple ``(output, loss)``: each row's
    log-probability of its target class (shape (N,), or () for a 1-D input and a 0-d
    target) and the mean negative log-likelihood. ``log_prob(input)`` gives every
    class's log-probability (N, n_classes); ``predict(input)`` the likeliest class."""

    def __init__(self, in_features, n_classes, cutoffs, div_value=4.0, head_bias=False, device=None, dtype=None):
        super().__init__()
        in_features = positive_int(_NAME, "in_features", in_features)
        n_classes = positive_int(_NAME, "n_classes", n_classes)
        cutoffs = _checked_cutoffs(cutoffs, n_classes)
        if not real(div_value):
            raise TypeError(f"{_NAME}: div_value must be a real number, not {div_value!r}")
        if not div_value > 0:
            raise ValueError(f"{_NAME}: div_value must be positive, got {div_value!r}")
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, device=device, dtype=dtype)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            # PyTorch's width: floor division, then int (div_value may be a float)
            hidden = int(in_features // (div_value ** (i + 1)))
            size = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(in_features, hidden, bias=False, device=device, dtype=dtype),
                                        Linear(hidden, size, bias=False, device=device, dtype=dtype)))

    def reset_parameters(self):
        self.head.reset_parameters()
        for to_hidden, to_classes in self.tail:
            to_hidden.reset_parameters()
            to_classes.reset_parameters()

    def forward(self, input, target):
        floating(_NAME, input)
        require_tensor(_NAME, target, "target")
        if kind(target) not in "iu":
            raise TypeError(f"{_NAME}: target must hold integer class indices, not {target.dtype}")
        if target._backend is not input._backend:
            raise ValueError(f"{_NAME}: the target is on {target.device} but the input is on {input.device}; "
                             "move one with .to(device)")
        if target.ndim == 1:
            if input.ndim != 2 or input.shape[0] != target.shape[0]:
                raise ValueError(f"{_NAME}: a 1-D target of shape {target.shape} needs a 2-D input of shape "
                                 f"({target.shape[0]}, {self.in_features}), got {input.shape}")
        elif target.ndim == 0:
            if input.ndim != 1:
                raise ValueError(f"{_NAME}: a 0-d target needs a 1-D input of shape ({self.in_features},), "
                                 f"got {input.shape}")
        else:
            raise ValueError(f"{_NAME}: expected a 0-d or 1-D target (one class per row), got shape "
                             f"{target.shape}; multi-target is not supported")
        self._check_features(input)
        batched = target.ndim == 1
        if not batched:
            input, target = reshape(input, (1, -1)), reshape(target, (1,))
        if target.dtype != dtypes.int64:
            target = target.astype(dtypes.int64)
        t = target.data
        self._check_targets(target, t)

        head_logprob = log_softmax(self.head(input), axis=1)
        cluster, order, bounds, inverse = self._groups(target._backend, t)
        xp = target._backend.xp
        # the head's column for each row: its class in the shortlist, else its cluster's logit
        column = xp.where(cluster == 0, t, self.shortlist_size - 1 + cluster)
        output = take_along_axis(head_logprob, constant(column[:, None], input), axis=1)[:, 0]
        tail_terms = [constant(xp.zeros((bounds[1],), dtype=input.data.dtype), input)]
        for i in range(1, self.n_clusters + 1):
            if bounds[i + 1] == bounds[i]:
                continue  # no row in this cluster: its tail is not run, and gets no gradient (as PyTorch)
            rows = order[bounds[i]:bounds[i + 1]]
            cluster_logprob = log_softmax(self.tail[i - 1](getitem(input, constant(rows, input))), axis=1)
            place = constant((xp.take(t, rows) - self.cutoffs[i - 1])[:, None], input)  # class within the cluster
            tail_terms.append(take_along_axis(cluster_logprob, place, axis=1)[:, 0])
        if len(tail_terms) > 1:  # rows sorted by cluster; the inverse permutation puts them back in batch order
            output = output + getitem(concat(tail_terms), constant(inverse, input))
        loss = mean(-output)
        if not batched:
            output = reshape(output, ())
        return _ASMoutput(output, loss)

    def log_prob(self, input):
        """Every class's log-probability, shape (N, n_classes), for an input (N, in_features)."""
        self._check_batch("log_prob", input)
        return self._full_log_prob(input, self.head(input))

    def predict(self, input):
        """The likeliest class of each row (int64, shape (N,)), as ``log_prob(input).argmax(1)``
        but scoring the tail only for rows whose best head logit is a cluster's."""
        self._check_batch("predict", input)
        with no_grad():
            head_output = self.head(input)
            best = argmax(head_output, axis=1).data
            xp = input._backend.xp
            outside = best >= self.shortlist_size
            if not bool(xp.any(outside)):
                return constant(best, input)
            rows = constant(xp.nonzero(outside)[0], input)
            full = self._full_log_prob(getitem(input, rows), getitem(head_output, rows))
            best = xp.asarray(best, copy=True)
            input._backend.put_(best, (rows.data,), argmax(full, axis=1).data)
            return constant(best, input)

    def _full_log_prob(self, input, head_output):
        head_logprob = log_softmax(head_output, axis=1)
        parts = [head_logprob[:, :self.shortlist_size]]
        for i, to_cluster in enumerate(self.tail):
            column = self.shortlist_size + i
            parts.append(log_softmax(to_cluster(input), axis=1) + head_logprob[:, column:column + 1])
        return concat(parts, axis=1)

    def _groups(self, backend, t):
        """Each row's cluster (0 for the shortlist), the rows in cluster order (stable, so
        batch order within a cluster), where each cluster's run starts and ends (a list
        of n_clusters + 2 ints) and the inverse of that order."""
        xp, int64 = backend.xp, dtypes.int64
        cutoffs = backend.asarray(self.cutoffs, int64)
        cluster = xp.astype(xp.searchsorted(cutoffs, t, side="right"), backend.native_dtype(int64))
        order = backend.argsort(cluster, 0, False, True)
        starts = xp.searchsorted(xp.take(cluster, order), backend.asarray(range(self.n_clusters + 2), int64))
        bounds = [int(b) for b in backend.to_numpy(starts)]
        inverse = xp.empty_like(order)
        backend.put_(inverse, (order,), backend.asarray(range(order.shape[0]), int64))
        return cluster, order, bounds, inverse

    def _check_targets(self, target, t):
        if t.shape[0] == 0:
            return
        xp = target._backend.xp
        low, high = target._backend.read_ints(xp.min(t), xp.max(t))  # (one wait on a GPU)
        if low < 0 or high >= self.n_classes:
            raise ValueError(f"{_NAME}: target values should be in [0, {self.n_classes - 1}], but values in "
                             f"range [{low}, {high}] were found")

    def _check_features(self, input):
        if input.shape[-1] != self.in_features:
            raise ValueError(f"{_NAME}: the input has {input.shape[-1]} features (shape {input.shape}) but the "
                             f"layer expects in_features={self.in_features}")

    def _check_batch(self, method, input):
        floating(f"{_NAME}.{method}", input)
        if input.ndim != 2:
            raise ValueError(f"{_NAME}.{method}: expected an input of shape (N, {self.in_features}), got "
                             f"{input.shape}")
        self._check_features(input)
