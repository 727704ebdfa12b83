"""Metrics on the command line: summary rows, JSON "metrics", per-class, confusion, worst/best,
pictures, --plot, check's metric conditions and the bad inputs of issue 14."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ce_cli.cli import app

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
PAIR = [str(SAMPLES / "logits.npy"), str(SAMPLES / "labels_1based.npy")]
LOSS = "1.0155949508195155"
ROOT = Path(__file__).resolve().parents[2]

runner = CliRunner()


def ce(*args, pair=PAIR):
    return runner.invoke(app, [*args[:1], *pair, *map(str, args[1:])])


def as_json(*args, pair=PAIR):
    r = ce("compute", "-f", "json", "-q", *args, pair=pair)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


@pytest.fixture
def big(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((60, 4)).astype(np.float32)
    t = rng.integers(0, 4, 60)
    t[::7] = -100
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "t.npy", t)
    return [str(tmp_path / "x.npy"), str(tmp_path / "t.npy")], x, t


def test_summary_rows_in_the_table():
    r = ce("compute", "--metrics", "--top-k", "2", "-q")
    assert r.exit_code == 0
    for row in ("accuracy         0.333333", "top-2 accuracy   1", "perplexity       2.76101"):
        assert row in r.stdout
    assert "bits per target" in r.stdout and "Brier score" in r.stdout
    assert "ECE (15 bins)" in r.stdout


def test_plain_compute_table_is_unchanged():
    assert "accuracy" not in ce("compute", "-q").stdout


def test_json_metrics():
    out = as_json("--metrics", "--top-k", "2")
    m = out["metrics"]
    assert m["accuracy"] == 1 / 3
    assert m["top_2_accuracy"] == 1.0
    assert m["perplexity"] == pytest.approx(np.exp(float(LOSS)), rel=1e-15)
    assert m["bins"] == 15 and m["top_k"] == 2
    assert "metrics" not in as_json()


def test_undefined_is_null_in_json_and_na_in_tables(tmp_path):
    x = np.zeros((3, 4))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "t.npy", np.full(3, -100))
    pair = [str(tmp_path / "x.npy"), str(tmp_path / "t.npy")]
    m = as_json("--metrics", "--reduction", "sum", pair=pair)["metrics"]
    assert m["accuracy"] is None and m["perplexity"] is None and m["ece"] is None
    r = ce("compute", "--metrics", "--per-class", "-r", "sum", "-q", pair=pair)
    assert "accuracy         n/a" in r.stdout
    assert "nan" not in r.stdout


def test_per_class_and_confusion(big):
    pair, x, t = big
    m = as_json("--per-class", "--confusion", pair=pair)["metrics"]
    v = t != -100
    support = np.bincount(t[v], minlength=4)
    assert [row["support"] for row in m["per_class"]] == support.tolist()
    cm = np.zeros((4, 4), dtype=int)
    np.add.at(cm, (t[v], x[v].argmax(1)), 1)
    assert m["confusion"] == cm.tolist()
    r = ce("compute", "--per-class", "--confusion", "-q", pair=pair)
    assert "per class (4 classes)" in r.stdout and "confusion matrix" in r.stdout


def test_save_confusion(big, tmp_path):
    pair, x, t = big
    for name in ("cm.csv", "cm.npy"):
        out = tmp_path / name
        r = ce("compute", "--save-confusion", str(out), "-q", pair=pair)
        assert r.exit_code == 0, r.output
        assert f"saved confusion  {out}" in r.stdout or "saved confusion" in r.stdout
    saved = np.load(tmp_path / "cm.npy")
    text = (tmp_path / "cm.csv").read_text().splitlines()
    assert text[0] == "target\\predicted,0,1,2,3"
    assert [int(v) for v in text[1].split(",")[1:]] == saved[0].tolist()
    assert saved.sum() == np.count_nonzero(t != -100)


def test_worst_and_best_rows(big):
    pair, x, t = big
    out = as_json("--worst", "5", "--best", "3", "--per-sample", "-r", "none", pair=pair)
    pe = np.array(out["per_sample"])
    keep = np.nonzero(t != -100)[0]
    worst = keep[np.lexsort((keep, -pe[keep]))][:5]
    best = keep[np.lexsort((keep, pe[keep]))][:3]
    assert [int(w["index"]) for w in out["metrics"]["worst"]] == worst.tolist()
    assert [int(b["index"]) for b in out["metrics"]["best"]] == best.tolist()
    assert [w["loss"] for w in out["metrics"]["worst"]] == pe[worst].tolist()
    r = ce("compute", "--worst", "5", "-q", pair=pair)
    assert "worst 5 samples (highest loss first)" in r.stdout


def test_pictures(big):
    pair, _, _ = big
    r = ce("compute", "--histogram", "--calibration", "-q", pair=pair)
    assert "█" in r.stdout and "reliability diagram" in r.stdout
    # shown by default with --per-sample when rows are hidden (60 > 20) ...
    assert "per-sample losses" in ce("compute", "-p", "-q", pair=pair).stdout
    # ... not when every row is shown
    assert "per-sample losses" not in ce("compute", "-p", "-q").stdout


def test_plot_written(big, tmp_path):
    pytest.importorskip("matplotlib")
    pair, _, _ = big
    out = tmp_path / "fig.png"
    r = ce("compute", "--plot", str(out), "--per-class", "-q", pair=pair)
    assert r.exit_code == 0, r.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_plot_without_matplotlib_says_how_to_install(tmp_path):
    code = (
        "import sys; sys.modules['matplotlib'] = None; "
        "from ce_cli.cli import main; sys.exit(main())"
    )
    argv = [sys.executable, "-c", code, "compute", *PAIR, "--plot", str(tmp_path / "f.png")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "ce-loss: error: --plot needs matplotlib, which is not installed; "
        "run: pip install 'ce-loss[plot]'"
    ]
    assert not (tmp_path / "f.png").exists()


def test_metrics_code_not_imported_by_a_plain_compute():
    code = (
        "import sys\n"
        "from ce_cli.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "bad = [m for m in sys.modules if m.startswith(('ce_cli.core.metrics', "
        "'ce_cli.core.extremes', 'ce_cli.core.histogram', 'ce_cli.core.rowstats', "
        "'ce_cli.measure', 'matplotlib'))]\n"
        "print(bad, file=sys.stderr)\n"
    )
    argv = [sys.executable, "-c", code, "compute", *PAIR, "-f", "plain", "-q"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run(argv, capture_output=True, text=True, env=env)
    assert r.stdout == LOSS + "\n"
    assert r.stderr.strip() == "[]"


@pytest.mark.parametrize(
    "args,code,line",
    [
        (["--min-accuracy", "0.3"], 0, f"PASS loss {LOSS}, accuracy 0.3333333333333333 >= min 0.3"),
        (["--min-accuracy", "0.5"], 1, f"FAIL loss {LOSS}, accuracy 0.3333333333333333 < min 0.5"),
        (["--max", "2", "--max-perplexity", "3"], 0, f"PASS loss {LOSS} <= max 2.0, perplexity"),
        (["--max", "1", "--max-ece", "0.9"], 1, f"FAIL loss {LOSS} > max 1.0 (ce"),
        (["--max-ece", "0.01"], 1, f"FAIL loss {LOSS}, ECE "),
        (
            ["--min-top-k-accuracy", "0.9", "--top-k", "2"],
            0,
            f"PASS loss {LOSS}, top-2 accuracy 1.0",
        ),
        (["--max-brier", "0.1"], 1, f"FAIL loss {LOSS}, Brier score "),
    ],
)
def test_check_metric_conditions(args, code, line):
    r = ce("check", *args)
    assert r.exit_code == code, r.output
    assert r.stdout.startswith(line)
    assert r.stdout.endswith("(ce, mean, 3 samples)\n")


def test_check_metric_json():
    r = ce("check", "--min-accuracy", "0.5", "-f", "json")
    out = json.loads(r.stdout)
    assert out["passed"] is False
    assert out["conditions"] == [{"kind": "min_accuracy", "value": 0.5, "holds": False}]


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ["compute", "--top-k", "6"],
            "--top-k must be between 1 and the number of classes (5); got 6",
        ),
        (["compute", "--bins", "0"], "--bins must be at least 1; got 0"),
        (["compute", "--worst", "0"], "--worst must be at least 1; got 0"),
        (["compute", "--best", "-2"], "--best must be at least 1; got -2"),
        (["check", "--min-accuracy", "nan"], "--min-accuracy must be a finite number; got nan"),
        (["check", "--max-ece", "inf"], "--max-ece must be a finite number; got inf"),
        (["compute", "--metrics", "-f", "csv"], "--format csv prints per-sample values only"),
        (
            ["compute", "--plot", "x.gif"],
            "--plot x.gif: the file name must end in .png or .svg or .pdf",
        ),
    ],
)
def test_bad_input_exit_2_one_line(args, message):
    r = ce(*args)
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], r.stderr


def test_confusion_for_binary_soft_targets(tmp_path):
    np.save(tmp_path / "p.npy", np.array([0.2, 0.9]))
    np.save(tmp_path / "y.npy", np.array([0.3, 1.0]))
    pair = [str(tmp_path / "p.npy"), str(tmp_path / "y.npy")]
    r = ce("compute", "--loss", "bce", "--confusion", pair=pair)
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines() == [
        "ce-loss: error: --confusion needs targets of 0 or 1 for bce; the target holds 0.3 "
        "(element 0 of block row 0)"
    ]
