"""The loss core against PyTorch autograd on random problems (skipped without torch).

Each case draws a problem from a seeded NumPy generator: shape, dtype, reduction and every
option of its loss. torch computes in float64 on the same values (float32 inputs cast to float64),
the reference being ``make_golden.torch_reference``; values and gradients (of the sum for
``reduction="none"``) must agree to rtol 1e-6, atol 1e-9.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from make_golden import ce_from_log, torch_reference  # noqa: E402

import ce_cli  # noqa: E402

RTOL, ATOL = 1e-6, 1e-9
FNS = (
    "cross_entropy",
    "cross_entropy_probs",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
)
GRAD_OF = {fn: getattr(ce_cli, fn + "_grad") for fn in FNS}
CASES_PER_FN = 120


def close(actual, expected, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(
        np.asarray(actual, dtype=np.float64),
        np.asarray(expected, dtype=np.float64),
        rtol=rtol,
        atol=atol,
        equal_nan=True,
    )


def draw(fn, seed):
    """A random problem for ``fn``: (input, target, kwargs)."""
    rng = np.random.default_rng([seed, FNS.index(fn)])
    dtype = rng.choice(["float32", "float64"])
    red = str(rng.choice(["mean", "sum", "none"]))
    kw = {"reduction": red}

    if fn in ("binary_cross_entropy", "binary_cross_entropy_with_logits"):
        ndim = int(rng.integers(0, 4))
        shape = tuple(int(d) for d in rng.integers(1, 5, ndim))
        if fn == "binary_cross_entropy":
            x = rng.uniform(0.0, 1.0, shape)
            if x.size > 2 and rng.random() < 0.3:  # exact 0 and 1, as torch's clamp handles
                x.flat[:2] = [0.0, 1.0]
        else:
            x = rng.normal(0.0, 4.0, shape)
        t = rng.random(shape) if rng.random() < 0.5 else rng.integers(0, 2, shape).astype(float)
        if ndim and rng.random() < 0.5:
            wshape = shape[-int(rng.integers(1, ndim + 1)) :]
            kw["weight"] = rng.uniform(0.0, 2.0, wshape)
        if fn == "binary_cross_entropy_with_logits" and ndim and rng.random() < 0.6:
            kw["pos_weight"] = rng.uniform(0.1, 3.0, shape[-1:])
        return x.astype(dtype), t, kw

    c = int(rng.integers(1, 7))
    layout = rng.choice(["single", "2d", "kdim"], p=[0.15, 0.55, 0.3])
    if layout == "single":
        shape = (c,)
    elif layout == "2d":
        shape = (int(rng.integers(1, 8)), c)
    else:
        dims = rng.integers(1, 4, rng.integers(1, 3))
        shape = (int(rng.integers(1, 4)), c) + tuple(int(d) for d in dims)
    class_axis = 0 if layout == "single" else 1
    logits = rng.normal(0.0, 3.0, shape)
    if fn == "cross_entropy":
        x = logits
    else:
        e = np.exp(logits - logits.max(axis=class_axis, keepdims=True))
        s = e / e.sum(axis=class_axis, keepdims=True)
        x = s if fn == "cross_entropy_probs" else np.log(s)
    x = x.astype(dtype)
    if fn == "cross_entropy_probs":
        x = np.maximum(x, np.finfo(dtype).tiny)  # log(0) gives torch NaN gradients there

    soft = fn != "nll_loss" and rng.random() < 0.35
    if soft:
        y = rng.random(shape) + 0.01
        t = y / y.sum(axis=class_axis, keepdims=True) if rng.random() < 0.8 else y
    else:
        tshape = () if layout == "single" else shape[:1] + shape[2:]
        t = rng.integers(0, c, tshape)
        r = rng.random()
        if r < 0.25:
            kw["ignore_index"] = int(rng.integers(0, c))  # an ignore_index inside 0..C-1
        elif r < 0.5:
            kw["ignore_index"] = -1 if rng.random() < 0.5 else -100
            t = np.where(rng.random(tshape) < 0.3, kw["ignore_index"], t)
    if rng.random() < 0.5:
        kw["weight"] = rng.uniform(0.1, 2.0, c)
    if fn != "nll_loss" and rng.random() < 0.5:
        kw["label_smoothing"] = float(rng.choice([rng.random(), 1.0, 0.5]))
    return x, t, kw


def check(fn, x, t, kw, rtol=RTOL, atol=ATOL):
    value, none, grad = torch_reference(fn, np.asarray(x, dtype=np.float64), t, **kw)
    got = getattr(ce_cli, fn)(x, t, **kw)
    close(got, value, rtol, atol)
    close(GRAD_OF[fn](x, t, **kw), grad, rtol, atol)
    if kw.get("reduction", "mean") != "none":
        kw = {**kw, "reduction": "none"}
        close(getattr(ce_cli, fn)(x, t, **kw), none, rtol, atol)


@pytest.mark.parametrize("fn", FNS)
def test_random_problems(fn):
    seen = set()
    for seed in range(CASES_PER_FN):
        x, t, kw = draw(fn, seed)
        seen.add((str(x.dtype), kw["reduction"], "weight" in kw, kw.get("label_smoothing", 0) > 0))
        try:
            check(fn, x, t, kw)
        except AssertionError as e:
            raise AssertionError(f"{fn} seed {seed}: x={x!r} t={t!r} kw={kw!r}\n{e}") from None
    # the draws cover both dtypes and all reductions
    assert {s[0] for s in seen} == {"float32", "float64"}
    assert {s[1] for s in seen} == {"mean", "sum", "none"}


def test_reference_mirror_is_cross_entropy():
    """ce_from_log with log_softmax must reproduce F.cross_entropy, or the probs oracle is wrong."""
    F = torch.nn.functional
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, 3, 2, generator=g, dtype=torch.float64)
    t = torch.tensor([[0, 1], [2, 2], [1, 0], [2, 1]])
    w = torch.tensor([0.5, 1.5, 2.0], dtype=torch.float64)
    for red in ("mean", "sum", "none"):
        a = ce_from_log(F.log_softmax(x, 1), t, w, 2, red, 0.3)
        b = F.cross_entropy(x, t, w, ignore_index=2, reduction=red, label_smoothing=0.3)
        assert torch.allclose(a, b, rtol=1e-13, atol=0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_hundred_thousand_samples(dtype, reduction):
    """1e5 rows in float32: the sums must be accumulated in float64 to meet 1e-6 against torch."""
    rng = np.random.default_rng(7)
    n, c = 100_000, 7
    x = rng.normal(0.0, 3.0, (n, c)).astype(dtype)
    t = rng.integers(0, c, n)
    w = rng.uniform(0.5, 2.0, c)
    kw = {"reduction": reduction, "weight": w, "label_smoothing": 0.1}
    value, _, grad = torch_reference("cross_entropy", x.astype(np.float64), t, **kw)
    r = ce_cli.evaluate("ce", x, t, grad=True, block_elements=4096 * c, **kw)
    close(r.loss, value, rtol=1e-12, atol=0)
    close(r.grad, grad)
    # and it is a real check: the same sum accumulated in float32 misses by far more than 1e-6
    pe = ce_cli.cross_entropy(x, t, reduction="none", weight=w, label_smoothing=0.1)
    acc = np.float32(0)
    for v in pe.astype(np.float32):
        acc = np.float32(acc + v)
    total = float(np.sum(pe))
    assert abs(float(acc) - total) > 1e-6 * abs(total)

    y = rng.random((n, c))
    xb = rng.normal(0.0, 5.0, (n, c)).astype(dtype)
    kwb = {"reduction": reduction, "pos_weight": rng.uniform(0.5, 2.0, c)}
    value, _, grad = torch_reference(
        "binary_cross_entropy_with_logits", xb.astype(np.float64), y, **kwb
    )
    close(ce_cli.binary_cross_entropy_with_logits(xb, y, **kwb), value, rtol=1e-12, atol=0)
    close(ce_cli.binary_cross_entropy_with_logits_grad(xb, y, **kwb), grad)


@pytest.mark.parametrize("scale", [1e2, 1e4, 1e8, 1e30])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_extreme_logits_cross_entropy(scale, smoothing):
    rng = np.random.default_rng(int(np.log10(scale)))
    x = rng.normal(0.0, 1.0, (6, 4)) * scale
    t = rng.integers(0, 4, 6)
    t[0] = int(np.argmax(x[0]))
    for red in ("mean", "sum", "none"):
        check("cross_entropy", x, t, {"reduction": red, "label_smoothing": smoothing})
    y = rng.random((6, 4))
    check("cross_entropy", x, y / y.sum(1, keepdims=True), {"label_smoothing": smoothing})


@pytest.mark.parametrize("scale", [1e2, 1e4, 1e8, 1e30])
def test_extreme_logits_bce_with_logits(scale):
    rng = np.random.default_rng(int(np.log10(scale)) + 100)
    x = rng.normal(0.0, 1.0, (5, 3)) * scale
    t = rng.random((5, 3))
    t[0] = [0.0, 1.0, 0.5]
    for red in ("mean", "sum", "none"):
        check(
            "binary_cross_entropy_with_logits",
            x,
            t,
            {"reduction": red, "pos_weight": rng.uniform(0.5, 2.0, 3), "weight": rng.random(3)},
        )


def test_extreme_probabilities_bce():
    """Probabilities at and next to 0 and 1: torch's -100 log clamp and 1e-12 gradient floor."""
    x = np.array([0.0, 1e-300, 1e-50, 1e-13, 1e-12, 0.5, 1 - 1e-12, 1 - 2**-53, 1.0])
    for tv in (0.0, 0.3, 1.0):
        t = np.full_like(x, tv)
        for red in ("mean", "sum", "none"):
            # tight: torch's gradient floor is 1e-12 rounded to float32, not the float64 1e-12
            check("binary_cross_entropy", x, t, {"reduction": red}, rtol=1e-13, atol=0)


def test_float32_inputs_are_computed_in_float64():
    """A float32 input gives float64 results equal to torch's float64 on the same values."""
    rng = np.random.default_rng(3)
    x = rng.normal(0.0, 3.0, (50, 5)).astype(np.float32)
    t = rng.integers(0, 5, 50)
    value, none, grad = torch_reference("cross_entropy", x.astype(np.float64), t)
    r = ce_cli.evaluate("ce", x, t, grad=True, per_element=True)
    assert r.per_element.dtype == np.float64 and r.grad.dtype == np.float64
    close(r.loss, value, rtol=1e-13, atol=0)
    close(r.per_element, none, rtol=1e-12, atol=0)
    # torch in float32 differs by more than that: the comparison above is not float32 arithmetic
    xt = torch.tensor(x)
    v32 = float(torch.nn.functional.cross_entropy(xt, torch.tensor(t)))
    assert v32 != r.loss


@pytest.mark.parametrize("loss,eps", [("ce", 0.0), ("ce", 0.1), ("nll", 0.0)])
def test_zero_weight_sum_gradient_is_torchs(loss, eps):
    """Mean over targets whose class weights sum to 0: loss NaN, gradient NaN where torch's
    nll backward divides by that 0, and 0 on ignored elements."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(3, 3))
    t = np.array([0, 0, -100])
    w = np.array([0.0, 1.0, 1.0])
    if loss == "nll":
        x = x - np.log(np.exp(x).sum(1, keepdims=True))
    xt = torch.tensor(x, requires_grad=True)
    F = torch.nn.functional
    fn = F.cross_entropy if loss == "ce" else F.nll_loss
    kw = {"label_smoothing": eps} if loss == "ce" else {}
    ref = fn(xt, torch.tensor(t), weight=torch.tensor(w), **kw)
    ref.backward()
    r = ce_cli.evaluate(loss, x, t, weight=w, label_smoothing=eps, grad=True)
    assert np.isnan(r.loss) and np.isnan(ref.item())
    assert np.array_equal(np.isnan(r.grad), np.isnan(xt.grad.numpy()))
    assert np.array_equal(np.nan_to_num(r.grad), np.nan_to_num(xt.grad.numpy()))
