"""`ce-loss compute` through Typer's CliRunner: every loss, option, input format and output format.

Numbers are compared with the core (ce_cli.evaluate) and, where the seed documents print them,
with the seeds.
"""

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import ce_cli
from ce_cli.cli import app

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
SEED001 = 1.0155949508195155

runner = CliRunner()


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def ok(*args, input=None):
    r = run(*args, input=input)
    assert r.exit_code == 0, (r.exit_code, r.stdout, r.stderr)
    return r


def js(*args, input=None):
    return json.loads(ok(*args, "--format", "json", input=input).stdout)


def s(name):
    return str(SAMPLES / name)


# --------------------------------------------------------------------------------------------
# The samples and the seeds


def test_default_table_shows_seed001_loss():
    r = ok("compute", s("logits.npy"), s("labels_1based.npy"))
    assert "1.0155949508195155" in r.stdout
    assert "cross-entropy from logits" in r.stdout
    assert "\x1b[" not in r.stdout  # not a terminal: no escape codes


def test_plain_is_the_bare_loss():
    r = ok("compute", s("logits.npy"), s("labels_1based.npy"), "--format", "plain", "--quiet")
    assert r.stdout == "1.0155949508195155\n"


def test_json_matches_core_values_and_gradient():
    x, t = np.load(s("logits.npy")), np.load(s("labels_1based.npy"))
    ref = ce_cli.evaluate("ce", x, t, grad=True, per_element=True)
    out = js("compute", s("logits.npy"), s("labels_1based.npy"), "--per-sample", "--grad")
    assert out["loss"] == SEED001 == ref.loss
    assert out["per_sample"] == ref.per_element.tolist()
    assert np.array_equal(np.array(out["grad"]), ref.grad)
    assert out["loss_name"] == "ce" and out["reduction"] == "mean"
    assert out["count"] == 3 and out["unit"] == "samples" and out["classes"] == 5


def test_csv_rows_parse_back():
    x, t = np.load(s("logits.npy")), np.load(s("labels_1based.npy"))
    ref = ce_cli.evaluate("ce", x, t, grad=True, per_element=True)
    r = ok("compute", s("logits.npy"), s("labels_1based.npy"), "--format", "csv", "--grad")
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [int(row["target"]) for row in rows] == [1, 2, 3]
    assert [float(row["loss"]) for row in rows] == ref.per_element.tolist()
    g = np.array([[float(row[f"grad_{c}"]) for c in range(5)] for row in rows])
    assert np.array_equal(g, ref.grad)


def test_seed000_probabilities_sum_and_gradient():
    out = js(
        "compute", s("seed000.npz"), "--input", "probs", "--reduction", "sum", "--grad", "--quiet"
    )
    assert round(out["loss"], 10) == 22.6094161164
    z = np.load(s("seed000.npz"))
    assert np.allclose(np.array(out["grad"]), -z["targets"] / z["probs"], rtol=1e-12)


def test_seed001_csv_with_label_column():
    out = js("compute", s("seed001.csv"), "--quiet")
    assert out["loss"] == pytest.approx(SEED001, rel=1e-15)


def test_seed002_bce_and_weights():
    bce = js("compute", s("bce.csv"), "--loss", "bce")
    assert bce["loss"] == pytest.approx(
        ce_cli.binary_cross_entropy([0.1582, 0.4139, 0.2287], [0.0, 1.0, 0.0]), rel=1e-12
    )
    w = js("compute", s("weighted.json"), "--weight", "0.6,0.38")
    assert w["loss"] == pytest.approx(
        ce_cli.cross_entropy([[3.0, 4.0], [6.0, 9.0]], [1, 0], weight=[0.6, 0.38]), rel=1e-12
    )
    assert w["weight"] == [0.6, 0.38]


def test_class_names_map_string_labels():
    out = js("compute", s("animals.csv"), "--per-sample")
    x = np.array([[2.1, 0.3, -1.0], [0.2, 1.7, 0.1], [-0.5, 0.4, 2.2], [1.2, 1.1, 0.3]])
    assert out["loss"] == pytest.approx(ce_cli.cross_entropy(x, [0, 1, 2, 1]), rel=1e-12)
    assert out["class_names"] == ["cat", "dog", "bird"]


def test_soft_targets_from_jsonl():
    out = js("compute", s("soft.jsonl"))
    x = [[1.0, 2.0, 0.5], [0.3, -0.2, 2.5]]
    y = [[0.1, 0.8, 0.1], [0.0, 0.2, 0.8]]
    assert out["loss"] == pytest.approx(ce_cli.cross_entropy(x, y), rel=1e-12)
    assert out["targets"] == "probabilities"


def test_k_dimensional_npz():
    z = np.load(s("segmentation.npz"))
    ref = ce_cli.evaluate("ce", z["logits"], z["labels"], reduction="none", grad=True)
    out = js("compute", s("segmentation.npz"), "--reduction", "none", "--grad")
    assert out["loss"] is None
    assert np.array_equal(np.array(out["per_sample"]), ref.per_element)
    assert np.array(out["grad"]).shape == (2, 3, 4, 4)
    assert np.array_equal(np.array(out["grad"]), ref.grad)


def test_bce_logits_with_pos_weight_and_weight():
    z = np.load(s("multilabel.npz"))
    ref = ce_cli.binary_cross_entropy_with_logits(
        z["logits"],
        z["targets"],
        weight=np.array([[1.0, 2.0, 0.5]]),
        pos_weight=np.array([3.0, 1.0, 2.0]),
    )
    out = js(
        "compute",
        s("multilabel.npz"),
        "--loss",
        "bce-logits",
        "--weight",
        "1,2,0.5",
        "--pos-weight",
        "3,1,2",
    )
    assert out["loss"] == pytest.approx(ref, rel=1e-12)


def test_nll_from_log_probs(tmp_path):
    x = np.load(s("logits.npy"))
    lp = x - np.log(np.exp(x).sum(1, keepdims=True))
    np.save(tmp_path / "lp.npy", lp)
    out = js("compute", tmp_path / "lp.npy", s("labels_1based.npy"), "--loss", "nll", "--quiet")
    assert out["loss"] == pytest.approx(SEED001, rel=1e-12)
    assert out["input"] == "log-probs"


@pytest.mark.parametrize(
    "opts,kw",
    [
        (["--reduction", "sum"], {"reduction": "sum"}),
        (["--label-smoothing", "0.1"], {"label_smoothing": 0.1}),
        (["--ignore-index", "2"], {"ignore_index": 2}),
        (
            ["--weight", "1,2,3,4,5", "--label-smoothing", "0.2", "--ignore-index", "3"],
            {"weight": [1, 2, 3, 4, 5], "label_smoothing": 0.2, "ignore_index": 3},
        ),
    ],
)
def test_options_match_core(opts, kw):
    x, t = np.load(s("logits.npy")), np.load(s("labels_1based.npy"))
    out = js("compute", s("logits.npy"), s("labels_1based.npy"), *opts, "--grad", "--quiet")
    ref = ce_cli.evaluate("ce", x, t, grad=True, **kw)
    assert out["loss"] == ref.loss
    assert np.array_equal(np.array(out["grad"]), ref.grad)


def test_weight_from_file(tmp_path):
    np.save(tmp_path / "w.npy", np.array([1.0, 2, 3, 4, 5]))
    a = js("compute", s("logits.npy"), s("labels_1based.npy"), "--weight", tmp_path / "w.npy", "-q")
    b = js("compute", s("logits.npy"), s("labels_1based.npy"), "--weight", "1,2,3,4,5", "-q")
    assert a["loss"] == b["loss"] != SEED001


def test_reduction_none_plain_one_value_per_line():
    r = ok("compute", s("logits.npy"), s("labels_1based.npy"), "-r", "none", "-f", "plain", "-q")
    vals = [float(v) for v in r.stdout.split()]
    assert len(vals) == 3 and sum(vals) / 3 == pytest.approx(SEED001, rel=1e-15)


def test_stdin_pred_and_target():
    text = Path(s("seed001.csv")).read_text()
    r = ok("compute", "-", "--format", "plain", "-q", input=text)
    assert float(r.stdout) == pytest.approx(SEED001, rel=1e-15)
    buf = io.BytesIO()
    np.save(buf, np.load(s("labels_1based.npy")))
    r = runner.invoke(
        app, ["compute", s("logits.npy"), "-", "-f", "plain", "-q"], input=buf.getvalue()
    )
    assert r.exit_code == 0, r.stderr
    assert float(r.stdout) == SEED001


def test_nonfinite_json_values_are_strings(tmp_path):
    # probability 0 at the target: the loss is +inf, written as the string "inf"
    np.save(tmp_path / "p.npy", np.array([[0.0, 1.0], [0.5, 0.5]]))
    np.save(tmp_path / "t.npy", np.array([0, 1]))
    r = ok(
        "compute",
        tmp_path / "p.npy",
        tmp_path / "t.npy",
        "--input",
        "probs",
        "-p",
        "-f",
        "json",
        "-q",
    )
    out = json.loads(r.stdout)  # strict JSON: no bare Infinity
    assert "Infinity" not in r.stdout
    assert out["loss"] == "inf" and out["per_sample"][0] == "inf"


def test_long_tables_show_head_and_tail(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.normal(size=(500, 3)))
    np.save(tmp_path / "t.npy", rng.integers(0, 3, 500))
    r = ok("compute", tmp_path / "x.npy", tmp_path / "t.npy", "--per-sample", "--grad")
    assert "480 rows hidden" in r.stdout
    assert r.stdout.count("\n") < 120


def test_table_shows_per_sample_columns():
    r = ok("compute", s("animals.csv"), "--per-sample")
    assert "p(target)" in r.stdout and "predicted" in r.stdout
    assert "1 (dog)" in r.stdout


# --------------------------------------------------------------------------------------------
# Errors: exit 2, one line on stderr, no traceback


@pytest.mark.parametrize(
    "args,message",
    [
        (["--loss", "nll", "--input", "logits"], "--loss nll takes log-probs, not --input logits"),
        (["--loss", "bce", "--input", "logits"], "use --loss bce-logits for logits"),
        (["--format", "plain", "--grad"], "--format plain prints the bare loss only"),
        (["--label-smoothing", "-0.1"], "--label-smoothing must be between 0.0 and 1.0"),
        (["--weight", "1,2"], "--weight has 2 entries but " + s("logits.npy") + " has 5 classes"),
    ],
)
def test_bad_options_exit_2_with_one_line(args, message):
    r = run("compute", s("logits.npy"), s("labels_1based.npy"), *args)
    assert r.exit_code == 2
    assert message in r.stderr
    assert r.stderr.strip().count("\n") == 0 or "warning" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert r.stdout == ""


def test_label_out_of_range_names_file_and_position(tmp_path):
    np.save(tmp_path / "t.npy", np.array([1, 9, 3]))
    r = run("compute", s("logits.npy"), tmp_path / "t.npy")
    assert r.exit_code == 2
    assert re.search(r"t\.npy: target\[1\] is class 9, outside 0\.\.4 \(5 classes\)", r.stderr)


def test_unknown_loss_is_usage_error():
    r = run("compute", s("logits.npy"), s("labels_1based.npy"), "--loss", "hinge")
    assert r.exit_code == 2
    assert "Traceback" not in r.stderr


def test_missing_file():
    r = run("compute", "no-such-file.npy", s("labels_1based.npy"))
    assert r.exit_code == 2
    assert "no-such-file.npy" in r.stderr and "Traceback" not in r.stderr


def test_pred_without_targets():
    r = run("compute", s("logits.npy"))
    assert r.exit_code == 2
    assert "holds no targets" in r.stderr or "target" in r.stderr


def test_warnings_go_to_stderr_and_quiet_silences_them():
    r = ok("compute", s("logits.npy"), s("labels_1based.npy"), "-f", "plain")
    assert r.stdout == "1.0155949508195155\n"
    assert "1-based" in r.stderr
    r = ok("compute", s("logits.npy"), s("labels_1based.npy"), "-f", "plain", "--quiet")
    assert r.stderr == ""


def test_version():
    r = ok("--version")
    assert r.stdout.strip() == f"ce-loss {ce_cli.__version__}"


def test_short_help():
    r = ok("compute", "-h")
    assert "--label-smoothing" in r.stdout


def test_file_names_are_not_read_as_markup(tmp_path):
    path = tmp_path / "[red]x:cat:.npy"
    path.write_bytes((SAMPLES / "logits.npy").read_bytes())
    r = ok("compute", path, s("labels_1based.npy"), "-q")
    assert "[red]x:cat:.npy" in r.stdout.replace("\n", "").replace(" ", "")
