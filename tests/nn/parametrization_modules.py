"""Parametrizations written once for topograd and PyTorch (``lib`` is ``nn`` or
``torch.nn``), shared by the parametrization tests."""


def symmetric(lib):
    class Symmetric(lib.Module):
        def forward(self, x):
            return x.triu() + x.triu(1).T

        def right_inverse(self, a):
            return a.triu()
    return Symmetric()


def affine(lib):
    class Affine(lib.Module):
        def forward(self, x):
            return 2 * x + 1

        def right_inverse(self, y):
            return (y - 1) / 2
    return Affine()
