"""A big table's body handed to the engine as it is parsed: one pass, front to back.

:class:`TableValues` (the predictions) and :class:`TableLabels` (the label column, if any) look
like arrays read by rows (:mod:`ce_cli.readers.rows`) and share one :class:`TablePass`: asking
for rows ``a[i:j]`` parses the table's blocks up to row ``j``. Rows parsed but not handed out yet
are kept, for worker threads asking a little out of order; rows handed out are dropped, so the
values are never all in memory. The labels (one number a row) are kept whole.

Both carry ``one_pass = True``: the engine then counts the targets along its pass rather than
before it (:mod:`ce_cli.core.engine`). What is asked for after the pass (the first rows the
warnings scan, a sample a table shows) comes from the first rows, kept, or else from the whole
table parsed once more and kept (a second parse, only for such late reads).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .rows import Rows, changed_error

# Rows kept from the start of the table for reads after the pass: what ce_cli.diagnose scans
# (its SCAN_ROWS and SCAN_ELEMENTS), so its warnings need no second parse.
HEAD_ROWS = 10_000
HEAD_ELEMENTS = 1 << 20

# A line that starts with white space (or is empty): it may be blank, so counted with care.
_MAY_BE_BLANK = re.compile(r"\n\s")


def data_lines(pieces: Iterator[tuple[int, str]]) -> int:
    """The data lines (not blank, not a # comment) of a table's text pieces of whole lines.

    Most pieces have no comment and no line starting with white space: their lines are counted
    by their newlines. The others are split and looked at line by line.
    """
    n = 0
    for _, text in pieces:
        if "#" in text or text[:1].isspace() or _MAY_BE_BLANK.search(text):
            n += sum(1 for line in text.split("\n") if line.strip() and line.lstrip()[0] != "#")
        else:
            n += text.count("\n") + (not text.endswith("\n"))
    return n


# Bytes of a UTF-8 table whose line ends are counted at a time.
COUNT_BYTES = 1 << 20
# Bytes a data line cannot start with: white space (the line may be blank), and any byte of a
# character beyond ASCII (Unicode has more white space); nor hold anywhere: # (a comment may
# start there) and \r (a line end of its own). A file that has any is counted line by line.
_ODD_START = np.zeros(256, dtype=bool)
_ODD_START[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True
_ODD_START[128:] = True


def plain_data_lines(src) -> int | None:
    """The data lines of a UTF-8 file counted by its ``\\n`` bytes (NumPy, a block at a time),
    or None when a line may be blank or a comment, or ends otherwise: then count them with
    :func:`data_lines`. Undecodable text is left for the parse to find."""
    n, line_start, last = 0, True, b"\n"
    with src.open() as f:
        block = f.read(COUNT_BYTES)
        block = block[3:] if block.startswith(b"\xef\xbb\xbf") else block
        while block:
            if b"#" in block or b"\r" in block:
                return None
            c = np.frombuffer(block, dtype=np.uint8)
            ends = np.flatnonzero(c == 10)
            after = ends[:-1] + 1 if len(ends) and ends[-1] == len(c) - 1 else ends + 1
            if (line_start and _ODD_START[c[0]]) or _ODD_START[c[after]].any():
                return None
            n += len(ends)
            last = block[-1:]
            line_start = last == b"\n"
            block = f.read(COUNT_BYTES)
    return n + (last != b"\n")


Blocks = Iterator[tuple[Any, Any]]


class TablePass:
    """The blocks of a table's rows, parsed once, front to back, on demand (thread-safe).

    ``blocks()`` gives a fresh iterator of ``(values (m, width) float64, labels (m,) or None)``
    from the first row; ``n`` rows in all (fewer or more: the file changed meanwhile). The
    labels are kept whole: int64 while all are class names, else float64.
    """

    def __init__(self, name: str, n: int, width: int, blocks: Callable[[], Blocks]):
        self.name, self.n, self.width, self.blocks = name, n, width, blocks
        self.lock = threading.Lock()
        self.it: Blocks | None = blocks()
        self.parsed = 0  # rows parsed so far
        self.window: list[tuple[int, np.ndarray]] = []  # (first row, values) not all handed out
        self.served: dict[int, int] = {}  # start -> stop of rows handed out, still in the window
        self.labels: np.ndarray | None = None
        self.head: np.ndarray | None = None
        self.whole: np.ndarray | None = None
        self.failed = False

    def first(self) -> tuple[np.ndarray, Any]:
        """The first block, as parsed (kept for the engine): to decide on before streaming."""
        assert self.it is not None
        try:
            block = next(self.it, None)
            while block is not None and not len(block[0]):
                block = next(self.it, None)
        except BaseException:
            self.it = None
            raise
        if block is None:
            raise changed_error(self.name)
        self._keep(*block)
        return block

    def _more(self) -> None:
        """Parse one more block into the window; the end of the table checks the count."""
        assert self.it is not None
        try:
            block = next(self.it, None)
        except BaseException:
            self.failed = True
            raise
        if block is None:
            self.it = None
            if self.parsed != self.n:
                raise changed_error(self.name)
            return
        self._keep(*block)

    def _keep(self, values: np.ndarray, labels) -> None:
        m = len(values)
        if self.parsed + m > self.n:
            self.failed = True
            raise changed_error(self.name)
        if labels is not None:
            self._put_labels(self.parsed, labels)
        self._keep_head(values)
        self.window.append((self.parsed, values))
        self.parsed += m

    def _put_labels(self, at: int, labels: np.ndarray) -> None:
        if self.labels is None:
            self.labels = np.empty(self.n, dtype=labels.dtype)
        elif len(labels) and labels.dtype != self.labels.dtype == np.int64:
            # a number among class names: every label float64, as a table read whole has them
            # (rows computed already had the same values as int64)
            self.labels = self.labels.astype(np.float64)
        self.labels[at : at + len(labels)] = labels

    def _keep_head(self, values: np.ndarray) -> None:
        """Copy the rows of ``values`` that fall in the head kept for late reads."""
        rows = min(self.n, HEAD_ROWS, max(1, HEAD_ELEMENTS // max(1, self.width)))
        if self.parsed >= rows:
            return
        if self.head is None:
            self.head = np.empty((rows, self.width), dtype=np.float64)
        take = min(rows - self.parsed, len(values))
        self.head[self.parsed : self.parsed + take] = values[:take]

    def _front(self) -> int:
        return self.window[0][0] if self.window else self.parsed

    def read(self, start: int, stop: int) -> np.ndarray:
        """Values of rows ``start:stop`` as a fresh (rows, width) array."""
        with self.lock:
            if self.whole is not None:
                return self.whole[start:stop].copy()
            if start < self._front():
                if self.head is not None and stop <= len(self.head):
                    return self.head[start:stop].copy()
                return self._read_whole()[start:stop].copy()  # a late read: parse again
            while self.parsed < stop:
                self._more()
            out = np.empty((stop - start, self.width), dtype=np.float64)
            for first, values in self.window:
                lo, hi = max(start, first), min(stop, first + len(values))
                if lo < hi:
                    out[lo - start : hi - start] = values[lo - first : hi - first]
            self._served(start, stop)
            return out

    def _served(self, start: int, stop: int) -> None:
        """Drop the rows at the window's front once every one of them has been handed out."""
        if start == stop:
            return
        self.served[start] = stop
        done = self._front()
        while done in self.served:
            done = self.served.pop(done)
        while self.window and self.window[0][0] + len(self.window[0][1]) <= done:
            self.window.pop(0)
        if self.window and done > self.window[0][0]:
            first, values = self.window[0]
            self.window[0] = (done, values[done - first :])

    def labels_to(self, stop: int) -> np.ndarray:
        """The labels, parsed at least up to row ``stop``."""
        with self.lock:
            while self.parsed < stop and self.it is not None:
                self._more()
            assert self.labels is not None
            return self.labels

    def read_all(self) -> np.ndarray:
        """Every row's values in one array (the whole table in memory, as without streaming)."""
        with self.lock:
            return self._read_whole()

    def _read_whole(self) -> np.ndarray:
        if self.whole is not None:
            return self.whole
        whole = np.empty((self.n, self.width), dtype=np.float64)
        n = 0
        for values, labels in self.blocks():
            m = len(values)
            if n + m > self.n:
                raise changed_error(self.name)
            whole[n : n + m] = values
            if labels is not None:
                self._put_labels(n, labels)
            n += m
        if n != self.n:
            raise changed_error(self.name)
        self.whole, self.it, self.window, self.parsed = whole, None, [], self.n
        return whole

    def finish(self) -> None:
        """Parse the rest of the table, so a bad cell anywhere is reported (nothing more is
        kept); nothing when parsing failed already."""
        with self.lock:
            if self.failed:
                return
            while self.it is not None:
                self._more()
                del self.window[:-1]  # nothing more is handed out


class TableValues(Rows):
    """A table's predictions, (n, width) or (n,) for one column, parsed as they are read."""

    one_pass = True

    def __init__(self, tp: TablePass):
        shape = (tp.n, tp.width) if tp.width > 1 else (tp.n,)
        super().__init__(tp.name, shape, np.dtype(np.float64), "C")
        self.tp = tp

    def read(self, start: int, stop: int) -> np.ndarray:
        out = self.tp.read(start, stop)
        return out if self.tp.width > 1 else out[:, 0]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = self.tp.read_all()
        whole = whole if self.tp.width > 1 else whole[:, 0]
        return whole if dtype is None else whole.astype(dtype, copy=False)

    def finish(self) -> None:
        """Parse what is left, for a bad cell's message (see :meth:`TablePass.finish`)."""
        self.tp.finish()


class TableLabels(Rows):
    """A table's label column, parsed with the predictions of the same rows."""

    one_pass = True

    def __init__(self, tp: TablePass):
        assert tp.labels is not None  # the first block is parsed
        super().__init__(tp.name, (tp.n,), tp.labels.dtype, "C")
        self.tp = tp

    def read(self, start: int, stop: int) -> np.ndarray:
        return self.tp.labels_to(stop)[start:stop].copy()

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        labels = self.tp.labels_to(self.shape[0])
        return labels if dtype is None else labels.astype(dtype, copy=False)

    def finish(self) -> None:
        self.tp.finish()


def finish(*arrays: Any) -> None:
    """For an error met along a one-pass run: a bad cell later in a table is reported instead,
    as when the table was read whole before any loss was computed."""
    for a in arrays:
        if isinstance(a, (TableValues, TableLabels)):
            a.finish()
