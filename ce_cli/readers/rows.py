"""Arrays in files read a block of rows at a time, never memory-mapped.

A memory-mapped file that shrinks while it is read kills the process with SIGBUS, which Python
cannot catch; positioned reads (``os.preadv``) into fresh buffers return short instead, which
becomes an error naming the file. :class:`FileRows` reads ``.npy`` data (and the members an
``.npz`` archive stores uncompressed) in place; :class:`StreamRows` decompresses a compressed
``.npz`` member front to back, so a member of any declared size takes the memory of a few
blocks, and checks its CRC at the end.

Both look like a read-only array to the engine: ``shape``, ``dtype``, ``ndim``, ``len()`` and
``a[start:stop]``, which returns a fresh ndarray of those rows; ``np.asarray(a)`` reads it all.
"""

from __future__ import annotations

import math
import os
import threading
import weakref
from collections.abc import Callable
from typing import Any, BinaryIO

import numpy as np

from ..errors import CeLossError
from .messages import file_error

# Rows of a compressed member decoded ahead of the one asked for are kept (for the worker thread
# about to ask for them) up to this many bytes; a request further ahead drops them, and they are
# decoded again from the start if asked for after all. The engine keeps 2 blocks per thread in
# flight, 2 MiB each for float32: 32 threads' worth.
KEEP_BYTES = 1 << 27


def changed_error(name: str) -> CeLossError:
    # "x.npy changed while ...": no verb of file_error's ("is", "has", "holds") fits, so the
    # sentence is given whole
    return CeLossError(f"{name} changed while ce-loss was reading it")


class RowsLike:
    """What every array read by rows shows the engine (``by_rows``, see
    :func:`ce_cli.core.checks.as_numeric`): it is kept and sliced, never read whole; a reshape
    to its own shape is itself."""

    by_rows = True
    shape: tuple[int, ...]

    def reshape(self, *shape: Any) -> Any:
        want = shape[0] if len(shape) == 1 and isinstance(shape[0], tuple) else shape
        if tuple(want) == self.shape:
            return self
        return np.asarray(self).reshape(want)  # (C,) as (1, C) and the like: one row anyway

    def tolist(self) -> Any:
        return np.asarray(self).tolist()

    def flat_rows(self, lead: int) -> Any:
        """The same data with its first ``lead`` dimensions as one (see
        :func:`ce_cli.core.layout.flat_rows`); None where only reading rows can give it."""
        return None


class Rows(RowsLike):
    """An array of ``shape`` and ``dtype`` (C or Fortran ``order``) read by rows on demand."""

    def __init__(self, name: str, shape: tuple[int, ...], dtype: np.dtype, order: str):
        self.name, self.shape, self.dtype, self.order = name, tuple(shape), dtype, order
        self._parent: Rows | None = None  # what a reshaped copy reads through (see _reshaped)
        self.row_shape = self.shape[1:]
        self.row_bytes = math.prod(self.row_shape) * dtype.itemsize

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: math.prod(self.shape))
    nbytes = property(lambda self: self.size * self.dtype.itemsize)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __getitem__(self, key: Any) -> Any:
        if not self.shape:
            return np.asarray(self)[key]
        first, rest = (key[0], key[1:]) if isinstance(key, tuple) and key else (key, ())
        if isinstance(first, slice):
            start, stop, step = first.indices(self.shape[0])
            block = self.read(start, max(start, stop)) if step == 1 else np.asarray(self)[first]
            return block[(slice(None),) + rest] if rest else block
        if isinstance(first, (int, np.integer)) and not isinstance(first, bool):
            i = int(first) + (self.shape[0] if first < 0 else 0)
            if not 0 <= i < self.shape[0]:
                raise IndexError(f"index {int(first)} is out of bounds for {self.shape[0]} rows")
            row = self.read(i, i + 1)[0]
            return row[rest] if rest else row
        return np.asarray(self)[key]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = self.read(0, self.shape[0]) if self.shape else self.read_all()
        return whole if dtype is None else whole.astype(dtype, copy=False)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` as a fresh array."""
        raise NotImplementedError

    def _flat_shape(self, lead: int) -> tuple[int, ...] | None:
        """The shape with the first ``lead`` dimensions as one, if the bytes allow a view."""
        if self.order != "C" or len(self.shape) < lead:
            return None
        return (math.prod(self.shape[:lead]),) + self.shape[lead:]

    def _reshaped(self, shape: tuple[int, ...]) -> Any:
        """A shallow copy read as ``shape`` (C order, the same bytes); it keeps ``self``
        alive, whose file it reads."""
        import copy

        v = copy.copy(self)
        v.shape, v.row_shape = shape, shape[1:]
        v.row_bytes = math.prod(v.row_shape) * self.dtype.itemsize
        v._parent = self
        return v

    def read_all(self) -> np.ndarray:
        """A 0-d array's one value."""
        raise NotImplementedError

    def _empty(self, n: int) -> np.ndarray:
        """An uninitialised array of ``n`` rows, C-ordered as the bytes come."""
        return np.empty((n, *self.row_shape), dtype=self.dtype)


class FileRows(Rows):
    """Rows of the array whose data starts at byte ``offset`` of the regular file ``path``.

    The file is opened once; before every block its size and modification time are compared
    with those seen when it was opened, and a short read means it shrank meanwhile: either
    raises "changed while ce-loss was reading it". Thread-safe: reads are positioned.
    """

    def __init__(self, path: str, name: str, header, offset: int):
        super().__init__(name, header.shape, header.dtype, header.order)
        self.offset = offset
        self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        self._closer = weakref.finalize(self, os.close, self.fd)
        st = os.fstat(self.fd)
        self.seen = (st.st_size, st.st_mtime_ns)

    def flat_rows(self, lead: int) -> Any:
        shape = self._flat_shape(lead)
        return None if shape is None else self._reshaped(shape)

    def check(self) -> None:
        st = os.fstat(self.fd)
        if (st.st_size, st.st_mtime_ns) != self.seen:
            raise changed_error(self.name)

    def read(self, start: int, stop: int) -> np.ndarray:
        n = stop - start
        if self.order == "C" or self.ndim < 2:
            out = self._empty(n)
            self.read_into(out, start, stop)
            return out
        self.check()
        # Fortran order: the array is the transpose of a C array of the reversed shape, whose
        # lines (one per index of the other dimensions) each hold the N values of one column.
        lines = self.size // self.shape[0]
        item = self.dtype.itemsize
        buf = np.empty((lines, n), dtype=self.dtype)
        for j in range(lines):
            self._pread(buf[j], self.offset + (j * self.shape[0] + start) * item)
        return buf.reshape((*self.row_shape[::-1], n)).T

    def read_into(self, out: np.ndarray, start: int, stop: int) -> None:
        """Rows ``start:stop`` into ``out``, a C-contiguous array of their shape and dtype."""
        if self.order != "C" and self.ndim >= 2:
            out[...] = self.read(start, stop)
            return
        self.check()
        self._pread(out, self.offset + start * self.row_bytes)

    def read_all(self) -> np.ndarray:
        self.check()
        out = np.empty((), dtype=self.dtype)
        self._pread(out, self.offset)
        return out

    def _pread(self, out: np.ndarray, at: int) -> None:
        view = out.reshape(-1).view(np.uint8).data  # out is contiguous: a view, no copy
        done = 0
        while done < len(view):
            got = os.preadv(self.fd, [view[done:]], at + done)
            if got <= 0:
                raise changed_error(self.name)  # the file ends before its header said
            done += got


class StreamRows(Rows):
    """Rows of a compressed ``.npz`` member, decompressed front to back.

    ``reopen()`` gives the member's data from its first byte (the .npy header read past).
    Worker threads may ask for blocks a little out of order: rows decoded ahead of a request
    are kept until they are asked for; rows before those kept are decoded again from the start.
    ``check()`` is called before each block (the archive's size and time, like FileRows).
    """

    def __init__(
        self, label: str, header, reopen: Callable[[], BinaryIO], check: Callable[[], None]
    ):
        super().__init__(label, header.shape, header.dtype, "C")
        self.label = label
        self.reopen, self.check = reopen, check
        self.lock = threading.Lock()
        self.member: BinaryIO | None = None
        self._restart()

    def flat_rows(self, lead: int) -> Any:
        shape = self._flat_shape(lead)
        if shape is None:
            return None
        return StreamRows(self.label, _Shape(shape, self.dtype), self.reopen, self.check)

    def _restart(self) -> None:
        if self.member is not None:
            self.member.close()
        self.member = self.reopen()
        self.front = 0  # the row the window starts at
        self.window = bytearray()  # decoded rows from `front` on
        self.served: dict[int, int] = {}  # start -> stop of rows handed out, still in the window
        self.ended = False

    def read(self, start: int, stop: int) -> np.ndarray:
        import zipfile
        import zlib

        with self.lock:
            self.check()
            try:
                return self._read(start, stop)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as e:
                if isinstance(e, CeLossError):
                    raise
                why = str(e) or ("it ends early" if isinstance(e, EOFError) else type(e).__name__)
                raise CeLossError(
                    f"{self.label} cannot be read; the archive is damaged ({why})"
                ) from None

    def _read(self, start: int, stop: int) -> np.ndarray:
        rb = self.row_bytes
        if start < self.front:
            self._restart()
        end = self.front + (len(self.window) // rb if rb else self.shape[0])
        if start > end and (start - self.front) * rb > KEEP_BYTES:
            self._skip(start - end)  # a far jump (the tail of a table): drop what is kept
            end = start
        if stop > end:
            self.window += self._decode((stop - end) * rb)
        lo = (start - self.front) * rb
        out = self._empty(stop - start)
        out.reshape(-1).view(np.uint8)[:] = np.frombuffer(
            self.window, dtype=np.uint8, count=(stop - start) * rb, offset=lo
        )
        self._served(start, stop)
        if stop == self.shape[0]:
            self._finish()
        return out

    def _skip(self, rows: int) -> None:
        self.front += len(self.window) // self.row_bytes
        self.window.clear()
        self.served.clear()
        left = rows * self.row_bytes
        while left:
            left -= len(self._decode(min(left, KEEP_BYTES)))
        self.front += rows

    def _served(self, start: int, stop: int) -> None:
        """Drop the rows at the window's front once every one of them has been handed out."""
        self.served[start] = stop
        drop = self.front
        while drop in self.served:
            drop = self.served.pop(drop)
        if drop > self.front:
            del self.window[: (drop - self.front) * self.row_bytes]
            self.front = drop

    def _decode(self, n: int) -> bytes:
        assert self.member is not None
        data = self.member.read(n)
        if len(data) != n:
            raise file_error(self.name, f"is truncated: it ends {n - len(data)} bytes early")
        return data

    def _finish(self) -> None:
        """Read to the member's end, where zipfile checks its CRC."""
        if not self.ended:
            assert self.member is not None
            self.member.read()
            self.ended = True


class _Shape:
    """A header's shape and dtype, for a view of the same bytes under another shape."""

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype):
        self.shape, self.dtype = shape, dtype
