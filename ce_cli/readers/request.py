"""What :func:`ce_cli.readers.load` asks of one file, and what the file gives back."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .keys import ClassNames

# Bytes of a text table parsed at a time: while a piece is parsed, its lines and cells as Python
# strings take ~15x that (measured: 256 KiB pieces parse as fast as 1 or 16 MiB ones).
TEXT_PIECE = 1 << 18
# Stored (uncompressed) .npz members of at least this many bytes, as np.savez writes them, are
# memory-mapped like an .npy file and streamed block by block; smaller ones, and compressed ones,
# are read whole, which also checks their CRC. (A mapped member's CRC is not checked: that would
# mean reading it all once more, 0.16 s per 400 MB here, more than computing its loss.)
NPZ_MAP_BYTES = 1 << 25


@dataclass(frozen=True)
class Request:
    """How to read one file.

    ``role`` is ``"pred"`` (the predictions, and the targets too when ``own_target``),
    ``"target"`` or ``"vector"`` (a --weight file); the keys and column select within it;
    ``names`` are the class names the predictions gave, for a target file's string labels;
    ``mmap`` allows memory-mapping; ``piece`` is the bytes of text parsed at a time;
    ``map_bytes`` the size from which a stored .npz member is mapped.
    """

    role: str
    pred_key: str | None = None
    target_key: str | None = None
    target_column: str | int | None = None
    own_target: bool = False
    names: ClassNames | None = None
    mmap: bool = True
    piece: int = TEXT_PIECE
    map_bytes: int = NPZ_MAP_BYTES


@dataclass
class Part:
    """What one file contributed."""

    pred: np.ndarray | None = None
    target: np.ndarray | None = None
    class_names: list[str] | None = None
