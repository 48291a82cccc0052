"""PyTorch's ``torch.special`` as ``ag.special``: the special functions under the names
PyTorch gives them there. Each is an op defined in ``autograd/ops``; this module only
gathers their names (several are also ``ag.NAME`` and Tensor methods)."""
from .ops.elementwise import log1p, sigmoid as expit
from .ops.elementwise_extras import sinc
from .ops.exponential import erf, erfc, exp2, expm1
from .ops.reduction import logsumexp
from .ops.rounding import round

# --- the gamma family ------------------------------------------------------------------

# --- the normal distribution, products with logarithms, logit, Bessel functions ----------
from .ops.special_functions import entr, erfcx, erfinv, i0, i0e, i1, i1e, log_ndtr, logit, ndtr, ndtri, xlog1py, xlogy
