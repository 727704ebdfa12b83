"""Which array or column holds what: the predictions' and targets' keys in a container (.npz
archive, JSON object, JSON Lines object), the label column of a table, and the class names that
string labels are looked up in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ..errors import CeLossError
from .messages import error_at, file_error, names_list

if TYPE_CHECKING:
    from .request import Request

# Conventional names of the arrays in an .npz archive, a .safetensors file, a JSON object or a
# JSON Lines object. "predictions"/"references" are Hugging Face evaluate's; "arr_0"/"arr_1" are
# what np.savez(path, x, y) calls its positional arrays (first predictions, then targets);
# "input_ids" are a causal language model's targets under --shift, after any label array.
PRED_KEYS = (
    "logits",
    "log_probs",
    "logprobs",
    "probs",
    "probabilities",
    "predictions",
    "preds",
    "pred",
    "input",
    "outputs",
    "scores",
    "x",
    "arr_0",
)
TARGET_KEYS = (
    "labels",
    "label",
    "label_ids",
    "targets",
    "target",
    "references",
    "y",
    "classes",
    "arr_1",
    "input_ids",
)
# "classes" of strings names the classes; "classes" of numbers holds the targets.
CLASS_NAME_KEYS = ("class_names", "classes")
# Header names that mark the label column of a table (compared without case).
LABEL_COLUMNS = ("label", "labels", "target", "targets", "y", "class")


class ClassNames:
    """The class names of a run, and the one lookup of a string label's class index.

    A label is looked up with surrounding spaces stripped; of equal names the first wins.
    """

    def __init__(self, names: Iterable[str]):
        self.names = list(names)
        self._index: dict[str, int] = {}
        for i, n in enumerate(self.names):
            self._index.setdefault(n, i)

    def index(self, label: str) -> int | None:
        """The class index of ``label``, or None when no class has that name."""
        return self._index.get(label.strip())

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __len__(self) -> int:
        return len(self.names)

    def listing(self, unique: bool = False) -> str:
        """The names, for a message (``cat, dog, bird``); each name once when ``unique``."""
        return names_list(self._index if unique else self.names)


def class_names(names: Sequence[str] | None) -> ClassNames | None:
    return None if names is None else ClassNames(names)


# --------------------------------------------------------------------------------------------
# Keys of a container


def _pick(
    keys: Sequence[str], given: str | None, conventional: Sequence[str], exclude: str | None = None
) -> str | None:
    if given is not None:
        return given if given in keys else None
    for k in conventional:
        if k in keys and k != exclude:
            return k
    return None


def select(
    keys: Iterable[str], data_keys: Iterable[str], name: str, what: str, req: Request
) -> tuple[str | None, str | None]:
    """The keys of the predictions and the targets in a container (.npz or JSON object).

    ``keys`` are all its keys, ``data_keys`` those that may hold numbers (not class names);
    ``what`` is what a key names ("array", "key"); ``name`` names the container in errors.
    """
    keys = list(keys)
    _check_given(keys, name, what, req)
    data = [k for k in data_keys if k in keys]
    for given in (req.pred_key, req.target_key):
        if given is not None and given not in data:
            data.append(given)
    pk = None
    if req.role == "pred":
        pk = _pred_key(data, name, what, req)
        if not req.own_target:
            return pk, None
    return pk, _target_key(data, pk, name, what, req)


def _check_given(keys: list[str], name: str, what: str, req: Request) -> None:
    for given, option in ((req.pred_key, "pred key"), (req.target_key, "target key")):
        if given is None or given in keys:
            continue
        if req.role == "pred" or option == "target key":
            raise file_error(
                name,
                f"has no {what} named {given!r} (the {option}); it holds "
                f"{names_list(keys) or 'nothing'}",
                value=given,
            )


def _pred_key(data: list[str], name: str, what: str, req: Request) -> str:
    pk = _pick(data, req.pred_key, PRED_KEYS, exclude=req.target_key)
    if pk is not None:
        return pk
    if len(data) == 1:
        return data[0]
    if not data:
        raise file_error(
            name, f"holds no {what} of predictions; expected one named {names_list(PRED_KEYS, 20)}"
        )
    raise file_error(
        name,
        f"holds the {what}s {names_list(data)}; expected the predictions under one of "
        f"{names_list(PRED_KEYS, 20)}",
        hint="name the predictions with --pred-key",
    )


def _target_key(data: list[str], pk: str | None, name: str, what: str, req: Request) -> str:
    tk = _pick(data, req.target_key, TARGET_KEYS, exclude=pk)
    if tk is not None:
        return tk
    rest = [k for k in data if k != pk]
    if req.role == "target" and len(rest) == 1:
        return rest[0]
    if req.role == "pred" and not rest:
        raise file_error(
            name,
            f"holds one {what} ({pk!r}) and no targets; expected a TARGET file too",
            hint=f"or store the labels in the same file as {TARGET_KEYS[0]!r}",
        )
    raise file_error(
        name,
        f"holds the {what}s {names_list(data)}; expected the targets under one of "
        f"{names_list(TARGET_KEYS)}",
        hint="name the targets with --target-key"
        + (", or give a TARGET file" if req.role == "pred" else ""),
    )


# --------------------------------------------------------------------------------------------
# The label column of a table


def parse_column(column: str | int | None) -> str | int | None:
    """--target-column as given: a 0-based index (also as text, ``"2"``), or a header name."""
    if isinstance(column, str):
        try:
            return int(column.strip())
        except ValueError:
            return column.strip()
    return column


def column_by_name(head: Sequence[str], wanted: str, name: str, lineno: int) -> int:
    """The index of the header cell ``wanted`` (exactly, else without case; must be unique)."""
    hits = [j for j, h in enumerate(head) if h == wanted]
    if not hits:
        hits = [j for j, h in enumerate(head) if h.lower() == wanted.lower()]
    if not hits:
        raise error_at(
            name,
            f"line {lineno}",
            f"no column named {wanted!r}; the columns are {names_list(head, 30)}",
            value=wanted,
        )
    if len(hits) > 1:
        raise error_at(
            name,
            f"line {lineno}",
            f"{len(hits)} columns are named {wanted!r} "
            f"(columns {', '.join(str(j + 1) for j in hits)}); give the target "
            "column by its 0-based index",
            value=wanted,
        )
    return hits[0]


def column_by_index(column: object, ncols: int, name: str, lineno: int) -> int:
    """A 0-based column index (negative from the end) checked against ``ncols`` columns."""
    import numpy as np

    if isinstance(column, bool) or not isinstance(column, (int, np.integer)):
        raise CeLossError(
            f"must be a column name or index; got {column!r}", input="target_column", value=column
        )
    idx = int(column) + ncols if column < 0 else int(column)
    if not 0 <= idx < ncols:
        raise error_at(
            name,
            f"line {lineno}",
            f"target column {int(column)} is out of range; the file has {ncols} "
            f"column{'s' if ncols != 1 else ''} (0..{ncols - 1}, or -1 for the last)",
            value=int(column),
        )
    return idx


def label_column(head: Sequence[str], name: str, lineno: int, own_target: bool) -> int | None:
    """The column a header names as the labels (``label``, ``target``...), if one does."""
    found = [j for j, h in enumerate(head) if h.strip().lower() in LABEL_COLUMNS]
    if len(found) > 1:
        raise error_at(
            name,
            f"line {lineno}",
            f"several columns could hold the targets "
            f"({', '.join(repr(head[j].strip()) for j in found)}); expected one",
            hint="choose one with --target-column",
        )
    if found and not own_target:
        raise error_at(
            name,
            f"line {lineno}",
            f"has a label column {head[found[0]].strip()!r} and a TARGET file was "
            "given too; expected one source of targets",
            hint="drop the column, or leave out the TARGET file to use it",
        )
    return found[0] if found else None
