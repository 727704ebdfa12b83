"""Fuzzing the readers: whatever the bytes, load() returns numbers or raises CeLossError.

For each format: random bytes, and valid files damaged by random mutations (truncation, flipped
bytes, inserted or deleted bytes, inserted cells and JSON tokens). Anything but a Loaded of
numeric arrays or a CeLossError (IndexError, RecursionError, zipfile.BadZipFile,
UnicodeDecodeError, MemoryError, ...) fails.
"""

import io
import itertools
import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ce_cli.errors import CeLossError
from ce_cli.readers import FORMATS, Loaded, Rows, load, read_vector
from ce_cli.settings import ReadSettings

# How many examples, and no deadline, come from the profile in conftest.py.
FUZZ = settings(
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

EXT = {
    "safetensors": ".safetensors",
    "npy": ".npy",
    "npz": ".npz",
    "csv": ".csv",
    "tsv": ".tsv",
    "json": ".json",
    "jsonl": ".jsonl",
    "parquet": ".parquet",
    "feather": ".feather",
}
_counter = itertools.count()


def _seeds():
    """A few valid files of each format."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3)).round(3)
    y = np.array([0, 2, 1, 2])
    seeds = {f: [] for f in FORMATS}
    for arr in (x, y, x.astype(np.float32), rng.standard_normal((2, 3, 2, 2)), np.float64(1.5)):
        b = io.BytesIO()
        np.save(b, arr)
        seeds["npy"].append(b.getvalue())
    for save in (np.savez, np.savez_compressed):
        b = io.BytesIO()
        save(b, logits=x, labels=y)
        seeds["npz"].append(b.getvalue())
    b = io.BytesIO()
    np.savez(b, logits=x, labels=np.array(["a", "c", "b", "c"]), classes=np.array(["a", "b", "c"]))
    seeds["npz"].append(b.getvalue())
    rows = "\n".join(",".join(str(v) for v in r) + f",{t}" for r, t in zip(x, y))
    seeds["csv"] += [
        ("a,b,c,label\n" + rows + "\n").encode(),
        ("# comment\n\n" + rows.replace(",", ", ") + "\r\n").encode(),
        "\ufeffcat,dog,bird,label\n2.1,0.3,-1.0,cat\n0.2,1.7,0.1,dog\n".encode(),
        b'"a","b"\n1,2\n"3",4\n',
        b"1\n2\n3\n",
    ]
    seeds["tsv"] += [
        ("a\tb\tc\tlabel\n" + rows.replace(",", "\t") + "\n").encode(),
        b"1\t2\n3\t4\n",
    ]
    seeds["json"] += [
        json.dumps({"logits": x.tolist(), "labels": y.tolist()}).encode(),
        json.dumps(
            {"logits": x.tolist(), "labels": ["a", "c", "b", "c"], "classes": ["a", "b", "c"]}
        ).encode(),
        json.dumps(x.tolist(), indent=1).encode(),
        b"[[[1, 2], [3, 4]], [[5, 6], [7, NaN]]]",
    ]
    seeds["jsonl"] += [
        "\n".join(
            json.dumps({"logits": r.tolist(), "label": int(t)}) for r, t in zip(x, y)
        ).encode(),
        "\n".join(json.dumps(r.tolist()) for r in x).encode() + b"\n",
        b'{"probs": [0.2, 0.8], "target": [0.0, 1.0]}\n{"probs": [0.5, 0.5], "target": [1, 0]}\n',
    ]
    seeds["safetensors"] += [
        _safetensors({"logits": ("F32", x.astype("<f4")), "labels": ("I64", y.astype("<i8"))}),
        _safetensors({"logits": ("BF16", x.astype("<f4").view("<u4") >> 16), "y": ("U8", y)}),
    ]
    _habit_seeds(seeds, x, y)
    return seeds


def _habit_seeds(seeds: dict, x: np.ndarray, y: np.ndarray) -> None:
    """Tables as pandas, R and Excel write them, compressed text, JSON records, Parquet and
    Feather (issue 13)."""
    import gzip

    tables = Path(__file__).resolve().parent / "tables"
    for name in (
        "pandas_index.csv",
        "r_write_csv.csv",
        "excel_semicolon.csv",
        "excel_sep_line.csv",
        "excel_trailing.csv",
        "excel_unicode.txt",
    ):
        seeds["csv"].append((tables / name).read_bytes())
    seeds["tsv"].append((tables / "r_write_table.txt").read_bytes().replace(b" ", b"\t"))
    seeds["csv"].append(gzip.compress(seeds["csv"][0], mtime=0))
    seeds["json"].append(
        json.dumps([{"logits": r.tolist(), "label": int(t)} for r, t in zip(x, y)]).encode()
    )
    try:
        import pyarrow as pa
        import pyarrow.feather as pf
        import pyarrow.parquet as pq
    except ImportError:
        seeds["parquet"].append(b"PAR1")
        seeds["feather"].append(b"ARROW1")
        return
    lists = pa.table({"logits": pa.array(list(x), type=pa.list_(pa.float64(), 3)), "label": y})
    per_class = pa.table({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": ["a", "c", "b", "c"]})
    for t in (lists, per_class):
        b = io.BytesIO()
        pq.write_table(t, b, row_group_size=2)
        seeds["parquet"].append(b.getvalue())
        b = io.BytesIO()
        pf.write_feather(t, b, compression="uncompressed")
        seeds["feather"].append(b.getvalue())


def _safetensors(arrays: dict) -> bytes:
    """A .safetensors file written by hand: name -> (dtype, array of that dtype's bytes)."""
    header, data = {}, b""
    for k, (dt, a) in arrays.items():
        b = np.ascontiguousarray(a, dtype="<u2" if dt == "BF16" else a.dtype).tobytes()
        header[k] = {
            "dtype": dt,
            "shape": list(a.shape),
            "data_offsets": [len(data), len(data) + len(b)],
        }
        data += b
    h = json.dumps(header).encode()
    return len(h).to_bytes(8, "little") + h + data


SEEDS = _seeds()
TOKENS = [
    b",",
    b"\t",
    b"\n",
    b'"',
    b"[",
    b"]",
    b"{",
    b"}",
    b":",
    b"x",
    b"-",
    b"1e999",
    b"NaN",
    b"true",
    b"null",
    b"\x00",
    b"\xff",
    b"\xef\xbb\xbf",
    b"#",
    b"label",
    b" ",
    b"[" * 50,
    b"99999999999999999999999",
    b"\x93NUMPY",
    b"PK\x03\x04",
    b"\x80\x04",
]


@st.composite
def mutated(draw, fmt):
    data = bytearray(draw(st.sampled_from(SEEDS[fmt])))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "token"]))
        pos = draw(st.integers(0, max(0, len(data))))
        if op == "truncate":
            del data[pos:]
        elif op == "flip" and data:
            data[min(pos, len(data) - 1)] ^= draw(st.integers(1, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 16))]
        else:
            data[pos:pos] = draw(st.sampled_from(TOKENS))
    return bytes(data)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def _check(call):
    """``call`` loads numbers, all of which can be read (a big member by rows: a damaged one
    may fail only then), or fails with one CeLossError."""
    try:
        r = call()
        assert isinstance(r, Loaded)
        for a in (r.pred, r.target):
            assert a is None or (isinstance(a, (np.ndarray, Rows)) and a.dtype.kind in "biuf")
            np.asarray(a)
    except CeLossError as e:
        assert e.message and str(e) == e.message


def _file(workdir, fmt, data):
    # a fresh name each time: an earlier example's reader may still hold the previous file
    path = workdir / f"f{next(_counter)}{EXT[fmt]}"
    path.write_bytes(data)
    return str(path)


def _run_all(workdir, fmt, data):
    path = _file(workdir, fmt, data)
    _check(lambda: load(path))
    _check(lambda: load(path, lazy=False))
    _check(lambda: load("-", stdin=io.BytesIO(data)))
    _check(lambda: load("-", stdin=io.BytesIO(data), settings=ReadSettings(pred_format=fmt)))
    os.remove(path)


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(data=st.data())
def test_mutated_files(workdir, fmt, data):
    _run_all(workdir, fmt, data.draw(mutated(fmt)))


@FUZZ
@given(data=st.data())
def test_mutated_npz_with_every_stored_member_mapped(workdir, data):
    """Every .npz member is read by rows: damaged ones too give numbers or one error."""
    from unittest import mock

    from ce_cli import readers

    path = _file(workdir, "npz", data.draw(mutated("npz")))
    with mock.patch.object(readers, "NPZ_BLOCK_BYTES", 0):
        _check(lambda: load(path))
        try:
            mapped = load(path)
            mapped.pred = np.asarray(mapped.pred)
            if mapped.target is not None:
                mapped.target = np.asarray(mapped.target)
        except CeLossError:
            mapped = None
    try:
        whole = load(path, lazy=False)
    except CeLossError:
        whole = None
    if mapped is not None and whole is not None:  # (a flipped data byte fails only the CRC)
        assert np.array_equal(mapped.pred, whole.pred, equal_nan=True)
        assert (mapped.target is None) == (whole.target is None)
        if whole.target is not None:
            assert np.array_equal(mapped.target, whole.target, equal_nan=True)
    del mapped, whole
    os.remove(path)


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(data=st.binary(max_size=600))
def test_random_bytes(workdir, fmt, data):
    _run_all(workdir, fmt, data)


@FUZZ
@given(pred=st.sampled_from(SEEDS["csv"][:3] + SEEDS["json"][:2]), target=st.data())
def test_mutated_target_files(workdir, pred, target):
    """A damaged TARGET file next to a valid prediction file."""
    fmt = "json" if pred.startswith(b"{") else "csv"
    pfile = _file(workdir, fmt, pred)
    tfmt = target.draw(st.sampled_from(FORMATS))
    tfile = _file(workdir, tfmt, target.draw(mutated(tfmt)))
    _check(lambda: load(pfile, tfile))


@FUZZ
@given(spec=st.text(max_size=40))
def test_read_vector_random_specs(spec):
    try:
        v = read_vector(spec, "--weight")
    except CeLossError as e:
        assert e.message.startswith("--weight")
        return
    assert v.dtype == np.float64 and v.ndim >= 1


@FUZZ
@given(data=st.data())
def test_read_vector_mutated_files(workdir, data):
    fmt = data.draw(st.sampled_from(["npy", "csv", "json"]))
    path = _file(workdir, fmt, data.draw(mutated(fmt)))
    try:
        v = read_vector(path, "--pos-weight")
    except CeLossError as e:
        assert e.message.startswith("--pos-weight: ")
        return
    assert v.dtype == np.float64 and v.ndim >= 1


def _outcome(call):
    try:
        r = call()
    except CeLossError as e:
        return ("error", e.message)
    # repr, so that NaN equals NaN
    return (
        "ok",
        r.pred.dtype.str,
        repr(r.pred.tolist()),
        None if r.target is None else (r.target.dtype.str, repr(r.target.tolist())),
        r.class_names,
    )


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
@FUZZ
@given(data=st.data())
def test_tables_read_in_pieces_as_whole(workdir, fmt, data):
    """A table read a few bytes at a time gives the same numbers, or the same error (naming the
    same line), as one read whole."""
    from ce_cli import readers

    raw = data.draw(st.one_of(mutated(fmt), st.sampled_from(SEEDS[fmt])))
    path = _file(workdir, fmt, raw)

    def stdin():
        return _outcome(
            lambda: load("-", stdin=io.BytesIO(raw), settings=ReadSettings(pred_format=fmt))
        )

    whole, whole_stdin = _outcome(lambda: load(path)), stdin()
    piece = data.draw(st.integers(1, 64))
    saved = readers.TEXT_PIECE
    readers.TEXT_PIECE = piece
    try:
        assert _outcome(lambda: load(path)) == whole, piece
        assert stdin() == whole_stdin, piece
    finally:
        readers.TEXT_PIECE = saved
    os.remove(path)
