"""What the tests share: one CliRunner, the hypothesis profiles, the benchmark script's helpers."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent

# A quick profile for every day and a thorough one CI selects (HYPOTHESIS_PROFILE=ci). Neither has
# a deadline: how fast one example runs depends on the machine, and a busy machine is no failure.
_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("default", max_examples=50, **_COMMON)
settings.register_profile("ci", max_examples=300, print_blob=True, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def runner() -> CliRunner:
    """Drives the Typer app in-process; stdout and stderr are kept apart."""
    return CliRunner()


@pytest.fixture(scope="session")
def bench():
    """benchmarks/bench.py as a module: it is a script outside the package, not installed."""
    spec = importlib.util.spec_from_file_location("ce_loss_bench", ROOT / "benchmarks" / "bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
