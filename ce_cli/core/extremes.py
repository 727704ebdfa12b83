"""The K highest (or lowest) per-sample losses of a run, in constant memory: an observer sink.

Order: the worst are the highest losses first, a NaN loss above every number; the best the
lowest first, NaN never before a number; equal losses in ascending index order. Ignored
targets (``ignore_index``) are not samples here. Each block keeps its own K candidates on the
worker thread (``argpartition``); the merge keeps K in row order. The result equals the head of
a full sort of all losses by (loss, index) in that order.
"""

from __future__ import annotations

import numpy as np

from ..errors import CeLossError
from .problem import BlockResult, Problem


def order(values: np.ndarray, index: np.ndarray, largest: bool) -> np.ndarray:
    """Positions of ``values`` sorted as the worst (``largest``) or best come."""
    nan = np.isnan(values)
    v = np.where(nan, 0.0, values)
    if largest:
        return np.lexsort((index, -v, ~nan))  # last key first: NaN, then high, then index
    return np.lexsort((index, v, nan))


class Extremes:
    """Observer sink keeping the ``k`` worst (``largest=True``) or best per-sample losses."""

    def __init__(self, k: int, largest: bool):
        if k < 1:
            role = "worst" if largest else "best"
            raise CeLossError(
                f"must be at least 1; got {k}", input=role, value=k, expected="at least 1"
            )
        self.k = int(k)
        self.largest = largest
        self.p: Problem | None = None
        self.values = np.zeros(0)
        self.index = np.zeros(0, dtype=np.int64)

    def begin(self, p: Problem) -> None:
        self.p = p

    def observe(self, x, t, start: int, block: BlockResult):
        assert self.p is not None
        p = self.p
        pe = np.asarray(block.per_element, dtype=np.float64).reshape(-1)
        per_row = pe.size // max(1, np.shape(block.per_element)[0]) if pe.size else 1
        index = start * per_row + np.arange(pe.size, dtype=np.int64)
        if p.categorical and not p.soft:
            keep = np.asarray(t).reshape(-1) != p.ignore_index
            pe, index = pe[keep], index[keep]
        return self._select(pe, index)

    def _select(self, values: np.ndarray, index: np.ndarray):
        """The k first of ``values`` in this order (with their indices)."""
        if values.size > self.k:
            key = np.where(np.isnan(values), np.inf, values)
            if self.largest:
                cut = np.partition(key, values.size - self.k)[values.size - self.k]
                pick = key >= cut
            else:
                cut = np.partition(key, self.k - 1)[self.k - 1]
                pick = key <= cut
            values, index = values[pick], index[pick]  # ties at the cut kept, sorted below
        first = order(values, index, self.largest)[: self.k]
        return values[first], index[first]

    def write(self, start: int, stop: int, block: BlockResult) -> None:
        assert block.observed is not None
        values, index = block.observed[self]
        self.values, self.index = self._select(
            np.concatenate([self.values, values]), np.concatenate([self.index, index])
        )

    def close(self) -> None:
        pass

    def publish(self) -> None:
        pass

    def discard(self) -> None:
        pass
