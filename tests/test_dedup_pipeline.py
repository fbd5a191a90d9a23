"""DeduplicateBatch and DeduplicateStream on the DirectRunner."""

from __future__ import annotations

import dataclasses

import apache_beam as beam
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from dedup_fixtures import (
    boilerplate_added,
    character_noise,
    correction_appended,
    read,
    reordered,
    roundup_pair,
    shortened,
    statement_pair,
    whitespace_and_unicode_changed,
    with_headline,
)

from newsbeam.schemas.article import Article, Source
from newsbeam.transforms.dedup import DedupConfig, DeduplicateBatch, DeduplicateStream
from newsbeam.transforms.dedup import stream as stream_module
from newsbeam.transforms.dedup.config import DAY_SECONDS
from newsbeam.transforms.dedup.fingerprint import content_hash
from newsbeam.transforms.dedup.labels import unique_label
from newsbeam.transforms.dedup.minhash import ALGORITHM_VERSION
from newsbeam.transforms.dedup.similarity import similarity
from newsbeam.transforms.dedup.sketch import build_sketch

SOURCE = Source(kind="file", uri="test.jsonl", line=1)
FLOOD = read("flood_barrier")
CHIPS = read("chip_results")
WHEAT = read("wheat_trial")
# A chain: A~B and B~C are near duplicates, A and C are not (a running story
# whose later versions drop old paragraphs and add new ones).
_p = (read("strike_translation_a") + "\n\n" + read("strike_translation_b")).split("\n\n")
CHAIN_A = "\n\n".join(_p[:6])
CHAIN_B = "\n\n".join(_p[1:8])
CHAIN_C = "\n\n".join(_p[3:9])


def _article(article_id: str, text: str, published_at: str | None = None) -> Article:
    return Article(
        id=article_id,
        source=SOURCE,
        raw=text,
        text=text,
        published_at=published_at,
        ingested_at="2024-06-30T12:00:00Z",
    )


def _summary(article: Article) -> tuple:
    d = article.duplicate
    return (article.id, article.content_hash, d["status"], d["of"], d["similarity"])


def _jaccard(a: str, b: str) -> float:
    config = DedupConfig()
    value = similarity(build_sketch("a", a, None, config), build_sketch("b", b, None, config))
    return round(value, 6)


def test_chain_fixture_is_a_chain() -> None:
    assert _jaccard(CHAIN_A, CHAIN_B) >= 0.6 and _jaccard(CHAIN_B, CHAIN_C) >= 0.6
    assert _jaccard(CHAIN_A, CHAIN_C) < 0.6


BATCH_INPUT = [
    _article("flood-orig", FLOOD, "2024-05-01T08:00:00Z"),
    _article("flood-boiler", boilerplate_added(FLOOD), "2024-05-01T07:30:00+00:00"),
    _article("flood-unicode", whitespace_and_unicode_changed(FLOOD), "2024-05-02T00:00:00Z"),
    _article("flood-fix", correction_appended(FLOOD), None),
    _article("chips", CHIPS, "2024-05-01T00:00:00Z"),
    _article("chips-copy", CHIPS, "2024-05-01T00:00:00Z"),  # same time: tie by id
    _article("chips", CHIPS, "2024-05-01T00:00:00Z"),  # replayed id
    _article("wheat", WHEAT, None),
    _article("wheat-rewrite", read("flood_barrier_rewrite"), None),
    _article("chain-c", CHAIN_C, "2024-04-01T00:00:00Z"),
    _article("chain-b", CHAIN_B, "2024-04-02T00:00:00Z"),
    _article("chain-a", CHAIN_A, "2024-04-03T00:00:00Z"),
    _article("empty-1", ""),
    _article("empty-2", "   "),
]


def _expected_batch() -> list[tuple]:
    h = {a.id: content_hash(a.text) for a in BATCH_INPUT}
    unique = ("unique", None, None)
    near_boiler = ("near", "flood-boiler", _jaccard(FLOOD, boilerplate_added(FLOOD)))
    labels = {
        "flood-boiler": unique,
        "flood-orig": near_boiler,
        "flood-unicode": near_boiler,  # exact copy of flood-orig, not of the representative
        "flood-fix": (
            "near",
            "flood-boiler",
            _jaccard(correction_appended(FLOOD), boilerplate_added(FLOOD)),
        ),
        "chips": unique,
        "chips-copy": ("exact", "chips", 1.0),
        "wheat": unique,
        "wheat-rewrite": unique,
        "chain-c": unique,
        "chain-b": ("near", "chain-c", _jaccard(CHAIN_B, CHAIN_C)),
        # Resolved to the chain's representative, with its measured similarity to it.
        "chain-a": ("near", "chain-c", _jaccard(CHAIN_A, CHAIN_C)),
        "empty-1": unique,
        "empty-2": unique,
    }
    return [(a.id, h[a.id], *labels[a.id]) for a in BATCH_INPUT]


@pytest.mark.slow
def test_batch_labels_counters_and_replays() -> None:
    pipeline = TestPipeline()
    labelled = pipeline | beam.Create(BATCH_INPUT) | DeduplicateBatch(DedupConfig())
    assert_that(labelled | beam.Map(_summary), equal_to(_expected_batch()))
    # The replayed id comes out twice as the very same record.
    distinct_records = (
        labelled
        | beam.Map(lambda a: (a.id, repr(a.to_record(pipeline_version="t"))))
        | beam.Distinct()
        | beam.combiners.Count.PerKey()
        | beam.Filter(lambda kv: kv[1] > 1)
    )
    assert_that(distinct_records, equal_to([]), label="ReplayIdentical")
    result = pipeline.run()
    result.wait_until_finish()
    counters = {
        c.key.metric.name: c.committed
        for c in result.metrics().query(MetricsFilter().with_namespace("newsbeam.dedup"))[
            "counters"
        ]
    }
    assert counters["unique"] == 8  # incl. both copies of the replayed "chips"
    assert counters["exact"] == 1
    assert counters["near"] == 5
    assert counters["replayed_id"] == 1


@pytest.mark.slow
def test_batch_oversized_bucket_still_links_its_members() -> None:
    """With a tiny bucket cap, members are paired with their next neighbour
    only; a cluster of copies still ends up in one cluster."""
    copies = [
        _article(
            f"c{i:02d}",
            FLOOD + f"\n\nUpdate {i}: more details to follow.",
            f"2024-05-01T{i:02d}:00:00Z",
        )
        for i in range(12)
    ]
    pipeline = TestPipeline()
    labelled = (
        pipeline
        | beam.Create(copies)
        | DeduplicateBatch(DedupConfig(max_bucket_size=2, hot_bucket_neighbours=1))
    )
    assert_that(
        labelled | beam.Map(lambda a: (a.id, a.duplicate["of"])),
        equal_to([("c00", None)] + [(f"c{i:02d}", "c00") for i in range(1, 12)]),
    )
    result = pipeline.run()
    result.wait_until_finish()
    oversized = result.metrics().query(MetricsFilter().with_name("oversized_bucket"))["counters"]
    assert oversized and oversized[0].committed > 0


def _stream_options() -> PipelineOptions:
    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = True
    return options


@pytest.mark.slow
def test_stream_labels_in_arrival_order_with_replay_and_expiry() -> None:
    day = "2024-05-0{}T12:00:00Z"
    arrivals = [
        _article("s-boiler", boilerplate_added(FLOOD), day.format(1)),
        _article("s-orig", FLOOD, day.format(1)),  # earlier text, but arrives second
        _article("s-reorder", reordered(FLOOD), day.format(2)),
        _article("s-exact", FLOOD.upper(), day.format(2)),
        _article("s-chips", CHIPS, day.format(3)),
        _article("s-orig", FLOOD, day.format(1)),  # replay after a restart
        # Five days later, with a 3-day window, the flood story has expired.
        _article("s-late", correction_appended(FLOOD), day.format(8)),
    ]
    stream = TestStream(coder=beam.coders.PickleCoder())
    for article in arrivals:
        stream = stream.add_elements([article])
    stream = stream.advance_watermark_to_infinity()
    sim = _jaccard(FLOOD, boilerplate_added(FLOOD))
    expected = [
        ("s-boiler", "unique", None, None),
        ("s-orig", "near", "s-boiler", sim),
        ("s-reorder", "near", "s-boiler", sim),
        ("s-exact", "near", "s-boiler", sim),  # same text as s-orig
        ("s-chips", "unique", None, None),
        ("s-orig", "near", "s-boiler", sim),
        ("s-late", "unique", None, None),
    ]
    config = DedupConfig(retention_seconds=3 * DAY_SECONDS)
    with TestPipeline(options=_stream_options()) as pipeline:
        labelled = pipeline | stream | DeduplicateStream(config)
        assert_that(labelled | beam.Map(lambda a: (a.id, *_summary(a)[2:])), equal_to(expected))
        assert_that(
            labelled | "Hashes" >> beam.Map(lambda a: a.content_hash == content_hash(a.text)),
            equal_to([True] * len(arrivals)),
            label="HashesSet",
        )


class _Bag:
    def __init__(self) -> None:
        self.items: list = []
        self.reads = 0

    def read(self):
        self.reads += 1
        return list(self.items)

    def add(self, item) -> None:
        self.items.append(item)

    def clear(self) -> None:
        self.items = []


class _Value:
    def __init__(self) -> None:
        self.value = None

    def read(self):
        return self.value

    def write(self, value) -> None:
        self.value = value


def _run_fn(fns, articles, bag, meta):
    out = []
    for n, article in enumerate(articles):
        fn = fns[n % len(fns)]
        out.extend(fn.process((stream_module.STREAM_KEY, article), entries=bag, meta_state=meta))
    return [(a.id, a.duplicate) for a in out]


def _stream_articles(count: int) -> list[Article]:
    texts = [FLOOD, CHIPS, WHEAT, boilerplate_added(FLOOD), reordered(CHIPS)]
    return [
        _article(
            f"id-{i}",
            texts[i % 5] + f"\n\nItem {i // 5}.",
            f"2024-05-{1 + i // 8:02d}T{i % 8:02d}:00:00Z",
        )
        for i in range(count)
    ]


def test_stream_fn_state_is_shared_correctly_between_workers(monkeypatch) -> None:
    """Two DoFn instances taking turns on one key's state (as when a key moves
    between workers) give the same labels as one instance; the in-memory
    index is used only while the stored token matches, and the bag is
    compacted so it never holds more than 2x the window + slack."""
    monkeypatch.setattr(stream_module, "COMPACTION_SLACK", 4)
    config = DedupConfig(retention_seconds=DAY_SECONDS)
    articles = _stream_articles(60)
    articles.insert(30, articles[25])  # a replay

    single = stream_module.DeduplicateStreamFn(config)
    single.setup()
    bag, meta = _Bag(), _Value()
    expected = _run_fn([single], articles, bag, meta)
    assert bag.reads == 0  # one worker: the bag is never read back
    assert any(label["status"] != "unique" for _, label in expected)

    first = stream_module.DeduplicateStreamFn(config)
    second = stream_module.DeduplicateStreamFn(config)
    first.setup()
    second.setup()
    shared_bag, shared_meta = _Bag(), _Value()
    assert _run_fn([first, second], articles, shared_bag, shared_meta) == expected
    assert shared_bag.reads > 0  # each switch rebuilt from state

    live = len(single._mirrors[stream_module.STREAM_KEY][1])
    assert len(bag.items) <= 2 * live + 4 + 1
    assert meta.value.bag_entries == len(bag.items)


def test_bucket_pairs_all_pairs_then_neighbours_and_one_copy_per_text() -> None:
    from newsbeam.transforms.dedup.batch import _bucket_pairs

    def node(i: int, digest: str) -> tuple:
        return ((False, float(i), f"id{i}"), digest)

    small = [node(3, "h3"), node(1, "h1"), node(2, "h1"), node(4, "h4")]  # id2 copies id1
    assert sorted(_bucket_pairs((b"k", small), 3, 1)) == [
        ("id1", "id3"),
        ("id1", "id4"),
        ("id3", "id4"),
    ]
    hot = [node(i, f"h{i}") for i in range(6)]
    assert list(_bucket_pairs((b"k", hot), 3, 2)) == [
        ("id0", "id1"),
        ("id0", "id2"),
        ("id1", "id2"),
        ("id1", "id3"),
        ("id2", "id3"),
        ("id2", "id4"),
        ("id3", "id4"),
        ("id3", "id5"),
        ("id4", "id5"),
    ]


def test_stream_fn_resets_state_written_with_other_sketch_parameters() -> None:
    articles = _stream_articles(6)
    old = stream_module.DeduplicateStreamFn(DedupConfig(shingle_size=5))
    old.setup()
    bag, meta = _Bag(), _Value()
    _run_fn([old], articles[:5], bag, meta)
    assert len(bag.items) == 5
    new = stream_module.DeduplicateStreamFn(DedupConfig())
    new.setup()
    labels = _run_fn([new], [articles[0]], bag, meta)
    # Not compared with (nor a replay of) sketches made with 5-word shingles.
    assert labels == [("id-0", unique_label())]
    assert len(bag.items) == 1
    assert meta.value.fingerprint_version == DedupConfig().fingerprint_version


class _FileLines(beam.transforms.core.RestrictionProvider):
    def initial_restriction(self, path: str):
        from apache_beam.io.restriction_trackers import OffsetRange

        with open(path, encoding="utf-8") as lines:
            return OffsetRange(0, sum(1 for _ in lines))

    def create_tracker(self, restriction):
        from apache_beam.io.restriction_trackers import OffsetRestrictionTracker

        return OffsetRestrictionTracker(restriction)

    def restriction_size(self, path, restriction):
        return restriction.size()


_LINES = beam.DoFn.RestrictionParam(_FileLines())


class _UnboundedArticles(beam.DoFn):
    """An unbounded splittable source (as the Kafka reader): 2 articles a bundle."""

    @beam.DoFn.unbounded_per_element()
    def process(self, path: str, tracker=_LINES):
        import json

        from apache_beam.utils.timestamp import Duration

        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
        start = tracker.current_restriction().start
        end = min(start + 2, len(lines))
        for position in range(start, end):
            if not tracker.try_claim(position):
                return
            row = json.loads(lines[position])
            yield _article(row["id"], row["text"], row["published_at"])
        if end >= len(lines):
            tracker.try_claim(len(lines))
            return
        tracker.defer_remainder(Duration(0))


@pytest.mark.slow
def test_stream_after_an_unbounded_source_on_the_fnapi_runner(tmp_path) -> None:
    """The streaming path the pipeline uses: unbounded SDF -> DeduplicateStream
    on the DirectRunner's FnApiRunner (no GroupByKey, no timers needed)."""
    import json

    rows = [
        ("u-orig", FLOOD, "2024-05-01T08:00:00Z"),
        ("u-chips", CHIPS, "2024-05-01T09:00:00Z"),
        ("u-copy", boilerplate_added(FLOOD), "2024-05-01T10:00:00Z"),
        ("u-exact", FLOOD.upper(), "2024-05-01T11:00:00Z"),
        ("u-orig", FLOOD, "2024-05-01T08:00:00Z"),  # replayed
    ]
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        "".join(json.dumps({"id": i, "text": t, "published_at": p}) + "\n" for i, t, p in rows)
    )
    sim = _jaccard(FLOOD, boilerplate_added(FLOOD))
    with TestPipeline(options=_stream_options()) as pipeline:
        labelled = (
            pipeline
            | beam.Create([str(feed)])
            | beam.ParDo(_UnboundedArticles())
            | DeduplicateStream(DedupConfig())
        )
        assert_that(
            labelled | beam.Map(lambda a: (a.id, *_summary(a)[2:])),
            equal_to(
                [
                    ("u-orig", "unique", None, None),
                    ("u-chips", "unique", None, None),
                    ("u-copy", "near", "u-orig", sim),
                    ("u-exact", "exact", "u-orig", 1.0),
                    ("u-orig", "unique", None, None),
                ]
            ),
        )


def _containment_input() -> list[Article]:
    """Time-ordered (first seen = earliest published), so batch and stream must agree."""
    report, statement_brief = statement_pair()
    roundup, parking = roundup_pair()
    texts = [
        ("orig", FLOOD),
        ("wire-cut", shortened(FLOOD, 3)),  # contained in orig
        ("noisy", character_noise(FLOOD)),  # near
        ("cut-noisy", with_headline(character_noise(shortened(FLOOD, 4), seed=9), "Gates")),
        ("summary", read("flood_barrier_summary")),  # own words: unique
        ("report", report),
        ("statement-brief", statement_brief),  # prints the report's statement: unique
        ("roundup", roundup),
        ("parking", parking),  # inside the round-up word for word: unique
        ("chips", CHIPS),
        ("chips-cut-copy", shortened(CHIPS, 3)),
        ("chips-cut-exact", shortened(CHIPS, 3)),  # exact copy of a contained member
        ("chips-full", CHIPS + "\n\n" + EXTRA_CHIPS),  # longer version of chips: near
    ]
    return [
        _article(name, text, f"2024-06-01T{hour:02d}:00:00Z")
        for hour, (name, text) in enumerate(texts)
    ]


EXTRA_CHIPS = (
    "Analysts at two brokerages raised their price targets after the call, citing the order "
    "backlog for data-centre parts, although both warned that the memory business remains "
    "exposed to a fall in smartphone demand in the second half of the year."
)


def _labels(articles) -> dict[str, dict]:
    return {a.id: a.duplicate for a in articles}


@pytest.mark.slow
def test_containment_labels_are_the_same_in_batch_and_stream(tmp_path) -> None:
    articles = _containment_input()
    config = DedupConfig()
    # Stream: the DoFn in arrival order, with in-memory state.
    fn = stream_module.DeduplicateStreamFn(config)
    fn.setup()
    streamed = {}
    bag, meta = _Bag(), _Value()
    for article in articles:
        for out in fn.process((stream_module.STREAM_KEY, article), entries=bag, meta_state=meta):
            streamed[out.id] = out.duplicate
    status = {k: (v["status"], v["of"]) for k, v in streamed.items()}
    assert status == {
        "orig": ("unique", None),
        "wire-cut": ("contained", "orig"),
        "noisy": ("near", "orig"),
        "cut-noisy": ("contained", "orig"),
        "summary": ("unique", None),
        "report": ("unique", None),
        "statement-brief": ("unique", None),
        "roundup": ("unique", None),
        "parking": ("unique", None),
        "chips": ("unique", None),
        "chips-cut-copy": ("contained", "chips"),
        "chips-cut-exact": ("contained", "chips"),
        "chips-full": ("near", "chips"),
    }
    assert streamed["chips-cut-exact"] == streamed["chips-cut-copy"]
    assert streamed["wire-cut"]["similarity"] < 0.6 <= streamed["wire-cut"]["containment"]
    # Batch: the same labels, values included.
    pipeline = TestPipeline()
    labelled = pipeline | beam.Create(articles) | DeduplicateBatch(config)
    assert_that(
        labelled | beam.Map(lambda a: (a.id, a.duplicate)),
        equal_to(sorted(streamed.items())),
    )
    pipeline.run().wait_until_finish()


def test_stream_state_of_the_previous_sketch_version_is_refused_not_mixed() -> None:
    """State written before containment (fingerprint version 1: a 5-tuple without
    the sketch format) is dropped with a warning; its entries never meet new sketches."""
    articles = _stream_articles(6)
    fn = stream_module.DeduplicateStreamFn(DedupConfig())
    fn.setup()
    bag, meta = _Bag(), _Value()
    _run_fn([fn], articles[:5], bag, meta)
    # Relabel the stored state as the previous release's.
    previous = (ALGORITHM_VERSION, 4, 32, 4, 1)  # (rensa, shingle size, bands, rows, seed)
    meta.value = dataclasses.replace(meta.value, token=b"old", fingerprint_version=previous)
    fresh = stream_module.DeduplicateStreamFn(DedupConfig())
    fresh.setup()
    labels = _run_fn([fresh], [articles[0]], bag, meta)
    assert labels == [("id-0", unique_label())]  # not a replay of the old id-0
    assert len(bag.items) == 1
    assert meta.value.fingerprint_version == DedupConfig().fingerprint_version
