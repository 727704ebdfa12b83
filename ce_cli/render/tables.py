"""ce-loss's output for people: the summary, per-element and gradient tables, with Rich."""

from __future__ import annotations

import math

import numpy as np

from ..report import Report
from ..text import safe_text
from .numbers import column, fnum, short
from .rows import head_tail, per_element_rows, target_classes

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
    summary.add_row("loss", _loss_text(report))
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


def _loss_text(report: Report) -> str:
    """The loss, coloured by what it means: green clean, yellow with a warning, red NaN/inf."""
    loss = report.result.loss
    if loss is None:
        return "none (per-element values below)"
    colour = "red" if not math.isfinite(loss) else ("yellow" if report.warnings else "green")
    return f"[bold {colour}]{fnum(loss)}[/]"


def _ignored(report: Report) -> int:
    """How many targets are ignore_index: all but the ones the mean counted per class."""
    counts = report.result.target_counts
    if counts is None:
        return int(np.count_nonzero(np.asarray(report.target) == report.problem.ignore_index))
    return report.count - int(counts.sum())


def _text(s):
    """User-given text (file and class names) shown as is, never read as Rich markup, with
    control characters escaped (see ce_cli.text)."""
    from rich.text import Text

    return Text(safe_text(s))


def _vector_text(v: np.ndarray) -> str:
    flat = np.asarray(v).reshape(-1)
    shown = ", ".join(short(x) for x in flat[:8])
    return f"[{shown}{', ...' if flat.size > 8 else ''}] ({flat.size} values)"


def _number_column(table, header: str, cells: list[str]) -> None:
    """A right-aligned column of numbers that is never cut or wrapped: text columns give way."""
    width = max([len(header)] + [len(c) for c in cells])
    table.add_column(header, justify="right", no_wrap=True, min_width=width)


def _hidden_caption(hidden: int, what: str = "rows") -> str:
    return f"{hidden} {what} hidden" if hidden else ""


def _caption(table, caption: str, width: int | None) -> None:
    """A caption under the table, left-aligned; the table at least as wide as its title and
    caption (within ``width``), so that neither wraps."""
    table.caption = caption or None
    table.caption_justify = "left"
    wanted = max(len(str(table.title or "")), len(caption))
    table.min_width = min(wanted, width) if width else wanted


def _row_labels(report: Report, rows: np.ndarray) -> list[str]:
    """How a table names a row: its position, ``3,7,7`` for a K-dimensional one, in every table."""
    p = report.problem
    shape = p.out_shape if p.categorical else p.input_shape[:1]
    if len(shape) <= 1:
        return [str(int(r)) for r in rows]
    return [",".join(str(int(i)) for i in np.unravel_index(int(r), shape)) for r in rows]


def per_element_table(report: Report):
    from rich.table import Table

    p = report.problem
    n = report.count
    flat, hidden = head_tail(n)
    rows = per_element_rows(report, flat)
    title = f"per-{'sample' if p.categorical else 'element'} loss ({n} {report.unit})"
    table = Table(title=title, title_justify="left", min_width=len(title))
    p_cells = column([r["p_target"] for r in rows], 4)
    loss_cells = column([r["loss"] for r in rows], 6)
    table.add_column("index", justify="right", no_wrap=True)
    table.add_column("target", overflow="fold")
    if p.categorical:
        table.add_column("predicted", overflow="fold")
        _number_column(table, "p(target)", p_cells)
    else:
        _number_column(table, "p" if p.loss == "bce" else "sigmoid(x)", p_cells)
    _number_column(table, "loss", loss_cells)
    half = len(flat) // 2 if hidden else len(flat)
    for i, row in enumerate(rows):
        if hidden and i == half:
            table.add_row(*(["..."] * len(table.columns)))
        cells = [row["index"], _text(row["target"])]
        if p.categorical:
            cells.append(_text(row["predicted"]))
        table.add_row(*cells, p_cells[i], loss_cells[i])
    _caption(table, _hidden_caption(hidden), None)
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


def _grad_title(report: Report) -> str:
    # the shape as PRED has it, also when --class-dim/--shift show it moved
    pred_shape = report.problem.layout.input_shape or np.shape(report.pred)
    shape = " x ".join(map(str, pred_shape)) or "scalar"
    return f"gradient wrt {report.problem.input_kind} ({shape})"


def grad_table(report: Report, width: int = 100):
    """The gradient as a matrix: one row per sample (position), one column per class.

    Long matrices show their first and last rows. When not every class fits in ``width``
    characters, a categorical gradient shows, for each row, its target class and the classes of
    largest magnitude, labelled (:func:`_top_table`); a wide BCE gradient its first and last
    columns. A number is never squeezed.
    """
    from rich.table import Table

    p = report.problem
    n_rows, n_cols = report.grad_matrix_shape()
    if p.categorical:
        names = report.class_names
        named = names is not None and len(names) == p.n_classes
        col_names = [names[c] if names and named else str(c) for c in range(p.n_classes)]
    else:
        col_names = [str(c) for c in range(n_cols)] if np.ndim(report.pred) > 1 else ["grad"]
    rows, hidden_rows = head_tail(n_rows)
    m = report.grad_matrix_rows(rows)
    text = [column(m[:, c], 4) for c in range(n_cols)]
    widths = [max([len(col_names[c])] + [len(t) for t in text[c]]) for c in range(n_cols)]
    labels = _row_labels(report, rows)
    row_w = max(5, max(len(s) for s in labels))
    cols, hidden_cols = _fitting_columns(widths, width - row_w - 4)
    if hidden_cols and p.categorical:
        return _top_table(report, rows, m, labels, width)
    title = _grad_title(report)
    table = Table(title=title, title_justify="left", min_width=min(len(title), width))
    table.add_column("index", justify="right", no_wrap=True)
    half_c = len(cols) // 2 if hidden_cols else len(cols)
    for j, c in enumerate(cols):
        if hidden_cols and j == half_c:
            table.add_column(f"{hidden_cols} more", justify="center", no_wrap=True)
        table.add_column(_text(col_names[c]), justify="right", no_wrap=True, min_width=widths[c])
    half_r = len(rows) // 2 if hidden_rows else len(rows)
    for i in range(len(rows)):
        if hidden_rows and i == half_r:
            table.add_row(*(["..."] * len(table.columns)))
        cells = [labels[i]]
        for j, c in enumerate(cols):
            if hidden_cols and j == half_c:
                cells.append("...")
            cells.append(text[c][i])
        table.add_row(*cells)
    _caption(table, _hidden_caption(hidden_rows), width)
    return table


# At most this many largest-magnitude classes per row in a gradient too wide to show whole.
TOP_CLASSES = 3


def _top_table(report: Report, rows: np.ndarray, m: np.ndarray, labels: list[str], width: int):
    """A wide categorical gradient by row: the target class's entry and the entries of largest
    magnitude among the other classes, each beside its class."""
    from rich.table import Table

    p = report.problem
    targets = target_classes(report, rows)
    order = np.argsort(-np.abs(m), axis=1, kind="stable")
    picks = [[int(c) for c in order[i] if c != targets[i]][:TOP_CLASSES] for i in range(len(rows))]
    target_cells = column([m[i, t] if t is not None else np.nan for i, t in enumerate(targets)], 4)
    target_cells = [c if t is not None else "" for c, t in zip(target_cells, targets, strict=True)]
    k = TOP_CLASSES
    top_cells = [column([m[i, picks[i][j]] for i in range(len(rows))], 4) for j in range(k)]
    name_cells = [[_class_name(report, picks[i][j]) for i in range(len(rows))] for j in range(k)]
    target_names = [_class_name(report, t) if t is not None else "ignored" for t in targets]
    # each column costs its widest cell + 3 (padding and border); one more for the left border
    used = 1 + sum(
        max(map(len, cells)) + 3
        for cells in (["index", *labels], ["target", *target_names], ["d target", *target_cells])
    )
    pair = [
        max(map(len, ["#1 class", *name_cells[j]])) + max(map(len, ["#1 d", *top_cells[j]])) + 6
        for j in range(k)
    ]
    while k > 1 and used + sum(pair[:k]) > width:
        k -= 1
    title = _grad_title(report)
    table = Table(title=title, title_justify="left", min_width=len(title))
    table.add_column("index", justify="right", no_wrap=True)
    table.add_column("target", no_wrap=True)
    _number_column(table, "d target", target_cells)
    for j in range(k):
        table.add_column(f"#{j + 1} class", no_wrap=True)
        _number_column(table, f"#{j + 1} d", top_cells[j])
    half_r = len(rows) // 2 if len(rows) < report.grad_matrix_shape()[0] else len(rows)
    for i in range(len(rows)):
        if i == half_r:
            table.add_row(*(["..."] * len(table.columns)))
        cells = [labels[i], _text(target_names[i])]
        cells.append(target_cells[i])
        for j in range(k):
            cells += [_text(name_cells[j][i]), top_cells[j][i]]
        table.add_row(*cells)
    hidden_rows = report.grad_matrix_shape()[0] - len(rows)
    caption = f"target + top {k} of {p.n_classes} classes by |grad|"
    _caption(table, caption + (f"; {hidden_rows} rows hidden" if hidden_rows else ""), width)
    return table


def _class_name(report: Report, c: int) -> str:
    names = report.class_names
    return f"{c} ({names[c]})" if names and 0 <= c < len(names) else str(c)
