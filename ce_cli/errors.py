"""The exception ce-loss raises for input it cannot use, and how its message is put together.

The library raises :class:`CeLossError` with fields; whoever shows it (the command line) formats
it once with :meth:`CeLossError.render`, naming each input the way the user gave it (a file
name, an option) instead of the library's words ("input", "weight"). No message is rewritten
after the fact.
"""

from __future__ import annotations

from collections.abc import Mapping

# How the library calls the inputs and options a message may mention, when nobody says otherwise.
LIBRARY_NAMES: Mapping[str, str] = {
    "input": "input",
    "the_input": "the input",
    "the_input_shape": "the input's shape",
    # the input as a sentence about another input names it: by its file name only when that
    # is not the subject's file too (a target in the same .npz names it "input")
    "other_input": "input",
    "target": "target",
    "weight": "weight",
    "pos_weight": "pos_weight",
    "ignore_index": "ignore_index",
    "label_smoothing": "label_smoothing",
    "loss": "loss",
    "input_kind": "input_kind",
    "reduction": "reduction",
    "workers": "workers",
    "grad_dtype": "grad_dtype",
    "class_dim": "class_dim",
    "shift": "shift",
    "max_input_bytes": "max_input_bytes",
    # how tables are read
    "encoding": "encoding",
    "decimal": "decimal",
    "index_col": "index_col",
    "no_index_col": "index_col=False",
}


class CeLossError(ValueError):
    """An input, option or file that ce-loss cannot use.

    Fields:

    - ``input``: the role the error is about: ``"input"``, ``"target"``, ``"weight"``,
      ``"pos_weight"``, or an option such as ``"label_smoothing"``;
    - ``file``: or the file it is about, when a reader raised it (its name as given);
    - ``position``: where in it: an index tuple (shown ``[3, 1]``) or a place in a file
      (``"line 7, column 3"``);
    - ``what``: the rest of the sentence. It may name other inputs with ``{role}`` fields
      (``"has 2 entries but {the_input} has 5 classes"``), filled from the names in force;
    - ``value``, ``expected``: the offending value and what was expected, for programs;
    - ``hint``: what to do about it, shown after the message; ``{role}`` fields as in ``what``
      (``"pass {ignore_index} -1"`` reads ``pass --ignore-index -1`` on the command line);
    - ``option_what``: the sentence to use instead of ``what`` when ``input`` is called by a
      command-line option, for a sentence about options whose wording, not only its names,
      differs (values as typed: ``--loss nll ... --input logits``, not ``loss 'nll'``).

    A ``what`` that starts with a ``{role}`` field names its own subject: nothing is put before
    it. One that starts with ``:`` or ``=`` follows its subject without a space
    (``input[3]: every class logit is -inf``, ``ignore_index=5 cannot ...``).

    ``str(e)`` and ``e.message`` are the sentence in the library's words;
    ``e.render(names)`` is the same sentence in the caller's (see :meth:`render`).

    A plain ``CeLossError("whole sentence")`` is a message with no fields.
    """

    def __init__(
        self,
        what: str,
        *,
        input: str | None = None,
        file: str | None = None,
        position: tuple | str | None = None,
        value: object = None,
        expected: str | None = None,
        hint: str | None = None,
        option_what: str | None = None,
    ):
        self.what = what
        self.input = input
        self.file = file
        self.position = position
        self.value = value
        self.expected = expected
        self.hint = hint
        self.option_what = option_what
        super().__init__(self.message)

    # ----------------------------------------------------------------------------------------

    @property
    def message(self) -> str:
        """The sentence in the library's words."""
        return self.render()

    def render(self, names: Mapping[str, str] | None = None) -> str:
        """The sentence with each role called by ``names`` (merged over :data:`LIBRARY_NAMES`).

        The subject comes first: a role called by an option is replaced by it (``--weight has
        ...``); a role called by a file keeps the library's word after the file
        (``logits.npy: input[3, 1] is NaN``); a ``file`` is followed by its position and a
        colon (``labels.csv line 7: ...``), or by ``is``/``has``/``holds`` or a colon.
        """
        table = dict(LIBRARY_NAMES)
        if names:
            table.update({k: v for k, v in names.items() if v})
        what = self.what
        if self.option_what is not None and table.get(self.input or "", "").startswith("--"):
            what = self.option_what
        where = position_text(self.position)
        if self.file is not None:  # a reader's sentence quotes the file's text: no fields in it
            body = self.what
            if where and isinstance(self.position, str):  # a text place, even "[1][0]"
                return f"{self.file} {where}: {body}"
            return self.file + where + _join(body)
        body = _fill(what, table)
        if self.input is None or what.startswith("{"):
            return body
        sep = "" if body.startswith((":", "=")) else " "
        return _subject(self.input, where, table) + sep + body

    def render_hint(self, names: Mapping[str, str] | None = None) -> str | None:
        """The hint, its ``{role}`` fields filled like :meth:`render`'s; None without one."""
        if self.hint is None:
            return None
        return _fill(self.hint, {**LIBRARY_NAMES, **(names or {})})

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # picklable for the worker threads' hand-over and multiprocessing
        return (_rebuild, (self.what, self.__dict__))


def _rebuild(what: str, fields: dict) -> CeLossError:
    e = CeLossError(what)
    e.__dict__.update(fields)
    return e


def position_text(position: tuple | str | None) -> str:
    """``(3, 1)`` as ``[3, 1]``; a text position as it is; nothing for None."""
    if position is None:
        return ""
    if isinstance(position, tuple):
        return "[" + ", ".join(str(int(i)) for i in position) + "]"
    return str(position)


def _fill(text: str, table: Mapping[str, str]) -> str:
    """Put the names in the ``{role}`` fields; other braces (a value, a file name) stay as is."""
    if "{" not in text:
        return text
    for role, called in table.items():
        text = text.replace("{" + role + "}", called)
    return text


def _subject(input: str, where: str, table: Mapping[str, str]) -> str:
    called = table.get(input, input)
    word = LIBRARY_NAMES.get(input, input)
    if called.startswith("--") or called == word:
        return called + where
    return f"{called}: {word}{where}"  # a file: keep the library's word after it


def _join(body: str) -> str:
    return " " + body if body.startswith(("is ", "has ", "holds ")) else ": " + body
