"""Regenerate the bundled samples: `python samples/make_samples.py` (needs only NumPy).

Each sample is a worked example from the documents ce-loss started from, or a small case of a
file format; the README shows the output of ce-loss on them.
"""

import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# Seed document 001: three samples, five classes, labels 1, 2, 3; mean CE 1.0155949508195155.
# Its labels look 1-based (class 0 never appears): the quick start uses them read 0-based
# (labels.npy: 0, 1, 2, a clean run); labels_1based.npy keeps them as given, the pitfall
# docs/cli.md shows (ce-loss warns and computes what torch would).
SEED001_LOGITS = np.array(
    [
        [0.093, 0.1939, -1.0649, 0.4476, -2.0769],
        [-1.8024, 0.3696, 0.7796, -1.0346, 0.473],
        [0.5593, -2.5067, -2.1275, 0.5548, -1.6639],
    ]
)
SEED001_LABELS = np.array([1, 2, 3])


def main() -> None:
    np.save(HERE / "logits.npy", SEED001_LOGITS)
    np.save(HERE / "labels.npy", SEED001_LABELS - 1)
    np.save(HERE / "labels_1based.npy", SEED001_LABELS)
    # The same predictions as log-probabilities, for --loss nll (same loss).
    z = SEED001_LOGITS - SEED001_LOGITS.max(axis=1, keepdims=True)
    np.save(HERE / "log_probs.npy", z - np.log(np.exp(z).sum(axis=1, keepdims=True)))

    # The same example as one CSV with a header and a label column.
    lines = ["c0,c1,c2,c3,c4,label"]
    lines += [
        ",".join(repr(float(v)) for v in row) + f",{y}"
        for row, y in zip(SEED001_LOGITS, SEED001_LABELS, strict=True)
    ]
    (HERE / "seed001.csv").write_text("\n".join(lines) + "\n")

    # Seed document 000: -sum y log(s) on raw probabilities, reduction sum: 22.6094161164.
    np.random.seed(123)
    x = np.random.random([5, 10])
    y = np.random.random([5, 10])
    np.savez(HERE / "seed000.npz", probs=x, targets=y)

    # Seed document 002: BCE of three probabilities, and class weights [0.6, 0.38].
    (HERE / "bce.csv").write_text("p,label\n0.1582,0\n0.4139,1\n0.2287,0\n")
    (HERE / "weighted.json").write_text(
        json.dumps({"logits": [[3.0, 4.0], [6.0, 9.0]], "labels": [1, 0]}) + "\n"
    )

    # Class names in the header, string labels: a three-class animal classifier.
    (HERE / "animals.csv").write_text(
        "cat,dog,bird,label\n"
        "2.1,0.3,-1.0,cat\n"
        "0.2,1.7,0.1,dog\n"
        "-0.5,0.4,2.2,bird\n"
        "1.2,1.1,0.3,dog\n"
    )

    # Soft (probability) targets, one sample per line.
    rows = [
        {"logits": [1.0, 2.0, 0.5], "target": [0.1, 0.8, 0.1]},
        {"logits": [0.3, -0.2, 2.5], "target": [0.0, 0.2, 0.8]},
    ]
    (HERE / "soft.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))

    # K-dimensional input: (N, C, H, W) logits of a tiny segmentation map, labels (N, H, W).
    rng = np.random.default_rng(2020)
    np.savez(
        HERE / "segmentation.npz",
        logits=rng.normal(size=(2, 3, 4, 4)).astype(np.float32),
        labels=rng.integers(0, 3, size=(2, 4, 4)),
    )

    # Multi-label BCE with logits: four samples, three labels, one weight per label.
    np.savez(
        HERE / "multilabel.npz",
        logits=np.array([[1.7, -0.4, 0.0], [2.5, 1.1, -3.0], [-0.2, 0.3, 0.9], [0.0, -1.5, 4.0]]),
        targets=np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]),
    )

    # A 10-class classifier, over-confident and better on higher classes, 2,000 samples: for
    # --metrics, --per-class and the figure of the README (docs/make_metrics_figure.py).
    rng = np.random.default_rng(14)
    labels = rng.integers(0, 10, 2000)
    logits = rng.normal(size=(2000, 10)) * 1.5
    logits[np.arange(2000), labels] += rng.normal(2.0, 1.5, 2000) + np.linspace(0, 2, 10)[labels]
    np.savez(HERE / "classifier.npz", logits=(logits * 1.8).astype(np.float32), labels=labels)


if __name__ == "__main__":
    main()
