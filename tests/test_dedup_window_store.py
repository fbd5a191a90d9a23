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
        with_header(lambda h: h["sk"].update(lens=[1, 2])),  # payload length mismatch
        with_header(lambda h: h["sk"].update(order=[0, "x"])),
        with_header(lambda h: h.update(sk=None)),  # payload left over
        valid_value()[:-7],  # truncated payload
    ],
)
def test_malformed_values_are_codec_errors(value):
    with pytest.raises(EntryCodecError):
        decode_entry(value)


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
