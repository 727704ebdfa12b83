"""One block of rows: validated, computed by the right kernel, its loss summed by segments."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..errors import CeLossError
from . import fast2d
from .binary import binary
from .categorical import categorical
from .checks import check_block
from .problem import BlockResult, Problem


def _rows(param: np.ndarray | None, start: int, stop: int):
    """The rows of a per-element parameter that a block needs (all of one that broadcasts)."""
    if param is None or param.shape[0] == 1:
        return param
    return param[start:stop]


def compute_block(
    p: Problem,
    x_block,
    t_block,
    start: int,
    *,
    want_grad: bool = False,
    scale: float = 1.0,
    grad_dtype=None,
    row_stats: tuple | None = None,
) -> BlockResult:
    """Validate and compute rows ``start:start+len(x_block)`` of a problem.

    The blocks are rows of the user's arrays (``p.layout`` says where their classes are; a
    classes-last problem comes here as its 2-D rows, :meth:`Problem.rows_problem`); the
    per-element values come back in the targets' shape, the gradient in the input's.
    ``scale`` multiplies the gradient (``1 / denominator`` for ``reduction="mean"``). The rows of
    the block must begin at a multiple of ``p.segment_rows`` for the sums to be block-independent.
    The gradient is float64, or rounded to ``grad_dtype`` when one is given (the same values as
    rounding the float64 gradient afterwards, without a float64 copy of the block).
    ``row_stats`` (``(level, top_k)``, see :mod:`ce_cli.core.rowstats`) asks the 2-D kernel for
    its per-row by-products, given back as ``rows_stats`` where its path has them.
    """
    x = np.asarray(x_block)
    t = np.asarray(t_block)
    if x.dtype.kind == "b":
        x = x.astype(np.float64)
    lay = p.layout
    stats = None if lay.moves else _stats_request(row_stats)  # (moved layouts: the metrics')
    if lay.moves:
        xc, tc = lay.core_block(x, t)
        try:
            loss, g = _kernel(p, xc, tc, start, (want_grad, scale, grad_dtype))
        except CeLossError as e:
            raise lay.user_error(e) from None
        loss, g = lay.user_results(x, loss, g)
    else:
        loss, g = _kernel(p, x, t, start, (want_grad, scale, grad_dtype), stats)
    n = loss.shape[0]
    if n:
        row_sums = loss if loss.ndim == 1 else loss.reshape(n, -1).sum(axis=1)
        seg = np.add.reduceat(row_sums, np.arange(0, n, p.segment_rows))
    else:
        seg = np.zeros(0)
    done = stats if stats is not None and stats.filled else None
    return BlockResult(per_element=loss, segment_sums=seg, grad=g, rows_stats=done)


def _stats_request(request: tuple | None):
    """An empty request for the kernel's by-products, or None (nothing asked, nothing done)."""
    if not request:
        return None
    from .rowstats import RowStats

    return RowStats(*request)


def _kernel(p: Problem, x: np.ndarray, t: np.ndarray, start: int, grad: tuple, stats=None):
    """One block in the canonical layout by the right kernel: ``(loss, grad or None)``."""
    if fast2d.applies(p, x):
        return fast2d.ce_logits_index_2d(p, x, t, start, grad, stats)
    want_grad, scale, grad_dtype = grad
    check_block(p, x, t, start)
    stop = start + x.shape[0]
    if p.categorical:
        loss, g = categorical(p, x, t, want_grad, scale)
    else:
        loss, g = binary(
            p,
            x,
            t,
            _rows(p.weight, start, stop),
            _rows(p.pos_weight, start, stop),
            want_grad,
            scale,
        )
    if g is not None and grad_dtype is not None:
        g = g.astype(grad_dtype, copy=False)
    return loss, g


def block_bounds(p: Problem, block_rows: int) -> Iterator[tuple[int, int]]:
    """The (start, stop) row ranges of the blocks; sizes are rounded up to whole segments."""
    n = p.n_rows
    seg = p.segment_rows
    rows = max(seg, -(-int(block_rows) // seg) * seg)
    for start in range(0, n, rows):
        yield start, min(n, start + rows)
