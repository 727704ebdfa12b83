"""CSV, TSV and whitespace-separated tables of numbers, read a piece of text at a time into
arrays allocated once: a big table needs about its float64 values in memory, not its text."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator, Sequence
from itertools import chain

import numpy as np

from ..errors import CeLossError
from . import dialect
from .encoding import check_encoding, table_pieces
from .fastcsv import FastFailed, fast_path, fast_rows, line_room
from .keys import ClassNames, column_by_index, column_by_name, label_column, parse_column
from .messages import error_at, file_error, show
from .request import Part, Request
from .source import Source

# Whether tables may be parsed by pyarrow (when it is installed), and else a piece of plain
# lines at a time by np.loadtxt; tests turn them off to compare with the cell-by-cell parse.
FAST = True
LOADTXT = True
# A table's predictions are streamed into the engine (parsed as the engine asks for rows, never
# all in memory) from a regular file of at least this many bytes; smaller ones are read whole.
STREAM_BYTES = 1 << 23


def read_table(src: Source, fmt: str, req: Request) -> Part:
    """Read a table of numbers; ``req.role`` is "pred", "target" or "vector"."""
    name = src.name
    sep = {"tsv": "tabs"}.get(fmt, "commas")
    encoding = req.read.encoding
    lines = _Lines(table_pieces(src, req.piece, encoding))
    found = lines.first_two()
    if found is None:
        raise file_error(name, f"is empty; expected rows of numbers separated by {sep}")
    (first, first_no), second, given_sep = found
    try:
        table, header, notes = _shape_of(name, fmt, req, (first, first_no, second, given_sep))
        names = table.class_names_of_header() if req.role == "pred" and header else None
    except CeLossError:
        # text that is not text is said first, wherever it is, as when the file is read whole
        _count_lines(src, req.piece, encoding)
        raise
    part = Part()
    part.notes = notes
    part.class_names = names
    if names is not None:
        table.names = ClassNames(names)
    only_labels = req.role == "target" and table.label_idx is not None
    streamed = _streamed(src, table, (first_no, header, given_sep), req)
    if streamed is not None:
        part.pred, part.target = streamed
        return part
    values, labels = _fast_or_precise(src, table, lines, (first_no, header, only_labels), req)
    if values is None and labels is None:
        raise error_at(
            name,
            f"line {first_no}",
            f"a header row and no data after it; expected rows of numbers separated by {sep}",
        )
    notes += _index_check(table, values, req)
    if values is None:
        part.target = labels
    elif req.role == "target":
        part.target = values
    else:
        part.pred, part.target = values, labels
    return part


def _fast_or_precise(src: Source, table: _Table, lines: _Lines, how: tuple, req: Request):
    """(values, labels) of the table's rows: by pyarrow's CSV parser when it is installed and
    the table is plain, else (and to word any error) by the precise parser below."""
    first_no, header, only_labels = how
    start = first_no + header
    if table.fast and fast_path(src, table, start, req):
        try:
            return table.fill(fast_rows(src, table, start, req), line_room(src), only_labels)
        except (FastFailed, CeLossError):
            pass  # the precise parser reads it, or says what is wrong where
    elif LOADTXT and table.delim is not None and not table.trailing:
        try:
            blocks = _quick_rows(src, table, start, req, not only_labels)
            return table.fill(blocks, line_room(src), only_labels)
        except (FastFailed, CeLossError):
            lines = _Lines(table_pieces(src, req.piece, req.read.encoding))
    room = _count_lines(src, req.piece, req.read.encoding)
    rows = lines.rows_from(start)
    # rows are at most the lines left: one allocation, trimmed at the end
    return table.fill(
        (table.parse(ls, no, want_values=not only_labels) for no, ls in rows),
        max(1, room - start + 1),
        only_labels=only_labels,
    )


def _streamed(src: Source, table: _Table, how: tuple, req: Request):
    """(predictions, targets or None) read by rows as the engine asks for them, or None when
    the table is read whole: a small or irregular file, or one whose first block cannot decide
    what the whole table decides (a first column starting 0, 1, 2, ...)."""
    first_no, header, given_sep = how
    if req.role != "pred" or not req.lazy or not src.unread or table.width < 1:
        return None
    if os.stat(src.name).st_size < STREAM_BYTES:
        return None
    from .tablestream import TableLabels, TablePass, TableValues, data_lines, plain_data_lines

    start = first_no + header
    skip = header + (given_sep is not None)  # data lines before the rows: a header, a sep=
    n = None
    if check_encoding(req.read.encoding) is None and src.head(2) not in (b"\xff\xfe", b"\xfe\xff"):
        n = plain_data_lines(src)
    if n is None:
        n = data_lines(table_pieces(src, req.piece, req.read.encoding))
    n -= skip
    if n <= 0:
        return None
    tp = TablePass(src.name, n, table.width, lambda: _row_blocks(src, table, start, req))
    try:
        values, labels = tp.first()
    except CeLossError:
        return None  # the whole table's parse says what is wrong, where
    if _may_be_index(table, values, req):
        return None
    return TableValues(tp), (None if labels is None else TableLabels(tp))


def _may_be_index(table: _Table, values: np.ndarray, req: Request) -> bool:
    """Whether :func:`_index_check` may refuse the table: its first block's first column holds
    0, 1, 2, ... (the whole column decides)."""
    if req.read.index_col is not None or table.off or table.width < 2 or table.label_idx == 0:
        return False
    return bool(np.array_equal(values[:, 0], np.arange(len(values), dtype=np.float64)))


def _row_blocks(src: Source, table: _Table, start: int, req: Request):
    """(values, labels) blocks of every row from line ``start`` on, by the parser
    :func:`_fast_or_precise` would use; when it gives up, the precise parser goes on from the
    row it stopped at (reading the lines before it again, to find the first problem)."""
    done = 0
    quick = None
    if table.fast and fast_path(src, table, start, req):
        quick = fast_rows(src, table, start, req)
    elif LOADTXT and table.delim is not None and not table.trailing:
        quick = _quick_rows(src, table, start, req, True)
    if quick is not None:
        try:
            for v, lab in quick:
                done += len(v)
                yield v, lab
            return
        except (FastFailed, CeLossError):
            pass  # the precise parser reads it, or says what is wrong where
    _count_lines(src, req.piece, req.read.encoding)  # text that is not text is said first
    lines = _Lines(table_pieces(src, req.piece, req.read.encoding))
    for no, ls in lines.rows_from(start):
        v, lab = table.parse(ls, no, want_values=True)
        if done >= len(v):
            done -= len(v)
            continue
        if done:
            v, lab = v[done:], (None if lab is None else lab[done:])
            done = 0
        yield v, lab


def _quick_rows(src: Source, table: _Table, start: int, req: Request, want_values: bool):
    """(values, labels) of the rows from line ``start`` on, parsed by ``np.loadtxt`` a piece of
    text at a time; :class:`FastFailed` at the first piece it cannot take as it is."""
    for no, text in table_pieces(src, req.piece, req.read.encoding):
        if no < start:
            text = text.split("\n", start - no)[-1] if start - no <= text.count("\n") else ""
        if not text.strip():
            continue
        block = table.loadtxt(text, want_values)
        if block is None:
            raise FastFailed("not plain")
        yield block


def _shape_of(name: str, fmt: str, req: Request, first_lines: tuple):
    """(the table's reader, whether the first row is a header, warnings) from its first lines."""
    first, first_no, second, given_sep = first_lines
    rs = req.read
    delim = given_sep or dialect.delimiter(first, second[0] if second else None, fmt)
    trailing = dialect.trailing_separator(first, second[0] if second else None, delim)
    head = _cells(_cut(first, delim, trailing), delim, name, first_no)
    cells2 = _cells(_cut(second[0], delim, trailing), delim, name, second[1]) if second else None
    decimal = dialect.decimal_comma(rs.decimal, delim, head + (cells2 or []))
    if decimal and delim == ",":
        raise error_at(
            name,
            f"line {first_no}",
            "cells separated by commas cannot have decimal commas too",
            hint="separate the cells by semicolons or tabs, or give {decimal} .",
        )
    as_read = [h.replace(",", ".") for h in head] if decimal else head
    header = _header_row(as_read, None, None)
    # a header that only the dialect tells from data: pandas' 0,1,2 or one after a sep= line
    known = dialect.numbers_header(head, cells2) or (
        given_sep is not None and not all(map(_is_number, as_read))
    )
    off, short, why = dialect.index_column(head, header or known, cells2, rs.index_col)
    body = head if short else head[off:]
    decide = True if known else (header if off else None)
    label_idx, header = _layout(
        [h.replace(",", ".") for h in body] if decimal else body, name, first_no, req, decide
    )
    full = len(body) + off
    names = [h.strip() for h in body] if header else None
    table = _Table(name, delim, full, label_idx, first_no, names, req.names)
    table.off, table.trailing, table.decimal = off, trailing, decimal
    table.like_no = second[1] if short and second else first_no
    notes = []
    if off and why != "as asked":
        notes.append(
            f"{name}: column 1 is a row index ({why}), so it was skipped; --no-index-col scores it"
        )
    return table, header, notes


def _cut(line: str, delim: str | None, trailing: bool) -> str:
    """``line`` without the separator that ends every row of a table written so."""
    if trailing and delim is not None:
        stripped = line.rstrip(" ")
        if stripped.endswith(delim):
            return stripped[: -len(delim)]
    return line


def _index_check(table: _Table, values, req: Request) -> list[str]:
    """Refuse a first column of 0, 1, ..., N-1 that no header or option explains: a row index
    scored as a class would be a wrong number with no error."""
    if req.read.index_col is not None or table.off or values is None or values.ndim != 2:
        return []
    if req.role == "vector" or values.shape[1] < 2 or table.label_idx == 0:
        return []
    if not dialect.is_row_index(values[:, 0]):
        return []
    n = len(values)
    head = f" ({table.head_names[0]!r})" if table.head_names else ""
    raise error_at(
        table.name,
        f"column 1{head}",
        f"holds 0, 1, 2, ..., {n - 1}, a row index rather than "
        + ("targets" if req.role == "target" else "scores"),
        hint="skip it with {index_col}, or score it with {no_index_col}",
    )


class _Lines:
    """The lines of a table's pieces: its first data lines, then all of them again from a line
    number on, without reading any piece twice."""

    def __init__(self, pieces: Iterator[tuple[int, str]]):
        self.pieces = pieces
        self.seen: list[tuple[int, list[str]]] = []

    def _data(self) -> Iterator[tuple[str, int]]:
        for start_no, text in self.pieces:
            lines = text.split("\n")
            self.seen.append((start_no, lines))
            for k, line in enumerate(lines):
                if _is_data(line):
                    yield line, start_no + k

    def first_two(self):
        """((first data line, its number), (second, its number) or None, the separator an
        Excel ``sep=`` line before them declares or None); None when there are none."""
        data = self._data()
        first = next(data, None)
        given = dialect.sep_line(first[0]) if first is not None else None
        if given is not None:
            first = next(data, None)
        if first is None:
            return None
        return first, next(data, None), given

    def rows_from(self, no: int) -> Iterator[tuple[int, list[str]]]:
        """(number of the first line, lines) of every line numbered ``no`` or more."""
        for start_no, lines in self.seen:
            cut = max(0, no - start_no)
            yield start_no + cut, lines[cut:]
        for start_no, text in self.pieces:
            lines = text.split("\n")
            cut = max(0, no - start_no)
            yield start_no + cut, lines[cut:]


def _count_lines(src: Source, piece: int, encoding: str | None) -> int:
    """The lines of the text ``src``, read a piece at a time: the rows to make room for.

    This pass also checks the whole text (UTF-8, no NUL byte) before any cell is read, so such
    a problem is reported wherever it is, as when the file is read whole.
    """
    return 1 + sum(text.count("\n") for _, text in table_pieces(src, piece, encoding))


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


def _layout(
    head: list[str], name: str, first_no: int, req: Request, known: bool | None = None
) -> tuple[int | None, bool]:
    """(index of the target column or None, whether the first row is a header) of a table;
    ``known``: whether it is a header when that is already known (a row index's header)."""
    ncols = len(head)
    if known is not None:
        return _layout_known(head, name, first_no, req, known)
    label_idx = None
    tc = parse_column(req.target_column)
    if isinstance(tc, str):
        stripped = [h.strip() for h in head]
        header = _header_row(head, None, None) or tc in stripped
        if not header:
            raise _no_header_for(name, tc)
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


def _no_header_for(name: str, tc: str) -> CeLossError:
    """--target-column given by name for a table with no header row."""
    return file_error(
        name,
        f"has no header row, so there is no column named {tc!r}; "
        "give the target column by its 0-based index",
        value=tc,
    )


def _layout_known(
    head: list[str], name: str, first_no: int, req: Request, header: bool
) -> tuple[int | None, bool]:
    """:func:`_layout` of a table whose first row is known to be a header, or data."""
    tc = parse_column(req.target_column)
    stripped = [h.strip() for h in head]
    label_idx = None
    if isinstance(tc, str):
        if not header:
            raise _no_header_for(name, tc)
        label_idx = column_by_name(stripped, tc, name, first_no)
    elif tc is not None:
        label_idx = column_by_index(tc, len(head), name, first_no)
    elif req.role == "target" and len(head) == 1:
        label_idx = 0
    elif header and req.role == "pred" and len(head) > 1:
        label_idx = label_column(head, name, first_no, req.own_target)
    if req.role == "pred" and label_idx is not None and len(head) == 1:
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
    """Turns pieces of a table's lines into float64 values and targets, checking every cell.

    Each row of the file has ``full`` cells; the first ``off`` (a row index) are skipped, the
    others are the ``ncols`` columns (one of them the labels, at ``label_idx``). ``trailing``:
    every row ends with the separator; ``decimal``: numbers have a decimal comma.
    """

    def __init__(
        self,
        name: str,
        delim: str | None,
        full: int,
        label_idx: int | None,
        first_no: int,
        head_names: list[str] | None,
        names: ClassNames | None,
    ):
        self.name, self.delim, self.full, self.label_idx = name, delim, full, label_idx
        self.first_no, self.head_names, self.names = first_no, head_names, names
        self.off, self.trailing, self.decimal, self.like_no = 0, False, False, first_no
        self.fast = FAST  # tests turn the fast parser off to compare the two

    @property
    def ncols(self) -> int:
        return self.full - self.off

    @property
    def width(self) -> int:
        return self.ncols - (self.label_idx is not None)

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
                    f"line {self.first_no}, column {j + 1 + self.off}",
                    "the header names no class here; expected a name for every column",
                    hint="a pandas index column? save with index=False" if j == 0 else None,
                )
        return [self.head_names[j] for j in cols]

    def fill(self, blocks, room: int, only_labels: bool):
        """(values or None, labels or None) of all the rows of ``blocks``: (values, labels)
        pairs as :meth:`parse` gives them; (None, None) when there are no rows."""
        values = None if only_labels else np.empty((room, self.width), dtype=np.float64)
        labels = np.empty(room, dtype=np.float64) if self.label_idx is not None else None
        all_named = True  # every label a class name: the targets are int64 indices
        n = 0
        for v, lab in blocks:
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
        data = [_cut(lines[no - start_no], self.delim, self.trailing) for no in data_nos]
        quick = self._lines_loadtxt(data, want_values) if LOADTXT else None
        if quick is not None:
            return quick
        counts, flat = self._split(data, data_nos)
        if counts.count(self.full) != len(counts):
            r = next(k for k, c in enumerate(counts) if c != self.full)
            # the first problem in the file is the one reported: a bad cell above comes first
            self.parse(lines[: data_nos[r] - start_no], start_no, want_values)
            raise error_at(
                self.name,
                f"line {data_nos[r]}",
                f"{counts[r]} cells, expected {self.full} like line {self.like_no}",
            )
        if self.off:
            del flat[0 :: self.full]
        cells = None
        if self.label_idx is not None:
            cells = flat[self.label_idx :: self.ncols]
            if want_values:
                del flat[self.label_idx :: self.ncols]
            else:
                flat = []
        where = self._where(data_nos)
        raw = flat
        if self.decimal:
            flat = [c.replace(",", ".") for c in flat]
            cells = None if cells is None else [c.replace(",", ".") for c in cells]
        try:
            values = np.array(flat, dtype=np.float64)
            labels = None if cells is None else self._labels(cells, where)
        except (ValueError, CeLossError):
            # find the first bad cell in file order (raises), else numpy refused what Python's
            # float accepts: parse them one by one
            self._first_bad_cell(len(data), (raw, flat), cells, where, want_values)
            values = np.array([float(c) for c in flat], dtype=np.float64)
            labels = None if cells is None else self._labels(cells, where)
        if not want_values:
            return None, labels
        return values.reshape(len(data), self.width), labels

    def _lines_loadtxt(self, data: list[str], want_values: bool):
        """:meth:`loadtxt` of a list of data lines."""
        if not data or self.delim is None:
            return None
        return self.loadtxt("\n".join(data), want_values)

    def loadtxt(self, body: str, want_values: bool):
        """(values, labels) of plain numeric lines parsed by NumPy's C parser, or None.

        ``np.loadtxt`` rounds decimal text as Python's ``float`` does (it calls CPython's
        ``PyOS_string_to_double``), and refuses a row of another length: whatever it refuses,
        the cell-by-cell parse below reads, or words as an error."""
        if self.delim is None or (self.decimal and self.delim == ","):
            return None
        if '"' in body or "#" in body:
            return None
        if self.decimal:
            body = body.replace(",", ".")
        try:
            a = np.loadtxt(
                io.StringIO(body),
                delimiter=self.delim,
                dtype=np.float64,
                comments=None,
                ndmin=2,
                quotechar=None,
            )
        except ValueError:
            return None
        if a.shape[1] != self.full:
            return None
        a = a[:, self.off :] if self.off else a
        labels = None
        if self.label_idx is not None:
            labels = a[:, self.label_idx].copy()
            if not want_values:
                return None, labels
            a = np.delete(a, self.label_idx, axis=1)
        return a, labels

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
        head_names, off = self.head_names, self.off

        def where(row: int, col: int) -> str:
            w = f"line {data_nos[row]}, column {col + 1 + off}"
            return f"{w} ({head_names[col]!r})" if head_names else w

        return where

    def _first_bad_cell(
        self,
        rows: int,
        flats: tuple[list[str], list[str]],
        cells: list[str] | None,
        where: Callable[[int, int], str],
        want_values: bool,
    ) -> None:
        """Raise the error of the first cell, in file order, that is not a number or a class.

        ``flats``: the value cells as written and as parsed (decimal commas made points)."""
        label_idx = self.label_idx
        width = self.width if want_values else 0
        raw, flat = flats
        for r in range(rows):
            for j in range(self.ncols):
                if j == label_idx:
                    assert cells is not None
                    _labels(cells[r : r + 1], self.names, _at_row(where, r), j, self.name)
                elif width:
                    k = r * width + j - (label_idx is not None and j > label_idx)
                    if not _is_number(flat[k]):
                        raise _not_a_number(self.name, where(r, j), raw[k])

    def _labels(self, cells: list[str], where: Callable[[int, int], str]) -> np.ndarray:
        assert self.label_idx is not None
        return _labels(cells, self.names, where, self.label_idx, self.name)


def _not_a_number(name: str, where: str, cell: str) -> CeLossError:
    what = (
        "an empty cell; expected a number"
        if not cell.strip()
        else f"{show(cell.strip())} is not a number"
    )
    return error_at(name, where, what, value=cell.strip(), expected="a number")


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
        if j is None and s.lower() in dialect.BOOLEANS:
            out[r] = dialect.BOOLEANS[s.lower()]  # True/False labels of a binary loss
            continue
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
