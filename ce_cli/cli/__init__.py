"""The `ce-loss` command line: Typer commands over the library, one call each.

``script`` is the console script's entry point, ``main`` runs the command line in this process,
``app`` is the Typer application (for ``typer.testing.CliRunner``). ``app`` loads on first use:
the console script imports this package before ``script`` can handle Ctrl-C, so it stays light.
"""

from .entry import main, script

__all__ = ["app", "main", "script"]


def __getattr__(name):
    if name == "app":
        from .commands import app

        return app
    raise AttributeError(f"module 'ce_cli.cli' has no attribute {name!r}")
