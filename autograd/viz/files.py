"""``draw``: a drawing written to a file, in the format its suffix names; and the whole-file
write it shares with the profiler's trace export."""
import os
import shutil

from .dependencies import INSTALL_DOT, load_graphviz
from .dot_graph import make_dot

SOURCE_SUFFIXES = (".gv", ".dot")
RENDER_SUFFIXES = (".svg", ".png", ".pdf")


def draw(root, path, **options):
    """Draw the graph of ``root`` (a tensor or a list of them) to ``path``; the
    suffix picks the format: .gv/.dot (the source; needs no Graphviz program),
    or .svg/.png/.pdf (rendered by Graphviz's ``dot``). Options go to make_dot."""
    path = os.fsdecode(path)  # (a bytes path, as open() takes, is read as text)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in SOURCE_SUFFIXES + RENDER_SUFFIXES:
        raise ValueError(f"draw: cannot tell the format of {path!r} from its suffix; use one of "
                         + ", ".join(SOURCE_SUFFIXES + RENDER_SUFFIXES))
    if suffix in RENDER_SUFFIXES and shutil.which("dot") is None:
        raise RuntimeError(f"draw: writing {suffix} needs Graphviz's `dot` program, which is not on PATH; "
                           f"install it with {INSTALL_DOT}, or write the source to a .gv file instead")
    check_target("draw", path)
    roots = root if isinstance(root, (list, tuple)) else (root,)
    graph = make_dot(*roots, **options)
    if suffix in SOURCE_SUFFIXES:
        data = graph.source.encode("utf-8")
    else:
        graphviz = load_graphviz()
        try:
            data = graph.pipe(format=suffix[1:])
        except graphviz.ExecutableNotFound as exc:
            raise RuntimeError(f"draw: Graphviz's `dot` program could not be run; install it with "
                               f"{INSTALL_DOT}") from exc
    return write_whole("draw", path, data)


def check_target(who, path):
    """Refuse, naming ``path``, a file that could not be written: a missing folder, or a folder."""
    folder = os.path.dirname(path)
    if folder and not os.path.isdir(folder):
        raise FileNotFoundError(f"{who}: folder {folder!r} does not exist; create it first")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{who}: {path!r} is a folder; name a file to write")


def write_whole(who, path, data):
    """Write ``data`` (bytes) to ``path``; returns ``path``."""
    check_target(who, path)
    # write beside the target, then rename: a failed write never leaves half a file
    partial = f"{path}.partial"
    try:
        with open(partial, "wb") as f:
            f.write(data)
        os.replace(partial, path)
    except BaseException:
        if os.path.exists(partial):
            os.remove(partial)
        raise
    return path
