"""A small Transformer encoder that reads scikit-learn's 8x8 digits row by row.

Each image is a sequence of 8 tokens (its rows, 8 pixels each), embedded, given a
learned position, passed through two pre-norm encoder layers, averaged over the
sequence and classified. AdamW with a cosine schedule and gradient clipping.

    python -m examples.digits_transformer
"""
import argparse

import autograd as ag
import nn
import nn.functional as F
from examples.arguments import at_least


class RowTransformer(nn.Module):
    def __init__(self, rows=8, pixels=8, width=64, heads=4, layers=2, classes=10):
        super().__init__()
        self.embed = nn.Linear(pixels, width)
        self.position = nn.Parameter(ag.randn(rows, width) * 0.02)
        layer = nn.TransformerEncoderLayer(width, heads, dim_feedforward=2 * width, dropout=0.1,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(width))
        self.head = nn.Linear(width, classes)

    def forward(self, images):            # (batch, 1, rows, pixels)
        tokens = self.embed(images.squeeze(1)) + self.position
        return self.head(self.encoder(tokens).mean(axis=1))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    length = p.add_mutually_exclusive_group()  # --quick sets the epochs itself: not both
    length.add_argument("--epochs", type=at_least(1), default=40)
    length.add_argument("--quick", action="store_true", help="fewer epochs, for the tests")
    args = p.parse_args(argv)
    ag.manual_seed(0)

    (x_train, y_train), (x_test, y_test) = nn.data.datasets.digits(split_seed=0)
    loader = nn.data.DataLoader(nn.data.TensorDataset(x_train, y_train), batch_size=64, shuffle=True, seed=0)
    model = RowTransformer()
    epochs = 6 if args.quick else args.epochs
    optimizer = nn.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    scheduler = nn.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * len(loader))

    for epoch in range(epochs):
        model.train()
        for images, labels in loader:
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()

    model.eval()
    device = next(model.parameters()).device  # the default one, where the loader put each batch
    with ag.no_grad():
        accuracy = nn.metrics.accuracy(model(x_test.to(device)), y_test.to(device))  # (a CPU dataset's)
    print(f"{epochs} epochs; last batch loss {loss.item():.4f}; test accuracy {accuracy:.3f}")
    return {"test_accuracy": accuracy, "loss": loss.item()}


if __name__ == "__main__":
    main()
