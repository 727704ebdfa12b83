"""--class-dim and --shift on the command line: the library's numbers, the user's shapes in files,
and every output (table, JSON, CSV, previews, warnings) working on moved layouts."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from ce_cli.cli import app
from ce_cli.core import evaluate

runner = CliRunner()


def ok(*args):
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, (r.exit_code, r.stdout, r.stderr)
    return r


@pytest.fixture
def lm(tmp_path):
    """(3, 7, 11) float32 logits, classes last, with (3, 7) labels padded with -100."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 7, 11)).astype(np.float32)
    t = rng.integers(0, 11, size=(3, 7))
    t[2, 4:] = -100
    np.save(tmp_path / "logits.npy", x)
    np.save(tmp_path / "labels.npy", t)
    return tmp_path, x, t


@pytest.mark.parametrize("dim", ["-1", "last", "2"])
@pytest.mark.parametrize("shift", [False, True])
def test_json_is_the_librarys(lm, dim, shift):
    path, x, t = lm
    flags = ["--shift"] if shift else []
    r = ok("compute", path / "logits.npy", path / "labels.npy", "--class-dim", dim, *flags,
           "-p", "-g", "-f", "json")  # fmt: skip
    d = json.loads(r.stdout)
    ref = evaluate("ce", x, t, class_dim=-1, shift=shift, reduction="none", grad=True)
    mean = evaluate("ce", x, t, class_dim=-1, shift=shift, grad=True)
    assert d["loss"] == mean.loss
    assert d["unit"] == "samples" and d["count"] == 3 * (6 if shift else 7)
    assert d["per_sample"] == ref.per_element.tolist()
    assert d["grad"] == mean.grad.tolist()  # the input's own layout, (3, 7, 11)


@pytest.mark.parametrize("shift", [False, True])
def test_saved_files_keep_the_users_layout(lm, shift):
    path, x, t = lm
    flags = ["--shift"] if shift else []
    ok("compute", path / "logits.npy", path / "labels.npy", "--class-dim", "-1", *flags,
       "--save-grad", path / "g.npy", "--save-per-sample", path / "pe.npy", "-q")  # fmt: skip
    ref = evaluate("ce", x, t, class_dim=-1, shift=shift, grad=True, per_element=True)
    g = np.load(path / "g.npy")
    assert g.shape == x.shape and g.dtype == np.float32
    np.testing.assert_array_equal(g, ref.grad.astype(np.float32))
    np.testing.assert_array_equal(np.load(path / "pe.npy"), ref.per_element)
    assert np.load(path / "pe.npy").shape == ((3, 6) if shift else (3, 7))


def _grad_table(text):
    return text[text.index("gradient wrt") :]


def test_table_previews_a_saved_gradient_in_the_moved_layout(lm):
    path, x, t = lm
    args = [path / "logits.npy", path / "labels.npy", "--class-dim", "-1", "--shift", "-g", "-q"]
    previewed = _grad_table(ok("compute", *args, "--save-grad", path / "g.npy").stdout)
    assert previewed.startswith("gradient wrt logits (3 x 7 x 11)")
    assert previewed == _grad_table(ok("compute", *args).stdout)
    csv_text = ok("compute", *args, "-f", "csv").stdout.splitlines()
    g = evaluate("ce", x, t, class_dim=-1, shift=True, grad=True).grad
    assert len(csv_text) == 1 + 3 * 6  # one row per position with a loss
    first = [float(v) for v in csv_text[1].split(",")[-11:]]
    assert first == g[0, 0].tolist()


def test_other_class_dim_with_probability_targets(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 6, 5))  # classes on dimension 1 is the default; here on 2
    y = rng.random(size=(4, 6, 5))
    y /= y.sum(axis=2, keepdims=True)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    r = ok("compute", tmp_path / "x.npy", tmp_path / "y.npy", "--class-dim", "2", "-f", "plain")
    assert float(r.stdout) == evaluate("ce", x, y, class_dim=2).loss
    table = ok("compute", tmp_path / "x.npy", tmp_path / "y.npy", "--class-dim", "2", "-p", "-g")
    assert "soft, top" in table.stdout


def test_check_takes_both(lm):
    path, x, t = lm
    want = evaluate("ce", x, t, class_dim=-1, shift=True).loss
    r = ok("check", path / "logits.npy", path / "labels.npy", "--class-dim", "-1", "--shift",
           "--expect", repr(want), "--rtol", "0", "--atol", "0")  # fmt: skip
    assert r.stdout.startswith("PASS")


def test_help_lists_the_options():
    for cmd in ("compute", "check"):
        text = runner.invoke(app, [cmd, "--help"]).stdout
        assert "--class-dim" in text and "--shift" in text


def test_reproduces_a_causal_lms_loss(tmp_path):
    """A tiny causal LM in torch; its loss as Hugging Face computes it, from the dumped logits."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    vocab, n, tlen = 40, 2, 9
    emb = torch.nn.Embedding(vocab, 8)
    head = torch.nn.Linear(8, vocab)
    ids = torch.randint(0, vocab, (n, tlen))
    labels = ids.clone()
    labels[1, 6:] = -100
    with torch.no_grad():
        logits = head(torch.cumsum(emb(ids), dim=1))  # position t sees tokens 0..t
    shift_logits = logits[..., :-1, :].contiguous().float()
    hf = torch.nn.functional.cross_entropy(
        shift_logits.view(-1, vocab).double(), labels[..., 1:].reshape(-1), ignore_index=-100
    )
    np.save(tmp_path / "logits.npy", logits.numpy())
    np.save(tmp_path / "labels.npy", labels.numpy())
    r = ok("compute", tmp_path / "logits.npy", tmp_path / "labels.npy", "--class-dim", "last",
           "--shift", "-f", "plain")  # fmt: skip
    assert float(r.stdout) == pytest.approx(hf.item(), rel=1e-12)
