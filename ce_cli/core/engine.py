"""The one block engine: a loss over inputs of any size, block by block, on threads, into sinks.

:func:`run` is used by the in-memory API (:func:`ce_cli.core.evaluate` and the torch-named
functions) and by the command line alike:

1. the options are checked against the shapes (:func:`ce_cli.core.plan`);
2. for ``reduction="mean"`` the targets are counted first, a chunk of rows at a time, so the
   gradient can be scaled while it is produced;
3. a few cache-sized blocks of rows are computed at a time, spread over threads (NumPy releases
   the GIL), and handed in row order to the sinks (:mod:`ce_cli.sinks`): arrays in memory,
   ``.npy``/CSV files published whole or not at all, and any the caller adds; a sink with an
   ``observe`` method (an observer, e.g. :mod:`ce_cli.core.metrics`) is also told the problem
   (``begin(problem)``) and sees each block's inputs and targets on the worker thread
   (``observe(x, t, start, block)``), its answer handed back in ``block.observed[sink]``;
4. inputs are only sliced a block of rows at a time: a file the readers open
   (:mod:`ce_cli.readers.rows`) is read block by block, never whole; the pages of an input the
   caller memory-mapped are handed back to the OS once their rows are done, so the resident size
   does not grow with the file.

The loss is ``math.fsum`` of the sums of fixed segments of rows (correctly rounded, so
independent of order): results are identical bit for bit whatever the block size and the number
of threads.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import CeLossError
from ..settings import LossSpec, OutputSettings
from ..sinks import CsvSink, InMemory, MemorySink, NpySink, Sink
from .blocks import block_bounds, compute_block
from .checks import as_numeric
from .denominators import count_targets, denominator_of_counts, grad_scale, reduce_total
from .fast2d import release_scratch
from .layout import Layout
from .pages import Pages
from .plan import plan
from .problem import BlockResult, LossResult, Problem
from .threads import in_order

# Working set of one block, in values: inside the last-level cache while it is exponentiated and
# summed, big enough that NumPy's per-call overhead is noise. Measured on 100,000 x 1,000 and
# 2,000 x 50,257 with two threads: without a gradient 2**20 is ~20% faster than 2**19 (the
# float32 kernel's exponentials take 4 bytes a value); with one, whose float64 buffers take 8
# bytes a value and more of them, 2**19 is (2**20 took 1.8x as long).
BLOCK_ELEMENTS = 1 << 20
GRAD_BLOCK_ELEMENTS = 1 << 19
# ... and at most this many rows: every row also carries about a dozen float64 values of
# bookkeeping (target, weight, sums), which dominate when there are few classes.
BLOCK_ROWS = 1 << 14
# Rows of targets counted at a time for the mean's denominator.
TARGET_CHUNK = 1 << 16


def default_workers() -> int:
    """The CPUs this process may run on (``os.cpu_count()`` where affinity is unknown)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def open_input(a, role: str):
    """``a`` itself, or the ``.npy`` file when ``a`` is a path, read by rows on demand."""
    if not isinstance(a, (str, os.PathLike)):
        return a
    from ..readers import open_rows  # the one .npy reader (imported only for a path)

    return open_rows(a, role)


def run(
    spec: LossSpec, pred, target, out: OutputSettings | None = None, sinks: Sequence[Sink] = ()
) -> LossResult:
    """Compute the loss of ``spec`` over ``pred`` and ``target``; see :class:`OutputSettings`.

    ``pred`` and ``target`` are array-likes, read-only memory maps, ``.npy`` paths or arrays
    read by rows on demand (:mod:`ce_cli.readers.rows`). Besides the
    sinks ``out`` asks for, every block goes to each of ``sinks`` in row order; the gradient is
    computed when ``out.grad`` or ``out.save_grad`` asks for it (``block.grad`` is None
    otherwise), rounded to the saved dtype when it is not also kept in memory. On any exception
    (``KeyboardInterrupt`` too) every sink is discarded.
    """
    out = OutputSettings() if out is None else out
    x0, t0 = open_input(pred, "input"), open_input(target, "target")
    p = plan(spec, x0, t0)
    x0, t0, out, along = _one_pass(p, out, x0, t0)
    x0 = as_numeric(x0, "input")
    x, t = x0, as_numeric(t0, "target")
    lay = p.layout
    if lay.mode == "flat":  # classes last: the rows are the flattened rows (see .layout)
        x, t = lay.flat_inputs(x, t)
    elif not lay.moves:  # else the blocks are rows of the user's arrays
        x, t = x.reshape(p.input_shape), t.reshape(p.target_shape)
    core = p.rows_problem()
    want_grad = out.grad or out.save_grad is not None
    rows = _block_rows(core, out.block_elements, want_grad)
    workers = _workers(out.workers, -(-core.n_rows // rows))
    data = _Inputs(x, t, (Pages(x), Pages(t)), lay)
    counts = None if along else _count_all_targets(core, data)
    denom = denominator_of_counts(p, counts)  # counted along: no gradient to scale by it
    gdt = _saved_grad_dtype(out, x0.dtype)
    memory: dict[str, MemorySink] = {}
    own: list[Sink] = []
    try:
        own = _sinks_for(p, out, x0.shape, gdt, memory)
        scale = (grad_scale(p, denom), gdt)
        total = _drive(core, data, out, rows, workers, scale, [*own, *sinks, *along])
    except BaseException:
        for s in [*own, *sinks]:
            s.discard()
        raise
    if along:
        counts = along[0].counts
        denom = denominator_of_counts(p, counts)
    pe, g = memory.get("per_element"), memory.get("grad")
    return LossResult(
        problem=p,
        loss=reduce_total(p, total, denom),
        total=total,
        denominator=denom,
        per_element=None if pe is None else pe.array.reshape(p.out_shape),
        grad=None if g is None else g.array.reshape(x0.shape),
        target_counts=counts,
    )


def _block_rows(p: Problem, block_elements: int | None, want_grad: bool) -> int:
    if block_elements is None:
        most = GRAD_BLOCK_ELEMENTS if want_grad else BLOCK_ELEMENTS
        return p.block_rows(min(most, BLOCK_ROWS * p.row_elements))
    return p.block_rows(int(block_elements))


def _workers(workers: int | None, n_blocks: int) -> int:
    n = default_workers() if workers is None else int(workers)
    if n < 1:
        raise CeLossError(
            f"must be at least 1; got {n}", input="workers", value=n, expected="at least 1"
        )
    return min(n, max(1, n_blocks))


def _saved_grad_dtype(out: OutputSettings, input_dtype: np.dtype) -> np.dtype | None:
    """The dtype of the saved gradient: as asked, else the input's float dtype, else float64."""
    if out.save_grad is None:
        return None
    if out.grad_dtype is not None:
        gdt = np.dtype(out.grad_dtype)
    else:
        gdt = input_dtype if input_dtype.kind == "f" else np.dtype(np.float64)
    if gdt.kind != "f":
        raise CeLossError(
            f"must be a float type; got {gdt}",
            input="grad_dtype",
            value=str(gdt),
            expected="a float type",
        )
    return gdt


def _count_all_targets(p: Problem, data: _Inputs) -> np.ndarray | None:
    """count_targets over the whole target array, a chunk of rows at a time."""
    if p.soft:
        return None
    pages = data.pages[1]
    # flattened rows are read through data (the shift applied), others as the problem sees them
    t = data if data.layout.mode == "flat" else p.layout.target_view(data.t)
    step = max(1, TARGET_CHUNK // max(1, math.prod(p.target_shape[1:])))
    counts = np.zeros(p.n_classes or 0, dtype=np.int64)
    for start in range(0, p.n_rows, step):
        stop = min(p.n_rows, start + step)
        block = count_targets(p, t[start:stop])
        if block is not None:
            counts += block
        pages.release(stop)
    pages.rewind()
    return counts


def _one_pass(p: Problem, out: OutputSettings, x, t) -> tuple[Any, Any, OutputSettings, list]:
    """(input, target, settings, [a counter of the targets] or []) for one-pass sources
    (``one_pass``: a table parsed as its rows are asked for, see
    :mod:`ce_cli.readers.tablestream`), which counting the targets first would parse twice:
    they are counted along the pass instead, the mean's denominator taken at the end. A
    gradient is scaled as it is produced, so then (and for a layout that moves axes) such inputs
    are read whole first, as before streaming. The rows of a one-pass source are parsed one
    block at a time whatever the threads: by default one worker, since a second would mostly
    wait, and the parser's buffers, allocated on each thread that asks, would double."""
    if not any(getattr(a, "one_pass", False) for a in (x, t)):
        return x, t, out, []
    if out.workers is None:
        out = dataclasses.replace(out, workers=1)
    if p.soft or not getattr(t, "one_pass", False):
        return x, t, out, []
    if out.grad or out.save_grad is not None or p.layout.moves:
        whole = [np.asarray(a) if getattr(a, "one_pass", False) else a for a in (x, t)]
        return whole[0], whole[1], out, []
    return x, t, out, [_TargetCounter(p)]


class _TargetCounter(InMemory):
    """A sink that counts the targets of each block on the worker (as :func:`count_targets`
    does for the whole array first), summed in row order."""

    def __init__(self, p: Problem):
        self.counts = np.zeros(p.n_classes or 0, dtype=np.int64)

    def begin(self, p: Problem) -> None:
        self.p = p

    def observe(self, x, t, start: int, r: BlockResult):
        return count_targets(self.p, t)

    def write(self, start: int, stop: int, r: BlockResult) -> None:
        assert r.observed is not None
        block = r.observed[self]
        if block is not None:
            self.counts += block


def _sinks_for(
    p: Problem, out: OutputSettings, input_shape: tuple, gdt, memory: dict[str, MemorySink]
) -> list[Sink]:
    """The sinks ``out`` asks for; those in memory are also put in ``memory`` by field.

    Built one by one into the list the caller discards on error, so a file opened before a
    failing one is removed too.
    """
    made: list[Sink] = []
    try:
        if out.save_grad is not None:
            made.append(NpySink(out.save_grad, "grad", input_shape, gdt))
        if out.save_per_element is not None:
            if os.fspath(out.save_per_element).lower().endswith(".csv"):
                made.append(CsvSink(out.save_per_element, p.out_shape))
            else:
                made.append(NpySink(out.save_per_element, "per_element", p.out_shape, np.float64))
    except BaseException:
        for s in made:
            s.discard()
        raise
    keep_pe = out.per_element
    if keep_pe is None:  # by default: for reduction="none", unless written to a file
        keep_pe = p.reduction == "none" and out.save_per_element is None
    if keep_pe:
        memory["per_element"] = MemorySink("per_element", p.per_element_shape)
    if out.grad:
        memory["grad"] = MemorySink("grad", _grad_rows_shape(p, input_shape))
    return [*memory.values(), *made]


def _grad_rows_shape(p: Problem, input_shape: tuple) -> tuple:
    """The gradient as the blocks give it: the user's input for moved classes, the flattened
    rows for classes last, else the canonical shape."""
    if p.layout.mode == "flat":
        return p.rows_problem().input_shape
    return input_shape if p.layout.moves else p.input_shape


class _Inputs:
    """The arrays of a run, shaped as the engine's rows see them, their memory-map pages, and
    the layout that maps flattened rows back to the user's (see .layout)."""

    # a plain class, not a dataclass: making a dataclass costs ~1.5 ms of every run's start-up
    __slots__ = ("x", "t", "pages", "layout")

    def __init__(self, x: np.ndarray, t: np.ndarray, pages: tuple[Pages, Pages], layout: Layout):
        self.x = x
        self.t = t
        self.pages = pages
        self.layout = layout

    def __getitem__(self, key: slice) -> np.ndarray:
        """Targets of rows ``key``: what the blocks are scored against (the shift applied)."""
        if self.layout.mode != "flat":
            return self.t[key]
        return self.layout.flat_targets(self.t, key.start, key.stop)

    def compute(self, p: Problem, start: int, stop: int, kw: dict):
        """Block ``start:stop``: ``(x, t, result)``; positions in errors are the user's."""
        x, t = self.x[start:stop], self[start:stop]
        lay = self.layout
        if lay.mode != "flat":
            return x, t, compute_block(p, x, t, start, **kw)
        try:
            r = compute_block(p, x, t, start, **kw)
        except CeLossError as e:
            raise lay.user_error(e) from None
        r.out_start, r.kept = lay.flat_shown(start, stop)
        return x, t, r


def _drive(
    p: Problem,
    data: _Inputs,
    out: OutputSettings,
    rows: int,
    workers: int,
    grad: tuple,
    sinks: list[Sink],
) -> float:
    """Every block computed, handed to the sinks in row order; returns the summed loss.

    ``grad`` is ``(scale, saved dtype)``. The sinks are closed, then published, at the end.
    """
    scale, gdt = grad
    pages = data.pages
    want_grad = out.grad or out.save_grad is not None
    grad_dtype = None if out.grad else gdt  # float64 when also kept in memory; sinks round
    n = p.n_rows
    sums: list[np.ndarray] = []
    progress = out.progress
    observers = _observers(p, sinks)
    # (row_stats: the kernel's per-row by-products an observer asks for, see .rowstats)
    stats = next((o.row_stats for o in observers if getattr(o, "row_stats", None)), None)
    kw = {"want_grad": want_grad, "scale": scale, "grad_dtype": grad_dtype, "row_stats": stats}

    def work(b: tuple[int, int]) -> BlockResult:
        xb, tb, r = data.compute(p, b[0], b[1], kw)
        _observe(observers, xb, tb, b[0], r)
        return r

    def take(b: tuple[int, int], r: BlockResult) -> None:
        sums.append(r.segment_sums)
        for s in sinks:
            s.write(b[0], b[1], r)
        for pg in pages:
            pg.release(b[1])
        if progress is not None:
            progress(b[1], n)

    if progress is not None:
        progress(0, n)
    bounds = block_bounds(p, rows)
    if workers <= 1:
        try:
            for b in bounds:
                take(b, work(b))
        finally:
            release_scratch()  # keep no scratch after the call
    else:
        in_order(bounds, work, take, workers)
    for s in sinks:  # all complete and flushed (a full disk shows here) ...
        s.close()
    for s in sinks:  # ... before any takes its final name
        s.publish()
    return math.fsum(np.concatenate(sums)) if sums else 0.0


def _observers(p: Problem, sinks: list[Sink]) -> list[Any]:
    """The sinks that observe the blocks' inputs too (an ``observe`` method), told the problem."""
    observers: list[Any] = [s for s in sinks if hasattr(s, "observe")]
    for o in observers:
        o.begin(p)
    return observers


def _observe(observers: list[Any], x, t, start: int, r: BlockResult) -> None:
    """Each observer's view of a block, taken on the worker thread (no serial time)."""
    if observers:
        r.observed = {o: o.observe(x, t, start, r) for o in observers}
