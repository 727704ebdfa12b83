"""What a run of ce-loss is asked to do, as three frozen settings objects.

- :class:`LossSpec`: what the loss is (torch's arguments). The core validates it against the
  shapes of the data into a :class:`ce_cli.core.Problem`.
- :class:`ReadSettings`: how the inputs are read (formats, keys, columns).
- :class:`OutputSettings`: what is produced (values kept in memory, files written, dtype,
  threads, progress).

Records compare by identity (``eq=False``): the equality methods a dataclass would generate
cost start-up time (about 1 ms each), and nothing compares them. A command builds each once from
its options; every layer below takes them whole. Adding an option
touches its dataclass, its validation and its use, nowhere else. This module imports nothing
heavy: the command line builds these before NumPy is loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Progress = Callable[[int, int], None]


@dataclass(frozen=True, eq=False)
class LossSpec:
    """What the loss is: ``torch.nn.functional``'s arguments, not yet checked against data.

    ``input_kind`` None means the loss's own default (logits for ce and bce-logits, log-probs
    for nll, probs for bce). ``weight`` and ``pos_weight`` are array-likes (None for none).
    ``weight_per_class`` says that a 1-D BCE ``weight`` holds one value per class along
    dimension 1 (how the command line reads ``--weight``) rather than broadcasting along the
    last dimension as torch does. ``class_dim`` is the dimension of ``input`` that holds the
    classes (ce/nll; negative counts from the end, ``"last"`` is -1): the numbers are torch's
    on ``input.movedim(class_dim, 1)``. ``shift`` makes position t's scores predict target t+1
    along the sequence dimension (the last one that is not the classes'), as causal language
    models are scored (Hugging Face's ``logits[..., :-1, :]`` against ``labels[..., 1:]``).
    """

    loss: str = "ce"
    input_kind: str | None = None
    reduction: str = "mean"
    weight: Any = None
    ignore_index: int = -100
    label_smoothing: float = 0.0
    pos_weight: Any = None
    weight_per_class: bool = False
    class_dim: int | str = 1
    shift: bool = False


@dataclass(frozen=True, eq=False)
class ReadSettings:
    """How the inputs are read: explicit formats, array keys and the label column.

    ``max_input_bytes``: the most bytes read from an input that is not a regular file
    (standard input, a pipe, a device such as ``/dev/zero``), which is held in memory whole
    (None: half the memory available when it is read).

    Tables (CSV/TSV) also take: ``index_col`` True to skip their first column as a row index,
    False to score it, None to decide from the file (an empty first header cell, ``Unnamed: 0``,
    a header one cell short); ``decimal`` the decimal mark ("." or ","; None: "." unless the
    cells are separated by semicolons or tabs and hold decimal commas); ``encoding`` the text's
    encoding (None: UTF-8, or UTF-16 when the file starts with its byte-order mark).

    ``pred_dtype`` ``"bfloat16"`` reads the predictions' 2-byte values (an .npy of
    ``ml_dtypes.bfloat16``, saved as ``|V2``) as bfloat16, widened exactly to float32.
    """

    pred_format: str | None = None
    target_format: str | None = None
    pred_key: str | None = None
    target_key: str | None = None
    target_column: str | int | None = None
    max_input_bytes: int | None = None
    index_col: bool | None = None
    decimal: str | None = None
    encoding: str | None = None
    pred_dtype: str | None = None


@dataclass(frozen=True, eq=False)
class OutputSettings:
    """What a run produces besides the reduced loss.

    - ``per_element``: keep the per-element losses in memory (None: only for
      ``reduction="none"``); ``grad``: keep the float64 gradient in memory;
    - ``save_grad``/``save_per_element``: write them to files instead (.npy; .npy or .csv),
      block by block, published whole or not at all; ``grad_dtype`` the saved gradient's dtype
      (None: the input's float dtype);
    - ``workers``: threads (None: every CPU available); ``block_elements``: working set of one
      block in float64 values (None: the engine's default); neither changes a bit of the result;
    - ``progress(done_rows, total_rows)``: called from the calling thread after every block.
    """

    per_element: bool | None = None
    grad: bool = False
    save_grad: str | None = None
    grad_dtype: str | None = None
    save_per_element: str | None = None
    workers: int | None = None
    block_elements: int | None = None
    progress: Progress | None = None


@dataclass(frozen=True, eq=False)
class MetricsSettings:
    """What is measured besides the loss, in the same pass (see :mod:`ce_cli.core.metrics`).

    - ``summary``: accuracy, perplexity, bits per target, entropy, Brier score and ECE;
    - ``top_k``: also top-k accuracy (ce/nll); ``bins``: equal-width confidence bins of the
      ECE and the reliability diagram;
    - ``per_class``: support, mean loss, recall and precision per class (per label for bce);
      ``confusion``: the confusion matrix, written to ``save_confusion`` (.csv or .npy) if given;
    - ``worst``/``best``: the K highest/lowest per-sample losses, kept in a bounded heap;
    - ``histogram``: counts of the per-sample losses; ``calibration``: the reliability diagram;
      ``plot``: a figure written to this .png/.svg/.pdf (needs matplotlib).

    Nothing of it is computed, nor its code imported, unless :attr:`wanted`.
    """

    summary: bool = False
    top_k: int | None = None
    bins: int = 15
    per_class: bool = False
    confusion: bool = False
    save_confusion: str | None = None
    worst: int | None = None
    best: int | None = None
    histogram: bool = False
    calibration: bool = False
    plot: str | None = None
    # measure accuracy, perplexity and ECE though nothing shows them (check's conditions)
    measure: bool = False

    @property
    def wanted(self) -> bool:
        """Whether anything at all is asked for (else the run is the plain loss)."""
        return bool(
            self.measure
            or self.summary
            or self.top_k is not None
            or self.per_class
            or self.confusion
            or self.save_confusion
            or self.worst is not None
            or self.best is not None
            or self.histogram
            or self.calibration
            or self.plot
        )
