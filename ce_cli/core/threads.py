"""Work on blocks spread over threads, results handed over in order in the calling thread."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

# Python's lock is handed to a waiting thread after this many seconds (5 ms by default) while
# the workers run: a worker back from a NumPy call waits for the thread holding it (the calling
# thread's bookkeeping, say), and a shorter wait measured 7% less time for the metrics.
SWITCH_INTERVAL = 1e-4


class _Job:
    """One block handed to a worker thread, and what came of it."""

    __slots__ = ("bounds", "done", "error", "result")

    def __init__(self, bounds: tuple[int, int]):
        self.bounds = bounds
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class _Workers:
    """Threads that run ``work`` on the jobs put in their queue, until told to stop."""

    def __init__(self, work: Callable[[tuple[int, int]], Any], n: int):
        import queue

        self.work = work
        self.tasks: queue.SimpleQueue = queue.SimpleQueue()
        self.stop = False
        self.threads = [
            threading.Thread(target=self._serve, name=f"ce-loss-{i}", daemon=True) for i in range(n)
        ]
        for th in self.threads:
            th.start()

    def _serve(self) -> None:
        while True:
            job = self.tasks.get()
            if job is None:
                return
            if not self.stop:
                try:
                    job.result = self.work(job.bounds)
                except BaseException as e:  # noqa: BLE001 (handed to the calling thread, in row order)
                    job.error = e
            job.done.set()

    def submit(self, bounds: tuple[int, int]) -> _Job:
        job = _Job(bounds)
        self.tasks.put(job)
        return job

    def shut(self) -> None:
        self.stop = True  # blocks not yet started are skipped
        for _ in self.threads:
            self.tasks.put(None)
        for th in self.threads:
            th.join()


def in_order(
    bounds: Iterator[tuple[int, int]],
    work: Callable[[tuple[int, int]], Any],
    take: Callable[[tuple[int, int], Any], None],
    workers: int,
) -> None:
    """``take(b, work(b))`` for every block in order, ``work`` run on ``workers`` threads.

    NumPy releases the GIL, so blocks compute in parallel. At most ``2 * workers`` blocks are in
    flight, so memory stays bounded; an error surfaces from the first bad block in row order.
    A plain pool of threads rather than concurrent.futures, whose import (logging with it) costs
    about 4 ms of every big run. Python's switch interval is SWITCH_INTERVAL meanwhile, and
    given back after.
    """
    import sys
    from collections import deque

    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, SWITCH_INTERVAL))
    pool = _Workers(work, workers)
    try:
        ahead: deque = deque()
        for b in bounds:
            ahead.append(pool.submit(b))
            if len(ahead) >= 2 * workers:
                break
        while ahead:
            job = ahead.popleft()
            job.done.wait()
            if job.error is not None:
                raise job.error
            nxt = next(bounds, None)
            if nxt is not None:  # keep the workers busy while this block is consumed
                ahead.append(pool.submit(nxt))
            result, job.result = job.result, None
            take(job.bounds, result)
            del result
    finally:
        pool.shut()
        sys.setswitchinterval(interval)
