"""The docs cannot drift from the code.

- The generated reference pages (CLI, record, dead letters, clean rules) equal what
  scripts/gen_docs.py makes from the code now.
- Every dead-letter reason code the code can write is in the registry the reason table is
  generated from (an AST scan of the pipeline's code), and every registered code is used.
- `mkdocs build --strict` passes: no broken links or anchors, every page in the nav.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import REPO_ROOT
from newsbeam.schemas.dead_letter_reasons import REASONS, reason_codes

CODE = re.compile(r"^[a-z][a-z0-9_]+$")
# Calls whose first two positional arguments may be a reason code.
REASON_CALLS = {"_dead", "ExtractionError"}
# Reasons made at run time from a sink's name: f"{sink}_rejected".
SINK_REASONS = {"jsonl_rejected", "parquet_rejected", "postgresql_rejected"}


def _literals(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE.match(node.value):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _literals(node.body) | _literals(node.orelse)
    return set()


def reason_codes_in_code() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    paths = [*REPO_ROOT.glob("transforms/**/*.py"), *REPO_ROOT.glob("pipelines/*.py")]
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            codes: set[str] = set()
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "reason":
                        codes |= _literals(keyword.value)
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name in REASON_CALLS:
                    for arg in node.args[:2]:
                        codes |= _literals(arg)
            elif isinstance(node, ast.Assign) and any(
                getattr(target, "id", "") == "reason" for target in node.targets
            ):
                codes |= _literals(node.value)
            for code in codes:
                found.setdefault(code, set()).add(str(path.relative_to(REPO_ROOT)))
    return found


def test_generated_reference_pages_are_up_to_date():
    result = subprocess.run(
        [sys.executable, "scripts/gen_docs.py", "--check"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_reason_code_in_the_code_is_registered():
    in_code = reason_codes_in_code()
    unregistered = {code: sorted(paths) for code, paths in in_code.items()}
    for code in reason_codes():
        unregistered.pop(code, None)
    assert unregistered == {}, "add these to newsbeam/schemas/dead_letter_reasons.py"


def test_every_registered_reason_code_is_used():
    unused = reason_codes() - set(reason_codes_in_code()) - SINK_REASONS
    assert unused == set()
    assert len({(r.stage, r.reason) for r in REASONS}) == len(REASONS)


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path):
    if shutil.which("mkdocs") is None:
        pytest.fail('mkdocs is missing: install with the README\'s set-up command (".[dev]")')
    result = subprocess.run(
        ["mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO_ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "reference" / "cli" / "index.html").is_file()


@pytest.mark.slow
def test_the_api_page_example_runs(tmp_path):
    """docs/api.md's pipeline runs as written, from the repository root."""
    page = (REPO_ROOT / "docs" / "api.md").read_text()
    example = tmp_path / "example.py"
    example.write_text(re.search(r"```python\n(.+?)\n```", page, re.S).group(1))
    result = subprocess.run(
        [sys.executable, str(example)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "dead: read malformed_json" in result.stdout
    assert "en Lyon council approves record budget for schools and trams" in result.stdout
