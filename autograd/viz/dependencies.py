"""What drawing needs installed (the ``graphviz`` package, Graphviz's ``dot``
program) and how to install it. The package is imported only when a drawing is
made, so ``import autograd`` works without it."""

INSTALL_PACKAGE = "pip install 'topograd[viz]'"
INSTALL_DOT = ("`apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS) "
               "or `conda install graphviz`")


def load_graphviz():
    try:
        import graphviz
    except ImportError as exc:
        raise ImportError("autograd.viz needs the `graphviz` Python package to draw graphs: install it with "
                          f"{INSTALL_PACKAGE} (or `pip install graphviz`)") from exc
    return graphviz
