"""Write the big CSV of the table benchmark: rows of float32 logits written with ``%.7g`` and an
integer label column, as an evaluation script writes them (102 MB at the default size).

    python benchmarks/make_table.py OUT.csv [--rows 200000] [--classes 50] [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np


def write_table(path: str, rows: int = 200_000, classes: int = 50, seed: int = 0) -> None:
    """Write ``rows`` rows of ``classes`` float32 logits (``%.7g``) and a label, with a header."""
    rng = np.random.default_rng(seed)
    header = ",".join(f"c{j}" for j in range(classes)) + ",label\n"
    row = ",".join(["%.7g"] * classes) + ",%d"
    with open(path, "w", encoding="ascii", newline="\n") as f:
        f.write(header)
        for start in range(0, rows, 20_000):  # a slice at a time: the text never sits whole
            n = min(20_000, rows - start)
            x = rng.standard_normal((n, classes)).astype(np.float32) * 3
            y = rng.integers(0, classes, n)
            f.write("\n".join(row % (*r, t) for r, t in zip(x.tolist(), y.tolist(), strict=True)))
            f.write("\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--classes", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    write_table(a.out, a.rows, a.classes, a.seed)


if __name__ == "__main__":
    main()
