"""A contender: one implementation of a benchmark's workload (topograd on a
device, the hand-written floor, PyTorch), set up lazily so that a missing piece
skips it instead of stopping the suite."""
import dataclasses

TOPOGRAD, FLOOR, TORCH = "topograd", "floor", "torch"


class Skipped(Exception):
    """A contender cannot run here (a library, a device or an nn piece is missing)."""


@dataclasses.dataclass
class Prepared:
    """A contender ready to run: ``call`` does one unit of work (and returns what it
    computes, where that is more than parameters updated in place); ``sync`` waits for
    queued device work (GPU) so that a clock read after it is honest; ``state`` returns
    ``{name: array}`` of what the calls update in place (a step's parameters). The
    runner ignores both results: tests read them to check that every contender of a
    benchmark computes the same thing."""
    call: object
    sync: object = None
    state: object = None


@dataclasses.dataclass
class Contender:
    label: str           # "topograd cpu", "numpy floor", "torch cuda"
    kind: str            # TOPOGRAD, FLOOR or TORCH
    device: str          # "cpu" or "cuda": the floor and PyTorch ratios pair contenders by it
    setup: object        # () -> Prepared; may raise ImportError/AttributeError/Skipped
