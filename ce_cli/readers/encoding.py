"""The text of a table in the encoding it was saved in: UTF-8 (the default), UTF-16 when the
file starts with its byte-order mark (Excel's "Unicode Text"), or the encoding given (cp1252 for
Excel's "CSV" on Windows), read a piece of whole lines at a time."""

from __future__ import annotations

import codecs
from collections.abc import Iterator

from ..errors import CeLossError
from .messages import error_at
from .source import Source, text_pieces

_UTF8 = ("utf-8", "utf8", "utf_8", "utf-8-sig", "u8")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# Excel's "CSV" on Windows writes the ANSI code page: what the hint proposes for other bytes
EXCEL_HINT = "a file Excel saved as CSV on Windows is cp1252: try {encoding} cp1252"


def check_encoding(encoding: str | None) -> str | None:
    """The codec's name of ``encoding`` (None for UTF-8); an error for an unknown one."""
    if encoding is None or encoding.strip().lower() in _UTF8:
        return None
    try:
        return codecs.lookup(encoding.strip()).name
    except LookupError:
        raise CeLossError(
            f": unknown text encoding {encoding!r}; expected e.g. utf-8, utf-16, cp1252, latin-1",
            input="encoding",
            value=encoding,
        ) from None


def table_pieces(src: Source, size: int, encoding: str | None) -> Iterator[tuple[int, str]]:
    """``(number of the first line, text)`` pieces of whole lines of the table ``src``."""
    codec = check_encoding(encoding)
    if codec is None and src.head(2) in _UTF16_BOMS:
        codec = "utf-16"
    if codec is None:
        return _with_hint(text_pieces(src, size))
    return _decoded(src, size, codec)


def _with_hint(pieces: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """UTF-8 pieces; text that is not UTF-8 gets a hint at the encoding Excel writes."""
    try:
        yield from pieces
    except CeLossError as e:
        if e.hint is None and "is not UTF-8 text" in e.what:
            e.hint = EXCEL_HINT
        raise


def _decoded(src: Source, size: int, codec: str) -> Iterator[tuple[int, str]]:
    """Pieces of text decoded incrementally from ``codec``; a NUL or an undecodable byte is
    refused with its line, as for UTF-8."""
    decoder = codecs.getincrementaldecoder(codec)()
    line, pending = 1, ""
    with src.open() as f:
        while True:
            block = f.read(size)
            try:
                chunk = decoder.decode(block, final=not block)
            except UnicodeDecodeError as e:
                at = line + pending.count("\n")
                raise error_at(
                    src.name,
                    f"line {at}",
                    f"bytes that are not {codec} text ({e.reason}); expected a text file",
                    hint="give the file's encoding with {encoding}",
                ) from None
            text = pending + chunk
            if line == 1 and text.startswith("\ufeff"):
                text = text[1:]
            held = "\r" if block and text.endswith("\r") else ""  # its "\n" may come next
            text = text[: len(text) - len(held)]
            text = text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text
            cut = text.rfind("\n") + 1 if block else len(text)
            piece, pending = text[:cut], text[cut:] + held
            if "\x00" in piece:
                at = line + piece[: piece.index("\x00")].count("\n")
                raise error_at(
                    src.name, f"line {at}", "a NUL byte; expected text (is this a binary file?)"
                )
            if piece:
                yield line, piece
                line += piece.count("\n")
            if not block:
                return
