"""Bad input never crashes, never lies, never executes: the whole command line on a corpus.

Each case of tests/bad_inputs/cases.json runs ``ce-loss ARGS`` (from tests/bad_inputs, on the
files that make_corpus.py writes) and must exit with its status, print nothing on stdout, print
one ``ce-loss: error:`` line on stderr holding the pinned text (the file or option, the position,
what was expected), show no traceback, and leave every input file as it was. Typer's own usage
errors (unknown option values) keep Typer's usage text. Some cases run again through a real
``python -m ce_cli`` process, and a malicious pickle is shown to stay unloaded.

The second half is suspicious but valid input: every warning of ce_cli/diagnose.py goes to
stderr, the loss is still computed (exit 0), stdout stays parseable, and --quiet silences it.
"""

import importlib.util
import json
import math
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ce_cli import readers
from ce_cli.cli import app

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "bad_inputs"
FILES = BAD / "files"
CASES = json.loads((BAD / "cases.json").read_text(encoding="utf-8"))
BY_ID = {c["id"]: c for c in CASES}

runner = CliRunner()


def _make_corpus():
    spec = importlib.util.spec_from_file_location("make_corpus", BAD / "make_corpus.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _inputs(case) -> list[Path]:
    """The existing files a case reads (a directory: the files inside it)."""
    names = [a for a in case["args"] if a.startswith("files/")]
    if "stdin" in case:
        names.append("files/" + case["stdin"])
    out = []
    for n in names:
        p = BAD / n
        if p.is_dir():
            out += sorted(q for q in p.rglob("*") if q.is_file())
        elif p.exists():
            out.append(p)
    return out


def _snapshot(paths):
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in paths}


def _stdin(case):
    return (FILES / case["stdin"]).read_bytes() if "stdin" in case else None


def _check_output(case, code, stdout, stderr):
    """The common promise of every bad-input case."""
    assert code == case["exit"], (code, stderr)
    assert stdout == "", "bad input must leave stdout empty"
    assert "Traceback" not in stdout + stderr
    assert "internal error" not in stderr
    # usage errors too (issue 15: one error style, no Click Usage:/Error: block)
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("ce-loss: error: "), stderr
    # it names what the user gave: a file, an option, <stdin> or the command
    named = [a for a in case["args"] if a.startswith(("files/", "--"))] + [case["args"][0]]
    assert any(n in lines[0] for n in named) or "<stdin>" in lines[0], lines[0]
    for text in case["stderr"]:
        assert text in stderr, f"expected {text!r} in {stderr!r}"


# --------------------------------------------------------------------------------------------
# The corpus itself


def test_corpus_is_what_make_corpus_writes():
    files = _make_corpus().corpus()
    for name, data in files.items():
        assert (FILES / name).read_bytes() == data, f"{name}: run tests/bad_inputs/make_corpus.py"
    on_disk = {str(p.relative_to(FILES)) for p in FILES.rglob("*") if p.is_file()}
    assert on_disk == set(files), "files/ holds files that make_corpus.py does not write"


def test_corpus_covers_every_bad_file():
    assert len(CASES) >= 35 and len(BY_ID) == len(CASES)
    used = {Path(a).name for c in CASES for a in c["args"] if a.startswith("files/")}
    used |= {c["stdin"] for c in CASES if "stdin" in c}
    bad = {p.name for p in FILES.iterdir()} - {"a_directory.npy", "shards"}
    unused = {n for n in bad if not n.startswith("ok_")} - used
    assert not unused, f"corpus files no case uses: {sorted(unused)}"


# --------------------------------------------------------------------------------------------
# Every case through CliRunner


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_input(case, monkeypatch):
    monkeypatch.chdir(BAD)
    before = _snapshot(_inputs(case))
    r = runner.invoke(app, case["args"], input=_stdin(case))
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    _check_output(case, r.exit_code, r.stdout, r.stderr)
    assert _snapshot(before) == before, "an input file was modified"


# --------------------------------------------------------------------------------------------
# A few through a real process: the recursion limit, stdin and the exit status are real


def _python_m(args, stdin=None, cwd=BAD, env=None):
    return subprocess.run(
        [sys.executable, "-m", "ce_cli", *args],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env=dict(os.environ, PYTHONPATH=str(ROOT), **(env or {})),
        timeout=60,
    )


@pytest.mark.parametrize(
    "cid",
    [
        "missing_file",
        "directory",
        "json_nested_200000_deep",
        "object_npy",
        "pickle_on_stdin",
        "huge_shape_npy",
        "csv_binary_garbage",
        "label_count_mismatch",
        "negative_class_index",
        "unknown_loss",
        "both_from_stdin",
        "check_without_condition",
    ],
)
def test_bad_input_in_a_real_process(cid):
    case = BY_ID[cid]
    before = _snapshot(_inputs(case))
    r = _python_m(case["args"], stdin=_stdin(case) or b"")
    _check_output(case, r.returncode, r.stdout.decode(), r.stderr.decode())
    assert _snapshot(before) == before


def test_unreadable_file(monkeypatch, tmp_path):
    """Root reads everything, so the permission error is simulated as the readers' tests do."""
    p = tmp_path / "locked.csv"
    p.write_text("1,2\n3,4\n")

    def denied(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(readers.source, "open", denied, raising=False)
    r = runner.invoke(app, ["compute", str(p), str(FILES / "ok_labels.npy")])
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr == f"ce-loss: error: {p}: permission denied; cannot read the file\n"


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read a file of mode 000"
)
def test_unreadable_file_for_real(tmp_path):
    p = tmp_path / "locked.csv"
    p.write_text("1,2\n3,4\n")
    p.chmod(0)
    r = _python_m(["compute", str(p), str(FILES / "ok_labels.npy")])
    assert r.returncode == 2 and r.stdout == b""
    assert r.stderr.decode() == f"ce-loss: error: {p}: permission denied; cannot read the file\n"


# --------------------------------------------------------------------------------------------
# Never executes: a pickle whose loading would create a file


class Payload:
    """Unpickling this calls open(marker, "w"), which creates the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _object_npy(marker) -> bytes:
    import io

    b = io.BytesIO()
    np.save(b, np.array([[Payload(marker), 1.0]], dtype=object), allow_pickle=True)
    return b.getvalue()


def test_payload_is_live(tmp_path):
    """Control: numpy.load(allow_pickle=True) of the same bytes does create the marker."""
    marker = tmp_path / "LOADED"
    p = tmp_path / "control.npy"
    p.write_bytes(_object_npy(marker))
    np.load(p, allow_pickle=True)
    assert marker.exists()


@pytest.mark.parametrize("disguise", ["object-npy", "pickle-named-npy", "object-npz", "stdin"])
def test_malicious_pickle_is_never_loaded(tmp_path, disguise):
    import io
    import zipfile

    marker = tmp_path / "PWNED"
    labels = str(FILES / "ok_labels.npy")
    stdin = b""
    if disguise == "object-npy":
        pred = tmp_path / "logits.npy"
        pred.write_bytes(_object_npy(marker))
        args = [str(pred), labels]
    elif disguise == "pickle-named-npy":
        pred = tmp_path / "logits.npy"
        pred.write_bytes(pickle.dumps(Payload(marker), protocol=4))
        args = [str(pred), labels]
    elif disguise == "object-npz":
        pred = tmp_path / "run.npz"
        b = io.BytesIO()
        with zipfile.ZipFile(b, "w") as z:
            z.writestr("logits.npy", _object_npy(marker))
            z.writestr("labels.npy", (FILES / "ok_labels.npy").read_bytes())
        pred.write_bytes(b.getvalue())
        args = [str(pred)]
    else:
        pred = None
        stdin = pickle.dumps(Payload(marker), protocol=4)
        args = ["-", labels]
    before = pred.read_bytes() if pred else None
    r = _python_m(["compute", *args, "--format", "json"], stdin=stdin, cwd=tmp_path)
    err = r.stderr.decode()
    assert r.returncode == 2, err
    assert not marker.exists(), "the pickle was loaded"
    assert r.stdout == b""
    assert err.startswith("ce-loss: error: ") and err.count("\n") == 1, err
    assert "never unpickles" in err
    assert pred is None or pred.read_bytes() == before


# --------------------------------------------------------------------------------------------
# Suspicious but valid: warn on stderr, compute anyway


def _save(tmp_path, name, arr):
    p = tmp_path / name
    np.save(p, np.asarray(arr))
    return str(p)


LOGITS = [[2.0, 0.5, -1.0], [0.1, 1.2, 0.3], [-0.5, 0.0, 2.5], [1.0, 1.0, 1.0]]


def _warned(args, *expected):
    """Run with --format json: exit 0, JSON on stdout, the warnings (only) on stderr."""
    r = runner.invoke(app, ["compute", *args, "--format", "json"])
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)  # nothing but the JSON on stdout
    assert "ce-loss:" not in r.stdout
    lines = r.stderr.splitlines()
    assert lines and all(line.startswith("ce-loss: warning: ") for line in lines), r.stderr
    for text in expected:
        assert text in r.stderr, f"expected {text!r} in {r.stderr!r}"
    quiet = runner.invoke(app, ["compute", *args, "--format", "json", "--quiet"])
    assert quiet.exit_code == 0 and quiet.stderr == ""
    assert quiet.stdout == r.stdout  # --quiet changes the talk, not the data
    return out, lines


def test_warns_about_one_based_labels(tmp_path):
    x = _save(tmp_path, "logits.npy", LOGITS)
    t = _save(tmp_path, "labels.npy", [1, 2, 1, 2])
    out, lines = _warned(
        [x, t],
        f"{t}: labels run from 1 to 2 and class 0 never appears; if "
        "they are 1-based, subtract 1 (ce-loss, like torch, counts classes "
        "from 0)",
    )
    assert len(lines) == 1 and math.isfinite(out["loss"])


def test_warns_when_every_target_is_ignored(tmp_path):
    x = _save(tmp_path, "logits.npy", LOGITS)
    t = _save(tmp_path, "labels.npy", [-100, -100, -100, -100])
    out, _ = _warned([x, t], f"{t}: every target is ignore_index (-100); the mean loss is NaN")
    assert out["loss"] == "nan"  # strict JSON: the string, not a bare NaN
    out, _ = _warned([x, t, "--reduction", "sum"], f"{t}: every target is ignore_index (-100)")
    assert out["loss"] == 0.0
    u = _save(tmp_path, "labels2.npy", [2, 2, 2, 2])
    out, _ = _warned([x, u, "--ignore-index", "2"], "every target is ignore_index (2)")
    assert out["loss"] == "nan"


def test_warns_when_ce_is_given_probabilities(tmp_path):
    x = _save(
        tmp_path, "probs.npy", [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.3, 0.4, 0.3]]
    )
    t = _save(tmp_path, "labels.npy", [0, 1, 2, 1])
    _warned(
        [x, t],
        f"{x}: the rows are non-negative and sum to 1, so they look like "
        "probabilities, but --input is logits; did you mean --input probs?",
    )
    r = runner.invoke(app, ["compute", x, t, "--input", "probs", "-f", "json"])
    assert r.exit_code == 0 and r.stderr == ""  # said so: no warning


def test_warns_when_probability_rows_do_not_sum_to_one(tmp_path):
    x = _save(
        tmp_path, "probs.npy", [[0.7, 0.2, 0.1], [0.5, 0.8, 0.1], [0.2, 0.2, 0.6], [0.3, 0.4, 0.3]]
    )
    t = _save(tmp_path, "labels.npy", [0, 1, 2, 1])
    _warned(
        [x, t, "--input", "probs"],
        f"{x}: 1 probability rows do not sum to 1 (row 1 sums "
        "to 1.4); they are used as given, not renormalised",
    )


def test_warns_when_soft_targets_do_not_sum_to_one(tmp_path):
    x = _save(tmp_path, "logits.npy", LOGITS)
    t = _save(
        tmp_path, "soft.npy", [[1.0, 0.0, 0.0], [0.2, 0.2, 0.2], [0.0, 0.0, 1.0], [0.5, 0.5, 0.0]]
    )
    _warned(
        [x, t],
        f"{t}: 1 target rows do not sum to 1 (row 1 sums to 0.6); the loss treats them as given",
    )


def test_warns_when_nll_is_given_logits(tmp_path):
    x = _save(tmp_path, "logits.npy", LOGITS)
    t = _save(tmp_path, "labels.npy", [0, 1, 2, 1])
    _warned(
        [x, t, "--loss", "nll"],
        f"{x}: 4 rows are not log-probabilities",
        "did you mean --loss ce for logits?",
    )


def test_warnings_never_reach_stdout_in_any_format(tmp_path):
    x = _save(tmp_path, "logits.npy", LOGITS)
    t = _save(tmp_path, "labels.npy", [1, 2, 1, 2])
    for fmt in ("table", "json", "csv", "plain"):
        r = runner.invoke(app, ["compute", x, t, "--format", fmt])
        assert r.exit_code == 0 and "ce-loss:" not in r.stdout and "1-based" in r.stderr
    r = runner.invoke(app, ["check", x, t, "--max", "10"])
    assert r.exit_code == 0 and r.stdout.startswith("PASS") and "1-based" in r.stderr
    r = runner.invoke(app, ["check", x, t, "--max", "10", "--quiet"])
    assert r.exit_code == 0 and r.stdout == "" and r.stderr == ""


def test_warnings_in_a_real_process(tmp_path):
    x = _save(tmp_path, "logits.npy", LOGITS)
    t = _save(tmp_path, "labels.npy", [1, 2, 1, 2])
    r = _python_m(["compute", x, t, "-f", "plain"])
    assert r.returncode == 0
    assert float(r.stdout) > 0 and r.stdout.decode().count("\n") == 1
    assert r.stderr.decode().startswith("ce-loss: warning: ")
    r = _python_m(["compute", x, t, "-f", "plain", "-q"])
    assert r.returncode == 0 and r.stderr == b""


def test_readme_bad_input_examples_are_real(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Bad input", 1)[1].split("\n## ", 1)[0]
    shown = [line for line in section.splitlines() if line.startswith("ce-loss: error: ")]
    assert len(shown) == 2
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scores.csv").write_text("cat,dog,bird,label\n2.1,0.3,-1.0,cat\n0.2,n/a,0.1,dog\n")
    np.save(tmp_path / "logits.npy", np.load(ROOT / "samples" / "logits.npy"))
    np.save(tmp_path / "labels.npy", np.array([1, -1, 3]))
    got = [
        runner.invoke(app, ["compute", "scores.csv"]).stderr,
        runner.invoke(app, ["compute", "logits.npy", "labels.npy"]).stderr,
    ]
    assert got == [line + "\n" for line in shown]
