"""Regenerate docs/metrics.png, the figure of the README: `python docs/make_metrics_figure.py`.

Draws `ce-loss compute samples/classifier.npz --per-class --plot docs/metrics.png` (needs
matplotlib: pip install 'ce-loss[plot]').
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    argv = ["compute", "samples/classifier.npz", "--per-class", "--plot", "docs/metrics.png"]
    subprocess.run([sys.executable, "-m", "ce_cli", *argv, "-q"], cwd=ROOT, check=True)
