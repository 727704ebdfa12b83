"""``.npz`` archives: their members, class names and string labels among them.

Big members are read a block of rows at a time (:mod:`ce_cli.readers.rows`): stored ones in
place, compressed ones through the decompressor (a member declaring 4 GB of zeros in 17 MB takes
the memory of a few blocks, not 4 GB); small ones are read whole, which checks their CRC."""

from __future__ import annotations

import io
import math
import os
import struct
from typing import Any

import numpy as np

from ..errors import CeLossError
from .keys import CLASS_NAME_KEYS, ClassNames, select
from .messages import error_at, file_error, show
from .npy import Header, array_extent, check_dtype, read_header
from .request import Part, Request
from .source import Source, os_error


def read_npz(src: Source, fmt: str, req: Request) -> Part:
    """The predictions (with class names) or the targets of an .npz archive."""
    name = src.name
    if not src.head(4):
        raise file_error(name, "is empty; expected an .npz archive of arrays")
    part = Part()
    lazy = src if req.lazy else None
    names = req.names
    with _open_zip(src) as zf:
        members = _members(zf, name)
        names_key, found = _class_names(zf, members, name, req)
        if req.role == "pred" and found is not None:
            part.class_names = found
        data_keys = [k for k in members if k != names_key]
        pk, tk = select(members, data_keys, name, "array", req)
        if pk is not None:
            part.pred = _array(zf, members[pk], pk, name, lazy=lazy, block_bytes=req.block_bytes)
        if req.role == "pred":
            names = None if part.class_names is None else ClassNames(part.class_names)
        if tk is not None:
            t = _array(
                zf,
                members[tk],
                tk,
                name,
                strings=names is not None,
                lazy=None if names is not None else lazy,
                block_bytes=req.block_bytes,
            )
            if t.dtype.kind in "US":
                assert names is not None  # strings are read only when there are names
                t = _label_indices(t, names, name, tk)
            part.target = t
    return part


def _open_zip(src: Source):
    import zipfile

    try:
        return zipfile.ZipFile(
            src.path if src.unread and src.path is not None else io.BytesIO(src.read())
        )
    except OSError as e:
        raise os_error(src.name, e) from None
    except (
        zipfile.BadZipFile,
        EOFError,
        ValueError,
        struct.error,
        NotImplementedError,
        RuntimeError,
        OverflowError,
    ) as e:
        raise file_error(src.name, f"is not a readable .npz archive ({e})") from None


def _members(zf, name: str) -> dict[str, Any]:
    members: dict[str, Any] = {}
    for info in zf.infolist():
        if info.is_dir():
            continue
        key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        members.setdefault(key, info)
    if not members:
        raise file_error(name, "holds no arrays; expected an .npz archive of arrays")
    return members


def _class_names(zf, members: dict, name: str, req: Request) -> tuple[str | None, list | None]:
    """(key, names) of the member naming the classes: "class_names", or "classes" of strings.

    A "classes" of numbers may hold the targets instead; only the predictions' file gives
    names (None otherwise).
    """
    for ck in CLASS_NAME_KEYS:
        if ck not in members or ck in (req.pred_key, req.target_key):
            continue
        arr = _array(zf, members[ck], ck, name, strings=True)
        if arr.dtype.kind in "US":
            return ck, (_names_of(arr, name, ck) if req.role == "pred" else None)
        if ck == "class_names":
            raise error_at(
                name, f"array {ck!r}", f"holds {arr.dtype} numbers; expected class names (strings)"
            )
    return None, None


def _names_of(arr: np.ndarray, name: str, key: str) -> list[str]:
    if arr.ndim != 1 or arr.dtype.kind not in "US":
        raise _member_error(
            name,
            key,
            f"has shape {arr.shape} and dtype {arr.dtype}; expected "
            "a 1-D array of class names (strings)",
        )
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in arr.tolist()]


def _label_indices(values: np.ndarray, names: ClassNames, name: str, key: str) -> np.ndarray:
    """String labels to their class indices."""
    flat = values.ravel().tolist()
    out = np.empty(len(flat), dtype=np.int64)
    for i, v in enumerate(flat):
        s = v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
        j = names.index(s)
        if j is None:
            idx = np.unravel_index(i, values.shape) if values.ndim else ()
            where = "".join(f"[{int(k)}]" for k in idx)
            raise error_at(
                name,
                f"array {key!r}{where}",
                f"{show(s)} is not a class name; expected one of {names.listing()}",
                value=s,
            )
        out[i] = j
    return out.reshape(values.shape)


def _member_error(name: str, key: str, what: str) -> CeLossError:
    """An error about the member ``key`` of the archive ``name``: the member is the subject
    (``x.npz array 'logits' holds ...``)."""
    return file_error(f"{name} array {key!r}", what)


# --------------------------------------------------------------------------------------------
# One member


def _array(
    zf,
    info,
    key: str,
    name: str,
    strings: bool = False,
    lazy: Source | None = None,
    block_bytes: int = 0,
) -> Any:
    """One member of an archive; read by rows on demand (:func:`_by_rows`) when ``lazy`` (the
    archive's source) is given and it holds at least ``block_bytes`` bytes of data."""
    import zipfile
    import zlib

    label = f"{name} array {key!r}"
    try:
        with zf.open(info) as m:
            h = read_header(m, label)
            check_dtype(h.dtype, label, strings=strings)
            count, nbytes = array_extent(h, info.file_size - h.offset, label)
            if lazy is not None and count and h.shape and nbytes >= block_bytes:
                rows = _by_rows(info, h, label, lazy)
                if rows is not None:
                    return rows
            buf = m.read(nbytes)
            if len(buf) != nbytes:
                raise file_error(label, f"is truncated: {len(buf)} of {nbytes} bytes of data")
            m.read()  # to the end of the member, where zipfile checks its CRC
    except CeLossError:
        raise  # already says what is wrong (a ValueError, which the next clause would rewrap)
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        NotImplementedError,
        RuntimeError,
        OSError,
        ValueError,
        struct.error,
        OverflowError,
    ) as e:
        why = str(e) or ("it ends early" if isinstance(e, EOFError) else type(e).__name__)
        # "<archive> array 'k' cannot be read": the member is the subject, and no verb of
        # file_error's ("is", "has", "holds") fits, so the sentence is given whole
        raise CeLossError(f"{label} cannot be read; the archive is damaged ({why})") from None
    return np.frombuffer(buf, dtype=h.dtype, count=count).reshape(h.shape, order=h.order)


def _by_rows(info, h: Header, label: str, src: Source) -> Any:
    """A big member read a block of rows at a time, or None to read it whole.

    A stored member of an archive file is read in place; a compressed one is decompressed front
    to back, in C order only (a Fortran-ordered one is read whole, at most the source's limit).
    """
    import zipfile

    from .rows import FileRows, StreamRows

    if info.compress_type == zipfile.ZIP_STORED and not info.flag_bits & 1 and src.unread:
        assert src.path is not None  # a regular file
        start = _stored_data_start(src.path, info)
        # a damaged local header may put the data past the archive's end: read it whole then,
        # which says so
        if start is not None and start + info.file_size <= os.path.getsize(src.path):
            try:
                return FileRows(src.path, src.name, h, start + h.offset)
            except OSError as e:
                raise os_error(src.name, e) from None
    if h.order == "F" and len(h.shape) > 1:
        nbytes = math.prod(h.shape) * h.dtype.itemsize
        if nbytes > src.limit:
            raise file_error(
                label,
                f"is a compressed Fortran-ordered array of {nbytes} bytes, which ce-loss would "
                f"have to hold whole; expected at most {src.limit}",
                hint="raise {max_input_bytes}, or save the array in C order",
            )
        return None
    archive = _open_zip(src)  # its own handle: it outlives the caller's
    check = _unchanged(src)

    def reopen():
        m = archive.open(info)
        m.read(h.offset)
        return m

    return StreamRows(label, h, reopen, check)


def _unchanged(src: Source):
    """A check that the archive file keeps the size and time it has now."""
    from .rows import changed_error

    if not src.unread:
        return lambda: None
    assert src.path is not None
    path, name = src.path, src.name
    st = os.stat(path)
    seen = (st.st_size, st.st_mtime_ns)

    def check() -> None:
        try:
            now = os.stat(path)
        except OSError:
            raise changed_error(name) from None
        if (now.st_size, now.st_mtime_ns) != seen:
            raise changed_error(name)

    return check


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
