"""Where the classes are in the user's arrays, and the causal-LM shift: one place that knows.

The kernels see torch's layout, classes on dimension 1 (the *canonical* layout). A
:class:`Layout` maps a block of the user's arrays (rows of their leading dimension) to that
layout and the results back:

- ``identity``: classes on dimension 1 already, no shift: nothing moves (the default);
- ``flat``: classes last (``(N, T, V)``, ``(N, H, W, C)``): a block is the 2-D ``(n*T, V)``
  problem as a reshape (a view of a C-contiguous block, no transposed copy), so it takes the
  fast path of :mod:`ce_cli.core.fast2d`; the per-element values come back in the targets'
  shape and the gradient in the input's own layout by a reshape;
- ``moved``: any other class dimension: ``np.moveaxis`` views, made contiguous per block for
  the general kernels (so results equal those of the moved copy bit for bit), the gradient
  moved back.

``shift`` (Hugging Face's ``logits[..., :-1, :]`` against ``labels[..., 1:]``) runs along the
sequence dimension, the last dimension that is not the classes'; in the canonical layout that is
always the last axis. In ``flat`` mode with class-index targets the shifted targets are padded
with ``ignore_index`` at each sequence's last position, which then counts nothing and gets a zero
gradient; that position is dropped from the per-element values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import CeLossError


@dataclass(frozen=True, eq=False)
class Layout:
    """How the user's ``input_shape``/``target_shape`` map to the canonical problem."""

    mode: str = "identity"  # identity, flat or moved
    class_dim: int = 1  # in the user's input, counted from 0
    shift: bool = False
    soft: bool = False
    ignore_index: int = -100
    input_shape: tuple = ()
    target_shape: tuple = ()

    @property
    def moves(self) -> bool:
        return self.mode != "identity"

    # whole arrays, for what is shown (views, never copies) -----------------------------------

    def input_view(self, a):
        """A user-layout input (or gradient) as the canonical layout sees it: a view (rows
        read on demand when ``a`` is a file read by rows)."""
        if a is None or not self.moves:
            return a
        return _by_rows(a, self._input_rows)

    def target_view(self, t):
        """The user's targets as the canonical layout sees them: a view."""
        if t is None or not self.moves:
            return t
        return _by_rows(t, self._target_rows)

    def _input_rows(self, v: np.ndarray) -> np.ndarray:
        v = np.moveaxis(v, self.class_dim, 1)
        return v[..., :-1] if self.shift else v

    def _target_rows(self, v: np.ndarray) -> np.ndarray:
        if self.soft:
            v = np.moveaxis(v, self.class_dim, 1)
        return v[..., 1:] if self.shift else v

    def row_view(self, row: np.ndarray) -> np.ndarray:
        """One leading row of a user-layout gradient in the canonical layout (classes first)."""
        if not self.moves:
            return row
        v = np.moveaxis(np.asarray(row), self.class_dim - 1, 0)
        return v[..., :-1] if self.shift else v

    # blocks, for the engine ------------------------------------------------------------------

    def core_block(self, x: np.ndarray, t: np.ndarray):
        """A block of user rows as the kernels take it: ``(x, t)``."""
        if self.mode == "flat":
            c = x.shape[-1]
            if self.shift:
                t = self._padded_shift(t)
            return x.reshape(-1, c), t.reshape((-1, c) if self.soft else -1)
        x = np.ascontiguousarray(np.moveaxis(x, self.class_dim, 1))
        if self.soft:
            t = np.moveaxis(t, self.class_dim, 1)
        if self.shift:
            x, t = x[..., :-1], t[..., 1:]
        return np.ascontiguousarray(x), np.ascontiguousarray(t)

    def _padded_shift(self, t: np.ndarray) -> np.ndarray:
        """Targets moved one position back along the sequence, ignore_index at the end."""
        dt = t.dtype
        if not np.can_cast(np.min_scalar_type(self.ignore_index), dt):
            dt = np.dtype(np.int64)
        out = np.empty(t.shape, dtype=dt)
        out[..., :-1] = t[..., 1:]
        out[..., -1] = self.ignore_index
        return out

    def user_results(self, x: np.ndarray, loss: np.ndarray, g: np.ndarray | None):
        """The kernels' per-element values and gradient of block ``x`` in the user's shapes."""
        n = x.shape[0]
        if self.mode == "flat":
            loss = loss.reshape(x.shape[:-1])
            if self.shift:
                loss = loss[..., :-1]
            return loss, (None if g is None else g.reshape(x.shape))
        if g is not None:
            if self.shift:
                full = np.zeros((n,) + g.shape[1:-1] + (g.shape[-1] + 1,), dtype=g.dtype)
                full[..., :-1] = g
                g = full
            g = np.ascontiguousarray(np.moveaxis(g, 1, self.class_dim))
        return loss, g

    def user_error(self, e: CeLossError, x: np.ndarray, start: int) -> CeLossError:
        """``e`` with its position in the canonical block turned into the user's array's."""
        pos = e.position
        if not self.moves or not isinstance(pos, tuple) or e.input not in ("input", "target"):
            return e
        e.position = self._user_position(list(pos), e.input, x, start)
        return e

    def _user_position(self, pos: list, role: str, x: np.ndarray, start: int) -> tuple:
        target_shift = self.shift and role == "target"
        if self.mode == "flat":
            lead = x.shape[:-1]
            idx = [int(i) for i in np.unravel_index(pos[0], lead)]
            idx[0] += start
            if target_shift:
                idx[-1] += 1
            return tuple(idx + pos[1:])
        if target_shift:
            pos[-1] += 1
        if len(pos) == len(x.shape):  # the position names a class
            pos.insert(self.class_dim, pos.pop(1))
        return tuple(pos)


def _by_rows(a, move):
    """``move`` (a view that keeps the leading dimension) of ``a``: at once for an array, row
    block by row block for anything else (a file read by rows is never read whole here)."""
    if isinstance(a, np.ndarray):
        return move(a)
    return _MovedRows(a, move)


class _MovedRows:
    """Rows of ``a`` seen through ``move``, read when sliced: ``v[i:j]`` reads rows i..j."""

    by_rows = True  # kept and sliced, never read whole (ce_cli.core.checks.as_numeric)

    def __init__(self, a, move):
        self._a, self._move = a, move
        head = move(np.asarray(a[0:0]))
        self.shape = (len(a),) + tuple(head.shape[1:])
        self.dtype, self.ndim = head.dtype, len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key):
        if isinstance(key, slice) and key.step in (None, 1):
            return self._move(np.asarray(self._a[key]))
        return np.asarray(self)[key]

    def __array__(self, dtype=None, copy=None):
        whole = self._move(np.asarray(self._a))
        return whole if dtype is None else whole.astype(dtype)
