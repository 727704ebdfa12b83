"""Tables as pandas, R and Excel write them (issue 13): each read to torch's numbers, or
refused with a message that says what was seen and what to do; never a silent wrong number."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ce_cli.core import run
from ce_cli.errors import CeLossError
from ce_cli.readers import load
from ce_cli.readers import table as table_module
from ce_cli.settings import LossSpec, OutputSettings, ReadSettings

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_tables as mt  # noqa: E402

TABLES = HERE / "tables"


def loss(pred, target, kind: str = "ce") -> float:
    return run(LossSpec(loss=kind), pred, target, OutputSettings()).loss


CE = loss(mt.LOGITS, mt.LABELS)
BCE = loss(mt.PROBS, mt.FLAGS.astype(np.float64), "bce")

READ = {
    "pandas_index.csv": ReadSettings(),
    "pandas_unnamed.csv": ReadSettings(),
    "r_write_csv.csv": ReadSettings(),
    "r_write_table.txt": ReadSettings(),
    "excel_semicolon.csv": ReadSettings(),
    "excel_sep_line.csv": ReadSettings(),
    "excel_cp1252.csv": ReadSettings(encoding="cp1252"),
    "excel_unicode.txt": ReadSettings(),
    "excel_trailing.csv": ReadSettings(),
}


@pytest.fixture(params=[True, False], ids=["fast", "precise"])
def parser(request, monkeypatch):
    monkeypatch.setattr(table_module, "FAST", request.param)
    return request.param


def test_committed_tables_are_what_the_script_writes():
    for name, data in mt.tables().items():
        assert (TABLES / name).read_bytes() == data, name


@pytest.mark.parametrize("name", sorted(READ))
def test_table_gives_the_loss_of_its_arrays_bit_for_bit(name, parser):
    r = load(str(TABLES / name), settings=READ[name])
    assert r.pred.tolist() == mt.LOGITS.tolist()
    assert r.target.tolist() == mt.LABELS.tolist()
    assert loss(r.pred, r.target) == CE


def test_index_column_is_skipped_with_a_warning():
    r = load(str(TABLES / "pandas_unnamed.csv"))
    assert r.class_names == ["0", "1", "2"]
    assert len(r.warnings) == 1 and "column 1 is a row index" in r.warnings[0]
    assert "--no-index-col" in r.warnings[0]


def test_pandas_series_of_labels_with_its_index(parser, tmp_path):
    np.save(tmp_path / "logits.npy", mt.LOGITS)
    r = load(str(tmp_path / "logits.npy"), str(TABLES / "pandas_series.csv"))
    assert r.target.tolist() == mt.LABELS.tolist()
    assert loss(r.pred, r.target) == CE


def test_header_of_column_numbers(parser, tmp_path):
    np.save(tmp_path / "labels.npy", mt.LABELS)
    r = load(str(TABLES / "pandas_numbers_header.csv"), str(tmp_path / "labels.npy"))
    assert r.pred.tolist() == mt.LOGITS.tolist() and r.class_names == ["0", "1", "2"]


@pytest.mark.parametrize("name", ["pandas_bool.csv", "r_logical.csv"])
def test_boolean_labels_of_a_binary_loss(name, parser):
    r = load(str(TABLES / name))
    assert r.target.tolist() == mt.FLAGS.astype(float).tolist()
    assert loss(r.pred, r.target, "bce") == BCE


def test_unexplained_row_index_is_refused_with_a_hint(parser, tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("".join(f"{i},{a},{b}\n" for i, (a, b, _) in enumerate(mt.LOGITS)))
    with pytest.raises(CeLossError) as e:
        load(str(p), str(TABLES / "pandas_series.csv"))
    assert str(e.value) == f"{p} column 1: holds 0, 1, 2, ..., 3, a row index rather than scores"
    assert e.value.render_hint({"index_col": "--index-col", "no_index_col": "--no-index-col"}) == (
        "skip it with --index-col, or score it with --no-index-col"
    )
    r = load(str(p), str(TABLES / "pandas_series.csv"), ReadSettings(index_col=True))
    assert r.pred.tolist() == mt.LOGITS[:, :2].tolist()
    r = load(str(p), str(TABLES / "pandas_series.csv"), ReadSettings(index_col=False))
    assert r.pred[:, 0].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_cp1252_without_encoding_says_which(parser):
    with pytest.raises(CeLossError) as e:
        load(str(TABLES / "excel_cp1252.csv"))
    assert "byte 0xe9 at offset 3 is not UTF-8 text" in str(e.value)
    assert "cp1252" in e.value.hint


def test_decimal_comma_given_or_refused(parser, tmp_path):
    p = tmp_path / "d.tsv"
    p.write_text("0,5\t1,5\n2\t-0,25\n")
    np.save(tmp_path / "y.npy", np.array([0, 1]))
    assert load(str(p), str(tmp_path / "y.npy")).pred.tolist() == [[0.5, 1.5], [2.0, -0.25]]
    # told the mark is a point, the first row is a header and the second is refused
    with pytest.raises(CeLossError, match=r"line 2, column 2 \('1,5'\): '-0,25' is not a number"):
        load(str(p), str(tmp_path / "y.npy"), ReadSettings(decimal="."))
    c = tmp_path / "c.csv"
    c.write_text("1,2\n3,4\n")
    with pytest.raises(CeLossError, match="cells separated by commas cannot have decimal commas"):
        load(str(c), str(tmp_path / "y.npy"), ReadSettings(decimal=","))


def test_thousands_separators_are_not_numbers(parser, tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("a;b;label\n1.234,5;2;0\n")
    with pytest.raises(CeLossError, match=r"line 2, column 1 \('a'\): '1.234,5' is not a number"):
        load(str(p))


def test_the_two_examples_of_the_issue_give_torchs_values(tmp_path):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    df = pd.DataFrame(x)
    df["label"] = y
    df.to_csv(tmp_path / "p.csv")
    pd.read_csv(tmp_path / "p.csv").to_csv(tmp_path / "q.csv", index=False)
    np.save(tmp_path / "logits.npy", x)
    pd.Series(y).to_csv(tmp_path / "labels.csv")
    want = repr(loss(x, y))
    for args in (["q.csv"], ["logits.npy", "labels.csv"], ["p.csv"]):
        out = subprocess.run(
            [sys.executable, "-m", "ce_cli", "compute", *args, "--format", "plain"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == want
        assert "row index" in out.stderr


def test_pandas_writes_these_bytes(tmp_path):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(mt.LOGITS)
    df["label"] = mt.LABELS
    assert df.to_csv() == (TABLES / "pandas_index.csv").read_text()
    df.to_csv(tmp_path / "p.csv")
    pd.read_csv(tmp_path / "p.csv").to_csv(tmp_path / "q.csv", index=False)
    assert (tmp_path / "q.csv").read_bytes() == (TABLES / "pandas_unnamed.csv").read_bytes()
    assert (
        pd.DataFrame(mt.LOGITS).to_csv(index=False)
        == (TABLES / "pandas_numbers_header.csv").read_text()
    )
    assert pd.Series(mt.LABELS).to_csv() == (TABLES / "pandas_series.csv").read_text()
    b = pd.DataFrame({"p": mt.PROBS, "label": mt.FLAGS}).to_csv(index=False)
    assert b == (TABLES / "pandas_bool.csv").read_text()


@settings(max_examples=80, deadline=None)
@given(
    sep=st.sampled_from([",", ";", "\t"]),
    decimal_comma=st.booleans(),
    trailing=st.booleans(),
    index=st.sampled_from([None, "empty", "unnamed"]),
    crlf=st.booleans(),
    sep_line=st.booleans(),
    bom=st.booleans(),
    rows=st.integers(2, 12),
    seed=st.integers(0, 2**16),
)
def test_random_quirks_read_the_same_numbers(
    sep, decimal_comma, trailing, index, crlf, sep_line, bom, rows, seed
):
    """A table written with any mix of the habits above gives its values bit for bit."""
    decimal_comma = decimal_comma and sep != ","
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, 3))
    y = rng.integers(0, 3, rows)
    end = "\r\n" if crlf else "\n"
    tail = sep if trailing else ""

    def num(v: float) -> str:
        t = repr(float(v))
        return t.replace(".", ",") if decimal_comma else t

    first = {"empty": [""], "unnamed": ["Unnamed: 0"], None: []}[index]
    lines = [sep.join(first + ["a", "b", "c", "label"]) + tail]
    for i in range(rows):
        cells = ([str(i)] if index else []) + [num(v) for v in x[i]] + [str(y[i])]
        lines.append(sep.join(cells) + tail)
    text = ("sep=" + sep + end if sep_line else "") + end.join(lines) + end
    data = ("\ufeff" if bom else "") + text
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "t.csv"
        p.write_bytes(data.encode())
        for fast in (True, False):
            table_module.FAST = fast
            try:
                r = load(str(p))
            finally:
                table_module.FAST = True
            assert r.pred.tobytes() == x.tobytes(), (fast, text)
            assert r.target.tolist() == y.tolist()
            assert r.class_names == ["a", "b", "c"]
            assert bool(r.warnings) == bool(index)
