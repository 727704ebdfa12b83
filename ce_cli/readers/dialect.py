"""How a table was written, from its first lines: by pandas, R, Excel or by hand.

Recognised, so that no habit of those tools turns into a wrong number:

- Excel's ``sep=;`` first line, semicolon separators and decimal commas (``0,5;1,25``);
- a separator after the last cell of every row (Excel, some exporters);
- a row index: an empty first header cell (``df.to_csv()``, R's ``write.csv``), a first
  column named ``Unnamed: 0`` (a pandas index written back), a header one cell shorter than
  the rows (R's ``write.table``);
- a header of bare column numbers, ``0,1,2,3``, as pandas writes for an unnamed DataFrame.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..errors import CeLossError

_SEP_LINE = re.compile(r'^"?sep=(.)"?$', re.IGNORECASE)
_INTEGER = re.compile(r"^\s*[+-]?\d+\s*$")
_DECIMAL_COMMA = re.compile(r"^\s*[+-]?(\d+,\d*|,\d+)([eE][+-]?\d+)?\s*$")
_UNNAMED_INDEX = re.compile(r"^Unnamed: 0$")
# Boolean labels as pandas (True), R (TRUE) and JSON-minded tools (true) write them.
BOOLEANS = {"true": 1.0, "false": 0.0}


def sep_line(line: str) -> str | None:
    """The separator an Excel ``sep=X`` first line declares, or None."""
    m = _SEP_LINE.match(line.rstrip("\r\n"))  # not strip(): the separator may be a tab
    return m.group(1) if m else None


def delimiter(first: str, second: str | None, fmt: str) -> str | None:
    """The separator of a table whose first data lines are ``first`` and ``second``.

    Commas, unless the lines hold semicolons and no commas between them (Excel where the
    decimal mark is a comma: ``0,5;1,25``); tabs; whitespace as ``numpy.savetxt`` writes.
    """
    if fmt == "tsv":
        return "\t"
    lines = [first] if second is None else [first, second]
    if all(";" in s for s in lines) and all(_semicolon_cells(s) for s in lines):
        return ";"
    if "," in first:
        return ","
    if "\t" in first:
        return "\t"
    if len(first.split()) > 1:
        return None  # whitespace, as numpy.savetxt writes by default
    return ","


def _semicolon_cells(line: str) -> bool:
    """Whether splitting at semicolons leaves at most one comma a cell (a decimal comma)."""
    return all(c.count(",") <= 1 for c in line.split(";"))


def decimal_comma(given: str | None, delim: str | None, sample: Sequence[str]) -> bool:
    """Whether the numbers are written with a decimal comma.

    ``given``: the decimal mark asked for ("." or ","); None detects it: a comma in the data
    cells of a table not separated by commas, where a comma can only be a decimal mark.
    """
    if given is not None:
        mark = given.strip()
        if mark not in (".", ","):
            raise CeLossError(f"must be '.' or ','; got {given!r}", input="decimal", value=given)
        return mark == ","
    if delim in (",", None):
        return False
    return any(_DECIMAL_COMMA.match(c) for c in sample)


def trailing_separator(first: str, second: str | None, delim: str | None) -> bool:
    """Whether every row ends with the separator, as some exporters write: ``1,2,3,``."""
    if delim is None or second is None:
        return False
    return first.rstrip(" ").endswith(delim) and second.rstrip(" ").endswith(delim)


def numbers_header(head: Sequence[str], second: Sequence[str] | None) -> bool:
    """Whether ``head`` is pandas' header of an unnamed DataFrame, ``0,1,2,...``, over rows
    of decimals (so that it cannot be a row of integers like the others)."""
    if second is None or len(head) < 2:
        return False  # one column: "0" over "1.5" is as likely a label as a header
    if any(c.strip() != str(j) for j, c in enumerate(head)):
        return False
    return any(not _INTEGER.match(c) for c in second)


def index_column(
    head: Sequence[str], header: bool, second: Sequence[str] | None, given: bool | None
) -> tuple[int, bool, str]:
    """(leading cells to skip, whether the header lacks the index's cell, why) of a table.

    ``given``: True to skip the first column, False to keep it, None to decide from the
    header: R's ``write.table`` header one cell short, an empty first header cell, a first
    column named ``Unnamed: 0``.
    """
    short = header and second is not None and len(second) == len(head) + 1
    if given is False:
        return 0, False, ""
    if given is True:
        return 1, short, "as asked"
    if short:
        return 1, True, "the header has one cell fewer than the rows, as R's write.table writes"
    if header and len(head) > 1 and any(c.strip() for c in head[1:]):
        first = head[0].strip()
        if not first:
            return 1, False, "its header cell is empty, as pandas' to_csv() and R's write.csv write"
        if _UNNAMED_INDEX.match(first):
            return 1, False, "it is named 'Unnamed: 0', a pandas index read and written back"
    return 0, False, ""


def is_row_index(column) -> bool:
    """Whether a column of numbers holds exactly 0, 1, ..., N-1 (N >= 3): a row index."""
    import numpy as np

    n = len(column)
    return n >= 3 and bool(np.array_equal(column, np.arange(n, dtype=np.float64)))
