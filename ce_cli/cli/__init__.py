"""The `ce-loss` command line: Typer commands over the library, one call each.

``script`` is the console script's entry point, ``main`` runs the command line in this process,
``app`` is the Typer application (for ``typer.testing.CliRunner``).
"""

from .commands import app
from .entry import main, script

__all__ = ["app", "main", "script"]
