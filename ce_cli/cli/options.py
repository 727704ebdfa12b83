"""The options of ce-loss's commands: their choices, names, help texts and panels.

Typer reads these annotations when a command is called; nothing here is imported by the library.
"""

# No `from __future__ import annotations`: Typer would then evaluate every option's string
# annotation at each call (3 ms of start-up).

from enum import Enum
from typing import Annotated

import typer


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


class CheckReduction(str, Enum):
    mean = "mean"
    sum = "sum"


class Color(str, Enum):
    auto = "auto"
    always = "always"
    never = "never"


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
    parquet = "parquet"
    feather = "feather"
    safetensors = "safetensors"


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
    str | None,
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
        "--loss",
        "-l",
        help="ce: cross-entropy from logits; nll: from log-probabilities; "
        "bce: binary cross-entropy from probabilities; bce-logits: BCE with logits.",
        rich_help_panel=_LOSS,
    ),
]
InputOpt = Annotated[
    InputKind | None,
    typer.Option(
        "--input",
        "-i",
        help="What PRED holds, for ce (default: logits). "
        "`--loss ce --input probs` is -sum y log(s) on raw probabilities.",
        show_default=False,
        rich_help_panel=_LOSS,
    ),
]
ReductionOpt = Annotated[
    Reduction,
    typer.Option(
        "--reduction",
        "-r",
        help="mean, sum, or none (one value per sample).",
        rich_help_panel=_LOSS,
    ),
]
WeightOpt = Annotated[
    str | None,
    typer.Option(
        "--weight",
        "-w",
        help="Class weights: comma-separated numbers or a file. ce/nll: one "
        "per class. bce/bce-logits: one per class (dimension 1), or one per element of a "
        "1-D input.",
        show_default=False,
        rich_help_panel=_LOSS,
    ),
]
IgnoreOpt = Annotated[
    int,
    typer.Option(
        "--ignore-index",
        help="Target class index that contributes nothing (ce/nll), as torch's ignore_index.",
        rich_help_panel=_LOSS,
    ),
]
SmoothingOpt = Annotated[
    float,
    typer.Option(
        "--label-smoothing", "-s", help="Label smoothing in [0, 1] (ce/nll).", rich_help_panel=_LOSS
    ),
]
PosWeightOpt = Annotated[
    str | None,
    typer.Option(
        "--pos-weight",
        help="Weight of positive targets for bce-logits, broadcast along the "
        "last dimension: comma-separated numbers or a file.",
        show_default=False,
        rich_help_panel=_LOSS,
    ),
]
ClassDimOpt = Annotated[
    str,
    typer.Option(
        "--class-dim",
        help="Dimension of PRED that holds the classes (ce/nll), as torch's dimension 1: "
        "-1 or last for (N, T, V) or (N, H, W, C) outputs; negative counts from the end.",
        rich_help_panel=_LOSS,
    ),
]
ShiftOpt = Annotated[
    bool,
    typer.Option(
        "--shift",
        help="Causal language models: position t's scores predict target t+1 along the "
        "sequence dimension (the last one that is not the classes'), as Hugging Face's "
        "logits[..., :-1, :] against labels[..., 1:].",
        rich_help_panel=_LOSS,
    ),
]
PredFormatOpt = Annotated[
    FileFormat | None,
    typer.Option(
        "--pred-format",
        help="Format of PRED when its name or stdin does not say.",
        show_default=False,
        rich_help_panel=_IO,
    ),
]
TargetFormatOpt = Annotated[
    FileFormat | None,
    typer.Option(
        "--target-format",
        help="Format of TARGET when its name or stdin does not say.",
        show_default=False,
        rich_help_panel=_IO,
    ),
]
PredKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--pred-key",
        help="Array name of the predictions in an .npz or key in a JSON "
        "object (default: logits, probs, predictions, ...).",
        show_default=False,
        rich_help_panel=_IO,
    ),
]
PredDtypeOpt = Annotated[
    str | None,
    typer.Option(
        "--pred-dtype",
        help="Read PRED's 2-byte values as bfloat16 (bf16), e.g. an .npy of "
        "ml_dtypes.bfloat16 (saved as |V2); widened exactly to float32.",
        show_default=False,
        rich_help_panel=_IO,
    ),
]
TargetKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--target-key",
        help="Array name of the targets in an .npz or key in a JSON "
        "object (default: labels, targets, y, ...).",
        show_default=False,
        rich_help_panel=_IO,
    ),
]
TargetColumnOpt = Annotated[
    str | None,
    typer.Option(
        "--target-column",
        help="Column of a CSV/TSV PRED that holds the labels: its "
        "header name or 0-based index (default: a column named label/target/y).",
        show_default=False,
        rich_help_panel=_IO,
    ),
]
MaxInputBytesOpt = Annotated[
    int | None,
    typer.Option(
        "--max-input-bytes",
        min=1,
        help="Most bytes read from standard input, a pipe or a device, which are held in memory "
        "(default: half the memory available); files are read a block at a time.",
        show_default=False,
        rich_help_panel=_IO,
    ),
]
IndexColOpt = Annotated[
    bool | None,
    typer.Option(
        "--index-col/--no-index-col",
        help="Whether the first column of a CSV/TSV is a row index to skip (default: when "
        "the header says so: an empty first cell, 'Unnamed: 0', one cell short).",
        show_default=False,
        rich_help_panel=_IO,
    ),
]
DecimalOpt = Annotated[
    str | None,
    typer.Option(
        "--decimal",
        help="Decimal mark of a CSV/TSV's numbers, . or , (default: . unless cells "
        "separated by semicolons or tabs hold decimal commas).",
        show_default=False,
        rich_help_panel=_IO,
    ),
]
EncodingOpt = Annotated[
    str | None,
    typer.Option(
        "--encoding",
        help="Text encoding of a CSV/TSV, e.g. cp1252 for Excel's CSV on Windows "
        "(default: UTF-8, or UTF-16 by its byte-order mark).",
        show_default=False,
        rich_help_panel=_IO,
    ),
]
ThreadsOpt = Annotated[
    int | None,
    typer.Option(
        "--threads",
        "-t",
        min=1,
        help="Threads to spread blocks over (default: every "
        "CPU); the result is identical bit for bit whatever the number.",
        show_default=False,
    ),
]
QuietOpt = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        help="No warnings on stderr (check: no verdict line either, but the --format json or "
        "csv it is asked for).",
    ),
]
ColorOpt = Annotated[
    Color,
    typer.Option(
        "--color",
        help="Colour the output: auto (on a terminal, not with NO_COLOR set), always or never.",
    ),
]
DebugOpt = Annotated[
    bool, typer.Option("--debug", help="On an error, show the Python traceback as well.")
]


PerSampleOpt = Annotated[
    bool,
    typer.Option(
        "--per-sample",
        "-p",
        help="Add the per-sample losses (torch's reduction='none' values).",
        rich_help_panel=_OUT,
    ),
]
GradOpt = Annotated[
    bool,
    typer.Option(
        "--grad",
        "-g",
        help="Add the gradient of the loss with respect to PRED.",
        rich_help_panel=_OUT,
    ),
]
ComputeFormatOpt = Annotated[
    Format,
    typer.Option(
        "--format",
        "-f",
        help="table for people; json, csv or plain for scripts.",
        rich_help_panel=_OUT,
    ),
]
SaveGradOpt = Annotated[
    str | None,
    typer.Option(
        "--save-grad",
        help="Write the gradient to this .npy file, block by block (written whole or not at all).",
        show_default=False,
        rich_help_panel=_OUT,
    ),
]
GradDtypeOpt = Annotated[
    GradDtype | None,
    typer.Option(
        "--grad-dtype",
        help="dtype of the --save-grad file (default: PRED's float dtype).",
        show_default=False,
        rich_help_panel=_OUT,
    ),
]
SavePerSampleOpt = Annotated[
    str | None,
    typer.Option(
        "--save-per-sample",
        help="Write the per-sample losses to this .npy or .csv file (written whole or not at all).",
        show_default=False,
        rich_help_panel=_OUT,
    ),
]

# `check`'s conditions and its own variants of the shared options

_COND = "Condition"
MaxOpt = Annotated[
    float | None,
    typer.Option(
        "--max", help="Holds when loss <= MAX.", show_default=False, rich_help_panel=_COND
    ),
]
MinOpt = Annotated[
    float | None,
    typer.Option(
        "--min", help="Holds when loss >= MIN.", show_default=False, rich_help_panel=_COND
    ),
]
ExpectOpt = Annotated[
    float | None,
    typer.Option(
        "--expect",
        help="Holds when |loss - EXPECT| <= ATOL + RTOL * |EXPECT|.",
        show_default=False,
        rich_help_panel=_COND,
    ),
]
# None: not given (an error without --expect); the defaults below otherwise
RTOL, ATOL = 1e-6, 1e-9
RtolOpt = Annotated[
    float | None,
    typer.Option(
        "--rtol",
        help="Relative tolerance of --expect.",
        show_default=str(RTOL),
        rich_help_panel=_COND,
    ),
]
AtolOpt = Annotated[
    float | None,
    typer.Option(
        "--atol",
        help="Absolute tolerance of --expect.",
        show_default=str(ATOL),
        rich_help_panel=_COND,
    ),
]
CheckReductionOpt = Annotated[
    CheckReduction,
    typer.Option(
        "--reduction", "-r", help="mean or sum (check compares one number).", rich_help_panel=_LOSS
    ),
]
CheckFormatOpt = Annotated[
    Format,
    typer.Option(
        "--format",
        "-f",
        help="table or plain: one verdict line; json: an object; csv: one row per condition.",
        rich_help_panel=_OUT,
    ),
]

# What stands behind the number: metrics measured in the same pass (docs/metrics.md)

_MET = "Metrics"
MetricsOpt = Annotated[
    bool,
    typer.Option(
        "--metrics",
        "-m",
        help="Add accuracy, perplexity, bits per target, mean entropy, Brier score and ECE "
        "(bce: accuracy, Brier, ECE), measured in the same pass.",
        rich_help_panel=_MET,
    ),
]
TopKOpt = Annotated[
    int | None,
    typer.Option(
        "--top-k",
        help="Add top-K accuracy (ce/nll), e.g. --top-k 5.",
        show_default=False,
        rich_help_panel=_MET,
    ),
]
BinsOpt = Annotated[
    int,
    typer.Option(
        "--bins",
        help="Equal-width confidence bins of the ECE and --calibration.",
        rich_help_panel=_MET,
    ),
]
PerClassOpt = Annotated[
    bool,
    typer.Option(
        "--per-class",
        help="A table per class (per label for bce): support, mean loss, recall, precision.",
        rich_help_panel=_MET,
    ),
]
ConfusionOpt = Annotated[
    bool,
    typer.Option(
        "--confusion",
        help="The confusion matrix (rows: target, columns: predicted), printed up to 20 classes.",
        rich_help_panel=_MET,
    ),
]
SaveConfusionOpt = Annotated[
    str | None,
    typer.Option(
        "--save-confusion",
        help="Write the confusion matrix to this .csv or .npy file.",
        show_default=False,
        rich_help_panel=_MET,
    ),
]
WorstOpt = Annotated[
    int | None,
    typer.Option(
        "--worst",
        help="Show the K samples of highest loss, highest first (constant memory).",
        show_default=False,
        rich_help_panel=_MET,
    ),
]
BestOpt = Annotated[
    int | None,
    typer.Option(
        "--best",
        help="Show the K samples of lowest loss, lowest first.",
        show_default=False,
        rich_help_panel=_MET,
    ),
]
HistogramOpt = Annotated[
    bool,
    typer.Option(
        "--histogram",
        help="Draw a histogram of the per-sample losses (shown anyway with --per-sample when "
        "the table hides rows).",
        rich_help_panel=_MET,
    ),
]
CalibrationOpt = Annotated[
    bool,
    typer.Option(
        "--calibration",
        help="Draw a reliability diagram: accuracy against confidence per bin, and the ECE.",
        rich_help_panel=_MET,
    ),
]
PlotOpt = Annotated[
    str | None,
    typer.Option(
        "--plot",
        help="Write a figure (loss histogram, reliability diagram, per-class loss) to this "
        ".png, .svg or .pdf; needs pip install 'ce-loss[plot]'.",
        show_default=False,
        rich_help_panel=_MET,
    ),
]
MinAccuracyOpt = Annotated[
    float | None,
    typer.Option(
        "--min-accuracy",
        help="Holds when accuracy >= this.",
        show_default=False,
        rich_help_panel=_COND,
    ),
]
MinTopKOpt = Annotated[
    float | None,
    typer.Option(
        "--min-top-k-accuracy",
        help="Holds when top-K accuracy (--top-k, default 5) >= this.",
        show_default=False,
        rich_help_panel=_COND,
    ),
]
MaxPerplexityOpt = Annotated[
    float | None,
    typer.Option(
        "--max-perplexity",
        help="Holds when perplexity <= this.",
        show_default=False,
        rich_help_panel=_COND,
    ),
]
MaxEceOpt = Annotated[
    float | None,
    typer.Option(
        "--max-ece",
        help="Holds when the ECE <= this.",
        show_default=False,
        rich_help_panel=_COND,
    ),
]
MaxBrierOpt = Annotated[
    float | None,
    typer.Option(
        "--max-brier",
        help="Holds when the Brier score <= this.",
        show_default=False,
        rich_help_panel=_COND,
    ),
]
