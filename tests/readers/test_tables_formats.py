"""Readers agree: one problem saved as CSV, TSV, Parquet, Feather, JSON records and compressed
text gives the same loss bit for bit (issue 13)."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import sys

import numpy as np
import pytest

from ce_cli.core import run
from ce_cli.errors import CeLossError
from ce_cli.readers import load
from ce_cli.settings import LossSpec, OutputSettings

rng = np.random.default_rng(13)
X = rng.standard_normal((37, 5))
Y = rng.integers(0, 5, 37)
NAMES = ["a", "b", "c", "d", "e"]


def loss(pred, target) -> float:
    return run(LossSpec(), pred, target, OutputSettings()).loss


WANT = loss(X, Y)


def csv_text(sep: str = ",") -> str:
    rows = [sep.join(NAMES + ["label"])]
    rows += [sep.join([repr(float(v)) for v in r] + [str(t)]) for r, t in zip(X, Y, strict=True)]
    return "\n".join(rows) + "\n"


def check(path) -> None:
    r = load(str(path))
    assert r.pred.tobytes() == X.tobytes() and r.target.tolist() == Y.tolist()
    assert loss(r.pred, r.target) == WANT


@pytest.mark.parametrize(
    "name,write",
    [
        ("t.csv", lambda p: p.write_text(csv_text())),
        ("t.tsv", lambda p: p.write_text(csv_text("\t"))),
        ("t.csv.gz", lambda p: p.write_bytes(gzip.compress(csv_text().encode()))),
        ("t.csv.bz2", lambda p: p.write_bytes(bz2.compress(csv_text().encode()))),
        ("t.csv.xz", lambda p: p.write_bytes(lzma.compress(csv_text().encode()))),
        (
            "t.json",
            lambda p: p.write_text(
                json.dumps([{"logits": r.tolist(), "label": int(t)} for r, t in zip(X, Y)])
            ),
        ),
        (
            "t.jsonl.gz",
            lambda p: p.write_bytes(
                gzip.compress(
                    "".join(
                        json.dumps({"logits": r.tolist(), "label": int(t)}) + "\n"
                        for r, t in zip(X, Y)
                    ).encode()
                )
            ),
        ),
    ],
)
def test_text_formats_agree(tmp_path, name, write):
    write(tmp_path / name)
    check(tmp_path / name)


def test_zstd(tmp_path):
    zstandard = pytest.importorskip("zstandard")
    p = tmp_path / "t.csv.zst"
    p.write_bytes(zstandard.ZstdCompressor().compress(csv_text().encode()))
    check(p)


def test_damaged_gzip_is_refused(tmp_path):
    p = tmp_path / "t.csv.gz"
    p.write_bytes(gzip.compress(csv_text().encode())[:40])
    with pytest.raises(CeLossError, match=r"is a damaged gzip file .*; expected complete data"):
        load(str(p))


def test_pandas_records(tmp_path):
    pd = pytest.importorskip("pandas")
    p = tmp_path / "r.json"
    pd.DataFrame({"logits": list(X), "label": Y}).to_json(p, orient="records")
    # pandas writes 10 significant digits: the values are those it wrote
    rows = json.loads(p.read_text())
    r = load(str(p))
    assert r.pred.tolist() == [d["logits"] for d in rows] and r.target.tolist() == Y.tolist()


def test_parquet_and_feather_agree(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.feather as pf
    import pyarrow.parquet as pq

    lists = pa.table({"logits": pa.array(list(X), type=pa.list_(pa.float64(), 5)), "label": Y})
    pq.write_table(lists, tmp_path / "l.parquet", row_group_size=10)
    pf.write_feather(lists, tmp_path / "l.feather", chunksize=8)
    per_class = pa.table({**{n: X[:, j] for j, n in enumerate(NAMES)}, "label": Y})
    pq.write_table(per_class, tmp_path / "c.parquet")
    for p in ("l.parquet", "l.feather", "c.parquet"):
        check(tmp_path / p)
    named = pa.table({**{n: X[:, j] for j, n in enumerate(NAMES)}, "y": [NAMES[t] for t in Y]})
    pf.write_feather(named, tmp_path / "n.arrow")
    r = load(str(tmp_path / "n.arrow"))
    assert r.class_names == NAMES and r.target.tolist() == Y.tolist()
    flags = pa.table({"probs": [0.2, 0.7], "label": [False, True]})
    pq.write_table(flags, tmp_path / "b.parquet")
    assert load(str(tmp_path / "b.parquet")).target.tolist() == [0.0, 1.0]


def test_without_pyarrow_parquet_says_how_to_install(tmp_path, monkeypatch):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"logits": [[1.0, 2.0]], "label": [0]}), tmp_path / "t.parquet")
    for mod in ("pyarrow", "pyarrow.parquet", "pyarrow.ipc"):
        monkeypatch.setitem(sys.modules, mod, None)
    with pytest.raises(CeLossError) as e:
        load(str(tmp_path / "t.parquet"))
    assert str(e.value).endswith("is a Parquet or Arrow file, and pyarrow is not installed")
    assert e.value.hint == "pip install 'ce-loss[arrow]'"


def test_without_zstandard_zst_says_how_to_install(tmp_path, monkeypatch):
    p = tmp_path / "t.csv.zst"
    p.write_bytes(b"\x28\xb5\x2f\xfd" + b"\x00" * 8)
    monkeypatch.setitem(sys.modules, "zstandard", None)
    with pytest.raises(CeLossError) as e:
        load(str(p))
    assert str(e.value) == f"{p} is zstd-compressed, and the zstandard module is not installed"
    assert e.value.hint == "pip install zstandard, or decompress it with zstd -d"
