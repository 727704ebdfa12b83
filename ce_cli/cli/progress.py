"""The progress bar ce-loss shows on stderr while a long run works through its input."""

import sys
from typing import Any


class Progress:
    """A progress bar on stderr for runs that take more than about a second.

    Off when stderr is not a terminal or with --quiet; Rich is imported only if the bar appears.
    """

    DELAY = 1.0

    def __init__(self, quiet: bool):
        self.enabled = not quiet and sys.stderr.isatty()
        self.start: float | None = None
        self.bar: Any = None  # a rich.progress.Progress once shown
        self.task: Any = None

    def __enter__(self):
        return self if self.enabled else None

    def __call__(self, done: int, total: int) -> None:
        import time

        now = time.monotonic()
        if self.start is None:
            self.start = now
        if self.bar is None:
            if now - self.start < self.DELAY or done >= total:
                return
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeRemainingColumn

            self.bar = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                TaskProgressColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task("computing", total=total)
        self.bar.update(self.task, completed=done)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False
