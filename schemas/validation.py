"""JSON Schema validators for the output contracts (used by tests and users)."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

from newsbeam.schemas.versions import KINDS

ARTICLE_SCHEMA = "article.schema.json"
DEAD_LETTER_SCHEMA = "dead_letter.schema.json"

_format_checker = FormatChecker()


@_format_checker.checks("date-time", raises=ValueError)
def _is_rfc3339(value: object) -> bool:
    # RFC 3339 needs a date, a time and an offset; fromisoformat checks the rest.
    if not isinstance(value, str):
        return True
    if "T" not in value.upper() or not (value.endswith(("Z", "z")) or value[-6] in "+-"):
        raise ValueError(f"not an RFC 3339 date-time: {value!r}")
    datetime.fromisoformat(value)
    return True


def load_schema(name: str) -> dict[str, Any]:
    return json.loads(resources.files("newsbeam.schemas").joinpath(name).read_text("utf-8"))


@cache
def _registry() -> Registry:
    resources_ = []
    # The live files and every released version (validate old data with `name=` one of them).
    names = [kind.live_file for kind in KINDS]
    names += [kind.released_file(version) for kind in KINDS for version in kind.versions]
    for name in names:
        schema = load_schema(name)
        resources_.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources_)


@cache
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(
        load_schema(name), registry=_registry(), format_checker=_format_checker
    )


def validation_errors(record: dict[str, Any], name: str = ARTICLE_SCHEMA) -> list[str]:
    """Every way `record` breaks the schema, as readable strings (empty if valid)."""
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in validator(name).iter_errors(record)
    ]
