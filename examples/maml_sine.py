"""MAML: meta-learn a start for a small network that fits a new sine wave from 10 points
in one gradient step (Finn et al., 2017), with ag.func.grad for the inner step.

Each task is a sine wave with its own amplitude (0.1 to 5) and phase, sampled at 10
points to adapt on and 10 more to judge the adapted network by. The inner step runs on
the parameters as a dict, through functional_call; since they require grad, the outer
loss's backward goes through that step (second derivatives included).

    python -m examples.maml_sine
"""
import argparse
import math

import autograd as ag
import nn
import nn.functional as F
from examples.arguments import at_least
from nn.utils.stateless import functional_call

INNER_LR = 0.01


def sample_tasks(n, points, rng_seed):
    """``n`` sine waves: inputs (n, 2 * points, 1) on [-5, 5] and their values."""
    ag.manual_seed(rng_seed)
    amplitude = ag.rand(n, 1, 1) * 4.9 + 0.1
    phase = ag.rand(n, 1, 1) * math.pi
    x = ag.rand(n, 2 * points, 1) * 10 - 5
    return x, amplitude * (x - phase).sin()


def adapted(model, params, x, y, steps=1):
    """The parameters after ``steps`` gradient steps on (x, y)."""
    def loss(p):
        return F.mse_loss(functional_call(model, p, (x,)), y)
    for _ in range(steps):
        grads = ag.func.grad(loss)(params)
        params = {name: p - INNER_LR * grads[name] for name, p in params.items()}
    return params


def test_loss(model, params, x, y, points, steps):
    """Mean query loss over tasks after adapting on each task's support points."""
    total = 0.0
    for i in range(x.shape[0]):
        support, query = slice(0, points), slice(points, 2 * points)
        fitted = adapted(model, params, x[i, support], y[i, support], steps) if steps else params
        with ag.no_grad():
            total += F.mse_loss(functional_call(model, fitted, (x[i, query],)), y[i, query]).item()
    return total / x.shape[0]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    length = p.add_mutually_exclusive_group()  # --quick sets the iterations itself: not both
    length.add_argument("--iterations", type=at_least(1), default=1500)
    length.add_argument("--quick", action="store_true", help="fewer iterations, for the tests")
    args = p.parse_args(argv)
    iterations, points, tasks_per_batch = (150 if args.quick else args.iterations), 10, 8

    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(1, 40), nn.ReLU(), nn.Linear(40, 40), nn.ReLU(), nn.Linear(40, 1))
    params = dict(model.named_parameters())
    optimizer = nn.optim.Adam(params.values(), lr=1e-3)
    x_test, y_test = sample_tasks(50, points, rng_seed=10_000)
    before = test_loss(model, params, x_test, y_test, points, steps=1)

    for it in range(iterations):
        x, y = sample_tasks(tasks_per_batch, points, rng_seed=it)
        meta_loss = 0
        for i in range(tasks_per_batch):
            fitted = adapted(model, params, x[i, :points], y[i, :points])
            meta_loss = meta_loss + F.mse_loss(functional_call(model, fitted, (x[i, points:],)), y[i, points:])
        optimizer.zero_grad()
        (meta_loss / tasks_per_batch).backward()  # through the inner step
        optimizer.step()

    unadapted = test_loss(model, params, x_test, y_test, points, steps=0)
    after = test_loss(model, params, x_test, y_test, points, steps=1)
    print(f"new tasks, query MSE after one step on 10 points: {after:.3f} "
          f"(before meta-training: {before:.3f}; meta-trained but not adapted: {unadapted:.3f})")
    return {"adapted_mse": after, "untrained_mse": before, "unadapted_mse": unadapted}


if __name__ == "__main__":
    main()
