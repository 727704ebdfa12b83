"""Shards: a glob or a comma list of files read as their concatenation, bit for bit."""

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from ce_cli.core import run
from ce_cli.errors import CeLossError
from ce_cli.readers import load
from ce_cli.readers.shards import Concat, concat, expand, natural_key
from ce_cli.settings import LossSpec, OutputSettings


def save_shards(tmp_path, arr, cuts, stem, ext=".npy"):
    names = []
    for i, (a, b) in enumerate(zip([0, *cuts], [*cuts, len(arr)])):
        p = tmp_path / f"{stem}-{i}{ext}"
        np.save(p, arr[a:b])
        names.append(str(p))
    return names


def test_natural_order():
    names = ["s-10.npy", "s-2.npy", "s-1.npy", "s-b.npy", "s-a.npy"]
    assert sorted(names, key=natural_key) == [
        "s-1.npy",
        "s-2.npy",
        "s-10.npy",
        "s-a.npy",
        "s-b.npy",
    ]


def test_glob_expands_in_natural_order(tmp_path):
    for i in (10, 2, 1):
        np.save(tmp_path / f"logits-{i}.npy", np.full((1, 2), float(i)))
    files = expand(str(tmp_path / "logits-*.npy"))
    assert [f.rsplit("-", 1)[1] for f in files] == ["1.npy", "2.npy", "10.npy"]


def test_comma_list_keeps_the_order_given(tmp_path):
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    np.save(a, np.zeros((1, 2)))
    np.save(b, np.ones((2, 2)))
    assert expand(f"{b},{a}") == [str(b), str(a)]
    np.save(tmp_path / "t.npy", np.array([1, 1, 0]))
    r = load(f"{b},{a}", str(tmp_path / "t.npy"))
    assert np.asarray(r.pred)[:, 0].tolist() == [1.0, 1.0, 0.0]


def test_an_existing_file_is_one_file(tmp_path):
    p = tmp_path / "odd,name*.npy"
    np.save(p, np.zeros((1, 2)))
    assert expand(str(p)) is None
    assert expand("-") is None


def test_glob_matching_nothing(tmp_path):
    pattern = str(tmp_path / "none-*.npy")
    with pytest.raises(CeLossError, match=re.escape(f"{pattern}: matches no files")):
        load(pattern, pattern)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n=hs.integers(2, 40),
    cuts=hs.lists(hs.integers(0, 40), max_size=5),
    block=hs.integers(1, 64),
    seed=hs.integers(0, 2**16),
)
def test_shards_are_bit_identical_to_one_file(tmp_path_factory, n, cuts, block, seed):
    tmp = tmp_path_factory.mktemp("s")
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    t = rng.integers(0, 5, size=n)
    cuts = sorted({c for c in cuts if 0 < c < n})
    xs = save_shards(tmp, x, cuts, "x")
    ts = save_shards(tmp, t, cuts[:1], "t")  # TARGET split differently
    r = load(str(tmp / "x-*.npy"), ",".join(ts))
    out = OutputSettings(grad=True, per_element=True, block_elements=block, workers=1)
    got = run(LossSpec(reduction="sum"), r.pred, r.target, out)
    want = run(LossSpec(reduction="sum"), x, t, out)
    assert got.loss == want.loss
    np.testing.assert_array_equal(got.grad, want.grad)
    np.testing.assert_array_equal(got.per_element, want.per_element)
    assert len(xs) == len(cuts) + 1


@given(
    n=hs.integers(1, 30),
    cuts=hs.lists(hs.integers(0, 30), max_size=4),
    a=hs.integers(0, 30),
    b=hs.integers(0, 30),
)
def test_concat_slices_like_np_concatenate(n, cuts, a, b):
    arr = np.arange(n * 2, dtype=np.int32).reshape(n, 2)
    bounds = [0, *sorted({c for c in cuts if 0 < c < n}), n]
    parts = [arr[lo:hi] for lo, hi in zip(bounds, bounds[1:])]
    c = concat(parts, [f"p{i}" for i in range(len(parts))], "spec")
    assert c.shape == arr.shape and len(c) == n
    np.testing.assert_array_equal(c[a:b], arr[a:b])
    np.testing.assert_array_equal(np.asarray(c), arr)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    n=hs.integers(1, 24),
    cuts=hs.lists(hs.integers(1, 23), max_size=4),
    kinds=hs.lists(hs.sampled_from(["f4", "f8", "f4-fortran"]), min_size=5, max_size=5),
    a=hs.integers(0, 24),
    b=hs.integers(0, 24),
)
def test_file_shards_read_across_their_bounds_like_np_concatenate(tmp_path, n, cuts, kinds, a, b):
    """Rows across shard files are read straight into one array: any slice equals the same
    slice of the joined array, whatever each shard's dtype and order."""
    from ce_cli.readers import open_rows

    arr = np.random.default_rng(n).standard_normal((n, 3, 2))
    bounds = [0, *sorted({c for c in cuts if c < n}), n]
    names, parts = [], []
    for i, (lo, hi) in enumerate(zip(bounds, bounds[1:])):
        kind = kinds[i]
        piece = arr[lo:hi].astype(kind[:2])
        piece = np.asfortranarray(piece) if kind.endswith("fortran") else piece
        path = tmp_path / f"x-{n}-{i}-{kind}.npy"
        np.save(path, piece)
        names.append(str(path))
        parts.append(piece)
    joined = np.concatenate(parts)
    c = concat([open_rows(name) for name in names], names, "spec")
    assert c.dtype == joined.dtype
    np.testing.assert_array_equal(c[a:b], joined[a:b])
    np.testing.assert_array_equal(np.asarray(c), joined)


def test_dtypes_of_one_family_promote_as_concatenate():
    parts = [np.ones((1, 2), np.float16), np.ones((2, 2), np.float32)]
    c = concat(parts, ["a", "b"], "s")
    assert c.dtype == np.float32 == np.concatenate(parts).dtype
    assert concat([np.ones(1, np.uint64), np.ones(1, np.int64)], ["a", "b"], "s").dtype == np.int64


def test_shards_with_own_targets(tmp_path):
    for i in range(3):
        np.savez(
            tmp_path / f"part-{i}.npz", logits=np.full((2, 3), float(i)), labels=np.array([i, 0])
        )
    r = load(str(tmp_path / "part-*.npz"))
    assert isinstance(r.pred, Concat) and r.pred.shape == (6, 3)
    assert np.asarray(r.target).tolist() == [0, 0, 1, 0, 2, 0]
    assert r.pred_name == r.target_name == str(tmp_path / "part-*.npz")


def test_safetensors_shards(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    x = np.arange(24, dtype=np.float32).reshape(4, 6)
    for i in range(2):
        st.save_file({"logits": x[2 * i : 2 * i + 2]}, str(tmp_path / f"l-{i}.safetensors"))
    np.save(tmp_path / "t.npy", np.array([0, 1, 2, 3]))
    r = load(str(tmp_path / "l-*.safetensors"), str(tmp_path / "t.npy"))
    np.testing.assert_array_equal(np.asarray(r.pred), x)


def test_trailing_shape_mismatch_names_both_files(tmp_path):
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    np.save(a, np.zeros((2, 3)))
    np.save(b, np.zeros((2, 4)))
    with pytest.raises(
        CeLossError,
        match=re.escape(
            f"{b} has shape (2, 4) but the first shard of {a},{b}, {a}, has (2, 3); expected shards "
            "to differ only in their first dimension"
        ),
    ):
        load(f"{a},{b}", f"{a},{b}")


def test_dtype_family_mismatch_names_both_files(tmp_path):
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    np.save(a, np.zeros((2, 3)))
    np.save(b, np.zeros((2, 3), np.int64))
    with pytest.raises(
        CeLossError,
        match=re.escape(
            f"{b} holds integers (int64) but the first shard of {a},{b}, {a}, holds floats (float64)"
        ),
    ):
        load(f"{a},{b}", str(a))


def test_counts_that_do_not_add_up(tmp_path):
    xs = save_shards(tmp_path, np.zeros((5, 2)), [2], "x")
    ts = save_shards(tmp_path, np.zeros(4, np.int64), [2], "t")
    with pytest.raises(
        CeLossError,
        match=re.escape(
            f"{','.join(ts)} has 4 rows in 2 shards but PRED {','.join(xs)} has 5 in 2"
        ),
    ):
        load(",".join(xs), ",".join(ts))


def test_standard_input_in_a_list(tmp_path):
    with pytest.raises(CeLossError, match="lists standard input"):
        load(f"{tmp_path / 'a.npy'},-", str(tmp_path / "t.npy"))


def test_shards_through_the_command_line(tmp_path):
    from typer.testing import CliRunner

    from ce_cli.cli import app

    rng = np.random.default_rng(6)
    x = rng.normal(size=(23, 7))
    t = rng.integers(0, 7, size=23)
    save_shards(tmp_path, x, [3, 11], "shard")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "t.npy", t)
    args = ["--per-sample", "--grad", "--format", "json"]
    pattern = str(tmp_path / "shard-*.npy")
    got = CliRunner().invoke(app, ["compute", pattern, str(tmp_path / "t.npy"), *args])
    want = CliRunner().invoke(
        app, ["compute", str(tmp_path / "x.npy"), str(tmp_path / "t.npy"), *args]
    )
    assert got.exit_code == 0, got.output
    assert got.stdout.replace(pattern, "X") == want.stdout.replace(str(tmp_path / "x.npy"), "X")


@given(n=hs.integers(1, 20), cut=hs.integers(1, 19), i=hs.integers(-25, 25), j=hs.integers(0, 3))
def test_concat_indexes_like_an_array(n, cut, i, j):
    arr = np.arange(n * 3, dtype=np.float64).reshape(n, 3)
    cut = min(cut, n)
    c = concat([arr[:cut], arr[cut:]] if cut < n else [arr], ["a", "b"][: 1 + (cut < n)], "s")
    for key in (i, (i, j % 3), (slice(i, None), j % 3), (slice(None, i), Ellipsis)):
        try:
            want = arr[key]
        except IndexError:
            with pytest.raises(IndexError):
                c[key]
            continue
        np.testing.assert_array_equal(c[key], want)


# classes last: every reader's rows viewed flattened, nothing read --------------------------------


def _flat_views(tmp_path, x):
    """x as each reader gives it: .npy C and Fortran order, a compressed .npz member, shards."""
    from ce_cli.readers.bfloat16 import Bf16Array

    np.save(tmp_path / "c.npy", x)
    np.save(tmp_path / "f.npy", np.asfortranarray(x))
    np.savez_compressed(tmp_path / "z.npz", logits=x, labels=np.zeros(x.shape[0], np.int64))
    np.save(tmp_path / "s1.npy", x[:2])
    np.save(tmp_path / "s2.npy", x[2:])
    views = {name: load(str(tmp_path / name)).pred for name in ("c.npy", "f.npy", "z.npz")}
    views["shards"] = load(f"{tmp_path / 's1.npy'},{tmp_path / 's2.npy'}").pred
    views["bf16"] = Bf16Array(x.astype(np.float32).view(np.uint32).astype(np.uint16))
    return views


def test_flat_rows_of_every_reader_are_the_reshaped_array(tmp_path):
    from ce_cli.core.layout import flat_rows

    x = np.arange(5 * 4 * 3 * 2, dtype=np.float32).reshape(5, 4, 3, 2)
    for name, a in _flat_views(tmp_path, x).items():
        want = np.asarray(a).reshape(-1, 2)
        v = flat_rows(a, 3)
        assert v.shape == (60, 2) and v.dtype == a.dtype, name
        for lo, hi in ((0, 60), (0, 7), (7, 13), (11, 12), (13, 59), (58, 60), (30, 30)):
            np.testing.assert_array_equal(v[lo:hi], want[lo:hi], err_msg=name)
        np.testing.assert_array_equal(np.asarray(v), want, err_msg=name)
