"""How ce-loss writes numbers: shortest round-trip text, short forms, JSON-safe values."""

from __future__ import annotations

import math

import numpy as np


def fnum(v) -> str:
    """A float as the shortest text that reads back to the same float; nan, inf, -inf."""
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return repr(v)


def short(v, digits: int = 6) -> str:
    v = float(v)
    if math.isnan(v) or math.isinf(v):
        return fnum(v)
    return f"{v:.{digits}g}"


def _jsonable(a):
    """An array as nested lists; non-finite values as the strings "nan", "inf", "-inf"."""
    arr = np.asarray(a, dtype=np.float64)
    finite = np.isfinite(arr)
    if finite.all():
        return arr.tolist()
    obj = arr.astype(object)
    obj[np.isnan(arr)] = "nan"
    obj[arr == np.inf] = "inf"
    obj[arr == -np.inf] = "-inf"
    return obj.tolist()


def _jnum(v):
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else fnum(v)


def jsonable(a):
    """An array as nested lists; non-finite values as the strings "nan", "inf", "-inf"."""
    arr = np.asarray(a, dtype=np.float64)
    finite = np.isfinite(arr)
    if finite.all():
        return arr.tolist()
    obj = arr.astype(object)
    obj[np.isnan(arr)] = "nan"
    obj[arr == np.inf] = "inf"
    obj[arr == -np.inf] = "-inf"
    return obj.tolist()


def jnum(v):
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else fnum(v)
