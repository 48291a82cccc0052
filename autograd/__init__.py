"""topograd's engine: ``import autograd as ag``.

Tensors record a graph as ordinary Python runs; ``backward()`` walks it in
reverse topological order. Ops run on the NumPy or CuPy backend of their inputs.
"""
from . import tensor as _tensor  # first: the Tensor class, then what builds on it
from backends import dtypes as _dtypes
from backends import set_default_device, default_device, cuda_is_available  # noqa: F401

from .anomaly import detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled, set_detect_anomaly
from .autocast_mode import autocast, get_autocast_dtype, is_autocast_available, is_autocast_enabled
from .creation import (arange, empty, empty_like, eye, from_dlpack, full, full_like, geomspace, linspace, logspace,
                       manual_seed, ones, ones_like, rand, rand_like, randint, randint_like, randn, randn_like, tensor,
                       tril_indices, triu_indices, zeros, zeros_like)
from .dtype_functions import can_cast, finfo, iinfo, isdtype, result_type
from .engine import backward, grad
from .function import Function
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .ops.comparison import allclose, equal, greater, greater_equal, isclose, less, less_equal, not_equal
from .ops.device import to_device
from .ops.elementwise import (abs, add, astype, clip, cos, exp, log, log1p, maximum, minimum, mul,
                              neg, positive, pow, relu, relu_, sigmoid, sign, sin, sqrt, sub, tanh, where)
from .ops.elementwise import clone, masked_fill
from .ops.elementwise import mul as multiply, neg as negative, sub as subtract  # the standard's names
from .ops.elementwise_extras import (cbrt, deg2rad, divmod, fabs, fix, float_power, fmax, fmin, frexp, gcd,
                                     heaviside, lcm, ldexp, logaddexp2, modf, polyval, rad2deg, rint, sinc)
from .ops.elementwise_extras import deg2rad as radians, rad2deg as degrees  # NumPy's other names
from .ops.exponential import erf, erfc, exp2, expm1, hypot, log2, log10, logaddexp, reciprocal, square
from .ops.floating_point import copysign, nextafter, signbit
from .ops.gamma_functions import digamma, lgamma, mvlgamma, polygamma
from .ops.gather import index_add, scatter, scatter_add, take, take_along_axis
from .ops.indexing import getitem
from .ops.linalg import einsum, matmul, outer, tensordot
from .ops.logical import (bitwise_and, bitwise_invert, bitwise_left_shift, bitwise_or, bitwise_right_shift,
                          bitwise_xor, logical_and, logical_not, logical_or, logical_xor)
from .ops.logical import bitwise_invert as bitwise_not  # PyTorch's name
from .ops.matrix_parts import diag, diagonal, trace, tril, triu
from .ops.nonfinite import isfinite, isinf, isnan, nan_to_num
from .ops.pointwise_combinations import addcdiv, addcmul, lerp
from .ops.nan_reductions import (nanargmax, nanargmin, nancumprod, nancumsum, nanmax, nanmean, nanmin, nanprod,
                                 nanstd, nansum, nanvar)
from .ops.rearrange import flip, meshgrid, moveaxis, repeat, roll, tile, unstack
from .ops.reduction import all, any, argmax, argmin, logsumexp, max, mean, min, prod, std, sum, var
from .ops.rounding import ceil, div, floor, floor_divide, fmod, remainder, round, trunc
from .ops.rounding import div as divide  # the standard's name (with PyTorch's rounding_mode)
from .ops.rounding import round as around  # NumPy's other name
from .ops.scan import cummax, cummin, cumprod, cumsum, cumulative_prod, cumulative_sum, diff, logcumsumexp
from .ops.searching import count_nonzero, nonzero, searchsorted
from .ops.stacking import (append, atleast_1d, atleast_2d, atleast_3d, column_stack, delete, diagflat, dstack,
                           fliplr, flipud, hstack, inner, insert, kron, rot90, vander, vstack)
from .ops.sets import unique_all, unique_counts, unique_inverse, unique_values
from .ops.statistics import (argwhere, average, bincount, corrcoef, cov, cumulative_trapezoid, histogram, interp,
                             isin, ptp, trapezoid)
from .ops.special_functions import erfinv, i0, logit, xlogy
from .ops.sorting import argsort, kthvalue, median, nanmedian, nanquantile, quantile, sort, topk
from .ops.shape import (broadcast_arrays, broadcast_to, concat, expand_dims, flatten, permute_dims, reshape, split,
                        squeeze, stack, sum_to, swapaxes, transpose)
from .ops.trigonometric import (acos, acosh, arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh, asin,
                                asinh, atan, atan2, atanh, cosh, sinh, tan)
from .tensor import Tensor, default_dtype as get_default_dtype, set_default_dtype
# (graphviz itself is imported only when a drawing is made)
from . import checkpoint, func, functional, graph, linalg, profiler, special, viz
from .linalg import matrix_transpose, vecdot  # the standard has these at the top level too
from .viz import draw, make_dot

float16 = _dtypes.float16
float32 = _dtypes.float32
float64 = _dtypes.float64
int8, int16, int32, int64 = (_dtypes.canonical(name) for name in ("int8", "int16", "int32", "int64"))
uint8, uint16, uint32, uint64 = (_dtypes.canonical(name) for name in ("uint8", "uint16", "uint32", "uint64"))
bool = _dtypes.bool_
