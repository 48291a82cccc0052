"""A reader for the IDX format of the MNIST files (plain or gzip-compressed).

Layout (big-endian): two zero bytes, a type code, the number of dimensions,
one 4-byte size per dimension, then the values in C order. Every part is
checked, so a truncated download or a wrong file fails with a message that
names the file and the problem instead of giving garbled images.
"""
import array
import gzip
import os
import struct
import sys
import zlib

import backends
from autograd import Tensor

# type code -> (array module typecode, item size, dtype name)
IDX_TYPES = {
    0x08: ("B", 1, "uint8"),
    0x09: ("b", 1, "int8"),
    0x0B: ("h", 2, "int16"),
    0x0C: ("i", 4, "int32"),
    0x0D: ("f", 4, "float32"),
    0x0E: ("d", 8, "float64"),
}
GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path):
    """The array stored in the IDX file at ``path`` as a CPU Tensor of the file's
    dtype (uint8 for MNIST). Gzip files are recognised by their content."""
    path = os.fspath(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise ValueError(f"{path}: not an IDX file: {len(raw)} bytes is shorter than the 4-byte header")
    zero, type_code, ndim = raw[:2], raw[2], raw[3]
    if zero != b"\x00\x00" or type_code not in IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file: bad magic number 0x{raw[:4].hex()} (expected "
                         f"0x0000TTNN with type TT in {sorted(f'{c:02x}' for c in IDX_TYPES)})")
    if ndim == 0:
        raise ValueError(f"{path}: IDX header declares 0 dimensions")
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise ValueError(f"{path}: truncated IDX header: {ndim} dimensions need {header_size} bytes, "
                         f"the file has {len(raw)}")
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    typecode, itemsize, dtype = IDX_TYPES[type_code]
    count = 1
    for d in shape:
        count *= d
    expected, found = count * itemsize, len(raw) - header_size
    if found < expected:
        raise ValueError(f"{path}: truncated IDX file: shape {shape} of {dtype} needs {expected} data bytes, "
                         f"found {found}; download the file again")
    if found > expected:
        raise ValueError(f"{path}: IDX file has {found - expected} bytes after the data of shape {shape} "
                         f"({dtype}); it is corrupt or not the file it claims to be")
    values = array.array(typecode)
    values.frombytes(raw[header_size:])
    if itemsize > 1 and sys.byteorder == "little":
        values.byteswap()  # IDX stores multi-byte values big-endian
    cpu = backends.get("cpu")
    flat = cpu.asarray(values, dtype=dtype)
    return Tensor(cpu.xp.reshape(flat, shape), device=cpu)


def _read_bytes(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: corrupt or truncated gzip file ({exc}); download it again") from exc
