"""The per-block maths of ``bce`` and ``bce-logits`` (``aten/src/ATen/native/Loss.cpp``)."""

from __future__ import annotations

import numpy as np

from .problem import Problem

# torch clamps each log term of binary_cross_entropy at -100 (Loss.cpp) ...
BCE_LOG_CLAMP = -100.0
# ... and its backward divides by max(p * (1 - p), EPSILON) with EPSILON = 1e-12 held as a float32,
# 9.99999996e-13: torch 2.13 gives d/dp = -1000000003995.8029 at p = 0, t = 1 even in float64.
BCE_GRAD_EPS = float(np.float32(1e-12))


def binary(p: Problem, x: np.ndarray, t: np.ndarray, w, pw, want_grad: bool, scale: float):
    """Per-element loss and gradient of one block of bce or bce-logits: ``(loss, grad)``.

    ``w`` and ``pw`` are the weight and pos_weight rows of the block (or None).
    """
    xf = x.astype(np.float64, copy=False)
    tf = t.astype(np.float64, copy=False)
    if p.loss == "bce":
        loss, g = _bce(xf, tf, want_grad)
    else:
        loss, g = _bce_logits(xf, tf, pw, want_grad)
    if w is not None:
        loss = loss * w
    if g is None:
        return loss, None
    if w is not None:
        g = g * w
    if scale != 1.0:
        g = g * scale
    return loss, g


def _bce(xf: np.ndarray, tf: np.ndarray, want_grad: bool):
    """``-[t log(p) + (1 - t) log(1 - p)]`` and its derivative in ``p``."""
    with np.errstate(divide="ignore"):
        # torch clamps each log at -100 so p = 0 or 1 gives a finite loss (Loss.cpp)
        log_p = np.maximum(np.log(xf), BCE_LOG_CLAMP)
        log_1mp = np.maximum(np.log1p(-xf), BCE_LOG_CLAMP)
    loss = (tf - 1.0) * log_1mp - tf * log_p
    if not want_grad:
        return loss, None
    # torch's binary_cross_entropy_backward: (p - t) / max(p (1 - p), 1e-12)
    return loss, (xf - tf) / np.maximum((1.0 - xf) * xf, BCE_GRAD_EPS)


def _bce_logits(xf: np.ndarray, tf: np.ndarray, pw, want_grad: bool):
    """``(1 - t) x - (1 + (pw - 1) t) log(sigmoid(x))`` and its derivative in ``x``."""
    e = np.exp(-np.abs(xf))
    # log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)), finite for any finite x
    log_sig = np.minimum(xf, 0.0) - np.log1p(e)
    lw = 1.0 if pw is None else 1.0 + (pw - 1.0) * tf
    loss = (1.0 - tf) * xf - lw * log_sig
    if not want_grad:
        return loss, None
    # d/dx = (1 - t) - lw * sigmoid(-x); sigmoid(-x) from exp(-|x|) so it never overflows
    sig_neg = np.where(xf >= 0, e / (1.0 + e), 1.0 / (1.0 + e))
    return loss, (1.0 - tf) - lw * sig_neg
