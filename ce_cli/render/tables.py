"""ce-loss's output for people: the summary, per-element and gradient tables, with Rich."""

from __future__ import annotations

import math

import numpy as np

from ..report import Report
from .numbers import fnum, short
from .rows import head_tail, per_element_rows

LOSS_TITLES = {
    ("ce", "logits"): "cross-entropy from logits",
    ("ce", "probs"): "cross-entropy from probabilities (-sum y log s)",
    ("ce", "log-probs"): "cross-entropy from log-probabilities",
    ("nll", "log-probs"): "negative log-likelihood of log-probabilities",
    ("bce", "probs"): "binary cross-entropy from probabilities",
    ("bce-logits", "logits"): "binary cross-entropy with logits",
}

MAX_TABLE_COLS = 10


def print_table(report: Report, console) -> None:
    """Print the summary and, as asked, the per-element table and the gradient matrix."""
    from rich.table import Table

    p = report.problem
    r = report.result
    summary = Table(show_header=False, box=None, pad_edge=False)
    summary.add_column(style="bold")
    summary.add_column(overflow="fold")  # long paths wrap, never cut
    loss_text = "none (per-element values below)" if r.loss is None else fnum(r.loss)
    summary.add_row(
        "loss",
        f"[bold green]{loss_text}[/]"
        if r.loss is not None and math.isfinite(r.loss)
        else loss_text,
    )
    summary.add_row("variant", f"{LOSS_TITLES.get((p.loss, p.input_kind), p.loss)} ({p.loss})")
    summary.add_row("reduction", p.reduction)
    summary.add_row(report.unit, str(report.count))
    if p.categorical:
        summary.add_row("classes", str(p.n_classes))
        summary.add_row("targets", "probabilities" if p.soft else "class indices")
        if not p.soft:
            ignored = _ignored(report)
            summary.add_row("ignore_index", f"{p.ignore_index} ({ignored} ignored)")
        if p.label_smoothing:
            summary.add_row("label smoothing", fnum(p.label_smoothing))
    if p.weight is not None:
        summary.add_row("weight", _vector_text(p.weight))
    if p.pos_weight is not None:
        summary.add_row("pos_weight", _vector_text(p.pos_weight))
    if p.reduction == "mean":
        summary.add_row("divided by", fnum(r.denominator))
    summary.add_row("pred", _text(report.pred_name))
    if report.target_name:
        summary.add_row("target", _text(report.target_name))
    for what, path in report.saved.items():
        summary.add_row(f"saved {what}", _text(path))
    _metric_rows(report, summary)
    console.print(summary)

    if _shows_per_element(report):
        console.print(per_element_table(report))
    if report.show_grad and report.has_grad:
        console.print(grad_table(report, console.width))
    if report.metric_settings is not None:
        from .metrics import print_metrics

        print_metrics(report, console)


def _shows_per_element(report: Report) -> bool:
    """--per-sample (or reduction none) shows the head and tail, unless --worst/--best ask
    for those samples instead."""
    if report.worst is not None or report.best is not None:
        return False
    return report.has_per_element and (report.show_per_sample or report.problem.reduction == "none")


def _metric_rows(report: Report, summary) -> None:
    """The measured metrics (--metrics, --top-k, ...) as rows of the summary."""
    if report.metric_settings is None:
        return
    from .metrics import summary_rows

    for name, value in summary_rows(report):
        summary.add_row(name, value)


def _ignored(report: Report) -> int:
    """How many targets are ignore_index: all but the ones the mean counted per class."""
    counts = report.result.target_counts
    if counts is None:
        return int(np.count_nonzero(np.asarray(report.target) == report.problem.ignore_index))
    return report.count - int(counts.sum())


def _text(s):
    """User-given text (file and class names) shown as is, never read as Rich markup."""
    from rich.text import Text

    return Text(str(s))


def _vector_text(v: np.ndarray) -> str:
    flat = np.asarray(v).reshape(-1)
    shown = ", ".join(short(x) for x in flat[:8])
    return f"[{shown}{', ...' if flat.size > 8 else ''}] ({flat.size} values)"


def per_element_table(report: Report):
    from rich.table import Table

    p = report.problem
    n = report.count
    flat, hidden = head_tail(n)
    rows = per_element_rows(report, flat)
    title = f"per-{'sample' if p.categorical else 'element'} loss ({n} {report.unit})"
    table = Table(title=title, title_justify="left")
    table.add_column("index", justify="right")
    table.add_column("target")
    if p.categorical:
        table.add_column("predicted")
        table.add_column("p(target)", justify="right")
    else:
        table.add_column("p" if p.loss == "bce" else "sigmoid(x)", justify="right")
    table.add_column("loss", justify="right")
    half = len(flat) // 2 if hidden else len(flat)
    for i, row in enumerate(rows):
        if hidden and i == half:
            table.add_row(
                "...", f"[dim]{hidden} rows hidden[/]", *([""] * (len(table.columns) - 2))
            )
        cells = [row["index"], _text(row["target"])]
        if p.categorical:
            cells.append(_text(row["predicted"]))
        cells.append(short(row["p_target"]))
        cells.append(short(row["loss"], 8))
        table.add_row(*cells)
    return table


def _fitting_columns(widths: list[int], budget: int) -> tuple[np.ndarray, int]:
    """Which columns (head and tail) fit in ``budget`` characters, and how many are hidden."""
    n = len(widths)
    cost = lambda cols: sum(widths[c] + 3 for c in cols)  # noqa: E731 - cell padding and border
    limit = min(n, MAX_TABLE_COLS)
    while limit > 2:
        cols, hidden = head_tail(n, limit)
        if cost(cols) + (12 if hidden else 0) <= budget:
            return cols, hidden
        limit -= 1
    return head_tail(n, 2)


def grad_table(report: Report, width: int = 100):
    """The gradient as a matrix: one row per sample (position), one column per class.

    Long matrices show their first and last rows; wide ones as many first and last columns as
    fit in ``width`` characters, never squeezing a number.
    """
    from rich.table import Table

    p = report.problem
    n_rows, n_cols = report.grad_matrix_shape()
    g_shape = np.shape(report.pred)
    if p.categorical:
        names = report.class_names
        named = names is not None and len(names) == p.n_classes
        col_names = [names[c] if names and named else str(c) for c in range(p.n_classes)]
    else:
        col_names = [str(c) for c in range(n_cols)] if len(g_shape) > 1 else ["grad"]
    rows, hidden_rows = head_tail(n_rows)
    m = report.grad_matrix_rows(rows)
    text = [[short(v, 4) for v in m[i]] for i in range(len(rows))]
    widths = [max([len(col_names[c])] + [len(t[c]) for t in text]) for c in range(n_cols)]
    row_w = max(3, len(str(n_rows)))
    cols, hidden_cols = _fitting_columns(widths, width - row_w - 4)
    shape = " x ".join(map(str, g_shape)) or "scalar"
    title = f"gradient of the loss with respect to {p.input_kind} ({shape})"
    table = Table(title=title, title_justify="left")
    table.add_column("row", justify="right", no_wrap=True)
    half_c = len(cols) // 2 if hidden_cols else len(cols)
    for j, c in enumerate(cols):
        if hidden_cols and j == half_c:
            table.add_column(f"{hidden_cols} more", justify="center", no_wrap=True)
        table.add_column(_text(col_names[c]), justify="right", no_wrap=True, min_width=widths[c])
    half_r = len(rows) // 2 if hidden_rows else len(rows)
    for i, rr in enumerate(rows):
        if hidden_rows and i == half_r:
            table.add_row("...", *(["..."] * (len(table.columns) - 1)))
        cells = [str(int(rr))]
        for j, c in enumerate(cols):
            if hidden_cols and j == half_c:
                cells.append("...")
            cells.append(text[i][c])
        table.add_row(*cells)
    if hidden_rows:
        table.caption = f"{hidden_rows} rows hidden"
    return table
