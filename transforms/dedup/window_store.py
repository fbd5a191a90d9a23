"""Durable stream window: the store contract and the rebuild on start (pure, no Beam).

The stream dedup window lives in Beam state, which the local runner keeps in memory
only: a restart would start with an empty window. A `WindowStore` is an external,
durable copy of it, kept like a Kafka Streams changelog: one value per article id
(the encoded `StreamEntry`), a delete (tombstone) when an entry expires, and a
`flush()` that returns only once everything written is durable. The stream DoFn
flushes it before the bundle's records leave the stage, so every record the sinks
write -- and so every offset committed -- has its entry in the store.

On start the DoFn reads the store back (`load()`, oldest first: the last value of a
key wins) and `rebuild_window` turns it into the live window: entries of another
fingerprint version or that cannot be decoded are skipped (counted, never mixed in)
and entries already expired at the restored clock are dropped. Both are deleted
from the store so it does not carry them for ever.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from newsbeam.transforms.dedup.config import DedupConfig
from newsbeam.transforms.dedup.entry_codec import EntryCodecError, decode_entry
from newsbeam.transforms.dedup.stream_index import StreamEntry

LOG = logging.getLogger(__name__)

# A store's record: (article id, encoded entry) or (article id, None) for a delete.
StoreRecord = tuple[bytes | None, bytes | None]


class WindowStore(Protocol):
    def describe(self) -> str:
        """Where the window is kept, for log lines ("changelog topic 'x'")."""

    def load(self) -> Iterator[StoreRecord]:
        """Every stored record, oldest first."""

    def put(self, key: str, value: bytes) -> None: ...

    def delete(self, key: str) -> None: ...

    def flush(self) -> None:
        """Returns once every put and delete so far is durable; raises if it cannot be."""

    def close(self) -> None: ...


class WindowStoreFactory(Protocol):
    """Picklable settings of a store; the DoFn opens it on the worker (in setup)."""

    def open(self) -> WindowStore: ...


@dataclass
class RestoredWindow:
    """What a store held, sorted out: the live entries and what was left out."""

    entries: list[StreamEntry] = field(default_factory=list)
    records: int = 0
    expired: int = 0
    # reason -> count: "unreadable" (not an entry this code can decode),
    # "fingerprint_version" (sketches made with other parameters), "key_mismatch".
    skipped: dict[str, int] = field(default_factory=dict)
    # Keys whose stored value is not live (expired or skipped): to be deleted.
    stale_keys: list[str] = field(default_factory=list)
    clock: float = float("-inf")

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


def rebuild_window(records: Iterable[StoreRecord], config: DedupConfig) -> RestoredWindow:
    wanted = tuple(config.fingerprint_version)
    result = RestoredWindow()
    # key -> its entry, (reason, why) when it cannot be used, None when deleted. Values
    # are decoded as they are read, so the raw bytes of the whole topic are never held
    # next to the decoded window (the restore's peak memory).
    latest: dict[bytes, StreamEntry | tuple[str, str] | None] = {}
    for key, value in records:
        result.records += 1
        if key is None:  # not written by newsbeam: nothing to delete it by, ignore it
            _skip(result, "unreadable", None, "a record without a key")
            continue
        latest[key] = None if value is None else _decoded(key, value, wanted)
    live: list[StreamEntry] = []
    for key, item in latest.items():
        if item is None:
            continue  # deleted (expired before the restart)
        if isinstance(item, tuple):
            _skip(result, item[0], key.decode("utf-8", "replace"), item[1])
            continue
        live.append(item)
    del latest
    # The stream clock is the largest event time seen, and the article that set it
    # always has a live entry (it is the newest), so the entries give the clock back.
    result.clock = max((e.event_time for e in live), default=float("-inf"))
    horizon = result.clock - config.retention_seconds
    for entry in live:
        if entry.event_time < horizon:
            result.expired += 1
            result.stale_keys.append(entry.id)
        else:
            result.entries.append(entry)
    result.entries.sort(key=lambda e: e.seq)
    return result


def _decoded(key: bytes, value: bytes, wanted: tuple[int, ...]) -> StreamEntry | tuple[str, str]:
    try:
        version, entry = decode_entry(value)
    except EntryCodecError as exc:
        return "unreadable", str(exc)
    if version != wanted:
        return "fingerprint_version", f"version {version}, job uses {wanted}"
    if entry.id.encode() != key:
        return "key_mismatch", f"holds the entry of {entry.id!r}"
    return entry


def _skip(result: RestoredWindow, reason: str, key: str | None, why: str) -> None:
    count = result.skipped.get(reason, 0)
    result.skipped[reason] = count + 1
    if key is not None:
        result.stale_keys.append(key)
    if count < 3:  # a few examples, not one line per record of a foreign topic
        LOG.warning("dedup window store: skipped %s (%s): %s", key, reason, why)
