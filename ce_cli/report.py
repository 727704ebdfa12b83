"""A computed loss with what is needed to show it: the :class:`Report` that render prints.

Per-element values and gradients are shown from memory when the run kept them whole, or from a
:class:`Preview` that kept only the first and last rows while the engine wrote them to files:
a table never reads a saved output back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .core import LossResult
from .sinks import InMemory

# Rows of the leading dimension a preview keeps at each end; tables show at most 10 positions
# at each end, and a row holds at least one position.
PREVIEW_ROWS = 10


class Preview(InMemory):
    """A sink that keeps the per-element values and gradient of the first and last rows.

    Blocks arrive in row order, so the last rows are a window that slides to the end; memory
    stays at ``2 * keep`` rows whatever the input's length. Blocks of flattened rows (classes
    last, ``block.out_start`` set) are kept by position in the output instead
    (``by_position``): one value, and one row of class scores' gradient, each.
    """

    def __init__(self, keep: int = PREVIEW_ROWS):
        self.keep = keep
        self.per_element: dict[int, np.ndarray] = {}
        self.grad: dict[int, np.ndarray] = {}
        self.by_position = False

    def write(self, start: int, stop: int, block) -> None:
        if block.out_start is not None:
            self._write_positions(block)
            return
        rows = [*range(start, min(stop, self.keep)), *range(max(start, stop - self.keep), stop)]
        for i in dict.fromkeys(rows):
            if block.per_element is not None:
                self.per_element[i] = np.array(block.per_element[i - start], dtype=np.float64)
            if block.grad is not None:
                self.grad[i] = np.array(block.grad[i - start])
        self._forget_middle(stop)

    def _write_positions(self, block) -> None:
        self.by_position = True
        pe, kept = block.shown("per_element"), block.kept
        first, stop = block.out_start, block.out_start + pe.shape[0]
        keep = self.keep
        for i in dict.fromkeys(
            [*range(first, min(stop, keep)), *range(max(first, stop - keep), stop)]
        ):
            j = i - first
            self.per_element[i] = np.array(pe[j], dtype=np.float64)
            if block.grad is not None:
                self.grad[i] = np.array(block.grad[j if kept is None else kept[j]])
        self._forget_middle(stop)

    def _forget_middle(self, stop: int) -> None:
        for kept in (self.per_element, self.grad):
            for i in [i for i in kept if self.keep <= i < stop - self.keep]:
                del kept[i]


class Gather(InMemory):
    """A sink that keeps every block of one field as the engine gives it (a saved gradient in
    its saved dtype), so what is printed is what was written."""

    def __init__(self, field: str):
        self.field = field
        self.blocks: list[np.ndarray] = []

    def write(self, start: int, stop: int, block) -> None:
        self.blocks.append(np.asarray(getattr(block, self.field)))

    def array(self, shape: tuple) -> np.ndarray:
        whole = np.concatenate(self.blocks) if self.blocks else np.empty(0)
        return whole.astype(np.float64).reshape(shape)

    def discard(self) -> None:
        self.blocks.clear()


@dataclass(eq=False)
class Report:
    """A computed loss with the inputs it came from and what the command shows of it."""

    result: LossResult
    # arrays, or files read by rows on demand (ce_cli.readers.rows): only ever sliced
    pred: Any
    target: Any
    pred_name: str
    target_name: str | None
    class_names: list[str] | None = None
    show_per_sample: bool = False
    show_grad: bool = False
    saved: dict = field(default_factory=dict)
    preview: Preview | None = None
    warnings: list[str] = field(default_factory=list)
    # What was measured besides the loss (ce_cli.measure); None when nothing was asked.
    metric_settings: Any = None
    metrics: Any = None  # ce_cli.core.metrics.MetricsResult
    worst: tuple | None = None  # (losses, flat indices, (scores, targets)), worst first
    best: tuple | None = None
    histogram: Any = None  # ce_cli.core.histogram.LossHistogram

    @property
    def problem(self):
        return self.result.problem

    @property
    def count(self) -> int:
        """Number of per-element losses: samples (and positions) or BCE elements."""
        return int(math.prod(self.problem.out_shape))

    @property
    def unit(self) -> str:
        return "samples" if self.problem.categorical else "elements"

    @property
    def has_per_element(self) -> bool:
        return self.result.per_element is not None or bool(
            self.preview and self.preview.per_element
        )

    @property
    def has_grad(self) -> bool:
        return self.result.grad is not None or bool(self.preview and self.preview.grad)

    def per_element_at(self, flat: np.ndarray) -> np.ndarray:
        """Per-element losses at flat positions of ``problem.out_shape``."""
        if self.result.per_element is not None:
            return np.asarray(self.result.per_element).reshape(-1)[flat]
        assert self.preview is not None
        rows = self.preview.per_element
        if self.preview.by_position:
            return np.array([float(rows[int(f)]) for f in flat])
        inner = max(1, self.count // max(1, self.problem.n_rows))
        return np.array([np.reshape(rows[int(f) // inner], -1)[int(f) % inner] for f in flat])

    def grad_matrix_shape(self) -> tuple[int, int]:
        """(rows, columns) of the gradient as a table shows it (see :meth:`grad_matrix_rows`)."""
        p = self.problem
        shape = tuple(np.shape(self.pred)) or (1,)
        if p.categorical:
            return math.prod(shape) // p.n_classes, p.n_classes
        return (shape[0], math.prod(shape[1:])) if len(shape) > 1 else (shape[0], 1)

    def grad_matrix_rows(self, rows: np.ndarray) -> np.ndarray:
        """Rows of the gradient matrix: one per position (class scores along a row) for ce/nll,
        one per leading index for bce; float64."""
        if self.result.grad is not None:
            return _matrix(self, np.asarray(self.result.grad, dtype=np.float64))[rows]
        assert self.preview is not None
        p = self.problem
        kept = self.preview.grad
        if self.preview.by_position:  # one row of class scores a position
            return np.stack([np.reshape(kept[int(r)], -1) for r in rows]).astype(np.float64)
        if not p.categorical:
            return np.stack([np.reshape(kept[int(r)], -1) for r in rows]).astype(np.float64)
        inner = max(1, math.prod(p.input_shape[2:]))
        out = []
        for r in rows:
            n, k = divmod(int(r), inner)
            out.append(np.reshape(p.layout.row_view(kept[n]), (p.n_classes, inner))[:, k])
        return np.array(out, dtype=np.float64)


def _matrix(report: Report, g: np.ndarray) -> np.ndarray:
    p = report.problem
    if p.categorical:
        g = p.layout.input_view(g)  # the user's layout seen with classes on dimension 1
        return np.moveaxis(g.reshape(p.input_shape), 1, -1).reshape(-1, p.n_classes)
    return g.reshape(g.shape[0], -1) if g.ndim > 1 else g.reshape(-1, 1)
