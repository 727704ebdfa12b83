"""CSV and TSV bodies parsed by pyarrow's streaming CSV reader (C++), a block of rows at a time,
when pyarrow is installed (``pip install 'ce-loss[arrow]'``).

Only the body of a plain table takes this path: the header, the dialect and the layout are read
by :mod:`ce_cli.readers.table` first, which also words every error. pyarrow parses decimal text
to the nearest double, as Python's ``float`` does, so the values are the same bit for bit either
way. Whatever pyarrow refuses (a bad cell, a short row, a comment, a blank line with spaces) makes
this path give up, and the precise parser reads the file instead: it finds the first bad cell
with its line, column and text, or reads what Python accepts and pyarrow does not.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .request import Request
    from .source import Source

# Bytes of text pyarrow parses at a time: a block's values are copied out, then freed.
# pyarrow's buffers peak at ~40x a block: ~40 MB at 1 MiB, ~10 MB at 256 KiB (measured on the
# 102 MB table of benchmarks/tables.py), which parses ~5% slower.
BLOCK_BYTES = 1 << 18
# pyarrow's threads read ahead, which parses no faster (its streaming reader parses a block at
# a time: measured, the same CPU and wall time) and holds more blocks.
THREADS = False
_NUL = "\x00"


def available() -> bool:
    """Whether pyarrow's CSV reader can be imported."""
    try:
        import pyarrow.csv  # noqa: F401
    except ImportError:
        return False
    return True


class FastFailed(Exception):
    """pyarrow refused the table: the precise parser reads it again."""


def fast_path(src: Source, table, start: int, req: Request) -> bool:
    """Whether the rows of ``table`` from line ``start`` on are for pyarrow: a regular UTF-8
    file whose rows start right after the header, split by one character, and pyarrow."""
    return (
        src.unread
        and req.read.encoding is None
        and table.delim is not None
        and not table.trailing
        and start <= 2
        and req.role != "vector"
        and src.head(2) not in (b"\xff\xfe", b"\xfe\xff")
        and available()
    )


def line_room(src: Source) -> int:
    """Lines of the file at most, counted in its bytes (``\n``, ``\r\n`` or ``\r`` ends)."""
    newlines = returns = 0
    with src.open() as f:
        while block := f.read(1 << 20):
            newlines += block.count(b"\n")
            returns += block.count(b"\r")
    return max(newlines, returns) + 1


def fast_rows(src: Source, table, start: int, req: Request) -> Iterator[tuple]:
    """The (values, labels) blocks of the rows from line ``start`` on; :class:`FastFailed`
    (possibly after some blocks) when pyarrow refuses the text."""
    try:
        yield from _blocks(src, table, start, req)
    except (ValueError, OSError, ImportError) as e:  # pyarrow's errors derive from these
        raise FastFailed(str(e)) from None
    except Exception as e:
        if type(e).__module__.startswith("pyarrow"):
            raise FastFailed(str(e)) from None
        raise


def _options(table, start: int, want_values: bool):
    import pyarrow as pa
    import pyarrow.csv as pc

    names = [f"c{j}" for j in range(table.full)]
    index = names[: table.off]
    cols = names[table.off :]
    types = {}
    for j, c in enumerate(cols):
        if j == table.label_idx:
            types[c] = pa.string()
        elif want_values:
            types[c] = pa.float64()
    for c in index:
        types[c] = pa.string()
    read = pc.ReadOptions(
        block_size=BLOCK_BYTES, skip_rows=start - 1, column_names=names, use_threads=THREADS
    )
    parse = pc.ParseOptions(delimiter=table.delim, newlines_in_values=False)
    convert = pc.ConvertOptions(
        column_types=types,
        include_columns=list(types),
        null_values=[],
        true_values=[],
        false_values=[],
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        decimal_point="," if table.decimal else ".",
    )
    return read, parse, convert, cols, index


def _blocks(src: Source, table, start: int, req: Request) -> Iterator[tuple]:
    """(values or None, labels or None) per record batch, as :meth:`_Table.parse` gives them."""
    import pyarrow.csv as pc

    want_values = not (req.role == "target" and table.label_idx is not None)
    read, parse, convert, cols, index = _options(table, start, want_values)
    value_cols = [c for j, c in enumerate(cols) if j != table.label_idx]
    label_col = None if table.label_idx is None else cols[table.label_idx]
    # by path: pyarrow reads the file itself (and skips a UTF-8 byte-order mark)
    import pyarrow as pa

    stream = pa.OSFile(src.path)  # read, not mapped: mapped pages would count as memory
    # malloc's pool: pyarrow's default (mimalloc) kept ~6 MB more of the parsed blocks
    reader = pc.open_csv(
        stream,
        read_options=read,
        parse_options=parse,
        convert_options=convert,
        memory_pool=pa.system_memory_pool(),
    )
    for batch in reader:
        for c in index:  # a row index is skipped, but must be text like the rest
            if _has_nul(batch.column(c)):
                raise ValueError("a NUL byte")
        yield _block(batch, value_cols if want_values else [], label_col, table)


def _has_nul(column) -> bool:
    import pyarrow.compute as pcompute

    return bool(pcompute.any(pcompute.match_substring(column, _NUL)).as_py())


def _floats(column) -> np.ndarray:
    """A float64 column with no nulls as a NumPy view of its buffer (``to_numpy`` would import
    pandas, a second of start-up)."""
    if column.null_count:
        raise ValueError("a missing value")
    data = column.buffers()[1]
    return np.frombuffer(data, dtype=np.float64, count=len(column), offset=column.offset * 8)


def _values(batch, value_cols: list[str]) -> np.ndarray:
    """The value columns of a record batch as one C-ordered (rows, columns) float64 array."""
    for c in value_cols:
        if batch.column(c).null_count:
            raise ValueError("a missing value")
    try:  # one copy in C++, three times faster than a column at a time (pyarrow >= 16)
        import pyarrow as pa

        tensor = batch.select(value_cols).to_tensor(
            row_major=True, memory_pool=pa.system_memory_pool()
        )
        return np.asarray(tensor)
    except (AttributeError, TypeError):
        values = np.empty((batch.num_rows, len(value_cols)), dtype=np.float64)
        for j, c in enumerate(value_cols):
            values[:, j] = _floats(batch.column(c))
        return values


def _block(batch, value_cols: list[str], label_col: str | None, table):
    values = _values(batch, value_cols) if value_cols else None
    labels = None
    if label_col is not None:
        cells = batch.column(label_col).to_pylist()
        if _NUL in "".join(cells):
            raise ValueError("a NUL byte")
        if table.decimal:
            cells = [c.replace(",", ".") for c in cells]
        labels = table._labels(cells, lambda r, col: "")
    return values, labels
