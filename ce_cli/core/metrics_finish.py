"""The metrics of a finished run, from the counts and sums :mod:`ce_cli.core.metrics` merged."""

from __future__ import annotations

import math

import numpy as np

from ..settings import MetricsSettings
from .metrics import _BRIER, _ENTROPY, _NLL, _SCALARS, MetricsResult, ratio, safe_exp
from .problem import LossResult, Problem


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Elementwise ``num / den``, NaN where ``den`` is 0 (shown as n/a, null in JSON)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast_shapes(num.shape, den.shape), np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _ece(ints: dict, floats: np.ndarray, bins: int, n: int) -> float | None:
    """torchmetrics' l1 calibration error: sum over bins of |correct - confidence| / n."""
    conf = floats[_SCALARS : _SCALARS + bins + 1]
    gap = np.abs(ints["bin_correct"].astype(np.float64) - conf)
    return ratio(math.fsum(gap.tolist()), n)


def _calibration(ints: dict, floats: np.ndarray, bins: int) -> dict[str, np.ndarray]:
    count = ints["bin_count"]
    conf = floats[_SCALARS : _SCALARS + bins + 1]
    return {
        "edges": np.linspace(0.0, 1.0, bins + 1),
        "count": count,
        "confidence": _divide(conf, count),
        "accuracy": _divide(ints["bin_correct"], count),
    }


def _categorical_values(
    p: Problem, s: MetricsSettings, ints: dict, floats: np.ndarray, loss: LossResult
) -> dict[str, float | None]:
    n = int(ints["n"][0])
    values: dict[str, float | None] = {"accuracy": ratio(ints["correct"][0], n)}
    if s.top_k is not None:
        values[f"top_{s.top_k}_accuracy"] = ratio(ints["top_k"][0], n)
    if p.weight is None and p.label_smoothing == 0:
        mean_nll = ratio(loss.total, n)  # the engine's own sum: perplexity == exp(mean loss)
    else:
        mean_nll = ratio(floats[_NLL], n)
    values["perplexity"] = safe_exp(mean_nll)
    values["bits_per_target"] = None if mean_nll is None else mean_nll / math.log(2)
    if s.summary:
        values["entropy"] = ratio(floats[_ENTROPY], n)
        values["brier"] = ratio(floats[_BRIER], n)
    values["ece"] = _ece(ints, floats, s.bins, n)
    return values


def _binary_values(s: MetricsSettings, ints: dict, floats: np.ndarray):
    n = int(ints["n"][0])
    return {
        "accuracy": ratio(ints["correct"][0], n),
        "brier": ratio(floats[_BRIER], n),
        "ece": _ece(ints, floats, s.bins, n),
    }


def _per_class(p: Problem, ints: dict, loss_sums) -> dict[str, np.ndarray]:
    if "support" not in ints or loss_sums is None:
        return {}
    support = ints["support"]
    out = {"support": support, "mean_loss": _divide(loss_sums, support)}
    if p.categorical:
        out["recall"] = _divide(ints["hits"], support)
        out["precision"] = _divide(ints["hits"], ints["predicted"])
        out["predicted"] = ints["predicted"]
    else:
        out["positives"] = ints["positives"]
        out["accuracy"] = _divide(ints["hits"], support)
        out["precision"] = _divide(ints["true_pos"], ints["predicted"])
    return out


def finish(
    p: Problem, s: MetricsSettings, ints: dict, sums: tuple, loss: LossResult
) -> MetricsResult:
    """The values, per-class table, calibration bins and confusion matrix of a run.

    ``sums``: the float sums (scalars and confidence per bin), and the loss per class or None.
    """
    floats, loss_sums = sums
    if "counts" in ints:  # (ce/nll: one vector of counts, see metrics_blocks._counts)
        from .metrics_blocks import unpack_counts

        rest = {k: v for k, v in ints.items() if k != "counts"}
        ints = {**unpack_counts(s, int(p.n_classes or 0), ints["counts"]), **rest}
    if "n" not in ints:  # no rows at all: every count is zero
        ints = _empty_counts(p, s)
    if p.categorical:
        values = _categorical_values(p, s, ints, floats, loss)
    else:
        values = _binary_values(s, ints, floats)
    confusion = ints.get("confusion")
    if confusion is not None:
        side = int(p.n_classes or 0) if p.categorical else 2
        confusion = confusion.reshape(side, side)
    return MetricsResult(
        values=values,
        per_class=_per_class(p, ints, loss_sums),
        bins=_calibration(ints, floats, s.bins),
        confusion=confusion,
        per_class_unit="class" if p.categorical else "label",
    )


def _empty_counts(p: Problem, s: MetricsSettings) -> dict:
    c = (
        int(p.n_classes or 0)
        if p.categorical
        else (p.input_shape[1] if len(p.input_shape) > 1 else 1)
    )
    zero = np.zeros(1, dtype=np.int64)
    ints = {"n": zero, "correct": zero, "top_k": zero}
    ints["bin_count"] = ints["bin_correct"] = np.zeros(s.bins + 1, dtype=np.int64)
    if s.per_class or s.plot:
        for name in ("support", "hits", "predicted", "positives", "true_pos"):
            ints[name] = np.zeros(c, dtype=np.int64)
    if s.confusion or s.save_confusion:
        ints["confusion"] = np.zeros((c if p.categorical else 2) ** 2, dtype=np.int64)
    return ints
