"""Linear: y = x W^T + b, one fused GEMM plus bias."""

from autograd import empty

from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter
from .arguments import positive_int


class Linear(Module):
    """weight (out_features, in_features) and bias (out_features,), initialized as
    PyTorch does: kaiming_uniform_(a=sqrt(5)), i.e. U(+-1/sqrt(in_features)) for both."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = positive_int("Linear", "in_features", in_features, allow_zero=True)
        self.out_features = positive_int("Linear", "out_features", out_features, allow_zero=True)
        self.weight = Parameter(empty((out_features, in_features), dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(empty((out_features,), dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.default_weight_and_bias_(self.weight, self.bias)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
