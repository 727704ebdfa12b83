"""The one engine: extra sinks, memory and file outputs together, errors in the caller's names."""

import numpy as np
import pytest

from ce_cli import CeLossError, core
from ce_cli.settings import LossSpec, OutputSettings

CLI_NAMES = {
    "input": "logits.npy",
    "the_input": "logits.npy",
    "the_input_shape": "the shape of logits.npy",
    "target": "labels.npy",
    "other_input": "logits.npy",
    "weight": "--weight",
    "pos_weight": "--pos-weight",
    "label_smoothing": "--label-smoothing",
    "ignore_index": "--ignore-index",
    "workers": "--threads",
    "grad_dtype": "--grad-dtype",
    "loss": "--loss",
    "input_kind": "--input",
}


class HeadTail:
    """A sink as the command line may use: keeps the first and last rows of the gradient."""

    def __init__(self, k):
        self.k, self.head, self.tail, self.bounds, self.state = k, [], [], [], "open"

    def write(self, start, stop, block):
        self.bounds.append((start, stop))
        rows = list(block.grad)
        self.head = (self.head + rows)[: self.k]
        self.tail = (self.tail + rows)[-self.k :]

    def close(self):
        self.state = "closed"

    def publish(self):
        self.state = "published"

    def discard(self):
        self.state = "discarded"


def test_extra_sink_sees_every_block_in_row_order(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(0, 2, (5000, 70)).astype(np.float32)
    t = rng.integers(0, 70, 5000)
    sink = HeadTail(3)
    out = OutputSettings(
        grad=True, save_grad=str(tmp_path / "g.npy"), workers=2, block_elements=1 << 14
    )
    r = core.run(LossSpec(), x, t, out, sinks=[sink])
    assert sink.state == "published"
    assert sink.bounds[0][0] == 0 and sink.bounds[-1][1] == 5000 and len(sink.bounds) > 2
    assert all(a[1] == b[0] for a, b in zip(sink.bounds[:-1], sink.bounds[1:], strict=True))
    # grad and save_grad: both, the file being the in-memory gradient rounded once
    assert r.grad.dtype == np.float64
    assert np.array_equal(np.load(tmp_path / "g.npy"), r.grad.astype(np.float32))
    assert np.array_equal(np.array(sink.head), r.grad[:3])
    assert np.array_equal(np.array(sink.tail), r.grad[-3:])


def test_sinks_are_discarded_on_error(tmp_path):
    x = np.zeros((3000, 8))
    x[2500, 1] = np.nan
    sink = HeadTail(1)
    with pytest.raises(CeLossError, match=r"^input\[2500, 1\] is NaN$"):
        core.run(
            LossSpec(),
            x,
            np.zeros(3000, int),
            OutputSettings(save_grad=str(tmp_path / "g.npy"), block_elements=800),
            sinks=[sink],
        )
    assert sink.state == "discarded"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bad", [False, True])
def test_the_switch_interval_is_given_back(bad):
    """Workers run under a short switch interval; the caller's comes back, after an error too."""
    import sys

    from ce_cli.core.threads import SWITCH_INTERVAL

    seen = []

    class Spy(HeadTail):
        def write(self, start, stop, r):
            seen.append(sys.getswitchinterval())

    x = np.zeros((3000, 8))
    if bad:
        x[2500, 1] = np.nan
    before = sys.getswitchinterval()
    out = OutputSettings(workers=2, block_elements=800)
    try:
        core.run(LossSpec(), x, np.zeros(3000, int), out, sinks=[Spy(1)])
    except CeLossError:
        assert bad
    assert seen and all(v == pytest.approx(min(before, SWITCH_INTERVAL)) for v in seen)
    assert sys.getswitchinterval() == before


@pytest.mark.parametrize(
    "call, library, cli",
    [
        (
            lambda: core.evaluate("ce", np.zeros((2, 3)), [0, 5]),
            "target[1] is class 5, outside 0..2 (3 classes)",
            "labels.npy: target[1] is class 5, outside 0..2 (3 classes)",
        ),
        (
            lambda: core.evaluate("ce", np.zeros((2, 3)), np.zeros((2, 3)), ignore_index=0),
            "ignore_index=0 cannot be used with probability targets (target has the input's "
            "shape); as in torch it must be negative",
            "--ignore-index=0 cannot be used with probability targets (target has the shape of "
            "logits.npy); as in torch it must be negative",
        ),
        (
            lambda: core.evaluate("nll", np.zeros((2, 3)), [0, 1], input_kind="logits"),
            "loss 'nll' takes log-probs as input, not logits",
            "--loss nll takes log-probs, not --input logits",
        ),
        (
            lambda: core.evaluate("ce", np.zeros((2, 3)), [0, 1], weight=[1.0, 2.0]),
            "weight has 2 entries but the input has 3 classes; expected one weight per class",
            "--weight has 2 entries but logits.npy has 3 classes; expected one weight per class",
        ),
        (
            lambda: core.evaluate(
                "bce",
                np.full((2, 3), 0.5),
                np.zeros((2, 3)),
                weight=[1.0, 2.0],
                weight_per_class=True,
            ),
            "weight has 2 values but the input has 3 classes (dimension 1 of shape (2, 3))",
            "--weight has 2 values but logits.npy has 3 classes (dimension 1 of shape (2, 3))",
        ),
        (
            lambda: core.evaluate("ce", np.zeros((2, 3)), [0, 1, 2]),
            "target has shape (3,) but input has shape (2, 3); expected (2,) for class indices or "
            "(2, 3) for class probabilities",
            "labels.npy: target has shape (3,) but logits.npy has shape (2, 3); expected (2,) for "
            "class indices or (2, 3) for class probabilities",
        ),
        (
            lambda: core.evaluate("ce", np.full((1, 2), -np.inf), [0]),
            "input[0]: every class logit is -inf; the softmax is undefined",
            "logits.npy: input[0]: every class logit is -inf; the softmax is undefined",
        ),
    ],
)
def test_messages_in_library_and_command_line_names(call, library, cli):
    with pytest.raises(CeLossError) as info:
        call()
    assert str(info.value) == library
    assert info.value.render(CLI_NAMES) == cli


def test_hints_take_the_callers_names():
    with pytest.raises(CeLossError) as info:
        core.evaluate("ce", np.zeros((3, 3)), [0, -1, 2])
    hint = info.value.render_hint(CLI_NAMES)
    assert hint == "if -1 marks targets to skip, pass --ignore-index -1"
    with pytest.raises(CeLossError) as info:
        core.resolve_input_kind(LossSpec("bce", input_kind="logits"))
    assert info.value.render_hint(CLI_NAMES) == "use --loss bce-logits for logits"
