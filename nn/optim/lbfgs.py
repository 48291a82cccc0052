"""L-BFGS: a quasi-Newton method that models the inverse Hessian from the last
``history_size`` steps and gradient changes, over all parameters flattened into one
vector; each step() runs up to ``max_iter`` iterations, re-evaluating ``closure``."""
import math

import backends
from autograd import Tensor, enable_grad
from autograd.tensor import count_change
from autograd.user_code import user_frame

from .hyperparameter_checks import check_at_least_zero
from .optimizer import Optimizer
from .strong_wolfe import strong_wolfe

# State entries that are flat vectors (Tensors of every parameter's elements), lists of
# them, and lists of numbers; the others ('func_evals', 'n_iter', 't', 'H_diag',
# 'prev_loss') are single numbers.
_VECTORS = ("d", "prev_flat_grad")
_VECTOR_LISTS = ("old_dirs", "old_stps")
_NUMBER_LISTS = ("ro", "al")
_NUMBERS = ("func_evals", "n_iter", "t", "H_diag", "prev_loss")


class LBFGS(Optimizer):
    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                 history_size=100, line_search_fn=None):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                        tolerance_change=tolerance_change, history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups); pass one list "
                             "of parameters")
        self._params = self.param_groups[0]["params"]
        self._where = None  # the user's line of the step running (see _changed)
        first = self._params[0]
        for i, p in enumerate(self._params):
            if p._backend is not first._backend or p.dtype != first.dtype:
                raise ValueError(f"LBFGS works on all parameters as one vector, so they must share a device and "
                                 f"a dtype: parameter 0 is {first.dtype} on {first.device}, parameter {i} is "
                                 f"{p.dtype} on {p.device}")

    def _check_types(self, h):
        super()._check_types(h)
        # a choice of method, checked in a loaded state dict too: step would take any other for strong_wolfe
        if h["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: invalid line_search_fn {h['line_search_fn']!r}; use None or 'strong_wolfe'")

    @staticmethod
    def _check_hyperparameters(h):
        check_at_least_zero("LBFGS", h, ("lr", "tolerance_grad", "tolerance_change"))
        if not h["history_size"] >= 1:
            raise ValueError(f"LBFGS: invalid history_size {h['history_size']}; it must be >= 1")

    def add_param_group(self, param_group):
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups); put every "
                             "parameter in the one group given to the constructor")
        super().add_param_group(param_group)

    # --- the parameters as one flat vector ---------------------------------------------------
    @property
    def _xp(self):
        return self._params[0]._backend.xp

    def _gather_flat_grad(self):
        """Every parameter's gradient (zeros where there is none) in one new vector."""
        xp = self._xp
        return xp.concat([xp.reshape(xp.zeros_like(p.data) if p.grad is None else p.grad.data, (-1,))
                          for p in self._params])

    def _add_grad(self, step_size, update):
        """``params += step_size * update``, with ``update`` a flat vector."""
        xp = self._xp
        offset = 0
        for p in self._params:
            numel = p.size
            p._backend.axpy_(p.data, step_size, xp.reshape(update[offset:offset + numel], p.shape))
            offset += numel
        self._changed()

    def _clone_param(self):
        return [self._xp.asarray(p.data, copy=True) for p in self._params]

    def _set_param(self, params_data):
        for p, data in zip(self._params, params_data):
            p.data[...] = data
        self._changed()

    def _changed(self):
        # Like any optimizer step, an in-place change for autograd (see Optimizer.step)
        for p in self._params:
            count_change(p, self._where)

    def _directional_evaluate(self, closure, x, t, d):
        self._add_grad(t, d)
        with enable_grad():
            loss = float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    # --- the update ----------------------------------------------------------------------------
    def step(self, closure):
        """Run up to ``max_iter`` iterations; ``closure`` clears the gradients, computes the
        loss, calls backward and returns the loss. Returns the loss of the first evaluation."""
        if closure is None or not callable(closure):
            raise TypeError("LBFGS.step needs a closure that re-evaluates the model: "
                            "def closure(): opt.zero_grad(); loss = ...; loss.backward(); return loss")
        self._where = f"{user_frame()} (LBFGS.step)"
        self._check_group_types([(group, group["params"]) for group in self.param_groups])
        backend = self._params[0]._backend
        xp = backend.xp

        def dot(a, b):
            return float(xp.vecdot(a, b))

        group = self.param_groups[0]
        lr = float(group["lr"])
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]

        # the state lives with the first parameter, as in PyTorch
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        with enable_grad():
            orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if float(xp.max(xp.abs(flat_grad))) <= tolerance_grad:  # already optimal
            self.stepped = True
            return orig_loss

        d = _array(state.get("d"))
        if d is not None and (state["d"]._backend is not backend or d.dtype != self._params[0].data.dtype):
            raise ValueError(f"LBFGS.step: the state is {state['d'].dtype} on {state['d'].device}, but the "
                             f"parameters are now {self._params[0].dtype} on {self._params[0].device}; create "
                             "the optimizer after model.to(...), or call "
                             "optimizer.load_state_dict(optimizer.state_dict())")
        t = state.get("t")
        old_dirs = [_array(v) for v in state.get("old_dirs", [])]
        old_stps = [_array(v) for v in state.get("old_stps", [])]
        ro = list(state.get("ro", []))
        H_diag = state.get("H_diag")
        prev_flat_grad = _array(state.get("prev_flat_grad"))
        prev_loss = state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # the descent direction
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                # update the memory with the last step s and gradient change y
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = dot(y, s)
                if ys > 1e-10:
                    if len(old_dirs) == history_size:  # forget the oldest
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    yy = dot(y, y)  # (in float16 it can round to 0 while y.s does not: inf, as PyTorch's)
                    H_diag = ys / yy if yy else math.inf  # the scale of the initial inverse Hessian
                # the two-loop recursion: d = -H g
                num_old = len(old_dirs)
                if "al" not in state:
                    state["al"] = [None] * history_size
                al = state["al"]
                q = -flat_grad
                for i in range(num_old - 1, -1, -1):
                    al[i] = dot(old_stps[i], q) * ro[i]
                    backend.axpy_(q, -al[i], old_dirs[i])
                d = q * H_diag
                for i in range(num_old):
                    be_i = dot(old_dirs[i], d) * ro[i]
                    backend.axpy_(d, al[i] - be_i, old_stps[i])

            if prev_flat_grad is None:
                prev_flat_grad = xp.asarray(flat_grad, copy=True)
            else:
                prev_flat_grad[...] = flat_grad
            prev_loss = loss

            # the step length: a cautious first one, lr afterwards
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / float(xp.sum(xp.abs(flat_grad)))) * lr
            else:
                t = lr
            gtd = dot(flat_grad, d)  # the directional derivative
            if gtd > -tolerance_change:  # no descent along d
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                x_init = self._clone_param()

                def obj_func(x, t, d):
                    return self._directional_evaluate(closure, x, t, d)

                loss, flat_grad, t, ls_func_evals = strong_wolfe(obj_func, xp, x_init, t, d, loss, flat_grad, gtd,
                                                                 max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = float(xp.max(xp.abs(flat_grad))) <= tolerance_grad
            else:
                # a fixed step; the gradient is re-evaluated unless this is the last iteration
                self._add_grad(t, d)
                if n_iter != max_iter:
                    with enable_grad():
                        loss = float(closure())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = float(xp.max(xp.abs(flat_grad))) <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            # the stopping conditions
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if float(xp.max(xp.abs(d * t))) <= tolerance_change:  # no change in the parameters
                break
            if abs(loss - prev_loss) < tolerance_change:  # no change in the loss
                break

        state["d"] = _tensor(d, backend)
        state["t"] = t
        state["old_dirs"] = [_tensor(v, backend) for v in old_dirs]
        state["old_stps"] = [_tensor(v, backend) for v in old_stps]
        state["ro"] = ro
        state["H_diag"] = H_diag
        state["prev_flat_grad"] = _tensor(prev_flat_grad, backend)
        state["prev_loss"] = prev_loss
        self.stepped = True
        return orig_loss

    # --- state as plain data ------------------------------------------------------------------
    def load_state_dict(self, state_dict):
        """Restore the hyperparameters and the state saved by state_dict() (from topograd or
        PyTorch): flat vectors go onto the parameters' device and dtype, 0-d tensors become
        numbers. Everything is checked before anything changes."""
        if not isinstance(state_dict, dict) or not isinstance(state_dict.get("state"), dict):
            raise ValueError("LBFGS.load_state_dict: expected a dict with 'state' and 'param_groups' "
                             "entries, as optimizer.state_dict() returns")
        # (Reading optimizer.state[p] for a later parameter leaves an empty entry: nothing to load.)
        saved = {k: v for k, v in state_dict["state"].items() if not (isinstance(v, dict) and not v)}
        if len(saved) > 1 or any(not isinstance(v, dict) for v in saved.values()):
            raise ValueError("LBFGS.load_state_dict: LBFGS keeps one state dict (with its first parameter), "
                             f"but the saved state has {len(saved)} entries")
        first = self._params[0]
        numel = sum(p.size for p in self._params)
        loaded = {key: self._loaded_value(key, value, first, numel) for values in saved.values()
                  for key, value in values.items()}
        super().load_state_dict({"state": {}, "param_groups": state_dict["param_groups"]})
        if loaded:
            self.state[first] = loaded

    @staticmethod
    def _loaded_value(key, value, first, numel):
        def vector(v):
            # a copy, never the saved array
            host_xp = backends.get("cpu").xp
            host = host_xp.asarray(v.numpy() if isinstance(v, Tensor) else host_xp.asarray(v), copy=True)
            if tuple(getattr(host, "shape", ())) != (numel,):
                raise ValueError(f"LBFGS.load_state_dict: state {key!r} must hold vectors of all {numel} "
                                 f"parameter elements, got shape {tuple(getattr(host, 'shape', ()))}")
            return Tensor(host, dtype=first.dtype, device=first.device)

        def number(v):
            return None if v is None else v if isinstance(v, (int, float)) else float(v)

        if key in _VECTORS:
            return None if value is None else vector(value)
        if key in _VECTOR_LISTS:
            return [vector(v) for v in value]
        if key in _NUMBER_LISTS:
            return [number(v) for v in value]
        if key in _NUMBERS:
            return number(value)
        raise ValueError(f"LBFGS.load_state_dict: the saved state has an entry {key!r}, which LBFGS does not "
                         "keep; was it saved by another optimizer?")


def _array(value):
    """A state Tensor's array (None stays None)."""
    return None if value is None else value.data


def _tensor(array, backend):
    return None if array is None else Tensor._make(array, backend)
