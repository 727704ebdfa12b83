"""Where the classes are in the user's arrays, and the causal-LM shift: one place that knows.

The kernels see torch's layout, classes on dimension 1 (the *canonical* layout). A
:class:`Layout` maps the user's arrays to that layout and the results back:

- ``identity``: classes on dimension 1 already, no shift: nothing moves (the default);
- ``flat``: classes last (``(N, T, V)``, ``(N, H, W, C)``): the engine's rows are the
  flattened rows, ``M = N*T*...`` rows of ``V`` contiguous classes, so the whole run is the
  2-D ``(M, V)`` problem (:func:`flat_rows` views the arrays so, reading nothing) and blocks
  are sized as for a 2-D input; only what the user sees maps back (positions in errors,
  per-element values in the targets' shape, the gradient in the input's own layout);
- ``moved``: any other class dimension: ``np.moveaxis`` views of blocks of leading rows, made
  contiguous per block for the general kernels (so results equal those of the moved copy bit
  for bit), the gradient moved back.

``shift`` (Hugging Face's ``logits[..., :-1, :]`` against ``labels[..., 1:]``) runs along the
sequence dimension, the last dimension that is not the classes'; in the canonical layout that is
always the last axis. In ``flat`` mode with class-index targets flat row ``r = (n, t)`` is
scored against the flattened labels' row ``r + 1``, and against ``ignore_index`` at each
sequence's last position ``t = T-1``, which then counts nothing and gets a zero gradient; that
position is dropped from the per-element values.
"""

from __future__ import annotations

import math
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

    def head_positions(self, view, n: int) -> np.ndarray | None:
        """The first ``n`` positions of ``view`` (an :meth:`input_view` or :meth:`target_view`
        of classes-last data) as ``(n, C)`` rows of classes, reading only the flattened rows
        they lie in (a leading row of (N, T, V) may hold millions of values); None unless
        classes are last."""
        if self.mode != "flat":
            return None
        if not isinstance(view, _MovedRows):  # in memory: the leading rows holding them
            per = max(1, math.prod(view.shape[2:]))
            head = np.moveaxis(np.asarray(view[: -(-n // per)]), 1, -1)
            return head.reshape(-1, view.shape[1])[:n]
        flat = flat_rows(view._a, len(self.input_shape) - 1)
        if not self.shift:
            return np.asarray(flat[:n])
        seq = self.seq_len
        rows = np.asarray(flat[: min(len(flat), n + n // (seq - 1) + 1)])
        return rows[np.arange(rows.shape[0]) % seq != seq - 1][:n]

    def row_view(self, row: np.ndarray) -> np.ndarray:
        """One leading row of a user-layout gradient in the canonical layout (classes first)."""
        if not self.moves:
            return row
        v = np.moveaxis(np.asarray(row), self.class_dim - 1, 0)
        return v[..., :-1] if self.shift else v

    # blocks of leading rows, for the engine (moved mode) -------------------------------------

    def core_block(self, x: np.ndarray, t: np.ndarray):
        """A block of user rows as the kernels take it: ``(x, t)``, contiguous."""
        x = np.ascontiguousarray(np.moveaxis(x, self.class_dim, 1))
        if self.soft:
            t = np.moveaxis(t, self.class_dim, 1)
        if self.shift:
            x, t = x[..., :-1], t[..., 1:]
        return np.ascontiguousarray(x), np.ascontiguousarray(t)

    def user_results(self, x: np.ndarray, loss: np.ndarray, g: np.ndarray | None):
        """The kernels' per-element values and gradient of block ``x`` in the user's shapes."""
        if g is not None:
            if self.shift:
                full = np.zeros(g.shape[:-1] + (g.shape[-1] + 1,), dtype=g.dtype)
                full[..., :-1] = g
                g = full
            g = np.ascontiguousarray(np.moveaxis(g, 1, self.class_dim))
        return loss, g

    def user_error(self, e: CeLossError) -> CeLossError:
        """``e`` with its position in the canonical block turned into the user's array's."""
        if not self.moves or not isinstance(e.position, tuple):
            return e
        if e.input not in ("input", "target"):
            return e
        pos: list = list(e.position)
        if self.mode == "flat":  # pos[0] is a flattened row: the user's leading indices
            lead = self.input_shape[:-1]
            idx = [int(i) for i in np.unravel_index(pos[0], lead)] if pos else []
            if self.shift and e.input == "target" and idx:
                idx[-1] += 1
            e.position = tuple(idx + pos[1:])
            return e
        if self.shift and e.input == "target":
            pos[-1] += 1
        if len(pos) == len(self.input_shape):  # the position names a class
            pos.insert(self.class_dim, pos.pop(1))
        e.position = tuple(pos)
        return e

    # flattened rows, for the engine (flat mode) ----------------------------------------------

    @property
    def seq_len(self) -> int:
        """Positions per sequence (T): the flat rows a shift drops one of."""
        return int(self.input_shape[-2])

    def flat_inputs(self, x, t):
        """The user's input and targets as ``(M, V)`` rows and ``(M,)`` targets (``(M, V)``
        probabilities): views, nothing read."""
        return flat_rows(x, len(self.input_shape) - 1), flat_rows(t, len(self.input_shape) - 1)

    def flat_targets(self, t, start: int, stop: int) -> np.ndarray:
        """The targets flat rows ``start:stop`` are scored against: themselves, or under the
        shift the next row's label, ``ignore_index`` at each sequence's last position (read
        per block from rows ``start+1..``, no copy of the whole target)."""
        if not self.shift:
            return t[start:stop]
        n = len(t)
        nxt = np.asarray(t[start + 1 : min(stop + 1, n)])
        dt = nxt.dtype
        if not np.can_cast(np.min_scalar_type(self.ignore_index), dt):
            dt = np.dtype(np.int64)
        out = np.empty(stop - start, dtype=dt)
        out[: nxt.shape[0]] = nxt
        out[nxt.shape[0] :] = self.ignore_index
        seq = self.seq_len
        first_end = start + (seq - 1 - start % seq)  # the first row at t = T-1
        out[first_end - start :: seq] = self.ignore_index
        return out

    def flat_shown(self, start: int, stop: int) -> tuple[int, np.ndarray | None]:
        """Where the per-element values of flat rows ``start:stop`` go in the user's output:
        ``(index of the first, in out_shape flattened; the block's rows kept, None for all)``.
        Under the shift each sequence's last position is dropped."""
        if not self.shift:
            return start, None
        seq = self.seq_len
        rows = np.arange(start, stop)
        kept = np.flatnonzero(rows % seq != seq - 1)
        return start - start // seq, kept


def flat_rows(a, lead: int):
    """``a`` with its first ``lead`` dimensions as one: ``(M,) + shape[lead:]``, a view.

    A C-contiguous ndarray (a memory map too) is reshaped; an array-like read by rows gives
    its own view (a ``flat_rows(lead)`` method: a file's rows are then read by byte ranges of
    the new rows; it may return None); anything else is read through :class:`_FlatRows`,
    whose slices read the leading rows they lie in.
    """
    shape = tuple(a.shape)
    if lead <= 1:
        return a
    flat = (math.prod(shape[:lead]),) + shape[lead:]
    if isinstance(a, np.ndarray):
        # a reshape of a non-contiguous array (a Fortran-ordered memory map, say) would copy
        # it whole: such an array is read a block of leading rows at a time instead
        return a.reshape(flat) if a.flags.c_contiguous else _FlatRows(a, flat)
    own = getattr(a, "flat_rows", None)
    view = None if own is None else own(lead)  # None: it has no cheaper view (Fortran order)
    return _FlatRows(a, flat) if view is None else view


class _FlatRows:
    """Flattened rows of a row-sliceable ``a``: ``v[i:j]`` reads the leading rows that hold
    flat rows ``i..j`` (a leading row split by two blocks is read by both)."""

    by_rows = True

    def __init__(self, a, shape: tuple):
        self._a, self.shape = a, shape
        self.dtype, self.ndim = a.dtype, len(shape)
        self._per = max(1, shape[0] // max(1, a.shape[0]))

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key):
        if isinstance(key, slice) and key.step in (None, 1):
            start, stop, _ = key.indices(self.shape[0])
            stop = max(start, stop)
            lo, hi = start // self._per, -(-stop // self._per)
            rows = np.asarray(self._a[lo:hi]).reshape((-1,) + self.shape[1:])
            return rows[start - lo * self._per : stop - lo * self._per]
        return np.asarray(self)[key]

    def __array__(self, dtype=None, copy=None):
        whole = np.asarray(self._a).reshape(self.shape)
        return whole if dtype is None else whole.astype(dtype)


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
