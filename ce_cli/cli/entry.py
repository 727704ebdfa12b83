"""How ce-loss starts and ends: the console script, `python -m ce_cli` and `main()`.

Start-up matters (scripts call ce-loss in loops): this module imports nothing heavy (the console
script loads it before a Ctrl-C can be handled), the command definitions only typer; NumPy, the
readers, the core and Rich load inside the commands, and `ce-loss --help` never loads NumPy.
"""

import os
import sys
from contextlib import contextmanager

# What a signal that ends ce-loss says; the exit status is 128 + its number, as a shell reports
# a process killed by it.
STOP_MESSAGES = {
    "SIGTERM": "ce-loss: terminated (SIGTERM)",
    "SIGHUP": "ce-loss: terminated (SIGHUP)",
}


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP: unwinds like Ctrl-C, so every temporary output file is removed."""

    def __init__(self, signum: int, message: str):
        super().__init__(message)
        self.signum = signum
        self.message = message


def stopped(e: KeyboardInterrupt) -> int:
    """Say why ce-loss stopped (Ctrl-C, SIGTERM, SIGHUP); the exit status: 128 + the signal."""
    from .stdio import err

    err(getattr(e, "message", "ce-loss: interrupted"))
    return 128 + getattr(e, "signum", 2)  # 2: SIGINT


def _stop_on_signals() -> None:
    """SIGTERM and SIGHUP end a run the way Ctrl-C does (Python's default would leave .part files).

    A signal the caller ignores stays ignored (``nohup ce-loss ...``).
    """
    import signal

    for name, message in STOP_MESSAGES.items():
        signum = getattr(signal, name, None)
        if signum is None or signal.getsignal(signum) is not signal.SIG_DFL:
            continue

        def stop(num, frame, message=message):
            raise Stopped(num, message)

        signal.signal(signum, stop)


def _exit_on_signals() -> None:
    """From here on a signal ends the process at once: the run is over, nothing is left to undo
    and a KeyboardInterrupt raised now would show a traceback."""
    import signal

    for name in ("SIGINT", *STOP_MESSAGES):
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _exit_now)


def _exit_now(signum, frame) -> None:
    _remove_leftovers()
    os._exit(128 + signum)


def _remove_leftovers() -> None:
    sinks = sys.modules.get("ce_cli.sinks")
    if sinks is not None:  # a signal between two statements may have beaten a sink's cleanup
        sinks.remove_leftovers()


@contextmanager
def collecting():
    """The garbage collector on for the work itself (`script()` keeps it off for start-up)."""
    import gc

    was = gc.isenabled()
    if not was:
        # What start-up made lives until exit: set it aside, or the first pass would walk it all.
        gc.freeze()
    gc.enable()
    try:
        yield
    finally:
        if not was:
            gc.disable()


def main() -> None:
    """Run ce-loss in this process; ends with SystemExit carrying the exit status.

    For calling the command line from Python. The installed `ce-loss` and `python -m ce_cli`
    go through `script()`.
    """
    from .commands import app

    app(prog_name="ce-loss")


def script() -> None:
    """Entry point of the `ce-loss` console script and of `python -m ce_cli`.

    Runs the command, flushes its output and ends the process at once with its exit status.
    ce-loss leaves nothing to clean up by then (output files are complete and renamed before a
    command returns), and letting Python tear NumPy, Typer and Rich down module by module
    would add some 20 ms to every call of a shell loop. Nothing heavy is imported before the
    signals are handled, so a Ctrl-C during start-up is a quiet exit 130, not a traceback.
    """
    try:
        _stop_on_signals()
        _prepare()
        code = _run_main()
    except KeyboardInterrupt as e:  # before a command's own handler is in place
        _exit_on_signals()
        code = stopped(e)
    _exit_on_signals()
    _remove_leftovers()
    from .stdio import err, finish

    reason = finish()
    if reason is not None and code in (0, 1):
        err(f"ce-loss: error: cannot write to stdout: {reason}")
        code = 2
    os._exit(code)


def _prepare() -> None:
    import gc

    from .stdio import install

    install()
    # Loading NumPy, Typer and Rich makes some 30,000 lasting objects and no garbage; the
    # collector's passes over them cost ~7 ms per call. It runs only while a command works
    # through its input (see collecting), where a long run with a progress bar may make some.
    gc.disable()
    # NumPy's OpenBLAS starts a thread per CPU as it loads, and each spins for a while waiting
    # for matrix products that ce-loss never asks for: on a 2-CPU machine that took a third of
    # the CPU from ce-loss's own workers (100,000 x 1,000 logits: 0.13 s -> 0.10 s without it).
    # NumPy is not loaded yet here; a value the user set is kept.
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(name, "1")


def _run_main() -> int:
    """main()'s exit status; a failure to write outside a command (--help, --version) is 2."""
    from .failures import EXIT_BAD_INPUT, EXIT_OK, stderr, stdout_error
    from .stdio import StdoutError

    try:
        main()
    except SystemExit as e:
        if e.code is None or isinstance(e.code, int):
            return e.code or EXIT_OK
        stderr(str(e.code))  # sys.exit("message")
        return EXIT_BAD_INPUT
    except StdoutError as e:
        stderr(stdout_error(e))
        return EXIT_BAD_INPUT
    except OSError as e:  # stderr itself failing as Click reports a usage error
        stderr(f"ce-loss: error: {e.strerror or e}")
        return EXIT_BAD_INPUT
    return EXIT_OK
