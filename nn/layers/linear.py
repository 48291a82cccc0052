"""Linear: y = x W^T + b, one fused GEMM plus bias; Bilinear: y = x1^T A x2 + b."""
import math

from autograd import Tensor, empty

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
        try:
            return F.linear(input, self.weight, self.bias)
        except ValueError:  # checked only on failure, so a call that fits pays nothing
            self._refuse_input_of_another_size(input)
            raise

    def _refuse_input_of_another_size(self, input):
        """Name this layer when the input's feature count does not fit it: in a network of
        several Linears, F.linear's message names only the op."""
        in_features = self.weight.shape[-1]  # the weight in use (functional_call may give another)
        if not isinstance(input, Tensor) or input.ndim == 0 or input.shape[-1] == in_features:
            return
        shape = input.shape
        per_sample = math.prod(shape[1:])  # images (N, 28, 28) into Linear(784, ...)
        flatten = (f"; flatten the axes after the batch first, with x.flatten(1) or nn.Flatten() (their "
                   f"{per_sample} values match)" if len(shape) > 2 and per_sample == in_features else "")
        raise ValueError(f"Linear({self.extra_repr()}): expected an input whose last axis has "
                         f"{in_features} features, got shape {shape}{flatten}") from None

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Bilinear(Module):
    """weight (out_features, in1_features, in2_features) and bias (out_features,),
    both initialized as PyTorch does: U(+-1/sqrt(in1_features))."""

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in1_features = positive_int("Bilinear", "in1_features", in1_features, allow_zero=True)
        self.in2_features = positive_int("Bilinear", "in2_features", in2_features, allow_zero=True)
        self.out_features = positive_int("Bilinear", "out_features", out_features, allow_zero=True)
        self.weight = Parameter(empty((out_features, in1_features, in2_features), dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(empty((out_features,), dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.in1_features) if self.in1_features else 0.0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
