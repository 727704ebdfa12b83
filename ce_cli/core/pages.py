"""Handing the pages of a memory-mapped input back to the OS once its rows are done."""

from __future__ import annotations

import mmap
from typing import Any

import numpy as np


class Pages:
    """Hands the pages of a read-only memory-mapped array back to the OS once rows are done.

    The data stays in the page cache; dropping the mapping only keeps the resident size of this
    process from growing with the file. Anything but a C-ordered read-only ``np.memmap`` (or a
    view of one) is left alone, as are systems without ``madvise``.
    """

    def __init__(self, arr: np.ndarray):
        self.mm = None
        self.done = 0
        a: Any = arr
        while isinstance(a, np.ndarray) and not isinstance(a, np.memmap):
            a = a.base
        mm = getattr(a, "_mmap", None) if isinstance(a, np.memmap) else None
        if (
            mm is None
            or getattr(a, "mode", None) != "r"
            or not hasattr(mm, "madvise")
            or not hasattr(mmap, "MADV_DONTNEED")
            or arr.ndim == 0
            or not arr.flags.c_contiguous
            or len(mm) == 0
        ):
            return
        view = np.frombuffer(mm, dtype=np.uint8)
        base = view.ctypes.data
        del view
        self.mm = mm
        self.offset = arr.ctypes.data - base
        self.row_bytes = arr.strides[0] if arr.shape[0] else 0
        self.page = mmap.PAGESIZE

    def release(self, stop_row: int) -> None:
        """Rows before ``stop_row`` will not be read again: drop their whole pages."""
        if self.mm is None:
            return
        lo = (self.offset + self.done * self.row_bytes) // self.page * self.page
        hi = (self.offset + stop_row * self.row_bytes) // self.page * self.page
        if hi > lo:
            try:
                self.mm.madvise(mmap.MADV_DONTNEED, lo, hi - lo)
            except (OSError, ValueError):
                self.mm = None  # not worth failing a run over
                return
            self.done = stop_row

    def rewind(self) -> None:
        """The rows will be read again from the start (after the denominator's pass)."""
        self.done = 0
