"""class_dim and shift: torch's numbers on the moved axis, the user's shapes, the user's positions.

Oracles: torch (``F.cross_entropy(x.movedim(D, 1), t)``, Hugging Face's shifted slices) when it
is installed; ce-loss's own result on the moved or flattened input (bit for bit) always.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from ce_cli.core import evaluate, plan
from ce_cli.errors import CeLossError
from ce_cli.settings import LossSpec

RNG = np.random.default_rng(12)


def _problem(shape, d, soft=False, ignore=True, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    d = d % len(shape)
    x = (rng.normal(size=shape) * 3).astype(dtype)
    c = shape[d]
    tshape = shape if soft else shape[:d] + shape[d + 1 :]
    if soft:
        t = rng.random(size=shape)
        t /= t.sum(axis=d, keepdims=True)
    else:
        t = rng.integers(0, c, size=tshape)
        if ignore and t.size > 1:
            t.reshape(-1)[:: max(2, t.size // 3)] = -100
    return x, t


def _torch_ce(x, t, d, shift=False, loss="ce", **kw):
    torch = pytest.importorskip("torch")
    f = torch.nn.functional
    xt = torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    tt = torch.tensor(t)
    xm = xt.movedim(d, 1).contiguous()  # (nll_loss's backward wants a contiguous input)
    tm = tt.movedim(d, 1) if tt.dtype.is_floating_point else tt
    if shift:
        xm, tm = xm[..., :-1], tm[..., 1:]
    if "weight" in kw and kw["weight"] is not None:
        kw["weight"] = torch.tensor(kw["weight"])
    fn = f.cross_entropy if loss == "ce" else f.nll_loss
    out = fn(xm, tm, **kw)
    (out if out.ndim == 0 else out.sum()).backward()
    return out.detach().numpy(), xt.grad.numpy()


CASES = [
    ((4, 6, 9), -1),  # (N, T, V): flat
    ((3, 5, 4, 7), 3),  # (N, H, W, C): flat
    ((3, 7, 5), 2),  # 3-d, classes last given as 2
    ((2, 4, 6, 5), 2),  # moved
    ((3, 8, 5), 1),  # classes on 1 (identity, or moved with shift)
    ((5, 70), -1),  # 2-d classes last: the default layout
]


@pytest.mark.parametrize("shape,d", CASES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.15])
def test_index_targets_match_torch(shape, d, reduction, smoothing):
    x, t = _problem(shape, d)
    w = RNG.random(shape[d]) + 0.5
    r = evaluate(
        "ce",
        x,
        t,
        class_dim=d,
        weight=w,
        reduction=reduction,
        label_smoothing=smoothing,
        grad=True,
    )
    ref, gref = _torch_ce(x, t, d, weight=w, reduction=reduction, label_smoothing=smoothing)
    np.testing.assert_allclose(r.value, ref, rtol=1e-12, atol=1e-12)
    assert r.grad.shape == x.shape
    np.testing.assert_allclose(r.grad, gref, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("shape,d", [s for s in CASES if len(s[0]) >= 3])
@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_shift_matches_torch(shape, d, soft, reduction):
    x, t = _problem(shape, d, soft=soft)
    r = evaluate(
        "ce", x, t, class_dim=d, shift=True, reduction=reduction, label_smoothing=0.1, grad=True
    )
    ref, gref = _torch_ce(x, t, d, shift=True, reduction=reduction, label_smoothing=0.1)
    np.testing.assert_allclose(r.value, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(r.grad, gref, rtol=1e-10, atol=1e-13)
    if reduction == "none":
        assert r.per_element.shape == ref.shape


@pytest.mark.parametrize("shape,d", CASES[:4])
def test_probability_targets_and_nll_match_torch(shape, d):
    x, t = _problem(shape, d, soft=True)
    r = evaluate("ce", x, t, class_dim=d, grad=True, label_smoothing=0.2)
    ref, gref = _torch_ce(x, t, d, label_smoothing=0.2)
    np.testing.assert_allclose(r.loss, ref, rtol=1e-12)
    np.testing.assert_allclose(r.grad, gref, rtol=1e-10, atol=1e-13)
    lp = x - np.log(np.exp(x).sum(axis=d, keepdims=True))
    ti = _problem(shape, d, seed=3)[1]
    r = evaluate("nll", lp, ti, class_dim=d, grad=True)
    ref, gref = _torch_ce(lp, ti, d, loss="nll")
    np.testing.assert_allclose(r.loss, ref, rtol=1e-12)
    np.testing.assert_allclose(r.grad, gref, rtol=1e-10, atol=1e-13)


def test_hugging_face_causal_lm_loss():
    """HF's ForCausalLMLoss: labels padded with -100, logits[..., :-1, :] vs labels[..., 1:]."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    n, tlen, v = 3, 12, 50
    emb, head = torch.nn.Embedding(v, 16), torch.nn.Linear(16, v)
    ids = torch.randint(0, v, (n, tlen))
    labels = ids.clone()
    labels[1, 8:] = -100  # padding, as a data collator writes it
    with torch.no_grad():
        logits = head(torch.tanh(emb(ids)))
    hf = torch.nn.functional.cross_entropy(
        logits[..., :-1, :].reshape(-1, v).double(), labels[..., 1:].reshape(-1)
    )
    r = evaluate("ce", logits.numpy(), labels.numpy(), class_dim="last", shift=True)
    assert r.loss == pytest.approx(hf.item(), rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shift", [False, True])
def test_classes_last_is_the_flattened_2d_problem_bit_for_bit(dtype, shift):
    x, t = _problem((4, 9, 80), -1, dtype=dtype)
    r = evaluate("ce", x, t, class_dim=-1, shift=shift, reduction="none", grad=True)
    if shift:
        t2 = np.full_like(t, -100)
        t2[:, :-1] = t[:, 1:]
    else:
        t2 = t
    r2 = evaluate("ce", x.reshape(-1, 80), t2.reshape(-1), reduction="none", grad=True)
    pe2 = r2.per_element.reshape(4, 9)
    np.testing.assert_array_equal(r.per_element, pe2[:, :-1] if shift else pe2)
    np.testing.assert_array_equal(r.grad, r2.grad.reshape(x.shape))


@pytest.mark.parametrize("soft", [False, True])
def test_other_class_dims_are_the_moved_copy_bit_for_bit(soft):
    x, t = _problem((3, 4, 6, 5), 2, soft=soft)
    r = evaluate("ce", x, t, class_dim=2, grad=True, reduction="none", label_smoothing=0.1)
    xm = np.ascontiguousarray(np.moveaxis(x, 2, 1))
    tm = np.ascontiguousarray(np.moveaxis(t, 2, 1)) if soft else t
    r2 = evaluate("ce", xm, tm, grad=True, reduction="none", label_smoothing=0.1)
    np.testing.assert_array_equal(r.per_element, r2.per_element)
    np.testing.assert_array_equal(r.grad, np.moveaxis(r2.grad, 1, 2))


@pytest.mark.parametrize("d,shift", [(-1, False), (-1, True), (2, True), (1, True)])
def test_block_size_and_threads_change_no_bit(d, shift):
    x, t = _problem((37, 6, 5, 11) if d == 2 else (37, 6, 11), d)
    kw = dict(class_dim=d, shift=shift, grad=True, per_element=True)
    a = evaluate("ce", x, t, workers=1, **kw)
    b = evaluate("ce", x, t, workers=3, block_elements=64, **kw)
    assert a.loss == b.loss
    np.testing.assert_array_equal(a.per_element, b.per_element)
    np.testing.assert_array_equal(a.grad, b.grad)


def test_saved_outputs_in_the_users_layout(tmp_path):
    x, t = _problem((5, 7, 12), -1)
    g, pe = tmp_path / "g.npy", tmp_path / "pe.csv"
    r = evaluate("ce", x, t, class_dim=-1, shift=True, grad=True, save_grad=g, save_per_element=pe)
    np.testing.assert_array_equal(np.load(g), r.grad)
    assert np.all(np.load(g)[:, -1] == 0)  # the last position predicts nothing
    lines = pe.read_text().splitlines()
    assert lines[0] == "index,d1,loss" and len(lines) == 1 + 5 * 6


def test_memory_mapped_classes_last_streams(tmp_path):
    x, t = _problem((40, 8, 70), -1, dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "t.npy", t)
    a = evaluate("ce", str(tmp_path / "x.npy"), str(tmp_path / "t.npy"), class_dim=-1)
    assert a.loss == evaluate("ce", x, t, class_dim=-1).loss


# errors ----------------------------------------------------------------------------------------


def _raises(msg, *args, **kw):
    with pytest.raises(CeLossError, match=re.escape(msg)) as e:
        evaluate(*args, **kw)
    return e.value


def test_wrong_layout_hints_at_the_class_dim():
    e = _raises(
        "target has shape (2, 16) but input has shape (2, 16, 100); expected (2, 100) for class "
        "indices",
        "ce",
        np.zeros((2, 16, 100)),
        np.zeros((2, 16), dtype=int),
    )
    assert e.render_hint() == "the classes look to be last: pass class_dim -1"
    e = _raises("target has shape (2, 3, 4)", "ce", np.zeros((2, 3, 5, 4)), np.zeros((2, 3, 4)))
    assert e.render_hint() == "the classes look to be on dimension 2: pass class_dim 2"


@pytest.mark.parametrize(
    "d,msg",
    [
        (3, "class_dim is 3, out of range for the input of shape (2, 3, 4) (dimensions 1..2"),
        (-4, "class_dim is -4, out of range"),
        (0, "class_dim is 0, the samples' dimension of the input"),
        ("first", "class_dim must be an integer or 'last'; got 'first'"),
        (True, "class_dim must be an integer or 'last'; got True"),
    ],
)
def test_class_dim_out_of_range(d, msg):
    _raises(msg, "ce", np.zeros((2, 3, 4)), np.zeros((2, 3), dtype=int), class_dim=d)


def test_one_sample_takes_any_class_dim_that_means_its_classes():
    expected = evaluate("ce", [1.0, 2.0, 0.5], 1).loss
    for d in (0, -1, "last"):
        assert evaluate("ce", [1.0, 2.0, 0.5], 1, class_dim=d).loss == expected


def test_shift_needs_two_positions_and_a_sequence():
    _raises(
        "shift needs at least two positions along the sequence dimension 1 of the input "
        "(shape (2, 1, 5)); it has 1",
        "ce",
        np.zeros((2, 1, 5)),
        np.zeros((2, 1), dtype=int),
        class_dim=-1,
        shift=True,
    )
    e = _raises(
        "shift needs a sequence dimension: the input has shape (4, 5)",
        "ce",
        np.zeros((4, 5)),
        np.zeros(4, dtype=int),
        shift=True,
    )
    assert "leading dimension of 1" in e.render_hint()


@pytest.mark.parametrize("loss", ["bce", "bce-logits"])
def test_binary_losses_take_neither(loss):
    _raises(f"class_dim applies to ce and nll, not {loss}", loss, [0.5], [1.0], class_dim=-1)
    _raises(f"shift applies to ce and nll, not {loss}", loss, [0.5], [1.0], shift=True)


@pytest.mark.parametrize(
    "d,shift,where,expected",
    [
        (-1, False, (3, 4, 2), (3, 4, 2)),
        (-1, True, (3, 4, 2), (3, 4, 2)),
        (2, False, (3, 1, 4, 2), (3, 1, 4, 2)),
        (2, True, (3, 1, 4, 2), (3, 1, 4, 2)),
    ],
)
def test_errors_name_the_users_position(d, shift, where, expected):
    shape = (5, 6, 7) if d == -1 else (5, 3, 7, 6)
    x, t = _problem(shape, d, ignore=False)
    x[where] = np.nan
    e = _raises("is NaN", "ce", x, t, class_dim=d, shift=shift, block_elements=50)
    assert e.position == expected
    x, t = _problem(shape, d, ignore=False)
    tpos = where[:d] + where[d + 1 :] if d != -1 else where[:-1]
    t[tpos] = 99
    e = _raises("is class 99", "ce", x, t, class_dim=d, shift=shift, block_elements=50)
    assert e.position == tpos


def test_plan_keeps_the_canonical_shapes():
    p = plan(LossSpec(class_dim=-1, shift=True), np.zeros((2, 9, 4)), np.zeros((2, 9), int))
    assert (p.input_shape, p.target_shape, p.out_shape) == ((2, 4, 8), (2, 8), (2, 8))
    assert p.layout.mode == "flat"


# classes last is the 2-D problem of its flattened rows -----------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from ce_cli.core import run  # noqa: E402
from ce_cli.core.extremes import Extremes, order  # noqa: E402
from ce_cli.core.metrics import Metrics  # noqa: E402
from ce_cli.settings import MetricsSettings, OutputSettings  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(
    lead=st.lists(st.integers(1, 7), min_size=2, max_size=3),
    v=st.integers(1, 40),
    dtype=st.sampled_from([np.float32, np.float64]),
    block=st.sampled_from([None, 1, 7, 64, 500]),
    workers=st.sampled_from([1, 3]),
    smoothing=st.sampled_from([0.0, 0.2]),
    seed=st.integers(0, 2**16),
)
def test_classes_last_equals_the_2d_input_bit_for_bit(
    lead, v, dtype, block, workers, smoothing, seed
):
    """Loss, per-element values and gradient of (N, T, .., V) with (N, T, ..) targets are those
    of the same data given as (M, V) with (M,) targets, whatever the blocks and threads."""
    shape = (*lead, v)
    x, t = _problem(shape, -1, dtype=dtype, seed=seed)
    w = np.random.default_rng(seed).random(v) + 0.5
    kw = dict(weight=w, label_smoothing=smoothing, grad=True, per_element=True)
    r = evaluate("ce", x, t, class_dim=-1, workers=workers, block_elements=block, **kw)
    r2 = evaluate("ce", x.reshape(-1, v), t.reshape(-1), **kw)
    assert r.loss == r2.loss or (np.isnan(r.loss) and np.isnan(r2.loss))
    np.testing.assert_array_equal(r.per_element, r2.per_element.reshape(t.shape))
    np.testing.assert_array_equal(r.grad, r2.grad.reshape(x.shape))


@pytest.mark.parametrize("shift", [False, True])
def test_classes_last_files_stream_as_the_2d_input(tmp_path, shift):
    x, t = _problem((6, 33, 50), -1, dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "t.npy", t)
    kw = dict(class_dim=-1, shift=shift, grad=True, per_element=True, block_elements=3000)
    a = evaluate("ce", str(tmp_path / "x.npy"), str(tmp_path / "t.npy"), workers=2, **kw)
    b = evaluate("ce", x, t, **kw)
    assert a.loss == b.loss
    np.testing.assert_array_equal(a.per_element, b.per_element)
    np.testing.assert_array_equal(a.grad, b.grad)


def _observed(x, t, spec_kw, observers, block=None):
    spec = LossSpec(loss="ce", **spec_kw)
    out = OutputSettings(per_element=True, block_elements=block, workers=2)
    return run(spec, x, t, out, sinks=observers)


def test_worst_and_best_under_the_shift_are_the_users_positions():
    x, t = _problem((5, 9, 13), -1)
    worst, best = Extremes(6, True), Extremes(6, False)
    r = _observed(x, t, dict(class_dim=-1, shift=True), [worst, best], block=40)
    for e in (worst, best):
        e.close()
    pe = r.per_element.reshape(-1)
    valid = np.flatnonzero(t[:, 1:].reshape(-1) != -100)
    for e, largest in ((worst, True), (best, False)):
        want = valid[order(pe[valid], valid, largest)[:6]]
        np.testing.assert_array_equal(e.index, want)
        np.testing.assert_array_equal(e.values, pe[want])
        n, k = np.unravel_index(want, (5, 8))
        np.testing.assert_array_equal(e.samples[0], x[n, k])  # position k predicts k + 1
        np.testing.assert_array_equal(e.samples[1], t[n, k + 1])


def test_histogram_under_the_shift_counts_the_scored_positions():
    from ce_cli.core.histogram import LossHistogram

    x, t = _problem((5, 9, 13), -1)
    h = LossHistogram()
    r = _observed(x, t, dict(class_dim=-1, shift=True), [h], block=40)
    scored = r.per_element[t[:, 1:] != -100]
    assert sum(h.counts.values()) == scored.size
    assert (h.low, h.high) == (scored.min(), scored.max())


def test_metrics_of_classes_last_are_those_of_the_2d_input():
    x, t = _problem((4, 10, 9), -1)
    ms = MetricsSettings(summary=True, per_class=True, confusion=True)
    m1, m2 = Metrics(ms), Metrics(ms)
    r1 = _observed(x, t, dict(class_dim=-1), [m1], block=50)
    r2 = _observed(x.reshape(-1, 9), t.reshape(-1), {}, [m2])
    a, b = m1.result(r1), m2.result(r2)
    assert a.values == b.values and a.values["accuracy"] is not None
    np.testing.assert_array_equal(a.confusion, b.confusion)
    for k in b.per_class:
        np.testing.assert_array_equal(a.per_class[k], b.per_class[k])


@pytest.mark.parametrize("shift", [False, True])
def test_head_positions_read_only_the_flattened_rows_they_need(tmp_path, shift):
    """The warnings' scan of classes-last data: the first positions, whatever holds them."""
    from ce_cli.readers import load

    x, t = _problem((3, 7, 5), -1)
    np.save(tmp_path / "x.npy", x)
    lay = plan(LossSpec(loss="ce", class_dim=-1, shift=shift), x, t).layout
    whole = np.moveaxis(lay.input_view(x), 1, -1).reshape(-1, 5)
    for a in (x, load(str(tmp_path / "x.npy")).pred):
        for n in (1, 5, 6, 7, 13, 100):
            np.testing.assert_array_equal(lay.head_positions(lay.input_view(a), n), whole[:n])


def test_a_fortran_ordered_memory_map_is_read_by_blocks_not_copied_whole(tmp_path):
    x, t = _problem((5, 7, 9), -1)
    np.save(tmp_path / "x.npy", np.asfortranarray(x))
    xm = np.load(tmp_path / "x.npy", mmap_mode="r")
    from ce_cli.core.layout import flat_rows

    assert not isinstance(flat_rows(xm, 2), np.ndarray)
    kw = dict(class_dim=-1, shift=True, grad=True, per_element=True)
    a = evaluate("ce", xm, t, block_elements=50, **kw)
    b = evaluate("ce", x, t, **kw)
    assert a.loss == b.loss
    np.testing.assert_array_equal(a.per_element, b.per_element)
    np.testing.assert_array_equal(a.grad, b.grad)
