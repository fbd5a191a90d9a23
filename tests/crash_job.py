"""`newsbeam stream` with a SIGKILL planted at one point of the durable window's write path.

    python tests/crash_job.py POINT N [newsbeam stream options...]

POINT is where the process kills itself, at the N-th bundle that writes to the dedup
changelog (the local runner runs every DoFn in this process, so patching the classes
here patches the job):

- before:       at the first changelog write of the N-th batch (nothing of it sent)
- during:       two writes of the N-th (or a later, larger) batch acknowledged by the
                broker, the rest of the bundle not yet processed
- after_flush:  the N-th batch flushed, its articles not yet emitted to the sinks
- after_commit: right after the N-th offset commit (records written and committed)

Used by tests/test_dedup_changelog.py; not part of the package.
"""

from __future__ import annotations

import os
import signal
import sys

from newsbeam import cli
from newsbeam.transforms.io.kafka import changelog, offsets

POINT, N = sys.argv[1], int(sys.argv[2])
POINTS = ("before", "during", "after_flush", "after_commit")
if POINT not in POINTS:
    raise SystemExit(f"POINT must be one of {POINTS}")

_flushes = 0
_commits = 0
_flush = changelog.KafkaChangelog.flush
_put = changelog.KafkaChangelog.put
_commit = offsets.OffsetCommitter.commit


def _die() -> None:
    sys.stderr.write(f"crash_job: SIGKILL {POINT} {N}\n")
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def put(self, key: str, value: bytes) -> None:
    if POINT == "before" and _flushes == N - 1 and not self._pending:
        _die()
    _put(self, key, value)
    if POINT == "during" and _flushes >= N - 1 and len(self._pending) == 2:
        self._producer.flush(timeout=30)
        _die()


def flush(self) -> None:
    global _flushes
    if self._pending:
        _flushes += 1
    _flush(self)
    if POINT == "after_flush" and _flushes == N:
        _die()


def commit(self, tp, next_offset: int) -> bool:
    global _commits
    done = _commit(self, tp, next_offset)
    _commits += 1
    if POINT == "after_commit" and _commits == N:
        _die()
    return done


changelog.KafkaChangelog.put = put
changelog.KafkaChangelog.flush = flush
offsets.OffsetCommitter.commit = commit

if __name__ == "__main__":
    sys.exit(cli.main(["stream", *sys.argv[3:]]))
