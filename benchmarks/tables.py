"""Benchmark reading a big CSV: ce-loss's parsers against pandas, side by side in one run.

    python benchmarks/tables.py [--rows 200000] [--runs 5] [--file big.csv] [--markdown FILE]

Writes (or reuses ``--file``) the table of ``make_table.py`` (102 MB at the default size: 200,000
rows of 50 float32 values written with ``%.7g`` and a label column), then times fresh
subprocesses, interleaved in rounds:

- ``ce-loss fast``: ``ce_cli.readers.load`` and ``ce_cli.core.run`` (the mean cross-entropy), the
  table's blocks parsed by pyarrow's streaming CSV parser as the engine asks for them;
- ``ce-loss fast, whole array``: the same parse into one float64 array (``np.asarray`` of what
  ``load`` gives), as before the table was streamed;
- ``ce-loss no pyarrow``: the loss, parsed by ``np.loadtxt`` a piece of lines at a time (what
  runs when pyarrow is not installed);
- ``ce-loss cell by cell``: the loss, parsed by the parse that words errors (what ce-loss did
  before issue 13);
- ``pandas``: ``pandas.read_csv(path).to_numpy()`` (reading only: no loss);
- ``np.loadtxt``: ``numpy.loadtxt(path, delimiter=",", skiprows=1)``.

Times are medians of wall time and of CPU time (user + system, all threads; imports included,
as a user pays them); memory is each child's peak RSS (``ru_maxrss``). The ratios are ce-loss
fast's medians over pandas' (the target is <= 1.0); CPU time moves less than wall time on a
busy machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

_LOSS = (
    "from ce_cli import core, readers; from ce_cli.settings import LossSpec; "
    "d = readers.load(P); core.run(LossSpec(), d.pred, d.target)"
)
_NO_ARROW = "from ce_cli.readers import table; table.FAST = False; "
READERS = {
    "ce-loss fast": _LOSS,
    "ce-loss fast, whole array": (
        "import numpy; from ce_cli import readers; numpy.asarray(readers.load(P).pred)"
    ),
    "ce-loss no pyarrow": _NO_ARROW + _LOSS,
    "ce-loss cell by cell": _NO_ARROW + "table.LOADTXT = False; " + _LOSS,
    "pandas": "import pandas; pandas.read_csv(P).to_numpy()",
    "np.loadtxt": "import numpy; numpy.loadtxt(P, delimiter=',', skiprows=1)",
}


def run_one(code: str, path: str) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, peak RSS in bytes) of one fresh interpreter running ``code``."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", f"P = {path!r}\n{code}"], env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - t0
    if status:
        raise SystemExit(f"{code!r} failed")
    return took, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--file", help="the table to read (written first when missing)")
    ap.add_argument("--markdown", help="also write the table to this file")
    a = ap.parse_args(argv)
    sys.path.insert(0, HERE)
    from make_table import write_table

    folder = tempfile.mkdtemp()
    path = a.file or os.path.join(folder, "big.csv")
    if not os.path.exists(path):
        write_table(path, a.rows)
    have = {}
    for name, code in READERS.items():
        mod = code.split()[1].rstrip(";")
        if name.startswith("ce-loss") or _importable(mod):
            have[name] = code
    times: dict[str, list[float]] = {n: [] for n in have}
    cpus: dict[str, list[float]] = {n: [] for n in have}
    peaks: dict[str, int] = {}
    for _ in range(a.runs):
        for name, code in have.items():
            t, cpu, rss = run_one(code, path)
            times[name].append(t)
            cpus[name].append(cpu)
            peaks[name] = max(peaks.get(name, 0), rss)
    size = os.path.getsize(path)
    lines = [
        f"{size / 1e6:.0f} MB CSV, median of {a.runs} runs, fresh processes:",
        "",
        "| reader | time | CPU time | peak RSS |",
        "| --- | --- | --- | --- |",
    ]
    med = {n: statistics.median(v) for n, v in times.items()}
    cpu = {n: statistics.median(v) for n, v in cpus.items()}
    for name in have:
        lines.append(
            f"| {name} | {med[name]:.2f} s | {cpu[name]:.2f} s | {peaks[name] / 1e6:.0f} MB |"
        )
    if "pandas" in med:
        lines += [
            "",
            f"ratio ce-loss fast / pandas: {med['ce-loss fast'] / med['pandas']:.2f} (time), "
            f"{cpu['ce-loss fast'] / cpu['pandas']:.2f} (CPU time)",
        ]
    text = "\n".join(lines) + "\n"
    print(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text)
    return 0


def _importable(mod: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(mod) is not None


if __name__ == "__main__":
    raise SystemExit(main())
