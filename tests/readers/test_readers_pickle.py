"""No input can make ce-loss unpickle: a pickle whose loading would create a file is refused.

The payload's ``__reduce__`` returns ``(open, (marker, "w"))``: unpickling it calls ``open`` and
creates ``marker``. A control test proves the payload is live; every other test hands it to
load() or read_vector() in another disguise and checks for a CeLossError and no marker.
"""

import io
import pickle
import re
import zipfile

import numpy as np
import pytest

from ce_cli.errors import CeLossError
from ce_cli.readers import load, read_vector
from ce_cli.settings import ReadSettings


class Payload:
    """Unpickling this creates (truncates) the file ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "PWNED"


def object_array(marker):
    return np.array([Payload(marker), Payload(marker)], dtype=object)


def npy_with_objects(marker) -> bytes:
    b = io.BytesIO()
    np.save(b, object_array(marker), allow_pickle=True)
    return b.getvalue()


def refused(marker, *args, match=None, **kw):
    with pytest.raises(CeLossError, match=match) as info:
        load(*args, **kw)
    assert not marker.exists(), "the pickle was loaded"
    return info.value


def test_payload_is_live(tmp_path, marker):
    """Control: numpy.load with allow_pickle=True and pickle.loads do create the marker."""
    p = tmp_path / "o.npy"
    p.write_bytes(npy_with_objects(marker))
    np.load(p, allow_pickle=True)
    assert marker.exists()
    marker.unlink()
    pickle.loads(pickle.dumps(Payload(marker)))
    assert marker.exists()


def test_object_npy(tmp_path, marker):
    p = tmp_path / "logits.npy"
    p.write_bytes(npy_with_objects(marker))
    for lazy in (True, False):
        e = refused(
            marker,
            str(p),
            lazy=lazy,
            match=re.escape(
                f"{p} holds Python objects (dtype object), which could only be read by "
                "unpickling; ce-loss never unpickles data"
            ),
        )
        assert str(e).startswith(str(p))  # the file is named first
    t = tmp_path / "x.npy"
    np.save(t, np.ones((2, 2)))
    refused(marker, str(t), str(p), match="holds Python objects")


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_raw_pickle_named_npy(tmp_path, marker, protocol):
    p = tmp_path / "logits.npy"
    p.write_bytes(pickle.dumps(Payload(marker), protocol=protocol))
    if protocol >= 2:
        msg = f"{p} is a Python pickle, not a NumPy array file"
    else:  # protocols 0 and 1 have no PROTO opcode: not .npy either way
        msg = f"{p} is not a NumPy .npy file"
    refused(marker, str(p), match=re.escape(msg))


@pytest.mark.parametrize(
    "name", ["logits.npz", "logits.csv", "logits.json", "logits.jsonl", "logits.pkl", "logits"]
)
def test_raw_pickle_under_other_names(tmp_path, marker, name):
    p = tmp_path / name
    p.write_bytes(pickle.dumps(Payload(marker), protocol=4))
    refused(marker, str(p), match=re.escape(f"{p} is a Python pickle"))


def test_object_arrays_in_npz(tmp_path, marker):
    x, y = np.ones((2, 3)), np.array([0, 1])
    cases = {
        "pred.npz": dict(logits=object_array(marker), labels=y),
        "target.npz": dict(logits=x, labels=object_array(marker)),
        "names.npz": dict(logits=x, labels=y, classes=object_array(marker)),
        "keyed.npz": dict(evil=object_array(marker), logits=x, labels=y),
    }
    for name, arrays in cases.items():
        p = tmp_path / name
        np.savez(p, **arrays)
        kw = {"settings": ReadSettings(pred_key="evil")} if name == "keyed.npz" else {}
        e = refused(marker, str(p), match="holds Python objects", **kw)
        assert e.message.startswith(f"{p} array ")
        assert str(e).startswith(str(p))  # the file is named first
    # an object member nobody asked for is never read at all
    r = load(str(tmp_path / "keyed.npz"))
    assert r.pred.shape == (2, 3) and not marker.exists()


def test_raw_pickle_member_in_npz(tmp_path, marker):
    p = tmp_path / "d.npz"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("logits.npy", pickle.dumps(Payload(marker), protocol=4))
        z.writestr("labels.npy", pickle.dumps(Payload(marker), protocol=2))
    refused(marker, str(p), match=re.escape(f"{p} array 'logits' is a Python pickle"))


def test_pickles_on_stdin(tmp_path, marker):
    refused(
        marker,
        "-",
        stdin=io.BytesIO(npy_with_objects(marker)),
        match=re.escape("<stdin> holds Python objects"),
    )
    refused(
        marker,
        "-",
        stdin=io.BytesIO(pickle.dumps(Payload(marker), protocol=5)),
        match=re.escape("<stdin> is a Python pickle"),
    )
    b = io.BytesIO()
    np.savez(b, logits=object_array(marker), labels=np.array([0, 1]))
    refused(
        marker,
        "-",
        stdin=io.BytesIO(b.getvalue()),
        match=re.escape("<stdin> array 'logits' holds Python objects"),
    )


def test_pickles_as_weight_files(tmp_path, marker):
    p = tmp_path / "w.npy"
    p.write_bytes(npy_with_objects(marker))
    with pytest.raises(CeLossError, match=re.escape(f"--weight: {p} holds Python objects")):
        read_vector(str(p), "--weight")
    p.write_bytes(pickle.dumps(Payload(marker), protocol=4))
    with pytest.raises(CeLossError, match=re.escape(f"--weight: {p} is a Python pickle")):
        read_vector(str(p), "--weight")
    assert not marker.exists()
