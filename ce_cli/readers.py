"""Files and standard input to NumPy arrays: the only module of ce-loss that reads data.

Formats: ``.npy`` and ``.npz`` (NumPy), ``.csv``, ``.tsv`` and ``.txt`` (tables of numbers),
``.json`` and ``.jsonl``/``.ndjson``. :func:`load` reads the predictions and targets of one run
and returns a :class:`Loaded`; :func:`read_vector` reads the value of ``--weight`` or
``--pos-weight``.

Nothing is ever unpickled (an object array is refused from its header, before its data is
read), nothing is evaluated, and files are only opened for reading. Every failure is a
:class:`~ce_cli.errors.CeLossError` whose message starts with the file name ("<stdin>" for
standard input), then the position, then what was expected::

    logits.csv line 7, column 3 ('bird'): 'abc' is not a number

This module never prints and imports nothing beyond the standard library and NumPy; the
format-specific modules (csv, json, zipfile, ast) are imported when a file needs them.
"""

from __future__ import annotations

import io
import math
import os
import stat
import struct
import sys
from dataclasses import dataclass

import numpy as np

from .errors import CeLossError

__all__ = ["FORMATS", "Loaded", "load", "read_vector"]

FORMATS = ("npy", "npz", "csv", "tsv", "json", "jsonl")
_ALIASES = {"txt": "csv", "ndjson": "jsonl", "tab": "tsv"}
_EXTENSIONS = {
    ".npy": "npy", ".npz": "npz", ".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv",
    ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
}

# Conventional names of the arrays in an .npz archive, a JSON object or a JSON Lines object.
PRED_KEYS = (
    "logits", "log_probs", "logprobs", "probs", "probabilities", "predictions", "preds", "pred",
    "input", "outputs", "scores", "x",
)
TARGET_KEYS = ("labels", "label", "targets", "target", "y", "classes")
# "classes" of strings names the classes; "classes" of numbers holds the targets.
CLASS_NAME_KEYS = ("class_names", "classes")
# Header names that mark the label column of a table (compared without case).
LABEL_COLUMNS = ("label", "labels", "target", "targets", "y", "class")

STDIN_NAME = "<stdin>"
# More nested JSON lists than this are refused (NumPy itself allows 64 dimensions).
MAX_DIMS = 32
# Longer .npy headers are refused before they are parsed (numpy.load's own default: 10,000).
MAX_NPY_HEADER = 100_000

# Bytes of a text table parsed at a time: while a piece is parsed, its lines and cells as Python
# strings take ~15x that (measured: 256 KiB pieces parse as fast as 1 or 16 MiB ones).
TEXT_PIECE = 1 << 18

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_BOM = b"\xef\xbb\xbf"
_KIND = {"npy": "an .npy file", "npz": "an .npz archive", "csv": "a CSV file",
         "tsv": "a TSV file", "json": "a JSON file", "jsonl": "a JSON Lines file"}


@dataclass
class Loaded:
    """The arrays of one run and where they came from.

    ``pred`` holds numbers (float64 from text formats; the stored dtype, possibly a read-only
    ``np.memmap``, from ``.npy``); ``target`` is ``None`` when no target was found; the names are
    the paths as given or ``"<stdin>"``; ``class_names`` comes from a table's header or a
    ``classes`` entry; ``pred_format`` is the format the predictions were read as.
    """

    pred: np.ndarray
    target: np.ndarray | None
    pred_name: str
    target_name: str | None
    class_names: list[str] | None
    pred_format: str


@dataclass
class _Part:
    """What one file contributed."""

    pred: np.ndarray | None = None
    target: np.ndarray | None = None
    class_names: list[str] | None = None


def _error(name: str, where: str, what: str, hint: str | None = None) -> CeLossError:
    """``"<name> <where>: <what>"`` (``"<name> is ..."`` without a place), source the file."""
    if where:
        return CeLossError(f"{name} {where}: {what}", source=name, hint=hint)
    sep = " " if what.startswith(("is ", "has ", "holds ")) else ": "
    return CeLossError(f"{name}{sep}{what}", source=name, hint=hint)


def _show(text: str, limit: int = 40) -> str:
    """A cell or name quoted for a message, cut short when long."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _names_list(names, limit: int = 12) -> str:
    names = [str(n) for n in names]
    if len(names) > limit:
        return ", ".join(names[:limit]) + f", ... ({len(names)} in all)"
    return ", ".join(names)


# --------------------------------------------------------------------------------------------
# Sources: a path or standard input


class _Source:
    """One input, a path or ``-`` for standard input, whose bytes are read at most once."""

    def __init__(self, spec: str, stdin=None):
        self._data = None
        spec = os.fspath(spec)
        if spec == "-":
            self.name = STDIN_NAME
            self.path = None
            self.regular = False
            self._data = _read_stdin(stdin)
            return
        self.name = spec
        self.path = spec
        st = _stat(spec)
        if stat.S_ISDIR(st.st_mode):
            raise _error(spec, "", "is a directory; expected a file")
        # pipes such as bash's <(...) are read like standard input; only regular files are mapped
        self.regular = stat.S_ISREG(st.st_mode)

    def read(self) -> bytes:
        if self._data is None:
            try:
                with open(self.path, "rb") as f:
                    self._data = f.read()
            except OSError as e:
                raise _os_error(self.name, e) from None
        return self._data

    def head(self, n: int = 8) -> bytes:
        if self._data is None and self.regular:
            try:
                with open(self.path, "rb") as f:
                    return f.read(n)
            except OSError as e:
                raise _os_error(self.name, e) from None
        return self.read()[:n]

    def open(self):
        """A binary file object: the file itself when regular, else the bytes already read."""
        if self._data is None and self.regular:
            try:
                return open(self.path, "rb")
            except OSError as e:
                raise _os_error(self.name, e) from None
        return io.BytesIO(self.read())


def _os_error(name: str, e: OSError) -> CeLossError:
    if isinstance(e, (FileNotFoundError, NotADirectoryError)):
        return _error(name, "", "no such file")
    if isinstance(e, IsADirectoryError):
        return _error(name, "", "is a directory; expected a file")
    if isinstance(e, PermissionError):
        return _error(name, "", "permission denied; cannot read the file")
    return _error(name, "", f"cannot read the file ({e.strerror or e})")


def _stat(path: str) -> os.stat_result:
    try:
        return os.stat(path)
    except OSError as e:
        raise _os_error(path, e) from None
    except ValueError:  # an embedded NUL byte
        raise _error(path, "", "is not a usable file name") from None


def _read_stdin(stdin) -> bytes:
    if stdin is None:
        stdin = sys.stdin
        if stdin is None:
            raise CeLossError(f"{STDIN_NAME}: there is no standard input", source=STDIN_NAME)
        stdin = getattr(stdin, "buffer", stdin)
    try:
        tty = stdin.isatty()
    except (AttributeError, ValueError, OSError):
        tty = False
    if tty:
        raise CeLossError(
            f"{STDIN_NAME}: standard input is a terminal; expected data piped or redirected in",
            source=STDIN_NAME,
            hint="ce-loss compute - < logits.csv",
        )
    try:
        data = stdin.read()
    except OSError as e:
        raise _error(STDIN_NAME, "", f"cannot read standard input ({e})") from None
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    return data


# --------------------------------------------------------------------------------------------
# Formats


def _check_format(fmt: str | None, option: str) -> str | None:
    if fmt is None:
        return None
    f = str(fmt).lower().lstrip(".")
    f = _ALIASES.get(f, f)
    if f not in FORMATS:
        raise CeLossError(
            f"{option} must be one of {', '.join(FORMATS)}; got {fmt!r}", source=option
        )
    return f


def _is_pickle(head: bytes) -> bool:
    # protocol 2 and later start with PROTO (0x80) and the protocol number
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def _pickle_error(name: str) -> CeLossError:
    return _error(
        name, "",
        "is a Python pickle, not a NumPy array file; ce-loss never unpickles data, since "
        "unpickling can run arbitrary code",
        hint="save plain numbers with numpy.save(path, array.astype(float))",
    )


def _format(src: _Source, given: str | None) -> str:
    """The format of ``src``: its magic bytes, else as given, else its extension or content."""
    head = src.head(8)
    # binary magics are unambiguous, so they win over an extension or a stated format
    if head.startswith(_NPY_MAGIC):
        return "npy"
    if head[:4] in _ZIP_MAGICS:
        return "npz"
    if _is_pickle(head):
        raise _pickle_error(src.name)
    if given:
        return given
    if src.path is not None:
        ext = os.path.splitext(src.path)[1].lower()
        if ext in _EXTENSIONS:
            return _EXTENSIONS[ext]
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


def _decode(data: bytes, src: _Source, offset: int, line: int) -> str:
    """Text of ``data`` (found at byte ``offset``, line ``line`` of ``src``): UTF-8 with no NUL
    and ``\\n`` line ends, or an error naming the line of the first offending byte."""
    nul = data.find(b"\x00")
    try:
        text = data.decode("utf-8")
        bad = -1
    except UnicodeDecodeError as e:
        text, bad = "", e.start
    if nul >= 0 and (bad < 0 or nul < bad):
        raise _error(src.name, f"line {line + _breaks(data[:nul])}",
                     "a NUL byte; expected text (is this a binary file?)")
    if bad >= 0:
        raise _error(
            src.name, f"line {line + _breaks(data[:bad])}",
            f"byte 0x{data[bad]:02x} at offset {offset + bad} is not UTF-8 text; expected a "
            "text file",
        )
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _breaks(data: bytes) -> int:
    """Line ends in ``data``: ``\\n``, ``\\r\\n`` or ``\\r``."""
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def _skip_bom(data: bytes, src: _Source) -> int:
    if data.startswith(_BOM):
        return 3
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise _error(src.name, "", "is UTF-16 text; expected UTF-8",
                     hint="save the file as UTF-8")
    return 0


def _text(src: _Source) -> str:
    """The decoded text of a text file; refuses what is not UTF-8 text."""
    data = src.read()
    skip = _skip_bom(data, src)
    return _decode(data[skip:], src, skip, 1)


def _text_pieces(src: _Source, size: int | None = None):
    """The text of ``src`` as ``(number of its first line, text)`` pieces of whole lines, about
    ``size`` bytes each (default :data:`TEXT_PIECE`), checked as :func:`_text` checks the whole.

    A file is read a piece at a time, so a big table never sits in memory as text.
    """
    size = size or TEXT_PIECE
    with src.open() as f:
        start = f.read(3)
        skip = _skip_bom(start, src)
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
            text = _decode(data, src, offset, line)
            yield line, text
            offset += len(data)
            line += text.count("\n")
            if not block:
                return


# --------------------------------------------------------------------------------------------
# .npy


def _npy_header(f, label: str):
    """Parse an .npy header from ``f``; returns (dtype, shape, fortran_order, data offset)."""
    magic = f.read(8)
    if len(magic) < 8 or not magic.startswith(_NPY_MAGIC):
        if _is_pickle(magic):
            raise _pickle_error(label)
        if not magic:
            raise _error(label, "", "is empty; expected a NumPy .npy array")
        raise _error(label, "", "is not a NumPy .npy file (it does not start with \\x93NUMPY)")
    major = magic[6]
    if major == 1:
        fmt, size = "<H", 2
    elif major in (2, 3):
        fmt, size = "<I", 4
    else:
        raise _error(label, "", f".npy format version {major}.{magic[7]} is not supported; "
                     "expected 1.0, 2.0 or 3.0")
    raw = f.read(size)
    if len(raw) < size:
        raise _error(label, "", "is truncated inside its .npy header")
    (hlen,) = struct.unpack(fmt, raw)
    if hlen > MAX_NPY_HEADER:
        raise _error(label, "", f".npy header of {hlen} bytes is too long; expected at most "
                     f"{MAX_NPY_HEADER}")
    header = f.read(hlen)
    if len(header) < hlen:
        raise _error(label, "", "is truncated inside its .npy header")
    d = _parse_npy_header(header, major, label)
    offset = 8 + size + hlen
    return d[0], d[1], d[2], offset


def _parse_npy_header(header: bytes, major: int, label: str):
    import ast

    from numpy.lib import format as npformat

    bad = _error(label, "", "has a damaged .npy header; expected a dict of descr, "
                 "fortran_order and shape")
    try:
        text = header.decode("utf-8" if major >= 3 else "latin1")
        # a literal, never code: ast.literal_eval evaluates no names and no calls
        d = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise bad from None
    if not isinstance(d, dict) or not {"descr", "fortran_order", "shape"} <= d.keys():
        raise bad
    shape, fortran = d["shape"], d["fortran_order"]
    if (not isinstance(shape, tuple) or len(shape) > 64
            or not all(type(n) is int and n >= 0 for n in shape) or type(fortran) is not bool):
        raise bad
    try:
        dtype = npformat.descr_to_dtype(d["descr"])
    # SyntaxError: numpy parses a comma string descr (",<f8") with ast.literal_eval
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError,
            SyntaxError, OverflowError, MemoryError):
        raise bad from None
    return dtype, shape, fortran


def _check_dtype(dtype: np.dtype, label: str, strings: bool = False) -> None:
    if dtype.hasobject:
        raise _error(
            label, "",
            "holds Python objects (dtype object), which could only be read by unpickling; "
            "ce-loss never unpickles data",
            hint="save plain numbers, e.g. numpy.save(path, array.astype(float))",
        )
    kind = dtype.kind
    if kind in "biuf":
        return
    if strings and kind in "US":
        return
    what = {"c": "complex numbers", "U": "strings", "S": "byte strings", "V": "structured records",
            "M": "dates", "m": "time spans"}.get(kind, "values")
    raise _error(label, "", f"holds {what} (dtype {dtype}); expected real numbers")


def _array_extent(shape, dtype, have: int, label: str):
    count = math.prod(shape)
    nbytes = count * dtype.itemsize
    if have < nbytes:
        raise _error(
            label, "",
            f"is truncated: its header promises shape {tuple(shape)} of {dtype} "
            f"({nbytes} bytes of data) but only {max(have, 0)} bytes follow",
        )
    if have > nbytes:
        raise _error(
            label, "",
            f"has {have - nbytes} bytes after its array of shape {tuple(shape)}; expected the "
            f"data to end there (were several arrays saved into one file?)",
        )
    return count, nbytes


def _read_npy(src: _Source, mmap: bool) -> np.ndarray:
    name = src.name
    with src.open() as f:
        dtype, shape, fortran, offset = _npy_header(f, name)
        _check_dtype(dtype, name)
        total = f.seek(0, io.SEEK_END)
        count, nbytes = _array_extent(shape, dtype, total - offset, name)
        order = "F" if fortran else "C"
        if count == 0:
            return np.empty(shape, dtype=dtype, order=order)
        if mmap and src.regular and src.path is not None:
            try:
                return np.memmap(src.path, dtype=dtype, mode="r", offset=offset, shape=shape,
                                 order=order)
            except (OSError, ValueError):
                pass  # a file system without mmap: read it instead
        f.seek(offset)
        buf = f.read(nbytes)
    if len(buf) != nbytes:
        raise _error(name, "", "changed while it was read")
    return np.frombuffer(buf, dtype=dtype, count=count).reshape(shape, order=order)


# --------------------------------------------------------------------------------------------
# .npz


def _open_zip(src: _Source):
    import zipfile

    try:
        return zipfile.ZipFile(src.path if src.regular and src._data is None
                               else io.BytesIO(src.read()))
    except OSError as e:
        raise _os_error(src.name, e) from None
    except (zipfile.BadZipFile, EOFError, ValueError, struct.error, NotImplementedError,
            RuntimeError, OverflowError) as e:
        raise _error(src.name, "", f"is not a readable .npz archive ({e})") from None


def _npz_members(zf, name: str) -> dict:
    members = {}
    for info in zf.infolist():
        if info.is_dir():
            continue
        key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        members.setdefault(key, info)
    if not members:
        raise _error(name, "", "holds no arrays; expected an .npz archive of arrays")
    return members


# Stored (uncompressed) members of at least this many bytes, as np.savez writes them, are
# memory-mapped like an .npy file and streamed block by block; smaller ones, and compressed ones,
# are read whole, which also checks their CRC. (A mapped member's CRC is not checked: that would
# mean reading it all once more, 0.16 s per 400 MB here, more than computing its loss.)
NPZ_MAP_BYTES = 1 << 25


def _stored_data_start(path: str, info) -> int | None:
    """Where a stored member's bytes begin in the archive file (after its local header)."""
    try:
        with open(path, "rb") as f:
            f.seek(info.header_offset)
            head = f.read(30)
    except OSError:
        return None
    if len(head) != 30 or head[:4] != b"PK\x03\x04":
        return None
    name_len, extra_len = struct.unpack("<HH", head[26:30])
    return info.header_offset + 30 + name_len + extra_len


def _npz_array(zf, info, key: str, name: str, strings: bool = False,
               path: str | None = None) -> np.ndarray:
    """One member of an archive; memory-mapped when ``path`` is given and it is big and stored."""
    import zipfile
    import zlib

    label = f"{name} array {key!r}"
    try:
        with zf.open(info) as m:
            dtype, shape, fortran, offset = _npy_header(m, label)
            _check_dtype(dtype, label, strings=strings)
            count, nbytes = _array_extent(shape, dtype, info.file_size - offset, label)
            if (path is not None and nbytes >= NPZ_MAP_BYTES
                    and info.compress_type == zipfile.ZIP_STORED and not info.flag_bits & 1):
                start = _stored_data_start(path, info)
                if start is not None:
                    try:
                        return np.memmap(path, dtype=dtype, mode="r", offset=start + offset,
                                         shape=shape, order="F" if fortran else "C")
                    except (OSError, ValueError):
                        pass  # past the end of a damaged file, or no mmap: read it instead
            buf = m.read(nbytes)
            if len(buf) != nbytes:
                raise _error(label, "", f"is truncated: {len(buf)} of {nbytes} bytes of data")
            m.read()  # to the end of the member, where zipfile checks its CRC
    except CeLossError as e:
        e.source = name
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError,
            ValueError, struct.error, OverflowError) as e:
        why = str(e) or ("it ends early" if isinstance(e, EOFError) else type(e).__name__)
        raise CeLossError(f"{label} cannot be read; the archive is damaged ({why})",
                          source=name) from None
    return np.frombuffer(buf, dtype=dtype, count=count).reshape(
        shape, order="F" if fortran else "C")


def _pick(keys, given, conventional, exclude=None):
    if given is not None:
        return given if given in keys else None
    for k in conventional:
        if k in keys and k != exclude:
            return k
    return None


def _select(keys, data_keys, name: str, what: str, role: str, pred_key, target_key,
            own_target):
    """The keys of the predictions and the targets in a container (.npz or JSON object).

    ``keys`` are all its keys, ``data_keys`` those that may hold numbers (not class names).
    """
    keys = list(keys)
    for given, option in ((pred_key, "pred key"), (target_key, "target key")):
        if given is not None and given not in keys and (role == "pred" or option == "target key"):
            raise _error(name, "", f"has no {what} named {given!r} (the {option}); it holds "
                         f"{_names_list(keys) or 'nothing'}")
    data_keys = [k for k in data_keys if k in keys]
    for given in (pred_key, target_key):
        if given is not None and given not in data_keys:
            data_keys.append(given)
    pk = None
    if role == "pred":
        pk = _pick(data_keys, pred_key, PRED_KEYS, exclude=target_key)
        if pk is None:
            if len(data_keys) == 1:
                pk = data_keys[0]
            elif not data_keys:
                raise _error(name, "", f"holds no {what} of predictions; expected one named "
                             f"{_names_list(PRED_KEYS, 20)}")
            else:
                raise _error(
                    name, "",
                    f"holds the {what}s {_names_list(data_keys)}; expected the predictions "
                    f"under one of {_names_list(PRED_KEYS, 20)}",
                    hint="name the predictions with --pred-key",
                )
        if not own_target:
            return pk, None
    tk = _pick(data_keys, target_key, TARGET_KEYS, exclude=pk)
    if tk is None:
        rest = [k for k in data_keys if k != pk]
        if role == "target" and len(rest) == 1:
            return pk, rest[0]
        if role == "pred" and not rest:
            raise _error(
                name, "",
                f"holds one {what} ({pk!r}) and no targets; expected a TARGET file too",
                hint=f"or store the labels in the same file as {TARGET_KEYS[0]!r}",
            )
        raise _error(
            name, "",
            f"holds the {what}s {_names_list(data_keys)}; expected the targets under one of "
            f"{_names_list(TARGET_KEYS)}",
            hint="name the targets with --target-key" + (", or give a TARGET file"
                                                        if role == "pred" else ""),
        )
    return pk, tk


def _map_names(values, names, label: str) -> np.ndarray:
    """Class-name strings to their indices in ``names``."""
    lookup = {}
    for i, n in enumerate(names):
        lookup.setdefault(n, i)
    flat = np.asarray(values).ravel().tolist()
    out = np.empty(len(flat), dtype=np.int64)
    for i, v in enumerate(flat):
        s = v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
        j = lookup.get(s.strip())
        if j is None:
            idx = np.unravel_index(i, np.shape(values)) if np.ndim(values) else ()
            where = "".join(f"[{int(k)}]" for k in idx)
            raise CeLossError(
                f"{label}{where}: {_show(s)} is not a class name; expected one of "
                f"{_names_list(names)}",
                source=label.split(" ")[0],
            )
        out[i] = j
    return out.reshape(np.shape(values))


def _class_names_array(arr: np.ndarray, label: str) -> list[str]:
    if arr.ndim != 1 or arr.dtype.kind not in "US":
        raise _error(label, "", f"has shape {arr.shape} and dtype {arr.dtype}; expected a 1-D "
                     "array of class names (strings)")
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in arr.tolist()]


def _read_npz(src, fmt, *, role, pred_key=None, target_key=None, own_target=False, names=None,
              mmap=True, **_):
    name = src.name
    if not src.head(4):
        raise CeLossError(f"{name} is empty; expected an .npz archive of arrays", source=name)
    part = _Part()
    path = src.path if mmap and src.regular and src._data is None else None
    with _open_zip(src) as zf:
        members = _npz_members(zf, name)
        # "classes" holds class names when it holds strings; else it may hold the targets
        names_key = None
        for ck in CLASS_NAME_KEYS:
            if ck in members and ck not in (pred_key, target_key):
                arr = _npz_array(zf, members[ck], ck, name, strings=True)
                if arr.dtype.kind in "US":
                    names_key = ck
                    if role == "pred":
                        part.class_names = _class_names_array(arr, f"{name} array {ck!r}")
                    break
                if ck == "class_names":
                    raise _error(name, f"array {ck!r}", f"holds {arr.dtype} numbers; expected "
                                 "class names (strings)")
        data_keys = [k for k in members if k != names_key]
        pk, tk = _select(members, data_keys, name, "array", role, pred_key, target_key,
                         own_target)
        if pk is not None:
            part.pred = _npz_array(zf, members[pk], pk, name, path=path)
        if role == "pred":
            names = part.class_names
        if tk is not None:
            t = _npz_array(zf, members[tk], tk, name, strings=names is not None,
                           path=None if names is not None else path)
            if t.dtype.kind in "US":
                t = _map_names(t, names, f"{name} array {tk!r}")
            part.target = t
    return part


# --------------------------------------------------------------------------------------------
# CSV, TSV and whitespace-separated text


def _is_data(line: str) -> bool:
    """A line of a table that holds cells: not blank, not a # comment."""
    return bool(line.strip()) and line.lstrip()[0] != "#"


def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def _cells(line: str, delim: str | None, name: str, lineno: int) -> list[str]:
    if '"' in line:
        import csv

        try:
            return next(csv.reader([line.strip() if delim is None else line],
                                   delimiter=delim or " ", skipinitialspace=True))
        except (csv.Error, StopIteration) as e:
            raise _error(name, f"line {lineno}",
                         f"cannot split the line into cells ({e})") from None
    if delim is None:
        return line.split()
    return line.split(delim)


def _header_row(cells, label_idx, names) -> bool:
    """Whether the first row is a header: a cell that cannot be data."""
    for j, c in enumerate(cells):
        if _is_number(c):
            continue
        if j == label_idx:
            if names is None and len(cells) > 1:
                continue  # a class name in a file that names no classes: still data
            if names is not None and c.strip() in names:
                continue
        return True
    return False


def _find_column(head, wanted: str, name: str, lineno: int) -> int:
    hits = [j for j, h in enumerate(head) if h == wanted]
    if not hits:
        hits = [j for j, h in enumerate(head) if h.lower() == wanted.lower()]
    if not hits:
        raise _error(name, f"line {lineno}", f"no column named {wanted!r}; the columns are "
                     f"{_names_list(head, 30)}")
    if len(hits) > 1:
        raise _error(name, f"line {lineno}", f"{len(hits)} columns are named {wanted!r} "
                     f"(columns {', '.join(str(j + 1) for j in hits)}); give the target "
                     "column by its 0-based index")
    return hits[0]


def _table_layout(head, name, first_no, role, target_column, own_target, names):
    """(index of the target column or None, whether the first row is a header) of a table."""
    ncols = len(head)
    label_idx = None
    tc = target_column
    if isinstance(tc, str):
        try:
            tc = int(tc.strip())
        except ValueError:
            tc = tc.strip()
    if isinstance(tc, str):
        header = _header_row(head, None, None) or tc in [h.strip() for h in head]
        if not header:
            raise _error(name, "", f"has no header row, so there is no column named {tc!r}; "
                         "give the target column by its 0-based index")
        label_idx = _find_column([h.strip() for h in head], tc, name, first_no)
    elif tc is not None:
        if isinstance(tc, bool) or not isinstance(tc, (int, np.integer)):
            raise CeLossError(f"target_column must be a column name or index; got {tc!r}",
                              source="target_column")
        idx = int(tc) + ncols if tc < 0 else int(tc)
        if not 0 <= idx < ncols:
            raise _error(name, f"line {first_no}",
                         f"target column {int(tc)} is out of range; the file has {ncols} "
                         f"column{'s' if ncols != 1 else ''} (0..{ncols - 1}, or -1 for the last)")
        label_idx = idx
        header = _header_row(head, label_idx, names)
    elif role == "target" and ncols == 1:
        label_idx = 0
        header = _header_row(head, 0, names)
    else:
        header = _header_row(head, None, None)
        if header and role == "pred" and ncols > 1:
            found = [j for j, h in enumerate(head) if h.strip().lower() in LABEL_COLUMNS]
            if len(found) > 1:
                raise _error(
                    name, f"line {first_no}",
                    f"several columns could hold the targets "
                    f"({', '.join(repr(head[j].strip()) for j in found)}); expected one",
                    hint="choose one with --target-column",
                )
            if found and not own_target:
                raise _error(
                    name, f"line {first_no}",
                    f"has a label column {head[found[0]].strip()!r} and a TARGET file was "
                    "given too; expected one source of targets",
                    hint="drop the column, or leave out the TARGET file to use it",
                )
            if found:
                label_idx = found[0]
    if role == "pred" and label_idx is not None and ncols == 1:
        raise _error(name, "", "has only the target column; expected prediction columns too")
    return label_idx, header


def _read_table(src, fmt, *, role, target_column=None, own_target=False, names=None, **_):
    """Read a table of numbers; ``role`` is "pred", "target" or "vector".

    The text is parsed a piece at a time (:func:`_text_pieces`) into arrays allocated once, so
    the memory a big table needs is its float64 values, not its text and cells.
    """
    name = src.name
    sep = {"tsv": "tabs"}.get(fmt, "commas")
    room = _count_lines(src)
    pieces = _text_pieces(src)
    first = first_no = None
    for start_no, text in pieces:
        lines = text.split("\n")
        for k, line in enumerate(lines):
            if _is_data(line):
                first, first_no = line, start_no + k
                break
        if first is not None:
            break
    if first is None:
        raise CeLossError(f"{name} is empty; expected rows of numbers separated by {sep}",
                          source=name)
    if fmt == "tsv":
        delim = "\t"
    elif "," in first:
        delim = ","
    elif "\t" in first:
        delim = "\t"
    elif len(first.split()) > 1:
        delim = None  # whitespace, as numpy.savetxt writes by default
    else:
        delim = ","
    head = _cells(first, delim, name, first_no)
    ncols = len(head)

    label_idx, header = _table_layout(head, name, first_no, role, target_column, own_target,
                                      names)
    head_names = [h.strip() for h in head] if header else None
    part = _Part()
    if role == "pred" and header and ncols - (label_idx is not None) > 1:
        cols = [j for j in range(ncols) if j != label_idx]
        for j in cols:
            if not head_names[j]:
                raise _error(name, f"line {first_no}, column {j + 1}",
                             "the header names no class here; expected a name for every column",
                             hint="a pandas index column? save with index=False")
        part.class_names = [head_names[j] for j in cols]
        names = part.class_names

    width = ncols - (label_idx is not None)
    only_labels = role == "target" and label_idx is not None
    # rows are at most the lines left: one allocation, trimmed at the end
    room = max(1, room - first_no + (not header))
    values = None if only_labels else np.empty((room, width), dtype=np.float64)
    labels = np.empty(room, dtype=np.float64) if label_idx is not None else None
    all_named = True  # every label a class name: the targets are int64 indices
    table = _Table(name, delim, ncols, label_idx, head_names, first_no, names)
    n = 0
    # the rest of the piece holding the first row (with that row itself when it is data)
    rest = lines[k + 1:] if header else lines[k:]
    rest_no = first_no + 1 if header else first_no
    from itertools import chain

    for start_no, piece in chain([(rest_no, rest)], ((no, t.split("\n")) for no, t in pieces)):
        v, lab = table.parse(piece, start_no, want_values=not only_labels)
        m = len(v) if v is not None else len(lab)
        if n + m > room:  # cannot happen for a file that did not change while being read
            raise _error(name, "", "changed while ce-loss was reading it")
        if values is not None:
            values[n:n + m] = v
        if labels is not None:
            labels[n:n + m] = lab
            all_named = all_named and (lab.dtype == np.int64 or not m)
        n += m
    if not n:
        raise _error(name, f"line {first_no}", "a header row and no data after it; expected "
                     f"rows of numbers separated by {sep}")
    if labels is not None:
        labels = _trim(labels, n)
        if all_named:
            labels = labels.astype(np.int64)
    if only_labels:
        part.target = labels
        return part
    values = _trim(values, n)
    if width == 1:
        values = values[:, 0]
    if role == "target":
        part.target = values
    else:
        part.pred = values
        part.target = labels
    return part


def _trim(a: np.ndarray, n: int) -> np.ndarray:
    """The first ``n`` rows of ``a``, copied when that frees much (blank and comment lines)."""
    if n == len(a):
        return a
    return a[:n].copy() if n < 0.9 * len(a) else a[:n]


def _count_lines(src: _Source) -> int:
    """The lines of the text ``src``, read a piece at a time: the rows to make room for.

    This pass also checks the whole text (UTF-8, no NUL byte) before any cell is read, so such
    a problem is reported wherever it is, as when the file is read whole.
    """
    return 1 + sum(text.count("\n") for _, text in _text_pieces(src))


class _Table:
    """Turns pieces of a table's lines into float64 values and targets, checking every cell."""

    def __init__(self, name, delim, ncols, label_idx, head_names, first_no, names):
        self.name, self.delim, self.ncols = name, delim, ncols
        self.label_idx, self.head_names, self.first_no = label_idx, head_names, first_no
        self.names = names
        self.width = ncols - (label_idx is not None)

    def parse(self, lines, start_no: int, want_values: bool = True):
        """(values of shape (rows, width) or None, targets or None) of ``lines`` (the first is
        line ``start_no`` of the file); blank and comment lines are skipped."""
        name, delim, ncols, label_idx = self.name, self.delim, self.ncols, self.label_idx
        data_nos = [start_no + i for i, line in enumerate(lines) if _is_data(line)]
        data = [lines[no - start_no] for no in data_nos]
        if delim is None or any('"' in line for line in data):
            from itertools import chain

            rows = [_cells(line, delim, name, no) for line, no in zip(data, data_nos)]
            counts = [len(r) for r in rows]
            flat = list(chain.from_iterable(rows))
        else:
            counts = [line.count(delim) + 1 for line in data]
            flat = delim.join(data).split(delim) if data else []
        if counts.count(ncols) != len(counts):
            r = next(k for k, c in enumerate(counts) if c != ncols)
            # the first problem in the file is the one reported: a bad cell above comes first
            self.parse(lines[:data_nos[r] - start_no], start_no, want_values)
            raise _error(name, f"line {data_nos[r]}",
                         f"{counts[r]} cells, expected {ncols} like line {self.first_no}")

        head_names = self.head_names

        def where(row: int, col: int) -> str:
            w = f"line {data_nos[row]}, column {col + 1}"
            return f"{w} ({head_names[col]!r})" if head_names else w

        cells = None
        if label_idx is not None:
            cells = flat[label_idx::ncols]
            if want_values:
                del flat[label_idx::ncols]
            else:
                flat = []
        try:
            values = np.array(flat, dtype=np.float64)
            labels = None
            if cells is not None:
                labels = _table_labels(cells, self.names, where, label_idx, name)
        except (ValueError, CeLossError):
            # find the first bad cell in file order (raises), else numpy refused what Python's
            # float accepts: parse them one by one
            width = self.width if want_values else 0
            for r in range(len(data)):
                for j in range(ncols):
                    if j == label_idx:
                        _table_labels(cells[r:r + 1], self.names,
                                      lambda _row, col, r=r: where(r, col), j, name)
                    elif width:
                        cell = flat[r * width + j - (label_idx is not None and j > label_idx)]
                        if not _is_number(cell):
                            what = ("an empty cell; expected a number" if not cell.strip()
                                    else f"{_show(cell.strip())} is not a number")
                            raise _error(name, where(r, j), what)
            values = np.array([float(c) for c in flat], dtype=np.float64)
            labels = None
            if cells is not None:
                labels = _table_labels(cells, self.names, where, label_idx, name)
        if not want_values:
            return None, labels
        return values.reshape(len(data), self.width), labels


def _table_labels(cells, names, where, col: int, name: str) -> np.ndarray:
    """Numbers stay numbers (float64); class names become their indices (int64 if all are)."""
    try:
        return np.array(cells, dtype=np.float64)
    except ValueError:
        pass
    lookup = {}
    for i, n in enumerate(names or ()):
        lookup.setdefault(n, i)
    out = np.empty(len(cells), dtype=np.float64)
    mapped = 0
    for r, cell in enumerate(cells):
        s = cell.strip()
        try:
            out[r] = float(s)
            continue
        except ValueError:
            pass
        j = lookup.get(s)
        if j is None:
            if not s:
                what = "an empty cell; expected a class"
            elif names:
                what = (f"{_show(s)} is not a class name; expected a class index or one of "
                        f"{_names_list(names)}")
            else:
                what = f"{_show(s)} is not a number; expected a class index"
            hint = None if names else "a header row over the prediction columns names the classes"
            raise _error(name, where(r, col), what, hint=hint)
        out[r] = j
        mapped += 1
    return out.astype(np.int64) if mapped == len(cells) else out


# --------------------------------------------------------------------------------------------
# JSON and JSON Lines


def _describe(v) -> str:
    import json

    t = type(v)
    if t is str:
        return f"{json.dumps(v if len(v) <= 40 else v[:40] + '...')} is a string"
    if t is bool:
        return f"{'true' if v else 'false'} is a boolean"
    if v is None:
        return "null"
    if t is dict:
        return "an object"
    if t is list:
        return "a list"
    return "a number"


def _json_fail(prefix: str, idx, what: str) -> CeLossError:
    """An error at ``prefix[i][j]...``; the reader sets ``source`` to the file name."""
    at = (prefix + "".join(f"[{i}]" for i in idx)).rstrip()
    return CeLossError(f"{at}: {what}")


def _json_shape(v, prefix: str) -> tuple:
    """The shape that the first items of ``v`` promise, without recursion."""
    shape = []
    while type(v) is list:
        if len(shape) == MAX_DIMS:
            raise _json_fail(prefix, (), f"lists nested more than {MAX_DIMS} deep; expected an "
                             f"array of at most {MAX_DIMS} dimensions")
        shape.append(len(v))
        if not v:
            break
        v = v[0]
    return tuple(shape)


_NUMBER_TYPES = frozenset((int, float))


def _items(n: int) -> str:
    return f"{n} item{'s' if n != 1 else ''}"


def _json_check(v, shape, prefix, idx, names, state, like=""):
    """Raise unless ``v`` is nested lists of exactly ``shape`` holding numbers.

    Class names (strings) are replaced in place by their indices when ``names`` (a dict of
    name -> index) is given; ``state[0]`` becomes True once a float is seen. Returns ``v``, or
    the index that replaces a lone class name. Recursion is bounded by ``len(shape)``.
    """
    if not shape:
        t = type(v)
        if t is int or t is float:
            state[0] = state[0] or t is float
            return v
        if t is str and names is not None:
            return _json_name(v, names, prefix, idx)
        if t is list:
            raise _json_fail(prefix, idx, f"a list, expected a number{like}")
        raise _json_fail(prefix, idx, f"{_describe(v)}, expected a number")
    if type(v) is not list:
        raise _json_fail(prefix, idx,
                         f"{_describe(v)}, expected a list of {_items(shape[0])}{like}")
    if len(v) != shape[0]:
        raise _json_fail(prefix, idx, f"{_items(len(v))}, expected {shape[0]}{like}")
    if len(shape) == 1:
        kinds = set(map(type, v))
        if float in kinds:
            state[0] = True
        if kinds <= _NUMBER_TYPES:
            return v
        for i, x in enumerate(v):
            t = type(x)
            if t is int or t is float:
                continue
            if t is str and names is not None:
                v[i] = _json_name(x, names, prefix, idx + [i])
                continue
            what = (f"a list, expected a number{like}" if t is list
                    else f"{_describe(x)}, expected a number")
            raise _json_fail(prefix, idx + [i], what)
        return v
    rest = shape[1:]
    for i, x in enumerate(v):
        _json_check(x, rest, prefix, idx + [i], names, state, like)
    return v


def _json_name(s: str, names: dict, prefix, idx) -> int:
    j = names.get(s.strip())
    if j is None:
        raise _json_fail(prefix, idx, f"{_describe(s)} but not a class name; expected a "
                         f"number or one of {_names_list(names)}")
    return j


def _name_lookup(names) -> dict | None:
    if names is None:
        return None
    lookup = {}
    for i, n in enumerate(names):
        lookup.setdefault(n, i)
    return lookup


def _to_array(v, prefix: str, state, integer: bool) -> np.ndarray:
    if integer and not state[0]:
        try:
            return np.array(v, dtype=np.int64)
        except OverflowError:
            pass  # integers beyond int64: as floats, which the core then checks
    try:
        return np.array(v, dtype=np.float64)
    except OverflowError:
        raise _json_fail(prefix, (), "a number too large for a float") from None


def _json_array(v, prefix: str, names=None, integer=False) -> np.ndarray:
    shape = _json_shape(v, prefix)
    state = [False]
    v = _json_check(v, shape, prefix, [], _name_lookup(names), state)
    return _to_array(v, prefix, state, integer)


def _json_class_names(doc: dict, name: str):
    """(class names, their key) of a JSON object: "class_names", or "classes" of strings."""
    for key in CLASS_NAME_KEYS:
        if key not in doc:
            continue
        v = doc[key]
        strings = type(v) is list and all(type(s) is str for s in v)
        if strings and v:
            return [s.strip() for s in v], key
        if key == "class_names":
            raise _error(name, key, "expected a list of class names (strings)")
    return None, None


def _json_load(text: str, label: str, hint_lines: bool = False):
    import json

    try:
        return json.loads(text)
    except RecursionError:
        raise _error(label, "", f"JSON nested too deeply; expected arrays of at most "
                     f"{MAX_DIMS} dimensions") from None
    except json.JSONDecodeError as e:
        hint = None
        if hint_lines and e.msg == "Extra data":
            hint = "one JSON value per line is JSON Lines: name the file .jsonl"
        raise _error(label, f"line {e.lineno}, column {e.colno}",
                     f"not valid JSON ({e.msg})", hint=hint) from None
    except ValueError as e:  # e.g. an integer of more than 4300 digits
        raise _error(label, "", f"not valid JSON ({e})") from None


def _sourced(reader):
    """Set ``source`` of the errors a JSON reader raises to the file's name."""

    def wrapped(src, fmt, **kw):
        try:
            return reader(src, fmt, **kw)
        except CeLossError as e:
            if e.source is None:
                e.source = src.name
            raise

    wrapped.__doc__ = reader.__doc__
    return wrapped


@_sourced
def _read_json(src, fmt, *, role, pred_key=None, target_key=None, own_target=False, names=None,
               **_):
    name = src.name
    text = _text(src)
    if not text.strip():
        raise CeLossError(f"{name} is empty; expected a JSON list of numbers or an object",
                          source=name)
    doc = _json_load(text, name, hint_lines=True)
    part = _Part()
    if type(doc) is dict:
        if role == "vector":
            raise _error(name, "", "an object; expected a list of numbers")
        class_names, names_key = _json_class_names(doc, name)
        if role == "pred":
            part.class_names = names = class_names
        data_keys = [k for k in doc if k != names_key]
        pk, tk = _select(doc.keys(), data_keys, name, "key", role, pred_key, target_key,
                         own_target)
        if pk is not None:
            part.pred = _json_array(doc[pk], f"{name} {pk}")
        if tk is not None:
            part.target = _json_array(doc[tk], f"{name} {tk}", names, integer=True)
        return part
    if type(doc) not in (list, int, float):
        raise _error(name, "", f"{_describe(doc)}; expected a list of numbers or an object")
    if role == "target":
        part.target = _json_array(doc, f"{name} ", names, integer=True)
    else:
        part.pred = _json_array(doc, f"{name} ")
    return part


@_sourced
def _read_jsonl(src, fmt, *, role, pred_key=None, target_key=None, own_target=False,
                names=None, **_):
    import json

    name = src.name
    text = _text(src)
    lines = text.split("\n")
    nos = [i for i, line in enumerate(lines) if line.strip()]
    if not nos:
        raise CeLossError(f"{name} is empty; expected one JSON list or object per line",
                          source=name)
    docs = None
    try:  # one parse of all lines; line by line only to say where an error is
        docs = json.loads("[" + ",".join(lines[i] for i in nos) + "]")
        if len(docs) != len(nos):  # a line held two values
            docs = None
    except (ValueError, RecursionError):
        pass
    if docs is None:
        docs = []
        for i in nos:
            try:
                docs.append(json.loads(lines[i]))
            except RecursionError:
                raise _error(name, f"line {i + 1}", "JSON nested too deeply") from None
            except json.JSONDecodeError as e:
                raise _error(name, f"line {i + 1}",
                             f"not valid JSON ({e.msg} at column {e.colno})") from None
            except ValueError as e:
                raise _error(name, f"line {i + 1}", f"not valid JSON ({e})") from None
    first = nos[0] + 1
    part = _Part()
    if type(docs[0]) is dict:
        pk, tk = _select(docs[0].keys(), docs[0].keys(), f"{name} line {first}", "key", role,
                         pred_key, target_key, own_target)
        preds, targets = [], []
        for i, d in zip(nos, docs):
            if type(d) is not dict:
                raise _error(name, f"line {i + 1}",
                             f"{_describe(d)}, expected an object like line {first}")
            for k, out in ((pk, preds), (tk, targets)):
                if k is None:
                    continue
                if k not in d:
                    raise _error(name, f"line {i + 1}",
                                 f"no {k!r} key; expected one like line {first}")
                out.append(d[k])
        if pk is not None:
            part.pred = _json_rows(preds, nos, name, f" {pk}", None, False)
        if tk is not None:
            part.target = _json_rows(targets, nos, name, f" {tk}", names, True)
        return part
    for i, d in zip(nos, docs):
        if type(d) is dict:
            raise _error(name, f"line {i + 1}",
                         f"an object, expected a list or a number like line {first}")
    if role == "target":
        part.target = _json_rows(docs, nos, name, "", names, True)
    else:
        part.pred = _json_rows(docs, nos, name, "", None, False)
    return part


def _json_rows(rows, nos, name: str, key: str, names, integer: bool) -> np.ndarray:
    """Stack one value per line into an array; every line must have the first line's shape."""
    shape = _json_shape(rows[0], f"{name} line {nos[0] + 1}{key}")
    like = f" like line {nos[0] + 1}"
    lookup = _name_lookup(names)
    state = [False]
    for r, (v, i) in enumerate(zip(rows, nos)):
        rows[r] = _json_check(v, shape, f"{name} line {i + 1}{key}", [], lookup, state, like)
    return _to_array(rows, name, state, integer)


# --------------------------------------------------------------------------------------------
# Entry points


def _read_npy_part(src, fmt, *, role, mmap=True, **_):
    arr = _read_npy(src, mmap)
    return _Part(target=arr) if role == "target" else _Part(pred=arr)


_READERS = {
    "npy": _read_npy_part,
    "npz": _read_npz,
    "csv": _read_table,
    "tsv": _read_table,
    "json": _read_json,
    "jsonl": _read_jsonl,
}


def _check_applies(name: str, fmt: str, *, key=None, key_option="", column=None) -> None:
    if key is not None and fmt not in ("npz", "json", "jsonl"):
        raise _error(name, "", f"is {_KIND[fmt]}, which has no named arrays; "
                     f"the {key_option} applies to .npz, .json and .jsonl files")
    if column is not None and fmt not in ("csv", "tsv"):
        raise _error(name, "", f"is {_KIND[fmt]}, which has no columns; the target "
                     "column applies to CSV and TSV files")


def _nonempty_stdin(src: _Source) -> None:
    if src.path is None and not src.read().strip():
        raise CeLossError(f"{STDIN_NAME} is empty; expected data piped or redirected in",
                          source=STDIN_NAME)


def load(
    pred: str,
    target: str | None = None,
    *,
    pred_format: str | None = None,
    target_format: str | None = None,
    pred_key: str | None = None,
    target_key: str | None = None,
    target_column: str | int | None = None,
    stdin=None,
    mmap: bool = True,
) -> Loaded:
    """Read the predictions, and the targets, of one run.

    ``pred`` and ``target`` are paths, or ``"-"`` for standard input (``stdin``, by default
    ``sys.stdin.buffer``; at most one of them). Formats come from the file's magic bytes, else
    ``pred_format``/``target_format``, else the extension, else the content. Without ``target``
    the targets come from the prediction file itself: the ``target_key`` array (or one named
    ``labels``, ``targets``, ...) of an .npz or JSON object, or the ``target_column`` (a header
    name or 0-based index; by default a column named ``label``, ``target``, ``y``, ...) of a
    table. With ``target``, ``target_key``/``target_column`` select within that file.

    Returns a :class:`Loaded`; ``target`` is ``None`` when the file holds no targets.
    Raises :class:`CeLossError` for anything it cannot read.

    >>> import io, numpy as np
    >>> r = load("-", stdin=io.BytesIO(b"a,b,label\\n1,2,b\\n3,4,a\\n"))
    >>> r.pred.shape, r.target.tolist(), r.class_names
    ((2, 2), [1, 0], ['a', 'b'])
    """
    pf = _check_format(pred_format, "pred_format")
    tf = _check_format(target_format, "target_format")
    if pred == "-" and target == "-":
        raise CeLossError(
            f"{STDIN_NAME}: the predictions and the targets cannot both come from standard "
            "input; expected one of them as a file",
            source=STDIN_NAME,
        )
    psrc = _Source(pred, stdin)
    _nonempty_stdin(psrc)
    fmt = _format(psrc, pf)
    own = target is None
    _check_applies(psrc.name, fmt, key=pred_key, key_option="pred key")
    if own:
        _check_applies(psrc.name, fmt, key=target_key, key_option="target key",
                       column=target_column)
    part = _READERS[fmt](
        psrc, fmt, role="pred", pred_key=pred_key, target_key=target_key if own else None,
        target_column=target_column if own else None, own_target=own, mmap=mmap,
    )
    target_arr, target_name = part.target, (psrc.name if part.target is not None else None)
    if not own:
        tsrc = _Source(target, stdin)
        _nonempty_stdin(tsrc)
        tfmt = _format(tsrc, tf)
        _check_applies(tsrc.name, tfmt, key=target_key, key_option="target key",
                       column=target_column)
        tpart = _READERS[tfmt](
            tsrc, tfmt, role="target", target_key=target_key, target_column=target_column,
            names=part.class_names, mmap=mmap,
        )
        target_arr, target_name = tpart.target, tsrc.name
    return Loaded(
        pred=part.pred,
        target=target_arr,
        pred_name=psrc.name,
        target_name=target_name,
        class_names=part.class_names,
        pred_format=fmt,
    )


def read_vector(spec: str, option: str) -> np.ndarray:
    """The numbers of ``--weight``/``--pos-weight``: ``"0.6,0.38"`` or a file holding them.

    Files: ``.npy`` or ``.json`` (any shape), ``.csv``/``.tsv``/``.txt`` (one row or one
    column). Returns a float64 array of at least one dimension. Errors start with ``option``:
    ``--weight: '0.6,x' item 2 'x' is not a number``.

    >>> read_vector("0.6, 0.38", "--weight").tolist()
    [0.6, 0.38]
    """
    source = option.lstrip("-").replace("-", "_") or option
    if not isinstance(spec, str):
        try:
            return np.atleast_1d(np.asarray(spec, dtype=np.float64))
        except (TypeError, ValueError):
            raise CeLossError(f"{option}: {spec!r} is not a list of numbers",
                              source=source) from None
    s = spec.strip()
    if not s:
        raise CeLossError(f"{option}: no value; expected numbers separated by commas "
                          "(e.g. 0.6,0.38) or a file", source=source)
    items = s.split(",")
    values, bad = [], None
    for i, item in enumerate(items, 1):
        try:
            values.append(float(item))
        except ValueError:
            bad = (i, item.strip())
            break
    if bad is None:
        return np.array(values, dtype=np.float64)
    if os.path.exists(spec):
        try:
            return _vector_file(spec)
        except CeLossError as e:
            raise CeLossError(f"{option}: {e.message}", source=source, hint=e.hint) from None
    ext = os.path.splitext(s)[1].lower()
    if "/" in s or os.sep in s or ext in _EXTENSIONS:
        raise CeLossError(f"{option}: no such file {spec!r}", source=source)
    if len(items) == 1:
        raise CeLossError(f"{option}: {s!r} is not a number, and no file has that name; "
                          "expected numbers separated by commas or a file", source=source)
    i, item = bad
    what = "is empty" if not item else f"{item!r} is not a number"
    raise CeLossError(f"{option}: {s!r} item {i} {what}", source=source)


def _vector_file(path: str) -> np.ndarray:
    src = _Source(path)
    fmt = _format(src, None)
    if fmt == "npy":
        arr = _read_npy(src, mmap=False)
    elif fmt in ("csv", "tsv"):
        arr = _read_table(src, fmt, role="vector").pred
        if arr.ndim == 2:
            if arr.shape[0] > 1 and arr.shape[1] > 1:
                raise _error(path, "", f"has {arr.shape[0]} rows of {arr.shape[1]} numbers; "
                             "expected one row or one column")
            arr = arr.ravel()
    elif fmt == "json":
        arr = _read_json(src, fmt, role="vector").pred
    else:
        raise _error(path, "", f"is {_KIND[fmt]}; expected .npy, .csv, .txt or .json")
    return np.atleast_1d(np.asarray(arr, dtype=np.float64))
