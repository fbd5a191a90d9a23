"""The durable stream window's pure parts: the entry codec and the rebuild on start.

The changelog topic is data anyone with write access can produce: every malformed
value must be a clean EntryCodecError, never an exception from deep inside, and the
rebuild must skip (and count) what it cannot use instead of mixing it in.
"""

from __future__ import annotations

import dataclasses
import struct

import orjson
import pytest
from dedup_fixtures import boilerplate_added, correction_appended, read

from newsbeam.transforms.dedup.config import DedupConfig
from newsbeam.transforms.dedup.entry_codec import (
    FORMAT,
    MAGIC,
    EntryCodecError,
    decode_entry,
    encode_entry,
)
from newsbeam.transforms.dedup.sketch import build_sketch
from newsbeam.transforms.dedup.stream_index import StreamIndex
from newsbeam.transforms.dedup.window_store import rebuild_window

CONFIG = DedupConfig(retention_seconds=3600.0)
FP = CONFIG.fingerprint_version
T0 = 1_780_000_000.0
FLOOD = read("flood_barrier")
CHIPS = read("chip_results")


def observed(index: StreamIndex, article_id: str, text: str, t: float):
    return index.observe(build_sketch(article_id, text, None, CONFIG), t)


def window_entries():
    """A window with every kind of entry: unique with sketch, near, exact, empty, short."""
    index = StreamIndex(CONFIG)
    observed(index, "rep", FLOOD, T0)
    observed(index, "near", correction_appended(FLOOD), T0 + 1)
    observed(index, "exact", FLOOD, T0 + 2)
    observed(index, "empty", "", T0 + 3)
    observed(index, "short", "Markets closed higher on Friday.", T0 + 4)
    observed(index, "chips", CHIPS, T0 + 5)
    return index.entries()


def test_every_kind_of_entry_round_trips_exactly():
    entries = window_entries()
    assert {e.label["status"] for e in entries} == {"unique", "near", "exact"}
    assert any(e.sketch is None for e in entries) and any(e.sketch for e in entries)
    for entry in entries:
        version, decoded = decode_entry(encode_entry(entry, FP))
        assert version == FP
        assert decoded == entry  # dataclass equality: every field, sketch bytes included


def test_restored_index_labels_like_the_original():
    entries = window_entries()
    original = StreamIndex.restore(CONFIG, entries, T0 + 5, 0)
    values = [(e.id.encode(), encode_entry(e, FP)) for e in entries]
    window = rebuild_window(values, CONFIG)
    restored = StreamIndex.restore(CONFIG, window.entries, window.clock, 0)
    for article_id, text in [
        ("new-copy", boilerplate_added(FLOOD)),
        ("new-exact", correction_appended(FLOOD)),
        ("near", "replayed id: its stored label, whatever the text"),
    ]:
        a = observed(original, article_id, text, T0 + 10)
        b = observed(restored, article_id, text, T0 + 10)
        assert a.label == b.label
    assert observed(restored, "new-copy-2", boilerplate_added(FLOOD), T0 + 11).label["of"] == "rep"


def valid_value() -> bytes:
    return encode_entry(window_entries()[0], FP)


def with_header(change) -> bytes:
    value = valid_value()
    length = struct.unpack_from("<I", value, 4)[0]
    header = orjson.loads(value[8 : 8 + length])
    change(header)
    body = orjson.dumps(header)
    return value[:4] + struct.pack("<I", len(body)) + body + value[8 + length :]


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"NBW",
        b"not a window entry at all, just text someone produced",
        orjson.dumps({"id": "x", "label": "unique"}),  # JSON, but not ours
        b"\x80\x04\x95" + b"\x00" * 20,  # a pickle: refused by the magic, never loaded
        MAGIC + bytes([FORMAT + 1]) + b"\x00\x00\x00\x00",  # a future format
        MAGIC + bytes([FORMAT]) + struct.pack("<I", 10_000) + b"{}",  # truncated header
        MAGIC + bytes([FORMAT]) + struct.pack("<I", 5) + b"{bad}",  # bad JSON
        with_header(lambda h: h.pop("seq")),
        with_header(lambda h: h.update(label={"status": "maybe", "of": None, "similarity": None})),
        with_header(lambda h: h.update(label="unique")),
        with_header(lambda h: h.update(t=None)),
        with_header(lambda h: h.update(seq="1")),
        with_header(lambda h: h.update(fp="v1")),
        with_header(lambda h: h["sk"].update(lead=1)),  # payload length mismatch
        with_header(lambda h: h["sk"].update(bands=-1)),
        with_header(lambda h: h["sk"].pop("band_width")),
        with_header(lambda h: h["sk"].update(band_width=0, bands=3)),
        with_header(lambda h: h["sk"].update(order=[0, "x"])),
        with_header(lambda h: h.update(sk=None)),  # payload left over
        valid_value()[:-7],  # truncated payload
    ],
)
def test_malformed_values_are_codec_errors(value):
    with pytest.raises(EntryCodecError):
        decode_entry(value)


def test_sketch_without_band_keys_round_trips():
    entry = next(e for e in window_entries() if e.sketch is not None)
    entry = dataclasses.replace(entry, sketch=entry.sketch.without_bands())
    assert decode_entry(encode_entry(entry, FP))[1] == entry


def test_non_finite_event_time_is_refused_on_encode():
    entry = dataclasses.replace(window_entries()[0], event_time=float("inf"))
    with pytest.raises(EntryCodecError):
        encode_entry(entry, FP)


def records(entries, version=FP):
    return [(e.id.encode(), encode_entry(e, version)) for e in entries]


def test_rebuild_last_value_wins_tombstones_remove_and_clock_is_restored():
    entries = window_entries()
    stream = records(entries)
    stream.append((b"chips", None))  # deleted after it was written
    stream += records([entries[0]])  # the same value twice: still one entry
    window = rebuild_window(stream, CONFIG)
    assert [e.id for e in window.entries] == ["rep", "near", "exact", "empty", "short"]
    assert window.records == len(entries) + 2
    assert window.clock == T0 + 4  # the newest live entry
    assert (window.expired, window.skipped, window.stale_keys) == (0, {}, [])


def test_rebuild_drops_entries_expired_at_the_restored_clock():
    entries = window_entries()
    late = StreamIndex(CONFIG)
    new = observed(late, "later", CHIPS.upper(), T0 + CONFIG.retention_seconds + 2).entry
    new = dataclasses.replace(new, seq=100, rep_seq=100)  # arrived after the others
    window = rebuild_window(records(entries) + records([new]), CONFIG)
    # Horizon = T0 + 2: rep (T0) and near (T0 + 1) are out, exact (T0 + 2) stays.
    assert [e.id for e in window.entries] == ["exact", "empty", "short", "chips", "later"]
    assert window.expired == 2
    assert sorted(window.stale_keys) == ["near", "rep"]


def test_rebuild_skips_and_counts_what_it_cannot_use():
    entries = window_entries()
    other = (9, *FP[1:])
    stream = records(entries[:2])
    stream += records(entries[2:4], version=other)  # another fingerprint version
    stream.append((b"garbage", b"written by someone else"))
    stream.append((None, b"no key"))
    stream.append((b"impostor", encode_entry(entries[4], FP)))  # key != entry id
    window = rebuild_window(stream, CONFIG)
    assert [e.id for e in window.entries] == ["rep", "near"]
    assert window.skipped == {"fingerprint_version": 2, "unreadable": 2, "key_mismatch": 1}
    assert window.skipped_total == 5
    # Everything skipped that has a key is deleted from the store afterwards.
    assert sorted(window.stale_keys) == ["empty", "exact", "garbage", "impostor"]


def test_rebuild_of_an_empty_store():
    window = rebuild_window([], CONFIG)
    assert (window.entries, window.records, window.expired) == ([], 0, 0)
    index = StreamIndex.restore(CONFIG, window.entries, window.clock, 0)
    assert len(index) == 0
    assert observed(index, "a", FLOOD, T0).label["status"] == "unique"


# -- the stream DoFn with a store (no broker: a store in memory) ---------------------------


class MemoryStore:
    """A WindowStore in a list, recording the order of writes and flushes."""

    def __init__(self, records=()) -> None:
        self.records = list(records)
        self.events: list[str] = []
        self.unflushed = 0

    def describe(self) -> str:
        return "memory"

    def load(self):
        return iter(list(self.records))

    def put(self, key, value) -> None:
        self.records.append((key.encode(), value))
        self.events.append(f"put {key}")
        self.unflushed += 1

    def delete(self, key) -> None:
        self.records.append((key.encode(), None))
        self.events.append(f"delete {key}")
        self.unflushed += 1

    def flush(self) -> None:
        self.events.append("flush")
        self.unflushed = 0

    def close(self) -> None:
        pass


class MemoryStoreFactory:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def open(self) -> MemoryStore:
        return self.store


class Value:
    def __init__(self) -> None:
        self.value = None

    def read(self):
        return self.value

    def write(self, value) -> None:
        self.value = value


class Bag(list):
    def read(self):
        return list(self)

    def add(self, item) -> None:
        self.append(item)


def article(article_id: str, text: str, published_at: str):
    from newsbeam.schemas.article import Article, Source

    return Article(
        id=article_id,
        source=Source(kind="kafka", uri="kafka:raw", topic="raw"),
        raw=text,
        text=text,
        published_at=published_at,
        ingested_at="2026-06-30T12:00:00Z",
    )


def run_bundle(fn, articles, bag, meta, store):
    from apache_beam.transforms.window import GlobalWindow
    from apache_beam.utils.timestamp import Timestamp

    from newsbeam.transforms.dedup.stream import STREAM_KEY

    fn.start_bundle()
    for a in articles:
        emitted = list(
            fn.process(
                (STREAM_KEY, a),
                entries=bag,
                meta_state=meta,
                timestamp=Timestamp(1),
                window=GlobalWindow(),
            )
        )
        assert emitted == [], "nothing may leave before the store is flushed"
    out = []
    for windowed in fn.finish_bundle():
        assert store.unflushed == 0, "an article left before its entry was flushed"
        out.append(windowed.value)
    return {a.id: a.duplicate for a in out}


def test_stream_fn_restores_from_the_store_and_flushes_before_emitting():
    from newsbeam.transforms.dedup.stream import DeduplicateStreamFn

    config = DedupConfig(retention_seconds=3600.0)
    first_run = MemoryStore()
    fn = DeduplicateStreamFn(config, MemoryStoreFactory(first_run))
    fn.setup()
    labels = run_bundle(
        fn,
        [
            article("orig", FLOOD, "2026-06-01T10:00:00Z"),
            article("c1", CHIPS, "2026-06-01T10:10:00Z"),
        ],
        Bag(),
        Value(),
        first_run,
    )
    assert labels["orig"]["status"] == "unique"
    assert first_run.events == ["put orig", "put c1", "flush"]

    # A new process (empty Beam state): the window comes back from the store.
    restarted = DeduplicateStreamFn(config, MemoryStoreFactory(first_run))
    restarted.setup()
    labels = run_bundle(
        restarted,
        [
            article("copy", boilerplate_added(FLOOD), "2026-06-01T10:20:00Z"),
            article("orig", "a replayed id keeps its label", "2026-06-01T10:21:00Z"),
            # 70 minutes after orig: it and c1 expire (deleted from the store).
            article("late", read("wheat_trial"), "2026-06-01T11:11:00Z"),
        ],
        Bag(),
        Value(),
        first_run,
    )
    assert labels["copy"]["status"] == "near" and labels["copy"]["of"] == "orig"
    assert labels["orig"]["status"] == "unique"
    assert first_run.events[3:] == [
        "put copy",
        "delete orig",
        "delete c1",
        "put late",
        "flush",
    ]


def test_stream_fn_prefers_state_the_runner_restored():
    from newsbeam.transforms.dedup.stream import DeduplicateStreamFn

    config = DedupConfig(retention_seconds=3600.0)
    bag, meta = Bag(), Value()
    plain = DeduplicateStreamFn(config)
    plain.setup()
    list(plain.process(("k", article("orig", FLOOD, "2026-06-01T10:00:00Z")), bag, meta))
    # The store holds another window; the key already has Beam state: the state wins.
    other = StreamIndex(CONFIG)
    observed(other, "stored", boilerplate_added(FLOOD), T0)
    store = MemoryStore(records(other.entries()))
    fn = DeduplicateStreamFn(config, MemoryStoreFactory(store))
    fn.setup()
    labels = run_bundle(
        fn, [article("copy", correction_appended(FLOOD), "2026-06-01T10:05:00Z")], bag, meta, store
    )
    assert labels["copy"]["of"] == "orig"
