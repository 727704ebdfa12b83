"""bfloat16 predictions read as float32, widened exactly a block at a time.

A bfloat16 is the upper 16 bits of a float32 (same sign, exponent and 7 leading mantissa bits),
so shifting its bits into the upper half of a uint32 gives the float32 of the same value, NaN
payloads and signed zeros included: torch's ``bfloat16 -> float32`` conversion does exactly
this (c10/util/BFloat16.h, ``f32_from_bits``). No bfloat16 type is needed.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from .messages import file_error
from .rows import RowsLike

PRED_DTYPES = ("bfloat16",)


def widen(bits) -> np.ndarray:
    """The float32 values of bfloat16 ``bits`` (uint16), in a new array of the same shape.

    One ufunc pass (the shift computed in uint32 as the values are cast). Measured per block
    of 16 x 32,000 values and over a whole run: as fast as a cast and an in-place shift, and
    a reused per-thread buffer was no faster (so every slice handed out stays its own).
    """
    return np.left_shift(np.asarray(bits), 16, dtype=np.uint32).view(np.float32)


class Bf16Array(RowsLike):
    """bfloat16 values, stored as their 16 bits, that read as float32.

    The engine only slices rows (``a[start:stop]``) and reads ``shape``/``dtype``/``ndim``, so
    only the rows asked for are widened; ``np.asarray`` widens the whole array (for small
    inputs).
    """

    def __init__(self, bits: np.ndarray):
        self.bits = bits
        self.shape = tuple(bits.shape)
        self.ndim = bits.ndim
        self.size = bits.size
        self.dtype = np.dtype(np.float32)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key) -> np.ndarray:
        return widen(self.bits[key])

    def flat_rows(self, lead: int) -> Bf16Array:
        """The same values with the first ``lead`` dimensions as one: its bits so viewed."""
        from ..core.layout import flat_rows

        return Bf16Array(flat_rows(self.bits, lead))

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        a = widen(self.bits)
        return a if dtype is None else a.astype(dtype, copy=False)


def check_pred_dtype(value: str | None) -> str | None:
    """--pred-dtype as given, checked: None or ``"bfloat16"`` (``bf16`` too)."""
    from ..errors import CeLossError

    if value is None:
        return None
    v = str(value).strip().lower()
    v = "bfloat16" if v == "bf16" else v
    if v not in PRED_DTYPES:
        raise CeLossError(
            f"must be bfloat16; got {value!r}", input="pred_dtype", value=value, expected="bfloat16"
        )
    return v


def as_bfloat16(arr, name: str):
    """``arr`` (a 2-byte array, or already :class:`Bf16Array`) read as bfloat16."""
    if isinstance(arr, Bf16Array):
        return arr
    dt = np.dtype(arr.dtype)
    if dt.itemsize != 2 or dt.hasobject:
        raise _not_two_bytes(dt, name)
    if dt.kind == "u" and getattr(arr, "by_rows", False):
        return Bf16Array(arr)  # bits read by rows (read_npy_bits): never read whole here
    order = dt.byteorder if dt.byteorder in "<>" else "="
    return Bf16Array(np.asarray(arr).view(np.dtype(order + "u2")))


def _not_two_bytes(dt: np.dtype, name: str):
    return file_error(
        name,
        f"holds {dt} values ({dt.itemsize} bytes each); --pred-dtype bfloat16 reads 2-byte values",
        value=str(dt),
        expected="a 2-byte dtype",
    )


def read_npy_bits(src, mmap: bool) -> Any:
    """The 2-byte values of an .npy source as uint16, whatever their dtype says (NumPy saves
    ``ml_dtypes.bfloat16`` as a 2-byte void, ``|V2``): read by rows when it can be (``mmap``:
    a regular file, read lazily), else whole."""
    from .npy import Header, array_extent, read_header

    with src.open() as f:
        h = read_header(f, src.name)
        if h.dtype.hasobject or h.dtype.itemsize != 2 or h.dtype.kind not in "Vfiu":
            raise _not_two_bytes(h.dtype, src.name)
        order = h.dtype.byteorder if h.dtype.byteorder in "<>" else "<"
        bits = np.dtype(order + "u2")
        total = f.seek(0, io.SEEK_END)
        count, nbytes = array_extent(h, total - h.offset, src.name)
        if count == 0:
            return np.empty(h.shape, dtype=bits)
        if mmap and src.regular and src.path is not None:
            from .rows import FileRows

            as_bits = Header(bits, h.shape, h.fortran_order, h.offset)
            try:  # read by rows as a .npy file is: a file cut meanwhile is an error, not SIGBUS
                return FileRows(src.path, src.name, as_bits, h.offset)
            except OSError:
                pass  # not readable that way here: read it instead
        f.seek(h.offset)
        buf = f.read(nbytes)
    if len(buf) != nbytes:
        raise file_error(src.name, "changed while it was read")
    return np.frombuffer(buf, dtype=bits, count=count).reshape(h.shape, order=h.order)
