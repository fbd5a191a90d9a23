"""A liveness signal for long-running jobs: a file touched while bundles complete.

A streaming job on the local runner keeps finishing bundles even when no
message arrives (the Kafka source re-schedules itself), so "a bundle finished
recently" means "the pipeline is alive". `pipelines.heartbeat.Heartbeat`
touches the file as bundles finish, at most once per `interval_s`; a container
liveness probe checks the file's age with
`python -m newsbeam.pipelines.health PATH --max-age SECONDS` (exit 0 = fresh).
This module stays free of Beam so that the probe starts in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

DEFAULT_INTERVAL_S = 10.0


class HealthFile:
    """Touch `path` at most every `interval_s` seconds (Beam-free core)."""

    def __init__(
        self,
        path: str,
        interval_s: float = DEFAULT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self.interval_s = interval_s
        self._clock = clock
        self._last: float | None = None

    def beat(self) -> bool:
        """Touch the file if the last touch is older than the interval; True if touched."""
        now = self._clock()
        if self._last is not None and now - self._last < self.interval_s:
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()
        self._last = now
        return True


def is_fresh(path: str, max_age_s: float, now: float | None = None) -> bool:
    """True if `path` exists and was touched within `max_age_s` seconds."""
    try:
        modified = os.path.getmtime(path)
    except OSError:
        return False
    return (time.time() if now is None else now) - modified <= max_age_s


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m newsbeam.pipelines.health",
        description="Exit 0 if the health file was touched recently, 1 otherwise.",
    )
    parser.add_argument("path")
    parser.add_argument("--max-age", type=float, default=60.0, metavar="SECONDS")
    args = parser.parse_args(argv)
    return 0 if is_fresh(args.path, args.max_age) else 1


if __name__ == "__main__":
    sys.exit(main())
