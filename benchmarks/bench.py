"""Benchmark ce-loss on big inputs against a plain PyTorch script, side by side in one run.

    python benchmarks/bench.py [--quick] [--runs 5] [--markdown FILE]
                        [--cases loss,grad,vocab,few,layout,metrics,bf16,shards]
    python benchmarks/bench.py --against OTHER_CHECKOUT   # this ce-loss against another version

Every case writes its inputs (float32 logits and int64 class labels as ``.npy``) to a temporary
directory, then times fresh subprocesses, interleaved in rounds so that drifts of a noisy machine
hit every command alike:

- ``ours``: ce-loss on the files. By default the command line (``python -m ce_cli compute ...
  --format plain``, with ``--save-grad`` in the gradient case), as users run it; ``--via lib``
  times the library's engine (``ce_cli.evaluate`` on the ``.npy`` paths, memory-mapped), the
  layer under it, instead.
- ``torch``: ``np.load`` both files, ``torch.nn.functional.cross_entropy`` (with ``backward()``
  and ``np.save`` of the gradient in the gradient case). Without torch installed, the reference is
  a script that merely ``np.load``s the input once. With ``--against DIR``, the reference is
  the same ce-loss command run with the ``ce_cli`` of another checkout ``DIR`` (an older
  version, say), so two versions are compared side by side in one run.

Each command also runs on a tiny input of the same kind (10 rows): its time and peak RSS are
subtracted, so interpreter start-up and imports cancel out and what is compared is the cost of
the data. Times are medians of ``--runs`` runs; peak RSS is each child's own ``ru_maxrss``
(from ``os.wait4``), its growth over the tiny run given as a percentage of the input file's size.
The inputs are in the page cache (just written), as they would be after the first read.

The ``layout`` case times ce-loss against itself: the same float32 logits as ``(N, T, V)`` with
``--class-dim -1`` (classes last, as language models write them) and as the 2-D ``(N*T, V)``
file, interleaved in the same rounds; classes last must cost within 10% of the 2-D input.

The ``metrics`` case compares ce-loss with itself on 100,000 x 1,000 float32 logits, side by
side in the same rounds: the loss alone, the loss with ``--metrics --top-k 5 --per-class``
(accuracy, top-5, perplexity, entropy, Brier, ECE, per-class table) and with ``--worst 100``,
each as marginal time over the same command on the tiny input (``--format json``), over at
least 31 rounds whatever ``--runs`` says (fewer let its ratios move by 20% between runs of the
benchmark on a busy machine).

The ``bf16`` and ``shards`` cases (bfloat16 ``.safetensors`` against torch, 8 shards against one
file) are in ``bench_formats.py``; ``--cases`` runs them by name (not by default: the bf16 file
is 2 GB).

Prints a Markdown table and the machine; ``--markdown FILE`` also writes them to FILE.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import numpy as np

TINY_ROWS = 10
# The layout case: (N, T, V) classes last, the size of the 100,000 x 1,000 case.
LAYOUT_FULL = (50, 2_000, 1_000)
LAYOUT_QUICK = (5, 2_000, 1_000)


@dataclass(frozen=True)
class Case:
    key: str
    rows: int
    classes: int
    grad: bool

    @property
    def label(self) -> str:
        what = "loss + gradient saved" if self.grad else "loss"
        return f"CE mean, {self.rows:,} x {self.classes:,} float32, {what}"

    @property
    def input_bytes(self) -> int:
        return self.rows * self.classes * 4


FULL = {
    "loss": Case("loss", 100_000, 1_000, False),
    "grad": Case("grad", 100_000, 1_000, True),
    "vocab": Case("vocab", 2_000, 50_257, False),
    "few": Case("few", 2_000_000, 10, False),
    "metrics": Case("metrics", 100_000, 1_000, False),
}
QUICK = {
    "loss": Case("loss", 10_000, 1_000, False),
    "grad": Case("grad", 10_000, 1_000, True),
    "vocab": Case("vocab", 200, 50_257, False),
    "few": Case("few", 200_000, 10, False),
    "metrics": Case("metrics", 10_000, 1_000, False),
}

# The metrics case compares ce-loss with itself to within 10%: its marginal times are
# differences of two ~0.2 s start-ups and runs, and on a busy machine fewer rounds than this
# let the ratios move by 20% from one run of the benchmark to the next.
METRICS_MIN_RUNS = 31
# The metrics case: ce-loss alone, with every metric, with --worst.
METRIC_VARIANTS = {
    "loss alone": [],
    "+ --metrics --top-k 5 --per-class": ["--metrics", "--top-k", "5", "--per-class"],
    "+ --worst 100": ["--worst", "100"],
}

# The scripts run in fresh interpreters: argv = input, target, gradient output ("" for none).
OURS_LIB = """
import sys
import ce_cli
x, t, g = sys.argv[1:4]
class_dim = int(sys.argv[4]) if len(sys.argv) > 4 else 1
r = ce_cli.evaluate("ce", x, t, save_grad=g or None, class_dim=class_dim)
print(repr(r.loss))
"""

TORCH = """
import sys
import numpy as np
import torch
x, t, g = sys.argv[1:4]
xt = torch.from_numpy(np.load(x))
tt = torch.from_numpy(np.load(t))
if g:
    xt.requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(xt, tt)
    loss.backward()
    np.save(g, xt.grad.numpy())
else:
    loss = torch.nn.functional.cross_entropy(xt, tt)
print(repr(loss.item()))
"""

LOAD_ONLY = """
import sys
import numpy as np
np.load(sys.argv[1])
"""


def ours_command(via: str, x: str, t: str, g: str, class_dim: int = 1) -> list[str]:
    """The ce-loss command for one run: the command line, or the library under it."""
    if via == "cli":
        cmd = [sys.executable, "-m", "ce_cli", "compute", x, t, "--quiet", "--format", "plain"]
        cmd += ["--class-dim", str(class_dim)] if class_dim != 1 else []
        return cmd + (["--save-grad", g] if g else [])
    return [sys.executable, "-c", OURS_LIB, x, t, g] + ([str(class_dim)] if class_dim != 1 else [])


def reference_command(torch_ok: bool, x: str, t: str, g: str) -> list[str]:
    if torch_ok:
        return [sys.executable, "-c", TORCH, x, t, g]
    return [sys.executable, "-c", LOAD_ONLY, x, t, g]


# Measures one command from a small process of its own: a child's ru_maxrss starts from the
# peak RSS of the process that spawned it (exec keeps it), so spawning straight from this
# process, which has held inputs in memory, would put a floor under every measurement.
RUNNER = """
import os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
elapsed = time.perf_counter() - start
scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB elsewhere
print(os.waitstatus_to_exitcode(status), elapsed, usage.ru_maxrss * scale)
"""


def run_measured(argv: list[str], env: dict) -> tuple[float, int]:
    """Wall time (s) and peak RSS (bytes; 0 where unknown) of one fresh process."""
    if not hasattr(os, "wait4"):
        start = time.perf_counter()
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        elapsed, peak, code, err = time.perf_counter() - start, 0, done.returncode, done.stderr
    else:
        done = subprocess.run([sys.executable, "-c", RUNNER, *argv], capture_output=True, env=env)
        err = done.stderr
        try:
            code, elapsed, peak = done.stdout.split()
            code, elapsed, peak = int(code), float(elapsed), int(peak)
        except ValueError:
            code, elapsed, peak = done.returncode or 1, 0.0, 0
    if code != 0:
        raise SystemExit(
            f"benchmark command failed ({code}): {' '.join(argv[:4])}...\n"
            + err.decode(errors="replace")[-2000:]
        )
    return elapsed, peak


def make_inputs(folder: str, rows: int, classes: int, seed: int) -> tuple[str, str]:
    """float32 logits (scaled normal) and int64 labels as .npy, written in chunks."""
    rng = np.random.default_rng(seed)
    x_path = os.path.join(folder, f"logits_{rows}x{classes}.npy")
    t_path = os.path.join(folder, f"labels_{rows}x{classes}.npy")
    if not os.path.exists(x_path):
        x = np.lib.format.open_memmap(x_path, mode="w+", dtype=np.float32, shape=(rows, classes))
        step = max(1, (1 << 22) // classes)
        for start in range(0, rows, step):
            stop = min(rows, start + step)
            x[start:stop] = rng.standard_normal((stop - start, classes), dtype=np.float32) * 3
        x.flush()
        del x
        np.save(t_path, rng.integers(0, classes, rows))
    return x_path, t_path


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        import torch

        tv = f", torch {torch.__version__} ({torch.get_num_threads()} threads)"
    except ImportError:
        tv = ", torch not installed"
    return (
        f"{cpu}, {os.cpu_count()} logical CPUs; Python {platform.python_version()}, "
        f"NumPy {np.__version__}{tv}; {platform.system()} {platform.release()}"
    )


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python benchmarks/bench.py", description=(__doc__ or "").split("\n")[0]
    )
    ap.add_argument("--quick", action="store_true", help="small sizes (a few seconds in all)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per command (median)")
    ap.add_argument(
        "--cases",
        default="loss,grad,vocab,few,layout",
        help="comma-separated: loss, grad, vocab, few, layout, metrics, bf16, shards",
    )
    ap.add_argument(
        "--via",
        choices=("lib", "cli"),
        default="cli",
        help="time the library's engine or the ce-loss command line",
    )
    ap.add_argument(
        "--against",
        metavar="DIR",
        help="compare with the ce_cli of another checkout instead of torch",
    )
    ap.add_argument("--dir", help="where to write the inputs (default: a temporary directory)")
    ap.add_argument("--markdown", help="also write the table to this file")
    args = ap.parse_args(argv)
    table = QUICK if args.quick else FULL
    keys = [k.strip() for k in args.cases.split(",") if k.strip()]
    args.layout = "layout" in keys
    args.bf16, args.shards = "bf16" in keys, "shards" in keys
    try:
        args.case_list = [table[k] for k in keys if k not in ("layout", "bf16", "shards")]
    except KeyError as e:
        ap.error(f"unknown case {e}; choose from {', '.join(table)}")
    return args


def child_env(root: str | None = None) -> dict:
    """This environment with the repository (or ``root``) first on PYTHONPATH, so children
    import its ce_cli."""
    env = dict(os.environ)
    root = root or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(
        [root] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    return env


def time_commands(cmds: dict, runs: int, env: dict, envs: dict | None = None) -> tuple[dict, dict]:
    """Median wall time and largest peak RSS of each command, interleaved in rounds.

    ``envs`` maps the first part of a command's key ("ours", "ref") to its own environment.
    """
    samples: dict = {k: [] for k in cmds}

    def env_of(k) -> dict:
        return envs[k[0]] if envs else env

    for k, cmd in cmds.items():  # warm-up: page cache, bytecode, first-touch effects
        run_measured(cmd, env_of(k))
    for round_ in range(runs):
        order = list(cmds.items())
        if round_ % 2:  # alternate the order so that a drift hits both sides alike
            order.reverse()
        for k, cmd in order:
            samples[k].append(run_measured(cmd, env_of(k)))
    med = {k: statistics.median(s[0] for s in v) for k, v in samples.items()}
    rss = {k: max(s[1] for s in v) for k, v in samples.items()}
    return med, rss


def save_mapped(path: str, a: np.ndarray) -> None:
    """``a`` written as ``path`` through a memory map, as :func:`make_inputs` writes its logits.

    Files compared with each other must be written the same way: the page cache holds a file
    written by ``write()`` (``np.save``) in other pieces than one written through a map, and
    reading them back differs by up to ~30% (measured with ce-loss's positioned reads and with
    plain reads alike), which would compare the writers, not the layouts or the shards.
    """
    out = np.lib.format.open_memmap(path, mode="w+", dtype=a.dtype, shape=a.shape)
    step = max(1, (1 << 22) // max(1, int(np.prod(a.shape[1:]))))
    for start in range(0, a.shape[0], step):
        out[start : start + step] = a[start : start + step]
    out.flush()
    del out


def as_sequences(x_path: str, t_path: str, n: int) -> tuple[str, str]:
    """The same logits and labels as (n, T, V) and (n, T) files: classes last."""
    x, t = np.load(x_path, mmap_mode="r"), np.load(t_path)
    x3, t3 = x_path.replace(".npy", f"_{n}seq.npy"), t_path.replace(".npy", f"_{n}seq.npy")
    save_mapped(x3, x.reshape(n, -1, x.shape[1]))
    np.save(t3, t.reshape(n, -1))
    return x3, t3


def measure_layout(args: argparse.Namespace, folder: str, env: dict) -> tuple:
    """Classes last (N, T, V) with --class-dim -1 against the same bytes as (N*T, V)."""
    n, tlen, v = LAYOUT_QUICK if args.quick else LAYOUT_FULL
    flat = make_inputs(folder, n * tlen, v, seed=1)
    tiny = make_inputs(folder, TINY_ROWS, v, seed=2)
    cmds = {
        ("last", "big"): ours_command(args.via, *as_sequences(*flat, n), "", class_dim=-1),
        ("last", "tiny"): ours_command(args.via, *as_sequences(*tiny, 1), "", class_dim=-1),
        ("2d", "big"): ours_command(args.via, *flat, ""),
        ("2d", "tiny"): ours_command(args.via, *tiny, ""),
    }
    med, _ = time_commands(cmds, args.runs, env)
    last = med["last", "big"] - med["last", "tiny"]
    two = med["2d", "big"] - med["2d", "tiny"]
    label = f"CE mean, ({n}, {tlen:,}, {v:,}) float32 classes last vs ({n * tlen:,}, {v:,})"
    return label, last, two


def measure_case(case: Case, args: argparse.Namespace, torch_ok: bool, folder: str, env: dict):
    """One row of the table: times and peak RSS growth of ours and the reference on one case.

    With ``args.against``, the reference is our command run on the other checkout's ce_cli.
    """
    big = make_inputs(folder, case.rows, case.classes, seed=1)
    tiny = make_inputs(folder, TINY_ROWS, case.classes, seed=2)
    g_ours = os.path.join(folder, "grad_ours.npy") if case.grad else ""
    g_ref = os.path.join(folder, "grad_ref.npy") if case.grad else ""
    against = getattr(args, "against", None)
    ref = (
        (lambda *a: ours_command(args.via, *a))
        if against
        else (lambda *a: reference_command(torch_ok, *a))
    )
    envs = {"ours": env, "ref": child_env(against) if against else env}
    cmds = {
        ("ours", "big"): ours_command(args.via, *big, g_ours),
        ("ours", "tiny"): ours_command(args.via, *tiny, g_ours),
        ("ref", "big"): ref(*big, g_ref),
        ("ref", "tiny"): ref(*tiny, g_ref),
    }
    med, rss = time_commands(cmds, args.runs, env, envs)
    ours = med["ours", "big"] - med["ours", "tiny"]
    ref = med["ref", "big"] - med["ref", "tiny"]
    return (
        case.label,
        ours,
        ref,
        ref / ours if ours > 0 else float("inf"),
        100.0 * (rss["ours", "big"] - rss["ours", "tiny"]) / case.input_bytes,
        100.0 * (rss["ref", "big"] - rss["ref", "tiny"]) / case.input_bytes,
        med["ours", "tiny"],
        med["ref", "tiny"],
    )


def layout_report(row: tuple) -> str:
    label, last, two = row
    ratio = last / two if two > 0 else float("inf")
    return (
        "\n| layout case | classes last | 2-D | classes last / 2-D |\n|---|---:|---:|---:|\n"
        f"| {label} | {last:.3f} s | {two:.3f} s | {ratio:.2f} |\n"
    )


def metrics_runs(args: argparse.Namespace) -> int:
    """Rounds of the metrics case: at least METRICS_MIN_RUNS (but with --quick)."""
    return args.runs if args.quick else max(args.runs, METRICS_MIN_RUNS)


def measure_metrics(case: Case, args: argparse.Namespace, folder: str, env: dict) -> list:
    """Rows of the metrics table: (variant, marginal seconds, ratio to the loss alone, RSS %)."""
    big = make_inputs(folder, case.rows, case.classes, seed=1)
    tiny = make_inputs(folder, TINY_ROWS, case.classes, seed=2)
    base = [sys.executable, "-m", "ce_cli", "compute", "--quiet", "--format", "json"]
    cmds = {
        (name, size): [*base, *files, *extra]
        for name, extra in METRIC_VARIANTS.items()
        for size, files in (("big", big), ("tiny", tiny))
    }
    samples: dict = {k: [] for k in cmds}
    for cmd in cmds.values():
        run_measured(cmd, env)
    for round_ in range(metrics_runs(args)):
        order = list(cmds.items())
        if round_ % 2:
            order.reverse()
        for k, cmd in order:
            samples[k].append(run_measured(cmd, env))
    med = {k: statistics.median(s[0] for s in v) for k, v in samples.items()}
    rss = {k: max(s[1] for s in v) for k, v in samples.items()}
    marginal = {n: med[n, "big"] - med[n, "tiny"] for n in METRIC_VARIANTS}
    alone = marginal["loss alone"]
    return [
        (
            name,
            marginal[name],
            marginal[name] / alone if alone > 0 else float("inf"),
            100.0 * (rss[name, "big"] - rss[name, "tiny"]) / case.input_bytes,
        )
        for name in METRIC_VARIANTS
    ]


def metrics_report(case: Case, rows_out: list, args: argparse.Namespace) -> str:
    lines = [
        f"| {case.rows:,} x {case.classes:,} float32, CE mean | marginal time | vs loss alone "
        "| peak RSS growth |",
        "|---|---:|---:|---:|",
    ]
    for name, t, ratio, growth in rows_out:
        lines.append(f"| {name} | {t:.3f} s | {ratio:.2f}x | {growth:.1f}% |")
    lines += [
        "",
        f"python -m ce_cli compute --format json, median of {metrics_runs(args)} fresh processes "
        f"minus the same command on a {TINY_ROWS}-row input. Machine: {machine()}.",
    ]
    return "\n".join(lines) + "\n"


def report(rows_out: list, args: argparse.Namespace, torch_ok: bool) -> str:
    """The Markdown table, how it was measured and the machine."""
    ref_name = _ref_name(args, torch_ok)
    via = (
        "ce_cli.evaluate on the .npy paths (memory-mapped)"
        if args.via == "lib"
        else "python -m ce_cli compute"
    )
    lines = [
        f"| case | ours | {ref_name} | speed-up | peak RSS growth, ours | "
        f"peak RSS growth, {ref_name} |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, ours, ref, up, g_ours, g_ref, _, _ in rows_out:
        # an extra cost within the noise of start-up shows as such, not as a negative speed-up
        speed = f"{up:.1f}x" if ours > 0 and ref > 0 else "(noise)"
        lines.append(
            f"| {label} | {ours:.3f} s | {ref:.3f} s | {speed} | {g_ours:.1f}% | {g_ref:.1f}% |"
        )
    notes = [
        "",
        f"Times: median of {args.runs} fresh processes minus the median of the same command on a "
        f"{TINY_ROWS}-row input (start-up: ours {min(r[6] for r in rows_out):.2f} s, "
        f"{ref_name} {min(r[7] for r in rows_out):.2f} s). Peak RSS growth: the largest "
        "ru_maxrss over the runs minus the tiny run's, as % of the input file.",
        f"ours: {via}; {ref_name}: "
        + (
            "the same command with that checkout's ce_cli."
            if getattr(args, "against", None)
            else "np.load + torch.nn.functional.cross_entropy (+ backward() and np.save of the "
            "gradient)."
            if torch_ok
            else "a script that only np.loads the input."
        ),
        f"Machine: {machine()}.",
    ]
    return "\n".join(lines + notes) + "\n"


def _ref_name(args: argparse.Namespace, torch_ok: bool) -> str:
    against = getattr(args, "against", None)
    if against:
        return os.path.basename(os.path.normpath(against)) or against
    return "torch" if torch_ok else "np.load"


def measure_formats(args: argparse.Namespace, torch_ok: bool, folder: str, env: dict) -> str:
    """The bf16 and shards cases' tables ("" when neither was asked for)."""
    if not (args.bf16 or args.shards):
        return ""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench_formats

    bench = sys.modules[__name__]
    bf16 = shards = None
    if args.bf16:
        print("# bfloat16 .safetensors", file=sys.stderr)
        bf16 = bench_formats.measure_bf16(bench, args, torch_ok, folder, env)
    if args.shards:
        print("# shards vs one file", file=sys.stderr)
        shards = bench_formats.measure_shards(bench, args, folder, env)
    ref_name = "torch" if torch_ok and bench_formats._has_safetensors() else "np.load"
    return bench_formats.formats_report(bf16, shards, ref_name)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch_ok = torch_available()
    ref_name = _ref_name(args, torch_ok)
    folder = args.dir or tempfile.mkdtemp(prefix="ce-loss-bench-")
    os.makedirs(folder, exist_ok=True)
    env = child_env()
    rows_out = []
    texts = []
    try:
        for case in args.case_list:
            if case.key == "metrics":
                print(f"# metrics, {case.rows:,} x {case.classes:,}", file=sys.stderr)
                texts.append(metrics_report(case, measure_metrics(case, args, folder, env), args))
                continue
            print(f"# {case.label}", file=sys.stderr)
            row = measure_case(case, args, torch_ok, folder, env)
            rows_out.append(row)
            print(f"  ours {row[1]:.3f} s, {ref_name} {row[2]:.3f} s", file=sys.stderr)
        if args.layout:
            print("# classes last vs 2-D", file=sys.stderr)
            layout_row = measure_layout(args, folder, env)
        formats = measure_formats(args, torch_ok, folder, env)
    finally:
        if not args.dir:
            shutil.rmtree(folder, ignore_errors=True)
    if rows_out:
        texts.insert(0, report(rows_out, args, torch_ok))
    if args.layout:
        texts.append(layout_report(layout_row))
    if formats:
        texts.append(formats)
    text = "\n".join(texts)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
