"""The README is the front door: its commands are what CI runs; every option is documented.

The README is short (what newsbeam is, set-up, the main commands); the option tables live in
the docs pages (docs/*.md, including the reference generated from the parsers)."""

import re

from conftest import REPO_ROOT
from newsbeam.cli import build_parser

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
DOCS = "\n".join(
    path.read_text(encoding="utf-8") for path in sorted((REPO_ROOT / "docs").rglob("*.md"))
)


def _first_command_after(heading_text: str) -> str:
    block = README.split(heading_text, 1)[1]
    return re.search(r"```bash\n(.+?)\n```", block, re.S).group(1).strip()


def test_ci_runs_the_readme_install_and_test_commands():
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    install = _first_command_after("Set up")
    test = _first_command_after("Run the tests")
    assert install in ci.splitlines()
    assert test in ci.splitlines()


def test_every_cli_option_is_documented():
    parser = build_parser()
    options = {o for a in parser._actions for o in a.option_strings}
    subcommands = [a for a in parser._actions if isinstance(a.choices, dict)]
    for action in subcommands:
        for name, sub in action.choices.items():
            assert f"newsbeam {name}" in DOCS, name
            options |= {o for a in sub._actions for o in a.option_strings}
    # In a hand-written page, not only in the generated reference.
    written = "\n".join(
        path.read_text(encoding="utf-8")
        for path in sorted((REPO_ROOT / "docs").rglob("*.md"))
        if "reference" not in path.parts
    )
    missing = sorted(o for o in options - {"-h", "--help"} if f"`{o}" not in written)
    assert missing == []


def test_the_readme_stays_a_front_door():
    assert len(README.splitlines()) <= 220
    for page in ("docs/getting-started.md", "docs/streaming.md", "docs/reference/cli.md"):
        assert f"({page})" in README
