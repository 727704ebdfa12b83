"""Usage errors (unknown option, bad choice, missing argument) in ce-loss's one error style.

Click shows them as a ``Usage:``/``Try``/``Error:`` block; ce-loss says every error the same
way: ``ce-loss: error: <what> (see ce-loss compute --help)`` on one line, exit status 2.
"""

import sys
from contextlib import contextmanager

from typer import _click
from typer.core import TyperGroup

from ..text import safe_text
from .colour import paint, set_mode


class UsageLine(_click.exceptions.UsageError):
    """A Click usage error shown as one ce-loss error line."""

    def show(self, file=None) -> None:
        stream = file if file is not None else sys.stderr
        what = self.format_message().rstrip(".")
        what = what[:1].lower() + what[1:]
        see = f" (see {self.ctx.command_path} --help)" if self.ctx is not None else ""
        line = safe_text(f"ce-loss: error: {what}{see}")
        stream.write(paint(line, "red", stream) + "\n")
        stream.flush()


@contextmanager
def _one_line():
    try:
        yield
    except _click.exceptions.NoArgsIsHelpError:
        raise  # `ce-loss compute` alone: the help, as asked
    except UsageLine:
        raise
    except _click.exceptions.UsageError as e:
        raise UsageLine(e.format_message(), ctx=e.ctx) from None


class OneLineErrors(TyperGroup):
    """ce-loss's command group: its own and its commands' usage errors as one line."""

    def make_context(self, *args, **kwargs):
        set_mode("auto")  # a new run: no --color read yet (CliRunner reuses the process)
        with _one_line():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx):
        with _one_line():
            return super().invoke(ctx)
