"""XOR with a tanh hidden layer: the smallest network that needs a hidden layer.

    python -m examples.xor
"""
import argparse

import autograd as ag
import nn
import nn.functional as F
from examples.arguments import at_least


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    length = p.add_mutually_exclusive_group()  # --quick sets the steps itself: not both
    length.add_argument("--steps", type=at_least(1), default=2000)
    length.add_argument("--quick", action="store_true", help="fewer steps, for the tests")
    args = p.parse_args(argv)
    ag.manual_seed(0)

    x = ag.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = ag.tensor([[0.0], [1.0], [1.0], [0.0]])
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    optimizer = nn.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)

    for step in range(500 if args.quick else args.steps):
        loss = F.binary_cross_entropy_with_logits(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    with ag.no_grad():
        predictions = (model(x).sigmoid() > 0.5).astype("float32")
    errors = int((predictions != y).sum().item())
    print(f"final loss {loss.item():.5f}; predictions {predictions.numpy().ravel().tolist()}; errors {errors}")
    return {"loss": loss.item(), "errors": errors}


if __name__ == "__main__":
    main()
