"""Hostile inputs (issue 15, items 4 and 8 and the JSON integer): memory bombs, endless streams,
files that change while read, and what the readers say about them."""

import io
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from ce_cli import readers
from ce_cli.errors import CeLossError
from ce_cli.readers import Rows, load
from ce_cli.readers import rows as rows_mod
from ce_cli.readers.source import default_limit
from ce_cli.settings import ReadSettings

ROOT = Path(__file__).resolve().parents[2]


def _npz(path, compressed=True, **arrays):
    (np.savez_compressed if compressed else np.savez)(path, **arrays)
    return str(path)


# Spawns the command from a small process of its own: a child's ru_maxrss starts from the peak
# RSS of the process that spawned it (exec keeps it), and this test process may be big.
_RUNNER = """
import subprocess, sys
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
out, err = proc.communicate()
import resource
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
scale = 1 if sys.platform == "darwin" else 1024
sys.stderr.write(err.decode())
sys.stdout.write(f"{proc.returncode} {peak * scale}\\n" + out.decode())
"""


def _peak_rss(args, cwd):
    """Exit status, stdout, stderr and peak RSS (bytes) of ``python -m ce_cli ARGS``."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER, sys.executable, "-m", "ce_cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    head, _, out = done.stdout.partition("\n")
    code, peak = head.split()
    return int(code), out, done.stderr, int(peak)


# --------------------------------------------------------------------------------------------
# Compressed members: streamed through the decompressor


@pytest.mark.skipif(sys.platform == "win32", reason="peak RSS of a child from getrusage")
def test_a_compressed_bomb_takes_the_memory_of_a_few_blocks(tmp_path):
    rows, c = 65_536, 1_024  # 256 MiB of float32 zeros, ~250 KB compressed
    _npz(
        tmp_path / "bomb.npz",
        logits=np.zeros((rows, c), dtype=np.float32),
        labels=np.zeros(rows, dtype=np.int64),
    )
    assert (tmp_path / "bomb.npz").stat().st_size < 2_000_000
    code, out, err, peak = _peak_rss(["compute", "bomb.npz", "-f", "plain", "-q"], tmp_path)
    assert code == 0, err
    assert float(out) == pytest.approx(np.log(c))
    # start-up (Python, NumPy, Typer) is ~60 MB; the member whole would be 256 MiB more
    assert peak < 160e6, f"peak RSS {peak / 1e6:.0f} MB for a 256 MiB member"


def test_streamed_member_in_any_order_equals_the_array(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "NPZ_BLOCK_BYTES", 1000)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((500, 13)).astype(np.float32)
    r = load(_npz(tmp_path / "c.npz", logits=x, labels=np.zeros(500, dtype=np.int64)))
    a = r.pred
    assert isinstance(a, rows_mod.StreamRows)
    # worker threads ask a little out of order; the table asks for the tail; then the head again
    for start, stop in [(40, 80), (0, 40), (120, 200), (80, 120), (490, 500), (0, 7), (3, 9)]:
        assert np.array_equal(a[start:stop], x[start:stop]), (start, stop)
    monkeypatch.setattr(rows_mod, "KEEP_BYTES", 13 * 4 * 10)  # jumps drop what is kept
    for start, stop in [(0, 5), (300, 310), (100, 120), (499, 500), (10, 20)]:
        assert np.array_equal(a[start:stop], x[start:stop]), (start, stop)
    assert np.array_equal(np.asarray(a), x)


def test_streamed_member_crc_is_checked_at_its_end(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "NPZ_BLOCK_BYTES", 1000)
    x = np.arange(2000.0).reshape(200, 10)
    p = _npz(tmp_path / "c.npz", logits=x, labels=np.zeros(200, dtype=np.int64))
    raw = bytearray(Path(p).read_bytes())
    with zipfile.ZipFile(p) as zf:
        info = zf.getinfo("logits.npy")
    wrong = (info.CRC ^ 1).to_bytes(4, "little")
    raw[info.header_offset + 14 : info.header_offset + 18] = wrong  # local header
    cd = raw.index(b"PK\x01\x02")
    while raw[cd + 46 : cd + 46 + len(b"logits.npy")] != b"logits.npy":
        cd = raw.index(b"PK\x01\x02", cd + 4)
    raw[cd + 16 : cd + 20] = wrong  # central directory
    Path(p).write_bytes(bytes(raw))
    a = load(p).pred
    assert np.array_equal(a[0:100], x[0:100])  # the rows are right ...
    with pytest.raises(CeLossError, match=re.escape("array 'logits' cannot be read; the archive")):
        a[100:200]  # ... but the member is not what was stored


def test_compressed_fortran_member_is_read_whole_within_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "NPZ_BLOCK_BYTES", 1000)
    x = np.asfortranarray(np.arange(600.0).reshape(60, 10))
    p = _npz(tmp_path / "f.npz", logits=x, labels=np.zeros(60, dtype=np.int64))
    assert np.array_equal(load(p).pred, x)
    with pytest.raises(CeLossError) as e:
        load(p, settings=ReadSettings(max_input_bytes=4000))
    assert str(e.value) == (
        f"{p} array 'logits' is a compressed Fortran-ordered array of 4800 bytes, which ce-loss "
        "would have to hold whole; expected at most 4000"
    )


# --------------------------------------------------------------------------------------------
# Streams with no end


class Endless(io.RawIOBase):
    """Zeros for ever, as /dev/zero gives them, counting what was read."""

    def __init__(self):
        self.given = 0

    def readable(self):
        return True

    def readinto(self, b):
        b[:] = bytes(len(b))
        self.given += len(b)
        return len(b)


def test_an_endless_stdin_stops_at_the_limit():
    s = Endless()
    with pytest.raises(CeLossError) as e:
        load("-", stdin=io.BufferedReader(s), settings=ReadSettings(max_input_bytes=100_000))
    assert str(e.value) == (
        "<stdin> holds more than 100000 bytes, the most ce-loss reads from a stream "
        "(standard input, a pipe or a device)"
    )
    assert e.value.render_hint() == "raise max_input_bytes, or save the data to a file"
    assert s.given < 100_000 + (1 << 20) + 8192


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_dev_zero_as_pred_is_exit_2_naming_the_limit(tmp_path):
    np.save(tmp_path / "t.npy", np.zeros(3, dtype=np.int64))
    for fmt in ([], ["--pred-format", "csv"]):
        code, out, err, _ = _peak_rss(
            ["compute", "/dev/zero", "t.npy", "--max-input-bytes", "5000000", *fmt], tmp_path
        )
        assert code == 2 and out == ""
        assert err == (
            "ce-loss: error: /dev/zero holds more than 5000000 bytes, the most ce-loss reads "
            "from a stream (standard input, a pipe or a device) "
            "(hint: raise --max-input-bytes, or save the data to a file)\n"
        )


def test_stdin_over_the_limit_on_the_command_line(tmp_path):
    np.save(tmp_path / "t.npy", np.zeros(200, dtype=np.int64))
    text = "".join("0.5,0.25\n" for _ in range(200)).encode()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    argv = [sys.executable, "-m", "ce_cli", "check", "-", "t.npy", "--max", "9"]
    done = subprocess.run(
        [*argv, "--max-input-bytes", "1000"], input=text, capture_output=True, env=env, cwd=tmp_path
    )
    assert done.returncode == 2
    assert b"<stdin> holds more than 1000 bytes" in done.stderr
    done = subprocess.run(argv, input=text, capture_output=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr  # the default is generous


def test_max_input_bytes_is_checked():
    for bad in (0, -5, 2.5, "10"):
        with pytest.raises(CeLossError, match="must be a whole number of bytes, at least 1"):
            load("-", stdin=io.BytesIO(b"1,2\n"), settings=ReadSettings(max_input_bytes=bad))


def test_the_default_limit_is_generous_and_bounded():
    limit = default_limit()
    assert limit >= 64 << 20
    if os.path.exists("/proc/meminfo"):
        with open("/proc/meminfo") as f:
            avail = next(int(line.split()[1]) * 1024 for line in f if "MemAvailable" in line)
        assert limit <= max(64 << 20, avail)


# --------------------------------------------------------------------------------------------
# .npy read by rows: a file that shrinks is an error, not SIGBUS


def test_a_file_cut_between_blocks_is_said_to_have_changed(tmp_path):
    x = np.arange(4000.0).reshape(400, 10)
    np.save(tmp_path / "x.npy", x)
    a = load(str(tmp_path / "x.npy")).pred
    assert isinstance(a, Rows) and np.array_equal(a[0:100], x[:100])
    os.truncate(tmp_path / "x.npy", 5000)
    with pytest.raises(CeLossError) as e:
        a[100:200]
    assert str(e.value) == f"{tmp_path / 'x.npy'} changed while ce-loss was reading it"


def test_a_short_read_is_said_to_have_changed(tmp_path, monkeypatch):
    """Cut after the size was checked: the read comes back short."""
    x = np.arange(4000.0).reshape(400, 10)
    np.save(tmp_path / "x.npy", x)
    a = load(str(tmp_path / "x.npy")).pred
    monkeypatch.setattr(a, "check", lambda: None)
    os.truncate(tmp_path / "x.npy", 5000)
    with pytest.raises(CeLossError, match="x.npy changed while ce-loss was reading it"):
        a[300:400]


def test_rows_slice_like_an_array(tmp_path):
    x = np.arange(2 * 3 * 4, dtype=np.int16).reshape(2, 3, 4)
    for arr in (x, np.asfortranarray(x)):
        np.save(tmp_path / "x.npy", arr)
        a = load(str(tmp_path / "x.npy")).pred
        assert (a.shape, a.dtype, a.ndim, len(a), a.size) == (x.shape, x.dtype, 3, 2, 24)
        for key in (slice(0, 1), slice(1, 5), slice(None), 1, -1, (0, 2), (slice(0, 2), 1)):
            assert np.array_equal(a[key], x[key]), key
        assert a.reshape(2, 3, 4) is a and np.array_equal(a.reshape(6, 4), x.reshape(6, 4))
        del a


@pytest.mark.skipif(sys.platform == "win32", reason="peak RSS of a child from getrusage")
def test_peak_memory_on_a_big_npy_stays_bounded(tmp_path):
    rows, c = 64_000, 1_000  # 256 MB of float32
    x = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float32, shape=(rows, c))
    x[:] = 0.25
    x.flush()
    del x
    np.save(tmp_path / "t.npy", np.zeros(rows, dtype=np.int64))
    args = ["compute", "x.npy", "t.npy", "--save-grad", "g.npy", "-f", "plain", "-q"]
    code, _, err, peak = _peak_rss(args, tmp_path)
    assert code == 0, err
    assert peak < 160e6, f"peak RSS {peak / 1e6:.0f} MB on a 256 MB input"


# --------------------------------------------------------------------------------------------
# Hostile text


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_a_huge_json_integer_says_what_is_wrong_with_the_file(tmp_path, fmt):
    big = "9" * 10_000
    text = (
        f'{{"logits": [[1.5, {big}]], "labels": [0]}}'
        if fmt == "json"
        else f"[0.5, 1.5]\n[1, {big}]\n"
    )
    p = tmp_path / f"x.{fmt}"
    p.write_text(text)
    with pytest.raises(CeLossError) as e:
        load(str(p), str(tmp_path / "t.npy") if fmt == "jsonl" else None)
    limit = sys.get_int_max_str_digits()
    where = "line 1, column 19" if fmt == "json" else "line 2, column 5"
    assert str(e.value) == (
        f"{p} {where}: an integer of 10000 digits; expected a number of at most {limit} digits"
    )
    assert "set_int_max_str_digits" not in str(e.value)
