"""Generate the golden fixtures of the loss core from PyTorch.

    python tests/make_golden.py

writes ``tests/golden/core_cases.json`` (torch's values for every loss and option) and
``tests/seed_data.py`` (the tensors of seed document 003, regenerated with
``torch.manual_seed(2020)``). Both are committed, so the tests that read them need no torch.

Every reference is computed by torch in float64. A float32 case stores the float32 input values;
torch computes on those same values cast to float64, which is what ce-loss promises to do.

``torch_reference`` is also the oracle of ``test_core_oracle.py``.

JSON layout: ``{"torch": version, "cases": [case, ...]}``; each case holds ``name``, ``fn`` (a
``ce_cli`` function name), ``input`` with ``input_dtype``, ``target`` with ``target_dtype``,
``kwargs`` (the function's keyword arguments), ``value`` (what the function returns),
``per_element`` (the ``reduction="none"`` values) and ``grad`` (the gradient of ``value``; of its
sum for ``reduction="none"``). NaN and infinities are stored as the strings "nan", "inf", "-inf".
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden" / "core_cases.json"
SEED_DATA = HERE / "seed_data.py"

FNS = (
    "cross_entropy",
    "cross_entropy_probs",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
)


# --------------------------------------------------------------------------------------------
# The torch reference


def _torch():
    import torch

    return torch


def ce_from_log(lp, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Cross-entropy from log-probabilities ``lp``, mirroring LossNLL.cpp op for op.

    ``cross_entropy_loss`` with ``lp`` in place of ``log_softmax(input)``: ``nll_loss`` for index
    targets, ``cross_entropy_loss_label_smoothing`` when smoothing, and
    ``cross_entropy_loss_prob_target`` for probability targets (``target`` of ``lp``'s shape).
    With ``lp = log_softmax(x)`` it is ``F.cross_entropy``; with ``lp = log(s)`` it is the
    cross-entropy of probabilities, ``E = -sum y log(s)``.
    """
    torch = _torch()
    F = torch.nn.functional
    class_dim = 0 if lp.dim() == 1 else 1
    n_classes = lp.shape[class_dim]
    w_view = None
    if weight is not None:
        shape = [1] * lp.dim()
        shape[class_dim] = n_classes
        w_view = weight.view(shape)
    eps = label_smoothing

    if target.shape == lp.shape:  # cross_entropy_loss_prob_target
        tgt = target * (1 - eps) + eps / n_classes if eps > 0 else target
        prod = lp * tgt if w_view is None else lp * tgt * w_view
        if reduction == "mean":
            return -prod.sum() / (lp.numel() / n_classes)
        if reduction == "sum":
            return -prod.sum()
        return -prod.sum(class_dim)

    nll = F.nll_loss(lp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if eps == 0:
        return nll
    # cross_entropy_loss_label_smoothing
    ignore_mask = target == ignore_index
    smooth = -(lp.sum(class_dim) if w_view is None else (lp * w_view).sum(class_dim))
    smooth = smooth.masked_fill(ignore_mask, 0.0)
    if reduction == "mean":
        if weight is not None:
            kept = target.masked_select(~ignore_mask).flatten()
            ret = smooth.sum() / weight.gather(0, kept).sum()
        else:
            ret = smooth.sum() / (~ignore_mask).sum()
    elif reduction == "sum":
        ret = smooth.sum()
    else:
        ret = smooth
    return (1 - eps) * nll + ret * (eps / n_classes)


def _layout(x, t, class_dim, shift):
    """torch's layout of ce-loss's class_dim and shift: ``x.movedim(D, 1)``, HF's slices."""
    if x.ndim < 2:
        return x, t
    soft = t.shape == x.shape
    x = x.movedim(class_dim, 1)
    t = t.movedim(class_dim, 1) if soft else t
    if shift:
        x, t = x[..., :-1], t[..., 1:]
    return x.contiguous(), t  # (nll_loss's backward wants a contiguous input)


def _torch_loss(fn, x, t, kw):
    torch = _torch()
    F = torch.nn.functional
    weight = kw.get("weight")
    red = kw.get("reduction", "mean")
    if fn in ("cross_entropy", "cross_entropy_probs", "nll_loss"):
        x, t = _layout(x, t, kw.get("class_dim", 1), kw.get("shift", False))
        ii = kw.get("ignore_index", -100)
        eps = kw.get("label_smoothing", 0.0)
        if t.shape == x.shape:
            t = t.to(torch.float64)  # integer one-hot targets count as probabilities (ce-loss)
        if fn == "cross_entropy":
            return F.cross_entropy(
                x, t, weight, ignore_index=ii, reduction=red, label_smoothing=eps
            )
        if fn == "cross_entropy_probs":
            return ce_from_log(torch.log(x), t, weight, ii, red, eps)
        if t.shape == x.shape:  # ce-loss's nll_loss takes probabilities too: -sum w y x
            return ce_from_log(x, t, weight, ii, red, 0.0)
        return F.nll_loss(x, t, weight, ignore_index=ii, reduction=red)
    if fn == "binary_cross_entropy":
        return F.binary_cross_entropy(x, t, weight, reduction=red)
    return F.binary_cross_entropy_with_logits(
        x, t, weight, reduction=red, pos_weight=kw.get("pos_weight")
    )


def torch_reference(fn, x, t, **kw):
    """torch's (value, per_element, grad) in float64 for a ``ce_cli`` function and its kwargs.

    ``value`` is a float (an array for ``reduction="none"``), ``per_element`` the
    ``reduction="none"`` values and ``grad`` the gradient of ``value`` (of its sum for ``none``).
    """
    torch = _torch()
    xt = torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    ta = np.asarray(t)
    index = fn in ("cross_entropy", "cross_entropy_probs", "nll_loss") and ta.shape != xt.shape
    tt = torch.tensor(ta.astype(np.int64 if index else np.float64))
    tkw = dict(kw)
    for k in ("weight", "pos_weight"):
        if kw.get(k) is not None:
            tkw[k] = torch.tensor(np.asarray(kw[k], dtype=np.float64))
    out = _torch_loss(fn, xt, tt, tkw)
    out.sum().backward()
    value = out.detach().numpy()
    value = value.copy() if tkw.get("reduction") == "none" else float(value)
    none = _torch_loss(fn, xt.detach(), tt, {**tkw, "reduction": "none"}).numpy().copy()
    return value, none, xt.grad.numpy().copy()


# --------------------------------------------------------------------------------------------
# JSON with NaN and infinities as strings


def encode(a):
    """Nested lists of an array or number, non-finite floats as "nan", "inf", "-inf"."""
    if isinstance(a, np.ndarray):
        if a.ndim == 0:
            return encode(a.item())
        return [encode(v) for v in a]
    if isinstance(a, (list, tuple)):
        return [encode(v) for v in a]
    if isinstance(a, (bool, np.bool_)):
        return bool(a)
    if isinstance(a, (int, np.integer)):
        return int(a)
    f = float(a)
    if math.isnan(f):
        return "nan"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    return f


# --------------------------------------------------------------------------------------------
# The cases


def _cases():
    rng = np.random.default_rng(20261123)

    def r(*shape, scale=2.0):
        return np.round(rng.normal(0.0, scale, shape), 4)

    def probs(*shape, axis=1):
        """Strictly positive probabilities summing to 1 along ``axis``."""
        e = np.exp(rng.normal(0.0, 1.0, shape))
        return np.round(e / e.sum(axis=axis, keepdims=True), 6)

    def idx(c, *shape):
        return rng.integers(0, c, shape)

    def simplex(*shape, axis=1):
        e = rng.random(shape) + 0.05
        return np.round(e / e.sum(axis=axis, keepdims=True), 6)

    def wt(c):
        return np.round(rng.uniform(0.2, 2.0, c), 3)

    cases = []

    def add(name, fn, x, t, dtype="float64", **kw):
        cases.append((name, fn, np.asarray(x, dtype=dtype), np.asarray(t), kw))

    reds = ("mean", "sum", "none")

    # ---- cross_entropy, logits
    x, t = r(4, 5), idx(5, 4)
    for red in reds:
        add(f"ce index {red}", "cross_entropy", x, t, reduction=red)
    xs, ts = r(5), idx(5)
    for red in reds:
        add(f"ce single sample (C,) scalar target {red}", "cross_entropy", xs, ts, reduction=red)
    add("ce single sample (C,) probability target", "cross_entropy", xs, simplex(5, axis=0))
    xk, tk = r(2, 4, 3, 2), idx(4, 2, 3, 2)
    for red in reds:
        add(f"ce K-dim (N,C,d1,d2) {red}", "cross_entropy", xk, tk, reduction=red)
    w = wt(5)
    for red in reds:
        add(f"ce weight {red}", "cross_entropy", x, t, weight=w, reduction=red)
    ti = t.copy()
    ti[[1, 3]] = -100
    for red in reds:
        add(f"ce ignore_index default -100 {red}", "cross_entropy", x, ti, reduction=red)
    t2 = np.array([2, 0, 2, 4])
    for red in reds:
        add(
            f"ce ignore_index=2 weight {red}",
            "cross_entropy",
            x,
            t2,
            weight=w,
            ignore_index=2,
            reduction=red,
        )
    for red in reds:
        add(f"ce all ignored {red}", "cross_entropy", x, np.full(4, -100), reduction=red)
    add("ce all ignored weight mean", "cross_entropy", x, np.full(4, 3), weight=w, ignore_index=3)
    for red in reds:
        add(f"ce smoothing {red}", "cross_entropy", x, t, label_smoothing=0.1, reduction=red)
        add(
            f"ce smoothing weight {red}",
            "cross_entropy",
            x,
            t,
            weight=w,
            label_smoothing=0.25,
            reduction=red,
        )
        add(
            f"ce smoothing ignore -100 {red}",
            "cross_entropy",
            x,
            ti,
            label_smoothing=0.2,
            reduction=red,
        )
        add(
            f"ce smoothing weight ignore_index=2 {red}",
            "cross_entropy",
            x,
            t2,
            weight=w,
            ignore_index=2,
            label_smoothing=0.3,
            reduction=red,
        )
    tki = tk.copy()
    tki[0, 1, :] = 1
    wk = wt(4)
    for red in reds:
        add(
            f"ce K-dim smoothing weight ignore_index=1 {red}",
            "cross_entropy",
            xk,
            tki,
            weight=wk,
            ignore_index=1,
            label_smoothing=0.15,
            reduction=red,
        )
    add("ce smoothing 1.0", "cross_entropy", x, t, label_smoothing=1.0)
    add("ce smoothing all ignored mean", "cross_entropy", x, np.full(4, -100), label_smoothing=0.1)
    y = simplex(4, 5)
    for red in reds:
        add(f"ce prob targets {red}", "cross_entropy", x, y, reduction=red)
        add(f"ce prob targets weight {red}", "cross_entropy", x, y, weight=w, reduction=red)
        add(
            f"ce prob targets smoothing {red}",
            "cross_entropy",
            x,
            y,
            label_smoothing=0.2,
            reduction=red,
        )
        add(
            f"ce prob targets smoothing weight {red}",
            "cross_entropy",
            x,
            y,
            weight=w,
            label_smoothing=0.4,
            reduction=red,
        )
    add(
        "ce prob targets negative ignore_index is ignored",
        "cross_entropy",
        x,
        y,
        weight=w,
        ignore_index=-1,
        label_smoothing=0.1,
    )
    yk = simplex(2, 4, 3, 2)
    for red in reds:
        add(
            f"ce K-dim prob targets weight smoothing {red}",
            "cross_entropy",
            xk,
            yk,
            weight=wk,
            label_smoothing=0.1,
            reduction=red,
        )
    add(
        "ce integer one-hot targets as probabilities",
        "cross_entropy",
        x,
        np.eye(5, dtype=np.int64)[t],
    )
    add(
        "ce integer one-hot targets weight smoothing",
        "cross_entropy",
        x,
        np.eye(5, dtype=np.int64)[t],
        weight=w,
        label_smoothing=0.1,
    )
    for red in reds:
        add(
            f"ce float32 index weight smoothing {red}",
            "cross_entropy",
            r(6, 3),
            idx(3, 6),
            dtype="float32",
            weight=wt(3),
            label_smoothing=0.05,
            reduction=red,
        )
    add(
        "ce float32 K-dim prob targets",
        "cross_entropy",
        r(2, 3, 4),
        simplex(2, 3, 4),
        dtype="float32",
    )
    xe = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5e3], [3e3, 3e3, -3e3]])
    for red in reds:
        add(f"ce extreme logits +-1e4 {red}", "cross_entropy", xe, [1, 1, 0], reduction=red)
    add("ce extreme logits smoothing", "cross_entropy", xe, [0, 2, 1], label_smoothing=0.1)
    add(
        "ce -inf logit off target",
        "cross_entropy",
        [[0.5, -np.inf, 1.0], [2.0, 0.0, -np.inf]],
        [0, 1],
    )

    # ---- cross_entropy_probs: E = -sum y log(s)
    s, ts_ = probs(4, 5), idx(5, 4)
    tsi = ts_.copy()
    tsi[2] = -100
    for red in reds:
        add(f"ce-probs index {red}", "cross_entropy_probs", s, ts_, reduction=red)
        add(
            f"ce-probs weight ignore -100 {red}",
            "cross_entropy_probs",
            s,
            tsi,
            weight=w,
            reduction=red,
        )
        add(
            f"ce-probs smoothing {red}",
            "cross_entropy_probs",
            s,
            ts_,
            label_smoothing=0.1,
            reduction=red,
        )
        add(
            f"ce-probs smoothing weight ignore_index=3 {red}",
            "cross_entropy_probs",
            s,
            np.array([3, 1, 3, 0]),
            weight=w,
            ignore_index=3,
            label_smoothing=0.3,
            reduction=red,
        )
        add(f"ce-probs prob targets {red}", "cross_entropy_probs", s, simplex(4, 5), reduction=red)
        add(
            f"ce-probs prob targets weight smoothing {red}",
            "cross_entropy_probs",
            s,
            simplex(4, 5),
            weight=w,
            label_smoothing=0.2,
            reduction=red,
        )
    add(
        "ce-probs unnormalised targets sum",
        "cross_entropy_probs",
        s,
        np.round(rng.random((4, 5)), 4),
        reduction="sum",
    )
    add(
        "ce-probs K-dim weight",
        "cross_entropy_probs",
        probs(2, 3, 2, 2),
        idx(3, 2, 2, 2),
        weight=wt(3),
    )
    add("ce-probs single sample", "cross_entropy_probs", probs(4, axis=0), np.array(2))
    add(
        "ce-probs float32 smoothing",
        "cross_entropy_probs",
        probs(5, 3),
        idx(3, 5),
        dtype="float32",
        label_smoothing=0.1,
    )
    add("ce-probs all ignored mean", "cross_entropy_probs", s, np.full(4, -100))
    add(
        "ce-probs zero probability at target",
        "cross_entropy_probs",
        [[0.0, 0.5, 0.5], [0.2, 0.3, 0.5]],
        [0, 2],
        reduction="none",
    )

    # ---- nll_loss
    lp = np.log(probs(4, 5))
    for red in reds:
        add(f"nll index {red}", "nll_loss", lp, t, reduction=red)
        add(f"nll weight ignore -100 {red}", "nll_loss", lp, ti, weight=w, reduction=red)
        add(
            f"nll weight ignore_index=2 {red}",
            "nll_loss",
            lp,
            t2,
            weight=w,
            ignore_index=2,
            reduction=red,
        )
    add("nll K-dim weight", "nll_loss", np.log(probs(2, 4, 3, 2)), tk, weight=wk)
    add("nll single sample", "nll_loss", np.log(probs(5, axis=0)), np.array(4))
    add("nll float32", "nll_loss", np.log(probs(5, 3)), idx(3, 5), dtype="float32")
    add("nll all ignored mean", "nll_loss", lp, np.full(4, -100))
    add("nll prob targets weight (ce-loss extension)", "nll_loss", lp, simplex(4, 5), weight=w)

    # ---- binary_cross_entropy
    p = np.round(rng.uniform(0.01, 0.99, (4, 3)), 5)
    z = np.round(rng.random((4, 3)), 3)
    for red in reds:
        add(f"bce {red}", "binary_cross_entropy", p, z, reduction=red)
    p01 = np.array([[0.0, 1.0, 0.0], [1.0, 0.5, 0.25], [0.0, 1.0, 0.9]])
    t01 = np.array([[0.0, 1.0, 1.0], [0.0, 0.3, 1.0], [0.5, 0.5, 0.0]])
    for red in reds:
        add(
            f"bce probabilities exactly 0 and 1 {red}",
            "binary_cross_entropy",
            p01,
            t01,
            reduction=red,
        )
    for red in reds:
        add(
            f"bce weight (C,) broadcast {red}",
            "binary_cross_entropy",
            p,
            z,
            weight=wt(3),
            reduction=red,
        )
    add("bce weight (N,1) broadcast", "binary_cross_entropy", p, z, weight=wt(4).reshape(4, 1))
    add(
        "bce weight full shape sum",
        "binary_cross_entropy",
        p,
        z,
        weight=np.round(rng.random((4, 3)), 3),
        reduction="sum",
    )
    add(
        "bce K-dim (2,3,4) weight (4,)",
        "binary_cross_entropy",
        np.round(rng.uniform(0.01, 0.99, (2, 3, 4)), 5),
        rng.integers(0, 2, (2, 3, 4)).astype(float),
        weight=wt(4),
    )
    add("bce 0-d", "binary_cross_entropy", np.array(0.3), np.array(1.0))
    add("bce 0-d none", "binary_cross_entropy", np.array(0.7), np.array(0.25), reduction="none")
    add(
        "bce float32",
        "binary_cross_entropy",
        rng.uniform(0.01, 0.99, (5, 2)),
        rng.integers(0, 2, (5, 2)).astype(float),
        dtype="float32",
    )

    # ---- binary_cross_entropy_with_logits
    xl = r(4, 3, scale=3.0)
    for red in reds:
        add(f"bce-logits {red}", "binary_cross_entropy_with_logits", xl, z, reduction=red)
        add(
            f"bce-logits pos_weight (C,) {red}",
            "binary_cross_entropy_with_logits",
            xl,
            z,
            pos_weight=wt(3),
            reduction=red,
        )
        add(
            f"bce-logits weight pos_weight {red}",
            "binary_cross_entropy_with_logits",
            xl,
            z,
            weight=wt(3),
            pos_weight=wt(3),
            reduction=red,
        )
    xx = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 30.0], [-40.0, 1e4, -1e4]])
    tx = np.array([[1.0, 1.0, 0.5], [1.0, 0.0, 0.0], [0.0, 0.3, 0.0]])
    for red in reds:
        add(f"bce-logits +-1e4 {red}", "binary_cross_entropy_with_logits", xx, tx, reduction=red)
    add(
        "bce-logits +-1e4 pos_weight weight",
        "binary_cross_entropy_with_logits",
        xx,
        tx,
        weight=wt(3),
        pos_weight=wt(3),
    )
    add(
        "bce-logits 3-d pos_weight along last dim",
        "binary_cross_entropy_with_logits",
        r(2, 3, 4),
        rng.integers(0, 2, (2, 3, 4)).astype(float),
        pos_weight=wt(4),
    )
    add(
        "bce-logits weight (N,1)",
        "binary_cross_entropy_with_logits",
        xl,
        z,
        weight=wt(4).reshape(4, 1),
        reduction="sum",
    )
    add("bce-logits 0-d", "binary_cross_entropy_with_logits", np.array(-1.3), np.array(1.0))
    add(
        "bce-logits float32 pos_weight",
        "binary_cross_entropy_with_logits",
        r(5, 2),
        rng.integers(0, 2, (5, 2)).astype(float),
        dtype="float32",
        pos_weight=wt(2),
    )

    # ---- class_dim and shift (classes last, classes elsewhere, the causal-LM shift)
    xl, tl = r(3, 5, 7), idx(7, 3, 5)
    tl[0, 2] = -100
    for red in reds:
        add(f"ce classes last {red}", "cross_entropy", xl, tl, reduction=red, class_dim=-1)
        add(f"ce shift {red}", "cross_entropy", xl, tl, reduction=red, class_dim=-1, shift=True)
    add(
        "ce classes last float32 weight smoothing shift",
        "cross_entropy",
        r(2, 6, 70),
        idx(70, 2, 6),
        dtype="float32",
        class_dim=-1,
        shift=True,
        weight=wt(70),
        label_smoothing=0.1,
    )
    add(
        "ce class_dim 2 probability targets",
        "cross_entropy",
        r(2, 3, 4, 5),
        simplex(2, 3, 4, 5, axis=2),
        class_dim=2,
    )
    add(
        "ce probs class_dim 2 shift",
        "cross_entropy_probs",
        probs(2, 3, 4, 5, axis=2),
        idx(4, 2, 3, 5),
        class_dim=2,
        shift=True,
    )
    add(
        "nll classes last ignore",
        "nll_loss",
        np.log(probs(3, 4, 6, axis=2)),
        tl[:, :4] % 6,
        class_dim=-1,
        ignore_index=3,
    )
    return cases


def build():
    out = []
    for name, fn, x, t, kw in _cases():
        x64 = x.astype(np.float64)  # float32 values, exactly, as float64
        value, none, grad = torch_reference(fn, x64, t, **kw)
        out.append(
            {
                "name": name,
                "fn": fn,
                "input_dtype": str(x.dtype),
                "input": encode(x64),
                "target_dtype": "int64" if t.dtype.kind in "iu" else "float64",
                "target": encode(t),
                "kwargs": {
                    k: encode(np.asarray(v)) if isinstance(v, np.ndarray) else v
                    for k, v in kw.items()
                },
                "value": encode(np.asarray(value)),
                "per_element": encode(none),
                "grad": encode(grad),
            }
        )
    names = [c["name"] for c in out]
    assert len(names) == len(set(names)), "case names must be unique"
    return out


def self_check():
    """ce_from_log(log_softmax(x)) must be F.cross_entropy, or the probs references are wrong."""
    torch = _torch()
    F = torch.nn.functional
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 4, 3, generator=g, dtype=torch.float64)
    t = torch.randint(0, 4, (5, 3), generator=g)
    t[0, 0] = 2
    y = torch.rand(5, 4, 3, generator=g, dtype=torch.float64)
    w = torch.rand(4, generator=g, dtype=torch.float64) + 0.5
    for red in ("mean", "sum", "none"):
        for tgt, ii in ((t, -100), (t, 2), (y, -100)):
            for kw in ({}, {"weight": w}):
                for eps in (0.0, 0.3):
                    a = ce_from_log(F.log_softmax(x, 1), tgt, kw.get("weight"), ii, red, eps)
                    b = F.cross_entropy(
                        x,
                        tgt,
                        kw.get("weight"),
                        ignore_index=ii,
                        reduction=red,
                        label_smoothing=eps,
                    )
                    ok = torch.allclose(a, b, rtol=1e-12, atol=1e-14, equal_nan=True)
                    assert ok, (red, ii, kw, eps)


# --------------------------------------------------------------------------------------------
# Seed document 003


def seed003_tensors():
    """The tensors of seed 003, regenerated with torch.manual_seed(2020).

    The document runs its cells in this order: BCE single, BCE batch, CE single, CE batch. Its
    printed BCE values (0.2576, 0.8165, and the 32x5 batch input) come out of that order, but its
    CE values (1.7541, 2.7944) only come out when the "CE single" cell runs twice before "CE
    batch" (a notebook cell re-run): in plain order torch 2.13 gives 1.7413 and 2.8261. The
    second run of "CE single" is the one kept here.
    """
    torch = _torch()
    torch.manual_seed(2020)
    sig = torch.nn.Sigmoid()
    out = {}
    x = torch.randn(3)
    out["bce_single_input"] = x
    out["bce_single_target"] = torch.empty(3).random_(2)
    x = torch.randn(32, 5)
    out["bce_batch_input"] = x
    out["bce_batch_target"] = torch.empty(32, 5).random_(2)
    torch.randn(3, 5)  # the first run of the "CE single" cell
    torch.empty(3, dtype=torch.long).random_(5)
    out["ce_single_input"] = torch.randn(3, 5)
    out["ce_single_target"] = torch.empty(3, dtype=torch.long).random_(5)
    out["ce_batch_input"] = torch.randn(32, 10, 5)
    out["ce_batch_target"] = torch.empty(32, 5, dtype=torch.long).random_(10)
    F = torch.nn.functional
    bce = F.binary_cross_entropy
    printed = {
        "bce_single": bce(sig(out["bce_single_input"]), out["bce_single_target"]),
        "bce_batch": bce(sig(out["bce_batch_input"]), out["bce_batch_target"]),
        "ce_single": F.cross_entropy(out["ce_single_input"], out["ce_single_target"]),
        "ce_batch": F.cross_entropy(out["ce_batch_input"], out["ce_batch_target"]),
    }
    want = {"bce_single": 0.2576, "bce_batch": 0.8165, "ce_single": 1.7541, "ce_batch": 2.7944}
    for k, v in printed.items():
        assert round(float(v), 4) == want[k], (k, float(v))
    return {k: v.numpy() for k, v in out.items()}


def _literal(a: np.ndarray) -> str:
    if a.dtype.kind == "f":
        # the shortest text that round-trips as float32: np.float32(text) gives the value back
        items = [np.format_float_positional(v, unique=True, trim="-") for v in a.ravel()]
    else:
        items = [str(int(v)) for v in a.ravel()]
    lines, line = [], ""
    for it in items:
        if len(line) + len(it) + 2 > 96:
            lines.append(line.rstrip())
            line = ""
        line += it + ", "
    lines.append(line.rstrip())
    body = "\n".join("    " + ln for ln in lines)
    return f"[\n{body}\n]"


def write_seed_data():
    import torch

    arrays = seed003_tensors()
    parts = [
        '"""Tensors of seed document 003, regenerated by tests/make_golden.py; do not edit.\n\n'
        f"torch {torch.__version__}, torch.manual_seed(2020), cells in the document's order\n"
        'with the "CE single" cell run twice (see make_golden.seed003_tensors). Float values\n'
        "are float32 in their shortest round-trip form: np.array(..., dtype=np.float32) restores\n"
        "them exactly.\n"
        '"""\n\nimport numpy as np\n\n',
    ]
    for k, a in arrays.items():
        dtype = "np.float32" if a.dtype.kind == "f" else "np.int64"
        parts.append(f"{k.upper()} = np.array({_literal(a)}, dtype={dtype}).reshape({a.shape})\n\n")
    SEED_DATA.write_text("".join(parts).rstrip() + "\n")
    ns = {}
    exec(SEED_DATA.read_text(), ns)
    for k, a in arrays.items():
        assert np.array_equal(ns[k.upper()], a), k


def main():
    import torch

    self_check()
    cases = build()
    GOLDEN.parent.mkdir(exist_ok=True)
    with GOLDEN.open("w") as f:
        f.write('{"torch": ' + json.dumps(torch.__version__) + ', "cases": [\n')
        f.write(",\n".join(json.dumps(c, separators=(",", ":"), allow_nan=False) for c in cases))
        f.write("\n]}\n")
    write_seed_data()
    print(f"{GOLDEN.relative_to(HERE.parent)}: {len(cases)} cases, {GOLDEN.stat().st_size} bytes")
    print(f"{SEED_DATA.relative_to(HERE.parent)}: {SEED_DATA.stat().st_size} bytes")


if __name__ == "__main__":
    main()
