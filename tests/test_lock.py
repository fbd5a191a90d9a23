"""The lock (constraints.txt) is the truth: CI installs from it, and it matches pyproject.toml.

- The README's set-up command (run by .ci/run) installs with the lock.
- The environment this suite runs in is the lock: every installed package the lock names has
  the locked version (an install without `-c constraints.txt` fails here, on purpose).
- Every range in pyproject.toml admits its locked version.
- Re-resolving pyproject.toml with the lock's own `exclude-newer` moment gives the committed
  lock byte for byte: a dependency change without `scripts/lock.sh` fails with the command.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import metadata

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement

from conftest import REPO_ROOT

LOCK = REPO_ROOT / "constraints.txt"
RELOCK = "run `scripts/lock.sh` and commit constraints.txt"


def _lock_lines() -> list[str]:
    return [
        line for line in LOCK.read_text().splitlines() if line.strip() and not line.startswith("#")
    ]


def _pins_for_this_platform() -> dict[str, str]:
    env = default_environment()
    pins = {}
    for line in _lock_lines():
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(env):
            (spec,) = requirement.specifier
            pins[_canonical(requirement.name)] = spec.version
    return pins


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _project() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]


def test_readme_set_up_installs_from_the_lock():
    readme = (REPO_ROOT / "README.md").read_text()
    set_up = re.search(r"Set up.*?```bash\n(.+?)\n```", readme, re.S).group(1)
    assert 'pip install -c constraints.txt -e ".[dev]"' in set_up
    assert set_up in (REPO_ROOT / ".ci" / "run").read_text()


def test_every_range_in_pyproject_admits_its_locked_version():
    pins = _pins_for_this_platform()
    project = _project()
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    env = default_environment()
    for text in requirements:
        requirement = Requirement(text)
        if requirement.name == "newsbeam":
            continue
        if requirement.marker is not None and not requirement.marker.evaluate(env):
            continue
        name = _canonical(requirement.name)
        assert name in pins, f"{name} is missing from the lock: {RELOCK}"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{text!r} does not admit the locked {name}=={pins[name]}: {RELOCK}"
        )


def test_this_environment_is_the_lock():
    pins = _pins_for_this_platform()
    differ = []
    for dist in metadata.distributions():
        name = _canonical(dist.metadata["Name"])
        if name in pins and dist.version != pins[name]:
            differ.append(f"{name} {dist.version} (lock {pins[name]})")
    assert differ == [], (
        "installed versions differ from constraints.txt; install with the README's command "
        '(pip install -c constraints.txt -e ".[dev]"): ' + ", ".join(differ)
    )


@pytest.mark.slow
def test_lock_regenerates_from_pyproject(tmp_path):
    """Needs the package index (uv resolves against it, as scripts/lock.sh does)."""
    header = LOCK.read_text()
    moment = re.search(r"^# exclude-newer: (\S+)$", header, re.M).group(1)
    resolved = []
    # The package index's pages are served through caches that are sometimes stale for
    # a while (2026-12-06: lxml's page listed 6.2.1, released a week before the lock's
    # moment, in about half the requests): a lock is wrong only if no fresh resolution
    # gives it. A pyproject.toml changed without a relock differs every time.
    for attempt in range(3):
        target = tmp_path / f"constraints-{attempt}.body"  # new file: no preferences
        cmd = [sys.executable, "-m", "uv", "pip", "compile", "pyproject.toml", "--all-extras"]
        cmd += ["--universal", "--python-version", "3.11", "--exclude-newer", moment]
        cmd += ["--no-header", "--no-annotate", "--quiet", "--refresh", "-o", str(target)]
        result = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"uv could not resolve pyproject.toml: {result.stderr}"
        resolved = target.read_text().splitlines()
        if resolved == _lock_lines():
            break
    assert resolved == _lock_lines(), (
        f"constraints.txt is not what pyproject.toml resolves to: {RELOCK}"
    )
