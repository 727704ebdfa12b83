"""The one place where ce-loss's command line turns exceptions into messages and exit codes.

A user error is one line on stderr, ``ce-loss: error: <message> (hint: <hint>)``, and exit
status 2; the message names the files and options as the user gave them.
"""

import sys
from contextlib import contextmanager

import typer

from ..errors import CeLossError
from ..text import safe_text
from .colour import paint
from .entry import stopped
from .stdio import StdoutError, err, reader_left

EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT = 0, 1, 2
STDIN_NAME = "<stdin>"

# What the library's words for options are called on the command line.
OPTION_NAMES = {
    "weight": "--weight",
    "pos_weight": "--pos-weight",
    "label_smoothing": "--label-smoothing",
    "ignore_index": "--ignore-index",
    "workers": "--threads",
    "grad_dtype": "--grad-dtype",
    "loss": "--loss",
    "input_kind": "--input",
    "reduction": "--reduction",
    "class_dim": "--class-dim",
    "shift": "--shift",
    "top_k": "--top-k",
    "bins": "--bins",
    "worst": "--worst",
    "best": "--best",
    "confusion": "--confusion",
    "max_input_bytes": "--max-input-bytes",
    "encoding": "--encoding",
    "decimal": "--decimal",
    "index_col": "--index-col",
    "no_index_col": "--no-index-col",
    "pred_dtype": "--pred-dtype",
}


def names_for(pred: str, target: str | None) -> dict:
    """How errors call each input: PRED and TARGET as given (``<stdin>`` for -), the options."""
    pred_name = STDIN_NAME if pred == "-" else pred
    target_name = pred_name if target is None else (STDIN_NAME if target == "-" else target)
    return {
        "input": pred_name,
        "the_input": pred_name,
        "the_input_shape": f"the shape of {pred_name}",
        "target": target_name,
        # a target from PRED's own file is compared with "input", not with the file itself
        "other_input": pred_name if target_name != pred_name else "input",
        **OPTION_NAMES,
    }


def stderr(message: str) -> None:
    err(message)


def stdout_error(e: OSError) -> str:
    return f"ce-loss: error: cannot write to stdout: {e.strerror or e}"


def os_error_line(e: OSError) -> str:
    """A failed system call: which stream or file, and why."""
    if isinstance(e, StdoutError):
        return stdout_error(e)
    where = f"{e.filename}: " if getattr(e, "filename", None) else ""
    return f"ce-loss: error: {where}{e.strerror or e}"


def warn(quiet: bool, message: str) -> None:
    if not quiet:
        stderr(paint(f"ce-loss: warning: {safe_text(message)}", "yellow", sys.stderr))


def error_line(e: CeLossError, names: dict | None) -> str:
    msg = f"ce-loss: error: {e.render(names)}"
    hint = e.render_hint(names)
    # file names, keys and quoted cells come from the user: never raw to the terminal
    return safe_text(msg + (f" (hint: {hint})" if hint else ""))


@contextmanager
def user_errors(debug: bool, names: dict | None = None):
    """Turn every failure into one line on stderr and exit status 2 (a traceback with --debug)."""
    try:
        yield
    except typer.Exit:
        raise
    except CeLossError as e:
        if debug:
            raise
        stderr(paint(error_line(e, names), "red", sys.stderr))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except MemoryError:
        if debug:
            raise
        stderr("ce-loss: error: out of memory; the input is too large for this machine")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM/SIGHUP (see entry.py)
        raise typer.Exit(stopped(e)) from None
    except BrokenPipeError:
        # The reader of stdout went away (e.g. `| head`) while a table was printed: nothing
        # left to say. (Machine output goes through stdio.out, which lets the command's own
        # status stand, so a failing check still exits 1.)
        reader_left()
        raise typer.Exit(EXIT_OK) from None
    except OSError as e:
        if debug:
            raise
        stderr(safe_text(os_error_line(e)))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except Exception as e:  # a bug in ce-loss: say so plainly, without a traceback
        if debug:
            raise
        stderr(
            f"ce-loss: internal error: {type(e).__name__}: {e} "
            "(run again with --debug for the traceback, and please report it)"
        )
        raise typer.Exit(EXIT_BAD_INPUT) from None
