"""The benchmark models, written once for any PyTorch-compatible ``nn`` namespace:
``build(nn)`` makes the topograd model from topograd's ``nn`` and the PyTorch one
from ``torch.nn``, with the same attribute (and so state_dict) names. That
topograd code ports from PyTorch by changing the import is part of what is shown.

A ``ModelSpec`` also knows its initial weights and a batch (seeded NumPy arrays,
shared by every contender) and its hand-written floor.

ReLUs are ``ReLU(inplace=True)``, for PyTorch and topograd alike: the floors
apply ReLU in place, and fast PyTorch models (torchvision's among them) do too.
"""
import dataclasses

import numpy as np

from .floors.cnn import CNNFloor
from .floors.lstm import LSTMFloor
from .floors.mlp import MLPFloor

CLASSES = 10


def mlp(nn, sizes):
    """Linear+ReLU layers; the last Linear gives the logits."""
    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(sizes[0], sizes[1])
            self.relu1 = nn.ReLU(inplace=True)
            self.fc2 = nn.Linear(sizes[1], sizes[2])
            self.relu2 = nn.ReLU(inplace=True)
            self.fc3 = nn.Linear(sizes[2], sizes[3])

        def forward(self, x):
            return self.fc3(self.relu2(self.fc2(self.relu1(self.fc1(x)))))
    return MLP()


def lenet(nn):
    """conv 1->8 3x3, ReLU, max-pool 2, conv 8->16 3x3, ReLU, max-pool 2, flatten, linear 400->10."""
    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 8, 3)
            self.relu1 = nn.ReLU(inplace=True)
            self.pool1 = nn.MaxPool2d(2)
            self.conv2 = nn.Conv2d(8, 16, 3)
            self.relu2 = nn.ReLU(inplace=True)
            self.pool2 = nn.MaxPool2d(2)
            self.flatten = nn.Flatten()
            self.fc = nn.Linear(16 * 5 * 5, CLASSES)

        def forward(self, x):
            x = self.pool1(self.relu1(self.conv1(x)))
            x = self.pool2(self.relu2(self.conv2(x)))
            return self.fc(self.flatten(x))
    return LeNet()


def lstm_classifier(nn, inputs, hidden):
    """A one-layer LSTM over (seq, batch, inputs); its last hidden state -> linear -> logits."""
    class LSTMClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(inputs, hidden)
            self.fc = nn.Linear(hidden, CLASSES)

        def forward(self, x):
            _, (h, _) = self.lstm(x)
            return self.fc(h[-1])
    return LSTMClassifier()


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    kind: str                 # "mlp", "cnn" or "lstm"
    batch: int
    sizes: tuple = ()         # mlp: (in, hidden1, hidden2, out); lstm: (seq, inputs, hidden)

    @property
    def title(self):
        if self.kind == "mlp":
            return f"MLP {'-'.join(map(str, self.sizes))}, batch {self.batch}"
        if self.kind == "cnn":
            return f"LeNet-style CNN (1x28x28), batch {self.batch}"
        seq, inputs, hidden = self.sizes
        return f"LSTM seq {seq}, input {inputs}, hidden {hidden}, batch {self.batch}"

    def build(self, nn):
        if self.kind == "mlp":
            return mlp(nn, self.sizes)
        if self.kind == "cnn":
            return lenet(nn)
        return lstm_classifier(nn, self.sizes[1], self.sizes[2])

    def weights(self, seed=0):
        """Initial weights by PyTorch state_dict name, uniform in +-1/sqrt(fan_in)
        as PyTorch initialises Linear, Conv2d and LSTM."""
        rng = np.random.default_rng(seed)
        shapes = self._shapes()
        out = {}
        for name, (shape, fan_in) in shapes.items():
            bound = 1 / np.sqrt(fan_in)
            out[name] = rng.uniform(-bound, bound, shape).astype(np.float32)
        return out

    def _shapes(self):
        if self.kind == "mlp":
            s = self.sizes
            return {f"fc{i}.{part}": ((s[i], s[i - 1]) if part == "weight" else (s[i],), s[i - 1])
                    for i in (1, 2, 3) for part in ("weight", "bias")}
        if self.kind == "cnn":
            return {"conv1.weight": ((8, 1, 3, 3), 9), "conv1.bias": ((8,), 9),
                    "conv2.weight": ((16, 8, 3, 3), 72), "conv2.bias": ((16,), 72),
                    "fc.weight": ((CLASSES, 400), 400), "fc.bias": ((CLASSES,), 400)}
        _, inputs, hidden = self.sizes
        return {"lstm.weight_ih_l0": ((4 * hidden, inputs), hidden), "lstm.weight_hh_l0": ((4 * hidden, hidden), hidden),
                "lstm.bias_ih_l0": ((4 * hidden,), hidden), "lstm.bias_hh_l0": ((4 * hidden,), hidden),
                "fc.weight": ((CLASSES, hidden), hidden), "fc.bias": ((CLASSES,), hidden)}

    def batch_data(self, seed=1):
        """A float32 input batch and int64 labels."""
        rng = np.random.default_rng(seed)
        if self.kind == "mlp":
            shape = (self.batch, self.sizes[0])
        elif self.kind == "cnn":
            shape = (self.batch, 1, 28, 28)
        else:
            shape = (self.sizes[0], self.batch, self.sizes[1])
        x = rng.standard_normal(shape).astype(np.float32)
        labels = rng.integers(0, CLASSES, self.batch).astype(np.int64)
        return x, labels

    def floor(self, xp, params):
        if self.kind == "mlp":
            return MLPFloor(xp, params, layers=3)
        if self.kind == "cnn":
            return CNNFloor(xp, params)
        return LSTMFloor(xp, params)

    def flops(self):
        """Multiply-adds x2 of forward + backward (3x forward), for the GEMM-bound step."""
        if self.kind != "mlp":
            return None
        s = self.sizes
        return 3 * 2 * self.batch * sum(s[i] * s[i + 1] for i in range(3))
