"""Metrics of a run, measured in the same pass as the loss: an observer sink of the engine.

For ``ce``/``nll`` (definitions of scikit-learn and torchmetrics, see docs/metrics.md):

- accuracy: ``argmax(pred) == target`` (first maximum wins), over the targets that count (not
  ``ignore_index``; for probability targets their argmax); top-k accuracy as scikit-learn's
  ``top_k_accuracy_score`` (a tie with the target is ahead of it when its class is higher);
- perplexity ``exp(mean nll)`` and bits per target ``mean nll / ln 2`` of the unweighted,
  unsmoothed ``nll = -log p(target)``; mean predictive entropy ``-sum_c p_c log p_c``;
- Brier score: scikit-learn's, ``mean_i sum_c (p_ic - y_ic)^2`` (halved below 3 classes);
- ECE: torchmetrics' top-label ``calibration_error(norm="l1")``: confidence ``max_c p_c`` put in
  ``bins`` equal-width bins (a confidence of exactly 1 in one more), ``sum_b |correct_b -
  confidence_b| / n``.

For ``bce``/``bce-logits`` every element is a sample: predicted positive when ``p > 0.5``
(``x > 0`` for logits), a target counts as positive above 0.5; Brier ``mean (p - t)^2``; ECE of
``p`` against the target (torchmetrics' binary form). Per class is per label (dimension 1).

Counts are integers; float sums are kept per fixed segment of rows (the engine's segments, so
never dependent on the block size) and added up over segments in a fixed pairwise tree
(:class:`TreeSum`): results are identical bit for bit whatever the block size and threads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import CeLossError
from ..settings import MetricsSettings
from ..sinks import InMemory
from .problem import BlockResult, LossResult, Problem

# The float sums kept per sample: nll, entropy, Brier term.
_NLL, _ENTROPY, _BRIER = 0, 1, 2
_SCALARS = 3
# ce/nll samples are counted this many (or a block more) at a time.
BATCH_SAMPLES = 1 << 13


class TreeSum:
    """Sums of vectors pushed in order, added in a pairwise tree fixed by their count alone.

    Vector ``i`` is a leaf; two sums of aligned runs of ``2**L`` leaves are added when the second
    is complete (a binary counter), so memory is ``log2(count)`` vectors and the result does not
    depend on how the pushes were grouped into blocks.
    """

    def __init__(self, size: int):
        self.size = size
        self.count = 0
        self.stack: list[tuple[int, np.ndarray]] = []
        self._halves: tuple[np.ndarray, np.ndarray] | None = None

    def push_rows(self, rows: np.ndarray) -> None:
        """Push ``rows`` in order: each aligned run of ``2**L`` of them is reduced as the
        counter would (pairs added left + right, level by level), vectorised."""
        rows = np.asarray(rows, dtype=np.float64)
        at, n = 0, len(rows)
        while at < n:
            # the longest run from here that the counter completes as one subtree
            size = 1 << ((n - at).bit_length() - 1)
            if self.count:
                size = min(size, self.count & -self.count)
            level = size.bit_length() - 1
            self._carry(level, self._reduce(rows[at : at + size]))
            at += size
            self.count += size

    def _reduce(self, run: np.ndarray) -> np.ndarray:
        """The pairwise sum of ``2**L`` rows, level by level, in two reused buffers (a fresh
        array per level cost more than the additions)."""
        if len(run) == 1:
            return run[0].copy()
        half = len(run) // 2
        if self._halves is None or len(self._halves[0]) < half:
            self._halves = (np.empty((half, self.size)), np.empty((max(1, half // 2), self.size)))
        out, other = self._halves
        while len(run) > 1:
            half = len(run) // 2
            np.add(run[0::2], run[1::2], out=out[:half])
            run, out, other = out[:half], other, out
        return run[0].copy()

    def _carry(self, level: int, acc: np.ndarray) -> None:
        while self.stack and self.stack[-1][0] == level:
            acc = self.stack.pop()[1] + acc
            level += 1
        self.stack.append((level, acc))

    def total(self) -> np.ndarray:
        acc = np.zeros(self.size)
        for _, part in reversed(self.stack):  # smallest first, always in the same order
            acc = part + acc
        return acc


@dataclass
class _Part:
    """What one block adds: integer counts, per-segment float sums (rows: segments) and, per
    class, the losses to add (``(class of each sample, its loss)``, or None)."""

    ints: dict[str, np.ndarray]
    floats: np.ndarray
    groups: tuple[np.ndarray, np.ndarray] | None = None


@dataclass
class MetricsResult:
    """The measured metrics. ``values``: name -> float, or None where undefined (no sample
    counts, a class without predictions for precision); per-class arrays by name; ``bins``:
    the calibration bins (count, mean confidence, accuracy); ``confusion``: C x C or 2 x 2."""

    values: dict[str, float | None]
    per_class: dict[str, np.ndarray] = field(default_factory=dict)
    bins: dict[str, np.ndarray] = field(default_factory=dict)
    confusion: np.ndarray | None = None
    per_class_unit: str = "class"


class Metrics(InMemory):
    """Observer sink: measures each block on the worker thread, merges in row order."""

    def __init__(self, settings: MetricsSettings):
        if settings.bins < 1:
            raise CeLossError(
                f"must be at least 1; got {settings.bins}",
                input="bins",
                value=settings.bins,
                expected="at least 1",
            )
        self.s = settings
        self.p: Problem | None = None
        self.ints: dict[str, np.ndarray] = {}
        self.tree: TreeSum | None = None
        self.group_loss: np.ndarray | None = None  # the loss summed per class (or label)
        # the loss kernel's per-row by-products asked of the engine (see .rowstats)
        self.row_stats: tuple | None = None
        self._pending: list = []  # ce/nll blocks measured, not yet counted (see write)
        self._pending_samples = 0

    # -- engine protocol -------------------------------------------------------------------

    def begin(self, p: Problem) -> None:
        s = self.s
        if p.categorical and s.top_k is not None and not 1 <= s.top_k <= (p.n_classes or 0):
            raise CeLossError(
                f"must be between 1 and the number of classes ({p.n_classes}); got {s.top_k}",
                input="top_k",
                value=s.top_k,
                expected=f"1..{p.n_classes}",
            )
        self.p = p
        self.tree = TreeSum(_SCALARS + s.bins + 1)
        groups = self._groups(p)
        self.group_loss = np.zeros(groups) if groups else None
        if p.categorical and p.input_kind == "logits" and not p.soft:
            from .rowstats import ARGMAX, DENSE

            self.row_stats = (DENSE if s.summary else ARGMAX, s.top_k)

    def observe(self, x, t, start: int, block: BlockResult):
        assert self.p is not None
        if self.p.categorical:
            from .metrics_blocks import categorical_samples

            return categorical_samples(self.p, self.s, x, t, start, block)
        from .metrics_blocks import binary_part

        return binary_part(self.p, self.s, self._groups(self.p), x, t, start, block)

    def write(self, start: int, stop: int, block: BlockResult) -> None:
        assert block.observed is not None
        got = block.observed[self]
        if isinstance(got, _Part):
            self._merge(got)
            return
        # ce/nll: counted BATCH_SAMPLES at a time, not block by block: fewer, larger NumPy
        # calls (each small one may wait for the GIL the worker threads pass around)
        self._pending.append(got)
        self._pending_samples += got.tcls.size
        if self._pending_samples >= BATCH_SAMPLES:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        from .metrics_blocks import categorical_part, join

        assert self.p is not None
        samples = join(self._pending)
        self._pending, self._pending_samples = [], 0
        self._merge(categorical_part(self.p, self.s, self._groups(self.p), samples))

    def _merge(self, part: _Part) -> None:
        assert self.tree is not None
        for name, counts in part.ints.items():
            self.ints[name] = counts + self.ints[name] if name in self.ints else counts
        self.tree.push_rows(part.floats)
        if part.groups is not None and self.group_loss is not None:
            # one sample after the other, in row order: the same sums whatever the blocks (a
            # tree of per-segment sums would add a row of every class for every 16 rows)
            np.add.at(self.group_loss, part.groups[0], part.groups[1])

    def close(self) -> None:
        self._flush()

    def discard(self) -> None:
        self._pending = []

    # -- results ---------------------------------------------------------------------------

    def _groups(self, p: Problem) -> int:
        """Per-class float sums kept: one per class (per label for bce), or none."""
        if not (self.s.per_class or self.s.plot):
            return 0
        if p.categorical:
            return p.n_classes or 0
        return p.input_shape[1] if len(p.input_shape) > 1 else 1

    def result(self, loss: LossResult) -> MetricsResult:
        """The metrics of the finished run (``loss``: the engine's result, for reuse)."""
        assert self.p is not None and self.tree is not None
        self._flush()  # (the engine closed it: nothing left, unless called another way)
        from .metrics_finish import finish

        return finish(self.p, self.s, self.ints, (self.tree.total(), self.group_loss), loss)


def ratio(num, den) -> float | None:
    """``num / den`` as a float, None when ``den`` is 0 (an undefined metric)."""
    den = float(den)
    return None if den == 0 else float(num) / den


def safe_exp(v: float | None) -> float | None:
    if v is None:
        return None
    try:
        return math.exp(v)
    except OverflowError:
        return math.inf
