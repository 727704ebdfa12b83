"""User text made safe to print: file names, class names, keys and cell text quoted in messages.

A file name can hold terminal escape sequences (``\\x1b]0;...``) or bytes that are not UTF-8;
printed raw, the first drives the user's terminal and the second makes JSON that strict parsers
reject. Everything ce-loss prints of what a user or a file gave goes through :func:`safe_text`
(terminals) or :func:`json_text` (JSON).
"""

from __future__ import annotations

import unicodedata

# Bidirectional overrides and isolates: they reorder what follows on screen ("trojan source").
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _undecodable(ch: str) -> str | None:
    """A byte that was not UTF-8 (os.fsdecode keeps it as U+DC80..U+DCFF) as ``\\xff``."""
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    if 0xD800 <= code <= 0xDFFF:  # any other lone surrogate: not text either
        return f"\\u{code:04x}"
    return None


def safe_text(s: object) -> str:
    """``s`` with control characters, bidi overrides and undecodable bytes written as escapes.

    ``"bad\\x1b[31m.npy"`` prints as ``bad\\x1b[31m.npy`` (backslash, x, 1, b): visible, inert.
    Printable text, accents and CJK included, is unchanged.
    """
    text = str(s)
    if text.isprintable() and text.isascii():
        return text  # the common case, without a loop
    out = []
    for ch in text:
        bad = _undecodable(ch)
        if bad is not None:
            out.append(bad)
        elif ch in _BIDI or unicodedata.category(ch) == "Cc":
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def json_text(s: object) -> str:
    """``s`` as a string any JSON parser accepts: undecodable bytes of a file name as ``\\xff``.

    Control characters are left to ``json.dumps``, which escapes them validly (``\\u001b``).
    """
    text = str(s)
    if text.isascii():
        return text
    return "".join(_undecodable(ch) or ch for ch in text)
