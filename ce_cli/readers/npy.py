"""``.npy`` files: ONE header reader (NumPy's own, ``numpy.lib.format``, behind ce-loss's
limits), the dtype and size checks, and the data: read by rows on demand, or whole.

NumPy parses the magic string and the header dictionary; ce-loss frames them first (a header
longer than :data:`MAX_NPY_HEADER` is refused before it is read), then refuses what it cannot
use: object dtypes (which only unpickling could read), other non-numbers, shapes that do not
match the bytes that follow, trailing bytes.
"""

from __future__ import annotations

import io
import math
import os
from typing import Any, BinaryIO, Literal

import numpy as np

from ..errors import CeLossError
from .messages import file_error
from .rows import changed_error
from .source import NPY_MAGIC, Source, is_pickle, os_error, pickle_error

# Longer .npy headers are refused before they are parsed (numpy.load's own default: 10,000).
MAX_NPY_HEADER = 100_000
# NumPy's limit on dimensions; a header promising more is damaged.
_MAX_NPY_DIMS = 64


class Header:
    """What an .npy header says, and where its data begins (a plain class: cheap to import)."""

    __slots__ = ("dtype", "shape", "fortran_order", "offset")

    def __init__(self, dtype: np.dtype, shape: tuple[int, ...], fortran_order: bool, offset: int):
        self.dtype, self.shape, self.fortran_order, self.offset = (
            dtype,
            shape,
            fortran_order,
            offset,
        )

    @property
    def order(self) -> Literal["C", "F"]:
        return "F" if self.fortran_order else "C"


def read_header(f: BinaryIO, label: str) -> Header:
    """Read and check the .npy header at the start of ``f`` (``label`` names it in errors)."""
    major = _version(f.read(8), label)
    size = 2 if major == 1 else 4
    raw = f.read(size)
    if len(raw) < size:
        raise file_error(label, "is truncated inside its .npy header")
    hlen = int.from_bytes(raw, "little")
    if hlen > MAX_NPY_HEADER:
        raise file_error(
            label,
            f".npy header of {hlen} bytes is too long; expected at most {MAX_NPY_HEADER}",
            value=hlen,
        )
    header = f.read(hlen)
    if len(header) < hlen:
        raise file_error(label, "is truncated inside its .npy header")
    shape, fortran, dtype = _parse(header, major, label)
    return Header(dtype, shape, fortran, 8 + size + hlen)


def _version(magic: bytes, label: str) -> int:
    """The major format version the magic string states; 1, 2 or 3, or an error."""
    from numpy.lib import format as npformat

    try:
        major, minor = npformat.read_magic(io.BytesIO(magic))
    except ValueError:  # short, or not the magic string
        major = minor = -1
    if major < 0 or not magic.startswith(NPY_MAGIC):
        if is_pickle(magic):
            raise pickle_error(label)
        if not magic:
            raise file_error(label, "is empty; expected a NumPy .npy array")
        raise file_error(label, "is not a NumPy .npy file (it does not start with \\x93NUMPY)")
    if major not in (1, 2, 3):
        raise file_error(
            label,
            f".npy format version {major}.{minor} is not supported; expected 1.0, 2.0 or 3.0",
            value=f"{major}.{minor}",
        )
    return major


def _parse(header: bytes, major: int, label: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran_order, dtype) of the header dictionary, parsed by NumPy."""
    import warnings

    from numpy.lib import format as npformat

    bad = file_error(
        label, "has a damaged .npy header; expected a dict of descr, fortran_order and shape"
    )
    if major == 3:
        # Version 3.0 is 2.0 with a UTF-8 header; NumPy's public reader decodes latin-1, so the
        # text goes to it as ASCII with escapes, which its literal parser reads back the same.
        try:
            header = header.decode("utf-8").encode("ascii", "backslashreplace")
        except UnicodeDecodeError:
            raise bad from None
    framed = len(header).to_bytes(2 if major == 1 else 4, "little") + header
    reader = npformat.read_array_header_1_0 if major == 1 else npformat.read_array_header_2_0
    with warnings.catch_warnings():
        # NumPy retries a Python 2 header ("3L") with a warning; ce-loss refuses it as damaged
        warnings.simplefilter("error", UserWarning)
        try:
            shape, fortran, dtype = _numpy_header(reader, framed, len(header))
        # Anything the parser raises on these bytes (ValueError, SyntaxError from a comma
        # descr, tokenize errors, RecursionError, MemoryError...) means a damaged header.
        except Exception:
            raise bad from None
    if len(shape) > _MAX_NPY_DIMS or not all(type(n) is int and n >= 0 for n in shape):
        raise bad
    return shape, fortran, dtype


def _numpy_header(reader, framed: bytes, size: int):
    try:
        return reader(io.BytesIO(framed), max_header_size=size)
    except TypeError as e:  # NumPy before 1.24 has no header limit to lift
        if "max_header_size" not in str(e):
            raise
        return reader(io.BytesIO(framed))


_NOT_NUMBERS = {
    "c": "complex numbers",
    "U": "strings",
    "S": "byte strings",
    "V": "structured records",
    "M": "dates",
    "m": "time spans",
}


def check_dtype(dtype: np.dtype, label: str, strings: bool = False) -> None:
    """Refuse a dtype that does not hold real numbers (or strings, when ``strings``)."""
    if dtype.hasobject:
        raise file_error(
            label,
            "holds Python objects (dtype object), which could only be read by unpickling; "
            "ce-loss never unpickles data",
            hint="save plain numbers, e.g. numpy.save(path, array.astype(float))",
        )
    kind = dtype.kind
    if kind in "biuf" or (strings and kind in "US"):
        return
    what = _NOT_NUMBERS.get(kind, "values")
    raise file_error(
        label,
        f"holds {what} (dtype {dtype}); expected real numbers",
        value=str(dtype),
        expected="real numbers",
    )


def array_extent(header: Header, have: int, label: str) -> tuple[int, int]:
    """(elements, bytes) of the array, which must be exactly the ``have`` bytes after the
    header."""
    shape, dtype = header.shape, header.dtype
    count = math.prod(shape)
    nbytes = count * dtype.itemsize
    if have < nbytes:
        raise file_error(
            label,
            f"is truncated: its header promises shape {tuple(shape)} of {dtype} "
            f"({nbytes} bytes of data) but only {max(have, 0)} bytes follow",
        )
    if have > nbytes:
        raise file_error(
            label,
            f"has {have - nbytes} bytes after its array of shape {tuple(shape)}; expected the "
            f"data to end there (were several arrays saved into one file?)",
        )
    return count, nbytes


def read_npy(src: Source, lazy: bool) -> Any:
    """The array of an .npy source: a :class:`~ce_cli.readers.rows.FileRows` read by rows on
    demand when ``lazy`` and a regular file, else read whole."""
    with src.open() as f:
        h = read_header(f, src.name)
        check_dtype(h.dtype, src.name)
        total = f.seek(0, io.SEEK_END)
        count, nbytes = array_extent(h, total - h.offset, src.name)
        if count == 0:
            return np.empty(h.shape, dtype=h.dtype, order=h.order)
        if lazy and src.regular and src.path is not None:
            from .rows import FileRows

            try:
                return FileRows(src.path, src.name, h, h.offset)
            except OSError as e:
                raise os_error(src.name, e) from None
        f.seek(h.offset)
        buf = f.read(nbytes)
    if len(buf) != nbytes:
        raise changed_error(src.name)
    return np.frombuffer(buf, dtype=h.dtype, count=count).reshape(h.shape, order=h.order)


def open_npy(path: str | os.PathLike, name: str = "input") -> np.ndarray:
    """A read-only memory map of the ``.npy`` file at ``path`` (nothing is read yet).

    ``name`` is the role the file plays (``"input"``, ``"target"``...). Raises
    :class:`~ce_cli.errors.CeLossError`, with ``file`` the path, for a file that cannot be
    read or is not an .npy array of real numbers; a file that cannot be mapped (a pipe, a file
    system without mmap) is read into a read-only array instead. (The engine reads a path with
    :func:`open_rows` instead: a mapped file that shrinks kills the process.)
    """
    try:
        src = Source(os.fspath(path))
        with src.open() as f:
            h = read_header(f, src.name)
            check_dtype(h.dtype, src.name)
            total = f.seek(0, io.SEEK_END)
            count, _ = array_extent(h, total - h.offset, src.name)
        arr = None
        if count and src.regular and src.path is not None:
            try:
                arr = np.memmap(
                    src.path, dtype=h.dtype, mode="r", offset=h.offset, shape=h.shape, order=h.order
                )
            except (OSError, ValueError):
                pass  # a file system without mmap: read it instead
        if arr is None:
            arr = read_npy(src, lazy=False)
    except CeLossError as e:
        e.input = name  # the role of the file, for whoever shows the error
        raise
    arr.flags.writeable = False
    return arr


def open_rows(path: str | os.PathLike, name: str = "input") -> Any:
    """The ``.npy`` file at ``path`` as an array read a block of rows at a time (see
    :mod:`ce_cli.readers.rows`); a pipe is read whole. Errors as :func:`open_npy`."""
    try:
        return read_npy(Source(os.fspath(path)), lazy=True)
    except CeLossError as e:
        e.input = name
        raise
