""".safetensors input: files the safetensors package writes, bfloat16 checked against torch's
bfloat16 -> float32, damaged headers written by hand, and --pred-dtype bfloat16 for .npy."""

import json
import os
import re
import struct

import numpy as np
import pytest

from ce_cli.core import run
from ce_cli.errors import CeLossError
from ce_cli.readers import load
from ce_cli.readers.bfloat16 import Bf16Array, widen
from ce_cli.settings import LossSpec, ReadSettings

st = pytest.importorskip("safetensors.numpy")


def raw_file(path, header: dict | bytes, data: bytes = b"", length: int | None = None):
    """A .safetensors file written by hand: ``length`` overrides the stated header length."""
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    n = len(h) if length is None else length
    path.write_bytes(struct.pack("<Q", n) + h + data)
    return str(path)


def loss_of(pred, target, **kw) -> float:
    return run(LossSpec(**kw), pred, target).loss


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_float_predictions_and_integer_targets_in_one_file(tmp_path, dtype):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 4)).astype(dtype)
    t = rng.integers(0, 4, size=6).astype(np.int32)
    p = tmp_path / "m.safetensors"
    st.save_file({"logits": x, "labels": t}, str(p))
    r = load(str(p))
    assert r.pred_format == "safetensors"
    assert np.asarray(r.pred).dtype == dtype
    np.testing.assert_array_equal(np.asarray(r.pred), x)
    np.testing.assert_array_equal(np.asarray(r.target), t)
    assert loss_of(r.pred, r.target) == loss_of(x, t)


def test_bfloat16_widens_as_torch_does(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    rng = np.random.default_rng(2)
    x = torch.tensor(rng.normal(scale=30, size=(8, 5)), dtype=torch.bfloat16)
    x[0, :4] = torch.tensor([float("inf"), float("-inf"), -0.0, 1e-40])  # subnormal too
    t = torch.tensor(rng.integers(0, 5, size=8))
    p = tmp_path / "bf.safetensors"
    save_file({"logits": x, "labels": t}, str(p))
    r = load(str(p))
    assert isinstance(r.pred, Bf16Array) and r.pred.dtype == np.float32
    want = x.float().numpy()
    np.testing.assert_array_equal(np.asarray(r.pred).view(np.uint32), want.view(np.uint32))
    np.testing.assert_array_equal(r.pred[3:7], want[3:7])  # rows widened as sliced
    assert loss_of(r.pred[1:], r.target[1:]) == loss_of(want[1:], t.numpy()[1:])


def test_widen_is_the_upper_half_of_float32_for_every_bit_pattern():
    bits = np.arange(1 << 16, dtype=np.uint16)
    f = widen(bits)
    assert f.dtype == np.float32
    np.testing.assert_array_equal(f.view(np.uint32) >> 16, bits)
    np.testing.assert_array_equal(f.view(np.uint32) & 0xFFFF, 0)


def test_classes_last_bfloat16_matches_torch(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    rng = np.random.default_rng(3)
    x = torch.tensor(rng.normal(size=(2, 6, 11)), dtype=torch.bfloat16)
    t = torch.tensor(rng.integers(0, 11, size=(2, 6)))
    t[0, 2] = -100
    p = tmp_path / "lm.safetensors"
    save_file({"logits": x, "label_ids": t}, str(p))
    r = load(str(p))
    got = run(LossSpec(class_dim=-1), r.pred, r.target).loss
    want = torch.nn.functional.cross_entropy(x.double().movedim(-1, 1), t).item()
    assert got == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize(
    ("pred_key", "target_key"),
    [
        ("predictions", "references"),
        ("logits", "label_ids"),
        ("logits", "input_ids"),
        ("scores", "labels"),
    ],
)
def test_conventional_names(tmp_path, pred_key, target_key):
    x, t = np.zeros((3, 2), np.float32), np.array([0, 1, 1])
    p = tmp_path / "c.safetensors"
    st.save_file({pred_key: x, target_key: t, "attention_mask": np.ones(3, np.int64)}, str(p))
    r = load(str(p))
    np.testing.assert_array_equal(np.asarray(r.target), t)


def test_labels_win_over_input_ids(tmp_path):
    p = tmp_path / "c.safetensors"
    st.save_file(
        {
            "logits": np.zeros((2, 2), np.float32),
            "input_ids": np.array([1, 1]),
            "labels": np.array([0, 0]),
        },
        str(p),
    )
    assert np.asarray(load(str(p)).target).tolist() == [0, 0]


def test_keys_select_tensors(tmp_path):
    p = tmp_path / "k.safetensors"
    st.save_file({"a": np.ones((2, 3), np.float32), "b": np.array([2, 0])}, str(p))
    r = load(str(p), settings=ReadSettings(pred_key="a", target_key="b"))
    assert np.asarray(r.target).tolist() == [2, 0]
    with pytest.raises(
        CeLossError, match=re.escape(f"{p} has no tensor named 'zz' (the pred key)")
    ):
        load(str(p), settings=ReadSettings(pred_key="zz"))


def test_separate_target_file(tmp_path):
    a, b = tmp_path / "x.safetensors", tmp_path / "y.safetensors"
    st.save_file({"logits": np.ones((2, 3), np.float32)}, str(a))
    st.save_file({"labels": np.array([2, 0], np.int64)}, str(b))
    r = load(str(a), str(b))
    assert r.target_name == str(b) and np.asarray(r.target).tolist() == [2, 0]


def test_never_read_whole_a_regular_file_is_read_by_rows(tmp_path):
    from ce_cli.readers.rows import FileRows

    p = tmp_path / "m.safetensors"
    st.save_file({"logits": np.ones((4, 3), np.float32), "labels": np.zeros(4, np.int64)}, str(p))
    r = load(str(p))
    assert isinstance(r.pred, FileRows) and isinstance(r.target, FileRows)
    assert np.asarray(r.pred[1:3]).tolist() == [[1.0] * 3] * 2


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_a_file_cut_while_read_is_a_clean_error_not_sigbus(tmp_path, dtype):
    """A memory map of a file cut short kills the process; positioned reads come back short."""
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    p = tmp_path / "m.safetensors"
    x = torch.ones((400, 10), dtype=getattr(torch, dtype))
    save_file({"logits": x, "labels": torch.zeros(400, dtype=torch.int64)}, str(p))
    r = load(str(p))
    assert np.asarray(r.pred[0:100]).tolist() == [[1.0] * 10] * 100
    os.truncate(p, 2000)
    with pytest.raises(CeLossError, match="m.safetensors changed while ce-loss was reading it"):
        r.pred[300:400]


def test_from_standard_input(tmp_path):
    import io

    p = tmp_path / "m.safetensors"
    st.save_file({"logits": np.ones((2, 3), np.float32), "labels": np.array([1, 2])}, str(p))
    r = load(
        "-", settings=ReadSettings(pred_format="safetensors"), stdin=io.BytesIO(p.read_bytes())
    )
    assert np.asarray(r.target).tolist() == [1, 2]


def _one(dtype="F32", shape=(2, 2), offsets=(0, 16)):
    return {"logits": {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}}


@pytest.mark.parametrize(
    ("header", "data", "length", "message"),
    [
        (b"", b"", None, "is truncated inside its 8-byte .safetensors header length"),
        (_one(), bytes(16), 10_000, "has a .safetensors header length of 10000 bytes, but only"),
        (b"{not json", b"", None, "has a damaged .safetensors header ("),
        (b"[1, 2]", b"", None, "has a damaged .safetensors header; expected a JSON object"),
        (b"\xff\xfe{}", b"", None, "has a damaged .safetensors header (not UTF-8 JSON)"),
        (
            _one(offsets=(0, 32)),
            bytes(16),
            None,
            "tensor 'logits': has data_offsets [0, 32] outside the 16 bytes of data",
        ),
        (_one(offsets=(8, 4)), bytes(16), None, "tensor 'logits': has data_offsets [8, 4] outside"),
        (_one(dtype="F8_E4M3"), bytes(16), None, "has dtype 'F8_E4M3', a type ce-loss cannot read"),
        (_one(dtype="Q7"), bytes(16), None, "has dtype 'Q7', an unknown dtype"),
        (
            _one(shape=(2, 3)),
            bytes(16),
            None,
            "has shape (2, 3) of F32 (24 bytes) but data_offsets [0, 16] hold 16 bytes",
        ),
        (
            _one(shape=(2, -1)),
            bytes(16),
            None,
            "has shape [2, -1]; expected a list of non-negative",
        ),
        (_one(offsets=(0,)), bytes(16), None, "has data_offsets [0]; expected [begin, end]"),
        ({"logits": 3}, b"", None, "tensor 'logits': is not a JSON object"),
        ({"logits": {"shape": [1], "data_offsets": [0, 4]}}, bytes(4), None, "has no dtype"),
    ],
)
def test_damaged_headers(tmp_path, header, data, length, message):
    p = tmp_path / "d.safetensors"
    if header == b"" and length is None:
        p.write_bytes(b"\x05\x00\x00")  # shorter than the length field
        name = str(p)
    else:
        name = raw_file(p, header, data, length)
    with pytest.raises(CeLossError) as info:
        load(name, str(tmp_path / "none.npy"))
    assert message in str(info.value), str(info.value)
    assert str(info.value).startswith(name)


def test_overlapping_tensors(tmp_path):
    h = {
        "logits": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
        "labels": {"dtype": "I64", "shape": [1], "data_offsets": [8, 16]},
    }
    p = raw_file(tmp_path / "o.safetensors", h, bytes(16))
    with pytest.raises(
        CeLossError,
        match=re.escape(
            "tensor 'labels': data offsets [8, 16] overlap those of tensor 'logits' [0, 16]"
        ),
    ):
        load(p)


def test_empty_file(tmp_path):
    p = tmp_path / "e.safetensors"
    p.write_bytes(b"")
    with pytest.raises(CeLossError, match="is empty; expected a .safetensors file"):
        load(str(p), str(p))


def test_metadata_is_skipped(tmp_path):
    p = tmp_path / "m.safetensors"
    st.save_file(
        {"logits": np.ones((2, 3), np.float32), "labels": np.array([0, 1])},
        str(p),
        metadata={"format": "pt"},
    )
    assert load(str(p)).pred.shape == (2, 3)


# --pred-dtype bfloat16


def test_npy_of_two_byte_void_is_bfloat16(tmp_path):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    xb = torch.tensor(rng.normal(size=(5, 3)), dtype=torch.bfloat16)
    p, q = tmp_path / "bf.npy", tmp_path / "t.npy"
    np.save(p, xb.view(torch.int16).numpy().view("V2"))  # how ml_dtypes.bfloat16 is saved
    np.save(q, np.array([0, 1, 2, 1, 0]))
    r = load(str(p), str(q), ReadSettings(pred_dtype="bfloat16"))
    np.testing.assert_array_equal(np.asarray(r.pred), xb.float().numpy())
    with pytest.raises(CeLossError, match=re.escape("holds structured records (dtype |V2)")):
        load(str(p), str(q))


def test_bfloat16_npy_is_read_by_rows_and_a_cut_file_is_an_error(tmp_path):
    """A big bfloat16 .npy is read by positioned reads, a block of rows at a time (not mapped,
    not read whole): rows read as the float32 of their bits, and a file cut meanwhile is a
    clean error naming it."""
    from ce_cli.readers.rows import FileRows

    bits = np.arange(6 * 4, dtype=np.uint16).reshape(6, 4) + 0x3F80
    p = tmp_path / "bf.npy"
    np.save(p, bits.view("V2"))
    np.save(tmp_path / "t.npy", np.zeros(6, dtype=np.int64))
    pred = load(str(p), str(tmp_path / "t.npy"), ReadSettings(pred_dtype="bfloat16")).pred
    assert isinstance(pred.bits, FileRows)
    want = (bits.astype(np.uint32) << 16).view(np.float32)
    np.testing.assert_array_equal(pred[2:5], want[2:5])
    os.truncate(p, os.path.getsize(p) - 8)
    with pytest.raises(CeLossError, match=re.escape(f"{p} changed while ce-loss was reading it")):
        pred[4:6]


def test_pred_dtype_refused_for_four_byte_values(tmp_path):
    p = tmp_path / "f.npy"
    np.save(p, np.ones((2, 2), np.float32))
    with pytest.raises(
        CeLossError,
        match=re.escape(
            f"{p} holds float32 values (4 bytes each); --pred-dtype bfloat16 reads 2-byte values"
        ),
    ):
        load(str(p), str(p), ReadSettings(pred_dtype="bfloat16"))


def test_pred_dtype_refused_for_text(tmp_path):
    p = tmp_path / "f.csv"
    p.write_text("1,2\n")
    with pytest.raises(CeLossError, match="--pred-dtype bfloat16 applies to .npy and .safetensors"):
        load(str(p), str(p), ReadSettings(pred_dtype="bf16"))


def test_pred_dtype_unknown_value(tmp_path):
    with pytest.raises(CeLossError, match=re.escape("must be bfloat16; got 'fp8'")):
        load("x.npy", settings=ReadSettings(pred_dtype="fp8"))


# Pickle-based formats


@pytest.mark.parametrize("ext", [".pt", ".bin", ".pkl", ".pth"])
def test_pickle_formats_are_refused_by_name(tmp_path, ext):
    import zipfile

    p = tmp_path / f"model{ext}"
    with zipfile.ZipFile(p, "w") as z:  # torch.save's zip layout, which would pass for an .npz
        z.writestr("archive/data.pkl", b"\x80\x02]q\x00.")
    with pytest.raises(CeLossError) as info:
        load(str(p), str(p))
    msg = str(info.value)
    assert msg.startswith(f"{p} is a {ext} file, a pickle-based format that ce-loss never loads")
    assert "expected .safetensors or .npy" in msg
    assert "safetensors.torch.save_file" in info.value.hint


def test_void_npy_hints_at_pred_dtype(tmp_path):
    p = tmp_path / "v.npy"
    np.save(p, np.zeros(4, np.uint16).view("V2"))
    with pytest.raises(CeLossError) as info:
        load(str(p), str(p))
    assert info.value.hint == "if these are bfloat16 values (ml_dtypes), give --pred-dtype bfloat16"


# Conventional names in .npz and .json (issue 12 item 5)


def test_npz_positional_arrays_are_predictions_then_targets(tmp_path):
    p = tmp_path / "pos.npz"
    x, t = np.ones((3, 2)), np.array([1, 0, 1])
    np.savez(p, x, t)
    r = load(str(p))
    np.testing.assert_array_equal(np.asarray(r.pred), x)
    np.testing.assert_array_equal(np.asarray(r.target), t)


@pytest.mark.parametrize(
    ("pk", "tk"), [("predictions", "references"), ("logits", "label_ids"), ("arr_0", "arr_1")]
)
def test_npz_and_json_conventional_names(tmp_path, pk, tk):
    x, t = [[0.5, 1.0], [2.0, 0.0]], [1, 0]
    j = tmp_path / "c.json"
    j.write_text(json.dumps({pk: x, tk: t}))
    z = tmp_path / "c.npz"
    np.savez(z, **{pk: np.array(x), tk: np.array(t)})
    for path in (j, z):
        r = load(str(path))
        assert np.asarray(r.target).tolist() == t, path


def test_safetensors_through_the_command_line(tmp_path):
    from typer.testing import CliRunner

    from ce_cli.cli import app

    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 4, 6)).astype(np.float32)
    t = rng.integers(0, 6, size=(2, 4))
    p = tmp_path / "lm.safetensors"
    st.save_file({"logits": x, "input_ids": t}, str(p))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "t.npy", t)
    args = ["--class-dim", "last", "--shift", "--format", "plain"]
    one = CliRunner().invoke(app, ["compute", str(p), *args])
    two = CliRunner().invoke(
        app, ["compute", str(tmp_path / "x.npy"), str(tmp_path / "t.npy"), *args]
    )
    assert one.exit_code == 0, one.output
    assert one.stdout == two.stdout
