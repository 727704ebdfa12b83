"""The exceptions ce-loss raises for input it cannot use.

The library raises them; the command line turns each into one line on stderr and exit status 2.
"""


class CeLossError(ValueError):
    """An input, option or file that ce-loss cannot use; the message is what the user reads.

    ``source`` names what the message is about ("input", "target", "weight", "pos_weight", an
    option such as "label_smoothing", or a file name) so the command line can prefix the file the
    value came from.
    """

    def __init__(self, message: str, *, source: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.source = source
        self.hint = hint

    def __str__(self) -> str:
        return self.message

