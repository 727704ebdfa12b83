"""The Python API: :func:`evaluate`, and the losses under ``torch.nn.functional``'s names.

Every function runs the one engine (:func:`ce_cli.core.engine.run`); values follow
``torch.nn.functional`` (PyTorch 2.x) to the letter, computed in float64 whatever the input dtype
(but for the exponentials of float32 logits with 64 classes or more: see
``ce_cli.core.fast2d._nll_float32``).
"""

from __future__ import annotations

from dataclasses import fields

from ..settings import LossSpec, OutputSettings
from .engine import run
from .problem import LossResult

_SPEC_FIELDS = frozenset(f.name for f in fields(LossSpec)) - {"loss"}
_OUTPUT_FIELDS = frozenset(f.name for f in fields(OutputSettings))


def evaluate(loss: str, input, target, **kw) -> LossResult:
    """Compute a loss, its per-element values and, on request, its gradient, in one pass.

    ``loss`` is one of ``"ce"``, ``"nll"``, ``"bce"``, ``"bce-logits"``; ``input`` and ``target``
    are array-likes, memory maps or ``.npy`` paths. The keywords are the fields of
    :class:`ce_cli.settings.LossSpec` (``input_kind``, ``weight``, ``ignore_index``,
    ``reduction``, ``label_smoothing``, ``pos_weight``: torch's arguments; ``class_dim`` and
    ``shift`` for the classes' place and the causal-LM shift, see :func:`cross_entropy`) and of
    :class:`ce_cli.settings.OutputSettings`:

    - ``grad=True`` keeps the float64 gradient (``result.grad``, the input's shape);
      ``save_grad=path`` writes it to ``.npy`` in ``grad_dtype`` (default: the input's float
      dtype), the float64 gradient rounded once; both may be asked;
    - ``per_element`` (default: ``reduction == "none"`` unless ``save_per_element`` is given)
      keeps the float64 per-element losses; ``save_per_element=path`` writes them to ``.npy``
      (torch's ``reduction="none"`` shape) or ``.csv`` (``index,loss``, or ``index,d1,..,loss``);
    - ``workers`` threads (default: the CPUs available), ``block_elements`` float64 values per
      block: neither changes a bit of the result; ``progress(done_rows, total_rows)``.

    Returns a :class:`LossResult`.

    >>> r = evaluate("ce", [[2.0, 0.0], [0.0, 2.0]], [0, 1], grad=True)
    >>> round(r.loss, 6), r.grad.shape
    (0.126928, (2, 2))
    """
    unknown = set(kw) - _SPEC_FIELDS - _OUTPUT_FIELDS
    if unknown:
        names = ", ".join(sorted(unknown))
        raise TypeError(f"evaluate() got unexpected keyword arguments: {names}")
    spec = LossSpec(loss=loss, **{k: v for k, v in kw.items() if k in _SPEC_FIELDS})
    out = OutputSettings(**{k: v for k, v in kw.items() if k in _OUTPUT_FIELDS})
    return run(spec, input, target, out)


def cross_entropy(
    input,
    target,
    weight=None,
    ignore_index=-100,
    reduction="mean",
    label_smoothing=0.0,
    *,
    class_dim=1,
    shift=False,
):
    """Cross-entropy of logits, as ``torch.nn.functional.cross_entropy``.

    ``loss_n = -sum_c w_c y_nc log_softmax(x_n)_c`` with ``y`` the one-hot class (index targets)
    or the given probabilities, each mixed with the uniform distribution by ``label_smoothing``
    (``y' = (1 - eps) y + eps / C``).

    Parameters: ``input`` (C,), (N, C) or (N, C, d1, ...) logits; ``target`` class indices of
    shape (), (N,) or (N, d1, ...), or probabilities of the input's shape; ``weight`` (C,);
    ``reduction`` "mean" (divides by the summed weight of the non-ignored targets, or by the
    number of samples for probability targets), "sum" or "none". ``class_dim``: the input's
    dimension that holds the classes (``-1`` or ``"last"`` for (N, T, V) or (N, H, W, C)
    outputs): the values are torch's on ``input.movedim(class_dim, 1)``, the gradient has the
    input's own layout. ``shift``: position t predicts target t+1 along the sequence dimension
    (the last that is not the classes'), as causal language models are scored.

    Returns a float, or for ``reduction="none"`` a float64 array of shape (), (N,) or (N, d1, ...).

    >>> round(cross_entropy([[3.4, 1.5, 0.4, 0.1]], [0]), 6)
    0.212074
    """
    return evaluate(
        "ce",
        input,
        target,
        weight=weight,
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=label_smoothing,
        class_dim=class_dim,
        shift=shift,
    ).value


def cross_entropy_probs(
    input,
    target,
    weight=None,
    ignore_index=-100,
    reduction="mean",
    label_smoothing=0.0,
    *,
    class_dim=1,
    shift=False,
):
    """Categorical cross-entropy of probabilities: ``E = -sum_c y_c log(s_c)``.

    ``input`` holds probabilities ``s`` in [0, 1], used as they are (not renormalised); the
    gradient is ``-y / s``. Targets, ``weight``, ``ignore_index``, ``label_smoothing`` and
    ``reduction`` follow :func:`cross_entropy` exactly, with ``log(s)`` in place of
    ``log_softmax(x)``. A class with no target mass adds nothing, even where ``s_c = 0``.

    >>> round(cross_entropy_probs([[0.25, 0.75]], [1]), 6)
    0.287682
    """
    return evaluate(
        "ce",
        input,
        target,
        input_kind="probs",
        weight=weight,
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=label_smoothing,
        class_dim=class_dim,
        shift=shift,
    ).value


def nll_loss(
    input, target, weight=None, ignore_index=-100, reduction="mean", *, class_dim=1, shift=False
):
    """Negative log-likelihood of log-probabilities, as ``torch.nn.functional.nll_loss``.

    ``loss_n = -w_{t_n} x_{n, t_n}``; ``mean`` divides by the summed weight of the non-ignored
    targets. Shapes as :func:`cross_entropy`. ce-loss also accepts probability targets here
    (``-sum_c w_c y_c x_c``), which torch's nll_loss does not.

    >>> nll_loss([[-0.5, -1.0]], [1])
    1.0
    """
    return evaluate(
        "nll",
        input,
        target,
        weight=weight,
        ignore_index=ignore_index,
        reduction=reduction,
        class_dim=class_dim,
        shift=shift,
    ).value


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """Binary cross-entropy of probabilities, as ``torch.nn.functional.binary_cross_entropy``.

    ``loss = -w [t log(p) + (1 - t) log(1 - p)]``, each log clamped at -100 as torch does, so
    probabilities of exactly 0 and 1 give finite values. ``weight`` broadcasts against the input;
    ``mean`` divides by the number of elements.

    >>> round(binary_cross_entropy([0.1582, 0.4139, 0.2287], [0.0, 1.0, 0.0]), 6)
    0.438007
    """
    return evaluate("bce", input, target, weight=weight, reduction=reduction).value


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """BCE of logits, as ``torch.nn.functional.binary_cross_entropy_with_logits``.

    ``loss = w [(1 - t) x - (1 + (pw - 1) t) log(sigmoid(x))]``, computed as
    ``log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|))`` so logits of +-1e4 stay exact.
    ``pos_weight`` broadcasts along the last dimension, ``weight`` against the input.

    >>> round(binary_cross_entropy_with_logits([1.7], [1.0]), 6)
    0.167786
    """
    return evaluate(
        "bce-logits", input, target, weight=weight, reduction=reduction, pos_weight=pos_weight
    ).value


def _grad(loss, input_kind, input, target, **kw):
    return evaluate(loss, input, target, input_kind=input_kind, grad=True, **kw).grad


def cross_entropy_grad(
    input,
    target,
    weight=None,
    ignore_index=-100,
    reduction="mean",
    label_smoothing=0.0,
    *,
    class_dim=1,
    shift=False,
):
    """Gradient of :func:`cross_entropy` with respect to ``input`` (the input's shape, float64).

    For ``reduction="none"`` it is the gradient of the sum of the per-element losses, as
    ``loss.sum().backward()`` gives in torch.
    """
    return _grad(
        "ce",
        "logits",
        input,
        target,
        weight=weight,
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=label_smoothing,
        class_dim=class_dim,
        shift=shift,
    )


def cross_entropy_probs_grad(
    input,
    target,
    weight=None,
    ignore_index=-100,
    reduction="mean",
    label_smoothing=0.0,
    *,
    class_dim=1,
    shift=False,
):
    """Gradient of :func:`cross_entropy_probs` with respect to the probabilities: ``-y / s``."""
    return _grad(
        "ce",
        "probs",
        input,
        target,
        weight=weight,
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=label_smoothing,
        class_dim=class_dim,
        shift=shift,
    )


def nll_loss_grad(
    input, target, weight=None, ignore_index=-100, reduction="mean", *, class_dim=1, shift=False
):
    """Gradient of :func:`nll_loss` with respect to the log-probabilities."""
    return _grad(
        "nll",
        "log-probs",
        input,
        target,
        weight=weight,
        ignore_index=ignore_index,
        reduction=reduction,
        class_dim=class_dim,
        shift=shift,
    )


def binary_cross_entropy_grad(input, target, weight=None, reduction="mean"):
    """Gradient of :func:`binary_cross_entropy`; torch's ``(p - t) / max(p (1 - p), 1e-12)``."""
    return _grad("bce", "probs", input, target, weight=weight, reduction=reduction)


def binary_cross_entropy_with_logits_grad(
    input, target, weight=None, reduction="mean", pos_weight=None
):
    """Gradient of :func:`binary_cross_entropy_with_logits`: ``w [(1 - t) - lw sigmoid(-x)]``."""
    return _grad(
        "bce-logits",
        "logits",
        input,
        target,
        weight=weight,
        reduction=reduction,
        pos_weight=pos_weight,
    )
