"""Where in the user's code something happened: the innermost caller outside
topograd's own packages, as ``file:line`` for error messages."""
import functools
import os
import sys

_LIBRARY_DIRS = tuple(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), d) + os.sep
                      for d in ("autograd", "nn", "backends"))


@functools.lru_cache(maxsize=None)
def _in_library(filename):
    return os.path.abspath(filename).startswith(_LIBRARY_DIRS)


def user_frame():
    """``file:line`` of the innermost caller outside topograd itself."""
    frame = sys._getframe(1)
    while frame is not None and _in_library(frame.f_code.co_filename):
        frame = frame.f_back
    return "<unknown>" if frame is None else f"{frame.f_code.co_filename}:{frame.f_lineno}"


def user_stacklevel():
    """The ``stacklevel`` that makes a ``warnings.warn`` in the calling function point at
    the user's line, however deep inside topograd the warning is raised."""
    frame, level = sys._getframe(1), 1
    while frame is not None and _in_library(frame.f_code.co_filename):
        frame, level = frame.f_back, level + 1
    return level
