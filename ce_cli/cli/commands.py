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
from ..settings import LossSpec, OutputSettings, ReadSettings
from . import colour
from .entry import collecting
from .failures import EXIT_CHECK_FAILED, EXIT_OK, names_for, user_errors, warn
from .options import (
    ATOL,
    RTOL,
    AtolOpt,
    CheckFormatOpt,
    CheckReduction,
    CheckReductionOpt,
    ClassDimOpt,
    Color,
    ColorOpt,
    ComputeFormatOpt,
    DebugOpt,
    ExpectOpt,
    Format,
    GradDtypeOpt,
    GradOpt,
    IgnoreOpt,
    InputKind,
    InputOpt,
    Loss,
    LossOpt,
    MaxOpt,
    MinOpt,
    PerSampleOpt,
    PosWeightOpt,
    PredArg,
    PredDtypeOpt,
    PredFormatOpt,
    PredKeyOpt,
    QuietOpt,
    Reduction,
    ReductionOpt,
    RtolOpt,
    SaveGradOpt,
    SavePerSampleOpt,
    ShiftOpt,
    SmoothingOpt,
    TargetArg,
    TargetColumnOpt,
    TargetFormatOpt,
    TargetKeyOpt,
    ThreadsOpt,
    WeightOpt,
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
    pred_format, target_format, pred_key, target_key, target_column, pred_dtype=None
) -> ReadSettings:
    return ReadSettings(
        pred_format=pred_format.value if pred_format else None,
        target_format=target_format.value if target_format else None,
        pred_key=pred_key,
        target_key=target_key,
        target_column=target_column,
        pred_dtype=pred_dtype,
    )


def _run(pred, target, spec, read, out, view, quiet: bool):
    """The one call into the library, with a progress bar and the warnings it gives."""
    from ..pipeline import run

    with collecting(), Progress(quiet) as progress:
        report = run(pred, target, spec, read, dataclasses.replace(out, progress=progress), view)
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
    pred_dtype: PredDtypeOpt = None,
    quiet: QuietOpt = False,
    color: ColorOpt = Color.auto,
    debug: DebugOpt = False,
) -> None:
    """Compute a loss, its per-sample values and its gradient.

    Examples:

      ce-loss compute samples/logits.npy samples/labels.npy

      ce-loss compute samples/seed001.csv --target-column label --per-sample --grad

      loss=$(ce-loss compute logits.npy labels.npy --format plain)
    """
    from ..pipeline import View

    colour.set_mode(color.value)
    with user_errors(debug, names_for(pred, target)):
        _compute_options(fmt, per_sample or grad, grad_dtype is not None, save_grad is not None)
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
        read = _read(pred_format, target_format, pred_key, target_key, target_column, pred_dtype)
        _render(_run(pred, target, spec, read, out, view, quiet), fmt)


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
    pred_dtype: PredDtypeOpt = None,
    quiet: QuietOpt = False,
    color: ColorOpt = Color.auto,
    debug: DebugOpt = False,
) -> None:
    """Check that a loss meets a condition: exit 0 if it holds, 1 if not, 2 on bad input.

    Prints one verdict line, e.g. `FAIL loss 1.0155949508195155 > max 1.0 (ce, mean, 3
    samples)`. Several conditions may be given; all must hold. A NaN loss never passes.

    Examples:

      ce-loss check samples/logits.npy samples/labels.npy --max 2.5

      ce-loss check preds.npy labels.npy --expect 0.6931 --rtol 1e-4 --quiet || exit 1
    """
    from ..pipeline import View

    colour.set_mode(color.value)
    with user_errors(debug, names_for(pred, target)):
        _check_conditions(max_loss, min_loss, expect, rtol, atol)
        rtol, atol = RTOL if rtol is None else rtol, ATOL if atol is None else atol
        from ..verdict import check_conditions

        check_conditions(max_loss=max_loss, min_loss=min_loss, expect=expect, rtol=rtol, atol=atol)
        spec = _spec(loss, input_kind, reduction, weight, ignore_index, label_smoothing, pos_weight)
        spec = _layout(spec, class_dim, shift)
        read = _read(pred_format, target_format, pred_key, target_key, target_column, pred_dtype)
        report = _run(pred, target, spec, read, OutputSettings(workers=threads), View(), quiet)
        from ..verdict import judge

        verdict = judge(
            report, max_loss=max_loss, min_loss=min_loss, expect=expect, rtol=rtol, atol=atol
        )
        _show_verdict(verdict, fmt, quiet)
    raise typer.Exit(EXIT_OK if verdict.passed else EXIT_CHECK_FAILED)


def _check_conditions(max_loss, min_loss, expect, rtol, atol) -> None:
    """check's options that cannot work together, said before any file is read."""
    if max_loss is None and min_loss is None and expect is None:
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
