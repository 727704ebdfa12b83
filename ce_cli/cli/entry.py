"""How ce-loss starts and ends: the console script, `python -m ce_cli` and `main()`.

Start-up matters (scripts call ce-loss in loops): this module and the command definitions import
only typer at load time; NumPy, the readers, the core and Rich load inside the commands, and
`ce-loss --help` never loads NumPy.
"""

import os
import sys
from contextlib import contextmanager

from .failures import EXIT_BAD_INPUT, EXIT_OK, stderr


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
    would add some 20 ms to every call of a shell loop.
    """
    import gc

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
    try:
        main()
        code = EXIT_OK
    except KeyboardInterrupt:  # before a command's own handler is in place
        stderr("ce-loss: interrupted")
        code = 130
    except SystemExit as e:
        if e.code is None or isinstance(e.code, int):
            code = e.code or EXIT_OK
        else:  # sys.exit("message")
            stderr(str(e.code))
            code = EXIT_BAD_INPUT
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`| head`) or a closed stream
            pass
    os._exit(code)
