"""Inputs are never overwritten, however they are named, and an input that changes while it is
read is an error naming it, never a crash (issue 15, items 3 and 4)."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ce_cli.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
INPUT = "that is an input file; ce-loss never overwrites its inputs"


@pytest.fixture
def d(tmp_path):
    rng = np.random.default_rng(5)
    np.save(tmp_path / "x.npy", rng.normal(size=(40, 3)).astype(np.float32))
    np.save(tmp_path / "t.npy", rng.integers(0, 3, 40))
    np.save(tmp_path / "w.npy", np.array([0.5, 1.0, 2.0]))
    np.save(tmp_path / "pw.npy", np.ones((40, 3)))
    np.save(tmp_path / "tb.npy", rng.integers(0, 2, (40, 3)).astype(np.float64))
    return tmp_path


def run(d, *args):
    old = os.getcwd()
    os.chdir(d)  # names as a user types them, relative to where ce-loss runs
    try:
        return runner.invoke(app, [str(a) for a in args])
    finally:
        os.chdir(old)


def _unchanged(d, names):
    return {n: (d / n).read_bytes() for n in names}


@pytest.mark.parametrize(
    "args, output",
    [
        (("x.npy", "t.npy", "--weight", "w.npy"), "w.npy"),
        (("x.npy", "t.npy", "--weight", "./w.npy"), "w.npy"),
        (("x.npy", "t.npy", "--weight", "w.npy"), "./w.npy"),
        (("x.npy", "tb.npy", "--loss", "bce-logits", "--pos-weight", "pw.npy"), "pw.npy"),
    ],
)
def test_weight_files_are_inputs(d, args, output):
    before = _unchanged(d, ["x.npy", "t.npy", "w.npy", "pw.npy", "tb.npy"])
    r = run(d, "compute", *args, "--save-grad", output)
    assert r.exit_code == 2, r.stdout
    assert f"--save-grad {output}: {INPUT}" in r.stderr
    assert _unchanged(d, list(before)) == before


def test_weight_numbers_are_no_file(d):
    r = run(d, "compute", "x.npy", "t.npy", "--weight", "1,2,3", "--save-grad", "g.npy")
    assert r.exit_code == 0, r.stderr
    assert (d / "g.npy").exists()


def test_outputs_compared_by_file_not_spelling(d):
    r = run(d, "compute", "x.npy", "t.npy", "--save-grad", "g.npy", "--save-per-sample", "./g.npy")
    assert r.exit_code == 2
    assert "--save-grad and --save-per-sample name the same file" in r.stderr
    assert not (d / "g.npy").exists()
    sub = d / "sub"
    sub.mkdir()
    r = run(
        d, "compute", "x.npy", "t.npy", "--save-grad", "g.npy", "--save-per-sample", "sub/../g.npy"
    )
    assert r.exit_code == 2 and "name the same file" in r.stderr


def test_symlink_and_hard_link_to_an_input(d):
    os.symlink(d / "x.npy", d / "link.npy")
    os.link(d / "t.npy", d / "hard.npy")
    before = _unchanged(d, ["x.npy", "t.npy"])
    for out, option in (("link.npy", "--save-grad"), ("hard.npy", "--save-per-sample")):
        r = run(d, "compute", "x.npy", "t.npy", option, out)
        assert r.exit_code == 2, r.stdout
        assert f"{option} {out}: {INPUT}" in r.stderr
    assert _unchanged(d, list(before)) == before


# --------------------------------------------------------------------------------------------
# An input truncated while it is read


def _big(tmp_path, rows=400_000, c=64):
    x = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float32, shape=(rows, c))
    x[:] = 0.5
    x.flush()
    del x
    np.save(tmp_path / "t.npy", np.zeros(rows, dtype=np.int64))
    return tmp_path / "x.npy"


def _truncate_midway(cmd, cwd, path, tag):
    """Run ``cmd`` and truncate ``path`` to a tenth once ``tag`` (a file the child makes as it
    starts reading) appears, as a writer rewriting its output would. Returns the process."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    size = path.stat().st_size

    def cut():
        for _ in range(30_000):  # up to ~30 s of 1 ms naps
            if tag.exists():
                break
            time.sleep(0.001)
        os.truncate(path, size // 10)

    th = threading.Thread(target=cut)
    th.start()
    out, err = proc.communicate(timeout=120)
    th.join()
    return proc.returncode, out.decode(), err.decode()


# The child holds its first block (its rows already taken from the input) until the file has
# been cut, so the file shrinks while it is being read, every time; then runs the command line.
_SLOW = """
import os, sys, time
from ce_cli.core import engine
tag, path = sys.argv[1], sys.argv[2]
size = os.path.getsize(path)
real = engine.compute_block
def held(p, x, t, start, **kw):
    if start == 0 and not os.path.exists(tag):
        open(tag, "w").close()
        for _ in range(20_000):  # up to ~20 s of 1 ms naps
            if os.path.getsize(path) != size:
                break
            time.sleep(0.001)
    return real(p, x, t, start, **kw)
engine.compute_block = held
from ce_cli.cli import script
sys.argv = ["ce-loss", *sys.argv[3:]]
script()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIGBUS on a truncated map")
@pytest.mark.parametrize("threads", ["1", "2"])
def test_truncated_while_read_is_an_error_not_sigbus(tmp_path, threads):
    x = _big(tmp_path)
    tag = tmp_path / "started"
    cmd = [
        sys.executable,
        "-c",
        _SLOW,
        str(tag),
        str(x),
        "compute",
        "x.npy",
        "t.npy",
        "--save-grad",
        "g.npy",
        "--threads",
        threads,
        "-q",
    ]
    code, out, err = _truncate_midway(cmd, tmp_path, x, tag)
    assert code != -signal.SIGBUS, "killed by SIGBUS"
    assert code == 2, (code, err)
    assert err.strip() == "ce-loss: error: x.npy changed while ce-loss was reading it"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["started", "t.npy", "x.npy"]


def test_truncated_stored_npz_member(tmp_path):
    _big(tmp_path)
    x = np.load(tmp_path / "x.npy")
    np.savez(tmp_path / "a.npz", logits=x, labels=np.zeros(len(x), dtype=np.int64))
    tag = tmp_path / "started"
    path = tmp_path / "a.npz"
    cmd = [sys.executable, "-c", _SLOW, str(tag), str(path), "compute", "a.npz", "-q"]
    code, out, err = _truncate_midway(cmd, tmp_path, path, tag)
    assert code == 2, (code, err)
    assert "a.npz changed while ce-loss was reading it" in err
