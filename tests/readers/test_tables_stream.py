"""A big table streamed into the engine (parsed as its rows are asked for) gives what the whole
table read first gives: the same numbers bit for bit, the same output, the same one-line
message for bad input, and no output file when a bad cell is found late (issue 13)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ce_cli import core, readers
from ce_cli.cli import app
from ce_cli.errors import CeLossError
from ce_cli.readers import arrow, fastcsv
from ce_cli.readers import table as table_module
from ce_cli.readers.tablestream import TableValues
from ce_cli.settings import LossSpec, OutputSettings, ReadSettings

BAD = Path(__file__).resolve().parents[1] / "bad_inputs"
runner = CliRunner()


@pytest.fixture
def streaming(monkeypatch):
    """Every table streamed, in small blocks and pieces (many blocks even for small tables);
    returns a function that turns streaming on or off."""
    monkeypatch.setattr(fastcsv, "BLOCK_BYTES", 1 << 12)
    monkeypatch.setattr(readers, "TEXT_PIECE", 1 << 10)

    monkeypatch.setattr(arrow, "BATCH_ROWS", 97)

    def on(yes: bool) -> None:
        monkeypatch.setattr(table_module, "STREAM_BYTES", 0 if yes else 1 << 62)
        monkeypatch.setattr(arrow, "STREAM_BYTES", 0 if yes else 1 << 62)

    return on


def _parsers(fast: bool, quick: bool, monkeypatch) -> None:
    monkeypatch.setattr(table_module, "FAST", fast)
    monkeypatch.setattr(table_module, "LOADTXT", quick)


def _write(path: Path, x: np.ndarray, y, quirks: dict) -> None:
    sep = quirks.get("sep", ",")
    names = [f"c{j}" for j in range(x.shape[1])]
    lines = [sep.join(names + (["label"] if y is not None else []))] if quirks["header"] else []
    for i, row in enumerate(x):
        cells = [repr(float(v)) for v in row] + ([str(int(y[i]))] if y is not None else [])
        lines.append(sep.join(cells))
        if quirks["comments"] and i % 7 == 3:
            lines += ["# a comment", ""]
    end = "\r\n" if quirks["crlf"] else "\n"
    path.write_bytes(end.join(lines).encode() + (end.encode() if quirks["final"] else b""))


def _run(path: str, spec: LossSpec, out: OutputSettings, column: int | None = None):
    d = readers.load(path, settings=ReadSettings(target_column=column))
    r = core.run(spec, d.pred, d.target, out)
    pe = None if r.per_element is None else r.per_element.tobytes()
    counts = None if r.target_counts is None else r.target_counts.tolist()
    return type(d.pred), repr(r.loss), r.denominator, pe, counts


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    rows=st.integers(1, 400),
    cols=st.integers(2, 6),
    quirks=st.fixed_dictionaries(
        {
            "header": st.booleans(),
            "comments": st.booleans(),
            "crlf": st.booleans(),
            "final": st.booleans(),
            "sep": st.sampled_from([",", "\t", ";"]),
        }
    ),
    parser=st.sampled_from([(True, True), (False, True), (False, False)]),
    block=st.sampled_from([None, 7, 64, 1000]),
    workers=st.sampled_from([1, 2]),
    reduction=st.sampled_from(["mean", "sum", "none"]),
    seed=st.integers(0, 2**16),
)
def test_streamed_equals_whole(
    tmp_path_factory,
    streaming,
    monkeypatch,
    rows,
    cols,
    quirks,
    parser,
    block,
    workers,
    reduction,
    seed,
):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, cols)) * 3
    y = rng.integers(0, cols, rows)
    y[rng.random(rows) < 0.1] = -100  # ignored targets change the mean's denominator
    path = tmp_path_factory.mktemp("t") / ("t.tsv" if quirks["sep"] == "\t" else "t.csv")
    _write(path, x, y, quirks)
    _parsers(*parser, monkeypatch)
    spec, out = LossSpec(reduction=reduction), OutputSettings(workers=workers, block_elements=block)
    column = None if quirks["header"] else cols
    streaming(True)
    streamed = _run(str(path), spec, out, column)
    streaming(False)
    whole = _run(str(path), spec, out, column)
    assert streamed[0] is TableValues and whole[0] is np.ndarray
    assert streamed[1:] == whole[1:]


@pytest.mark.parametrize("cols", [1, 4])
def test_streamed_predictions_with_targets_apart(tmp_path, streaming, cols):
    rng = np.random.default_rng(cols)
    x = rng.standard_normal((500, cols))
    p, tp = tmp_path / "x.csv", tmp_path / "y.npy"
    _write(p, x, None, {"header": False, "comments": False, "crlf": False, "final": True})
    np.save(
        tp, rng.integers(0, 2, 500).astype(np.float64) if cols == 1 else rng.integers(0, 4, 500)
    )
    spec = LossSpec(loss="bce-logits" if cols == 1 else "ce")
    got = {}
    for yes in (True, False):
        streaming(yes)
        d = readers.load(str(p), str(tp))
        assert isinstance(d.pred, TableValues) == yes
        r = core.run(spec, d.pred, d.target, OutputSettings(grad=True))
        got[yes] = (repr(r.loss), r.grad.tobytes())
    assert got[True] == got[False]


def test_streamed_values_equal_the_whole_array(tmp_path, streaming):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3000, 9)).astype(np.float32).astype(np.float64)
    y = rng.integers(0, 9, 3000)
    p = tmp_path / "t.csv"
    _write(p, x, y, {"header": True, "comments": True, "crlf": True, "final": False})
    streaming(True)
    d = readers.load(str(p))
    assert isinstance(d.pred, TableValues) and d.pred.shape == (3000, 9)
    assert np.array_equal(d.pred[100:2000], x[100:2000])  # asked in order, front to back
    assert np.array_equal(d.pred[:5], x[:5])  # the head is kept for the warnings' scan
    assert np.array_equal(d.pred[2500:2501], x[2500:2501])
    assert np.array_equal(d.pred[1000:1001], x[1000:1001])  # a late read parses again
    assert np.array_equal(np.asarray(d.target), y)
    assert np.array_equal(np.asarray(d.pred), x)


def _cli(*args):
    r = runner.invoke(app, [str(a) for a in args])
    return r.exit_code, r.stdout, r.stderr


def _both_ways(streaming, *args) -> dict:
    """The command line's ``(code, stdout, stderr)`` with tables streamed (True) and read
    whole (False)."""
    said = {}
    for yes in (True, False):
        streaming(yes)
        said[yes] = _cli(*args)
    return said


def _both_ways_no_output(streaming, tmp_path, p) -> dict:
    """As :func:`_both_ways` for ``compute P --save-per-sample``, a run that must fail: neither
    way leaves the output file or a temporary one behind."""
    said = {}
    for yes in (True, False):
        streaming(yes)
        out = tmp_path / f"pe{yes}.npy"
        said[yes] = _cli("compute", p, "--save-per-sample", out, "--format", "plain")
        assert not out.exists()
        assert not list(tmp_path.glob("*.tmp*"))
    return said


def _csv_cases():
    for case in json.loads((BAD / "cases.json").read_text()):
        suffixes = (".csv", ".tsv", ".txt", ".parquet")
        if any(a.endswith(suffixes) for a in case["args"]) and "stdin" not in case:
            yield case["id"], case["args"]


@pytest.mark.parametrize("cid,args", list(_csv_cases()))
def test_corpus_streamed_says_the_same(cid, args, streaming, monkeypatch):
    monkeypatch.chdir(BAD)
    streaming(True)
    streamed = _cli(*args)
    streaming(False)
    assert streamed == _cli(*args)


def _big(tmp_path: Path, rows: int = 5000, c: int = 5):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((rows, c))
    y = rng.integers(0, c, rows)
    lines = ["a,b,c,d,e,label"] + [
        ",".join(repr(float(v)) for v in r) + f",{t}" for r, t in zip(x, y, strict=True)
    ]
    return lines


@pytest.mark.parametrize("parser", [(True, True), (False, True), (False, False)])
def test_late_bad_cell_same_message_and_no_output(tmp_path, streaming, monkeypatch, parser):
    lines = _big(tmp_path)
    lines[4500] = lines[4500].replace(",", ",x", 1)
    p = tmp_path / "t.csv"
    p.write_text("\n".join(lines) + "\n")
    _parsers(*parser, monkeypatch)
    said = _both_ways_no_output(streaming, tmp_path, p)
    assert said[True] == said[False]
    assert said[True][0] == 2 and "line 4501, column 2 ('b'): 'x" in said[True][2]


def test_bad_cell_said_before_a_bad_label_above_it(tmp_path, streaming):
    """As when the table is read whole first: a bad cell anywhere comes before what the loss
    refuses (a label out of range in the first rows)."""
    lines = _big(tmp_path)
    lines[3] = lines[3].rsplit(",", 1)[0] + ",9"
    lines[4900] = lines[4900].replace(",", ",x", 1)
    p = tmp_path / "t.csv"
    p.write_text("\n".join(lines) + "\n")
    said = _both_ways(streaming, "compute", p, "--format", "plain")
    assert said[True] == said[False] and "line 4901" in said[True][2]


def test_row_index_first_column_still_refused(tmp_path, streaming):
    rng = np.random.default_rng(2)
    rows = ["a,b,c,label"] + [
        f"{i},{rng.standard_normal()!r},{rng.standard_normal()!r},{i % 3}" for i in range(3000)
    ]
    p = tmp_path / "t.csv"
    p.write_text("\n".join(rows) + "\n")
    said = _both_ways(streaming, "compute", p, "--format", "plain")
    assert said[True] == said[False] and said[True][0] == 2 and "row index" in said[True][2]
    # 0, 1, 2, ... only at the start: streamed, scored as a class as before
    rows[2500] = "7" + rows[2500][rows[2500].index(",") :]
    p.write_text("\n".join(rows) + "\n")
    said = _both_ways(streaming, "compute", p, "--format", "plain")
    assert said[True] == said[False] and said[True][0] == 0


@pytest.mark.parametrize(
    "extra",
    [
        ["--grad", "--format", "json"],
        ["--reduction", "sum", "--format", "json"],
        ["--worst", "3", "--best", "2"],
        ["--per-sample"],
        ["--format", "json", "--per-sample"],
        ["--label-smoothing", "0.1", "--format", "json"],
    ],
)
def test_cli_output_the_same(tmp_path, streaming, extra):
    lines = _big(tmp_path, rows=3000)
    p = tmp_path / "t.csv"
    p.write_text("\n".join(lines) + "\n")
    said = _both_ways(streaming, "compute", p, *extra)
    assert said[True] == said[False] and said[True][0] == 0


def test_saved_gradient_the_same(tmp_path, streaming):
    p = tmp_path / "t.csv"
    p.write_text("\n".join(_big(tmp_path, rows=2000)) + "\n")
    for yes in (True, False):
        streaming(yes)
        code, _, err = _cli("compute", p, "--save-grad", tmp_path / f"g{yes}.npy", "-q")
        assert code == 0, err
    assert np.load(tmp_path / "gTrue.npy").tobytes() == np.load(tmp_path / "gFalse.npy").tobytes()


@pytest.mark.parametrize("what", ["rows", "no targets", "weight", "target file"])
def test_bad_cell_said_before_what_is_wrong_elsewhere(tmp_path, streaming, what):
    """The table's bad cell comes first, as when it was read whole before anything else."""
    lines = [ln.rsplit(",", 1)[0] for ln in _big(tmp_path)]  # no label column
    lines[4700] = lines[4700].replace(",", ",x", 1)
    p = tmp_path / "t.csv"
    p.write_text("\n".join(lines) + "\n")
    np.save(tmp_path / "y.npy", np.zeros(3, dtype=np.int64))
    np.save(tmp_path / "y5000.npy", np.zeros(5000, dtype=np.int64))
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY junk")
    args = {
        "rows": [p, tmp_path / "y.npy"],
        "no targets": [p],
        "weight": [p, tmp_path / "y5000.npy", "--weight", "1,2"],
        "target file": [p, tmp_path / "bad.npy"],
    }[what]
    said = _both_ways(streaming, "compute", *args, "--format", "plain")
    assert said[True] == said[False] and "line 4701, column 2" in said[True][2]


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--max", "10", "--min-accuracy", "0", "--max-ece", "1"],
        ["compute", "--per-class", "--histogram"],
        ["compute", "--format", "json", "--worst", "4"],
    ],
)
def test_check_and_metrics_the_same(tmp_path, streaming, args):
    p = tmp_path / "t.csv"
    p.write_text("\n".join(_big(tmp_path, rows=2500)) + "\n")
    said = _both_ways(streaming, args[0], p, *args[1:])
    assert said[True] == said[False] and said[True][0] == 0, said[True]


def _named(tmp_path: Path, late: str | None) -> Path:
    """A table whose labels are class names ('a'..'e'), one label written ``late`` if given."""
    lines = _big(tmp_path, rows=3000)
    for i in range(1, len(lines)):
        head, t = lines[i].rsplit(",", 1)
        lines[i] = f"{head},{'abcde'[int(t)]}"
    if late is not None:
        lines[2800] = lines[2800].rsplit(",", 1)[0] + "," + late
    p = tmp_path / "t.csv"
    p.write_text("\n".join(lines) + "\n")
    return p


@pytest.mark.parametrize("late", [None, "3", "2.5", "nan", "9", "zz"])
@pytest.mark.parametrize(
    "args",
    [
        ["compute", "--format", "json", "--per-sample"],
        ["compute", "--worst", "3", "--per-class"],
        ["compute", "--grad", "--format", "json"],
        ["check", "--max", "10", "--min-accuracy", "0"],
    ],
)
def test_class_name_labels_the_same(tmp_path, streaming, monkeypatch, late, args):
    """int64 targets while every label is a class name, float64 once one is a number: as the
    table read whole has them, also when the number comes after rows were computed."""
    p = _named(tmp_path, late)
    for parser in ((True, True), (False, True)):
        _parsers(*parser, monkeypatch)
        said = {}
        for yes in (True, False):
            streaming(yes)
            said[yes] = _cli(args[0], p, *args[1:])
        assert said[True] == said[False]
    streaming(True)
    d = readers.load(str(p))
    assert isinstance(d.pred, TableValues)
    if late == "zz":
        with pytest.raises(CeLossError, match="'zz' is not a class name"):
            np.asarray(d.target)
        return
    assert d.target.dtype == np.int64  # as the first block has them
    assert np.asarray(d.target).dtype == (np.int64 if late is None else np.float64)


def _parquet(path: Path, columns: dict, group: int = 300) -> Path:
    """``columns`` as a Parquet file (row groups of ``group`` rows), or as a Feather (Arrow
    IPC file) one (record batches of ``group`` rows) when ``path`` ends in .feather."""
    pa = pytest.importorskip("pyarrow")
    if path.suffix == ".feather":
        feather = pytest.importorskip("pyarrow.feather")
        feather.write_feather(pa.table(columns), path, chunksize=group)
        return path
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.table(columns), path, row_group_size=group)
    return path


def _parquet_cases(tmp_path: Path):
    rng = np.random.default_rng(4)
    n = 1000
    x = rng.standard_normal((n, 5)).astype(np.float32)
    y = rng.integers(0, 5, n)
    yield "list", {"logits": list(x), "label": y}
    yield "per class", {**{c: x[:, j] for j, c in enumerate("abcde")}, "label": y}
    yield "names", {**{c: x[:, j] for j, c in enumerate("abcde")}, "label": ["abcde"[k] for k in y]}
    yield "bce", {"logits": x[:, 0], "label": y % 2 == 1}


@pytest.mark.parametrize("case", ["list", "per class", "names", "bce"])
@pytest.mark.parametrize(
    "args",
    [
        ["compute", "--format", "json", "--per-sample"],
        ["compute", "--grad", "--format", "json"],
        ["compute", "--worst", "3"],
    ],
)
@pytest.mark.parametrize("suffix", [".parquet", ".feather"])
def test_parquet_streamed_says_the_same(tmp_path, streaming, case, args, suffix):
    columns = dict(_parquet_cases(tmp_path))[case]
    p = _parquet(tmp_path / f"t{suffix}", columns)
    loss = ["--loss", "bce-logits"] if case == "bce" else []
    said = {}
    for yes in (True, False):
        streaming(yes)
        said[yes] = _cli(args[0], p, *args[1:], *loss)
        assert isinstance(readers.load(str(p)).pred, TableValues) == yes
    assert said[True] == said[False] and said[True][0] == 0, said[True]


@pytest.mark.parametrize("bad", ["lengths", "null", "label"])
@pytest.mark.parametrize("suffix", [".parquet", ".feather"])
def test_parquet_late_bad_batch_same_message_no_output(tmp_path, streaming, bad, suffix):
    pa = pytest.importorskip("pyarrow")
    rng = np.random.default_rng(6)
    n = 1000
    rows = [list(r) for r in rng.standard_normal((n, 4))]
    labels: list = list(rng.integers(0, 4, n))
    if bad == "lengths":
        rows[900] = rows[900][:3]
    elif bad == "null":
        rows[900] = None
    else:
        labels[900] = None
    table = {"logits": pa.array(rows, pa.list_(pa.float64())), "label": pa.array(labels)}
    p = _parquet(tmp_path / f"t{suffix}", table)
    said = _both_ways_no_output(streaming, tmp_path, p)
    assert said[True] == said[False] and said[True][0] == 2, said[True]
