"""One run of ce-loss: read the inputs, compute the loss in one pass, gather what is shown.

The commands call :func:`run` once with their settings objects; it returns a finished
:class:`ce_cli.report.Report` (warnings included) or raises :class:`CeLossError`. It never prints.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .errors import CeLossError
from .settings import LossSpec, MetricsSettings, OutputSettings, ReadSettings


@dataclass(frozen=True, eq=False)
class View:
    """What a command shows beside the loss.

    ``whole``: every shown value is printed (JSON, CSV, plain), so shown values are kept in
    memory even when they are also saved; a table shows a head and a tail, kept by a preview.
    """

    per_sample: bool = False
    grad: bool = False
    whole: bool = False


def run(
    pred: str,
    target: str | None,
    spec: LossSpec,
    read: ReadSettings,
    out: OutputSettings,
    view: View,
    metrics: MetricsSettings | None = None,
):
    """Read PRED (and TARGET), compute as ``spec`` and ``out`` say, measure as ``metrics`` says
    (in the same pass); returns a Report."""
    from . import outputs, readers
    from .core import resolve_input_kind

    resolve_input_kind(spec)  # an option that cannot work is said before any file is read
    # --weight/--pos-weight may name files too: inputs, never overwritten
    vectors = [v for v in (spec.weight, spec.pos_weight) if isinstance(v, str)]
    saved = outputs.check(out, [pred, target, *vectors])
    obs = _observers(metrics, view, [pred, target, *vectors], saved)
    data = readers.load(pred, target, read)
    try:
        return _report(data, spec, out, view, obs, saved)
    except CeLossError:
        _bad_cell_first(data)
        raise


def _report(data, spec: LossSpec, out: OutputSettings, view: View, obs, saved: dict):
    """The Report of a run on the inputs ``data`` read."""
    from . import readers
    from .core import run as evaluate
    from .diagnose import warnings_for
    from .report import Report

    if data.target is None:
        raise CeLossError(
            "holds no targets; give a TARGET file, or name the label column with "
            "--target-column / the array with --target-key",
            file=data.pred_name,
        )
    spec = _with_vectors(spec, readers.read_vector)
    out, preview, gathered = _keeping(out, view, spec)
    sinks = [s for s in (preview, gathered) if s is not None]
    if obs is not None:
        sinks += obs.sinks
    result = evaluate(spec, data.pred, data.target, out, sinks=sinks)
    if gathered is not None:
        result.grad = gathered.array(np.shape(data.pred))
    lay = result.problem.layout  # shown with the classes on dimension 1 (views, no copies)
    report = Report(
        result=result,
        pred=lay.input_view(data.pred),
        target=lay.target_view(data.target),
        pred_name=data.pred_name,
        target_name=data.target_name,
        class_names=data.class_names,
        show_per_sample=view.per_sample,
        show_grad=view.grad,
        saved=saved,
        preview=preview,
    )
    if obs is not None:
        _measured(report, obs, result)
    report.warnings = data.warnings + warnings_for(report)
    return report


def _bad_cell_first(data) -> None:
    """After an error met once the inputs were opened: a bad cell in a table parsed as it
    streams is reported instead, as when the whole table was read first."""
    if getattr(data.pred, "one_pass", False):
        from .readers.tablestream import finish

        finish(data.pred, data.target)


def _observers(metrics: MetricsSettings | None, view: View, inputs: list, saved: dict):
    """The observer sinks measuring what ``metrics`` asks for (None: nothing is; a per-sample
    table shows a histogram), their options and output paths checked before any file is read.
    """
    if metrics is None:
        return None
    per_sample_table = view.per_sample and not view.whole
    if not (metrics.wanted or per_sample_table or metrics.bins < 1):
        return None
    from . import measure

    measure.check_options(metrics)
    saved.update(measure.check_paths(metrics, inputs, list(saved.values())))
    return measure.observers(metrics, per_sample_table)


def _measured(report, obs, result) -> None:
    """The observers' results put in the report; the confusion matrix saved if asked."""
    from . import measure

    metrics = obs.settings
    report.metric_settings = metrics
    report.metrics = None if obs.metrics is None else obs.metrics.result(result)
    for name in ("worst", "best"):
        kept = getattr(obs, name)
        if kept is not None:
            setattr(report, name, (kept.values, kept.index, kept.samples))
    report.histogram = obs.histogram
    if metrics.save_confusion and report.metrics is not None:
        measure.save_confusion(metrics.save_confusion, report.metrics.confusion, report.class_names)


def _with_vectors(spec: LossSpec, read_vector) -> LossSpec:
    """``--weight``/``--pos-weight`` given as text (numbers or a file) read into arrays."""
    changes = {}
    for field, option in (("weight", "--weight"), ("pos_weight", "--pos-weight")):
        value = getattr(spec, field)
        if isinstance(value, str):
            changes[field] = read_vector(value, option)
    return dataclasses.replace(spec, **changes) if changes else spec


def _keeping(out: OutputSettings, view: View, spec: LossSpec):
    """What to keep in memory for what is shown: a preview where a table shows a saved output,
    the saved gradient itself where every value of it is printed."""
    from .report import Gather, Preview

    want_pe = view.per_sample or spec.reduction == "none" or bool(out.per_element)
    pe_saved = out.save_per_element is not None
    grad_saved = out.save_grad is not None
    keep_pe = want_pe and (view.whole or not pe_saved)
    keep_grad = view.grad and not grad_saved
    gather = view.grad and view.whole and grad_saved
    out = dataclasses.replace(out, per_element=keep_pe, grad=keep_grad)
    needs_preview = (want_pe and not keep_pe) or (view.grad and not keep_grad and not gather)
    return out, (Preview() if needs_preview else None), (Gather("grad") if gather else None)
