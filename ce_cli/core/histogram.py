"""Counts of the per-sample losses of a run, in constant memory: an observer sink.

Each loss is counted in a fine bin keyed by the top bits of its float64 (sign, exponent and the
first ``MANTISSA_BITS`` of the mantissa): a bin spans at most 1/64 of its values, whatever their
scale, without knowing the range in advance. Counts are integers, so they do not depend on the
blocks. :meth:`LossHistogram.rebin` spreads them over equal-width bins from the smallest to the
largest loss for a picture (each fine bin goes whole to the bin of its middle).
"""

from __future__ import annotations

import numpy as np

from ..sinks import InMemory
from .problem import BlockResult, Problem

MANTISSA_BITS = 6
_SHIFT = 52 - MANTISSA_BITS


class LossHistogram(InMemory):
    """Observer sink counting finite per-sample losses (ignored targets left out)."""

    def __init__(self) -> None:
        self.p: Problem | None = None
        self.counts: dict[int, int] = {}
        self.low = np.inf
        self.high = -np.inf
        self.not_finite = 0

    def begin(self, p: Problem) -> None:
        self.p = p

    def observe(self, x, t, start: int, block: BlockResult):
        assert self.p is not None
        p = self.p
        pe = np.asarray(block.per_element, dtype=np.float64).reshape(-1)
        if p.categorical and not p.soft:
            pe = pe[np.asarray(t).reshape(-1) != p.ignore_index]
        finite = np.isfinite(pe)
        v = pe[finite]
        keys, counts = np.unique(v.view(np.uint64) >> np.uint64(_SHIFT), return_counts=True)
        bounds = (v.min(), v.max()) if v.size else (np.inf, -np.inf)
        return keys, counts, bounds, int(pe.size - v.size)

    def write(self, start: int, stop: int, block: BlockResult) -> None:
        assert block.observed is not None
        keys, counts, (lo, hi), bad = block.observed[self]
        for k, c in zip(keys.tolist(), counts.tolist(), strict=True):
            self.counts[k] = self.counts.get(k, 0) + c
        self.low, self.high = min(self.low, lo), max(self.high, hi)
        self.not_finite += bad

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def rebin(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``(edges, counts)``: ``n`` equal-width bins from the lowest to the highest loss."""
        if not self.counts:
            return np.zeros(0), np.zeros(0, dtype=np.int64)
        lo, hi = float(self.low), float(self.high)
        if hi <= lo:
            return np.array([lo, hi]), np.array([self.total], dtype=np.int64)
        keys = np.array(sorted(self.counts), dtype=np.uint64)
        counts = np.array([self.counts[int(k)] for k in keys], dtype=np.int64)
        start = (keys << np.uint64(_SHIFT)).view(np.float64)
        end = ((keys + np.uint64(1)) << np.uint64(_SHIFT)).view(np.float64)
        middle = np.clip((start + end) / 2, lo, hi)
        edges = np.linspace(lo, hi, n + 1)
        where = np.clip(((middle - lo) / (hi - lo) * n).astype(np.int64), 0, n - 1)
        return edges, np.bincount(where, weights=counts, minlength=n).astype(np.int64)
