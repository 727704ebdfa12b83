"""Per-row by-products of the fast 2-D kernel (:mod:`ce_cli.core.fast2d`) for the metrics.

The kernel exponentiates every logit of a block anyway; when an observer asks for them
(:mod:`ce_cli.core.metrics`), it also keeps, per row, what the metrics would otherwise compute
in fresh passes over a block no longer in cache: the predicted class (first maximum), the
logsumexp, and for entropy and Brier ``sum_c p_c x_c``, ``sum_c p_c^2`` and ``p_t``. Imported
only when asked for: a run without metrics computes none of it.

Every value depends on its own row only (NumPy's ``argmax`` and the dot products along a row
do not depend on where the row sits in memory: tested), so the metrics stay identical bit for
bit whatever the block size and threads. Rows the by-products do not cover (``ok`` False) are
measured by the metrics' own general code.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .fast2d import row_sums64, scratch_bytes

# What an observer asks for: the predicted class and logsumexp (accuracy, ECE, per class), or
# also the sums entropy and Brier need.
ARGMAX, DENSE = 1, 2
# Rows whose largest float32 logit lies in (LO, hi) have their entropy and Brier sums from the
# float32 exponentials: no square overflows (hi, as for the metrics' own shift) and the largest
# exponential is far above FLT_MIN, so that subnormal terms cannot matter. Others are measured
# by the metrics' general code, shifted by their max.
LO = -20.0
# Classes per BLAS dot call (OpenBLAS runs a dot on one thread below 10,000 values).
DOT_PIECE = 8192


class RowStats:
    """A request for by-products (``level``, and ``top_k`` for top-k hits), filled in by the
    kernel (``filled``).

    Per row: ``pred`` the first maximum's class, ``x_max`` its logit, ``lse`` the logsumexp,
    ``ok`` where those and the rest hold (None: every row), the targets as the kernel read
    them (``ti``, ``x_t``, ``valid``: None when all count); with ``DENSE`` also ``mean_x``
    (``sum_c p_c x_c``), ``sum_p2`` (``sum_c p_c^2``) and ``p_t`` (the target's probability);
    with ``top_k`` whether the target is among the k highest scores, ``top_k_hits`` (every
    row: a comparison of the scores as they are).
    """

    # a plain class, not a dataclass: making a dataclass costs start-up time
    __slots__ = (
        "level",
        "top_k",
        "filled",
        "pred",
        "x_max",
        "lse",
        "ok",
        "mean_x",
        "sum_p2",
        "p_t",
        "top_k_hits",
        "ti",
        "x_t",
        "valid",
        "_dot_x",
        "_dot_e",
    )

    def __init__(self, level: int, top_k: int | None = None):
        self.level = level
        self.top_k = top_k
        self.filled = False
        self.pred: np.ndarray | None = None
        self.x_max: np.ndarray | None = None
        self.lse: np.ndarray | None = None
        self.ok: np.ndarray | None = None
        self.mean_x: np.ndarray | None = None
        self.sum_p2: np.ndarray | None = None
        self.p_t: np.ndarray | None = None
        self.top_k_hits: np.ndarray | None = None
        # the targets as the kernel read them: class (0 where ignored), logit, which count
        self.ti: Any = None
        self.x_t: Any = None
        self.valid: np.ndarray | None = None
        self._dot_x: Any = None  # (work arrays while the block is measured)
        self._dot_e: Any = None


def sums_float32(stats: RowStats, x: np.ndarray, tgt) -> tuple[np.ndarray, np.ndarray]:
    """The float32 path's sums, with the by-products measured on the way: ``(s_off, e_t)``,
    the float64 sums of the off-target float32 exponentials and the target's own (``tgt``:
    target classes and logits).

    A few calls over the whole block, not many over pieces of it: with two worker threads, each
    NumPy call hands the GIL over and back, and small calls spent more time waiting for it than
    computing. The values of the loss are unchanged: the exponentials are those
    ``exp(x, dtype=float32)`` gives the loss's own path, and each row is summed in float64 in
    the same order (:func:`ce_cli.core.fast2d.row_sums64`).
    """
    n, c = x.shape
    e = scratch_bytes("rows32", 4 * n * c).view(np.float32).reshape(n, c)
    np.exp(x, out=e)
    stats.pred = np.argmax(x, axis=1)
    if stats.level >= DENSE:
        stats._dot_x = _row_dot(e, x)
        stats._dot_e = _row_dot(e, e)
    flat = e.reshape(-1)
    at = np.arange(n) * c + tgt[0]
    e_t = flat[at].astype(np.float64)
    flat[at] = 0.0
    return row_sums64(e), e_t


def _row_dot(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``sum_c u[i, c] v[i, c]`` of each row ``i`` in float32, by ``np.vecdot`` (BLAS's dot, ~5x
    ``einsum`` here, and it lets the other worker threads run): in fixed pieces of at most
    DOT_PIECE classes added left to right, so that a BLAS free to use threads on long vectors
    still sums every row in one order."""
    c = u.shape[1]
    out = np.vecdot(u[:, :DOT_PIECE], v[:, :DOT_PIECE])
    for a in range(DOT_PIECE, c, DOT_PIECE):
        out += np.vecdot(u[:, a : a + DOT_PIECE], v[:, a : a + DOT_PIECE])
    return out


def fill_float32(stats: RowStats, x: np.ndarray, s_off, e_t, ok, tgt) -> None:
    """The by-products of the float32 path: ``s_off`` the off-target sums of exponentials,
    ``e_t`` the target's, ``ok`` the rows whose loss the float32 path covers, ``tgt`` the
    target classes, logits and which count."""
    stats.ti, stats.x_t, stats.valid = tgt
    s = s_off + e_t
    if stats.top_k is not None:  # (the block is out of cache by now: few looks at it)
        with np.errstate(invalid="ignore", divide="ignore"):
            p_t = np.where(ok, e_t / s, np.nan)  # (rows the float32 argument covers)
        stats.top_k_hits = top_k_hits(x, tgt[1], tgt[0], stats.top_k, p_t)
    stats.x_max = x[np.arange(x.shape[0]), stats.pred].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        stats.lse = np.log(s)
        if stats.level >= DENSE:
            stats.mean_x = stats._dot_x / s
            stats.sum_p2 = stats._dot_e / (s * s)
            stats.p_t = e_t / s
            hi = np.log(np.finfo(np.float32).max / max(1, x.shape[1])) / 2 - 1
            ok = ok & (stats.x_max > LO) & (stats.x_max < hi)
    stats._dot_x = stats._dot_e = None
    stats.ok = None if ok.all() else ok
    stats.filled = True


def fill_float64(stats: RowStats, x: np.ndarray, z: np.ndarray, s: np.ndarray, sh, tgt) -> None:
    """The by-products of the float64 path (float64 logits, rows in memory order):
    ``z = exp(x - sh)`` and its row sums ``s``, before the gradient overwrites ``z``; ``tgt``
    the target classes, logits and which count. Every row is covered (a row beyond float64's
    range is shifted)."""
    ti, x_t, stats.valid = tgt
    stats.ti, stats.x_t = ti, x_t
    rows = np.arange(x.shape[0])
    stats.pred = x.argmax(axis=1)
    stats.x_max = x[rows, stats.pred]
    stats.lse = np.log(s) + sh
    p_t = np.exp(x_t - stats.lse)
    if stats.level >= DENSE:
        # p = z / s whatever the shift: sum_c p_c x_c of the logits as they are
        stats.mean_x = np.einsum("ij,ij->i", z, x) / s
        stats.sum_p2 = np.einsum("ij,ij->i", z, z) / (s * s)
        stats.p_t = p_t
    if stats.top_k is not None:
        stats.top_k_hits = top_k_hits(x, x_t, ti, stats.top_k, p_t)
    stats.filled = True


# Top-k looks at the first TOP_K_PREFIX scores of a row first: k of them above the target's
# already make a miss (most rows of a poor model). The rows left are compared on the next
# TOP_K_WIDEN times as many scores, and only those still left on the rest of the row.
TOP_K_PREFIX = 64
TOP_K_WIDEN = 4
# A target whose probability is above 1 / (k + 1) by this margin is a top-k hit: k classes
# ahead of it would hold more than all the probability. (Its p is known to ~1e-5 or better.)
TOP_K_SURE = 1e-4


def _count_above(xs: np.ndarray, xt: np.ndarray) -> np.ndarray:
    """Per row, how many scores are above ``xt`` (a column): a sum of the comparison's bytes,
    faster than count_nonzero along an axis (in uint16 when no count can reach 2**16)."""
    wide = np.uint16 if xs.shape[1] < 1 << 16 else np.int64
    return np.add.reduce((xs > xt).view(np.uint8), axis=1, dtype=wide).astype(np.int64)


def _windows(c: int) -> list[int]:
    """Where top-k's looks at a row of ``c`` scores start and end: the prefix, a wider second
    look, the rest (one look at the whole row when it is short)."""
    if c <= 2 * TOP_K_PREFIX:
        return [0, c]
    edges = [0, TOP_K_PREFIX]
    wider = TOP_K_PREFIX * TOP_K_WIDEN
    if c > 2 * wider:
        edges.append(wider)
    return edges + [c]


def top_k_hits(xs, x_t: np.ndarray, tcls: np.ndarray, k: int, p_t=None) -> np.ndarray:
    """Whether the target is among the k highest scores, ties ordered as scikit-learn's
    ``top_k_accuracy_score`` (a reversed stable argsort: the higher class first).

    Exact counts, with at most one comparison per score (and one more on rows whose count is
    below k, for ties): rows whose ``p_t`` (the target's probability, if known) is above
    1 / (k + 1) are hits without a look; a row is a miss as soon as k scores above the
    target's are found, looking at its first TOP_K_PREFIX scores, then wider (:func:`_windows`).
    """
    n, c = xs.shape
    xt = x_t.astype(xs.dtype)[:, None]
    hits = np.zeros(n, dtype=bool)
    rest = np.arange(n)
    if p_t is not None:
        with np.errstate(invalid="ignore"):
            sure = p_t * (k + 1) > 1 + TOP_K_SURE
        hits[sure] = True
        rest = np.flatnonzero(~sure)
    ahead = np.zeros(rest.size, dtype=np.int64)
    edges = _windows(c)
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        if not rest.size:
            return hits
        # (a view of the block while every row is left, else a copy of the rows left)
        window = xs[:, a:b] if rest.size == n else xs[rest, a:b]
        ahead += _count_above(window, xt[rest])
        if b < c:
            left = ahead < k
            rest, ahead = rest[left], ahead[left]
    maybe = np.flatnonzero(ahead < k)  # only these can lose their place to a tie
    if maybe.size:
        at = rest[maybe]
        tied = (xs[at] == xt[at]) & (np.arange(c) > tcls[at, None])
        hits[at] = ahead[maybe] + np.count_nonzero(tied, axis=1) < k
    return hits
