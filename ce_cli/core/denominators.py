"""What ``reduction="mean"`` divides by, and the reduction of a summed loss.

The denominator needs the targets only, so a gradient can be scaled while it is produced;
:func:`count_targets` counts them block by block and :func:`denominator_of_counts` turns the
counts into the denominator exactly, whatever the split into blocks.
"""

from __future__ import annotations

import math

import numpy as np

from .problem import Problem


def denominator(p: Problem, target) -> float:
    """What ``reduction="mean"`` divides the summed loss by; needs the targets only.

    Index targets: the sum of the class weights of the targets that are not ``ignore_index``
    (their count without weights), as ``nll_loss`` does. Probability targets: the number of
    samples (``numel / C``), weights or not, as ``cross_entropy_loss_prob_target`` does. BCE: the
    number of elements. Weighted sums are correctly rounded (see :func:`denominator_of_counts`),
    so the targets may also be counted block by block with :func:`count_targets`.
    """
    if p.soft:
        return float(math.prod(p.input_shape) // (p.n_classes or 1))
    t = np.asarray(target).reshape(p.target_shape)
    return denominator_of_counts(p, count_targets(p, t))


def count_targets(p: Problem, t_block) -> np.ndarray | None:
    """How many index targets of a block fall in each class (int64, length C), ignored ones not.

    Counts of blocks add up exactly, so :func:`denominator` can be had from a target file read
    block by block. Targets outside ``0..C-1`` are left out: the block's validation reports them.
    Returns ``None`` for problems whose denominator does not depend on the targets.
    """
    if p.soft:
        return None
    t = np.asarray(t_block).reshape(-1)
    c = p.n_classes or 0
    if t.dtype.kind in "iu" and t.size and t.min() >= 0 and t.max() < c:
        keep = t[t != p.ignore_index] if 0 <= p.ignore_index < c else t
    else:
        with np.errstate(invalid="ignore"):  # NaN targets: left out here, reported by the block
            keep = t[(t >= 0) & (t < c) & (t != p.ignore_index) & (t == np.floor(t))]
    return np.bincount(keep.astype(np.intp, copy=False), minlength=c).astype(np.int64)


def denominator_of_counts(p: Problem, counts: np.ndarray | None) -> float:
    """The mean's denominator from the class counts of :func:`count_targets` (summed over blocks).

    With class weights, ``sum_c counts_c * w_c`` is computed exactly in Python integers and
    rounded once, so it does not depend on how the targets were split into blocks.
    """
    if counts is None:
        return float(math.prod(p.input_shape) // (p.n_classes or 1))
    counts = np.asarray(counts, dtype=np.int64)
    if p.weight is None:
        return float(counts.sum())
    nz = np.flatnonzero(counts)
    if nz.size == 0:
        return 0.0
    # w_c = mant_c * 2**exp_c with integer mant_c (53 bits): the sum is an integer times 2**lo
    mant, exp = np.frexp(p.weight[nz])
    mant = (mant * 2.0**53).astype(np.int64).tolist()
    exp = (exp.astype(np.int64) - 53).tolist()
    lo = min(exp)
    pairs = zip(counts[nz].tolist(), mant, exp, strict=True)
    total = sum(int(n) * m << (e - lo) for n, m, e in pairs)
    try:
        # int / int is correctly rounded in Python
        return total / (1 << -lo) if lo < 0 else float(total << lo)
    except OverflowError:
        return math.copysign(math.inf, total)


def reduce_total(p: Problem, total: float, denom: float) -> float | None:
    """The reduced loss from the summed loss and the mean's denominator (NaN for 0 / 0)."""
    if p.reduction == "none":
        return None
    if p.reduction == "sum":
        return total
    if denom == 0:
        # torch divides the nll term by the weight sum on its own: 0 / 0 = NaN, whatever the
        # label-smoothing term adds (so never +-inf)
        return math.nan
    return total / denom


def grad_scale(p: Problem, denom: float) -> float:
    """What the gradient of the summed loss is multiplied by: ``1 / denom`` for the mean."""
    if p.reduction != "mean":
        return 1.0
    # A zero weight sum makes the mean 0/0 = NaN; the gradient then follows torch (see
    # categorical.nan_where_divided): NaN where nll_loss's backward divides by it, 0 on ignored
    # elements.
    return 1.0 / denom if denom != 0 else math.nan
