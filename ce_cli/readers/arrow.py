"""Parquet and Feather/Arrow IPC files (``.parquet``, ``.feather``, ``.arrow``) via pyarrow, read
a row group or record batch at a time (``pip install 'ce-loss[arrow]'``).

The predictions are one list (or fixed-size list) column, as Hugging Face ``datasets`` writes
them, or one numeric column per class; the targets an integer, boolean or string (class name)
column. Columns are chosen by ``--pred-key``/``--target-key``, else by the conventional names
(``logits``, ``label``, ...); without a conventional predictions column, every numeric column
but the targets is a class, named by its column.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator

import numpy as np

from ..errors import CeLossError
from .keys import ClassNames, select
from .messages import file_error
from .request import Part, Request
from .source import KIND, Source

# A Parquet or Arrow IPC file's predictions of at least this many bytes are streamed into the
# engine, this many rows a batch; smaller ones are read whole.
STREAM_BYTES = 1 << 23
BATCH_ROWS = 1 << 13
PARQUET_MAGIC = b"PAR1"
ARROW_MAGIC = b"ARROW1"


def _pyarrow(name: str):
    try:
        import pyarrow as pa
    except ImportError:
        raise file_error(
            name,
            "is a Parquet or Arrow file, and pyarrow is not installed",
            hint="pip install 'ce-loss[arrow]'",
        ) from None
    return pa


def _batches(src: Source, fmt: str, rows: int = 65536) -> tuple[object, Iterator, int | None]:
    """(schema, record batches, rows when the file says) of the file, one row group or IPC
    batch at a time (at most ``rows`` rows a batch from a Parquet file)."""
    pa = _pyarrow(src.name)
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            pf = pq.ParquetFile(src.open())
            return pf.schema_arrow, pf.iter_batches(batch_size=rows), pf.metadata.num_rows
        import pyarrow.ipc as ipc

        f = src.open()
        if src.head(6) == ARROW_MAGIC:
            r = ipc.open_file(f)
            batches = (r.get_batch(i) for i in range(r.num_record_batches))
            return r.schema, batches, r.count_rows()  # (from the batches' headers alone)
        s = ipc.open_stream(f)
        return s.schema, iter(s), None
    except (pa.ArrowException, OSError, ValueError) as e:
        raise _damaged(src.name, fmt, e) from None


def _damaged(name: str, fmt: str, e: Exception) -> CeLossError:
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return file_error(name, f"cannot be read as {KIND[fmt]} ({first})")


def read_arrow(src: Source, fmt: str, req: Request) -> Part:
    """The predictions and/or targets of a Parquet or Feather/Arrow IPC file."""
    pa = _pyarrow(src.name)
    schema, batches, total = _batches(src, fmt)
    columns = list(schema.names)  # type: ignore[attr-defined]
    numeric = [c for c in columns if _numeric(pa, schema.field(c).type)]  # type: ignore[attr-defined]
    part = Part()
    pcols, tk = _choose(columns, numeric, src.name, req)
    names = req.names
    if pcols is not None and len(pcols) > 1:
        part.class_names = list(pcols)
        names = ClassNames(pcols)
    streamed = _streamed(src, fmt, req, (pcols, tk, names), total)
    if streamed is not None:
        part.pred, part.target = streamed
        return part
    preds, targets = _Rows(total, src.name), _Rows(total, src.name)
    try:
        for b in batches:
            # an IPC file's buffers are taken as they are: damaged offsets would be read out
            # of bounds (a crash, not an error) unless checked first
            b.validate(full=True)
            if pcols is not None:
                preds.add(_values(pa, b, pcols, src.name))
            if tk is not None:
                targets.add(_targets(pa, b.column(tk), names, src.name, tk))
    except CeLossError:
        raise
    except (pa.ArrowException, OSError, ValueError, IndexError, KeyError) as e:
        raise _damaged(src.name, fmt, e) from None
    if pcols is not None:
        part.pred = preds.array()
    if tk is not None:
        part.target = targets.array()
    return part


def _streamed(src: Source, fmt: str, req: Request, cols: tuple, total: int | None):
    """(predictions, targets or None) of a big Parquet or Arrow IPC file, parsed a batch at a
    time as the engine asks for rows (:mod:`ce_cli.readers.tablestream`), or None to read it
    whole: an IPC stream (it does not say its rows), small, or targets that are not one a row."""
    pcols, tk, _ = cols
    if req.role != "pred" or not req.lazy or not src.unread:
        return None
    if pcols is None or not total or os.stat(src.name).st_size < STREAM_BYTES:
        return None
    from .tablestream import TableLabels, TablePass, TableValues

    probe = _stream_blocks(src, fmt, cols, total)
    try:
        values, targets = next(b for b in probe if len(b[0]))
    except (CeLossError, StopIteration):
        return None  # read whole, which says what is wrong
    finally:
        probe.close()
    if values.shape[1] < 1 or (targets is not None and targets.ndim != 1):
        return None
    tp = TablePass(src.name, total, values.shape[1], lambda: _stream_blocks(src, fmt, cols, total))
    tp.first()
    return TableValues(tp), (None if tk is None else TableLabels(tp))


def _stream_blocks(src: Source, fmt: str, cols: tuple, total: int) -> Generator[tuple]:
    """(values (rows, columns), targets or None) of each batch, checked as :func:`read_arrow`
    checks them, in the same order: the same message for the same file."""
    pa = _pyarrow(src.name)
    pcols, tk, names = cols
    preds, targets = _Rows(total, src.name, keep=False), _Rows(total, src.name, keep=False)
    _, batches, _ = _batches(src, fmt, BATCH_ROWS)
    try:
        for b in batches:
            b.validate(full=True)
            values = _values(pa, b, pcols, src.name)
            preds.add(values)
            t = None
            if tk is not None:
                t = _targets(pa, b.column(tk), names, src.name, tk)
                targets.add(t)
            yield values.reshape(len(values), -1), t
    except CeLossError:
        raise
    except (pa.ArrowException, OSError, ValueError, IndexError, KeyError) as e:
        raise _damaged(src.name, fmt, e) from None
    preds.array()
    if tk is not None:
        targets.array()


def _numeric(pa, t) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t)


def _choose(columns: list[str], numeric: list[str], name: str, req: Request):
    """(prediction columns or None, target column or None): a key's column, else one numeric
    column per class when no column has a conventional predictions name."""
    from .keys import PRED_KEYS

    per_class = (
        req.role == "pred"
        and req.pred_key is None
        and not any(k in columns for k in PRED_KEYS)
        and len(numeric) > 1
    )
    if per_class:
        tk = _target_only(columns, req)
        return [c for c in numeric if c != tk], tk
    pk, tk = select(columns, columns, name, "column", req)
    return ([pk] if pk is not None else None), tk


def _target_only(columns: list[str], req: Request) -> str | None:
    from .keys import TARGET_KEYS

    if req.target_key is not None:
        return req.target_key
    if not req.own_target:
        return None
    return next((k for k in TARGET_KEYS if k in columns), None)


def _values(pa, batch, cols: list[str], name: str) -> np.ndarray:
    if len(cols) == 1:
        col = batch.column(cols[0])
        t = col.type
        if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
            return _list_values(col, name, cols[0])
        return _floats(col, name, cols[0])
    out = np.empty((batch.num_rows, len(cols)), dtype=np.float64)
    for j, c in enumerate(cols):
        out[:, j] = _floats(batch.column(c), name, c)
    return out


def _floats(col, name: str, key: str) -> np.ndarray:
    if col.null_count:
        raise file_error(name, f"column {key!r} has {col.null_count} missing values")
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)


def _list_values(col, name: str, key: str) -> np.ndarray:
    if col.null_count:
        raise file_error(name, f"column {key!r} has {col.null_count} missing rows")
    n = len(col)
    flat = col.flatten()
    if not n:
        return np.empty((0, 0))
    if len(flat) % n or any(len(v) != len(flat) // n for v in _lengths(col)):
        raise file_error(name, f"column {key!r} holds lists of different lengths")
    return _floats(flat, name, key).reshape(n, len(flat) // n)


def _lengths(col):
    import pyarrow.compute as pc

    lengths = pc.list_value_length(col).to_numpy(zero_copy_only=False)
    return [range(int(k)) for k in np.unique(lengths)]


def _targets(pa, col, names: ClassNames | None, name: str, key: str) -> np.ndarray:
    t = col.type
    if col.null_count:
        raise file_error(name, f"column {key!r} has {col.null_count} missing targets")
    if pa.types.is_boolean(t):
        return np.asarray(col.to_pylist(), dtype=np.float64)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t):
        if names is None:
            raise file_error(
                name,
                f"column {key!r} holds class names, and no class names are known",
                hint="name the classes by one prediction column each",
            )
        out = []
        for s in col.to_pylist():
            j = names.index(str(s))
            if j is None:
                raise file_error(
                    name,
                    f"column {key!r}: {str(s)!r} is not a class name; expected one of "
                    f"{names.listing()}",
                )
            out.append(j)
        return np.asarray(out, dtype=np.int64)
    if pa.types.is_integer(t):
        return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.int64)
    if pa.types.is_list(t) or pa.types.is_fixed_size_list(t) or pa.types.is_large_list(t):
        return _list_values(col, name, key)
    return _floats(col, name, key)


class _Rows:
    """The batches' arrays joined: into one array allocated once when the file says how many
    rows it has (Parquet), else concatenated at the end."""

    def __init__(self, total: int | None, name: str, keep: bool = True):
        self.total, self.name, self.keep = total, name, keep
        self.parts: list[np.ndarray] = []
        self.out: np.ndarray | None = None
        self.n = 0

    def add(self, a: np.ndarray) -> None:
        if self.parts and a.shape[1:] != self.parts[0].shape[1:]:
            raise file_error(self.name, "holds lists of different lengths")
        if self.total is None or (self.out is None and self.parts):
            self.parts.append(a)
            return
        if self.out is None:
            # without keep (the rows streamed): checked as they would be, not kept
            self.out = np.empty(((self.total if self.keep else 0),) + a.shape[1:], dtype=a.dtype)
            self.parts.append(a[:0])  # the shape and dtype to compare with
        if self.n + len(a) > self.total or a.dtype != self.out.dtype:
            raise file_error(self.name, "holds more rows, or other types, than its metadata says")
        if self.keep:
            self.out[self.n : self.n + len(a)] = a
        self.n += len(a)

    def array(self) -> np.ndarray:
        if self.out is not None:
            if self.n != self.total:
                raise file_error(self.name, "holds fewer rows than its metadata says")
            return self.out
        if not self.parts:
            raise file_error(self.name, "holds no rows")
        return np.concatenate(self.parts) if len(self.parts) > 1 else self.parts[0]
