"""The op table: one row per primitive op (and per interesting calling form).

Each row names the op, how to draw its inputs (shapes, and a domain where the op
is smooth: log and sqrt on positive numbers, abs/relu/clip/max/min away from
their kinks and ties), a NumPy reference, and tolerances. Every row drives, on
every available backend (the ``device`` fixture, including the array-api-strict
guard): the forward pass against NumPy in float32 and float64, ag.gradcheck
and ag.gradgradcheck in float64, and, where PyTorch is installed, values and
gradients against PyTorch.
"""
import math
import zlib
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
import pytest

import autograd as ag

from tests.torch_versions import needs_torch


# --- input generators: rng -> float64 array ---------------------------------------------
def normal(*shape):
    return lambda rng: rng.standard_normal(shape)


def uniform(low, high, *shape):
    return lambda rng: rng.uniform(low, high, shape)


def away_from(points, *shape, margin=0.15, low=-2.0, high=2.0):
    """Uniform values at least ``margin`` from each of ``points`` (kinks, clip bounds)."""
    def draw(rng):
        x = rng.uniform(low, high, shape)
        while True:
            near = np.zeros(shape, dtype=bool)
            for p in points:
                near |= np.abs(x - p) < margin
            if not near.any():
                return x
            x[near] = rng.uniform(low, high, int(near.sum()))
    return draw


def distinct(*shape):
    """Values whose pairwise gaps are at least 0.1, so max/min never tie."""
    def draw(rng):
        n = int(np.prod(shape))
        return (rng.permutation(n) * 0.1 + rng.uniform(0, 0.01, n) - n * 0.05).reshape(shape)
    return draw


@dataclass(frozen=True)
class Op:
    name: str
    fn: Callable                     # ag tensors -> Tensor (or a tuple/list of them)
    ref: Callable                    # NumPy arrays -> array (or tuple/list)
    inputs: tuple                    # generators, one per (differentiable) input
    torch: Optional[Callable] = None  # (torch, *torch tensors) -> tensor (or tuple)
    rtol32: float = 2e-5             # float32 forward tolerance (float64 uses 1e-10)
    check: dict = field(default_factory=dict)  # extra gradcheck/gradgradcheck arguments

    def __repr__(self):
        return self.name


def draw_inputs(op):
    rng = np.random.default_rng(zlib.crc32(op.name.encode()))
    return [gen(rng) for gen in op.inputs]


# --- constants some rows close over (fixed, so every run sees the same ones) ----------------
_rng = np.random.default_rng(1234)
CONDITION = _rng.random((2, 3)) > 0.5
REPEATED = np.array([0, 2, 0, 3, 2])
MASK = np.array([[True, False, True], [False, False, True], [True, True, False], [False, True, True]])
ROW_INDEX, COL_INDEX = np.array([[0, 1], [3, 3]]), np.array([[2, 2], [0, 1]])


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis) if axis is not None else out.reshape(())


def _torch_index(torch, index):
    parts = index if isinstance(index, tuple) else (index,)
    return tuple(torch.as_tensor(p) if isinstance(p, np.ndarray) else p for p in parts)


def _torch_dims(axis):
    return tuple(range(3)) if axis is None else axis


# --- the table --------------------------------------------------------------------------
UNARY = [
    Op("neg", lambda x: -x, lambda x: -x, (normal(2, 3),), lambda t, x: -x),
    Op("exp", ag.exp, np.exp, (normal(2, 3),), lambda t, x: t.exp(x)),
    Op("log", ag.log, np.log, (uniform(0.3, 3, 2, 3),), lambda t, x: t.log(x)),
    Op("log1p", ag.log1p, np.log1p, (uniform(-0.5, 3, 2, 3),), lambda t, x: t.log1p(x)),
    Op("sqrt", ag.sqrt, np.sqrt, (uniform(0.3, 3, 2, 3),), lambda t, x: t.sqrt(x)),
    Op("abs", ag.abs, np.abs, (away_from([0], 2, 3),), lambda t, x: t.abs(x)),
    Op("sign", ag.sign, np.sign, (away_from([0], 2, 3),), lambda t, x: t.sign(x)),
    Op("sin", ag.sin, np.sin, (normal(2, 3),), lambda t, x: t.sin(x)),
    Op("cos", ag.cos, np.cos, (normal(2, 3),), lambda t, x: t.cos(x)),
    Op("tanh", ag.tanh, np.tanh, (normal(2, 3),), lambda t, x: t.tanh(x)),
    Op("sigmoid", ag.sigmoid, _sigmoid, (normal(2, 3),), lambda t, x: t.sigmoid(x)),
    Op("sigmoid_large", ag.sigmoid, _sigmoid, (uniform(-40, 40, 7),), lambda t, x: t.sigmoid(x)),
    Op("relu", ag.relu, lambda x: np.maximum(x, 0), (away_from([0], 2, 3),), lambda t, x: t.relu(x)),
    Op("clip", lambda x: ag.clip(x, -0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7),
       (away_from([-0.5, 0.7], 3, 4),), lambda t, x: t.clamp(x, -0.5, 0.7)),
    Op("clip_min_only", lambda x: x.clip(min=0.2), lambda x: np.clip(x, 0.2, None),
       (away_from([0.2], 3, 4),), lambda t, x: t.clamp(x, min=0.2)),
    Op("positive", lambda x: ag.positive(x) * 1.5, lambda x: np.positive(x) * 1.5, (normal(2, 3),),
       lambda t, x: t.positive(x) * 1.5),
    Op("clone", lambda x: ag.clone(x) * 1.5, lambda x: x.copy() * 1.5, (normal(2, 3),),
       lambda t, x: t.clone(x) * 1.5),
    Op("astype", lambda x: x.astype("float32").astype(ag.float64),
       lambda x: x.astype(np.float32).astype(np.float64), (normal(2, 3),),
       lambda t, x: x.float().double(), check=dict(eps=1e-3, atol=1e-3)),
]

BINARY = [
    Op("add", lambda a, b: a + b, np.add, (normal(2, 3), normal(3)), lambda t, a, b: a + b),
    Op("add_scalar_left", lambda a: 2.5 + a, lambda a: 2.5 + a, (normal(2, 3),), lambda t, a: 2.5 + a),
    Op("sub", lambda a, b: a - b, np.subtract, (normal(3, 1), normal(4)), lambda t, a, b: a - b),
    Op("sub_scalar_left", lambda a: 1.5 - a, lambda a: 1.5 - a, (normal(2, 3),), lambda t, a: 1.5 - a),
    Op("mul", lambda a, b: a * b, np.multiply, (normal(2, 1, 3), normal(4, 1)), lambda t, a, b: a * b),
    Op("div", lambda a, b: a / b, np.divide, (normal(2, 3), away_from([0], 2, 1, margin=0.4)),
       lambda t, a, b: a / b),
    Op("div_scalar_left", lambda b: 2.0 / b, lambda b: 2.0 / b, (away_from([0], 5, margin=0.4),),
       lambda t, b: 2.0 / b),
    Op("pow_tensor_tensor", lambda a, b: a ** b, np.power, (uniform(0.5, 2, 2, 3), normal(3)),
       lambda t, a, b: a ** b),
    Op("pow_tensor_int", lambda a: a ** 3, lambda a: a ** 3, (normal(2, 3),), lambda t, a: a ** 3),
    Op("pow_tensor_float", lambda a: a ** 2.5, lambda a: a ** 2.5, (uniform(0.5, 2, 2, 3),),
       lambda t, a: a ** 2.5),
    Op("pow_scalar_tensor", lambda b: 2.0 ** b, lambda b: 2.0 ** b, (normal(2, 3),), lambda t, b: 2.0 ** b),
    Op("copysign", ag.copysign, np.copysign, (away_from([0], 2, 3), away_from([0], 3)),
       lambda t, a, b: t.copysign(a, b)),
    Op("copysign_scalar", lambda a: ag.copysign(a, -1.0), lambda a: np.copysign(a, -1.0), (away_from([0], 2, 3),),
       lambda t, a: t.copysign(a, -1.0)),
    Op("maximum", ag.maximum, np.maximum, (normal(2, 3), normal(3)), lambda t, a, b: t.maximum(a, b)),
    Op("minimum", ag.minimum, np.minimum, (normal(2, 3), normal(2, 1)), lambda t, a, b: t.minimum(a, b)),
    Op("where", lambda a, b: ag.where(CONDITION, a, b), lambda a, b: np.where(CONDITION, a, b),
       (normal(2, 3), normal(3)), lambda t, a, b: t.where(t.as_tensor(CONDITION), a, b)),
    Op("where_tensor_condition", lambda a: ag.where(a > 0.1, a, -a * 2),
       lambda a: np.where(a > 0.1, a, -a * 2), (away_from([0.1], 2, 3),),
       lambda t, a: t.where(a > 0.1, a, -a * 2)),
]



def _special(fn):
    """A NumPy reference from a scalar function of math (erf, erfc), keeping the dtype."""
    return lambda x: np.vectorize(fn, otypes=[x.dtype])(x)


def near_multiples(step, offset, *shape, spread=0.02, low=-2.0, high=2.0):
    """Values within ``spread`` of offset + k * step: away from a step function's jumps
    (the whole numbers for floor, the halves for round)."""
    return lambda rng: (np.round(rng.uniform(low, high, shape) / step) * step + offset
                        + rng.uniform(-spread, spread, shape))


# --- trigonometric and hyperbolic (ops/trigonometric.py) ---
TRIGONOMETRIC = [
    Op("tan", ag.tan, np.tan, (uniform(-1.2, 1.2, 2, 3),), lambda t, x: t.tan(x)),
    Op("arcsin", ag.arcsin, np.arcsin, (uniform(-0.9, 0.9, 2, 3),), lambda t, x: t.asin(x)),
    Op("arccos", lambda x: x.arccos(), np.arccos, (uniform(-0.9, 0.9, 2, 3),), lambda t, x: t.acos(x)),
    Op("arctan", ag.atan, np.arctan, (normal(2, 3),), lambda t, x: t.atan(x)),
    Op("arctan2", ag.arctan2, np.arctan2, (normal(2, 3), away_from([0], 3, margin=0.3)),
       lambda t, a, b: t.atan2(a, b)),
    Op("arctan2_scalar_left", lambda b: ag.atan2(0.5, b), lambda b: np.arctan2(0.5, b),
       (away_from([0], 2, 3, margin=0.3),), lambda t, b: t.atan2(t.tensor(0.5, dtype=b.dtype), b)),
    Op("sinh", ag.sinh, np.sinh, (normal(2, 3),), lambda t, x: t.sinh(x)),
    Op("cosh", lambda x: x.cosh(), np.cosh, (normal(2, 3),), lambda t, x: t.cosh(x)),
    Op("arcsinh", ag.arcsinh, np.arcsinh, (normal(2, 3),), lambda t, x: t.asinh(x)),
    Op("arccosh", ag.acosh, np.arccosh, (uniform(1.2, 4, 2, 3),), lambda t, x: t.acosh(x)),
    Op("arctanh", ag.arctanh, np.arctanh, (uniform(-0.8, 0.8, 2, 3),), lambda t, x: t.atanh(x)),
]

# --- exponentials, logarithms and relatives (ops/exponential.py) ---
EXPONENTIAL = [
    Op("exp2", ag.exp2, np.exp2, (normal(2, 3),), lambda t, x: t.exp2(x)),
    Op("expm1", lambda x: x.expm1(), np.expm1, (normal(2, 3),), lambda t, x: t.expm1(x)),
    Op("log2", ag.log2, np.log2, (uniform(0.3, 3, 2, 3),), lambda t, x: t.log2(x)),
    Op("log10", ag.log10, np.log10, (uniform(0.3, 3, 2, 3),), lambda t, x: t.log10(x)),
    Op("logaddexp", ag.logaddexp, np.logaddexp, (normal(2, 3), normal(3)), lambda t, a, b: t.logaddexp(a, b)),
    Op("logaddexp_wide", lambda a, b: a.logaddexp(b), np.logaddexp, (uniform(-30, 30, 7), uniform(-30, 30, 7)),
       lambda t, a, b: t.logaddexp(a, b)),
    Op("square", ag.square, np.square, (normal(2, 3),), lambda t, x: t.square(x)),
    Op("reciprocal", lambda x: x.reciprocal(), np.reciprocal, (away_from([0], 2, 3, margin=0.4),),
       lambda t, x: t.reciprocal(x)),
    Op("hypot", ag.hypot, np.hypot, (normal(2, 3), normal(2, 1)), lambda t, a, b: t.hypot(a, b)),
    Op("erf", ag.erf, _special(math.erf), (uniform(-3, 3, 2, 5),), lambda t, x: t.erf(x)),
    Op("erfc", lambda x: x.erfc(), _special(math.erfc), (uniform(-3, 6, 2, 5),), lambda t, x: t.erfc(x)),
]

# --- rounding and the parts of a division (ops/rounding.py); steps have zero gradients ---
ROUNDING = [
    Op("floor", ag.floor, np.floor, (near_multiples(1, 0.5, 2, 3, spread=0.4),), lambda t, x: t.floor(x)),
    Op("ceil", lambda x: x.ceil(), np.ceil, (near_multiples(1, 0.5, 2, 3, spread=0.4),), lambda t, x: t.ceil(x)),
    Op("trunc", ag.trunc, np.trunc, (near_multiples(1, 0.5, 2, 3, spread=0.4),), lambda t, x: t.trunc(x)),
    Op("round", ag.round, np.round, (near_multiples(1, 0, 2, 3, spread=0.4),), lambda t, x: t.round(x)),
    Op("round-decimals=2", lambda x: x.round(2), lambda x: np.round(x, 2),
       (near_multiples(0.01, 0, 2, 3, spread=0.004),), lambda t, x: t.round(x, decimals=2), check=dict(eps=1e-4)),
    Op("round-decimals=-1", lambda x: ag.round(x, -1), lambda x: np.round(x, -1),
       (near_multiples(10, 0, 2, 3, spread=4, low=-40, high=40),), lambda t, x: t.round(x, decimals=-1)),
    Op("fmod", ag.fmod, np.fmod, (uniform(-5, 5, 2, 3), away_from([0], 3, margin=0.5)), lambda t, a, b: t.fmod(a, b)),
    Op("remainder", ag.remainder, np.remainder, (uniform(-5, 5, 2, 3), away_from([0], 2, 1, margin=0.5)),
       lambda t, a, b: t.remainder(a, b)),
    Op("remainder_operator", lambda a: a % 1.5, lambda a: np.remainder(a, 1.5), (uniform(-5, 5, 2, 3),),
       lambda t, a: a % 1.5),
    Op("remainder_scalar_left", lambda b: 5.0 % b, lambda b: np.remainder(5.0, b), (away_from([0], 2, 3, margin=0.5),),
       lambda t, b: t.tensor(5.0, dtype=b.dtype) % b),  # (PyTorch's scalar % tensor has no gradient)
    # PyTorch's floor_divide has no gradient; its div(rounding_mode="floor"), the same values, has zero
    Op("floor_divide", ag.floor_divide, np.floor_divide, (uniform(-5, 5, 2, 3), away_from([0], 3, margin=0.5)),
       lambda t, a, b: t.div(a, b, rounding_mode="floor")),
    Op("floor_divide_operator", lambda a, b: a // b, np.floor_divide,
       (uniform(-5, 5, 2, 3), away_from([0], 3, margin=0.5)), lambda t, a, b: t.div(a, b, rounding_mode="floor")),
]

# --- NaN and the infinities (ops/nonfinite.py): finite inputs here; the rest in test_elementary_math_against_torch ---
NONFINITE = [
    Op("nan_to_num", lambda x: ag.nan_to_num(x * 2), lambda x: np.nan_to_num(x * 2), (normal(2, 3),),
       lambda t, x: t.nan_to_num(x * 2)),
]

AXES = [(None, False), (None, True), (1, False), (-1, True), ((0, 2), False), ((0, -1), True)]


def _reduction_rows(name, fn, ref, torch_fn, gen):
    rows = []
    for axis, keepdims in AXES:
        axis_text = str(axis).replace(" ", "").strip("()")
        rows.append(Op(f"{name}-axis={axis_text}-keepdims={keepdims}",
                       lambda x, axis=axis, keepdims=keepdims: fn(x, axis, keepdims),
                       lambda x, axis=axis, keepdims=keepdims: ref(x, axis, keepdims),
                       (gen(2, 3, 4),),
                       lambda t, x, axis=axis, keepdims=keepdims: torch_fn(t, x, _torch_dims(axis), keepdims)))
    return rows


REDUCTIONS = (
    _reduction_rows("sum", lambda x, a, k: x.sum(axis=a, keepdims=k), lambda x, a, k: np.sum(x, a, keepdims=k),
                    lambda t, x, a, k: t.sum(x, dim=a, keepdim=k), normal)
    + _reduction_rows("mean", lambda x, a, k: ag.mean(x, a, k), lambda x, a, k: np.mean(x, a, keepdims=k),
                      lambda t, x, a, k: t.mean(x, dim=a, keepdim=k), normal)
    + _reduction_rows("max", lambda x, a, k: x.max(a, k), lambda x, a, k: np.max(x, a, keepdims=k),
                      lambda t, x, a, k: t.amax(x, dim=a, keepdim=k), distinct)
    + _reduction_rows("min", lambda x, a, k: ag.min(x, a, k), lambda x, a, k: np.min(x, a, keepdims=k),
                      lambda t, x, a, k: t.amin(x, dim=a, keepdim=k), distinct)
    + _reduction_rows("var", lambda x, a, k: x.var(a, keepdims=k), lambda x, a, k: np.var(x, a, keepdims=k),
                      lambda t, x, a, k: t.var(x, dim=a, keepdim=k, correction=0), normal)
    + _reduction_rows("var_ddof1", lambda x, a, k: ag.var(x, a, ddof=1, keepdims=k),
                      lambda x, a, k: np.var(x, a, ddof=1, keepdims=k),
                      lambda t, x, a, k: t.var(x, dim=a, keepdim=k, correction=1), normal)
    + _reduction_rows("std", lambda x, a, k: ag.std(x, a, keepdims=k), lambda x, a, k: np.std(x, a, keepdims=k),
                      lambda t, x, a, k: t.std(x, dim=a, keepdim=k, correction=0), normal)
    + _reduction_rows("std_ddof1", lambda x, a, k: x.std(a, ddof=1, keepdims=k),
                      lambda x, a, k: np.std(x, a, ddof=1, keepdims=k),
                      lambda t, x, a, k: t.std(x, dim=a, keepdim=k, correction=1), normal)
    + _reduction_rows("logsumexp", lambda x, a, k: ag.logsumexp(x, a, k), _logsumexp,
                      lambda t, x, a, k: t.logsumexp(x, dim=a, keepdim=k), normal)
)

SHAPE = [
    Op("reshape", lambda x: x.reshape(3, -1), lambda x: x.reshape(3, -1), (normal(2, 3, 2),),
       lambda t, x: x.reshape(3, -1)),
    Op("reshape_tuple", lambda x: ag.reshape(x, (-1,)), lambda x: x.reshape(-1), (normal(2, 3),),
       lambda t, x: x.reshape(-1)),
    Op("transpose", lambda x: x.transpose(), lambda x: x.T, (normal(2, 3, 4),), lambda t, x: x.permute(2, 1, 0)),
    Op("transpose_axes", lambda x: ag.transpose(x, (1, 2, 0)), lambda x: np.transpose(x, (1, 2, 0)),
       (normal(2, 3, 4),), lambda t, x: x.permute(1, 2, 0)),
    Op("T", lambda x: x.T, lambda x: x.T, (normal(2, 3),), lambda t, x: x.T),
    Op("flatten", ag.flatten, lambda x: x.reshape(-1), (normal(2, 3, 2),), lambda t, x: t.flatten(x)),
    Op("flatten_range", lambda x: x.flatten(1, 2), lambda x: x.reshape(2, 6, 2), (normal(2, 3, 2, 2),),
       lambda t, x: t.flatten(x, 1, 2)),
    Op("squeeze", ag.squeeze, np.squeeze, (normal(1, 3, 1),), lambda t, x: x.squeeze()),
    Op("squeeze_axis", lambda x: x.squeeze(-1), lambda x: np.squeeze(x, -1), (normal(1, 3, 1),),
       lambda t, x: x.squeeze(-1)),
    Op("expand_dims", lambda x: ag.expand_dims(x, 1), lambda x: np.expand_dims(x, 1), (normal(2, 3),),
       lambda t, x: x.unsqueeze(1)),
    Op("expand_dims_negative", lambda x: x.expand_dims(-1), lambda x: np.expand_dims(x, -1), (normal(2, 3),),
       lambda t, x: x.unsqueeze(-1)),
    Op("broadcast_to", lambda x: ag.broadcast_to(x, (4, 2, 3)), lambda x: np.broadcast_to(x, (4, 2, 3)),
       (normal(2, 1),), lambda t, x: x.expand(4, 2, 3)),
    Op("broadcast_arrays", lambda a, b: ag.broadcast_arrays(a, b), lambda a, b: list(np.broadcast_arrays(a, b)),
       (normal(2, 1), normal(4, 1, 3)), lambda t, a, b: list(t.broadcast_tensors(a, b))),
    Op("permute_dims", lambda x: ag.permute_dims(x, (1, 2, 0)), lambda x: np.permute_dims(x, (1, 2, 0)),
       (normal(2, 3, 4),), lambda t, x: t.permute(x, (1, 2, 0))),
    Op("matrix_transpose", ag.matrix_transpose, np.matrix_transpose, (normal(2, 3, 4),), lambda t, x: x.mT),
    Op("swapaxes", lambda x: ag.swapaxes(x, 0, -1), lambda x: np.swapaxes(x, 0, -1), (normal(2, 3, 4),),
       lambda t, x: x.transpose(0, -1)),
    Op("sum_to", lambda x: ag.sum_to(x, (3, 1)), lambda x: x.sum(0).sum(-1, keepdims=True), (normal(2, 3, 4),),
       lambda t, x: x.sum(0).sum(-1, keepdim=True)),
    Op("concat", lambda a, b, c: ag.concat([a, b, c], axis=1), lambda a, b, c: np.concatenate([a, b, c], 1),
       (normal(2, 1), normal(2, 3), normal(2, 2)), lambda t, a, b, c: t.cat([a, b, c], 1)),
    Op("concat_negative_axis", lambda a, b: ag.concat([a, b], axis=-2), lambda a, b: np.concatenate([a, b], -2),
       (normal(2, 3), normal(1, 3)), lambda t, a, b: t.cat([a, b], -2)),
    Op("stack", lambda a, b: ag.stack([a, b], axis=1), lambda a, b: np.stack([a, b], 1),
       (normal(2, 3), normal(2, 3)), lambda t, a, b: t.stack([a, b], 1)),
    Op("stack_last", lambda a, b: ag.stack([a, b], axis=-1), lambda a, b: np.stack([a, b], -1),
       (normal(2, 3), normal(2, 3)), lambda t, a, b: t.stack([a, b], -1)),
    Op("split_sections", lambda x: ag.split(x, 3, axis=1), lambda x: np.split(x, 3, 1), (normal(2, 6),),
       lambda t, x: t.tensor_split(x, 3, 1)),
    Op("split_offsets", lambda x: x.split([1, 3], axis=0), lambda x: np.split(x, [1, 3], 0), (normal(5, 2),),
       lambda t, x: t.tensor_split(x, [1, 3], 0)),
    Op("split_one_piece_used", lambda x: ag.split(x, 2)[1] * 3, lambda x: np.split(x, 2)[1] * 3, (normal(4, 2),),
       lambda t, x: t.tensor_split(x, 2)[1] * 3),
]


def _getitem_row(name, index, shape=(4, 3)):
    return Op(f"getitem-{name}", lambda x: x[index], lambda x: x[index], (normal(*shape),),
              lambda t, x: x[_torch_index(t, index)])


INDEXING = [
    _getitem_row("int", 2),
    _getitem_row("negative_int", (-1, 1)),
    _getitem_row("slice", slice(1, 3)),
    _getitem_row("slice_step", (slice(None), slice(0, 3, 2))),
    Op("getitem-negative_step", lambda x: x[::-2], lambda x: x[::-2], (normal(5, 2),),
       lambda t, x: x.flip(0)[::2]),  # PyTorch has no negative steps
    _getitem_row("none", (None, slice(1, None), None)),
    _getitem_row("ellipsis", (Ellipsis, 1), shape=(2, 3, 4)),
    _getitem_row("ellipsis_none", (0, Ellipsis, None), shape=(2, 3, 4)),
    _getitem_row("int_array_repeated", REPEATED),
    _getitem_row("int_array_and_slice", (REPEATED, slice(1, None))),
    _getitem_row("two_int_arrays", (ROW_INDEX, COL_INDEX)),
    _getitem_row("bool_mask", MASK),
    _getitem_row("row_mask", np.array([True, False, True, True])),
    _getitem_row("list", [3, 1, 1]),
    Op("getitem-tensor_index", lambda x: x[ag.tensor(REPEATED)], lambda x: x[REPEATED], (normal(4, 3),),
       lambda t, x: x[t.as_tensor(REPEATED)]),
]

def _einsum_row(name, spec, *shapes):
    return Op(f"einsum_{name}", lambda *xs: ag.einsum(spec, *xs), lambda *xs: np.einsum(spec, *xs),
              tuple(normal(*shape) for shape in shapes), lambda t, *xs: t.einsum(spec, *xs))


LINALG = [
    Op("matmul_1d_1d", lambda a, b: a @ b, np.matmul, (normal(4), normal(4)), lambda t, a, b: a @ b),
    Op("matmul_1d_2d", ag.matmul, np.matmul, (normal(3), normal(3, 2)), lambda t, a, b: a @ b),
    Op("matmul_2d_1d", ag.matmul, np.matmul, (normal(2, 3), normal(3)), lambda t, a, b: a @ b),
    Op("matmul_2d", lambda a, b: a.matmul(b), np.matmul, (normal(2, 3), normal(3, 4)), lambda t, a, b: a @ b),
    Op("matmul_batched_broadcast", ag.matmul, np.matmul, (normal(2, 1, 2, 3), normal(3, 3, 2)),
       lambda t, a, b: a @ b),
    Op("matmul_batched_2d", ag.matmul, np.matmul, (normal(2, 2, 3), normal(3, 2)), lambda t, a, b: a @ b),
    Op("matmul_1d_batched", ag.matmul, np.matmul, (normal(3), normal(2, 3, 2)), lambda t, a, b: a @ b),
    Op("einsum_matmul", lambda a, b: ag.einsum("ij,jk->ik", a, b), lambda a, b: np.einsum("ij,jk->ik", a, b),
       (normal(2, 3), normal(3, 4)), lambda t, a, b: t.einsum("ij,jk->ik", a, b)),
    Op("einsum_implicit", lambda a, b: ag.einsum("ij,jk", a, b), lambda a, b: np.einsum("ij,jk", a, b),
       (normal(2, 3), normal(3, 4)), lambda t, a, b: t.einsum("ij,jk", a, b)),
    Op("einsum_batch", lambda a, b: ag.einsum("bij,bjk->bik", a, b), lambda a, b: np.einsum("bij,bjk->bik", a, b),
       (normal(2, 2, 3), normal(2, 3, 2)), lambda t, a, b: t.einsum("bij,bjk->bik", a, b)),
    Op("einsum_reduce", lambda a: ag.einsum("ijk->j", a), lambda a: np.einsum("ijk->j", a), (normal(2, 3, 2),),
       lambda t, a: t.einsum("ijk->j", a)),
    Op("einsum_reduce_pair", lambda a, b: ag.einsum("ij,ik->k", a, b), lambda a, b: np.einsum("ij,ik->k", a, b),
       (normal(2, 3), normal(2, 4)), lambda t, a, b: t.einsum("ij,ik->k", a, b)),
    Op("einsum_outer", lambda a, b: ag.einsum("i,j->ij", a, b), lambda a, b: np.einsum("i,j->ij", a, b),
       (normal(3), normal(4)), lambda t, a, b: t.einsum("i,j->ij", a, b)),
    Op("einsum_ellipsis", lambda a, b: ag.einsum("...ij,...jk->...ik", a, b),
       lambda a, b: np.einsum("...ij,...jk->...ik", a, b), (normal(2, 2, 3), normal(2, 3, 2)),
       lambda t, a, b: t.einsum("...ij,...jk->...ik", a, b)),
    Op("einsum_ellipsis_broadcast", lambda a, b: ag.einsum("...ij,...jk->...ik", a, b),
       lambda a, b: np.einsum("...ij,...jk->...ik", a, b), (normal(2, 1, 2, 3), normal(4, 3, 2)),
       lambda t, a, b: t.einsum("...ij,...jk->...ik", a, b)),
    Op("einsum_three", lambda a, b, c: ag.einsum("ij,jk,k->i", a, b, c),
       lambda a, b, c: np.einsum("ij,jk,k->i", a, b, c), (normal(2, 3), normal(3, 4), normal(4)),
       lambda t, a, b, c: t.einsum("ij,jk,k->i", a, b, c)),
    _einsum_row("diagonal", "ii->i", (3, 3)),
    _einsum_row("trace", "ii->", (3, 3)),
    _einsum_row("batch_diagonal", "...ii->...i", (2, 3, 3)),
    _einsum_row("diagonal_of_a_pair", "ij,jj->i", (2, 3), (3, 3)),
    _einsum_row("diagonal_kept_apart", "iji->j", (2, 3, 2)),
    _einsum_row("size_one_broadcast", "ij,jk->k", (2, 1), (3, 4)),
]

# --- rearranging and gathering -----------------------------------------------------------------
TAKE_INDEX = np.array([[0, 2, 2], [1, 0, 1]])  # repeated indices: their gradients add up
REARRANGE = [
    Op("flip", ag.flip, np.flip, (normal(2, 3),), lambda t, x: t.flip(x, (0, 1))),
    Op("flip-axis=-1", lambda x: x.flip(-1), lambda x: np.flip(x, -1), (normal(2, 3, 4),), lambda t, x: t.flip(x, (-1,))),
    Op("roll", lambda x: ag.roll(x, 2, 1), lambda x: np.roll(x, 2, 1), (normal(2, 5),), lambda t, x: t.roll(x, 2, 1)),
    Op("roll-axis=None", lambda x: x.roll(-4), lambda x: np.roll(x, -4), (normal(2, 3),), lambda t, x: t.roll(x, -4)),
    Op("roll-two-axes", lambda x: ag.roll(x, (1, -1), (0, 2)), lambda x: np.roll(x, (1, -1), (0, 2)),
       (normal(3, 2, 4),), lambda t, x: t.roll(x, (1, -1), (0, 2))),
    Op("moveaxis", lambda x: ag.moveaxis(x, 0, -1), lambda x: np.moveaxis(x, 0, -1), (normal(2, 3, 4),),
       lambda t, x: t.movedim(x, 0, -1)),
    Op("unstack", lambda x: ag.unstack(x, 1), lambda x: tuple(np.moveaxis(x, 1, 0)), (normal(2, 3),),
       lambda t, x: t.unbind(x, 1)),
    Op("tile", lambda x: ag.tile(x, (2, 1, 3)), lambda x: np.tile(x, (2, 1, 3)), (normal(2, 3),),
       lambda t, x: x.repeat(2, 1, 3)),
    Op("repeat", lambda x: ag.repeat(x, 2, 1), lambda x: np.repeat(x, 2, 1), (normal(2, 3),),
       lambda t, x: t.repeat_interleave(x, 2, 1)),
    Op("repeat-counts-axis=None", lambda x: x.repeat([1, 0, 3, 2]), lambda x: np.repeat(x, [1, 0, 3, 2]),
       (normal(2, 2),), lambda t, x: t.repeat_interleave(x.reshape(-1), t.tensor([1, 0, 3, 2]))),
    Op("meshgrid", lambda a, b: ag.meshgrid(a, b), lambda a, b: np.meshgrid(a, b), (normal(3), normal(4)),
       lambda t, a, b: t.meshgrid(a, b, indexing="xy")),
    Op("meshgrid-ij", lambda a, b, c: ag.meshgrid(a, b, c, indexing="ij"),
       lambda a, b, c: np.meshgrid(a, b, c, indexing="ij"), (normal(2), normal(3), normal(2)),
       lambda t, a, b, c: t.meshgrid(a, b, c, indexing="ij")),
    Op("take_along_axis", lambda x: ag.take_along_axis(x, ag.tensor(TAKE_INDEX), 1),
       lambda x: np.take_along_axis(x, TAKE_INDEX, 1), (normal(2, 4),),
       lambda t, x: t.take_along_dim(x, t.tensor(TAKE_INDEX), 1)),
    Op("take", lambda x: ag.take(x, ag.tensor(TAKE_INDEX)), lambda x: np.take(x, TAKE_INDEX), (normal(2, 2),),
       lambda t, x: t.take(x, t.tensor(TAKE_INDEX))),
    Op("take-axis=0", lambda x: x.take(ag.tensor([2, 0, 2]), 0), lambda x: np.take(x, [2, 0, 2], 0), (normal(3, 2),),
       lambda t, x: x[t.tensor([2, 0, 2])]),
    Op("roll-repeated-axis", lambda x: ag.roll(x, (1, 3, -1), (1, -1, 0)), lambda x: np.roll(x, (1, 3, -1), (1, -1, 0)),
       (normal(3, 4),), lambda t, x: t.roll(x, (1, 3, -1), (1, -1, 0))),
    Op("repeat-axis=0", lambda x: ag.repeat(x, 3, 0), lambda x: np.repeat(x, 3, 0), (normal(2, 3),),
       lambda t, x: t.repeat_interleave(x, 3, 0)),
    Op("repeat-many", lambda x: x.repeat(20, -1), lambda x: np.repeat(x, 20, -1), (normal(2, 2),),  # summed, not sliced
       lambda t, x: t.repeat_interleave(x, 20, -1)),
    Op("take_along_axis-broadcast", lambda x: ag.take_along_axis(x, ag.tensor([[[0, -1, 1, 0]]]), 1),
       lambda x: np.take_along_axis(x, np.array([[[0, -1, 1, 0]]]), 1), (normal(2, 3, 4),),
       lambda t, x: t.take_along_dim(x, t.tensor([[[0, 2, 1, 0]]]), 1)),
    Op("take-axis=1", lambda x: ag.take(x, ag.tensor([[1, 1], [0, 2]]), 1),
       lambda x: np.take(x, [[1, 1], [0, 2]], 1), (normal(2, 3),), lambda t, x: x[:, t.tensor([[1, 1], [0, 2]])]),
]


# --- products beyond matmul, and parts of matrices ----------------------------------------------
MATRIX_PARTS = [
    Op("outer", ag.outer, np.outer, (normal(3), normal(4)), lambda t, a, b: t.outer(a, b)),
    Op("tensordot", ag.tensordot, np.tensordot, (normal(2, 3, 4), normal(3, 4, 2)),
       lambda t, a, b: t.tensordot(a, b)),
    Op("tensordot-axes=pairs", lambda a, b: ag.tensordot(a, b, ([2, 0], [0, 1])),
       lambda a, b: np.tensordot(a, b, ([2, 0], [0, 1])), (normal(2, 3, 4), normal(4, 2, 5)),
       lambda t, a, b: t.tensordot(a, b, ([2, 0], [0, 1]))),
    Op("tensordot-axes=0", lambda a, b: ag.tensordot(a, b, 0), lambda a, b: np.tensordot(a, b, 0),
       (normal(2, 3), normal(2)), lambda t, a, b: t.tensordot(a, b, 0)),
    Op("tril", ag.tril, np.tril, (normal(2, 3, 4),), lambda t, x: t.tril(x)),
    Op("tril-k=-1", lambda x: x.tril(-1), lambda x: np.tril(x, -1), (normal(4, 3),), lambda t, x: t.tril(x, -1)),
    Op("triu", ag.triu, np.triu, (normal(3, 4),), lambda t, x: t.triu(x)),
    Op("triu-k=2", lambda x: ag.triu(x, 2), lambda x: np.triu(x, 2), (normal(2, 4, 4),), lambda t, x: t.triu(x, 2)),
    Op("diagonal", ag.diagonal, np.diagonal, (normal(3, 4),), lambda t, x: t.diagonal(x)),
    Op("diagonal-offset=-1-axes=2,0", lambda x: x.diagonal(-1, 2, 0), lambda x: np.diagonal(x, -1, 2, 0),
       (normal(4, 2, 5),), lambda t, x: t.diagonal(x, -1, 2, 0)),
    Op("diagonal-offset=2-last-axes", lambda x: ag.diagonal(x, 2, -2, -1), lambda x: np.diagonal(x, 2, -2, -1),
       (normal(2, 3, 5),), lambda t, x: t.diagonal(x, 2, -2, -1)),
    Op("trace", ag.trace, np.trace, (normal(3, 3),), lambda t, x: t.trace(x)),
    Op("trace-offset=1-batched", lambda x: x.trace(1, 1, 2), lambda x: np.trace(x, 1, 1, 2), (normal(2, 3, 4),),
       lambda t, x: t.diagonal(x, 1, 1, 2).sum(-1)),
    Op("diag-vector-k=1", lambda v: ag.diag(v, 1), lambda v: np.diag(v, 1), (normal(3),), lambda t, v: t.diag(v, 1)),
    Op("linalg.diagonal-offset=1", lambda x: ag.linalg.diagonal(x, 1), lambda x: np.linalg.diagonal(x, offset=1),
       (normal(2, 3, 4),), lambda t, x: t.linalg.diagonal(x, offset=1)),
    Op("linalg.trace-offset=-1", lambda x: ag.linalg.trace(x, -1), lambda x: np.linalg.trace(x, offset=-1),
       (normal(2, 4, 3),), lambda t, x: t.diagonal(x, -1, -2, -1).sum(-1)),
    Op("diag-matrix-k=-1", lambda x: ag.diag(x, -1), lambda x: np.diag(x, -1), (normal(4, 3),),
       lambda t, x: t.diag(x, -1)),
]

def _torch_prod(t, x, dims, keepdim):  # torch.prod takes one dim at a time; the last first keeps the rest in place
    for d in sorted((d % x.ndim for d in (dims if isinstance(dims, tuple) else (dims,))), reverse=True):
        x = t.prod(x, dim=d, keepdim=keepdim)
    return x


def _median_row(name, axis, keepdims, shape, torch_fn):
    return Op(f"median-{name}", lambda x: ag.median(x, axis, keepdims), lambda x: np.median(x, axis, keepdims=keepdims),
              (distinct(*shape),), torch_fn)


def with_nan(gen, *positions):
    """``gen``'s values with NaN at ``positions`` (no line all NaN, so gradients stay finite)."""
    def draw(rng):
        x = gen(rng)
        for p in positions:
            x[p] = np.nan
        return x
    return draw


def _quantile_row(name, q, axis, keepdims, method, shape, torch_fn, nan_positions=(), fn=ag.quantile,
                  ref=np.quantile):
    gen = with_nan(distinct(*shape), *nan_positions) if nan_positions else distinct(*shape)
    return Op(f"{fn.__name__}-{name}", lambda x: fn(x, q, axis, keepdims, method),
              lambda x: ref(x, np.asarray(q, dtype=x.dtype), axis, keepdims=keepdims, method=method), (gen,),
              lambda t, x: torch_fn(t, x, t.tensor(q, dtype=x.dtype)))


def _torch_quantile_over_0_2(t, x, q, interpolation):  # torch.quantile takes one dim: axes (0, 2) merged last
    merged = t.quantile(x.permute(1, 0, 2).reshape(x.shape[1], -1), q, dim=-1, interpolation=interpolation)
    return merged.reshape(len(q), 1, x.shape[1], 1)


SCANS = (
    _reduction_rows("prod", lambda x, a, k: x.prod(a, k), lambda x, a, k: np.prod(x, a, keepdims=k), _torch_prod,
                    normal)
    + [
        Op("cumsum-axis=1", lambda x: ag.cumsum(x, 1), lambda x: np.cumsum(x, 1), (normal(2, 3, 4),),
           lambda t, x: t.cumsum(x, 1)),
        Op("cumsum-axis=-1", lambda x: x.cumsum(-1), lambda x: np.cumsum(x, -1), (normal(2, 3, 4),),
           lambda t, x: t.cumsum(x, -1)),
        Op("cumsum-axis=None", ag.cumsum, np.cumsum, (normal(2, 3),), lambda t, x: t.cumsum(x.reshape(-1), 0)),
        Op("cumulative_sum-include_initial", lambda x: ag.cumulative_sum(x, axis=0, include_initial=True),
           lambda x: np.cumulative_sum(x, axis=0, include_initial=True), (normal(3, 2),),
           lambda t, x: t.cat([t.zeros(1, 2, dtype=x.dtype), t.cumsum(x, 0)])),
        Op("cumprod-axis=0", lambda x: ag.cumprod(x, 0), lambda x: np.cumprod(x, 0), (normal(3, 2, 2),),
           lambda t, x: t.cumprod(x, 0)),
        Op("cumprod-axis=-1-long", lambda x: x.cumprod(-1), lambda x: np.cumprod(x, -1), (uniform(-1.5, 1.5, 2, 11),),
           lambda t, x: t.cumprod(x, -1)),
        Op("cumprod-axis=None", ag.cumprod, np.cumprod, (normal(2, 3),), lambda t, x: t.cumprod(x.reshape(-1), 0)),
        Op("cummax-axis=1", lambda x: ag.cummax(x, 1).values, lambda x: np.maximum.accumulate(x, 1),
           (distinct(3, 6),), lambda t, x: t.cummax(x, 1).values),
        Op("cummin-axis=-3", lambda x: x.cummin(-3).values, lambda x: np.minimum.accumulate(x, 0),
           (distinct(5, 2, 3),), lambda t, x: t.cummin(x, -3).values),
        Op("cummax-axis=None", lambda x: ag.cummax(x, None)[0], lambda x: np.maximum.accumulate(x.reshape(-1)),
           (distinct(2, 4),), lambda t, x: t.cummax(x.reshape(-1), 0).values),
        Op("logcumsumexp-axis=1", lambda x: ag.logcumsumexp(x, 1), lambda x: np.logaddexp.accumulate(x, 1),
           (normal(2, 5, 3),), lambda t, x: t.logcumsumexp(x, 1)),
        Op("logcumsumexp-axis=-2-wide-range", lambda x: x.logcumsumexp(-2), lambda x: np.logaddexp.accumulate(x, 0),
           (uniform(-40, 40, 9, 2),), lambda t, x: t.logcumsumexp(x, -2)),
        Op("logcumsumexp-axis=None", lambda x: ag.logcumsumexp(x, None),
           lambda x: np.logaddexp.accumulate(x.reshape(-1)), (normal(2, 3),),
           lambda t, x: t.logcumsumexp(x.reshape(-1), 0)),
        Op("diff", ag.diff, np.diff, (normal(3, 4),), lambda t, x: t.diff(x)),
        Op("diff-n=2-axis=0", lambda x: ag.diff(x, 2, axis=0), lambda x: np.diff(x, 2, axis=0), (normal(5, 2),),
           lambda t, x: t.diff(x, 2, dim=0)),
        Op("sort", ag.sort, np.sort, (distinct(3, 5),), lambda t, x: t.sort(x).values),
        Op("sort-descending-axis=0", lambda x: ag.sort(x, axis=0, descending=True), lambda x: -np.sort(-x, 0),
           (distinct(4, 3),), lambda t, x: t.sort(x, 0, descending=True).values),
        Op("sort-axis=None", lambda x: ag.sort(x, axis=None), lambda x: np.sort(x, None), (distinct(2, 3),),
           lambda t, x: t.sort(x.reshape(-1)).values),
        Op("topk", lambda x: ag.topk(x, 2)[0], lambda x: -np.sort(-x, -1)[:, :2], (distinct(3, 5),),
           lambda t, x: t.topk(x, 2).values),
        Op("topk-smallest-axis=0", lambda x: x.topk(3, axis=0, largest=False).values, lambda x: np.sort(x, 0)[:3],
           (distinct(6, 2),), lambda t, x: t.topk(x, 3, 0, largest=False).values),
        _median_row("axis=None", None, False, (2, 3, 4), lambda t, x: t.quantile(x.reshape(-1), 0.5)),
        _median_row("axis=1", 1, False, (2, 3, 4), lambda t, x: t.median(x, 1).values),
        _median_row("axis=-1-keepdims", -1, True, (2, 3, 4), lambda t, x: t.quantile(x, 0.5, dim=-1, keepdim=True)),
        _quantile_row("q=[0.1,0.5,0.9]-axis=1", [0.1, 0.5, 0.9], 1, False, "linear", (2, 3, 4),
                      lambda t, x, q: t.quantile(x, q, dim=1)),
        _quantile_row("q=0.3-axis=None", 0.3, None, False, "linear", (2, 3, 4),
                      lambda t, x, q: t.quantile(x.reshape(-1), q)),
        _quantile_row("q=[0.25,0.6]-axis=(0,2)-keepdims-midpoint", [0.25, 0.6], (0, 2), True, "midpoint", (2, 3, 4),
                      lambda t, x, q: _torch_quantile_over_0_2(t, x, q, "midpoint")),
        *(_quantile_row(f"q=[0.3,0.5,0.7]-axis=-1-{method}", [0.3, 0.5, 0.7], -1, False, method, (3, 6),
                        lambda t, x, q, method=method: t.quantile(x, q, dim=-1, interpolation=method))
          for method in ("lower", "higher", "nearest")),  # positions 1.5, 2.5, 3.5: nearest's half to even
        _quantile_row("q=[0,0.4,1]-axis=1-keepdims", [0.0, 0.4, 1.0], 1, True, "linear", (3, 5),
                      lambda t, x, q: t.nanquantile(x, q, dim=1, keepdim=True), nan_positions=[(0, 1), (2, 0), (2, 3)],
                      fn=ag.nanquantile, ref=np.nanquantile),
        Op("nanmedian-axis=1", lambda x: ag.nanmedian(x, 1), lambda x: np.nanmedian(x, 1),
           (with_nan(distinct(4, 5), (0, 1), (2, 0), (2, 3)),), lambda t, x: t.nanquantile(x, 0.5, dim=1)),
        Op("nanmedian-axis=None-keepdims", lambda x: ag.nanmedian(x, keepdims=True),
           lambda x: np.nanmedian(x, keepdims=True), (with_nan(distinct(2, 3, 2), (1, 1, 0)),),
           lambda t, x: t.nanquantile(x.reshape(-1), 0.5).reshape(1, 1, 1)),
        Op("kthvalue-k=2-axis=0", lambda x: ag.kthvalue(x, 2, axis=0).values, lambda x: np.sort(x, 0)[1],
           (distinct(4, 3),), lambda t, x: t.kthvalue(x, 2, 0).values),
        Op("kthvalue-k=5-axis=-1-keepdims", lambda x: ag.kthvalue(x, 5, keepdims=True).values,
           lambda x: np.sort(x, -1)[..., 4:5], (distinct(2, 3, 6),),
           lambda t, x: t.kthvalue(x, 5, -1, keepdim=True).values),
        Op("vector_norm", ag.linalg.vector_norm, np.linalg.norm, (normal(2, 3),),
           lambda t, x: t.linalg.vector_norm(x)),
        Op("vector_norm-ord=1-axis=1", lambda x: ag.linalg.vector_norm(x, 1, 1), lambda x: np.linalg.norm(x, 1, 1),
           (away_from([0], 2, 3),), lambda t, x: t.linalg.vector_norm(x, 1, 1)),
        Op("vector_norm-ord=inf-keepdims", lambda x: ag.linalg.vector_norm(x, np.inf, (0, 2), True),
           lambda x: np.max(np.abs(x), (0, 2), keepdims=True), (distinct(2, 3, 2),),
           lambda t, x: t.linalg.vector_norm(x, np.inf, (0, 2), True)),
        Op("vector_norm-ord=3", lambda x: ag.linalg.vector_norm(x, 3, -1), lambda x: np.linalg.norm(x, 3, -1),
           (away_from([0], 3, 4),), lambda t, x: t.linalg.vector_norm(x, 3, -1)),
        Op("vector_norm-ord=0.5", lambda x: ag.linalg.vector_norm(x, 0.5, 0), lambda x: np.linalg.norm(x, 0.5, 0),
           (away_from([0], 3, 4),), lambda t, x: t.linalg.vector_norm(x, 0.5, 0)),
        Op("matrix_norm", ag.linalg.matrix_norm, lambda x: np.linalg.norm(x, "fro", (-2, -1)), (normal(2, 3, 4),),
           lambda t, x: t.linalg.matrix_norm(x)),
        Op("matrix_norm-ord=1", lambda x: ag.linalg.matrix_norm(x, 1), lambda x: np.linalg.norm(x, 1, (-2, -1)),
           (distinct(2, 3, 4),), lambda t, x: t.linalg.matrix_norm(x, 1)),
        Op("matrix_norm-ord=-inf-keepdims", lambda x: ag.linalg.matrix_norm(x, -np.inf, keepdims=True),
           lambda x: np.linalg.norm(x, -np.inf, (-2, -1), keepdims=True), (distinct(2, 4, 3),),
           lambda t, x: t.linalg.matrix_norm(x, -np.inf, keepdim=True)),
    ]
)


# --- the linalg extension: inverses, solves and decompositions (ag.linalg) --------------------
def well_conditioned(*shape):
    """Square matrices near n times the identity: far from singular."""
    n = shape[-1]
    return lambda rng: rng.standard_normal(shape) + n * np.eye(n)


def spd(*shape):
    """Symmetric positive-definite matrices A A^T + n I."""
    def draw(rng):
        a = rng.standard_normal(shape)
        return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])
    return draw


def separated(*shape, symmetric=False):
    """Matrices Q1 diag(s) Q2^T with random orthogonal Q1, Q2 and values s at least 0.5
    apart (and from 0): singular values in 1..4 (symmetric: Q2 = Q1, eigenvalues in
    -2..2), so that singular vectors and eigenvectors are well defined up to sign."""
    *batch, m, n = shape
    k = min(m, n)

    def draw(rng):
        q1 = np.linalg.qr(rng.standard_normal((*batch, m, m)))[0]
        if symmetric:
            w = rng.permuted(np.broadcast_to(np.linspace(-2, 2, k), (*batch, k)), axis=-1)
            return (q1 * w[..., None, :]) @ np.swapaxes(q1, -1, -2)
        q2 = np.linalg.qr(rng.standard_normal((*batch, n, n)))[0]
        s = np.broadcast_to(np.linspace(1, 4, k), (*batch, k))
        return (q1[..., :k] * s[..., None, :]) @ np.swapaxes(q2[..., :k], -1, -2)
    return draw


def _sym(x):  # the symmetric part, so finite differences of cholesky and eigh move symmetric matrices
    return (x + ag.swapaxes(x, -1, -2)) / 2


def _np_sym(x):
    return (x + np.swapaxes(x, -1, -2)) / 2


def _t_sym(x):
    return (x + x.mT) / 2


def _rebuilt(u, s, vh):  # U diag(S) Vh: the input again, through every output
    return (u * s[..., None, :]) @ vh


def _eigh_function(v, w):  # V diag(exp(w)) V^T: the matrix exponential, invariant to the vectors' signs
    return (v * np.exp(w)[..., None, :]) @ np.swapaxes(v, -1, -2)


def _linalg_row(name, fn, ref, inputs, torch_fn, **kwargs):
    return Op(name, fn, ref, inputs, torch_fn, rtol32=kwargs.pop("rtol32", 1e-4), **kwargs)


def _ag_eigh_function(x):
    w, v = ag.linalg.eigh(_sym(x))
    return (v * ag.exp(w).expand_dims(-2)) @ ag.swapaxes(v, -1, -2)


def _t_eigh_function(t, x):
    w, v = t.linalg.eigh(_t_sym(x))
    return (v * w.exp().unsqueeze(-2)) @ v.mT


def _np_lstsq(a, b, vectors=False):
    """NumPy's lstsq (LAPACK's gelsd) per matrix of the broadcast batch: the solutions
    and the squared residuals (of shape (..., k), k = 1 for vectors, as PyTorch's)."""
    if vectors:
        b = b[..., None]
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a, b = np.broadcast_to(a, batch + a.shape[-2:]), np.broadcast_to(b, batch + b.shape[-2:])
    x = np.empty(batch + (a.shape[-1], b.shape[-1]), dtype=a.dtype)
    residuals = np.empty(batch + (b.shape[-1],), dtype=a.dtype)
    for i in np.ndindex(batch):
        x[i], r = np.linalg.lstsq(a[i], b[i], rcond=None)[:2]
        residuals[i] = r if r.size else np.nan  # (NumPy gives none at m <= n; the rows below take none)
    return (x[..., 0] if vectors else x), residuals


def scaled_normal(scale, *shape):
    return lambda rng: scale * rng.standard_normal(shape)


def _np_expm(a):
    """exp of each matrix by its Taylor series in float64 (another method than the Pade
    approximant under test): scaled to a 1-norm of at most 1/2, 30 terms, squared back."""
    x = a.astype(np.float64)
    norm = np.max(np.sum(np.abs(x), axis=-2)) if x.size else 0.0
    squarings = max(0, math.ceil(math.log2(norm)) + 1) if norm > 0 else 0
    x = x / 2.0 ** squarings
    term = total = np.broadcast_to(np.eye(x.shape[-1]), x.shape)
    for k in range(1, 30):
        term = term @ x / k
        total = total + term
    for _ in range(squarings):
        total = total @ total
    return total.astype(a.dtype)


def _np_householder_product(a, tau):
    """The first n columns of H_1 ... H_k, each reflection formed as a full m x m matrix."""
    m, n = a.shape[-2:]
    q = np.broadcast_to(np.eye(m), a.shape[:-2] + (m, m))
    for i in range(tau.shape[-1]):
        v = np.concatenate([np.zeros(a.shape[:-2] + (i,)), np.ones(a.shape[:-2] + (1,)), a[..., i + 1:, i]], -1)
        q = q @ (np.eye(m) - tau[..., i, None, None] * v[..., :, None] * v[..., None, :])
    return q[..., :n].astype(a.dtype)


def _np_lu(a):
    """(L, U) of the LU factorization with partial pivoting (the first largest pivot, as
    LAPACK's), one matrix at a time, rows swapped in place."""
    *batch, m, n = a.shape
    k = min(m, n)
    lower, upper = np.zeros((*batch, m, k), a.dtype), np.zeros((*batch, k, n), a.dtype)
    for i in np.ndindex(*batch):
        u = a[i].copy()
        multipliers = np.zeros((m, k), a.dtype)
        for j in range(k):
            p = j + int(np.argmax(np.abs(u[j:, j])))
            u[[j, p]], multipliers[[j, p]] = u[[p, j]], multipliers[[p, j]]
            multipliers[j + 1:, j] = u[j + 1:, j] / u[j, j]
            u[j + 1:] -= np.outer(multipliers[j + 1:, j], u[j])
        lower[i], upper[i] = multipliers + np.eye(m, k), np.triu(u[:k])
    return lower, upper


def _np_lu_factor(a):
    lower, upper = _np_lu(a)
    k = min(a.shape[-2:])
    lu = np.zeros(a.shape, a.dtype)
    lu[..., :k, :] = upper
    lu[..., :, :k] += lower - np.eye(*lower.shape[-2:])
    return lu


# --- NaN-aware reductions and statistics (ops/nan_reductions.py, ops/statistics.py) ---
def _nan_gen(*shape):
    """Normal values with a NaN in a few places (no slice of the rows' axes all NaN)."""
    return with_nan(normal(*shape), (0, 1, 2), (1, 0, 0), (1, 2, 3))


def _nan_distinct(*shape):
    return with_nan(distinct(*shape), (0, 1, 2), (1, 0, 0), (1, 2, 3))


def _torch_nanvar(t, x, dims, keepdim, ddof):
    present = ~x.isnan()
    centered = t.where(present, x - t.nanmean(x, dims, keepdim=True), 0)
    count = present.sum(dims, keepdim=keepdim)
    return (centered * centered).sum(dims, keepdim=keepdim) / (count - ddof)


def _torch_nan_filled(t, x, value):
    return t.where(x.isnan(), value, x)


def _torch_interp(t, x, knots, fp):
    """np.interp written in torch ops: the segment's linear piece, fp's ends outside."""
    knots = t.as_tensor(knots, dtype=x.dtype)
    j = (t.searchsorted(knots, x.detach(), right=True) - 1).clamp(0, len(knots) - 2)
    x0, x1, y0, y1 = knots[j], knots[j + 1], fp[j], fp[j + 1]
    inside = (y1 - y0) / (x1 - x0) * (x - x0) + y0
    return t.where(x < knots[0], fp[0], t.where(x > knots[-1], fp[-1], inside))


def _cumulative_trapezoid(y, x=None, axis=-1, initial=False):
    """SciPy's cumulative_trapezoid, as NumPy: running sums of the trapezoids' areas."""
    d = 1.0 if x is None else np.diff(x, axis=axis)
    areas = d * (np.delete(y, 0, axis) + np.delete(y, -1, axis)) / 2.0
    running = np.cumsum(areas, axis)
    if initial:
        running = np.concatenate([np.zeros_like(np.take(running, [0], axis)), running], axis)
    return running


KNOTS = np.array([0.0, 1.0, 1.5, 3.0])
BINS = np.array([0, 3, 3, 1, 5, 0, 3])
FREQUENCIES = np.array([1, 2, 1, 3, 1])

STATISTICS = (
    _reduction_rows("nansum", lambda x, a, k: ag.nansum(x, a, k), lambda x, a, k: np.nansum(x, a, keepdims=k),
                    lambda t, x, a, k: t.nansum(x, dim=a, keepdim=k), _nan_gen)
    + _reduction_rows("nanmean", lambda x, a, k: ag.nanmean(x, a, k), lambda x, a, k: np.nanmean(x, a, keepdims=k),
                      lambda t, x, a, k: t.nanmean(x, dim=a, keepdim=k), _nan_gen)
    + [
        Op("nanvar-axis=1-ddof=1", lambda x: ag.nanvar(x, 1, ddof=1), lambda x: np.nanvar(x, 1, ddof=1),
           (_nan_gen(2, 3, 4),), lambda t, x: _torch_nanvar(t, x, 1, False, 1)),
        Op("nanvar-axis=(0,2)-keepdims", lambda x: ag.nanvar(x, (0, 2), keepdims=True),
           lambda x: np.nanvar(x, (0, 2), keepdims=True), (_nan_gen(2, 3, 4),),
           lambda t, x: _torch_nanvar(t, x, (0, 2), True, 0)),
        Op("nanstd-axis=None", ag.nanstd, np.nanstd, (_nan_gen(2, 3, 4),),
           lambda t, x: _torch_nanvar(t, x, (0, 1, 2), False, 0).sqrt()),
        Op("nanstd-axis=-1-ddof=1-keepdims", lambda x: ag.nanstd(x, -1, ddof=1, keepdims=True),
           lambda x: np.nanstd(x, -1, ddof=1, keepdims=True), (_nan_gen(2, 3, 4),),
           lambda t, x: _torch_nanvar(t, x, -1, True, 1).sqrt()),
        Op("nanmax-axis=1", lambda x: ag.nanmax(x, 1), lambda x: np.nanmax(x, 1), (_nan_distinct(2, 3, 4),),
           lambda t, x: t.amax(_torch_nan_filled(t, x, -math.inf), 1)),
        Op("nanmax-axis=None-keepdims", lambda x: ag.nanmax(x, keepdims=True),
           lambda x: np.nanmax(x, keepdims=True), (_nan_distinct(2, 3, 4),),
           lambda t, x: t.amax(_torch_nan_filled(t, x, -math.inf), (0, 1, 2), keepdim=True)),
        Op("nanmin-axis=(0,2)", lambda x: ag.nanmin(x, (0, 2)), lambda x: np.nanmin(x, (0, 2)),
           (_nan_distinct(2, 3, 4),), lambda t, x: t.amin(_torch_nan_filled(t, x, math.inf), (0, 2))),
        Op("nanprod-axis=2", lambda x: ag.nanprod(x, 2), lambda x: np.nanprod(x, 2), (_nan_gen(2, 3, 4),),
           lambda t, x: t.prod(_torch_nan_filled(t, x, 1), 2)),
        Op("nanprod-axis=None", ag.nanprod, np.nanprod, (_nan_gen(2, 3, 4),),
           lambda t, x: t.prod(_torch_nan_filled(t, x, 1))),
        Op("nancumsum-axis=1", lambda x: ag.nancumsum(x, 1), lambda x: np.nancumsum(x, 1), (_nan_gen(2, 3, 4),),
           lambda t, x: t.cumsum(_torch_nan_filled(t, x, 0), 1)),
        Op("nancumsum-axis=None", ag.nancumsum, np.nancumsum, (_nan_gen(2, 3, 4),),
           lambda t, x: t.cumsum(_torch_nan_filled(t, x, 0).reshape(-1), 0)),
        Op("nancumprod-axis=-1", lambda x: ag.nancumprod(x, -1), lambda x: np.nancumprod(x, -1),
           (_nan_gen(2, 3, 4),), lambda t, x: t.cumprod(_torch_nan_filled(t, x, 1), -1)),
        Op("average", ag.average, np.average, (normal(2, 3),), lambda t, a: a.mean()),
        Op("average-weights-axis=1", lambda a, w: ag.average(a, 1, w), lambda a, w: np.average(a, 1, w),
           (normal(2, 3), uniform(0.5, 2, 3)), lambda t, a, w: (a * w).sum(1) / w.sum()),
        Op("average-weights-axis=(2,0)-returned", lambda a, w: ag.average(a, (2, 0), w, returned=True),
           lambda a, w: np.average(a, (2, 0), w, returned=True), (normal(2, 3, 4), uniform(0.5, 2, 4, 2)),
           lambda t, a, w: ((a * w.T[:, None]).sum((0, 2)) / w.sum(), w.sum().expand(3))),
        Op("average-weights-full-keepdims", lambda a, w: ag.average(a, 0, w, keepdims=True),
           lambda a, w: np.average(a, 0, w, keepdims=True), (normal(3, 2), uniform(0.5, 2, 3, 2)),
           lambda t, a, w: (a * w).sum(0, keepdim=True) / w.sum(0, keepdim=True)),
        Op("ptp-axis=1", lambda x: ag.ptp(x, 1), lambda x: np.ptp(x, 1), (distinct(2, 3, 4),),
           lambda t, x: (lambda r: r.max - r.min)(t.aminmax(x, dim=1))),
        Op("ptp-axis=None-keepdims", lambda x: ag.ptp(x, keepdims=True), lambda x: np.ptp(x, keepdims=True),
           (distinct(2, 3),), lambda t, x: (x.max() - x.min()).reshape(1, 1)),
        Op("cov", ag.cov, lambda m: np.cov(m).astype(m.dtype), (normal(3, 5),), lambda t, m: t.cov(m)),
        Op("cov-rowvar=False-bias", lambda m: ag.cov(m, rowvar=False, bias=True),
           lambda m: np.cov(m, rowvar=False, bias=True).astype(m.dtype), (normal(5, 2),),
           lambda t, m: t.cov(m.T, correction=0)),
        Op("cov-y", ag.cov, lambda m, y: np.cov(m, y).astype(m.dtype), (normal(2, 4), normal(4)),
           lambda t, m, y: t.cov(t.cat([m, y[None]]))),
        Op("cov-1d", ag.cov, lambda m: np.cov(m).astype(m.dtype), (normal(6),), lambda t, m: t.cov(m)),
        Op("cov-fweights-aweights", lambda m, aw: ag.cov(m, fweights=FREQUENCIES, aweights=aw),
           lambda m, aw: np.cov(m, fweights=FREQUENCIES, aweights=aw).astype(m.dtype),
           (normal(3, 5), uniform(0.5, 2, 5)),
           lambda t, m, aw: t.cov(m, fweights=t.as_tensor(FREQUENCIES), aweights=aw)),
        Op("cov-aweights-ddof=2", lambda m, aw: ag.cov(m, ddof=2, aweights=aw),
           lambda m, aw: np.cov(m, ddof=2, aweights=aw).astype(m.dtype), (normal(2, 6), uniform(0.5, 2, 6)),
           lambda t, m, aw: t.cov(m, correction=2, aweights=aw)),
        Op("corrcoef", ag.corrcoef, lambda x: np.corrcoef(x).astype(x.dtype), (normal(3, 6),),
           lambda t, x: t.corrcoef(x)),
        Op("corrcoef-y-rowvar=False", lambda x, y: ag.corrcoef(x, y, rowvar=False),
           lambda x, y: np.corrcoef(x, y, rowvar=False).astype(x.dtype), (normal(5, 2), normal(5, 1)),
           lambda t, x, y: t.corrcoef(t.cat([x, y], 1).T)),
        Op("trapezoid", ag.trapezoid, np.trapezoid, (normal(2, 5),), lambda t, y: t.trapezoid(y)),
        Op("trapezoid-x-axis=0", lambda y, x: ag.trapezoid(y, x, axis=0), lambda y, x: np.trapezoid(y, x, axis=0),
           (normal(4, 3), distinct(4)), lambda t, y, x: t.trapezoid(y, x, dim=0)),
        Op("trapezoid-x-of-y's-shape", lambda y, x: ag.trapezoid(y, x), np.trapezoid, (normal(2, 4), normal(2, 4)),
           lambda t, y, x: t.trapezoid(y, x)),
        Op("trapezoid-dx=0.5-axis=1", lambda y: ag.trapezoid(y, dx=0.5, axis=1),
           lambda y: np.trapezoid(y, dx=0.5, axis=1), (normal(2, 4, 3),), lambda t, y: t.trapezoid(y, dx=0.5, dim=1)),
        Op("cumulative_trapezoid", ag.cumulative_trapezoid, lambda y: _cumulative_trapezoid(y),
           (normal(2, 5),), lambda t, y: t.cumulative_trapezoid(y)),
        Op("cumulative_trapezoid-x-axis=0-initial=0", lambda y, x: ag.cumulative_trapezoid(y, x, axis=0, initial=0),
           lambda y, x: _cumulative_trapezoid(y, x[:, None], axis=0, initial=True), (normal(4, 3), distinct(4)),
           lambda t, y, x: t.cat([t.zeros(1, 3, dtype=y.dtype), t.cumulative_trapezoid(y, x, dim=0)])),
        Op("interp", lambda x, fp: ag.interp(x, KNOTS.astype(x.dtype), fp),
           lambda x, fp: np.interp(x, KNOTS, fp).astype(x.dtype),
           (away_from(KNOTS, 3, 4, margin=0.05, low=-1, high=4), normal(4)),
           lambda t, x, fp: _torch_interp(t, x, KNOTS, fp)),
        Op("interp-left-right", lambda x, fp: ag.interp(x, KNOTS.astype(x.dtype), fp, left=-2.0, right=5.0),
           lambda x, fp: np.interp(x, KNOTS, fp, -2.0, 5.0).astype(x.dtype),
           (away_from(KNOTS, 7, margin=0.05, low=-1, high=4), normal(4)),
           lambda t, x, fp: t.where(x < 0, -2.0, t.where(x > 3, 5.0, _torch_interp(t, x, KNOTS, fp)))),
        Op("interp-period", lambda x, fp: ag.interp(x, KNOTS.astype(x.dtype), fp, period=2.5),
           lambda x, fp: np.interp(x, KNOTS, fp, period=2.5).astype(x.dtype),
           (away_from([0, 0.5, 1, 1.5, 2.5], 7, margin=0.05, low=0, high=2.5), normal(4)),
           # the points mod 2.5, sorted (0, 0.5, 1, 1.5), and the last and first again a period away
           lambda t, x, fp: _torch_interp(t, x, np.array([-1, 0, 0.5, 1, 1.5, 2.5]), fp[[2, 0, 3, 1, 2, 0]])),
        # torch.bincount has no gradient: index_add is its differentiable form
        Op("bincount-weights", lambda w: ag.bincount(BINS, w), lambda w: np.bincount(BINS, w).astype(w.dtype),
           (normal(7),), lambda t, w: t.zeros(6, dtype=w.dtype).index_add(0, t.as_tensor(BINS), w)),
        Op("bincount-weights-minlength", lambda w: ag.bincount(BINS, w, minlength=9),
           lambda w: np.bincount(BINS, w, minlength=9).astype(w.dtype), (normal(7),),
           lambda t, w: t.zeros(9, dtype=w.dtype).index_add(0, t.as_tensor(BINS), w)),
    ]
)


LINALG_EXTENSION = [
    _linalg_row("inv", ag.linalg.inv, np.linalg.inv, (well_conditioned(3, 3),), lambda t, x: t.linalg.inv(x)),
    _linalg_row("inv-batched", ag.linalg.inv, np.linalg.inv, (well_conditioned(2, 3, 3),),
                lambda t, x: t.linalg.inv(x)),
    _linalg_row("det", ag.linalg.det, np.linalg.det, (normal(2, 3, 3),), lambda t, x: t.linalg.det(x)),
    _linalg_row("slogdet", lambda x: ag.linalg.slogdet(x).logabsdet, lambda x: np.linalg.slogdet(x)[1],
                (normal(2, 3, 3),), lambda t, x: t.linalg.slogdet(x).logabsdet),
    _linalg_row("solve-matrix", ag.linalg.solve, np.linalg.solve, (well_conditioned(2, 3, 3), normal(2, 3, 2)),
                lambda t, a, b: t.linalg.solve(a, b)),
    _linalg_row("solve-vector", ag.linalg.solve, np.linalg.solve, (well_conditioned(2, 3, 3), normal(3)),
                lambda t, a, b: t.linalg.solve(a, b.expand(2, 3).unsqueeze(-1)).squeeze(-1)),
    _linalg_row("solve-broadcast", ag.linalg.solve, np.linalg.solve, (well_conditioned(3, 3), normal(2, 3, 2)),
                lambda t, a, b: t.linalg.solve(a, b)),
    _linalg_row("solve-left=False", lambda a, b: ag.linalg.solve(a, b, left=False),
                lambda a, b: np.swapaxes(np.linalg.solve(np.swapaxes(a, -1, -2), np.swapaxes(b, -1, -2)), -1, -2),
                (well_conditioned(2, 3, 3), normal(2, 2, 3)), lambda t, a, b: t.linalg.solve(a, b, left=False)),
    _linalg_row("cholesky", lambda x: ag.linalg.cholesky(_sym(x)), lambda x: np.linalg.cholesky(_np_sym(x)),
                (spd(2, 3, 3),), lambda t, x: t.linalg.cholesky(_t_sym(x))),
    _linalg_row("cholesky-upper", lambda x: ag.linalg.cholesky(_sym(x), upper=True),
                lambda x: np.linalg.cholesky(_np_sym(x), upper=True), (spd(4, 4),),
                lambda t, x: t.linalg.cholesky(_t_sym(x), upper=True)),
    _linalg_row("qr-square", lambda x: tuple(ag.linalg.qr(x)), lambda x: tuple(np.linalg.qr(x)), (normal(2, 3, 3),),
                lambda t, x: tuple(t.linalg.qr(x))),
    _linalg_row("qr-tall", lambda x: tuple(ag.linalg.qr(x)), lambda x: tuple(np.linalg.qr(x)), (normal(2, 4, 3),),
                lambda t, x: tuple(t.linalg.qr(x))),
    _linalg_row("qr-wide", lambda x: tuple(ag.linalg.qr(x)), lambda x: tuple(np.linalg.qr(x)), (normal(3, 5),),
                lambda t, x: tuple(t.linalg.qr(x))),
    _linalg_row("qr-complete-square", lambda x: tuple(ag.linalg.qr(x, mode="complete")),
                lambda x: tuple(np.linalg.qr(x, mode="complete")), (normal(3, 3),),
                lambda t, x: tuple(t.linalg.qr(x, mode="complete"))),
    _linalg_row("eigh-eigenvalues", lambda x: ag.linalg.eigh(_sym(x)).eigenvalues,
                lambda x: np.linalg.eigh(_np_sym(x))[0], (separated(2, 4, 4, symmetric=True),),
                lambda t, x: t.linalg.eigh(_t_sym(x)).eigenvalues),
    _linalg_row("eigh-exp", _ag_eigh_function, lambda x: _eigh_function(*np.linalg.eigh(x)[::-1]),
                (separated(2, 3, 3, symmetric=True),), _t_eigh_function),
    _linalg_row("eigh-squared_vectors", lambda x: ag.linalg.eigh(_sym(x)).eigenvectors ** 2,
                lambda x: np.linalg.eigh(_np_sym(x))[1] ** 2, (separated(4, 4, symmetric=True),),
                lambda t, x: t.linalg.eigh(_t_sym(x)).eigenvectors ** 2),
    _linalg_row("eigvalsh", lambda x: ag.linalg.eigvalsh(_sym(x)), lambda x: np.linalg.eigvalsh(_np_sym(x)),
                (separated(2, 3, 3, symmetric=True),), lambda t, x: t.linalg.eigvalsh(_t_sym(x))),
    _linalg_row("eigvalsh-UPLO=U", lambda x: ag.linalg.eigvalsh(_sym(x), UPLO="U"),
                lambda x: np.linalg.eigvalsh(_np_sym(x), UPLO="U"), (separated(2, 3, 3, symmetric=True),),
                lambda t, x: t.linalg.eigvalsh(_t_sym(x), UPLO="U")),
    _linalg_row("eigh-UPLO=U", lambda x: (lambda r: (r.eigenvalues, r.eigenvectors ** 2))(ag.linalg.eigh(_sym(x), "U")),
                lambda x: (lambda w, v: (w, v ** 2))(*np.linalg.eigh(_np_sym(x), UPLO="U")),
                (separated(4, 4, symmetric=True),),
                lambda t, x: (lambda r: (r.eigenvalues, r.eigenvectors ** 2))(t.linalg.eigh(_t_sym(x), UPLO="U"))),
    _linalg_row("svd-rebuilt-tall", lambda x: _rebuilt(*ag.linalg.svd(x)),
                lambda x: _rebuilt(*np.linalg.svd(x, full_matrices=False)), (separated(2, 4, 3),),
                lambda t, x: _rebuilt(*t.linalg.svd(x, full_matrices=False))),
    _linalg_row("svd-polar-wide", lambda x: (lambda r: r.U @ r.Vh)(ag.linalg.svd(x)),
                lambda x: (lambda u, s, vh: u @ vh)(*np.linalg.svd(x, full_matrices=False)), (separated(2, 3, 4),),
                lambda t, x: (lambda r: r.U @ r.Vh)(t.linalg.svd(x, full_matrices=False))),
    _linalg_row("svd-squared_vectors", lambda x: (lambda r: (r.U ** 2, r.S, r.Vh ** 2))(ag.linalg.svd(x)),
                lambda x: (lambda u, s, vh: (u ** 2, s, vh ** 2))(*np.linalg.svd(x, full_matrices=False)),
                (separated(4, 3),),
                lambda t, x: (lambda r: (r.U ** 2, r.S, r.Vh ** 2))(t.linalg.svd(x, full_matrices=False))),
    _linalg_row("svdvals", ag.linalg.svdvals, lambda x: np.linalg.svd(x, compute_uv=False), (separated(2, 3, 5),),
                lambda t, x: t.linalg.svdvals(x)),
    _linalg_row("pinv-tall", ag.linalg.pinv, np.linalg.pinv, (separated(2, 4, 3),), lambda t, x: t.linalg.pinv(x)),
    _linalg_row("pinv-wide", ag.linalg.pinv, np.linalg.pinv, (separated(3, 5),), lambda t, x: t.linalg.pinv(x)),
    _linalg_row("pinv-hermitian", lambda x: ag.linalg.pinv(_sym(x), hermitian=True),
                lambda x: np.linalg.pinv(_np_sym(x), hermitian=True), (separated(2, 4, 4, symmetric=True),),
                lambda t, x: t.linalg.pinv(_t_sym(x), hermitian=True)),
    _linalg_row("pinv-atol", lambda x: ag.linalg.pinv(x, atol=0.5), lambda x: np.linalg.pinv(x, rcond=0.5 / 4.0),
                (separated(2, 4, 3),), lambda t, x: t.linalg.pinv(x, atol=0.5)),
    _linalg_row("lstsq-tall", lambda a, b: ag.linalg.lstsq(a, b).solution, lambda a, b: _np_lstsq(a, b)[0],
                (separated(2, 5, 3), normal(2, 5, 2)), lambda t, a, b: t.linalg.lstsq(a, b).solution),
    _linalg_row("lstsq-square", lambda a, b: ag.linalg.lstsq(a, b).solution, lambda a, b: _np_lstsq(a, b)[0],
                (separated(3, 3), normal(3, 2)), lambda t, a, b: t.linalg.lstsq(a, b).solution),
    _linalg_row("lstsq-wide-vector", lambda a, b: ag.linalg.lstsq(a, b).solution,
                lambda a, b: _np_lstsq(a, b, vectors=True)[0], (separated(3, 5), normal(3)),
                lambda t, a, b: t.linalg.lstsq(a, b).solution),
    _linalg_row("lstsq-gels-residuals", lambda a, b: tuple(ag.linalg.lstsq(a, b, driver="gels")[:2]),
                _np_lstsq, (separated(5, 2), normal(5, 3)),
                lambda t, a, b: tuple(t.linalg.lstsq(a, b, driver="gels")[:2])),
    _linalg_row("lstsq-gelsd-broadcast", lambda a, b: tuple(ag.linalg.lstsq(a, b, driver="gelsd")[:2]),
                _np_lstsq, (separated(2, 1, 4, 3), normal(1, 2, 4, 2)),
                lambda t, a, b: tuple(t.linalg.lstsq(a, b, driver="gelsd")[:2])),
    _linalg_row("lu-square", lambda x: tuple(ag.linalg.lu(x)[1:]), _np_lu, (normal(2, 3, 3),),
                lambda t, x: tuple(t.linalg.lu(x)[1:])),
    _linalg_row("lu-wide", lambda x: tuple(ag.linalg.lu(x)[1:]), _np_lu, (normal(3, 5),),
                lambda t, x: tuple(t.linalg.lu(x)[1:])),
    _linalg_row("lu-tall", lambda x: tuple(ag.linalg.lu(x)[1:]), _np_lu, (normal(2, 4, 3),),
                lambda t, x: tuple(t.linalg.lu(x)[1:])),
    _linalg_row("lu_factor", lambda x: ag.linalg.lu_factor(x).LU, _np_lu_factor, (normal(2, 4, 4),),
                lambda t, x: t.linalg.lu_factor(x).LU),
    _linalg_row("lu_solve", lambda a, b: ag.linalg.lu_solve(*ag.linalg.lu_factor(a), b), np.linalg.solve,
                (well_conditioned(2, 3, 3), normal(2, 3, 2)), lambda t, a, b: t.linalg.lu_solve(*t.linalg.lu_factor(a), b)),
    _linalg_row("lu_solve-left=False-adjoint", lambda a, b: ag.linalg.lu_solve(*ag.linalg.lu_factor(a), b, left=False,
                                                                               adjoint=True),
                lambda a, b: np.swapaxes(np.linalg.solve(a, np.swapaxes(b, -1, -2)), -1, -2),
                (well_conditioned(3, 3), normal(2, 2, 3)),
                lambda t, a, b: t.linalg.lu_solve(*t.linalg.lu_factor(a), b, left=False, adjoint=True)),
    _linalg_row("matrix_power-3", lambda x: ag.linalg.matrix_power(x, 3), lambda x: np.linalg.matrix_power(x, 3),
                (normal(2, 3, 3),), lambda t, x: t.linalg.matrix_power(x, 3)),
    _linalg_row("matrix_power--2", lambda x: ag.linalg.matrix_power(x, -2), lambda x: np.linalg.matrix_power(x, -2),
                (well_conditioned(3, 3),), lambda t, x: t.linalg.matrix_power(x, -2)),
    _linalg_row("matrix_exp", ag.linalg.matrix_exp, _np_expm, (normal(2, 3, 3),), lambda t, x: t.linalg.matrix_exp(x)),
    _linalg_row("matrix_exp-squared", ag.linalg.matrix_exp, _np_expm, (scaled_normal(4, 3, 3),),
                lambda t, x: t.linalg.matrix_exp(x)),
    _linalg_row("householder_product", ag.linalg.householder_product, _np_householder_product,
                (normal(2, 4, 3), normal(2, 2)), lambda t, a, tau: t.linalg.householder_product(a, tau)),
    _linalg_row("householder_product-square", ag.linalg.householder_product, _np_householder_product,
                (normal(3, 3), normal(3)), lambda t, a, tau: t.linalg.householder_product(a, tau)),
    _linalg_row("cross", ag.linalg.cross, np.cross, (normal(2, 1, 3), normal(4, 3)),
                lambda t, a, b: t.linalg.cross(a, b.expand(1, 4, 3))),
    _linalg_row("cross-axis=-2", lambda a, b: ag.linalg.cross(a, b, axis=-2),
                lambda a, b: np.cross(a, b, axis=-2), (normal(2, 3, 2), normal(2, 3, 2)),
                lambda t, a, b: t.linalg.cross(a, b, dim=-2)),
    _linalg_row("vecdot-top_level", lambda a, b: ag.vecdot(a, b, axis=0), lambda a, b: np.vecdot(a, b, axis=0),
                (normal(3, 2), normal(3, 1)), lambda t, a, b: t.linalg.vecdot(a, b, dim=0)),
    _linalg_row("vecdot", ag.linalg.vecdot, lambda a, b: np.sum(a * b, -1), (normal(2, 1, 3), normal(4, 3)),
                lambda t, a, b: t.linalg.vecdot(a, b)),
]



# --- NumPy's remaining shape, construction and elementwise functions (ops/stacking.py,
# ops/elementwise_extras.py); the integer, step and creation ones are in test_numpy_extras_against_torch ---
EXPONENTS = np.array([[3, -2, 0], [1, 0, -5]])
INSERTED = [1, 1, -1]


def _insert_positions(n, obj, count):
    """Where each element of x flattened and the inserted values joined comes from: NumPy's
    own insert of the new positions n.. into 0..n-1, the reference for a PyTorch gather."""
    return np.insert(np.arange(n), obj, np.arange(n, n + count))


def _torch_polyval(p, x):
    y = x * 0
    for c in p:
        y = y * x + c
    return y


def _np_vander(x, n=None, increasing=False):
    return np.vander(x, n, increasing).astype(x.dtype)  # (NumPy's float32 one is float64; PyTorch's float32)


def _torch_vander(t, x, n=None, increasing=False):
    """torch.vander's values by running products, as its own (whose backward, in PyTorch 2.13,
    raises that a variable it needs was changed in place)."""
    n = len(x) if n is None else n
    powers = t.cat([t.ones(len(x), 1, dtype=x.dtype), t.cumprod(x[:, None].expand(-1, n - 1), 1)], 1)
    return powers if increasing else powers.flip(1)


NUMPY_EXTRAS = [
    Op("atleast_1d", lambda a, b: ag.atleast_1d(a, b), lambda a, b: np.atleast_1d(a, b), (normal(), normal(2, 3)),
       lambda t, a, b: t.atleast_1d(a, b)),
    Op("atleast_2d", ag.atleast_2d, np.atleast_2d, (normal(3),), lambda t, x: t.atleast_2d(x)),
    Op("atleast_3d", lambda a, b: ag.atleast_3d(a, b), lambda a, b: np.atleast_3d(a, b), (normal(3), normal(2, 3)),
       lambda t, a, b: t.atleast_3d(a, b)),
    Op("hstack-1d", lambda a, b: ag.hstack([a, b]), lambda a, b: np.hstack([a, b]), (normal(2), normal(3)),
       lambda t, a, b: t.hstack([a, b])),
    Op("hstack-2d", lambda a, b: ag.hstack((a, b)), lambda a, b: np.hstack((a, b)), (normal(2, 1), normal(2, 3)),
       lambda t, a, b: t.hstack([a, b])),
    Op("vstack", lambda a, b: ag.vstack([a, b]), lambda a, b: np.vstack([a, b]), (normal(3), normal(2, 3)),
       lambda t, a, b: t.vstack([a, b])),
    Op("dstack", lambda a, b: ag.dstack([a, b]), lambda a, b: np.dstack([a, b]), (normal(2, 3), normal(2, 3, 2)),
       lambda t, a, b: t.dstack([a, b])),
    Op("column_stack", lambda a, b: ag.column_stack([a, b]), lambda a, b: np.column_stack([a, b]),
       (normal(3), normal(3, 2)), lambda t, a, b: t.column_stack([a, b])),
    Op("fliplr", ag.fliplr, np.fliplr, (normal(2, 3, 2),), lambda t, x: t.fliplr(x)),
    Op("flipud", ag.flipud, np.flipud, (normal(3, 2),), lambda t, x: t.flipud(x)),
    Op("rot90", ag.rot90, np.rot90, (normal(2, 3),), lambda t, x: t.rot90(x)),
    Op("rot90-k=-1-axes=2,0", lambda x: ag.rot90(x, -1, (2, 0)), lambda x: np.rot90(x, -1, (2, 0)), (normal(2, 3, 4),),
       lambda t, x: t.rot90(x, -1, (2, 0))),
    Op("rot90-k=2", lambda x: ag.rot90(x, 2), lambda x: np.rot90(x, 2), (normal(2, 3),), lambda t, x: t.rot90(x, 2)),
    Op("kron", ag.kron, np.kron, (normal(2, 3), normal(2, 2)), lambda t, a, b: t.kron(a, b)),
    Op("kron-fewer-axes", ag.kron, np.kron, (normal(2), normal(3, 2)), lambda t, a, b: t.kron(a, b)),
    Op("inner", ag.inner, np.inner, (normal(2, 3), normal(4, 3)), lambda t, a, b: t.inner(a, b)),
    Op("inner-0d", ag.inner, np.inner, (normal(), normal(3)), lambda t, a, b: t.inner(a, b)),
    Op("diagflat-k=1", lambda x: ag.diagflat(x, 1), lambda x: np.diagflat(x, 1), (normal(2, 2),),
       lambda t, x: t.diagflat(x, 1)),
    Op("vander", lambda x: ag.vander(x, 3), lambda x: _np_vander(x, 3), (normal(4),),
       lambda t, x: _torch_vander(t, x, 3)),
    Op("vander-increasing", lambda x: ag.vander(x, increasing=True), lambda x: _np_vander(x, increasing=True),
       (normal(3),), lambda t, x: _torch_vander(t, x, increasing=True)),
    Op("append", lambda a, b: ag.append(a, b, axis=0), lambda a, b: np.append(a, b, axis=0),
       (normal(2, 3), normal(1, 3)), lambda t, a, b: t.cat([a, b], 0)),
    Op("append-axis=None", ag.append, np.append, (normal(2, 2), normal(3)),
       lambda t, a, b: t.cat([a.reshape(-1), b])),
    Op("insert", lambda x, v: ag.insert(x, INSERTED, v), lambda x, v: np.insert(x, INSERTED, v),
       (normal(2, 2), normal(3)),
       lambda t, x, v: t.cat([x.reshape(-1), v])[t.as_tensor(_insert_positions(4, INSERTED, 3))]),
    Op("insert-int-axis=1", lambda x, v: ag.insert(x, 1, v, axis=1), lambda x, v: np.insert(x, 1, v, axis=1),
       (normal(3, 2), normal(3)), lambda t, x, v: t.cat([x[:, :1], v[:, None], x[:, 1:]], 1)),
    Op("delete", lambda x: ag.delete(x, [0, 2, 2], axis=1), lambda x: np.delete(x, [0, 2, 2], axis=1),
       (normal(2, 4),), lambda t, x: x[:, [1, 3]]),
    Op("delete-slice", lambda x: ag.delete(x, slice(None, None, 2)), lambda x: np.delete(x, slice(None, None, 2)),
       (normal(2, 3),), lambda t, x: x.reshape(-1)[1::2]),
    Op("deg2rad", ag.deg2rad, np.deg2rad, (uniform(-400, 400, 2, 3),), lambda t, x: t.deg2rad(x)),
    Op("radians", ag.radians, np.radians, (uniform(-400, 400, 2, 3),), lambda t, x: t.deg2rad(x)),
    Op("rad2deg", ag.rad2deg, np.rad2deg, (normal(2, 3),), lambda t, x: t.rad2deg(x)),
    Op("degrees", ag.degrees, np.degrees, (normal(2, 3),), lambda t, x: t.rad2deg(x)),
    Op("fabs", ag.fabs, np.fabs, (away_from([0], 2, 3),), lambda t, x: t.abs(x)),
    Op("fmax", ag.fmax, np.fmax, (distinct(2, 3), distinct(3)), lambda t, a, b: t.fmax(a, b)),
    Op("fmin", ag.fmin, np.fmin, (distinct(2, 3), distinct(2, 1)), lambda t, a, b: t.fmin(a, b)),
    Op("float_power", ag.float_power, np.float_power, (uniform(0.5, 2, 2, 3), normal(3)),
       lambda t, a, b: t.float_power(a, b)),
    Op("float_power-scalar", lambda a: ag.float_power(a, 0.1), lambda a: np.float_power(a, 0.1),
       (uniform(0.5, 2, 2, 3),), lambda t, a: t.float_power(a, 0.1)),
    Op("cbrt", ag.cbrt, np.cbrt, (away_from([0], 2, 3, margin=0.3, low=-30, high=30),),
       lambda t, x: t.sign(x) * x.abs() ** (1 / 3)),  # (PyTorch has no cbrt)
    Op("logaddexp2", ag.logaddexp2, np.logaddexp2, (normal(2, 3), normal(3)), lambda t, a, b: t.logaddexp2(a, b)),
    Op("logaddexp2-wide", ag.logaddexp2, np.logaddexp2, (uniform(-60, 60, 7), uniform(-60, 60, 7)),
       lambda t, a, b: t.logaddexp2(a, b)),
    Op("sinc", ag.sinc, np.sinc, (uniform(-3, 3, 2, 5),), lambda t, x: t.sinc(x)),
    Op("ldexp", lambda x: ag.ldexp(x, ag.tensor(EXPONENTS)), lambda x: np.ldexp(x, EXPONENTS), (normal(2, 3),),
       # x * 2.0 ** e, what torch.ldexp computes: its own gradient is 0 where e < 0 (2 ** e taken in integers)
       lambda t, x: x * t.pow(2.0, t.as_tensor(EXPONENTS)).double()),
    Op("frexp-mantissa", lambda x: ag.frexp(x)[0], lambda x: np.frexp(x)[0],
       (away_from([-4, -2, -1, -0.5, 0, 0.5, 1, 2, 4], 2, 3, margin=0.05, low=-5, high=5),),
       lambda t, x: t.frexp(x).mantissa),
    Op("modf", ag.modf, lambda x: list(np.modf(x)), (near_multiples(1, 0.5, 2, 3, spread=0.4),),
       lambda t, x: (x - x.trunc(), x.trunc())),  # (PyTorch has no modf)
    Op("divmod", ag.divmod, lambda a, b: list(np.divmod(a, b)), (uniform(-5, 5, 2, 3), away_from([0], 3, margin=0.5)),
       lambda t, a, b: (t.div(a, b, rounding_mode="floor"), t.remainder(a, b))),
    Op("rint", ag.rint, np.rint, (near_multiples(1, 0, 2, 3, spread=0.4),), lambda t, x: t.round(x)),
    Op("fix", ag.fix, np.fix, (near_multiples(1, 0.5, 2, 3, spread=0.4),), lambda t, x: t.trunc(x)),
    Op("around-decimals=1", lambda x: ag.around(x, 1), lambda x: np.around(x, 1),
       (near_multiples(0.1, 0, 2, 3, spread=0.04),), lambda t, x: t.round(x, decimals=1), check=dict(eps=1e-4)),
    Op("polyval", ag.polyval, np.polyval, (normal(4), normal(2, 3)), lambda t, p, x: _torch_polyval(p, x)),
]


def _scipy(name, *leading):
    """A scipy.special reference in the input's dtype (SciPy comes with scikit-learn, in the dev
    extra); the forward check skips where it is missing."""
    def ref(*arrays):
        special = pytest.importorskip("scipy.special")
        return getattr(special, name)(*leading, *arrays).astype(arrays[-1].dtype)
    return ref


def _mvlgamma(x, p):
    """p (p - 1) / 4 log(pi) + the sum of lgamma(x - j / 2), j < p, from math.lgamma."""
    lgamma = np.vectorize(math.lgamma, otypes=[np.float64])
    return (sum(lgamma(x - j / 2) for j in range(p)) + p * (p - 1) / 4 * math.log(math.pi)).astype(x.dtype)


POLES = [0, -1, -2, -3]
ZETA_ORDERS = np.array([2.0, 3.5, 7.0])

# --- the gamma family (ops/gamma_functions.py) ---
GAMMA_FUNCTIONS = [
    Op("lgamma", ag.lgamma, _special(math.lgamma), (away_from(POLES, 3, 4, low=-3.9, high=6),),
       lambda t, x: t.lgamma(x)),
    Op("lgamma-large", lambda x: x.lgamma(), _special(math.lgamma), (uniform(6, 300, 7),), lambda t, x: t.lgamma(x)),
    Op("digamma", ag.digamma, _scipy("psi"), (away_from(POLES, 3, 4, low=-3.9, high=6),),
       lambda t, x: t.digamma(x)),
    Op("digamma-large", lambda x: x.digamma(), _scipy("psi"), (uniform(6, 300, 7),), lambda t, x: t.digamma(x)),
    # torch.special.zeta(n + 1, x) as PyTorch's polygamma(n, x) for n = 1: its trigamma has a kernel of
    # its own, 5e-10 off (polygamma(n >= 2) is zeta there too)
    Op("polygamma-n=1", lambda x: ag.polygamma(1, x), _scipy("polygamma", 1), (uniform(0.2, 6, 3, 4),),
       lambda t, x: t.special.zeta(t.tensor(2.0, dtype=x.dtype), x)),
    Op("polygamma-n=1-negative", lambda x: x.polygamma(1), _scipy("polygamma", 1),
       (away_from(POLES, 3, 4, margin=0.2, low=-3.8, high=-0.2),), lambda t, x: t.polygamma(1, x)),
    Op("polygamma-n=2", lambda x: ag.polygamma(2, x), _scipy("polygamma", 2),
       (away_from(POLES, 3, 4, margin=0.2, low=-3.8, high=6),), lambda t, x: t.polygamma(2, x)),
    Op("polygamma-n=4", lambda x: x.polygamma(4), _scipy("polygamma", 4), (uniform(0.5, 12, 7),),
       lambda t, x: t.polygamma(4, x)),
    Op("mvlgamma-p=1", lambda x: ag.mvlgamma(x, 1), lambda x: _mvlgamma(x, 1), (uniform(0.3, 5, 2, 3),),
       lambda t, x: t.mvlgamma(x, 1)),
    Op("mvlgamma-p=4", lambda x: x.mvlgamma(4), lambda x: _mvlgamma(x, 4), (uniform(1.6, 6, 2, 3),),
       lambda t, x: t.mvlgamma(x, 4)),
    Op("zeta-in-q", lambda q: ag.special.zeta(ag.tensor(ZETA_ORDERS, dtype=q.dtype), q),
       lambda q: _scipy("zeta")(ZETA_ORDERS.astype(q.dtype), q), (uniform(0.3, 9, 2, 3),),
       lambda t, q: t.special.zeta(t.tensor(ZETA_ORDERS, dtype=q.dtype), q)),
    Op("zeta-in-q-negative", lambda q: ag.special.zeta(3.0, q), _scipy("zeta", 3.0),
       (away_from(POLES, 5, margin=0.2, low=-3.8, high=-0.2),), lambda t, q: t.special.zeta(3.0, q)),
]


# --- the normal distribution, products with logarithms, logit, Bessel functions (ops/special_functions.py) ---
SPECIAL_FUNCTIONS = [
    Op("erfinv", ag.erfinv, _scipy("erfinv"), (uniform(-0.99, 0.99, 2, 5),), lambda t, x: t.erfinv(x)),
    Op("ndtr", ag.special.ndtr, _scipy("ndtr"), (uniform(-8, 8, 2, 5),), lambda t, x: t.special.ndtr(x)),
    Op("ndtri", ag.special.ndtri, _scipy("ndtri"), (uniform(0.01, 0.99, 2, 5),), lambda t, x: t.special.ndtri(x)),
    Op("log_ndtr", ag.special.log_ndtr, _scipy("log_ndtr"), (uniform(-30, 8, 2, 5),),
       lambda t, x: t.special.log_ndtr(x)),
    Op("erfcx", ag.special.erfcx, _scipy("erfcx"), (uniform(-3, 12, 2, 5),), lambda t, x: t.special.erfcx(x)),
    Op("xlogy", ag.xlogy, _scipy("xlogy"), (normal(2, 3), uniform(0.3, 3, 3)), lambda t, a, b: t.xlogy(a, b)),
    Op("xlogy_scalar_left", lambda b: ag.special.xlogy(2.5, b), lambda b: _scipy("xlogy")(np.full_like(b, 2.5), b),
       (uniform(0.3, 3, 2, 3),), lambda t, b: t.xlogy(2.5, b)),
    Op("xlogy_scalar_right", lambda a: a.xlogy(3.0), lambda a: _scipy("xlogy")(a, np.full_like(a, 3.0)),
       (normal(2, 3),), lambda t, a: t.xlogy(a, 3.0)),
    Op("xlog1py", ag.special.xlog1py, _scipy("xlog1py"), (normal(2, 3), uniform(-0.7, 3, 2, 1)),
       lambda t, a, b: t.special.xlog1py(a, b)),
    Op("logit", lambda x: x.logit(), _scipy("logit"), (uniform(0.05, 0.95, 2, 5),), lambda t, x: t.logit(x)),
    Op("logit-eps", lambda x: ag.logit(x, eps=0.2), lambda x: _scipy("logit")(np.clip(x, 0.2, 0.8)),
       (away_from([0.2, 0.8], 2, 5, low=0.02, high=0.98),), lambda t, x: t.logit(x, eps=0.2)),
    Op("entr", ag.special.entr, _scipy("entr"), (uniform(0.1, 3, 2, 5),), lambda t, x: t.special.entr(x)),
    Op("i0", lambda x: x.i0(), _scipy("i0"), (uniform(-18, 18, 2, 5),), lambda t, x: t.i0(x)),
    Op("i0e", ag.special.i0e, _scipy("i0e"), (uniform(-18, 18, 2, 5),), lambda t, x: t.special.i0e(x)),
    Op("i1", ag.special.i1, _scipy("i1"), (uniform(-18, 18, 2, 5),), lambda t, x: t.special.i1(x)),
    Op("i1_small", ag.special.i1, _scipy("i1"), (uniform(-0.1, 0.1, 2, 5),), lambda t, x: t.special.i1(x)),
    Op("i1e", ag.special.i1e, _scipy("i1e"), (uniform(-18, 18, 2, 5),), lambda t, x: t.special.i1e(x)),
]


TABLE = (UNARY + BINARY + TRIGONOMETRIC + EXPONENTIAL + ROUNDING + NONFINITE + REDUCTIONS + SHAPE + INDEXING
         + LINALG + MATRIX_PARTS + REARRANGE + SCANS + STATISTICS + LINALG_EXTENSION + NUMPY_EXTRAS
         + GAMMA_FUNCTIONS + SPECIAL_FUNCTIONS)


# --- what every row drives ------------------------------------------------------------------
def _outputs(result):
    return list(result) if isinstance(result, (tuple, list)) else [result]


def _leaves(op, dtype, requires_grad):
    return [ag.tensor(a, dtype=dtype, requires_grad=requires_grad) for a in draw_inputs(op)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op", TABLE, ids=repr)
def test_forward_matches_numpy(op, dtype, device):
    arrays = [a.astype(dtype) for a in draw_inputs(op)]
    got = _outputs(op.fn(*[ag.tensor(a) for a in arrays]))
    want = _outputs(op.ref(*arrays))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        w = np.asarray(w)
        assert g.device == device
        assert g.shape == w.shape, f"{op.name}: shape {g.shape}, NumPy gives {w.shape}"
        assert g.dtype == w.dtype, f"{op.name}: dtype {g.dtype}, NumPy gives {w.dtype}"
        rtol = op.rtol32 if dtype == "float32" else 1e-10
        np.testing.assert_allclose(g.numpy(), w, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("op", TABLE, ids=repr)
def test_gradcheck(op, device):
    assert ag.gradcheck(op.fn, _leaves(op, "float64", True), **op.check) is True


@pytest.mark.parametrize("op", TABLE, ids=repr)
def test_gradgradcheck(op, device):
    assert ag.gradgradcheck(op.fn, _leaves(op, "float64", True), **op.check) is True


# Rows whose PyTorch reference needs a newer PyTorch: {name: (version, what it added)}.
NEWER_TORCH = {"ptp-axis=1": ("2.13", "aminmax has a derivative from 2.13 on")}


@pytest.mark.parametrize("op", [pytest.param(op, marks=needs_torch(*NEWER_TORCH[op.name])) if op.name in NEWER_TORCH
                                else op for op in TABLE], ids=repr)
def test_matches_torch(op, device, torch):
    arrays = draw_inputs(op)
    ours = [ag.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    got, want = _outputs(op.fn(*ours)), _outputs(op.torch(torch, *theirs))
    assert len(got) == len(want)
    rng = np.random.default_rng(7)
    cotangents = [rng.standard_normal(w.shape) for w in want]
    for g, w in zip(got, want):
        assert g.shape == tuple(w.shape)
        np.testing.assert_allclose(g.numpy(), w.detach().numpy(), rtol=1e-10, atol=1e-12)
    # Backward through the sum of <output, random cotangent> on both sides.
    ag.backward(got, [ag.tensor(c, dtype="float64") for c in cotangents])
    torch.autograd.backward(want, [torch.tensor(c) for c in cotangents])
    for i, (x, tx) in enumerate(zip(ours, theirs)):
        assert x.grad is not None, f"{op.name}: input {i} got no gradient"
        assert x.grad.shape == x.shape
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=f"{op.name}: gradient of input {i}")


@pytest.mark.parametrize("spec, shapes, message", [
    ("ij->ii", [(2, 2)], r"^einsum: output subscript 'i' appears more than once in 'ij->ii'$"),
    ("ij->k", [(2, 2)], r"^einsum: output subscript 'k' appears in no operand of 'ij->k'$"),
    ("ii->i", [(2, 3)], r"^einsum: subscript 'i' is repeated in 'ii' \(a diagonal\) over axes of different sizes"),
    ("ij,jk->ik", [(2, 3), (4, 2)], r"^einsum: subscript 'j' has sizes 3 and 4$"),
    ("i->i->i", [(2,)], r"^einsum: 'i->i->i' has more than one '->'$"),
])
def test_einsum_subscript_errors(spec, shapes, message):
    with pytest.raises(ValueError, match=message):
        ag.einsum(spec, *(ag.ones(*shape) for shape in shapes))


def test_table_covers_every_primitive():
    """A new primitive op must bring its row: each public op function has at least one."""
    names = {op.name.split("-")[0].split("_")[0] for op in TABLE} | {op.name.split("-")[0] for op in TABLE}
    for primitive in ["clone", "neg", "exp", "log", "log1p", "sqrt", "abs", "sign", "sin", "cos", "tanh", "sigmoid", "relu",
                      "clip", "maximum", "minimum", "where", "pow", "add", "sub", "mul", "div", "astype", "sum",
                      "mean", "max", "min", "var", "std", "logsumexp", "reshape", "transpose", "flatten",
                      "squeeze", "expand", "broadcast", "swapaxes", "sum", "concat", "stack", "split", "getitem",
                      "matmul", "einsum", "prod", "cumsum", "cumprod", "sort", "topk",
                      "tan", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "arcsinh", "arccosh", "arctanh",
                      "exp2", "expm1", "log2", "log10", "logaddexp", "square", "reciprocal", "hypot", "erf", "erfc",
                      "floor", "ceil", "round", "trunc", "fmod", "remainder", "floor_divide", "nan_to_num",
                      "outer", "tensordot", "tril", "triu", "diagonal", "trace", "diag", "flip", "roll",
                      "moveaxis", "unstack", "tile", "repeat", "meshgrid", "take_along_axis", "take",
                      "copysign", "positive", "permute_dims", "matrix_transpose", "broadcast_arrays"]:
        assert primitive in names, f"the op table has no row for {primitive}"


def test_table_covers_the_linalg_extension():
    """Each differentiable function of ag.linalg has at least one row."""
    names = {op.name.split("-")[0] for op in LINALG_EXTENSION}
    for function in ["inv", "det", "slogdet", "solve", "cholesky", "qr", "eigh", "eigvalsh", "svd", "svdvals", "pinv",
                     "lstsq", "matrix_power", "matrix_exp", "householder_product", "cross", "vecdot", "lu", "lu_factor",
                     "lu_solve"]:
        assert function in names, f"the op table has no row for ag.linalg.{function}"


def test_table_covers_the_special_functions():
    """Each differentiable function of ag.special defined in gamma_functions.py or
    special_functions.py has at least one row."""
    names = {op.name.split("-")[0] for op in GAMMA_FUNCTIONS + SPECIAL_FUNCTIONS}
    for function in ["lgamma", "digamma", "polygamma", "mvlgamma", "zeta", "erfinv", "ndtr", "ndtri", "log_ndtr",
                     "erfcx", "xlogy", "xlog1py", "logit", "entr", "i0", "i0e", "i1", "i1e"]:
        assert function in names, f"the op table has no row for ag.special.{function}"
