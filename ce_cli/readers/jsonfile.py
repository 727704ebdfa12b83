"""JSON and JSON Lines: a list of numbers (nested to any shape), an object of such lists, or one
list or object per line. Class names given as strings become their indices."""

from __future__ import annotations

from typing import Any

import numpy as np

from .keys import CLASS_NAME_KEYS, ClassNames, class_names, select
from .messages import error_at, file_error
from .request import Part, Request
from .source import Source, text

# More nested JSON lists than this are refused (NumPy itself allows 64 dimensions).
MAX_DIMS = 32

_NUMBER_TYPES = frozenset((int, float))


def read_json(src: Source, fmt: str, req: Request) -> Part:
    """The predictions or targets of a JSON document (a list, or an object of lists)."""
    name = src.name
    doc_text = text(src)
    if not doc_text.strip():
        raise file_error(name, "is empty; expected a JSON list of numbers or an object")
    doc = _load(doc_text, name, hint_lines=True)
    if type(doc) is dict:
        return _read_object(doc, name, req)
    if type(doc) not in (list, int, float):
        raise file_error(name, f"{_describe(doc)}; expected a list of numbers or an object")
    if type(doc) is list and doc and type(doc[0]) is dict and req.role != "vector":
        return _read_records(doc, name, req)
    if req.role == "target":
        return Part(target=_array(doc, name, "", req.names, integer=True))
    return Part(pred=_array(doc, name, ""))


def _read_object(doc: dict, name: str, req: Request) -> Part:
    if req.role == "vector":
        raise file_error(name, "an object; expected a list of numbers")
    part = Part()
    found, names_key = _class_names(doc, name)
    names = req.names
    if req.role == "pred":
        part.class_names = found
        names = class_names(found)
    data_keys = [k for k in doc if k != names_key]
    pk, tk = select(doc.keys(), data_keys, name, "key", req)
    if pk is not None:
        part.pred = _array(doc[pk], name, pk)
    if tk is not None:
        part.target = _array(doc[tk], name, tk, names, integer=True)
    return part


def _class_names(doc: dict, name: str) -> tuple[list[str] | None, str | None]:
    """(class names, their key) of a JSON object: "class_names", or "classes" of strings."""
    for key in CLASS_NAME_KEYS:
        if key not in doc:
            continue
        v = doc[key]
        strings = type(v) is list and all(type(s) is str for s in v)
        if strings and v:
            return [s.strip() for s in v], key
        if key == "class_names":
            raise error_at(name, key, "expected a list of class names (strings)")
    return None, None


def _load(doc_text: str, name: str, hint_lines: bool = False) -> Any:
    import json

    try:
        return json.loads(doc_text)
    except RecursionError:
        raise file_error(
            name, f"JSON nested too deeply; expected arrays of at most {MAX_DIMS} dimensions"
        ) from None
    except json.JSONDecodeError as e:
        hint = None
        if hint_lines and e.msg == "Extra data":
            hint = "one JSON value per line is JSON Lines: name the file .jsonl"
        raise error_at(
            name, f"line {e.lineno}, column {e.colno}", f"not valid JSON ({e.msg})", hint=hint
        ) from None
    except ValueError as e:
        raise _value_error(name, doc_text, e, None) from None


def _value_error(name: str, doc_text: str, e: ValueError, line: int | None) -> Exception:
    """The error for a ValueError of json.loads: Python's limit on the digits of an integer
    (4300 by default) says where the integer is, how long it is and what is allowed; anything
    else quotes the parser. ``line``: the line ``doc_text`` is, in a JSON Lines file."""
    import re
    import sys

    limit = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 0
    # an integer, not the digits of a float's fraction or exponent
    pattern = rf"(?<![0-9.eE+])[0-9]{{{limit + 1},}}(?![0-9.eE])"
    found = re.search(pattern, doc_text) if limit else None
    if found is None:
        return file_error(name, f"not valid JSON ({e})") if line is None else e
    before = doc_text[: found.start()]
    row = before.count("\n") + 1 if line is None else line
    column = found.start() - (before.rfind("\n") + 1) + 1
    digits = len(found.group())
    return error_at(
        name,
        f"line {row}, column {column}",
        f"an integer of {digits} digits; expected a number of at most {limit} digits",
        value=digits,
        expected=f"at most {limit} digits",
    )


# --------------------------------------------------------------------------------------------
# JSON Lines


def read_jsonl(src: Source, fmt: str, req: Request) -> Part:
    """The predictions or targets of a JSON Lines file: one list, or one object, per line."""
    name = src.name
    lines = text(src).split("\n")
    nos = [i for i, line in enumerate(lines) if line.strip()]
    if not nos:
        raise file_error(name, "is empty; expected one JSON list or object per line")
    docs = _load_lines(lines, nos, name)
    first = nos[0] + 1
    if type(docs[0]) is dict:
        return _read_objects(docs, nos, name, req)
    for i, d in zip(nos, docs, strict=True):
        if type(d) is dict:
            raise error_at(
                name, f"line {i + 1}", f"an object, expected a list or a number like line {first}"
            )
    if req.role == "target":
        return Part(target=_rows(docs, nos, name, "", req.names, True))
    return Part(pred=_rows(docs, nos, name, "", None, False))


def _load_lines(lines: list[str], nos: list[int], name: str) -> list:
    import json

    try:  # one parse of all lines; line by line only to say where an error is
        docs = json.loads("[" + ",".join(lines[i] for i in nos) + "]")
        if len(docs) == len(nos):  # else a line held two values
            return docs
    except (ValueError, RecursionError):
        pass
    docs = []
    for i in nos:
        at = f"line {i + 1}"
        try:
            docs.append(json.loads(lines[i]))
        except RecursionError:
            raise error_at(name, at, "JSON nested too deeply") from None
        except json.JSONDecodeError as e:
            raise error_at(name, at, f"not valid JSON ({e.msg} at column {e.colno})") from None
        except ValueError as e:
            err = _value_error(name, lines[i], e, i + 1)
            if err is e:
                raise error_at(name, at, f"not valid JSON ({e})") from None
            raise err from None
    return docs


def _read_objects(docs: list, nos: list[int], name: str, req: Request) -> Part:
    first = nos[0] + 1
    pk, tk = select(docs[0].keys(), docs[0].keys(), f"{name} line {first}", "key", req)
    preds: list = []
    targets: list = []
    for i, d in zip(nos, docs, strict=True):
        if type(d) is not dict:
            raise error_at(
                name, f"line {i + 1}", f"{_describe(d)}, expected an object like line {first}"
            )
        for k, out in ((pk, preds), (tk, targets)):
            if k is None:
                continue
            if k not in d:
                raise error_at(
                    name, f"line {i + 1}", f"no {k!r} key; expected one like line {first}"
                )
            out.append(d[k])
    part = Part()
    if pk is not None:
        part.pred = _rows(preds, nos, name, f" {pk}", None, False)
    if tk is not None:
        part.target = _rows(targets, nos, name, f" {tk}", req.names, True)
    return part


def _read_records(docs: list, name: str, req: Request) -> Part:
    """``[{"logits": [...], "label": 3}, ...]``, as ``df.to_json(orient="records")`` and many
    APIs write: read like JSON Lines objects, each place given as ``[i]``."""
    pk, tk = select(docs[0].keys(), docs[0].keys(), f"{name} [0]", "key", req)
    columns: dict[str, list] = {k: [] for k in (pk, tk) if k is not None}
    for i, d in enumerate(docs):
        if type(d) is not dict:
            raise error_at(name, f"[{i}]", f"{_describe(d)}, expected an object like [0]")
        for k, out in columns.items():
            if k not in d:
                raise error_at(name, f"[{i}]", f"no {k!r} key; expected one like [0]")
            out.append(d[k])
    part = Part()
    nos = list(range(len(docs)))
    if pk is not None:
        part.pred = _records(columns[pk], nos, name, pk, None, False)
    if tk is not None:
        part.target = _records(columns[tk], nos, name, tk, req.names, True)
    return part


def _records(
    rows: list, nos: list[int], name: str, key: str, names: ClassNames | None, integer: bool
) -> np.ndarray:
    """Stack the ``key`` value of every record; each must have the first one's shape."""
    shape = _shape(rows[0], name, f"[0] {key}")
    state = [False]
    for r, v in enumerate(rows):
        rows[r] = _check(v, shape, (name, f"[{r}] {key}"), [], names, state, " like [0]")
    return _to_array(rows, name, "", state, integer)


def _rows(
    rows: list, nos: list[int], name: str, key: str, names: ClassNames | None, integer: bool
) -> np.ndarray:
    """Stack one value per line into an array; every line must have the first line's shape."""
    shape = _shape(rows[0], name, f"line {nos[0] + 1}{key}")
    like = f" like line {nos[0] + 1}"
    state = [False]
    for r, (v, i) in enumerate(zip(rows, nos, strict=True)):
        rows[r] = _check(v, shape, (name, f"line {i + 1}{key}"), [], names, state, like)
    return _to_array(rows, name, "", state, integer)


# --------------------------------------------------------------------------------------------
# Values: nested lists of numbers, checked against the shape their first items promise


def _describe(v: object) -> str:
    import json

    t = type(v)
    if isinstance(v, str):
        return f"{json.dumps(v if len(v) <= 40 else v[:40] + '...')} is a string"
    if t is bool:
        return f"{'true' if v else 'false'} is a boolean"
    if v is None:
        return "null"
    if t is dict:
        return "an object"
    if t is list:
        return "a list"
    return "a number"


def _fail(at: tuple[str, str], idx, what: str):
    """An error at element ``idx`` of the value at ``at``: (file name, its place in the file,
    such as ``"logits"`` or ``"line 3 logits"``)."""
    name, path = at
    position = (path + "".join(f"[{i}]" for i in idx)).rstrip()
    return error_at(name, position, what)


def _shape(v: object, name: str, path: str) -> tuple[int, ...]:
    """The shape that the first items of ``v`` promise, without recursion."""
    shape: list[int] = []
    while type(v) is list:
        if len(shape) == MAX_DIMS:
            raise _fail(
                (name, path),
                (),
                f"lists nested more than {MAX_DIMS} deep; expected "
                f"an array of at most {MAX_DIMS} dimensions",
            )
        shape.append(len(v))
        if not v:
            break
        v = v[0]
    return tuple(shape)


def _items(n: int) -> str:
    return f"{n} item{'s' if n != 1 else ''}"


def _check(
    v,
    shape: tuple[int, ...],
    at: tuple[str, str],
    idx: list[int],
    names: ClassNames | None,
    state: list[bool],
    like: str = "",
):
    """Raise unless ``v`` is nested lists of exactly ``shape`` holding numbers.

    Class names (strings) are replaced in place by their indices when ``names`` is given;
    ``state[0]`` becomes True once a float is seen. Returns ``v``, or the index that replaces a
    lone class name. Recursion is bounded by ``len(shape)``.
    """
    if not shape:
        return _number(v, at, idx, names, state, like)
    if type(v) is not list:
        raise _fail(at, idx, f"{_describe(v)}, expected a list of {_items(shape[0])}{like}")
    if len(v) != shape[0]:
        raise _fail(at, idx, f"{_items(len(v))}, expected {shape[0]}{like}")
    if len(shape) == 1:
        return _row(v, at, idx, names, state, like)
    for i, x in enumerate(v):
        _check(x, shape[1:], at, idx + [i], names, state, like)
    return v


def _number(
    v, at: tuple[str, str], idx: list[int], names: ClassNames | None, state: list[bool], like: str
):
    t = type(v)
    if t is int or t is float:
        state[0] = state[0] or t is float
        return v
    if isinstance(v, str) and names is not None:
        return _class_index(v, names, at, idx)
    if t is list:
        raise _fail(at, idx, f"a list, expected a number{like}")
    raise _fail(at, idx, f"{_describe(v)}, expected a number")


def _row(
    v: list,
    at: tuple[str, str],
    idx: list[int],
    names: ClassNames | None,
    state: list[bool],
    like: str,
) -> list:
    kinds = set(map(type, v))
    if float in kinds:
        state[0] = True
    if kinds <= _NUMBER_TYPES:
        return v
    for i, x in enumerate(v):
        t = type(x)
        if t is int or t is float:
            continue
        if isinstance(x, str) and names is not None:
            v[i] = _class_index(x, names, at, idx + [i])
            continue
        what = (
            f"a list, expected a number{like}"
            if t is list
            else f"{_describe(x)}, expected a number"
        )
        raise _fail(at, idx + [i], what)
    return v


def _class_index(s: str, names: ClassNames, at: tuple[str, str], idx: list[int]) -> int:
    j = names.index(s)
    if j is None:
        raise _fail(
            at,
            idx,
            f"{_describe(s)} but not a class name; expected a number or one "
            f"of {names.listing(unique=True)}",
        )
    return j


def _to_array(v, name: str, path: str, state: list[bool], integer: bool) -> np.ndarray:
    if integer and not state[0]:
        try:
            return np.array(v, dtype=np.int64)
        except OverflowError:
            pass  # integers beyond int64: as floats, which the core then checks
    try:
        return np.array(v, dtype=np.float64)
    except OverflowError:
        raise _fail((name, path), (), "a number too large for a float") from None


def _array(
    v, name: str, path: str, names: ClassNames | None = None, integer: bool = False
) -> np.ndarray:
    """The array of the JSON value ``v`` found at ``path`` in file ``name``."""
    shape = _shape(v, name, path)
    state = [False]
    v = _check(v, shape, (name, path), [], names, state)
    return _to_array(v, name, path, state, integer)
