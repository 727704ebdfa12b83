"""The general per-block maths of ``ce`` and ``nll``: any input kind, any target kind, any shape.

With ``v`` the per-element target mass (``w_c * y'_c`` for probability targets with
``y' = (1 - eps) y + eps / C``; ``(1 - eps) w_t`` at the target class plus ``eps / C * w_c`` on
every class for index targets; zero on ignored elements), every variant is
``loss = -sum_c v_c * log q_c`` where ``log q`` is ``log_softmax(x)`` (logits), ``log(x)``
(probs) or ``x`` (log-probs); the gradient of logits is ``softmax(x) * sum_c v_c - v``.

Reference: ``aten/src/ATen/native/LossNLL.cpp`` (``cross_entropy_loss``,
``cross_entropy_loss_label_smoothing``, ``cross_entropy_loss_prob_target``, ``nll_loss``).
"""

from __future__ import annotations

import math

import numpy as np

from .problem import Problem


def class_view(v: np.ndarray, ndim: int) -> np.ndarray:
    """A per-class vector shaped to broadcast along dimension 1 of an ``ndim``-d array."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def nan_where_divided(g: np.ndarray, valid: np.ndarray, tt: np.ndarray, whole_rows: bool):
    """The gradient of a mean whose weight sum is 0 although some targets count, as torch has it.

    nll_loss's backward divides by the total weight (0), so every entry it touches is NaN: the
    target entries of counted elements, and their whole rows once log_softmax or label smoothing
    spreads them; entries of ignored elements stay 0.
    """
    if whole_rows:
        touched = np.broadcast_to(valid[:, None], g.shape)
    else:
        touched = np.zeros(g.shape, dtype=bool)
        np.put_along_axis(touched, tt, valid[:, None], axis=1)
    return np.where(touched, np.nan, 0.0)


class _Classes:
    """The class weights of a block: ``w`` (C,) or None, ``w_b`` shaped for the block."""

    # a plain class, not a dataclass: making a dataclass costs ~1.5 ms of every run's start-up
    __slots__ = (
        "eps",
        "c",
        "w",
        "w_b",
        "w_total",
    )

    def __init__(
        self, eps: float, c: int, w: np.ndarray | None, w_b: np.ndarray | None, w_total: float
    ):
        self.eps = eps
        self.c = c
        self.w = w
        self.w_b = w_b
        self.w_total = w_total


class _IndexMass:
    """Index targets as masses: ``a`` on the target class, ``b * w_c`` on every class."""

    # a plain class, not a dataclass: making a dataclass costs ~1.5 ms of every run's start-up
    __slots__ = (
        "valid",
        "tt",
        "a",
        "b",
    )

    def __init__(self, valid: np.ndarray, tt: np.ndarray, a: np.ndarray, b: np.ndarray):
        self.valid = valid
        self.tt = tt
        self.a = a
        self.b = b


def categorical(p: Problem, x: np.ndarray, t: np.ndarray, want_grad: bool, scale: float):
    """Per-element loss and gradient of one block of ce/nll: ``(loss, grad or None)``."""
    c = p.n_classes or 0
    w = p.weight
    k = _Classes(
        p.label_smoothing,
        c,
        w,
        None if w is None else class_view(w, x.ndim),
        float(c) if w is None else float(np.sum(w)),
    )
    logits = p.input_kind == "logits"
    if p.soft:
        v = _soft_mass(t, k)
        if logits:
            return _logits_soft(x, v, want_grad, scale)
        return _direct_soft(x, v, p.input_kind == "probs", want_grad, scale)
    m = _index_mass(p, t, k)
    if logits:
        return _logits_index(x, m, k, want_grad, scale)
    return _direct_index(x, m, k, p.input_kind == "probs", want_grad, scale)


def _soft_mass(t: np.ndarray, k: _Classes) -> np.ndarray:
    y = t.astype(np.float64)
    if k.eps > 0:
        y = y * (1.0 - k.eps) + k.eps / k.c
    return y if k.w_b is None else y * k.w_b


def _index_mass(p: Problem, t: np.ndarray, k: _Classes) -> _IndexMass:
    valid = t != p.ignore_index
    ti = np.where(valid, t, 0).astype(np.intp, copy=False)
    wt = np.ones(ti.shape) if k.w is None else k.w[ti]
    wt = np.where(valid, wt, 0.0)  # weight of each element's target, 0 where ignored
    a = (1.0 - k.eps) * wt  # mass on the target class
    b = (k.eps / k.c) * valid  # per-class factor of the smoothing mass (times w_c)
    return _IndexMass(valid, ti[:, None], a, b)


def _shifted(x: np.ndarray) -> np.ndarray:
    """A private float64 copy of ``x`` minus its row max, so exp() cannot overflow (logsumexp)."""
    z = x.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    return z


def _exp_in_place(z: np.ndarray):
    """``z`` becomes ``exp(z)``; returns the row sums and their logs."""
    np.exp(z, out=z)
    sumexp = z.sum(axis=1)
    return sumexp, np.log(sumexp)  # log_softmax(x)_c = z_c - log_s


def _logits_soft(x: np.ndarray, v: np.ndarray, want_grad: bool, scale: float):
    z = _shifted(x)
    s_v = v.sum(axis=1)  # S = sum_c v_c
    vz = np.einsum("nc...,nc...->n...", v, z) if x.ndim > 2 else np.einsum("nc,nc->n", v, z)
    sumexp, log_s = _exp_in_place(z)
    loss = s_v * log_s - vz
    if not want_grad:
        return loss, None
    # d loss / d x = softmax(x) * S - v
    z /= sumexp[:, None]
    z *= s_v[:, None]
    z -= v
    if scale != 1.0:
        z *= scale
    return loss, z


def _logits_index(x: np.ndarray, m: _IndexMass, k: _Classes, want_grad: bool, scale: float):
    z = _shifted(x)
    z_t = np.take_along_axis(z, m.tt, axis=1)[:, 0]
    if k.eps > 0:
        wz = z.sum(axis=1) if k.w is None else np.einsum("nc...,c->n...", z, k.w)
    sumexp, log_s = _exp_in_place(z)
    # ignored elements count 0 even when their (placeholder) target logit is -inf
    with np.errstate(invalid="ignore"):
        loss = m.a * (log_s - z_t)
        if k.eps > 0:
            loss += m.b * (k.w_total * log_s - wz)
    if not m.valid.all():
        loss = np.where(m.valid, loss, 0.0)
    if not want_grad:
        return loss, None
    # d loss / d x = softmax(x) * (a + b W) - a onehot(t) - b w
    z /= sumexp[:, None]
    z *= (m.a + m.b * k.w_total)[:, None]
    if k.eps > 0:
        z -= m.b[:, None] * (1.0 if k.w_b is None else k.w_b)
    cur = np.take_along_axis(z, m.tt, axis=1)
    np.put_along_axis(z, m.tt, cur - m.a[:, None], axis=1)
    if math.isnan(scale):
        return loss, nan_where_divided(z, m.valid, m.tt, whole_rows=True)
    if scale != 1.0:
        z *= scale
    return loss, z


def _direct_soft(x: np.ndarray, v: np.ndarray, probs: bool, want_grad: bool, scale: float):
    """Probability targets on probabilities or log-probabilities (used as they are)."""
    xf = x.astype(np.float64, copy=False)
    vnz = v != 0
    if probs:
        with np.errstate(divide="ignore"):
            lq = np.log(xf)
    else:
        lq = xf
    # 0 * log 0 counts as 0: a class with no target mass adds nothing, even at probability 0
    # (np.where discards the NaN of 0 * -inf; errstate keeps it from warning the caller)
    with np.errstate(invalid="ignore"):
        loss = -np.sum(np.where(vnz, v * lq, 0.0), axis=1)
    if not want_grad:
        return loss, None
    g = -v
    if probs:
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(vnz, g / xf, 0.0)  # d(-v log s)/ds = -v / s
    if scale != 1.0:
        g *= scale
    return loss, g


def _direct_index(
    x: np.ndarray, m: _IndexMass, k: _Classes, probs: bool, want_grad: bool, scale: float
):
    """Index targets on probabilities or log-probabilities (used as they are)."""
    xf = x.astype(np.float64, copy=False)
    x_t = np.take_along_axis(xf, m.tt, axis=1)[:, 0]
    # ignored elements (a = b = 0) may sit on log 0: np.where drops the NaN of 0 * -inf
    with np.errstate(divide="ignore", invalid="ignore"):
        lq_t = np.log(x_t) if probs else x_t
        loss = np.where(m.a != 0, -m.a * lq_t, 0.0)
        if k.eps > 0:
            lq = np.log(xf) if probs else xf
            wlq = lq.sum(axis=1) if k.w is None else np.einsum("nc...,c->n...", lq, k.w)
            loss = loss + np.where(m.b != 0, -m.b * wlq, 0.0)
    if not want_grad:
        return loss, None
    g = np.zeros(xf.shape)
    if k.eps > 0:
        g -= m.b[:, None] * (1.0 if k.w_b is None else k.w_b)
    cur = np.take_along_axis(g, m.tt, axis=1)
    np.put_along_axis(g, m.tt, cur - m.a[:, None], axis=1)
    if probs:
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(g != 0, g / xf, 0.0)
    if math.isnan(scale):
        return loss, nan_where_divided(g, m.valid, m.tt, whole_rows=k.eps > 0)
    if scale != 1.0:
        g *= scale
    return loss, g
