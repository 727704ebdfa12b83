"""The `ce-loss` command line: parses options, reads inputs, calls the core once, prints.

Start-up matters (scripts call ce-loss in loops), so this module imports only typer at load
time: NumPy, the readers, the core and Rich's tables are imported inside the commands, and
`ce-loss --help` never loads NumPy.

Exit status: 0 success, 1 a `check` whose condition does not hold, 2 bad usage or bad input.
"""

# No `from __future__ import annotations`: Typer would then evaluate every option's string
# annotation at each call (3 ms of start-up).

import os
import sys
from contextlib import contextmanager
from enum import Enum
from typing import Annotated, Optional

import typer

from . import __version__
from .errors import CeLossError

EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class Loss(str, Enum):
    ce = "ce"
    nll = "nll"
    bce = "bce"
    bce_logits = "bce-logits"


class InputKind(str, Enum):
    logits = "logits"
    probs = "probs"
    log_probs = "log-probs"


class Reduction(str, Enum):
    mean = "mean"
    sum = "sum"
    none = "none"


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    plain = "plain"


class GradDtype(str, Enum):
    float16 = "float16"
    float32 = "float32"
    float64 = "float64"


class FileFormat(str, Enum):
    npy = "npy"
    npz = "npz"
    csv = "csv"
    tsv = "tsv"
    json = "json"
    jsonl = "jsonl"


app = typer.Typer(
    name="ce-loss",
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


# --------------------------------------------------------------------------------------------
# Options shared by `compute` and `check`

_IO = "Input files"
_LOSS = "Loss"
_OUT = "Output"

PredArg = Annotated[
    str,
    typer.Argument(
        metavar="PRED",
        help="Predictions: logits, probabilities or log-probabilities (.npy .npz .csv .tsv "
        ".json .jsonl, or - for stdin). An .npz, .json or .csv may hold the targets too.",
        show_default=False,
    ),
]
TargetArg = Annotated[
    Optional[str],
    typer.Argument(
        metavar="TARGET",
        help="Targets: class indices (PRED's shape without the class dimension) or "
        "probabilities (PRED's shape). Omit when PRED holds them; - for stdin.",
        show_default=False,
    ),
]
LossOpt = Annotated[
    Loss,
    typer.Option(
        "--loss", "-l", help="ce: cross-entropy from logits; nll: from log-probabilities; "
        "bce: binary cross-entropy from probabilities; bce-logits: BCE with logits.",
        rich_help_panel=_LOSS,
    ),
]
InputOpt = Annotated[
    Optional[InputKind],
    typer.Option(
        "--input", "-i", help="What PRED holds, for ce (default: logits). "
        "`--loss ce --input probs` is -sum y log(s) on raw probabilities.",
        show_default=False, rich_help_panel=_LOSS,
    ),
]
ReductionOpt = Annotated[
    Reduction,
    typer.Option("--reduction", "-r", help="mean, sum, or none (one value per sample).",
                 rich_help_panel=_LOSS),
]
WeightOpt = Annotated[
    Optional[str],
    typer.Option(
        "--weight", "-w", help="Class weights: comma-separated numbers or a file. ce/nll: one "
        "per class. bce/bce-logits: one per class (dimension 1), or one per element of a "
        "1-D input.", show_default=False, rich_help_panel=_LOSS,
    ),
]
IgnoreOpt = Annotated[
    int,
    typer.Option("--ignore-index", help="Target class index that contributes nothing "
                 "(ce/nll), as torch's ignore_index.", rich_help_panel=_LOSS),
]
SmoothingOpt = Annotated[
    float,
    typer.Option("--label-smoothing", "-s", help="Label smoothing in [0, 1] (ce/nll).",
                 rich_help_panel=_LOSS),
]
PosWeightOpt = Annotated[
    Optional[str],
    typer.Option(
        "--pos-weight", help="Weight of positive targets for bce-logits, broadcast along the "
        "last dimension: comma-separated numbers or a file.", show_default=False,
        rich_help_panel=_LOSS,
    ),
]
PredFormatOpt = Annotated[
    Optional[FileFormat],
    typer.Option("--pred-format", help="Format of PRED when its name or stdin does not say.",
                 show_default=False, rich_help_panel=_IO),
]
TargetFormatOpt = Annotated[
    Optional[FileFormat],
    typer.Option("--target-format", help="Format of TARGET when its name or stdin does not say.",
                 show_default=False, rich_help_panel=_IO),
]
PredKeyOpt = Annotated[
    Optional[str],
    typer.Option("--pred-key", help="Array name of the predictions in an .npz or key in a JSON "
                 "object (default: logits, probs, predictions, ...).", show_default=False,
                 rich_help_panel=_IO),
]
TargetKeyOpt = Annotated[
    Optional[str],
    typer.Option("--target-key", help="Array name of the targets in an .npz or key in a JSON "
                 "object (default: labels, targets, y, ...).", show_default=False,
                 rich_help_panel=_IO),
]
TargetColumnOpt = Annotated[
    Optional[str],
    typer.Option("--target-column", help="Column of a CSV/TSV PRED that holds the labels: its "
                 "header name or 0-based index (default: a column named label/target/y).",
                 show_default=False, rich_help_panel=_IO),
]
ThreadsOpt = Annotated[
    Optional[int],
    typer.Option("--threads", "-t", min=1, help="Threads to spread blocks over (default: every "
                 "CPU); the result is identical bit for bit whatever the number.",
                 show_default=False),
]
QuietOpt = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="No warnings on stderr (check: print nothing at all)."),
]
DebugOpt = Annotated[
    bool, typer.Option("--debug", help="On an error, show the Python traceback as well.")
]


# --------------------------------------------------------------------------------------------
# Error handling: the one place that turns exceptions into messages and exit codes


# What the command line calls the library's options in its messages.
_OPTION_NAMES = {
    "weight": "--weight", "pos_weight": "--pos-weight", "label_smoothing": "--label-smoothing",
    "ignore_index": "--ignore-index", "workers": "--threads", "grad_dtype": "--grad-dtype",
    "loss": "--loss", "input_kind": "--input",
}


def _stderr(message: str) -> None:
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.stderr.flush()


@contextmanager
def _user_errors(debug: bool):
    """Turn every failure into one line on stderr and exit status 2 (a traceback with --debug).

    Yields the names errors call the inputs and options by (``CeLossError.render``), which the
    command fills in as it learns them (file names once the inputs are read).
    """
    names: dict = dict(_OPTION_NAMES)
    try:
        yield names
    except typer.Exit:
        raise
    except CeLossError as e:
        if debug:
            raise
        msg = f"ce-loss: error: {e.render(names)}"
        hint = e.render_hint(names)
        if hint:
            msg += f" (hint: {hint})"
        _stderr(msg)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except MemoryError:
        if debug:
            raise
        _stderr("ce-loss: error: out of memory; the input is too large for this machine")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except KeyboardInterrupt:
        _stderr("ce-loss: interrupted")
        raise typer.Exit(130) from None
    except BrokenPipeError:
        # The reader of stdout went away (e.g. `| head`); nothing left to say.
        sys.stderr.close()
        raise typer.Exit(EXIT_OK) from None
    except OSError as e:
        if debug:
            raise
        where = f" {e.filename}" if getattr(e, "filename", None) else ""
        _stderr(f"ce-loss: error:{where}: {e.strerror or e}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except Exception as e:  # a bug in ce-loss: say so plainly, without a traceback
        if debug:
            raise
        _stderr(
            f"ce-loss: internal error: {type(e).__name__}: {e} "
            "(run again with --debug for the traceback, and please report it)"
        )
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _warn(quiet: bool, message: str) -> None:
    if not quiet:
        _stderr(f"ce-loss: warning: {message}")


# --------------------------------------------------------------------------------------------
# The shared pipeline: read, validate, compute


def _run(
    pred, target, *, loss, input_kind, reduction, weight, ignore_index, label_smoothing,
    pos_weight, pred_format, target_format, pred_key, target_key, target_column, quiet,
    per_sample=False, grad=False, keep_per_element=False, save_grad=None, grad_dtype=None,
    save_per_sample=None, threads=None, names=None,
):
    """Read the inputs and compute; returns a render.Report. Raises CeLossError.

    ``names`` (from _user_errors) learns what the inputs are called, for the error messages.
    """
    from dataclasses import replace

    from . import readers
    from .core import resolve_input_kind, run
    from .render import Report
    from .settings import LossSpec, OutputSettings

    names = {} if names is None else names
    spec = LossSpec(loss=loss.value, input_kind=input_kind.value if input_kind else None,
                    reduction=reduction.value, ignore_index=ignore_index,
                    label_smoothing=label_smoothing, weight_per_class=True)
    resolve_input_kind(spec)  # before reading anything, as an option error should be
    from .settings import ReadSettings

    data = readers.load(pred, target, ReadSettings(
        pred_format=pred_format.value if pred_format else None,
        target_format=target_format.value if target_format else None,
        pred_key=pred_key, target_key=target_key, target_column=target_column,
    ))
    if data.target is None:
        raise CeLossError(
            f"{data.pred_name} holds no targets; give a TARGET file, or name the label column "
            "with --target-column / the array with --target-key"
        )
    target_name = data.target_name or data.pred_name
    names.update(input=data.pred_name, the_input=data.pred_name,
                 the_input_shape=f"the shape of {data.pred_name}", target=target_name,
                 other_input=data.pred_name if target_name != data.pred_name else "input")
    w = readers.read_vector(weight, "--weight") if weight is not None else None
    pw = readers.read_vector(pos_weight, "--pos-weight") if pos_weight is not None else None
    spec = replace(spec, weight=w, pos_weight=pw)
    outputs = _check_outputs(
        {"--save-grad": save_grad, "--save-per-sample": save_per_sample},
        [pred, target],
    )
    want_pe = per_sample or keep_per_element or reduction is Reduction.none
    with _collecting(), _Progress(quiet) as progress:
        # what is saved is not also kept in memory: it is read back below
        result = run(spec, data.pred, data.target, OutputSettings(
            per_element=want_pe and save_per_sample is None, grad=grad and save_grad is None,
            save_grad=save_grad, grad_dtype=grad_dtype.value if grad_dtype else None,
            save_per_element=save_per_sample, workers=threads, progress=progress,
        ))
    import numpy as np

    # What went to disk and is also to be shown is read back from there, memory-mapped.
    if grad and save_grad is not None:
        result.grad = np.load(save_grad, mmap_mode="r")
    if want_pe and result.per_element is None and save_per_sample is not None:
        if str(save_per_sample).lower().endswith(".npy"):
            result.per_element = np.load(save_per_sample, mmap_mode="r")
        else:
            result.per_element = _read_back_csv(save_per_sample, result.problem.out_shape)
    report = Report(
        result=result, pred=data.pred, target=data.target, pred_name=data.pred_name,
        target_name=data.target_name, class_names=data.class_names,
        show_per_sample=per_sample, show_grad=grad, saved=outputs,
    )
    from .diagnose import warnings_for

    for message in warnings_for(report):
        _warn(quiet, message)
    return report


@contextmanager
def _collecting():
    """The garbage collector on for the work itself (`script()` keeps it off for start-up)."""
    import gc

    was = gc.isenabled()
    if not was:
        # What start-up made lives until exit: set it aside, or the first pass would walk it all.
        gc.freeze()
    gc.enable()
    try:
        yield
    finally:
        if not was:
            gc.disable()


def _check_outputs(outputs: dict, inputs: list) -> dict:
    """Validate output paths before any work: right suffix, a directory that exists, and never
    one of the input files (ce-loss never modifies an input)."""
    from pathlib import Path

    saved = {}
    in_paths = {Path(i).resolve() for i in inputs if i and i != "-"}
    for option, path in outputs.items():
        if path is None:
            continue
        out = Path(path)
        suffixes = (".npy",) if option == "--save-grad" else (".npy", ".csv")
        if out.suffix.lower() not in suffixes:
            raise CeLossError(
                f"{option} {path}: the file name must end in {' or '.join(suffixes)}"
            )
        if not out.resolve().parent.is_dir():
            raise CeLossError(f"{option} {path}: the directory {out.parent} does not exist")
        if out.resolve() in in_paths:
            raise CeLossError(f"{option} {path}: that is an input file; ce-loss never overwrites "
                              "its inputs")
        if out.is_dir():
            raise CeLossError(f"{option} {path}: is a directory")
        saved["grad" if option == "--save-grad" else "per_sample"] = str(path)
    if len(set(saved.values())) < len(saved):
        raise CeLossError("--save-grad and --save-per-sample name the same file")
    return saved


def _read_back_csv(path, shape):
    import numpy as np

    data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return data[:, -1].reshape(shape)


class _Progress:
    """A progress bar on stderr for runs that take more than about a second.

    Off when stderr is not a terminal or with --quiet; Rich is imported only if the bar appears.
    """

    DELAY = 1.0

    def __init__(self, quiet: bool):
        self.enabled = not quiet and sys.stderr.isatty()
        self.start = None
        self.bar = None
        self.task = None

    def __enter__(self):
        return self if self.enabled else None

    def __call__(self, done: int, total: int) -> None:
        import time

        now = time.monotonic()
        if self.start is None:
            self.start = now
        if self.bar is None:
            if now - self.start < self.DELAY or done >= total:
                return
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeRemainingColumn

            self.bar = Progress(
                "[progress.description]{task.description}", BarColumn(), TaskProgressColumn(),
                TimeRemainingColumn(), console=Console(stderr=True), transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task("computing", total=total)
        self.bar.update(self.task, completed=done)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False


def _emit(text: str) -> None:
    """Write machine output to stdout in one piece."""
    sys.stdout.write(text)
    sys.stdout.flush()


def _console():
    from rich.console import Console

    # emoji=False: a file or class name like :cat: is shown as typed (and it skips 2 ms of
    # emoji tables at start-up)
    return Console(highlight=False, emoji=False)


# --------------------------------------------------------------------------------------------
# Commands


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
    per_sample: Annotated[
        bool,
        typer.Option("--per-sample", "-p", help="Add the per-sample losses (torch's "
                     "reduction='none' values).", rich_help_panel=_OUT),
    ] = False,
    grad: Annotated[
        bool,
        typer.Option("--grad", "-g", help="Add the gradient of the loss with respect to PRED.",
                     rich_help_panel=_OUT),
    ] = False,
    fmt: Annotated[
        Format,
        typer.Option("--format", "-f", help="table for people; json, csv or plain for scripts.",
                     rich_help_panel=_OUT),
    ] = Format.table,
    save_grad: Annotated[
        Optional[str],
        typer.Option("--save-grad", help="Write the gradient to this .npy file, block by block "
                     "(written whole or not at all).", show_default=False, rich_help_panel=_OUT),
    ] = None,
    grad_dtype: Annotated[
        Optional[GradDtype],
        typer.Option("--grad-dtype", help="dtype of the --save-grad file (default: PRED's float "
                     "dtype).", show_default=False, rich_help_panel=_OUT),
    ] = None,
    save_per_sample: Annotated[
        Optional[str],
        typer.Option("--save-per-sample", help="Write the per-sample losses to this .npy or .csv "
                     "file (written whole or not at all).", show_default=False,
                     rich_help_panel=_OUT),
    ] = None,
    threads: ThreadsOpt = None,
    pred_format: PredFormatOpt = None,
    target_format: TargetFormatOpt = None,
    pred_key: PredKeyOpt = None,
    target_key: TargetKeyOpt = None,
    target_column: TargetColumnOpt = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Compute a loss, its per-sample values and its gradient.

    Examples:

      ce-loss compute samples/logits.npy samples/labels.npy

      ce-loss compute samples/seed001.csv --target-column label --per-sample --grad

      loss=$(ce-loss compute logits.npy labels.npy --format plain)
    """
    with _user_errors(debug) as names:
        if fmt is Format.plain and (per_sample or grad):
            raise CeLossError(
                "--format plain prints the bare loss only; use --format json or csv for "
                "--per-sample and --grad"
            )
        report = _run(
            pred, target, loss=loss, input_kind=input_kind, reduction=reduction, weight=weight,
            ignore_index=ignore_index, label_smoothing=label_smoothing, pos_weight=pos_weight,
            pred_format=pred_format, target_format=target_format, pred_key=pred_key,
            target_key=target_key, target_column=target_column, quiet=quiet,
            per_sample=per_sample, grad=grad, keep_per_element=fmt is Format.csv,
            save_grad=save_grad, grad_dtype=grad_dtype, save_per_sample=save_per_sample,
            threads=threads, names=names,
        )
        from . import render

        if fmt is Format.table:
            render.print_table(report, _console())
        elif fmt is Format.json:
            _emit(render.to_json(report))
        elif fmt is Format.csv:
            _emit(render.to_csv(report))
        else:
            _emit(render.to_plain(report))


@app.command(no_args_is_help=True)
def check(
    pred: PredArg,
    target: TargetArg = None,
    max_loss: Annotated[
        Optional[float],
        typer.Option("--max", help="Holds when loss <= MAX.", show_default=False,
                     rich_help_panel="Condition"),
    ] = None,
    min_loss: Annotated[
        Optional[float],
        typer.Option("--min", help="Holds when loss >= MIN.", show_default=False,
                     rich_help_panel="Condition"),
    ] = None,
    expect: Annotated[
        Optional[float],
        typer.Option("--expect", help="Holds when |loss - EXPECT| <= ATOL + RTOL * |EXPECT|.",
                     show_default=False, rich_help_panel="Condition"),
    ] = None,
    rtol: Annotated[
        float,
        typer.Option("--rtol", help="Relative tolerance of --expect.", rich_help_panel="Condition"),
    ] = 1e-6,
    atol: Annotated[
        float,
        typer.Option("--atol", help="Absolute tolerance of --expect.", rich_help_panel="Condition"),
    ] = 1e-9,
    loss: LossOpt = Loss.ce,
    input_kind: InputOpt = None,
    reduction: Annotated[
        Reduction,
        typer.Option("--reduction", "-r", help="mean or sum (check compares one number).",
                     rich_help_panel=_LOSS),
    ] = Reduction.mean,
    weight: WeightOpt = None,
    ignore_index: IgnoreOpt = -100,
    label_smoothing: SmoothingOpt = 0.0,
    pos_weight: PosWeightOpt = None,
    fmt: Annotated[
        Format,
        typer.Option("--format", "-f", help="table or plain: one verdict line; json: an object.",
                     rich_help_panel=_OUT),
    ] = Format.plain,
    threads: ThreadsOpt = None,
    pred_format: PredFormatOpt = None,
    target_format: TargetFormatOpt = None,
    pred_key: PredKeyOpt = None,
    target_key: TargetKeyOpt = None,
    target_column: TargetColumnOpt = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Check that a loss meets a condition: exit 0 if it holds, 1 if not, 2 on bad input.

    Prints one verdict line, e.g. `FAIL loss 1.0155949508195155 > max 1.0 (ce, mean, 3
    samples)`. Several conditions may be given; all must hold. A NaN loss never passes.

    Examples:

      ce-loss check samples/logits.npy samples/labels.npy --max 2.5

      ce-loss check preds.npy labels.npy --expect 0.6931 --rtol 1e-4 --quiet || exit 1
    """
    with _user_errors(debug) as names:
        if max_loss is None and min_loss is None and expect is None:
            raise CeLossError("check needs a condition: --max, --min and/or --expect")
        if reduction is Reduction.none:
            raise CeLossError(
                "check compares one number; use --reduction mean or sum, not none"
            )
        if rtol < 0 or atol < 0:
            raise CeLossError(f"--rtol and --atol must be >= 0; got {rtol} and {atol}")
        report = _run(
            pred, target, loss=loss, input_kind=input_kind, reduction=reduction, weight=weight,
            ignore_index=ignore_index, label_smoothing=label_smoothing, pos_weight=pos_weight,
            pred_format=pred_format, target_format=target_format, pred_key=pred_key,
            target_key=target_key, target_column=target_column, quiet=quiet, threads=threads,
            names=names,
        )
        from . import render
        from .verdict import judge

        verdict = judge(report, max_loss=max_loss, min_loss=min_loss, expect=expect,
                        rtol=rtol, atol=atol)
        if not quiet:
            _emit(render.verdict_json(verdict) if fmt is Format.json else verdict.line + "\n")
    raise typer.Exit(EXIT_OK if verdict.passed else EXIT_CHECK_FAILED)


def main() -> None:
    """Run ce-loss in this process; ends with SystemExit carrying the exit status.

    For calling the command line from Python. The installed `ce-loss` and `python -m ce_cli`
    go through `script()`.
    """
    app(prog_name="ce-loss")


def script() -> None:
    """Entry point of the `ce-loss` console script and of `python -m ce_cli`.

    Runs the command, flushes its output and ends the process at once with its exit status.
    ce-loss leaves nothing to clean up by then (output files are complete and renamed before a
    command returns), and letting Python tear NumPy, Typer and Rich down module by module
    would add some 20 ms to every call of a shell loop.
    """
    import gc

    # Loading NumPy, Typer and Rich makes some 30,000 lasting objects and no garbage; the
    # collector's passes over them cost ~7 ms per call. It runs only while a command works through its
    # input (see _collecting), where a long run with a progress bar may make some.
    gc.disable()
    # NumPy's OpenBLAS starts a thread per CPU as it loads, and each spins for a while waiting
    # for matrix products that ce-loss never asks for: on a 2-CPU machine that took a third of
    # the CPU from ce-loss's own workers (100,000 x 1,000 logits: 0.13 s -> 0.10 s without it).
    # NumPy is not loaded yet here; a value the user set is kept.
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    try:
        main()
        code = EXIT_OK
    except KeyboardInterrupt:  # before a command's own handler is in place
        _stderr("ce-loss: interrupted")
        code = 130
    except SystemExit as e:
        if e.code is None or isinstance(e.code, int):
            code = e.code or EXIT_OK
        else:  # sys.exit("message")
            _stderr(str(e.code))
            code = EXIT_BAD_INPUT
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`| head`) or a closed stream
            pass
    os._exit(code)
