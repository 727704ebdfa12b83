"""pyarrow's CSV parser, np.loadtxt and the cell-by-cell parse agree: the same values bit for bit and the same
message for every table of the corpus, of random tables and of random cells (issue 13)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ce_cli.errors import CeLossError
from ce_cli.readers import fastcsv, load
from ce_cli.readers import table as table_module
from ce_cli.settings import ReadSettings

pytest.importorskip("pyarrow")

BAD = Path(__file__).resolve().parents[1] / "bad_inputs"
TABLES = Path(__file__).resolve().parent / "tables"


def both(pred: str, target: str | None = None, s: ReadSettings | None = None):
    """(result or message) of reading with pyarrow, with np.loadtxt, and cell by cell; the last
    two are compared by the caller with the first."""
    out = []
    for fast, quick in ((True, True), (False, True), (False, False)):
        table_module.FAST, table_module.LOADTXT = fast, quick
        try:
            r = load(pred, target, s)
            out.append(
                ("ok", np.asarray(r.pred).tobytes(), r.pred.shape, _t(r.target), r.class_names)
            )
        except CeLossError as e:
            out.append(("error", str(e), e.hint))
        finally:
            table_module.FAST = table_module.LOADTXT = True
    assert out[1] == out[2], "np.loadtxt and the cell-by-cell parse disagree"
    return out[:2]


def _t(a):
    return None if a is None else (a.dtype.str, np.asarray(a).tobytes())


def _csv_cases():
    for case in json.loads((BAD / "cases.json").read_text()):
        files = [a for a in case["args"] if a.endswith((".csv", ".tsv", ".txt"))]
        if files:
            yield case["id"], [a for a in case["args"][1:] if a.startswith("files/")]


@pytest.mark.parametrize("cid,paths", list(_csv_cases()))
def test_corpus_same_values_and_messages(cid, paths, monkeypatch):
    monkeypatch.chdir(BAD)
    fast, precise = both(*paths[:2])
    assert fast == precise


@pytest.mark.parametrize("name", sorted(p.name for p in TABLES.iterdir()))
def test_habits_same_values_and_messages(name):
    fast, precise = both(str(TABLES / name))
    assert fast == precise


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    x=st.lists(
        st.lists(st.floats(allow_nan=False, width=32), min_size=3, max_size=3),
        min_size=1,
        max_size=30,
    ),
    fmt=st.sampled_from(["%r", "%.7g", "%.17g", "%e"]),
    crlf=st.booleans(),
    header=st.booleans(),
)
def test_random_tables_agree(tmp_path, x, fmt, crlf, header):
    end = "\r\n" if crlf else "\n"
    text = ("a,b,c,label" + end) if header else ""
    text += "".join(",".join(fmt % v for v in row) + f",{i % 3}" + end for i, row in enumerate(x))
    p = tmp_path / "t.csv"
    p.write_text(text, newline="")
    s = ReadSettings(target_column=3)
    fast, precise = both(str(p), None, s)
    assert fast == precise
    assert fast[0] == "ok"


CELL = st.text(alphabet='0123456789.eE+-_ infatyINFATYx,"', min_size=0, max_size=8)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cells=st.lists(CELL, min_size=2, max_size=2))
def test_random_cells_agree(tmp_path, cells):
    """What pyarrow accepts that Python's float does not (or reads otherwise) never passes."""
    p = tmp_path / "t.csv"
    p.write_text("a;b\n" + ";".join(cells) + "\n1;2\n")
    np.save(tmp_path / "y.npy", np.array([0, 1]))
    fast, precise = both(str(p), str(tmp_path / "y.npy"))
    assert fast == precise


def test_without_pyarrow_the_precise_parser_reads(monkeypatch, tmp_path):
    monkeypatch.setattr(fastcsv, "available", lambda: False)
    shutil.copy(TABLES / "pandas_index.csv", tmp_path / "p.csv")
    assert load(str(tmp_path / "p.csv")).pred.shape == (4, 3)


def test_plain_tables_take_the_fast_path(monkeypatch, tmp_path):
    seen = []
    real = fastcsv._blocks

    def counting(*a):
        seen.append(1)
        yield from real(*a)

    monkeypatch.setattr(fastcsv, "_blocks", counting)
    p = tmp_path / "t.csv"
    p.write_text("a,b,label\n1.5,2,0\n3,4,1\n")
    assert load(str(p)).pred.tolist() == [[1.5, 2.0], [3.0, 4.0]]
    assert seen


FAST_RSS = """
import sys
from ce_cli import readers

def peak():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM"))

before = peak()
readers.load(sys.argv[1])
small = peak() - before
r = readers.load(sys.argv[2])
print(peak() - before - small, r.pred.nbytes)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmHWM as on Linux")
def test_fast_path_memory_beyond_pyarrows_own_is_near_the_values(tmp_path):
    """Past pyarrow's fixed cost (its libraries, paid by a small table first), a table's peak
    grows by its float64 values and pyarrow's read-ahead of a few dozen blocks (~40 MB), not by
    its text."""
    import subprocess
    import sys

    rng = np.random.default_rng(22)
    x = rng.standard_normal((100_000, 20)).astype(np.float32)
    np.savetxt(tmp_path / "small.csv", x[:50], delimiter=",", fmt="%.7g")
    np.savetxt(tmp_path / "big.csv", x, delimiter=",", fmt="%.7g")
    out = subprocess.run(
        [sys.executable, "-c", FAST_RSS, str(tmp_path / "small.csv"), str(tmp_path / "big.csv")],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    growth, values = map(int, out.stdout.split())
    assert growth < values + 50e6, f"grew {growth / 1e6:.1f} MB for {values / 1e6} MB"
