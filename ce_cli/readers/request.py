"""What :func:`ce_cli.readers.load` asks of one file, and what the file gives back."""

from __future__ import annotations

import numpy as np

from ..settings import ReadSettings
from .keys import ClassNames

# Bytes of a text table parsed at a time: while a piece is parsed, its lines and cells as Python
# strings take ~15x that (measured: 256 KiB pieces parse as fast as 1 or 16 MiB ones).
TEXT_PIECE = 1 << 18
# .npz members of at least this many bytes are read a block of rows at a time: stored ones (as
# np.savez writes them) in place like an .npy file, compressed ones through the decompressor,
# which checks their CRC at the end; smaller ones are read whole, which also checks it. (A stored
# member's CRC is not checked: that would mean reading it all once more, 0.16 s per 400 MB
# here, more than computing its loss.)
NPZ_BLOCK_BYTES = 1 << 25


# Plain classes rather than dataclasses: these are made at import time of every command that
# reads, and a dataclass costs ~1 ms of start-up to build.


class Request:
    """How to read one file.

    ``role`` is ``"pred"`` (the predictions, and the targets too when ``own_target``),
    ``"target"`` or ``"vector"`` (a --weight file); the keys and column select within it;
    ``names`` are the class names the predictions gave, for a target file's string labels;
    ``lazy`` allows reading a big array by rows on demand rather than whole; ``piece`` is the
    bytes of text parsed at a time; ``block_bytes`` the size from which an .npz member is read
    by rows; ``read`` the run's :class:`~ce_cli.settings.ReadSettings`.
    """

    __slots__ = (
        "role",
        "pred_key",
        "target_key",
        "target_column",
        "own_target",
        "names",
        "lazy",
        "piece",
        "block_bytes",
        "read",
    )

    def __init__(
        self,
        role: str,
        *,
        pred_key: str | None = None,
        target_key: str | None = None,
        target_column: str | int | None = None,
        own_target: bool = False,
        names: ClassNames | None = None,
        lazy: bool = True,
        read: ReadSettings | None = None,
    ):
        self.role = role
        self.pred_key, self.target_key, self.target_column = pred_key, target_key, target_column
        self.own_target, self.names = own_target, names
        self.lazy = lazy
        # text piece and block threshold: the package's values at the time of the call
        # (tests shrink them), set by load()
        self.piece, self.block_bytes = TEXT_PIECE, NPZ_BLOCK_BYTES
        # the run's read settings, whole (tables read index_col, decimal and encoding)
        self.read = read if read is not None else ReadSettings()


class Part:
    """What one file contributed; ``notes``: warnings about how it was read."""

    __slots__ = ("pred", "target", "class_names", "notes")

    def __init__(
        self,
        pred: np.ndarray | None = None,
        target: np.ndarray | None = None,
        class_names: list[str] | None = None,
    ):
        self.pred, self.target, self.class_names = pred, target, class_names
        self.notes: list[str] = []
