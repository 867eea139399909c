"""`make` alone (and `make help`) prints every target of the Makefile with its `##` description."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def described_targets() -> dict[str, str]:
    """Each `target: ...  ## description` line of the Makefile."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    return {m[1]: m[2] for line in lines if (m := re.match(r"^([a-z][a-z-]*):[^#]*## (.*)$", line))}


def phony_targets() -> set[str]:
    [line] = [line for line in (ROOT / "Makefile").read_text().splitlines() if line.startswith(".PHONY:")]
    return set(line.removeprefix(".PHONY:").split())


def make(*arguments: str) -> str:
    return subprocess.run(["make", "-s", *arguments], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def test_every_target_has_a_description():
    assert set(described_targets()) == phony_targets()


def test_make_alone_prints_the_menu_of_every_target_with_its_description():
    menu = make()

    assert menu == make("help")
    printed = dict(re.match(r"^  make (\S+) +(.*)$", line).groups() for line in menu.splitlines())
    assert printed == described_targets()
    assert list(printed)[:3] == ["help", "dev", "token"]  # the Makefile's order
