"""CSV, TSV and whitespace-separated tables of numbers, read a piece of text at a time into
arrays allocated once: a big table needs about its float64 values in memory, not its text."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import chain

import numpy as np

from ..errors import CeLossError
from .keys import ClassNames, column_by_index, column_by_name, label_column, parse_column
from .messages import error_at, file_error, show
from .request import Part, Request
from .source import Source, text_pieces


def read_table(src: Source, fmt: str, req: Request) -> Part:
    """Read a table of numbers; ``req.role`` is "pred", "target" or "vector"."""
    name = src.name
    sep = {"tsv": "tabs"}.get(fmt, "commas")
    room = _count_lines(src, req.piece)
    pieces = text_pieces(src, req.piece)
    first, first_no, lines, k = _first_row(pieces)
    if first is None:
        raise file_error(name, f"is empty; expected rows of numbers separated by {sep}")
    delim = _delimiter(first, fmt)
    head = _cells(first, delim, name, first_no)
    label_idx, header = _layout(head, name, first_no, req)
    table = _Table(
        name,
        delim,
        len(head),
        label_idx,
        first_no,
        [h.strip() for h in head] if header else None,
        req.names,
    )
    part = Part()
    if req.role == "pred" and header:
        part.class_names = table.class_names_of_header()
        if part.class_names is not None:
            table.names = ClassNames(part.class_names)
    # the rest of the piece holding the first row (with that row itself when it is data)
    rest = (first_no + 1, lines[k + 1 :]) if header else (first_no, lines[k:])
    rows = chain([rest], ((no, t.split("\n")) for no, t in pieces))
    # rows are at most the lines left: one allocation, trimmed at the end
    values, labels = table.fill(
        rows,
        max(1, room - first_no + (not header)),
        only_labels=req.role == "target" and label_idx is not None,
    )
    if values is None and labels is None:
        raise error_at(
            name,
            f"line {first_no}",
            f"a header row and no data after it; expected rows of numbers separated by {sep}",
        )
    if values is None:
        part.target = labels
    elif req.role == "target":
        part.target = values
    else:
        part.pred, part.target = values, labels
    return part


def _first_row(pieces: Iterator[tuple[int, str]]):
    """(first data line, its number, the lines of its piece, its index there); Nones if none."""
    for start_no, text in pieces:
        lines = text.split("\n")
        for k, line in enumerate(lines):
            if _is_data(line):
                return line, start_no + k, lines, k
    return None, 0, [], 0


def _delimiter(first: str, fmt: str) -> str | None:
    if fmt == "tsv":
        return "\t"
    if "," in first:
        return ","
    if "\t" in first:
        return "\t"
    if len(first.split()) > 1:
        return None  # whitespace, as numpy.savetxt writes by default
    return ","


def _count_lines(src: Source, piece: int) -> int:
    """The lines of the text ``src``, read a piece at a time: the rows to make room for.

    This pass also checks the whole text (UTF-8, no NUL byte) before any cell is read, so such
    a problem is reported wherever it is, as when the file is read whole.
    """
    return 1 + sum(text.count("\n") for _, text in text_pieces(src, piece))


def _is_data(line: str) -> bool:
    """A line of a table that holds cells: not blank, not a # comment."""
    return bool(line.strip()) and line.lstrip()[0] != "#"


def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def _cells(line: str, delim: str | None, name: str, lineno: int) -> list[str]:
    if '"' in line:
        import csv

        try:
            return next(
                csv.reader(
                    [line.strip() if delim is None else line],
                    delimiter=delim or " ",
                    skipinitialspace=True,
                )
            )
        except (csv.Error, StopIteration) as e:
            raise error_at(
                name, f"line {lineno}", f"cannot split the line into cells ({e})"
            ) from None
    if delim is None:
        return line.split()
    return line.split(delim)


def _header_row(cells: Sequence[str], label_idx: int | None, names: ClassNames | None) -> bool:
    """Whether the first row is a header: a cell that cannot be data."""
    for j, c in enumerate(cells):
        if _is_number(c):
            continue
        if j == label_idx:
            if names is None and len(cells) > 1:
                continue  # a class name in a file that names no classes: still data
            if names is not None and c.strip() in names:
                continue
        return True
    return False


def _layout(head: list[str], name: str, first_no: int, req: Request) -> tuple[int | None, bool]:
    """(index of the target column or None, whether the first row is a header) of a table."""
    ncols = len(head)
    label_idx = None
    tc = parse_column(req.target_column)
    if isinstance(tc, str):
        stripped = [h.strip() for h in head]
        header = _header_row(head, None, None) or tc in stripped
        if not header:
            raise file_error(
                name,
                f"has no header row, so there is no column named {tc!r}; "
                "give the target column by its 0-based index",
                value=tc,
            )
        label_idx = column_by_name(stripped, tc, name, first_no)
    elif tc is not None:
        label_idx = column_by_index(tc, ncols, name, first_no)
        header = _header_row(head, label_idx, req.names)
    elif req.role == "target" and ncols == 1:
        label_idx = 0
        header = _header_row(head, 0, req.names)
    else:
        header = _header_row(head, None, None)
        if header and req.role == "pred" and ncols > 1:
            label_idx = label_column(head, name, first_no, req.own_target)
    if req.role == "pred" and label_idx is not None and ncols == 1:
        raise file_error(name, "has only the target column; expected prediction columns too")
    return label_idx, header


def _trim(a: np.ndarray, n: int) -> np.ndarray:
    """The first ``n`` rows of ``a``, copied when that frees much (blank and comment lines)."""
    if n == len(a):
        return a
    return a[:n].copy() if n < 0.9 * len(a) else a[:n]


# --------------------------------------------------------------------------------------------
# Rows


class _Table:
    """Turns pieces of a table's lines into float64 values and targets, checking every cell."""

    def __init__(
        self,
        name: str,
        delim: str | None,
        ncols: int,
        label_idx: int | None,
        first_no: int,
        head_names: list[str] | None,
        names: ClassNames | None,
    ):
        self.name, self.delim, self.ncols, self.label_idx = name, delim, ncols, label_idx
        self.first_no, self.head_names, self.names = first_no, head_names, names
        self.width = ncols - (label_idx is not None)

    def class_names_of_header(self) -> list[str] | None:
        """The header's names of the prediction columns, when there are several."""
        assert self.head_names is not None
        if self.width <= 1:
            return None
        cols = [j for j in range(self.ncols) if j != self.label_idx]
        for j in cols:
            if not self.head_names[j]:
                raise error_at(
                    self.name,
                    f"line {self.first_no}, column {j + 1}",
                    "the header names no class here; expected a name for every column",
                    hint="a pandas index column? save with index=False",
                )
        return [self.head_names[j] for j in cols]

    def fill(self, pieces, room: int, only_labels: bool):
        """(values or None, labels or None) of all the rows of ``pieces``: (first line number,
        lines) pairs; (None, None) when there are no rows."""
        values = None if only_labels else np.empty((room, self.width), dtype=np.float64)
        labels = np.empty(room, dtype=np.float64) if self.label_idx is not None else None
        all_named = True  # every label a class name: the targets are int64 indices
        n = 0
        for start_no, lines in pieces:
            v, lab = self.parse(lines, start_no, want_values=not only_labels)
            m = len(v) if v is not None else len(lab)
            if n + m > room:  # cannot happen for a file that did not change while being read
                raise file_error(self.name, "changed while ce-loss was reading it")
            if values is not None:
                values[n : n + m] = v
            if labels is not None:
                labels[n : n + m] = lab
                all_named = all_named and (lab.dtype == np.int64 or not m)
            n += m
        if not n:
            return None, None
        if labels is not None:
            labels = _trim(labels, n)
            labels = labels.astype(np.int64) if all_named else labels
        if values is not None:
            values = _trim(values, n)
            values = values[:, 0] if self.width == 1 else values
        return values, labels

    def parse(self, lines: list[str], start_no: int, want_values: bool = True):
        """(values of shape (rows, width) or None, targets or None) of ``lines`` (the first is
        line ``start_no`` of the file); blank and comment lines are skipped."""
        data_nos = [start_no + i for i, line in enumerate(lines) if _is_data(line)]
        data = [lines[no - start_no] for no in data_nos]
        counts, flat = self._split(data, data_nos)
        if counts.count(self.ncols) != len(counts):
            r = next(k for k, c in enumerate(counts) if c != self.ncols)
            # the first problem in the file is the one reported: a bad cell above comes first
            self.parse(lines[: data_nos[r] - start_no], start_no, want_values)
            raise error_at(
                self.name,
                f"line {data_nos[r]}",
                f"{counts[r]} cells, expected {self.ncols} like line {self.first_no}",
            )
        cells = None
        if self.label_idx is not None:
            cells = flat[self.label_idx :: self.ncols]
            if want_values:
                del flat[self.label_idx :: self.ncols]
            else:
                flat = []
        where = self._where(data_nos)
        try:
            values = np.array(flat, dtype=np.float64)
            labels = None if cells is None else self._labels(cells, where)
        except (ValueError, CeLossError):
            # find the first bad cell in file order (raises), else numpy refused what Python's
            # float accepts: parse them one by one
            self._first_bad_cell(len(data), flat, cells, where, want_values)
            values = np.array([float(c) for c in flat], dtype=np.float64)
            labels = None if cells is None else self._labels(cells, where)
        if not want_values:
            return None, labels
        return values.reshape(len(data), self.width), labels

    def _split(self, data: list[str], data_nos: list[int]) -> tuple[list[int], list[str]]:
        """(cells in each line, all cells in a row) of the data lines."""
        delim = self.delim
        if delim is None or any('"' in line for line in data):
            rows = [
                _cells(line, delim, self.name, no) for line, no in zip(data, data_nos, strict=True)
            ]
            return [len(r) for r in rows], list(chain.from_iterable(rows))
        counts = [line.count(delim) + 1 for line in data]
        return counts, (delim.join(data).split(delim) if data else [])

    def _where(self, data_nos: list[int]) -> Callable[[int, int], str]:
        head_names = self.head_names

        def where(row: int, col: int) -> str:
            w = f"line {data_nos[row]}, column {col + 1}"
            return f"{w} ({head_names[col]!r})" if head_names else w

        return where

    def _first_bad_cell(
        self,
        rows: int,
        flat: list[str],
        cells: list[str] | None,
        where: Callable[[int, int], str],
        want_values: bool,
    ) -> None:
        """Raise the error of the first cell, in file order, that is not a number or a class."""
        label_idx = self.label_idx
        width = self.width if want_values else 0
        for r in range(rows):
            for j in range(self.ncols):
                if j == label_idx:
                    assert cells is not None
                    _labels(cells[r : r + 1], self.names, _at_row(where, r), j, self.name)
                elif width:
                    cell = flat[r * width + j - (label_idx is not None and j > label_idx)]
                    if not _is_number(cell):
                        what = (
                            "an empty cell; expected a number"
                            if not cell.strip()
                            else f"{show(cell.strip())} is not a number"
                        )
                        raise error_at(
                            self.name, where(r, j), what, value=cell.strip(), expected="a number"
                        )

    def _labels(self, cells: list[str], where: Callable[[int, int], str]) -> np.ndarray:
        assert self.label_idx is not None
        return _labels(cells, self.names, where, self.label_idx, self.name)


def _at_row(where: Callable[[int, int], str], row: int) -> Callable[[int, int], str]:
    """``where`` for a one-row slice of the cells: its row 0 is ``row``."""
    return lambda _row, col: where(row, col)


def _labels(
    cells: list[str],
    names: ClassNames | None,
    where: Callable[[int, int], str],
    col: int,
    name: str,
) -> np.ndarray:
    """Numbers stay numbers (float64); class names become their indices (int64 if all are)."""
    try:
        return np.array(cells, dtype=np.float64)
    except ValueError:
        pass
    out = np.empty(len(cells), dtype=np.float64)
    mapped = 0
    for r, cell in enumerate(cells):
        s = cell.strip()
        try:
            out[r] = float(s)
            continue
        except ValueError:
            pass
        j = names.index(s) if names is not None else None
        if j is None:
            raise _label_error(s, names, where(r, col), name)
        out[r] = j
        mapped += 1
    return out.astype(np.int64) if mapped == len(cells) else out


def _label_error(s: str, names: ClassNames | None, where: str, name: str) -> CeLossError:
    if not s:
        what = "an empty cell; expected a class"
    elif names:
        what = f"{show(s)} is not a class name; expected a class index or one of {names.listing()}"
    else:
        what = f"{show(s)} is not a number; expected a class index"
    hint = None if names else "a header row over the prediction columns names the classes"
    return error_at(name, where, what, hint=hint, value=s)
