"""`ce-loss check`: verdict lines and exit codes (0 holds, 1 does not, 2 bad input)."""

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ce_cli.cli import app

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
PAIR = [str(SAMPLES / "logits.npy"), str(SAMPLES / "labels_1based.npy")]
LOSS = "1.0155949508195155"

runner = CliRunner()


def check(*args, pair=PAIR):
    return runner.invoke(app, ["check", *pair, *map(str, args)])


@pytest.mark.parametrize(
    "args,code,line",
    [
        (["--max", "1.0"], 1, f"FAIL loss {LOSS} > max 1.0 (ce, mean, 3 samples)"),
        (["--max", "2.5"], 0, f"PASS loss {LOSS} <= max 2.5 (ce, mean, 3 samples)"),
        (["--max", LOSS], 0, f"PASS loss {LOSS} <= max {LOSS} (ce, mean, 3 samples)"),
        (["--min", LOSS], 0, f"PASS loss {LOSS} >= min {LOSS} (ce, mean, 3 samples)"),
        (["--min", "1.1"], 1, f"FAIL loss {LOSS} < min 1.1 (ce, mean, 3 samples)"),
        (
            ["--min", "0.5", "--max", "1.5"],
            0,
            f"PASS loss {LOSS} <= max 1.5, >= min 0.5 (ce, mean, 3 samples)",
        ),
        (["--min", "0.5", "--max", "1.0"], 1, f"FAIL loss {LOSS} > max 1.0 (ce, mean, 3 samples)"),
    ],
)
def test_max_min_verdicts(args, code, line):
    r = check(*args)
    assert r.exit_code == code
    assert r.stdout == line + "\n"


def test_expect_default_tolerance_is_strict():
    r = check("--expect", "1.0")
    assert r.exit_code == 1
    assert r.stdout.startswith(f"FAIL loss {LOSS} != expected 1.0")
    assert check("--expect", "1.0156").exit_code == 1
    assert check("--expect", LOSS).exit_code == 0
    assert check("--expect", "1.0155950").exit_code == 0  # within rtol 1e-6


def test_expect_with_tolerances():
    assert check("--expect", "1.0156", "--rtol", "1e-4").exit_code == 0
    assert check("--expect", "1.0", "--atol", "0.02").exit_code == 0
    assert check("--expect", "1.0", "--atol", "0.015").exit_code == 1


def test_sum_reduction_context():
    r = check("--max", "10", "--reduction", "sum")
    assert r.exit_code == 0
    assert r.stdout.endswith("(ce, sum, 3 samples)\n")


def test_nan_never_passes(tmp_path):
    np.save(tmp_path / "t.npy", np.array([-100, -100, -100]))
    pair = [PAIR[0], str(tmp_path / "t.npy")]
    for cond in (["--max", "1e300"], ["--min", "-1e300"], ["--expect", "0", "--atol", "1e300"]):
        r = runner.invoke(app, ["check", *pair, *cond])
        assert r.exit_code == 1, r.stdout
        assert r.stdout.startswith("FAIL loss nan is NaN")


def test_quiet_prints_nothing():
    r = runner.invoke(app, ["check", *PAIR, "--max", "1.0", "--quiet"])
    assert r.exit_code == 1 and r.stdout == "" and r.stderr == ""
    r = runner.invoke(app, ["check", *PAIR, "--max", "2.0", "--quiet"])
    assert r.exit_code == 0 and r.stdout == ""


def test_json_verdict():
    r = check("--max", "1.0", "--min", "0.1", "--format", "json")
    assert r.exit_code == 1
    out = json.loads(r.stdout)
    assert out["passed"] is False and out["verdict"] == "fail"
    assert out["loss"] == float(LOSS)
    assert out["conditions"] == [
        {"kind": "max", "value": 1.0, "holds": False},
        {"kind": "min", "value": 0.1, "holds": True},
    ]


@pytest.mark.parametrize(
    "args,message",
    [
        ([], "check needs a condition"),
        (["--max", "1", "--reduction", "none"], "'none' is not one of 'mean', 'sum'"),
        (["--expect", "1", "--rtol", "-1"], "--rtol and --atol must be >= 0"),
    ],
)
def test_bad_usage_exits_2(args, message):
    r = check(*args)
    assert r.exit_code == 2
    assert message in r.stderr
    assert r.stdout == ""


def test_bad_input_exits_2(tmp_path):
    (tmp_path / "x.npy").write_bytes(b"not an npy file")
    r = runner.invoke(app, ["check", str(tmp_path / "x.npy"), PAIR[1], "--max", "1"])
    assert r.exit_code == 2
    assert "x.npy" in r.stderr and "Traceback" not in r.stderr
