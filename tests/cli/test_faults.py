"""ce-loss when the process and its streams misbehave: readers that leave, full disks, `ulimit -f`,
closed streams, signals, and `check` conditions that cannot mean anything.

Subprocess tests: each runs the real `python -m ce_cli` (whose `script()` owns the streams and
signals) with this worktree's package first on the path.
"""

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ce_cli.cli import app

ROOT = Path(__file__).resolve().parents[2]
# 1-based labels: a run that gives its warning on stderr (samples/labels_1based.npy)
PAIR = [str(ROOT / "samples" / "logits.npy"), str(ROOT / "samples" / "labels_1based.npy")]
LOSS = "1.0155949508195155"
CE = [sys.executable, "-m", "ce_cli"]
POSIX = pytest.mark.skipif(os.name != "posix", reason="POSIX streams, signals and rlimits")
HAS_DEV_FULL = os.path.exists("/dev/full")


def env(**extra):
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return dict(os.environ, PYTHONPATH=path, **extra)


def run(args, *, extra_env=None, shell=False, **kw):
    cmd = args if not shell else ["sh", "-c", args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env(**(extra_env or {})), **kw)


def ce(*args):
    """A shell command line running ce-loss with ``args``."""
    return " ".join([*CE, *map(str, args)])


def assert_one_line(stderr: str, line: str):
    assert stderr == line + "\n", stderr


# --------------------------------------------------------------------------------------------
# item 1: a reader that left never turns a failed check into success


def _reader_gone(args):
    """Run ce-loss with stdout a pipe whose reader has already closed it."""
    p = subprocess.Popen(
        [*CE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env()
    )
    p.stdout.close()  # before ce-loss can write: its first write meets a broken pipe
    err = p.stderr.read()
    return p.wait(), err


@POSIX
@pytest.mark.parametrize("fmt", ["plain", "json"])
def test_a_failed_check_stays_failed_when_the_reader_left(fmt):
    code, err = _reader_gone(["check", *PAIR, "--max", "0.5", "-f", fmt])
    assert code == 1, err
    assert "Traceback" not in err
    code, err = _reader_gone(["check", *PAIR, "--max", "5", "-f", fmt])
    assert code == 0, err


@POSIX
def test_compute_whose_reader_left_is_not_an_error():
    code, err = _reader_gone(["compute", *PAIR, "-f", "json", "-q"])
    assert code == 0 and err == "", err


# --------------------------------------------------------------------------------------------
# item 2: every write to stdout is checked, whatever the buffering


def _fsize_limit(nbytes):
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))


@pytest.fixture(scope="module")
def big_pair(tmp_path_factory):
    d = tmp_path_factory.mktemp("big")
    rng = np.random.default_rng(3)
    np.save(d / "x.npy", rng.standard_normal((2_000, 5)).astype(np.float32))
    np.save(d / "y.npy", rng.integers(0, 5, 2_000))
    return [str(d / "x.npy"), str(d / "y.npy")]


@POSIX
@pytest.mark.parametrize("unbuffered", ["", "1"])
@pytest.mark.parametrize(
    "fmt,extra,limit",
    [("json", ["-r", "none"], 1000), ("csv", ["-r", "none"], 1000), ("plain", [], 10)],
)
def test_output_cut_short_by_ulimit_is_an_error(tmp_path, big_pair, unbuffered, fmt, extra, limit):
    dest = tmp_path / "out"
    with open(dest, "wb") as f:
        r = subprocess.run(
            [*CE, "compute", *big_pair, "-f", fmt, "-q", *extra],
            stdout=f,
            stderr=subprocess.PIPE,
            text=True,
            env=env(PYTHONUNBUFFERED=unbuffered),
            preexec_fn=_fsize_limit(limit),
        )
    assert r.returncode == 2, (r.returncode, r.stderr, dest.stat().st_size)
    assert_one_line(r.stderr, "ce-loss: error: cannot write to stdout: File too large")


@POSIX
@pytest.mark.skipif(not HAS_DEV_FULL, reason="no /dev/full on this system")
@pytest.mark.parametrize("unbuffered", ["", "1"])
@pytest.mark.parametrize("fmt", ["table", "json", "csv", "plain"])
def test_a_full_stdout_says_it_was_stdout(unbuffered, fmt):
    r = run(
        f"{ce('compute', *PAIR, '-q', '-f', fmt)} > /dev/full",
        shell=True,
        extra_env={"PYTHONUNBUFFERED": unbuffered},
    )
    assert r.returncode == 2
    assert_one_line(r.stderr, "ce-loss: error: cannot write to stdout: No space left on device")


# --------------------------------------------------------------------------------------------
# item 5: SIGTERM and SIGHUP clean up like Ctrl-C


@pytest.fixture(scope="module")
def slow_pair(tmp_path_factory):
    d = tmp_path_factory.mktemp("slow")
    rng = np.random.default_rng(5)
    np.save(d / "x.npy", rng.standard_normal((4_000, 2_000)).astype(np.float32))
    np.save(d / "y.npy", rng.integers(0, 2_000, 4_000))
    return [str(d / "x.npy"), str(d / "y.npy")]


def _stop_while_saving(tmp_path, pair, signum, delay):
    """Signal ce-loss while its gradient's temporary file exists; what is left, the status."""
    out = tmp_path / "g.npy"
    p = subprocess.Popen(
        [*CE, "compute", *pair, "--save-grad", str(out), "-q", "-f", "plain", "--threads", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    for _ in range(60_000):  # up to ~60 s of 1 ms naps for the temporary file to appear
        if list(tmp_path.glob(".g.npy.*.part")) or p.poll() is not None:
            break
        time.sleep(0.001)
    else:
        raise AssertionError("ce-loss never opened its temporary file")
    time.sleep(delay)
    # frozen while the temporary file is there, so the signal lands in the middle of the run
    p.send_signal(signal.SIGSTOP)
    caught = bool(list(tmp_path.glob(".g.npy.*.part")))
    p.send_signal(signum)
    p.send_signal(signal.SIGCONT)
    err = p.stderr.read()
    return caught, p.wait(), err, sorted(x.name for x in tmp_path.iterdir())


@POSIX
@pytest.mark.parametrize("delay", [0.0, 0.05], ids=["as-it-opens", "mid-run"])
@pytest.mark.parametrize(
    "name,code,line",
    [
        ("SIGTERM", 143, "ce-loss: terminated (SIGTERM)"),
        ("SIGHUP", 129, "ce-loss: terminated (SIGHUP)"),
        ("SIGINT", 130, "ce-loss: interrupted"),
    ],
)
def test_a_signal_while_saving_leaves_nothing_behind(tmp_path, slow_pair, name, code, line, delay):
    for attempt in range(5):
        folder = tmp_path / str(attempt)
        folder.mkdir()
        signum = getattr(signal, name)
        caught, status, err, left = _stop_while_saving(folder, slow_pair, signum, delay)
        if caught:
            break
    else:
        pytest.skip("the run ended before its temporary file could be seen")
    assert status == code, err
    assert_one_line(err, line)
    assert left == []


@POSIX
def test_an_ignored_sighup_stays_ignored(tmp_path, slow_pair):
    # `nohup ce-loss ...`: the caller asked for SIGHUP to be ignored
    r = subprocess.run(
        [
            "sh",
            "-c",
            "trap '' HUP; "
            + ce("compute", *slow_pair, "-q", "-f", "plain", "--save-grad", tmp_path / "g.npy")
            + " & pid=$!; sleep 0.3; kill -HUP $pid; wait $pid",
        ],
        capture_output=True,
        text=True,
        env=env(),
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "g.npy").exists()


# --------------------------------------------------------------------------------------------
# item 6: stderr that cannot be written never costs the result


@POSIX
@pytest.mark.parametrize("redirect", ["2>/dev/full", "2>&-"])
def test_a_broken_stderr_does_not_lose_the_result(redirect):
    if "full" in redirect and not HAS_DEV_FULL:
        pytest.skip("no /dev/full on this system")
    # the sample's labels run from 1 to 3: a warning is due on stderr
    for fmt in ("plain", "json", "table"):
        r = run(f"{ce('compute', *PAIR, '-f', fmt)} {redirect}", shell=True)
        assert r.returncode == 0
        assert LOSS in r.stdout
    r = run(f"{ce('check', *PAIR, '--max', '0.5')} {redirect}", shell=True)
    assert r.returncode == 1 and r.stdout.startswith("FAIL")


# --------------------------------------------------------------------------------------------
# item 7: a closed or full stdout is one line and exit 2, never a traceback


@POSIX
@pytest.mark.parametrize(
    "args",
    [["compute", *PAIR, "-f", "plain", "-q"], ["compute", *PAIR, "-q"], ["--help"], ["--version"]],
)
def test_a_closed_stdout_is_one_line(args):
    r = run(f"{ce(*args)} >&-", shell=True)
    assert r.returncode == 2
    assert_one_line(r.stderr, "ce-loss: error: cannot write to stdout: Bad file descriptor")


@POSIX
def test_a_quiet_check_needs_no_stdout():
    r = run(f"{ce('check', *PAIR, '--max', '0.5', '-q')} >&-", shell=True)
    assert r.returncode == 1 and r.stderr == ""


@POSIX
@pytest.mark.skipif(not HAS_DEV_FULL, reason="no /dev/full on this system")
@pytest.mark.parametrize("args", [["--help"], ["--version"], ["compute", "-h"], ["check", "-h"]])
def test_help_to_a_full_stdout_is_one_line(args):
    r = run(f"{ce(*args)} > /dev/full", shell=True)
    assert r.returncode == 2
    assert_one_line(r.stderr, "ce-loss: error: cannot write to stdout: No space left on device")


@POSIX
@pytest.mark.skipif(not HAS_DEV_FULL, reason="no /dev/full on this system")
def test_a_usage_error_with_a_full_stderr_is_still_exit_2():
    r = run(f"{ce('compute', *PAIR, '--bogus')} 2>/dev/full", shell=True)
    assert r.returncode == 2 and r.stdout == ""


# --------------------------------------------------------------------------------------------
# Ctrl-C during start-up: exit 130 quietly


def test_ctrl_c_while_typer_loads_is_a_quiet_exit_130():
    # Ctrl-C lands while the console script loads its modules: simulated deterministically by
    # raising KeyboardInterrupt as typer is imported, after `from ce_cli.cli import script`
    # (what the installed ce-loss script runs first).
    code = (
        "import sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'typer':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "from ce_cli.cli import script\n"
        "sys.argv = ['ce-loss', '--version']\n"
        "script()\n"
    )
    r = run([sys.executable, "-c", code])
    assert r.returncode == 130, r.stderr
    assert_one_line(r.stderr, "ce-loss: interrupted")


def test_the_console_scripts_first_import_is_light():
    r = run(
        [
            sys.executable,
            "-c",
            "import sys; from ce_cli.cli import script; print('typer' in sys.modules)",
        ]
    )
    assert r.stdout == "False\n", r.stderr


# --------------------------------------------------------------------------------------------
# item 10: check conditions that cannot mean anything are usage errors

runner = CliRunner()


@pytest.mark.parametrize(
    "args,message",
    [
        (["--max", "nan"], "--max must be a number; got nan"),
        (["--min", "nan"], "--min must be a number; got nan"),
        (["--expect", "nan"], "--expect must be a number; got nan"),
        (["--expect", "inf"], "--expect must be finite; got inf"),
        (["--expect", "-inf"], "--expect must be finite; got -inf"),
        (["--min", "0.6", "--max", "0.5"], "--min 0.6 is above --max 0.5; no loss can meet both"),
        (
            ["--expect", "1", "--rtol", "nan"],
            "--rtol and --atol must be finite; got nan and 1e-09",
        ),
        (
            ["--expect", "1", "--atol", "inf"],
            "--rtol and --atol must be finite; got 1e-06 and inf",
        ),
        (["--expect", "1", "--rtol", "-1"], "--rtol and --atol must be >= 0; got -1.0 and 1e-09"),
    ],
)
def test_conditions_that_cannot_mean_anything_are_refused(args, message):
    r = runner.invoke(app, ["check", *PAIR, *args])
    assert r.exit_code == 2
    assert r.output == f"ce-loss: error: {message}\n"


@pytest.mark.parametrize(
    "args", [["--max", "inf"], ["--min", "-inf"], ["--min", "1", "--max", "1"]]
)
def test_conditions_that_can_hold_are_kept(args):
    r = runner.invoke(app, ["check", *PAIR, *args, "-q"])
    assert r.exit_code in (0, 1), r.output


@POSIX
def test_closed_stdout_and_stderr_is_a_silent_exit_2():
    r = run(f"{ce('compute', *PAIR, '-f', 'plain', '-q')} >&- 2>&-", shell=True)
    assert r.returncode == 2 and r.stderr == ""


def test_a_temporary_file_whose_sink_was_never_kept_is_removed_at_exit(tmp_path):
    # what script() relies on when a signal lands between a sink's creation and the engine
    # keeping it: the temporary file is known until it is renamed into place or removed
    from ce_cli import sinks

    lost = sinks.NpySink(tmp_path / "g.npy", "grad", (2, 3), np.float32)  # never discarded
    kept = sinks.NpySink(tmp_path / "h.npy", "grad", (0,), np.float32)
    kept.close()
    kept.publish()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [os.path.basename(lost.tmp), "h.npy"]
    )
    lost.f.close()  # the process would end with it open; the file itself stays
    sinks.remove_leftovers()
    assert [p.name for p in tmp_path.iterdir()] == ["h.npy"]
