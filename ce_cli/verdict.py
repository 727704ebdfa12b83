"""The verdict of `ce-loss check`: does a computed loss meet its conditions?"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import CeLossError
from .render.numbers import fnum, short
from .report import Report


@dataclass
class Condition:
    kind: str  # "max", "min" or "expect"
    value: float
    holds: bool
    text: str  # how the comparison reads, e.g. "<= max 2.5" or "> max 1.0"


@dataclass
class Verdict:
    passed: bool
    loss: float
    conditions: list[Condition]
    context: str  # "(ce, mean, 3 samples)"
    line: str


def check_conditions(*, max_loss=None, min_loss=None, expect=None, rtol=1e-6, atol=1e-9):
    """Refuse conditions that cannot mean anything, before any work is done.

    NaN compares false with everything (``--max nan`` would fail whatever the loss), an
    infinite ``--expect`` passes any finite loss (inf - x = inf <= inf tolerance), and
    ``--min`` above ``--max`` can never hold.
    """
    for option, value in (("--max", max_loss), ("--min", min_loss), ("--expect", expect)):
        if value is not None and math.isnan(value):
            raise CeLossError(f"{option} must be a number; got nan")
    if expect is not None and math.isinf(expect):
        raise CeLossError(f"--expect must be finite; got {expect}")
    if rtol < 0 or atol < 0:
        raise CeLossError(f"--rtol and --atol must be >= 0; got {rtol} and {atol}")
    if not (math.isfinite(rtol) and math.isfinite(atol)):
        raise CeLossError(f"--rtol and --atol must be finite; got {rtol} and {atol}")
    if max_loss is not None and min_loss is not None and min_loss > max_loss:
        raise CeLossError(
            f"--min {fnum(min_loss)} is above --max {fnum(max_loss)}; no loss can meet both"
        )


def judge(
    report: Report,
    *,
    max_loss=None,
    min_loss=None,
    expect=None,
    rtol=1e-6,
    atol=1e-9,
    metric_limits=(),
):
    """Compare the report's loss with each condition given; all must hold. NaN never passes.

    ``metric_limits``: ``(metric, "min" or "max", limit)`` conditions on the report's metrics
    (``report.metrics.values``); an undefined or NaN metric never passes.
    """
    assert report.result.loss is not None  # check refuses reduction="none"
    loss = float(report.result.loss)
    nan = math.isnan(loss)
    conds: list[Condition] = []
    if max_loss is not None:
        ok = not nan and loss <= max_loss
        conds.append(Condition("max", max_loss, ok, f"{'<=' if ok else '>'} max {fnum(max_loss)}"))
    if min_loss is not None:
        ok = not nan and loss >= min_loss
        conds.append(Condition("min", min_loss, ok, f"{'>=' if ok else '<'} min {fnum(min_loss)}"))
    if expect is not None:
        diff = abs(loss - expect)
        tol = atol + rtol * abs(expect)
        ok = not nan and diff <= tol
        conds.append(
            Condition(
                "expect",
                expect,
                ok,
                f"{'~=' if ok else '!='} expected {fnum(expect)} "
                f"(|diff| {short(diff)} {'<=' if ok else '>'} tolerance {short(tol)})",
            )
        )
    metric_conds = [_metric_condition(report, *limit) for limit in metric_limits]
    passed = all(c.holds for c in conds + metric_conds)
    p = report.problem
    context = f"({p.loss}, {p.reduction}, {report.count} {report.unit})"
    body = _body(
        [c for c in conds if passed or not c.holds],
        [c for c in metric_conds if passed or not c.holds],
        nan,
    )
    line = f"{'PASS' if passed else 'FAIL'} loss {fnum(loss)}{body} {context}"
    conds += metric_conds
    return Verdict(passed=passed, loss=loss, conditions=conds, context=context, line=line)


def _body(loss_shown: list[Condition], metric_shown: list[Condition], nan: bool) -> str:
    """What follows the loss: its conditions after a space (`` <= max 2.5, >= min 1``), the
    metrics' after a comma (``, accuracy 0.8 >= min 0.5``)."""
    if nan and loss_shown:
        head = " is NaN, which never passes"
    elif loss_shown:
        head = " " + ", ".join(c.text for c in loss_shown)
    else:
        head = ""
    return head + "".join(f", {c.text}" for c in metric_shown)


_METRIC_TITLES = {"top_k_accuracy": "top-k accuracy", "ece": "ECE", "brier": "Brier score"}


def _metric_condition(report: Report, metric: str, bound: str, limit: float) -> Condition:
    """``metric >= limit`` (bound "min") or ``<= limit`` ("max"); undefined never holds."""
    values = report.metrics.values if report.metrics is not None else {}
    key = (
        next((k for k in values if k.startswith("top_")), metric)
        if metric == "top_k_accuracy"
        else metric
    )
    value = values.get(key)
    title = _METRIC_TITLES.get(metric, metric.replace("_", " "))
    if metric == "top_k_accuracy" and key != metric:
        title = f"top-{key.split('_')[1]} accuracy"
    kind = f"{bound}_{metric}"
    if value is None or math.isnan(value):
        return Condition(kind, limit, False, f"{title} is undefined, which never passes")
    ok = value >= limit if bound == "min" else value <= limit
    sign = (">=" if ok else "<") if bound == "min" else ("<=" if ok else ">")
    return Condition(kind, limit, ok, f"{title} {fnum(value)} {sign} {bound} {fnum(limit)}")
