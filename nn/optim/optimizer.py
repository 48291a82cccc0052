"""Optimizer: the base of every optimizer, with PyTorch's API and semantics.

An optimizer holds ``param_groups`` (dicts with a ``'params'`` list and the
hyperparameters, defaults filled in) and ``state`` (a dict per parameter, keyed
by the Parameter itself). ``step()`` hands each group's parameters that have a
gradient to the subclass's ``_update_group``, which calls a pure update function
on the raw backend arrays: updates happen in place, record no graph, and leave
``requires_grad``, ``grad_fn`` and identity of every parameter alone.

PyTorch's optimizers also take switches between implementations of the same update:
``foreach``, ``fused`` and ``capturable``. topograd has one implementation, so these
change nothing here; each optimizer accepts the ones its PyTorch twin has, with the
same defaults, so that ported code runs, and keeps them in its param groups, so that
state dicts have PyTorch's keys. ``differentiable=True`` asks for a step that autograd
can differentiate through, which updates made in place on the arrays cannot give: it
is refused with a ValueError.

Hooks, as PyTorch's (each register_* returns a handle whose ``remove()`` takes the hook out):
``register_step_pre_hook(hook)`` calls ``hook(optimizer, args, kwargs)`` before step (``args``
starts with the optimizer, as in PyTorch), and a returned ``(new_args, new_kwargs)`` is what
step gets; ``register_step_post_hook`` calls it after step. This module's
``register_optimizer_step_pre_hook`` / ``_post_hook`` do so for every optimizer (global
pre-hooks first, global post-hooks last). ``register_state_dict_pre_hook`` / ``_post_hook``
and ``register_load_state_dict_pre_hook`` / ``_post_hook`` (with ``prepend=``) run around
state_dict and load_state_dict; a dict that a state_dict post-hook or a load pre-hook
returns replaces the one it got. Hooks run once, around the outermost call, so also around
an optimizer's own step (LBFGS's) and an override that calls super(); the state dict never
holds them.

load_state_dict checks the saved hyperparameters' types (a string lr from a config file)
but not their ranges, which the constructor and add_param_group check: schedulers write
values without checks, as PyTorch's do (LinearLR to 0 ends a rounding error below zero;
CyclicLR takes a Nesterov SGD's momentum to 0), and the optimizer's checkpoint from such
a step must load, as in PyTorch.
"""
import functools
import inspect
import numbers
from collections import defaultdict

import backends
from autograd import Tensor, enable_grad, get_default_dtype, no_grad
from autograd.tensor import HookHandle, check_hook, count_change
from autograd.user_code import user_frame
from backends import dtypes

from ..module import Module
from ..parameter import is_lazy, zero_grads


# The hyperparameters, across the optimizers, that take one number (lr may also be a
# one-element Tensor, as in PyTorch), and those that take a pair of numbers (with what the
# pair holds): their types are checked before their values are, and on loading a state dict.
_NUMERIC_HYPERPARAMETERS = ("lr", "momentum", "dampening", "weight_decay", "eps", "alpha", "lr_decay",
                            "initial_accumulator_value", "rho", "momentum_decay", "lambd", "t0", "max_iter",
                            "max_eval", "tolerance_grad", "tolerance_change", "history_size", "beta2_decay", "d")
_PAIR_HYPERPARAMETERS = {"betas": "(beta1, beta2)", "etas": "(etaminus, etaplus)",
                         "step_sizes": "(min_step, max_step)"}


# The types step() passes without the full type check (see Optimizer._check_group_types)
_PLAIN_NUMBERS = (float, int, Tensor)
_PLAIN_PAIRS = (tuple, list)


def _is_number(value):
    if isinstance(value, Tensor):
        return value.size == 1
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _refuse_set(name, params):
    if isinstance(params, (set, frozenset)):
        raise TypeError(f"{name}: parameters must be in an ordered collection (a list), not a set, whose "
                        "order changes between runs and would scramble state_dict()")


# Step hooks of every optimizer (register_optimizer_step_pre_hook / _post_hook).
_global_step_pre_hooks = []
_global_step_post_hooks = []


def register_optimizer_step_pre_hook(hook):
    """Call ``hook(optimizer, args, kwargs)`` before every optimizer's step, before the
    optimizer's own pre-hooks; see Optimizer.register_step_pre_hook."""
    check_hook("register_optimizer_step_pre_hook", hook)
    return HookHandle(_global_step_pre_hooks, hook)


def register_optimizer_step_post_hook(hook):
    """Call ``hook(optimizer, args, kwargs)`` after every optimizer's step, after the
    optimizer's own post-hooks."""
    check_hook("register_optimizer_step_post_hook", hook)
    return HookHandle(_global_step_post_hooks, hook)


def _step_with_hooks(optimizer, step, *args, **kwargs):
    args = (optimizer, *args)  # PyTorch's hooks see the optimizer as the first argument
    for hook in [*_global_step_pre_hooks, *optimizer._step_pre_hooks]:
        replaced = hook(optimizer, args, kwargs)
        if replaced is not None:
            if not (isinstance(replaced, tuple) and len(replaced) == 2):
                raise RuntimeError(f"{type(optimizer).__name__}.step: a step pre-hook must return None or a "
                                   f"tuple (new_args, new_kwargs), but {hook!r} returned {replaced!r}")
            args, kwargs = replaced
    out = step(*args, **kwargs)
    for hook in [*optimizer._step_post_hooks, *_global_step_post_hooks]:
        hook(optimizer, args, kwargs)
    return out


def _state_dict_with_hooks(optimizer, state_dict):
    for hook in list(optimizer._state_dict_pre_hooks):
        hook(optimizer)
    saved = state_dict(optimizer)
    for hook in list(optimizer._state_dict_post_hooks):
        replaced = hook(optimizer, saved)
        if replaced is not None:
            saved = replaced
    return saved


def _load_state_dict_with_hooks(optimizer, load_state_dict, state_dict):
    if isinstance(state_dict, dict):  # as PyTorch: a hook that sets an entry leaves the caller's dict alone
        state_dict = state_dict.copy()
    for hook in list(optimizer._load_state_dict_pre_hooks):
        replaced = hook(optimizer, state_dict)
        if replaced is not None:
            state_dict = replaced
    load_state_dict(optimizer, state_dict)
    for hook in list(optimizer._load_state_dict_post_hooks):
        hook(optimizer)


def _has_step_hooks(optimizer):
    return bool(_global_step_pre_hooks or _global_step_post_hooks or optimizer._step_pre_hooks
                or optimizer._step_post_hooks)


_HOOK_RUNNERS = {"step": _step_with_hooks, "state_dict": _state_dict_with_hooks,
                 "load_state_dict": _load_state_dict_with_hooks}


def _runs_hooks(name):
    """Decorates an optimizer's ``name`` method (step, state_dict or load_state_dict) to run
    between its hooks. Only the outermost call on an optimizer runs them: an override that
    calls super() (LBFGS.load_state_dict, a user's step) and a hook that calls the method
    again run the method alone."""
    run = _HOOK_RUNNERS[name]

    def decorate(method):
        @functools.wraps(method)
        def with_hooks(self, *args, **kwargs):
            if name in self._running_hooks or name == "step" and not _has_step_hooks(self):
                return method(self, *args, **kwargs)  # no step hooks anywhere: the runner costs ~0.5 us a step
            self._running_hooks.add(name)
            try:
                return run(self, method, *args, **kwargs)
            finally:
                self._running_hooks.discard(name)

        with_hooks.runs_hooks = True
        return with_hooks
    return decorate


class Optimizer:
    """Base class: construct from an iterable of Tensors or of param-group dicts."""

    # The entries every non-empty per-parameter state holds (the others are made on demand;
    # an optimizer whose entries depend on the parameter says so in _required_state), which
    # load_state_dict checks for, so a state dict from another optimizer fails there.
    _state_keys = ()
    # The state entries that are one number, not an array like the parameter: CPU scalars of
    # scalar_state_dtype() (see _new_scalar), which keep that type when loaded (see _state_value).
    _scalar_state_keys = ("step",)
    # Whether step() has run since the first scheduler of this optimizer was made (scheduled): a
    # scheduler stepped before it warns, as PyTorch's does.
    stepped = False
    scheduled = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # An optimizer's own step (LBFGS's), state_dict or load_state_dict runs the hooks too.
        for name in _HOOK_RUNNERS:
            method = cls.__dict__.get(name)
            if inspect.isfunction(method) and not getattr(method, "runs_hooks", False):
                setattr(cls, name, _runs_hooks(name)(method))

    def __init__(self, params, defaults):
        self._step_pre_hooks, self._step_post_hooks = [], []
        self._state_dict_pre_hooks, self._state_dict_post_hooks = [], []
        self._load_state_dict_pre_hooks, self._load_state_dict_post_hooks = [], []
        self._running_hooks = set()  # the methods whose hooks are running (see _runs_hooks)
        self._check_group(defaults)
        self.defaults = dict(defaults)
        # The hyperparameters step() checks (see _check_group_types): this optimizer's one-number ones
        # (Adafactor's eps is a pair, which its own _check_types checks) and its pairs
        self._numeric_keys = tuple(key for key in _NUMERIC_HYPERPARAMETERS
                                   if key in defaults and not isinstance(defaults[key], _PLAIN_PAIRS))
        self._pair_keys = tuple(key for key in _PAIR_HYPERPARAMETERS if key in defaults)
        self.state = defaultdict(dict)
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors or of param-group "
                            "dicts, but got a single Tensor; pass [tensor] or model.parameters()")
        _refuse_set(type(self).__name__, params)
        if isinstance(params, dict):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors or of param-group "
                            "dicts, but got one dict; wrap it in a list: [{'params': ...}]")
        if isinstance(params, Module) or callable(params):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors or of param-group "
                            f"dicts, but got {'the model' if isinstance(params, Module) else 'a function'}; "
                            "pass model.parameters() (called)")
        groups = list(params)
        if not groups:
            # model.parameters() is a generator: a second optimizer (or a list()) given the same
            # one finds it used up, and the usual advice to pass model.parameters() misleads.
            used_up = ("; params is an iterator with nothing left in it: model.parameters() returns a "
                       "generator, which yields the parameters once, so if it was used before (by another "
                       "optimizer, or list()), call model.parameters() again here; else the model has no "
                       "parameters, or a filter left none"
                       if iter(params) is params else "; pass the parameters to optimize, e.g. model.parameters()")
            raise ValueError(f"{type(self).__name__} got an empty parameter list{used_up}")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # --- what each optimizer defines ---------------------------------------------------
    @staticmethod
    def _check_hyperparameters(hyper):
        """Raise ValueError for a hyperparameter value out of range, or inconsistent with another,
        in ``hyper`` (a new group or the defaults; their types are checked already). Not run
        on a loaded state dict, whose values a scheduler may have written (module docstring)."""

    def _check_parameter(self, index, param):
        """Raise for a parameter (number ``index`` of its group) that this optimizer cannot
        update, such as Muon's non-matrices; run after the checks every optimizer makes."""

    def _required_state(self, param):
        """The entries every non-empty state of ``param`` holds (see _state_keys)."""
        return self._state_keys

    def _state_shape(self, key, param):
        """The shape of state entry ``key`` of ``param``: the parameter's own, unless the
        optimizer keeps a factored state (Adafactor's row and column averages)."""
        return param.shape

    def _update_group(self, group, params):
        """Update ``params`` (the group's parameters that have a gradient) in place."""
        raise NotImplementedError(f"{type(self).__name__} must define _update_group(group, params)")

    def _check_group(self, hyper):
        """Check a new group's (or the defaults') hyperparameters: their types, then their values."""
        self._check_types(hyper)
        self._check_hyperparameters(hyper)

    def _check_types(self, hyper):
        """Check what any group must hold, loaded ones included: implementation switches
        topograd can run (see the module docstring) and hyperparameters of the right type."""
        name = type(self).__name__
        if hyper.get("differentiable"):
            raise ValueError(f"{name}: differentiable=True is not supported: topograd updates the parameters' "
                             "arrays in place, outside the graph, so a step cannot be differentiated through; "
                             "leave differentiable=False")
        if hyper.get("fused") and hyper.get("foreach"):
            raise ValueError(f"{name}: fused=True and foreach=True cannot be used together (PyTorch refuses "
                             "them too); pass at most one")
        for key in _NUMERIC_HYPERPARAMETERS:
            if key in hyper and not _is_number(hyper[key]):
                value = hyper[key]
                raise TypeError(f"{name}: {key} must be a number, got {type(value).__name__} {value!r}"
                                + ("; convert it with float() (a YAML reader may leave 1e-3 a string)"
                                   if isinstance(value, str) else ""))
        for key, holds in _PAIR_HYPERPARAMETERS.items():
            if key in hyper:
                pair = hyper[key]
                if not isinstance(pair, (tuple, list)) or not all(map(_is_number, pair)):
                    raise TypeError(f"{name}: {key} must be a pair of numbers {holds}, got {pair!r}")
                if len(pair) != 2:
                    raise ValueError(f"{name}: {key} must be a pair {holds}, got {pair!r}")

    # --- parameter groups ------------------------------------------------------------------
    def add_param_group(self, param_group):
        """Add a group of parameters with its own hyperparameters (missing ones take the
        defaults). Everything is checked first, so a rejected group changes nothing."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}.add_param_group: a param group must be a dict, not {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{name}.add_param_group: the group has no 'params' entry")
        params = param_group["params"]
        _refuse_set(name, params)
        params = [params] if isinstance(params, Tensor) else list(params)
        names = None
        if any(isinstance(p, tuple) for p in params):  # from named_parameters()
            if not all(isinstance(p, tuple) and len(p) == 2 for p in params):
                raise ValueError(f"{name}: give every parameter as a (name, tensor) pair or none of them")
            names = [n for n, _ in params]
            params = [p for _, p in params]
        seen = set()
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name} can only optimize Tensors, but parameter {i} is a {type(p).__name__}")
            if p.grad_fn is not None:
                raise ValueError(f"{name} can't optimize a non-leaf Tensor (parameter {i}); optimize the leaf "
                                 "it was computed from, or make one with .detach().requires_grad_()")
            if not dtypes.is_floating(p.dtype):
                raise TypeError(f"{name} can only optimize floating-point tensors, but parameter {i} is {p.dtype}")
            if id(p) in seen:
                raise ValueError(f"{name}: parameter {i} appears twice in the same group; list each parameter once")
            self._check_parameter(i, p)
            seen.add(id(p))
        for g_index, group in enumerate(self.param_groups):
            if any(id(p) in seen for p in group["params"]):
                raise ValueError(f"{name}: some parameters appear in more than one parameter group "
                                 f"(already in group {g_index}); put each parameter in one group only")
            if ("param_names" in group) != (names is not None):
                raise ValueError(f"{name}: all param groups must be given with names (named_parameters()) "
                                 "or all without")
        filled = dict(self.defaults)
        filled.update((k, v) for k, v in param_group.items() if k != "params")
        self._check_group(filled)
        # PyTorch appends the caller's dict itself, so later edits to it take effect.
        param_group.update(filled)
        param_group["params"] = params
        if names is not None:
            param_group["param_names"] = names
        self.param_groups.append(param_group)

    # --- hooks (see the module docstring) --------------------------------------------------------
    def register_step_pre_hook(self, hook):
        """Call ``hook(optimizer, args, kwargs)`` before each step, ``args`` starting with the
        optimizer; a returned ``(new_args, new_kwargs)`` is what step gets instead."""
        check_hook(f"{type(self).__name__}.register_step_pre_hook", hook)
        return HookHandle(self._step_pre_hooks, hook)

    def register_step_post_hook(self, hook):
        """Call ``hook(optimizer, args, kwargs)`` after each step, with the arguments step got."""
        check_hook(f"{type(self).__name__}.register_step_post_hook", hook)
        return HookHandle(self._step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook, prepend=False):
        """Call ``hook(optimizer)`` before state_dict() makes the dict; ``prepend`` runs it
        before the pre-hooks already registered."""
        check_hook(f"{type(self).__name__}.register_state_dict_pre_hook", hook)
        return HookHandle(self._state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend=False):
        """Call ``hook(optimizer, state_dict)`` on the dict state_dict() made; it may change the
        dict in place or return a new one, which state_dict() returns instead."""
        check_hook(f"{type(self).__name__}.register_state_dict_post_hook", hook)
        return HookHandle(self._state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend=False):
        """Call ``hook(optimizer, state_dict)`` before loading, with a shallow copy of the dict
        given; it may change it in place or return a new one, which is loaded instead."""
        check_hook(f"{type(self).__name__}.register_load_state_dict_pre_hook", hook)
        return HookHandle(self._load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend=False):
        """Call ``hook(optimizer)`` after load_state_dict() has loaded the state."""
        check_hook(f"{type(self).__name__}.register_load_state_dict_post_hook", hook)
        return HookHandle(self._load_state_dict_post_hooks, hook, prepend)

    # --- the update ----------------------------------------------------------------------------
    @_runs_hooks("step")
    def step(self, closure=None):
        """Update every parameter that has a gradient. ``closure``, if given, re-evaluates
        the model (with gradients on) and returns the loss, which step returns."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        where = f"{user_frame()} ({type(self).__name__}.step)"
        updates = [(group, [p for p in group["params"] if p.grad is not None]) for group in self.param_groups]
        self._check_group_types(updates)
        self._check_state_follows_params(updates)
        with no_grad():
            for group, params in updates:
                if not params:
                    continue
                self._update_group(group, params)
                for p in params:
                    # Like PyTorch, an update counts as an in-place change: backward through a
                    # graph recorded before the step then fails loudly instead of going wrong.
                    count_change(p, where)
        self.stepped = True
        return loss

    def _check_group_types(self, updates):
        """Refuse, before any update, a hyperparameter written into a group after it was
        checked (``param_groups[0]['lr'] = config['lr']``, a string from a YAML file): the
        updates' float() would read "1e-3" silently, or fail on None with Python's bare
        message. Plain floats, ints and tensors, what the constructor and schedulers write, and
        tuples or lists for the pairs, pass at the cost of a type look-up each; anything else
        gets the constructor's full check."""
        for group, params in updates:
            if params and not (all(type(group.get(key)) in _PLAIN_NUMBERS for key in self._numeric_keys)
                               and all(type(group.get(key)) in _PLAIN_PAIRS for key in self._pair_keys)):
                self._check_types(group)

    def _check_state_follows_params(self, updates):
        """Refuse, before any update, a step whose state was made for a parameter that
        has moved since (model.to(...) after a step): an update would mix devices or
        dtypes, and fail or round halfway through the parameters."""
        for g_index, (group, params) in enumerate(updates):
            for p in params:
                for key, value in self.state.get(p, {}).items():
                    if key not in self._scalar_state_keys and (value._backend is not p._backend
                                                               or value.data.dtype != p.data.dtype):
                        i = group["params"].index(p)
                        raise ValueError(
                            f"{type(self).__name__}.step: state {key!r} of parameter {i} (group {g_index}) is "
                            f"{value.dtype} on {value.device}, but the parameter is now {p.dtype} on {p.device}; "
                            "create the optimizer after model.to(...), or call "
                            "optimizer.load_state_dict(optimizer.state_dict()), which copies the state onto "
                            "each parameter's device and dtype")

    def zero_grad(self, set_to_none=True):
        """Drop every gradient (the default), or zero it in place with set_to_none=False."""
        zero_grads((p for group in self.param_groups for p in group["params"]), set_to_none)

    # --- state as plain data ------------------------------------------------------------------
    @_runs_hooks("state_dict")
    def state_dict(self):
        """``{'state': {index: {name: Tensor}}, 'param_groups': [{..., 'params': [index]}]}``,
        PyTorch's layout. The Tensors share memory with the live state, as in PyTorch."""
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state:
                    state[index[id(p)]] = dict(self.state[p])
        return {"state": state, "param_groups": groups}

    @_runs_hooks("load_state_dict")
    def load_state_dict(self, state_dict):
        """Restore hyperparameters and per-parameter state saved by state_dict() (from topograd
        or PyTorch). Values are copied onto each parameter's device and dtype ('step' stays a
        CPU scalar of scalar_state_dtype()); a None value (old PyTorch SGD saved {'momentum_buffer': None})
        counts as absent. Everything is checked before anything changes."""
        name = type(self).__name__
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups' "
                             "entries, as optimizer.state_dict() returns")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the saved state has {len(saved_groups)} parameter "
                             f"groups but this optimizer has {len(self.param_groups)}")
        if not isinstance(state_dict["state"], dict) or not all(isinstance(s, dict) for s in saved_groups) \
                or not all(isinstance(s, dict) for s in state_dict["state"].values()):
            raise ValueError(f"{name}.load_state_dict: 'state' must map parameter indices to dicts and "
                             "'param_groups' must be a list of dicts, as optimizer.state_dict() returns")
        by_index = {}
        for g_index, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            ids = saved.get("params")
            if ids is None or len(ids) != len(group["params"]):
                count = "no" if ids is None else len(ids)
                raise ValueError(f"{name}.load_state_dict: saved group {g_index} has {count} parameters but "
                                 f"this optimizer's group {g_index} has {len(group['params'])}")
            for i, p in zip(ids, group["params"]):
                if i in by_index:
                    raise ValueError(f"{name}.load_state_dict: parameter index {i} appears twice in the "
                                     "saved param_groups")
                by_index[i] = p
        new_state = defaultdict(dict)
        for i, values in state_dict["state"].items():
            if i not in by_index:
                raise ValueError(f"{name}.load_state_dict: the saved state refers to parameter {i!r}, which "
                                 "no saved param group lists")
            p = by_index[i]
            # None means "not made yet", as an absent entry does; the update makes it on demand.
            loaded = {key: _state_value(self, i, key, value, p, key in self._scalar_state_keys)
                      for key, value in values.items() if value is not None}
            if not loaded:
                continue
            missing = [key for key in self._required_state(p) if key not in loaded]
            if missing:
                raise ValueError(f"{name}.load_state_dict: the saved state of parameter {i} has no "
                                 f"{', '.join(map(repr, missing))}, which {name} keeps for every parameter it "
                                 f"has updated (it holds {sorted(loaded)}); was it saved by another optimizer?")
            new_state[p] = loaded
        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            merged = dict(group)  # hyperparameters the saved group lacks keep their current values
            merged.update((k, v) for k, v in saved.items() if k != "params")
            merged["params"] = group["params"]
            if "param_names" in group:
                merged["param_names"] = group["param_names"]
            # Types only: the values may be a scheduler's, out of the constructor's ranges (see
            # the module docstring); the optimizer stepped with them, so its checkpoint must load.
            self._check_types(merged)
            new_groups.append(merged)
        self.state = new_state
        self.param_groups = new_groups

    # --- helpers for subclasses -------------------------------------------------------------------
    @staticmethod
    def _zeros_like(p, fill=0):
        """A state tensor shaped and placed like parameter ``p``."""
        xp = p._backend.xp
        # float(): the Array API's full_like takes a Python number, not a NumPy scalar
        array = xp.zeros_like(p.data) if fill == 0 else xp.full_like(p.data, float(fill))
        return Tensor._make(array, p._backend)

    @staticmethod
    def _new_step():
        """The step counter: a CPU scalar of scalar_state_dtype(), as in PyTorch, so reading it
        never waits on a GPU."""
        return Tensor(0.0, device="cpu", dtype=scalar_state_dtype())

    @staticmethod
    def _new_scalar(value):
        """A per-parameter scalar state entry (NAdam's mu_product, ASGD's eta), kept as
        the step counter is, and rounded to its dtype as in PyTorch."""
        return Tensor(value, device="cpu", dtype=scalar_state_dtype())

    @staticmethod
    def _advance(step):
        """Add one to a step counter in place and return the new count as a Python float."""
        step.data += 1
        return float(step.data)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k not in ("params", "param_names")):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _state_value(optimizer, index, key, value, param, scalar):
    """One saved state value as a Tensor for ``param``: a fresh copy, never the saved array.
    Like PyTorch, every value but 'step' takes the parameter's dtype, integer ones included
    (an integer moment would otherwise stay integer and truncate every update). The other
    ``scalar`` entries (NAdam's mu_product, ASGD's eta and mu) stay CPU scalars of
    scalar_state_dtype(), as the update makes them, where PyTorch's loading casts them to the
    parameter's dtype: a float64 run resumed here continues exactly as the uninterrupted run
    would have."""
    name = type(optimizer).__name__
    host_xp = backends.get("cpu").xp
    host = value.numpy() if isinstance(value, Tensor) else host_xp.asarray(value)
    if scalar:
        if host.size != 1:
            raise ValueError(f"{name}.load_state_dict: {key!r} of parameter {index} must be one number, "
                             f"got shape {tuple(host.shape)}")
        return Tensor(float(host.reshape(())), device="cpu", dtype=scalar_state_dtype())
    if is_lazy(param):
        raise ValueError(f"{name}.load_state_dict: parameter {index} has no shape yet (an uninitialized "
                         "parameter of a Lazy module), so it cannot take the saved state; run one forward, or "
                         "load the model's state_dict, before loading the optimizer's state")
    shape = optimizer._state_shape(key, param)
    if tuple(host.shape) != shape:
        raise ValueError(f"{name}.load_state_dict: state {key!r} of parameter {index} has shape "
                         f"{tuple(host.shape)} but the parameter has shape {param.shape}"
                         + (f", for which {name} keeps {key!r} with shape {shape}" if shape != param.shape else ""))
    backend = param._backend
    array = backend.asarray(host_xp.asarray(host, dtype=param.dtype, copy=True), param.dtype)
    return Tensor._make(array, backend)


def scalar_state_dtype():
    """The dtype of the one-number state entries (step, NAdam's mu_product, ASGD's eta and mu):
    float64 under a float64 default dtype, float32 otherwise, PyTorch's rule. A float32
    mu_product in a float64 run moved each NAdam update by about 1e-8 relative."""
    return dtypes.float64 if get_default_dtype() == dtypes.float64 else dtypes.float32


def owned_copy(backend, array):
    """A copy of ``array`` that an update may change in place, from the backend's
    scratch memory where it has some (see Backend.scaled). Fresh temporaries the size
    of a parameter come from new pages of memory every step: a million-parameter
    Adam step took 3,072 page faults and 6.6 ms, against 1.6 ms for the hand-written
    floor, until its temporaries came from NumPy's pool."""
    return backend.scaled(array, 1)  # exact: x * 1 is x, signed zeros and NaNs included


def decayed_grad(backend, param, grad, weight_decay, maximize):
    """The gradient an update follows: negated for ``maximize``, plus ``weight_decay *
    param`` (L2), in PyTorch's order; ``grad`` itself, or a new value in scratch memory
    (never a change of the caller's .grad)."""
    if weight_decay == 0:
        return backend.scaled(grad, -1) if maximize else grad
    out = backend.scaled(param, weight_decay)
    if maximize:
        out -= grad  # -grad + param * weight_decay
    else:
        out += grad
    return out


def lerp_(backend, start, end, weight):
    """``start += weight * (end - start)`` in place, with PyTorch's two forms (the one
    anchored at ``end`` for weights >= 0.5 keeps the result exact at weight 1). float16
    goes through float32 and is rounded once, as PyTorch's lerp: end - start passes 65504
    where the result does not (a gradient of 6e4 after a momentum of -6e3), which made
    Adam's average inf and its update NaN."""
    if backend.canonical_dtype(start.dtype) == dtypes.float16:
        xp, wide = backend.xp, backend.native_dtype(dtypes.float32)
        widened = xp.astype(start, wide)
        lerp_(backend, widened, xp.astype(end, wide), weight)
        start[...] = xp.astype(widened, start.dtype)
        return
    if weight < 0.5:
        step = backend.difference(end, start)
        step *= weight
        start += step
    else:
        start -= end
        start *= 1 - weight
        start += end
