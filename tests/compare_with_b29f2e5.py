"""Bit-identity of the one engine against the two drivers of commit b29f2e5, on random problems.

    python tests/compare_with_b29f2e5.py [N]

Extracts ``ce_cli/core.py``, ``stream.py`` and ``errors.py`` of b29f2e5 (``git show``) into a
temporary package, then for N random problems (default 200: every loss, input kind, target kind,
label smoothing, weights, ignored targets, reductions, float32/float64, 2-d and K-d inputs,
few and many classes, extreme rows) compares the loss, the total, the per-element bytes and the
gradient bytes of ``ce_cli.evaluate`` (random threads and block sizes) with the old
``core.evaluate`` and ``stream.evaluate``, and error messages where the old code raised.
Not collected by pytest (it needs git and the old commit); prints a one-line summary.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OLD = "b29f2e5"


def load_old():
    folder = tempfile.mkdtemp()
    pkg = os.path.join(folder, "ce_cli_old")
    os.mkdir(pkg)
    for name in ("core", "stream", "errors"):
        text = subprocess.run(
            ["git", "-C", ROOT, "show", f"{OLD}:ce_cli/{name}.py"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        with open(os.path.join(pkg, f"{name}.py"), "w") as f:
            f.write(text)
    open(os.path.join(pkg, "__init__.py"), "w").close()
    sys.path.insert(0, folder)
    return importlib.import_module("ce_cli_old.core"), importlib.import_module("ce_cli_old.stream")


def problem(rng):
    loss = rng.choice(["ce", "ce", "ce", "nll", "bce", "bce-logits"])
    n = int(rng.choice([1, 3, 50, 700, 3000]))
    c = int(rng.choice([2, 3, 10, 63, 64, 100, 300]))
    d = () if rng.random() < 0.7 else (int(rng.integers(1, 5)),) * int(rng.integers(1, 3))
    shape = (n, c) + d
    dtype = np.float32 if rng.random() < 0.5 else np.float64
    kw: dict = {"reduction": str(rng.choice(["mean", "sum", "none"]))}
    if loss in ("bce", "bce-logits"):
        x = rng.random(shape) if loss == "bce" else rng.normal(0, 4, shape)
        if loss == "bce" and rng.random() < 0.3:
            x[rng.random(shape) < 0.1] = rng.choice([0.0, 1.0])
        t = rng.random(shape) if rng.random() < 0.5 else (rng.random(shape) < 0.5) * 1.0
        if rng.random() < 0.4:
            kw["weight"] = rng.uniform(0.1, 2.0, shape[-1:])
        if loss == "bce-logits" and rng.random() < 0.5:
            kw["pos_weight"] = rng.uniform(0.1, 3.0, shape[-1:])
        return loss, x.astype(dtype), t, kw
    kind = "logits" if loss == "ce" else "log-probs"
    if loss == "ce" and rng.random() < 0.2:
        kind = str(rng.choice(["probs", "log-probs"]))
    x = rng.normal(0, float(rng.choice([1, 3, 30])), shape)
    if rng.random() < 0.2:
        x[rng.random(n) < 0.1] += float(rng.choice([300.0, -300.0, 1e4]))  # extreme rows
    if kind != "logits":
        e = np.exp(x - x.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        x = p if kind == "probs" else np.log(p)
    kw["input_kind"] = kind
    if rng.random() < 0.3:
        e = rng.random(shape)
        t = e / e.sum(axis=1, keepdims=True)
    else:
        t = rng.integers(0, c, (n,) + d)
        if rng.random() < 0.4:
            t = np.where(rng.random(t.shape) < 0.2, -100, t)
    if rng.random() < 0.4:
        kw["label_smoothing"] = float(rng.choice([0.05, 0.1, 0.3]))
    if rng.random() < 0.4:
        kw["weight"] = rng.uniform(0.1, 2.0, c)
    return loss, x.astype(dtype), t, kw


def same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def outcome(f, *args, **kw):
    try:
        return f(*args, **kw), None
    except ValueError as e:
        return None, str(e)


def main(count: int = 200) -> int:
    old_core, old_stream = load_old()
    sys.path.insert(0, ROOT)
    import ce_cli

    rng = np.random.default_rng(20261128)
    bad = checked = errors = 0
    for i in range(count):
        loss, x, t, kw = problem(rng)
        workers = int(rng.integers(1, 4))
        block = int(rng.choice([1 << 10, 1 << 14, 1 << 19]))
        refs = [
            outcome(old_core.evaluate, loss, x, t, grad=True, per_element=True, **kw),
            outcome(
                old_stream.evaluate, loss, x, t, grad=True, per_element=True, workers=workers, **kw
            ),
        ]
        new = outcome(
            ce_cli.evaluate,
            loss,
            x,
            t,
            grad=True,
            per_element=True,
            workers=workers,
            block_elements=block,
            **kw,
        )
        for ref in refs:
            checked += 1
            if ref[1] is not None or new[1] is not None:
                ok = ref[1] == new[1]
                errors += 1
            else:
                r, n = ref[0], new[0]
                ok = (
                    same(r.loss, n.loss)
                    and same(r.total, n.total)
                    and same(r.denominator, n.denominator)
                    and same(r.per_element, n.per_element)
                    and same(r.grad, n.grad)
                )
            if not ok:
                bad += 1
                print(f"problem {i}: {loss} {x.shape} {x.dtype} {kw}: DIFFERENT", file=sys.stderr)
    print(
        f"{count} problems, {checked} comparisons (old core.evaluate and old stream.evaluate "
        f"vs ce_cli.evaluate): {checked - bad} bit-identical ({errors} of them the same error "
        f"message), {bad} different"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
