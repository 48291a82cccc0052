"""A small LeNet-style CNN for 28x28 digits: the model the main job trains.

Two conv blocks (conv, batch norm, ReLU, max pool) then a dropout-regularized
classifier. Written exactly as it would be in PyTorch, with `import nn`.

Run on its own: python -m examples.mnist_cnn  (a short training run)
"""
import nn


class MnistCNN(nn.Module):
    def __init__(self, channels=(16, 32), hidden=128, dropout=0.25):
        super().__init__()
        c1, c2 = channels
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, kernel_size=3, padding=1),   # 28x28
            nn.BatchNorm2d(c1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),                              # 14x14
            nn.Conv2d(c1, c2, kernel_size=3, padding=1),
            nn.BatchNorm2d(c2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),                              # 7x7
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(c2 * 7 * 7, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, 10),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


if __name__ == "__main__":  # a 3-epoch demo run; the demo's options given here (--help lists them) come after
    import sys

    from examples import demo
    demo.main(["--epochs", "3", "--out", "runs/mnist_cnn", *sys.argv[1:]])
