"""Per-block value checks: the first value of a block that a loss cannot take, named and placed.

Shapes and options are checked once (:mod:`ce_cli.core.plan`); values are checked block by block,
rows counted from the start of the whole array, so an error names the same position whatever the
block size or the number of threads.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import CeLossError
from .problem import Problem


def as_numeric(a, role: str):
    """``a`` as an array of real numbers (booleans become float64); CeLossError otherwise.

    An array read by rows on demand (``by_rows``: ``shape``, ``dtype`` and ``a[i:j]``, see
    :mod:`ce_cli.readers.rows`) is kept as it is, not read whole.
    """
    arr = a if getattr(a, "by_rows", False) else np.asarray(a)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise CeLossError(
            f"has dtype {arr.dtype}; expected real numbers (float or integer)",
            input=role,
            value=str(arr.dtype),
            expected="real numbers",
        )
    if arr.dtype.kind == "b":
        arr = np.asarray(arr).astype(np.float64)
    return arr


def first_position(mask: np.ndarray, offset: int = 0) -> tuple:
    """The index of the first True of ``mask``, its row counted from ``offset``."""
    if not mask.ndim:
        return ()
    idx = [int(i) for i in np.unravel_index(int(np.argmax(mask)), mask.shape)]
    idx[0] += offset
    return tuple(idx)


def fmt(v) -> str:
    """A value as a message shows it: whole numbers without a fraction, others by repr."""
    v = float(v)
    # isfinite first: int() of NaN or inf raises, which turned these messages into a crash
    if math.isfinite(v) and abs(v) < 1e15 and v == int(v):
        return str(int(v))
    return repr(v)


def _bad(
    role: str,
    mask: np.ndarray,
    offset: int,
    what: str,
    expected: str | None = None,
    values: np.ndarray | None = None,
    hint: str | None = None,
) -> CeLossError:
    value = None if values is None else float(values[mask][0])
    return CeLossError(
        what,
        input=role,
        position=first_position(mask, offset),
        value=value,
        expected=expected,
        hint=hint,
    )


def check_block(p: Problem, x: np.ndarray, t: np.ndarray, offset: int) -> None:
    """Raise CeLossError for the first value of a block that the loss cannot take."""
    _check_input(p, x, offset)
    if p.soft:
        _check_soft_target(p, t, offset)
    else:
        _check_index_target(p, t, offset)


def _check_input(p: Problem, x: np.ndarray, offset: int) -> None:
    nan = np.isnan(x)
    if nan.any():
        raise _bad("input", nan, offset, "is NaN")
    if p.input_kind == "probs":
        bad = (x < 0) | (x > 1)
        if bad.any():
            v = fmt(x[bad][0])
            raise _bad(
                "input",
                bad,
                offset,
                f"is {v}; expected probabilities between 0 and 1",
                "probabilities between 0 and 1",
                x,
            )
    elif p.loss == "bce-logits":
        bad = np.isinf(x)
        if bad.any():
            raise _bad(
                "input",
                bad,
                offset,
                f"is {fmt(x[bad][0])}; expected finite logits",
                "finite logits",
                x,
            )
    else:
        bad = x == np.inf
        if bad.any():
            raise _bad(
                "input",
                bad,
                offset,
                f"is inf; expected finite {p.input_kind}",
                f"finite {p.input_kind}",
                x,
            )
        if p.input_kind == "logits":
            dead = np.all(x == -np.inf, axis=1)
            if dead.any():
                raise _bad(
                    "input", dead, offset, ": every class logit is -inf; the softmax is undefined"
                )


def _check_soft_target(p: Problem, t: np.ndarray, offset: int) -> None:
    bad = ~np.isfinite(t)
    if bad.any():
        raise _bad(
            "target",
            bad,
            offset,
            f"is {fmt(t[bad][0])}; expected finite probabilities",
            "finite probabilities",
            t,
        )
    if p.categorical and t.dtype.kind in "iu":
        _check_one_hot(t, offset)
    if not p.categorical:
        bad = (t < 0) | (t > 1)
        if bad.any():
            raise _bad(
                "target",
                bad,
                offset,
                f"is {fmt(t[bad][0])}; {p.loss} expects targets between 0 and 1",
                "targets between 0 and 1",
                t,
            )


def _check_one_hot(t: np.ndarray, offset: int) -> None:
    """Integer targets of the input's shape are one-hot rows or nothing: torch refuses integer
    targets of that shape, and anything else (``[2, 0, 0]``, ``[-1, 1, 0]``) gives a loss that
    means nothing."""
    bad = ~(((t == 0) | (t == 1)).all(axis=1) & (t.sum(axis=1) == 1))
    if not bad.any():
        return
    pos = first_position(bad, offset)
    row = t[(pos[0] - offset, slice(None)) + pos[1:]]
    shown = "[" + ", ".join(str(int(v)) for v in row[:8]) + (", ..." if row.size > 8 else "") + "]"
    raise CeLossError(
        f"is {shown}: integer targets of {{the_input_shape}} must be one-hot (one 1, the "
        "rest 0); give class indices, or probabilities as floats",
        input="target",
        position=pos,
        value=shown,
        expected="a one-hot row",
    )


def _check_index_target(p: Problem, t: np.ndarray, offset: int) -> None:
    c = p.n_classes or 0
    if t.dtype.kind == "f":
        frac = ~np.isfinite(t) | (t != np.round(t))
        if frac.any():
            raise _bad(
                "target",
                frac,
                offset,
                f"is {fmt(t[frac][0])}; expected a whole class index in 0..{c - 1}",
                f"a whole class index in 0..{c - 1}",
                t,
            )
    bad = ((t < 0) | (t >= c)) & (t != p.ignore_index)
    if not bad.any():
        return
    v = t[bad][0]
    shown = fmt(v)
    hint = None
    if v == c and t.min() >= 1:
        hint = "the labels look 1-based; subtract 1 so they run from 0"
    elif v < 0 and shown.startswith("-") and shown[1:].isdigit():
        hint = f"if {shown} marks targets to skip, pass {{ignore_index}} {shown}"
    what = f"is class {shown}, outside 0..{c - 1} ({c} classes)"
    if v < 0:
        what += f"; ignore_index is {p.ignore_index}"
    raise _bad("target", bad, offset, what, f"a class in 0..{c - 1}", t, hint)
