"""When ce-loss colours what it prints, and in which colour: meaning or nothing.

Green is a loss without warnings and a passing check, yellow a warning (and a loss that comes
with one), red an error, a failing check or a NaN loss. ``--color auto`` (the default) colours a
stream only when it is a terminal, never with ``NO_COLOR`` set, always with ``FORCE_COLOR`` set;
``--color always`` and ``--color never`` decide whatever the stream and the environment.
"""

import os
import sys
from typing import TextIO

_CODES = {"green": "32", "yellow": "33", "red": "31", "bold": "1"}

# Set once per run from --color; an error before the options are read uses "auto".
_mode = ["auto"]


def set_mode(mode: str) -> None:
    _mode[0] = mode


def wanted(stream: TextIO) -> bool:
    """Whether text written to ``stream`` gets colour."""
    mode = _mode[0]
    if mode != "auto":
        return mode == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (ValueError, OSError):  # a closed stream
        return False


def paint(text: str, colour: str, stream: TextIO | None = None) -> str:
    """``text`` in ``colour`` when ``stream`` (stdout by default) gets colour; as is otherwise."""
    if not wanted(stream if stream is not None else sys.stdout):
        return text
    return f"\x1b[{_CODES[colour]}m{text}\x1b[0m"


def console():
    """A Rich console on stdout that colours exactly when :func:`wanted` says so."""
    from rich.console import Console

    # emoji=False: a file or class name like :cat: is shown as typed (and it skips 2 ms of
    # emoji tables at start-up)
    if wanted(sys.stdout):
        return Console(highlight=False, emoji=False, force_terminal=True, no_color=False)
    return Console(highlight=False, emoji=False, color_system=None)
