"""ce-loss's commands: each builds its settings from the options, runs once and renders.

Exit status: 0 success, 1 a `check` whose condition does not hold, 2 bad usage or bad input.
"""

# No `from __future__ import annotations`: Typer would then evaluate every option's string
# annotation at each call (3 ms of start-up).

import dataclasses
from typing import Annotated

import typer

from .. import __version__
from ..errors import CeLossError
from ..settings import LossSpec, MetricsSettings, OutputSettings, ReadSettings
from . import colour
from .entry import collecting
from .failures import EXIT_CHECK_FAILED, EXIT_OK, names_for, user_errors, warn
from .options import (
    ATOL,
    RTOL,
    AtolOpt,
    BestOpt,
    BinsOpt,
    CalibrationOpt,
    CheckFormatOpt,
    CheckReduction,
    CheckReductionOpt,
    ClassDimOpt,
    Color,
    ColorOpt,
    ComputeFormatOpt,
    ConfusionOpt,
    DebugOpt,
    DecimalOpt,
    EncodingOpt,
    ExpectOpt,
    Format,
    GradDtypeOpt,
    GradOpt,
    HistogramOpt,
    IgnoreOpt,
    IndexColOpt,
    InputKind,
    InputOpt,
    Loss,
    LossOpt,
    MaxBrierOpt,
    MaxEceOpt,
    MaxInputBytesOpt,
    MaxOpt,
    MaxPerplexityOpt,
    MetricsOpt,
    MinAccuracyOpt,
    MinOpt,
    MinTopKOpt,
    PerClassOpt,
    PerSampleOpt,
    PlotOpt,
    PosWeightOpt,
    PredArg,
    PredDtypeOpt,
    PredFormatOpt,
    PredKeyOpt,
    QuietOpt,
    Reduction,
    ReductionOpt,
    RtolOpt,
    SaveConfusionOpt,
    SaveGradOpt,
    SavePerSampleOpt,
    ShiftOpt,
    SmoothingOpt,
    TargetArg,
    TargetColumnOpt,
    TargetFormatOpt,
    TargetKeyOpt,
    ThreadsOpt,
    TopKOpt,
    WeightOpt,
    WorstOpt,
)
from .progress import Progress
from .usage import OneLineErrors

app = typer.Typer(
    name="ce-loss",
    cls=OneLineErrors,
    help=(
        "PyTorch-exact classification losses for model outputs: cross-entropy, NLL, "
        "binary cross-entropy and BCE with logits, with per-sample values and gradients.\n\n"
        "Example: ce-loss compute samples/logits.npy samples/labels.npy"
    ),
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ce-loss {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """PyTorch-exact classification losses for model outputs."""


def _spec(
    loss: Loss,
    input_kind: InputKind | None,
    reduction: Reduction | CheckReduction,
    weight,
    ignore_index: int,
    label_smoothing: float,
    pos_weight,
) -> LossSpec:
    """The loss the options describe; --weight/--pos-weight text is read by the pipeline."""
    return LossSpec(
        loss=loss.value,
        input_kind=input_kind.value if input_kind else None,
        reduction=reduction.value,
        weight=weight,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        pos_weight=pos_weight,
        weight_per_class=True,
    )


def _layout(spec: LossSpec, class_dim: str, shift: bool) -> LossSpec:
    """--class-dim (an integer or ``last``, checked against PRED's shape by the library) and
    --shift."""
    text = class_dim.strip()
    dim: int | str = int(text) if text.lstrip("+-").isdigit() else text
    if dim == 1 and not shift:
        return spec
    return dataclasses.replace(spec, class_dim=dim, shift=shift)


def _read(
    pred_format,
    target_format,
    pred_key,
    target_key,
    target_column,
    table=(None, None, None),
    other=(None, None),
) -> ReadSettings:
    """The read settings; ``table``: --index-col, --decimal and --encoding; ``other``:
    --max-input-bytes and --pred-dtype."""
    index_col, decimal, encoding = table
    max_input_bytes, pred_dtype = other
    return ReadSettings(
        max_input_bytes=max_input_bytes,
        pred_format=pred_format.value if pred_format else None,
        target_format=target_format.value if target_format else None,
        pred_key=pred_key,
        target_key=target_key,
        target_column=target_column,
        index_col=index_col,
        decimal=decimal,
        encoding=encoding,
        pred_dtype=pred_dtype,
    )


def _run(pred, target, spec, read, out, view, quiet: bool, metrics=None):
    """The one call into the library, with a progress bar and the warnings it gives."""
    from ..pipeline import run

    with collecting(), Progress(quiet) as progress:
        out = dataclasses.replace(out, progress=progress)
        report = run(pred, target, spec, read, out, view, metrics)
    for message in report.warnings:
        warn(quiet, message)
    return report


def _emit(text: str) -> None:
    """Write machine output to stdout in one piece, checked (see stdio.out)."""
    from .stdio import out

    out(text)


def _render(report, fmt: Format) -> None:
    from .. import render

    if fmt is Format.table:
        render.print_table(report, colour.console())
    elif fmt is Format.json:
        _emit(render.to_json(report))
    elif fmt is Format.csv:
        _emit(render.to_csv(report))
    else:
        _emit(render.to_plain(report))


@app.command(no_args_is_help=True)
def compute(
    pred: PredArg,
    target: TargetArg = None,
    loss: LossOpt = Loss.ce,
    input_kind: InputOpt = None,
    reduction: ReductionOpt = Reduction.mean,
    weight: WeightOpt = None,
    ignore_index: IgnoreOpt = -100,
    label_smoothing: SmoothingOpt = 0.0,
    pos_weight: PosWeightOpt = None,
    class_dim: ClassDimOpt = "1",
    shift: ShiftOpt = False,
    per_sample: PerSampleOpt = False,
    grad: GradOpt = False,
    fmt: ComputeFormatOpt = Format.table,
    save_grad: SaveGradOpt = None,
    grad_dtype: GradDtypeOpt = None,
    save_per_sample: SavePerSampleOpt = None,
    threads: ThreadsOpt = None,
    pred_format: PredFormatOpt = None,
    target_format: TargetFormatOpt = None,
    pred_key: PredKeyOpt = None,
    target_key: TargetKeyOpt = None,
    target_column: TargetColumnOpt = None,
    max_input_bytes: MaxInputBytesOpt = None,
    index_col: IndexColOpt = None,
    decimal: DecimalOpt = None,
    encoding: EncodingOpt = None,
    pred_dtype: PredDtypeOpt = None,
    quiet: QuietOpt = False,
    color: ColorOpt = Color.auto,
    debug: DebugOpt = False,
    metrics: MetricsOpt = False,
    top_k: TopKOpt = None,
    bins: BinsOpt = 15,
    per_class: PerClassOpt = False,
    confusion: ConfusionOpt = False,
    save_confusion: SaveConfusionOpt = None,
    worst: WorstOpt = None,
    best: BestOpt = None,
    histogram: HistogramOpt = False,
    calibration: CalibrationOpt = False,
    plot: PlotOpt = None,
) -> None:
    """Compute a loss, its per-sample values and its gradient.

    Examples:

      ce-loss compute samples/logits.npy samples/labels.npy

      ce-loss compute samples/seed001.csv --target-column label --per-sample --grad

      loss=$(ce-loss compute logits.npy labels.npy --format plain)

      ce-loss compute logits.npy labels.npy --metrics --top-k 5 --per-class --worst 10
    """
    from ..pipeline import View

    measure = MetricsSettings(
        summary=metrics,
        top_k=top_k,
        bins=bins,
        per_class=per_class,
        confusion=confusion,
        save_confusion=save_confusion,
        worst=worst,
        best=best,
        histogram=histogram,
        calibration=calibration,
        plot=plot,
    )
    colour.set_mode(color.value)
    with user_errors(debug, names_for(pred, target)):
        _compute_options(fmt, per_sample or grad, grad_dtype is not None, save_grad is not None)
        _metrics_format(measure, fmt)
        spec = _spec(loss, input_kind, reduction, weight, ignore_index, label_smoothing, pos_weight)
        spec = _layout(spec, class_dim, shift)
        out = OutputSettings(
            per_element=fmt is Format.csv,
            save_grad=save_grad,
            grad_dtype=grad_dtype.value if grad_dtype else None,
            save_per_element=save_per_sample,
            workers=threads,
        )
        view = View(per_sample=per_sample, grad=grad, whole=fmt is not Format.table)
        table = (index_col, decimal, encoding)
        read = _read(
            pred_format,
            target_format,
            pred_key,
            target_key,
            target_column,
            table,
            (max_input_bytes, pred_dtype),
        )
        report = _run(pred, target, spec, read, out, view, quiet, measure)
        _render(report, fmt)
        if plot is not None:
            from ..render.plot import write_plot

            write_plot(report, plot)


def _metrics_format(m: MetricsSettings, fmt: Format) -> None:
    """Metrics are shown in tables and JSON; csv and plain keep their shape (files still work)."""
    shown = m.summary or m.top_k is not None or m.per_class or m.confusion or m.calibration
    shown = shown or m.worst is not None or m.best is not None or m.histogram
    if shown and fmt in (Format.plain, Format.csv):
        raise CeLossError(
            f"--format {fmt.value} prints per-sample values only; use --format table or json "
            "for --metrics, --top-k, --per-class, --confusion, --worst, --best, --histogram "
            "and --calibration"
        )


def _compute_options(fmt: Format, shown: bool, grad_dtype: bool, save_grad: bool) -> None:
    """compute's options that would do nothing together, said before any file is read."""
    if fmt is Format.plain and shown:
        raise CeLossError(
            "--format plain prints the bare loss only; use --format json or csv for "
            "--per-sample and --grad"
        )
    if grad_dtype and not save_grad:
        raise CeLossError("--grad-dtype is the dtype of the --save-grad file; give --save-grad too")


@app.command(no_args_is_help=True)
def check(
    pred: PredArg,
    target: TargetArg = None,
    max_loss: MaxOpt = None,
    min_loss: MinOpt = None,
    expect: ExpectOpt = None,
    rtol: RtolOpt = None,
    atol: AtolOpt = None,
    loss: LossOpt = Loss.ce,
    input_kind: InputOpt = None,
    reduction: CheckReductionOpt = CheckReduction.mean,
    weight: WeightOpt = None,
    ignore_index: IgnoreOpt = -100,
    label_smoothing: SmoothingOpt = 0.0,
    pos_weight: PosWeightOpt = None,
    class_dim: ClassDimOpt = "1",
    shift: ShiftOpt = False,
    fmt: CheckFormatOpt = Format.plain,
    threads: ThreadsOpt = None,
    pred_format: PredFormatOpt = None,
    target_format: TargetFormatOpt = None,
    pred_key: PredKeyOpt = None,
    target_key: TargetKeyOpt = None,
    target_column: TargetColumnOpt = None,
    max_input_bytes: MaxInputBytesOpt = None,
    index_col: IndexColOpt = None,
    decimal: DecimalOpt = None,
    encoding: EncodingOpt = None,
    pred_dtype: PredDtypeOpt = None,
    quiet: QuietOpt = False,
    color: ColorOpt = Color.auto,
    debug: DebugOpt = False,
    min_accuracy: MinAccuracyOpt = None,
    min_top_k_accuracy: MinTopKOpt = None,
    max_perplexity: MaxPerplexityOpt = None,
    max_ece: MaxEceOpt = None,
    max_brier: MaxBrierOpt = None,
    top_k: TopKOpt = None,
    bins: BinsOpt = 15,
) -> None:
    """Check that a loss meets a condition: exit 0 if it holds, 1 if not, 2 on bad input.

    Prints one verdict line, e.g. `FAIL loss 1.0155949508195155 > max 1.0 (ce, mean, 3
    samples)`. Several conditions may be given; all must hold. A NaN loss never passes.

    Examples:

      ce-loss check samples/logits.npy samples/labels.npy --max 2.5

      ce-loss check preds.npy labels.npy --expect 0.6931 --rtol 1e-4 --quiet || exit 1

      ce-loss check logits.npy labels.npy --min-accuracy 0.9 --max-ece 0.05
    """
    from ..pipeline import View

    limits = [
        ("accuracy", "min", "--min-accuracy", min_accuracy),
        ("top_k_accuracy", "min", "--min-top-k-accuracy", min_top_k_accuracy),
        ("perplexity", "max", "--max-perplexity", max_perplexity),
        ("ece", "max", "--max-ece", max_ece),
        ("brier", "max", "--max-brier", max_brier),
    ]
    limits = [lim for lim in limits if lim[3] is not None]
    colour.set_mode(color.value)
    with user_errors(debug, names_for(pred, target)):
        _check_conditions(max_loss, min_loss, expect, rtol, atol, bool(limits))
        rtol, atol = RTOL if rtol is None else rtol, ATOL if atol is None else atol
        from ..verdict import check_conditions

        check_conditions(max_loss=max_loss, min_loss=min_loss, expect=expect, rtol=rtol, atol=atol)
        measure = _check_metrics(limits, top_k, bins)
        spec = _spec(loss, input_kind, reduction, weight, ignore_index, label_smoothing, pos_weight)
        spec = _layout(spec, class_dim, shift)
        table = (index_col, decimal, encoding)
        read = _read(
            pred_format,
            target_format,
            pred_key,
            target_key,
            target_column,
            table,
            (max_input_bytes, pred_dtype),
        )
        out = OutputSettings(workers=threads)
        report = _run(pred, target, spec, read, out, View(), quiet, measure)
        from ..verdict import judge

        verdict = judge(
            report,
            max_loss=max_loss,
            min_loss=min_loss,
            expect=expect,
            rtol=rtol,
            atol=atol,
            metric_limits=[(m, bound, value) for m, bound, _, value in limits],
        )
        _show_verdict(verdict, fmt, quiet)
    raise typer.Exit(EXIT_OK if verdict.passed else EXIT_CHECK_FAILED)


def _check_conditions(max_loss, min_loss, expect, rtol, atol, metric_limits: bool) -> None:
    """check's options that cannot work together, said before any file is read."""
    if max_loss is None and min_loss is None and expect is None and not metric_limits:
        raise CeLossError("check needs a condition: --max, --min and/or --expect")
    if expect is None and (rtol is not None or atol is not None):
        raise CeLossError("--rtol and --atol are the tolerances of --expect; give --expect too")


def _show_verdict(verdict, fmt: Format, quiet: bool) -> None:
    """The verdict as asked: a JSON object, CSV rows, or one line (PASS green, FAIL red)."""
    from .. import render

    if fmt is Format.json:
        _emit(render.verdict_json(verdict))
    elif fmt is Format.csv:
        _emit(render.verdict_csv(verdict))
    elif not quiet:
        word = "PASS" if verdict.passed else "FAIL"
        shown = colour.paint(word, "green" if verdict.passed else "red")
        _emit(shown + verdict.line[len(word) :] + "\n")


def _check_metrics(limits: list, top_k: int | None, bins: int) -> MetricsSettings | None:
    """What check must measure for its metric conditions (None: the loss alone)."""
    if not limits:
        return None
    from ..measure import finite_threshold

    for _, _, option, value in limits:
        finite_threshold(option, value)
    names = {m for m, *_ in limits}
    dense = bool(names & {"brier"})
    k = top_k if top_k is not None else (5 if "top_k_accuracy" in names else None)
    return MetricsSettings(measure=True, summary=dense, top_k=k, bins=bins)
