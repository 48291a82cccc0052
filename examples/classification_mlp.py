"""An MLP on scikit-learn's make_classification: 200 samples, 20 features, 2 classes.

    python -m examples.classification_mlp
"""
import argparse

from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

import autograd as ag
import nn
import nn.functional as F
from examples.arguments import at_least
from nn import metrics


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    length = p.add_mutually_exclusive_group()  # --quick sets the epochs itself: not both
    length.add_argument("--epochs", type=at_least(1), default=100)
    length.add_argument("--quick", action="store_true", help="fewer epochs, for the tests")
    args = p.parse_args(argv)
    ag.manual_seed(0)

    x, y = make_classification(n_samples=200, n_features=20, n_informative=10, n_classes=2, random_state=0)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    x_train, x_test = ag.tensor(x_train, dtype="float32"), ag.tensor(x_test, dtype="float32")
    y_train, y_test = ag.tensor(y_train), ag.tensor(y_test)

    model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 2))
    optimizer = nn.optim.Adam(model.parameters(), lr=1e-2)
    loader = nn.data.DataLoader(nn.data.TensorDataset(x_train, y_train), batch_size=32, shuffle=True, seed=0)

    for epoch in range(30 if args.quick else args.epochs):
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    model.eval()
    with ag.no_grad():
        predicted = model(x_test).argmax(axis=1)
    result = {"accuracy": metrics.accuracy(predicted, y_test),
              "recall": metrics.recall(predicted, y_test, average="binary"),
              "precision": metrics.precision(predicted, y_test, average="binary")}
    print(", ".join(f"{k} {v:.3f}" for k, v in result.items()))
    return result


if __name__ == "__main__":
    main()
