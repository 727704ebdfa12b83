"""ce-loss as shell scripts meet it: the installed command, `python -m ce_cli`, start-up imports,
pipes, and the README agreeing with --help."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
PAIR = [str(SAMPLES / "logits.npy"), str(SAMPLES / "labels_1based.npy")]
SEED001 = "1.0155949508195155"


def sh(args, **kw):
    env = dict(os.environ, **kw.pop("env", {}))
    return subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT, **kw)


def console_script():
    exe = Path(sys.executable).parent / ("ce-loss.exe" if os.name == "nt" else "ce-loss")
    if not exe.exists():
        pytest.skip("ce-loss is not installed next to this Python")
    return str(exe)


def test_installed_command_prints_the_loss():
    r = sh([console_script(), "compute", *PAIR, "--format", "plain", "--quiet"])
    assert r.returncode == 0, r.stderr
    assert r.stdout == SEED001 + "\n"


def test_python_dash_m():
    r = sh([sys.executable, "-m", "ce_cli", "compute", *PAIR, "-f", "plain", "-q"])
    assert r.returncode == 0, r.stderr
    assert r.stdout == SEED001 + "\n"
    r = sh([sys.executable, "-m", "ce_cli", "--version"])
    assert r.stdout.startswith("ce-loss ")


def test_shell_capture_and_exit_codes():
    r = sh(
        [
            "bash",
            "-c",
            f"loss=$({sys.executable} -m ce_cli compute {PAIR[0]} {PAIR[1]} "
            f'-f plain -q); echo "got $loss"',
        ]
    )
    assert r.stdout == f"got {SEED001}\n"
    r = sh([sys.executable, "-m", "ce_cli", "check", *PAIR, "--max", "1.0"])
    assert r.returncode == 1 and r.stdout.startswith("FAIL")
    r = sh([sys.executable, "-m", "ce_cli", "check", *PAIR, "--max", "2"])
    assert r.returncode == 0 and r.stdout.startswith("PASS")
    r = sh([sys.executable, "-m", "ce_cli", "compute", "missing.npy", PAIR[1]])
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = sh([sys.executable, "-m", "ce_cli", "compute", *PAIR, "--loss", "nope"])
    assert r.returncode == 2 and "Traceback" not in r.stderr


def _big_pair(tmp_path, n=200_000):
    rng = np.random.default_rng(7)
    x, y = tmp_path / "x.npy", tmp_path / "y.npy"
    np.save(x, rng.standard_normal((n, 3)).astype(np.float32))
    np.save(y, rng.integers(0, 3, n))
    return [str(x), str(y)]


def test_long_output_arrives_whole_before_the_process_ends(tmp_path):
    # ce-loss ends its process without Python's teardown: everything must be flushed first
    pair = _big_pair(tmp_path)
    r = sh([sys.executable, "-m", "ce_cli", "compute", *pair, "-r", "none", "-f", "csv", "-q"])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 1 + 200_000 and lines[-1].startswith("199999,")
    rows = np.loadtxt(r.stdout.splitlines(), delimiter=",", skiprows=1, usecols=-1)
    from ce_cli.core import cross_entropy

    want = cross_entropy(np.load(pair[0]), np.load(pair[1]), reduction="none")
    np.testing.assert_allclose(rows, want, rtol=1e-6)


def test_a_reader_that_goes_away_is_not_an_error(tmp_path):
    pair = _big_pair(tmp_path)
    r = sh(
        [
            "bash",
            "-c",
            f"set -o pipefail; {sys.executable} -m ce_cli compute {pair[0]} "
            f"{pair[1]} -r none -f csv -q | head -n 2",
        ]
    )
    assert r.stdout.splitlines()[0].startswith("index,") and len(r.stdout.splitlines()) == 2
    assert "Traceback" not in r.stderr and "Exception" not in r.stderr, r.stderr
    assert r.returncode in (0, 141), r.returncode  # 141: killed by SIGPIPE, as `seq | head`


def test_collector_is_on_while_a_command_works_and_as_it_was_after():
    import gc

    from ce_cli.cli.entry import collecting as _collecting

    was = gc.isenabled()
    try:
        for start in (False, True):
            (gc.enable if start else gc.disable)()
            with _collecting():
                assert gc.isenabled()
            assert gc.isenabled() is start
    finally:
        gc.unfreeze()
        (gc.enable if was else gc.disable)()


BLAS_PROBE = """
import os, sys
from ce_cli.cli import entry
def main():
    import numpy
    print(os.environ.get("OPENBLAS_NUM_THREADS"), os.environ.get("OMP_NUM_THREADS"))
entry.main = main
entry.script()
"""


def test_the_command_keeps_blas_to_one_thread_unless_the_user_says_otherwise():
    # ce-loss does no matrix products; OpenBLAS's idle threads would spin on its CPUs
    env = {
        k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
    }
    r = subprocess.run(
        [sys.executable, "-c", BLAS_PROBE], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1", "1"]
    env["OPENBLAS_NUM_THREADS"] = "4"
    r = subprocess.run(
        [sys.executable, "-c", BLAS_PROBE], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert r.stdout.split() == ["4", "1"]


def test_pipe_from_stdin():
    data = (SAMPLES / "logits.npy").read_bytes()
    r = subprocess.run(
        [sys.executable, "-m", "ce_cli", "compute", "-", PAIR[1], "-f", "json", "-q"],
        input=data,
        capture_output=True,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["loss"] == float(SEED001)


def test_no_color_and_pipes_have_no_escape_codes():
    r = sh(
        [sys.executable, "-m", "ce_cli", "compute", *PAIR, "-p", "-g"],
        env={"NO_COLOR": "1", "FORCE_COLOR": ""},
    )
    assert r.returncode == 0
    assert "\x1b[" not in r.stdout and SEED001 in r.stdout


def _modules_after(argv):
    code = (
        "import sys\n"
        "from ce_cli.cli import main\n"
        f"sys.argv = {argv!r}\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('numpy', 'rich', 'torch', 'pandas', 'pydantic', 'concurrent', 'logging'))))\n"
    )
    r = sh([sys.executable, "-c", code])
    return set(r.stderr.split())


def test_a_big_input_spread_over_threads_does_not_import_logging(tmp_path):
    # concurrent.futures would bring logging: about 4 ms of every run with more than one block
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.standard_normal((20_000, 100)).astype(np.float32))
    np.save(tmp_path / "t.npy", rng.integers(0, 100, 20_000))
    mods = _modules_after(
        [
            "ce-loss",
            "compute",
            str(tmp_path / "x.npy"),
            str(tmp_path / "t.npy"),
            "-f",
            "plain",
            "-q",
            "--threads",
            "2",
        ]
    )
    tops = {m.split(".")[0] for m in mods}
    assert "numpy" in tops and not tops & {"concurrent", "logging"}, tops


def test_help_does_not_import_numpy():
    for argv in (
        ["ce-loss", "--help"],
        ["ce-loss", "compute", "--help"],
        ["ce-loss", "check", "-h"],
        ["ce-loss", "--version"],
    ):
        mods = _modules_after(argv)
        assert not any(m.split(".")[0] == "numpy" for m in mods), (argv, mods)


def test_plain_compute_does_not_import_rich_or_heavy_modules():
    mods = _modules_after(["ce-loss", "compute", *PAIR, "-f", "plain", "-q"])
    tops = {m.split(".")[0] for m in mods}
    assert "numpy" in tops
    assert not tops & {"rich", "torch", "pandas", "pydantic"}, tops


# --------------------------------------------------------------------------------------------
# The README and --help agree


def _help(*args):
    r = sh([sys.executable, "-m", "ce_cli", *args, "--help"], env={"COLUMNS": "200"})
    assert r.returncode == 0
    return r.stdout


def test_every_command_and_option_is_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"^  (\w[\w-]*)\s{2,}", _help().split("Commands:")[1], re.M)
    assert {"compute", "check"} <= set(commands)
    for command in commands:
        assert f"ce-loss {command}" in readme, command
        options = set(re.findall(r"(--[a-z][a-z-]+)", _help(command)))
        options -= {"--help"}
        missing = sorted(o for o in options if o not in readme)
        assert not missing, (command, missing)


def test_readme_setup_commands_use_the_samples():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "ce-loss compute samples/logits.npy samples/labels.npy" in readme
    assert "python -m pytest" in readme
