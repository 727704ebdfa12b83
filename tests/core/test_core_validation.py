"""Every input the loss core refuses, with the message the user reads pinned word for word."""

import re
import subprocess
import sys
from unittest import mock

import numpy as np
import pytest

import ce_cli
from ce_cli import CeLossError, core
from ce_cli.settings import LossSpec

inf, nan = np.inf, np.nan
E = ce_cli.evaluate


def raises(message, source=None):
    """pytest.raises for a CeLossError whose whole message is ``message``."""
    ctx = pytest.raises(CeLossError, match="^" + re.escape(message) + "$")
    if source is None:
        return ctx

    class _Check:
        def __enter__(self):
            self.info = ctx.__enter__()
            return self.info

        def __exit__(self, *exc):
            out = ctx.__exit__(*exc)
            assert self.info.value.input == source
            return out

    return _Check()


def test_celosserror_is_a_valueerror():
    assert issubclass(CeLossError, ValueError)
    with pytest.raises(ValueError):
        ce_cli.cross_entropy([[1.0, 2.0]], [5])


# --------------------------------------------------------------------------------------------
# Shapes: both shapes named


@pytest.mark.parametrize(
    "loss, x, t, message",
    [
        (
            "ce",
            np.zeros((2, 2)),
            np.zeros(3, int),
            "target has shape (3,) but input has shape (2, 2); expected (2,) for class indices or "
            "(2, 2) for class probabilities",
        ),
        (
            "ce",
            np.zeros((1, 2)),
            np.zeros((2, 2)),
            "target has shape (2, 2) but input has shape (1, 2); expected (1,) for class indices or "
            "(1, 2) for class probabilities",
        ),
        (
            "nll",
            np.zeros((2, 3, 4)),
            np.zeros((2, 3), int),
            "target has shape (2, 3) but input has shape (2, 3, 4); expected (2, 4) for class "
            "indices or (2, 3, 4) for class probabilities",
        ),
        (
            "ce",
            np.zeros(3),
            np.zeros(2, int),
            "target has shape (2,) but input has shape (3,); expected () for class indices or (3,) "
            "for class probabilities",
        ),
        (
            "bce",
            np.full(2, 0.5),
            np.zeros(3),
            "target has shape (3,) but input has shape (2,); bce needs the same shape",
        ),
        (
            "bce-logits",
            np.zeros((1, 2)),
            np.zeros(2),
            "target has shape (2,) but input has shape (1, 2); bce-logits needs the same shape",
        ),
    ],
)
def test_shape_mismatch(loss, x, t, message):
    with raises(message, "target"):
        E(loss, x, t)


def test_input_without_classes():
    with raises(
        "input is a single number; expected class scores of shape (C,), (N, C) or (N, C, d1, ...)",
        "input",
    ):
        ce_cli.cross_entropy(3.0, 0)
    with raises("input has shape (2, 0): no classes", "input"):
        ce_cli.cross_entropy(np.zeros((2, 0)), [0, 0])


# --------------------------------------------------------------------------------------------
# Class indices


def test_class_index_out_of_range_names_value_and_position():
    x = np.zeros((6, 3))
    with raises("target[5] is class 5, outside 0..2 (3 classes)", "target"):
        ce_cli.cross_entropy(x, [0, 1, 2, 0, 1, 5])
    with raises("target[1, 3] is class 7, outside 0..2 (3 classes)", "target"):
        ce_cli.cross_entropy(np.zeros((2, 3, 4)), [[0, 1, 2, 0], [1, 2, 0, 7]])
    with raises("target[1] is class -1, outside 0..2 (3 classes); ignore_index is -100"):
        ce_cli.nll_loss(np.zeros((3, 3)), [1, -1, 0])
    # an ignore_index inside 0..C-1 does not widen the range
    with raises("target[0] is class -100, outside 0..2 (3 classes); ignore_index is 1"):
        ce_cli.cross_entropy(np.zeros((2, 3)), [-100, 1], ignore_index=1)


def test_positions_count_rows_across_blocks():
    # one row per segment, so block_rows=2 really makes blocks of two rows
    with mock.patch.object(core.problem, "SEGMENT_ELEMENTS", 3):
        p = core.plan(LossSpec("ce"), np.zeros((6, 3)), np.zeros(6, int))
        assert len(list(core.block_bounds(p, 2))) == 3
        with raises("target[5] is class 5, outside 0..2 (3 classes)"):
            E("ce", np.zeros((6, 3)), [0, 1, 2, 0, 1, 5], block_elements=6)
        x = np.zeros((6, 3))
        x[3, 2] = nan
        with raises("input[3, 2] is NaN"):
            E("ce", x, np.zeros(6, int), block_elements=6)


def test_one_based_labels_get_a_hint():
    with pytest.raises(CeLossError) as info:
        ce_cli.cross_entropy(np.zeros((3, 3)), [1, 2, 3])
    assert str(info.value) == "target[2] is class 3, outside 0..2 (3 classes)"
    assert info.value.hint == "the labels look 1-based; subtract 1 so they run from 0"
    with pytest.raises(CeLossError) as info:
        ce_cli.cross_entropy(np.zeros((3, 3)), [0, 2, 3])
    assert info.value.hint is None


@pytest.mark.parametrize("bad, shown", [(1.5, "1.5"), (nan, "nan"), (inf, "inf"), (-0.25, "-0.25")])
def test_fractional_or_non_finite_class_index(bad, shown):
    with raises(f"target[1] is {shown}; expected a whole class index in 0..2", "target"):
        ce_cli.cross_entropy(np.zeros((2, 3)), [1.0, bad])


def test_whole_float_class_indices_are_accepted():
    assert ce_cli.cross_entropy(np.zeros((2, 3)), [1.0, 2.0]) == pytest.approx(np.log(3))


# --------------------------------------------------------------------------------------------
# Values of the input and target


def test_probabilities_outside_0_1():
    with raises("input[0, 1] is 1.5; expected probabilities between 0 and 1", "input"):
        ce_cli.binary_cross_entropy([[0.5, 1.5]], [[0.0, 1.0]])
    with raises("input[0] is inf; expected probabilities between 0 and 1", "input"):
        ce_cli.binary_cross_entropy([inf, 0.5], [0.0, 1.0])
    with raises("input[1, 0] is -0.1; expected probabilities between 0 and 1", "input"):
        ce_cli.cross_entropy_probs([[0.5, 0.5], [-0.1, 0.2]], [0, 1])
    with raises("input[1, 1] is 2; expected probabilities between 0 and 1", "input"):
        ce_cli.cross_entropy_probs([[0.5, 0.5], [1, 2]], [0, 1])


@pytest.mark.parametrize(
    "loss, t, message",
    [
        ("bce", [[0.0, 1.5]], "target[0, 1] is 1.5; bce expects targets between 0 and 1"),
        ("bce", [[-0.5, 1.0]], "target[0, 0] is -0.5; bce expects targets between 0 and 1"),
        (
            "bce-logits",
            [[0.0, 2.0]],
            "target[0, 1] is 2; bce-logits expects targets between 0 and 1",
        ),
        ("bce", [[0.0, nan]], "target[0, 1] is nan; expected finite probabilities"),
        ("bce-logits", [[inf, 0.0]], "target[0, 0] is inf; expected finite probabilities"),
    ],
)
def test_binary_target_outside_0_1(loss, t, message):
    with raises(message, "target"):
        E(loss, [[0.5, 0.5]], t)


def test_nan_input():
    with raises("input[0, 1] is NaN", "input"):
        ce_cli.cross_entropy([[1.0, nan]], [0])
    with raises("input[2] is NaN", "input"):
        ce_cli.binary_cross_entropy_with_logits([1.0, 2.0, nan], [0.0, 1.0, 1.0])
    with raises("input[1, 0] is NaN", "input"):
        ce_cli.nll_loss([[-1.0, -2.0], [nan, -1.0]], [0, 1])


def test_nan_probability_target():
    with raises("target[0, 0] is nan; expected finite probabilities", "target"):
        ce_cli.cross_entropy([[1.0, 2.0]], [[nan, 1.0]])


def test_infinite_logits():
    with raises("input[0, 1] is inf; expected finite logits", "input"):
        ce_cli.cross_entropy([[1.0, inf]], [0])
    with raises("input[0, 0] is inf; expected finite log-probs", "input"):
        ce_cli.nll_loss([[inf, -1.0]], [1])
    # bce-logits refuses both infinities (a deliberate difference from torch)
    with raises("input[1] is inf; expected finite logits", "input"):
        ce_cli.binary_cross_entropy_with_logits([1.0, inf], [0.0, 1.0])
    with raises("input[1] is -inf; expected finite logits", "input"):
        ce_cli.binary_cross_entropy_with_logits([1.0, -inf], [0.0, 1.0])
    # a -inf logit is a class of probability 0, fine unless the whole row is -inf
    assert np.isfinite(ce_cli.cross_entropy([[0.0, -inf, 1.0]], [0]))
    with raises("input[0]: every class logit is -inf; the softmax is undefined", "input"):
        ce_cli.cross_entropy([[-inf, -inf], [1.0, 2.0]], [0, 1])


# --------------------------------------------------------------------------------------------
# weight and pos_weight


def test_weight_of_wrong_length():
    with raises(
        "weight has 2 entries but the input has 3 classes; expected one weight per class", "weight"
    ):
        ce_cli.cross_entropy(np.zeros((2, 3)), [0, 1], weight=[1.0, 2.0])
    with raises(
        "weight has shape (1, 3) but the input has 3 classes; expected one weight per class",
        "weight",
    ):
        ce_cli.nll_loss(np.zeros((2, 3)), [0, 1], weight=[[1.0, 2.0, 3.0]])


def test_non_finite_weight():
    with raises("weight[1] is nan; expected finite numbers", "weight"):
        ce_cli.cross_entropy(np.zeros((2, 3)), [0, 1], weight=[1.0, nan, 2.0])
    with raises("pos_weight[0] is inf; expected finite numbers", "pos_weight"):
        ce_cli.binary_cross_entropy_with_logits([[0.5, 0.5]], [[0.0, 1.0]], pos_weight=[inf, 1.0])


def test_pos_weight_not_broadcastable():
    with raises(
        "pos_weight has shape (2,), which does not broadcast to the input's shape (2, 3)",
        "pos_weight",
    ):
        ce_cli.binary_cross_entropy_with_logits(
            np.zeros((2, 3)), np.zeros((2, 3)), pos_weight=[1, 2]
        )
    # broadcasting must not grow the input
    with raises(
        "pos_weight has shape (2, 1, 3), which does not broadcast to the input's shape (2, 3)",
        "pos_weight",
    ):
        ce_cli.binary_cross_entropy_with_logits(
            np.zeros((2, 3)), np.zeros((2, 3)), pos_weight=np.ones((2, 1, 3))
        )
    with raises(
        "weight has shape (3, 1), which does not broadcast to the input's shape (2, 3)", "weight"
    ):
        ce_cli.binary_cross_entropy(np.full((2, 3), 0.5), np.zeros((2, 3)), weight=np.ones((3, 1)))


def test_options_that_do_not_apply():
    with raises("pos_weight applies to bce-logits, not bce", "pos_weight"):
        E("bce", [0.5], [0.0], pos_weight=[1.0])
    with raises("pos_weight applies to bce-logits, not ce", "pos_weight"):
        E("ce", [[0.5, 0.5]], [0], pos_weight=[1.0])
    with raises("pos_weight applies to bce-logits, not nll", "pos_weight"):
        E("nll", [[0.5, 0.5]], [0], pos_weight=[1.0])
    with raises("label_smoothing applies to ce and nll, not bce", "label_smoothing"):
        E("bce", [0.5], [0.0], label_smoothing=0.1)
    with raises("label_smoothing applies to ce and nll, not bce-logits", "label_smoothing"):
        E("bce-logits", [0.5], [0.0], label_smoothing=0.1)


# --------------------------------------------------------------------------------------------
# Options


@pytest.mark.parametrize(
    "value, shown", [(-0.1, "-0.1"), (1.5, "1.5"), (-1e-12, "-1e-12"), (nan, "nan"), ("2", "2.0")]
)
def test_label_smoothing_outside_0_1(value, shown):
    with raises(f"label_smoothing must be between 0.0 and 1.0; got {shown}", "label_smoothing"):
        ce_cli.cross_entropy([[1.0, 2.0]], [0], label_smoothing=value)


@pytest.mark.parametrize("value", ["abc", None, [0.1, 0.2]])
def test_label_smoothing_not_a_number(value):
    with raises(f"label_smoothing must be a number; got {value!r}", "label_smoothing"):
        ce_cli.cross_entropy([[1.0, 2.0]], [0], label_smoothing=value)


def test_label_smoothing_bounds_are_allowed():
    for eps in (0.0, 1.0, "0.5"):
        assert np.isfinite(ce_cli.cross_entropy([[1.0, 2.0]], [0], label_smoothing=eps))


@pytest.mark.parametrize("value", [1.5, True, "1", None])
def test_ignore_index_not_an_integer(value):
    with raises(f"ignore_index must be an integer; got {value!r}", "ignore_index"):
        ce_cli.cross_entropy([[1.0, 2.0]], [0], ignore_index=value)


@pytest.mark.parametrize("ii", [0, 1, 5])
def test_ignore_index_with_probability_targets(ii):
    with raises(
        f"ignore_index={ii} cannot be used with probability targets (target has the "
        "input's shape); as in torch it must be negative",
        "ignore_index",
    ):
        ce_cli.cross_entropy([[0.5, 0.5]], [[0.5, 0.5]], ignore_index=ii)
    # a negative one is accepted, and ignored
    loss = ce_cli.cross_entropy([[0.5, 0.5]], [[0.5, 0.5]], ignore_index=-1)
    assert loss == pytest.approx(np.log(2))


@pytest.mark.parametrize(
    "kw, message, source",
    [
        ({"loss": "xe"}, "loss must be one of ce, nll, bce, bce-logits; got 'xe'", "loss"),
        ({"reduction": "avg"}, "reduction must be one of mean, sum, none; got 'avg'", "reduction"),
        (
            {"input_kind": "softmax"},
            "input_kind must be one of logits, probs, log-probs; got 'softmax'",
            "input_kind",
        ),
    ],
)
def test_unknown_names(kw, message, source):
    args = {"loss": "ce", **kw}
    loss = args.pop("loss")
    with raises(message, source):
        E(loss, [[0.5, 0.5]], [0], **args)


@pytest.mark.parametrize(
    "loss, kind, message",
    [
        ("nll", "logits", "loss 'nll' takes log-probs as input, not logits"),
        ("nll", "probs", "loss 'nll' takes log-probs as input, not probs"),
        ("bce", "logits", "loss 'bce' takes probs as input, not logits"),
        ("bce-logits", "probs", "loss 'bce-logits' takes logits as input, not probs"),
        ("bce-logits", "log_probs", "loss 'bce-logits' takes logits as input, not log-probs"),
    ],
)
def test_contradictory_input_kind(loss, kind, message):
    with raises(message, "input_kind"):
        E(loss, [[0.5, 0.5]], [[0.0, 1.0]], input_kind=kind)


# --------------------------------------------------------------------------------------------
# dtypes


@pytest.mark.parametrize(
    "array, dtype",
    [
        (np.array([["a", "b"]]), "<U1"),
        (np.array([[1.0, 2.0]], dtype=object), "object"),
        (np.array([[1 + 2j, 2]]), "complex128"),
        (np.array([[1, 2]], dtype=np.complex64), "complex64"),
        (np.array([[b"a", b"b"]]), "|S1"),
    ],
)
def test_non_numeric_dtypes(array, dtype):
    with raises(f"input has dtype {dtype}; expected real numbers (float or integer)", "input"):
        ce_cli.cross_entropy(array, [0])
    with raises(f"target has dtype {dtype}; expected real numbers (float or integer)", "target"):
        ce_cli.binary_cross_entropy([[0.5, 0.5]], array)
    with raises(f"weight has dtype {dtype}; expected real numbers (float or integer)", "weight"):
        ce_cli.cross_entropy([[0.5, 0.5]], [0], weight=array[0])


def test_strings_of_numbers_are_not_numbers():
    with raises("target has dtype <U1; expected real numbers (float or integer)", "target"):
        ce_cli.cross_entropy([[0.5, 0.5]], ["1"])


def test_integer_and_boolean_inputs_are_numbers():
    assert ce_cli.cross_entropy([[1, 2]], [1]) == pytest.approx(np.log1p(np.exp(-1)))
    assert ce_cli.binary_cross_entropy([True, False], [1.0, 0.0]) == 0.0


# --------------------------------------------------------------------------------------------
# Import direction and cost


def _modules_after(statement):
    code = (
        f"import sys; {statement}; "
        "print(','.join(m for m in ('typer', 'rich', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(filter(None, out.stdout.strip().split(",")))


def test_import_ce_cli_is_light():
    assert _modules_after("import ce_cli") == set()
    assert _modules_after("import ce_cli; ce_cli.CeLossError") == set()


def test_core_does_not_import_the_cli():
    assert _modules_after("import ce_cli.core") == {"numpy"}
    assert _modules_after("import ce_cli; ce_cli.cross_entropy([[1.0, 2.0]], [0])") == {"numpy"}
