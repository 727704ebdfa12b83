"""Files and standard input to NumPy arrays: the only part of ce-loss that reads data.

Formats: ``.npy`` and ``.npz`` (NumPy), ``.safetensors``, ``.csv``, ``.tsv`` and ``.txt``
(tables of numbers), ``.json`` and ``.jsonl``/``.ndjson``, Parquet and Feather; PRED and TARGET
may each be shards (a glob, or a comma-separated list of files) read as one. :func:`load` reads
the predictions and targets of one run and returns a :class:`Loaded`; :func:`read_vector` reads
the value of ``--weight`` or ``--pos-weight``; :func:`open_rows` opens one ``.npy`` file to be
read by rows (:func:`open_npy` maps it).

Nothing is ever unpickled (an object array is refused from its header, before its data is
read), nothing is evaluated, and files are only opened for reading. Every failure is a
:class:`~ce_cli.errors.CeLossError` about the file (``file``, "<stdin>" for standard input) and
the place in it (``position``), rendered::

    logits.csv line 7, column 3 ('bird'): 'abc' is not a number

One module per job: ``source`` (paths, stdin, format sniffing, text), ``npy``, ``npz``,
``safetensors_file``, ``bfloat16`` (bfloat16 widened to float32), ``shards`` (several files as
one), ``table`` (CSV/TSV), ``jsonfile`` (JSON/JSONL), ``keys`` (which array or column holds
what, and the class-name lookup), ``vector`` (--weight values). Nothing here prints; csv, json
and zipfile are imported when a file needs them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from ..errors import CeLossError
from ..settings import ReadSettings
from . import shards
from .bfloat16 import as_bfloat16, check_pred_dtype, read_npy_bits
from .compressed import decompressed
from .keys import CLASS_NAME_KEYS, LABEL_COLUMNS, PRED_KEYS, TARGET_KEYS, class_names
from .messages import file_error
from .npy import MAX_NPY_HEADER, open_npy, open_rows, read_npy
from .request import NPZ_BLOCK_BYTES, TEXT_PIECE, Part, Request
from .rows import Rows
from .source import FORMATS, KIND, STDIN_NAME, Source, check_format, detect_format, nonempty_stdin

__all__ = [
    "CLASS_NAME_KEYS",
    "FORMATS",
    "LABEL_COLUMNS",
    "MAX_DIMS",
    "MAX_NPY_HEADER",
    "NPZ_BLOCK_BYTES",
    "PRED_KEYS",
    "STDIN_NAME",
    "TARGET_KEYS",
    "TEXT_PIECE",
    "Loaded",
    "load",
    "Rows",
    "open_npy",
    "open_rows",
    "read_vector",
]


@dataclass(eq=False)
class Loaded:
    """The arrays of one run and where they came from.

    ``pred`` holds numbers (float64 from text formats; the stored dtype from ``.npy`` and
    ``.npz``, a big one as a :class:`~ce_cli.readers.rows.Rows` read by rows on demand);
    ``target`` is ``None`` when no target was found; the names are
    the paths as given or ``"<stdin>"``; ``class_names`` comes from a table's header or a
    ``classes`` entry; ``pred_format`` is the format the predictions were read as;
    ``warnings`` say how a file was read when that may not be what was meant (a row index
    skipped).
    """

    pred: np.ndarray | Rows
    target: np.ndarray | Rows | None
    pred_name: str
    target_name: str | None
    class_names: list[str] | None
    pred_format: str
    warnings: list[str] = field(default_factory=list)


def _read_npy_part(src: Source, fmt: str, req: Request) -> Part:
    try:
        arr = read_npy(src, req.lazy)
    except CeLossError as e:
        # NumPy saves ml_dtypes.bfloat16 as a 2-byte void: say how to read it as numbers
        if req.role == "pred" and e.value in ("|V2", "V2") and e.hint is None:
            e.hint = "if these are bfloat16 values (ml_dtypes), give --pred-dtype bfloat16"
        raise
    return Part(target=arr) if req.role == "target" else Part(pred=arr)


# The reader of each format, imported when a file of it is read (start-up is a feature: a run
# on .npy files never loads the table, JSON, Arrow or safetensors code).
_READERS = {
    "npz": ("npz", "read_npz"),
    "csv": ("table", "read_table"),
    "tsv": ("table", "read_table"),
    "json": ("jsonfile", "read_json"),
    "jsonl": ("jsonfile", "read_jsonl"),
    "parquet": ("arrow", "read_arrow"),
    "feather": ("arrow", "read_arrow"),
    "safetensors": ("safetensors_file", "read_safetensors"),
}


def __getattr__(name: str):
    if name == "MAX_DIMS":  # the JSON reader's limit, without importing it at start-up
        from .jsonfile import MAX_DIMS

        return MAX_DIMS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _reader(fmt: str):
    """The function that reads a file of ``fmt``."""
    if fmt == "npy":
        return _read_npy_part
    module, name = _READERS[fmt]
    return getattr(importlib.import_module(f".{module}", __name__), name)


def read_vector(spec, option: str) -> np.ndarray:
    """The numbers of ``--weight``/``--pos-weight``: ``"0.6,0.38"`` or a file holding them
    (see :func:`ce_cli.readers.vector.read_vector`)."""
    from .vector import read_vector as read

    return read(spec, option)


# Formats whose predictions --pred-dtype bfloat16 can reinterpret (their raw 2-byte values).
_BF16_FORMATS = ("npy", "safetensors")


def load(
    pred: str,
    target: str | None = None,
    settings: ReadSettings | None = None,
    *,
    stdin=None,
    lazy: bool = True,
) -> Loaded:
    """Read the predictions, and the targets, of one run.

    ``pred`` and ``target`` are paths, or ``"-"`` for standard input (``stdin``, by default
    ``sys.stdin.buffer``; at most one of them). ``settings`` (a
    :class:`~ce_cli.settings.ReadSettings`) says how: formats come from the file's magic bytes,
    else ``pred_format``/``target_format``, else the extension, else the content. Without
    ``target`` the targets come from the prediction file itself: the ``target_key`` array (or
    one named ``labels``, ``targets``, ...) of an .npz or JSON object, or the ``target_column``
    (a header name or 0-based index; by default a column named ``label``, ``target``, ``y``,
    ...) of a table. With ``target``, ``target_key``/``target_column`` select within that file.

    ``lazy``: a big ``.npy`` file or ``.npz`` member is read by rows on demand (``a[i:j]``)
    rather than whole. What is not a regular file is read whole, at most
    ``settings.max_input_bytes`` bytes of it.

    Returns a :class:`Loaded`; ``target`` is ``None`` when the file holds no targets.
    Raises :class:`CeLossError` for anything it cannot read.

    >>> import io, numpy as np
    >>> r = load("-", stdin=io.BytesIO(b"a,b,label\\n1,2,b\\n3,4,a\\n"))
    >>> r.pred.shape, r.target.tolist(), r.class_names
    ((2, 2), [1, 0], ['a', 'b'])
    """
    s = settings if settings is not None else ReadSettings()
    pf, tf = _check_settings(s, pred, target)
    pred_name, fmt, part = _read_pred_shards(pred, target is None, s, (pf, stdin, lazy))
    target_arr, target_name = part.target, (pred_name if part.target is not None else None)
    notes = list(part.notes)
    if target is not None:
        try:
            tpart, target_name = _read_target_shards(target, part.class_names, s, (tf, stdin, lazy))
            shards.check_rows(part.pred, tpart.target, (pred, target))
        except CeLossError:
            _bad_cell_first(part.pred)
            raise
        target_arr = tpart.target
        notes += tpart.notes
    assert part.pred is not None  # every reader gives the predictions file's predictions
    return Loaded(
        pred=part.pred,
        target=target_arr,
        pred_name=pred_name,
        target_name=target_name,
        class_names=part.class_names,
        pred_format=fmt,
        warnings=notes,
    )


def _bad_cell_first(pred) -> None:
    """A bad cell in a table of predictions parsed as it streams is reported before what is
    wrong with the targets, as when the table was read whole first."""
    if getattr(pred, "one_pass", False):
        pred.finish()


def _check_settings(s: ReadSettings, pred: str, target: str | None) -> tuple:
    """The read settings that cannot work, said before any file is opened; the two formats."""
    _check_limit(s.max_input_bytes)
    pf = check_format(s.pred_format, "pred_format")
    tf = check_format(s.target_format, "target_format")
    if pred == "-" and target == "-":
        raise file_error(
            STDIN_NAME,
            "the predictions and the targets cannot both come from "
            "standard input; expected one of them as a file",
        )
    check_pred_dtype(s.pred_dtype)
    return pf, tf


def _check_limit(limit) -> None:
    if limit is not None and (type(limit) is not int or limit < 1):
        raise CeLossError(
            f"must be a whole number of bytes, at least 1; got {limit!r}",
            input="max_input_bytes",
            value=limit,
            expected="at least 1",
        )


def _read_pred_shards(pred: str, own: bool, s: ReadSettings, how: tuple):
    """PRED's name, format and part: of one file, or its shards joined (named as given)."""
    files = shards.expand(pred)
    if files is None:
        psrc, fmt, part = _read_pred(pred, own, s, how)
        return psrc.name, fmt, part
    read = [_read_pred(f, own, s, how) for f in files]
    names = [src.name for src, _, _ in read]
    parts = [p for _, _, p in read]
    # a Concat slices rows like an array; Part is typed for arrays
    joined = Part(class_names=parts[0].class_names)
    joined.notes = [note for p in parts for note in p.notes]
    joined.pred = cast(Any, shards.concat([p.pred for p in parts], names, pred))
    with_targets = [p.target is not None for p in parts]
    if all(with_targets):
        joined.target = cast(Any, shards.concat([p.target for p in parts], names, pred))
    elif any(with_targets):
        lacking = names[with_targets.index(False)]
        raise file_error(
            lacking, f"holds no targets but other shards of {pred} do; expected all or none"
        )
    return pred, read[0][1], joined


def _read_target_shards(target: str, names, s: ReadSettings, how: tuple):
    """TARGET's part and name: of one file, or its shards joined (named as given)."""
    files = shards.expand(target)
    if files is None:
        return _read_target(target, names, s, how)
    read = [_read_target(f, names, s, how) for f in files]
    joined = Part(
        target=cast(Any, shards.concat([p.target for p, _ in read], [n for _, n in read], target))
    )
    joined.notes = [note for p, _ in read for note in p.notes]
    return joined, target


def _read_pred(pred: str, own: bool, s: ReadSettings, how: tuple):
    """PRED's source, format and part; ``own``: its targets come from the same file."""
    given, stdin, lazy = how
    psrc, fmt = _open(pred, stdin, given, s, key=s.pred_key, option="pred key", own=own)
    if s.pred_dtype is not None:
        return psrc, fmt, _read_bf16(psrc, fmt, own, s, lazy)
    request = Request(
        role="pred",
        pred_key=s.pred_key,
        target_key=s.target_key if own else None,
        target_column=s.target_column if own else None,
        own_target=own,
        lazy=lazy,
        read=s,
    )
    request.piece, request.block_bytes = TEXT_PIECE, NPZ_BLOCK_BYTES
    return psrc, fmt, _reader(fmt)(psrc, fmt, request)


def _read_bf16(src: Source, fmt: str, own: bool, s: ReadSettings, mmap: bool) -> Part:
    """PRED's part with its predictions' 2-byte values read as bfloat16 (--pred-dtype)."""
    if fmt not in _BF16_FORMATS:
        raise file_error(
            src.name,
            f"is {KIND[fmt]}, which holds no raw 2-byte values; --pred-dtype bfloat16 "
            "applies to .npy and .safetensors files",
        )
    if fmt == "npy":
        return Part(pred=as_bfloat16(read_npy_bits(src, mmap), src.name))
    request = Request(
        role="pred", pred_key=s.pred_key, target_key=s.target_key if own else None, own_target=own
    )
    from .safetensors_file import read_safetensors

    part = read_safetensors(src, fmt, request)
    part.pred = as_bfloat16(part.pred, src.name)
    return part


def _read_target(target: str, names, s: ReadSettings, how: tuple):
    """TARGET's part and name; string labels are looked up in PRED's class ``names``."""
    given, stdin, lazy = how
    tsrc, tfmt = _open(target, stdin, given, s, key=None, option="", own=True)
    request = Request(
        role="target",
        target_key=s.target_key,
        target_column=s.target_column,
        names=class_names(names),
        lazy=lazy,
        read=s,
    )
    request.piece, request.block_bytes = TEXT_PIECE, NPZ_BLOCK_BYTES
    return _reader(tfmt)(tsrc, tfmt, request), tsrc.name


def _open(
    spec: str, stdin, given: str | None, s: ReadSettings, *, key: str | None, option: str, own: bool
) -> tuple[Source, str]:
    """The source and format of one input, after checking the options apply to its format.

    ``key``/``option``: the predictions' key, checked first; ``own``: whether the target key
    and column select in this file.
    """
    src = Source(spec, stdin, s.max_input_bytes)
    nonempty_stdin(src)
    src = decompressed(src)
    fmt = detect_format(src, given)
    if key is not None:
        _check_applies(src.name, fmt, key=key, key_option=option)
    if own:
        _check_applies(
            src.name, fmt, key=s.target_key, key_option="target key", column=s.target_column
        )
    return src, fmt


def _check_applies(
    name: str,
    fmt: str,
    *,
    key: str | None = None,
    key_option: str = "",
    column: str | int | None = None,
) -> None:
    if key is not None and fmt not in ("npz", "json", "jsonl", "parquet", "feather", "safetensors"):
        raise file_error(
            name,
            f"is {KIND[fmt]}, which has no named arrays; "
            f"the {key_option} applies to .npz, .safetensors, .json and .jsonl files",
        )
    if column is not None and fmt not in ("csv", "tsv"):
        raise file_error(
            name,
            f"is {KIND[fmt]}, which has no columns; the target column applies to CSV and TSV files",
        )
