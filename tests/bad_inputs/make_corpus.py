"""Write the bad-input corpus of tests/cli/test_bad_inputs.py into tests/bad_inputs/files/.

    python tests/bad_inputs/make_corpus.py          # rewrites the files in place

Every file is small and its bytes depend on nothing but this script (archives carry a fixed
date), so running it again changes nothing; a test checks that the committed files are what it
writes. What ce-loss must say about each file is in cases.json, next to this script.

The pickles written here are harmless (a list of numbers); the malicious pickle of the
"never unpickles" test is built at test time, with its marker in a temporary directory.
"""

from __future__ import annotations

import io
import json
import pickle
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
_DATE = (2024, 1, 1, 0, 0, 0)

# A valid problem: 4 samples, 3 classes.
LOGITS = np.array([[2.0, 0.5, -1.0], [0.1, 1.2, 0.3], [-0.5, 0.0, 2.5], [1.0, 1.0, 1.0]])
LABELS = np.array([0, 1, 2, 1])
LOGITS_CSV = "".join(",".join(repr(float(v)) for v in row) + "\n" for row in LOGITS)


def npy(arr: np.ndarray, allow_pickle: bool = False) -> bytes:
    b = io.BytesIO()
    np.save(b, arr, allow_pickle=allow_pickle)
    return b.getvalue()


def npy_header(header: str, data: bytes = b"") -> bytes:
    """A version 1.0 .npy file with this header text, padded as numpy pads it."""
    h = header.encode("latin1")
    pad = 64 - (10 + len(h) + 1) % 64
    h = h + b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + data


def npz(**arrays: bytes) -> bytes:
    """An .npz archive of the given .npy members, with a fixed date so the bytes never change."""
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_STORED) as z:
        for key, data in arrays.items():
            z.writestr(zipfile.ZipInfo(f"{key}.npy", date_time=_DATE), data)
    return b.getvalue()


def corpus() -> dict[str, bytes]:
    """File name -> bytes."""
    f: dict[str, bytes] = {}
    # valid companions of the bad files
    f["ok_logits.npy"] = npy(LOGITS)
    f["ok_labels.npy"] = npy(LABELS)
    f["ok_logits.csv"] = LOGITS_CSV.encode()
    f["ok_probs.npy"] = npy(np.array([[0.2, 0.8], [0.9, 0.1], [0.5, 0.5]]))
    f["ok_binary.npy"] = npy(np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]))
    f["ok_binlogits.npy"] = npy(np.array([[0.3, -1.2], [2.0, 0.1], [-0.4, 0.9]]))
    # a directory where a file is expected (git keeps it through the file inside)
    f["a_directory.npy/README"] = b"ce-loss is given this directory as PRED.\n"

    # empty files of every format
    for ext in ("npy", "npz", "csv", "tsv", "json", "jsonl"):
        f[f"empty.{ext}"] = b""

    # .npy damage
    full = npy(LOGITS)
    f["truncated.npy"] = full[: len(full) - 20]
    f["truncated_header.npy"] = full[:40]
    f["huge_shape.npy"] = npy_header(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000, 100000000000), }",
        full[128:],
    )
    f["damaged_header.npy"] = npy_header("{'descr': '<f8', 'fortran_order': False, }", full[128:])
    f["comma_descr.npy"] = npy_header(
        "{'descr': ',<f8', 'fortran_order': False, 'shape': (4, 3), }", full[128:]
    )
    f["not_numpy.npy"] = b"this is text, not an array\n"
    f["object.npy"] = npy(np.array([[1.0, 2.0], [3.0, 4.0]], dtype=object), allow_pickle=True)
    f["pickle_named.npy"] = pickle.dumps([[1.0, 2.0], [3.0, 4.0]], protocol=4)
    f["complex.npy"] = npy(LOGITS.astype(np.complex128))
    f["strings.npy"] = npy(np.array([["2.0", "0.5"], ["0.1", "1.2"]]))
    f["labels_nan.npy"] = npy(np.array([0.0, np.nan, 2.0, 1.0]))

    # .npz damage
    f["object.npz"] = npz(
        logits=npy(np.array([[1.0, 2.0]], dtype=object), allow_pickle=True),
        labels=npy(np.array([1])),
    )
    f["truncated.npz"] = npz(logits=npy(LOGITS), labels=npy(LABELS))[:150]
    f["no_targets.npz"] = npz(logits=npy(LOGITS))

    # CSV and TSV damage
    f["non_numeric.csv"] = b"a,b,c\n1.0,2.0,3.0\n4.0,abc,6.0\n"
    f["ragged.csv"] = b"1.0,2.0,3.0\n4.0,5.0,6.0\n7.0,8.0\n"
    f["garbage.csv"] = bytes(range(256)) * 2
    f["latin1.csv"] = "x,y\n1.0,2.0\n3.0,4.0\n\u00e9t\u00e9,5.0\n".encode("latin-1")
    # UTF-16 with its byte-order mark is read (issue 13); cut in the middle of a character it
    # is not text
    f["utf16.csv"] = "1.0,2.0\n3.0,4.0\n".encode("utf-16") + b"\x00"
    f["nul.csv"] = b"1.0,2.0\n3.0,\x004.0\n"
    f["non_numeric.tsv"] = b"1.0\t2.0\n3.0\tfour\n"
    f["header_only.csv"] = b"cat,dog,label\n"
    f["bad_label_name.csv"] = b"cat,dog,label\n1.0,2.0,cat\n0.5,0.1,horse\n"
    f["labels_with_text.csv"] = b"0\n1\ntwo\n"

    # tables as pandas, R and Excel write them that cannot be read as they are (issue 13)
    f["row_index.csv"] = "".join(
        f"{i}," + ",".join(repr(float(v)) for v in row) + "\n" for i, row in enumerate(LOGITS)
    ).encode()
    f["excel_cp1252.csv"] = (
        "caf\u00e9,th\u00e9,cr\u00e8me\r\n".encode("cp1252")
        + LOGITS_CSV.replace("\n", "\r\n").encode()
    )
    f["thousands.csv"] = b"a;b;c\r\n1.234,5;2;3\r\n4;5;6\r\n7;8;9\r\n1;2;3\r\n"
    f["trailing_ragged.csv"] = b"a,b,c,\n1,2,3,\n4,5,6,\n7,8,9,0\n1,2,3,\n"
    f["r_na.csv"] = b'"","a","b","c"\n"1",2,0.5,-1\n"2",NA,1.2,0.3\n"3",-0.5,0,2.5\n"4",1,1,1\n'
    f["damaged.csv.gz"] = bytes.fromhex("1f8b0800000000000003") + b"\x33\xd4\x31\x02"

    # JSON and JSON Lines damage
    f["invalid.json"] = b'{"logits": [[1.0, 2.0], [3.0, 4.0]], "labels": [0, 1}\n'
    f["deep.json"] = b"[" * 200_000 + b"]" * 200_000
    f["ragged.json"] = b"[[1.0, 2.0, 3.0], [4.0, 5.0], [6.0, 7.0, 8.0]]"
    f["strings.json"] = b'{"logits": [[1.0, "2.5"], [0.3, 0.4]], "labels": [0, 1]}'
    f["not_a_list.json"] = b'"logits"'
    f["invalid.jsonl"] = b'{"logits": [1.0, 2.0], "label": 0}\n{"logits": [1.0, 2.0] "label": 1}\n'
    f["ragged.jsonl"] = b"[1.0, 2.0, 3.0]\n[4.0, 5.0]\n"
    f["strings.jsonl"] = (
        b'{"logits": [1.0, 2.0], "label": 0}\n{"logits": [1.0, 2.0], "label": "1"}\n'
    )

    # values the loss cannot take
    f["labels_3.npy"] = npy(np.array([0, 1, 2]))  # one label short of ok_logits' 4 rows
    f["labels_out_of_range.npy"] = npy(np.array([0, 1, 7, 1]))
    f["labels_negative.npy"] = npy(np.array([0, -1, 2, 1]))
    f["labels_fractional.npy"] = npy(np.array([0.0, 1.5, 2.0, 1.0]))
    f["labels_fractional.csv"] = b"0\n1.5\n2\n1\n"
    f["labels_2d.npy"] = npy(np.array([[0, 1], [2, 1]]))
    f["logits_nan.npy"] = npy(np.where(np.arange(12).reshape(4, 3) == 4, np.nan, LOGITS))
    f["logits_inf.npy"] = npy(np.where(np.arange(12).reshape(4, 3) == 7, np.inf, LOGITS))
    f["logits_nan.csv"] = b"2.0,0.5,-1.0\n0.1,nan,0.3\n-0.5,0.0,2.5\n1.0,1.0,1.0\n"
    f["probs_out_of_range.npy"] = npy(np.array([[0.2, 0.8], [1.5, 0.1], [0.5, 0.5]]))
    f["binary_target_2.npy"] = npy(np.array([[0.0, 1.0], [2.0, 0.0], [1.0, 1.0]]))
    f["weight_nan.csv"] = b"1.0\nnan\n1.0\n"

    # a language model's layout: (2, 4, 5) logits, classes last, with (2, 4) labels
    lm = np.arange(40, dtype=np.float64).reshape(2, 4, 5) % 7 / 3.0
    f["lm_logits.npy"] = npy(lm)
    f["lm_labels.npy"] = npy(np.array([[1, 4, 0, 2], [3, 3, -100, -100]]))
    f["lm_logits_nan.npy"] = npy(np.where(np.arange(40).reshape(2, 4, 5) == 33, np.nan, lm))
    f["lm_one_position_logits.npy"] = npy(lm[:, :1])
    f["lm_one_position_labels.npy"] = npy(np.array([[1], [3]]))

    # .safetensors written by hand (issue 12): a good one, then damaged headers
    f["ok_logits.safetensors"] = safetensors({"logits": LOGITS.astype("<f4")})
    good = safetensors({"logits": LOGITS.astype("<f4")})
    f["st_length_past_end.safetensors"] = (10**6).to_bytes(8, "little") + good[8:]
    f["st_bad_json.safetensors"] = len(b"{oops").to_bytes(8, "little") + b"{oops"
    f["st_unknown_dtype.safetensors"] = safetensors({"logits": LOGITS.astype("<f4")}, "Q7")
    # shards that do not fit together, and bfloat16 asked of 4-byte values
    f["shards/a-1.npy"] = npy(LOGITS[:2])
    f["shards/a-2.npy"] = npy(LOGITS[2:, :2])
    f["shards/b-1.npy"] = npy(LOGITS[:2])
    f["shards/b-2.npy"] = npy(LABELS[2:].reshape(2, 1).repeat(3, axis=1))
    f["ok_logits_f4.npy"] = npy(LOGITS.astype(np.float32))
    f["model.pt"] = b"PK\x05\x06" + bytes(18)  # an empty zip, as a torch.save file starts
    return f


def safetensors(arrays: dict[str, np.ndarray], dtype: str | None = None) -> bytes:
    """A .safetensors file of little-endian arrays (``dtype`` overrides the stated dtype)."""
    header, data = {}, b""
    for k, a in arrays.items():
        b = np.ascontiguousarray(a).tobytes()
        st = dtype or {"<f4": "F32", "<f8": "F64", "<i8": "I64"}[a.dtype.str]
        header[k] = {
            "dtype": st,
            "shape": list(a.shape),
            "data_offsets": [len(data), len(data) + len(b)],
        }
        data += b
    h = json.dumps(header).encode()
    return len(h).to_bytes(8, "little") + h + data


def write(root: Path = FILES) -> list[Path]:
    """Write the corpus under ``root``; returns the paths written."""
    out = []
    for name, data in corpus().items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if not p.exists() or p.read_bytes() != data:  # keep mtimes of unchanged files
            p.write_bytes(data)
        out.append(p)
    return out


if __name__ == "__main__":
    paths = write(Path(sys.argv[1]) if len(sys.argv) > 1 else FILES)
    print(f"wrote {len(paths)} files")
