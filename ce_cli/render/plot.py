"""``--plot PATH``: a figure of a run (loss histogram, reliability diagram, per-class mean loss)
drawn with matplotlib, an optional extra (``pip install 'ce-loss[plot]'``) imported only here."""

from __future__ import annotations

import importlib.util

import numpy as np

from ..errors import CeLossError
from ..report import Report

INSTALL = "pip install 'ce-loss[plot]'"
PLOT_BINS = 40
# Per-class bars drawn at most; beyond, the classes of highest mean loss.
MAX_BARS = 30


def _missing() -> CeLossError:
    return CeLossError(f"--plot needs matplotlib, which is not installed; run: {INSTALL}")


def check_available() -> None:
    """Say before any work that --plot cannot be drawn (exit 2), without importing matplotlib."""
    try:
        found = importlib.util.find_spec("matplotlib") is not None
    except (ImportError, ValueError):  # a module that is None in sys.modules, or broken
        found = False
    if not found:
        raise _missing()


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: never open a window
        import matplotlib.pyplot as plt
    except ImportError:
        raise _missing() from None
    return plt


def write_plot(report: Report, path: str) -> None:
    """Draw the figure and write it to ``path`` (format from its suffix), atomically."""
    plt = _pyplot()
    m = report.metrics
    has_classes = m is not None and bool(m.per_class)
    fig, axes = plt.subplots(1, 3 if has_classes else 2, figsize=(13 if has_classes else 9, 3.8))
    try:
        _histogram(axes[0], report)
        _reliability(axes[1], report)
        if has_classes:
            _classes(axes[2], report)
        fig.suptitle(f"{report.problem.loss}: {report.pred_name}")
        fig.tight_layout()
        _save(fig, path)
    finally:
        plt.close(fig)


def _save(fig, path: str) -> None:
    from ..sinks import AtomicFile

    f = AtomicFile(path)
    try:
        fig.savefig(f.f, format=path.rsplit(".", 1)[-1].lower(), dpi=110)
        f.close()
        f.publish()
    except BaseException:
        f.discard()
        raise


def _histogram(ax, report: Report) -> None:
    h = report.histogram
    edges, counts = h.rebin(PLOT_BINS) if h is not None else (np.zeros(0), np.zeros(0))
    if counts.size:
        ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color="#4c72b0")
    ax.set_title("per-sample loss")
    ax.set_xlabel("loss")
    ax.set_ylabel("samples")


def _reliability(ax, report: Report) -> None:
    m = report.metrics
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
    if m is not None:
        b = m.bins
        edges = b["edges"]
        n = len(edges) - 1
        acc = np.nan_to_num(np.asarray(b["accuracy"][:n], dtype=np.float64))
        ax.bar(
            edges[:-1],
            acc,
            width=np.diff(edges),
            align="edge",
            color="#55a868",
            edgecolor="white",
            label="accuracy",
        )
        ece = m.values.get("ece")
        if ece is not None:
            ax.set_title(f"reliability (ECE {ece:.4f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")


def _classes(ax, report: Report) -> None:
    pc = report.metrics.per_class
    loss = np.asarray(pc["mean_loss"], dtype=np.float64)
    order = np.arange(loss.size)
    if loss.size > MAX_BARS:
        order = np.argsort(-np.nan_to_num(loss, nan=-np.inf), kind="stable")[:MAX_BARS]
    names = report.class_names
    labels = [names[c] if names and c < len(names) else str(c) for c in order]
    ax.bar(range(len(order)), np.nan_to_num(loss[order]), color="#c44e52")
    ax.set_xticks(range(len(order)), labels, rotation=90 if len(order) > 10 else 0, fontsize=8)
    ax.set_title(f"mean loss per {report.metrics.per_class_unit}")
