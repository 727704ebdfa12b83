"""ce-loss's output for scripts: JSON, CSV and plain text, each written whole."""

from __future__ import annotations

import io

import numpy as np

from ..report import Report
from ..text import json_text
from .numbers import fnum, jnum, jsonable


def settings_dict(report: Report) -> dict:
    """The settings of a run as JSON shows them: the same keys whatever the loss.

    ``count`` is the number of per-element losses and ``unit`` what they are ("samples" for
    ce/nll, "elements" for bce); the ce/nll keys are null for bce and ``pos_weight`` is null but
    for bce-logits with one. Names (files, classes) are JSON-safe text (see ce_cli.text).
    """
    p = report.problem
    cat = p.categorical
    return {
        "loss_name": p.loss,
        "input": p.input_kind,
        "reduction": p.reduction,
        "targets": "probabilities" if (p.soft and cat) else ("class indices" if cat else "binary"),
        "count": report.count,
        "unit": report.unit,
        "classes": p.n_classes if cat else None,
        "ignore_index": p.ignore_index if cat else None,
        "label_smoothing": p.label_smoothing if cat else None,
        "weight": None
        if p.weight is None
        else jsonable(p.weight.reshape(-1) if cat else np.squeeze(p.weight)),
        "pos_weight": None if p.pos_weight is None else jsonable(np.squeeze(p.pos_weight)),
        "pred": json_text(report.pred_name),
        "target": None if report.target_name is None else json_text(report.target_name),
        "class_names": [json_text(c) for c in report.class_names] if report.class_names else None,
    }


def to_json(report: Report) -> str:
    """The loss, the settings, what was asked for, the version and the warnings given."""
    import json

    from .. import __version__

    r = report.result
    out = {"loss": jnum(r.loss)}
    out.update(settings_dict(report))
    if r.per_element is not None and (report.show_per_sample or r.problem.reduction == "none"):
        out["per_sample"] = jsonable(r.per_element)
    if report.show_grad and r.grad is not None:
        out["grad"] = jsonable(r.grad)
    if report.saved:
        out["saved"] = {k: json_text(v) for k, v in report.saved.items()}
    if report.metric_settings is not None:
        from .metrics import metrics_json

        measured = metrics_json(report)
        if measured:
            out["metrics"] = measured
    out["warnings"] = [json_text(w) for w in report.warnings]
    out["version"] = __version__
    return json.dumps(out, allow_nan=False) + "\n"


def to_plain(report: Report) -> str:
    r = report.result
    if r.loss is not None:
        return fnum(r.loss) + "\n"
    assert r.per_element is not None  # kept for reduction="none"
    return "".join(fnum(v) + "\n" for v in r.per_element.reshape(-1))


def to_csv(report: Report) -> str:
    """One row per element: index columns, target, loss and, with --grad, gradient columns."""
    p = report.problem
    r = report.result
    assert r.per_element is not None  # the pipeline keeps it for csv
    pe = r.per_element.reshape(-1)
    shape = p.out_shape
    n = pe.shape[0]
    idx_names = (
        ["index"] if len(shape) <= 1 else ["index"] + [f"d{k}" for k in range(1, len(shape))]
    )
    cols: list[list[str]] = []
    if shape:
        grids = np.unravel_index(np.arange(n), shape)
        cols.extend([[str(int(v)) for v in g] for g in grids])
    else:
        cols.append(["0"])
    header = list(idx_names)
    t = _blocks(report.target, p.target_shape)
    if p.categorical and not p.soft:
        header.append("target")
        cols.append([str(int(v)) for b in t for v in b.reshape(-1)])
    elif p.categorical:
        header.append("target_top_class")
        top = (np.argmax(np.moveaxis(b, 1, -1).reshape(-1, p.n_classes), axis=1) for b in t)
        cols.append([str(int(v)) for b in top for v in b])
    else:
        header.append("target")
        cols.append([fnum(v) for b in t for v in b.reshape(-1)])
    header.append("loss")
    cols.append([fnum(v) for v in pe])
    if report.show_grad and r.grad is not None:
        g = np.asarray(r.grad, dtype=np.float64)
        if p.categorical:
            g = p.layout.input_view(g)  # one row per position with a loss (--class-dim, --shift)
            gm = np.moveaxis(g.reshape(p.input_shape), 1, -1).reshape(-1, p.n_classes)
            names = (
                report.class_names
                if report.class_names and len(report.class_names) == p.n_classes
                else None
            )
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


def _blocks(a, shape: tuple, rows: int = 1 << 12):
    """``a`` seen with ``shape``, a block of rows at a time: a big target file read by rows on
    demand is never read whole."""
    if np.ndim(a) != len(shape):  # () as (1,): one row anyway
        yield np.asarray(a).reshape(shape)
        return
    for start in range(0, shape[0], rows):
        yield np.asarray(a[start : start + rows])


def _csv_cell(s: str) -> str:
    if any(ch in s for ch in ',"\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


def verdict_json(verdict) -> str:
    """`ce-loss check --format json`: the verdict as one JSON object."""
    out = {
        "passed": verdict.passed,
        "verdict": "pass" if verdict.passed else "fail",
        "loss": jnum(verdict.loss),
        "conditions": [
            {"kind": c.kind, "value": jnum(c.value), "holds": c.holds} for c in verdict.conditions
        ],
        "context": verdict.context,
        "line": verdict.line,
    }
    import json

    return json.dumps(out, allow_nan=False) + "\n"


def verdict_csv(verdict) -> str:
    """`ce-loss check --format csv`: one row per condition, with the verdict and the loss."""
    rows = ["verdict,loss,condition,value,holds"]
    word = "pass" if verdict.passed else "fail"
    for c in verdict.conditions:
        rows.append(f"{word},{fnum(verdict.loss)},{c.kind},{fnum(c.value)},{str(c.holds).lower()}")
    return "\n".join(rows) + "\n"
