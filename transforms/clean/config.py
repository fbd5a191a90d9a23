"""CleanConfig: the clean stage's options (pure, shared by the PTransform and `inspect`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CleanConfig:
    # Rules file (TOML); None uses the packaged transforms/clean/rules.toml.
    rules_path: str | None = None
    # Wall-clock limit per HTML page; past it the page is dead-lettered as `timeout`.
    html_time_limit_s: float = 5.0
    # Run HTML extraction in a killable child process (required for the time
    # limit). False extracts in-process with no limit: only for trusted input.
    isolate_html: bool = True
    # Pages longer than this (after dropping scripts/styles) are cut before parsing.
    html_max_chars: int = 1_000_000
    # Address-space cap of the extraction process, MiB (None: no cap).
    html_worker_memory_mb: int | None = 2048
