"""ce-loss's standard streams: checked writes to stdout, best-effort writes to stderr.

stdout carries the result, so a write to it that fails (a full disk, ``ulimit -f``, a closed
stdout) is an error: :class:`StdoutError`, "cannot write to stdout: ...", exit status 2. A reader
that left (``| head``) is not: the rest of the output is dropped and the command's own status
stands. stderr carries talk; a write to it that fails is dropped, so it never costs the result.
"""

import errno
import io
import os
import sys


class StdoutError(OSError):
    """A write to stdout failed for another reason than its reader leaving."""


class _Stdout(io.TextIOWrapper):
    """sys.stdout whose failures say they were stdout's (Rich and Click write here too)."""

    closed_fd = False  # stdout was closed when ce-loss started: every write fails

    def write(self, s: str) -> int:
        if self.closed_fd:
            raise _closed()
        try:
            return super().write(s)
        except BrokenPipeError:
            raise
        except OSError as e:
            raise StdoutError(e.errno, e.strerror) from None

    def flush(self) -> None:
        if self.closed_fd:
            return
        try:
            super().flush()
        except BrokenPipeError:
            raise
        except OSError as e:
            raise StdoutError(e.errno, e.strerror) from None


def _closed() -> StdoutError:
    return StdoutError(errno.EBADF, os.strerror(errno.EBADF))


def _fd_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


# The stream install() replaced, kept alive: its finaliser would close the buffer it shares.
_previous: list = []


def install() -> None:
    """Make the standard streams safe for the console script, before anything is written.

    A closed descriptor 0, 1 or 2 gets /dev/null, so no file ce-loss opens lands on it (output
    written "to stderr" would go into it). stdout gets a buffered layer even under
    PYTHONUNBUFFERED=1: Python's text layer over a raw file ignores a short write, which is how
    ``ulimit -f`` or a nearly full disk cut a result short with exit status 0.
    """
    was_closed = {fd: not _fd_open(fd) for fd in (0, 1, 2)}
    for fd, closed in was_closed.items():
        if closed and os.open(os.devnull, os.O_RDWR) != fd:  # pragma: no cover (0-2 are lowest)
            raise RuntimeError(f"could not hold descriptor {fd}")
    if sys.stderr is None:  # closed (2>&-): talk goes to /dev/null, as the caller asked
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115 (lives as long as the process)
    old = sys.stdout
    if was_closed[1] or old is None:
        new = _Stdout(open(1, "wb", closefd=False), encoding="utf-8", line_buffering=True)
        new.closed_fd = True
    else:
        buffer = getattr(old, "buffer", None)
        if buffer is None:  # not a real file (embedded use): leave it as it is
            return
        new = _checked(old, buffer)
    _previous.append(old)
    sys.stdout = new


def _checked(old, buffer) -> _Stdout:
    """A _Stdout over ``buffer`` (given a buffered layer if it is raw), set up like ``old``."""
    if not isinstance(buffer, io.BufferedIOBase):  # PYTHONUNBUFFERED: a raw FileIO
        buffer = io.BufferedWriter(buffer)
    # flushed at each line, like the stream it replaces when that is a terminal or unbuffered
    eager = getattr(old, "line_buffering", False) or getattr(old, "write_through", False)
    return _Stdout(buffer, encoding=old.encoding, errors=old.errors, line_buffering=bool(eager))


def reader_left() -> None:
    """stdout's reader went away: what is still to be written goes nowhere, quietly."""
    try:
        fd = sys.stdout.fileno()
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass


def out(text: str) -> None:
    """Write ``text`` to stdout and flush it; a failure raises (StdoutError), a reader gone not."""
    stream = sys.stdout
    if stream is None:
        raise _closed()
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        reader_left()
    except StdoutError:
        raise
    except (OSError, ValueError) as e:  # not through _Stdout: main() called from Python
        raise StdoutError(getattr(e, "errno", None) or errno.EIO, _reason(e)) from None


def _reason(e: BaseException) -> str:
    return getattr(e, "strerror", None) or str(e)


def err(message: str) -> None:
    """One line on stderr, if it can be written; stderr is talk, never worth the result."""
    try:
        sys.stderr.write(message.rstrip("\n") + "\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass


def finish() -> str | None:
    """Flush both streams at the end; the reason stdout could not take it, or None."""
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        reader_left()
    except (OSError, ValueError, AttributeError) as e:
        return _reason(e)
    try:
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass
    return None
