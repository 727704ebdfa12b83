"""Pictures made of text: a histogram of per-sample losses and a reliability diagram, drawn
with Unicode block characters (eighths of a cell), one bar per line."""

from __future__ import annotations

import numpy as np

from .numbers import short

_EIGHTHS = " ▏▎▍▌▋▊▉"
HISTOGRAM_BINS = 12
BAR_WIDTH = 40


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar ``fraction`` (0..1) of ``width`` cells long, to an eighth of a cell."""
    if not np.isfinite(fraction) or fraction <= 0:
        return ""
    eighths = int(round(min(1.0, fraction) * width * 8))
    full, part = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[part] if part else "")


def histogram_lines(edges: np.ndarray, counts: np.ndarray, width: int = BAR_WIDTH) -> list[str]:
    """One line per bin: ``[low, high)  bar  count``; the last bin includes its high end."""
    if counts.size == 0:
        return ["(no finite losses)"]
    labels = [f"{short(lo, 4)} – {short(hi, 4)}" for lo, hi in zip(edges, edges[1:], strict=False)]
    pad = max(len(s) for s in labels)
    top = max(1, int(counts.max()))
    return [
        f"{label.rjust(pad)} │{bar(c / top, width).ljust(width)} {c}"
        for label, c in zip(labels, counts.tolist(), strict=True)
    ]


def reliability_lines(bins: dict, width: int = BAR_WIDTH // 2) -> list[str]:
    """One line per confidence bin: its accuracy as a bar, against its mean confidence (|).

    The extra bin for a confidence of exactly 1 (torchmetrics') is drawn within the last one.
    """
    count = np.asarray(bins["count"], dtype=np.int64).copy()
    acc = np.asarray(bins["accuracy"], dtype=np.float64).copy()
    conf = np.asarray(bins["confidence"], dtype=np.float64).copy()
    if count.size > 1 and count[-1]:
        n = count[-2] + count[-1]
        for a in (acc, conf):
            a[-2] = (np.nan_to_num(a[-2]) * count[-2] + a[-1] * count[-1]) / n
        count[-2] = n
    edges = bins["edges"]
    lines = [f"{'confidence':>11} │{'accuracy (bar), mean confidence (|)':<{width}}  samples"]
    for i in range(len(edges) - 1):
        label = f"{edges[i]:.2f}–{edges[i + 1]:.2f}"
        if count[i] == 0:
            lines.append(f"{label:>11} │{'':<{width}}  0")
            continue
        cells = list(bar(acc[i], width).ljust(width))
        mark = min(width - 1, int(conf[i] * width))
        cells[mark] = "|"
        lines.append(
            f"{label:>11} │{''.join(cells)}  {count[i]} "
            f"(acc {short(acc[i], 3)}, conf {short(conf[i], 3)})"
        )
    return lines
