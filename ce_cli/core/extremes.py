"""The K highest (or lowest) per-sample losses of a run, in constant memory: an observer sink.

Order: the worst are the highest losses first, a NaN loss above every number; the best the
lowest first, NaN never before a number; equal losses in ascending index order. Ignored
targets (``ignore_index``) are not samples here. Each block keeps its own K candidates on the
worker thread (``argpartition``); the merge keeps K in row order. The result equals the head of
a full sort of all losses by (loss, index) in that order.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import CeLossError
from ..sinks import InMemory
from .problem import BlockResult, Problem

# Blocks whose candidates are merged at once, once K losses are kept.
MERGE_BLOCKS = 16


def order(values: np.ndarray, index: np.ndarray, largest: bool) -> np.ndarray:
    """Positions of ``values`` sorted as the worst (``largest``) or best come."""
    nan = np.isnan(values)
    v = np.where(nan, 0.0, values)
    if largest:
        return np.lexsort((index, -v, ~nan))  # last key first: NaN, then high, then index
    return np.lexsort((index, v, nan))


class Extremes(InMemory):
    """Observer sink keeping the ``k`` worst (``largest=True``) or best per-sample losses,
    with their flat indices and the scores and targets of those samples (``samples``)."""

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
        self.samples: tuple[np.ndarray, np.ndarray] | None = None  # set by close()
        self._store: tuple[np.ndarray, ...] | None = None  # the kept samples, K slots
        self._slots = np.zeros(0, dtype=np.int64)  # each kept loss's slot in the store
        # The k-th loss kept so far (NaN as inf): a block's losses beyond it cannot enter. Read
        # by the workers while the merge raises it; a stale value only lets more through.
        self.cut: float | None = None
        self._pending: list[tuple] = []  # candidates of blocks not yet merged (see write)
        self._pending_size = 0

    def begin(self, p: Problem) -> None:
        self.p = p

    def observe(self, x, t, start: int, block: BlockResult):
        assert self.p is not None
        p = self.p
        pe = np.asarray(block.per_element, dtype=np.float64).reshape(-1)
        per_row = pe.size // max(1, np.shape(block.per_element)[0]) if pe.size else 1
        local = self._candidates(pe)
        if not local.size and self._store is not None:  # (most blocks, once K are kept)
            return pe[local], local, None
        if p.categorical and not p.soft:  # ignored targets: looked up on the candidates only
            local = local[np.asarray(t).reshape(-1)[local] != p.ignore_index]
        if local.size > self.k:  # (K or fewer need no order here: the merge sorts them)
            local = local[self._first(pe[local], local)]
        return (
            pe[local],
            _out_index(block, start * per_row, local),
            _samples(p, x, t, local, per_row),
        )

    def _candidates(self, pe: np.ndarray) -> np.ndarray:
        """Positions of the block's losses that may enter: all until K are kept, then those
        not beyond the K-th kept (NaN as inf), found in one comparison."""
        cut = self.cut
        if cut is None:
            return np.arange(pe.size, dtype=np.int64)
        if self.largest:  # key >= cut, NaN included: not (pe < cut)
            return np.flatnonzero(~(pe < cut))
        if cut == math.inf:  # key <= inf: every loss, NaN too
            return np.arange(pe.size, dtype=np.int64)
        return np.flatnonzero(pe <= cut)  # NaN (inf) never below a finite cut

    def _first(self, values: np.ndarray, index: np.ndarray) -> np.ndarray:
        """Positions of the k first of ``values`` in this order."""
        pick = np.arange(values.size)
        if values.size > self.k:
            key = np.where(np.isnan(values), np.inf, values)
            if self.largest:
                cut = np.partition(key, values.size - self.k)[values.size - self.k]
                pick = np.nonzero(key >= cut)[0]
            else:
                cut = np.partition(key, self.k - 1)[self.k - 1]
                pick = np.nonzero(key <= cut)[0]  # ties at the cut kept, sorted below
        return pick[order(values[pick], index[pick], self.largest)[: self.k]]

    def write(self, start: int, stop: int, block: BlockResult) -> None:
        assert block.observed is not None
        values, index, samples = block.observed[self]
        if not values.size and self._store is not None:  # nothing of this block can enter
            return
        self._pending.append((values, index, samples))
        self._pending_size += values.size
        # once K are kept, the candidates of up to MERGE_BLOCKS blocks are merged at once
        # (fewer small NumPy calls), and of fewer when K of them wait (memory stays bounded,
        # and a cut that lets many through is raised soon)
        if self.cut is None or self._pending_size >= self.k or len(self._pending) >= MERGE_BLOCKS:
            self._merge()

    def _merge(self) -> None:
        """The kept and the pending candidates (in row order) merged: the first K kept."""
        if not self._pending:
            return
        parts, self._pending, self._pending_size = self._pending, [], 0
        n_old = self.values.size
        values = np.concatenate([self.values, *(q[0] for q in parts)])
        index = np.concatenate([self.index, *(q[1] for q in parts)])
        samples = parts[0][2]
        if len(parts) > 1:
            samples = tuple(np.concatenate([q[2][i] for q in parts]) for i in range(2))
        keep = self._first(values, index)
        self.values, self.index = values[keep], index[keep]
        self._keep_samples(keep, n_old, samples)
        if self.values.size == self.k:
            last = float(self.values[-1])
            self.cut = math.inf if math.isnan(last) else last

    def _keep_samples(self, keep: np.ndarray, n_old: int, samples: tuple) -> None:
        """Keep the samples of the kept: those already kept stay in their slots of the store
        (K rows), the block's new ones go to the slots freed; nothing else is copied."""
        if self._store is None:
            self._store = tuple(np.empty((self.k,) + a.shape[1:], dtype=a.dtype) for a in samples)
            self._slots = np.zeros(0, dtype=np.int64)
        old = keep < n_old
        slots = np.empty(keep.size, dtype=np.int64)
        slots[old] = self._slots[keep[old]]
        new = keep[~old] - n_old
        used = np.zeros(self.k, dtype=bool)
        used[slots[old]] = True
        free = np.flatnonzero(~used)[: new.size]
        slots[~old] = free
        for store, a in zip(self._store, samples, strict=True):
            store[free] = a[new]
        self._slots = slots

    def close(self) -> None:
        self._merge()
        if self._store is not None:
            self.samples = (self._store[0][self._slots], self._store[1][self._slots])

    def discard(self) -> None:
        self._pending, self._pending_size = [], 0


def _out_index(block: BlockResult, first: int, local: np.ndarray) -> np.ndarray:
    """Flat indices in the user's per-element output of the block's ``local`` positions: from
    ``first``, or for flattened rows (classes last) from ``block.out_start``, counting only the
    rows shown (the shift drops each sequence's last position, never a candidate: ignored)."""
    if block.out_start is None:
        return first + local
    if block.kept is None:
        return block.out_start + local
    return block.out_start + np.searchsorted(block.kept, local)


def _samples(p: Problem, x, t, local: np.ndarray, per_row: int):
    """Scores and targets of the block's samples at ``local`` flat positions: (m, C) class
    scores and class indices (or (m, C) probabilities) for ce/nll, numbers for bce."""
    x, t = np.asarray(x), np.asarray(t)
    if not p.categorical:
        return x.reshape(-1)[local], t.reshape(-1)[local]
    c = int(p.n_classes or 0)
    row, k = np.divmod(local, max(1, per_row))
    scores = x.reshape(x.shape[0], c, -1)[row, :, k]
    if p.soft:
        return scores, t.reshape(t.shape[0], c, -1)[row, :, k]
    return scores, t.reshape(-1)[local]
