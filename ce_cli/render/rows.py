"""The rows of the per-element table: position, target, predicted class, p(target), loss."""

from __future__ import annotations

import math

import numpy as np

from ..report import Report
from .numbers import short

# A table longer than this shows its head and tail and says how much it hides.
MAX_TABLE_ROWS = 20


def _positions(report: Report, flat: np.ndarray) -> list[tuple]:
    shape = report.problem.out_shape
    if not shape:
        return [()]
    return [tuple(int(i) for i in np.unravel_index(int(f), shape)) for f in flat]


def _class_label(report: Report, c: int) -> str:
    names = report.class_names
    if names and 0 <= c < len(names):
        return f"{c} ({names[c]})"
    return str(c)


def _row(a, n: int, shape: tuple) -> np.ndarray:
    """Row ``n`` of ``a`` seen with ``shape``; only that row is read (``a`` may be a big file
    read by rows on demand)."""
    if np.ndim(a) == len(shape):
        return np.asarray(a[n : n + 1]).reshape(shape[1:])
    return np.asarray(a).reshape(shape)[n]  # (C,) as (1, C), () as (1,): one row anyway


def _element(a, f: int, shape: tuple) -> float:
    """Element ``f`` of ``a`` flattened, ``shape`` as the problem sees ``a``."""
    inner = max(1, math.prod(shape[1:]))
    return float(_row(a, int(f) // inner, shape).reshape(-1)[int(f) % inner])


def _row_scores(report: Report, pos: tuple) -> np.ndarray:
    """The class scores of one categorical sample at ``pos`` (an index into out_shape)."""
    x = _row(report.pred, pos[0] if pos else 0, report.problem.input_shape)
    return np.asarray(x[(slice(None),) + tuple(pos[1:])], dtype=np.float64)


def _probabilities(report: Report, scores: np.ndarray) -> np.ndarray:
    kind = report.problem.input_kind
    if kind == "logits":
        z = np.exp(scores - scores.max())
        return z / z.sum()
    if kind == "log-probs":
        return np.exp(scores)
    return scores


def per_element_rows(report: Report, flat: np.ndarray) -> list[dict]:
    """Rows of the per-element table for the given flat positions."""
    p = report.problem
    losses = report.per_element_at(flat)
    t = report.target
    rows = []
    for f, pos, loss in zip(flat, _positions(report, flat), losses, strict=True):
        row = {"index": ",".join(map(str, pos)) if pos else "0", "loss": float(loss)}
        if p.categorical:
            scores = _row_scores(report, pos)
            probs = _probabilities(report, scores)
            row["predicted"] = _class_label(report, int(np.argmax(scores)))
            if p.soft:
                tv = np.asarray(
                    _row(t, pos[0] if pos else 0, p.target_shape)[(slice(None),) + tuple(pos[1:])],
                    dtype=np.float64,
                )
                row["target"] = "soft, top " + _class_label(report, int(np.argmax(tv)))
                row["p_target"] = float(np.dot(tv, probs))
            else:
                tc = int(_element(t, f, p.target_shape)) if np.ndim(t) else int(np.asarray(t))
                if tc == p.ignore_index:
                    row["target"] = "ignored"
                    row["p_target"] = float("nan")
                else:
                    row["target"] = _class_label(report, tc)
                    row["p_target"] = float(probs[tc])
        else:
            x = _element(report.pred, f, p.input_shape)
            row["target"] = short(_element(t, f, p.target_shape))
            row["p_target"] = (
                1.0 / (1.0 + math.exp(-x))
                if p.loss == "bce-logits" and x > -700
                else (0.0 if p.loss == "bce-logits" else x)
            )
        rows.append(row)
    return rows


def head_tail(n: int, limit: int = MAX_TABLE_ROWS) -> tuple[np.ndarray, int]:
    """Indices to show (head and tail) and how many are hidden between them."""
    if n <= limit:
        return np.arange(n), 0
    half = limit // 2
    return np.concatenate([np.arange(half), np.arange(n - half, n)]), n - 2 * half
