"""ce-loss: PyTorch-exact classification losses from the command line and from Python.

The loss functions carry ``torch.nn.functional``'s names and take NumPy arrays::

    >>> import ce_cli
    >>> round(ce_cli.cross_entropy([[3.4, 1.5, 0.4, 0.1]], [0]), 4)
    0.2121

Importing ``ce_cli`` is cheap: NumPy and the core load on first use of a loss function, so the
command line's ``--help`` never pays for them.
"""

__version__ = "0.1.0"

_CORE_NAMES = (
    "cross_entropy",
    "cross_entropy_probs",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy_grad",
    "cross_entropy_probs_grad",
    "nll_loss_grad",
    "binary_cross_entropy_grad",
    "binary_cross_entropy_with_logits_grad",
    "evaluate",
    "LossResult",
)

__all__ = ["__version__", "CeLossError", *_CORE_NAMES]


def __getattr__(name):
    if name in _CORE_NAMES:
        from . import core

        return getattr(core, name)
    if name == "CeLossError":
        from .errors import CeLossError

        return CeLossError
    raise AttributeError(f"module 'ce_cli' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
