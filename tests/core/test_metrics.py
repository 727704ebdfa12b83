"""Metrics measured in the same pass as the loss (ce_cli.core.metrics, extremes, histogram).

References: scikit-learn where it is installed (accuracy_score, top_k_accuracy_score,
brier_score_loss, log_loss), torchmetrics' calibration_error (top-label, l1) written out below,
hand-computed values, and the same run at every block size and thread count.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ce_cli.core import run
from ce_cli.core.extremes import Extremes, order
from ce_cli.core.histogram import LossHistogram
from ce_cli.core.metrics import Metrics, TreeSum
from ce_cli.errors import CeLossError
from ce_cli.settings import LossSpec, MetricsSettings, OutputSettings

ALL = MetricsSettings(summary=True, per_class=True, confusion=True)


def measure(spec, x, t, ms=ALL, **out):
    m = Metrics(ms)
    r = run(spec, x, t, OutputSettings(**out), sinks=[m])
    return m.result(r), r


def softmax(x):
    z = np.exp(x - x.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def ece_reference(conf, correct, n_bins):
    """torchmetrics' _binning_bucketize + _ce_compute(norm="l1"), in NumPy."""
    bounds = np.linspace(0, 1, n_bins + 1)
    idx = np.searchsorted(bounds, conf, side="right") - 1  # torch.bucketize(right=True) - 1
    count = np.bincount(idx, minlength=n_bins + 1).astype(float)
    with np.errstate(invalid="ignore"):  # torch.nan_to_num of empty bins' 0 / 0
        conf_bin = np.nan_to_num(np.bincount(idx, conf, n_bins + 1) / count)
        acc_bin = np.nan_to_num(np.bincount(idx, correct.astype(float), n_bins + 1) / count)
    return float(np.sum(np.abs(acc_bin - conf_bin) * count / count.sum()))


def problem(seed, n=400, c=7, ignored=True, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, c)) * 2).astype(dtype)
    t = rng.integers(0, c, n)
    if ignored:
        t[rng.random(n) < 0.1] = -100
    return x, t


# -- against scikit-learn -------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_categorical_metrics_match_sklearn(seed):
    sk = pytest.importorskip("sklearn.metrics")
    x, t = problem(seed)
    m, r = measure(LossSpec(), x, t, MetricsSettings(summary=True, top_k=3))
    v = t != -100
    xv, tv = x[v], t[v]
    p = softmax(xv)
    labels = list(range(x.shape[1]))
    assert m.values["accuracy"] == pytest.approx(sk.accuracy_score(tv, xv.argmax(1)), abs=0)
    assert m.values["top_3_accuracy"] == pytest.approx(
        sk.top_k_accuracy_score(tv, xv, k=3, labels=labels), abs=0
    )
    assert m.values["brier"] == pytest.approx(sk.brier_score_loss(tv, p, labels=labels), rel=1e-12)
    ll = sk.log_loss(tv, p, labels=labels)
    assert m.values["perplexity"] == pytest.approx(math.exp(ll), rel=1e-12)
    assert m.values["bits_per_target"] == pytest.approx(ll / math.log(2), rel=1e-12)
    ent = -np.sum(p * np.log(p), axis=1).mean()
    assert m.values["entropy"] == pytest.approx(ent, rel=1e-12)
    correct = xv.argmax(1) == tv
    assert m.values["ece"] == pytest.approx(ece_reference(p.max(1), correct, 15), rel=1e-12)


@pytest.mark.parametrize("k", [1, 2, 4, 6])
def test_top_k_ties_follow_sklearn(k):
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(k)
    x = rng.integers(0, 3, (300, 6)).astype(np.float64)  # many ties
    t = rng.integers(0, 6, 300)
    m, _ = measure(LossSpec(), x, t, MetricsSettings(top_k=k))
    with warnings.catch_warnings():  # k = 6 classes: sklearn says it is meaningless (it is 1)
        warnings.simplefilter("ignore")
        expect = sk.top_k_accuracy_score(t, x, k=k, labels=range(6))
    assert m.values[f"top_{k}_accuracy"] == expect


def test_two_classes_brier_is_halved_like_sklearn():
    sk = pytest.importorskip("sklearn.metrics")
    x, t = problem(5, c=2, ignored=False)
    m, _ = measure(LossSpec(), x, t, MetricsSettings(summary=True))
    p = softmax(x)
    assert m.values["brier"] == pytest.approx(sk.brier_score_loss(t, p[:, 1]), rel=1e-12)


def test_probs_and_log_probs_inputs_agree_with_logits():
    x, t = problem(6)
    p = softmax(x)
    a, _ = measure(LossSpec(), x, t)
    b, _ = measure(LossSpec(input_kind="probs"), p, t)
    c, _ = measure(LossSpec(loss="nll"), np.log(p), t)
    for other in (b, c):
        for key, value in a.values.items():
            assert other.values[key] == pytest.approx(value, rel=1e-9), key


def test_k_dimensional_input_equals_flattened_samples():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((30, 5, 4, 3))
    t = rng.integers(0, 5, (30, 4, 3))
    flat_x = np.moveaxis(x, 1, -1).reshape(-1, 5)
    a, _ = measure(LossSpec(), x, t)
    b, _ = measure(LossSpec(), flat_x, t.reshape(-1))
    for key in ("accuracy", "perplexity", "brier", "ece", "entropy"):
        assert a.values[key] == pytest.approx(b.values[key], rel=1e-12)
    np.testing.assert_array_equal(a.confusion, b.confusion)


def test_soft_targets_accuracy_against_their_argmax():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((200, 4))
    y = softmax(rng.standard_normal((200, 4)) * 3)
    m, r = measure(LossSpec(), x, y)
    assert m.values["accuracy"] == np.mean(x.argmax(1) == y.argmax(1))
    assert m.values["perplexity"] == pytest.approx(math.exp(r.loss), rel=1e-15)
    brier = np.mean(np.sum((softmax(x) - y) ** 2, axis=1))
    assert m.values["brier"] == pytest.approx(brier, rel=1e-12)


def test_weighted_loss_perplexity_is_unweighted_and_unsmoothed():
    x, t = problem(9)
    plain, _ = measure(LossSpec(), x, t)
    w = np.linspace(0.5, 2, 7)
    m, _ = measure(LossSpec(weight=w, label_smoothing=0.2), x, t)
    assert m.values["perplexity"] == pytest.approx(plain.values["perplexity"], rel=1e-12)


def test_per_class_recall_precision_match_sklearn():
    sk = pytest.importorskip("sklearn.metrics")
    x, t = problem(10)
    m, r = measure(LossSpec(reduction="none"), x, t)
    v = t != -100
    pred = x[v].argmax(1)
    labels = list(range(7))
    rec = sk.recall_score(t[v], pred, labels=labels, average=None, zero_division=np.nan)
    prec = sk.precision_score(t[v], pred, labels=labels, average=None, zero_division=np.nan)
    np.testing.assert_allclose(m.per_class["recall"], rec)
    np.testing.assert_allclose(m.per_class["precision"], prec)
    np.testing.assert_array_equal(m.confusion, sk.confusion_matrix(t[v], pred, labels=labels))
    pe = r.per_element
    for c in labels:
        assert m.per_class["mean_loss"][c] == pytest.approx(pe[t == c].mean(), rel=1e-12)


def test_binary_metrics():
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(11)
    x = rng.standard_normal((300, 4)) * 2
    y = (rng.random((300, 4)) < 0.4).astype(np.float64)
    m, _ = measure(LossSpec(loss="bce-logits"), x, y)
    p = 1 / (1 + np.exp(-x))
    assert m.values["accuracy"] == sk.accuracy_score(y.ravel(), (x > 0).ravel())
    assert m.values["brier"] == pytest.approx(sk.brier_score_loss(y.ravel(), p.ravel()), rel=1e-12)
    ece = ece_reference(p.ravel(), y.ravel() > 0.5, 15)
    assert m.values["ece"] == pytest.approx(ece, rel=1e-12)
    np.testing.assert_allclose(m.per_class["accuracy"], ((x > 0) == (y > 0.5)).mean(axis=0))
    np.testing.assert_array_equal(m.per_class["positives"], y.sum(axis=0))
    assert m.confusion.tolist() == sk.confusion_matrix(y.ravel(), (x > 0).ravel()).tolist()
    b, _ = measure(LossSpec(loss="bce"), p, y)
    assert b.values["accuracy"] == pytest.approx(m.values["accuracy"])


def test_confusion_refuses_soft_binary_targets():
    x = np.array([0.2, 0.7])
    with pytest.raises(CeLossError, match="needs targets of 0 or 1 for bce"):
        measure(LossSpec(loss="bce"), x, np.array([0.3, 1.0]), MetricsSettings(confusion=True))


# -- undefined values, bad options ----------------------------------------------------------


def test_no_counted_target_gives_none_not_nan():
    x, _ = problem(12, n=5)
    t = np.full(5, -100)
    m, _ = measure(LossSpec(reduction="sum"), x, t, MetricsSettings(summary=True, top_k=2))
    assert all(v is None for v in m.values.values()), m.values


def test_bad_metric_options():
    x, t = problem(13, n=5, c=3)
    with pytest.raises(CeLossError, match=r"top_k must be between 1 and the number of classes"):
        measure(LossSpec(), x, t, MetricsSettings(top_k=4))
    with pytest.raises(CeLossError, match="bins must be at least 1; got 0"):
        Metrics(MetricsSettings(bins=0))
    with pytest.raises(CeLossError, match="worst must be at least 1; got 0"):
        Extremes(0, largest=True)


# -- streaming: identical for every block size and thread count -----------------------------


def _streaming_cases():
    rng = np.random.default_rng(14)
    # 10,000 values a row: the engine's segments are one row, blocks any number of rows
    x = rng.standard_normal((40, 5, 2000)) * 2
    t = rng.integers(0, 5, (40, 2000))
    t[rng.random((40, 2000)) < 0.1] = -100
    yield "k-dim", LossSpec(), x, t, (10_000, 30_000, 70_000)
    # float32 logits of 97 classes (the loss's float32 path); segments of 168 rows
    x = (rng.standard_normal((700, 97)) * 4).astype(np.float32)
    t = rng.integers(0, 97, 700)
    yield "float32", LossSpec(), x, t, (97 * 168, 97 * 336, 97 * 504)
    yield "weighted", LossSpec(weight=np.linspace(0.5, 2, 97)), x, t, (97 * 168, 97 * 504)
    # rows beyond the float32 by-products (largest logit above ~38 or below -20): measured by
    # the general code, mixed with rows the by-products cover, in every block
    far = x.copy()
    far[::3] += 45
    far[1::5] -= 30
    yield "float32 far", LossSpec(), far, t, (97 * 168, 97 * 336)
    yield "log-probs", LossSpec(loss="nll"), np.log(softmax(x.astype(np.float64))), t, (97 * 168,)


@pytest.mark.parametrize("case", list(_streaming_cases()), ids=lambda c: c[0])
def test_identical_for_every_block_size_and_thread_count(case):
    _, spec, x, t, blocks = case
    ms = MetricsSettings(summary=True, top_k=2, per_class=True, confusion=True)
    base, _ = measure(spec, x, t, ms, block_elements=1 << 22, workers=1)
    for block in blocks:
        for workers in (1, 3):
            m, _ = measure(spec, x, t, ms, block_elements=block, workers=workers)
            assert m.values == base.values
            for key, arr in base.per_class.items():
                np.testing.assert_array_equal(m.per_class[key], arr)
            np.testing.assert_array_equal(m.bins["confidence"], base.bins["confidence"])
            np.testing.assert_array_equal(m.confusion, base.confusion)


def test_tree_sum_is_fixed_by_count_alone():
    rng = np.random.default_rng(15)
    rows = rng.standard_normal((100, 3)) * 10.0 ** rng.integers(-8, 8, (100, 1))
    whole = TreeSum(3)
    whole.push_rows(rows)
    for cut in (1, 7, 33):
        parts = TreeSum(3)
        for i in range(0, 100, cut):
            parts.push_rows(rows[i : i + cut])
        np.testing.assert_array_equal(parts.total(), whole.total())


def test_tree_sum_adds_as_a_leaf_by_leaf_counter():
    """The vectorised runs add exactly the pairs a binary counter of single leaves would."""
    rng = np.random.default_rng(16)
    rows = rng.standard_normal((77, 2)) * 10.0 ** rng.integers(-8, 8, (77, 1))
    stack: list = []
    for row in rows:
        level, acc = 0, row
        while stack and stack[-1][0] == level:
            acc = stack.pop()[1] + acc
            level += 1
        stack.append((level, acc))
    expected = np.zeros(2)
    for _, part in reversed(stack):
        expected = part + expected
    for cut in (1, 5, 16, 77):
        tree = TreeSum(2)
        for i in range(0, 77, cut):
            tree.push_rows(rows[i : i + cut])
        np.testing.assert_array_equal(tree.total(), expected)


# -- properties -------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 60),
    c=st.integers(2, 6),
    seed=st.integers(0, 2**31 - 1),
    scale=st.sampled_from([0.1, 1.0, 30.0]),
)
def test_properties(n, c, seed, scale):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c)) * scale
    t = rng.integers(0, c, n)
    hits = []
    for k in range(1, c + 1):
        m, r = measure(LossSpec(), x, t, MetricsSettings(top_k=k))
        hits.append(m.values[f"top_{k}_accuracy"])
        assert 0.0 <= m.values["accuracy"] <= 1.0
        assert 0.0 <= m.values["ece"] <= 1.0
    assert hits == sorted(hits) and hits[-1] == 1.0
    assert m.values["perplexity"] == math.exp(r.loss)


def full_sort_head(values, k, largest):
    idx = np.arange(values.size)
    return idx[order(values, idx, largest)][:k]


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.sampled_from([0.0, 1.0, 2.0, math.nan, math.inf]), st.floats(0, 5)),
        min_size=1,
        max_size=80,
    ),
    k=st.integers(1, 12),
    block=st.integers(1, 20),
)
def test_worst_and_best_equal_a_full_sort(values, k, block):
    v = np.array(values)
    for largest in (True, False):
        e = Extremes(k, largest)
        vals, idx = np.zeros(0), np.zeros(0, dtype=np.int64)
        for start in range(0, v.size, block):  # as the engine: per block, then merged
            chunk, at = v[start : start + block], np.arange(start, min(v.size, start + block))
            first = e._first(chunk, at)
            vals, idx = np.concatenate([vals, chunk[first]]), np.concatenate([idx, at[first]])
            keep = e._first(vals, idx)
            vals, idx = vals[keep], idx[keep]
        e.index = idx
        np.testing.assert_array_equal(e.index, full_sort_head(v, k, largest))


def test_worst_through_the_engine_skips_ignored_targets():
    rng = np.random.default_rng(16)
    x = rng.standard_normal((50, 4, 1000))  # segments of 4 rows: blocks of 4 rows below
    t = rng.integers(0, 4, (50, 1000))
    t[rng.random((50, 1000)) < 0.2] = -100
    worst, best = Extremes(10, True), Extremes(10, False)
    out = OutputSettings(block_elements=8000, workers=2)
    r = run(LossSpec(reduction="none"), x, t, out, [worst, best])
    pe = r.per_element.reshape(-1)
    keep = np.nonzero(t.reshape(-1) != -100)[0]
    expect = keep[np.lexsort((keep, -pe[keep]))][:10]
    np.testing.assert_array_equal(worst.index, expect)
    np.testing.assert_array_equal(worst.values, pe[expect])
    rows, cols = np.divmod(expect, 1000)
    np.testing.assert_array_equal(worst.samples[0], x[rows, :, cols])  # kept as they passed
    np.testing.assert_array_equal(worst.samples[1], t.reshape(-1)[expect])
    assert best.values.tolist() == sorted(best.values.tolist())


def test_histogram_counts_every_finite_loss():
    x, t = problem(17, n=700)
    h = LossHistogram()
    r = run(LossSpec(reduction="none"), x, t, OutputSettings(block_elements=100), [h])
    counted = r.per_element[t != -100]
    assert h.total == counted.size
    edges, counts = h.rebin(10)
    assert counts.sum() == counted.size
    assert edges[0] == counted.min() and edges[-1] == counted.max()
    exact, _ = np.histogram(counted, bins=edges)
    assert np.abs(counts - exact).sum() <= 0.05 * counted.size  # fine bins: 1/64 of a value


# -- committed scikit-learn values (no scikit-learn needed) ----------------------------------

GOLDEN = json.loads(
    (Path(__file__).resolve().parents[1] / "golden" / "metrics_cases.json").read_text()
)


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=lambda c: c["name"])
def test_golden_metrics(case):
    ms = MetricsSettings(summary=True, top_k=case["top_k"])
    m, _ = measure(
        LossSpec(loss=case["loss"]), np.array(case["input"]), np.array(case["target"]), ms
    )
    for key, value in case["values"].items():
        assert m.values[key] == pytest.approx(value, rel=1e-12, abs=1e-15), key


def test_float32_logits_agree_with_float64():
    x, t = problem(18, n=500, c=80)
    a, _ = measure(LossSpec(), x, t, MetricsSettings(summary=True, top_k=5))
    b, _ = measure(LossSpec(), x.astype(np.float32), t, MetricsSettings(summary=True, top_k=5))
    for key, value in a.values.items():
        assert b.values[key] == pytest.approx(value, rel=2e-5, abs=1e-6), key


@pytest.mark.parametrize("scale", [1e3, -1e3])
def test_huge_logits_are_shifted_before_exp(scale):
    rng = np.random.default_rng(19)
    x = rng.standard_normal((50, 4)) * 3 + scale
    t = rng.integers(0, 4, 50)
    m, _ = measure(LossSpec(), x, t, MetricsSettings(summary=True))
    p = softmax(x)
    brier = np.mean(np.sum(p**2, axis=1) - 2 * p[np.arange(50), t] + 1)
    entropy = -np.mean(np.sum(p * np.log(p), axis=1))
    assert m.values["brier"] == pytest.approx(brier, rel=1e-12)
    assert m.values["entropy"] == pytest.approx(entropy, rel=1e-9)


@settings(max_examples=30, deadline=None)
@given(
    rows=st.integers(1, 12),
    seed=st.integers(0, 2**31 - 1),
    k=st.integers(1, 10),
    workers=st.sampled_from([1, 2]),
)
def test_worst_and_best_through_the_engine_equal_a_full_sort(rows, seed, k, workers):
    # 4,096 values a row: segments (and so blocks) of 4 rows; five values, ties everywhere
    p = np.random.default_rng(seed).choice([0.0, 0.1, 0.5, 0.9, 1.0], size=(rows, 4096))
    ends = [Extremes(k, True), Extremes(k, False)]
    out = OutputSettings(block_elements=1, workers=workers)
    r = run(LossSpec(loss="bce", reduction="none"), p, np.ones_like(p), out, ends)
    for e in ends:
        np.testing.assert_array_equal(e.index, full_sort_head(r.per_element.ravel(), k, e.largest))
        np.testing.assert_array_equal(e.samples[0], p.ravel()[e.index])


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("ties", [True, False])
def test_worst_and_best_over_many_blocks_merged_in_batches_equal_a_full_sort(seed, workers, ties):
    # 100 rows in blocks of 4 rows: 25 blocks, several pending at once once K are kept (few
    # candidates a block without ties, many with)
    rng = np.random.default_rng(seed)
    if ties:
        p = rng.choice([0.0, 0.1, 0.5, 0.9, 1.0], size=(100, 4096))
    else:
        p = rng.random((100, 4096))
    ends = [Extremes(5, True), Extremes(5, False)]
    out = OutputSettings(block_elements=1, workers=workers)
    r = run(LossSpec(loss="bce", reduction="none"), p, np.ones_like(p), out, ends)
    for e in ends:
        np.testing.assert_array_equal(e.index, full_sort_head(r.per_element.ravel(), 5, e.largest))
        np.testing.assert_array_equal(e.samples[0], p.ravel()[e.index])
