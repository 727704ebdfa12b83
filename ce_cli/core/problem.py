"""What a validated loss problem is, and what computing it gives back (no maths here)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .layout import Layout

LOSSES = ("ce", "nll", "bce", "bce-logits")
INPUT_KINDS = ("logits", "probs", "log-probs")
REDUCTIONS = ("mean", "sum", "none")

# The input kind each loss takes when none is given, and the kinds it accepts.
DEFAULT_INPUT = {"ce": "logits", "nll": "log-probs", "bce": "probs", "bce-logits": "logits"}
ALLOWED_INPUT = {
    "ce": ("logits", "probs", "log-probs"),
    "nll": ("log-probs",),
    "bce": ("probs",),
    "bce-logits": ("logits",),
}

# About this many float64 values of per-element work make one segment of rows whose loss sum is
# kept apart; blocks are whole numbers of segments, so sums do not depend on the block size.
SEGMENT_ELEMENTS = 1 << 14


@dataclass(frozen=True, eq=False)
class Problem:
    """A validated loss problem: everything about it except the data of the blocks.

    ``input_shape`` and ``target_shape`` are the shapes as the core sees them: a single sample
    ``(C,)`` of a categorical loss is seen as ``(1, C)`` and a 0-d BCE input as ``(1,)``;
    ``out_shape`` is the shape torch gives ``reduction="none"``. These are the canonical
    shapes, classes on dimension 1 (the user's arrays may hold them elsewhere: ``layout``).
    """

    loss: str
    input_kind: str
    soft: bool
    input_shape: tuple
    target_shape: tuple
    out_shape: tuple
    reduction: str
    ignore_index: int
    label_smoothing: float
    weight: np.ndarray | None = field(default=None, repr=False)
    pos_weight: np.ndarray | None = field(default=None, repr=False)
    # where the classes are in the user's arrays, and the shift (see ce_cli.core.layout)
    layout: Layout = field(default_factory=Layout)

    @property
    def categorical(self) -> bool:
        return self.loss in ("ce", "nll")

    @property
    def n_rows(self) -> int:
        return self.input_shape[0]

    @property
    def n_classes(self) -> int | None:
        return self.input_shape[1] if self.categorical else None

    @property
    def row_elements(self) -> int:
        return int(np.prod(self.input_shape[1:], dtype=np.int64))

    @property
    def per_element_shape(self) -> tuple:
        """The per-element losses as the blocks produce them (rows first)."""
        return (self.n_rows,) + self.input_shape[2:] if self.categorical else self.input_shape

    @property
    def segment_rows(self) -> int:
        """Rows per loss-sum segment: fixed by the shape alone, never by the block size."""
        return max(1, SEGMENT_ELEMENTS // max(1, self.row_elements))

    def block_rows(self, elements: int) -> int:
        """Rows per block for a working set of about ``elements`` float64 values."""
        seg = self.segment_rows
        return max(1, elements // max(1, self.row_elements * seg)) * seg

    def rows_problem(self) -> Problem:
        """The problem the engine computes: this one, or for classes last (``layout.mode ==
        "flat"``) the 2-D problem of its flattened rows, ``(M, V)`` with ``(M,)`` targets
        (``(M, V)`` probabilities), which every block, segment and observer then sees."""
        if self.layout.mode != "flat":
            return self
        lay = self.layout
        m = math.prod(lay.input_shape[:-1])
        c = lay.input_shape[-1]
        return replace(
            self,
            input_shape=(m, c),
            target_shape=(m, c) if self.soft else (m,),
            out_shape=(m,),
            layout=Layout(),
        )


@dataclass(eq=False)
class BlockResult:
    """What one block of rows contributes: per-element losses, segment sums, gradient."""

    per_element: np.ndarray
    segment_sums: np.ndarray
    grad: np.ndarray | None
    # What each observer sink (see ce_cli.core.engine) made of the block on the worker thread.
    observed: dict | None = None
    # Classes last (flattened rows): the index in the user's per-element output (out_shape
    # flattened) of the first value shown, and the block's rows shown (None: all; under the
    # shift each sequence's last position is not). None otherwise: rows are leading rows.
    out_start: int | None = None
    kept: np.ndarray | None = None
    # The 2-D kernel's per-row by-products (ce_cli.core.rowstats.RowStats) when an observer
    # asked for them and the kernel's path has them, else None.
    rows_stats: Any = None

    def shown(self, field: str) -> np.ndarray | None:
        """``per_element`` or ``grad`` as the user's outputs take it: the per-element values
        of the rows shown (one value a row for flattened rows), the gradient whole."""
        a = getattr(self, field)
        if field == "per_element" and self.kept is not None:
            return a[self.kept]
        return a


@dataclass(eq=False)
class LossResult:
    """The outcome of a run.

    ``loss`` is the reduced value (a float; ``None`` for ``reduction="none"``), ``per_element``
    the values torch returns for ``reduction="none"`` (float64, shape ``problem.out_shape``) and
    ``grad`` the gradient of the loss with respect to the input (float64, the input's shape; for
    ``reduction="none"`` the gradient of the sum of the per-element values).
    """

    problem: Problem
    loss: float | None
    total: float
    denominator: float
    per_element: np.ndarray | None
    grad: np.ndarray | None
    # How many index targets fall in each class, ignored ones not (int64, length C); None for
    # probability and BCE targets. Counted anyway for the mean, kept for the CLI's warnings.
    target_counts: np.ndarray | None = None

    @property
    def value(self):
        """What the torch function returns: a float, or the per-element array for ``none``."""
        return self.per_element if self.problem.reduction == "none" else self.loss
