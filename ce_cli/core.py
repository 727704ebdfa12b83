"""The loss core: PyTorch-exact classification losses and their gradients, in NumPy.

Everything here is pure array maths: no files, no printing, no typer or rich. Values follow
``torch.nn.functional`` (PyTorch 2.x) to the letter, computed in float64 whatever the input dtype
(but for the exponentials of float32 logits with 64 classes or more: see ``_nll_float32``).

The work is organised for inputs of any size:

1. :func:`plan` validates the shapes and options once and returns a :class:`Problem`.
2. :func:`denominator` reads only the targets and returns what ``reduction="mean"`` divides by,
   so a gradient can be scaled while it is being produced (:func:`count_targets` and
   :func:`denominator_of_counts` do the same block by block).
3. :func:`compute_block` turns one block of rows (the leading dimension) into its per-element
   losses, the sums of those losses over fixed segments of rows, and its gradient block.
4. :func:`drive` runs the blocks in row order, on threads if asked, and hands each to a
   consumer; :func:`evaluate` keeps them in memory and reduces, ``ce_cli.stream`` writes them to
   files. The per-segment sums are added with ``math.fsum`` (correctly rounded, so independent
   of order), which makes the result identical bit for bit whatever the block size or the number
   of threads.

Reference for the semantics: ``aten/src/ATen/native/LossNLL.cpp`` (``cross_entropy_loss``,
``cross_entropy_loss_label_smoothing``, ``cross_entropy_loss_prob_target``, ``nll_loss``) and
``aten/src/ATen/native/Loss.cpp`` (``binary_cross_entropy``, ``binary_cross_entropy_with_logits``).
"""

from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from .errors import CeLossError

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

# torch clamps each log term of binary_cross_entropy at -100 (Loss.cpp) ...
BCE_LOG_CLAMP = -100.0
# ... and its backward divides by max(p * (1 - p), EPSILON) with EPSILON = 1e-12 held as a float32,
# 9.99999996e-13: torch 2.13 gives d/dp = -1000000003995.8029 at p = 0, t = 1 even in float64.
BCE_GRAD_EPS = float(np.float32(1e-12))

# About this many float64 values of per-element work make one segment of rows whose loss sum is
# kept apart; blocks are whole numbers of segments, so sums do not depend on the block size.
SEGMENT_ELEMENTS = 1 << 14
# Default working set of one block, in float64 values (32 MiB).
BLOCK_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class Problem:
    """A validated loss problem: everything about it except the data of the blocks.

    ``input_shape`` and ``target_shape`` are the shapes as the core sees them: a single sample
    ``(C,)`` of a categorical loss is seen as ``(1, C)`` and a 0-d BCE input as ``(1,)``;
    ``out_shape`` is the shape torch gives ``reduction="none"``.
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
    def segment_rows(self) -> int:
        """Rows per loss-sum segment: fixed by the shape alone, never by the block size."""
        return max(1, SEGMENT_ELEMENTS // max(1, self.row_elements))

    def block_rows(self, elements: int = BLOCK_ELEMENTS) -> int:
        """Rows per block for a working set of about ``elements`` float64 values."""
        seg = self.segment_rows
        return max(1, elements // max(1, self.row_elements * seg)) * seg


@dataclass
class BlockResult:
    """What one block of rows contributes: per-element losses, segment sums, gradient."""

    per_element: np.ndarray
    segment_sums: np.ndarray
    grad: np.ndarray | None


@dataclass
class LossResult:
    """The outcome of :func:`evaluate`.

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


# --------------------------------------------------------------------------------------------
# Validation


def _as_numeric(a, name: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise CeLossError(
            f"{name} has dtype {arr.dtype}; expected real numbers (float or integer)", source=name
        )
    if arr.dtype.kind == "b":
        arr = arr.astype(np.float64)
    return arr


def _where(mask: np.ndarray, offset: int = 0) -> str:
    """The position of the first True of ``mask`` as ``[i, j, ...]``, rows counted from ``offset``."""
    idx = np.unravel_index(int(np.argmax(mask)), mask.shape) if mask.ndim else ()
    idx = list(idx)
    if idx:
        idx[0] += offset
    return "[" + ", ".join(str(int(i)) for i in idx) + "]"


def _fmt(v) -> str:
    v = float(v)
    # isfinite first: int() of NaN or inf raises, which turned these messages into a crash
    if math.isfinite(v) and abs(v) < 1e15 and v == int(v):
        return str(int(v))
    return repr(v)


def _check_option(name: str, value, allowed) -> None:
    if value not in allowed:
        raise CeLossError(
            f"{name} must be one of {', '.join(allowed)}; got {value!r}", source=name
        )


def _param(value, name: str, input_shape: tuple, per_class: int | None) -> np.ndarray | None:
    """Validate ``weight``/``pos_weight`` and return it as float64 with the input's ndim."""
    if value is None:
        return None
    arr = _as_numeric(value, name).astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise CeLossError(
            f"{name}{_where(~np.isfinite(arr))} is {_fmt(arr[~np.isfinite(arr)][0])}; "
            "expected finite numbers",
            source=name,
        )
    if per_class is not None:
        if arr.ndim != 1 or arr.shape[0] != per_class:
            got = f"{arr.shape[0]} entries" if arr.ndim == 1 else f"shape {arr.shape}"
            raise CeLossError(
                f"{name} has {got} but the input has {per_class} classes; "
                f"expected one weight per class",
                source=name,
            )
        return arr
    try:
        shape = np.broadcast_shapes(arr.shape, input_shape)
    except ValueError:
        shape = None
    if shape != tuple(input_shape):
        raise CeLossError(
            f"{name} has shape {arr.shape}, which does not broadcast to the input's shape "
            f"{tuple(input_shape)}",
            source=name,
        )
    return arr.reshape((1,) * (len(input_shape) - arr.ndim) + arr.shape)


def plan(
    loss: str,
    input,
    target,
    *,
    input_kind: str | None = None,
    weight=None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    pos_weight=None,
) -> Problem:
    """Check shapes and options of a loss problem and describe it; values are checked per block."""
    _check_option("loss", loss, LOSSES)
    _check_option("reduction", reduction, REDUCTIONS)
    kind = DEFAULT_INPUT[loss] if input_kind is None else input_kind.replace("_", "-")
    _check_option("input_kind", kind, INPUT_KINDS)
    if kind not in ALLOWED_INPUT[loss]:
        raise CeLossError(
            f"loss {loss!r} takes {' or '.join(ALLOWED_INPUT[loss])} as input, not {kind}",
            source="input_kind",
        )
    try:
        label_smoothing = float(label_smoothing)
    except (TypeError, ValueError):
        raise CeLossError(
            f"label_smoothing must be a number; got {label_smoothing!r}", source="label_smoothing"
        ) from None
    if not 0.0 <= label_smoothing <= 1.0:
        raise CeLossError(
            f"label_smoothing must be between 0.0 and 1.0; got {label_smoothing!r}",
            source="label_smoothing",
        )
    if isinstance(ignore_index, (bool, np.bool_)) or not isinstance(
        ignore_index, (int, np.integer)
    ):
        raise CeLossError(
            f"ignore_index must be an integer; got {ignore_index!r}", source="ignore_index"
        )
    ignore_index = int(ignore_index)
    x = _as_numeric(input, "input")
    t = _as_numeric(target, "target")
    xs, ts = tuple(x.shape), tuple(t.shape)

    if loss in ("bce", "bce-logits"):
        if label_smoothing:
            raise CeLossError(
                f"label_smoothing applies to ce and nll, not {loss}", source="label_smoothing"
            )
        if pos_weight is not None and loss == "bce":
            raise CeLossError("pos_weight applies to bce-logits, not bce", source="pos_weight")
        if ts != xs:
            raise CeLossError(
                f"target has shape {ts} but input has shape {xs}; {loss} needs the same shape",
                source="target",
            )
        shape = xs if xs else (1,)
        return Problem(
            loss=loss,
            input_kind=kind,
            soft=True,
            input_shape=shape,
            target_shape=shape,
            out_shape=xs,
            reduction=reduction,
            ignore_index=ignore_index,
            label_smoothing=0.0,
            weight=_param(weight, "weight", shape, None),
            pos_weight=_param(pos_weight, "pos_weight", shape, None),
        )

    if pos_weight is not None:
        raise CeLossError(f"pos_weight applies to bce-logits, not {loss}", source="pos_weight")
    if x.ndim == 0:
        raise CeLossError(
            "input is a single number; expected class scores of shape (C,), (N, C) "
            "or (N, C, d1, ...)",
            source="input",
        )
    single = x.ndim == 1
    shape = (1,) + xs if single else xs
    n_classes = shape[1]
    if n_classes == 0:
        raise CeLossError(f"input has shape {xs}: no classes", source="input")
    index_shape = (shape[0],) + shape[2:]
    if ts == xs:
        soft = True
        if ignore_index >= 0:
            raise CeLossError(
                f"ignore_index={ignore_index} cannot be used with probability targets "
                "(target has the input's shape); as in torch it must be negative",
                source="ignore_index",
            )
        tshape = shape
    elif ts == (xs[:1] + xs[2:] if not single else ()):
        soft = False
        tshape = index_shape
    else:
        want_index = "()" if single else str(xs[:1] + xs[2:])
        raise CeLossError(
            f"target has shape {ts} but input has shape {xs}; expected {want_index} for "
            f"class indices or {xs} for class probabilities",
            source="target",
        )
    return Problem(
        loss=loss,
        input_kind=kind,
        soft=soft,
        input_shape=shape,
        target_shape=tshape,
        out_shape=xs[:1] + xs[2:] if not single else (),
        reduction=reduction,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        weight=_param(weight, "weight", shape, n_classes),
    )


def _check_block(p: Problem, x: np.ndarray, t: np.ndarray, offset: int) -> None:
    """Raise CeLossError for the first value of a block that the loss cannot take."""
    nan = np.isnan(x)
    if nan.any():
        raise CeLossError(f"input{_where(nan, offset)} is NaN", source="input")
    if p.input_kind == "probs":
        bad = (x < 0) | (x > 1)
        if bad.any():
            raise CeLossError(
                f"input{_where(bad, offset)} is {_fmt(x[bad][0])}; expected probabilities "
                "between 0 and 1",
                source="input",
            )
    elif p.loss == "bce-logits":
        bad = np.isinf(x)
        if bad.any():
            raise CeLossError(
                f"input{_where(bad, offset)} is {_fmt(x[bad][0])}; expected finite logits",
                source="input",
            )
    else:
        bad = x == np.inf
        if bad.any():
            raise CeLossError(
                f"input{_where(bad, offset)} is inf; expected finite {p.input_kind}",
                source="input",
            )
        if p.input_kind == "logits":
            dead = np.all(x == -np.inf, axis=1)
            if dead.any():
                raise CeLossError(
                    f"input{_where(dead, offset)}: every class logit is -inf; "
                    "the softmax is undefined",
                    source="input",
                )

    if p.soft:
        tnan = ~np.isfinite(t)
        if tnan.any():
            raise CeLossError(
                f"target{_where(tnan, offset)} is {_fmt(t[tnan][0])}; expected finite "
                "probabilities",
                source="target",
            )
        if not p.categorical:
            bad = (t < 0) | (t > 1)
            if bad.any():
                raise CeLossError(
                    f"target{_where(bad, offset)} is {_fmt(t[bad][0])}; {p.loss} expects "
                    "targets between 0 and 1",
                    source="target",
                )
        return

    if t.dtype.kind == "f":
        frac = ~np.isfinite(t) | (t != np.round(t))
        if frac.any():
            raise CeLossError(
                f"target{_where(frac, offset)} is {_fmt(t[frac][0])}; expected a whole class "
                f"index in 0..{p.n_classes - 1}",
                source="target",
            )
    c = p.n_classes
    bad = ((t < 0) | (t >= c)) & (t != p.ignore_index)
    if bad.any():
        v = t[bad][0]
        hint = None
        if v == c and t.min() >= 1:
            hint = "the labels look 1-based; subtract 1 so they run from 0"
        raise CeLossError(
            f"target{_where(bad, offset)} is class {_fmt(v)}, outside 0..{c - 1} "
            f"({c} classes)" + (f"; ignore_index is {p.ignore_index}" if v < 0 else ""),
            source="target",
            hint=hint,
        )


# --------------------------------------------------------------------------------------------
# Reduction denominators


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
    c = p.n_classes
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
    total = sum(int(n) * m << (e - lo) for n, m, e in zip(counts[nz].tolist(), mant, exp))
    try:
        # int / int is correctly rounded in Python
        return total / (1 << -lo) if lo < 0 else float(total << lo)
    except OverflowError:
        return math.copysign(math.inf, total)


# --------------------------------------------------------------------------------------------
# Per-block maths


def _class_view(v: np.ndarray, ndim: int) -> np.ndarray:
    """A per-class vector shaped to broadcast along dimension 1 of an ``ndim``-d array."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


# 2-d logits with fewer classes than this are computed class-major (a transposed float64 copy),
# so every step is one long vectorised loop over rows; with more, row by row.
CLASS_MAJOR_BELOW = 64
# Logits are exponentiated as they are, without first subtracting the row max (two passes
# saved), on every row whose sum of exponentials lands within [SUM_LO, SUM_HI]: there no term
# that matters is subnormal and 1 / sum is safe. Other rows (logits beyond about +-230, a NaN,
# an inf) are redone shifted by their max, as logsumexp does.
SUM_LO, SUM_HI = 1e-100, 1e100
# float32 logits (64 classes or more, no smoothing, no negative weight) have the exponentials of
# their loss taken in float32, the cost of the common big case; see _nll_float32 for why that
# keeps every loss within 3.1e-7 of exact. (Their gradient is float64 throughout.) A row whose off-target sum of exponentials is under (C - 1) * F32_SUM_FLOOR
# goes the float64 way: float32 exponentials below FLT_MIN (each off by at most FLT_MIN = 1.2e-38)
# could otherwise move it by more than 1.2e-10 of itself.
F32_SUM_FLOOR = 1e-28
# Losses below this are recomputed from the other classes' share (log1p), not log(1 + L).
SMALL_LOSS = 1e-4
# Scratch buffers up to this many float64 values are kept per thread and reused from block to
# block (a fresh one costs a page fault per 4 KiB, as much as the arithmetic on it); drive()
# drops them when it returns.
SCRATCH_ELEMENTS = 1 << 19
_scratch = threading.local()


def _scratch_buffer(shape: tuple) -> np.ndarray:
    """An uninitialised float64 array of ``shape``, reused by the calling thread when small."""
    n = math.prod(shape)
    if n > SCRATCH_ELEMENTS:
        return np.empty(shape)
    buf = getattr(_scratch, "buf", None)
    if buf is None or buf.size < n:
        buf = _scratch.buf = np.empty(max(n, 1 << 16))
    return buf[:n].reshape(shape)


def _index_targets(p: Problem, t: np.ndarray):
    """Cheap look at a block's index targets: ``(ok, all_counted)``.

    ``ok`` False means some target may be neither a class nor ignore_index (the full check then
    finds which); ``all_counted`` means no target is ignore_index.
    """
    if t.dtype.kind not in "iu":
        return False, False
    if t.size == 0:
        return True, True
    c, ign = p.n_classes, p.ignore_index
    lo, hi = t.min(), t.max()
    if lo >= 0 and hi < c:
        return True, not (0 <= ign < c and (t == ign).any())
    ok = not (((t < 0) | (t >= c)) & (t != ign)).any()
    return ok, False


def _sum_classes(z: np.ndarray) -> np.ndarray:
    """Sum a class-major (C, n) array over classes, in class order for every n.

    For n == 1 NumPy would sum the single column pairwise instead, so a one-row block would round
    differently from the same row inside a bigger block.
    """
    if z.shape[1] != 1:
        return np.add.reduce(z, axis=0)
    s = z[0].copy()
    for row in z[1:]:
        s += row
    return s


@functools.cache
def _float32_exp_ok() -> bool:
    """Whether this NumPy's float32 ``exp`` keeps the bound ``_nll_float32`` relies on.

    Measured on every float32 input from -104 to 89 with NumPy 2.4 on x86-64: 2.54 ulp (3.03e-7)
    on its AVX-512 and AVX2 paths, 0.50 ulp on the baseline one. Other builds (other CPUs, other
    NumPy versions) are probed once per process on 16,384 inputs across the range (0.2 ms); one
    beyond the bound sends everything to the float64 path.
    """
    x = np.linspace(-87.0, 88.7, 1 << 14, dtype=np.float32)
    err = np.abs(np.exp(x).astype(np.float64) / np.exp(x.astype(np.float64)) - 1.0)
    return bool(err.max() <= 3.04e-7)


def _nll_float32(x: np.ndarray, ti: np.ndarray, rows: np.ndarray, x_t: np.ndarray):
    """``-log_softmax(x)_t`` of float32 logits from float32 exponentials: ``(nll, ok)``.

    ``nll = log1p(S * exp(-x_t))`` with ``S = sum_{c != t} exp(x_c)``: each float32 ``exp`` is
    within 3.03e-7 of exact (see _float32_exp_ok), the sum and the rest are float64, and
    ``log1p`` passes the relative error of ``S`` on to the loss at most unchanged
    (``y / ((1 + y) log1p(y)) <= 1``). So every accepted loss is within 3.1e-7 of exact, however
    small: the target's own exponential never enters the float32 sum, and a loss of 1e-9 keeps
    its digits. ``ok`` is False where that argument does not
    hold (an exponential overflowed or underflowed, a logit is not finite); those rows are for
    the float64 path.
    """
    r, c = x.shape
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        z = _scratch_buffer((r, c))
        np.exp(x, out=z, dtype=np.float32)  # float32 exponentials, stored as float64
        z.reshape(-1)[rows * c + ti] = 0.0
        s = z.sum(axis=1)
        nll = np.log1p(s * np.exp(-x_t))
        ok = (s >= (c - 1) * F32_SUM_FLOOR) & np.isfinite(nll) & np.isfinite(x_t)
    return nll, ok


def _ce_logits_index_2d(
    p: Problem, x: np.ndarray, t: np.ndarray, start: int, want_grad: bool, scale: float,
    grad_dtype, fast32: bool = True,
):
    """Cross-entropy of (n, C) logits with class-index targets: the common big case, made fast.

    The maths of the general path, ``loss = a (L - x_t) + b (W L - sum_c w_c x_c)`` with
    ``L = logsumexp(x)``, arranged for speed: no max-subtraction pass (see SUM_LO), validation
    read off the sums of exponentials (a NaN, a +inf or an all--inf row shows there), no gradient
    buffer unless asked, a reused scratch buffer, and for few classes a class-major layout. Every
    value depends on its own row only, never on the block around it, so results do not depend
    on the block size.
    """
    r, c = x.shape
    eps = p.label_smoothing
    w = p.weight
    ok, all_counted = _index_targets(p, t)
    if not ok:
        _check_block(p, x, t, start)  # raises, naming the first bad value

    rows = np.arange(r)
    if all_counted:
        valid = None
        ti = t.astype(np.intp, copy=False)
        wt = 1.0 if w is None else w[ti]
        b = eps / c  # per-class factor of the smoothing mass (times w_c)
    else:
        valid = t != p.ignore_index
        ti = np.where(valid, t, 0).astype(np.intp, copy=False)
        wt = valid.astype(np.float64) if w is None else np.where(valid, w[ti], 0.0)
        b = (eps / c) * valid
    a = (1.0 - eps) * wt  # mass on the target class; 0 where ignored
    w_total = float(c) if w is None else float(np.sum(w))
    x_t = (x.reshape(-1)[rows * c + ti] if x.flags.c_contiguous else x[rows, ti])
    x_t = x_t.astype(np.float64)

    class_major = c < CLASS_MAJOR_BELOW
    # (few classes stay on the float64 path: there the transposition, not exp, is the cost)
    if (fast32 and not class_major and x.dtype == np.float32 and eps == 0
            and (w is None or not (w < 0).any()) and _float32_exp_ok()):
        nll, ok = _nll_float32(x, ti, rows, x_t)
        with np.errstate(invalid="ignore"):  # 0 * inf on rows redone below
            loss = a * nll
        redo = np.flatnonzero(~ok)  # rows the float32 argument does not cover
        g = None
        if want_grad or (redo.size and not np.isfinite(x[redo]).all()):
            # the float64 path: for the gradient (float32 exponentials would lose the relative
            # precision of entries below 1e-38), and for the whole block when a row holds a NaN
            # or inf, so that an error names its true position
            whole, g = _ce_logits_index_2d(p, x, t, start, want_grad, scale, grad_dtype, False)
            loss[redo] = whole[redo]
        elif redo.size:
            loss[redo] = _ce_logits_index_2d(p, x[redo], t[redo], start, False, 1.0, None,
                                             False)[0]
        if valid is not None:
            loss = np.where(valid, loss, 0.0)
        return loss, g
    if class_major:
        z = _scratch_buffer((c, r))  # the gradient, if any, is written transposed to a new array
        np.copyto(z, x.T)
        xz = z
    else:
        # the gradient is z itself when it is wanted in float64, so z is then a fresh array
        keep_z = want_grad and grad_dtype is None
        z = np.empty((r, c)) if keep_z else _scratch_buffer((r, c))
        xz = x
    if eps > 0:
        # the smoothing term wants L - max and sum_c w_c (x_c - max): passes made only here
        if class_major:
            m = np.maximum.reduce(z, axis=0)
            d = z - m
            wz = _sum_classes(d if w is None else d * w[:, None])
        else:
            m = x.max(axis=1).astype(np.float64)
            d = np.subtract(x, m[:, None], dtype=np.float64)
            wz = d.sum(axis=1) if w is None else (d * w).sum(axis=1)
        del d
    with np.errstate(over="ignore", invalid="ignore"):
        if xz.dtype == np.float64:
            np.exp(xz, out=z)
        else:
            np.copyto(z, xz)
            np.exp(z, out=z)
    s = _sum_classes(z) if class_major else z.sum(axis=1)  # sum_c exp(x_c - sh); sh = 0 ...
    sh = 0.0
    redo = np.flatnonzero(~((s >= SUM_LO) & (s <= SUM_HI)))  # ... but on these rows (NaN too)
    if redo.size:
        x_o = x[redo]
        m_o = x_o.max(axis=1)
        if not np.isfinite(m_o).all():
            _check_block(p, x, t, start)
        m_o = m_o.astype(np.float64)
        z_o = np.subtract(x_o, m_o[:, None], dtype=np.float64)
        np.exp(z_o, out=z_o)
        if class_major:
            z[:, redo] = z_o.T
        else:
            z[redo] = z_o
        s[redo] = z_o.sum(axis=1)
        sh = np.zeros(r)
        sh[redo] = m_o
    # -log_softmax(x)_t = log(s * exp(sh - x_t)); where that overflows the loss is large and the
    # plain difference is exact enough
    with np.errstate(over="ignore"):
        u = s * np.exp(sh - x_t if np.ndim(sh) else np.negative(x_t))
    nll = np.log(u)
    big = np.isinf(u)
    if big.any():
        nll[big] = (np.log(s) + sh - x_t)[big]
    # u = 1 + L carries an absolute error of ~2e-16, too much for a loss L near 0 (the target
    # dominates): there L = log1p(sum of the other classes' exp(x_c - x_t)), which keeps every
    # digit, as the float32 path does (rows computed on their own: nothing depends on the block)
    small = np.flatnonzero(nll < SMALL_LOSS)
    if small.size:
        k = np.arange(small.size)
        if class_major:
            z_s = np.ascontiguousarray(z[:, small])  # C order: summed class by class
            z_s[ti[small], k] = 0.0
            s_off = _sum_classes(z_s)
        else:
            z_s = z[small]
            z_s[k, ti[small]] = 0.0
            s_off = z_s.sum(axis=1)
        sh_s = sh if np.ndim(sh) == 0 else sh[small]
        with np.errstate(over="ignore", invalid="ignore"):
            nll[small] = np.log1p(s_off * np.exp(sh_s - x_t[small]))
    # a loss is never negative; a few ulps of rounding in u could say otherwise
    np.maximum(nll, 0.0, out=nll)

    # ignored elements count 0 even when their (placeholder) target logit is -inf, as in torch
    with np.errstate(invalid="ignore"):
        loss = nll if (np.ndim(a) == 0 and a == 1.0) else a * nll
        if eps > 0:
            lse_m = np.maximum(np.log(s * np.exp(sh - m)), 0.0)  # L - max >= 0
            loss += b * (w_total * lse_m - wz)
    if valid is not None:
        loss = np.where(valid, loss, 0.0)
    if not want_grad:
        return loss, None
    if math.isnan(scale):
        counted = np.ones(r, dtype=bool) if valid is None else valid
        g = _nan_where_divided(np.empty((r, c)), counted, ti[:, None], whole_rows=True)
        return loss, g if grad_dtype is None else g.astype(grad_dtype)

    # d loss / d x = softmax(x) * (a + b W) - a onehot(t) - b w, all times scale, where
    # softmax(x) = z / s whatever shift z carries
    coef = np.broadcast_to((a + b * w_total) * scale, (r,))
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        k = coef / s
        # s may be as small as SUM_LO: with extreme weights, normalise first, then weigh
        odd = ~np.isfinite(k) | ((np.abs(k) < 1e-290) & (coef != 0))
    bs = np.broadcast_to(b * scale, (r,))
    if class_major:
        z *= k
        if odd.any():
            z[:, odd] = z[:, odd] / s[odd] * coef[odd]
        if eps > 0:
            z -= bs if w is None else np.multiply.outer(w, bs)
        z[ti, rows] -= a * scale
        g = np.empty((r, c), dtype=np.float64 if grad_dtype is None else grad_dtype)
        np.copyto(g, z.T)
        return loss, g
    if odd.any():
        z *= np.where(odd, 1.0 / s, k)[:, None]
        z[odd] *= coef[odd][:, None]
    else:
        z *= k[:, None]
    if eps > 0:
        z -= bs[:, None] if w is None else np.multiply.outer(bs, w)
    z[rows, ti] -= a * scale
    if grad_dtype is not None:
        return loss, z.astype(grad_dtype)
    return loss, z


def _categorical(p: Problem, x: np.ndarray, t: np.ndarray, want_grad: bool, scale: float):
    """Per-element loss and gradient of one block of ce/nll, any input kind and target kind.

    With ``v`` the per-element target mass (``w_c * y'_c`` for probability targets with
    ``y' = (1 - eps) y + eps / C``; ``(1 - eps) w_t`` at the target class plus ``eps / C * w_c``
    on every class for index targets; zero on ignored elements), every variant is
    ``loss = -sum_c v_c * log q_c`` where ``log q`` is ``log_softmax(x)``, ``log(x)`` or ``x``.
    """
    eps = p.label_smoothing
    c = p.n_classes
    nd = x.ndim
    w = p.weight
    w_b = None if w is None else _class_view(w, nd)
    w_total = float(c) if w is None else float(np.sum(w))

    if p.soft:
        y = t.astype(np.float64)
        if eps > 0:
            y = y * (1.0 - eps) + eps / c
        v = y if w_b is None else y * w_b
        valid = None
    else:
        valid = t != p.ignore_index
        ti = np.where(valid, t, 0).astype(np.intp, copy=False)
        tt = ti[:, None]
        wt = np.ones(ti.shape) if w is None else w[ti]
        wt = np.where(valid, wt, 0.0)  # weight of each element's target, 0 where ignored
        a = (1.0 - eps) * wt  # mass on the target class
        b = (eps / c) * valid  # per-class factor of the smoothing mass (times w_c)

    if p.input_kind == "logits":
        z = x.astype(np.float64)  # a private copy: shifted, exponentiated and scaled in place
        m = z.max(axis=1, keepdims=True)
        z -= m  # subtract the row max so exp() cannot overflow (logsumexp)
        if p.soft:
            s_v = v.sum(axis=1)  # S = sum_c v_c
            vz = np.einsum("nc...,nc...->n...", v, z) if nd > 2 else np.einsum("nc,nc->n", v, z)
        else:
            z_t = np.take_along_axis(z, tt, axis=1)[:, 0]
            if eps > 0:
                wz = z.sum(axis=1) if w_b is None else np.einsum("nc...,c->n...", z, w)
        np.exp(z, out=z)
        sumexp = z.sum(axis=1)
        log_s = np.log(sumexp)  # log_softmax(x)_c = z_c - log_s
        if p.soft:
            loss = s_v * log_s - vz
        else:
            # ignored elements count 0 even when their (placeholder) target logit is -inf
            with np.errstate(invalid="ignore"):
                loss = a * (log_s - z_t)
                if eps > 0:
                    loss += b * (w_total * log_s - wz)
            if not valid.all():
                loss = np.where(valid, loss, 0.0)
        if not want_grad:
            return loss, None
        # d loss / d x = softmax(x) * S - v, with S = sum_c v_c
        z /= sumexp[:, None]
        if p.soft:
            z *= s_v[:, None]
            z -= v
        else:
            z *= (a + b * w_total)[:, None]
            if eps > 0:
                z -= b[:, None] * (1.0 if w_b is None else w_b)
            cur = np.take_along_axis(z, tt, axis=1)
            np.put_along_axis(z, tt, cur - a[:, None], axis=1)
            if math.isnan(scale):
                return loss, _nan_where_divided(z, valid, tt, whole_rows=True)
        if scale != 1.0:
            z *= scale
        return loss, z

    # probs or log-probs: the log-probabilities are log(x) or x itself, with no normalisation
    xf = x.astype(np.float64, copy=False)
    probs = p.input_kind == "probs"
    if p.soft:
        vnz = v != 0
        if probs:
            with np.errstate(divide="ignore"):
                lq = np.log(xf)
        else:
            lq = xf
        # 0 * log 0 counts as 0: a class with no target mass adds nothing, even at probability 0
        # (np.where discards the NaN of 0 * -inf; errstate keeps it from warning the caller)
        with np.errstate(invalid="ignore"):
            loss = -np.sum(np.where(vnz, v * lq, 0.0), axis=1)
        if not want_grad:
            return loss, None
        g = -v
        if probs:
            with np.errstate(divide="ignore", invalid="ignore"):
                g = np.where(vnz, g / xf, 0.0)  # d(-v log s)/ds = -v / s
    else:
        x_t = np.take_along_axis(xf, tt, axis=1)[:, 0]
        # ignored elements (a = b = 0) may sit on log 0: np.where drops the NaN of 0 * -inf
        with np.errstate(divide="ignore", invalid="ignore"):
            lq_t = np.log(x_t) if probs else x_t
            loss = np.where(a != 0, -a * lq_t, 0.0)
            if eps > 0:
                lq = np.log(xf) if probs else xf
                wlq = lq.sum(axis=1) if w_b is None else np.einsum("nc...,c->n...", lq, w)
                loss = loss + np.where(b != 0, -b * wlq, 0.0)
        if not want_grad:
            return loss, None
        g = np.zeros(xf.shape)
        if eps > 0:
            g -= b[:, None] * (1.0 if w_b is None else w_b)
        cur = np.take_along_axis(g, tt, axis=1)
        np.put_along_axis(g, tt, cur - a[:, None], axis=1)
        if probs:
            with np.errstate(divide="ignore", invalid="ignore"):
                g = np.where(g != 0, g / xf, 0.0)
        if math.isnan(scale):
            return loss, _nan_where_divided(g, valid, tt, whole_rows=eps > 0)
    if scale != 1.0:
        g *= scale
    return loss, g


def _nan_where_divided(g: np.ndarray, valid: np.ndarray, tt: np.ndarray, whole_rows: bool):
    """The gradient of a mean whose weight sum is 0 although some targets count, as torch has it.

    nll_loss's backward divides by the total weight (0), so every entry it touches is NaN: the
    target entries of counted elements, and their whole rows once log_softmax or label smoothing
    spreads them; entries of ignored elements stay 0.
    """
    if whole_rows:
        touched = np.broadcast_to(valid[:, None], g.shape)
    else:
        touched = np.zeros(g.shape, dtype=bool)
        np.put_along_axis(touched, tt, valid[:, None], axis=1)
    return np.where(touched, np.nan, 0.0)


def _binary(p: Problem, x: np.ndarray, t: np.ndarray, w, pw, want_grad: bool, scale: float):
    """Per-element loss and gradient of one block of bce or bce-logits."""
    xf = x.astype(np.float64, copy=False)
    tf = t.astype(np.float64, copy=False)
    if p.loss == "bce":
        with np.errstate(divide="ignore"):
            # torch clamps each log at -100 so p = 0 or 1 gives a finite loss (Loss.cpp)
            log_p = np.maximum(np.log(xf), BCE_LOG_CLAMP)
            log_1mp = np.maximum(np.log1p(-xf), BCE_LOG_CLAMP)
        loss = (tf - 1.0) * log_1mp - tf * log_p
        if w is not None:
            loss = loss * w
        if not want_grad:
            return loss, None
        # torch's binary_cross_entropy_backward: (p - t) / max(p (1 - p), 1e-12)
        g = (xf - tf) / np.maximum((1.0 - xf) * xf, BCE_GRAD_EPS)
    else:
        e = np.exp(-np.abs(xf))
        # log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)), finite for any finite x
        log_sig = np.minimum(xf, 0.0) - np.log1p(e)
        lw = 1.0 if pw is None else 1.0 + (pw - 1.0) * tf
        loss = (1.0 - tf) * xf - lw * log_sig
        if w is not None:
            loss = loss * w
        if not want_grad:
            return loss, None
        # d/dx = (1 - t) - lw * sigmoid(-x); sigmoid(-x) from exp(-|x|) so it never overflows
        sig_neg = np.where(xf >= 0, e / (1.0 + e), 1.0 / (1.0 + e))
        g = (1.0 - tf) - lw * sig_neg
    if w is not None:
        g = g * w
    if scale != 1.0:
        g = g * scale
    return loss, g


def _rows(param: np.ndarray | None, start: int, stop: int):
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
) -> BlockResult:
    """Validate and compute rows ``start:start+len(x_block)`` of a problem.

    ``scale`` multiplies the gradient (``1 / denominator`` for ``reduction="mean"``). The rows of
    the block must begin at a multiple of ``p.segment_rows`` for the sums to be block-independent.
    The gradient is float64, or rounded to ``grad_dtype`` when one is given (the same values as
    rounding the float64 gradient afterwards, without a float64 copy of the block).
    """
    x = np.asarray(x_block)
    t = np.asarray(t_block)
    if x.dtype.kind == "b":
        x = x.astype(np.float64)
    stop = start + x.shape[0]
    if (p.categorical and p.input_kind == "logits" and not p.soft and x.ndim == 2
            and x.dtype.kind == "f"):
        loss, g = _ce_logits_index_2d(p, x, t, start, want_grad, scale, grad_dtype)
    else:
        _check_block(p, x, t, start)
        if p.categorical:
            loss, g = _categorical(p, x, t, want_grad, scale)
        else:
            loss, g = _binary(
                p, x, t, _rows(p.weight, start, stop), _rows(p.pos_weight, start, stop),
                want_grad, scale,
            )
        if g is not None and grad_dtype is not None:
            g = g.astype(grad_dtype, copy=False)
    n = loss.shape[0]
    if n:
        row_sums = loss if loss.ndim == 1 else loss.reshape(n, -1).sum(axis=1)
        seg = np.add.reduceat(row_sums, np.arange(0, n, p.segment_rows))
    else:
        seg = np.zeros(0)
    return BlockResult(per_element=loss, segment_sums=seg, grad=g)


# --------------------------------------------------------------------------------------------
# Driver


def block_bounds(p: Problem, block_rows: int | None = None) -> Iterator[tuple[int, int]]:
    """The (start, stop) row ranges of the blocks; sizes are rounded to whole segments."""
    n = p.n_rows
    seg = p.segment_rows
    rows = p.block_rows() if block_rows is None else max(seg, -(-int(block_rows) // seg) * seg)
    for start in range(0, n, rows):
        yield start, min(n, start + rows)


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
    if p.reduction != "mean":
        return 1.0
    # A zero weight sum makes the mean 0/0 = NaN; the gradient then follows torch (see
    # _nan_where_divided): NaN where nll_loss's backward divides by it, 0 on ignored elements.
    return 1.0 / denom if denom != 0 else math.nan


def evaluate(
    loss: str,
    input,
    target,
    *,
    input_kind: str | None = None,
    weight=None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    pos_weight=None,
    grad: bool = False,
    per_element: bool | None = None,
    block_rows: int | None = None,
) -> LossResult:
    """Compute a loss, its per-element values and, on request, its gradient, in one pass.

    ``loss`` is one of ``"ce"``, ``"nll"``, ``"bce"``, ``"bce-logits"``; ``input_kind`` says what
    ``input`` holds for the categorical losses (``"logits"``, ``"probs"``, ``"log-probs"``). Other
    arguments are those of ``torch.nn.functional``. ``per_element`` defaults to
    ``reduction == "none"``.

    Returns a :class:`LossResult`.

    >>> r = evaluate("ce", [[2.0, 0.0], [0.0, 2.0]], [0, 1], grad=True)
    >>> round(r.loss, 6), r.grad.shape
    (0.126928, (2, 2))
    """
    p = plan(
        loss, input, target, input_kind=input_kind, weight=weight, ignore_index=ignore_index,
        reduction=reduction, label_smoothing=label_smoothing, pos_weight=pos_weight,
    )
    x = _as_numeric(input, "input").reshape(p.input_shape)
    t = _as_numeric(target, "target").reshape(p.target_shape)
    keep = (reduction == "none") if per_element is None else per_element
    counts = count_targets(p, t)
    denom = denominator_of_counts(p, counts)
    scale = grad_scale(p, denom)
    pe = np.empty((p.n_rows,) + p.input_shape[2:] if p.categorical else p.input_shape) if keep else None
    g = np.empty(p.input_shape) if grad else None

    def consume(start: int, stop: int, r: BlockResult) -> None:
        if keep:
            pe[start:stop] = r.per_element
        if grad:
            g[start:stop] = r.grad

    total = drive(p, x, t, want_grad=grad, scale=scale, block_rows=block_rows, consume=consume)
    return LossResult(
        problem=p,
        loss=reduce_total(p, total, denom),
        total=total,
        denominator=denom,
        per_element=None if pe is None else pe.reshape(p.out_shape),
        grad=None if g is None else g.reshape(np.shape(input)),
        target_counts=counts,
    )


def drive(
    p: Problem,
    x,
    t,
    *,
    want_grad: bool = False,
    scale: float = 1.0,
    block_rows: int | None = None,
    workers: int = 1,
    grad_dtype=None,
    consume=None,
) -> float:
    """Compute every block of a planned problem in row order and return the summed loss.

    ``x`` and ``t`` have the shapes ``p.input_shape`` and ``p.target_shape``; they may be
    read-only memory maps, of which only the rows of the blocks in flight are read.
    ``consume(start, stop, result)`` receives each :class:`BlockResult` in row order, in the
    calling thread. With ``workers > 1`` the blocks are computed on that many threads (NumPy
    releases the GIL), at most ``2 * workers`` blocks ahead of ``consume``: memory stays bounded.

    The total is ``math.fsum`` of the per-segment sums, so it is the same bit for bit whatever
    ``block_rows`` and ``workers``; errors surface from the first bad block in row order.
    """
    bounds = block_bounds(p, block_rows)
    sums: list[np.ndarray] = []

    def work(b: tuple[int, int]) -> BlockResult:
        start, stop = b
        return compute_block(p, x[start:stop], t[start:stop], start, want_grad=want_grad,
                             scale=scale, grad_dtype=grad_dtype)

    def take(b: tuple[int, int], r: BlockResult) -> None:
        sums.append(r.segment_sums)
        if consume is not None:
            consume(b[0], b[1], r)

    if workers <= 1:
        try:
            for b in bounds:
                take(b, work(b))
        finally:
            _scratch.__dict__.pop("buf", None)  # keep no scratch after the call
    else:
        _drive_threads(bounds, work, take, workers)
    return math.fsum(np.concatenate(sums)) if sums else 0.0


class _Job:
    """One block handed to a worker thread, and what came of it."""

    __slots__ = ("bounds", "done", "result", "error")

    def __init__(self, bounds: tuple[int, int]):
        self.bounds = bounds
        self.done = threading.Event()
        self.result = None
        self.error: BaseException | None = None


def _drive_threads(bounds, work, take, workers: int) -> None:
    """``take(b, work(b))`` for every block in order, ``work`` run on ``workers`` threads.

    At most ``2 * workers`` blocks are in flight. A plain pool of threads rather than
    concurrent.futures, whose import (logging with it) costs about 4 ms of every big run.
    """
    import queue
    from collections import deque

    tasks: queue.SimpleQueue = queue.SimpleQueue()
    stop = False

    def serve() -> None:
        while True:
            job = tasks.get()
            if job is None:
                return
            if not stop:
                try:
                    job.result = work(job.bounds)
                except BaseException as e:  # handed to the calling thread, in row order
                    job.error = e
            job.done.set()

    threads = [threading.Thread(target=serve, name=f"ce-loss-{i}", daemon=True)
               for i in range(workers)]
    for th in threads:
        th.start()
    try:
        ahead: deque = deque()
        for b in bounds:
            ahead.append(_Job(b))
            tasks.put(ahead[-1])
            if len(ahead) >= 2 * workers:
                break
        while ahead:
            job = ahead.popleft()
            job.done.wait()
            if job.error is not None:
                raise job.error
            nxt = next(bounds, None)
            if nxt is not None:  # keep the workers busy while this block is consumed
                ahead.append(_Job(nxt))
                tasks.put(ahead[-1])
            result, job.result = job.result, None
            take(job.bounds, result)
            del result
    finally:
        stop = True  # blocks not yet started are skipped
        for _ in threads:
            tasks.put(None)
        for th in threads:
            th.join()


# --------------------------------------------------------------------------------------------
# torch.nn.functional's names


def cross_entropy(
    input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0
):
    """Cross-entropy of logits, as ``torch.nn.functional.cross_entropy``.

    ``loss_n = -sum_c w_c y_nc log_softmax(x_n)_c`` with ``y`` the one-hot class (index targets)
    or the given probabilities, each mixed with the uniform distribution by ``label_smoothing``
    (``y' = (1 - eps) y + eps / C``).

    Parameters: ``input`` (C,), (N, C) or (N, C, d1, ...) logits; ``target`` class indices of
    shape (), (N,) or (N, d1, ...), or probabilities of the input's shape; ``weight`` (C,);
    ``reduction`` "mean" (divides by the summed weight of the non-ignored targets, or by the
    number of samples for probability targets), "sum" or "none".

    Returns a float, or for ``reduction="none"`` a float64 array of shape (), (N,) or (N, d1, ...).

    >>> round(cross_entropy([[3.4, 1.5, 0.4, 0.1]], [0]), 6)
    0.212074
    """
    return evaluate(
        "ce", input, target, weight=weight, ignore_index=ignore_index, reduction=reduction,
        label_smoothing=label_smoothing,
    ).value


def cross_entropy_probs(
    input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0
):
    """Categorical cross-entropy of probabilities: ``E = -sum_c y_c log(s_c)``.

    ``input`` holds probabilities ``s`` in [0, 1], used as they are (not renormalised); the
    gradient is ``-y / s``. Targets, ``weight``, ``ignore_index``, ``label_smoothing`` and
    ``reduction`` follow :func:`cross_entropy` exactly, with ``log(s)`` in place of
    ``log_softmax(x)``. A class with no target mass adds nothing, even where ``s_c = 0``.

    >>> round(cross_entropy_probs([[0.25, 0.75]], [1]), 6)
    0.287682
    """
    return evaluate(
        "ce", input, target, input_kind="probs", weight=weight, ignore_index=ignore_index,
        reduction=reduction, label_smoothing=label_smoothing,
    ).value


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities, as ``torch.nn.functional.nll_loss``.

    ``loss_n = -w_{t_n} x_{n, t_n}``; ``mean`` divides by the summed weight of the non-ignored
    targets. Shapes as :func:`cross_entropy`. ce-loss also accepts probability targets here
    (``-sum_c w_c y_c x_c``), which torch's nll_loss does not.

    >>> nll_loss([[-0.5, -1.0]], [1])
    1.0
    """
    return evaluate(
        "nll", input, target, weight=weight, ignore_index=ignore_index, reduction=reduction
    ).value


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """Binary cross-entropy of probabilities, as ``torch.nn.functional.binary_cross_entropy``.

    ``loss = -w [t log(p) + (1 - t) log(1 - p)]``, each log clamped at -100 as torch does, so
    probabilities of exactly 0 and 1 give finite values. ``weight`` broadcasts against the input;
    ``mean`` divides by the number of elements.

    >>> round(binary_cross_entropy([0.1582, 0.4139, 0.2287], [0.0, 1.0, 0.0]), 6)
    0.438007
    """
    return evaluate("bce", input, target, weight=weight, reduction=reduction).value


def binary_cross_entropy_with_logits(
    input, target, weight=None, reduction="mean", pos_weight=None
):
    """BCE of logits, as ``torch.nn.functional.binary_cross_entropy_with_logits``.

    ``loss = w [(1 - t) x - (1 + (pw - 1) t) log(sigmoid(x))]``, computed as
    ``log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|))`` so logits of +-1e4 stay exact.
    ``pos_weight`` broadcasts along the last dimension, ``weight`` against the input.

    >>> round(binary_cross_entropy_with_logits([1.7], [1.0]), 6)
    0.167786
    """
    return evaluate(
        "bce-logits", input, target, weight=weight, reduction=reduction, pos_weight=pos_weight
    ).value


def _grad(loss, input_kind, input, target, **kw):
    return evaluate(loss, input, target, input_kind=input_kind, grad=True, **kw).grad


def cross_entropy_grad(
    input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0
):
    """Gradient of :func:`cross_entropy` with respect to ``input`` (the input's shape, float64).

    For ``reduction="none"`` it is the gradient of the sum of the per-element losses, as
    ``loss.sum().backward()`` gives in torch.
    """
    return _grad(
        "ce", "logits", input, target, weight=weight, ignore_index=ignore_index,
        reduction=reduction, label_smoothing=label_smoothing,
    )


def cross_entropy_probs_grad(
    input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0
):
    """Gradient of :func:`cross_entropy_probs` with respect to the probabilities: ``-y / s``."""
    return _grad(
        "ce", "probs", input, target, weight=weight, ignore_index=ignore_index,
        reduction=reduction, label_smoothing=label_smoothing,
    )


def nll_loss_grad(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Gradient of :func:`nll_loss` with respect to the log-probabilities."""
    return _grad(
        "nll", "log-probs", input, target, weight=weight, ignore_index=ignore_index,
        reduction=reduction,
    )


def binary_cross_entropy_grad(input, target, weight=None, reduction="mean"):
    """Gradient of :func:`binary_cross_entropy`; torch's ``(p - t) / max(p (1 - p), 1e-12)``."""
    return _grad("bce", "probs", input, target, weight=weight, reduction=reduction)


def binary_cross_entropy_with_logits_grad(
    input, target, weight=None, reduction="mean", pos_weight=None
):
    """Gradient of :func:`binary_cross_entropy_with_logits`: ``w [(1 - t) - lw sigmoid(-x)]``."""
    return _grad(
        "bce-logits", "logits", input, target, weight=weight, reduction=reduction,
        pos_weight=pos_weight,
    )
