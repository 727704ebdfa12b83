"""The loss kernel's per-row by-products for the metrics (ce_cli.core.rowstats).

What they promise: the loss unchanged bit for bit whether or not they are asked for; entropy,
Brier, argmax, logsumexp and top-k equal to a float64 computation within the bounds
docs/metrics.md states; nothing computed (nor imported) when no metric asks; the metrics
identical wherever the rows sit in memory.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ce_cli import core
from ce_cli.core import rowstats
from ce_cli.core.metrics import Metrics
from ce_cli.settings import LossSpec, MetricsSettings, OutputSettings

# Per sample, float32 logits, against float64 (docs/metrics.md; measured up to 4.9e-5 and 2.8e-7
# on 64 to 50,257 classes): the entropy's sum of float32 products, the Brier score's squares.
ENTROPY_BOUND, BRIER_BOUND = 1e-4, 1e-6


def logits(rng, n, c, dtype=np.float32):
    """Rows of every kind: flat, wide, peaked, shifted far up and down (the float32 by-products
    cover only some of them: the rest are measured by the metrics' general code)."""
    x = rng.standard_normal((n, c)) * rng.choice([0.1, 1, 3, 10], (n, 1))
    x += rng.choice([0.0, 0.0, 0.0, -15.0, 30.0, 60.0, -80.0], (n, 1))
    peaked = rng.random(n) < 0.3
    t = rng.integers(0, c, n)
    x[peaked, t[peaked]] += 25
    return x.astype(dtype), t


def reference(x, t):
    """Entropy, Brier term, argmax and logsumexp of each row in float64."""
    x = x.astype(np.float64)
    m = x.max(axis=1, keepdims=True)
    e = np.exp(x - m)
    s = e.sum(axis=1, keepdims=True)
    p = e / s
    logp = x - m - np.log(s)
    entropy = -(p * np.where(p > 0, logp, 0.0)).sum(axis=1)
    brier = (p**2).sum(axis=1) - 2 * p[np.arange(len(t)), t] + 1
    return entropy, brier, x.argmax(axis=1), (m + np.log(s))[:, 0]


def block(x, t, request=(rowstats.DENSE, 5), **spec):
    p = core.plan(LossSpec(reduction="none", **spec), x, t)
    return core.compute_block(p, x, t, 0, row_stats=request)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("c", [64, 97, 1000])
def test_the_loss_is_the_same_bits_with_or_without_by_products(dtype, c):
    x, t = logits(np.random.default_rng(c), 300, c, dtype)
    t[::7] = -100
    plain = block(x, t, None, ignore_index=-100)
    assert plain.rows_stats is None
    for request in ((rowstats.ARGMAX, None), (rowstats.DENSE, 3)):
        asked = block(x, t, request, ignore_index=-100)
        assert asked.rows_stats is not None
        np.testing.assert_array_equal(asked.per_element, plain.per_element)
        np.testing.assert_array_equal(asked.segment_sums, plain.segment_sums)


@pytest.mark.parametrize("c", [97, 1000, 8192, 8193, 32000, 50257])
@pytest.mark.parametrize("bufsize", [8192, 1024])
def test_rows_are_summed_as_their_float64_copies_whatever_the_buffer(c, bufsize):
    """Float32 rows summed with their cast on the fly add as their float64 copies would, with
    whatever buffer the caller set (rows longer than it are summed from copies), and the
    caller's buffer size is left alone."""
    from ce_cli.core.fast2d import row_sums64

    e = np.exp(np.random.default_rng(c).standard_normal((5, c), dtype=np.float32) * 8)
    old = np.getbufsize()
    np.setbufsize(bufsize)
    try:
        got = row_sums64(e)
        assert np.getbufsize() == bufsize
        copies = e.astype(np.float64).sum(axis=1)  # (NumPy 2.0's own sums follow the buffer)
    finally:
        np.setbufsize(old)
    np.testing.assert_array_equal(got, copies)


@pytest.mark.parametrize("c", [97, 8193])
def test_the_loss_is_the_same_bits_with_and_without_by_products(c):
    x, t = logits(np.random.default_rng(c), 24, c)
    plain = block(x, t, None)
    asked = block(x, t, (rowstats.ARGMAX, None))
    np.testing.assert_array_equal(asked.per_element, plain.per_element)


def test_a_numpy_that_sums_in_another_order_falls_back_to_copies(monkeypatch):
    from ce_cli.core import fast2d

    monkeypatch.setattr(fast2d, "cast_sum_exact", lambda c, size: False)
    e = np.exp(np.random.default_rng(3).standard_normal((4, 300), dtype=np.float32))
    np.testing.assert_array_equal(fast2d.row_sums64(e), e.astype(np.float64).sum(axis=1))


@pytest.mark.parametrize("c", [64, 300, 5000])
def test_by_products_equal_a_float64_computation_within_the_bound(c):
    x, t = logits(np.random.default_rng(c + 1), 20_000 // c + 40, c)
    st_ = block(x, t).rows_stats
    entropy, brier, pred, lse = reference(x, t)
    np.testing.assert_array_equal(st_.pred, pred)  # the first maximum, exactly
    ok = np.ones(len(t), dtype=bool) if st_.ok is None else st_.ok
    assert 0.3 < ok.mean() < 1  # both kinds of rows are here
    np.testing.assert_allclose(st_.lse[ok], lse[ok], rtol=1e-6)
    assert np.abs((st_.lse - st_.mean_x) - entropy)[ok].max() <= ENTROPY_BOUND
    assert np.abs((st_.sum_p2 - 2 * st_.p_t + 1) - brier)[ok].max() <= BRIER_BOUND


def test_float64_logits_by_products_are_float64_exact():
    x, t = logits(np.random.default_rng(3), 200, 80, np.float64)
    st_ = block(x, t).rows_stats
    entropy, brier, pred, lse = reference(x, t)
    assert st_.ok is None
    np.testing.assert_array_equal(st_.pred, pred)
    np.testing.assert_allclose(st_.lse, lse, rtol=1e-14)
    np.testing.assert_allclose(st_.lse - st_.mean_x, entropy, rtol=1e-9, atol=1e-12)
    # (1 - 2 p_t + sum p^2 cancels when p_t is near 1: absolute 1e-14 there)
    np.testing.assert_allclose(st_.sum_p2 - 2 * st_.p_t + 1, brier, rtol=1e-12, atol=1e-13)


def test_metrics_from_by_products_equal_the_general_code_within_the_bound():
    """The same run measured with the by-products and without them (the general code)."""
    x, t = logits(np.random.default_rng(4), 3000, 200)
    ms = MetricsSettings(summary=True, top_k=5, per_class=True, confusion=True)
    fast = Metrics(ms)
    core.run(LossSpec(), x, t, OutputSettings(workers=1), [fast])
    general = Metrics(ms)
    with mock.patch.object(core.blocks, "_stats_request", lambda request: None):
        r = core.run(LossSpec(), x, t, OutputSettings(workers=1), [general])
    a, b = fast.result(r), general.result(r)
    for key in ("accuracy", "top_5_accuracy", "perplexity", "bits_per_target"):
        assert a.values[key] == b.values[key], key  # counts exact, nll the engine's
    assert a.values["entropy"] == pytest.approx(b.values["entropy"], rel=1e-5)
    assert a.values["brier"] == pytest.approx(b.values["brier"], abs=1e-6)
    assert a.values["ece"] == pytest.approx(b.values["ece"], abs=1e-6)
    np.testing.assert_array_equal(a.confusion, b.confusion)
    np.testing.assert_array_equal(a.per_class["recall"], b.per_class["recall"])


def test_a_run_without_metrics_computes_no_by_products():
    x, t = logits(np.random.default_rng(5), 200, 100)
    assert block(x, t, None).rows_stats is None

    def refuse(*args, **kwargs):
        raise AssertionError("by-products computed though no metric asks")

    with (
        mock.patch.object(rowstats, "sums_float32", refuse),
        mock.patch.object(rowstats, "fill_float64", refuse),
    ):
        core.run(LossSpec(), x, t)
        core.run(LossSpec(), x.astype(np.float64), t)


def _brute_top_k(x, t, k):
    """scikit-learn's rule: a reversed stable argsort (the higher class first among ties)."""
    order = np.argsort(x, axis=1, kind="stable")[:, ::-1]
    return (order[:, :k] == t[:, None]).any(axis=1)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 40),
    c=st.sampled_from([2, 5, 64, 129, 300, 600]),  # (600: all three of top-k's looks)
    k=st.integers(1, 8),
    levels=st.sampled_from([3, 50, 10**6]),
    seed=st.integers(0, 2**31 - 1),
)
def test_top_k_hits_equal_a_full_sort(n, c, k, levels, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, levels, (n, c)).astype(np.float32)  # few levels: ties everywhere
    t = rng.integers(0, c, n)
    k = min(k, c)
    x_t = x[np.arange(n), t].astype(np.float64)
    expect = _brute_top_k(x, t, k)
    np.testing.assert_array_equal(rowstats.top_k_hits(x, x_t, t, k), expect)
    p = np.exp(x - x.max(axis=1, keepdims=True))
    p_t = p[np.arange(n), t] / p.sum(axis=1)
    np.testing.assert_array_equal(rowstats.top_k_hits(x, x_t, t, k, p_t=p_t), expect)


@settings(max_examples=80, deadline=None)
@given(
    k=st.integers(1, 6),
    extra=st.integers(-1, 1),
    ties=st.integers(0, 2),
    seed=st.integers(0, 2**31 - 1),
)
def test_top_k_hits_wherever_the_scores_ahead_sit(k, extra, ties, seed):
    """k - 1, k or k + 1 scores above the target's and a few equal to it, anywhere in rows of
    600: in the first look, the wider one or the rest of the row (see rowstats._windows)."""
    rng = np.random.default_rng(seed)
    n, c = 30, 600
    x = -1 - rng.random((n, c)).astype(np.float32)  # all below the target's 0 ...
    t = rng.integers(0, c, n)
    above = max(0, k + extra)
    for i in range(n):
        cols = rng.choice(np.delete(np.arange(c), t[i]), above + ties, replace=False)
        x[i, cols[:above]] = 1 + rng.random(above)  # ... but these
        x[i, cols[above:]] = 0  # ties: ahead of the target when their class is higher
    x[np.arange(n), t] = 0
    x_t = np.zeros(n)
    np.testing.assert_array_equal(rowstats.top_k_hits(x, x_t, t, k), _brute_top_k(x, t, k))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_metrics_do_not_depend_on_where_the_rows_sit_in_memory(dtype):
    x, t = logits(np.random.default_rng(6), 500, 97, dtype)
    ms = MetricsSettings(summary=True, top_k=3, per_class=True)
    results = []
    for shift in range(0, 64, 8 if dtype == np.float64 else 4):  # byte offsets of the input
        raw = np.empty(x.nbytes + 128, dtype=np.uint8)
        start = -raw.ctypes.data % 64 + shift
        moved = raw[start : start + x.nbytes].view(dtype).reshape(x.shape)
        moved[...] = x
        m = Metrics(ms)
        r = core.run(LossSpec(), moved, t, OutputSettings(block_elements=97 * 168), [m])
        results.append(m.result(r))
    for other in results[1:]:
        assert other.values == results[0].values
        for key, arr in results[0].per_class.items():
            np.testing.assert_array_equal(other.per_class[key], arr)


@given(
    rows=st.integers(1, 5),
    c=st.sampled_from(
        [3, 64, rowstats.DOT_PIECE, rowstats.DOT_PIECE + 1, 2 * rowstats.DOT_PIECE + 7]
    ),
    offset=st.integers(0, 7),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=25, deadline=None)
def test_row_dots_are_exact_enough_and_do_not_depend_on_where_the_rows_sit(rows, c, offset, seed):
    """The entropy and Brier sums (pieces of DOT_PIECE classes for long rows): within float32
    summation error of a float64 sum, and the same bits wherever the rows sit in memory."""
    rng = np.random.default_rng(seed)
    u = rng.random((rows, c), dtype=np.float32)
    v = rng.standard_normal((rows, c), dtype=np.float32)
    out = rowstats._row_dot(u, v)
    exact = (u.astype(np.float64) * v).sum(axis=1)
    bound = 1e-6 * c * (np.abs(u.astype(np.float64) * v).sum(axis=1) + 1)
    assert np.all(np.abs(out - exact) <= bound)
    # the same rows copied to an other byte offset give the same bits
    room = np.empty(2 * rows * c + offset + 16, dtype=np.float32)
    u2 = room[offset : offset + rows * c].reshape(rows, c)
    v2 = room[offset + rows * c + 3 : offset + 2 * rows * c + 3].reshape(rows, c)
    u2[...], v2[...] = u, v
    again = rowstats._row_dot(u2, v2)
    assert again.tobytes() == out.tobytes()
