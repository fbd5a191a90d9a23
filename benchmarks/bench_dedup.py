"""Benchmark of the deduplicate stage: quality, batch speed, stream speed and state.

    python benchmarks/bench_dedup.py                      # 10k and 100k, everything
    python benchmarks/bench_dedup.py --sizes 10000 --stream-size 5000   # quicker

Prints:
1. Quality on generated articles with planted duplicates (synthetic_news.py):
   precision and recall of near-duplicate pairs (and of exact ones), recall
   per kind of edit, false positives per kind of hard negative.
2. Batch: articles/s of DeduplicateBatch on the DirectRunner against a
   baseline pipeline (same read/parse/write, no dedup) in the same run, at
   each size, and how time grows from the smallest size to the largest.
3. Stream: articles/s of DeduplicateStream on the DirectRunner (FnApiRunner)
   against the same baseline, and against a naive design that keeps the whole
   window in one ReadModifyWriteState (re-encoded on every article).
4. Stream state: window entries, bag entries and bytes after N articles with
   a 7-day retention (1,000 articles a day), i.e. that state stays bounded.

The machine is shared and noisy: compare the ratios, not the absolute rates.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import logging
import pickle
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.coders import PickleCoder
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from newsbeam.schemas.article import Article, Source  # noqa: E402
from newsbeam.transforms.dedup import DedupConfig, DeduplicateBatch, DeduplicateStream  # noqa: E402
from newsbeam.transforms.dedup import stream as stream_module  # noqa: E402
from newsbeam.transforms.dedup.config import DAY_SECONDS  # noqa: E402
from newsbeam.transforms.dedup.fingerprint import content_hash  # noqa: E402
from newsbeam.transforms.dedup.labels import event_time  # noqa: E402
from newsbeam.transforms.dedup.sketch import build_sketch  # noqa: E402
from newsbeam.transforms.dedup.stream_index import StreamIndex  # noqa: E402
from synthetic_news import NewsGenerator  # noqa: E402

# ---------------------------------------------------------------------------
# data


def write_dataset(path: Path, size: int, seed: int) -> list[dict[str, Any]]:
    generated = NewsGenerator(seed).generate(size)
    rows = [
        {"id": a.id, "text": a.text, "published_at": a.published_at, "cluster": a.cluster,
         "kind": a.kind, "event": a.event, "edits": a.edits}
        for a in generated
    ]
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row) + "\n")
    return rows


def to_article(line: str) -> Article:
    row = json.loads(line)
    return Article(
        id=row["id"], source=Source(kind="file", uri="bench.jsonl"), raw=line, text=row["text"],
        published_at=row["published_at"], ingested_at=row["published_at"],
    )


def label_line(article: Article) -> str:
    d = article.duplicate
    return json.dumps([article.id, article.content_hash, d["status"], d["of"], d["similarity"]])


# ---------------------------------------------------------------------------
# pipelines


def _options() -> PipelineOptions:
    return PipelineOptions(["--runner=DirectRunner"])


def run_pipeline(source: Path, out_prefix: Path, stage: beam.PTransform | None) -> float:
    """Read JSONL -> Article -> [stage] -> label lines; returns wall seconds."""
    start = time.perf_counter()
    with beam.Pipeline(options=_options()) as pipeline:
        articles = pipeline | "Read" >> beam.io.ReadFromText(str(source)) | beam.Map(to_article)
        if stage is not None:
            articles = articles | "Stage" >> stage
        else:  # the baseline does the same per-article work around the stage
            articles = articles | "Hash" >> beam.Map(
                lambda a: a.replace(content_hash=content_hash(a.text))
            )
        _ = (
            articles
            | beam.Map(label_line)
            | beam.io.WriteToText(str(out_prefix), num_shards=1, shard_name_template="")
        )
    return time.perf_counter() - start


def read_labels(path: Path) -> dict[str, tuple]:
    labels = {}
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            article_id, digest, status, of, sim = json.loads(line)
            labels[article_id] = (digest, status, of, sim)
    return labels


# ---------------------------------------------------------------------------
# quality


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def evaluate(rows: list[dict[str, Any]], labels: dict[str, tuple]) -> dict[str, Any]:
    """Pairwise precision/recall of the predicted clusters against the planted ones.

    predicted cluster of x = duplicate.of (or x itself when unique)
    near pair  = two articles in one cluster whose normalised texts differ
    exact pair = two articles in one cluster with the same content hash
    """
    truth = {r["id"]: r["cluster"] for r in rows}
    digest = {i: labels[i][0] for i in truth}
    predicted = {i: (labels[i][2] or i) for i in truth}

    def cluster_pairs(assign: dict[str, str]) -> tuple[int, int]:
        groups: dict[str, list[str]] = collections.defaultdict(list)
        for i, c in assign.items():
            groups[c].append(i)
        near = exact = 0
        for members in groups.values():
            same_hash = collections.Counter(digest[m] for m in members)
            exact_pairs = sum(_pairs(k) for k in same_hash.values())
            exact += exact_pairs
            near += _pairs(len(members)) - exact_pairs
        return near, exact

    predicted_near, predicted_exact = cluster_pairs(predicted)
    truth_near, truth_exact = cluster_pairs(truth)
    tp_near = tp_exact = 0
    by_truth: dict[str, list[str]] = collections.defaultdict(list)
    for i, c in truth.items():
        by_truth[c].append(i)
    for members in by_truth.values():
        for a, b in itertools.combinations(members, 2):
            if predicted[a] == predicted[b]:
                if digest[a] == digest[b]:
                    tp_exact += 1
                else:
                    tp_near += 1

    # Recall per edit kind: is each planted copy in its original's predicted cluster?
    per_edit: dict[str, list[bool]] = collections.defaultdict(list)
    for r in rows:
        if r["kind"] == "near_copy" and r["cluster"] in predicted:
            found = predicted[r["id"]] == predicted[r["cluster"]]
            for edit in r["edits"]:
                per_edit[edit].append(found)
    # False positives per kind of hard negative (articles wrongly put in another's cluster).
    wrong: collections.Counter[str] = collections.Counter()
    for r in rows:
        of = labels[r["id"]][2]
        if of is not None and truth.get(of) != r["cluster"]:
            wrong[r["kind"]] += 1
    statuses = collections.Counter(labels[i][1] for i in truth)
    return {
        "near_precision": tp_near / predicted_near if predicted_near else 1.0,
        "near_recall": tp_near / truth_near if truth_near else 1.0,
        "near_pairs": (tp_near, predicted_near, truth_near),
        "exact_precision": tp_exact / predicted_exact if predicted_exact else 1.0,
        "exact_recall": tp_exact / truth_exact if truth_exact else 1.0,
        "per_edit_recall": {k: (sum(v) / len(v), len(v)) for k, v in sorted(per_edit.items())},
        "wrong_links_by_kind": dict(wrong),
        "statuses": dict(statuses),
    }


def print_quality(name: str, rows: list[dict[str, Any]], result: dict[str, Any]) -> None:
    kinds = collections.Counter(r["kind"] for r in rows)
    print(f"\n== quality: {name}, {len(rows):,} articles {dict(kinds)}")
    tp, predicted, truth = result["near_pairs"]
    print(f"near duplicates: precision {result['near_precision']:.4f} "
          f"recall {result['near_recall']:.4f}  (pairs: {tp:,} correct of {predicted:,} "
          f"predicted, {truth:,} planted)")
    print(f"exact duplicates: precision {result['exact_precision']:.4f} "
          f"recall {result['exact_recall']:.4f}")
    print("labels:", result["statuses"])
    print("recall of planted copies by edit:",
          ", ".join(f"{k} {v[0]:.3f} (n={v[1]})" for k, v in result["per_edit_recall"].items()))
    print("articles linked to a wrong cluster, by kind:", result["wrong_links_by_kind"] or "none")


# ---------------------------------------------------------------------------
# stream state


class _Bag:
    def __init__(self) -> None:
        self.items: list = []

    def read(self) -> list:
        return list(self.items)

    def add(self, item: Any) -> None:
        self.items.append(item)

    def clear(self) -> None:
        self.items = []


class _Value:
    def __init__(self) -> None:
        self.value = None

    def read(self) -> Any:
        return self.value

    def write(self, value: Any) -> None:
        self.value = value


def stream_state_growth(total: int, per_day: int, seed: int, checkpoints: list[int]) -> None:
    """Feed the stream DoFn (with in-memory state) a long stream and size its state."""
    print(f"\n== stream state: {total:,} articles, {per_day:,}/day of event time, "
          "retention 7 days")
    config = DedupConfig()
    fn = stream_module.DeduplicateStreamFn(config)
    fn.setup()
    bag, meta = _Bag(), _Value()
    generator = NewsGenerator(seed + 1)
    start_ts = 1_704_067_200.0  # 2024-01-01
    seen = 0
    started = time.perf_counter()
    print(f"{'articles seen':>14} {'window':>8} {'bag entries':>12} {'bag MB':>8} "
          f"{'bytes/entry':>12} {'articles/s':>11}")
    while seen < total:
        batch = generator.generate(min(5000, total - seen))
        for g in batch:
            ts = start_ts + seen * DAY_SECONDS / per_day
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
            article = Article(id=g.id, source=Source(kind="kafka", uri="t"), raw="", text=g.text,
                              published_at=stamp, ingested_at=stamp)
            for _ in fn.process((stream_module.STREAM_KEY, article), entries=bag,
                                meta_state=meta):
                pass
            seen += 1
            if seen in checkpoints:
                elapsed = time.perf_counter() - started
                size = sum(len(pickle.dumps(e, protocol=pickle.HIGHEST_PROTOCOL))
                           for e in bag.items)
                window = len(fn._mirrors[stream_module.STREAM_KEY][1])
                print(f"{seen:>14,} {window:>8,} {len(bag.items):>12,} {size / 1e6:>8.1f} "
                      f"{size / max(1, len(bag.items)):>12,.0f} {seen / elapsed:>11,.0f}")


# ---------------------------------------------------------------------------
# naive stream state, for comparison only


class NaiveStreamFn(beam.DoFn):
    """The whole window index in one ReadModifyWriteState, read and written per article."""

    INDEX = ReadModifyWriteStateSpec("index", PickleCoder())

    def __init__(self, config: DedupConfig) -> None:
        self._config = config

    def process(self, element, index_state=beam.DoFn.StateParam(INDEX)):  # noqa: B008
        _, article = element
        index = index_state.read() or StreamIndex(self._config)
        sketch = build_sketch(article.id, article.text, article.published_at, self._config)
        observation = index.observe(sketch, event_time(article.published_at, article.ingested_at))
        index_state.write(index)
        yield article.replace(content_hash=sketch.content_hash, duplicate=observation.label)


class NaiveDeduplicateStream(beam.PTransform):
    def __init__(self, config: DedupConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, articles):
        return (articles | beam.Map(lambda a: ("k", a))
                | beam.ParDo(NaiveStreamFn(self._config)))


# ---------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--stream-size", type=int, default=10_000)
    parser.add_argument("--naive-sizes", type=int, nargs="+", default=[1_000, 3_000])
    parser.add_argument("--state-total", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-dedup-"))
    workdir.mkdir(parents=True, exist_ok=True)
    config = DedupConfig()
    print(f"config: {config}")

    batch_times: dict[int, tuple[float, float]] = {}
    for size in args.sizes:
        source = workdir / f"articles-{size}.jsonl"
        started = time.perf_counter()
        rows = write_dataset(source, size, args.seed)
        print(f"\ngenerated {size:,} articles in {time.perf_counter() - started:.1f} s "
              f"({source.stat().st_size / 1e6:.0f} MB)")
        baseline = run_pipeline(source, workdir / f"baseline-{size}.jsonl", None)
        dedup = run_pipeline(source, workdir / f"batch-{size}.jsonl", DeduplicateBatch(config))
        batch_times[size] = (baseline, dedup)
        print(f"batch {size:,}: baseline {size / baseline:,.0f} articles/s, "
              f"DeduplicateBatch {size / dedup:,.0f} articles/s "
              f"(dedup pipeline takes {dedup / baseline:.1f}x the baseline)")
        print_quality(f"DeduplicateBatch, {size:,}", rows,
                      evaluate(rows, read_labels(workdir / f"batch-{size}.jsonl")))

    if len(batch_times) > 1:
        small, large = min(batch_times), max(batch_times)
        growth = large / small
        print(f"\n== batch cost growth {small:,} -> {large:,} articles (x{growth:.0f}): "
              f"baseline time x{batch_times[large][0] / batch_times[small][0]:.1f}, "
              f"dedup time x{batch_times[large][1] / batch_times[small][1]:.1f} "
              f"(linear would be x{growth:.0f})")

    # Stream on the local runner, in event-time order.
    size = args.stream_size
    source = workdir / f"stream-{size}.jsonl"
    rows = write_dataset(source, size, args.seed + 2)
    ordered = sorted(rows, key=lambda r: r["published_at"])
    with source.open("w", encoding="utf-8") as out:
        for row in ordered:
            out.write(json.dumps(row) + "\n")
    baseline = run_pipeline(source, workdir / f"stream-baseline-{size}.jsonl", None)
    streamed = run_pipeline(source, workdir / f"stream-{size}.out.jsonl",
                            DeduplicateStream(config))
    print(f"\n== stream on the DirectRunner, {size:,} articles: baseline {size / baseline:,.0f} "
          f"articles/s, DeduplicateStream {size / streamed:,.0f} articles/s "
          f"({streamed / baseline:.1f}x the baseline)")
    print_quality(f"DeduplicateStream, {size:,} (first-seen order may differ from time order)",
                  rows, evaluate(rows, read_labels(workdir / f"stream-{size}.out.jsonl")))

    print("\n== naive stream state (whole window in one ReadModifyWriteState) vs bag + "
          "in-memory index")
    for n in args.naive_sizes:
        src = workdir / f"naive-{n}.jsonl"
        with src.open("w", encoding="utf-8") as out:
            for row in ordered[:n]:
                out.write(json.dumps(row) + "\n")
        ours = run_pipeline(src, workdir / f"naive-ours-{n}.jsonl", DeduplicateStream(config))
        naive = run_pipeline(src, workdir / f"naive-{n}.out.jsonl",
                             NaiveDeduplicateStream(config))
        print(f"{n:>6,} articles: DeduplicateStream {n / ours:,.0f} articles/s, naive "
              f"{n / naive:,.0f} articles/s (naive takes {naive / ours:.1f}x as long)")

    checkpoints = sorted({c for c in (1_000, 5_000, 7_000, 10_000, 15_000, 20_000, 30_000,
                                      50_000, 100_000) if c <= args.state_total}
                         | {args.state_total})
    stream_state_growth(args.state_total, 1_000, args.seed, checkpoints)
    print(f"\nworkdir: {workdir}")
    return 0


if __name__ == "__main__":
    logging.getLogger("apache_beam").setLevel(logging.ERROR)
    sys.exit(main())
