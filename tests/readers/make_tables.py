"""Write the tables of tests/readers/test_tables_habits.py into tests/readers/tables/: one
problem (4 samples, 3 classes) saved as pandas, R and Excel save it, byte for byte.

    python tests/readers/make_tables.py          # rewrites the files in place

pandas' files are written here by hand too, and a test checks that pandas (when installed)
writes exactly these bytes. R is not installed where this was written: its files follow R's
documented defaults (``?write.table``): ``write.csv`` quotes strings and the header, writes the
row names as a first column headed ``""``, numbers with up to 15 significant digits, logicals as
``TRUE``/``FALSE``, ``\\n`` line ends; ``write.table`` separates by one space and leaves the
row names' header cell out (the header is one cell short). Excel's files are as its "Save as"
writes them: CRLF line ends; "CSV" in a locale whose decimal mark is a comma separates by
semicolons; "CSV" on Windows is cp1252; "Unicode Text" is UTF-16 LE with its byte-order mark,
separated by tabs; some exports end every row with the separator, or start with ``sep=;``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
TABLES = HERE / "tables"

LOGITS = np.array([[2.0, 0.5, -1.0], [0.1, 1.2, 0.3], [-0.5, 0.0, 2.5], [1.0, 1.0, 1.25]])
LABELS = np.array([0, 1, 2, 1])
CLASSES = ["cat", "dog", "bird"]
# binary problem: probabilities and True/False labels
PROBS = np.array([0.9, 0.2, 0.65, 0.4])
FLAGS = np.array([True, False, True, True])


def _rows(cells: list[list[str]], sep: str = ",", end: str = "\n") -> str:
    return "".join(sep.join(r) + end for r in cells)


def _r15(v: float) -> str:
    """A number as R prints it with 15 significant digits (``format(v, digits=15)``)."""
    return f"{v:.15g}"


def tables() -> dict[str, bytes]:
    x = [[repr(float(v)) for v in row] for row in LOGITS]
    y = [str(int(v)) for v in LABELS]
    f: dict[str, bytes] = {}
    # pandas
    f["pandas_index.csv"] = _rows(
        [["", "0", "1", "2", "label"]] + [[str(i), *x[i], y[i]] for i in range(4)]
    ).encode()
    f["pandas_unnamed.csv"] = _rows(
        [["Unnamed: 0", "0", "1", "2", "label"]] + [[str(i), *x[i], y[i]] for i in range(4)]
    ).encode()
    f["pandas_numbers_header.csv"] = _rows([["0", "1", "2"]] + x).encode()
    f["pandas_series.csv"] = _rows([["", "0"]] + [[str(i), y[i]] for i in range(4)]).encode()
    f["pandas_bool.csv"] = _rows(
        [["p", "label"]] + [[repr(float(p)), str(bool(t))] for p, t in zip(PROBS, FLAGS)]
    ).encode()
    # R
    rx = [[_r15(float(v)) for v in row] for row in LOGITS]
    f["r_write_csv.csv"] = _rows(
        [['""', '"cat"', '"dog"', '"bird"', '"label"']]
        + [[f'"{i + 1}"', *rx[i], y[i]] for i in range(4)]
    ).encode()
    f["r_write_table.txt"] = _rows(
        [['"cat"', '"dog"', '"bird"', '"label"']]
        + [[f'"{i + 1}"', *rx[i], y[i]] for i in range(4)],
        sep=" ",
    ).encode()
    f["r_logical.csv"] = _rows(
        [['"p"', '"y"']]
        + [[_r15(float(p)), "TRUE" if t else "FALSE"] for p, t in zip(PROBS, FLAGS)]
    ).encode()
    # Excel
    comma = [[c.replace(".", ",") for c in row] for row in x]
    head = ["chat", "chien", "oiseau", "label"]
    f["excel_semicolon.csv"] = _rows(
        [head] + [[*comma[i], y[i]] for i in range(4)], sep=";", end="\r\n"
    ).encode("cp1252")
    f["excel_sep_line.csv"] = (
        "sep=;\r\n" + _rows([head] + [[*comma[i], y[i]] for i in range(4)], sep=";", end="\r\n")
    ).encode("cp1252")
    f["excel_cp1252.csv"] = _rows(
        [["caf\u00e9", "th\u00e9", "cr\u00e8me", "label"]] + [[*x[i], y[i]] for i in range(4)],
        end="\r\n",
    ).encode("cp1252")
    f["excel_unicode.txt"] = _rows(
        [CLASSES + ["label"]] + [[*x[i], y[i]] for i in range(4)], sep="\t", end="\r\n"
    ).encode("utf-16")
    f["excel_trailing.csv"] = _rows(
        [CLASSES + ["label", ""]] + [[*x[i], y[i], ""] for i in range(4)], end="\r\n"
    ).encode()
    return f


def write(root: Path = TABLES) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in tables().items():
        p = root / name
        p.write_bytes(data)
        paths.append(p)
    return paths


if __name__ == "__main__":
    print(f"wrote {len(write(Path(sys.argv[1]) if len(sys.argv) > 1 else TABLES))} files")
