"""What each metrics option adds to the loss, through the library's engine, side by side.

    python benchmarks/metrics_costs.py [--rows 100000] [--classes 1000] [--rounds 11]
                                       [--dir DIR] [--markdown FILE]

Writes (or reuses, in ``--dir``) the float32 logits and int64 labels of ``bench.py``'s loss case,
then times ``ce_cli.core.engine.run`` over them in one process, the loss alone and each option
in turn within every round (so that a drift of the machine hits them alike), on one thread and
on two workers. Each option's cost is the median over the rounds of its time divided by the
loss alone's time of the same round: CPU time (``time.process_time``) on one thread, wall time
on two workers. The files are read by rows (``ce_cli.readers.open_rows``), as the command line
reads them; ``OPENBLAS_NUM_THREADS=1`` as the command line sets it.

The last row is not an option: the loss kernel computes the by-products that ``--metrics
--top-k 5`` takes from it (the argmax, the two row dot products of the float32 exponentials,
top-k's looks at the scores), and nothing is done with them: what the metrics cost before any
bookkeeping.

The command line's marginal times of the loss alone, ``--metrics --top-k 5 --per-class`` and
``--worst 100`` are ``bench.py --cases metrics``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # (before NumPy loads, as ce-loss does)

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import bench  # noqa: E402

from ce_cli.core import engine  # noqa: E402
from ce_cli.core.extremes import Extremes  # noqa: E402
from ce_cli.core.metrics import Metrics  # noqa: E402
from ce_cli.readers import open_rows  # noqa: E402
from ce_cli.settings import LossSpec, MetricsSettings, OutputSettings  # noqa: E402


class KernelOnly(Metrics):
    """The metrics of ``--metrics --top-k 5``, asking the loss kernel for the same by-products
    (:meth:`Metrics.begin`), with nothing done with them."""

    def __init__(self) -> None:
        super().__init__(MetricsSettings(summary=True, top_k=5))

    def observe(self, x, t, start: int, block) -> None:
        return None

    def write(self, start: int, stop: int, block) -> None:
        pass

    def close(self) -> None:
        pass


# (label, what it adds, the sinks of a run)
OPTIONS = [
    (
        "accuracy, perplexity, ECE (`check --min-accuracy`, `--calibration`, `--confusion`)",
        "the argmax of each block; counts and bins per sample",
        lambda: [Metrics(MetricsSettings(measure=True))],
    ),
    (
        "`--per-class`",
        "counts per class; the loss summed per class",
        lambda: [Metrics(MetricsSettings(per_class=True))],
    ),
    (
        "`--top-k K`",
        "the first 64 scores of each row compared with the target's (none when the target "
        "holds more than 1/(k + 1)); the few rows left on the next 192, then whole",
        lambda: [Metrics(MetricsSettings(top_k=5))],
    ),
    (
        "`--metrics` (entropy, Brier)",
        "two sums of products of each block's float32 exponentials",
        lambda: [Metrics(MetricsSettings(summary=True))],
    ),
    (
        "`--metrics --top-k 5 --per-class`",
        "all of the above",
        lambda: [Metrics(MetricsSettings(summary=True, top_k=5, per_class=True))],
    ),
    (
        "`--worst K`, `--best K`, `--histogram`",
        "only the per-sample losses; once K are kept, only those beyond the K-th are looked at",
        lambda: [Extremes(100, True)],
    ),
    (
        "(not an option: what `--metrics --top-k 5` takes from the loss kernel, dropped)",
        "argmax, the two row dot products, top-k's looks; no bookkeeping",
        lambda: [KernelOnly()],
    ),
]


def one_run(paths: tuple[str, str], workers: int, sinks: list) -> tuple[float, float]:
    """(wall, CPU) seconds of one engine run over the files."""
    x, t = open_rows(paths[0], "input"), open_rows(paths[1], "target")
    w0, c0 = time.perf_counter(), time.process_time()
    engine.run(LossSpec(), x, t, OutputSettings(workers=workers), sinks)
    return time.perf_counter() - w0, time.process_time() - c0


def measure(paths: tuple[str, str], workers: int, rounds: int) -> tuple[list[float], float]:
    """Each option's median per-round ratio to the loss alone, and the loss alone's median."""
    which = 1 if workers == 1 else 0  # CPU time on one thread, wall time on two
    one_run(paths, workers, [])  # warm-up: page cache, scratch, imports
    ratios: list[list[float]] = [[] for _ in OPTIONS]
    alone: list[float] = []
    for _ in range(rounds):
        base = one_run(paths, workers, [])[which]
        alone.append(base)
        for i, (_, _, sinks) in enumerate(OPTIONS):
            ratios[i].append(one_run(paths, workers, sinks())[which] / base)
    return [statistics.median(r) for r in ratios], statistics.median(alone)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--classes", type=int, default=1_000)
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--dir", help="where to write the inputs (default: a temporary directory)")
    ap.add_argument("--markdown", help="also write the table to this file")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.dir or tmp
        os.makedirs(folder, exist_ok=True)
        paths = bench.make_inputs(folder, args.rows, args.classes, seed=1)
        one, one_alone = measure(paths, 1, args.rounds)
        two, two_alone = measure(paths, 2, args.rounds)
    text = (
        "| asked | what it adds to the loss | one thread | two workers |\n"
        "| --- | --- | ---: | ---: |\n"
        + "".join(
            f"| {label} | {adds} | {a:.2f} | {b:.2f} |\n"
            for (label, adds, _), a, b in zip(OPTIONS, one, two, strict=True)
        )
        + f"\nThe loss alone = 1.00: {one_alone:.3f} s of CPU on one thread, {two_alone:.3f} s "
        f"on two workers ({args.rows:,} x {args.classes:,} float32, medians of {args.rounds} "
        f"rounds).\nMachine: {bench.machine()}\n"
    )
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
