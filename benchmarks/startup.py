"""Start-up benchmark: what one `ce-loss` call costs next to `python -c "import numpy"`.

    python benchmarks/startup.py [--runs 21] [--rounds 3]

Shell scripts call ce-loss in loops, so the budget is a tiny `ce-loss compute` at most 1.5x the
time of importing NumPy, and `ce-loss --help` without NumPy at all. Both are measured here side
by side, interleaved in rounds (this machine is noisy; absolute times drift, ratios hold), as the
median wall time of fresh processes. It measures the `ce-loss` installed next to this Python;
install it with `pip install .` (an editable install adds an import hook that costs ~15 ms).

Bytecode caching is allowed for the children (PYTHONDONTWRITEBYTECODE is removed from their
environment) and every command runs once before timing, as on a user's machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAIR = [str(ROOT / "samples" / "logits.npy"), str(ROOT / "samples" / "labels.npy")]


def ce_loss() -> list[str]:
    exe = Path(sys.executable).parent / ("ce-loss.exe" if os.name == "nt" else "ce-loss")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "ce_cli"]


def cases() -> dict[str, list[str]]:
    cmd = ce_loss()
    return {
        'python -c "import numpy"': [sys.executable, "-c", "import numpy"],
        "ce-loss compute (table)": cmd + ["compute", *PAIR, "--quiet"],
        "ce-loss compute --format plain": cmd + ["compute", *PAIR, "--quiet", "--format", "plain"],
        "ce-loss check --max 2": cmd + ["check", *PAIR, "--quiet", "--max", "2"],
        "ce-loss --help": cmd + ["--help"],
    }


def time_once(argv: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
    return time.perf_counter() - start


def help_imports_numpy(env: dict) -> bool:
    code = (
        "import sys\nfrom ce_cli.cli import main\nsys.argv = ['ce-loss', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write(str('numpy' in sys.modules))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    return r.stderr.strip().endswith("True")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=21, help="processes per command per round")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    args = ap.parse_args()

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.pop("NO_COLOR", None)
    todo = cases()
    for argv in todo.values():  # warm the caches and write bytecode
        time_once(argv, env)
    samples: dict[str, list[float]] = {name: [] for name in todo}
    for _ in range(args.rounds):
        for name, argv in todo.items():
            samples[name].extend(time_once(argv, env) for _ in range(args.runs))
    base = statistics.median(samples['python -c "import numpy"'])

    print(
        f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores; "
        f"median of {args.runs * args.rounds} runs each, interleaved in {args.rounds} rounds\n"
    )
    print("| command | median | vs import numpy |")
    print("| --- | ---: | ---: |")
    for name, xs in samples.items():
        med = statistics.median(xs)
        print(f"| `{name}` | {med * 1000:.0f} ms | {med / base:.2f}x |")
    print(f"\n`ce-loss --help` imports NumPy: {'yes' if help_imports_numpy(env) else 'no'}")


if __name__ == "__main__":
    main()
