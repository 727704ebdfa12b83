"""One block's contribution to the metrics (:mod:`ce_cli.core.metrics`): pure per-block maths.

Every value is computed per sample from its own row, then counted (integers) or summed per
fixed segment of rows with ``np.bincount`` (in sample order), so nothing depends on the block.
"""

from __future__ import annotations

import numpy as np

from ..errors import CeLossError
from ..settings import MetricsSettings
from .metrics import _BRIER, _ENTROPY, _NLL, _SCALARS, _Part
from .problem import BlockResult, Problem


def _class_last(a: np.ndarray, c: int) -> np.ndarray:
    """(n, C, d1, ...) as (samples, C), samples in the order of the per-element values."""
    return np.moveaxis(a.reshape(a.shape[0], c, -1), 1, 2).reshape(-1, c)


def _segments(p: Problem, n_rows: int, per_row: int) -> tuple[np.ndarray, int]:
    """Each sample's segment within the block, and how many segments the block has."""
    seg_rows = p.segment_rows
    seg = np.repeat(np.arange(n_rows) // seg_rows, per_row)
    return seg, -(-n_rows // seg_rows)


def _bin_index(conf: np.ndarray, bins: int) -> np.ndarray:
    """torchmetrics' bucketize(right=True) - 1 on linspace(0, 1, bins + 1): a confidence of
    exactly 1 (or above, or NaN) is bin ``bins``."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    return np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, bins)


def _sums(seg, nseg: int, idx: np.ndarray, values: np.ndarray, width: int) -> np.ndarray:
    """Per-segment sums of ``values`` by ``idx`` (0..width-1): an (nseg, width) array."""
    flat = np.bincount(seg * width + idx, weights=values, minlength=nseg * width)
    return flat.reshape(nseg, width)


def _floats(nseg, seg, scalars: dict, conf_bins, groups) -> np.ndarray:
    """The block's float sums per segment: scalars, confidence per bin, loss per class."""
    parts = [np.zeros((nseg, _SCALARS))]
    for col, vals in scalars.items():
        parts[0][:, col] = np.bincount(seg, weights=vals, minlength=nseg)
    idx, conf, bins = conf_bins
    parts.append(_sums(seg, nseg, idx, conf, bins + 1))
    if groups is not None:
        gidx, loss, width = groups
        parts.append(_sums(seg, nseg, gidx, loss, width))
    return np.concatenate(parts, axis=1)


def _probs(p: Problem, xs: np.ndarray, x_max: np.ndarray, x_t, pe, dense: bool):
    """``(conf, nll, P, logP)``: top-label confidence, -log p(target) of index targets, and
    with ``dense`` the probabilities and their logs (float64, safe logs for p = 0)."""
    kind = p.input_kind
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        if kind == "logits":
            if pe is not None and not dense:  # the engine's nll gives logsumexp for free
                lse = x_t + pe
            else:  # logsumexp with the max subtracted: no overflow
                e = np.exp(xs - x_max[:, None], dtype=np.float64)
                lse = x_max + np.log(e.sum(axis=1))
            conf = np.exp(x_max - lse)
            nll = lse - x_t if x_t is not None else None
            if not dense:
                return conf, nll, None, None
            logp = xs - lse[:, None]
            return conf, nll, np.exp(logp), logp
        if kind == "log-probs":
            logp = xs.astype(np.float64)
            conf = np.exp(x_max)
            nll = -x_t if x_t is not None else None
            return conf, nll, (np.exp(logp) if dense else None), logp
        probs = xs.astype(np.float64)
        nll = -np.log(x_t) if x_t is not None else None
        logp = np.log(np.where(probs > 0, probs, 1.0)) if dense else None
        return x_max, nll, probs, logp


def _top_k_hits(xs: np.ndarray, x_t: np.ndarray, tcls: np.ndarray, k: int) -> np.ndarray:
    """Whether the target is among the k highest scores, ties ordered as scikit-learn's
    ``top_k_accuracy_score`` (a reversed stable argsort: the higher class first)."""
    xt = x_t.astype(xs.dtype)[:, None]
    ahead = np.count_nonzero(xs > xt, axis=1)
    hits = ahead < k
    maybe = np.nonzero(hits)[0]  # only these can lose their place to a tie
    if maybe.size:
        cols = np.arange(xs.shape[1])
        tied = (xs[maybe] == xt[maybe]) & (cols > tcls[maybe, None])
        hits[maybe] = ahead[maybe] + np.count_nonzero(tied, axis=1) < k
    return hits


def categorical_part(
    p: Problem, s: MetricsSettings, groups: int, x, t, start: int, block: BlockResult
) -> _Part:
    """Counts and sums of one block of a ce/nll problem."""
    c = int(p.n_classes or 0)
    xs = _class_last(np.asarray(x), c)
    rows = np.arange(xs.shape[0])
    pe = np.asarray(block.per_element, dtype=np.float64).reshape(-1)
    if p.soft:
        ts = _class_last(np.asarray(t), c).astype(np.float64)
        tcls = ts.argmax(axis=1)
        valid = np.ones(xs.shape[0], dtype=bool)
    else:
        ti = np.asarray(t).reshape(-1)
        valid = ti != p.ignore_index
        tcls = np.where(valid, ti, 0).astype(np.intp)
    pred = xs.argmax(axis=1)
    x_max = xs[rows, pred].astype(np.float64)
    x_t = None if p.soft else xs[rows, tcls].astype(np.float64)
    plain = p.weight is None and p.label_smoothing == 0  # the engine's values are the nll
    dense = s.summary or p.soft
    conf, nll, probs, logp = _probs(p, xs, x_max, x_t, pe if plain else None, dense)
    scalars = {}
    if p.soft:
        with np.errstate(invalid="ignore"):
            nll = pe if plain else -np.einsum("ij,ij->i", ts, logp)
    if dense:
        assert probs is not None and logp is not None
        scalars[_ENTROPY] = -np.einsum("ij,ij->i", probs, logp)
        sq = np.einsum("ij,ij->i", probs, probs)
        if p.soft:
            brier = sq - 2 * np.einsum("ij,ij->i", probs, ts) + np.einsum("ij,ij->i", ts, ts)
        else:
            brier = sq - 2 * probs[rows, tcls] + 1.0
        scalars[_BRIER] = brier * (0.5 if c < 3 else 1.0)  # scikit-learn's scale_by_half="auto"
    assert nll is not None
    scalars[_NLL] = nll
    correct = (pred == tcls) & valid
    ints = {"n": np.array([np.count_nonzero(valid)]), "correct": np.array([correct.sum()])}
    if s.top_k is not None:
        xt = xs[rows, tcls].astype(np.float64)
        ints["top_k"] = np.array([np.count_nonzero(_top_k_hits(xs, xt, tcls, s.top_k) & valid)])
    idx = _bin_index(conf, s.bins)
    v = valid
    ints["bin_count"] = np.bincount(idx[v], minlength=s.bins + 1)
    ints["bin_correct"] = np.bincount(idx[correct], minlength=s.bins + 1)
    if s.per_class or s.plot:
        ints["support"] = np.bincount(tcls[v], minlength=c)
        ints["hits"] = np.bincount(tcls[correct], minlength=c)
        ints["predicted"] = np.bincount(pred[v], minlength=c)
    if s.confusion or s.save_confusion:
        ints["confusion"] = np.bincount(tcls[v] * c + pred[v], minlength=c * c)
    seg, nseg = _segments(p, np.shape(x)[0], xs.shape[0] // max(1, np.shape(x)[0]))
    sc = {k: val[v] for k, val in scalars.items()}
    grp = (tcls[v], pe[v], groups) if groups else None
    return _Part(ints, _floats(nseg, seg[v], sc, (idx[v], conf[v], s.bins), grp))


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
    grp = (label, pe, groups) if groups else None
    return _Part(ints, _floats(nseg, seg, scalars, (idx, prob, s.bins), grp))
