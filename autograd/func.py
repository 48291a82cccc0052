"""PyTorch's ``torch.func`` function transforms as ``ag.func`` (without vmap): ``grad``,
``grad_and_value``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd`` and ``hessian``, built on
``ag.grad`` and ``ag.functional``.

A transform returns a new function. Its arguments may be Tensors or, for ``grad``,
``grad_and_value`` and ``vjp``, nested tuples, lists and dicts of them (a model's
parameters as a dict, for ``nn.utils.stateless.functional_call``); results come back in
the same structure, with zeros for an input the output does not depend on. Transforms
compose: ``grad(grad(f))`` is the second derivative, since a transform called inside
another records its backward pass (as does one given tensors that require grad, so that
ordinary ``backward`` can go through its results); an outermost one returns tensors
outside any graph.
"""
import functools
import threading

from . import functional
from .engine import grad as _autograd_grad
from .grad_mode import enable_grad, is_grad_enabled
from .creation import zeros_like
from .tensor import Tensor

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian"]

_levels = threading.local()  # how many transforms are running in this thread


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
        return _joined(parts, lambda items: type(tree)(items))
    if isinstance(tree, dict):
        keys = list(tree)
        parts = [_flatten(tree[k], caller, what) for k in keys]
        return _joined(parts, lambda items: dict(zip(keys, items)))
    raise TypeError(f"{caller}: {what} must be Tensors, or tuples, lists or dicts of them; found "
                    f"{type(tree).__name__}")


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


def _records(trees, level):
    """Whether this transform records its backward pass: inside another one, or when
    ordinary autograd may go through its results (grad mode is on where the transform
    was called, and a given tensor requires grad)."""
    if level.nested:
        return True
    return level.grad_enabled and any(t.requires_grad for tree in trees for t in _flatten(tree, "", "")[0])


def _differentiable(leaves, create_graph):
    """Fresh tensors to differentiate with respect to, tied to the given ones' graph when
    recording (as ag.functional's)."""
    return [t.reshape(t.shape) if create_graph and t.requires_grad else t.detach().requires_grad_()
            for t in leaves]


def _gradients(output, wrt, create_graph, grad_outputs=None):
    grads = _autograd_grad(output, wrt, grad_outputs=grad_outputs, retain_graph=True,
                           create_graph=create_graph, allow_unused=True)
    grads = [zeros_like(t) if g is None else g for g, t in zip(grads, wrt)]
    return grads if create_graph else [g.detach() for g in grads]


def _scalar_output(output, caller):
    if not isinstance(output, Tensor):
        raise TypeError(f"{caller}: the function must return a Tensor (with has_aux=True, a pair (Tensor, aux)); "
                        f"got {type(output).__name__}")
    if output.size != 1:
        raise ValueError(f"{caller}: the function must return a Tensor of one element, got shape {output.shape}; "
                         "use vjp or jacrev for other outputs")
    return output


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
    @functools.wraps(func)
    def transformed(*args, **kwargs):
        positions, as_tuple = _argnums(argnums, len(args), "grad")
        args = list(args)
        with _Level() as level, enable_grad():
            create_graph = _records([args[p] for p in positions], level)
            structures = []
            wrt = []
            for p in positions:
                leaves, unflatten = _flatten(args[p], "grad", "the arguments at argnums")
                fresh = _differentiable(leaves, create_graph)
                args[p] = unflatten(fresh)
                structures.append((unflatten, len(fresh)))
                wrt.extend(fresh)
            output, aux = _split_aux(func(*args, **kwargs), has_aux, "grad")
            _scalar_output(output, "grad")
            grads = _gradients(output, wrt, create_graph)
        results, start = [], 0
        for unflatten, n in structures:
            results.append(unflatten(grads[start:start + n]))
            start += n
        gradient = tuple(results) if as_tuple else results[0]
        value = output if create_graph else output.detach()
        return (gradient, (value, aux)) if has_aux else (gradient, value)
    return transformed


def grad(func, argnums=0, has_aux=False):
    """A function that returns the gradient of ``func``'s one-element output with respect to
    the arguments at ``argnums`` (an int, or a tuple for a tuple of gradients), each in its
    argument's structure; with has_aux, ``(gradient, aux)``."""
    both = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def transformed(*args, **kwargs):
        gradient, value = both(*args, **kwargs)
        return (gradient, value[1]) if has_aux else gradient
    return transformed


def vjp(func, *primals, has_aux=False):
    """``(func(*primals), vjp_fn)``: ``vjp_fn(cotangents)``, cotangents in the output's
    structure, returns a tuple with one vector-Jacobian product per primal, each in its
    structure (with has_aux, ``(output, vjp_fn, aux)``). vjp_fn may be called again."""
    with _Level() as level, enable_grad():
        create_graph = _records(primals, level)
        flat = [_flatten(p, "vjp", "the primals") for p in primals]
        fresh = [_differentiable(leaves, create_graph) for leaves, _ in flat]
        output, aux = _split_aux(func(*(unflatten(f) for (_, unflatten), f in zip(flat, fresh))), has_aux, "vjp")
        outputs, _ = _flatten(output, "vjp", "the function's outputs")

    def vjp_fn(cotangents):
        given, _ = _flatten(cotangents, "vjp_fn", "cotangents")
        if len(given) != len(outputs) or any(c.shape != o.shape for c, o in zip(given, outputs)):
            raise ValueError(f"vjp_fn: cotangents must have the output's structure and shapes "
                             f"{[o.shape for o in outputs]}, got {[c.shape for c in given]}")
        with enable_grad():
            wrt = [t for f in fresh for t in f]
            grads = _gradients(outputs, wrt, create_graph, grad_outputs=given)
        results, start = [], 0
        for (_, unflatten), f in zip(flat, fresh):
            results.append(unflatten(grads[start:start + len(f)]))
            start += len(f)
        return tuple(results)

    shown = output if create_graph else _detach_tree(output)
    return (shown, vjp_fn, aux) if has_aux else (shown, vjp_fn)


def _detach_tree(tree):
    leaves, unflatten = _flatten(tree, "vjp", "the function's outputs")
    return unflatten([t.detach() for t in leaves])


def jvp(func, primals, tangents):
    """``(func(*primals), J @ tangents)``, primals and tangents tuples of Tensors (by the
    double-backward trick, as ``ag.functional.jvp``)."""
    if not isinstance(primals, tuple) or not isinstance(tangents, tuple):
        raise TypeError("jvp: primals and tangents must be tuples of Tensors (a one-element tuple for one)")
    with _Level() as level:
        create_graph = _records(primals, level)
        output, product = functional.jvp(func, primals, tangents, create_graph=create_graph)
    return output, product


def _jacobian(strategy, caller):
    def transform(func, argnums=0):
        @functools.wraps(func)
        def transformed(*args):
            positions, as_tuple = _argnums(argnums, len(args), caller)
            for p in positions:
                if not isinstance(args[p], Tensor):
                    raise TypeError(f"{caller}: the arguments at argnums must be Tensors, got "
                                    f"{type(args[p]).__name__}")

            def of_selected(*selected):
                merged = list(args)
                for p, t in zip(positions, selected):
                    merged[p] = t
                return func(*merged)

            with _Level() as level:
                create_graph = _records([args[p] for p in positions], level)
                return functional.jacobian(of_selected, tuple(args[p] for p in positions) if as_tuple
                                           else args[positions[0]], create_graph=create_graph, strategy=strategy)
        return transformed
    return transform


jacrev = _jacobian("reverse-mode", "jacrev")
jacrev.__doc__ = """A function that returns the Jacobian of ``func`` with respect to the arguments
at ``argnums``, one backward pass per output element: shape output.shape + input.shape
(a tuple over the arguments for a tuple argnums)."""
jacrev.__name__ = "jacrev"
jacfwd = _jacobian("forward-mode", "jacfwd")
jacfwd.__doc__ = """``jacrev``'s Jacobian, a column per input element (by the double-backward
trick: topograd has no forward-mode AD), the better choice for more outputs than inputs."""
jacfwd.__name__ = "jacfwd"


def hessian(func, argnums=0):
    """A function that returns the Hessian of ``func``'s one-element output with respect to
    the argument at ``argnums``: shape output.shape + input.shape + input.shape."""
    return jacrev(jacrev(func, argnums), argnums)
