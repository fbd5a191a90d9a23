"""The streaming window index (pure core): first-seen labels, replay, expiry."""

from __future__ import annotations

import pickle

from dedup_fixtures import boilerplate_added, correction_appended, read, reordered

from newsbeam.transforms.dedup.config import DAY_SECONDS, DedupConfig
from newsbeam.transforms.dedup.sketch import build_sketch
from newsbeam.transforms.dedup.stream_index import StreamIndex

CONFIG = DedupConfig(retention_seconds=7 * DAY_SECONDS)
T0 = 1_700_000_000.0
FLOOD = read("flood_barrier")


def _sketch(article_id: str, text: str):
    return build_sketch(article_id, text, None, CONFIG)


def test_first_seen_is_the_representative() -> None:
    index = StreamIndex(CONFIG)
    # The copy arrives first, even though its event time is later.
    first = index.observe(_sketch("copy", boilerplate_added(FLOOD)), T0 + 3600)
    second = index.observe(_sketch("orig", FLOOD), T0)
    assert first.label == {"status": "unique", "of": None, "similarity": None}
    assert second.label["status"] == "near" and second.label["of"] == "copy"
    assert 0.6 <= second.label["similarity"] < 1.0


def test_exact_copy_of_representative_and_of_a_near_member() -> None:
    index = StreamIndex(CONFIG)
    index.observe(_sketch("rep", FLOOD), T0)
    near = index.observe(_sketch("near", correction_appended(FLOOD)), T0 + 1)
    exact_of_rep = index.observe(_sketch("exact-rep", FLOOD.upper()), T0 + 2)
    exact_of_near = index.observe(_sketch("exact-near", correction_appended(FLOOD)), T0 + 3)
    assert exact_of_rep.label == {
        "status": "exact",
        "of": "rep",
        "similarity": 1.0,
        "containment": 1.0,
    }
    # Same text as a near duplicate: same representative, same similarity.
    assert exact_of_near.label == near.label
    assert near.label["of"] == "rep"


def test_replay_returns_the_first_label_and_changes_nothing() -> None:
    index = StreamIndex(CONFIG)
    index.observe(_sketch("rep", FLOOD), T0)
    first = index.observe(_sketch("copy", reordered(FLOOD)), T0 + 5)
    size, next_seq = len(index), index.next_seq
    replay = index.observe(_sketch("copy", reordered(FLOOD)), T0 + 50)
    assert replay.entry is None
    assert replay.label == first.label
    assert (len(index), index.next_seq) == (size, next_seq)
    # The representative replayed is still unique, not a duplicate of itself.
    assert index.observe(_sketch("rep", FLOOD), T0 + 60).label["status"] == "unique"


def test_chain_resolves_to_the_first_seen_representative() -> None:
    p = FLOOD.split("\n\n")
    a = "\n\n".join(p[:6])
    b = "\n\n".join(p[1:8])
    c = "\n\n".join(p[3:8] + [read("wheat_trial").split("\n\n")[0]])
    index = StreamIndex(CONFIG)
    index.observe(_sketch("a", a), T0)
    label_b = index.observe(_sketch("b", b), T0 + 1).label
    label_c = index.observe(_sketch("c", c), T0 + 2).label
    assert label_b["of"] == "a"
    assert label_c["status"] == "near" and label_c["of"] == "a"


def test_entries_expire_after_the_retention_window() -> None:
    index = StreamIndex(CONFIG)
    index.observe(_sketch("old", FLOOD), T0)
    # Within the window: still a duplicate.
    inside = index.observe(_sketch("inside", FLOOD + " Updated."), T0 + 6 * DAY_SECONDS)
    assert inside.label["of"] == "old"
    # Eight days later the original is gone; "inside" is still in the window.
    later = index.observe(_sketch("later", boilerplate_added(FLOOD)), T0 + 8 * DAY_SECONDS)
    assert "old" in later.expired and "old" not in index
    assert later.label["status"] == "near" and later.label["of"] == "old"  # via "inside"
    # Far later, everything before is gone and the text is new again.
    fresh = index.observe(_sketch("fresh", FLOOD), T0 + 30 * DAY_SECONDS)
    assert fresh.label["status"] == "unique"
    assert len(index) == 1


def test_window_size_stays_bounded_in_a_long_stream() -> None:
    config = DedupConfig(retention_seconds=10 * 3600)
    index = StreamIndex(config)
    texts = [read(name) for name in ("flood_barrier", "chip_results", "wheat_trial")]
    for i in range(300):  # one article an hour for 300 hours
        text = f"Bulletin {i}.\n\n" + texts[i % 3].replace("the", f"the{i}")
        index.observe(build_sketch(f"id-{i}", text, None, config), T0 + i * 3600)
        assert len(index) <= 11
        # Expired articles leave no LSH buckets behind (no per-bucket leak).
        assert len(index._buckets) <= len(index) * (config.bands + config.max_anchors)


def test_late_and_undated_articles() -> None:
    index = StreamIndex(CONFIG)
    index.observe(_sketch("now", read("chip_results")), T0 + 10 * DAY_SECONDS)
    # An article dated before the window is compared, labelled, then expired.
    late = index.observe(_sketch("late", FLOOD), T0)
    assert late.label["status"] == "unique"
    undated = index.observe(_sketch("undated", correction_appended(FLOOD)), None)
    assert undated.entry is not None and undated.entry.event_time == index.clock
    assert "late" not in index


def test_empty_texts_are_not_duplicates_of_each_other() -> None:
    index = StreamIndex(CONFIG)
    assert index.observe(_sketch("e1", ""), T0).label["status"] == "unique"
    assert index.observe(_sketch("e2", "  \n\n "), T0).label["status"] == "unique"


def test_restore_from_persisted_entries_continues_identically() -> None:
    texts = [
        ("a", FLOOD),
        ("b", read("chip_results")),
        ("c", reordered(FLOOD)),
        ("d", boilerplate_added(read("chip_results"))),
        ("e", FLOOD.lower()),
        ("f", read("wheat_trial")),
        ("g", correction_appended(FLOOD)),
        ("c", reordered(FLOOD)),
    ]
    straight = StreamIndex(CONFIG)
    expected = [straight.observe(_sketch(i, t), T0 + n).label for n, (i, t) in enumerate(texts)]

    persisted, labels = [], []
    index = StreamIndex(CONFIG)
    for n, (article_id, text) in enumerate(texts):
        if n % 3 == 2:  # a "new worker": rebuild from what was persisted (pickled)
            stored = pickle.loads(pickle.dumps(persisted))
            index = StreamIndex.restore(CONFIG, stored, index.clock, index.next_seq)
        observation = index.observe(_sketch(article_id, text), T0 + n)
        labels.append(observation.label)
        if observation.entry is not None:
            persisted.append(observation.entry)
    assert labels == expected


def test_hot_bucket_is_searched_through_its_latest_arrivals_only() -> None:
    """Many releases sharing one long footer: a new one is verified against a
    bounded number of them, and a copy of the latest is still found."""
    footer = read("pr_footer")
    briefs = [
        p
        for name in ("flood_barrier", "chip_results", "wheat_trial")
        for p in read(name).split("\n\n")
    ]

    def load(config: DedupConfig) -> StreamIndex:
        index = StreamIndex(config)
        for i, brief in enumerate(briefs[:12]):
            index.observe(build_sketch(f"r{i}", f"{brief}\n\n{footer}", None, config), T0 + i)
        return index

    new = f"{briefs[20]}\n\n{footer}"
    unbounded = DedupConfig(max_bucket_size=1000, max_anchor_bucket=1000)
    assert load(unbounded).observe(build_sketch("new", new, None, unbounded), T0).candidates == 12
    config = DedupConfig(max_bucket_size=3, hot_bucket_neighbours=2)
    index = load(config)
    fresh = index.observe(build_sketch("new", new, None, config), T0 + 50)
    assert fresh.label["status"] == "unique"
    # Band buckets give their 2 latest arrivals; the footer's anchors are stock
    # phrases (in more than 3 texts) and give none.
    assert fresh.candidates <= 6
    copy = index.observe(
        build_sketch("copy", f"Update: {briefs[20]}\n\n{footer}", None, config), T0 + 60
    )
    assert copy.label["status"] == "near" and copy.label["of"] == "new"
