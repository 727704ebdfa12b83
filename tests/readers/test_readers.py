"""ce_cli.readers: every format, header and label-column rule, stdin sniffing, read_vector, and
every error message, pinned."""

import io
import re
from pathlib import Path

import numpy as np
import pytest

from ce_cli import readers
from ce_cli.errors import CeLossError
from ce_cli.readers import Loaded, load, read_vector
from ce_cli.settings import ReadSettings

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def put(tmp_path, name, content) -> str:
    p = tmp_path / name
    p.write_bytes(content.encode() if isinstance(content, str) else content)
    return str(p)


def npy_bytes(arr) -> bytes:
    b = io.BytesIO()
    np.save(b, arr)
    return b.getvalue()


def npz_bytes(compressed=False, **arrays) -> bytes:
    b = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(b, **arrays)
    return b.getvalue()


READ_OPTIONS = ("pred_format", "target_format", "pred_key", "target_key", "target_column")


def with_settings(kw: dict) -> dict:
    """load()'s keywords, the read options among ``kw`` gathered into a ReadSettings."""
    read = {k: kw.pop(k) for k in READ_OPTIONS if k in kw}
    return {**kw, "settings": ReadSettings(**read)} if read else kw


def fails(message, *args, **kw) -> CeLossError:
    """load() raises CeLossError whose message is exactly ``message``."""
    with pytest.raises(CeLossError, match="^" + re.escape(message) + "$") as info:
        load(*args, **with_settings(kw))
    return info.value


def stdin(data) -> io.BytesIO:
    return io.BytesIO(data.encode() if isinstance(data, str) else data)


# --------------------------------------------------------------------------------------------
# .npy


def test_npy_is_read_by_rows_on_demand(tmp_path):
    x = np.arange(12.0).reshape(4, 3)
    p = put(tmp_path, "x.npy", npy_bytes(x))
    r = load(p)
    assert isinstance(r, Loaded)
    assert isinstance(r.pred, readers.Rows) and not isinstance(r.pred, np.ndarray)
    assert np.array_equal(r.pred, x)
    rows = r.pred[1:3]  # a fresh array: nothing the caller does to it reaches the file
    assert type(rows) is np.ndarray and rows.flags.writeable and np.array_equal(rows, x[1:3])
    assert np.array_equal(r.pred[2], x[2]) and np.array_equal(r.pred[-1, 1:], x[-1, 1:])
    assert (r.target, r.pred_name, r.target_name, r.class_names, r.pred_format) == (
        None,
        p,
        None,
        None,
        "npy",
    )


def test_npy_without_mmap_and_with_target(tmp_path):
    x, t = np.arange(6.0).reshape(2, 3), np.array([2, 0])
    r = load(put(tmp_path, "x.npy", npy_bytes(x)), put(tmp_path, "t.npy", npy_bytes(t)), lazy=False)
    assert not isinstance(r.pred, np.memmap)
    assert np.array_equal(r.pred, x) and r.target.tolist() == [2, 0]
    assert r.target_name.endswith("t.npy")


@pytest.mark.parametrize(
    "arr",
    [
        np.arange(6, dtype=">f4").reshape(2, 3),
        np.asfortranarray(np.arange(24.0).reshape(2, 3, 4)),
        np.zeros((0, 5)),
        np.float64(2.5),
        np.array([True, False]),
        np.arange(4, dtype=np.uint8),
    ],
)
def test_npy_dtypes_orders_and_shapes(tmp_path, arr):
    for lazy in (True, False):
        r = load(put(tmp_path, "a.npy", npy_bytes(arr)), lazy=lazy)
        assert r.pred.shape == arr.shape and r.pred.dtype == arr.dtype
        assert np.array_equal(r.pred, arr)


def test_npy_k_dimensional(tmp_path):
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4)).astype(np.float32)
    t = np.zeros((2, 4, 4), dtype=np.int64)
    r = load(put(tmp_path, "x.npy", npy_bytes(x)), put(tmp_path, "t.npy", npy_bytes(t)))
    assert r.pred.shape == (2, 3, 4, 4) and r.target.shape == (2, 4, 4)


def test_npy_errors(tmp_path):
    raw = npy_bytes(np.arange(6.0).reshape(2, 3))
    p = put(tmp_path, "t.npy", raw[:-5])
    e = fails(
        f"{p} is truncated: its header promises shape (2, 3) of float64 (48 bytes of data) "
        "but only 43 bytes follow",
        p,
    )
    assert str(e).startswith(str(p))  # the file is named first
    p = put(tmp_path, "t.npy", raw + b"xx")
    fails(
        f"{p} has 2 bytes after its array of shape (2, 3); expected the data to end there "
        "(were several arrays saved into one file?)",
        p,
    )
    p = put(tmp_path, "t.npy", raw[:20])
    fails(f"{p} is truncated inside its .npy header", p)
    p = put(tmp_path, "t.npy", b"hello world")
    fails(f"{p} is not a NumPy .npy file (it does not start with \\x93NUMPY)", p)
    p = put(tmp_path, "t.npy", b"")
    fails(f"{p} is empty; expected a NumPy .npy array", p)
    p = put(tmp_path, "t.npy", raw[:6] + b"\x09\x00" + raw[8:])
    fails(f"{p}: .npy format version 9.0 is not supported; expected 1.0, 2.0 or 3.0", p)
    p = put(tmp_path, "t.npy", raw.replace(b"'descr'", b"'dexcr'"))
    fails(f"{p} has a damaged .npy header; expected a dict of descr, fortran_order and shape", p)
    p = put(tmp_path, "t.npy", raw.replace(b"(2, 3)", b"(2,-3)"))
    fails(f"{p} has a damaged .npy header; expected a dict of descr, fortran_order and shape", p)


def test_npy_enormous_header_shape_is_an_error_not_memory_error(tmp_path):
    from numpy.lib import format as npformat

    b = io.BytesIO()
    npformat.write_array_header_1_0(
        b, {"descr": "<f8", "fortran_order": False, "shape": (10**12, 10**6)}
    )
    p = put(tmp_path, "huge.npy", b.getvalue() + bytes(16))
    for lazy in (True, False):
        fails(
            f"{p} is truncated: its header promises shape (1000000000000, 1000000) of float64 "
            "(8000000000000000000 bytes of data) but only 16 bytes follow",
            p,
            lazy=lazy,
        )


@pytest.mark.parametrize(
    "arr,what",
    [
        (np.array([1 + 2j]), "complex numbers (dtype complex128)"),
        (np.array(["a", "b"]), "strings (dtype <U1)"),
        (np.array([b"a"]), "byte strings (dtype |S1)"),
        (np.zeros(2, dtype=[("a", "<f8")]), "structured records (dtype [('a', '<f8')])"),
        (np.array(["2020-01-01"], dtype="M8[D]"), "dates (dtype datetime64[D])"),
    ],
)
def test_npy_refuses_non_real_dtypes(tmp_path, arr, what):
    p = put(tmp_path, "a.npy", npy_bytes(arr))
    fails(f"{p} holds {what}; expected real numbers", p)


def test_npy_refuses_object_dtype(tmp_path):
    p = tmp_path / "o.npy"
    np.save(p, np.array([1, None], dtype=object), allow_pickle=True)
    e = fails(
        f"{p} holds Python objects (dtype object), which could only be read by "
        "unpickling; ce-loss never unpickles data",
        str(p),
    )
    assert e.hint == "save plain numbers, e.g. numpy.save(path, array.astype(float))"


def npy_framed(header: str, major: int = 1, data: bytes = bytes(16), hlen=None) -> bytes:
    """An .npy file of format ``major``.0 whose header text is ``header``, as written."""
    raw = header.encode("utf-8" if major >= 3 else "latin1")
    size = 2 if major == 1 else 4
    n = len(raw) if hlen is None else hlen
    return b"\x93NUMPY" + bytes([major, 0]) + n.to_bytes(size, "little") + raw + data


GOOD_HEADER = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }"
DAMAGED = "has a damaged .npy header; expected a dict of descr, fortran_order and shape"


@pytest.mark.parametrize(
    "header",
    [
        "[1, 2]",  # not a dict
        "{'descr': '<f8', 'shape': (2,), }",  # a key missing
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': 1}",  # a key too many
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2L,), }",  # Python 2: refused, not warned
        "{'descr': '<f8', 'fortran_order': 0, 'shape': (2,), }",
        "{'descr': '<f8', 'fortran_order': False, 'shape': [2], }",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (True,), }",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2.0,), }",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (" + "1, " * 65 + "), }",  # > 64 dims
        "{'descr': 'zzz', 'fortran_order': False, 'shape': (2,), }",
        "{'descr': b'<f8', 'fortran_order': False, 'shape': (2,), }",
        "{'descr': " + "[" * 3000 + "]" * 3000 + ", 'fortran_order': False, 'shape': (2,), }",
        "{'descr': ('<f8', ",  # unterminated
        "'''",
        "__import__('os').system('touch never-run')",  # code: parsed as a literal, never run
    ],
)
@pytest.mark.parametrize("major", [1, 2, 3])
def test_npy_damaged_headers(tmp_path, monkeypatch, header, major):
    monkeypatch.chdir(tmp_path)
    p = put(tmp_path, "d.npy", npy_framed(header, major))
    e = fails(f"{p} {DAMAGED}", p)
    assert e.file == p and e.position is None
    assert not (tmp_path / "never-run").exists()


def test_npy_header_versions_and_limits(tmp_path):
    for major in (1, 2, 3):
        p = put(tmp_path, f"v{major}.npy", npy_framed(GOOD_HEADER, major))
        assert load(p).pred.tolist() == [0.0, 0.0]
    # version 3.0 headers are UTF-8: a field name reads as written
    p = put(
        tmp_path,
        "u.npy",
        npy_framed(
            "{'descr': [('\u00e9\U0001f600', '<f8')], 'fortran_order': False, 'shape': (1,), }", 3
        ),
    )
    fails(
        f"{p} holds structured records (dtype [('\u00e9\U0001f600', '<f8')]); expected real "
        "numbers",
        p,
    )
    raw = npy_framed(GOOD_HEADER, 3)
    p = put(tmp_path, "b.npy", raw[:14] + b"\xff" + raw[15:])  # not UTF-8
    fails(f"{p} {DAMAGED}", p)
    # the length is checked before the header is read
    p = put(tmp_path, "l.npy", npy_framed("{}", 2, hlen=200_000))
    fails(f"{p}: .npy header of 200000 bytes is too long; expected at most 100000", p)
    p = put(tmp_path, "s.npy", npy_framed(GOOD_HEADER, 2)[:10])
    fails(f"{p} is truncated inside its .npy header", p)
    p = put(tmp_path, "h.npy", npy_framed(GOOD_HEADER, 1, hlen=len(GOOD_HEADER) + 40, data=b""))
    fails(f"{p} is truncated inside its .npy header", p)
    p = put(
        tmp_path,
        "f.npy",
        npy_framed(
            "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }",
            1,
            data=np.arange(6, dtype="<i4").tobytes(),
        ),
    )
    for lazy in (True, False):
        r = load(p, lazy=lazy)
        assert r.pred.tolist() == [[0, 2, 4], [1, 3, 5]]
        assert np.asarray(r.pred).flags.f_contiguous


def test_npz_member_with_damaged_header(tmp_path):
    import zipfile

    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        z.writestr("logits.npy", npy_framed("{'descr': '<f8'}", 1))
        z.writestr("labels.npy", npy_bytes(np.array([0, 1])))
    p = put(tmp_path, "d.npz", b.getvalue())
    e = fails(f"{p} array 'logits' {DAMAGED}", p)
    assert str(e).startswith(str(p))  # the file is named first


def test_open_npy_maps_read_only(tmp_path):
    from ce_cli.readers import open_npy

    x = np.arange(12.0).reshape(3, 4)
    p = tmp_path / "x.npy"
    np.save(p, x)
    a = open_npy(p)
    assert isinstance(a, np.memmap) and not a.flags.writeable and np.array_equal(a, x)
    np.save(p, np.zeros((0, 4)))
    a = open_npy(str(p))
    assert a.shape == (0, 4) and not a.flags.writeable
    p.write_bytes(npy_bytes(x) + b"xx")
    with pytest.raises(CeLossError, match=re.escape(f"{p} has 2 bytes after its array")) as info:
        open_npy(p, "target")
    assert info.value.file == str(p) and info.value.input == "target"
    missing = tmp_path / "missing.npy"
    with pytest.raises(
        CeLossError, match="^" + re.escape(f"{missing}: no such file") + "$"
    ) as info:
        open_npy(missing)
    assert info.value.file == str(missing) and info.value.input == "input"


def test_file_extension_loses_to_magic_bytes(tmp_path):
    """An .npz saved under .npy (or an .npy under .csv) is read as what it is, as np.load does."""
    x = np.ones((2, 3))
    r = load(put(tmp_path, "a.npy", npz_bytes(logits=x, labels=np.array([0, 1]))))
    assert r.pred_format == "npz" and r.target.tolist() == [0, 1]
    r = load(put(tmp_path, "a.csv", npy_bytes(x)))
    assert r.pred_format == "npy" and np.array_equal(r.pred, x)


# --------------------------------------------------------------------------------------------
# .npz


def test_npz_conventional_names_hold_both(tmp_path):
    x, t = np.ones((2, 3)), np.array([0, 2])
    for compressed in (False, True):
        p = put(tmp_path, "d.npz", npz_bytes(compressed, logits=x, labels=t))
        r = load(p)
        assert np.array_equal(r.pred, x) and r.target.tolist() == [0, 2]
        assert (r.pred_name, r.target_name, r.pred_format) == (p, p, "npz")


@pytest.mark.parametrize("pk", readers.PRED_KEYS)
def test_npz_every_prediction_name(tmp_path, pk):
    r = load(put(tmp_path, "d.npz", npz_bytes(**{pk: np.ones(2), "targets": np.zeros(2)})))
    assert r.pred.tolist() == [1, 1] and r.target.tolist() == [0, 0]


@pytest.mark.parametrize("tk", readers.TARGET_KEYS)
def test_npz_every_target_name(tmp_path, tk):
    r = load(put(tmp_path, "d.npz", npz_bytes(**{"scores": np.ones((2, 3)), tk: np.zeros(2)})))
    assert r.target.tolist() == [0, 0]


def test_npz_first_conventional_name_wins(tmp_path):
    r = load(
        put(
            tmp_path,
            "d.npz",
            npz_bytes(
                x=np.zeros(2),
                probs=np.ones(2),
                logits=np.full(2, 7.0),
                y=np.zeros(2),
                labels=np.ones(2),
            ),
        )
    )
    assert r.pred.tolist() == [7, 7] and r.target.tolist() == [1, 1]


def test_npz_keys(tmp_path):
    p = put(tmp_path, "d.npz", npz_bytes(out=np.ones((2, 3)), gt=np.array([1, 2])))
    r = load(p, settings=ReadSettings(pred_key="out", target_key="gt"))
    assert r.pred.shape == (2, 3) and r.target.tolist() == [1, 2]
    fails(f"{p} has no array named 'nope' (the pred key); it holds out, gt", p, pred_key="nope")
    fails(
        f"{p} has no array named 'nope' (the target key); it holds out, gt",
        p,
        pred_key="out",
        target_key="nope",
    )
    e = fails(
        f"{p} holds the arrays out, gt; expected the predictions under one of "
        "logits, log_probs, logprobs, probs, probabilities, predictions, preds, pred, "
        "input, outputs, scores, x, arr_0",
        p,
    )
    assert e.hint == "name the predictions with --pred-key"
    e = fails(
        f"{p} holds the arrays out, gt; expected the targets under one of labels, "
        "label, label_ids, targets, target, references, y, classes, arr_1, input_ids",
        p,
        pred_key="out",
    )
    assert e.hint == "name the targets with --target-key, or give a TARGET file"


def test_npz_single_array_needs_a_target(tmp_path):
    p = put(tmp_path, "one.npz", npz_bytes(weird=np.ones((2, 3))))
    e = fails(f"{p} holds one array ('weird') and no targets; expected a TARGET file too", p)
    assert "labels" in e.hint
    t = put(tmp_path, "t.npy", npy_bytes(np.array([0, 1])))
    r = load(p, t)
    assert r.pred.shape == (2, 3) and r.target.tolist() == [0, 1]


def test_npz_as_target_file(tmp_path):
    x = put(tmp_path, "x.npy", npy_bytes(np.ones((2, 3))))
    for arrays in (
        {"y": np.array([0, 1])},
        {"whatever": np.array([0, 1])},
        {"logits": np.ones((2, 3)), "labels": np.array([0, 1])},
    ):
        r = load(x, put(tmp_path, "t.npz", npz_bytes(**arrays)))
        assert r.target.tolist() == [0, 1]
    r = load(
        x,
        put(tmp_path, "t.npz", npz_bytes(a=np.zeros(2), b=np.array([0, 1]))),
        settings=ReadSettings(target_key="b"),
    )
    assert r.target.tolist() == [0, 1]


def test_npz_class_names_and_string_labels(tmp_path):
    p = put(
        tmp_path,
        "c.npz",
        npz_bytes(
            logits=np.ones((3, 3)),
            labels=np.array(["b", "c", "a"]),
            classes=np.array(["a", "b", "c"]),
        ),
    )
    r = load(p)
    assert r.class_names == ["a", "b", "c"] and r.target.tolist() == [1, 2, 0]
    p = put(
        tmp_path,
        "c.npz",
        npz_bytes(
            logits=np.ones((2, 3)), labels=np.array(["b", "z"]), classes=np.array(["a", "b", "c"])
        ),
    )
    fails(f"{p} array 'labels'[1]: 'z' is not a class name; expected one of a, b, c", p)
    # numeric "classes" are the targets
    r = load(put(tmp_path, "n.npz", npz_bytes(logits=np.ones((2, 3)), classes=np.array([2, 1]))))
    assert r.class_names is None and r.target.tolist() == [2, 1]


def test_npz_errors(tmp_path):
    raw = npz_bytes(logits=np.ones((2, 3)), labels=np.array([0, 1]))
    p = put(tmp_path, "t.npz", raw[: len(raw) // 2])
    fails(f"{p} is not a readable .npz archive (File is not a zip file)", p)
    p = put(tmp_path, "t.npz", b"")
    fails(f"{p} is empty; expected an .npz archive of arrays", p)
    p = put(tmp_path, "t.npz", npz_bytes(logits=np.array([1 + 1j]), labels=np.zeros(1)))
    e = fails(
        f"{p} array 'logits' holds complex numbers (dtype complex128); expected real numbers", p
    )
    assert str(e).startswith(str(p))  # the file is named first
    # a stored (uncompressed) member with one flipped data byte fails its CRC check
    i = raw.index(b"\x00\x00\xf0?")  # the bytes of 1.0
    bad = raw[:i] + b"\x01" + raw[i + 1 :]
    p = put(tmp_path, "t.npz", bad)
    with pytest.raises(
        CeLossError,
        match=re.escape(f"{p} array 'logits' cannot be read; the archive is damaged (Bad CRC-32"),
    ):
        load(p)


def test_big_npz_members_are_read_by_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "NPZ_BLOCK_BYTES", 1000)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((300, 7)).astype(np.float32)
    t = rng.integers(0, 7, 300)
    x64f = np.asfortranarray(rng.standard_normal((40, 9)))
    # members at odd offsets: the names move every member's data by a few bytes
    p = put(tmp_path, "m.npz", npz_bytes(a=np.zeros(3), logits_x=x, labels=t, odd=x64f))
    r = load(p, settings=ReadSettings(pred_key="logits_x", target_key="labels"))
    assert isinstance(r.pred, readers.Rows) and isinstance(r.target, readers.Rows)
    assert np.array_equal(r.pred, x) and np.array_equal(r.target, t)
    assert r.pred.dtype == x.dtype and r.target.dtype == t.dtype
    assert np.array_equal(r.pred[17:40], x[17:40])
    r = load(p, settings=ReadSettings(pred_key="odd", target_key="labels"))
    assert isinstance(r.pred, readers.Rows) and r.pred.order == "F"
    assert np.array_equal(r.pred, x64f) and np.array_equal(r.pred[3:11], x64f[3:11])
    # small members are read whole (CRC checked)
    r = load(p, settings=ReadSettings(pred_key="a", target_key="labels"))
    assert type(r.pred) is np.ndarray
    # compressed members and standard input's are decompressed a block at a time
    q = put(tmp_path, "c.npz", npz_bytes(compressed=True, logits=x, labels=t))
    r = load(q)
    assert isinstance(r.pred, readers.Rows) and np.array_equal(r.pred, x)
    assert np.array_equal(r.pred[100:150], x[100:150]) and np.array_equal(r.pred[:5], x[:5])
    r = load("-", stdin=stdin(npz_bytes(logits=x, labels=t)))
    assert isinstance(r.pred, readers.Rows) and np.array_equal(r.pred, x)
    # the file is only read: reading it changes nothing
    before = Path(p).read_bytes()
    load(p, settings=ReadSettings(pred_key="logits_x", target_key="labels")).pred[:1].sum()
    assert Path(p).read_bytes() == before


def test_a_damaged_local_header_of_a_big_member_is_a_clean_error(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "NPZ_BLOCK_BYTES", 1000)
    raw = bytearray(npz_bytes(logits=np.ones((300, 7)), labels=np.zeros(300, dtype=np.int64)))
    # a local header whose extra field claims 60,000 bytes: its data would lie past the end
    i = raw.index(b"PK\x03\x04")
    raw[i + 28 : i + 30] = (60000).to_bytes(2, "little")
    p = put(tmp_path, "x.npz", bytes(raw))
    fails(f"{p} array 'logits' cannot be read; the archive is damaged (it ends early)", p)


# --------------------------------------------------------------------------------------------
# CSV, TSV, text


def test_csv_header_label_column_and_class_names():
    r = load(str(SAMPLES / "animals.csv"))
    assert r.pred.shape == (4, 3) and r.pred.dtype == np.float64
    assert r.class_names == ["cat", "dog", "bird"]
    assert r.target.tolist() == [0, 1, 2, 1] and r.target.dtype == np.int64
    assert r.target_name == r.pred_name == str(SAMPLES / "animals.csv")


def test_csv_numeric_labels_stay_floats(tmp_path):
    r = load(put(tmp_path, "a.csv", "c0,c1,label\n0.5,1,1.0\n2,3,0\n"))
    assert r.target.dtype == np.float64 and r.target.tolist() == [1.0, 0.0]
    assert r.pred.tolist() == [[0.5, 1], [2, 3]] and r.class_names == ["c0", "c1"]


@pytest.mark.parametrize("label", ["label", "labels", "target", "targets", "y", "class", "Label"])
def test_csv_label_column_names(tmp_path, label):
    r = load(put(tmp_path, "a.csv", f"{label},a,b\n1,0.5,0.25\n"))
    assert r.target.tolist() == [1] and r.pred.tolist() == [[0.5, 0.25]]
    assert r.class_names == ["a", "b"]


def test_csv_without_header(tmp_path):
    r = load(put(tmp_path, "a.csv", "1,2,3\n4,5,6\n"))
    assert r.pred.shape == (2, 3) and r.target is None and r.class_names is None


def test_csv_one_column_is_one_dimensional(tmp_path):
    r = load(put(tmp_path, "p.csv", "0.1\n0.9\n0.5\n"))
    assert r.pred.shape == (3,)
    r = load(str(SAMPLES / "bce.csv"))
    assert r.pred.tolist() == [0.1582, 0.4139, 0.2287] and r.target.tolist() == [0, 1, 0]
    assert r.class_names is None  # one probability column names no classes


def test_csv_target_column_by_name_and_index(tmp_path):
    p = put(tmp_path, "a.csv", "a,b,lab,c\n1,2,0,3\n4,5,1,6\n")
    for tc in ("lab", "LAB", 2, -2, "2", "-2"):
        r = load(p, settings=ReadSettings(target_column=tc))
        assert r.target.tolist() == [0, 1] and r.pred.tolist() == [[1, 2, 3], [4, 5, 6]]
        assert r.class_names == ["a", "b", "c"]
    r = load(put(tmp_path, "b.csv", "1,2,0\n4,5,1\n"), settings=ReadSettings(target_column=-1))
    assert r.target.tolist() == [0, 1] and r.class_names is None


def test_csv_target_column_errors(tmp_path):
    p = put(tmp_path, "a.csv", "a,b,lab\n1,2,0\n")
    fails(f"{p} line 1: no column named 'nope'; the columns are a, b, lab", p, target_column="nope")
    fails(
        f"{p} line 1: target column 5 is out of range; the file has 3 columns (0..2, or -1 "
        "for the last)",
        p,
        target_column=5,
    )
    fails(
        f"{p} line 1: target column -4 is out of range; the file has 3 columns (0..2, or -1 "
        "for the last)",
        p,
        target_column=-4,
    )
    q = put(tmp_path, "b.csv", "1,2,0\n")
    fails(
        f"{q} has no header row, so there is no column named 'lab'; give the target column "
        "by its 0-based index",
        q,
        target_column="lab",
    )
    d = put(tmp_path, "d.csv", "a,x,x\n1,2,0\n")
    fails(
        f"{d} line 1: 2 columns are named 'x' (columns 2, 3); give the target column by its "
        "0-based index",
        d,
        target_column="x",
    )
    o = put(tmp_path, "o.csv", "label\n1\n")
    fails(f"{o} has only the target column; expected prediction columns too", o, target_column=0)


def test_csv_several_label_columns(tmp_path):
    p = put(tmp_path, "a.csv", "a,label,y\n1,0,1\n")
    e = fails(f"{p} line 1: several columns could hold the targets ('label', 'y'); expected one", p)
    assert e.hint == "choose one with --target-column"
    assert load(p, settings=ReadSettings(target_column="y")).target.tolist() == [1]


def test_csv_label_column_and_target_file(tmp_path):
    p = put(tmp_path, "a.csv", "a,b,label\n1,2,0\n")
    t = put(tmp_path, "t.csv", "1\n")
    fails(
        f"{p} line 1: has a label column 'label' and a TARGET file was given too; expected "
        "one source of targets",
        p,
        t,
    )


def test_csv_string_labels_in_target_file(tmp_path):
    p = put(tmp_path, "p.csv", "cat,dog\n1,2\n3,4\n5,6\n")
    for content in ("cat\ndog\ncat\n", "label\ncat\ndog\ncat\n", " cat \n1\n0\n"):
        r = load(p, put(tmp_path, "t.csv", content))
        assert r.target.tolist() == [0, 1, 0] and r.class_names == ["cat", "dog"]
    r = load(p, put(tmp_path, "t.csv", "label\ndog\n0\ncat\n"))
    assert r.target.dtype == np.float64 and r.target.tolist() == [1, 0, 0]
    t = put(tmp_path, "t.csv", "label\ndog\ncow\ncat\n")
    fails(
        f"{t} line 3, column 1 ('label'): 'cow' is not a class name; expected a class index "
        "or one of cat, dog",
        p,
        t,
    )
    # probabilities as a target table, with the class names as its header
    r = load(p, put(tmp_path, "t.csv", "cat,dog\n0.5,0.5\n1,0\n0,1\n"))
    assert r.target.shape == (3, 2)
    # the target column of a target file
    r = load(
        p,
        put(tmp_path, "t.csv", "id,label\n7,dog\n8,cat\n9,dog\n"),
        settings=ReadSettings(target_column="label"),
    )
    assert r.target.tolist() == [1, 0, 1]


def test_csv_string_label_errors(tmp_path):
    p = put(tmp_path, "a.csv", "cat,dog,bird,label\n1,2,3,cat\n1,2,3,cow\n")
    fails(
        f"{p} line 3, column 4 ('label'): 'cow' is not a class name; expected a class index "
        "or one of cat, dog, bird",
        p,
    )
    p = put(tmp_path, "a.csv", "cat,dog,bird,label\n1,2,3,\n")
    fails(f"{p} line 2, column 4 ('label'): an empty cell; expected a class", p)
    p = put(tmp_path, "b.csv", "1,2,cat\n")
    e = fails(
        f"{p} line 1, column 3: 'cat' is not a number; expected a class index", p, target_column=2
    )
    assert e.hint == "a header row over the prediction columns names the classes"


def test_csv_comments_blank_lines_crlf_bom_spaces_quotes(tmp_path):
    text = '\ufeff# exported\r\n\r\n"a", "b,c" ,label\r\n 1 , 2 ,0\r\n# x\r\n\r\n3,4,1\r\n'
    r = load(put(tmp_path, "a.csv", text))
    assert r.pred.tolist() == [[1, 2], [3, 4]] and r.target.tolist() == [0, 1]
    assert r.class_names == ["a", "b,c"]


def test_tsv_and_sniffed_delimiters(tmp_path):
    r = load(put(tmp_path, "a.tsv", "a\tb\tlabel\n1\t2\t0\n"))
    assert r.pred_format == "tsv" and r.pred.tolist() == [[1, 2]] and r.target.tolist() == [0]
    r = load(put(tmp_path, "a.csv", "a\tb\tlabel\n1\t2\t0\n"))  # tabs, no commas
    assert r.pred_format == "csv" and r.pred.tolist() == [[1, 2]]
    p = tmp_path / "s.txt"  # numpy.savetxt's default: spaces
    np.savetxt(p, np.arange(6.0).reshape(2, 3), header="cat dog bird", comments="")
    r = load(str(p))
    assert r.pred.tolist() == [[0, 1, 2], [3, 4, 5]] and r.class_names == ["cat", "dog", "bird"]


def test_csv_cell_errors(tmp_path):
    p = put(tmp_path, "logits.csv", "a,b,bird\n1,2,3\n# c\n\n1,2,abc\n")
    e = fails(f"{p} line 5, column 3 ('bird'): 'abc' is not a number", p)
    assert str(e).startswith(str(p))  # the file is named first
    p = put(tmp_path, "logits.csv", "1,2,3\n1,,3\n")
    fails(f"{p} line 2, column 2: an empty cell; expected a number", p)
    p = put(tmp_path, "logits.csv", "a,label,b\n1,0,2\n1,0,x\n")
    fails(f"{p} line 3, column 3 ('b'): 'x' is not a number", p)
    p = put(tmp_path, "logits.csv", "1,2\n1," + "9" * 100 + "x\n")
    fails(f"{p} line 2, column 2: '{'9' * 40}...' is not a number", p)


def test_csv_ragged_rows(tmp_path):
    p = put(tmp_path, "logits.csv", "a,b,c,d,e\n1,2,3,4,5\n\n# c\n1,2,3\n")
    fails(f"{p} line 5: 3 cells, expected 5 like line 1", p)
    p = put(tmp_path, "logits.csv", "\n1,2,3\n1,2,3,4\n")
    fails(f"{p} line 3: 4 cells, expected 3 like line 2", p)
    p = put(tmp_path, "s.txt", "1 2 3\n1 2\n")
    fails(f"{p} line 2: 2 cells, expected 3 like line 1", p)


def test_csv_empty_and_header_only(tmp_path):
    p = put(tmp_path, "logits.csv", "")
    fails(f"{p} is empty; expected rows of numbers separated by commas", p)
    p = put(tmp_path, "logits.csv", "\n# only a comment\n\n")
    fails(f"{p} is empty; expected rows of numbers separated by commas", p)
    p = put(tmp_path, "logits.tsv", "")
    fails(f"{p} is empty; expected rows of numbers separated by tabs", p)
    p = put(tmp_path, "logits.csv", "a,b\n")
    fails(
        f"{p} line 1: a header row and no data after it; expected rows of numbers separated "
        "by commas",
        p,
    )


def test_csv_not_text(tmp_path):
    p = put(tmp_path, "logits.csv", b"1,2\n3,\xff\n")
    fails(f"{p} line 2: byte 0xff at offset 6 is not UTF-8 text; expected a text file", p)
    p = put(tmp_path, "logits.csv", b"1,2\n3,\x004\n")
    fails(f"{p} line 2: a NUL byte; expected text (is this a binary file?)", p)
    # UTF-16 with its byte-order mark (Excel's "Unicode Text") is read (issue 13)
    p = put(tmp_path, "logits.csv", "a,b\n1,2\n".encode("utf-16"))
    assert load(p).pred.tolist() == [[1.0, 2.0]]


def test_csv_unnamed_column_in_header(tmp_path):
    # an empty first header cell is a row index, skipped with a warning (issue 13); kept when
    # asked, it names no class
    p = put(tmp_path, "a.csv", ",cat,dog,label\n0,1,2,0\n")
    assert load(p).pred.tolist() == [[1.0, 2.0]]
    with pytest.raises(CeLossError) as e:
        load(p, settings=ReadSettings(index_col=False))
    assert str(e.value) == (
        f"{p} line 1, column 1: the header names no class here; expected a name for every column"
    )
    assert e.value.hint is not None and "index=False" in e.value.hint


def test_large_csv_reads_every_value(tmp_path):
    # values only: speed is for benchmarks/, and a busy machine is no failure
    rng = np.random.default_rng(1)
    x = rng.standard_normal((100_000, 10)).round(6)
    y = rng.integers(0, 10, 100_000)
    lines = [",".join(f"c{i}" for i in range(10)) + ",label"]
    lines += [",".join(map(repr, row)) + f",{t}" for row, t in zip(x.tolist(), y.tolist())]
    p = put(tmp_path, "big.csv", "\n".join(lines) + "\n")
    r = load(p)
    assert np.array_equal(r.pred, x) and np.array_equal(r.target, y)


# --------------------------------------------------------------------------------------------
# JSON


def test_json_object_and_list(tmp_path):
    r = load(str(SAMPLES / "weighted.json"))
    assert r.pred.tolist() == [[3, 4], [6, 9]] and r.pred.dtype == np.float64
    assert r.target.tolist() == [1, 0] and r.target.dtype == np.int64
    r = load(put(tmp_path, "p.json", "[[1, 2], [3, 4.5]]"))
    assert r.pred.tolist() == [[1, 2], [3, 4.5]] and r.target is None and r.pred_format == "json"


def test_json_k_dimensional_and_target_file(tmp_path):
    x = np.arange(24.0).reshape(2, 3, 2, 2)
    t = np.zeros((2, 2, 2), dtype=int)
    r = load(put(tmp_path, "x.json", str(x.tolist())), put(tmp_path, "t.json", str(t.tolist())))
    assert np.array_equal(r.pred, x) and np.array_equal(r.target, t)


def test_json_keys_class_names_and_probabilities(tmp_path):
    p = put(
        tmp_path,
        "c.json",
        '{"scores": [[1, 2], [3, 4]], "y": ["b", "a"], "class_names": ["a", "b"]}',
    )
    r = load(p)
    assert r.class_names == ["a", "b"] and r.target.tolist() == [1, 0]
    p = put(tmp_path, "s.json", '{"out": [[1, 2]], "soft": [[0.25, 0.75]], "x": [[9, 9]]}')
    r = load(p, settings=ReadSettings(pred_key="out", target_key="soft"))
    assert r.pred.tolist() == [[1, 2]] and r.target.tolist() == [[0.25, 0.75]]
    assert r.target.dtype == np.float64


def test_json_nan_and_infinity_pass_through(tmp_path):
    r = load(put(tmp_path, "p.json", "[1, NaN, Infinity, -Infinity]"))
    assert np.isnan(r.pred[1]) and r.pred[2] == np.inf and r.pred[3] == -np.inf


@pytest.mark.parametrize(
    "content,where",
    [
        (
            "[[1, 2, 3, 4, 5], [1, 2, 3, 4, 5], [1, 2, 3, 4, 5], [1, 2, 3, 4]]",
            "[3]: 4 items, expected 5",
        ),
        ('[[1, 2], [3, "0.5"]]', '[1][1]: "0.5" is a string, expected a number'),
        ("[[1, 2], [3, true]]", "[1][1]: true is a boolean, expected a number"),
        ("[[1, 2], [3, null]]", "[1][1]: null, expected a number"),
        ("[[1, 2], [3, {}]]", "[1][1]: an object, expected a number"),
        ("[[1, 2], 3]", "[1]: a number, expected a list of 2 items"),
        ("[[1, 2], [3, [4]]]", "[1][1]: a list, expected a number"),
        ("[[[1], [2]], [[3], [4, 5]]]", "[1][1]: 2 items, expected 1"),
    ],
)
def test_json_value_errors(tmp_path, content, where):
    p = put(tmp_path, "preds.json", content)
    e = fails(f"{p} {where}", p)
    assert str(e).startswith(str(p))  # the file is named first


def test_json_object_errors(tmp_path):
    p = put(tmp_path, "w.json", '{"logits": [[1, 2], [3]], "labels": [0, 1]}')
    fails(f"{p} logits[1]: 1 item, expected 2", p)
    p = put(tmp_path, "w.json", '{"logits": [[1, 2]], "labels": ["c"], "classes": ["a", "b"]}')
    fails(
        f'{p} labels[0]: "c" is a string but not a class name; expected a number or one of a, b', p
    )
    p = put(tmp_path, "w.json", '{"logits": [[1, 2]], "labels": ["a"]}')
    fails(f'{p} labels[0]: "a" is a string, expected a number', p)
    p = put(tmp_path, "w.json", '{"logits": [[1, 2]], "labels": [0], "class_names": "ab"}')
    fails(f"{p} class_names: expected a list of class names (strings)", p)
    p = put(tmp_path, "w.json", '{"logits": [[1, 2]]}')
    fails(f"{p} holds one key ('logits') and no targets; expected a TARGET file too", p)
    p = put(tmp_path, "w.json", '{"foo": [1], "bar": [1]}')
    fails(
        f"{p} holds the keys foo, bar; expected the predictions under one of logits, "
        "log_probs, logprobs, probs, probabilities, predictions, preds, pred, input, outputs, "
        "scores, x, arr_0",
        p,
    )


def test_json_syntax_and_type_errors(tmp_path):
    p = put(tmp_path, "p.json", '{"logits": [[1,2]],\n "labels": [0,]}')
    fails(f"{p} line 2, column 15: not valid JSON (Expecting value)", p)
    p = put(tmp_path, "p.json", "[1, 2]\n[3, 4]\n")
    e = fails(f"{p} line 2, column 1: not valid JSON (Extra data)", p)
    assert e.hint == "one JSON value per line is JSON Lines: name the file .jsonl"
    p = put(tmp_path, "p.json", '"x"')
    fails(f'{p}: "x" is a string; expected a list of numbers or an object', p)
    p = put(tmp_path, "p.json", "  \n")
    fails(f"{p} is empty; expected a JSON list of numbers or an object", p)
    p = put(tmp_path, "p.json", "[" + "9" * 400 + "]")
    fails(f"{p}: a number too large for a float", p)


def test_json_deep_nesting_is_an_error_not_a_crash(tmp_path):
    p = put(tmp_path, "deep.json", "[" * 300_000 + "]" * 300_000)
    fails(f"{p}: JSON nested too deeply; expected arrays of at most 32 dimensions", p)
    p = put(tmp_path, "deep.json", "[" * 300_000)
    fails(f"{p}: JSON nested too deeply; expected arrays of at most 32 dimensions", p)
    p = put(tmp_path, "deep.json", "[" * 100 + "]" * 100)
    fails(f"{p}: lists nested more than 32 deep; expected an array of at most 32 dimensions", p)
    p = put(tmp_path, "deep.jsonl", "[1]\n" + "[" * 300_000 + "\n")
    fails(f"{p} line 2: JSON nested too deeply", p)


# --------------------------------------------------------------------------------------------
# JSON Lines


def test_jsonl_objects_and_lists(tmp_path):
    r = load(str(SAMPLES / "soft.jsonl"))
    assert r.pred.tolist() == [[1.0, 2.0, 0.5], [0.3, -0.2, 2.5]]
    assert r.target.tolist() == [[0.1, 0.8, 0.1], [0.0, 0.2, 0.8]]
    p = put(tmp_path, "p.jsonl", '{"logits": [1, 2], "label": 1}\n\n{"logits": [3, 4], "label": 0}')
    r = load(p)
    assert r.pred.tolist() == [[1, 2], [3, 4]] and r.target.tolist() == [1, 0]
    assert r.target.dtype == np.int64 and r.pred_format == "jsonl"
    r = load(put(tmp_path, "p.ndjson", "[1, 2]\n[3, 4]\n"))
    assert r.pred.tolist() == [[1, 2], [3, 4]] and r.target is None and r.pred_format == "jsonl"
    r = load(p, settings=ReadSettings(pred_key="label", target_key="logits"))
    assert r.pred.tolist() == [1, 0]


def test_jsonl_target_file_with_class_names(tmp_path):
    p = put(tmp_path, "p.csv", "a,b\n1,2\n3,4\n")
    r = load(p, put(tmp_path, "t.jsonl", '"b"\n"a"\n'))
    assert r.target.tolist() == [1, 0]
    r = load(p, put(tmp_path, "t.jsonl", '{"label": "b"}\n{"label": 0}\n'))
    assert r.target.tolist() == [1, 0]


def test_jsonl_errors(tmp_path):
    p = put(tmp_path, "p.jsonl", "[1, 2]\n[3, 4, 5]\n")
    fails(f"{p} line 2: 3 items, expected 2 like line 1", p)
    p = put(tmp_path, "p.jsonl", '{"logits": [1, 2], "label": 1}\n\n{"logits": [1, 2]}\n')
    fails(f"{p} line 3: no 'label' key; expected one like line 1", p)
    p = put(tmp_path, "p.jsonl", '{"logits": [1, 2], "label": 1}\n{"logits": [1, "a"], "label": 0}')
    fails(f'{p} line 2 logits[1]: "a" is a string, expected a number', p)
    p = put(tmp_path, "p.jsonl", '{"logits": [1, 2], "label": 1}\n[1, 2]\n')
    fails(f"{p} line 2: a list, expected an object like line 1", p)
    p = put(tmp_path, "p.jsonl", '[1, 2]\n{"logits": [1, 2]}\n')
    fails(f"{p} line 2: an object, expected a list or a number like line 1", p)
    p = put(tmp_path, "p.jsonl", "[1, 2]\n[3, 4\n")
    fails(f"{p} line 2: not valid JSON (Expecting ',' delimiter at column 6)", p)
    p = put(tmp_path, "p.jsonl", "[1, 2]\n[3, 4] [5, 6]\n")
    fails(f"{p} line 2: not valid JSON (Extra data at column 8)", p)
    p = put(tmp_path, "p.jsonl", "1\n[2]\n")
    fails(f"{p} line 2: a list, expected a number like line 1", p)
    p = put(tmp_path, "p.jsonl", '{"scores": [1, 2]}\n')
    fails(f"{p} line 1 holds one key ('scores') and no targets; expected a TARGET file too", p)
    p = put(tmp_path, "p.jsonl", "\n \n")
    fails(f"{p} is empty; expected one JSON list or object per line", p)


# --------------------------------------------------------------------------------------------
# Standard input


@pytest.mark.parametrize(
    "data,fmt,pred,target",
    [
        (npy_bytes(np.ones((2, 3))), "npy", [[1, 1, 1]] * 2, None),
        (npz_bytes(logits=np.ones((1, 2)), labels=np.array([1])), "npz", [[1, 1]], [1]),
        ('{"logits": [[1, 2]], "labels": [0]}', "json", [[1, 2]], [0]),
        ("[\n  [1, 2],\n  [3, 4]\n]\n", "json", [[1, 2], [3, 4]], None),
        ("[[1, 2], [3, 4]]", "json", [[1, 2], [3, 4]], None),
        (
            '{"logits": [1, 2], "label": 0}\n{"logits": [3, 4], "label": 1}\n',
            "jsonl",
            [[1, 2], [3, 4]],
            [0, 1],
        ),
        ("[1, 2]\n[3, 4]\n", "jsonl", [[1, 2], [3, 4]], None),
        ("a\tb\tlabel\n1\t2\t0\n", "tsv", [[1, 2]], [0]),
        ("# c\na,b,label\n1,2,0\n", "csv", [[1, 2]], [0]),
        ("\ufeff1,2\n3,4\n", "csv", [[1, 2], [3, 4]], None),
    ],
)
def test_stdin_sniffing(data, fmt, pred, target):
    r = load("-", stdin=stdin(data))
    assert r.pred_format == fmt and r.pred.tolist() == pred
    assert (None if r.target is None else r.target.tolist()) == target
    assert r.pred_name == "<stdin>"
    assert r.target_name == (None if target is None else "<stdin>")


def test_stdin_given_format_and_target(tmp_path):
    r = load("-", stdin=stdin("1 2\n3 4\n"), settings=ReadSettings(pred_format="csv"))
    assert r.pred.tolist() == [[1, 2], [3, 4]]
    r = load("-", stdin=stdin("[1, 2]\n"), settings=ReadSettings(pred_format="ndjson"))
    assert r.pred_format == "jsonl"
    x = put(tmp_path, "x.npy", npy_bytes(np.ones((2, 3))))
    r = load(x, "-", stdin=stdin(npy_bytes(np.array([0, 2]))))
    assert r.target.tolist() == [0, 2] and r.target_name == "<stdin>" and r.pred_name == x
    r = load(x, "-", stdin=io.StringIO("0\n2\n"))  # a text stream works too
    assert r.target.tolist() == [0, 2]


def test_stdin_errors():
    fails("<stdin> is empty; expected data piped or redirected in", "-", stdin=stdin(b""))
    fails(
        "<stdin>: the predictions and the targets cannot both come from standard input; "
        "expected one of them as a file",
        "-",
        "-",
        stdin=stdin(b"1\n"),
    )
    fails("<stdin> line 2, column 2: 'x' is not a number", "-", stdin=stdin("1,2\n1,x\n"))
    fails("<stdin> [1]: 1 item, expected 2", "-", stdin=stdin("[[1, 2], [3]]"))

    class Terminal(io.BytesIO):
        def isatty(self):
            return True

    e = fails(
        "<stdin>: standard input is a terminal; expected data piped or redirected in",
        "-",
        stdin=Terminal(b""),
    )
    assert str(e).startswith("<stdin>")  # the file is named first


# --------------------------------------------------------------------------------------------
# Paths, options


def test_path_errors(tmp_path, monkeypatch):
    missing = str(tmp_path / "nope.csv")
    e = fails(f"{missing}: no such file", missing)
    assert str(e).startswith(str(missing))  # the file is named first
    fails(f"{tmp_path} is a directory; expected a file", str(tmp_path))
    x = put(tmp_path, "x.npy", npy_bytes(np.ones(2)))
    fails(f"{missing}: no such file", x, missing)
    p = put(tmp_path, "locked.csv", "1\n")

    def denied(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(readers.source, "open", denied, raising=False)
    fails(f"{p}: permission denied; cannot read the file", p)


def test_options_that_do_not_apply(tmp_path):
    x = put(tmp_path, "x.npy", npy_bytes(np.ones(2)))
    fails(
        f"{x} is an .npy file, which has no named arrays; the pred key applies to .npz, "
        ".safetensors, .json and .jsonl files",
        x,
        pred_key="a",
    )
    fails(
        f"{x} is an .npy file, which has no columns; the target column applies to CSV and TSV "
        "files",
        x,
        target_column=1,
    )
    c = put(tmp_path, "c.csv", "1,2\n")
    fails(
        f"{c} is a CSV file, which has no named arrays; the target key applies to .npz, "
        ".safetensors, .json and .jsonl files",
        x,
        c,
        target_key="labels",
    )
    with pytest.raises(
        CeLossError,
        match=re.escape(
            "pred_format must be one of npy, npz, csv, tsv, json, jsonl, parquet, feather, safetensors; got 'xml'"
        ),
    ):
        load(x, settings=ReadSettings(pred_format="xml"))


def test_unknown_extension_is_sniffed(tmp_path):
    r = load(put(tmp_path, "data.out", "a,b,label\n1,2,1\n"))
    assert r.pred_format == "csv" and r.target.tolist() == [1]
    r = load(put(tmp_path, "data", '{"logits": [[1, 2]], "labels": [1]}'))
    assert r.pred_format == "json"


def test_input_files_are_not_modified(tmp_path):
    paths = [
        put(tmp_path, "a.csv", "cat,dog,label\n1,2,dog\n"),
        put(tmp_path, "b.npy", npy_bytes(np.ones((2, 2)))),
        put(tmp_path, "c.npz", npz_bytes(logits=np.ones((1, 2)), labels=np.array([1]))),
    ]
    before = {p: Path(p).read_bytes() for p in paths}
    for p in paths:
        r = load(p)
        np.asarray(r.pred)[:1].sum()
    assert before == {p: Path(p).read_bytes() for p in paths}


def test_readers_imports_no_cli_machinery():
    import subprocess
    import sys

    code = (
        "import sys, ce_cli.readers; "
        "print(sorted(m for m in ('typer', 'rich', 'click', 'pandas', 'csv', 'json') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------------------------
# read_vector


@pytest.mark.parametrize(
    "spec,expected",
    [
        ("0.6,0.38", [0.6, 0.38]),
        (" 1, 2 ,3 ", [1, 2, 3]),
        ("2", [2.0]),
        ("1e-3,-4", [0.001, -4.0]),
    ],
)
def test_read_vector_numbers(spec, expected):
    v = read_vector(spec, "--weight")
    assert v.dtype == np.float64 and v.tolist() == expected


def test_read_vector_files(tmp_path):
    np.save(tmp_path / "w.npy", np.array([1, 2, 3]))
    assert read_vector(str(tmp_path / "w.npy"), "--weight").tolist() == [1, 2, 3]
    np.save(tmp_path / "w2.npy", np.ones((1, 3)))
    assert read_vector(str(tmp_path / "w2.npy"), "--pos-weight").shape == (1, 3)
    np.save(tmp_path / "s.npy", np.float64(3))
    assert read_vector(str(tmp_path / "s.npy"), "--weight").tolist() == [3.0]
    for name, content in (
        ("w.csv", "1,2,3\n"),
        ("w.csv", "w\n1\n2\n3\n"),
        ("w.txt", "1 2 3\n"),
        ("w.tsv", "1\t2\t3\n"),
        ("w.json", "[1, 2, 3]"),
    ):
        v = read_vector(put(tmp_path, name, content), "--weight")
        assert v.tolist() == [1, 2, 3] and v.dtype == np.float64
    assert read_vector(put(tmp_path, "w.json", "[[1, 2]]"), "--pos-weight").shape == (1, 2)


def test_read_vector_errors(tmp_path):
    def bad(message, spec, option="--weight", source="weight"):
        with pytest.raises(CeLossError, match="^" + re.escape(message) + "$") as info:
            read_vector(spec, option)
        assert str(info.value).startswith(f"--{source.replace('_', '-')}: ")

    bad("--weight: '0.6,x' item 2 'x' is not a number", "0.6,x")
    bad("--pos-weight: '1,,2' item 2 is empty", "1,,2", "--pos-weight", "pos_weight")
    bad("--weight: no value; expected numbers separated by commas (e.g. 0.6,0.38) or a file", " ")
    bad(
        "--weight: 'x' is not a number, and no file has that name; expected numbers separated "
        "by commas or a file",
        "x",
    )
    bad("--weight: no such file 'w.npy'", "w.npy")
    bad("--weight: no such file 'dir/w'", "dir/w")
    p = put(tmp_path, "w.csv", "1,2\n3,x\n")
    bad(f"--weight: {p} line 2, column 2: 'x' is not a number", p)
    p = put(tmp_path, "w.csv", "1,2\n3,4\n")
    bad(f"--weight: {p} has 2 rows of 2 numbers; expected one row or one column", p)
    p = put(tmp_path, "w.json", '{"w": [1]}')
    bad(f"--weight: {p}: an object; expected a list of numbers", p)
    p = put(tmp_path, "w.npz", npz_bytes(w=np.ones(2)))
    bad(f"--weight: {p} is an .npz archive; expected .npy, .csv, .txt or .json", p)
    p = put(tmp_path, "w.npy", npy_bytes(np.array(["a"])))
    bad(f"--weight: {p} holds strings (dtype <U1); expected real numbers", p)
    p = put(tmp_path, "w.csv", "")
    bad(f"--weight: {p} is empty; expected rows of numbers separated by commas", p)


# --------------------------------------------------------------------------------------------
# Big tables: read a piece at a time


def test_table_over_many_pieces_equals_the_numbers_written(tmp_path, monkeypatch):
    rng = np.random.default_rng(21)
    x = rng.standard_normal((3000, 7))
    y = rng.integers(0, 7, 3000)
    lines = ["# written by a test", "a,b,c,d,e,f,g,label"]
    for i, (r, t) in enumerate(zip(x, y)):
        lines.append(",".join(repr(float(v)) for v in r) + f",{t}")
        if i % 500 == 0:
            lines += ["", "# a comment between rows"]
    p = tmp_path / "big.csv"
    p.write_bytes("\r\n".join(lines).encode())  # Windows line ends, no newline at the end
    monkeypatch.setattr(readers, "TEXT_PIECE", 997)  # ~75 lines a piece, cut mid-line
    r = load(str(p))
    assert np.array_equal(r.pred, x) and r.pred.dtype == np.float64
    assert np.array_equal(r.target, y) and r.class_names == list("abcdefg")
    # a bad cell far into the file names its own line
    lines[2500] = lines[2500].replace(",", ",x", 1)
    p.write_bytes("\n".join(lines).encode())
    with pytest.raises(
        CeLossError,
        match=r"big.csv line 2501, column 2 \('b'\): 'x\S*' is not "
        r"a number",
    ):
        load(str(p))


READ_RSS = """
import sys
from ce_cli import readers
from ce_cli.readers import table

table.FAST = False  # the precise parser's memory; pyarrow's: tests/readers/test_tables_fast.py

def peak():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM"))

before = peak()
r = readers.load(sys.argv[1])
print(peak() - before, r.pred.nbytes)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmHWM as on Linux")
def test_big_table_needs_about_its_values_in_memory(tmp_path):
    """A 13 MB CSV: peak memory grows by its float64 values (8 MB) and one piece's cells, not
    by its text and every cell as a Python string (~110 MB when read whole)."""
    import subprocess
    import sys

    rng = np.random.default_rng(22)
    x = rng.standard_normal((50_000, 20)).astype(np.float32)
    p = tmp_path / "big.csv"
    np.savetxt(p, x, delimiter=",", fmt="%.7g")
    out = subprocess.run(
        [sys.executable, "-c", READ_RSS, str(p)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    growth, values = map(int, out.stdout.split())
    assert values == 50_000 * 20 * 8
    assert growth < values + 12e6, f"peak RSS grew {growth / 1e6:.1f} MB for {values / 1e6} MB"


def test_a_bad_byte_is_said_before_a_header_problem_whatever_the_piece_size(tmp_path, monkeypatch):
    # found by the fuzzer: small pieces parsed the header (and refused it) before the bad byte
    # of line 3 was decoded; a whole read names the byte
    p = tmp_path / "f.csv"
    p.write_bytes(b"cat,dog,bird,label,\x0c\n2.0,0.5,-1.0,0,\r\n\xb0.1,1.2,0.3,1,\r\n")
    want = f"{p} line 3: byte 0xb0 at offset 38 is not UTF-8 text; expected a text file"
    for piece in (1 << 18, 64, 8, 1):
        monkeypatch.setattr(readers, "TEXT_PIECE", piece)
        with pytest.raises(CeLossError, match="^" + re.escape(want) + "$"):
            load(str(p))
