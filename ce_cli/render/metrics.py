"""How the metrics of a report are shown: summary rows, per-class, confusion, worst/best and
picture tables for people; a ``"metrics"`` object for JSON. Undefined values: n/a, null."""

from __future__ import annotations

import math

import numpy as np

from ..report import Report
from .numbers import jnum, short
from .pictures import HISTOGRAM_BINS, histogram_lines, reliability_lines
from .rows import MAX_TABLE_ROWS, head_tail, per_element_rows

# The confusion matrix is printed up to this many classes; beyond, --save-confusion keeps it.
MAX_CONFUSION_CLASSES = 20

_TITLES = {
    "accuracy": "accuracy",
    "perplexity": "perplexity",
    "bits_per_target": "bits per target",
    "entropy": "mean entropy",
    "brier": "Brier score",
    "ece": "ECE",
}


def text(v) -> str:
    """A metric for a table: 6 significant digits, n/a when undefined."""
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else short(v)


def _title(name: str, report: Report) -> str:
    if name.startswith("top_"):
        return f"top-{name.split('_')[1]} accuracy"
    if name == "ece":
        return f"ECE ({report.metric_settings.bins} bins)"
    return _TITLES.get(name, name)


def summary_rows(report: Report) -> list[tuple[str, str]]:
    """Rows for the summary table: one per measured value."""
    m = report.metrics
    if m is None:
        return []
    s = report.metric_settings
    shown = m.values if s.summary else {k: v for k, v in m.values.items() if _asked(k, s)}
    return [(_title(k, report), text(v)) for k, v in shown.items()]


def _asked(name: str, s) -> bool:
    """Without --metrics only what an option asked for is shown (top-k, ECE for calibration)."""
    return name.startswith("top_") or (name == "ece" and s.calibration)


def print_metrics(report: Report, console) -> None:
    """The tables and pictures the metric options ask for, after the summary."""
    s = report.metric_settings
    if report.worst is not None:
        console.print(extremes_table(report, "worst"))
    if report.best is not None:
        console.print(extremes_table(report, "best"))
    m = report.metrics
    if m is not None and m.per_class and s.per_class:
        console.print(per_class_table(report))
    if m is not None and m.confusion is not None and s.confusion:
        _print_confusion(report, console)
    if m is not None and s.calibration:
        console.print("reliability diagram", style="bold")
        console.print("\n".join(reliability_lines(m.bins)), highlight=False)
    if report.histogram is not None and _wants_histogram(report):
        edges, counts = report.histogram.rebin(HISTOGRAM_BINS)
        console.print(f"per-{'sample' if report.problem.categorical else 'element'} losses")
        console.print("\n".join(histogram_lines(edges, counts)), highlight=False)


def _wants_histogram(report: Report) -> bool:
    s = report.metric_settings
    return bool(s.histogram or (report.show_per_sample and report.count > MAX_TABLE_ROWS))


def _class_text(report: Report, c: int) -> str:
    names = report.class_names
    if names and 0 <= c < len(names):
        return f"{c} ({names[c]})"
    return str(c)


def per_class_table(report: Report):
    from rich.table import Table

    m = report.metrics
    pc = m.per_class
    unit = m.per_class_unit
    n = len(pc["support"])
    if report.problem.categorical:
        cols = [("support", "support"), ("mean loss", "mean_loss"), ("recall", "recall")]
    else:
        cols = [("elements", "support"), ("positives", "positives"), ("mean loss", "mean_loss")]
        cols.append(("accuracy", "accuracy"))
    cols.append(("precision", "precision"))
    table = Table(title=f"per {unit} ({n} {unit}{'es' if unit == 'class' else 's'})")
    table.title_justify = "left"
    table.add_column(unit)
    for title, _ in cols:
        table.add_column(title, justify="right")
    shown, hidden = head_tail(n)
    half = len(shown) // 2 if hidden else len(shown)
    for i, c in enumerate(shown):
        if hidden and i == half:
            table.add_row("...", f"{hidden} hidden", *([""] * (len(cols) - 1)))
        cells = [
            str(int(pc[key][c])) if key in ("support", "positives") else text(float(pc[key][c]))
            for _, key in cols
        ]
        table.add_row(_class_text(report, int(c)), *cells)
    return table


def _print_confusion(report: Report, console) -> None:
    from rich.table import Table

    cm = report.metrics.confusion
    n = len(cm)
    if n > MAX_CONFUSION_CLASSES:
        saved = report.saved.get("confusion")
        where = f"saved to {saved}" if saved else "save it with --save-confusion PATH.csv"
        console.print(f"confusion matrix: {n} classes, too many to print; {where}")
        return
    table = Table(title="confusion matrix", title_justify="left")
    table.caption = "rows: target, columns: predicted"
    table.add_column("target")
    labels = [str(i) for i in range(n)] if not report.problem.categorical else None
    for j in range(n):
        table.add_column(labels[j] if labels else _class_text(report, j), justify="right")
    for i in range(n):
        name = labels[i] if labels else _class_text(report, i)
        table.add_row(name, *[str(int(v)) for v in cm[i]])
    console.print(table)


def extremes_table(report: Report, which: str):
    """The K worst (or best) samples: index, target, predicted, p(target), loss."""
    from rich.table import Table

    losses, index, samples = getattr(report, which)
    p = report.problem
    rows = per_element_rows(report, np.asarray(index, dtype=np.int64), losses, samples)
    unit = "samples" if p.categorical else "elements"
    order = "highest" if which == "worst" else "lowest"
    table = Table(title=f"{which} {len(rows)} {unit} ({order} loss first)", title_justify="left")
    table.add_column("index", justify="right")
    table.add_column("target")
    if p.categorical:
        table.add_column("predicted")
        table.add_column("p(target)", justify="right")
    else:
        table.add_column("p" if p.loss == "bce" else "sigmoid(x)", justify="right")
    table.add_column("loss", justify="right")
    for row in rows:
        cells = [row["index"], row["target"]]
        if p.categorical:
            cells.append(row["predicted"])
        cells += [short(row["p_target"]), short(row["loss"], 8)]
        table.add_row(*cells)
    return table


def metrics_json(report: Report) -> dict:
    """The ``"metrics"`` object of ``--format json``."""
    s = report.metric_settings
    out: dict = {}
    m = report.metrics
    if m is not None:
        out.update({k: jnum(v) for k, v in m.values.items()})
        if s.top_k is not None:
            out["top_k"] = s.top_k
        out["bins"] = s.bins
        if s.per_class and m.per_class:
            out[f"per_{m.per_class_unit}"] = _per_class_json(report)
        if m.confusion is not None and s.confusion:
            out["confusion"] = m.confusion.tolist()
        if s.calibration:
            out["calibration"] = _calibration_json(m.bins)
    for which in ("worst", "best"):
        if getattr(report, which) is not None:
            out[which] = _extremes_json(report, which)
    if report.histogram is not None and s.histogram:
        edges, counts = report.histogram.rebin(HISTOGRAM_BINS)
        out["histogram"] = {"edges": [jnum(e) for e in edges], "counts": counts.tolist()}
    return out


def _null(v: float):
    return None if math.isnan(v) else jnum(v)


def _per_class_json(report: Report) -> list[dict]:
    pc = report.metrics.per_class
    names = report.class_names
    rows = []
    for c in range(len(pc["support"])):
        row: dict = {report.metrics.per_class_unit: c}
        if names and c < len(names):
            row["name"] = names[c]
        for key, values in pc.items():
            v = values[c]
            row[key] = int(v) if np.issubdtype(np.asarray(values).dtype, np.integer) else _null(v)
        rows.append(row)
    return rows


def _calibration_json(bins: dict) -> list[dict]:
    edges = bins["edges"]
    out = []
    for i, count in enumerate(bins["count"].tolist()):
        hi = float(edges[i + 1]) if i + 1 < len(edges) else 1.0
        out.append(
            {
                "low": float(edges[min(i, len(edges) - 1)]),
                "high": hi,
                "count": int(count),
                "confidence": _null(float(bins["confidence"][i])),
                "accuracy": _null(float(bins["accuracy"][i])),
            }
        )
    return out


def _extremes_json(report: Report, which: str) -> list[dict]:
    losses, index, samples = getattr(report, which)
    rows = per_element_rows(report, np.asarray(index, dtype=np.int64), losses, samples)
    out = []
    for row in rows:
        item = {"index": row["index"], "target": row["target"], "loss": jnum(row["loss"])}
        if "predicted" in row:
            item["predicted"] = row["predicted"]
        item["p_target"] = jnum(row["p_target"])
        out.append(item)
    return out
