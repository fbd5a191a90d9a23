"""batch_labels: DeduplicateBatch's answers in one process, over sketches only."""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from dedup_fixtures import boilerplate_added, read, shortened
from test_dedup_pipeline import BATCH_INPUT, FLOOD, _article, _expected_batch

from newsbeam.transforms.dedup import DedupConfig, DeduplicateBatch
from newsbeam.transforms.dedup.batch_core import batch_labels
from newsbeam.transforms.dedup.labels import unique_label
from newsbeam.transforms.dedup.sketch import build_sketch


def _labelled(articles, config: DedupConfig) -> list[tuple]:
    sketches = [build_sketch(a.id, a.text or "", a.published_at, config) for a in articles]
    labels, _ = batch_labels(sketches, config)
    hashes = {s.id: s.content_hash for s in sketches}
    rows = []
    for article in articles:
        label = labels.get(article.id) or unique_label()
        rows.append(
            (article.id, hashes[article.id], label["status"], label["of"], label["similarity"])
        )
    return rows


def test_same_labels_as_the_beam_job_on_its_fixture() -> None:
    # Chains resolved to the earliest, exact copies of a non-representative labelled
    # near the representative, replayed ids, empty texts: tests/test_dedup_pipeline.py.
    assert sorted(_labelled(BATCH_INPUT, DedupConfig())) == sorted(_expected_batch())


def test_counts_replays_candidates_and_verified_pairs() -> None:
    config = DedupConfig()
    sketches = [build_sketch(a.id, a.text or "", a.published_at, config) for a in BATCH_INPUT]
    _, stats = batch_labels(sketches, config)
    assert stats.replayed_id == 1  # "chips" twice
    assert stats.verified_pairs >= 4 and stats.candidate_pairs >= stats.verified_pairs


def _hot_and_contained() -> list:
    # 12 copies of one text in one bucket (oversized with max_bucket_size=2: neighbours
    # only), a shortened wire copy (found by anchors), and an unrelated article.
    copies = [
        _article(
            f"c{i:02d}", FLOOD + f"\n\nUpdate {i}: more details.", f"2024-05-01T{i:02d}:00:00Z"
        )
        for i in range(12)
    ]
    chips = read("chip_results")
    return [
        *copies,
        _article("chips-long", boilerplate_added(chips), "2024-05-02T00:00:00Z"),
        _article("chips-short", shortened(chips), "2024-05-03T00:00:00Z"),
        _article("wheat", read("wheat_trial"), None),
    ]


def test_same_labels_and_counters_as_the_beam_job_with_hot_buckets() -> None:
    config = DedupConfig(max_bucket_size=2, hot_bucket_neighbours=1)
    articles = _hot_and_contained()
    pipeline = TestPipeline()
    labelled = pipeline | beam.Create(articles) | DeduplicateBatch(config)
    expected = _labelled(articles, config)
    assert {row[2] for row in expected} >= {"unique", "near", "contained"}
    assert_that(
        labelled
        | beam.Map(
            lambda a: (
                a.id,
                a.content_hash,
                a.duplicate["status"],
                a.duplicate["of"],
                a.duplicate["similarity"],
            )
        ),
        equal_to(expected),
    )
    result = pipeline.run()
    result.wait_until_finish()
    sketches = [build_sketch(a.id, a.text or "", a.published_at, config) for a in articles]
    _, stats = batch_labels(sketches, config)
    counters = {
        c.key.metric.name: c.committed
        for c in result.metrics().query(MetricsFilter().with_namespace("newsbeam.dedup"))[
            "counters"
        ]
    }
    for name, value in stats.counters().items():
        assert counters.get(name) == value, name
    assert stats.oversized_bucket > 0


def test_candidate_keys_split_into_values_and_kinds_as_one_key_at_a_time() -> None:
    from newsbeam.transforms.dedup.batch_core import _kind, _split_keys

    band, anchor, opening = b"\x01" * 8, b"a" + bytes(range(8)), b"l" + bytes(range(8, 16))
    for keys in ((anchor, opening, anchor), (band, anchor, opening), (band, band)):
        values, kinds = _split_keys(keys)
        assert kinds.tolist() == [_kind(k) for k in keys]
        assert values.tolist() == [int.from_bytes(k[-8:], "little") for k in keys]
    # A 9-byte key with a zero prefix is not a candidate key, on either path.
    for keys in ((b"\x00" + bytes(8), anchor), (b"\x00" + bytes(8), band)):
        with pytest.raises(ValueError, match="unexpected candidate key"):
            _split_keys(keys)
    # Lengths that add up to nine bytes a key are still checked one by one.
    with pytest.raises(ValueError, match="unexpected candidate key"):
        _split_keys((band, b"a" * 10))


@pytest.mark.parametrize(
    "config",
    [
        DedupConfig(),
        # Small buckets: most are hot (neighbours only); anchors count towards pairs.
        DedupConfig(max_bucket_size=3, hot_bucket_neighbours=2, max_anchor_bucket=4),
    ],
    ids=["defaults", "small-buckets"],
)
def test_candidate_pairs_are_the_beam_jobs_bucket_pairs(config: DedupConfig) -> None:
    # The index pairs every bucket at once with array operations; the Beam job goes
    # bucket by bucket (`_weighted_pairs`). Same pairs and counts on the generated
    # corpus: copies (exact, near, shortened) among same-event reports, replayed ids.
    import sys
    from collections import defaultdict
    from pathlib import Path

    from newsbeam.transforms.dedup.batch import _weighted_pairs
    from newsbeam.transforms.dedup.batch_core import BatchDedupStats, _Index
    from newsbeam.transforms.dedup.sketch import is_anchor

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from synthetic_news import NewsGenerator

    articles = NewsGenerator(3).generate(1500)
    sketches = [build_sketch(a.id, a.text, a.published_at, config) for a in articles]
    sketches += [build_sketch(a.id, a.text + " Updated.", None, config) for a in articles[:40]]
    index, stats = _Index(), BatchDedupStats()
    for number, sketch in enumerate(sketches):
        index.add(sketch, number, stats)
    # The index numbers the versions it kept (a replay's lower version replaces one).
    kept = {
        number: sketches[location]
        for number, location in enumerate(index.locations)
        if index.alive[number]
    }
    buckets = defaultdict(list)
    for sketch in kept.values():
        for key in sketch.bands:
            buckets[key].append((sketch.order, sketch.content_hash))
    weights: dict[tuple[str, str], int] = defaultdict(int)
    stock = oversized = 0
    for key, members in buckets.items():
        texts = len({digest for _, digest in members})
        stock += is_anchor(key) and texts > config.max_anchor_bucket
        oversized += not is_anchor(key) and texts > config.max_bucket_size
        for pair, weight in _weighted_pairs((key, members), config):
            weights[pair] += weight
    expected = sorted(p for p, w in weights.items() if w >= config.min_shared_anchors)

    firsts, seconds = index.candidate_pairs(config, stats)
    ids = [(kept[a].id, kept[b].id) for a, b in zip(firsts.tolist(), seconds.tolist(), strict=True)]
    assert sorted(ids) == expected and len(expected) > 100
    assert (stats.stock_phrase_anchor, stats.oversized_bucket) == (stock, oversized)
    assert stats.replayed_id == 40 and stock > 0
    if config.max_bucket_size == 3:
        assert oversized > 0
