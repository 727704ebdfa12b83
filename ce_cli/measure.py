"""The metrics side of a run: which observer sinks it needs, their output paths checked before
any work, their results gathered for the report, the confusion matrix saved.

Imported by the pipeline only when a metric is asked for or shown, so a plain run pays nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .errors import CeLossError
from .settings import MetricsSettings

# --plot writes these (matplotlib picks the format from the name).
PLOT_SUFFIXES = (".png", ".svg", ".pdf")


def check_options(m: MetricsSettings) -> None:
    """Options that cannot work, said before any file is read (exit 2)."""
    for role, value in (("top_k", m.top_k), ("worst", m.worst), ("best", m.best)):
        if value is not None and value < 1:
            raise CeLossError(
                f"must be at least 1; got {value}", input=role, value=value, expected="at least 1"
            )
    if m.bins < 1:
        raise CeLossError(
            f"must be at least 1; got {m.bins}", input="bins", value=m.bins, expected="at least 1"
        )


def check_paths(m: MetricsSettings, inputs: list[str | None], taken: list[str]) -> dict:
    """Validate --save-confusion and --plot like the other outputs; returns ``{what: path}``.

    --plot without matplotlib is said here too, before any file is read.
    """
    from . import outputs

    wanted = [
        ("confusion", "--save-confusion", m.save_confusion, (".csv", ".npy")),
        ("plot", "--plot", m.plot, PLOT_SUFFIXES),
    ]
    saved = outputs.check_paths(wanted, inputs, taken)
    if m.plot is not None:
        from .render.plot import check_available

        check_available()
    return saved


@dataclass
class Observers:
    """The observer sinks of one run (None where not needed)."""

    settings: MetricsSettings
    metrics: object = None
    worst: object = None
    best: object = None
    histogram: object = None
    sinks: list = field(default_factory=list)


def observers(m: MetricsSettings, per_sample_table: bool) -> Observers:
    """The sinks that measure what ``m`` asks for; a per-sample table also counts a histogram."""
    obs = Observers(m)
    if m.measure or m.summary or m.top_k is not None or m.per_class:
        obs.metrics = _metrics(m)
    elif m.confusion or m.save_confusion or m.calibration or m.plot:
        obs.metrics = _metrics(m)
    if m.worst is not None or m.best is not None:
        from .core.extremes import Extremes

        obs.worst = None if m.worst is None else Extremes(m.worst, largest=True)
        obs.best = None if m.best is None else Extremes(m.best, largest=False)
    if m.histogram or m.plot or per_sample_table:
        from .core.histogram import LossHistogram

        obs.histogram = LossHistogram()
    obs.sinks = [s for s in (obs.metrics, obs.worst, obs.best, obs.histogram) if s is not None]
    return obs


def _metrics(m: MetricsSettings):
    from .core.metrics import Metrics

    return Metrics(m)


def save_confusion(path: str, matrix, names: list[str] | None) -> None:
    """The confusion matrix (rows: target, columns: predicted) as .npy or CSV, atomically."""
    import numpy as np

    from .sinks import AtomicFile

    f = AtomicFile(path)
    try:
        if path.lower().endswith(".npy"):
            import io

            buf = io.BytesIO()
            np.save(buf, np.asarray(matrix, dtype=np.int64))
            f._write(buf.getvalue())
        else:
            f._write(confusion_csv(matrix, names).encode())
        f.close()
        f.publish()
    except BaseException:
        f.discard()
        raise


def confusion_csv(matrix, names: list[str] | None) -> str:
    """CSV with a header of predicted classes and one row per target class."""
    n = len(matrix)
    labels = names if names and len(names) == n else [str(i) for i in range(n)]
    lines = ["target\\predicted," + ",".join(_cell(s) for s in labels)]
    for label, row in zip(labels, matrix, strict=True):
        lines.append(_cell(label) + "," + ",".join(str(int(v)) for v in row))
    return "\n".join(lines) + "\n"


def _cell(s: str) -> str:
    return '"' + s.replace('"', '""') + '"' if any(ch in s for ch in ',"\n') else s


def finite_threshold(option: str, value: float | None) -> None:
    """check's metric thresholds must be numbers: NaN or inf would decide nothing."""
    if value is not None and not math.isfinite(value):
        raise CeLossError(f"{option} must be a finite number; got {value}")
