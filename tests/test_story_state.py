"""The stream's durable story state without Beam or a broker: the records written per
article, the rebuild on start, what it skips, expires and deletes (state_store.py,
state_codec.py). A store here is the list of records a compacted topic would hand
back, oldest first."""

from __future__ import annotations

import pickle
import random
from dataclasses import replace

import orjson
import pytest

from newsbeam.transforms.story import state_store
from newsbeam.transforms.story.clusterer import StoryIndex
from newsbeam.transforms.story.config import StoryConfig
from newsbeam.transforms.story.state_codec import (
    MAGIC,
    LabelRecord,
    StateCodecError,
    StoryRecord,
    decode,
    encode,
    state_version,
)
from newsbeam.transforms.story.state_store import StateChanges, restore_stories

CONFIG = StoryConfig(window_days=1.0)


@pytest.fixture(autouse=True)
def small_snapshots(monkeypatch):
    # Several frequency snapshots, each in several chunks, within a few hundred articles.
    monkeypatch.setattr(state_store, "SNAPSHOT_EVERY", 40)
    monkeypatch.setattr(state_store, "CHUNK_TERMS", 25)


def feed(n: int, seed: int = 3) -> list[tuple[str, float, dict[str, float], str | None]]:
    """(id, time, terms, duplicate of): 30 events, each with words of its own and
    shared ones, 12 articles an hour (stories expire with a 1-day window), some
    duplicates of an earlier article and some replayed ids."""
    rng = random.Random(seed)
    shared = [f"common{k}" for k in range(60)]
    out: list[tuple[str, float, dict[str, float], str | None]] = []
    for i in range(n):
        event = rng.randrange(30) + 30 * (i // 150)  # new events as time goes on
        own = [f"e{event}w{k}" for k in range(12)]
        terms = {w: 1.0 + rng.random() for w in rng.sample(own, 8) + rng.sample(shared, 5)}
        time = i * 300.0
        if out and rng.random() < 0.08:  # a replay: the same id again
            first = out[rng.randrange(max(0, len(out) - 30), len(out))]
            out.append((first[0], time, first[2], first[3]))
            continue
        duplicate = out[-1][0] if out and rng.random() < 0.1 else None
        out.append((f"a{i}", time, terms, duplicate))
    return out


def step(index: StoryIndex, changes: StateChanges, item) -> tuple[str, float]:
    article_id, time, terms, duplicate = item
    documents = index.frequencies.documents
    assignment = index.assign(article_id, time, terms, duplicate)
    new = index.frequencies.documents != documents
    changes.record(
        index,
        article_id,
        terms,
        assignment.story_id,
        assignment.similarity,
        new_evidence=new,
        new_label=new or assignment.inherited,
    )
    return assignment.story_id, assignment.similarity


def run(index, changes, store, items, bundle: int = 7):
    labels = []
    for start in range(0, len(items), bundle):
        labels += [step(index, changes, item) for item in items[start : start + bundle]]
        store += [(k.encode(), v) for k, v in changes.take(index)]
        changes.flushed()
    return labels


def restart(store, config=CONFIG):
    restored = restore_stories(list(store), config)
    changes = StateChanges(config)
    changes.adopt(restored)
    return restored, changes


def live(store) -> dict[bytes, bytes]:
    latest: dict[bytes, bytes | None] = {}
    for key, value in store:
        latest[key] = value
    return {k: v for k, v in latest.items() if v is not None}


# The window alone, and with at most 8 stories open (the cap then closes most).
@pytest.mark.parametrize("config", [CONFIG, replace(CONFIG, max_active_stories=8)])
def test_a_restored_job_labels_exactly_as_one_that_never_stopped(config):
    items = feed(600)
    uninterrupted = StoryIndex(config)
    expected = [uninterrupted.assign(i, t, terms, d)[:2] for i, t, terms, d in items]
    assert (uninterrupted.evicted > 100) == (config.max_active_stories == 8)

    store: list = []
    index, changes = StoryIndex(config, expired_log=[]), StateChanges(config)
    labels = []
    for start, end in ((0, 130), (130, 333), (333, 600)):  # two restarts
        labels += run(index, changes, store, items[start:end])
        restored, changes = restart(store, config)
        assert restored.skipped_total == 0
        index = restored.index
    assert labels == expected
    # The restored state is the state itself (one stored, one rebuilt).
    assert index.clock == uninterrupted.clock
    assert index.frequencies.documents == uninterrupted.frequencies.documents
    assert index.frequencies.counts == uninterrupted.frequencies.counts
    assert {s.id: (s.centroid, s.size, s.last_time) for s in index.stories.values()} == {
        s.id: (s.centroid, s.size, s.last_time) for s in uninterrupted.stories.values()
    }
    assert index.labels == uninterrupted.labels
    assert index.expired == uninterrupted.expired > 0
    assert restored.deltas and restored.snapshot is not None


def test_the_store_holds_the_active_stories_one_snapshot_and_recent_deltas():
    items = feed(600)
    store: list = []
    index = StoryIndex(CONFIG, expired_log=[])
    run(index, StateChanges(CONFIG), store, items)
    keys = {k.decode() for k in live(store)}
    assert {k[2:] for k in keys if k.startswith("s:")} == set(index.stories)
    assert {k[2:] for k in keys if k.startswith("a:")} == set(index.labels)
    snapshots = {k.split(":")[1] for k in keys if k.startswith("f:")}
    assert len(snapshots) == 1
    deltas = [int(k[2:]) for k in keys if k.startswith("d:")]
    assert all(int(next(iter(snapshots))) < n <= index.frequencies.documents for n in deltas)
    assert len(deltas) < state_store.SNAPSHOT_EVERY
    assert "m" in keys


def test_foreign_corrupt_and_other_version_records_are_skipped_counted_and_deleted():
    items = feed(200)
    store: list = []
    index = StoryIndex(CONFIG, expired_log=[])
    expected_next = run(index, StateChanges(CONFIG), store, items)
    other = replace(CONFIG, token_prefix=5)
    story = StoryRecord("x1", [("quake", 0.5)], 1, items[-1][1])
    hostile = [
        (None, b"no key"),
        (b"s:bogus", b"not ours at all"),
        (b"s:pickled", pickle.dumps({"id": "pickled"})),
        (b"s:x1", encode(story, state_version(other))),  # made with other parameters
        (b"a:y1", MAGIC + bytes([9]) + b"{}"),  # a format from the future
        (b"a:y2", MAGIC + bytes([1]) + b'{"v": [1], "k": "a", "s": 5'),  # truncated
        (b"d:99999", encode(LabelRecord("a1", 1.0), state_version(CONFIG))),  # wrong kind
        (b"s:zz", encode(replace(story, id="a3"), state_version(CONFIG))),  # wrong key
        (b"f:1:0", MAGIC + bytes([1]) + orjson.dumps({"v": state_version(CONFIG), "k": "f"})),
    ]
    # Interleaved with the job's own records, not only appended.
    mixed = store[:50] + hostile + store[50:]
    restored = restore_stories(mixed, CONFIG)
    assert restored.skipped == {"unreadable": 8, "state_version": 1}
    stale = set(restored.stale_keys)
    assert {k.decode() for k, _ in hostile if k is not None} <= stale
    # What the job wrote itself is all restored.
    clean = restore_stories(store, CONFIG)
    assert set(restored.index.stories) == set(clean.index.stories) == set(index.stories)
    assert restored.index.labels == index.labels
    assert restored.index.frequencies.counts == index.frequencies.counts
    assert expected_next


def test_stories_out_of_the_window_at_the_restored_clock_expire_and_are_deleted():
    items = feed(300)
    store: list = []
    index = StoryIndex(CONFIG, expired_log=[])
    run(index, StateChanges(CONFIG), store, items)
    # Restarted with a 2-hour window: most stories are older than that at the clock.
    narrow = replace(CONFIG, window_days=2 / 24)
    restored, changes = restart(store, narrow)
    horizon = index.clock - narrow.window_seconds
    assert restored.index.clock == index.clock
    assert set(restored.index.stories) == {
        s.id for s in index.stories.values() if s.last_time >= horizon
    }
    gone = set(index.stories) - set(restored.index.stories)
    assert restored.expired == len(gone) > 0
    members = {m for s in gone for m in index.stories[s].members}
    assert {f"s:{s}" for s in gone} | {f"a:{m}" for m in members} <= set(restored.stale_keys)
    # Written back as tombstones with the next bundle.
    deletes = {k for k, v in changes.take(restored.index) if v is None}
    assert {f"s:{s}" for s in gone} <= deletes
    assert not any(m in restored.index.labels for m in members)


def test_a_lower_cap_at_restart_closes_the_oldest_stories_and_deletes_them():
    items = feed(600)
    store: list = []
    index = StoryIndex(CONFIG, expired_log=[])
    run(index, StateChanges(CONFIG), store, items)
    assert len(index.stories) > 5
    restored, changes = restart(store, replace(CONFIG, max_active_stories=5))
    newest = sorted(index.stories.values(), key=lambda s: (s.last_time, s.id))[-5:]
    assert set(restored.index.stories) == {s.id for s in newest}
    gone = set(index.stories) - set(restored.index.stories)
    assert restored.expired == len(gone) and restored.index.evicted == len(gone)
    deletes = {k for k, v in changes.take(restored.index) if v is None}
    assert {f"s:{s}" for s in gone} <= deletes


def test_a_snapshot_cut_short_by_a_kill_falls_back_to_the_previous_one():
    items = feed(200)
    store: list = []
    index = StoryIndex(CONFIG, expired_log=[])
    changes = StateChanges(CONFIG)
    run(index, changes, store, items[:150])
    # The next bundle writes a new snapshot; the job dies with only part of it sent
    # (and before the old snapshot and its deltas were deleted).
    for item in items[150:200]:
        step(index, changes, item)
    taken = changes.take(index)
    chunks = [k for k, _ in taken if k.startswith("f:")]
    assert len(chunks) > 1
    cut = [(k.encode(), v) for k, v in taken if k != chunks[-1]]
    restored = restore_stories(store + cut, CONFIG)
    assert restored.index.frequencies.counts == index.frequencies.counts
    assert restored.index.frequencies.documents == index.frequencies.documents
    assert {k for k in chunks[:-1]} <= set(restored.stale_keys)


def test_codec_round_trip_and_checks():
    version = state_version(CONFIG)
    story = StoryRecord("id-1", [("b", 0.25), ("a", 0.5)], 3, 1.7e9)
    assert decode("s:id-1", encode(story, version)) == (version, story)
    with pytest.raises(StateCodecError, match="holds the story"):
        decode("s:other", encode(story, version))
    with pytest.raises(StateCodecError, match="under the key"):
        decode("a:id-1", encode(story, version))
    with pytest.raises(StateCodecError, match="finite"):
        encode(replace(story, last_time=float("nan")), version)
