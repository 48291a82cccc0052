"""Polynomials by Horner's rule, on arrays and on Tensors alike (they take only * and +),
for the series and the fitted approximations of the special functions."""


def horner(t, coefficients):
    """The polynomial with ``coefficients``, highest power first, at ``t``."""
    result = coefficients[0]
    for c in coefficients[1:]:
        result = result * t + c
    return result
