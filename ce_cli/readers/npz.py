"""``.npz`` archives: their members, big stored members memory-mapped in place, compressed or
small ones read (which checks their CRC), class names and string labels among them."""

from __future__ import annotations

import io
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
    path = src.path if req.mmap and src.unread else None
    names = req.names
    with _open_zip(src) as zf:
        members = _members(zf, name)
        names_key, found = _class_names(zf, members, name, req)
        if req.role == "pred" and found is not None:
            part.class_names = found
        data_keys = [k for k in members if k != names_key]
        pk, tk = select(members, data_keys, name, "array", req)
        if pk is not None:
            part.pred = _array(zf, members[pk], pk, name, path=path, map_bytes=req.map_bytes)
        if req.role == "pred":
            names = None if part.class_names is None else ClassNames(part.class_names)
        if tk is not None:
            t = _array(
                zf,
                members[tk],
                tk,
                name,
                strings=names is not None,
                path=None if names is not None else path,
                map_bytes=req.map_bytes,
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
    path: str | None = None,
    map_bytes: int = 0,
) -> np.ndarray:
    """One member of an archive; memory-mapped when ``path`` is given and it is stored and at
    least ``map_bytes`` long."""
    import zipfile
    import zlib

    label = f"{name} array {key!r}"
    try:
        with zf.open(info) as m:
            h = read_header(m, label)
            check_dtype(h.dtype, label, strings=strings)
            count, nbytes = array_extent(h, info.file_size - h.offset, label)
            mapped = _mapped(path, info, h, nbytes, map_bytes) if path is not None else None
            if mapped is not None:
                return mapped
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


def _mapped(path: str, info, h: Header, nbytes: int, map_bytes: int) -> np.ndarray | None:
    """A big stored member mapped in place, or None to read it instead."""
    import zipfile

    if nbytes < map_bytes or info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 1:
        return None
    start = _stored_data_start(path, info)
    if start is None:
        return None
    try:
        return np.memmap(
            path, dtype=h.dtype, mode="r", offset=start + h.offset, shape=h.shape, order=h.order
        )
    except (OSError, ValueError):
        return None  # past the end of a damaged file, or no mmap: read it instead


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
