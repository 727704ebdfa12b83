"""Everything ce-loss prints: Rich tables for people, JSON, CSV and plain text for scripts.

The only module that builds Rich tables or formats output. It receives a finished
:class:`Report` and returns text (machine formats) or prints to a Rich console (tables).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

import numpy as np

from .core import LossResult

LOSS_TITLES = {
    ("ce", "logits"): "cross-entropy from logits",
    ("ce", "probs"): "cross-entropy from probabilities (-sum y log s)",
    ("ce", "log-probs"): "cross-entropy from log-probabilities",
    ("nll", "log-probs"): "negative log-likelihood of log-probabilities",
    ("bce", "probs"): "binary cross-entropy from probabilities",
    ("bce-logits", "logits"): "binary cross-entropy with logits",
}

# A table longer than this shows its head and tail and says how much it hides.
MAX_TABLE_ROWS = 20
MAX_TABLE_COLS = 10


@dataclass
class Report:
    """A computed loss with what is needed to show it."""

    result: LossResult
    pred: np.ndarray
    target: np.ndarray
    pred_name: str
    target_name: str | None
    class_names: list[str] | None = None
    settings: dict = field(default_factory=dict)
    show_per_sample: bool = False
    show_grad: bool = False
    saved: dict = field(default_factory=dict)

    @property
    def problem(self):
        return self.result.problem

    @property
    def count(self) -> int:
        """Number of per-element losses: samples (and positions) or BCE elements."""
        return int(math.prod(self.problem.out_shape))

    @property
    def unit(self) -> str:
        return "samples" if self.problem.categorical else "elements"


# --------------------------------------------------------------------------------------------
# Number formatting


def fnum(v) -> str:
    """A float as the shortest text that reads back to the same float; nan, inf, -inf."""
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return repr(v)


def short(v, digits: int = 6) -> str:
    v = float(v)
    if math.isnan(v) or math.isinf(v):
        return fnum(v)
    return f"{v:.{digits}g}"


def _jsonable(a):
    """An array as nested lists; non-finite values as the strings "nan", "inf", "-inf"."""
    arr = np.asarray(a, dtype=np.float64)
    finite = np.isfinite(arr)
    if finite.all():
        return arr.tolist()
    obj = arr.astype(object)
    obj[np.isnan(arr)] = "nan"
    obj[arr == np.inf] = "inf"
    obj[arr == -np.inf] = "-inf"
    return obj.tolist()


def _jnum(v):
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else fnum(v)


# --------------------------------------------------------------------------------------------
# Per-element rows


def _positions(report: Report, flat: np.ndarray) -> list[tuple]:
    shape = report.problem.out_shape
    if not shape:
        return [()]
    return [tuple(int(i) for i in np.unravel_index(int(f), shape)) for f in flat]


def _class_label(report: Report, c: int) -> str:
    names = report.class_names
    if names and 0 <= c < len(names):
        return f"{c} ({names[c]})"
    return str(c)


def _row_scores(report: Report, pos: tuple) -> np.ndarray:
    """The class scores of one categorical sample at ``pos`` (an index into out_shape)."""
    x = np.asarray(report.pred).reshape(report.problem.input_shape)
    n = pos[0] if pos else 0
    return np.asarray(x[(n, slice(None)) + tuple(pos[1:])], dtype=np.float64)


def _probabilities(report: Report, scores: np.ndarray) -> np.ndarray:
    kind = report.problem.input_kind
    if kind == "logits":
        z = np.exp(scores - scores.max())
        return z / z.sum()
    if kind == "log-probs":
        return np.exp(scores)
    return scores


def per_element_rows(report: Report, flat: np.ndarray) -> list[dict]:
    """Rows of the per-element table for the given flat positions."""
    p = report.problem
    pe = report.result.per_element.reshape(-1)
    t = np.asarray(report.target)
    rows = []
    for f, pos in zip(flat, _positions(report, flat)):
        row = {"index": ",".join(map(str, pos)) if pos else "0", "loss": float(pe[f])}
        if p.categorical:
            scores = _row_scores(report, pos)
            probs = _probabilities(report, scores)
            row["predicted"] = _class_label(report, int(np.argmax(scores)))
            if p.soft:
                tv = np.asarray(t.reshape(p.target_shape)[(pos[0] if pos else 0, slice(None)) + tuple(pos[1:])], dtype=np.float64)
                row["target"] = "soft, top " + _class_label(report, int(np.argmax(tv)))
                row["p_target"] = float(np.dot(tv, probs))
            else:
                tc = int(t.reshape(-1)[f]) if t.ndim else int(t)
                if tc == p.ignore_index:
                    row["target"] = "ignored"
                    row["p_target"] = float("nan")
                else:
                    row["target"] = _class_label(report, tc)
                    row["p_target"] = float(probs[tc])
        else:
            x = float(np.asarray(report.pred).reshape(-1)[f])
            row["target"] = short(float(t.reshape(-1)[f]))
            row["p_target"] = 1.0 / (1.0 + math.exp(-x)) if p.loss == "bce-logits" and x > -700 else (0.0 if p.loss == "bce-logits" else x)
        rows.append(row)
    return rows


def _head_tail(n: int, limit: int = MAX_TABLE_ROWS) -> tuple[np.ndarray, int]:
    """Indices to show (head and tail) and how many are hidden between them."""
    if n <= limit:
        return np.arange(n), 0
    half = limit // 2
    return np.concatenate([np.arange(half), np.arange(n - half, n)]), n - 2 * half


# --------------------------------------------------------------------------------------------
# Machine formats


def settings_dict(report: Report) -> dict:
    p = report.problem
    d = {
        "loss_name": p.loss,
        "input": p.input_kind,
        "reduction": p.reduction,
        "targets": "probabilities" if (p.soft and p.categorical) else ("class indices" if p.categorical else "binary"),
        "samples" if p.categorical else "elements": report.count,
    }
    if p.categorical:
        d["classes"] = p.n_classes
        d["ignore_index"] = p.ignore_index
        d["label_smoothing"] = p.label_smoothing
    d["weight"] = None if p.weight is None else _jsonable(p.weight.reshape(-1) if p.categorical else np.squeeze(p.weight))
    if p.loss == "bce-logits":
        d["pos_weight"] = None if p.pos_weight is None else _jsonable(np.squeeze(p.pos_weight))
    d["pred"] = report.pred_name
    d["target"] = report.target_name
    if report.class_names:
        d["class_names"] = list(report.class_names)
    return d


def to_json(report: Report) -> str:
    r = report.result
    out = {"loss": _jnum(r.loss)}
    out.update(settings_dict(report))
    if r.per_element is not None and (report.show_per_sample or r.problem.reduction == "none"):
        out["per_sample"] = _jsonable(r.per_element)
    if report.show_grad and r.grad is not None:
        out["grad"] = _jsonable(r.grad)
    if report.saved:
        out["saved"] = dict(report.saved)
    import json

    return json.dumps(out, allow_nan=False) + "\n"


def to_plain(report: Report) -> str:
    r = report.result
    if r.loss is not None:
        return fnum(r.loss) + "\n"
    return "".join(fnum(v) + "\n" for v in r.per_element.reshape(-1))


def to_csv(report: Report) -> str:
    """One row per element: index columns, target, loss and, with --grad, gradient columns."""
    p = report.problem
    r = report.result
    pe = r.per_element.reshape(-1)
    shape = p.out_shape
    n = pe.shape[0]
    idx_names = ["index"] if len(shape) <= 1 else ["index"] + [f"d{k}" for k in range(1, len(shape))]
    cols: list[list[str]] = []
    if shape:
        grids = np.unravel_index(np.arange(n), shape)
        cols.extend([[str(int(v)) for v in g] for g in grids])
    else:
        cols.append(["0"])
    header = list(idx_names)
    t = np.asarray(report.target)
    if p.categorical and not p.soft:
        header.append("target")
        tv = t.reshape(-1)
        cols.append([str(int(v)) for v in tv])
    elif p.categorical:
        header.append("target_top_class")
        ts = np.moveaxis(t.reshape(p.target_shape), 1, -1).reshape(-1, p.n_classes)
        cols.append([str(int(v)) for v in np.argmax(ts, axis=1)])
    else:
        header.append("target")
        cols.append([fnum(v) for v in t.reshape(-1)])
    header.append("loss")
    cols.append([fnum(v) for v in pe])
    if report.show_grad and r.grad is not None:
        g = np.asarray(r.grad, dtype=np.float64)
        if p.categorical:
            gm = np.moveaxis(g.reshape(p.input_shape), 1, -1).reshape(-1, p.n_classes)
            names = report.class_names if report.class_names and len(report.class_names) == p.n_classes else None
            for c in range(p.n_classes):
                header.append(f"grad_{names[c]}" if names else f"grad_{c}")
                cols.append([fnum(v) for v in gm[:, c]])
        else:
            header.append("grad")
            cols.append([fnum(v) for v in g.reshape(-1)])
    buf = io.StringIO()
    buf.write(",".join(_csv_cell(h) for h in header) + "\n")
    for i in range(n):
        buf.write(",".join(col[i] for col in cols) + "\n")
    return buf.getvalue()


def _csv_cell(s: str) -> str:
    if any(ch in s for ch in ',"\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


# --------------------------------------------------------------------------------------------
# Rich tables


def print_table(report: Report, console) -> None:
    """Print the summary and, as asked, the per-element table and the gradient matrix."""
    from rich.table import Table

    p = report.problem
    r = report.result
    summary = Table(show_header=False, box=None, pad_edge=False)
    summary.add_column(style="bold")
    summary.add_column(overflow="fold")  # long paths wrap, never cut
    loss_text = "none (per-element values below)" if r.loss is None else fnum(r.loss)
    summary.add_row("loss", f"[bold green]{loss_text}[/]" if r.loss is not None and math.isfinite(r.loss) else loss_text)
    summary.add_row("variant", f"{LOSS_TITLES.get((p.loss, p.input_kind), p.loss)} ({p.loss})")
    summary.add_row("reduction", p.reduction)
    summary.add_row(report.unit, str(report.count))
    if p.categorical:
        summary.add_row("classes", str(p.n_classes))
        summary.add_row("targets", "probabilities" if p.soft else "class indices")
        if not p.soft:
            ignored = int(np.count_nonzero(np.asarray(report.target) == p.ignore_index))
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
    console.print(summary)

    if r.per_element is not None and (report.show_per_sample or p.reduction == "none"):
        console.print(per_element_table(report))
    if report.show_grad and r.grad is not None:
        console.print(grad_table(report, console.width))


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
    flat, hidden = _head_tail(n)
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
            table.add_row("...", f"[dim]{hidden} rows hidden[/]", *([""] * (len(table.columns) - 2)))
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
        cols, hidden = _head_tail(n, limit)
        if cost(cols) + (12 if hidden else 0) <= budget:
            return cols, hidden
        limit -= 1
    return _head_tail(n, 2)


def grad_table(report: Report, width: int = 100):
    """The gradient as a matrix: one row per sample (position), one column per class.

    Long matrices show their first and last rows; wide ones as many first and last columns as
    fit in ``width`` characters, never squeezing a number.
    """
    from rich.table import Table

    p = report.problem
    g = np.asarray(report.result.grad, dtype=np.float64)
    if p.categorical:
        m = np.moveaxis(g.reshape(p.input_shape), 1, -1).reshape(-1, p.n_classes)
        named = report.class_names and len(report.class_names) == p.n_classes
        col_names = [report.class_names[c] if named else str(c) for c in range(p.n_classes)]
    else:
        m = g.reshape(g.shape[0], -1) if g.ndim > 1 else g.reshape(-1, 1)
        col_names = [str(c) for c in range(m.shape[1])] if g.ndim > 1 else ["grad"]
    rows, hidden_rows = _head_tail(m.shape[0])
    text = [[short(v, 4) for v in m[rr]] for rr in rows]
    widths = [max([len(col_names[c])] + [len(t[c]) for t in text]) for c in range(m.shape[1])]
    row_w = max(3, len(str(m.shape[0])))
    cols, hidden_cols = _fitting_columns(widths, width - row_w - 4)
    shape = " x ".join(map(str, g.shape)) or "scalar"
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


def verdict_json(verdict) -> str:
    """`ce-loss check --format json`: the verdict as one JSON object."""
    out = {
        "passed": verdict.passed,
        "verdict": "pass" if verdict.passed else "fail",
        "loss": _jnum(verdict.loss),
        "conditions": [
            {"kind": c.kind, "value": _jnum(c.value), "holds": c.holds} for c in verdict.conditions
        ],
        "context": verdict.context,
        "line": verdict.line,
    }
    import json

    return json.dumps(out, allow_nan=False) + "\n"
