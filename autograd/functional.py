"""PyTorch's ``torch.autograd.functional`` as ``ag.functional``: vjp, jvp, jacobian,
hessian, vhp and hvp of a function of tensors, with PyTorch's signatures, results and
``strict`` checks, built on ``ag.grad``.

``inputs`` is a Tensor or a tuple of Tensors and ``func`` returns a Tensor or a tuple of
them; each result mirrors those structures. ``func`` gets new tensor objects (detached
leaves, or with ``create_graph=True`` differentiable views of inputs that require grad),
so a tensor ``func`` captures is never taken for its argument, and no ``.grad`` is
touched.

topograd has no forward-mode AD. jvp, hvp and ``strategy="forward-mode"`` use the
double-backward trick, as PyTorch's jvp and hvp do: a backward pass run with seeds that
require grad is linear in them, and its gradient with respect to them, seeded with ``v``,
is the Jacobian times ``v``. A Jacobian is built one row (reverse mode: one backward pass
per output element) or one column (forward mode: one per input element) at a time, over
a graph built by one call of ``func``; ``vectorize=True`` is accepted, and gives the same
values the same way (there is no vmap to batch the rows).

Where this differs from PyTorch 2.13: ``strategy="forward-mode"`` works without
``vectorize=True`` and with ``create_graph=True`` (PyTorch raises NotImplementedError);
a Jacobian or Hessian with a zero-size input or output is a tensor of zeros of its
shape (PyTorch's stack of no rows raises); a bad strategy is a ValueError (PyTorch's
AssertionError); a ``v`` of the wrong length or shape, or a function for hessian, vhp
or hvp that returns more than one element, raises ``ShapeError``, both the ValueError
topograd raises for bad input and the RuntimeError PyTorch raises.
"""
from .creation import zeros, zeros_like
from .engine import grad as _autograd_grad
from .grad_mode import enable_grad
from .ops.shape import stack
from .tensor import Tensor

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp", "ShapeError"]

_STRATEGIES = ("forward-mode", "reverse-mode")


class ShapeError(ValueError, RuntimeError):
    """A ``v`` that does not fit, or a function that should return one element and does
    not: a ValueError (a bad input) that is also the RuntimeError PyTorch raises, so
    either catch works."""


# --- arguments in, results out ------------------------------------------------------


def _as_tuple(value, what, caller):
    """(whether ``value`` was a tuple, a tuple of its Tensors); anything else is refused,
    as PyTorch refuses it (a list included)."""
    is_tuple = isinstance(value, tuple)
    values = value if is_tuple else (value,)
    if not values and what == "inputs":  # PyTorch fails later, on an IndexError
        raise ValueError(f"{caller}: inputs is an empty tuple, so there is nothing to differentiate with "
                         "respect to; pass the tensors func takes")
    for i, t in enumerate(values):
        if not isinstance(t, Tensor):
            which = f"the value at index {i}" if is_tuple else f"the given {what}"
            raise TypeError(f"The {what} given to {caller} must be either a Tensor or a tuple of Tensors "
                            f"but {which} has type {type(t).__name__}.")
    return is_tuple, values


def _as_given(results, was_tuple):
    """Undo _as_tuple on ``results``: ``was_tuple`` is one flag, or (outer, inner) for a
    tuple of tuples."""
    if isinstance(was_tuple, tuple):
        outer, inner = was_tuple
        if not inner:
            results = tuple(row[0] for row in results)
        return results if outer else results[0]
    return results if was_tuple else results[0]


def _fresh(tensors, create_graph, need_graph):
    """New tensor objects for ``func`` (or for a ``v``): with create_graph=True one that
    requires grad becomes a view of itself, so results stay connected to the caller's
    graph; the rest are detached, requiring grad when ``need_graph``."""
    return tuple(t.reshape(t.shape) if create_graph and t.requires_grad
                 else t.detach().requires_grad_(need_graph) for t in tensors)


def _detached(results, create_graph):
    """The results as the caller gets them: outside the graph unless create_graph=True."""
    if create_graph:
        return results
    return tuple(r.detach() if isinstance(r, Tensor) else _detached(r, False) for r in results)


def _check_v(v, refs, refs_are_tuple, caller):
    """``v`` (a Tensor or a tuple of them) as a tuple of one tensor of each ref's shape."""
    _, v = _as_tuple(v, "v", caller)
    if len(v) != len(refs):
        if refs_are_tuple:
            raise ShapeError(f"{caller}: v is a tuple of invalid length: should be {len(refs)} but got {len(v)}.")
        raise ShapeError(f"{caller}: the given v should contain a single Tensor, not {len(v)}.")
    for i, (t, ref) in enumerate(zip(v, refs)):
        if t.shape != ref.shape:
            entry = f"entry {i} in " if refs_are_tuple else ""
            raise ShapeError(f"{caller}: {entry}v has invalid size: should be {ref.shape} but got {t.shape}.")
    return v


def _v_or_unit(v, refs, refs_are_tuple, create_graph, caller, refs_are):
    """The checked ``v``, or None (an implied 1) where the refs are one single-element Tensor."""
    if v is not None:
        return _fresh(_check_v(v, refs, refs_are_tuple, caller), create_graph, need_graph=False)
    if len(refs) != 1 or refs[0].size != 1:
        raise ShapeError(f"{caller}: the vector v can only be None if {refs_are} a single Tensor with a single "
                         "element; pass v of its shape")
    return None


def _single_element(outputs, was_tuple, caller):
    """The one Tensor hessian, vhp and hvp differentiate twice."""
    if was_tuple:
        raise RuntimeError(f"The function given to {caller} should return a single Tensor, not a tuple")
    if outputs[0].size != 1:
        raise ShapeError(f"The Tensor returned by the function given to {caller} should contain a single "
                         f"element, not shape {outputs[0].shape}")


# --- strict mode: PyTorch's checks and messages ---------------------------------------

_INDEPENDENT = "The output of the user-provided function is independent of input {i}. " \
               "This is not allowed in strict mode."
_GRAD_INDEPENDENT = "The gradient with respect to input {i} is independent of the inputs of the " \
                    "user-provided function. This is not allowed in strict mode."
_JACOBIAN_CONSTANT = "While computing the hessian, found that the jacobian of the user-provided function " \
                     "with respect to input {i} is independent of the input. This is not allowed in strict " \
                     "mode. You should ensure that your function is twice differentiable and that the " \
                     "jacobian depends on the inputs (this would be violated by a linear function for example)."
_UNREACHED = {  # a result that is None, by the step that computed it
    "back": _INDEPENDENT,
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the grad_outputs "
                  "when using the double backward trick to compute forward mode gradients. This is not "
                  "allowed in strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}. This is not "
                   "allowed in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry {i} in the "
                         "grad_jacobian. This is not allowed in strict mode as it prevents from using the "
                         "double backward trick to replace forward mode AD.",
}
_CONSTANT = "The {what} of the user-provided function is independent of input {i}. This is not allowed " \
            "in strict mode when create_graph=True."


def _check_outputs(outputs, strict):
    if strict:
        for i, out in enumerate(outputs):
            if not out.requires_grad:
                raise RuntimeError(f"Output {i} of the user-provided function does not require gradients. The "
                                   "outputs must be computed in a differentiable manner from the input when "
                                   "running in strict mode.")


def _check_in_graph(grads, strict, constant_message):
    """Strict mode's check of gradients that are differentiated again: each must exist
    and depend on what the next step differentiates with respect to."""
    if strict:
        for i, g in enumerate(grads):
            if g is None:
                raise RuntimeError(_INDEPENDENT.format(i=i))
            if not g.requires_grad:
                raise RuntimeError(constant_message.format(i=i))


def _zeros_for_unreached(grads, refs, strict, create_graph, step):
    """None results (nothing reached them) become zeros of their ref's shape; strict mode
    refuses them, and with create_graph=True also results that are constants."""
    filled = []
    for i, (g, ref) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                raise RuntimeError(_UNREACHED[step].format(i=i))
            g = zeros_like(ref)
        elif strict and create_graph and not g.requires_grad:
            raise RuntimeError(_CONSTANT.format(what="hessian" if step.startswith("double") else "jacobian", i=i))
        filled.append(g)
    return tuple(filled)


# --- gradients ---------------------------------------------------------------------


def _grad(outputs, inputs, seeds=None, create_graph=False, retain_graph=None):
    """ag.grad of the outputs that are in the graph (an output that is None or needs no
    grad is skipped, with its seed), with None for each input none of them reaches."""
    seeds = (None,) * len(outputs) if seeds is None else seeds
    live = [(out, seed) for out, seed in zip(outputs, seeds) if out is not None and out.requires_grad]
    if not live:
        return (None,) * len(inputs)
    live_outputs, live_seeds = zip(*live)
    return _autograd_grad(live_outputs, inputs, live_seeds, retain_graph=retain_graph,
                          create_graph=create_graph, allow_unused=True)


def _backward_with_seeds(outputs, inputs):
    """The double-backward trick's first pass: (seeds, the inputs' gradients), the seeds
    zeros that require grad (None for an output outside the graph). Backward is linear in
    its seeds, so their values do not matter; the gradients keep their graph."""
    seeds = tuple(zeros_like(out, requires_grad=True) if out.requires_grad else None for out in outputs)
    return seeds, _grad(outputs, inputs, seeds, create_graph=True)


def _gradient_by_seed(grad_inputs, seeds, v, create_graph, retain_graph=None):
    """The trick's second pass: the gradient of <grad_inputs, v> with respect to each
    seed, which is J v for its output; None for a seed that is None or not reached."""
    live = [seed for seed in seeds if seed is not None]
    found = iter(_grad(grad_inputs, live, v, create_graph, retain_graph) if live else ())
    return tuple(None if seed is None else next(found) for seed in seeds)


def _unit(t, k):
    """A seed of t's shape, dtype and device: 1 at flat index k, 0 elsewhere. A new array
    each time: a gradient may be a view of its seed, or a recorded graph keep it."""
    xp = t.backend.xp
    flat = xp.zeros((t.size,), dtype=t.data.dtype)
    flat[k] = 1
    return Tensor._make(xp.reshape(flat, t.shape), t.backend)


def _block(pieces, out, x, axis, dtype):
    """One Jacobian block, of shape out.shape + x.shape, from its rows (axis 0, one per
    element of out) or columns (axis -1, one per element of x); zeros when there are none."""
    if not pieces:
        return zeros(out.shape + x.shape, dtype=dtype, device=x.backend)
    return stack(pieces, axis=axis).reshape(out.shape + x.shape)


# --- the public functions -------------------------------------------------------------


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), v^T J)``: the vector-Jacobian product at ``inputs``, one backward
    pass. ``v`` has the outputs' structure and shapes; it may be left out when ``func``
    returns one single-element Tensor. With ``strict=True`` an input no output depends on
    is an error (else its result is zeros)."""
    with enable_grad():
        inputs_are_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _fresh(inputs, create_graph, need_graph=True)
        outputs_are_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "vjp")
        _check_outputs(outputs, strict)
        v = _v_or_unit(v, outputs, outputs_are_tuple, create_graph, "vjp",
                       "the user-provided function returns")
        grads = _grad(outputs, inputs, v, create_graph=create_graph)
        result = _zeros_for_unreached(grads, inputs, strict, create_graph, "back")
    return (_as_given(_detached(outputs, create_graph), outputs_are_tuple),
            _as_given(_detached(result, create_graph), inputs_are_tuple))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), J v)``: the Jacobian-vector product at ``inputs``, by the
    double-backward trick (two backward passes). ``v`` has the inputs' structure and
    shapes; it may be left out when the input is one single-element Tensor."""
    with enable_grad():
        inputs_are_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _fresh(inputs, create_graph, need_graph=True)
        v = _v_or_unit(v, inputs, inputs_are_tuple, create_graph, "jvp", "the input to the user-provided function is")
        outputs_are_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "jvp")
        _check_outputs(outputs, strict)
        seeds, grad_inputs = _backward_with_seeds(outputs, inputs)
        _check_in_graph(grad_inputs, strict, _GRAD_INDEPENDENT)
        grads = _gradient_by_seed(grad_inputs, seeds, v, create_graph)
        result = _zeros_for_unreached(grads, outputs, strict, create_graph, "back_trick")
    return (_as_given(_detached(outputs, create_graph), outputs_are_tuple),
            _as_given(_detached(result, create_graph), outputs_are_tuple))


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: a Tensor of shape output.shape + input.shape,
    or a tuple of them over the inputs or the outputs (whichever is a tuple), or, when both
    are, a tuple over the outputs of tuples over the inputs. ``func`` runs once; each row
    (reverse mode) or column (forward mode) is then one backward pass over its graph. Rows
    are computed one at a time whatever ``vectorize`` says. Reverse mode gives the inputs'
    dtypes, forward mode the outputs', as PyTorch's."""
    if strategy not in _STRATEGIES:
        raise ValueError(f'jacobian: expected strategy to be either "forward-mode" or "reverse-mode", not '
                         f'{strategy!r}. Hint: If your function has more outputs than inputs, "forward-mode" '
                         'tends to be more performant. Otherwise, prefer to use "reverse-mode".')
    if strict and strategy == "forward-mode":
        raise RuntimeError('jacobian: `strict=True` and `strategy="forward-mode"` '
                           'are not supported together (yet). Please either set `strict=False` or '
                           '`strategy="reverse-mode"`.')
    if strict and vectorize:
        raise RuntimeError("jacobian: `strict=True` and `vectorize=True` are not "
                           "supported together. Please either set `strict=False` or `vectorize=False`.")
    with enable_grad():
        inputs_are_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _fresh(inputs, create_graph, need_graph=True)
        outputs_are_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "jacobian")
        _check_outputs(outputs, strict)
        blocks = _jacobian_of_outputs(outputs, inputs, create_graph, strict, strategy)
    return _as_given(_detached(blocks, create_graph), (outputs_are_tuple, inputs_are_tuple))


def _jacobian_of_outputs(outputs, inputs, create_graph, strict, strategy):
    """The blocks (i, j) for outputs already computed from ``inputs`` (jacobian's part
    after ``func``, which ag.func shares)."""
    if strategy == "reverse-mode":
        return _jacobian_by_rows(outputs, inputs, create_graph, strict)
    return _jacobian_by_columns(outputs, inputs, create_graph)


def _jacobian_by_rows(outputs, inputs, create_graph, strict):
    """Reverse mode: output i's element k seeds one backward pass, giving row k of every
    block (i, j)."""
    blocks = []
    for i, out in enumerate(outputs):
        rows = [[] for _ in inputs]
        for k in range(out.size if out.requires_grad else 0):  # one that needs no grad: zeros
            grads = _autograd_grad(out, inputs, _unit(out, k), retain_graph=True, create_graph=create_graph,
                                   allow_unused=True)
            for j, (g, x) in enumerate(zip(grads, inputs)):
                if g is None:
                    if strict:
                        raise RuntimeError(f"Output {i} of the user-provided function is independent of input "
                                           f"{j}. This is not allowed in strict mode.")
                    g = zeros_like(x)
                elif strict and create_graph and not g.requires_grad:
                    raise RuntimeError(_CONSTANT.format(what="jacobian", i=j))
                rows[j].append(g)
        blocks.append(tuple(_block(r, out, x, 0, x.dtype) for r, x in zip(rows, inputs)))
    return tuple(blocks)


def _jacobian_by_columns(outputs, inputs, create_graph):
    """Forward mode by the double-backward trick: one backward pass seeded with zeros
    that require grad, then, per element k of input j, the gradient of its result
    grad_inputs[j] with respect to those seeds, seeded with a unit vector at k: column k
    of every block (i, j)."""
    seeds, grad_inputs = _backward_with_seeds(outputs, inputs)
    columns = [[[] for _ in inputs] for _ in outputs]
    for j, (x, grad_x) in enumerate(zip(inputs, grad_inputs)):
        if grad_x is None or not grad_x.requires_grad:
            continue  # no output depends on x (or only through constants): zero blocks
        for k in range(x.size):
            tangents = _gradient_by_seed((grad_x,), seeds, (_unit(x, k),), create_graph, retain_graph=True)
            for i, (out, t) in enumerate(zip(outputs, tangents)):
                columns[i][j].append(zeros_like(out) if t is None else t)
    return tuple(tuple(_block(c, out, x, -1, out.dtype) for c, x in zip(cols, inputs))
                 for out, cols in zip(outputs, columns))


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a function that returns one single-element Tensor: the Jacobian
    (by ``outer_jacobian_strategy``) of its gradient (always reverse mode). One Tensor of
    shape input.shape * 2 for one input; for a tuple of inputs, a tuple of tuples whose
    block [i][j] has shape inputs[i].shape + inputs[j].shape."""
    inputs_are_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in _STRATEGIES:
        raise ValueError('hessian: expected outer_jacobian_strategy to be either "forward-mode" or '
                         f'"reverse-mode", not {outer_jacobian_strategy!r}')

    def scalar_func(*xs):
        was_tuple, outputs = _as_tuple(func(*xs), "outputs of the user-provided function", "hessian")
        _check_outputs(outputs, strict)
        _single_element(outputs, was_tuple, "hessian")
        return outputs[0].reshape(())

    def gradient(*xs):
        gradients = jacobian(scalar_func, xs, create_graph=True)
        _check_in_graph(gradients, strict, _JACOBIAN_CONSTANT)
        return gradients

    blocks = jacobian(gradient, inputs, create_graph=create_graph, strict=strict, vectorize=vectorize,
                      strategy=outer_jacobian_strategy)
    return _as_given(blocks, (inputs_are_tuple, inputs_are_tuple))


def _gradient_of_scalar(func, inputs, v, create_graph, strict, caller):
    """What vhp and hvp share: (inputs, v, is tuple, outputs, the gradient with a graph)."""
    inputs_are_tuple, inputs = _as_tuple(inputs, "inputs", caller)
    inputs = _fresh(inputs, create_graph, need_graph=True)
    v = _v_or_unit(v, inputs, inputs_are_tuple, create_graph, caller, "the input to the user-provided function is")
    was_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", caller)
    _check_outputs(outputs, strict)
    _single_element(outputs, was_tuple, caller)
    gradients = _grad(outputs, inputs, create_graph=True)
    _check_in_graph(gradients, strict, _JACOBIAN_CONSTANT)
    return inputs, v, inputs_are_tuple, outputs, gradients


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), v^T H)`` for a function that returns one single-element Tensor:
    two backward passes. ``v`` has the inputs' structure and shapes."""
    with enable_grad():
        inputs, v, inputs_are_tuple, outputs, gradients = _gradient_of_scalar(func, inputs, v, create_graph,
                                                                              strict, "vhp")
        grads = _grad(gradients, inputs, v, create_graph=create_graph)
        result = _zeros_for_unreached(grads, inputs, strict, create_graph, "double_back")
    return _detached(outputs, create_graph)[0], _as_given(_detached(result, create_graph), inputs_are_tuple)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), H v)`` for a function that returns one single-element Tensor, by
    the double-backward trick: three backward passes (vhp takes two, and equals hvp
    transposed where the function is twice continuously differentiable)."""
    with enable_grad():
        inputs, v, inputs_are_tuple, outputs, gradients = _gradient_of_scalar(func, inputs, v, create_graph,
                                                                              strict, "hvp")
        seeds = tuple(zeros_like(x, requires_grad=True) for x in inputs)
        double_back = _grad(gradients, inputs, seeds, create_graph=True)
        grads = _grad(double_back, seeds, v, create_graph=create_graph)
        result = _zeros_for_unreached(grads, inputs, strict, create_graph, "double_back_trick")
    return _detached(outputs, create_graph)[0], _as_given(_detached(result, create_graph), inputs_are_tuple)
