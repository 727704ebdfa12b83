"""Where the bytes come from and what they are: a path or standard input, its format (magic
bytes, then the format given, the extension or the content), and its text, checked and decoded.
"""

from __future__ import annotations

import io
import os
import stat
import sys
from collections.abc import Iterator
from typing import BinaryIO

from ..errors import CeLossError
from .messages import error_at, file_error

FORMATS = ("npy", "npz", "csv", "tsv", "json", "jsonl", "parquet", "feather", "safetensors")
ALIASES = {"txt": "csv", "ndjson": "jsonl", "tab": "tsv", "arrow": "feather", "ipc": "feather"}
EXTENSIONS = {
    ".npy": "npy",
    ".npz": "npz",
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".feather": "feather",
    ".arrow": "feather",
    ".ipc": "feather",
    ".safetensors": "safetensors",
}
KIND = {
    "npy": "an .npy file",
    "npz": "an .npz archive",
    "csv": "a CSV file",
    "tsv": "a TSV file",
    "json": "a JSON file",
    "jsonl": "a JSON Lines file",
    "parquet": "a Parquet file",
    "feather": "a Feather/Arrow file",
    "safetensors": "a .safetensors file",
}
# Formats written by pickling (torch.save, pickle.dump): refused by name, whatever their bytes
# (torch.save writes a zip archive that would otherwise pass for an .npz).
PICKLE_EXTENSIONS = (".pt", ".pth", ".bin", ".pkl", ".pickle", ".ckpt")

STDIN_NAME = "<stdin>"

NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_BOM = b"\xef\xbb\xbf"


class Source:
    """One input, a path or ``-`` for standard input, whose bytes are read at most once.

    What is not a regular file (standard input, a pipe, a device) is read whole into memory,
    at most ``limit`` bytes of it (None: :func:`default_limit`): ``/dev/zero`` has no end.
    """

    def __init__(self, spec: str, stdin=None, limit: int | None = None):
        self._data: bytes | None = None
        self._limit = limit
        spec = os.fspath(spec)
        self.path: str | None
        if spec == "-":
            self.name = STDIN_NAME
            self.path = None
            self.regular = False
            self._data = _read_stdin(stdin, self.limit)
            return
        self.name = spec
        self.path = spec
        st = _stat(spec)
        if stat.S_ISDIR(st.st_mode):
            raise file_error(spec, "is a directory; expected a file")
        # pipes such as bash's <(...) are read like standard input; only regular files are mapped
        self.regular = stat.S_ISREG(st.st_mode)

    @property
    def limit(self) -> int:
        return default_limit() if self._limit is None else self._limit

    @property
    def unread(self) -> bool:
        """A regular file not read into memory yet: it can be mapped or opened by path."""
        return self.regular and self._data is None

    def read(self) -> bytes:
        if self._data is None:
            try:
                with open(self._file_path(), "rb") as f:
                    self._data = f.read() if self.regular else bounded(f, self.name, self.limit)
            except OSError as e:
                raise os_error(self.name, e) from None
        return self._data

    def head(self, n: int = 8) -> bytes:
        if self.unread:
            try:
                with open(self._file_path(), "rb") as f:
                    return f.read(n)
            except OSError as e:
                raise os_error(self.name, e) from None
        return self.read()[:n]

    def open(self) -> BinaryIO:
        """A binary file object: the file itself when regular, else the bytes already read."""
        if self.unread:
            try:
                return open(self._file_path(), "rb")
            except OSError as e:
                raise os_error(self.name, e) from None
        return io.BytesIO(self.read())

    def _file_path(self) -> str:
        assert self.path is not None  # standard input is read when the Source is made
        return self.path


# Read from a stream at a time while it is bounded.
_CHUNK = 1 << 20


def default_limit() -> int:
    """Half the memory available now (the bytes read are joined into one copy), at least
    64 MiB; 8 GiB where the system does not say."""
    avail = None
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f:
                if line.startswith(b"MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            avail = 16 << 30
    return max(64 << 20, avail // 2)


def bounded(f, name: str, limit: int) -> bytes:
    """All of the stream ``f``, or an error once it holds more than ``limit`` bytes."""
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = f.read(min(_CHUNK, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        if isinstance(chunk, str):
            chunk = chunk.encode("utf-8", "surrogateescape")
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise file_error(
                name,
                f"holds more than {limit} bytes, the most ce-loss reads from a stream "
                "(standard input, a pipe or a device)",
                hint="raise {max_input_bytes}, or save the data to a file",
                value=limit,
            )


def os_error(name: str, e: OSError) -> CeLossError:
    """The error for a file the system would not read."""
    if isinstance(e, (FileNotFoundError, NotADirectoryError)):
        return file_error(name, "no such file")
    if isinstance(e, IsADirectoryError):
        return file_error(name, "is a directory; expected a file")
    if isinstance(e, PermissionError):
        return file_error(name, "permission denied; cannot read the file")
    return file_error(name, f"cannot read the file ({e.strerror or e})")


def _stat(path: str) -> os.stat_result:
    try:
        return os.stat(path)
    except OSError as e:
        raise os_error(path, e) from None
    except ValueError:  # an embedded NUL byte
        raise file_error(path, "is not a usable file name") from None


def _read_stdin(stdin, limit: int) -> bytes:
    if stdin is None:
        stdin = sys.stdin
        if stdin is None:
            raise file_error(STDIN_NAME, "there is no standard input")
        stdin = getattr(stdin, "buffer", stdin)
    try:
        tty = stdin.isatty()
    except (AttributeError, ValueError, OSError):
        tty = False
    if tty:
        raise file_error(
            STDIN_NAME,
            "standard input is a terminal; expected data piped or redirected in",
            hint="ce-loss compute - < logits.csv",
        )
    try:
        return bounded(stdin, STDIN_NAME, limit)
    except OSError as e:
        raise file_error(STDIN_NAME, f"cannot read standard input ({e})") from None


def nonempty_stdin(src: Source) -> None:
    if src.path is None and not src.read().strip():
        raise file_error(STDIN_NAME, "is empty; expected data piped or redirected in")


# --------------------------------------------------------------------------------------------
# Formats


def check_format(fmt: str | None, option: str) -> str | None:
    """A format as stated (``pred_format``...), its aliases resolved; None when not stated."""
    if fmt is None:
        return None
    f = str(fmt).lower().lstrip(".")
    f = ALIASES.get(f, f)
    if f not in FORMATS:
        raise CeLossError(
            f"must be one of {', '.join(FORMATS)}; got {fmt!r}",
            input=option,
            value=fmt,
            expected=", ".join(FORMATS),
        )
    return f


def is_pickle(head: bytes) -> bool:
    # protocol 2 and later start with PROTO (0x80) and the protocol number
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def pickle_error(name: str) -> CeLossError:
    return file_error(
        name,
        "is a Python pickle, not a NumPy array file; ce-loss never unpickles data, since "
        "unpickling can run arbitrary code",
        hint="save plain numbers with numpy.save(path, array.astype(float)), or tensors with "
        "safetensors.torch.save_file({'logits': tensor}, 'logits.safetensors')",
    )


def pickle_format_error(name: str, ext: str) -> CeLossError:
    """A file whose name says torch.save or pickle wrote it (.pt, .bin, .pkl...)."""
    return file_error(
        name,
        f"is a {ext} file, a pickle-based format that ce-loss never loads, since loading it "
        "can run arbitrary code; expected .safetensors or .npy",
        hint="convert it once where you trust it: safetensors.torch.save_file({'logits': "
        f"torch.load('{name}').contiguous()}}, 'logits.safetensors'), or numpy.save('logits.npy', "
        f"torch.load('{name}').float().numpy())",
    )


def detect_format(src: Source, given: str | None) -> str:
    """The format of ``src``: its magic bytes, else as given, else its extension or content."""
    head = src.head(8)
    # binary magics are unambiguous, so they win over an extension or a stated format
    if head.startswith(NPY_MAGIC):
        return "npy"
    if is_pickle(head):
        raise pickle_error(src.name)
    ext = os.path.splitext(src.path)[1].lower() if src.path is not None else ""
    if ext in PICKLE_EXTENSIONS:
        raise pickle_format_error(src.name, ext)
    if head[:4] in _ZIP_MAGICS:
        return "npz"
    if head[:4] == b"PAR1":
        return "parquet"
    if head[:6] == b"ARROW1":
        return "feather"
    if given:
        return given
    if ext in EXTENSIONS:
        return EXTENSIONS[ext]
    return _sniff_text(src.read())


def _sniff_text(data: bytes) -> str:
    """JSON, JSON Lines, TSV or CSV, from the first lines of text."""
    if data.startswith(_BOM):
        data = data[3:]
    s = data.lstrip()
    if s[:1] in (b"[", b"{"):
        first, _, rest = s.partition(b"\n")
        if rest.strip():
            import json

            try:
                json.loads(first)
                return "jsonl"  # a complete value on the first line, and more lines after it
            except (ValueError, RecursionError):
                pass
        return "json"
    for line in s.split(b"\n", 64)[:64]:
        t = line.strip()
        if t and not t.startswith(b"#"):
            return "tsv" if b"\t" in t else "csv"
    return "csv"


# --------------------------------------------------------------------------------------------
# Text


def _decode(data: bytes, name: str, offset: int, line: int) -> str:
    """Text of ``data`` (found at byte ``offset``, line ``line`` of file ``name``): UTF-8 with
    no NUL and ``\\n`` line ends, or an error naming the line of the first offending byte."""
    nul = data.find(b"\x00")
    try:
        text = data.decode("utf-8")
        bad = -1
    except UnicodeDecodeError as e:
        text, bad = "", e.start
    if nul >= 0 and (bad < 0 or nul < bad):
        raise error_at(
            name,
            f"line {line + _breaks(data[:nul])}",
            "a NUL byte; expected text (is this a binary file?)",
        )
    if bad >= 0:
        raise error_at(
            name,
            f"line {line + _breaks(data[:bad])}",
            f"byte 0x{data[bad]:02x} at offset {offset + bad} is not UTF-8 text; expected a "
            "text file",
        )
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _breaks(data: bytes) -> int:
    """Line ends in ``data``: ``\\n``, ``\\r\\n`` or ``\\r``."""
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def _skip_bom(data: bytes, name: str) -> int:
    if data.startswith(_BOM):
        return 3
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise file_error(name, "is UTF-16 text; expected UTF-8", hint="save the file as UTF-8")
    return 0


def text(src: Source) -> str:
    """The decoded text of a text file; refuses what is not UTF-8 text."""
    data = src.read()
    skip = _skip_bom(data, src.name)
    return _decode(data[skip:], src.name, skip, 1)


def text_pieces(src: Source, size: int) -> Iterator[tuple[int, str]]:
    """The text of ``src`` as ``(number of its first line, text)`` pieces of whole lines, about
    ``size`` bytes each, checked as :func:`text` checks the whole.

    A file is read a piece at a time, so a big table never sits in memory as text.
    """
    with src.open() as f:
        start = f.read(3)
        skip = _skip_bom(start, src.name)
        pending = [start[skip:]]  # bytes read but not yet handed out (no newline in them yet)
        offset, line = skip, 1
        while True:
            block = f.read(size)
            if block:
                cut = block.rfind(b"\n") + 1
                if not cut:
                    pending.append(block)  # a line longer than a piece: keep reading
                    continue
                data = b"".join(pending) + block[:cut]
                pending = [block[cut:]]
            else:
                data = b"".join(pending)
                if not data:
                    return
            piece = _decode(data, src.name, offset, line)
            yield line, piece
            offset += len(data)
            line += piece.count("\n")
            if not block:
                return
