"""The text cleaner as it was at an earlier git commit, for same-run comparisons.

`baseline_text_cleaner(ref, into)` copies transforms/clean at commit `ref` into
`into/baseline_clean` (imports rewritten to that package), imports it and
returns its TextCleaner with its own packaged rules. Used by bench_clean.py and
bench_pipeline.py (`--baseline REF`).
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), *args], check=True, capture_output=True, text=True
    ).stdout


def baseline_text_cleaner(ref: str, into: Path) -> object:
    """TextCleaner(load_rules()) of transforms/clean as it was at commit `ref`."""
    package = into / "baseline_clean"
    package.mkdir()
    for name in _git("ls-tree", "--name-only", ref, "transforms/clean/").split():
        source = _git("show", f"{ref}:{name}")
        source = source.replace("newsbeam.transforms.clean.", "baseline_clean.")
        # rules.py finds its rules.toml through importlib.resources.
        source = source.replace('files("newsbeam.transforms.clean")', 'files("baseline_clean")')
        (package / Path(name).name).write_text(source, encoding="utf-8")
    sys.path.insert(0, str(into))
    rules = importlib.import_module("baseline_clean.rules")
    cleaner = importlib.import_module("baseline_clean.text_cleaner")
    return cleaner.TextCleaner(rules.load_rules())
