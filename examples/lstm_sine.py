"""An LSTM that learns to predict the next value of a noisy sine wave.

The sequences are made in code: windows of 30 points of sin(t) with noise; the
target is the clean value one step after the window.

    python -m examples.lstm_sine
"""
import argparse
import math

import autograd as ag
import nn
import nn.functional as F
from examples.arguments import at_least


class NextValue(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.lstm = nn.LSTM(input_size=1, hidden_size=hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):                 # x: (batch, time, 1)
        out, (h, c) = self.lstm(x)
        return self.head(out[:, -1])      # the last step's hidden state


def make_windows(n, length=30, noise=0.05, seed=0):
    ag.manual_seed(seed)
    starts = ag.rand(n, 1) * (2 * math.pi)
    t = starts + ag.arange(length + 1, dtype="float32") * 0.2          # (n, length + 1)
    clean = t.sin()
    noisy = clean + ag.randn(n, length + 1) * noise
    return noisy[:, :length].reshape(n, length, 1), clean[:, length:]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    length = p.add_mutually_exclusive_group()  # --quick sets the epochs itself: not both
    length.add_argument("--epochs", type=at_least(1), default=30)
    length.add_argument("--quick", action="store_true", help="fewer epochs, for the tests")
    args = p.parse_args(argv)

    x_train, y_train = make_windows(512, seed=0)
    x_test, y_test = make_windows(128, seed=1)
    ag.manual_seed(0)
    model = NextValue()
    optimizer = nn.optim.Adam(model.parameters(), lr=1e-2)
    loader = nn.data.DataLoader(nn.data.TensorDataset(x_train, y_train), batch_size=64, shuffle=True, seed=0)

    for epoch in range(6 if args.quick else args.epochs):
        for xb, yb in loader:
            loss = F.mse_loss(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    with ag.no_grad():
        test_mse = F.mse_loss(model(x_test), y_test).item()
    baseline = F.mse_loss(x_test[:, -1], y_test).item()  # "the next value equals the last one"
    print(f"test MSE {test_mse:.5f} (repeating the last noisy value gives {baseline:.5f})")
    return {"test_mse": test_mse, "baseline_mse": baseline}


if __name__ == "__main__":
    main()
