"""Warnings for input that is valid but probably not what the user meant.

ce-loss still computes the loss; the command line prints these on stderr (not with --quiet).
Checks that scan the predictions look at the first rows only, so they cost little on big inputs.
"""

from __future__ import annotations

import math

import numpy as np

from .core import count_targets
from .report import Report

# Rows of the predictions the probability checks look at.
SCAN_ROWS = 10_000
# ... and at most this many values, so a 50,257-word vocabulary scans a few rows, not 4 GB.
SCAN_ELEMENTS = 1 << 20
SUM_TOL = 1e-3


def _class_last(a, p) -> np.ndarray:
    """The first rows of a categorical array, class dimension last, as float64 (rows, C).

    Only those rows are read: ``a`` may be a big file read by rows on demand.
    """
    n = _scan_rows(p)
    head = p.layout.head_positions(a, n)  # classes last: positions, not leading rows
    if head is not None:
        return head.astype(np.float64)
    # (C,) is one row of (1, C): small, reshaped whole; otherwise sliced before it is read
    head = np.asarray(a[:n]) if np.ndim(a) == len(p.input_shape) else np.asarray(a)
    head = head.reshape((-1, *p.input_shape[1:]))[:n]
    return np.moveaxis(head, 1, -1).reshape(-1, p.n_classes).astype(np.float64)


def _scan_rows(p) -> int:
    if p.layout.mode == "flat":  # rows of classes (positions): a leading row may be millions
        return min(SCAN_ROWS, max(1, SCAN_ELEMENTS // max(1, p.n_classes)))
    return min(SCAN_ROWS, max(1, SCAN_ELEMENTS // max(1, p.row_elements)))


def _rows_sum_to_one(m: np.ndarray) -> np.ndarray:
    return np.abs(m.sum(axis=1) - 1.0) <= SUM_TOL


def _off_rows(sums: np.ndarray):
    """(how many, the first) of the rows whose sum is not 1, or None when all are."""
    bad = np.abs(sums - 1.0) > SUM_TOL
    return (int(bad.sum()), int(np.argmax(bad))) if bad.any() else None


def warnings_for(report: Report) -> list[str]:
    """The warnings a computed report deserves, as sentences."""
    p = report.problem
    if not p.categorical:
        return []
    limit = _scan_rows(p)
    rows = math.prod(p.out_shape) if p.layout.mode == "flat" else p.n_rows
    scanned = "" if rows <= limit else f" (of the first {limit} rows)"
    found = _soft_target_warnings(report, scanned) if p.soft else _index_target_warnings(report)
    return found + _prediction_warnings(report, scanned)


def _index_target_warnings(report: Report) -> list[str]:
    """All targets ignored; labels that look 1-based."""
    p = report.problem
    target = report.target_name or report.pred_name
    # the class counts the mean needed anyway: no second pass over a big target file
    counts = report.result.target_counts
    if counts is None:
        counts = count_targets(p, report.target)
    present = np.flatnonzero(np.asarray(counts))
    if present.size == 0 and np.size(report.target):
        nan = "; the mean loss is NaN" if p.reduction == "mean" else ""
        return [f"{target}: every target is ignore_index ({p.ignore_index}){nan}"]
    if present.size:
        lo, hi, distinct = int(present[0]), int(present[-1]), int(present.size)
        if lo == 1 and hi == distinct and distinct >= 2:
            return [
                f"{target}: labels run from 1 to {hi} and class 0 never appears; if they "
                "are 1-based, subtract 1 (ce-loss, like torch, counts classes from 0)"
            ]
    return []


def _soft_target_warnings(report: Report, scanned: str) -> list[str]:
    """Probability targets whose rows do not sum to 1."""
    target = report.target_name or report.pred_name
    sums = _class_last(report.target, report.problem).sum(axis=1)
    off = _off_rows(sums)
    if not off:
        return []
    count, row = off
    return [
        f"{target}: {count} target rows{scanned} do not sum to 1 "
        f"(row {row} sums to {sums[row]:.6g}); the loss treats them as given"
    ]


def _prediction_warnings(report: Report, scanned: str) -> list[str]:
    """Predictions that do not look like the --input kind says."""
    p, pred = report.problem, report.pred_name
    x = _class_last(report.pred, p)
    if not x.size:
        return []
    if p.input_kind == "logits":
        if x.min() >= 0 and x.max() <= 1 and _rows_sum_to_one(x).all():
            return [
                f"{pred}: the rows are non-negative and sum to 1, so they look like "
                "probabilities, but --input is logits; did you mean --input probs?"
            ]
        return []
    if p.input_kind == "probs":
        sums = x.sum(axis=1)
        what, advice = "probability rows", "they are used as given, not renormalised"
    else:
        with np.errstate(over="ignore"):
            sums = np.exp(x).sum(axis=1)
        what, advice = "rows", "did you mean --loss ce for logits?"
    off = _off_rows(sums)
    if not off:
        return []
    count, row = off
    sums_text = f"sums to {sums[row]:.6g}"
    if p.input_kind == "probs":
        return [
            f"{pred}: {count} {what}{scanned} do not sum to 1 (row {row} {sums_text}); {advice}"
        ]
    return [
        f"{pred}: {count} {what}{scanned} are not log-probabilities "
        f"(exp of row {row} {sums_text}); {advice}"
    ]
