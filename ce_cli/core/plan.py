"""Validation of a :class:`~ce_cli.settings.LossSpec` against the shapes of the data.

:func:`plan` checks the options and the shapes once and returns a :class:`Problem`; the values
themselves are checked block by block (:mod:`ce_cli.core.checks`).
"""

from __future__ import annotations

import numpy as np

from ..errors import CeLossError
from ..settings import LossSpec
from .checks import as_numeric, first_position, fmt
from .layout import Layout
from .problem import (
    ALLOWED_INPUT,
    DEFAULT_INPUT,
    INPUT_KINDS,
    LOSSES,
    REDUCTIONS,
    Problem,
)

# What to use instead of an input kind a loss does not take.
_KIND_HINTS = {
    ("nll", "logits"): "use {loss} ce for logits",
    ("nll", "probs"): "use {loss} ce {input_kind} probs for probabilities",
    ("bce", "logits"): "use {loss} bce-logits for logits",
    ("bce-logits", "probs"): "use {loss} bce for probabilities",
}


def _check_option(role: str, value, allowed) -> None:
    if value not in allowed:
        raise CeLossError(
            f"must be one of {', '.join(allowed)}; got {value!r}",
            input=role,
            value=value,
            expected=", ".join(allowed),
        )


def resolve_input_kind(spec: LossSpec) -> str:
    """The input kind of ``spec`` (its loss's default when None); CeLossError if not taken.

    Needs no data: the command line calls it before reading any file.
    """
    _check_option("loss", spec.loss, LOSSES)
    loss = spec.loss
    kind = DEFAULT_INPUT[loss] if spec.input_kind is None else spec.input_kind.replace("_", "-")
    _check_option("input_kind", kind, INPUT_KINDS)
    allowed = " or ".join(ALLOWED_INPUT[loss])
    if kind not in ALLOWED_INPUT[loss]:
        raise CeLossError(
            f"{{loss}} {loss!r} takes {allowed} as input, not {kind}",
            input="input_kind",
            option_what=f"{{loss}} {loss} takes {allowed}, not {{input_kind}} {kind}",
            value=kind,
            expected=allowed,
            hint=_KIND_HINTS.get((loss, kind)),
        )
    return kind


def _label_smoothing(value) -> float:
    try:
        eps = float(value)
    except (TypeError, ValueError):
        raise CeLossError(
            f"must be a number; got {value!r}", input="label_smoothing", value=value
        ) from None
    if not 0.0 <= eps <= 1.0:
        raise CeLossError(
            f"must be between 0.0 and 1.0; got {eps!r}",
            input="label_smoothing",
            value=eps,
            expected="between 0.0 and 1.0",
        )
    return eps


def _ignore_index(value) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise CeLossError(f"must be an integer; got {value!r}", input="ignore_index", value=value)
    return int(value)


def _param(value, role: str, input_shape: tuple, per_class: int | None) -> np.ndarray | None:
    """Validate ``weight``/``pos_weight`` and return it as float64 with the input's ndim."""
    if value is None:
        return None
    arr = as_numeric(value, role).astype(np.float64)
    bad = ~np.isfinite(arr)
    if np.any(bad):
        raise CeLossError(
            f"is {fmt(arr[bad][0])}; expected finite numbers",
            input=role,
            position=first_position(bad),
            value=float(arr[bad][0]),
            expected="finite numbers",
        )
    if per_class is not None:
        if arr.ndim != 1 or arr.shape[0] != per_class:
            got = f"{arr.shape[0]} entries" if arr.ndim == 1 else f"shape {arr.shape}"
            raise CeLossError(
                f"has {got} but {{the_input}} has {per_class} classes; "
                "expected one weight per class",
                input=role,
                expected="one weight per class",
            )
        return arr
    try:
        shape = np.broadcast_shapes(arr.shape, input_shape)
    except ValueError:
        shape = None
    if shape != tuple(input_shape):
        raise CeLossError(
            f"has shape {arr.shape}, which does not broadcast to {{the_input_shape}} "
            f"{tuple(input_shape)}",
            input=role,
            value=arr.shape,
        )
    return arr.reshape((1,) * (len(input_shape) - arr.ndim) + arr.shape)


def _per_class_bce_weight(value, xs: tuple):
    """A 1-D BCE weight read as one value per class along dimension 1 (the command line's)."""
    v = as_numeric(value, "weight").astype(np.float64)
    if v.ndim != 1 or len(xs) < 2 or v.size == 1:
        return v
    if v.shape[0] != xs[1]:
        raise CeLossError(
            f"has {v.shape[0]} values but {{the_input}} has {xs[1]} classes "
            f"(dimension 1 of shape {tuple(xs)})",
            input="weight",
            value=v.shape[0],
            expected=f"{xs[1]} values",
        )
    return v.reshape((1, -1) + (1,) * (len(xs) - 2))


def plan(spec: LossSpec, input, target) -> Problem:
    """Check the options of ``spec`` and the shapes of ``input`` and ``target``.

    Returns the validated :class:`Problem`; the values are checked per block.
    """
    _check_option("loss", spec.loss, LOSSES)
    _check_option("reduction", spec.reduction, REDUCTIONS)
    kind = resolve_input_kind(spec)
    eps = _label_smoothing(spec.label_smoothing)
    ignore_index = _ignore_index(spec.ignore_index)
    x = as_numeric(input, "input")
    t = as_numeric(target, "target")
    xs, ts = tuple(x.shape), tuple(t.shape)
    if spec.loss in ("bce", "bce-logits"):
        return _plan_binary(spec, kind, xs, ts, ignore_index, eps)
    return _plan_categorical(spec, kind, xs, ts, ignore_index, eps)


def _plan_binary(
    spec: LossSpec, kind: str, xs: tuple, ts: tuple, ignore_index: int, eps: float
) -> Problem:
    loss = spec.loss
    if eps:
        raise CeLossError(f"applies to ce and nll, not {loss}", input="label_smoothing")
    if spec.class_dim != 1:
        raise CeLossError(f"applies to ce and nll, not {loss}", input="class_dim")
    if spec.shift:
        raise CeLossError(f"applies to ce and nll, not {loss}", input="shift")
    if spec.pos_weight is not None and loss == "bce":
        raise CeLossError("applies to bce-logits, not bce", input="pos_weight")
    if ts != xs:
        raise CeLossError(
            f"has shape {ts} but {{other_input}} has shape {xs}; {loss} needs the same shape",
            input="target",
            value=ts,
            expected=str(xs),
        )
    weight = spec.weight
    if spec.weight_per_class and weight is not None:
        weight = _per_class_bce_weight(weight, xs)
    shape = xs if xs else (1,)
    return Problem(
        loss=loss,
        input_kind=kind,
        soft=True,
        input_shape=shape,
        target_shape=shape,
        out_shape=xs,
        reduction=spec.reduction,
        ignore_index=ignore_index,
        label_smoothing=0.0,
        weight=_param(weight, "weight", shape, None),
        pos_weight=_param(spec.pos_weight, "pos_weight", shape, None),
    )


def _plan_categorical(
    spec: LossSpec, kind: str, xs: tuple, ts: tuple, ignore_index: int, eps: float
) -> Problem:
    if spec.pos_weight is not None:
        raise CeLossError(f"applies to bce-logits, not {spec.loss}", input="pos_weight")
    if not xs:
        raise CeLossError(
            "is a single number; expected class scores of shape (C,), (N, C) or (N, C, d1, ...)",
            input="input",
            value=xs,
        )
    d = _class_dim(spec.class_dim, xs)
    single = len(xs) == 1
    index_shape = () if single else xs[:d] + xs[d + 1 :]
    soft = _soft_targets(xs, ts, index_shape, d)
    if spec.shift:
        _check_shift(xs, d)
    # the canonical layout: classes on dimension 1, the shift along the last axis
    shape = (1,) + xs if single else xs[:1] + (xs[d],) + xs[1:d] + xs[d + 1 :]
    if shape[1] == 0:
        raise CeLossError(f"has shape {xs}: no classes", input="input", value=xs)
    if soft and ignore_index >= 0:
        raise CeLossError(
            f"={ignore_index} cannot be used with probability targets (target has "
            "{the_input_shape}); as in torch it must be negative",
            input="ignore_index",
            value=ignore_index,
            expected="a negative index",
        )
    if spec.shift:
        shape = shape[:-1] + (shape[-1] - 1,)
    out_shape = () if single else shape[:1] + shape[2:]
    return Problem(
        loss=spec.loss,
        input_kind=kind,
        soft=soft,
        input_shape=shape,
        target_shape=shape if soft else (shape[0],) + shape[2:],
        out_shape=out_shape,
        reduction=spec.reduction,
        ignore_index=ignore_index,
        label_smoothing=eps,
        weight=_param(spec.weight, "weight", shape, shape[1]),
        layout=_layout(spec, d, soft, ignore_index, xs, ts),
    )


def _layout(spec: LossSpec, d: int, soft: bool, ignore_index: int, xs: tuple, ts: tuple):
    ndim = len(xs)
    if ndim < 2 or (d == 1 and not spec.shift):
        mode = "identity"
    elif d == ndim - 1 and ndim >= 3 and not (spec.shift and soft):
        mode = "flat"  # classes last: rows of contiguous classes, the fast 2-D path
    else:
        mode = "moved"
    return Layout(mode, d, bool(spec.shift), soft, ignore_index, xs, ts)


def _class_dim(value, xs: tuple) -> int:
    """The class dimension of an input of shape ``xs``, counted from 0 (CeLossError if none)."""
    if isinstance(value, str) and value.strip().lower() == "last":
        value = -1
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise CeLossError(
            f"must be an integer or 'last'; got {value!r}", input="class_dim", value=value
        )
    ndim, d = len(xs), int(value)
    if ndim == 1 and d in (-1, 0, 1):
        return 0  # one sample (C,): its only dimension holds the classes, as in torch
    if not -ndim <= d < ndim:
        raise CeLossError(
            f"is {d}, out of range for {{the_input}} of shape {xs} (dimensions 1..{ndim - 1}, "
            f"or -{ndim - 1}..-1 from the end)",
            input="class_dim",
            value=d,
            expected=f"1..{ndim - 1}",
        )
    if d % ndim == 0:
        raise CeLossError(
            f"is {d}, the samples' dimension of {{the_input}} (shape {xs}); ce-loss streams over "
            "dimension 0, so the classes must be on another one",
            input="class_dim",
            value=d,
            expected=f"1..{ndim - 1}",
            hint="transpose the array so that the samples come first",
        )
    return d % ndim


def _soft_targets(xs: tuple, ts: tuple, index_shape: tuple, d: int) -> bool:
    """Whether the targets are probabilities (the input's shape) or class indices; else raise."""
    if ts == xs:
        return True
    if ts == index_shape:
        return False
    fits = [k for k in range(1, len(xs)) if k != d and xs[:k] + xs[k + 1 :] == ts]
    hint = None
    if fits:
        k = fits[-1]
        where = "last" if k == len(xs) - 1 else f"on dimension {k}"
        arg = "-1" if k == len(xs) - 1 else str(k)
        hint = f"the classes look to be {where}: pass {{class_dim}} {arg}"
    raise CeLossError(
        f"has shape {ts} but {{other_input}} has shape {xs}; expected {index_shape} for "
        f"class indices or {xs} for class probabilities",
        input="target",
        value=ts,
        expected=f"{index_shape} or {xs}",
        hint=hint,
    )


def _check_shift(xs: tuple, d: int) -> None:
    """--shift needs a sequence dimension besides the samples' and at least two positions."""
    rest = [k for k in range(1, len(xs)) if k != d]
    if not rest:
        raise CeLossError(
            f"needs a sequence dimension: {{the_input}} has shape {xs}; expected (N, T, V) "
            "logits with (N, T) targets",
            input="shift",
            value=xs,
            hint="for one sequence of shape (T, V), add a leading dimension of 1",
        )
    seq = rest[-1]
    if xs[seq] < 2:
        raise CeLossError(
            f"needs at least two positions along the sequence dimension {seq} of "
            f"{{the_input}} (shape {xs}); it has {xs[seq]}",
            input="shift",
            value=xs[seq],
            expected="at least 2 positions",
        )
