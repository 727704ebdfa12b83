"""The documentation: a short README that starts with its two set-up commands, a full reference
in docs/cli.md that names every command and option --help shows, and links that lead somewhere."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted((ROOT / "docs").glob("*.md"))


def _help(*args: str) -> str:
    r = subprocess.run(
        [sys.executable, "-m", "ce_cli", *args, "--help"],
        capture_output=True,
        text=True,
        env=dict(os.environ, COLUMNS="200", PYTHONPATH=str(ROOT)),  # this checkout's ce_cli
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_readme_is_short_and_starts_with_the_two_setup_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.encode()) < 10_000
    blocks = re.findall(r"```sh\n(.*?)\n```", readme, re.S)
    assert blocks[0] == (
        "python3 -m venv .venv && . .venv/bin/activate && pip install . && "
        "ce-loss compute samples/logits.npy samples/labels.npy"
    )
    assert blocks[1] == (
        "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && "
        "python -m pytest -q"
    )


def test_the_cli_reference_names_every_command_and_option():
    reference = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    commands = re.findall(r"^  (\w[\w-]*)\s{2,}", _help().split("Commands:")[1], re.M)
    assert {"compute", "check"} <= set(commands)
    for command in commands:
        assert f"## `ce-loss {command}`" in reference, command
        options = set(re.findall(r"(--[a-z][a-z-]+)", _help(command))) - {"--help"}
        missing = sorted(o for o in options if f"`{o}" not in reference)
        assert not missing, (command, missing)


def _anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


@pytest.mark.parametrize("page", [ROOT / "README.md", *DOCS], ids=lambda p: p.name)
def test_relative_links_lead_somewhere(page):
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        assert dest.exists(), f"{page.name}: {target}"
        if anchor:
            headings = re.findall(r"^#+ (.+)$", dest.read_text(encoding="utf-8"), re.M)
            assert anchor in {_anchor(h) for h in headings}, f"{page.name}: {target}"
