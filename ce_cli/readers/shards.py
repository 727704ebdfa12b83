"""Shards: one input given as several files, read as their concatenation along dimension 0.

PRED or TARGET may be a glob that ce-loss expands (quoted, so the shell leaves it alone), its
files in natural order (``shard-2`` before ``shard-10``), or a comma-separated list of files in
the order given. :class:`Concat` slices rows across the files, so a run streams them one after
the other in constant memory, with the numbers of one concatenated file bit for bit.
"""

from __future__ import annotations

import glob
import os
import re

import numpy as np

from .messages import file_error
from .rows import RowsLike

_GLOB_CHARS = ("*", "?", "[")
_FAMILY = {"f": "floats", "i": "integers", "u": "integers", "b": "booleans"}


def expand(spec: str) -> list[str] | None:
    """The files of a shard spec, or None when ``spec`` names one file (or standard input).

    A path that exists is always that one file, whatever characters its name holds.
    """
    if spec == "-" or os.path.exists(spec):
        return None
    pieces = [p.strip() for p in spec.split(",")] if "," in spec else [spec]
    if len(pieces) == 1 and not _is_glob(spec):
        return None  # one missing file: the reader says "no such file"
    files: list[str] = []
    for piece in pieces:
        if not piece:
            raise file_error(spec, "has an empty name in its list of files; expected a,b,c")
        if piece == "-":
            raise file_error(spec, "lists standard input ('-'); expected files only")
        files += _glob(piece) if _is_glob(piece) and not os.path.exists(piece) else [piece]
    return files


def _is_glob(spec: str) -> bool:
    return any(c in spec for c in _GLOB_CHARS)


def _glob(pattern: str) -> list[str]:
    found = [f for f in glob.glob(pattern, recursive=True) if not os.path.isdir(f)]
    if not found:
        raise file_error(
            pattern,
            "matches no files; expected a pattern such as 'logits-*.npy' naming the shards",
        )
    return sorted(found, key=natural_key)


def natural_key(name: str) -> list:
    """Sort key putting ``shard-2`` before ``shard-10``: runs of digits compare as numbers."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", name)]


class Concat(RowsLike):
    """Arrays (or row-sliceable array-likes) joined along dimension 0 without copying them.

    ``a[start:stop]`` reads only the shards those rows lie in; ``np.asarray`` joins them all.
    Every piece is cast to :attr:`dtype` (``np.result_type`` of the shards, as
    ``np.concatenate`` gives), so any slice equals the same slice of the joined array.
    """

    def __init__(self, parts: list, dtype: np.dtype):
        self.parts = parts
        self.dtype = np.dtype(dtype)
        self.starts = [0]
        for p in parts:
            self.starts.append(self.starts[-1] + p.shape[0])
        self.shape = (self.starts[-1],) + tuple(parts[0].shape[1:])
        self.ndim = len(self.shape)
        self.size = int(np.prod(self.shape, dtype=np.int64))

    def __len__(self) -> int:
        return self.shape[0]

    def flat_rows(self, lead: int) -> Concat:
        """The shards, each with its first ``lead`` dimensions as one, joined: the joined
        array's flattened rows (dimension 0 is joined, and flattened first)."""
        from ..core.layout import flat_rows

        return Concat([flat_rows(p, lead) for p in self.parts], self.dtype)

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, tuple) and key and isinstance(key[0], (slice, int, np.integer)):
            rows = self[key[0]]  # rows first, from the shards they lie in; then the rest
            return (
                rows[key[1:]] if not isinstance(key[0], slice) else rows[(slice(None),) + key[1:]]
            )
        if isinstance(key, (int, np.integer)):
            i = int(key) + self.shape[0] if key < 0 else int(key)
            if not 0 <= i < self.shape[0]:
                raise IndexError(f"row {int(key)} is out of range for {self.shape[0]} rows")
            return self._rows(i, i + 1)[0]
        if not isinstance(key, slice) or key.step not in (None, 1):
            return np.asarray(self)[key]
        start, stop, _ = key.indices(self.shape[0])
        return self._rows(start, stop)

    def _rows(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` (0 <= start, stop <= len), read from the shards they lie in.

        Rows from one shard are that shard's slice; rows across shards are read straight
        into one array (no pieces joined afterwards: one allocation a block, as for one file).
        """
        spans = [
            (part, max(start, lo) - lo, min(stop, hi) - lo)
            for part, lo, hi in zip(self.parts, self.starts, self.starts[1:], strict=False)
            if max(start, lo) < min(stop, hi)
        ]
        if len(spans) == 1:
            part, a, b = spans[0]
            return np.asarray(part[a:b], dtype=self.dtype)
        out = np.empty((max(0, stop - start),) + self.shape[1:], dtype=self.dtype)
        at = 0
        for part, a, b in spans:
            into = getattr(part, "read_into", None)
            if into is not None and part.dtype == self.dtype:
                into(out[at : at + b - a], a, b)
            else:
                out[at : at + b - a] = part[a:b]
            at += b - a
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        a = self[:]
        return a if dtype is None else a.astype(dtype, copy=False)


def concat(arrays: list, names: list[str], spec: str) -> Concat:
    """The shards ``arrays`` (read from the files ``names``) as one input, checked to fit."""
    first, first_name = arrays[0], names[0]
    for a, name in zip(arrays[1:], names[1:], strict=True):
        if a.ndim != first.ndim or tuple(a.shape[1:]) != tuple(first.shape[1:]) or not a.ndim:
            raise file_error(
                name,
                f"has shape {tuple(a.shape)} but the first shard of {spec}, {first_name}, has "
                f"{tuple(first.shape)}; expected shards to differ only in their first dimension",
            )
        if _family(a.dtype) != _family(first.dtype):
            raise file_error(
                name,
                f"holds {_family(a.dtype)} ({a.dtype}) but the first shard of {spec}, "
                f"{first_name}, holds {_family(first.dtype)} ({first.dtype}); expected "
                "shards of one kind of number",
            )
    if not first.ndim:
        raise file_error(first_name, "holds a single value; expected shards with rows to join")
    dtype = np.result_type(*[a.dtype for a in arrays])
    if _family(first.dtype) == "integers" and dtype.kind == "f":
        dtype = np.dtype(np.int64)  # uint64 with int64 promotes to float64 in NumPy
    return Concat(arrays, dtype)


def _family(dtype: np.dtype) -> str:
    return _FAMILY.get(np.dtype(dtype).kind, str(dtype))


def check_rows(pred: Concat | object, target: Concat | object, spec: tuple[str, str]) -> None:
    """PRED's and TARGET's shards, both sharded, must hold the same number of rows."""
    if not (isinstance(pred, Concat) and isinstance(target, Concat)):
        return
    if pred.shape[0] != target.shape[0]:
        raise file_error(
            spec[1],
            f"has {target.shape[0]} rows in {len(target.parts)} shards but PRED {spec[0]} "
            f"has {pred.shape[0]} in {len(pred.parts)}; expected the shards' rows to add up "
            "to the same number",
        )
