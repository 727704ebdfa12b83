"""Big inputs: a loss over arrays or ``.npy`` files, block by block, on threads, in bounded memory.

:func:`evaluate` is :func:`ce_cli.core.evaluate` for inputs that do not fit (or should not be
copied) in memory. It takes arrays, read-only memory maps or ``.npy`` paths (opened with
``np.load(path, mmap_mode="r")``) and runs the core's block driver (:func:`ce_cli.core.drive`):

- a few cache-sized blocks of rows are in flight at a time, spread over threads (NumPy releases
  the GIL); the pages of a memory-mapped input are handed back to the OS once their rows are done,
  so the resident size does not grow with the file;
- the loss is ``math.fsum`` of fixed per-segment sums, so results are identical bit for bit to
  ``core.evaluate`` whatever the number of threads and the block size;
- the gradient and the per-element values can be written to ``.npy`` (or ``.csv`` for the
  per-element values) block by block, under a temporary name in the destination directory that is
  renamed into place only when complete: an error or Ctrl-C leaves no partial file behind;
- ``progress(done_rows, total_rows)`` is called from the calling thread after every block.

For ``reduction="mean"`` the gradient's scale needs the denominator first: the targets (small
next to the input for class indices) are read once before the input, block by block too.

    >>> import numpy as np
    >>> r = evaluate("ce", np.array([[2.0, 0.0], [0.0, 2.0]]), np.array([0, 1]), workers=2)
    >>> round(r.loss, 6)
    0.126928
"""

from __future__ import annotations

import mmap
import os
from typing import Callable

import numpy as np

from . import core
from .errors import CeLossError

# Working set of one block, in float64 values (4 MiB): well inside the last-level cache while it
# is exponentiated and summed, big enough that NumPy's per-call overhead is noise (measured:
# 2**17 to 2**19 values, the bigger the faster, on 100,000 x 1,000 and 2,000 x 50,257).
BLOCK_ELEMENTS = 1 << 19
# ... and at most this many rows: every row also carries about a dozen float64 values of
# bookkeeping (target, weight, sums), which dominate when there are few classes.
BLOCK_ROWS = 1 << 14
# Rows of targets counted at a time for the mean's denominator.
TARGET_CHUNK = 1 << 16

Progress = Callable[[int, int], None]


def default_workers() -> int:
    """The CPUs this process may run on (``os.cpu_count()`` where affinity is unknown)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def open_npy(path, name: str = "input") -> np.ndarray:
    """A read-only memory map of the ``.npy`` file at ``path`` (nothing is read yet)."""
    try:
        return np.load(os.fspath(path), mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as e:
        raise CeLossError(f"{os.fspath(path)}: cannot read as .npy ({e})", source=name) from None


def _array(a, name: str):
    if isinstance(a, (str, os.PathLike)):
        return open_npy(a, name)
    return a


def evaluate(
    loss: str,
    input,
    target,
    *,
    input_kind: str | None = None,
    weight=None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    pos_weight=None,
    grad: bool = False,
    per_element: bool | None = None,
    save_grad=None,
    grad_dtype=None,
    save_per_element=None,
    workers: int | None = None,
    block_elements: int | None = None,
    progress: Progress | None = None,
) -> core.LossResult:
    """Compute a loss over a big input block by block; values identical to ``core.evaluate``.

    ``input`` and ``target`` are arrays, memory maps or paths of ``.npy`` files; the loss options
    are those of :func:`ce_cli.core.evaluate`.

    - ``grad=True`` keeps the float64 gradient in memory (``result.grad``, the input's shape).
    - ``save_grad=path`` writes the gradient to a ``.npy`` file instead (``result.grad`` is None),
      in ``grad_dtype``: by default the input's dtype when it is a float type, else float64. The
      values are the float64 gradient rounded once to that dtype.
    - ``per_element`` (default ``reduction == "none"``) keeps the float64 per-element losses in
      memory; ``save_per_element=path`` writes them to ``.npy`` (float64, torch's
      ``reduction="none"`` shape) or ``.csv`` (header ``index,loss``, or ``index,d1,..,loss`` for
      K-dimensional inputs; values that read back exactly) instead.
    - ``workers`` threads (default: the CPUs available); ``block_elements`` float64 values of
      working set per block (default :data:`BLOCK_ELEMENTS`, at most :data:`BLOCK_ROWS` rows;
      rounded to whole segments of rows). Neither changes a bit of the result. Memory: about
      ``2 * workers + 1`` blocks in flight, plus the outputs kept in memory.
    - ``progress(done_rows, total_rows)`` is called from the calling thread, once with 0 and
      after every block; an exception it raises stops the run like any other.

    Files are written under a temporary name next to their destination and renamed into place at
    the end; on any exception (``KeyboardInterrupt`` too) they are removed and nothing is left.

    Returns a :class:`ce_cli.core.LossResult`.
    """
    x0 = core._as_numeric(_array(input, "input"), "input")
    t0 = core._as_numeric(_array(target, "target"), "target")
    p = core.plan(
        loss, x0, t0, input_kind=input_kind, weight=weight, ignore_index=ignore_index,
        reduction=reduction, label_smoothing=label_smoothing, pos_weight=pos_weight,
    )
    x = core._as_numeric(x0, "input").reshape(p.input_shape)
    t = core._as_numeric(t0, "target").reshape(p.target_shape)
    in_pages, t_pages = _Pages(x), _Pages(t)
    n = p.n_rows
    if block_elements is None:
        rows = p.block_rows(min(BLOCK_ELEMENTS, BLOCK_ROWS * p.row_elements))
    else:
        rows = p.block_rows(int(block_elements))
    n_blocks = -(-n // rows)
    workers = default_workers() if workers is None else int(workers)
    if workers < 1:
        raise CeLossError(f"workers must be at least 1; got {workers}", source="workers")
    workers = min(workers, max(1, n_blocks))

    counts = _count_targets(p, t, t_pages)
    denom = core.denominator_of_counts(p, counts)
    scale = core.grad_scale(p, denom)
    keep_pe = (reduction == "none") if per_element is None else bool(per_element)
    keep_pe = keep_pe and save_per_element is None
    want_grad = bool(grad) or save_grad is not None
    keep_grad = want_grad and save_grad is None
    if save_grad is not None:
        gdt = np.dtype(grad_dtype) if grad_dtype is not None else (
            x0.dtype if x0.dtype.kind == "f" else np.dtype(np.float64))
        if gdt.kind != "f":
            raise CeLossError(f"grad_dtype must be a float type; got {gdt}", source="grad_dtype")
    else:
        gdt = None
    pe_shape = (n,) + p.input_shape[2:] if p.categorical else p.input_shape

    outputs: list[_Output] = []
    try:
        grad_out = _NpyOutput(save_grad, np.shape(x0), gdt) if save_grad is not None else None
        if grad_out is not None:
            outputs.append(grad_out)
        pe_out = None
        if save_per_element is not None:
            if os.fspath(save_per_element).lower().endswith(".csv"):
                pe_out = _CsvOutput(save_per_element, p.out_shape, pe_shape)
            else:
                pe_out = _NpyOutput(save_per_element, p.out_shape, np.dtype(np.float64))
            outputs.append(pe_out)
        pe = np.empty(pe_shape) if keep_pe else None
        g = np.empty(p.input_shape) if keep_grad else None

        def consume(start: int, stop: int, r: core.BlockResult) -> None:
            if pe is not None:
                pe[start:stop] = r.per_element
            if g is not None:
                g[start:stop] = r.grad
            if grad_out is not None:
                grad_out.write(r.grad)
            if pe_out is not None:
                pe_out.write(r.per_element)
            in_pages.release(stop)
            t_pages.release(stop)
            if progress is not None:
                progress(stop, n)

        if progress is not None:
            progress(0, n)
        total = core.drive(
            p, x, t, want_grad=want_grad, scale=scale, block_rows=rows, workers=workers,
            grad_dtype=gdt, consume=consume,
        )
        for out in outputs:  # all complete and flushed (a full disk shows here) ...
            out.close()
        for out in outputs:  # ... before any takes its final name
            out.publish()
    except BaseException:
        for out in outputs:
            out.discard()
        raise
    return core.LossResult(
        problem=p,
        loss=core.reduce_total(p, total, denom),
        total=total,
        denominator=denom,
        per_element=None if pe is None else pe.reshape(p.out_shape),
        grad=None if g is None else g.reshape(np.shape(x0)),
        target_counts=counts,
    )


def _count_targets(p: core.Problem, t: np.ndarray, pages: "_Pages") -> np.ndarray | None:
    """core.count_targets over the whole target array, a chunk of rows at a time."""
    if p.soft:
        return None
    per_row = max(1, int(np.prod(p.target_shape[1:], dtype=np.int64)))
    step = max(1, TARGET_CHUNK // per_row)
    counts = np.zeros(p.n_classes, dtype=np.int64)
    for start in range(0, p.n_rows, step):
        stop = min(p.n_rows, start + step)
        counts += core.count_targets(p, t[start:stop])
        pages.release(stop)
    pages.rewind()
    return counts


class _Pages:
    """Hands the pages of a read-only memory-mapped array back to the OS once rows are done.

    The data stays in the page cache; dropping the mapping only keeps the resident size of this
    process from growing with the file. Anything but a C-ordered read-only ``np.memmap`` (or a
    view of one) is left alone, as are systems without ``madvise``.
    """

    def __init__(self, arr: np.ndarray):
        self.mm = None
        self.done = 0
        a = arr
        while isinstance(a, np.ndarray) and not isinstance(a, np.memmap):
            a = a.base
        mm = getattr(a, "_mmap", None) if isinstance(a, np.memmap) else None
        if (mm is None or getattr(a, "mode", None) != "r" or not hasattr(mm, "madvise")
                or not hasattr(mmap, "MADV_DONTNEED") or arr.ndim == 0
                or not arr.flags.c_contiguous or len(mm) == 0):
            return
        view = np.frombuffer(mm, dtype=np.uint8)
        base = view.ctypes.data
        del view
        self.mm = mm
        self.offset = arr.ctypes.data - base
        self.row_bytes = arr.strides[0] if arr.shape[0] else 0
        self.page = mmap.PAGESIZE

    def release(self, stop_row: int) -> None:
        """Rows before ``stop_row`` will not be read again: drop their whole pages."""
        if self.mm is None:
            return
        lo = (self.offset + self.done * self.row_bytes) // self.page * self.page
        hi = (self.offset + stop_row * self.row_bytes) // self.page * self.page
        if hi > lo:
            try:
                self.mm.madvise(mmap.MADV_DONTNEED, lo, hi - lo)
            except (OSError, ValueError):
                self.mm = None  # not worth failing a run over
                return
            self.done = stop_row

    def rewind(self) -> None:
        """The rows will be read again from the start (after the denominator's pass)."""
        self.done = 0


class _Output:
    """A file written front to back under a temporary name, renamed into place when complete."""

    def __init__(self, path):
        self.path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(self.path))
        name = os.path.basename(self.path)
        # os.urandom, not the secrets module: importing secrets costs 5 ms of start-up
        self.tmp = os.path.join(folder, f".{name}.{os.urandom(4).hex()}.part")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        try:
            # O_EXCL: never write into someone else's file; 0o666 so the umask applies as usual
            fd = os.open(self.tmp, flags, 0o666)
        except OSError as e:
            raise self._failed(e) from None
        self.f = os.fdopen(fd, "wb")

    def _failed(self, e: OSError) -> CeLossError:
        return CeLossError(f"cannot write {self.path}: {e.strerror or e}", source=self.path)

    def _write(self, data) -> None:
        try:
            self.f.write(data)
        except OSError as e:
            raise self._failed(e) from None

    def close(self) -> None:
        try:
            self.f.close()
        except OSError as e:
            raise self._failed(e) from None

    def publish(self) -> None:
        try:
            os.replace(self.tmp, self.path)
        except OSError as e:
            raise self._failed(e) from None

    def discard(self) -> None:
        try:
            self.f.close()
        except OSError:
            pass
        try:
            os.unlink(self.tmp)
        except OSError:
            pass


class _NpyOutput(_Output):
    """An ``.npy`` file of known shape and dtype, its rows appended block by block.

    Plain sequential writes rather than a writable memory map: dirty mapped pages would count in
    the resident size until written back, which a bounded-memory run cannot allow.
    """

    def __init__(self, path, shape: tuple, dtype: np.dtype):
        super().__init__(path)
        self.dtype = np.dtype(dtype)
        self.left = int(np.prod(shape, dtype=np.int64)) * self.dtype.itemsize
        try:
            header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False,
                      "shape": tuple(int(s) for s in shape)}
            try:
                np.lib.format.write_array_header_1_0(self.f, header)
            except ValueError:  # a header too long for format 1.0
                np.lib.format.write_array_header_2_0(self.f, header)
        except OSError as e:
            self.discard()
            raise self._failed(e) from None
        except BaseException:
            self.discard()
            raise

    def write(self, block: np.ndarray) -> None:
        data = np.ascontiguousarray(block, dtype=self.dtype)
        self.left -= data.nbytes
        if data.size:
            self._write(data.data.cast("B"))

    def close(self) -> None:
        if self.left != 0:
            raise RuntimeError(f"{self.path}: {self.left} bytes short of the array's size")
        super().close()


class _CsvOutput(_Output):
    """Per-element values as CSV: index columns then the loss, shortest round-trip text."""

    def __init__(self, path, out_shape: tuple, pe_shape: tuple):
        super().__init__(path)
        self.out_shape = tuple(out_shape)
        self.inner = int(np.prod(pe_shape[1:], dtype=np.int64))
        self.row = 0
        dims = len(self.out_shape)
        names = ["index"] + [f"d{k}" for k in range(1, dims)]
        self._write((",".join(names) + ",loss\n").encode())

    def write(self, block: np.ndarray) -> None:
        values = np.asarray(block, dtype=np.float64).reshape(-1)
        first = self.row * self.inner
        self.row += block.shape[0] if block.ndim else 1
        if len(self.out_shape) <= 1:
            # float repr is the shortest text that reads back to the same float (nan, inf too)
            text = "".join(map("{},{!r}\n".format, range(first, first + values.size),
                               values.tolist()))
        else:
            pos = np.unravel_index(np.arange(first, first + values.size), self.out_shape)
            cols = [c.tolist() for c in pos] + [values.tolist()]
            fmt = ",".join(["{}"] * len(pos)) + ",{!r}\n"
            text = "".join(fmt.format(*row) for row in zip(*cols))
        self._write(text.encode())
