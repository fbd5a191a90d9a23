"""Fuzzing in CI: every target of tests/fuzz/fuzz_targets.py for a bounded time, and
every input a longer run ever found (tests/fuzz/regressions/) replayed.

Each target runs in its own process (libFuzzer owns the process and exits it),
starting from the committed seed corpus; new inputs go to a temporary folder, so
the committed corpus only changes by hand. Seconds per target: FUZZ_SECONDS
(default 8, so the whole file stays near a minute on 2 cores).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from conftest import REPO_ROOT

pytest.importorskip("atheris")

FUZZ = REPO_ROOT / "tests" / "fuzz"
SCRIPT = FUZZ / "fuzz_targets.py"
TARGETS = sorted(p.name for p in (FUZZ / "corpus").iterdir() if p.is_dir())
SECONDS = int(os.environ.get("FUZZ_SECONDS", "4"))


def _run(args: list[str], cwd, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_every_target_has_a_seed_corpus():
    assert set(TARGETS) == {
        "cleaner",
        "decoding",
        "files",
        "kafka",
        "parse",
        "sketch",
        "story_runs",
    }
    for target in TARGETS:
        assert any((FUZZ / "corpus" / target).iterdir()), target


@pytest.mark.slow
@pytest.mark.parametrize("target", TARGETS)
def test_fuzz_target_for_a_bounded_time(target, tmp_path):
    result = _run(
        [
            target,
            f"-max_total_time={SECONDS}",
            "-timeout=10",  # one input slower than this is a finding (runaway regex/parser)
            "-rss_limit_mb=2048",
            str(tmp_path),
            str(FUZZ / "corpus" / target),
        ],
        cwd=tmp_path,
        timeout=SECONDS + 120,
    )
    runs = re.search(r"Done (\d+) runs", result.stderr)
    assert result.returncode == 0 and runs, result.stderr[-3000:]
    assert int(runs.group(1)) > 0


@pytest.mark.parametrize(
    "found",
    sorted((FUZZ / "regressions").glob("*/*")) if (FUZZ / "regressions").exists() else [],
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_fuzz_findings_stay_fixed(found, tmp_path):
    # libFuzzer runs the given files once each and exits 0 when none fails.
    result = _run([found.parent.name, "-timeout=10", str(found)], cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
