"""Compressed text (``.csv.gz``, ``.csv.bz2``, ``.csv.xz``, ``.csv.zst``, ``.json.gz``,
``.jsonl.gz``...), recognised by its magic bytes and decompressed as it is read: a table is
streamed a piece at a time, never held whole as text."""

from __future__ import annotations

import io
import os
from typing import BinaryIO

from .messages import file_error
from .source import Source, os_error

# magic bytes -> (compression, module, what to install when it is missing)
_MAGICS = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)
_SUFFIXES = {".gz": "gzip", ".gzip": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd"}


def compression(src: Source) -> str | None:
    """The compression of ``src`` from its first bytes, or None for plain bytes."""
    head = src.head(6)
    for magic, kind in _MAGICS:
        if head.startswith(magic):
            return kind
    return None


def _opener(kind: str, name: str):
    if kind == "gzip":
        import gzip

        return lambda fileobj: gzip.GzipFile(fileobj=fileobj)
    if kind == "bz2":
        import bz2

        return bz2.BZ2File
    if kind == "xz":
        import lzma

        return lzma.LZMAFile
    try:
        import zstandard
    except ImportError:
        raise file_error(
            name,
            "is zstd-compressed, and the zstandard module is not installed",
            hint="pip install zstandard, or decompress it with zstd -d",
        ) from None
    return lambda fileobj: zstandard.ZstdDecompressor().stream_reader(fileobj, closefd=True)


class Decompressed(Source):
    """A compressed :class:`Source` seen as its decompressed bytes, read as a stream.

    ``path`` is the name without its compression suffix (``logits.csv``), so the format comes
    from the inner extension; it is never opened as such (the source is not ``regular``).
    """

    def __init__(self, inner: Source, kind: str):  # noqa: D107 - no Source.__init__: no stat
        self._data = None
        self.inner, self.kind = inner, kind
        self.name = inner.name
        base, ext = os.path.splitext(inner.path or inner.name)
        self.path = base if ext.lower() in _SUFFIXES else None
        self.regular = False
        self._open = _opener(kind, inner.name)

    def open(self) -> BinaryIO:
        raw = self.inner.open()
        return io.BufferedReader(_Checked(self._open(raw), raw, self.name, self.kind))

    def read(self) -> bytes:
        if self._data is None:
            with self.open() as f:
                self._data = f.read()
        return self._data

    def head(self, n: int = 8) -> bytes:
        if self._data is not None:
            return self._data[:n]
        with self.open() as f:
            return f.read(n)


class _Checked(io.RawIOBase):
    """A decompressing stream whose damage (a truncated or corrupt file) is a CeLossError."""

    def __init__(self, f, raw, name: str, kind: str):
        super().__init__()
        self.f, self.raw, self.name, self.kind = f, raw, name, kind

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        data = self._read(len(b))
        b[: len(data)] = data
        return len(data)

    def _read(self, size: int) -> bytes:
        try:
            return self.f.read(size)
        except OSError as e:
            raise os_error(self.name, e) from None
        except Exception as e:  # EOFError, zlib.error, lzma.LZMAError, zstd's ZstdError
            raise file_error(
                self.name, f"is a damaged {self.kind} file ({e}); expected complete data"
            ) from None

    def close(self) -> None:
        self.f.close()
        self.raw.close()
        super().close()


def decompressed(src: Source) -> Source:
    """``src`` itself, or its decompressed stream when its bytes are compressed."""
    kind = compression(src)
    return src if kind is None else Decompressed(src, kind)
