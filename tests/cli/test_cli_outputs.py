"""`ce-loss compute --save-grad/--save-per-sample/--threads`: files written whole, equal to the
in-memory values, never over an input, and results identical whatever the number of threads."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import ce_cli
from ce_cli.cli import app, progress

runner = CliRunner()


@pytest.fixture
def pair(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(700, 7)).astype(np.float32)
    t = rng.integers(0, 7, 700)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "t.npy", t)
    return tmp_path, x, t


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_save_grad_equals_in_memory_gradient_in_input_dtype(pair):
    d, x, t = pair
    r = run("compute", d / "x.npy", d / "t.npy", "--save-grad", d / "g.npy", "-f", "json")
    assert r.exit_code == 0, r.stderr
    ref = ce_cli.evaluate("ce", x, t, grad=True)
    g = np.load(d / "g.npy")
    assert g.dtype == np.float32 and g.shape == x.shape
    assert np.array_equal(g, ref.grad.astype(np.float32))
    out = json.loads(r.stdout)
    assert out["saved"] == {"grad": str(d / "g.npy")} and out["loss"] == ref.loss


def test_grad_dtype_float64_and_grad_shown_from_saved_file(pair):
    d, x, t = pair
    r = run(
        "compute",
        d / "x.npy",
        d / "t.npy",
        "--save-grad",
        d / "g.npy",
        "--grad-dtype",
        "float64",
        "--grad",
        "-f",
        "json",
    )
    assert r.exit_code == 0, r.stderr
    ref = ce_cli.evaluate("ce", x, t, grad=True)
    assert np.array_equal(np.load(d / "g.npy"), ref.grad)
    assert np.array_equal(np.array(json.loads(r.stdout)["grad"]), ref.grad)


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_save_per_sample(pair, suffix):
    d, x, t = pair
    path = d / f"pe{suffix}"
    r = run("compute", d / "x.npy", d / "t.npy", "--save-per-sample", path, "-p", "-f", "json")
    assert r.exit_code == 0, r.stderr
    ref = ce_cli.evaluate("ce", x, t, reduction="none")
    saved = (
        np.load(path) if suffix == ".npy" else np.loadtxt(path, delimiter=",", skiprows=1)[:, -1]
    )
    assert np.array_equal(saved, ref.per_element)
    assert json.loads(r.stdout)["per_sample"] == ref.per_element.tolist()


def test_threads_do_not_change_a_bit(pair):
    d, _, _ = pair
    outs = []
    for n in ("1", "2", "3"):
        r = run(
            "compute",
            d / "x.npy",
            d / "t.npy",
            "--threads",
            n,
            "-g",
            "-r",
            "sum",
            "-f",
            "json",
            "-s",
            "0.1",
        )
        assert r.exit_code == 0, r.stderr
        outs.append(r.stdout)
    assert outs[0] == outs[1] == outs[2]


@pytest.mark.parametrize(
    "option,name,message",
    [
        ("--save-grad", "g.csv", "the file name must end in .npy"),
        ("--save-per-sample", "pe.txt", "the file name must end in .npy or .csv"),
        ("--save-grad", "missing/g.npy", "does not exist"),
        ("--save-grad", "x.npy", "that is an input file; ce-loss never overwrites its inputs"),
    ],
)
def test_bad_output_paths_exit_2_and_leave_inputs_alone(pair, option, name, message):
    d, _, _ = pair
    before = (d / "x.npy").read_bytes()
    r = run("compute", d / "x.npy", d / "t.npy", option, d / name)
    assert r.exit_code == 2
    assert message in r.stderr
    assert (d / "x.npy").read_bytes() == before


def test_failed_run_leaves_no_output_file(pair):
    d, x, _ = pair
    np.save(d / "bad.npy", np.full(700, 9))  # class 9 of 7: fails after the output was opened
    r = run("compute", d / "x.npy", d / "bad.npy", "--save-grad", d / "g.npy")
    assert r.exit_code == 2
    assert sorted(p.name for p in d.iterdir()) == ["bad.npy", "t.npy", "x.npy"]


def test_threads_must_be_positive(pair):
    d, _, _ = pair
    assert run("compute", d / "x.npy", d / "t.npy", "--threads", "0").exit_code == 2


def test_progress_bar_only_on_a_terminal_and_after_a_delay(monkeypatch):
    monkeypatch.setattr(progress.sys.stderr, "isatty", lambda: False, raising=False)
    with progress.Progress(quiet=False) as p:
        assert p is None  # not a terminal: no bar at all
    monkeypatch.setattr(progress.sys.stderr, "isatty", lambda: True, raising=False)
    with progress.Progress(quiet=True) as p:
        assert p is None  # --quiet
    bar = progress.Progress(quiet=False)
    with bar as p:
        p(0, 10)
        p(5, 10)  # well within the first second
        assert bar.bar is None
        bar.start -= 2.0  # pretend two seconds have passed
        p(6, 10)
        assert bar.bar is not None and bar.bar.tasks[0].completed == 6
