"""Where a run may write: output paths checked before any work is done.

ce-loss never modifies an input: an output that is one of the run's inputs is refused, as is a
wrong suffix, a missing directory or two outputs naming one file.
"""

from __future__ import annotations

from pathlib import Path

from .errors import CeLossError
from .settings import OutputSettings


def check(out: OutputSettings, inputs: list[str | None]) -> dict[str, str]:
    """Validate the output paths of ``out``; returns ``{"grad": path, "per_sample": path}``."""
    wanted = {"--save-grad": out.save_grad, "--save-per-sample": out.save_per_element}
    saved = {}
    in_paths = {Path(i).resolve() for i in inputs if i and i != "-"}
    for option, path in wanted.items():
        if path is None:
            continue
        _check_one(option, path, in_paths)
        saved["grad" if option == "--save-grad" else "per_sample"] = str(path)
    if len(set(saved.values())) < len(saved):
        raise CeLossError("--save-grad and --save-per-sample name the same file")
    return saved


def _check_one(option: str, path: str, in_paths: set) -> None:
    out = Path(path)
    suffixes = (".npy",) if option == "--save-grad" else (".npy", ".csv")
    if out.suffix.lower() not in suffixes:
        raise CeLossError(f"{option} {path}: the file name must end in {' or '.join(suffixes)}")
    if not out.resolve().parent.is_dir():
        raise CeLossError(f"{option} {path}: the directory {out.parent} does not exist")
    if out.resolve() in in_paths:
        raise CeLossError(
            f"{option} {path}: that is an input file; ce-loss never overwrites its inputs"
        )
    if out.is_dir():
        raise CeLossError(f"{option} {path}: is a directory")
