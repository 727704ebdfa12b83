"""Files and standard input to NumPy arrays: the only part of ce-loss that reads data.

Formats: ``.npy`` and ``.npz`` (NumPy), ``.csv``, ``.tsv`` and ``.txt`` (tables of numbers),
``.json`` and ``.jsonl``/``.ndjson``. :func:`load` reads the predictions and targets of one run
and returns a :class:`Loaded`; :func:`read_vector` reads the value of ``--weight`` or
``--pos-weight``; :func:`open_rows` opens one ``.npy`` file to be read by rows (:func:`open_npy`
maps it).

Nothing is ever unpickled (an object array is refused from its header, before its data is
read), nothing is evaluated, and files are only opened for reading. Every failure is a
:class:`~ce_cli.errors.CeLossError` about the file (``file``, "<stdin>" for standard input) and
the place in it (``position``), rendered::

    logits.csv line 7, column 3 ('bird'): 'abc' is not a number

One module per job: ``source`` (paths, stdin, format sniffing, text), ``npy``, ``npz``,
``table`` (CSV/TSV), ``jsonfile`` (JSON/JSONL), ``keys`` (which array or column holds what, and
the class-name lookup), ``vector`` (--weight values). Nothing here prints; csv, json and zipfile
are imported when a file needs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import CeLossError
from ..settings import ReadSettings
from .arrow import read_arrow
from .compressed import decompressed
from .jsonfile import MAX_DIMS, read_json, read_jsonl
from .keys import CLASS_NAME_KEYS, LABEL_COLUMNS, PRED_KEYS, TARGET_KEYS, class_names
from .messages import file_error
from .npy import MAX_NPY_HEADER, open_npy, open_rows, read_npy
from .npz import read_npz
from .request import NPZ_BLOCK_BYTES, TEXT_PIECE, Part, Request
from .rows import Rows
from .source import FORMATS, KIND, STDIN_NAME, Source, check_format, detect_format, nonempty_stdin
from .table import read_table
from .vector import read_vector

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


@dataclass
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
    arr = read_npy(src, req.lazy)
    return Part(target=arr) if req.role == "target" else Part(pred=arr)


_READERS = {
    "npy": _read_npy_part,
    "npz": read_npz,
    "csv": read_table,
    "tsv": read_table,
    "json": read_json,
    "jsonl": read_jsonl,
    "parquet": read_arrow,
    "feather": read_arrow,
}


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
    _check_limit(s.max_input_bytes)
    pf = check_format(s.pred_format, "pred_format")
    tf = check_format(s.target_format, "target_format")
    if pred == "-" and target == "-":
        raise file_error(
            STDIN_NAME,
            "the predictions and the targets cannot both come from "
            "standard input; expected one of them as a file",
        )
    psrc, fmt, part = _read_pred(pred, target is None, s, (pf, stdin, lazy))
    target_arr, target_name = part.target, (psrc.name if part.target is not None else None)
    notes = list(part.notes)
    if target is not None:
        tpart, target_name = _read_target(target, part.class_names, s, (tf, stdin, lazy))
        target_arr = tpart.target
        notes += tpart.notes
    assert part.pred is not None  # every reader gives the predictions file's predictions
    return Loaded(
        pred=part.pred,
        target=target_arr,
        pred_name=psrc.name,
        target_name=target_name,
        class_names=part.class_names,
        pred_format=fmt,
        warnings=notes,
    )


def _check_limit(limit) -> None:
    if limit is not None and (type(limit) is not int or limit < 1):
        raise CeLossError(
            f"must be a whole number of bytes, at least 1; got {limit!r}",
            input="max_input_bytes",
            value=limit,
            expected="at least 1",
        )


def _read_pred(pred: str, own: bool, s: ReadSettings, how: tuple):
    """PRED's source, format and part; ``own``: its targets come from the same file."""
    given, stdin, lazy = how
    psrc, fmt = _open(pred, stdin, given, s, key=s.pred_key, option="pred key", own=own)
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
    return psrc, fmt, _READERS[fmt](psrc, fmt, request)


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
    return _READERS[tfmt](tsrc, tfmt, request), tsrc.name


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
    if key is not None and fmt not in ("npz", "json", "jsonl", "parquet", "feather"):
        raise file_error(
            name,
            f"is {KIND[fmt]}, which has no named arrays; "
            f"the {key_option} applies to .npz, .json and .jsonl files",
        )
    if column is not None and fmt not in ("csv", "tsv"):
        raise file_error(
            name,
            f"is {KIND[fmt]}, which has no columns; the target column applies to CSV and TSV files",
        )
