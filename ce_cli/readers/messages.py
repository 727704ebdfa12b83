"""How the readers word an error: about a file, with its position, and the values it quotes."""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import CeLossError


def file_error(
    name: str,
    what: str,
    hint: str | None = None,
    *,
    value: object = None,
    expected: str | None = None,
) -> CeLossError:
    """An error about the file called ``name`` (as given; ``"<stdin>"`` for standard input).

    Renders ``name is/has/holds ...`` or ``name: what``.
    """
    return error_at(name, None, what, hint, value=value, expected=expected)


def error_at(
    name: str,
    position: str | None,
    what: str,
    hint: str | None = None,
    *,
    value: object = None,
    expected: str | None = None,
) -> CeLossError:
    """An error at ``position`` in the file ``name`` (``line 7, column 3``, ``array 'y'[2]``,
    ``[1][0]``): renders ``name position: what`` (as :func:`file_error` without a position).
    """
    return CeLossError(
        what, file=name, position=position or None, hint=hint, value=value, expected=expected
    )


def show(text: str, limit: int = 40) -> str:
    """A cell or name quoted for a message, cut short when long."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def names_list(names: Iterable[object], limit: int = 12) -> str:
    """``a, b, c``; ``a, b, ..., (40 in all)`` beyond ``limit`` names."""
    shown = [str(n) for n in names]
    if len(shown) > limit:
        return ", ".join(shown[:limit]) + f", ... ({len(shown)} in all)"
    return ", ".join(shown)
