"""Access to the clean-stage fixtures in tests/fixtures/clean (shared by several tests)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "clean"


def manifest() -> dict[str, Any]:
    return json.loads((FIXTURES / "gold.json").read_text(encoding="utf-8"))


def text_cases() -> list[str]:
    return sorted(manifest()["text"])


def html_cases() -> list[str]:
    return sorted(manifest()["html"])


def read_text_case(name: str) -> tuple[str, str, dict[str, Any]]:
    """(raw text, gold body, metadata) of a text fixture."""
    meta = manifest()["text"][name]
    raw = (FIXTURES / "text" / name).read_text(encoding="utf-8")
    gold = (FIXTURES / "text" / name.replace(".txt", ".gold.txt")).read_text(encoding="utf-8")
    return raw, gold, meta


def read_html_case(name: str) -> tuple[str, str, dict[str, Any]]:
    """(raw html, gold body, metadata) of an HTML fixture."""
    meta = manifest()["html"][name]
    raw = (FIXTURES / "html" / name).read_text(encoding="utf-8")
    gold = (FIXTURES / "text" / meta["gold"]).read_text(encoding="utf-8")
    return raw, gold, meta
