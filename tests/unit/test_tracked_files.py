"""What the repository must never hold: virtual environments, build output, caches (a symlinked .venv was once
committed, since `.venv/` in .gitignore matches only a directory, and a merge then replaced a working venv with it)."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNTRACKED_TOP = {".venv", ".venv-checkov", ".venv-client", ".aws-sam", ".pytest_cache", ".ruff_cache", ".schemathesis"}


def test_no_environment_build_output_or_cache_is_tracked():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    wrong = [
        path
        for path in tracked.splitlines()
        if path.split("/")[0] in UNTRACKED_TOP or "__pycache__" in path.split("/") or path.endswith(".pyc")
    ]
    assert wrong == []


def test_gitignore_keeps_out_a_venv_that_is_a_symlink():
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", ".venv", ".venv-checkov", ".venv-client"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert ignored == [".venv", ".venv-checkov", ".venv-client"]
