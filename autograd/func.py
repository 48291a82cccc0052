"""PyTorch's ``torch.func`` function transforms as ``ag.func`` (without vmap): ``grad``,
``grad_and_value``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd`` and ``hessian``, built on
``ag.grad`` and ``ag.functional``.

A transform returns a new function. Its arguments and outputs may be Tensors or nested
tuples, lists and dicts of them (a model's parameters as a dict, for
``nn.utils.stateless.functional_call``); results come back in the same structure, with
zeros for an input the output does not depend on (an output outside the graph included).
Transforms compose: ``grad(grad(f))`` is the second derivative, since a transform called
inside another records its backward pass. So does one whose results ordinary ``backward``
may go through, as torch.func's: in grad mode, given tensors that require grad, or running
``func`` on tensors it captured that do (a model's parameters in a gradient penalty).
Otherwise its results, aux included, are outside any graph.
"""
import functools
import numbers
import threading
import weakref

# ShapeError for a tangent, cotangent or output that does not fit: a ValueError that is
# also the RuntimeError torch.func raises there.
from .functional import (ShapeError, _backward_with_seeds, _detached, _grad, _gradient_by_seed,
                         _jacobian_of_outputs)
from .grad_mode import enable_grad, is_grad_enabled
from .creation import zeros_like
from .tensor import Tensor
from backends import dtypes

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian"]

_levels = threading.local()  # how many transforms are running in this thread
# The leaves transforms differentiate with respect to: never a tensor that func captured,
# even once a nested transform's recorded gradient carries one out to an outer transform.
_own_leaves = weakref.WeakValueDictionary()  # by id: Tensor's == is elementwise


def _depth():
    return getattr(_levels, "depth", 0)


class _Level:
    """One transform running: inside it, another records its backward pass."""

    def __enter__(self):
        self.nested = _depth() > 0
        self.grad_enabled = is_grad_enabled()
        _levels.depth = _depth() + 1
        return self

    def __exit__(self, *exc):
        _levels.depth -= 1
        return False


# --- pytrees: Tensors in nested tuples, lists and dicts --------------------------------

def _flatten(tree, caller, what):
    """(the tree's Tensors in order, a function that builds the same tree from new leaves)."""
    if isinstance(tree, Tensor):
        return [tree], lambda leaves: leaves[0]
    if isinstance(tree, (tuple, list)):
        parts = [_flatten(item, caller, what) for item in tree]
        return _joined(parts, lambda items: _same_sequence(tree, items))
    if isinstance(tree, dict):
        keys = list(tree)
        parts = [_flatten(tree[k], caller, what) for k in keys]
        return _joined(parts, lambda items: dict(zip(keys, items)))
    raise TypeError(f"{caller}: {what} must be Tensors, or tuples, lists or dicts of them; found "
                    f"{type(tree).__name__}")


def _same_sequence(like, items):
    """A tuple, list or namedtuple of ``like``'s type holding ``items``."""
    return type(like)(*items) if hasattr(like, "_fields") else type(like)(items)


def _without_graph(tree):
    """The tree with its Tensors detached and anything else (in aux) kept."""
    if isinstance(tree, Tensor):
        return tree.detach()
    if isinstance(tree, (tuple, list)):
        return _same_sequence(tree, [_without_graph(item) for item in tree])
    if isinstance(tree, dict):
        return {k: _without_graph(v) for k, v in tree.items()}
    return tree


def _joined(parts, build):
    leaves = [leaf for part, _ in parts for leaf in part]
    sizes = [len(part) for part, _ in parts]

    def unflatten(new_leaves):
        items, start = [], 0
        for (_, rebuild), size in zip(parts, sizes):
            items.append(rebuild(new_leaves[start:start + size]))
            start += size
        return build(items)
    return leaves, unflatten


def _regrouped(flat, trees):
    """``flat`` (results for the trees' leaves, in order) rebuilt as one tree per tree."""
    results, start = [], 0
    for leaves, unflatten in trees:
        results.append(unflatten(flat[start:start + len(leaves)]))
        start += len(leaves)
    return results


def _structure(tree):
    """A comparable description of a tree's containers (its leaves all read "Tensor")."""
    if isinstance(tree, (tuple, list)):
        return type(tree).__name__, tuple(_structure(item) for item in tree)
    if isinstance(tree, dict):
        return "dict", tuple((k, _structure(v)) for k, v in tree.items())
    # (a Parameter too: a model's parameters as primals take tangents made by ones_like)
    return "Tensor" if isinstance(tree, Tensor) else type(tree).__name__


def _differentiable_arguments(args, positions, trees, create_graph):
    """Put fresh leaves to differentiate with respect to into ``args`` (a list) at
    ``positions``; return them, flat."""
    wrt = []
    for p, (leaves, unflatten) in zip(positions, trees):
        fresh = _differentiable(leaves, create_graph)
        args[p] = unflatten(fresh)
        wrt.extend(fresh)
    return wrt


class _Call:
    """``func`` called on fresh leaves in place of the Tensors of the arguments at
    ``argnums`` (inside a running transform's level): ``output`` and ``aux``; ``trees``, the
    flattened arguments at argnums; ``wrt``, their fresh leaves in order; ``as_tuple``,
    whether argnums was a tuple; ``create_graph``, whether the backward pass is recorded, as
    far as is known before ``func`` ran."""

    def __init__(self, func, args, kwargs, argnums, has_aux, caller, level):
        positions, self.as_tuple = _argnums(argnums, len(args), caller)
        args = list(args)
        self.trees = [_flatten(args[p], caller, "the arguments at argnums") for p in positions]
        self.create_graph = _records([t for leaves, _ in self.trees for t in leaves], level)
        self.wrt = _differentiable_arguments(args, positions, self.trees, self.create_graph)
        self.output, self.aux = _split_aux(func(*args, **kwargs), has_aux, caller)


def _function(func, caller, usage="{}(f)(x)"):
    """Refuse a ``func`` that cannot be called when the transform is made: ``grad(f(x))``,
    the function's result given for the function, fails there rather than at the call."""
    if not callable(func):
        raise TypeError(f"{caller}: expected the function to transform, got {type(func).__name__}; pass the function "
                        f"itself, as in {usage.format(caller)}, not its result")
    return func


def _argnums(argnums, n_args, caller):
    """``argnums`` as a tuple of positions, and whether the results are a tuple."""
    as_tuple = isinstance(argnums, tuple)
    positions = argnums if as_tuple else (argnums,)
    if not positions or not all(isinstance(p, int) and not isinstance(p, bool) for p in positions):
        raise TypeError(f"{caller}: argnums must be an int or a non-empty tuple of ints, got {argnums!r}")
    checked = []
    for p in positions:
        if not -n_args <= p < n_args:
            raise ValueError(f"{caller}: argnums {p} is out of range for a function called with {n_args} "
                             "positional arguments")
        checked.append(p % n_args)
    if len(set(checked)) != len(checked):
        raise ValueError(f"{caller}: argnums {argnums!r} names an argument twice")
    return tuple(checked), as_tuple


def _records(given, level):
    """Whether this transform records its backward pass, as far as is known before ``func``
    runs: inside another one, or when ordinary autograd may go through its results (grad
    mode is on where the transform was called, and a given tensor requires grad)."""
    return level.nested or level.grad_enabled and any(t.requires_grad for t in given)


def _records_after(outputs, level):
    """Whether ordinary autograd may go through the results because ``func`` used tensors
    it captured that require grad: in grad mode, the outputs' graph reaches a leaf that no
    transform made. A walk without recursion."""
    if not level.grad_enabled:
        return False
    stack = [t if t.grad_fn is None else t.grad_fn for t in outputs if t.requires_grad]
    seen = set()
    while stack:
        item = stack.pop()
        if isinstance(item, Tensor):  # a leaf that requires grad
            if _own_leaves.get(id(item)) is not item:
                return True
        elif item not in seen:
            seen.add(item)
            stack.extend(p for p in item.producer_tuple() if p is not None)
    return False


def _differentiable(leaves, create_graph):
    """Fresh tensors to differentiate with respect to, tied to the given ones' graph when
    recording (as ag.functional's)."""
    fresh = [t.reshape(t.shape) if create_graph and t.requires_grad else t.detach().requires_grad_()
             for t in leaves]
    _own_leaves.update((id(t), t) for t in fresh if t.grad_fn is None)
    return fresh


def _gradients(outputs, wrt, create_graph, grad_outputs=None):
    """The outputs' gradients with respect to ``wrt``: zeros where none reaches, as
    torch.func's (an output outside the graph, such as a constant or one computed under
    no_grad, contributes nothing)."""
    grads = _grad(outputs, wrt, grad_outputs, create_graph=create_graph, retain_graph=True)
    grads = [zeros_like(t) if g is None else g for g, t in zip(grads, wrt)]
    return grads if create_graph else [g.detach() for g in grads]


def _scalar_output(output, caller):
    if not isinstance(output, Tensor):
        raise TypeError(f"{caller}: the function must return a Tensor (with has_aux=True, a pair (Tensor, aux)); "
                        f"got {type(output).__name__}")
    if output.size != 1:
        raise ShapeError(f"{caller}: the function must return a Tensor of one element, got shape {output.shape}; "
                         "use vjp or jacrev for other outputs")
    return output


class OutputDtypeError(TypeError, RuntimeError):
    """An output that reverse mode cannot differentiate (bool, integer): a TypeError that is
    also the RuntimeError torch.func raises there, so either catch works."""


def _floating_outputs(outputs, caller):
    """Refuse an output that is not floating point, as torch.func's vjp and jacrev do: its
    gradient is no derivative (a comparison's is zero almost everywhere, and undefined
    where it flips), so zeros would hide a mistake."""
    for out in outputs:
        if not dtypes.is_floating(out.dtype):
            raise OutputDtypeError(f"{caller}: every output of the function must be floating point to be "
                                   f"differentiated, got one of dtype {out.dtype}; return it as a float tensor "
                                   "(y.astype(ag.float32)), or, with has_aux=True, as part of aux")


def _split_aux(result, has_aux, caller):
    if not has_aux:
        return result, None
    if not (isinstance(result, tuple) and len(result) == 2):
        raise TypeError(f"{caller}: with has_aux=True the function must return a pair (output, aux)")
    return result


# --- the transforms ----------------------------------------------------------------------

def grad_and_value(func, argnums=0, has_aux=False):
    """A function that returns ``(gradient, value)`` of ``func``'s one-element output with
    respect to the arguments at ``argnums`` (``((gradient), (value, aux))`` with has_aux)."""
    return _grad_and_value(func, argnums, has_aux, "grad_and_value")


def _grad_and_value(func, argnums, has_aux, caller):
    """grad_and_value, its errors naming ``caller`` (the transform the user called)."""
    @functools.wraps(_function(func, caller))
    def transformed(*args, **kwargs):
        with _Level() as level, enable_grad():
            call = _Call(func, args, kwargs, argnums, has_aux, caller, level)
            output, aux = call.output, call.aux
            _scalar_output(output, caller)
            create_graph = call.create_graph or _records_after((output,), level)
            grads = _gradients((output,), call.wrt, create_graph)
        results = _regrouped(grads, call.trees)
        gradient = tuple(results) if call.as_tuple else results[0]
        if not create_graph:
            output, aux = output.detach(), _without_graph(aux)
        return (gradient, (output, aux)) if has_aux else (gradient, output)
    return transformed


def grad(func, argnums=0, has_aux=False):
    """A function that returns the gradient of ``func``'s one-element output with respect to
    the arguments at ``argnums`` (an int, or a tuple for a tuple of gradients), each in its
    argument's structure; with has_aux, ``(gradient, aux)``."""
    both = _grad_and_value(func, argnums, has_aux, "grad")

    @functools.wraps(func)
    def transformed(*args, **kwargs):
        gradient, value = both(*args, **kwargs)
        return (gradient, value[1]) if has_aux else gradient
    return transformed


def vjp(func, *primals, has_aux=False):
    """``(func(*primals), vjp_fn)``: ``vjp_fn(cotangents)``, cotangents in the output's
    structure, returns a tuple with one vector-Jacobian product per primal, each in its
    structure (with has_aux, ``(output, vjp_fn, aux)``). vjp_fn may be called again."""
    _function(func, "vjp", "vjp(f, x)")
    flat = [_flatten(p, "vjp", "the primals") for p in primals]
    with _Level() as level, enable_grad():
        create_graph = _records([t for leaves, _ in flat for t in leaves], level)
        fresh = [_differentiable(leaves, create_graph) for leaves, _ in flat]
        output, aux = _split_aux(func(*(unflatten(f) for (_, unflatten), f in zip(flat, fresh))), has_aux, "vjp")
        outputs, _ = _flatten(output, "vjp", "the function's outputs")
        _floating_outputs(outputs, "vjp")
        create_graph = create_graph or _records_after(outputs, level)

    def vjp_fn(cotangents):
        given, _ = _flatten(cotangents, "vjp_fn", "cotangents")
        # (the structure too: dicts with their keys in another order would pair by position)
        if (_structure(cotangents) != _structure(output) or len(given) != len(outputs)
                or any(c.shape != o.shape for c, o in zip(given, outputs))):
            raise ShapeError(f"vjp_fn: cotangents must have the output's structure and shapes: "
                             f"{_structure(output)} of {[o.shape for o in outputs]}, got "
                             f"{_structure(cotangents)} of {[c.shape for c in given]}")
        # Recorded also where a cotangent requires grad (the products are linear in them: a
        # jacrev of vjp_fn, the double-vjp trick)
        records = create_graph or is_grad_enabled() and any(c.requires_grad for c in given)
        with enable_grad():
            wrt = [t for f in fresh for t in f]
            grads = _gradients(outputs, wrt, records, grad_outputs=given)
        return tuple(_regrouped(grads, [(f, unflatten) for (_, unflatten), f in zip(flat, fresh)]))

    if not create_graph:
        output, aux = _without_graph(output), _without_graph(aux)
    return (output, vjp_fn, aux) if has_aux else (output, vjp_fn)


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """``(func(*primals), J @ tangents)``: primals a tuple of Tensors or of nested tuples,
    lists and dicts of them, tangents of the same structure and shapes; the product comes
    back in the output's structure (by the double-backward trick, as
    ``ag.functional.jvp``). With has_aux, ``(output, product, aux)``; with strict, an
    output independent of the primals raises instead of giving zeros."""
    _function(func, "jvp", "jvp(f, (x,), (v,))")
    if not isinstance(primals, tuple) or not isinstance(tangents, tuple):
        raise TypeError("jvp: primals and tangents must be tuples of Tensors (a one-element tuple for one)")
    flat_primals, rebuild_primals = _flatten(primals, "jvp", "primals")
    flat_tangents, _ = _flatten(tangents, "jvp", "tangents")
    if _structure(primals) != _structure(tangents):
        raise ShapeError(f"jvp: tangents must have the primals' structure; got primals {_structure(primals)} and "
                         f"tangents {_structure(tangents)}")
    if not flat_primals:
        raise ShapeError("jvp: primals hold no Tensor, so there is nothing to differentiate with respect to")
    for i, (p, t) in enumerate(zip(flat_primals, flat_tangents)):
        if p.shape != t.shape:
            raise ShapeError(f"jvp: tangent {i} has shape {t.shape}, but its primal has shape {p.shape}")
    with _Level() as level, enable_grad():
        create_graph = _records(flat_primals + flat_tangents, level)  # J @ tangents is linear in tangents too
        fresh = _differentiable(flat_primals, create_graph)
        output, aux = _split_aux(func(*rebuild_primals(fresh)), has_aux, "jvp")
        outputs, rebuild_output = _flatten(output, "jvp", "the function's outputs")
        if not outputs:
            raise ShapeError("jvp: the function returned no Tensor, so it has no derivative")
        create_graph = create_graph or _records_after(outputs, level)
        seeds, grad_inputs = _backward_with_seeds(outputs, fresh)
        products = _gradient_by_seed(grad_inputs, seeds, flat_tangents, create_graph)
    if strict and any(p is None for p in products):
        raise RuntimeError("jvp(strict=True): an output of the function is independent of the primals; pass "
                           "strict=False to get zeros for it")
    products = [zeros_like(o) if p is None else p for p, o in zip(products, outputs)]
    if not create_graph:
        outputs, products, aux = [o.detach() for o in outputs], [p.detach() for p in products], _without_graph(aux)
    results = rebuild_output(outputs), rebuild_output(products)
    return results + (aux,) if has_aux else results


def _jacobian(strategy, caller):
    # (jacfwd, as PyTorch's, gives zeros of the output's dtype for an output that is not
    # floating point: a tangent, unlike a cotangent, is seeded in the inputs)
    reverse = strategy == "reverse-mode"

    def transform(func, argnums=0, has_aux=False):
        @functools.wraps(_function(func, caller))
        def transformed(*args, **kwargs):
            with _Level() as level, enable_grad():
                call = _Call(func, args, kwargs, argnums, has_aux, caller, level)
                aux = call.aux
                outputs, rebuild_output = _flatten(call.output, caller, "the function's outputs")
                if not outputs:
                    raise ShapeError(f"{caller}: the function returned no Tensor, so it has no Jacobian")
                if reverse:
                    _floating_outputs(outputs, caller)
                create_graph = call.create_graph or _records_after(outputs, level)
                blocks = _jacobian_of_outputs(outputs, call.wrt, create_graph, False, strategy)
            if not create_graph:
                blocks, aux = _detached(blocks, False), _without_graph(aux)
            per_output = []
            for row in blocks:  # row i: output i's blocks, one per leaf of the arguments at argnums
                per_argument = _regrouped(row, call.trees)
                per_output.append(tuple(per_argument) if call.as_tuple else per_argument[0])
            jacobian = rebuild_output(per_output)
            return (jacobian, aux) if has_aux else jacobian
        return transformed
    return transform


_jacobian_by_rows = _jacobian("reverse-mode", "jacrev")
_jacobian_by_columns = _jacobian("forward-mode", "jacfwd")
_RANDOMNESS = ("error", "different", "same")


def jacrev(func, argnums=0, has_aux=False, *, chunk_size=None):
    """A function that returns the Jacobian of ``func`` with respect to the arguments at
    ``argnums``, one backward pass per output element. Arguments and outputs may be Tensors
    or nested tuples, lists and dicts of them: the result has the output's structure, each
    Tensor replaced by the argument's structure (a tuple over the arguments for a tuple
    argnums) of blocks of shape output.shape + input.shape. With has_aux, ``(jacobian, aux)``.
    ``chunk_size`` (None or a positive int) is checked as PyTorch's and changes nothing: it
    caps how many rows vmap computes at once there, and here rows are one at a time."""
    if chunk_size is not None:
        if not isinstance(chunk_size, numbers.Integral) or isinstance(chunk_size, bool):
            raise TypeError(f"jacrev: chunk_size must be None or a positive int, got {type(chunk_size).__name__}")
        if chunk_size <= 0:
            raise ValueError(f"jacrev: chunk_size must be None or a positive int, got {chunk_size}")
    return _jacobian_by_rows(func, argnums, has_aux)


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """``jacrev``'s Jacobian, a column per input element (by the double-backward trick:
    topograd has no forward-mode AD), the better choice for more outputs than inputs.
    ``randomness`` is one of PyTorch's "error", "different" and "same"; ``func`` runs once,
    so its random draws are shared by all columns, as with "same", whichever is given."""
    if randomness not in _RANDOMNESS:
        raise ValueError(f"jacfwd: randomness must be 'error', 'different' or 'same', got {randomness!r}")
    return _jacobian_by_columns(func, argnums, has_aux)


def hessian(func, argnums=0):
    """A function that returns the Hessian of ``func``'s one-element output with respect to
    the argument at ``argnums``: shape output.shape + input.shape + input.shape."""
    return jacrev(jacrev(_function(func, "hessian"), argnums), argnums)
