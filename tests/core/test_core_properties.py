"""Properties of the loss core that hold for any input (hypothesis).

Each property draws a seed and a few sizes and builds the arrays from a NumPy generator: cheap to
draw, and hypothesis still shrinks the sizes and options of a failure.
"""

from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ce_cli
from ce_cli import core
from ce_cli.settings import LossSpec

SETTINGS = settings(suppress_health_check=[HealthCheck.too_slow])  # examples: conftest.py

seeds = st.integers(0, 2**32 - 1)
n_rows = st.integers(1, 6)
n_classes = st.integers(1, 6)
spatial = st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple)
reductions = st.sampled_from(["mean", "sum", "none"])
FNS = [
    "cross_entropy",
    "cross_entropy_probs",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
]
smoothing = st.sampled_from([0.0, 0.0, 0.1, 0.5, 1.0])


def logits(rng, shape, scale=3.0):
    return rng.normal(0.0, scale, shape)


def softmax(x, axis=1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def simplex(rng, shape):
    y = rng.random(shape) + 0.01
    return y / y.sum(axis=1, keepdims=True)


# --------------------------------------------------------------------------------------------
# Invariances and bounds


@SETTINGS
@given(seeds, n_rows, n_classes, spatial, smoothing, st.booleans(), st.booleans())
def test_ce_shift_invariance(seed, n, c, d, eps, weighted, soft):
    """Adding a constant to one sample's logits changes neither the loss nor the gradient."""
    rng = np.random.default_rng(seed)
    shape = (n, c) + d
    x = logits(rng, shape)
    t = simplex(rng, shape) if soft else rng.integers(0, c, (n,) + d)
    kw = {"label_smoothing": eps, "reduction": "none"}
    if weighted:
        kw["weight"] = rng.uniform(0.1, 2.0, c)
    shifted = x + rng.uniform(-50, 50, (n, 1) + d)
    np.testing.assert_allclose(
        ce_cli.cross_entropy(shifted, t, **kw),
        ce_cli.cross_entropy(x, t, **kw),
        rtol=1e-9,
        atol=1e-9,
    )
    np.testing.assert_allclose(
        ce_cli.cross_entropy_grad(shifted, t, **kw),
        ce_cli.cross_entropy_grad(x, t, **kw),
        rtol=1e-9,
        atol=1e-12,
    )


@SETTINGS
@given(seeds, n_rows, n_classes, spatial, smoothing, st.booleans(), st.booleans())
def test_categorical_losses_are_non_negative(seed, n, c, d, eps, weighted, soft):
    rng = np.random.default_rng(seed)
    shape = (n, c) + d
    x = logits(rng, shape, scale=10.0)
    t = simplex(rng, shape) if soft else rng.integers(0, c, (n,) + d)
    kw = {"reduction": "none"}
    if weighted:
        kw["weight"] = rng.uniform(0.0, 2.0, c)
    assert np.all(ce_cli.cross_entropy(x, t, label_smoothing=eps, **kw) >= 0)
    s = softmax(x)
    assert np.all(ce_cli.cross_entropy_probs(s, t, label_smoothing=eps, **kw) >= 0)
    assert np.all(ce_cli.nll_loss(np.log(s), t, **kw) >= 0)


@SETTINGS
@given(seeds, st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple), st.booleans())
def test_binary_losses_are_non_negative(seed, shape, weighted):
    rng = np.random.default_rng(seed)
    p = rng.random(shape)
    if p.size:
        p.flat[0] = rng.choice([0.0, 1.0])  # the clamped ends too
    t = rng.random(shape)
    kw = {"reduction": "none"}
    if weighted:
        kw["weight"] = rng.random(shape)
    assert np.all(ce_cli.binary_cross_entropy(p, t, **kw) >= 0)
    pos = {"pos_weight": rng.uniform(0.0, 3.0, shape[-1:])} if shape else {}
    x = logits(rng, shape, scale=20.0)
    assert np.all(ce_cli.binary_cross_entropy_with_logits(x, t, **kw, **pos) >= 0)


@SETTINGS
@given(seeds, n_rows, n_classes, spatial, smoothing, st.booleans(), st.sampled_from(FNS))
def test_sum_is_mean_times_count_unweighted(seed, n, c, d, eps, ignore, fn):
    rng = np.random.default_rng(seed)
    shape = (n, c) + d
    kw = {}
    if fn.startswith("binary"):
        x = rng.random(shape) if fn == "binary_cross_entropy" else logits(rng, shape)
        t = rng.random(shape)
        count = x.size
    else:
        x = logits(rng, shape)
        if fn != "cross_entropy":
            x = softmax(x) if fn == "cross_entropy_probs" else np.log(softmax(x))
        t = rng.integers(0, c, (n,) + d)
        if ignore:
            t = np.where(rng.random(t.shape) < 0.3, -100, t)
        count = int(np.count_nonzero(t != -100))
        if fn != "nll_loss":
            kw["label_smoothing"] = eps
    total = getattr(ce_cli, fn)(x, t, reduction="sum", **kw)
    mean = getattr(ce_cli, fn)(x, t, reduction="mean", **kw)
    if count == 0:
        assert np.isnan(mean) and total == 0.0
    else:
        assert mean * count == pytest.approx(total, rel=1e-12, abs=1e-300)


@SETTINGS
@given(seeds, n_rows, n_classes, spatial, smoothing, st.booleans(), st.booleans(), reductions)
def test_ce_gradient_sums_to_zero_over_classes(seed, n, c, d, eps, weighted, soft, red):
    rng = np.random.default_rng(seed)
    shape = (n, c) + d
    x = logits(rng, shape)
    t = simplex(rng, shape) if soft else rng.integers(0, c, (n,) + d)
    kw = {"weight": rng.uniform(0.1, 2.0, c)} if weighted else {}
    g = ce_cli.cross_entropy_grad(x, t, label_smoothing=eps, reduction=red, **kw)
    assert g.shape == shape
    scale = np.abs(g).max() + 1e-300
    assert np.all(np.abs(g.sum(axis=1)) <= 1e-12 * max(1.0, scale))


# --------------------------------------------------------------------------------------------
# Gradients against central finite differences


def finite_difference(f, x, h=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        g[i] = (f(xp) - f(xm)) / (2 * h)
    return g


def _fd_problem(fn, rng, n, c, d, eps, weighted, soft):
    """A problem for fn in its smooth region, as (x, t, kwargs)."""
    shape = (n, c) + d
    kw = {}
    if fn.startswith("binary"):
        if fn == "binary_cross_entropy":
            x = rng.uniform(0.05, 0.95, shape)
        else:
            x = logits(rng, shape)
            kw["pos_weight"] = rng.uniform(0.2, 3.0, shape[-1:])
        t = rng.random(shape)
        if weighted:
            kw["weight"] = rng.uniform(0.1, 2.0, shape[-1:])
        return x, t, kw
    x = logits(rng, shape)
    if fn == "cross_entropy_probs":
        x = rng.uniform(0.05, 0.95, shape)
    elif fn == "nll_loss":
        x = rng.uniform(-5.0, -0.01, shape)
    t = simplex(rng, shape) if soft else rng.integers(0, c, (n,) + d)
    if weighted:
        kw["weight"] = rng.uniform(0.1, 2.0, c)
    if fn != "nll_loss":
        kw["label_smoothing"] = eps
    return x, t, kw


@SETTINGS
@given(
    seeds,
    n_rows,
    n_classes,
    spatial,
    smoothing,
    st.booleans(),
    st.booleans(),
    st.sampled_from(FNS),
    st.sampled_from(["mean", "sum"]),
)
def test_gradient_matches_central_differences(seed, n, c, d, eps, weighted, soft, fn, red):
    rng = np.random.default_rng(seed)
    x, t, kw = _fd_problem(fn, rng, min(n, 3), min(c, 4), d[:1], eps, weighted, soft)
    kw["reduction"] = red
    f = lambda z: getattr(ce_cli, fn)(z, t, **kw)  # noqa: E731
    g = getattr(ce_cli, fn + "_grad")(x, t, **kw)
    np.testing.assert_allclose(g, finite_difference(f, x), rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------------------------
# Two forms of the same loss


@SETTINGS
@given(
    seeds,
    n_rows,
    n_classes,
    spatial,
    smoothing,
    st.booleans(),
    st.sampled_from(["cross_entropy", "cross_entropy_probs", "nll_loss"]),
)
def test_index_targets_equal_one_hot_probabilities(seed, n, c, d, eps, weighted, fn):
    """Index targets and their one-hot probabilities give the same values and gradients.

    Unweighted, mean agrees too (both divide by the sample count). Weighted, torch divides index
    targets by the summed target weights but probability targets by the sample count, so the
    sums and per-element values are compared instead.
    """
    rng = np.random.default_rng(seed)
    shape = (n, c) + d
    x = logits(rng, shape)
    if fn == "cross_entropy_probs":
        x = softmax(x)
    elif fn == "nll_loss":
        x = np.log(softmax(x))
    t = rng.integers(0, c, (n,) + d)
    one_hot = np.moveaxis(np.eye(c)[t], -1, 1)
    kw = {} if fn == "nll_loss" else {"label_smoothing": eps}
    reds = ["none", "sum"]
    if weighted:
        kw["weight"] = rng.uniform(0.1, 2.0, c)
    else:
        reds.append("mean")
    f, fg = getattr(ce_cli, fn), getattr(ce_cli, fn + "_grad")
    for red in reds:
        np.testing.assert_allclose(
            f(x, one_hot, reduction=red, **kw), f(x, t, reduction=red, **kw), rtol=1e-12, atol=1e-14
        )
        np.testing.assert_allclose(
            fg(x, one_hot, reduction=red, **kw),
            fg(x, t, reduction=red, **kw),
            rtol=1e-12,
            atol=1e-14,
        )
    # integer one-hot arrays are taken as probabilities too
    np.testing.assert_allclose(
        f(x, one_hot.astype(np.int64), reduction="sum", **kw),
        f(x, t, reduction="sum", **kw),
        rtol=1e-12,
        atol=1e-14,
    )
    if weighted:
        # the documented difference in the mean's denominator, exactly
        w = kw["weight"]
        total = f(x, t, reduction="sum", **kw)
        assert f(x, t, reduction="mean", **kw) == pytest.approx(total / w[t].sum(), rel=1e-12)
        assert f(x, one_hot, reduction="mean", **kw) == pytest.approx(total / t.size, rel=1e-12)


@SETTINGS
@given(
    seeds, st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple), st.booleans(), reductions
)
def test_bce_with_logits_is_bce_of_sigmoid(seed, shape, weighted, red):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-12.0, 12.0, shape)  # far from the -100 clamp of bce's logs
    p = 1.0 / (1.0 + np.exp(-x))
    t = rng.random(shape)
    kw = {"reduction": red}
    if weighted:
        kw["weight"] = rng.uniform(0.1, 2.0, shape[-1:])
    np.testing.assert_allclose(
        ce_cli.binary_cross_entropy_with_logits(x, t, **kw),
        ce_cli.binary_cross_entropy(p, t, **kw),
        rtol=1e-9,
        atol=1e-12,
    )
    # chain rule: d/dx = d/dp * p (1 - p)
    np.testing.assert_allclose(
        ce_cli.binary_cross_entropy_with_logits_grad(x, t, **kw),
        ce_cli.binary_cross_entropy_grad(p, t, **kw) * p * (1 - p),
        rtol=1e-8,
        atol=1e-14,
    )


@SETTINGS
@given(seeds, n_rows, n_classes, smoothing, st.booleans())
def test_ce_of_logits_is_ce_of_their_softmax(seed, n, c, eps, weighted):
    rng = np.random.default_rng(seed)
    x = logits(rng, (n, c))
    t = rng.integers(0, c, n)
    kw = {"label_smoothing": eps, "reduction": "none"}
    if weighted:
        kw["weight"] = rng.uniform(0.1, 2.0, c)
    np.testing.assert_allclose(
        ce_cli.cross_entropy(x, t, **kw),
        ce_cli.cross_entropy_probs(softmax(x), t, **kw),
        rtol=1e-10,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        ce_cli.cross_entropy(x, t, **kw),
        ce_cli.evaluate("ce", np.log(softmax(x)), t, input_kind="log-probs", **kw).value,
        rtol=1e-10,
        atol=1e-12,
    )


def test_zero_probability_without_target_mass_adds_nothing():
    """Documented: a class with no target mass adds 0 even at s = 0 (torch would give NaN)."""
    s = np.array([[0.0, 0.4, 0.6]])
    y = np.array([[0.0, 0.5, 0.5]])
    want = -(0.5 * np.log(0.4) + 0.5 * np.log(0.6))
    assert ce_cli.cross_entropy_probs(s, y) == pytest.approx(want, rel=1e-15)
    np.testing.assert_array_equal(ce_cli.cross_entropy_probs_grad(s, y), [[0.0, -1.25, -0.5 / 0.6]])
    assert ce_cli.cross_entropy_probs(s, [1]) == pytest.approx(-np.log(0.4), rel=1e-15)
    # with smoothing every class has mass, so log(0) counts
    assert ce_cli.cross_entropy_probs(s, [1], label_smoothing=0.1) == np.inf


# --------------------------------------------------------------------------------------------
# Block size never changes a bit


def _same(a, b):
    if a is None or np.ndim(a) == 0:
        return (a is None and b is None) or (np.isnan(a) and np.isnan(b)) or a == b
    return np.array_equal(a, b, equal_nan=True)


@SETTINGS
@given(
    seeds,
    st.integers(2, 40),
    n_classes,
    spatial,
    smoothing,
    st.booleans(),
    st.booleans(),
    st.sampled_from(["ce", "nll", "bce", "bce-logits"]),
    reductions,
    st.lists(st.integers(1, 17), min_size=1, max_size=3),
)
def test_block_rows_do_not_change_results(seed, n, c, d, eps, weighted, soft, loss, red, sizes):
    rng = np.random.default_rng(seed)
    shape = (n, c) + d
    kw = {"reduction": red}
    if loss in ("bce", "bce-logits"):
        x = rng.random(shape) if loss == "bce" else logits(rng, shape)
        t = rng.random(shape)
        if weighted:
            kw["weight"] = rng.random((n,) + (1,) * (len(shape) - 1))  # per-row: sliced by block
        if loss == "bce-logits":
            kw["pos_weight"] = rng.uniform(0.1, 2.0, shape[-1:])
    else:
        x = logits(rng, shape)
        if loss == "nll":
            x = np.log(softmax(x))
        t = (
            simplex(rng, shape)
            if soft
            else np.where(rng.random((n,) + d) < 0.2, -100, rng.integers(0, c, (n,) + d))
        )
        if loss == "ce":
            kw["label_smoothing"] = eps
        if weighted:
            kw["weight"] = rng.uniform(0.1, 2.0, c)
    # small segments, so that block sizes really split the rows and the sums
    with mock.patch.object(core.problem, "SEGMENT_ELEMENTS", c):
        ref = ce_cli.evaluate(
            loss, x, t, grad=True, per_element=True, block_elements=n * x[0].size, **kw
        )
        p = core.plan(LossSpec(loss, **kw), x, t)
        assert p.segment_rows == 1
        for rows in sizes:
            assert len(list(core.block_bounds(p, rows))) == -(-n // rows)
            r = ce_cli.evaluate(
                loss, x, t, grad=True, per_element=True, block_elements=rows * x[0].size, **kw
            )
            assert _same(r.loss, ref.loss)
            assert r.total == ref.total
            assert np.array_equal(r.per_element, ref.per_element)
            assert np.array_equal(r.grad, ref.grad)


def test_block_rows_real_segment_size():
    """At the shipped segment size, with rows big enough that each is its own segment."""
    rng = np.random.default_rng(5)
    x = logits(rng, (9, 3, 64, 64))  # 12288 values a row: one row per segment
    t = rng.integers(0, 3, (9, 64, 64))
    p = core.plan(LossSpec("ce"), x, t)
    assert p.segment_rows == 1
    results = [
        ce_cli.evaluate(
            "ce", x, t, grad=True, block_elements=b and b * x[0].size, label_smoothing=0.1
        )
        for b in (None, 1, 2, 4, 9)
    ]
    for r in results[1:]:
        assert r.loss == results[0].loss
        assert np.array_equal(r.grad, results[0].grad)
