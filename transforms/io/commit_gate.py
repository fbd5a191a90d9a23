"""CommitGate: source offsets are committed only once every record behind them is durable.

The Kafka source commits a bundle's offsets from Beam's bundle finalizer, which runs after
the fused sinks have flushed in `finish_bundle`. That is enough for sinks that make a
bundle's records durable before the bundle ends (Kafka, PostgreSQL, one file per bundle).
A *rolling* file sink keeps a file open across many bundles and makes its records durable
only when it closes and renames the file; committing at the end of each bundle would let a
crash lose every record of the open file. The gate sits between the two:

- a holder (a rolling file sink) calls `hold()` when it opens a file and `release()` once
  that file is final;
- the source's finalizer calls `commit(fn)` instead of committing: `fn` runs at once when
  no file that was open when the records were written is still open, else it waits until
  the holders release, then runs in order.

Order is tracked with one process-wide counter (an epoch per event), not clocks: a commit
offered at epoch e waits for every hold taken before e. Holds taken later do not block it
(those files only hold records of later bundles). It is conservative across threads: a
commit also waits for files that another bundle thread opened earlier.

Per process, which is where the fused source and sinks live on the local runner (and in
each SDK worker on other runners). A holder that disappears without releasing (its DoFn
garbage-collected after a failure) is dropped from the gate (weak references), so it can
never block commits forever; its records were not committed and are read again on restart.
"""

from __future__ import annotations

import itertools
import logging
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)


class Hold:
    """One open file's claim on the gate (keep a reference while the file is open)."""

    __slots__ = ("__weakref__", "epoch", "name")

    def __init__(self, epoch: int, name: str) -> None:
        self.epoch = epoch
        self.name = name


@dataclass
class CommitGate:
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _epochs: itertools.count = field(default_factory=itertools.count)
    _holds: weakref.WeakSet = field(default_factory=weakref.WeakSet)
    # (epoch offered, commit) in offer order
    _waiting: list[tuple[int, Callable[[], object]]] = field(default_factory=list)

    def hold(self, name: str = "") -> Hold:
        """Records written from now on are not durable until `release(hold)`."""
        with self._lock:
            hold = Hold(next(self._epochs), name)
            self._holds.add(hold)
            return hold

    def release(self, hold: Hold) -> None:
        """The hold's file is final: run the commits that were only waiting for it."""
        with self._lock:
            self._holds.discard(hold)
            ready = self._ready_locked()
        self._run(ready)

    def commit(self, fn: Callable[[], object]) -> bool:
        """Run `fn` once every record written before now is durable; True if it ran now."""
        with self._lock:
            self._waiting.append((next(self._epochs), fn))
            # Also runs older commits whose holder disappeared without releasing.
            ready = self._ready_locked()
        self._run(ready)
        return bool(ready) and ready[-1] is fn

    @property
    def waiting(self) -> int:
        """Commits held back by open files."""
        with self._lock:
            return len(self._waiting)

    def _ready_locked(self) -> list[Callable[[], object]]:
        oldest_hold = min((hold.epoch for hold in self._holds), default=None)
        ready = []
        while self._waiting and (oldest_hold is None or self._waiting[0][0] < oldest_hold):
            ready.append(self._waiting.pop(0)[1])
        return ready

    @staticmethod
    def _run(commits: list[Callable[[], object]]) -> None:
        for fn in commits:
            try:
                fn()
            except Exception:  # a failed commit means redelivery, never loss: keep going
                logger.warning("offset commit failed", exc_info=True)


_PROCESS_GATE = CommitGate()


def commit_gate() -> CommitGate:
    """The process-wide gate shared by the sources and the rolling sinks of this process."""
    return _PROCESS_GATE
