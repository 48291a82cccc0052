"""Loss scaling for float16 training: ``GradScaler``, PyTorch's ``torch.amp.GradScaler``.

Gradients computed in float16 underflow to zero below about 6e-8 (and lose bits below 6e-5).
Multiplying the loss by a large factor, the scale, multiplies every gradient of the backward
pass by it too and lifts them into float16's range; the scaler divides it out of the
parameters' gradients again before the optimizer uses them. A scale too large makes some
gradient overflow to inf (or NaN): the scaler then skips that optimizer step and halves the
scale, and after ``growth_interval`` steps in a row without an overflow it doubles it::

    scaler = nn.amp.GradScaler()
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)                  # only to see or clip the true gradients:
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)                      # unscales (if not done), skips on inf/NaN
        scaler.update()                             # backs off or grows the scale

As in PyTorch, the parameters (and so their gradients) stay float32, the master weights, and
the computation runs in float16 where the model casts to it; a float16 gradient is refused.
``unscale_`` multiplies each gradient's array in place by the scale's reciprocal (worked out
in float64 and rounded to float32, as PyTorch's) and checks it for an inf or NaN, a vectorised
pass each, without recording a graph and reading the result once a device; the scale itself is
a float32 number.
``state_dict()`` holds PyTorch's five keys, plain numbers, so a state saved by either library
loads in the other (and passes through JSON). ``enabled=False`` turns every method into a
pass-through, so one training loop serves both precisions.

Where it differs from PyTorch 2.13, on purpose:

- ``device`` defaults to ``"cpu"`` (PyTorch's to ``"cuda"``, which on a machine without CUDA
  warns and disables the scaler; ``"cuda"`` here does the same where CuPy or a GPU is
  missing). The scale is a float32 number, not a tensor on the device, so it takes part
  in the product on each output's own device; ``update(new_scale)`` takes a one-element
  tensor from any device (PyTorch's only a 0-d one, on the scaler's device type) and an int.
- Bad settings raise ValueError (PyTorch's AssertionError, for the factors only): an
  ``init_scale``, ``new_scale`` or loaded scale that is not a positive finite number, a
  ``growth_factor`` not above 1, a ``backoff_factor`` outside (0, 1) or a ``growth_interval``
  below 1, from the constructor, the setters and ``load_state_dict`` (which checks every
  entry before it changes one, where PyTorch's raises KeyError halfway), and also when
  ``enabled=False``. Getters of a disabled scaler return its settings (PyTorch's raise
  AttributeError). Using the scaler before ``scale()``, ``update()`` before any step, or
  pickling (or deep-copying) it mid-iteration raises RuntimeError (PyTorch's AssertionError).
- ``scale`` of a float16 tensor with dimensions multiplies in float32 and rounds once, as
  PyTorch's kernel does; topograd's float16 arithmetic with a float32 scalar would round
  the scale to float16 first (see the README), and 65536 is inf there. A value that is
  neither a Tensor nor an iterable of them raises TypeError (PyTorch's ValueError).
- ``step`` refuses a closure passed by position as well as by keyword (PyTorch's lets a
  positional one through to ``optimizer.step``, whose backward then adds scaled gradients to
  the unscaled ones). An optimizer none of whose parameters has a gradient is refused before
  anything changes (PyTorch's marks it unscaled first, so a retry raises another error).
"""
import functools
import math
import numbers
import struct
import warnings
from collections.abc import Iterable

import backends
from autograd import Tensor
from autograd.ops.elementwise import in_float32
from autograd.tensor import count_change
from backends import dtypes

__all__ = ["GradScaler"]


# Where each optimizer is within an iteration (PyTorch's OptState): nothing done yet, its
# gradients unscaled, or stepped; update() starts every optimizer afresh.
_READY, _UNSCALED, _STEPPED = "ready", "unscaled", "stepped"


def _float32(value):
    """``value`` rounded to float32, as PyTorch's scale tensor holds it (inf past its range)."""
    try:
        return struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:  # a finite value that rounds past float32's largest
        return math.copysign(math.inf, value)


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _positive_scale(where, name, value):
    if not (_is_number(value) and math.isfinite(value) and value > 0):
        raise ValueError(f"{where}: {name} must be a positive finite number, got {value!r}")
    return float(value)  # a Python float (a NumPy float32 would not pass through JSON)


def _check_growth_factor(where, value):
    if not (_is_number(value) and math.isfinite(value) and value > 1):
        raise ValueError(f"{where}: growth_factor must be a finite number > 1.0 (the scale grows by it), "
                         f"got {value!r}")
    return float(value)


def _check_backoff_factor(where, value):
    if not (_is_number(value) and 0 < value < 1):
        raise ValueError(f"{where}: backoff_factor must be a number in (0, 1) (the scale shrinks by it), "
                         f"got {value!r}")
    return float(value)


def _check_growth_interval(where, value):
    if not (isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1):
        raise ValueError(f"{where}: growth_interval must be an int >= 1 (clean steps before the scale grows), "
                         f"got {value!r}")
    return int(value)


class GradScaler:
    """Scales the loss, unscales the gradients, skips the optimizer steps whose gradients
    overflowed and adapts the scale (see the module docstring)."""

    def __init__(self, device="cpu", init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        if not isinstance(device, str) or device.split(":")[0] not in ("cpu", "cuda"):
            raise ValueError(f"GradScaler: device must be 'cpu' or 'cuda', got {device!r}")
        self._init_scale = _positive_scale("GradScaler", "init_scale", init_scale)
        self._growth_factor = _check_growth_factor("GradScaler", growth_factor)
        self._backoff_factor = _check_backoff_factor("GradScaler", backoff_factor)
        self._growth_interval = _check_growth_interval("GradScaler", growth_interval)
        self._device = device
        self._enabled = bool(enabled)
        if self._enabled and device.startswith("cuda") and not backends.cuda_is_available():
            warnings.warn("GradScaler is enabled on 'cuda', but CUDA (CuPy and a GPU) is not available. "
                          "Disabling.", stacklevel=2)
            self._enabled = False
        self._init_growth_tracker = 0
        # The scale (a float32 value) and the count of clean steps since it last changed, set
        # by the first scale(), as in PyTorch: until then get_scale() gives init_scale as given.
        self._scale = None
        self._growth_tracker = None
        self._per_optimizer_states = {}  # id(optimizer) -> {"stage", "found_inf": None or bool}

    # --- the training loop ---------------------------------------------------------------------
    def scale(self, outputs):
        """``outputs`` (a Tensor, or lists and tuples of them, nested) times the scale,
        recorded for backward; other iterables give a lazy ``map``, as in PyTorch."""
        if not self._enabled:
            return outputs
        return self._scaled_tree(outputs, {})  # one float32 scalar per device

    def _scaled_tree(self, value, factors):
        # (a method, not a closure calling itself: that would be a reference cycle per step,
        # keeping the scaler and the factors until the cyclic collector ran)
        if isinstance(value, Tensor):
            if self._scale is None:
                self._scale, self._growth_tracker = _float32(self._init_scale), self._init_growth_tracker
            return self._scaled(value, factors)
        if isinstance(value, (list, tuple)):
            return type(value)(self._scaled_tree(v, factors) for v in value)
        if isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
            return map(functools.partial(self._scaled_tree, factors=factors), value)
        raise TypeError(f"GradScaler.scale: outputs must be a Tensor or an iterable of Tensors, got "
                        f"{type(value).__name__}")

    def _scaled(self, output, factors):
        factor = factors.get(output.device)
        if factor is None:
            factor = factors[output.device] = Tensor(self._scale, device=output.device, dtype=dtypes.float32)
        if dtypes.promote(output.dtype, dtypes.float32, output.ndim == 0, True) == dtypes.float16:
            # PyTorch multiplies a float16 tensor by a float32 scalar in float32 and rounds once
            # (both ways: the backward's product too); rounding the scale to float16 first would
            # make 65536 inf. A 0-d float16 output gives a float32 product, as in PyTorch.
            return in_float32(lambda wide: wide * factor, output)
        return output * factor

    def unscale_(self, optimizer):
        """Divide the gradients of ``optimizer``'s parameters by the scale, in place, and
        record whether any held an inf or NaN. Optional: ``step`` does it when it was not done;
        call it to see or clip the true gradients before ``step``, once per iteration."""
        if not self._enabled:
            return
        self._check_scaled("unscale_")
        state = self._optimizer_state(optimizer)
        if state["stage"] == _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update(); "
                               "call it once per optimizer per iteration, before step() and update()")
        if state["stage"] == _STEPPED:
            raise RuntimeError("unscale_() is being called after step(); call it before step() (which "
                               "unscales by itself when unscale_() was not called), or after update()")
        self._unscale(state, self._gradients(optimizer))

    def _unscale(self, state, grads):
        inv_scale = _float32(1.0 / self._scale)  # PyTorch's: the reciprocal in float64, kept in float32
        all_finite = {}  # backend -> a 0-d bool array per gradient, read once a device (no wait per gradient)
        for g in grads:
            xp = g._backend.xp
            all_finite.setdefault(g._backend, []).append(xp.all(xp.isfinite(g.data)))
            g.data *= inv_scale  # a float32 value: float32 and float64 arrays take it as it is, as PyTorch's
            count_change(g)
        # None: nothing checked, which step() and update() refuse, as PyTorch's do
        state["found_inf"] = (not all(bool(b.xp.all(b.xp.stack(flags))) for b, flags in all_finite.items())
                              if grads else None)
        state["stage"] = _UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """Unscale ``optimizer``'s gradients (unless ``unscale_`` did), then run
        ``optimizer.step(*args, **kwargs)`` and return what it returns, or skip it and return
        None when a gradient holds an inf or NaN. Closures are refused, as in PyTorch."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs or args and callable(args[0]):
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled: compute the "
                               "loss, call scaler.scale(loss).backward(), then scaler.step(optimizer) with no "
                               "closure")
        self._check_scaled("step")
        state = self._optimizer_state(optimizer)
        if state["stage"] == _STEPPED:
            raise RuntimeError("step() has already been called since the last update(); call "
                               "scaler.update() once per iteration, after stepping every optimizer")
        if state["stage"] == _READY:
            grads = self._gradients(optimizer)
            if grads:  # else refused below, before anything changes
                self._unscale(state, grads)
        if state["found_inf"] is None:
            raise RuntimeError("No inf checks were recorded for this optimizer: none of its parameters has a "
                               "gradient; call scaler.scale(loss).backward() before scaler.step(optimizer), or "
                               "leave out an optimizer whose parameters took no part in the loss")
        result = None if state["found_inf"] else optimizer.step(*args, **kwargs)
        state["stage"] = _STEPPED
        return result

    def update(self, new_scale=None):
        """End the iteration: multiply the scale by ``backoff_factor`` if any optimizer's
        gradients held an inf or NaN, else by ``growth_factor`` after ``growth_interval`` clean
        steps in a row (unless that overflows float32); or set it to ``new_scale`` (a number or
        a one-element tensor, copied), leaving the count of clean steps as it is."""
        if not self._enabled:
            return
        self._check_scaled("update")
        if new_scale is not None:
            self._scale = _float32(self._checked_new_scale(new_scale))
        else:
            found = [s["found_inf"] for s in self._per_optimizer_states.values() if s["found_inf"] is not None]
            if not found:
                raise RuntimeError("No inf checks were recorded prior to update(): call scaler.step(optimizer) "
                                   "(or scaler.unscale_(optimizer)) for an optimizer with gradients first, or pass "
                                   "new_scale")
            # PyTorch's _amp_update_scale_: the products in float64, rounded to float32
            if any(found):
                self._scale = _float32(self._scale * self._backoff_factor)
                self._growth_tracker = 0
            elif self._growth_tracker + 1 == self._growth_interval:
                grown = _float32(self._scale * self._growth_factor)
                if math.isfinite(grown):
                    self._scale = grown
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
        self._per_optimizer_states = {}

    # --- settings and state ----------------------------------------------------------------------
    def get_scale(self):
        """The scale as a Python float; 1.0 when disabled."""
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else self._scale

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = _check_growth_factor("GradScaler.set_growth_factor", new_factor)

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = _check_backoff_factor("GradScaler.set_backoff_factor", new_factor)

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = _check_growth_interval("GradScaler.set_growth_interval", new_interval)

    def _get_growth_tracker(self):
        if not self._enabled:
            return 0
        return self._init_growth_tracker if self._growth_tracker is None else self._growth_tracker

    def is_enabled(self):
        return self._enabled

    def state_dict(self):
        """PyTorch's five entries, plain numbers (``{}`` when disabled); take it after update()."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict):
        """Restore a state saved by ``state_dict()`` (here or in PyTorch); every entry is
        checked before any changes. Does nothing when disabled."""
        if not self._enabled:
            return
        where = "GradScaler.load_state_dict"
        if not isinstance(state_dict, dict):
            raise TypeError(f"{where}: expected a dict, as GradScaler.state_dict() returns, got "
                            f"{type(state_dict).__name__}")
        if not state_dict:
            raise RuntimeError(f"{where}: the source state dict is empty, possibly because it was saved from a "
                               "disabled instance of GradScaler; load it into a disabled scaler, or save from an "
                               "enabled one")
        missing = [key for key in ("scale", "growth_factor", "backoff_factor", "growth_interval",
                                   "_growth_tracker") if key not in state_dict]
        if missing:
            raise ValueError(f"{where}: the state dict has no {', '.join(map(repr, missing))}; pass what "
                             "GradScaler.state_dict() returns")
        scale = _positive_scale(where, "scale", state_dict["scale"])
        growth_factor = _check_growth_factor(where, state_dict["growth_factor"])
        backoff_factor = _check_backoff_factor(where, state_dict["backoff_factor"])
        growth_interval = _check_growth_interval(where, state_dict["growth_interval"])
        tracker = state_dict["_growth_tracker"]
        if not (isinstance(tracker, numbers.Integral) and not isinstance(tracker, bool) and tracker >= 0):
            raise ValueError(f"{where}: _growth_tracker must be an int >= 0 (clean steps so far), got {tracker!r}")
        self._init_scale, self._init_growth_tracker = scale, int(tracker)
        self._growth_factor, self._backoff_factor, self._growth_interval = growth_factor, backoff_factor, \
            growth_interval
        if self._scale is not None:
            self._scale, self._growth_tracker = _float32(scale), int(tracker)

    def __getstate__(self):
        """For pickle and copy.deepcopy: only between iterations, as PyTorch's. Mid-iteration the
        per-optimizer records are keyed by the ids of optimizers a copy no longer sees; its next
        update() would still count their overflows."""
        if self._enabled and self._per_optimizer_states:
            raise RuntimeError("A GradScaler instance may only be pickled at the beginning of an iteration, or at "
                               "the end after scaler.update(); pickle or copy it after update(), or save "
                               "scaler.state_dict() instead")
        return self.__dict__.copy()

    # --- helpers -------------------------------------------------------------------------------------
    def _check_scaled(self, name):
        if self._scale is None:
            raise RuntimeError(f"GradScaler.{name}: there is no scale yet, because scaler.scale() was not called; "
                               "call backward on scaler.scale(loss) (not on the loss itself) earlier in the "
                               "iteration")

    def _optimizer_state(self, optimizer):
        return self._per_optimizer_states.setdefault(id(optimizer), {"stage": _READY, "found_inf": None})

    @staticmethod
    def _gradients(optimizer):
        """The gradients of ``optimizer``'s parameters, all checked before any is changed."""
        grads = []
        for g_index, group in enumerate(optimizer.param_groups):
            for i, p in enumerate(group["params"]):
                if p.grad is None:
                    continue
                if p.grad.dtype == dtypes.float16:
                    raise ValueError(f"Attempting to unscale FP16 gradients (parameter {i} of group {g_index}, "
                                     "as PyTorch refuses them): unscaled in float16 the small gradients that the "
                                     "scale kept would underflow again. Keep the parameters in float32 and cast to "
                                     "float16 inside the forward")
                grads.append(p.grad)
        return grads

    def _checked_new_scale(self, new_scale):
        if isinstance(new_scale, Tensor):
            if new_scale.size != 1 or new_scale.requires_grad:
                raise ValueError(f"GradScaler.update: new_scale must be a number or a one-element tensor that does "
                                 f"not require grad, got a tensor of shape {new_scale.shape}"
                                 + (" that requires grad; pass new_scale.detach()" if new_scale.requires_grad
                                    else ""))
            new_scale = new_scale.item()
        return _positive_scale("GradScaler.update", "new_scale", new_scale)
