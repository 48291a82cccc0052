"""Packed sequences, as PyTorch's ``torch.nn.utils.rnn``: batches of sequences of different
lengths, packed so that a recurrent layer skips the padding.

A PackedSequence holds the steps of every sequence time-major in ``data``: first step 0
of each sequence, then step 1 of each sequence still running, and so on, sequences sorted
by decreasing length so that those still running at a step are always a prefix of the
batch. ``batch_sizes[t]`` says how many run at step t.

Every function here moves values with one gather (advanced indexing) built from index
lists computed in Python, plus at most one concat, so gradients flow back to the inputs
through existing autograd ops. The index lists are built on the host, once per call.
"""
import math
import numbers
import operator
from collections import namedtuple
from collections.abc import Iterable

from autograd import Tensor, concat, full, getitem
from backends import dtypes

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence",
           "pad_sequence", "unpad_sequence", "pack_sequence", "unpack_sequence"]

_Fields = namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])


class PackedSequence(_Fields):
    """``data`` (sum of lengths, *features), time-major packed; ``batch_sizes`` an int64
    tensor on the CPU, how many sequences are active at each step; ``sorted_indices`` (the
    original batch position of each sorted sequence) and ``unsorted_indices`` (its inverse)
    int64 tensors on data's device, or None when the batch came already sorted.

    Made by ``pack_padded_sequence`` and ``pack_sequence``; a tuple, so
    ``data, batch_sizes, _, _ = packed`` works as in PyTorch."""

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if batch_sizes is None:  # PyTorch also accepts PackedSequence((data, batch_sizes))
            if not (isinstance(data, (tuple, list)) and len(data) == 2):
                raise TypeError("PackedSequence: give data and batch_sizes, or one (data, batch_sizes) pair")
            data, batch_sizes = data
        if not isinstance(data, Tensor):
            raise TypeError(f"PackedSequence: data must be a Tensor, not {type(data).__name__}")
        if isinstance(batch_sizes, Tensor):
            if batch_sizes.device != "cpu":
                raise ValueError(f"PackedSequence: batch_sizes must be on the CPU, not {batch_sizes.device}; "
                                 "make packed sequences with pack_padded_sequence or pack_sequence")
            sizes = _int_list(batch_sizes, "PackedSequence", "batch_sizes")  # 1-D and integer, or a TypeError now
        else:
            sizes = _int_list(batch_sizes, "PackedSequence", "batch_sizes")
            batch_sizes = Tensor(sizes, dtype=dtypes.int64, device="cpu")
        _check_packing(data, sizes, sorted_indices)
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, device=None, dtype=None):
        """``data`` moved and/or cast (the permutations follow it to its device;
        batch_sizes stays on the CPU); ``self`` when nothing changes, as in PyTorch."""
        data = self.data.to(device=device, dtype=dtype)
        if data is self.data:
            return self
        move = (lambda t: None if t is None else t.to(device=data.device))
        return type(self)(data, self.batch_sizes, move(self.sorted_indices), move(self.unsorted_indices))

    def cpu(self):
        return self.to("cpu")

    def cuda(self, index=0):
        return self.to(f"cuda:{index}")

    def double(self):
        return self.to(dtype=dtypes.float64)

    def float(self):
        return self.to(dtype=dtypes.float32)

    def half(self):
        return self.to(dtype=dtypes.float16)

    @property
    def is_cuda(self):
        return self.data.device.startswith("cuda")


def invert_permutation(permutation):
    """The inverse of a permutation tensor (None for None), on the same device."""
    if permutation is None:
        return None
    order = permutation.tolist()
    inverse = [0] * len(order)
    for position, index in enumerate(order):
        inverse[index] = position
    return Tensor(inverse, dtype=dtypes.int64, device=permutation.device)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack ``input`` (T, B, *) — (B, T, *) with ``batch_first`` — whose sequence b has
    ``lengths[b]`` valid steps. With ``enforce_sorted`` the lengths must decrease; with
    ``enforce_sorted=False`` the batch is sorted here and the order kept in the result."""
    if not isinstance(input, Tensor):
        raise TypeError(f"pack_padded_sequence: input must be a Tensor, not {type(input).__name__}")
    if input.ndim < 2:
        raise ValueError(f"pack_padded_sequence: input must have a time and a batch axis, "
                         f"got shape {input.shape}")
    steps, batch = (input.shape[1], input.shape[0]) if batch_first else input.shape[:2]
    if input.size == 0:
        raise ValueError(f"pack_padded_sequence: cannot pack an empty tensor (shape {input.shape})")
    lengths = _int_list(_whole_floats_as_ints(lengths), "pack_padded_sequence", "lengths")
    if len(lengths) != batch:
        raise ValueError(f"pack_padded_sequence: expected `len(lengths)` to be equal to batch_size, "
                         f"but got {len(lengths)} (batch_size={batch})")
    if max(lengths) > steps:
        raise ValueError(f"pack_padded_sequence: a length of {max(lengths)} exceeds the input's {steps} time "
                         f"steps (input shape {input.shape}, batch_first={batch_first}); lengths count "
                         "the valid steps of each sequence, so none may be longer than the padded input")
    order, batch_sizes = _sort_by_length(lengths, enforce_sorted)
    times, rows = _packed_positions(order, batch_sizes)
    index = (rows, times) if batch_first else (times, rows)
    data = getitem(input, tuple(Tensor(i, dtype=dtypes.int64, device=input.device) for i in index))
    return _packed(data, batch_sizes, order, enforce_sorted)


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of tensors (L_i, *) of different lengths L_i: the same as
    ``pack_padded_sequence(pad_sequence(sequences), lengths)`` without building the padding."""
    sequences = _tensor_list(sequences, "pack_sequence")
    lengths = [s.shape[0] for s in sequences]
    order, batch_sizes = _sort_by_length(lengths, enforce_sorted)
    starts = _starts(lengths)
    times, rows = _packed_positions(order, batch_sizes)
    table = concat(sequences, axis=0) if len(sequences) > 1 else sequences[0]
    index = Tensor([starts[b] + t for t, b in zip(times, rows)], dtype=dtypes.int64, device=table.device)
    return _packed(getitem(table, index), batch_sizes, order, enforce_sorted)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """The inverse of ``pack_padded_sequence``: returns the padded batch (T, B, *) — (B, T, *)
    with ``batch_first`` — in the original batch order, and the lengths as an int64 CPU
    tensor. ``total_length`` pads to that many steps instead of the longest sequence's."""
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence: expected a PackedSequence, not {type(sequence).__name__}")
    batch_sizes = sequence.batch_sizes.tolist()
    steps = len(batch_sizes)
    if total_length is not None:
        total_length = _as_int(total_length, "pad_packed_sequence", "total_length")
        if total_length < steps:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in "
                             f"input, but got total_length={total_length} and max sequence length being {steps}")
        steps = total_length
    data = sequence.data
    sorted_lengths = _lengths_of(batch_sizes)
    offsets = _starts(batch_sizes)
    position = _sorted_positions(sequence.unsorted_indices, len(sorted_lengths))
    pad = data.shape[0]  # the row appended below, holding padding_value
    index = [[offsets[t] + s if t < sorted_lengths[s] else pad for s in position] for t in range(steps)]
    if batch_first:
        index = [list(row) for row in zip(*index)]
    table = concat([data, _padding_row(data, padding_value)])
    padded = getitem(table, Tensor(index, dtype=dtypes.int64, device=data.device))
    lengths = Tensor([sorted_lengths[s] for s in position], dtype=dtypes.int64, device="cpu")
    return padded, lengths


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack tensors (L_i, *) into one (T, B, *) — (B, T, *) with ``batch_first`` — with
    T the longest L_i, filling the rest with ``padding_value`` on the ``padding_side``
    ("right", after each sequence, or "left", before it). As in PyTorch, the result has the
    first sequence's dtype."""
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'right' or 'left', got {padding_side!r}")
    sequences = _tensor_list(sequences, "pad_sequence")
    lengths = [s.shape[0] for s in sequences]
    starts = _starts(lengths)
    steps, pad = max(lengths), sum(lengths)
    table = concat(sequences + [_padding_row(sequences[0], padding_value)])

    def source(b, t):  # the table row that lands at step t of sequence b
        skip = 0 if padding_side == "right" else steps - lengths[b]
        return starts[b] + t - skip if 0 <= t - skip < lengths[b] else pad

    batch = len(sequences)
    if batch_first:
        index, shape = [[source(b, t) for t in range(steps)] for b in range(batch)], (batch, steps)
    else:
        index, shape = [[source(b, t) for b in range(batch)] for t in range(steps)], (steps, batch)
    # reshaped: with no steps at all (every sequence empty) the list alone would lose the batch axis
    return getitem(table, Tensor(index, dtype=dtypes.int64, device=table.device).reshape(shape))


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The inverse of ``pad_sequence`` (right padding): the list of each sequence's
    first ``lengths[b]`` steps. Unlike PyTorch's, it leaves ``padded_sequences`` as it was."""
    if not isinstance(padded_sequences, Tensor) or padded_sequences.ndim < 2:
        raise ValueError("unpad_sequence: padded_sequences must be a Tensor with a time and a batch axis")
    steps, batch = ((padded_sequences.shape[1], padded_sequences.shape[0]) if batch_first
                    else padded_sequences.shape[:2])
    lengths = _int_list(lengths, "unpad_sequence", "lengths")
    if len(lengths) != batch:
        raise ValueError(f"unpad_sequence: got {len(lengths)} lengths for a batch of {batch} sequences")
    if any(not 0 <= n <= steps for n in lengths):
        raise ValueError(f"unpad_sequence: lengths {lengths} must lie in [0, {steps}], the padded length")
    if batch_first:
        return [padded_sequences[b, :n] for b, n in enumerate(lengths)]
    return [padded_sequences[:n, b] for b, n in enumerate(lengths)]


def unpack_sequence(packed_sequences):
    """The inverse of ``pack_sequence``: the list of sequences, in the original order."""
    if not isinstance(packed_sequences, PackedSequence):
        raise TypeError(f"unpack_sequence: expected a PackedSequence, not {type(packed_sequences).__name__}")
    data = packed_sequences.data
    batch_sizes = packed_sequences.batch_sizes.tolist()
    sorted_lengths = _lengths_of(batch_sizes)
    offsets = _starts(batch_sizes)
    out = []
    for s in _sorted_positions(packed_sequences.unsorted_indices, len(sorted_lengths)):
        rows = [offsets[t] + s for t in range(sorted_lengths[s])]
        out.append(getitem(data, Tensor(rows, dtype=dtypes.int64, device=data.device)))
    return out


# --- index bookkeeping, on the host --------------------------------------------------

def _int_list(values, caller, label):
    """``values`` (a list, tuple or 1-D integer tensor) as a list of Python ints."""
    if isinstance(values, Tensor):
        if values.ndim != 1 or values.dtype.kind not in "iu":
            raise TypeError(f"{caller}: {label} must be a 1-D integer tensor or a list of ints, "
                            f"got a {values.dtype} tensor of shape {values.shape}")
        return values.tolist()
    if not isinstance(values, Iterable):
        raise TypeError(f"{caller}: {label} must be a list of ints or a 1-D integer tensor, "
                        f"not {type(values).__name__}")
    values = list(values)
    if not all(isinstance(v, numbers.Integral) or isinstance(v, Tensor) and v.ndim == 0 and v.dtype.kind in "iu"
               for v in values):
        raise TypeError(f"{caller}: {label} must hold integers, got {values}")
    return [int(v) for v in values]


def _check_packing(data, batch_sizes, sorted_indices):
    """Refuse batch sizes that no packing gives (the recurrent layers and the unpacking functions
    then failed in NumPy, or read the wrong rows silently): they must be positive, non-increasing
    and add up to data's rows, and a permutation must have one entry per sequence."""
    rows = data.shape[0] if data.ndim else None
    if not batch_sizes or batch_sizes[-1] < 1 or any(a < b for a, b in zip(batch_sizes, batch_sizes[1:])) \
            or sum(batch_sizes) != rows:
        shown = batch_sizes if len(batch_sizes) <= 20 else f"{batch_sizes[:20]}..."
        raise ValueError(f"PackedSequence: batch_sizes {shown} must be positive, non-increasing and add up to the "
                         f"rows of data (shape {data.shape}); make packed sequences with pack_padded_sequence or "
                         "pack_sequence")
    if sorted_indices is not None and tuple(sorted_indices.shape) != (batch_sizes[0],):
        raise ValueError(f"PackedSequence: sorted_indices must hold one index per sequence ({batch_sizes[0]}), got "
                         f"shape {sorted_indices.shape}")


def _as_int(value, caller, label):
    """``value`` as a Python int: an int, a NumPy integer or a one-element integer tensor
    (such as ``lengths.max()``), as PyTorch takes; a bool or a float is refused."""
    if not isinstance(value, bool):
        try:
            return operator.index(value)
        except TypeError:
            pass
    raise TypeError(f"{caller}: {label} must be an int or None, not {value!r}")


def _whole_floats_as_ints(lengths):
    """Float lengths (a float tensor, say a mask summed) that hold whole numbers, as ints,
    for _int_list to check with the rest: PyTorch takes them. It would also truncate 2.5
    to 2; that is refused here, as the mistake it most likely is."""
    if isinstance(lengths, Tensor):
        if lengths.ndim != 1 or lengths.dtype.kind != "f":
            return lengths
        lengths = lengths.tolist()
    elif not isinstance(lengths, Iterable):
        return lengths
    lengths = list(lengths)
    floats = [v for v in lengths if isinstance(v, numbers.Real) and not isinstance(v, numbers.Integral)]
    fractional = [v for v in floats if not math.isfinite(v) or not float(v).is_integer()]
    if fractional:
        shown = ", ".join(map(str, lengths))  # str: NumPy's repr would say np.float32(2.5)
        raise TypeError(f"pack_padded_sequence: lengths must hold integers (or whole floats), got {fractional[0]} "
                        f"in [{shown}]; give whole lengths (PyTorch truncates a fractional one silently)")
    return [int(v) if isinstance(v, numbers.Real) and not isinstance(v, numbers.Integral) else v for v in lengths]


def _sort_by_length(lengths, enforce_sorted):
    """The batch order by decreasing length (a stable sort: equal lengths keep their
    order) and the batch size at each step; checks the lengths as PyTorch does."""
    if min(lengths) <= 0:
        raise ValueError("Length of all samples has to be greater than 0, but found an element in 'lengths' "
                         f"that is <= 0 (lengths {lengths}); drop empty sequences from the batch")
    if enforce_sorted:
        if any(a < b for a, b in zip(lengths, lengths[1:])):
            raise ValueError(f"`lengths` array must be sorted in decreasing order when `enforce_sorted` is True "
                             f"(got {lengths}). Pass `enforce_sorted=False` to pack_padded_sequence and/or "
                             "pack_sequence, or sort the batch by decreasing length first.")
        order = list(range(len(lengths)))
    else:
        order = sorted(range(len(lengths)), key=lambda b: -lengths[b])
    # batch_sizes[t] = how many lengths exceed t, from a count of each length
    ending = [0] * (max(lengths) + 1)
    for n in lengths:
        ending[n] += 1
    batch_sizes, active = [], len(lengths)
    for t in range(max(lengths)):
        active -= ending[t]
        batch_sizes.append(active)
    return order, batch_sizes


def _packed_positions(order, batch_sizes):
    """For each row of the packed data, its step and its original batch position."""
    times = [t for t, n in enumerate(batch_sizes) for _ in range(n)]
    rows = [b for n in batch_sizes for b in order[:n]]
    return times, rows


def _packed(data, batch_sizes, order, already_sorted):
    sorted_indices = None if already_sorted else Tensor(order, dtype=dtypes.int64, device=data.device)
    return PackedSequence(data, Tensor(batch_sizes, dtype=dtypes.int64, device="cpu"), sorted_indices)


def _lengths_of(batch_sizes):
    """Each sorted sequence's length: how many steps have it among the active ones."""
    lengths = [0] * (batch_sizes[0] if batch_sizes else 0)
    for t, n in enumerate(batch_sizes):
        for s in range(n if t + 1 == len(batch_sizes) else n - batch_sizes[t + 1]):
            lengths[n - 1 - s] = t + 1  # these sequences end at step t
    return lengths


def _starts(lengths):
    """Where each block begins when blocks of ``lengths`` are laid end to end."""
    out, total = [], 0
    for n in lengths:
        out.append(total)
        total += n
    return out


def _sorted_positions(unsorted_indices, batch):
    """For each original batch position, its place in the sorted (packed) order."""
    return list(range(batch)) if unsorted_indices is None else unsorted_indices.tolist()


def _padding_row(like, value):
    """One row shaped as a step of ``like``, holding ``value`` in like's dtype (integer
    data, such as token ids, gets an integer fill)."""
    if not dtypes.is_floating(like.dtype):
        value = int(value)
    return full((1,) + like.shape[1:], value, dtype=like.dtype, device=like.device)


def _tensor_list(sequences, caller):
    if isinstance(sequences, Tensor):
        sequences = list(sequences)  # as PyTorch: a tensor is a batch of equal-length sequences
    elif not isinstance(sequences, Iterable):
        raise TypeError(f"{caller}: expected a list of tensors, not {type(sequences).__name__}")
    sequences = list(sequences)
    if not sequences:
        raise ValueError(f"{caller}: received an empty list of sequences")
    for s in sequences:
        if not isinstance(s, Tensor):
            raise TypeError(f"{caller}: every sequence must be a Tensor, not {type(s).__name__}")
        if s.ndim == 0:
            raise ValueError(f"{caller}: every sequence needs a time axis, got a 0-d tensor")
    trailing = sequences[0].shape[1:]
    for s in sequences[1:]:
        if s.shape[1:] != trailing:
            raise ValueError(f"{caller}: sequences must share their trailing shape, got {sequences[0].shape} "
                             f"and {s.shape}")
    # PyTorch fills a tensor of the first sequence's dtype; joining them as they are would
    # promote (a float64 sequence turned a float32 batch into float64)
    return [s.to(dtype=sequences[0].dtype) for s in sequences]
