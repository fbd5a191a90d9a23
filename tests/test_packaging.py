"""Every package folder is listed in pyproject.toml (the layout maps them by hand)."""

import tomllib

from conftest import REPO_ROOT

MAPPED = {
    "newsbeam": "newsbeam",
    "pipelines": "newsbeam.pipelines",
    "transforms": "newsbeam.transforms",
    "schemas": "newsbeam.schemas",
}


def test_every_package_folder_is_listed():
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = set()
    for folder, package in MAPPED.items():
        for init in (REPO_ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(REPO_ROOT / folder).parts
            found.add(".".join((package, *relative)))
    assert found == listed
