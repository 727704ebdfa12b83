"""The loss core: PyTorch-exact classification losses and their gradients, in NumPy.

Pure array maths: no printing, no typer or rich. One job per module:

- :mod:`.problem`: the validated :class:`Problem` and the results (:class:`LossResult`);
- :mod:`.plan`: a :class:`~ce_cli.settings.LossSpec` checked against the data's shapes;
- :mod:`.checks`: per-block value checks; :mod:`.denominators`: what the mean divides by;
- :mod:`.categorical`, :mod:`.fast2d`, :mod:`.binary`: the per-block maths;
- :mod:`.blocks`: one block computed; :mod:`.threads`, :mod:`.pages`: threads, memory maps;
- :mod:`.engine`: the one block driver, :func:`run`; :mod:`.api`: :func:`evaluate` and the
  ``torch.nn.functional`` names.
"""

from .api import (
    binary_cross_entropy,
    binary_cross_entropy_grad,
    binary_cross_entropy_with_logits,
    binary_cross_entropy_with_logits_grad,
    cross_entropy,
    cross_entropy_grad,
    cross_entropy_probs,
    cross_entropy_probs_grad,
    evaluate,
    nll_loss,
    nll_loss_grad,
)
from .blocks import block_bounds, compute_block
from .denominators import count_targets, denominator, denominator_of_counts
from .engine import run
from .plan import plan, resolve_input_kind
from .problem import (
    ALLOWED_INPUT,
    DEFAULT_INPUT,
    INPUT_KINDS,
    LOSSES,
    REDUCTIONS,
    BlockResult,
    LossResult,
    Problem,
)

__all__ = [
    "ALLOWED_INPUT",
    "DEFAULT_INPUT",
    "INPUT_KINDS",
    "LOSSES",
    "REDUCTIONS",
    "BlockResult",
    "LossResult",
    "Problem",
    "binary_cross_entropy",
    "binary_cross_entropy_grad",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits_grad",
    "block_bounds",
    "compute_block",
    "count_targets",
    "cross_entropy",
    "cross_entropy_grad",
    "cross_entropy_probs",
    "cross_entropy_probs_grad",
    "denominator",
    "denominator_of_counts",
    "evaluate",
    "nll_loss",
    "nll_loss_grad",
    "plan",
    "resolve_input_kind",
    "run",
]
