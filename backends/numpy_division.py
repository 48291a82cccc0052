"""NumPy's fmod, remainder and floor_divide of floating arrays, to the bit, in a few
whole-array passes instead of NumPy's loop.

NumPy runs all three through C's fmod, one element at a time, whose loop steps the
dividend down by the divisor a bit at a time: 4-6 ms for (512, 512) float32 on one
thread, some 20x PyTorch's. Its remainder and floor_divide then adjust fmod's result
(npy_divmod in NumPy's npy_math):

    mod = fmod(a, b)                       # exact, with a's sign
    div = (a - mod) / b                    # two roundings
    if mod != 0 and (b < 0) != (mod < 0):  # signs differ: one more step down
        mod += b; div -= 1
    mod == 0: mod = copysign(0, b)
    div != 0: floordiv = floor(div), + 1 where div - floor(div) > 0.5
    div == 0: floordiv = copysign(0, a / b)

float16 goes through float32 there (and is rounded once at the end), so it does here.

All of that is a few passes once R = fmod(|a|, |b|) is known, and R has an exact closed
form |a| - q |b| wherever the quotient q = trunc(|a| / |b|) is small:

- float32 works in float64: q |b| has at most 29 + 24 bits, so it is exact for
  q <= 2**29, and so is the difference, which lies in [-|b|, |b|) with float32's bits;
- float64 splits |b| into its top 26 bits and the other 27 (a bit mask: exact), so that
  q times either part is exact for q <= 2**26, and |a| minus the top part's product is
  too (below 2**26 the two share |a|'s exponent range); the last subtraction then rounds
  the exact R, a float64, to itself.

The rounded division may make q one too large right below a whole quotient; R then comes
out negative. A quotient past the limit (clipped to it, so that R comes out >= |b|), a
zero divisor, an infinity or a NaN leave R outside [0, |b|) as well (as bits: a negative
R or a NaN compares above |b|, but for a NaN from two NaNs, whose payloads differ, which
isnan catches). NumPy's own loop does those elements, rare in practice, so its NaNs and
warnings are the results' too.
"""
import math

import numpy as np

# Below this many elements NumPy's loop takes less time than the passes' ufunc calls.
FAST_MIN_SIZE = 2048
# Quotients up to these leave q |b| exact (see above); float64's high part of |b| keeps 26 bits.
_LIMIT = {np.dtype(np.float32): 2.0 ** 29, np.dtype(np.float64): 2.0 ** 26}
_HIGH_26_BITS = np.uint64(~((1 << 27) - 1) & ((1 << 64) - 1))
_SAME_SIZE_INT = {4: np.int32, 8: np.int64}
_FLOATS = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


def applies(a, b):
    """Whether the passes here serve ``a`` and ``b`` (float16, 32 or 64, one dtype, a
    result large enough to pay for them)."""
    return (a.dtype == b.dtype and a.dtype in _FLOATS
            and math.prod(np.broadcast_shapes(a.shape, b.shape)) >= FAST_MIN_SIZE)


def fmod(a, b, scratch):
    """np.fmod(a, b), bit for bit."""
    return _divide(a, b, scratch, _fmod, np.fmod)


def remainder(a, b, scratch):
    """np.remainder(a, b), bit for bit."""
    return _divide(a, b, scratch, _remainder, np.remainder)


def floor_divide(a, b, scratch):
    """np.floor_divide(a, b), bit for bit."""
    return _divide(a, b, scratch, _floor_divide, np.floor_divide)


def _divide(a, b, scratch, finish, numpy_loop):
    """``finish``'s result from the exact remainder of |a| / |b|, where that is exact, and
    ``numpy_loop``'s for the rest; ``scratch(shape, dtype)`` gives temporaries."""
    shape = np.broadcast_shapes(a.shape, b.shape)
    wide_a, wide_b = a, b
    if a.dtype == np.float16:  # worked in float32, as NumPy's float16 loops do
        wide_a, wide_b = a.astype(np.float32), b.astype(np.float32)
    with np.errstate(all="ignore"):  # what over- or underflows here is redone below
        size_a, size_b, rest, exact = _exact_remainder(wide_a, wide_b, shape, scratch)
        out = finish(wide_a, wide_b, size_a, size_b, rest, scratch(shape, wide_a.dtype), scratch)
    if out.dtype != a.dtype:
        out = out.astype(a.dtype)
    if not exact.all():
        redo = np.logical_not(exact, out=exact)
        # (NumPy's loop, with its warnings for division by zero and the like)
        out[redo] = numpy_loop(np.broadcast_to(a, shape)[redo], np.broadcast_to(b, shape)[redo])
    return out


def _exact_remainder(a, b, shape, scratch):
    """|a|, |b| and R = fmod(|a|, |b|) as float64 arrays, and where R is exact (a bool
    array of the broadcast ``shape``)."""
    size_a = np.abs(a, out=scratch(a.shape, np.float64))
    size_b = np.abs(b, out=scratch(b.shape, np.float64))
    q = np.divide(size_a, size_b, out=scratch(shape, np.float64))
    np.trunc(q, out=q)
    limit = _LIMIT[a.dtype]
    unordered = None
    if not np.max(q) <= limit:  # (a NaN too; max, a reduction, takes a fifth of minimum's pass)
        np.minimum(q, limit, out=q)
        # a NaN R from two NaNs may carry the smaller payload, below |b|'s bits
        unordered = np.isnan(q, out=scratch(shape, np.bool_))
    rest = scratch(shape, np.float64)
    if a.dtype == np.float32:
        np.subtract(size_a, np.multiply(q, size_b, out=q), out=rest)
    else:
        high = np.bitwise_and(size_b.view(np.uint64), _HIGH_26_BITS,
                              out=scratch(b.shape, np.uint64)).view(np.float64)
        low = np.subtract(size_b, high, out=scratch(b.shape, np.float64))
        np.subtract(size_a, np.multiply(q, high, out=rest), out=rest)
        np.subtract(rest, np.multiply(q, low, out=q), out=rest)
    # 0 <= R < |b| on the bits: a negative R (sign bit set) or a NaN compares above |b|
    exact = np.less(rest.view(np.uint64), size_b.view(np.uint64), out=scratch(shape, np.bool_))
    if unordered is not None:
        exact &= np.logical_not(unordered, out=unordered)
    return size_a, size_b, rest, exact


def _signs_differ(a, b, shape, scratch):
    """The bits of a XOR b, which have the sign bit where a's and b's signs differ, as
    a's float dtype (for copysign), and a bool array of where they differ."""
    bits = _SAME_SIZE_INT[a.itemsize]
    xor = np.bitwise_xor(a.view(bits), b.view(bits), out=scratch(shape, bits))
    return xor.view(a.dtype), np.less(xor, 0, out=scratch(shape, np.bool_))


def _stepped_down(differ, rest, scratch):
    """Where NumPy steps the quotient down by one: mod != 0, its sign (a's) not b's;
    ``differ`` becomes that mask."""
    return np.logical_and(differ, np.greater(rest, 0, out=scratch(rest.shape, np.bool_)), out=differ)


def _fmod(a, b, size_a, size_b, rest, out, scratch):
    return np.copysign(rest, a, out=out, casting="same_kind")  # (R is exact in a's dtype)


def _remainder(a, b, size_a, size_b, rest, out, scratch):
    _, differ = _signs_differ(a, b, rest.shape, scratch)
    step = _stepped_down(differ, rest, scratch)
    # mod + b = sign(b) (|b| - R) there, else sign(b) R (a zero too): |b| step - R has
    # those sizes, with one rounding into a's dtype (float64's sum of two float32s is
    # exact or rounds innocuously)
    shifted = np.subtract(np.multiply(size_b, step, out=scratch(rest.shape, np.float64)), rest,
                          out=rest)
    return np.copysign(shifted, b, out=out, casting="same_kind")


def _floor_divide(a, b, size_a, size_b, rest, out, scratch):
    # a - mod = sign(a) (|a| - R), rounded once into a's dtype as NumPy's is (for float32,
    # |a| - R = q |b| is exact in float64)
    div = np.subtract(size_a, rest, out=out, casting="same_kind")
    np.copysign(div, a, out=div)
    np.divide(div, b, out=div)
    xor, differ = _signs_differ(a, b, rest.shape, scratch)
    np.subtract(div, _stepped_down(differ, rest, scratch), out=div)
    floor = np.floor(div, out=scratch(rest.shape, div.dtype))
    np.subtract(div, floor, out=div)
    np.add(floor, np.greater(div, 0.5, out=differ), out=floor)  # NumPy's snap to the nearest
    # a zero quotient takes a / b's sign, and a nonzero one has it already
    return np.copysign(floor, xor, out=out)
