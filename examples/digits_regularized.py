"""An MLP on scikit-learn's 8x8 digits, with the regularizers people reach for.

SGD with momentum and L2 weight decay, an L1 penalty added to the loss,
dropout, batch norm, a step learning-rate schedule, and early stopping on a
validation split (restoring the best weights), all through nn.fit.

    python -m examples.digits_regularized
"""
import argparse

import autograd as ag
import nn
import nn.functional as F
from examples.arguments import at_least


def l1_penalty(model, strength):
    """Sum of |w| over the weight matrices (not biases or norm parameters)."""
    return strength * sum(p.abs().sum() for name, p in model.named_parameters() if name.endswith("weight")
                          and p.ndim == 2)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    length = p.add_mutually_exclusive_group()  # --quick sets the epochs itself: not both
    length.add_argument("--epochs", type=at_least(1), default=60)
    length.add_argument("--quick", action="store_true", help="fewer epochs, for the tests")
    args = p.parse_args(argv)
    ag.manual_seed(0)

    (x_train, y_train), (x_test, y_test) = nn.data.datasets.digits(split_seed=0)
    x_train, x_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    train, val = nn.data.random_split(nn.data.TensorDataset(x_train, y_train), [0.85, 0.15], seed=0)
    train_loader = nn.data.DataLoader(train, batch_size=64, shuffle=True, seed=0)
    val_loader = nn.data.DataLoader(val, batch_size=256)

    model = nn.Sequential(
        nn.Linear(64, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(128, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(64, 10),
    )
    optimizer = nn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4)
    scheduler = nn.optim.lr_scheduler.StepLR(optimizer, step_size=20, gamma=0.3)

    def loss_fn(logits, targets):
        penalty = l1_penalty(model, 1e-5) if model.training else 0.0
        return F.cross_entropy(logits, targets) + penalty

    history = nn.fit(model, loss_fn, optimizer, train_loader, val_loader=val_loader,
                     epochs=8 if args.quick else args.epochs, scheduler=scheduler,
                     callbacks=[nn.EarlyStopping(monitor="val_loss", patience=8, restore_best_weights=True)],
                     progress=not args.quick)

    model.eval()
    device = next(model.parameters()).device  # the default one, where the loaders put each batch
    with ag.no_grad():
        accuracy = nn.metrics.accuracy(model(x_test.to(device)), y_test.to(device))  # (a CPU dataset's)
    best = min(history["val_loss"])
    print(f"ran {len(history)} epochs (best validation loss {best:.4f}, weights restored from that epoch); "
          f"test accuracy {accuracy:.3f}")
    return {"test_accuracy": accuracy, "epochs": len(history)}


if __name__ == "__main__":
    main()
