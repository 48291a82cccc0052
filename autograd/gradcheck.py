"""Numerical gradient checks in float64: central differences against backward."""
import backends

from . import engine
from .grad_mode import enable_grad, no_grad
from .tensor import Tensor

_host = backends.get("cpu")  # finite differences are computed on host arrays


class GradcheckError(RuntimeError):
    """What gradcheck and gradgradcheck raise: an analytic gradient that differs from the
    numerical one, naming the input and the largest mismatch (a RuntimeError, as PyTorch's)."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _tensor_outputs(result, what):
    """fn's result as a tuple of Tensors; anything else in it is refused by name (not with
    "'float' object has no attribute 'size'" from deep inside the check)."""
    outputs = _as_tuple(result)
    for k, o in enumerate(outputs):
        if not isinstance(o, Tensor):
            raise TypeError(f"{what}: fn must return a Tensor or a tuple of Tensors, but its output {k} is "
                            f"{type(o).__name__} {o!r}; return the tensor itself (not .item() or a NumPy array)")
    return outputs


def _flat_host(t):
    return _host.xp.reshape(_host.xp.asarray(t._backend.to_numpy(t.data), dtype=_host.xp.float64), (-1,))


def _jacobians(fn, inputs, wrt, eps, what, check_grad_dtypes=False):
    """Analytic and numerical Jacobians, one (rows: outputs, columns: input elements) per input.
    With ``check_grad_dtypes``, a gradient of another dtype than its input fails the check."""
    xp = _host.xp
    outputs = _tensor_outputs(fn(*inputs), what)
    sizes = [o.size for o in outputs]
    total = sum(sizes)
    analytic = {i: xp.zeros((total, inputs[i].size)) for i in wrt}
    row = 0
    for o in outputs:
        if not (isinstance(o, Tensor) and o.requires_grad):
            row += o.size
            continue
        for j in range(o.size):
            seed = xp.zeros(o.size, dtype=xp.float64)
            seed[j] = 1.0
            v = Tensor._make(o._backend.from_numpy(xp.reshape(seed, o.shape).astype(o.dtype)), o._backend)
            grads = engine.grad([o], [inputs[i] for i in wrt], [v], retain_graph=True, allow_unused=True)
            for i, g in zip(wrt, grads):
                if g is not None:
                    if check_grad_dtypes and g.dtype != inputs[i].dtype:
                        raise GradcheckError(f"{what}: the gradient for input {i} is {g.dtype}, but the input is "
                                             f"{inputs[i].dtype}; a gradient has its input's dtype")
                    analytic[i][row + j] = _flat_host(g)
        row += o.size

    numeric = {i: xp.zeros((total, inputs[i].size)) for i in wrt}
    with no_grad():
        for i in wrt:
            x = inputs[i]
            original = x.data
            base = xp.asarray(x._backend.to_numpy(original), copy=True)
            flat = xp.reshape(base, (-1,))
            try:
                for m in range(x.size):
                    value = flat[m].item()
                    columns = []
                    for delta in (eps, -eps):
                        flat[m] = value + delta
                        x.data = x._backend.from_numpy(xp.reshape(flat, x.shape).copy())
                        columns.append(xp.concat([_flat_host(o) for o in _as_tuple(fn(*inputs))]))
                    flat[m] = value
                    numeric[i][:, m] = (columns[0] - columns[1]) / (2 * eps)
            finally:  # an fn that raises must not leave the caller's input perturbed
                x.data = original
    return analytic, sizes, numeric


def _output_element(row, sizes):
    """A Jacobian row as the output element it stands for (the rows of several outputs are stacked)."""
    if len(sizes) == 1:
        return f"output element {row}"
    k = 0
    while row >= sizes[k]:
        row -= sizes[k]
        k += 1
    return f"output {k} element {row}"


def _check(fn, inputs, eps, atol, rtol, what, check_grad_dtypes=False):
    inputs = _as_tuple(inputs)
    wrt = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not wrt:
        raise ValueError(f"{what}: no input requires grad, so there is nothing to check")
    for i in wrt:
        if inputs[i].dtype.name != "float64":
            raise TypeError(f"{what}: input {i} is {inputs[i].dtype}; finite differences need float64 "
                            "inputs (create them with dtype=ag.float64)")
    analytic, sizes, numeric = _jacobians(fn, inputs, wrt, eps, what, check_grad_dtypes)
    xp = _host.xp
    for i in wrt:
        a, n = analytic[i], numeric[i]
        # as torch.allclose: a NaN on either side is a mismatch; equal infinities match
        excess = xp.where(a == n, 0.0, xp.abs(a - n) - (atol + rtol * xp.abs(n)))
        excess = xp.where(xp.isnan(excess), xp.inf, excess)
        if a.size and (excess > 0).any():
            r, c = divmod(int(xp.argmax(excess)), a.shape[1])
            where = _output_element(r, sizes)
            raise GradcheckError(
                f"{what}: the gradient for input {i} (shape {inputs[i].shape}) does not match finite "
                f"differences: at {where}, input element {c}, backward gives {a[r, c]:.8g} but "
                f"the numerical derivative is {n[r, c]:.8g} (|difference| {abs(a[r, c] - n[r, c]):.3g}, "
                f"tolerance atol={atol} + rtol={rtol} * |numerical|)")
    return True


def _verdict(raise_exception, check):
    """True, or the mismatch: raised, or (raise_exception=False, as PyTorch's) False."""
    try:
        return check()
    except GradcheckError:
        if raise_exception:
            raise
        return False


def _checked_options(what, reverse_mode, forward_mode):
    """Refuse PyTorch's options that ask for checks of forward-mode AD, which topograd lacks
    (``forward_mode``: their names and values), or that turn off the reverse-mode check,
    the only one left (``reverse_mode``: its name and value)."""
    for name, value in forward_mode.items():
        if value:
            raise NotImplementedError(f"{what}: {name}=True checks forward-mode AD, which topograd lacks; leave "
                                      "it out (the reverse-mode gradients are checked by default)")
    name, value = reverse_mode
    if not value:
        raise ValueError(f"{what}: {name}=False leaves nothing to check (topograd has no forward-mode AD to "
                         "check instead); leave it out")


# PyTorch's keyword options of both checks, taken so that ported tests run (each is keyword-only there):
# - fast_mode: PyTorch's fast mode checks random projections of the Jacobian instead of all of it;
#   here the whole Jacobian is always compared, which fails wherever the fast check would.
# - nondet_tol: PyTorch's tolerance between two runs of backward, a comparison these checks do not
#   make (each runs backward once per output element).
# - check_undefined_grad: PyTorch also runs backward with the output gradients left undefined; these
#   checks do not (the engine hands a backward zeros for outputs that received no gradient, unless
#   its Function asked for None with set_materialize_grads(False)).
# - check_batched_grad: ag.grad(is_grads_batched=True) runs the same passes one entry at a time, so
#   the batched gradients equal the ones compared here by construction.
# - masked: for sparse inputs, which topograd does not have.
# - gen_non_contig_grad_outputs (gradgradcheck): topograd's ops take any memory layout alike.
def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, *, nondet_tol=0.0,
              check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
              check_batched_forward_grad=False, check_forward_ad=False, check_backward_ad=True, fast_mode=False,
              masked=None):
    """Check ``fn``'s gradients with respect to every float64 input that requires
    grad against central differences. Returns True, or raises GradcheckError naming
    the input and the largest mismatch (returns False with ``raise_exception=False``).
    ``check_grad_dtypes=True`` also fails a gradient of another dtype than its input; the
    other PyTorch options are taken (see above), and those of forward-mode AD refused."""
    _checked_options("gradcheck", ("check_backward_ad", check_backward_ad),
                     dict(check_forward_ad=check_forward_ad, check_batched_forward_grad=check_batched_forward_grad))
    return _verdict(raise_exception, lambda: _check(fn, inputs, eps, atol, rtol, "gradcheck", check_grad_dtypes))


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, *,
                  gen_non_contig_grad_outputs=False, nondet_tol=0.0, check_undefined_grad=True,
                  check_grad_dtypes=False, check_batched_grad=False, check_fwd_over_rev=False,
                  check_rev_over_rev=True, fast_mode=False, masked=False):
    """Check second derivatives: the gradient of ``fn``'s vector-Jacobian product
    (with random or given ``grad_outputs``, one per output) against finite differences.
    Returns True, or raises GradcheckError (returns False with ``raise_exception=False``).
    PyTorch's keyword options are taken as gradcheck takes them."""
    _checked_options("gradgradcheck", ("check_rev_over_rev", check_rev_over_rev),
                     dict(check_fwd_over_rev=check_fwd_over_rev))
    inputs = _as_tuple(inputs)
    outputs = _tensor_outputs(fn(*inputs), "gradgradcheck")
    if grad_outputs is None:
        rng = _host.rng
        grad_outputs = [Tensor._make(o._backend.from_numpy(rng.standard_normal(o.shape)), o._backend)
                        for o in outputs]
    grad_outputs = _as_tuple(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"gradgradcheck: got {len(grad_outputs)} grad_outputs for the {len(outputs)} outputs of "
                         "fn; give one per output (or none, for random ones)")
    vs = [Tensor(g.data, device=g._backend, dtype="float64").requires_grad_() for g in grad_outputs]
    wrt = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    n = len(inputs)

    def vjp(*args):
        xs, v = args[:n], args[n:]
        with enable_grad():  # the finite differences run under no_grad, but a vjp needs a graph
            outs = [o for o in _as_tuple(fn(*xs))]
            used = [(o, g) for o, g in zip(outs, v) if o.requires_grad]
            if not used:
                raise ValueError("gradgradcheck: no output of fn requires grad, so it has no first derivative "
                                 "to check; make the outputs depend on an input that requires grad (not through "
                                 ".detach() or no_grad)")
            grads = engine.grad([o for o, _ in used], [xs[i] for i in wrt], [g for _, g in used],
                                create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return _verdict(raise_exception, lambda: _check(vjp, (*inputs, *vs), eps, atol, rtol, "gradgradcheck",
                                                    check_grad_dtypes))
