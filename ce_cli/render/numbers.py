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


# A column in fixed notation shows at most this many decimals; past it, scientific.
MAX_DECIMALS = 8


def column(values, digits: int) -> list[str]:
    """One formatting rule for a table column: decimal points aligned, ``digits`` significant.

    Fixed notation with the same number of decimals in every cell (enough for the smallest
    non-zero magnitude to keep ``digits`` digits), or, when that needs more than
    :data:`MAX_DECIMALS` decimals or the largest value has more than 7 integer digits,
    scientific notation with the same exponent width in every cell. nan and inf as words.
    """
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    finite = v[np.isfinite(v)]
    mags = np.abs(finite[finite != 0])
    if not mags.size:
        return [fnum(x) if not math.isfinite(x) else f"{x:.{digits - 1}f}" for x in v]
    lo, hi = float(mags.min()), float(mags.max())
    decimals = max(0, digits - 1 - math.floor(math.log10(lo)))
    if decimals <= MAX_DECIMALS and hi < 1e7:
        return [f"{x:.{decimals}f}" if math.isfinite(x) else fnum(x) for x in v]
    cells = [f"{x:.{digits - 1}e}" if math.isfinite(x) else fnum(x) for x in v]
    width = max(len(c.split("e")[1]) for c in cells if "e" in c)
    return [_exponent_width(c, width) for c in cells]


def _exponent_width(cell: str, width: int) -> str:
    """``1.5e-05`` with its exponent padded to ``width`` characters (sign included)."""
    if "e" not in cell:
        return cell
    mantissa, exp = cell.split("e")
    return f"{mantissa}e{exp[0]}{exp[1:].rjust(width - 1, '0')}"
