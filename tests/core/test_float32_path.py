"""The float32 path of cross-entropy: float32 logits (64 classes or more, index targets, no label
smoothing) have their exponentials taken in float32, the cost of ce-loss's common big case.

What it promises and these tests hold it to: every loss within 3.1e-7 of exact (relative), small
losses included; rows outside that argument (overflow, underflow, inf, NaN) computed exactly as
the float64 path computes them, errors included; the same bits whatever the block size and
threads, and whether or not the gradient is asked for.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine_blocks import assert_same, same

from ce_cli import core
from ce_cli.errors import CeLossError
from ce_cli.settings import LossSpec

BOUND = 3.1e-7  # the relative error _nll_float32 promises


def exact_nll(x32: np.ndarray, t: np.ndarray) -> np.ndarray:
    """-log_softmax(x)_t in float64 from the float32 values, accurate for small losses too."""
    x = x32.astype(np.float64)
    rows = np.arange(len(t))
    d = x - x[rows, t][:, None]  # exact: differences of float32 values
    e = np.exp(d)
    e[rows, t] = 0.0
    return np.log1p(e.sum(axis=1))


def float64_path(x, t, **kw):
    """Per-element losses as the float64 path has them (the float32 path switched off)."""
    p = core.plan(LossSpec("ce", reduction="none", **kw), x, t)
    with mock.patch.object(core.fast2d, "_float32_exp_ok", lambda: False):
        return core.compute_block(p, x, t, 0).per_element


def fast(x, t, **kw):
    return core.evaluate("ce", x, t, reduction="none", per_element=True, **kw).per_element


def rows_of_every_kind(rng, n, c):
    """Logits whose losses span 1e-12 to 1e3: ties, dominant targets, wide and narrow rows."""
    x = np.empty((n, c))
    t = rng.integers(0, c, n)
    kinds = rng.integers(0, 6, n)
    for i, k in enumerate(kinds):
        if k == 0:
            x[i] = rng.normal(0, 3, c)
        elif k == 1:
            x[i] = rng.normal(rng.uniform(-80, 60), rng.uniform(1e-3, 5), c)
        elif k == 2:  # the target dominates: losses down to 1e-12
            x[i] = rng.normal(0, 1, c)
            x[i, t[i]] = rng.uniform(10, 35)
        elif k == 3:  # the target far below the rest: large losses
            x[i] = rng.normal(0, 1, c)
            x[i, t[i]] = rng.uniform(-60, -10)
        elif k == 4:  # near ties
            x[i] = 1.0 + rng.normal(0, 1e-6, c)
        else:  # a few classes in the game, the rest far below
            x[i] = rng.normal(-70, 5, c)
            x[i, rng.integers(0, c, 3)] = rng.normal(0, 1, 3)
    return x.astype(np.float32), t


def test_this_numpy_float32_exp_keeps_the_bound_the_path_relies_on():
    """The 3.03e-7 (2.54 ulp) of NumPy's float32 exp, sampled over the inputs the path keeps."""
    rng = np.random.default_rng(0)
    lo = np.array([-87.0], np.float32).view(np.uint32)[0]
    hi = np.array([88.7], np.float32).view(np.uint32)[0]
    neg = rng.integers(0x80000000, lo, 2_000_000, dtype=np.uint32)
    pos = rng.integers(0, hi, 2_000_000, dtype=np.uint32)
    x = np.concatenate([neg, pos]).view(np.float32)
    e32 = np.exp(x).astype(np.float64)
    e64 = np.exp(x.astype(np.float64))
    assert np.max(np.abs(e32 - e64) / e64) <= 3.04e-7


@pytest.mark.parametrize("c", [64, 100, 1000, 5000])
def test_every_loss_within_the_bound_of_exact(c):
    rng = np.random.default_rng(c)
    x, t = rows_of_every_kind(rng, 3000 if c <= 1000 else 400, c)
    got = fast(x, t)
    ref = exact_nll(x, t)
    assert np.all(np.abs(got - ref) <= BOUND * ref), np.max(np.abs(got - ref) / ref)
    assert got.min() < 1e-9  # small losses were in the test, and kept their digits
    # and it was the float32 path: the float64 one rounds differently
    assert not np.array_equal(got, float64_path(x, t))


def test_small_losses_keep_more_digits_than_a_float64_log_of_the_sum():
    x = np.zeros((3, 200), np.float32)
    t = np.array([0, 1, 2])
    x[[0, 1, 2], t] = [20.0, 30.0, 36.0]  # losses 4e-7, 1.9e-11, 4.6e-14
    ref = exact_nll(x, t)
    np.testing.assert_allclose(fast(x, t), ref, rtol=BOUND, atol=0)


def test_rows_outside_the_argument_are_the_float64_path_bit_for_bit():
    rng = np.random.default_rng(5)
    n, c = 40, 300
    x = rng.normal(0, 3, (n, c)).astype(np.float32)
    t = rng.integers(0, c, n)
    x[3, 7] = 95.0  # exp overflows in float32
    x[4] = rng.normal(-110, 2, c)  # every exponential underflows in float32
    x[5, :] = -np.inf  # all but the target are -inf: the loss is exactly 0
    x[5, t[5]] = 1.0
    x[6, t[6]] = -np.inf  # a -inf target logit: an infinite loss, as in torch
    x[7] = rng.normal(300, 2, c)  # far beyond float32 exp's range
    x[8, (t[8] + 1) % c] = -np.inf  # one -inf class: no trouble, kept on the float32 path
    t[9] = -100  # ignored, with an overflowing placeholder logit
    x[9, 0] = 1e30
    got, ref = fast(x, t), float64_path(x, t)
    odd = [3, 4, 5, 6, 7, 9]
    assert same(got[odd], ref[odd])
    assert got[5] == 0.0 and got[6] == np.inf and got[9] == 0.0
    plain = np.setdiff1d(np.arange(n), odd)
    exact = exact_nll(x[plain], t[plain])
    assert np.all(np.abs(got[plain] - exact) <= BOUND * exact)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_errors_name_the_same_position_as_the_float64_path(bad):
    x = np.random.default_rng(1).normal(0, 1, (50, 100)).astype(np.float32)
    t = np.arange(50)
    x[37, 80] = bad
    messages = []
    for path in (fast, float64_path):
        try:
            got = path(x, t)
        except CeLossError as e:
            messages.append(str(e))
        else:
            messages.append(got)
    if isinstance(messages[0], str):
        assert messages[0] == messages[1] and "37" in messages[0]
    else:  # a NaN logit gives a NaN loss, as in torch: the same row either way
        assert same(messages[0], messages[1]) and np.isnan(messages[0][37])


def test_same_loss_with_and_without_the_gradient():
    rng = np.random.default_rng(8)
    x, t = rows_of_every_kind(rng, 500, 128)
    t[::7] = -100
    w = rng.uniform(0.1, 2.0, 128)
    for kw in ({}, {"weight": w}):
        a = core.evaluate("ce", x, t, per_element=True, **kw)
        b = core.evaluate("ce", x, t, per_element=True, grad=True, **kw)
        assert same(a.per_element, b.per_element) and same(a.loss, b.loss)
        ref = core.evaluate("ce", x.astype(np.float64), t, grad=True, **kw)
        assert same(b.grad, ref.grad)  # the gradient itself comes from float64 exponentials


@settings(suppress_health_check=[HealthCheck.too_slow])  # examples: conftest.py
@given(
    st.integers(0, 2**32 - 1),
    st.integers(1, 90),
    st.sampled_from([64, 65, 200]),
    st.integers(1, 40),
    st.integers(1, 3),
    st.booleans(),
)
def test_same_bits_any_block_any_threads(seed, n, c, rows, workers, odd_rows):
    rng = np.random.default_rng(seed)
    x, t = rows_of_every_kind(rng, n, c)
    t = np.where(rng.random(n) < 0.2, -100, t)
    if odd_rows:
        x[rng.random(n) < 0.2] += np.float32(100.0)  # rows on the float64 path, in any block
    with mock.patch.object(core.problem, "SEGMENT_ELEMENTS", c):
        ref = core.evaluate("ce", x, t, per_element=True)
        r = core.evaluate("ce", x, t, per_element=True, workers=workers, block_elements=rows * c)
    assert_same(r, ref)


def test_float64_input_and_label_smoothing_stay_on_the_float64_path():
    rng = np.random.default_rng(2)
    x, t = rows_of_every_kind(rng, 200, 100)
    for kw in ({"label_smoothing": 0.1}, {"weight": rng.uniform(-1.0, 1.0, 100)}):
        assert same(fast(x, t, **kw), float64_path(x, t, **kw))
    x64 = x.astype(np.float64)
    assert same(fast(x64, t), float64_path(x64, t))


def test_matches_torch_on_float32_logits():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    x, t = rows_of_every_kind(rng, 2000, 1000)
    w = rng.uniform(0.1, 2.0, 1000)
    for kw in ({}, {"weight": w}):

        def torch_ce(reduction, kw=kw):
            return torch.nn.functional.cross_entropy(
                torch.from_numpy(x.astype(np.float64)),
                torch.from_numpy(t),
                reduction=reduction,
                **{k: torch.from_numpy(v) for k, v in kw.items()},
            )

        want = torch_ce("none").numpy()
        got = fast(x, t, **kw)
        # torch's float64 log_softmax (x - logsumexp) is off by up to ~1e-15 absolute, which
        # on the smallest losses is far more than ce-loss's error (see the test above)
        np.testing.assert_allclose(got, want, rtol=BOUND, atol=1e-14)
        mean = core.evaluate("ce", x, t, **kw).loss
        want_mean = torch_ce("mean").item()
        assert mean == pytest.approx(want_mean, rel=BOUND)


def test_a_numpy_whose_float32_exp_misses_the_bound_gets_the_float64_path():
    assert core.fast2d._float32_exp_ok()  # NumPy on the machines ce-loss is tested on
    real_exp = np.exp

    def sloppy(a, *args, **kw):  # float32 exp off by 4e-7, as a cruder SIMD build might be
        e = real_exp(a, *args, **kw)
        return e * np.float32(1 + 4e-7) if e.dtype == np.float32 else e

    probe = core.fast2d._float32_exp_ok.__wrapped__
    with mock.patch.object(core.fast2d.np, "exp", sloppy):
        assert not probe()
    rng = np.random.default_rng(4)
    x, t = rows_of_every_kind(rng, 100, 100)
    with mock.patch.object(core.fast2d, "_float32_exp_ok", lambda: False):
        assert same(fast(x, t), float64_path(x, t))


# --------------------------------------------------------------------------------------------
# The float64 path keeps the digits of small losses too


@pytest.mark.parametrize("c", [3, 10, 63, 64, 500])
def test_float64_small_losses_keep_their_digits(c):
    rng = np.random.default_rng(c)
    n = 300
    x = rng.normal(0, 1, (n, c))
    t = rng.integers(0, c, n)
    rows = np.arange(n)
    x[rows, t] = rng.uniform(5, 40, n)  # losses from 1e-2 down to 1e-16
    x[::4] += 400.0  # rows shifted by their max (beyond exp's range unshifted)
    t[::7] = -100
    want = np.where(t == -100, 0.0, exact_nll(x, np.where(t == -100, 0, t)))
    got = core.evaluate("ce", x, t, reduction="none", per_element=True).per_element
    np.testing.assert_allclose(got, want, rtol=5e-12, atol=0)  # log(1 + L): 2e-16 / L at 1e-4
    assert want[t != -100].min() < 1e-14
    # and row by row, whatever the block
    with mock.patch.object(core.problem, "SEGMENT_ELEMENTS", c):
        ref = core.evaluate("ce", x, t, per_element=True, grad=True)
        for rows_per_block in (1, 7, 64):
            r = core.evaluate(
                "ce",
                x,
                t,
                per_element=True,
                grad=True,
                workers=2,
                block_elements=rows_per_block * c,
            )
            assert_same(r, ref)
