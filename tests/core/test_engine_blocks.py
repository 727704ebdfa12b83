"""The block engine (ce_cli.core.engine): identical to the in-memory core bit for bit, whatever the
block size and the number of threads; bounded memory on files bigger than its blocks; outputs that
appear whole or not at all; and the fast 2-d cross-entropy path of the core it relies on.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import textwrap
import threading
from fractions import Fraction
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ce_cli import core
from ce_cli.errors import CeLossError
from ce_cli.settings import LossSpec

ROOT = Path(__file__).resolve().parents[2]


def same(a, b) -> bool:
    """Equal bit for bit (NaN equal to NaN), for None, floats and arrays."""
    if a is None or b is None:
        return a is None and b is None
    if np.ndim(a) == 0 and np.ndim(b) == 0:
        a, b = float(a), float(b)
        return (math.isnan(a) and math.isnan(b)) or a == b
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


def assert_same(r: core.LossResult, ref: core.LossResult) -> None:
    assert same(r.loss, ref.loss), (r.loss, ref.loss)
    assert same(r.total, ref.total), (r.total, ref.total)
    assert same(r.denominator, ref.denominator)
    assert same(r.per_element, ref.per_element)
    assert same(r.grad, ref.grad)


def logits(rng, shape, spread=3.0):
    return rng.normal(0.0, spread, shape)


def index_targets(rng, n_shape, c, ignore=0.2):
    t = rng.integers(0, c, n_shape)
    return np.where(rng.random(n_shape) < ignore, -100, t)


def simplex(rng, shape):
    y = rng.random(shape)
    return y / y.sum(axis=1, keepdims=True)


def problem(rng, loss, shape, *, soft=False, weighted=False, eps=0.0, dtype=np.float64):
    """(input, target, options) of a random problem."""
    kw = {}
    c = shape[1] if len(shape) > 1 else shape[0]
    if loss in ("bce", "bce-logits"):
        x = rng.random(shape) if loss == "bce" else logits(rng, shape)
        t = rng.random(shape)
        if weighted:
            kw["weight"] = rng.random(shape[:1] + (1,) * (len(shape) - 1))
            if loss == "bce-logits":
                kw["pos_weight"] = rng.uniform(0.1, 2.0, shape[-1:])
    else:
        x = logits(rng, shape)
        if loss == "nll":
            x = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
        t = simplex(rng, shape) if soft else index_targets(rng, shape[:1] + shape[2:], c)
        if weighted:
            kw["weight"] = rng.uniform(0.1, 2.0, c)
        if loss == "ce":
            kw["label_smoothing"] = eps
    return x.astype(dtype), t, kw


# --------------------------------------------------------------------------------------------
# Same bits as core.evaluate


CASES = [
    # (loss, shape, soft, weighted, eps, dtype)
    ("ce", (1000, 5), False, False, 0.0, np.float32),
    ("ce", (999, 10), False, True, 0.1, np.float64),
    ("ce", (257, 63), False, True, 0.0, np.float32),
    ("ce", (257, 64), False, False, 0.2, np.float32),
    ("ce", (130, 1000), False, True, 0.1, np.float32),
    ("ce", (3, 5000), False, False, 0.0, np.float16),
    ("ce", (50, 7), True, True, 0.1, np.float64),
    ("ce", (40, 3, 4, 5), False, True, 0.1, np.float32),
    ("ce", (40, 3, 4, 5), True, False, 0.0, np.float64),
    ("nll", (300, 6), False, True, 0.0, np.float64),
    ("bce", (500, 3), True, True, 0.0, np.float64),
    ("bce-logits", (500, 4), True, True, 0.0, np.float32),
    ("bce-logits", (64, 2, 3), True, True, 0.0, np.float64),
]


@pytest.mark.parametrize("loss,shape,soft,weighted,eps,dtype", CASES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_same_bits_as_core_any_block_any_threads(
    loss, shape, soft, weighted, eps, dtype, reduction
):
    rng = np.random.default_rng(abs(hash((loss, shape, soft, weighted, eps))) % 2**32)
    x, t, kw = problem(rng, loss, shape, soft=soft, weighted=weighted, eps=eps, dtype=dtype)
    kw["reduction"] = reduction
    row = int(np.prod(shape[1:]))
    # one segment per row, so that small blocks really split the rows and the sums
    with mock.patch.object(core.problem, "SEGMENT_ELEMENTS", row):
        ref = core.evaluate(loss, x, t, grad=True, per_element=True, **kw)
        for rows in (1, 2, 7, 64, shape[0] - 1, shape[0], 10 * shape[0]):
            for workers in (1, 2, 4):
                r = core.evaluate(
                    loss,
                    x,
                    t,
                    grad=True,
                    per_element=True,
                    workers=workers,
                    block_elements=max(1, rows) * row,
                    **kw,
                )
                assert_same(r, ref)


def test_same_bits_at_the_shipped_segment_size():
    """No patching: many real segments and blocks, the 2-d fast path and the general one."""
    rng = np.random.default_rng(11)
    for shape, eps in (((40_000, 10), 0.0), ((3_000, 100), 0.1), ((30, 3, 40, 40), 0.0)):
        x = logits(rng, shape).astype(np.float32)
        t = index_targets(rng, shape[:1] + shape[2:], shape[1])
        ref = core.evaluate("ce", x, t, grad=True, per_element=True, label_smoothing=eps)
        for block in (1 << 14, 50_000, 1 << 17):
            for workers in (1, 2, 3):
                r = core.evaluate(
                    "ce",
                    x,
                    t,
                    grad=True,
                    per_element=True,
                    workers=workers,
                    block_elements=block,
                    label_smoothing=eps,
                )
                assert_same(r, ref)


@settings(suppress_health_check=[HealthCheck.too_slow])  # examples: conftest.py
@given(
    st.integers(0, 2**32 - 1),
    st.integers(1, 60),
    st.sampled_from([1, 2, 3, 7, 63, 64, 90]),
    st.sampled_from(["ce", "nll", "bce", "bce-logits"]),
    st.booleans(),
    st.booleans(),
    st.sampled_from([0.0, 0.15]),
    st.sampled_from(["mean", "sum", "none"]),
    st.integers(1, 70),
    st.integers(1, 4),
    st.sampled_from([np.float32, np.float64]),
)
def test_same_bits_property(seed, n, c, loss, soft, weighted, eps, reduction, rows, workers, dtype):
    rng = np.random.default_rng(seed)
    x, t, kw = problem(rng, loss, (n, c), soft=soft, weighted=weighted, eps=eps, dtype=dtype)
    kw["reduction"] = reduction
    with mock.patch.object(core.problem, "SEGMENT_ELEMENTS", c):
        ref = core.evaluate(loss, x, t, grad=True, per_element=True, **kw)
        r = core.evaluate(
            loss, x, t, grad=True, per_element=True, workers=workers, block_elements=rows * c, **kw
        )
    assert_same(r, ref)


def test_memory_mapped_files_and_paths(tmp_path):
    rng = np.random.default_rng(3)
    x = logits(rng, (5000, 30)).astype(np.float32)
    t = index_targets(rng, 5000, 30)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "t.npy", t)
    ref = core.evaluate("ce", x, t, grad=True, per_element=True, weight=np.arange(1.0, 31.0))
    # the denominator's pass over the targets releases their pages, then the blocks read them again
    with mock.patch.object(core.engine, "TARGET_CHUNK", 700):
        for src in (
            (str(tmp_path / "x.npy"), tmp_path / "t.npy"),
            (
                np.load(tmp_path / "x.npy", mmap_mode="r"),
                np.load(tmp_path / "t.npy", mmap_mode="r"),
            ),
        ):
            r = core.evaluate(
                "ce",
                *src,
                grad=True,
                per_element=True,
                workers=2,
                block_elements=1 << 14,
                weight=np.arange(1.0, 31.0),
            )
            assert_same(r, ref)


def test_single_sample_and_empty_inputs():
    x = np.array([3.4, 1.5, 0.4, 0.1])
    for kw in ({"reduction": "mean"}, {"reduction": "none"}):
        ref = core.evaluate("ce", x, 0, grad=True, **kw)
        assert_same(core.evaluate("ce", x, 0, grad=True, **kw), ref)
    ref = core.evaluate("ce", np.zeros((0, 3)), np.zeros(0, int), grad=True)
    r = core.evaluate("ce", np.zeros((0, 3)), np.zeros(0, int), grad=True, workers=3)
    assert_same(r, ref)
    assert math.isnan(r.loss)


def test_errors_name_the_same_position_as_core():
    rng = np.random.default_rng(4)
    x = logits(rng, (3000, 8))
    t = rng.integers(0, 8, 3000)
    x[2345, 3] = np.nan
    t[2900] = 8
    with mock.patch.object(core.problem, "SEGMENT_ELEMENTS", 8):
        with pytest.raises(CeLossError) as ref:
            core.evaluate("ce", x, t)
        for workers in (1, 2, 4):
            with pytest.raises(CeLossError) as got:
                core.evaluate("ce", x, t, workers=workers, block_elements=8 * 100)
            assert str(got.value) == str(ref.value) == "input[2345, 3] is NaN"


def test_bad_options():
    with pytest.raises(CeLossError, match="workers must be at least 1; got 0"):
        core.evaluate("ce", np.zeros((2, 2)), [0, 1], workers=0)
    with pytest.raises(CeLossError, match="grad_dtype must be a float type; got int32"):
        core.evaluate("ce", np.zeros((2, 2)), [0, 1], save_grad="g.npy", grad_dtype=np.int32)
    with pytest.raises(CeLossError, match=r"nothing\.npy: no such file"):
        core.evaluate("ce", "nothing.npy", [0, 1])


# --------------------------------------------------------------------------------------------
# Outputs on disk


def test_saved_gradient_equals_the_in_memory_one(tmp_path):
    rng = np.random.default_rng(5)
    for shape, dtype in (
        ((3000, 12), np.float32),
        ((500, 200), np.float64),
        ((20, 4, 6, 7), np.float32),
        ((9,), np.float32),
    ):
        x = logits(rng, shape).astype(dtype)
        t = index_targets(rng, shape[:1] + shape[2:], shape[1]) if len(shape) > 1 else 4
        ref = core.evaluate("ce", x, t, grad=True, label_smoothing=0.1)
        out = tmp_path / "grad.npy"
        r = core.evaluate(
            "ce", x, t, save_grad=out, label_smoothing=0.1, workers=2, block_elements=1 << 14
        )
        assert r.grad is None and same(r.loss, ref.loss)
        g = np.load(out)
        assert g.dtype == dtype and g.shape == shape
        assert same(g, ref.grad.astype(dtype))  # the float64 gradient rounded once
        core.evaluate("ce", x, t, save_grad=out, grad_dtype=np.float64, label_smoothing=0.1)
        assert same(np.load(out), ref.grad)


def test_saved_gradient_of_bce_and_integer_input(tmp_path):
    rng = np.random.default_rng(6)
    x = logits(rng, (700, 3)).astype(np.float32)
    y = rng.random((700, 3))
    ref = core.evaluate("bce-logits", x, y, grad=True, pos_weight=[1.0, 2.0, 3.0])
    core.evaluate("bce-logits", x, y, save_grad=tmp_path / "g.npy", pos_weight=[1.0, 2.0, 3.0])
    assert same(np.load(tmp_path / "g.npy"), ref.grad.astype(np.float32))
    xi = rng.integers(-3, 4, (50, 4))  # integer logits: the gradient is float64
    core.evaluate("ce", xi, rng.integers(0, 4, 50), save_grad=tmp_path / "gi.npy")
    assert np.load(tmp_path / "gi.npy").dtype == np.float64


@pytest.mark.parametrize("shape", [(2000, 7), (30, 3, 5, 2), (1, 4)])
def test_saved_per_element_npy_and_csv(tmp_path, shape):
    rng = np.random.default_rng(7)
    x = logits(rng, shape).astype(np.float32)
    x.flat[1] = -np.inf  # a -inf logit: an infinite loss where it is the target
    t = index_targets(rng, shape[:1] + shape[2:], shape[1])
    t.flat[0] = 1
    ref = core.evaluate("ce", x, t, reduction="none")
    for name in ("pe.npy", "pe.csv"):
        r = core.evaluate(
            "ce",
            x,
            t,
            reduction="none",
            save_per_element=tmp_path / name,
            workers=2,
            block_elements=1 << 14,
        )
        assert r.per_element is None and r.loss is None
    assert same(np.load(tmp_path / "pe.npy"), ref.per_element)
    lines = (tmp_path / "pe.csv").read_text().splitlines()
    dims = ["index"] + [f"d{k}" for k in range(1, len(ref.per_element.shape))]
    assert lines[0] == ",".join(dims) + ",loss"
    assert len(lines) == 1 + ref.per_element.size
    cells = [line.split(",") for line in lines[1:]]
    pos = [tuple(int(v) for v in c[:-1]) for c in cells]
    assert pos == list(np.ndindex(*ref.per_element.shape))
    values = np.array([float(c[-1]) for c in cells]).reshape(ref.per_element.shape)
    assert same(values, ref.per_element)  # the text reads back to the same floats


def test_per_element_kept_or_saved_with_a_mean(tmp_path):
    rng = np.random.default_rng(8)
    x, t = logits(rng, (300, 4)), rng.integers(0, 4, 300)
    ref = core.evaluate("ce", x, t, per_element=True)
    r = core.evaluate("ce", x, t, per_element=True)
    assert same(r.per_element, ref.per_element) and same(r.loss, ref.loss)
    assert core.evaluate("ce", x, t).per_element is None
    core.evaluate("ce", x, t, save_per_element=tmp_path / "pe.npy")
    assert same(np.load(tmp_path / "pe.npy"), ref.per_element)


class Stop(Exception):
    pass


@pytest.mark.parametrize("error", [Stop, KeyboardInterrupt])
def test_an_interrupted_run_leaves_no_file(tmp_path, error):
    rng = np.random.default_rng(9)
    x, t = logits(rng, (20_000, 10)).astype(np.float32), rng.integers(0, 10, 20_000)
    (tmp_path / "old.npy").write_bytes(b"keep me")
    seen = []

    def progress(done, total):
        seen.append(done)
        if done > total // 2:
            raise error("stop")

    with pytest.raises(error):
        core.evaluate(
            "ce",
            x,
            t,
            save_grad=tmp_path / "g.npy",
            save_per_element=tmp_path / "old.npy",
            workers=2,
            block_elements=1 << 14,
            progress=progress,
        )
    assert 0 < seen[-1] < 20_000
    assert sorted(os.listdir(tmp_path)) == ["old.npy"]  # no output, no temporary file
    assert (tmp_path / "old.npy").read_bytes() == b"keep me"


def test_an_error_in_a_late_block_leaves_no_file(tmp_path):
    rng = np.random.default_rng(10)
    x, t = logits(rng, (20_000, 10)), rng.integers(0, 10, 20_000)
    x[19_000, 2] = np.inf
    with pytest.raises(CeLossError, match=re.escape("input[19000, 2] is inf")):
        core.evaluate(
            "ce",
            x,
            t,
            save_grad=tmp_path / "g.npy",
            save_per_element=tmp_path / "pe.csv",
            block_elements=1 << 14,
        )
    assert os.listdir(tmp_path) == []


def test_an_unwritable_destination_is_a_clean_error(tmp_path):
    x, t = np.zeros((4, 3)), np.zeros(4, int)
    with pytest.raises(CeLossError, match=re.escape(f"cannot write {tmp_path / 'no' / 'g.npy'}")):
        core.evaluate("ce", x, t, save_grad=tmp_path / "no" / "g.npy")
    with pytest.raises(CeLossError, match="cannot write"):
        core.evaluate(
            "ce", x, t, save_grad=tmp_path / "g.npy", save_per_element=tmp_path / "no" / "pe.csv"
        )
    assert os.listdir(tmp_path) == []


def test_progress_is_reported_from_the_calling_thread():
    rng = np.random.default_rng(12)
    x, t = logits(rng, (10_000, 16)), rng.integers(0, 16, 10_000)
    calls = []
    me = threading.get_ident()
    core.evaluate(
        "ce",
        x,
        t,
        workers=3,
        block_elements=1 << 14,
        progress=lambda d, n: calls.append((d, n, threading.get_ident())),
    )
    assert calls[0][:2] == (0, 10_000) and calls[-1][:2] == (10_000, 10_000)
    done = [d for d, _, _ in calls]
    assert done == sorted(done) and len(done) > 5
    assert {th for _, _, th in calls} == {me}


# --------------------------------------------------------------------------------------------
# Bounded memory

# VmHWM, not ru_maxrss: a child's ru_maxrss starts from the peak of the process that spawned it
RSS_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    from ce_cli import core

    def peak():
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM"))

    x_path, t_path, g_path, how = sys.argv[1:5]
    x = np.load(x_path, mmap_mode="r")
    # the modules a run imports, and its per-thread buffers, first: what is measured is what
    # depends on the file
    core.evaluate("ce", np.array(x[:64]), np.load(t_path)[:64], workers=2, block_elements=1 << 15)
    before = peak()
    if how == "stream":
        core.evaluate("ce", x, t_path, save_grad=g_path, workers=2, block_elements=1 << 15)
    else:  # the input read whole into memory: every page counts
        core.evaluate("ce", np.array(x), np.load(t_path))
    print(peak() - before)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM and madvise as on Linux")
def test_bounded_memory_on_a_file_many_blocks_big(tmp_path):
    """A 64 MB input, 0.25 MiB blocks: peak RSS grows by far less than the file (~5 MB here,
    after the modules a run imports)."""
    rows, c = 16_000, 1_000
    x = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float32, shape=(rows, c))
    rng = np.random.default_rng(13)
    for s in range(0, rows, 2000):
        x[s : s + 2000] = rng.standard_normal((2000, c), dtype=np.float32)
    x.flush()
    del x
    np.save(tmp_path / "t.npy", rng.integers(0, c, rows))
    size = rows * c * 4
    env = dict(os.environ, PYTHONPATH=str(ROOT))

    def growth(how):
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                RSS_SCRIPT,
                str(tmp_path / "x.npy"),
                str(tmp_path / "t.npy"),
                str(tmp_path / "g.npy"),
                how,
            ],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        return int(out.stdout.strip())

    ours = growth("stream")
    assert ours < 0.15 * size, f"peak RSS grew {ours / 1e6:.1f} MB on a {size / 1e6:.0f} MB file"
    # the measurement can see a file's pages: the in-memory core on the same map keeps them all
    assert growth("core") > 0.8 * size
    assert np.load(tmp_path / "g.npy", mmap_mode="r").shape == (rows, c)


@pytest.mark.skipif(not hasattr(os, "wait4"), reason="peak RSS of a child from os.wait4")
def test_bounded_memory_on_an_npz_archive(tmp_path, bench):
    """np.savez's stored members are mapped and streamed like .npy files (64 MB of logits)."""
    rows, c = 16_000, 1_000
    rng = np.random.default_rng(21)
    x = rng.standard_normal((rows, c), dtype=np.float32)
    t = rng.integers(0, c, rows)
    np.savez(tmp_path / "big.npz", logits=x, labels=t)
    np.savez(tmp_path / "tiny.npz", logits=x[:10], labels=t[:10])
    del x
    run_measured = bench.run_measured  # measured from a small process of its own

    cmd = [sys.executable, "-m", "ce_cli", "compute", "-f", "plain", "-q"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    growth = (
        run_measured(cmd + [str(tmp_path / "big.npz")], env)[1]
        - run_measured(cmd + [str(tmp_path / "tiny.npz")], env)[1]
    )
    size = rows * c * 4
    # ~17 MB whatever the size (blocks in flight, scratch); reading the member whole took 2x it
    assert growth < 0.4 * size, f"peak RSS grew {growth / 1e6:.1f} MB on {size / 1e6:.0f} MB"


# --------------------------------------------------------------------------------------------
# The denominator, counted block by block


def test_weighted_denominator_is_exact_and_block_independent():
    rng = np.random.default_rng(14)
    for _ in range(30):
        c = int(rng.integers(1, 40))
        t = index_targets(rng, int(rng.integers(0, 400)), c)
        w = rng.uniform(0.0, 3.0, c) * 10.0 ** rng.integers(-30, 30, c)
        p = core.plan(LossSpec("ce", weight=w), np.zeros((t.size, c)), t)
        exact = sum((Fraction(float(w[i])) for i in t if i != -100), Fraction(0))
        assert core.denominator(p, t) == float(exact)
        counts = sum(core.count_targets(p, t[s : s + 7]) for s in range(0, t.size, 7))
        assert core.denominator_of_counts(p, np.asarray(counts) + 0) == float(exact)


def test_denominator_ignores_bad_targets_until_the_block_reports_them():
    p = core.plan(LossSpec("ce", weight=[1.0, 2.0, 3.0]), np.zeros((3, 3)), [0, 7, -5])
    assert core.denominator(p, np.array([0, 7, -5])) == 1.0
    with pytest.raises(CeLossError, match=re.escape("target[1] is class 7, outside 0..2")):
        core.evaluate("ce", np.zeros((3, 3)), [0, 7, -5], weight=[1.0, 2.0, 3.0])


# --------------------------------------------------------------------------------------------
# The fast 2-d cross-entropy path of the core, against torch in float64

try:
    import torch
except ImportError:  # the rest of this file runs without it
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def torch_ce(x, t, reduction, **kw):
    xt = torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    kw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    none = torch.nn.functional.cross_entropy(xt, torch.tensor(t), reduction="none", **kw)
    value = torch.nn.functional.cross_entropy(xt, torch.tensor(t), reduction=reduction, **kw)
    (value if reduction != "none" else value.sum()).backward()
    return value.detach().numpy(), none.detach().numpy(), xt.grad.numpy()


def close(a, b, rtol=1e-10, atol=1e-13):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)


@needs_torch
@pytest.mark.parametrize("c", [2, 10, 63, 64, 1000])
@pytest.mark.parametrize(
    "offset,spread", [(0, 3), (0, 1e-3), (280, 30), (-1000, 5), (0, 1e4), (1e8, 1e7)]
)
def test_fast_path_matches_torch_float64(c, offset, spread):
    """Rows near 0 (exponentiated as they are) and far from it (shifted), tiny and huge spreads."""
    rng = np.random.default_rng(c + int(abs(offset)) % 1000)
    n = 200
    x = (rng.normal(offset, spread, (n, c))).astype(np.float32).astype(np.float64)
    x[::3] -= offset  # rows on both sides of the shift threshold in one block
    t = index_targets(rng, n, c)
    t[1] = int(np.argmax(x[1]))  # a loss near 0
    w = rng.uniform(0.1, 2.0, c)
    for kw in ({}, {"weight": w, "label_smoothing": 0.1}):
        for red in ("mean", "sum", "none"):
            value, none, grad = torch_ce(x, t, red, **kw)
            r = core.evaluate("ce", x, t, reduction=red, grad=True, per_element=True, **kw)
            close(r.per_element, none)
            close(r.grad, grad)
            close(r.value, value, rtol=1e-12)


@needs_torch
def test_fast_path_neg_inf_logits_and_ignored_rows():
    """-inf logits are allowed; an ignored row counts 0 even on a -inf target logit (torch)."""
    x = np.array(
        [[-np.inf, 0.0, 1.0], [0.0, -np.inf, 2.0], [-np.inf, 5.0, -np.inf], [1.0, 2.0, 3.0]]
    )
    t = np.array([-100, 1, 1, 0])
    w = np.array([0.5, 1.0, 2.0])
    for c_pad in (0, 70):  # class-major and row-major layouts
        xp = np.concatenate([x, np.full((4, c_pad), -np.inf)], axis=1) if c_pad else x
        kw = {"weight": np.concatenate([w, np.ones(c_pad)])} if c_pad else {"weight": w}
        for eps in (0.0, 0.1):
            value, none, grad = torch_ce(xp, t, "sum", label_smoothing=eps, **kw)
            r = core.evaluate(
                "ce", xp, t, reduction="sum", grad=True, per_element=True, label_smoothing=eps, **kw
            )
            close(r.per_element, none)
            assert r.per_element[0] == 0.0
            close(r.grad, grad)


@needs_torch
def test_fast_path_extreme_weights_keep_the_gradient_finite():
    rng = np.random.default_rng(15)
    x = rng.normal(-250, 3, (50, 100))  # exponentiated unshifted: sums near exp(-250)
    t = rng.integers(0, 100, 50)
    for scale in (1e-200, 1e200):
        w = rng.uniform(0.5, 2.0, 100) * scale
        value, none, grad = torch_ce(x, t, "sum", weight=w)
        r = core.evaluate("ce", x, t, reduction="sum", weight=w, grad=True, per_element=True)
        close(r.per_element / scale, none / scale)
        close(r.grad / scale, grad / scale)


def test_target_counts_are_the_class_counts_of_the_kept_targets(tmp_path):
    rng = np.random.default_rng(31)
    x = rng.standard_normal((1000, 6))
    t = rng.integers(0, 6, 1000)
    t[::7] = -1
    np.save(tmp_path / "t.npy", t)
    want = np.bincount(t[t != -1], minlength=6)
    w = rng.uniform(0.1, 2.0, 6)
    ref = core.evaluate("ce", x, t, ignore_index=-1, weight=w)
    # counted before the pass (a mean's gradient needs the denominator) or during it
    for grad, reduction in ((False, "mean"), (True, "mean"), (True, "sum"), (False, "none")):
        r = core.evaluate(
            "ce",
            x,
            tmp_path / "t.npy",
            ignore_index=-1,
            block_elements=64,
            weight=w,
            grad=grad,
            reduction=reduction,
            workers=2,
        )
        assert r.target_counts.dtype == np.int64 and np.array_equal(r.target_counts, want)
        assert r.denominator == ref.denominator
    assert np.array_equal(ref.target_counts, want)
    assert core.evaluate("ce", x, np.full((1000, 6), 1 / 6)).target_counts is None
    assert core.evaluate("bce", rng.uniform(size=9), rng.uniform(size=9)).target_counts is None
