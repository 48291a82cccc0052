"""PyTorch's ``torch.special`` as ``ag.special``: the special functions under the names
PyTorch gives them there. Each is an op defined in ``autograd/ops``; this module only
gathers their names (several are also ``ag.NAME`` and Tensor methods)."""
from .ops.elementwise import log1p, sigmoid as expit
from .ops.elementwise_extras import sinc
from .ops.exponential import erf, erfc, exp2, expm1
from .ops.reduction import logsumexp
from .ops.rounding import round

# --- the gamma family ------------------------------------------------------------------
from .ops.gamma_functions import digamma, lgamma as gammaln, mvlgamma as multigammaln, polygamma, zeta
from .ops.gamma_functions import digamma as psi

# --- the normal distribution, products with logarithms, logit, Bessel functions ----------
from .ops.special_functions import entr, erfcx, erfinv, i0, i0e, i1, i1e, log_ndtr, logit, ndtr, ndtri, xlog1py, xlogy

__all__ = ["digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1", "gammaln", "i0", "i0e",
           "i1", "i1e", "log1p", "log_ndtr", "logit", "logsumexp", "multigammaln", "ndtr", "ndtri", "polygamma",
           "psi", "round", "sinc", "xlog1py", "xlogy", "zeta"]
