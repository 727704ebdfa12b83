"""``.safetensors`` files: the header parsed and checked here (no dependency), the tensors
read in place block by block (positioned reads), bfloat16 widened to float32 as rows are read.

The format (https://github.com/huggingface/safetensors): an 8-byte little-endian header length
N, N bytes of JSON mapping each tensor's name to its ``dtype``, ``shape`` and ``data_offsets``
``[begin, end)`` (relative to the byte after the header), an optional ``__metadata__`` of
strings, then the data, little-endian and C-ordered. Nothing in it can run code. Every way the
header can lie (a length past the file, bad JSON, offsets past the data or overlapping, an
unknown dtype, a shape that does not fill its bytes) is a CeLossError naming the file and the
tensor.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import CeLossError
from .bfloat16 import Bf16Array
from .keys import select
from .messages import error_at, file_error
from .request import Part, Request
from .source import Source

# The safetensors library's own limit on the header (100 MB); longer is refused unread.
MAX_HEADER = 100_000_000
# Dtypes ce-loss reads: floats for predictions (BF16 widened), integers and bools for targets.
DTYPES = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "BF16": "<u2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U64": "<u8",
    "U32": "<u4",
    "U16": "<u2",
    "U8": "u1",
    "BOOL": "?",
}
# Dtypes of the format that hold no real numbers ce-loss can take, and their sizes.
_OTHER = {"F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1, "F6_E2M3": 1, "F6_E3M2": 1, "F4": 1}


class Tensor:
    """One entry of the header: its name, dtype, shape and byte range in the data."""

    __slots__ = ("key", "dtype", "shape", "begin", "end")

    def __init__(self, key: str, dtype: str, shape: tuple[int, ...], begin: int, end: int):
        self.key, self.dtype, self.shape, self.begin, self.end = key, dtype, shape, begin, end


def read_safetensors(src: Source, fmt: str, req: Request) -> Part:
    """The predictions (and targets) or the targets of a .safetensors file."""
    tensors, base = read_header(src)
    keys = list(tensors)
    pk, tk = select(keys, keys, src.name, "tensor", req)
    part = Part()
    if pk is not None:
        part.pred = tensor_array(src, tensors[pk], base, req.lazy)
    if tk is not None:
        part.target = tensor_array(src, tensors[tk], base, req.lazy)
    return part


def read_header(src: Source) -> tuple[dict[str, Tensor], int]:
    """The tensors the header describes, checked against the file, and where the data begins."""
    name = src.name
    with src.open() as f:
        head = f.read(8)
        if not head:
            raise file_error(name, "is empty; expected a .safetensors file")
        if len(head) < 8:
            raise file_error(name, "is truncated inside its 8-byte .safetensors header length")
        n = int.from_bytes(head, "little")
        size = f.seek(0, 2)
        if n > size - 8:
            raise file_error(
                name,
                f"has a .safetensors header length of {n} bytes, but only {size - 8} bytes "
                "follow it; expected a complete .safetensors file",
                value=n,
            )
        if n > MAX_HEADER:
            raise file_error(
                name,
                f".safetensors header of {n} bytes is too long; expected at most {MAX_HEADER}",
                value=n,
            )
        f.seek(8)
        raw = f.read(n)
    tensors = _tensors(_json(raw, name), name, size - 8 - n)
    return tensors, 8 + n


def _json(raw: bytes, name: str) -> dict:
    import json

    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        why = e.msg if isinstance(e, json.JSONDecodeError) else "not UTF-8 JSON"
        raise file_error(
            name, f"has a damaged .safetensors header ({why}); expected a JSON object"
        ) from None
    if not isinstance(header, dict):
        raise file_error(name, "has a damaged .safetensors header; expected a JSON object")
    return header


def _tensors(header: dict, name: str, data_bytes: int) -> dict[str, Tensor]:
    """Each entry checked alone, then their byte ranges against each other."""
    out: dict[str, Tensor] = {}
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        out[key] = _entry(key, entry, name, data_bytes)
    ranges = sorted((t.begin, t.end, t.key) for t in out.values() if t.end > t.begin)
    for (b0, e0, k0), (b1, e1, k1) in zip(ranges, ranges[1:], strict=False):
        if b1 < e0:
            raise error_at(
                name,
                f"tensor {k1!r}",
                f"data offsets [{b1}, {e1}] overlap those of tensor {k0!r} [{b0}, {e0}]; "
                "expected each tensor's bytes to be its own",
            )
    return out


def _entry(key: str, entry: object, name: str, data_bytes: int) -> Tensor:
    where = f"tensor {key!r}"
    if not isinstance(entry, dict):
        raise error_at(name, where, "is not a JSON object of dtype, shape and data_offsets")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not isinstance(dtype, str):
        raise error_at(name, where, f"has no dtype ({dtype!r}); expected a string such as F32")
    if dtype not in DTYPES:
        known = "a type ce-loss cannot read" if dtype in _OTHER else "an unknown dtype"
        raise error_at(
            name,
            where,
            f"has dtype {dtype!r}, {known}; expected F64, F32, F16 or BF16 (predictions), "
            "or an integer type (targets)",
            value=dtype,
        )
    if not isinstance(shape, list) or not all(_count(n) for n in shape):
        raise error_at(
            name, where, f"has shape {shape!r}; expected a list of non-negative integers"
        )
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_count(n) for n in offsets)):
        raise error_at(
            name, where, f"has data_offsets {offsets!r}; expected [begin, end] byte offsets"
        )
    begin, end = offsets
    if begin > end or end > data_bytes:
        raise error_at(
            name,
            where,
            f"has data_offsets [{begin}, {end}] outside the {data_bytes} bytes of data after "
            "the header; expected a complete .safetensors file",
        )
    need = math.prod(shape) * np.dtype(DTYPES[dtype]).itemsize
    if end - begin != need:
        raise error_at(
            name,
            where,
            f"has shape {tuple(shape)} of {dtype} ({need} bytes) but data_offsets "
            f"[{begin}, {end}] hold {end - begin} bytes",
        )
    return Tensor(key, dtype, tuple(shape), begin, end)


def _count(n: object) -> bool:
    return type(n) is int and n >= 0


def tensor_array(src: Source, t: Tensor, base: int, mmap: bool = True):
    """The tensor ``t`` (data at ``base + t.begin``): an array, or a :class:`Bf16Array` that
    widens the rows it is asked for; read by rows on demand when ``mmap`` (the request is
    lazy) and the file is regular."""
    bits = _stored(src, np.dtype(DTYPES[t.dtype]), t.shape, base + t.begin, mmap)
    return Bf16Array(bits) if t.dtype == "BF16" else bits


class _Header:
    """What :class:`~ce_cli.readers.rows.FileRows` needs of a header: shape, dtype, order."""

    order = "C"  # safetensors data is always C-ordered

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype):
        self.shape, self.dtype = shape, dtype


def _stored(src: Source, dtype: np.dtype, shape: tuple[int, ...], offset: int, lazy: bool):
    """The bytes of one tensor: read by rows on demand (positioned reads, as .npy files) from
    a regular file, else read whole.

    Not memory-mapped: a mapped file truncated while it is read kills the process (SIGBUS);
    a short positioned read is a clean error naming the file.
    """
    count = math.prod(shape)
    if count == 0:
        return np.empty(shape, dtype=dtype)
    if lazy and src.unread and src.path is not None:
        from .rows import FileRows
        from .source import os_error

        try:
            return FileRows(src.path, src.name, _Header(shape, dtype), offset)
        except OSError as e:
            raise os_error(src.name, e) from None
    data = src.read()
    if len(data) < offset + count * dtype.itemsize:
        raise CeLossError("changed while it was read", file=src.name)
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(shape)
    return arr
