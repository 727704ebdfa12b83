"""What ce-loss shows: tables at 60, 100 and 200 columns, numbers, colour, hostile text, JSON
keys, option rules and the one error style (issue 15)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

import ce_cli
from ce_cli.cli import app
from ce_cli.errors import CeLossError
from ce_cli.render.numbers import column
from ce_cli.render.tables import grad_table, per_element_table
from ce_cli.text import json_text, safe_text

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
runner = CliRunner()
ESC = "\x1b"


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def report_for(tmp_path, x, t, *opts):
    """A Report from the pipeline, as `compute` builds it."""
    from ce_cli.pipeline import View
    from ce_cli.pipeline import run as pipeline_run
    from ce_cli.settings import LossSpec, OutputSettings, ReadSettings

    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "t.npy", t)
    return pipeline_run(
        str(tmp_path / "x.npy"),
        str(tmp_path / "t.npy"),
        LossSpec(),
        ReadSettings(),
        OutputSettings(),
        View(per_sample=True, grad=True, whole=True),
    )


def shown(renderable, width):
    console = Console(width=width, record=True, color_system=None, file=open(os.devnull, "w"))
    console.print(renderable)
    return console.export_text()


@pytest.fixture
def big(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(200, 5)) * 3).astype(np.float32)
    return report_for(tmp_path, x, rng.integers(0, 5, 200))


# --------------------------------------------------------------------------------------------
# Tables


@pytest.mark.parametrize("width", [60, 100, 200])
def test_per_sample_table_never_cuts_numbers_and_says_what_it_hides(big, width):
    text = shown(per_element_table(big), width)
    assert "…" not in text
    lines = text.splitlines()
    assert lines[-1].strip() == "180 rows hidden"  # a caption, not a cell
    assert max(len(s) for s in lines) <= width
    # p(target) 0.00031969 was cut to 0.0005476… at 60 columns
    assert "0.0003197" in text and "8.048158" in text


def test_per_sample_table_pinned_at_60_columns(big):
    lines = shown(per_element_table(big), 60).splitlines()
    assert lines[0].rstrip() == "per-sample loss (200 samples)"
    assert lines[2] == "┃ index ┃ target ┃ predicted ┃ p(target) ┃     loss ┃"
    assert lines[4] == "│     0 │ 4      │ 2         │ 0.0190379 │ 3.961324 │"
    assert lines[14] == "│   ... │ ...    │ ...       │       ... │      ... │"


def test_columns_have_one_rule_and_aligned_points():
    fixed = column([0.0190379, 0.00031969, 0.595213], 4)
    assert fixed == ["0.0190379", "0.0003197", "0.5952130"]
    sci = column([6.9e-4, 7.0e-7, -0.0049, 1e-300, 0.0], 4)
    assert all("e" in c for c in sci)  # never fixed and scientific mixed in one column
    assert len({c.split("e")[1].__len__() for c in sci}) == 1  # one exponent width
    assert column([1.0, float("nan")], 6) == ["1.00000", "nan"]


@pytest.mark.parametrize("width", [60, 100, 200])
def test_wide_gradient_shows_target_and_largest_classes(tmp_path, width):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 1000))
    x[0, 500] = 9.0  # row 0: class 500 dominates
    t = rng.integers(0, 1000, 30)
    t[0] = 7
    text = shown(grad_table(report_for(tmp_path, x, t), width), width)
    lines = text.splitlines()
    assert lines[0].rstrip() == "gradient wrt logits (30 x 1000)"  # one line, not wrapped
    assert "d target" in lines[2] and "#1 class" in lines[2]
    row0 = lines[4].split("│")
    assert row0[2].strip() == "7" and row0[4].strip() == "500"
    assert max(len(s) for s in lines) <= width and "…" not in text
    assert "997" not in lines[2]  # no longer the first and last columns


def test_k_dimensional_rows_have_one_labelling(tmp_path):
    rng = np.random.default_rng(2)
    r = report_for(tmp_path, rng.normal(size=(4, 3, 8, 8)), rng.integers(0, 3, (4, 8, 8)))
    per_sample = shown(per_element_table(r), 100)
    grad = shown(grad_table(r, 100), 100)
    assert "│ 3,7,7 │" in per_sample and "│ 3,7,7 │" in grad
    assert "│ 255 │" not in grad
    assert grad.splitlines()[0].rstrip() == "gradient wrt logits (4 x 3 x 8 x 8)"


# --------------------------------------------------------------------------------------------
# Hostile text


def test_safe_text_escapes_controls_bidi_and_undecodable_bytes():
    assert safe_text("bad\x1b]0;pwn\x07.npy") == "bad\\x1b]0;pwn\\x07.npy"
    assert safe_text("a\u202eb\nc") == "a\\u202eb\\x0ac"
    assert safe_text(os.fsdecode(b"bad\xff.npy")) == "bad\\xff.npy"
    assert safe_text("café 猫.npy") == "café 猫.npy"
    assert json_text(os.fsdecode(b"bad\xff.npy")) == "bad\\xff.npy"


def test_escape_sequences_in_names_are_not_printed_raw(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = "evil\x1b[2J.npy"
    np.save(name, np.array([[1.0, 2.0]]))
    np.save("t.npy", np.array([0]))
    r = run("compute", name, "t.npy")
    assert r.exit_code == 0 and ESC not in r.stdout and "evil\\x1b[2J.npy" in r.stdout
    r = run("compute", name, "missing\x1b[31m.npy")
    assert r.exit_code == 2 and ESC not in r.stderr and "missing\\x1b[31m.npy" in r.stderr


def test_json_stays_valid_with_a_non_utf8_file_name(tmp_path):
    raw = os.fsencode(tmp_path) + b"/bad\xff.npy"
    np.save(os.fsdecode(raw), np.array([[1.0, 2.0]]))
    np.save(tmp_path / "t.npy", np.array([0]))
    out = subprocess.run(
        [sys.executable, "-m", "ce_cli", "compute", raw, tmp_path / "t.npy", "-f", "json"],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout.decode("utf-8"))  # strict UTF-8, no lone surrogates
    assert doc["pred"].endswith("bad\\xff.npy")


# --------------------------------------------------------------------------------------------
# Colour


def test_colour_carries_meaning(tmp_path):
    s = SAMPLES
    clean = run("compute", s / "logits.npy", tmp_path / "none.npy", "--color", "always")
    assert clean.exit_code == 2 and "\x1b[31m" in clean.stderr  # errors red
    np.save(tmp_path / "t0.npy", np.array([0, 1, 2]))
    good = run("compute", s / "logits.npy", tmp_path / "t0.npy", "--color", "always")
    assert "\x1b[1;32m" in good.stdout  # a loss without warnings: green
    warned = run("compute", s / "logits.npy", s / "labels_1based.npy", "--color", "always")
    assert "\x1b[1;33m" in warned.stdout and "\x1b[33m" in warned.stderr  # warnings yellow
    never = run("compute", s / "logits.npy", s / "labels_1based.npy", "--color", "never")
    assert ESC not in never.stdout and ESC not in never.stderr
    fail = run(
        "check", s / "logits.npy", s / "labels_1based.npy", "--max", "1", "--color", "always"
    )
    assert fail.stdout.startswith("\x1b[31mFAIL\x1b[0m loss")
    ok = run("check", s / "logits.npy", s / "labels_1based.npy", "--max", "2", "--color", "always")
    assert ok.stdout.startswith("\x1b[32mPASS\x1b[0m loss")


def test_no_colour_when_not_a_terminal_or_no_color(monkeypatch):
    s = SAMPLES
    r = run("check", s / "logits.npy", s / "labels_1based.npy", "--max", "1")
    assert ESC not in r.stdout and ESC not in r.stderr
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert run("check", s / "logits.npy", s / "labels_1based.npy", "--max", "1").stdout.startswith(
        ESC
    )
    monkeypatch.setenv("NO_COLOR", "1")
    assert ESC not in run("check", s / "logits.npy", s / "labels_1based.npy", "--max", "1").stdout


# --------------------------------------------------------------------------------------------
# Options that did nothing, and the one error style


def _one_line_error(r, *words):
    assert r.exit_code == 2, (r.stdout, r.stderr)
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("ce-loss: error: ")
    for w in words:
        assert w in r.stderr
    assert "Usage:" not in r.stderr and "Try " not in r.stderr


def test_options_that_do_nothing_are_errors():
    s = SAMPLES
    x, t = s / "logits.npy", s / "labels_1based.npy"
    _one_line_error(run("compute", x, t, "--grad-dtype", "float32"), "--save-grad")
    _one_line_error(run("check", x, t, "--max", "2", "--rtol", "0.1"), "--expect")
    _one_line_error(run("check", x, t, "--max", "2", "--atol", "0.1"), "--expect")
    _one_line_error(run("check", x, t, "--max", "2", "-r", "none"), "'none' is not one of")


def test_check_formats_do_what_they_say():
    s = SAMPLES
    x, t = s / "logits.npy", s / "labels_1based.npy"
    r = run("check", x, t, "--max", "1", "-f", "csv")
    assert r.exit_code == 1
    assert r.stdout == "verdict,loss,condition,value,holds\nfail,1.0155949508195155,max,1.0,false\n"
    r = run("check", x, t, "--max", "2", "-q", "-f", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["passed"] is True and r.stderr == ""
    assert run("check", x, t, "--max", "2", "-q").stdout == ""
    help_text = run("check", "-h").stdout
    offered = help_text.split("--reduction")[1][:40]  # typer writes <mean|sum> or [mean|sum]
    assert "mean|sum" in offered and "none" not in offered


def test_usage_errors_are_one_line():
    s = SAMPLES
    _one_line_error(
        run("compute", s / "logits.npy", "--frob"),
        "no such option: --frob",
        "(see ce-loss compute --help)",
    )
    _one_line_error(run("compute", s / "logits.npy", "--loss", "hinge"), "'--loss'", "'hinge'")
    _one_line_error(run("frob"), "no such command 'frob'", "(see ce-loss --help)")
    _one_line_error(run("check", s / "logits.npy", "--max"), "--max")


# --------------------------------------------------------------------------------------------
# JSON


def test_json_has_version_warnings_and_the_same_keys_for_every_loss():
    s = SAMPLES
    ce = json.loads(run("compute", s / "logits.npy", s / "labels_1based.npy", "-f", "json").stdout)
    bce = json.loads(run("compute", s / "bce.csv", "--loss", "bce", "-f", "json").stdout)
    assert ce.keys() == bce.keys()
    assert ce["version"] == ce_cli.__version__
    assert ce["count"] == 3 and ce["unit"] == "samples" and ce["classes"] == 5
    assert bce["unit"] == "elements" and bce["classes"] is None
    assert len(ce["warnings"]) == 1 and "1-based" in ce["warnings"][0]
    assert bce["warnings"] == []


# --------------------------------------------------------------------------------------------
# Integer targets of the input's shape (item 9)


@pytest.mark.parametrize(
    ("target", "row"), [([[2, 0, 0], [0, 0, 0]], 0), ([[0, 1, 0], [-1, 0, 1]], 1)]
)
def test_integer_targets_of_the_input_shape_must_be_one_hot(tmp_path, target, row):
    x = np.zeros((2, 3))
    with pytest.raises(CeLossError, match=rf"target\[{row}\] is \[.*must be one-hot"):
        ce_cli.cross_entropy(x, np.array(target))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "t.npy", np.array(target))
    _one_line_error(run("compute", tmp_path / "x.npy", tmp_path / "t.npy"), f"target[{row}]")


def test_one_hot_integer_targets_still_work():
    x = np.zeros((2, 3))
    assert ce_cli.cross_entropy(x, np.array([[0, 1, 0], [1, 0, 0]])) == pytest.approx(np.log(3))


# --------------------------------------------------------------------------------------------
# The quick start is a clean run; the 1-based pitfall is its own sample


def test_quick_start_sample_is_clean_and_the_readme_shows_what_it_prints():
    r = run("compute", SAMPLES / "logits.npy", SAMPLES / "labels.npy")
    assert r.exit_code == 0 and r.stderr == ""
    loss = r.stdout.splitlines()[0].split()[1]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert f"loss          {loss}" in quick and "warning" not in quick
    assert loss == "2.0799949508195152"  # torch's cross_entropy on the same values


def test_one_based_sample_keeps_the_pitfall():
    r = run("compute", SAMPLES / "logits.npy", SAMPLES / "labels_1based.npy", "-f", "plain")
    assert r.stdout == "1.0155949508195155\n"
    assert "labels run from 1 to 3" in r.stderr
    assert "samples/labels_1based.npy" in (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
