"""One block's contribution to the metrics (:mod:`ce_cli.core.metrics`): pure per-block maths.

Every value is computed per sample from its own row, then counted (integers) or summed per
fixed segment of rows with ``np.bincount`` (in sample order), so nothing depends on the block.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..errors import CeLossError
from ..settings import MetricsSettings
from .fast2d import scratch_bytes
from .metrics import _BRIER, _ENTROPY, _NLL, _SCALARS, _Part
from .problem import BlockResult, Problem
from .rowstats import top_k_hits


def _class_last(a: np.ndarray, c: int) -> np.ndarray:
    """(n, C, d1, ...) as (samples, C), samples in the order of the per-element values."""
    if a.ndim == 2:
        return a
    return np.moveaxis(a.reshape(a.shape[0], c, -1), 1, 2).reshape(-1, c)


def _segments(p: Problem, n_rows: int, per_row: int) -> tuple[np.ndarray, int]:
    """Each sample's segment within the block, and how many segments the block has."""
    return _segments_of(p.segment_rows, n_rows, per_row)


@functools.lru_cache(maxsize=8)
def _segments_of(seg_rows: int, n_rows: int, per_row: int) -> tuple[np.ndarray, int]:
    # the same for every full block of a run: made once
    seg = np.arange(n_rows) // seg_rows
    if per_row != 1:
        seg = np.repeat(seg, per_row)
    seg.flags.writeable = False
    return seg, -(-n_rows // seg_rows)


@functools.cache
def _inner_edges(bins: int) -> np.ndarray:
    """linspace(0, 1, bins + 1) without its first edge."""
    edges = np.linspace(0.0, 1.0, bins + 1)[1:]
    edges.flags.writeable = False  # shared by every block
    return edges


def _bin_index(conf: np.ndarray, bins: int) -> np.ndarray:
    """torchmetrics' bucketize(right=True) - 1 on linspace(0, 1, bins + 1), clamped to 0 (for
    a confidence below 0): a confidence of exactly 1 (or above, or NaN) is bin ``bins``.
    (The edges above the first one count ``bucketize - 1`` directly.)"""
    idx = np.searchsorted(_inner_edges(bins), conf, side="right")
    return np.minimum(idx, bins, out=idx)


def _floats(nseg, seg, scalars: dict, conf_bins) -> np.ndarray:
    """The block's float sums per segment (rows): scalars, confidence per bin.

    One ``bincount`` over all of them: each sum still adds its own values in sample order,
    as one ``bincount`` per sum would.
    """
    idx, conf, bins = conf_bins
    width = _SCALARS + bins + 1
    base = seg * width
    keys = [base + col for col in scalars]
    values = list(scalars.values())
    keys.append(base + (_SCALARS + idx))
    values.append(conf)
    flat = np.bincount(np.concatenate(keys), np.concatenate(values), minlength=nseg * width)
    return flat.reshape(nseg, width)


# Row sums are taken in buffers whose rows sit at the same alignment (mod ALIGN bytes) as
# their global sample index would give: NumPy's vectorised sums peel to alignment, so a row's
# rounding would otherwise depend on where its block put it.
ALIGN = 64


class _RowSums:
    """Row sums (and sums of products) of a block whose first sample is sample ``first`` of
    the run, rounded the same whatever the block; float64 results.

    The buffers are the calling thread's scratch (:func:`fast2d.scratch_bytes`), reused from
    block to block: a fresh one costs a page fault per 4 KiB, as much as the sum itself. Slot
    ``"e"`` holds the exponentials (kept while their products are summed), ``"tmp"`` the rest.
    """

    def __init__(self, first: int):
        self.pad = first % ALIGN

    def _placed(self, shape: tuple, dtype, slot: str = "tmp") -> np.ndarray:
        n, c = shape
        item = np.dtype(dtype).itemsize
        size = (n + self.pad) * c * item
        raw = scratch_bytes(slot, size + ALIGN)
        off = -raw.ctypes.data % ALIGN
        whole = raw[off : off + size].view(dtype).reshape(n + self.pad, c)
        return whole[self.pad :]

    def _is_placed(self, a: np.ndarray) -> bool:
        """Whether ``a``'s rows already sit where :meth:`_placed` would put them."""
        shift = self.pad * a.shape[1] * a.itemsize
        return a.flags.c_contiguous and (a.ctypes.data - shift) % ALIGN == 0

    def sum(self, a: np.ndarray) -> np.ndarray:
        if not self._is_placed(a):  # (the exponentials are: no copy of them)
            out = self._placed(a.shape, a.dtype)
            out[...] = a
            a = out
        return a.sum(axis=1).astype(np.float64)

    def dot(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = self._placed(a.shape, np.result_type(a, b))
        return np.multiply(a, b, out=out).sum(axis=1).astype(np.float64)

    def exp(self, z: np.ndarray) -> np.ndarray:
        return np.exp(z, out=self._placed(z.shape, z.dtype, "e"))


def _shift(xs: np.ndarray, x_max: np.ndarray) -> np.ndarray | None:
    """What to subtract from each row before ``exp``: nothing (None: one pass saved) when no
    row's squared exponentials can overflow and none's largest is subnormal, else 0 for such
    rows and the row max for the others. Decided row by row, so a row's values never depend on
    the rows that share its block."""
    info = np.finfo(xs.dtype)
    hi = (np.log(info.max / max(1, xs.shape[1]))) / 2 - 1
    lo = np.log(info.tiny) / 2 + 1
    safe = (x_max < hi) & (x_max > lo)
    if safe.all():
        return None
    return np.where(safe, 0.0, x_max)


@dataclass
class _Rows:
    """Per-sample values of a block: top-label confidence, nll of the target and, when asked
    (``dense``), entropy, sum of squared probabilities and the target's probability mass."""

    conf: np.ndarray
    nll: np.ndarray | None
    entropy: np.ndarray | None = None
    sumsq: np.ndarray | None = None
    p_target: np.ndarray | None = None


def _rows_of_logits(xs, x_max, tgt, pe, sums: _RowSums, dense: bool) -> _Rows:
    """Logits: nothing exponentiated unless ``dense`` (logsumexp = x_t + the engine's nll).

    Dense: ``e = exp(x - max)`` in the input's dtype (float32 exponentials for float32 logits,
    as the loss's own fast path), ``s = sum e``; ``p = e / s``, ``log p = x - max - log s``.
    """
    x_t, ts = tgt
    if pe is not None and not dense:
        # (a confidence a rounding above 1 would count in no bin of its own)
        return _Rows(conf=np.minimum(np.exp(x_max - (x_t + pe)), 1.0), nll=pe)
    shift = _shift(xs, x_max)
    if shift is None:
        z, shift = xs, np.zeros_like(x_max)
    else:  # logsumexp with the max subtracted where exp could overflow
        z = xs - shift[:, None].astype(xs.dtype)
    e = sums.exp(z)
    s = sums.sum(e)
    log_s = np.log(s)
    lse = shift + log_s
    r = _Rows(conf=np.exp(x_max - lse), nll=None if ts is not None else lse - x_t)
    if not dense:
        return r
    r.entropy = log_s - sums.dot(e, z) / s
    r.sumsq = sums.dot(e, e) / (s * s)
    if ts is None:
        r.p_target = np.exp(x_t - lse)
    else:
        r.p_target = sums.dot(e, ts) / s
        r.nll = log_s * sums.sum(ts) - sums.dot(ts, z)  # -sum_c t_c log p_c
    return r


def _rows_of_probs(kind: str, xs, x_max, tgt, sums: _RowSums, dense: bool) -> _Rows:
    """Probabilities or log-probabilities as given (not renormalised); 0 log 0 counts 0."""
    x_t, ts = tgt
    if kind == "log-probs":
        probs, logp = np.exp(xs), xs
        r = _Rows(conf=np.exp(x_max), nll=None if x_t is None else -x_t)
    else:
        probs, logp = xs, np.log(np.where(xs > 0, xs, 1))
        r = _Rows(conf=x_max, nll=None if x_t is None else -np.log(x_t))
    if not dense:
        return r
    zero = probs == 0
    logp = np.where(zero, 0, logp) if zero.any() else logp  # -inf log-probs of p = 0
    r.entropy = -sums.dot(probs, logp)
    r.sumsq = sums.dot(probs, probs)
    if ts is None:
        r.p_target = np.exp(x_t) if kind == "log-probs" else x_t
    else:
        r.p_target = sums.dot(probs, ts)
        r.nll = -sums.dot(ts, logp) + np.where((ts > 0) & zero, np.inf, 0).sum(axis=1)
    return r


def _targets(p: Problem, t, c: int):
    """``(ts, tcls, valid)``: probability targets (samples, C) or None, the target class of
    each sample (0 where ignored; the argmax of a probability target) and which count."""
    if p.soft:
        ts = _class_last(np.asarray(t), c).astype(np.float64)
        return ts, ts.argmax(axis=1), np.ones(ts.shape[0], dtype=bool)
    ti = np.asarray(t).reshape(-1)
    valid = ti != p.ignore_index
    return None, np.where(valid, ti, 0).astype(np.intp), valid


def _scalars(p: Problem, s: MetricsSettings, xs, tgt, pred, pe, first: int):
    """The samples' confidence and float values to sum: nll and, with --metrics, entropy and
    the Brier term. ``tgt``: (probability targets or None, target classes); ``first``: the
    run's index of the block's first sample."""
    ts, tcls = tgt
    rows = np.arange(xs.shape[0])
    x_max = xs[rows, pred].astype(np.float64)
    x_t = None if ts is not None else xs[rows, tcls].astype(np.float64)
    plain = p.weight is None and p.label_smoothing == 0  # the engine's values are the nll
    dense = s.summary or ts is not None
    sums = _RowSums(first)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        if p.input_kind == "logits":
            r = _rows_of_logits(xs, x_max, (x_t, ts), pe if plain else None, sums, dense)
        else:
            r = _rows_of_probs(p.input_kind, xs, x_max, (x_t, ts), sums, dense)
    scalars = {_NLL: pe if (ts is not None and plain) else r.nll}
    if dense:
        assert r.sumsq is not None and r.p_target is not None
        scalars[_ENTROPY] = r.entropy
        brier = r.sumsq - 2 * r.p_target + (1.0 if ts is None else sums.dot(ts, ts))
        c = xs.shape[1]
        scalars[_BRIER] = brier * (0.5 if c < 3 else 1.0)  # scikit-learn's scale_by_half="auto"
    return r.conf, scalars


def _scalars_of_stats(p: Problem, s: MetricsSettings, xs, st, tgt, pe, first: int):
    """As :func:`_scalars`, from the loss kernel's by-products ``st`` (:mod:`.rowstats`):
    no pass over the block. Rows they do not cover are measured by :func:`_scalars`."""
    tcls, x_t = tgt
    plain = p.weight is None and p.label_smoothing == 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        # (a confidence a rounding above 1 would count in no bin of its own)
        if plain:  # the engine's values are the nll
            nll, conf = pe, np.minimum(np.exp(st.x_max - (x_t + pe)), 1.0)
        else:
            nll, conf = st.lse - x_t, np.minimum(np.exp(st.x_max - st.lse), 1.0)
        scalars = {_NLL: nll}
        if s.summary:
            scalars[_ENTROPY] = st.lse - st.mean_x
            brier = st.sum_p2 - 2 * st.p_t + 1.0
            scalars[_BRIER] = brier * (0.5 if xs.shape[1] < 3 else 1.0)  # as _scalars
    if st.ok is not None:
        bad = np.flatnonzero(~st.ok)
        # (nothing of a row depends on the rows around it: these are measured on their own)
        conf_b, sc_b = _scalars(p, s, xs[bad], (None, tcls[bad]), st.pred[bad], pe[bad], first)
        conf[bad] = conf_b
        for key, val in sc_b.items():
            scalars[key] = val if key not in scalars else _put(scalars[key], bad, val)
    return conf, scalars


def _put(a: np.ndarray, at: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``a`` with ``values`` at ``at`` (a copy: ``a`` may be the engine's own array)."""
    a = a.copy()
    a[at] = values
    return a


def _target_probability(p: Problem, st, pe: np.ndarray) -> np.ndarray | None:
    """Each sample's probability of its target where known without a pass (else None)."""
    if st is not None and st.p_t is not None and st.ok is None:
        return st.p_t
    if p.input_kind == "logits" and not p.soft and p.weight is None and p.label_smoothing == 0:
        with np.errstate(over="ignore"):
            return np.exp(-pe)  # the engine's values are -log p(target)
    return None


class Samples:
    """A ce/nll block's per-sample values, measured on the worker thread and counted later,
    several blocks at once (:func:`join`, :func:`categorical_part`): ``conf`` the top-label
    confidence, ``scalars`` the float values to sum by segment, ``tcls``/``pred`` the target
    and predicted classes, ``valid`` which count (None: all), ``pe`` the losses, ``top_k``
    the top-k hits counted, ``n_rows`` rows of ``per_row`` samples."""

    # a plain class, not a dataclass: making a dataclass costs start-up time
    __slots__ = ("conf", "scalars", "tcls", "pred", "valid", "pe", "top_k", "n_rows", "per_row")

    def __init__(self, conf, scalars: dict, cls: tuple, valid, pe, top_k: int, rows: tuple):
        self.conf, self.scalars, self.pe, self.top_k = conf, scalars, pe, top_k
        self.tcls, self.pred = cls
        self.valid = valid
        self.n_rows, self.per_row = rows


def categorical_samples(p: Problem, s: MetricsSettings, x, t, start: int, block: BlockResult):
    """The per-sample values of one block of a ce/nll problem (:class:`Samples`)."""
    c = int(p.n_classes or 0)
    xs = _class_last(np.asarray(x), c)
    pe = np.asarray(block.per_element, dtype=np.float64).reshape(-1)
    per_row = xs.shape[0] // max(1, np.shape(x)[0])
    st = block.rows_stats  # the loss kernel's by-products, when its path has them
    if st is not None:  # (index targets: the kernel's reading of them)
        ts, tcls, x_t = None, st.ti, st.x_t
        v = st.valid  # (None: every target counts)
        pred = st.pred
        conf, scalars = _scalars_of_stats(p, s, xs, st, (tcls, x_t), pe, start * per_row)
    else:
        ts, tcls, v = _targets(p, t, c)
        x_t = None if ts is not None else xs[np.arange(xs.shape[0]), tcls].astype(np.float64)
        pred = xs.argmax(axis=1)
        conf, scalars = _scalars(p, s, xs, (ts, tcls), pred, pe, start * per_row)
    hit_count = 0
    if s.top_k is not None:
        if x_t is None:
            x_t = xs[np.arange(xs.shape[0]), tcls].astype(np.float64)
        hits = st.top_k_hits if st is not None else None
        if hits is None:
            hits = top_k_hits(xs, x_t, tcls, s.top_k, _target_probability(p, st, pe))
        hit_count = int(np.count_nonzero(hits if v is None else hits & v))
    if v is not None and v.all():
        v = None
    return Samples(conf, scalars, (tcls, pred), v, pe, hit_count, (np.shape(x)[0], per_row))


def join(parts: list[Samples]) -> Samples:
    """The samples of consecutive blocks as one (in row order)."""
    if len(parts) == 1:
        return parts[0]
    cat = np.concatenate
    valid = None
    if any(q.valid is not None for q in parts):
        valid = cat([np.ones(q.tcls.size, bool) if q.valid is None else q.valid for q in parts])
    return Samples(
        cat([q.conf for q in parts]),
        {k: cat([q.scalars[k] for q in parts]) for k in parts[0].scalars},
        (cat([q.tcls for q in parts]), cat([q.pred for q in parts])),
        valid,
        cat([q.pe for q in parts]),
        sum(q.top_k for q in parts),
        (sum(q.n_rows for q in parts), parts[0].per_row),
    )


def categorical_part(p: Problem, s: MetricsSettings, groups: int, q: Samples) -> _Part:
    """Counts and sums of the samples ``q`` of whole consecutive blocks (from the start of a
    segment) of a ce/nll problem: the same whatever blocks they came in."""
    c = int(p.n_classes or 0)
    v = q.valid
    tcls, pred, conf = q.tcls, q.pred, q.conf
    correct = pred == tcls if v is None else (pred == tcls) & v
    sel = slice(None) if v is None else v  # (no copies when every target counts)
    ints = {}
    if s.top_k is not None:
        ints["top_k"] = np.array([q.top_k])
    idx = _bin_index(conf, s.bins)
    ints["counts"] = _counts(s, c, (idx[sel], correct[sel], tcls[sel], pred[sel]))
    seg, nseg = _segments(p, q.n_rows, q.per_row)
    sc = {k: val[sel] for k, val in q.scalars.items()}
    grp = (tcls[sel], q.pe[sel]) if groups else None
    return _Part(ints, _floats(nseg, seg[sel], sc, (idx[sel], conf[sel], s.bins)), grp)


def _counts(s: MetricsSettings, c: int, cols: tuple) -> np.ndarray:
    """Every count of a block's samples that count, by one ``bincount`` (few NumPy calls per
    block: with two worker threads each call may wait for the GIL). ``cols``: each sample's
    confidence bin, whether it is correct, its target and predicted class. Laid out as
    :func:`unpack_counts` reads them: (bin, correct) pairs, then per class (target, correct)
    pairs and predictions if asked, then the confusion matrix if asked."""
    idx, correct, tcls, pred = cols
    keys = [idx * 2 + correct]
    size = 2 * (s.bins + 1)
    if s.per_class or s.plot:
        keys += [tcls * 2 + (correct + size), pred + (size + 2 * c)]
        size += 3 * c
    if s.confusion or s.save_confusion:
        keys.append(tcls * c + (pred + size))
        size += c * c
    return np.bincount(keys[0] if len(keys) == 1 else np.concatenate(keys), minlength=size)


def unpack_counts(s: MetricsSettings, c: int, counts: np.ndarray) -> dict:
    """The named counts of :func:`_counts`' layout (summed over blocks): ``n``, ``correct``,
    per bin ``bin_count`` and ``bin_correct``, per class ``support``, ``hits`` and
    ``predicted``, and ``confusion`` (flat), as asked."""
    size = 2 * (s.bins + 1)
    pairs = counts[:size].reshape(-1, 2)
    ints = {"bin_count": pairs.sum(axis=1), "bin_correct": pairs[:, 1].copy()}
    ints["n"] = np.array([ints["bin_count"].sum()])  # (every sample is in one bin)
    ints["correct"] = np.array([ints["bin_correct"].sum()])
    if s.per_class or s.plot:
        cls = counts[size : size + 2 * c].reshape(-1, 2)
        ints["support"], ints["hits"] = cls.sum(axis=1), cls[:, 1].copy()
        ints["predicted"] = counts[size + 2 * c : size + 3 * c].copy()
        size += 3 * c
    if s.confusion or s.save_confusion:
        ints["confusion"] = counts[size : size + c * c].copy()
    return ints


def _labels_of(p: Problem, n_rows: int) -> tuple[np.ndarray, int]:
    """Each element's label (its index along dimension 1; 0 for a 1-D input), and how many."""
    shape = p.input_shape
    if len(shape) < 2:
        return np.zeros(n_rows, dtype=np.intp), 1
    inner = int(np.prod(shape[2:], dtype=np.int64))
    one_row = np.repeat(np.arange(shape[1]), inner)
    return np.tile(one_row, n_rows), int(shape[1])


def _hard_targets(p: Problem, tv: np.ndarray, start: int) -> None:
    """--confusion counts 0/1 labels: a soft target has no cell to go to."""
    bad = (tv != 0) & (tv != 1)
    if bad.any():
        where = int(np.argmax(bad.reshape(-1)))
        raise CeLossError(
            f"needs targets of 0 or 1 for {p.loss}; the target holds "
            f"{float(tv.reshape(-1)[where])!r} (element {where} of block row {start})",
            input="confusion",
            value=float(tv.reshape(-1)[where]),
            expected="0 or 1",
        )


def binary_part(
    p: Problem, s: MetricsSettings, groups: int, x, t, start: int, block: BlockResult
) -> _Part:
    """Counts and sums of one block of a bce/bce-logits problem (every element a sample)."""
    xf = np.asarray(x, dtype=np.float64).reshape(-1)
    tv = np.asarray(t, dtype=np.float64).reshape(-1)
    if s.confusion or s.save_confusion:
        _hard_targets(p, tv, start)
    with np.errstate(over="ignore"):
        if p.loss == "bce-logits":
            e = np.exp(-np.abs(xf))  # sigmoid without overflow on either side
            prob = np.where(xf >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
            pred = xf > 0
        else:
            prob = xf
            pred = xf > 0.5
    lab = tv > 0.5
    correct = pred == lab
    n_rows = np.shape(x)[0] if np.ndim(x) else 1
    label, n_labels = _labels_of(p, n_rows)
    pe = np.asarray(block.per_element, dtype=np.float64).reshape(-1)
    ints = {"n": np.array([xf.size]), "correct": np.array([correct.sum()])}
    idx = _bin_index(prob, s.bins)
    ints["bin_count"] = np.bincount(idx, minlength=s.bins + 1)
    ints["bin_correct"] = np.bincount(idx[lab], minlength=s.bins + 1)
    if s.per_class or s.plot:
        ints["support"] = np.bincount(label, minlength=n_labels)
        ints["positives"] = np.bincount(label[lab], minlength=n_labels)
        ints["hits"] = np.bincount(label[correct], minlength=n_labels)
        ints["predicted"] = np.bincount(label[pred], minlength=n_labels)
        ints["true_pos"] = np.bincount(label[pred & lab], minlength=n_labels)
    if s.confusion or s.save_confusion:
        ints["confusion"] = np.bincount(lab * 2 + pred, minlength=4)
    seg, nseg = _segments(p, n_rows, xf.size // max(1, n_rows))
    scalars = {_BRIER: (prob - tv) ** 2}
    grp = (label, pe) if groups else None
    return _Part(ints, _floats(nseg, seg, scalars, (idx, prob, s.bins)), grp)
