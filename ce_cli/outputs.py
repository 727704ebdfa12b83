"""Where a run may write: output paths checked before any work is done.

ce-loss never modifies an input: an output that is one of the run's inputs (PRED, TARGET, the
files of --weight and --pos-weight) is refused, as is a wrong suffix, a missing directory or two
outputs naming one file. Files are compared by what they are (device and inode, symlinks
followed), not by how they are spelled: ``./g.npy``, a symlink to it or a hard link are ``g.npy``.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import CeLossError
from .settings import OutputSettings


def check(out: OutputSettings, inputs: list[str | None]) -> dict[str, str]:
    """Validate the output paths of ``out``; returns ``{"grad": path, "per_sample": path}``.

    ``inputs`` are the paths the run reads (``"-"``, None and names of no file are skipped).
    """
    wanted = [
        ("grad", "--save-grad", out.save_grad, (".npy",)),
        ("per_sample", "--save-per-sample", out.save_per_element, (".npy", ".csv")),
    ]
    return check_paths(wanted, inputs)


def check_paths(wanted: list, inputs: list[str | None], taken: tuple | list = ()) -> dict[str, str]:
    """Validate outputs ``(what, option, path, suffixes)`` against the run's ``inputs`` and the
    outputs ``taken`` before them, by the file each resolves to; returns ``{what: path}``."""
    in_files = {k for k in (_identity(i) for i in inputs if i and i != "-") if k is not None}
    seen = {_identity(t) or _future(t): "" for t in taken}
    saved = {}
    for what, option, path, suffixes in wanted:
        if path is None:
            continue
        _check_one(option, path, suffixes, in_files)
        key = _identity(path) or _future(path)
        if key in seen:
            raise CeLossError(_same_file(seen[key], option, path))
        seen[key] = option
        saved[what] = str(path)
    return saved


def _same_file(first: str, option: str, path: str) -> str:
    if {first, option} == {"--save-grad", "--save-per-sample"}:
        return "--save-grad and --save-per-sample name the same file"
    return f"{option} {path}: another output names the same file"


def _identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of the file ``path`` names, symlinks followed; None when there is none."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def _future(path: str) -> tuple:
    """What a file not made yet will be: its directory's identity and its name in it."""
    p = Path(path)
    return (_identity(str(p.parent)), os.path.normcase(p.name))


def _check_one(option: str, path: str, suffixes: tuple, in_files: set) -> None:
    out = Path(path)
    if out.suffix.lower() not in suffixes:
        raise CeLossError(f"{option} {path}: the file name must end in {' or '.join(suffixes)}")
    if not out.resolve().parent.is_dir():
        raise CeLossError(f"{option} {path}: the directory {out.parent} does not exist")
    if _identity(path) in in_files:
        raise CeLossError(
            f"{option} {path}: that is an input file; ce-loss never overwrites its inputs"
        )
    if out.is_dir():
        raise CeLossError(f"{option} {path}: is a directory")
