"""Cross-entropy of (n, C) logits with class-index targets: the common big case, made fast.

The maths of the general path (:mod:`ce_cli.core.categorical`),
``loss = a (L - x_t) + b (W L - sum_c w_c x_c)`` with ``L = logsumexp(x)``, ``a = (1 - eps) w_t``
and ``b = eps / C``, arranged for speed: no max-subtraction pass (see SUM_LO), validation read
off the sums of exponentials (a NaN, a +inf or an all--inf row shows there), no gradient buffer
unless asked, a reused scratch buffer, for few classes a class-major layout, and for float32
logits float32 exponentials (:func:`_float32_path`). Every value depends on its own row only,
never on the block around it, so results do not depend on the block size.
"""

from __future__ import annotations

import functools
import math
import threading

import numpy as np

from .categorical import nan_where_divided
from .checks import check_block
from .problem import Problem

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
# keeps every loss within 3.1e-7 of exact. (Their gradient is float64 throughout.) A row whose
# off-target sum of exponentials is under (C - 1) * F32_SUM_FLOOR goes the float64 way: float32
# exponentials below FLT_MIN (each off by at most FLT_MIN = 1.2e-38) could otherwise move it by
# more than 1.2e-10 of itself.
F32_SUM_FLOOR = 1e-28
# Losses below this are recomputed from the other classes' share (log1p), not log(1 + L).
SMALL_LOSS = 1e-4
# Scratch buffers up to this many float64 values are kept per thread and reused from block to
# block (a fresh one costs a page fault per 4 KiB, as much as the arithmetic on it); the engine
# drops them when a run ends (release_scratch).
SCRATCH_ELEMENTS = 1 << 20
_scratch = threading.local()


def scratch_buffer(shape: tuple) -> np.ndarray:
    """An uninitialised float64 array of ``shape``, reused by the calling thread when small."""
    n = math.prod(shape)
    if n > SCRATCH_ELEMENTS:
        return np.empty(shape)
    buf = getattr(_scratch, "buf", None)
    if buf is None or buf.size < n:
        buf = _scratch.buf = np.empty(max(n, 1 << 16))
    return buf[:n].reshape(shape)


def scratch_bytes(name: str, size: int) -> np.ndarray:
    """An uninitialised uint8 array of ``size`` bytes, reused by the calling thread under
    ``name`` when small (the metrics' buffers, see :mod:`ce_cli.core.metrics_blocks`)."""
    if size > SCRATCH_ELEMENTS * 16:  # (room for the row padding of a float64 block)
        return np.empty(size, dtype=np.uint8)
    buf = _scratch.__dict__.get(name)
    if buf is None or buf.size < size:
        buf = _scratch.__dict__[name] = np.empty(size, dtype=np.uint8)
    return buf[:size]


def row_sums64(e: np.ndarray) -> np.ndarray:
    """The float64 sums of the rows of float32 ``e``, added exactly as the sums of their
    float64 copies: cast on the fly as NumPy sums them (no copy written) where a row fits
    NumPy's buffer and a probe finds that order the copies' (:func:`cast_sum_exact`), else
    from float64 copies."""
    n, c = e.shape
    if cast_sum_exact(c, np.getbufsize()):
        return np.add.reduce(e, axis=1, dtype=np.float64)
    z = scratch_buffer((n, c))
    np.copyto(z, e)
    return z.sum(axis=1)


@functools.cache
def cast_sum_exact(c: int, bufsize: int) -> bool:
    """Whether summing float32 rows of ``c`` values with ``dtype=float64`` adds them in the
    order a sum of their float64 copies does: NumPy casts them through a buffer of
    ``bufsize`` values (the current one), a whole row at a time when it fits, then sums each
    row pairwise as it would the copy. Probed once per row length and buffer size. (Rows longer
    than the buffer are not cast on the fly: a larger buffer set for them summed in another
    order with NumPy 2.0.)"""
    if c > bufsize:
        return False
    rows = max(4, 2 * bufsize // c + 1)  # (more than one buffer's worth)
    e = np.exp(np.random.default_rng(c).standard_normal((rows, c), dtype=np.float32) * 8)
    cast = np.add.reduce(e, axis=1, dtype=np.float64)
    return bool(np.array_equal(cast, e.astype(np.float64).sum(axis=1)))


def release_scratch() -> None:
    """Drop the calling thread's scratch buffers (keep no scratch after a run)."""
    _scratch.__dict__.clear()


def applies(p: Problem, x: np.ndarray) -> bool:
    """Whether a block is for this path: 2-d float logits with class-index targets."""
    return (
        p.categorical
        and p.input_kind == "logits"
        and not p.soft
        and x.ndim == 2
        and x.dtype.kind == "f"
    )


def _index_targets(p: Problem, t: np.ndarray):
    """Cheap look at a block's index targets: ``(ok, all_counted)``.

    ``ok`` False means some target may be neither a class nor ignore_index (the full check then
    finds which); ``all_counted`` means no target is ignore_index.
    """
    if t.dtype.kind not in "iu":
        return False, False
    if t.size == 0:
        return True, True
    c, ign = p.n_classes or 0, p.ignore_index
    lo, hi = t.min(), t.max()
    if lo >= 0 and hi < c:
        return True, not (0 <= ign < c and (t == ign).any())
    ok = not (((t < 0) | (t >= c)) & (t != ign)).any()
    return ok, False


def sum_classes(z: np.ndarray) -> np.ndarray:
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


class _Rows:
    """The targets of a block as per-row masses: ``a`` on the target class, ``b w_c`` on all."""

    # a plain class, not a dataclass: making a dataclass costs ~1.5 ms of every run's start-up
    __slots__ = (
        "rows",
        "ti",
        "valid",
        "a",
        "b",
        "w_total",
        "x_t",
    )

    def __init__(
        self,
        rows: np.ndarray,
        ti: np.ndarray,
        valid: np.ndarray | None,
        a: np.ndarray | float,
        b: np.ndarray | float,
        w_total: float,
        x_t: np.ndarray,
    ):
        self.rows = rows
        self.ti = ti
        self.valid = valid
        self.a = a
        self.b = b
        self.w_total = w_total
        self.x_t = x_t


def _prepare(p: Problem, x: np.ndarray, t: np.ndarray, start: int) -> _Rows:
    r, c = x.shape
    eps, w = p.label_smoothing, p.weight
    ok, all_counted = _index_targets(p, t)
    if not ok:
        check_block(p, x, t, start)  # raises, naming the first bad value
    valid: np.ndarray | None
    rows = np.arange(r)
    if all_counted:
        valid = None
        ti = t.astype(np.intp, copy=False)
        wt = 1.0 if w is None else w[ti]
        b = eps / c
    else:
        valid = t != p.ignore_index
        ti = np.where(valid, t, 0).astype(np.intp, copy=False)
        wt = valid.astype(np.float64) if w is None else np.where(valid, w[ti], 0.0)
        b = (eps / c) * valid
    x_t = x.reshape(-1)[rows * c + ti] if x.flags.c_contiguous else x[rows, ti]
    return _Rows(
        rows,
        ti,
        valid,
        (1.0 - eps) * wt,
        b,
        float(c) if w is None else float(np.sum(w)),
        x_t.astype(np.float64),
    )


# The gradient request of a block that wants none: (want_grad, scale, grad_dtype).
NO_GRAD = (False, 1.0, None)


def ce_logits_index_2d(
    p: Problem, x: np.ndarray, t: np.ndarray, start: int, grad: tuple, stats=None
):
    """Per-element loss and gradient of a block of (n, C) logits: ``(loss, grad or None)``.

    ``grad``: ``(want_grad, scale, grad_dtype)``, see :func:`ce_cli.core.blocks.compute_block`.
    ``stats``: None, or a :class:`ce_cli.core.rowstats.RowStats` request that the kernel fills
    in with its per-row by-products where its path has them (the metrics' observer asks).
    """
    w = p.weight
    # (few classes stay on the float64 path: there the transposition, not exp, is the cost)
    if (
        x.shape[1] >= CLASS_MAJOR_BELOW
        and x.dtype == np.float32
        and p.label_smoothing == 0
        and (w is None or not (w < 0).any())
        and _float32_exp_ok()
    ):
        r = _prepare(p, x, t, start)
        return _float32_path(p, x, t, start, r, grad, stats)
    return _float64_path(p, x, t, start, grad, stats)


def _nll_float32(x: np.ndarray, r: _Rows, stats):
    """``-log_softmax(x)_t`` of float32 logits from float32 exponentials: ``(nll, ok)``.

    ``nll = log1p(S * exp(-x_t))`` with ``S = sum_{c != t} exp(x_c)``: each float32 ``exp`` is
    within 3.03e-7 of exact (see _float32_exp_ok), the sum and the rest are float64, and
    ``log1p`` passes the relative error of ``S`` on to the loss at most unchanged
    (``y / ((1 + y) log1p(y)) <= 1``). So every accepted loss is within 3.1e-7 of exact, however
    small: the target's own exponential never enters the float32 sum, and a loss of 1e-9 keeps
    its digits. ``ok`` is False where that argument does not hold (an exponential overflowed or
    underflowed, a logit is not finite); those rows are for the float64 path.
    """
    n, c = x.shape
    x_t = r.x_t
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        if stats is None and cast_sum_exact(c, np.getbufsize()):
            e = scratch_bytes("exp32", 4 * n * c).view(np.float32).reshape(n, c)
            np.exp(x, out=e)
            e.reshape(-1)[r.rows * c + r.ti] = 0.0
            s = row_sums64(e)
        elif stats is None:  # long rows: float64 exponentials written, then summed
            z = scratch_buffer((n, c))
            np.exp(x, out=z, dtype=np.float32)  # float32 exponentials, stored as float64
            z.reshape(-1)[r.rows * c + r.ti] = 0.0
            s = z.sum(axis=1)
        else:  # the same sums, and the metrics' by-products measured on the way
            from .rowstats import sums_float32

            s, e_t = sums_float32(stats, x, (r.ti, x_t))
        nll = np.log1p(s * np.exp(-x_t))
        ok = (s >= (c - 1) * F32_SUM_FLOOR) & np.isfinite(nll) & np.isfinite(x_t)
    if stats is not None:
        from .rowstats import fill_float32

        fill_float32(stats, x, s, e_t, ok, (r.ti, x_t, r.valid))
    return nll, ok


def _float32_path(
    p: Problem, x: np.ndarray, t: np.ndarray, start: int, r: _Rows, grad: tuple, stats
):
    """The loss from float32 exponentials; rows it does not cover, and the gradient, float64.

    ``grad``: ``(want_grad, scale, grad_dtype)``."""
    want_grad = grad[0]
    nll, ok = _nll_float32(x, r, stats)
    with np.errstate(invalid="ignore"):  # 0 * inf on rows redone below
        loss = r.a * nll
    redo = np.flatnonzero(~ok)  # rows the float32 argument does not cover
    g = None
    if want_grad or (redo.size and not np.isfinite(x[redo]).all()):
        # the float64 path: for the gradient (float32 exponentials would lose the relative
        # precision of entries below 1e-38), and for the whole block when a row holds a NaN
        # or inf, so that an error names its true position
        whole, g = _float64_path(p, x, t, start, grad)
        loss[redo] = whole[redo]
    elif redo.size:
        loss[redo] = _float64_path(p, x[redo], t[redo], start, NO_GRAD)[0]
    if r.valid is not None:
        loss = np.where(r.valid, loss, 0.0)
    return loss, g


def _float64_path(p: Problem, x: np.ndarray, t: np.ndarray, start: int, grad: tuple, stats=None):
    """Everything in float64: ``L = log(sum_c exp(x_c - sh)) + sh``, ``sh = 0`` on most rows.

    ``grad`` as for :func:`ce_logits_index_2d`; ``stats`` are filled for float64 logits in
    memory order (else the metrics measure)."""
    want_grad, scale, grad_dtype = grad
    r = _prepare(p, x, t, start)
    class_major = x.shape[1] < CLASS_MAJOR_BELOW
    z, xz = _work_buffer(x, class_major, want_grad and grad_dtype is None)
    eps = p.label_smoothing
    if eps > 0:
        m, wz = _smoothing_sums(x, z, p.weight, class_major)
    s, sh = _exp_sums(p, x, t, start, z, xz, class_major)
    if stats is not None and not class_major and x.dtype == np.float64:
        from .rowstats import fill_float64

        fill_float64(stats, x, z, s, sh, (r.ti, r.x_t, r.valid))
    nll = _nll(s, sh, r, z, class_major)
    # ignored elements count 0 even when their (placeholder) target logit is -inf, as in torch
    with np.errstate(invalid="ignore"):
        loss = nll if (np.ndim(r.a) == 0 and r.a == 1.0) else r.a * nll
        if eps > 0:
            lse_m = np.maximum(np.log(s * np.exp(sh - m)), 0.0)  # L - max >= 0
            loss += r.b * (r.w_total * lse_m - wz)
    if r.valid is not None:
        loss = np.where(r.valid, loss, 0.0)
    if not want_grad:
        return loss, None
    if math.isnan(scale):
        n, c = x.shape
        counted = np.ones(n, dtype=bool) if r.valid is None else r.valid
        g = nan_where_divided(np.empty((n, c)), counted, r.ti[:, None], whole_rows=True)
        return loss, g if grad_dtype is None else g.astype(grad_dtype)
    return loss, _gradient(p, z, s, r, scale, grad_dtype, class_major)


def _work_buffer(x: np.ndarray, class_major: bool, keep_z: bool):
    """The float64 buffer the exponentials go to, and the logits as read into it: ``(z, xz)``.

    Class-major: a transposed copy (the gradient, if any, is written back to a new array).
    Row-major: ``z`` becomes the gradient when it is wanted in float64, so it is then fresh.
    """
    r, c = x.shape
    if class_major:
        z = scratch_buffer((c, r))
        np.copyto(z, x.T)
        return z, z
    return (np.empty((r, c)) if keep_z else scratch_buffer((r, c))), x


def _smoothing_sums(x: np.ndarray, z: np.ndarray, w, class_major: bool):
    """The row max ``m`` and ``sum_c w_c (x_c - m)``: the passes only label smoothing needs."""
    if class_major:
        m = np.maximum.reduce(z, axis=0)
        d = z - m
        return m, sum_classes(d if w is None else d * w[:, None])
    m = x.max(axis=1).astype(np.float64)
    d = np.subtract(x, m[:, None], dtype=np.float64)
    return m, (d.sum(axis=1) if w is None else (d * w).sum(axis=1))


def _exp_sums(
    p: Problem,
    x: np.ndarray,
    t: np.ndarray,
    start: int,
    z: np.ndarray,
    xz: np.ndarray,
    class_major: bool,
):
    """``z = exp(x - sh)`` and its row sums ``s``: ``(s, sh)``, ``sh`` 0 but on extreme rows."""
    with np.errstate(over="ignore", invalid="ignore"):
        if xz.dtype == np.float64:
            np.exp(xz, out=z)
        else:
            np.copyto(z, xz)
            np.exp(z, out=z)
    s = sum_classes(z) if class_major else z.sum(axis=1)  # sum_c exp(x_c - sh); sh = 0 ...
    redo = np.flatnonzero(~((s >= SUM_LO) & (s <= SUM_HI)))  # ... but on these rows (NaN too)
    if not redo.size:
        return s, 0.0
    x_o = x[redo]
    m_o = x_o.max(axis=1)
    if not np.isfinite(m_o).all():
        check_block(p, x, t, start)
    m_o = m_o.astype(np.float64)
    z_o = np.subtract(x_o, m_o[:, None], dtype=np.float64)
    np.exp(z_o, out=z_o)
    if class_major:
        z[:, redo] = z_o.T
    else:
        z[redo] = z_o
    s[redo] = z_o.sum(axis=1)
    sh = np.zeros(x.shape[0])
    sh[redo] = m_o
    return s, sh


def _nll(s: np.ndarray, sh, r: _Rows, z: np.ndarray, class_major: bool) -> np.ndarray:
    """``-log_softmax(x)_t = log(s * exp(sh - x_t))``, every digit kept for small losses."""
    x_t = r.x_t
    # where that product overflows the loss is large and the plain difference is exact enough
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
            z_s[r.ti[small], k] = 0.0
            s_off = sum_classes(z_s)
        else:
            z_s = z[small]
            z_s[k, r.ti[small]] = 0.0
            s_off = z_s.sum(axis=1)
        sh_s = sh if np.ndim(sh) == 0 else sh[small]
        with np.errstate(over="ignore", invalid="ignore"):
            nll[small] = np.log1p(s_off * np.exp(sh_s - x_t[small]))
    # a loss is never negative; a few ulps of rounding in u could say otherwise
    np.maximum(nll, 0.0, out=nll)
    return nll


def _gradient(
    p: Problem, z: np.ndarray, s: np.ndarray, r: _Rows, scale: float, grad_dtype, class_major: bool
) -> np.ndarray:
    """``d loss / d x = softmax(x) (a + b W) - a onehot(t) - b w``, all times ``scale``.

    ``softmax(x) = z / s`` whatever shift ``z`` carries; ``z`` is overwritten.
    """
    n = s.shape[0]
    coef = np.broadcast_to((r.a + r.b * r.w_total) * scale, (n,))
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        k = coef / s
        # s may be as small as SUM_LO: with extreme weights, normalise first, then weigh
        odd = ~np.isfinite(k) | ((np.abs(k) < 1e-290) & (coef != 0))
    bs = np.broadcast_to(r.b * scale, (n,))
    w = p.weight
    if class_major:
        z *= k
        if odd.any():
            z[:, odd] = z[:, odd] / s[odd] * coef[odd]
        if p.label_smoothing > 0:
            z -= bs if w is None else np.multiply.outer(w, bs)
        z[r.ti, r.rows] -= r.a * scale
        g = np.empty((n, z.shape[0]), dtype=np.float64 if grad_dtype is None else grad_dtype)
        np.copyto(g, z.T)
        return g
    if odd.any():
        z *= np.where(odd, 1.0 / s, k)[:, None]
        z[odd] *= coef[odd][:, None]
    else:
        z *= k[:, None]
    if p.label_smoothing > 0:
        z -= bs[:, None] if w is None else np.multiply.outer(bs, w)
    z[r.rows, r.ti] -= r.a * scale
    return z if grad_dtype is None else z.astype(grad_dtype)
