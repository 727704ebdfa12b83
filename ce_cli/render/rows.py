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


def _row_of(a, n: int, shape: tuple) -> np.ndarray:
    """Row ``n`` of ``a`` seen with ``shape``; only that row is read (``a`` may be a big file
    read by rows on demand)."""
    if np.ndim(a) == len(shape):
        return np.asarray(a[n : n + 1]).reshape(shape[1:])
    return np.asarray(a).reshape(shape)[n]  # (C,) as (1, C), () as (1,): one row anyway


def _element(a, f: int, shape: tuple) -> float:
    """Element ``f`` of ``a`` flattened, ``shape`` as the problem sees ``a``."""
    inner = max(1, math.prod(shape[1:]))
    return float(_row_of(a, int(f) // inner, shape).reshape(-1)[int(f) % inner])


def _row_scores(report: Report, pos: tuple) -> np.ndarray:
    """The class scores of one categorical sample at ``pos`` (an index into out_shape)."""
    x = _row_of(report.pred, pos[0] if pos else 0, report.problem.input_shape)
    return np.asarray(x[(slice(None),) + tuple(pos[1:])], dtype=np.float64)


def _probabilities(report: Report, scores: np.ndarray) -> np.ndarray:
    kind = report.problem.input_kind
    if kind == "logits":
        z = np.exp(scores - scores.max())
        return z / z.sum()
    if kind == "log-probs":
        return np.exp(scores)
    return scores


def _sample(report: Report, f: int, pos: tuple, t):
    """The scores and target of the sample at flat position ``f`` (``pos``), from the report's
    arrays: class scores and a class index (or probabilities) for ce/nll, numbers for bce."""
    p = report.problem
    if not p.categorical:
        return _element(report.pred, f, p.input_shape), _element(t, f, p.target_shape)
    if p.soft:
        row = _row_of(t, pos[0] if pos else 0, p.target_shape)
        return _row_scores(report, pos), np.asarray(
            row[(slice(None),) + tuple(pos[1:])], np.float64
        )
    if not np.ndim(t):
        return _row_scores(report, pos), int(np.asarray(t))
    return _row_scores(report, pos), int(_element(t, f, p.target_shape))


def _row(report: Report, pos: tuple, loss: float, scores, target) -> dict:
    """One row of the per-element table: index, target, predicted, p(target), loss."""
    p = report.problem
    row = {"index": ",".join(map(str, pos)) if pos else "0", "loss": float(loss)}
    if not p.categorical:
        x = float(scores)
        row["target"] = short(float(target))
        row["p_target"] = (
            1.0 / (1.0 + math.exp(-x))
            if p.loss == "bce-logits" and x > -700
            else (0.0 if p.loss == "bce-logits" else x)
        )
        return row
    scores = np.asarray(scores, dtype=np.float64)
    probs = _probabilities(report, scores)
    row["predicted"] = _class_label(report, int(np.argmax(scores)))
    if p.soft:
        tv = np.asarray(target, dtype=np.float64)
        row["target"] = "soft, top " + _class_label(report, int(np.argmax(tv)))
        row["p_target"] = float(np.dot(tv, probs))
    elif int(target) == p.ignore_index:
        row["target"] = "ignored"
        row["p_target"] = float("nan")
    else:
        row["target"] = _class_label(report, int(target))
        row["p_target"] = float(probs[int(target)])
    return row


def per_element_rows(report: Report, flat: np.ndarray, losses=None, samples=None) -> list[dict]:
    """Rows of the per-element table for the given flat positions.

    ``losses`` and ``samples`` (their scores and targets, one each a row) are given when the
    report keeps neither, as for the worst and best samples: read while the blocks streamed by,
    so a memory-mapped input is not read again at random places.
    """
    if losses is None:
        losses = report.per_element_at(flat)
    t = report.target  # read a row at a time, never whole
    rows = []
    for i, (f, pos) in enumerate(zip(flat, _positions(report, flat), strict=True)):
        scores, target = (
            (samples[0][i], samples[1][i]) if samples else _sample(report, int(f), pos, t)
        )
        rows.append(_row(report, pos, losses[i], scores, target))
    return rows


def head_tail(n: int, limit: int = MAX_TABLE_ROWS) -> tuple[np.ndarray, int]:
    """Indices to show (head and tail) and how many are hidden between them."""
    if n <= limit:
        return np.arange(n), 0
    half = limit // 2
    return np.concatenate([np.arange(half), np.arange(n - half, n)]), n - 2 * half


def target_classes(report: Report, flat: np.ndarray) -> list[int | None]:
    """The target class at each flat position (the top class of a probability target); None
    where the target is ignored."""
    p = report.problem
    t = np.asarray(report.target)
    out: list[int | None] = []
    for f, pos in zip(flat, _positions(report, flat), strict=True):
        if p.soft:
            key = (pos[0] if pos else 0, slice(None)) + tuple(pos[1:])
            out.append(int(np.argmax(t.reshape(p.target_shape)[key])))
        else:
            tc = int(t.reshape(-1)[f]) if t.ndim else int(t)
            out.append(None if tc == p.ignore_index else tc)
    return out
