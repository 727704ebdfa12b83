"""Where the blocks of a run go: arrays in memory, or ``.npy``/CSV files written atomically.

A sink receives every block of a run in row order (``write(start, stop, block)``, with
``block`` a :class:`ce_cli.core.BlockResult`), then ``close()`` (everything flushed: a full disk
shows here) and ``publish()`` once all sinks closed, or ``discard()`` on any error. Files are
written under a temporary name beside their destination and renamed into place by ``publish``;
``discard`` removes them, so an error or Ctrl-C leaves no partial file behind.
:func:`remove_leftovers` is the net under that: a signal landing between two statements (the
file just created, its sink not yet in the engine's list) must not leave one either.
"""

from __future__ import annotations

import os
from typing import Protocol

import numpy as np

from .errors import CeLossError

# Temporary files created and neither renamed into place nor removed yet.
_LIVE: set[str] = set()


def remove_leftovers() -> None:
    """Remove every temporary file still there; for the end of a process stopped by a signal."""
    for tmp in list(_LIVE):
        try:
            os.unlink(tmp)
        except OSError:
            pass
        _LIVE.discard(tmp)


class Sink(Protocol):
    """What the engine hands blocks to."""

    def write(self, start: int, stop: int, block) -> None: ...

    def close(self) -> None: ...

    def publish(self) -> None: ...

    def discard(self) -> None: ...


class InMemory:
    """A sink that writes no file: nothing to close, publish or discard (the engine calls
    them on every sink alike)."""

    def close(self) -> None:
        pass

    def publish(self) -> None:
        pass

    def discard(self) -> None:
        pass


class MemorySink(InMemory):
    """One field of the blocks (``"per_element"`` or ``"grad"``) gathered in a float64 array.

    Rows ``start:stop`` of the blocks are rows of the array, except the per-element values of
    flattened rows (classes last), which go to their place in the output (``block.out_start``).
    """

    def __init__(self, field: str, shape: tuple):
        self.field = field
        self.array = np.empty(shape)

    def write(self, start: int, stop: int, block) -> None:
        values = block.shown(self.field)
        if self.field == "per_element" and block.out_start is not None:
            first = block.out_start
            self.array.reshape(-1)[first : first + values.size] = values.reshape(-1)
        else:
            self.array[start:stop] = values


class AtomicFile:
    """A file written front to back under a temporary name, renamed into place when complete."""

    def __init__(self, path):
        self.path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(self.path))
        name = os.path.basename(self.path)
        # os.urandom, not the secrets module: importing secrets costs 5 ms of start-up
        self.tmp = os.path.join(folder, f".{name}.{os.urandom(4).hex()}.part")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        _LIVE.add(self.tmp)  # before it exists: a signal may land as soon as os.open returns
        try:
            # O_EXCL: never write into someone else's file; 0o666 so the umask applies as usual
            fd = os.open(self.tmp, flags, 0o666)
        except OSError as e:
            _LIVE.discard(self.tmp)  # not ours (O_EXCL) or never made
            raise self._failed(e) from None
        self.f = os.fdopen(fd, "wb")

    def _failed(self, e: OSError) -> CeLossError:
        return CeLossError(f"cannot write {self.path}: {e.strerror or e}", value=self.path)

    def _write(self, data) -> None:
        try:
            self.f.write(data)
        except OSError as e:
            raise self._failed(e) from None

    def close(self) -> None:
        try:
            self.f.close()
        except OSError as e:
            raise self._failed(e) from None

    def publish(self) -> None:
        try:
            os.replace(self.tmp, self.path)
        except OSError as e:
            raise self._failed(e) from None
        _LIVE.discard(self.tmp)

    def discard(self) -> None:
        try:
            self.f.close()
        except OSError:
            pass
        try:
            os.unlink(self.tmp)
        except OSError:
            pass
        _LIVE.discard(self.tmp)


class NpySink(AtomicFile):
    """One field of the blocks as an ``.npy`` file of known shape and dtype, rows appended.

    Plain sequential writes rather than a writable memory map: dirty mapped pages would count in
    the resident size until written back, which a bounded-memory run cannot allow. Values are
    rounded once to ``dtype``.
    """

    def __init__(self, path, field: str, shape: tuple, dtype):
        super().__init__(path)
        self.field = field
        self.dtype = np.dtype(dtype)
        self.left = int(np.prod(shape, dtype=np.int64)) * self.dtype.itemsize
        try:
            header = {
                "descr": np.lib.format.dtype_to_descr(self.dtype),
                "fortran_order": False,
                "shape": tuple(int(s) for s in shape),
            }
            try:
                np.lib.format.write_array_header_1_0(self.f, header)
            except ValueError:  # a header too long for format 1.0
                np.lib.format.write_array_header_2_0(self.f, header)
        except OSError as e:
            self.discard()
            raise self._failed(e) from None
        except BaseException:
            self.discard()
            raise

    def write(self, start: int, stop: int, block) -> None:
        data = np.ascontiguousarray(block.shown(self.field), dtype=self.dtype)
        self.left -= data.nbytes
        if data.size:
            self._write(data.data.cast("B"))

    def close(self) -> None:
        if self.left != 0:
            raise RuntimeError(f"{self.path}: {self.left} bytes short of the array's size")
        super().close()


class CsvSink(AtomicFile):
    """Per-element losses as CSV: index columns then the loss, shortest round-trip text.

    The header is ``index,loss``, or ``index,d1,..,loss`` for K-dimensional losses; float repr
    is the shortest text that reads back to the same float (nan, inf too).
    """

    def __init__(self, path, out_shape: tuple):
        super().__init__(path)
        self.out_shape = tuple(out_shape)
        self.done = 0  # values written: the flat index of the next one
        dims = len(self.out_shape)
        names = ["index"] + [f"d{k}" for k in range(1, dims)]
        self._write((",".join(names) + ",loss\n").encode())

    def write(self, start: int, stop: int, block) -> None:
        values = np.asarray(block.shown("per_element"), dtype=np.float64).reshape(-1)
        first = self.done
        self.done += values.size
        if len(self.out_shape) <= 1:
            text = "".join(
                map("{},{!r}\n".format, range(first, first + values.size), values.tolist())
            )
        else:
            pos = np.unravel_index(np.arange(first, first + values.size), self.out_shape)
            cols = [c.tolist() for c in pos] + [values.tolist()]
            fmt = ",".join(["{}"] * len(pos)) + ",{!r}\n"
            text = "".join(fmt.format(*row) for row in zip(*cols, strict=True))
        self._write(text.encode())
