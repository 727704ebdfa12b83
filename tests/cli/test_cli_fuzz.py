"""Fuzzing the whole command: whatever the files and options, exit 0 with output, or exit 2 and
one ``ce-loss: error:`` line.

For each input format, PRED and/or TARGET are random bytes or valid files damaged by random
mutations (truncation, flipped bytes, inserted bytes, cells, characters and tokens), given as
paths or on stdin, with options drawn from a small set. A run must end with exit 0 (and, for
``--format json``, JSON on stdout), exit 1 only for a failing ``check``, or exit 2 with nothing
on stdout and exactly one ``ce-loss: error:`` line on stderr (after any warnings). Never another
status, a traceback, an "internal error", a modified input file, or an example slower than the
deadline.
"""

import io
import itertools
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ce_cli.cli import app

FORMATS = ("npy", "npz", "csv", "tsv", "json", "jsonl")
# How many examples, and no deadline, come from the profile in conftest.py.
FUZZ = settings(
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
runner = CliRunner()
_counter = itertools.count()

LOGITS = np.array([[2.0, 0.5, -1.0], [0.1, 1.2, 0.3], [-0.5, 0.0, 2.5], [1.0, 1.0, 1.0]])
PROBS = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.25, 0.25, 0.5], [0.3, 0.4, 0.3]])
LABELS = np.array([0, 1, 2, 1])
BINARY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0], [1.0, 0.0, 1.0]])


def _npy(a) -> bytes:
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


def _npz(**arrays) -> bytes:
    b = io.BytesIO()
    np.savez(b, **arrays)
    return b.getvalue()


def _table(a, sep=",", header=None, labels=None) -> bytes:
    rows = [sep.join(repr(float(v)) for v in np.atleast_1d(r)) for r in a]
    if labels is not None:
        rows = [f"{r}{sep}{int(t)}" for r, t in zip(rows, labels)]
    return ("".join(f"{r}\n" for r in ([header] if header else []) + rows)).encode()


def _seeds():
    """Per format: (pred seeds, target seeds); a pred seed may hold its targets too."""
    seeds = {}
    seeds["npy"] = (
        [_npy(LOGITS), _npy(PROBS), _npy(LOGITS.astype(np.float32))],
        [_npy(LABELS), _npy(BINARY), _npy(PROBS)],
    )
    seeds["npz"] = (
        [
            _npz(logits=LOGITS, labels=LABELS),
            _npz(probs=PROBS, targets=BINARY),
            _npz(
                logits=LOGITS,
                labels=np.array(["a", "b", "c", "b"]),
                classes=np.array(["a", "b", "c"]),
            ),
        ],
        [_npz(labels=LABELS), _npz(targets=BINARY)],
    )
    for fmt, sep in (("csv", ","), ("tsv", "\t")):
        seeds[fmt] = (
            [
                _table(LOGITS, sep),
                _table(PROBS, sep),
                _table(LOGITS, sep, header=sep.join(["a", "b", "c", "label"]), labels=LABELS),
            ],
            [_table(LABELS, sep), _table(BINARY, sep)],
        )
    seeds["json"] = (
        [
            json.dumps(LOGITS.tolist()).encode(),
            json.dumps({"logits": LOGITS.tolist(), "labels": LABELS.tolist()}).encode(),
            json.dumps({"probs": PROBS.tolist(), "targets": BINARY.tolist()}).encode(),
        ],
        [json.dumps(LABELS.tolist()).encode(), json.dumps(BINARY.tolist()).encode()],
    )
    seeds["jsonl"] = (
        [
            "".join(json.dumps(r) + "\n" for r in LOGITS.tolist()).encode(),
            "".join(
                json.dumps({"logits": r, "label": int(t)}) + "\n"
                for r, t in zip(LOGITS.tolist(), LABELS)
            ).encode(),
        ],
        [
            "".join(f"{int(t)}\n" for t in LABELS).encode(),
            "".join(json.dumps(r) + "\n" for r in BINARY.tolist()).encode(),
        ],
    )
    return seeds


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
    b"-inf",
    b"true",
    b"null",
    b"\x00",
    b"\xff",
    b"\xef\xbb\xbf",
    b"#",
    b"label",
    b" ",
    b"[" * 40,
    b"99999999999999999999999",
    b"-1",
    b"7",
    b"0.5",
    b"\x93NUMPY",
    b"PK\x03\x04",
    b"\x80\x04",
    b",,",
    b"1,2,3\n",
]


@st.composite
def damaged(draw, seeds):
    """Random bytes (1 in 10), a seed file as it is (4 in 10) or damaged by 1-3 mutations."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.binary(max_size=200))
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(0 if kind <= 4 else draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "token"]))
        pos = draw(st.integers(0, len(data)))
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


OPTIONS = st.lists(
    st.sampled_from(
        [
            ("--loss", "nll"),
            ("--loss", "bce"),
            ("--loss", "bce-logits"),
            ("--input", "probs"),
            ("--input", "log-probs"),
            ("--reduction", "sum"),
            ("--reduction", "none"),
            ("--weight", "1,2,3"),
            ("--weight", "0.5"),
            ("--pos-weight", "1,2,3"),
            ("--label-smoothing", "0.1"),
            ("--ignore-index", "1"),
            ("--ignore-index", "-1"),
            ("--per-sample",),
            ("--grad",),
            ("--target-column", "label"),
            ("--target-key", "labels"),
            ("--pred-key", "logits"),
            ("--quiet",),
        ]
    ),
    max_size=3,
    unique=True,
)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("clifuzz")


def _path(workdir, fmt, data):
    # a fresh name each time: an earlier run's memmap may still map the previous file
    p = workdir / f"f{next(_counter)}.{fmt}"
    p.write_bytes(data)
    return p


def _check(command, args, r, files):
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    out, err = r.stdout, r.stderr
    assert "Traceback" not in out + err
    assert "internal error" not in err, err
    for p, data in files:
        assert p.read_bytes() == data, f"{p} was modified"
    lines = err.splitlines()
    errors = [line for line in lines if line.startswith("ce-loss: error: ")]
    warnings = [line for line in lines if line.startswith("ce-loss: warning: ")]
    assert len(errors) + len(warnings) == len(lines), err
    if r.exit_code == 2:
        assert len(errors) == 1 and lines[-1] == errors[0], err
        assert out == ""
        return
    assert not errors, err
    if command == "check":
        assert r.exit_code in (0, 1), (r.exit_code, err)
        if "--quiet" in args:  # no warnings; the JSON verdict asked for is still printed
            assert err == ""
        json.loads(out)
    else:
        assert r.exit_code == 0, (r.exit_code, err)
        json.loads(out)


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(data=st.data())
def test_fuzz_command(workdir, fmt, data):
    preds, targets = SEEDS[fmt]
    other = data.draw(st.sampled_from(FORMATS), label="target format")
    pred = data.draw(damaged(preds), label="pred")
    mode = data.draw(
        st.sampled_from(["own", "file", "damaged", "stdin-pred", "stdin-target"]), label="mode"
    )
    files, stdin, args = [], None, []
    if mode == "stdin-pred":
        stdin = pred
        args.append("-")
        if data.draw(st.booleans(), label="--pred-format"):
            args[:0] = ["--pred-format", fmt]
    else:
        p = _path(workdir, fmt, pred)
        files.append((p, pred))
        args.append(str(p))
    if mode != "own":
        tseeds = SEEDS[other][1]
        target = (
            data.draw(damaged(tseeds), label="target")
            if mode != "file"
            else data.draw(st.sampled_from(tseeds), label="target")
        )
        if mode == "stdin-target":
            stdin = target
            args.append("-")
        else:
            t = _path(workdir, other, target)
            files.append((t, target))
            args.append(str(t))
    for opt in data.draw(OPTIONS, label="options"):
        args += opt
    command = data.draw(
        st.sampled_from(["compute", "compute", "compute", "check"]), label="command"
    )
    if command == "check":
        args = [a for a in args if a not in ("--per-sample", "--grad")]
        args += ["--max", "1.5"]
    r = runner.invoke(app, [command, *args, "--format", "json"], input=stdin)
    _check(command, args, r, files)
