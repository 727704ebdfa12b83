"""Generate the golden fixtures of the metrics from scikit-learn.

    python tests/make_metrics_golden.py

writes ``tests/golden/metrics_cases.json``: small random problems with scikit-learn's values
(``accuracy_score``, ``top_k_accuracy_score``, ``brier_score_loss``, ``log_loss``) and
torchmetrics' top-label l1 ECE (15 bins) written out in NumPy. Committed, so
``tests/core/test_metrics.py`` checks the metrics without scikit-learn installed.

JSON layout: ``{"sklearn": version, "cases": [case, ...]}``; a case holds ``name``, ``loss``
(ce or bce-logits), ``input`` (logits), ``target`` (class indices, -100 ignored; or 0/1),
``top_k`` and ``values`` (metric name -> value).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden" / "metrics_cases.json"


def ece(conf: np.ndarray, correct: np.ndarray, n_bins: int = 15) -> float:
    """torchmetrics' binning (bucketize(right=True) - 1, one more bin for 1.0) and l1 norm."""
    idx = np.searchsorted(np.linspace(0, 1, n_bins + 1), conf, side="right") - 1
    count = np.bincount(idx, minlength=n_bins + 1)
    conf_sum = np.bincount(idx, conf, n_bins + 1)
    correct_sum = np.bincount(idx, correct.astype(float), n_bins + 1)
    return float(np.abs(correct_sum - conf_sum).sum() / count.sum())


def categorical_case(seed: int, n: int, c: int, k: int) -> dict:
    from sklearn import metrics as sk

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c)) * (1 + seed)
    t = rng.integers(0, c, n)
    t[rng.random(n) < 0.1] = -100
    v = t != -100
    z = np.exp(x[v] - x[v].max(axis=1, keepdims=True))
    p = z / z.sum(axis=1, keepdims=True)
    labels = list(range(c))
    ll = sk.log_loss(t[v], p, labels=labels)
    values = {
        "accuracy": sk.accuracy_score(t[v], x[v].argmax(1)),
        f"top_{k}_accuracy": sk.top_k_accuracy_score(t[v], x[v], k=k, labels=labels),
        "brier": sk.brier_score_loss(t[v], p, labels=labels),
        "perplexity": math.exp(ll),
        "ece": ece(p.max(1), x[v].argmax(1) == t[v]),
    }
    return {
        "name": f"ce_seed{seed}_{n}x{c}",
        "loss": "ce",
        "input": x.tolist(),
        "target": t.tolist(),
        "top_k": k,
        "values": {key: float(val) for key, val in values.items()},
    }


def binary_case(seed: int, n: int, labels: int) -> dict:
    from sklearn import metrics as sk

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, labels)) * 2
    y = (rng.random((n, labels)) < 0.3).astype(float)
    p = 1 / (1 + np.exp(-x))
    values = {
        "accuracy": sk.accuracy_score(y.ravel(), (x > 0).ravel()),
        "brier": sk.brier_score_loss(y.ravel(), p.ravel()),
        "ece": ece(p.ravel(), y.ravel() > 0.5),
    }
    return {
        "name": f"bce_seed{seed}_{n}x{labels}",
        "loss": "bce-logits",
        "input": x.tolist(),
        "target": y.tolist(),
        "top_k": None,
        "values": {key: float(val) for key, val in values.items()},
    }


def main() -> None:
    import sklearn

    cases = [categorical_case(s, 50 + 30 * s, 3 + 2 * s, 1 + s) for s in range(4)]
    cases += [binary_case(s, 40, 3) for s in range(2)]
    GOLDEN.write_text(json.dumps({"sklearn": sklearn.__version__, "cases": cases}) + "\n")


if __name__ == "__main__":
    main()
