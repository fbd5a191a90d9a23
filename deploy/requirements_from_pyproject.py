"""Print the requirements of the project and chosen extras, one per line, from pyproject.toml.

The image's build stage installs these (with the lock as constraints) in a layer of its own
before copying the sources, so a change to the code rebuilds in seconds instead of
re-downloading every dependency. Extras that name the project itself (`all = ["newsbeam[fast]"]`)
are followed. Standard library only: it runs in the bare base image.

    python requirements_from_pyproject.py pyproject.toml all > requirements.txt
"""

from __future__ import annotations

import re
import sys
import tomllib

_SELF = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*\[([^\]]+)\]\s*$")


def requirements(project: dict, extras: list[str]) -> list[str]:
    """Dependencies plus those of `extras`, self-references resolved, in first-seen order."""
    name = project["name"].lower()
    optional = project.get("optional-dependencies", {})
    found: list[str] = list(project.get("dependencies", []))
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop(0)
        if extra in seen:
            continue
        if extra not in optional:
            raise SystemExit(f"requirements_from_pyproject: no extra {extra!r} in pyproject.toml")
        seen.add(extra)
        for requirement in optional[extra]:
            own = _SELF.match(requirement)
            if own and own.group(1).lower() == name:
                todo.extend(e.strip() for e in own.group(2).split(","))
            elif requirement not in found:
                found.append(requirement)
    return found


def main(argv: list[str]) -> int:
    if len(argv) < 1:
        print("usage: requirements_from_pyproject.py PYPROJECT [EXTRA...]", file=sys.stderr)
        return 2
    with open(argv[0], "rb") as handle:
        project = tomllib.load(handle)["project"]
    print("\n".join(requirements(project, argv[1:])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
