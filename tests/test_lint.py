"""The code base stays ruff-clean (the configuration is in pyproject.toml)."""

import shutil
import subprocess
import sys

import pytest

from conftest import REPO_ROOT


def _ruff() -> list[str]:
    found = shutil.which("ruff")
    if found:
        return [found]
    pytest.importorskip("ruff")
    return [sys.executable, "-m", "ruff"]


def test_ruff_check_passes():
    result = subprocess.run(
        [*_ruff(), "check", "--no-cache", "."], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_applied():
    # Python files and the Python blocks of the docs' Markdown pages.
    result = subprocess.run(
        [*_ruff(), "format", "--check", "--no-cache", "."],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, "run `ruff format .`:\n" + result.stdout + result.stderr
