"""The value of ``--weight`` or ``--pos-weight``: numbers separated by commas, or a file."""

from __future__ import annotations

import os

import numpy as np

from ..errors import CeLossError
from .jsonfile import read_json
from .messages import file_error
from .npy import read_npy
from .request import Request
from .source import EXTENSIONS, KIND, Source, detect_format
from .table import read_table


def read_vector(spec: str, option: str) -> np.ndarray:
    """The numbers of ``--weight``/``--pos-weight``: ``"0.6,0.38"`` or a file holding them.

    Files: ``.npy`` or ``.json`` (any shape), ``.csv``/``.tsv``/``.txt`` (one row or one
    column). Returns a float64 array of at least one dimension. Errors start with ``option``:
    ``--weight: '0.6,x' item 2 'x' is not a number``.

    >>> read_vector("0.6, 0.38", "--weight").tolist()
    [0.6, 0.38]
    """
    if not isinstance(spec, str):
        try:
            return np.atleast_1d(np.asarray(spec, dtype=np.float64))
        except (TypeError, ValueError):
            raise _error(option, f"{spec!r} is not a list of numbers") from None
    s = spec.strip()
    if not s:
        raise _error(
            option, "no value; expected numbers separated by commas (e.g. 0.6,0.38) or a file"
        )
    items = s.split(",")
    values, bad = _numbers(items)
    if bad is None:
        return np.array(values, dtype=np.float64)
    if os.path.exists(spec):
        try:
            return _vector_file(spec)
        except CeLossError as e:
            raise _error(option, e.message, e.hint) from None
    ext = os.path.splitext(s)[1].lower()
    if "/" in s or os.sep in s or ext in EXTENSIONS:
        raise _error(option, f"no such file {spec!r}")
    if len(items) == 1:
        raise _error(
            option,
            f"{s!r} is not a number, and no file has that name; expected "
            "numbers separated by commas or a file",
        )
    i, item = bad
    what = "is empty" if not item else f"{item!r} is not a number"
    raise _error(option, f"{s!r} item {i} {what}")


def _numbers(items: list[str]) -> tuple[list[float], tuple[int, str] | None]:
    """(the numbers, None), or (those before it, (1-based place, text) of the first non-number)."""
    values = []
    for i, item in enumerate(items, 1):
        try:
            values.append(float(item))
        except ValueError:
            return values, (i, item.strip())
    return values, None


def _error(option: str, what: str, hint: str | None = None) -> CeLossError:
    """``--weight: what``: the option as given starts the message."""
    return CeLossError(f"{option}: {what}", hint=hint)


def _vector_file(path: str) -> np.ndarray:
    src = Source(path)
    fmt = detect_format(src, None)
    req = Request(role="vector", lazy=False)
    arr: np.ndarray | None
    if fmt == "npy":
        arr = read_npy(src, lazy=False)
    elif fmt in ("csv", "tsv"):
        arr = read_table(src, fmt, req).pred
        if arr is not None and arr.ndim == 2:
            if arr.shape[0] > 1 and arr.shape[1] > 1:
                raise file_error(
                    path,
                    f"has {arr.shape[0]} rows of {arr.shape[1]} numbers; "
                    "expected one row or one column",
                )
            arr = arr.ravel()
    elif fmt == "json":
        arr = read_json(src, fmt, req).pred
    else:
        raise file_error(path, f"is {KIND[fmt]}; expected .npy, .csv, .txt or .json")
    return np.atleast_1d(np.asarray(arr, dtype=np.float64))
