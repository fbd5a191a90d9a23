"""Records and schemas of other versions, for the schema evolution tests.

The 1.0 files under fixtures/schema_evolution/ are what newsbeam wrote before schema
versions existed (records, and the DDL of its PostgreSQL tables); they are frozen, never
regenerated. `next_article_minor()` is a synthetic next article minor shaped like the changes
other branches announced, to prove that registering one is a small step.
"""

from __future__ import annotations

import copy
from pathlib import Path

import orjson

from newsbeam.schemas.versions import ARTICLE, load_schema_file

FIXTURES = Path(__file__).parent / "fixtures" / "schema_evolution"


def fixture_records(name: str) -> list[dict]:
    """Records exactly as newsbeam wrote them at schema 1.0 (frozen, not regenerated)."""
    return [orjson.loads(line) for line in (FIXTURES / name).read_bytes().splitlines()]


def next_article_minor() -> dict:
    """A synthetic next article minor, shaped like the changes other branches announced
    (1.1's `contained` status and nullable `duplicate.containment`, 1.2's `story`, which
    are real releases now) plus an optional `story.size` that is not."""
    schema = copy.deepcopy(load_schema_file(ARTICLE.live_file))
    duplicate = schema["properties"]["duplicate"]
    if "contained" not in duplicate["properties"]["status"]["enum"]:
        duplicate["properties"]["status"]["enum"].append("contained")
    duplicate["properties"]["containment"] = {"type": ["number", "null"], "minimum": 0}
    schema["properties"]["story"]["properties"]["size"] = {"type": "integer"}
    return schema


def postgres_1_0_ddl(articles: str, dead_letters: str) -> str:
    """The CREATE TABLE statements newsbeam ran at 1.0, for these table names."""
    text = (FIXTURES / "postgres-1.0.sql").read_text()
    return text.replace("{articles}", articles).replace("{dead_letters}", dead_letters)
