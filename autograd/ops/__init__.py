"""The primitive ops, one family per module; each op's forward sits beside its backward."""
from . import comparison, device, elementwise, indexing, linalg, reduction, scan, shape, sorting  # noqa: F401
from . import exponential, gather, logical, matrix_parts, nonfinite, rearrange, rounding, trigonometric  # noqa: F401
from . import elementwise_extras, floating_point, nan_reductions, searching, sets, stacking, statistics  # noqa: F401
from . import euclidean_norm, special_functions  # noqa: F401
from . import gamma_functions  # noqa: F401
from . import nn_fused  # noqa: F401
from . import pointwise_combinations  # noqa: F401
