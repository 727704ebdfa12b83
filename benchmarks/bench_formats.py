"""The input-format cases of bench.py (issue 12): bfloat16 ``.safetensors`` and shards.

- ``bf16``: ``(16, 2048, 32000)`` bfloat16 logits in one ``.safetensors`` file (2 GB) with int64
  labels, ``--class-dim -1``, against ``safetensors.torch.load_file`` +
  ``F.cross_entropy(x.float().flatten(0, 1), t.flatten())`` (which holds the file and a float32
  copy). Target: at least 6x faster, peak RSS growth at most 25% of the file.
- ``shards``: the 100,000 x 1,000 float32 case as 8 ``.npy`` shards (a quoted glob) against the
  same bytes as one file, ce-loss against itself. Target: within 10% of one file.

The files are written by hand (the header is 8 bytes of length and JSON), so the benchmark needs
neither safetensors nor ml_dtypes on ce-loss's side; the torch script needs both torch and
safetensors and is skipped without them.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

BF16_FULL = (16, 2048, 32000)
BF16_QUICK = (2, 512, 32000)
SHARDS = 8

TORCH_SAFETENSORS = """
import sys
import numpy as np
import torch
from safetensors.torch import load_file
x = load_file(sys.argv[1])["logits"]
t = torch.from_numpy(np.load(sys.argv[2]))
loss = torch.nn.functional.cross_entropy(x.float().flatten(0, 1), t.flatten())
print(repr(loss.item()))
"""


def write_bf16_safetensors(path: str, shape: tuple, seed: int) -> None:
    """Random logits rounded to bfloat16 (the upper 16 bits of float32), written a chunk at a
    time under a hand-written header."""
    n = int(np.prod(shape))
    header = json.dumps(
        {"logits": {"dtype": "BF16", "shape": list(shape), "data_offsets": [0, 2 * n]}}
    ).encode()
    rng = np.random.default_rng(seed)
    step = 1 << 24
    with open(path, "wb") as f:
        f.write(len(header).to_bytes(8, "little") + header)
        for start in range(0, n, step):
            x = rng.standard_normal(min(step, n - start), dtype=np.float32) * 3
            f.write((x.view(np.uint32) >> 16).astype("<u2").tobytes())


def bf16_inputs(folder: str, shape: tuple, seed: int) -> tuple[str, str]:
    x = os.path.join(folder, f"bf16_{'x'.join(map(str, shape))}.safetensors")
    t = x.replace(".safetensors", "_labels.npy")
    if not os.path.exists(x):
        write_bf16_safetensors(x, shape, seed)
        rng = np.random.default_rng(seed + 1)
        np.save(t, rng.integers(0, shape[-1], shape[:-1]))
    return x, t


def measure_bf16(bench, args, torch_ok: bool, folder: str, env: dict) -> tuple:
    """(label, ours, ref, speed-up, RSS growth ours %, RSS growth ref %) of the bf16 case."""
    shape = BF16_QUICK if args.quick else BF16_FULL
    big = bf16_inputs(folder, shape, seed=1)
    tiny = bf16_inputs(folder, (1, bench.TINY_ROWS, shape[-1]), seed=2)

    def ours(x: str, t: str) -> list[str]:
        return bench.ours_command("cli", x, t, "", class_dim=-1)

    def ref(x: str, t: str) -> list[str]:
        if torch_ok and _has_safetensors():
            return [sys.executable, "-c", TORCH_SAFETENSORS, x, t]
        return [sys.executable, "-c", bench.LOAD_ONLY, t]

    cmds = {
        ("ours", "big"): ours(*big),
        ("ours", "tiny"): ours(*tiny),
        ("ref", "big"): ref(*big),
        ("ref", "tiny"): ref(*tiny),
    }
    med, rss = bench.time_commands(cmds, args.runs, env)
    o = med["ours", "big"] - med["ours", "tiny"]
    r = med["ref", "big"] - med["ref", "tiny"]
    size = os.path.getsize(big[0])
    label = f"CE mean, {shape} bfloat16 .safetensors ({size / 1e9:.1f} GB), classes last"
    return (
        label,
        o,
        r,
        r / o if o > 0 else float("inf"),
        100.0 * (rss["ours", "big"] - rss["ours", "tiny"]) / size,
        100.0 * (rss["ref", "big"] - rss["ref", "tiny"]) / size,
    )


def _has_safetensors() -> bool:
    try:
        import safetensors.torch  # noqa: F401
    except ImportError:
        return False
    return True


def as_shards(bench, x_path: str, n: int) -> str:
    """The rows of ``x_path`` as ``n`` .npy shards; returns their quoted-glob pattern. Written
    as the one file is (``bench.save_mapped``), so that the two read back alike."""
    x = np.load(x_path, mmap_mode="r")
    stem = x_path.replace(".npy", "")
    bounds = np.linspace(0, x.shape[0], n + 1).astype(int).tolist()
    for i, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False)):
        bench.save_mapped(f"{stem}-shard-{i + 1}.npy", x[a:b])
    return f"{stem}-shard-*.npy"


def measure_shards(bench, args, folder: str, env: dict) -> tuple:
    """(label, sharded, one file) marginal times of the loss case as 8 shards and as one."""
    case = (bench.QUICK if args.quick else bench.FULL)["loss"]
    x, t = bench.make_inputs(folder, case.rows, case.classes, seed=1)
    tx, tt = bench.make_inputs(folder, bench.TINY_ROWS, case.classes, seed=2)
    cmds = {
        ("shards", "big"): bench.ours_command("cli", as_shards(bench, x, SHARDS), t, ""),
        ("shards", "tiny"): bench.ours_command("cli", as_shards(bench, tx, SHARDS), tt, ""),
        ("one", "big"): bench.ours_command("cli", x, t, ""),
        ("one", "tiny"): bench.ours_command("cli", tx, tt, ""),
    }
    med, _ = bench.time_commands(cmds, args.runs, env)
    label = f"CE mean, {case.rows:,} x {case.classes:,} float32 as {SHARDS} shards vs one file"
    return (
        label,
        med["shards", "big"] - med["shards", "tiny"],
        med["one", "big"] - med["one", "tiny"],
    )


def formats_report(bf16_row: tuple | None, shards_row: tuple | None, ref_name: str) -> str:
    text = ""
    if bf16_row is not None:
        label, o, r, up, g_o, g_r = bf16_row
        text += (
            f"\n| bf16 case | ours | {ref_name} | speed-up | peak RSS growth, ours | "
            f"peak RSS growth, {ref_name} |\n|---|---:|---:|---:|---:|---:|\n"
            f"| {label} | {o:.3f} s | {r:.3f} s | {up:.1f}x | {g_o:.1f}% | {g_r:.1f}% |\n"
        )
    if shards_row is not None:
        label, s, one = shards_row
        ratio = s / one if one > 0 else float("inf")
        text += (
            "\n| shards case | shards | one file | shards / one file |\n|---|---:|---:|---:|\n"
            f"| {label} | {s:.3f} s | {one:.3f} s | {ratio:.2f} |\n"
        )
    return text
