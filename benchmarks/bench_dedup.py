"""Benchmark of the deduplicate stage: quality, batch speed, stream speed and state.

    python benchmarks/bench_dedup.py                      # 10k and 100k, everything
    python benchmarks/bench_dedup.py --sizes 10000 --stream-size 5000   # quicker
    python benchmarks/bench_dedup.py --before 8eb6d2f     # + the stage at a commit, same run
    python benchmarks/bench_dedup.py --sketch-only --before cda4e66   # sketch cost only (~1 min)

Prints:
1. Quality on generated articles with planted duplicates (synthetic_news.py):
   precision and recall of near-duplicate pairs (and of exact ones), recall
   per kind of edit, false positives per kind of hard negative.
2. Batch: articles/s of DeduplicateBatch on the DirectRunner against a
   baseline pipeline (same read/parse/write, no dedup) in the same run, at
   each size, and how time grows from the smallest size to the largest.
3. Stream: articles/s of DeduplicateStream after an unbounded source on the
   DirectRunner (FnApiRunner, streaming, small bundles) against the same
   source without dedup, and against a naive design that keeps the whole
   window in one ReadModifyWriteState (re-encoded on every bundle).
4. Stream state: window entries, bag entries and bytes after N articles with
   a 7-day retention (1,000 articles a day), i.e. that state stays bounded.
5. Sketch cost: CPU and wall time per article of `build_sketch` alone, one
   article at a time, and of `build_sketches` in bundles (where the package
   has it), on generated English and the same with accented or Cyrillic letters.

`--before REF` loads transforms/dedup as it was at git commit REF as a
separate package and runs every part with it too, on the same data in the
same run: quality before/after per edit kind, and throughput, state and
sketch-cost ratios.

The machine is shared and noisy: compare the ratios, not the absolute rates.
"""

from __future__ import annotations

import argparse
import collections
import importlib
import itertools
import json
import logging
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.coders import PickleCoder
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.io.watermark_estimators import ManualWatermarkEstimator
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.transforms.core import RestrictionProvider
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec
from apache_beam.utils.timestamp import Duration

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic_news import NewsGenerator  # noqa: E402

from newsbeam.schemas.article import Article, Source  # noqa: E402
from newsbeam.transforms.dedup import DedupConfig, DeduplicateStream  # noqa: E402
from newsbeam.transforms.dedup import stream as stream_module  # noqa: E402
from newsbeam.transforms.dedup.fingerprint import content_hash  # noqa: E402
from newsbeam.transforms.dedup.labels import event_time  # noqa: E402
from newsbeam.transforms.dedup.sketch import build_sketch  # noqa: E402
from newsbeam.transforms.dedup.stream_index import StreamIndex  # noqa: E402

# ---------------------------------------------------------------------------
# data


def write_dataset(
    path: Path, size: int, seed: int, span_days: float = 340.0, ordered: bool = False
) -> list[dict[str, Any]]:
    generated = NewsGenerator(seed).generate(size, span_days=span_days)
    if ordered:  # arrival order = event time order, as a live feed
        generated.sort(key=lambda a: a.published_at)
    rows = [
        {
            "id": a.id,
            "text": a.text,
            "published_at": a.published_at,
            "cluster": a.cluster,
            "kind": a.kind,
            "event": a.event,
            "edits": a.edits,
        }
        for a in generated
    ]
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row) + "\n")
    return rows


def to_article(line: str) -> Article:
    row = json.loads(line)
    return Article(
        id=row["id"],
        source=Source(kind="file", uri="bench.jsonl"),
        raw=line,
        text=row["text"],
        published_at=row["published_at"],
        ingested_at=row["published_at"],
    )


def label_line(article: Article) -> str:
    d = article.duplicate
    return json.dumps(
        [
            article.id,
            article.content_hash,
            d["status"],
            d["of"],
            d["similarity"],
            d.get("containment"),
        ]
    )


def dedup_package_at(ref: str, workdir: Path) -> Any:
    """transforms/dedup at git commit `ref`, importable as `dedup_at_<ref>`."""
    name = "dedup_at_" + "".join(c if c.isalnum() else "_" for c in ref)
    root = Path(__file__).resolve().parents[1]
    archive = subprocess.run(
        ["git", "-C", str(root), "archive", ref, "transforms/dedup"],
        check=True,
        capture_output=True,
    ).stdout
    target = workdir / "packages"
    with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
        tar.extractall(target / "x", filter="data")
    package = target / name
    package.mkdir(parents=True, exist_ok=True)
    for source in (target / "x" / "transforms" / "dedup").glob("*.py"):
        text = source.read_text(encoding="utf-8").replace("newsbeam.transforms.dedup", name)
        (package / source.name).write_text(text, encoding="utf-8")
    sys.path.insert(0, str(target))
    return importlib.import_module(name)


# ---------------------------------------------------------------------------
# pipelines


def _options() -> PipelineOptions:
    return PipelineOptions(["--runner=DirectRunner"])


def run_pipeline(
    source: Path, out_prefix: Path, stage: beam.PTransform | None
) -> tuple[float, dict[str, int]]:
    """Read JSONL -> Article -> [stage] -> label lines; wall seconds and dedup counters."""
    start = time.perf_counter()
    pipeline = beam.Pipeline(options=_options())
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
    result = pipeline.run()
    result.wait_until_finish()
    seconds = time.perf_counter() - start
    counters = {
        c.key.metric.name: c.committed
        for c in result.metrics().query(MetricsFilter().with_namespace("newsbeam.dedup"))[
            "counters"
        ]
    }
    return seconds, counters


def read_labels(path: Path) -> dict[str, tuple]:
    labels = {}
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            article_id, digest, status, of, sim, contained = json.loads(line)
            labels[article_id] = (digest, status, of, sim, contained)
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
    per_count: dict[int, list[bool]] = collections.defaultdict(list)
    for r in rows:
        if r["kind"] == "near_copy" and r["cluster"] in predicted:
            found = predicted[r["id"]] == predicted[r["cluster"]]
            per_count[len(r["edits"])].append(found)
            for edit in r["edits"]:
                per_edit[edit].append(found)
    # False positives per kind of hard negative (articles wrongly put in another's cluster).
    wrong: collections.Counter[str] = collections.Counter()
    for r in rows:
        of = labels[r["id"]][2]
        if of is not None and truth.get(of) != r["cluster"]:
            wrong[r["kind"]] += 1
    statuses = collections.Counter(labels[i][1] for i in truth)
    # Planted negatives: articles that are their own cluster (not copies); precision =
    # share of them not linked to another cluster.
    negatives = collections.Counter(r["kind"] for r in rows if r["cluster"] == r["id"])
    wrong_negatives = sum(
        1
        for r in rows
        if r["cluster"] == r["id"]
        and (predicted[r["id"]] != r["id"] and truth.get(predicted[r["id"]]) != r["cluster"])
    )
    return {
        "negatives": sum(negatives.values()),
        "negatives_clean": sum(negatives.values()) - wrong_negatives,
        "per_count_recall": {k: (sum(v) / len(v), len(v)) for k, v in sorted(per_count.items())},
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
    print(
        f"near duplicates: precision {result['near_precision']:.4f} "
        f"recall {result['near_recall']:.4f}  (pairs: {tp:,} correct of {predicted:,} "
        f"predicted, {truth:,} planted)"
    )
    print(
        f"exact duplicates: precision {result['exact_precision']:.4f} "
        f"recall {result['exact_recall']:.4f}"
    )
    print("labels:", result["statuses"])
    print(
        "recall of planted copies by edit:",
        ", ".join(f"{k} {v[0]:.3f} (n={v[1]})" for k, v in result["per_edit_recall"].items()),
    )
    print(
        "recall of planted copies by number of edits:",
        ", ".join(f"{k}: {v[0]:.3f} (n={v[1]})" for k, v in result["per_count_recall"].items()),
    )
    print("articles linked to a wrong cluster, by kind:", result["wrong_links_by_kind"] or "none")
    print(
        f"planted negatives not linked to another story: {result['negatives_clean']:,} of "
        f"{result['negatives']:,} ({result['negatives_clean'] / max(1, result['negatives']):.4f})"
    )


# ---------------------------------------------------------------------------
# streaming on the local runner: an unbounded source, as the Kafka reader is


def _file_lines(path: str) -> list[str]:
    return Path(path).read_text(encoding="utf-8").splitlines()


class _WholeFile(RestrictionProvider):
    def initial_restriction(self, element: str) -> OffsetRange:
        return OffsetRange(0, len(_file_lines(element)))

    def create_tracker(self, restriction: OffsetRange) -> OffsetRestrictionTracker:
        return OffsetRestrictionTracker(restriction)

    def restriction_size(self, element: Any, restriction: OffsetRange) -> int:
        return restriction.size()


_TRACKER = beam.DoFn.RestrictionParam(_WholeFile())
_WATERMARK = beam.DoFn.WatermarkEstimatorParam(ManualWatermarkEstimator.default_provider())


class ReplayLines(beam.DoFn):
    """Unbounded splittable DoFn over a file's lines: `batch` lines per call, then
    defer (one bundle each), as the Kafka source does on the DirectRunner:
    FnApiRunner, streaming, small bundles, state committed per bundle. The
    element is only the path (a residual re-encodes its element every bundle).
    """

    def __init__(self, batch: int) -> None:
        self._batch = batch
        self._lines: dict[str, list[str]] = {}

    @beam.DoFn.unbounded_per_element()
    def process(
        self,
        element: str,
        tracker: Any = _TRACKER,
        watermark: Any = _WATERMARK,
    ) -> Any:
        if element not in self._lines:
            self._lines[element] = _file_lines(element)
        lines = self._lines[element]
        position = tracker.current_restriction().start
        end = min(position + self._batch, len(lines))
        while position < end:
            if not tracker.try_claim(position):
                return
            yield to_article(lines[position])
            position += 1
        if position >= len(lines):
            tracker.try_claim(len(lines))  # claim past the end: done
            return
        tracker.defer_remainder(Duration(0))


class _AppendLines(beam.DoFn):
    """Test sink for the in-process runner: label lines appended to a local file."""

    def __init__(self, path: str) -> None:
        self._path = path

    def start_bundle(self) -> None:
        self._lines: list[str] = []

    def process(self, article: Article):  # noqa: ANN201 (Beam 2.78 refuses a None hint)
        self._lines.append(label_line(article))

    def finish_bundle(self) -> None:
        with open(self._path, "a", encoding="utf-8") as out:
            out.writelines(line + "\n" for line in self._lines)


def run_stream(
    source: Path, stage: beam.PTransform | None, batch: int, out: Path | None = None
) -> float:
    options = PipelineOptions(["--runner=DirectRunner"])
    options.view_as(StandardOptions).streaming = True
    if out is not None and out.exists():
        out.unlink()
    start = time.perf_counter()
    with beam.Pipeline(options=options) as pipeline:
        articles = pipeline | beam.Create([str(source)]) | "Feed" >> beam.ParDo(ReplayLines(batch))
        if stage is not None:
            articles = articles | "Stage" >> stage
        else:
            articles = articles | "Hash" >> beam.Map(
                lambda a: a.replace(content_hash=content_hash(a.text))
            )
        if out is not None:
            _ = articles | beam.ParDo(_AppendLines(str(out)))
    return time.perf_counter() - start


class NaiveStreamFn(beam.DoFn):
    """For comparison only: the whole window index in one ReadModifyWriteState."""

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
        return articles | beam.Map(lambda a: ("k", a)) | beam.ParDo(NaiveStreamFn(self._config))


# ---------------------------------------------------------------------------
# stream state size


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


def stream_state_growth(
    total: int, per_day: int, seed: int, checkpoints: list[int], package: Any = None, name: str = ""
) -> None:
    """Feed the stream DoFn (with in-memory state objects) a long, time-ordered stream."""
    print(
        f"\n== stream state{name}: {total:,} articles at {per_day:,}/day of event time, "
        "retention 7 days (DoFn driven directly, state = what it stores)"
    )
    module = (
        stream_module if package is None else importlib.import_module(package.__name__ + ".stream")
    )
    config = DedupConfig() if package is None else package.DedupConfig()
    fn = module.DeduplicateStreamFn(config)
    fn.setup()
    bag, meta = _Bag(), _Value()
    generated = NewsGenerator(seed + 1).generate(total, span_days=total / per_day)
    generated.sort(key=lambda g: g.published_at)
    articles = [
        Article(
            id=g.id,
            source=Source(kind="kafka", uri="t"),
            raw="",
            text=g.text,
            published_at=g.published_at,
            ingested_at=g.published_at,
        )
        for g in generated
    ]
    print(
        f"{'articles seen':>14} {'window':>8} {'bag entries':>12} {'bag MB':>8} "
        f"{'bytes/entry':>12} {'articles/s':>11}"
    )
    busy = 0.0
    for seen, article in enumerate(articles, start=1):
        started = time.perf_counter()
        for _ in fn.process((module.STREAM_KEY, article), entries=bag, meta_state=meta):
            pass
        busy += time.perf_counter() - started
        if seen in checkpoints:
            size = sum(len(blob) for blob in bag.items)  # entries are stored pickled
            window = len(fn._mirrors[module.STREAM_KEY][1])
            print(
                f"{seen:>14,} {window:>8,} {len(bag.items):>12,} {size / 1e6:>8.1f} "
                f"{size / max(1, len(bag.items)):>12,.0f} {seen / busy:>11,.0f}"
            )


def interleaved_ratios(args: argparse.Namespace, workdir: Path, packages: dict[str, Any]) -> None:
    """now / before time of the batch and the stream stage, in alternating rounds."""
    (now_name, now), (before_name, before) = list(packages.items())[:2]
    size = max(args.sizes) if args.sizes else 10_000
    batch_source = workdir / f"articles-{size}.jsonl"
    if not batch_source.exists():
        write_dataset(batch_source, size, args.seed)
    stream_source = workdir / f"stream-{args.stream_size}.jsonl"
    print(f"\n== interleaved rounds ({args.repeat}): time of {now_name} / {before_name}")
    batch, stream = [], []
    for round_ in range(args.repeat):
        times = {}
        for name, package in ((now_name, now), (before_name, before)):
            started = time.perf_counter()
            run_pipeline(
                batch_source,
                workdir / "round.jsonl",
                package.DeduplicateBatch(package.DedupConfig()),
            )
            batch_time = time.perf_counter() - started
            stream_time = run_stream(
                stream_source, package.DeduplicateStream(package.DedupConfig()), args.bundle
            )
            times[name] = (batch_time, stream_time)
        batch.append(times[now_name][0] / times[before_name][0])
        stream.append(times[now_name][1] / times[before_name][1])
        print(
            f"round {round_ + 1}: batch {size:,} {batch[-1]:.2f} "
            f"({times[now_name][0]:.0f} s / {times[before_name][0]:.0f} s), "
            f"stream {args.stream_size:,} {stream[-1]:.2f} "
            f"({times[now_name][1]:.0f} s / {times[before_name][1]:.0f} s)"
        )
    print(
        f"median: batch {sorted(batch)[len(batch) // 2]:.2f}, "
        f"stream {sorted(stream)[len(stream) // 2]:.2f}"
    )


# Non-English variants of the generated articles for the sketch cost: most
# letters of a Latin text with accents, or Cyrillic look-alikes (non-ASCII
# text after normalisation, which takes the slower character-class path).
_ACCENTED = str.maketrans("aeiou", "\u00e0\u00e9\u00ee\u00f6\u00fa")
_CYRILLIC = str.maketrans(
    "abcdehikmoptxy",
    "\u0430\u0431\u0441\u0434\u0435\u04bb\u0456\u043a\u043c\u043e\u0440\u0442\u0445\u0443",
)


def _sketchers(packages: dict[str, Any]) -> dict[str, Any]:
    """name -> f(items, config) sketching every item: each package's build_sketch
    one article at a time and, where it has one, build_sketches in its bundles."""
    out = {}
    for name, package in packages.items():
        module = importlib.import_module(package.__name__ + ".sketch")

        def one_by_one(items: list, config: Any, build: Any = module.build_sketch) -> None:
            for article_id, text, published_at in items:
                build(article_id, text, published_at, config)

        out[f"{name} build_sketch"] = (one_by_one, package.DedupConfig())
        if hasattr(module, "build_sketches"):
            size = module.SKETCH_BUNDLE

            def bundled(
                items: list, config: Any, build: Any = module.build_sketches, size: int = size
            ) -> None:
                for start in range(0, len(items), size):
                    build(items[start : start + size], config)

            out[f"{name} build_sketches ({size} a bundle)"] = (bundled, package.DedupConfig())
    return out


def sketch_cost(rows: list[dict[str, Any]], packages: dict[str, Any]) -> None:
    """CPU and wall time per article of the sketch alone, interleaved rounds, same articles."""
    variants = {
        "generated": [(r["id"], r["text"], r["published_at"]) for r in rows],
        "accented letters": [(r["id"], r["text"].translate(_ACCENTED), None) for r in rows],
        "Cyrillic letters": [(r["id"], r["text"].translate(_CYRILLIC), None) for r in rows],
    }
    sketchers = _sketchers(packages)
    for variant, items in variants.items():
        print(f"\n== sketch cost: {len(items):,} articles, {variant} (best of 3)")
        best: dict[str, tuple[float, float]] = {}
        for _ in range(3):
            for name, (sketch_all, config) in sketchers.items():
                cpu, wall = time.process_time(), time.perf_counter()
                sketch_all(items, config)
                elapsed = (time.process_time() - cpu, time.perf_counter() - wall)
                previous = best.get(name, elapsed)
                best[name] = (min(previous[0], elapsed[0]), min(previous[1], elapsed[1]))
        first = next(iter(best.values()))
        for name, (cpu, wall) in best.items():
            print(
                f"{name}: {1e6 * cpu / len(items):.0f} us/article CPU ({cpu / first[0]:.2f}x the "
                f"first), {1000 * wall / len(items):.3f} ms/article wall ({wall / first[1]:.2f}x)"
            )
    print(f"load average: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")


# ---------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="*",
        default=[10_000, 100_000],
        help="batch sizes (none: skip the batch part)",
    )
    parser.add_argument("--stream-size", type=int, default=10_000)
    parser.add_argument("--naive-sizes", type=int, nargs="+", default=[1_000, 3_000, 6_000])
    parser.add_argument("--bundle", type=int, default=50, help="stream source lines per bundle")
    parser.add_argument("--state-total", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--before", metavar="REF", help="also run transforms/dedup of git commit REF, same run"
    )
    parser.add_argument("--skip-naive", action="store_true", help="skip the naive-state runs")
    parser.add_argument(
        "--sketch-only",
        action="store_true",
        help="only the sketch cost (on 2,000 generated articles), no pipelines",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=0,
        help="with --before: N more interleaved rounds of the batch and stream runs "
        "(now, before, now, ...) for the throughput ratio on a noisy machine",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-dedup-"))
    workdir.mkdir(parents=True, exist_ok=True)
    config = DedupConfig()
    print(f"config: {config}")
    current = importlib.import_module("newsbeam.transforms.dedup")
    packages = {"now": current}
    if args.before:
        packages[f"at {args.before}"] = dedup_package_at(args.before, workdir)

    if args.sketch_only:
        sketch_cost(write_dataset(workdir / "articles-2000.jsonl", 2_000, args.seed), packages)
        return 0

    batch_times: dict[int, tuple[float, float]] = {}
    for size in args.sizes:
        source = workdir / f"articles-{size}.jsonl"
        started = time.perf_counter()
        rows = write_dataset(source, size, args.seed)
        print(
            f"\ngenerated {size:,} articles in {time.perf_counter() - started:.1f} s "
            f"({source.stat().st_size / 1e6:.0f} MB)"
        )
        baseline, _ = run_pipeline(source, workdir / f"baseline-{size}.jsonl", None)
        for name, package in packages.items():
            tag = "".join(c if c.isalnum() else "-" for c in name)
            dedup, counters = run_pipeline(
                source,
                workdir / f"batch-{size}-{tag}.jsonl",
                package.DeduplicateBatch(package.DedupConfig()),
            )
            if name == "now":
                batch_times[size] = (baseline, dedup)
            else:
                now = batch_times[size][1]
                print(f"batch {size:,}: now / {name} time = {now / dedup:.2f}")
            print(
                f"batch {size:,} ({name}): baseline {size / baseline:,.0f} articles/s, "
                f"DeduplicateBatch {size / dedup:,.0f} articles/s "
                f"(dedup pipeline takes {dedup / baseline:.1f}x the baseline)"
            )
            print(f"counters: {counters}")
            print_quality(
                f"DeduplicateBatch ({name}), {size:,}",
                rows,
                evaluate(rows, read_labels(workdir / f"batch-{size}-{tag}.jsonl")),
            )
        sketch_cost(rows[:2000], packages)

    if len(batch_times) > 1:
        small, large = min(batch_times), max(batch_times)
        growth = large / small
        print(
            f"\n== batch cost growth {small:,} -> {large:,} articles (x{growth:.0f}): "
            f"baseline time x{batch_times[large][0] / batch_times[small][0]:.1f}, "
            f"dedup time x{batch_times[large][1] / batch_times[small][1]:.1f} "
            f"(linear would be x{growth:.0f})"
        )

    # Stream: an unbounded source on the DirectRunner (FnApiRunner), time-ordered
    # arrivals at 1,000 articles per day of event time, bundles of --bundle lines.
    size = args.stream_size
    source = workdir / f"stream-{size}.jsonl"
    rows = write_dataset(source, size, args.seed + 2, span_days=size / 1_000, ordered=True)
    lines = source.read_text(encoding="utf-8").splitlines()
    baseline = run_stream(source, None, args.bundle)
    stream_times = {}
    for name, package in packages.items():
        tag = "".join(c if c.isalnum() else "-" for c in name)
        out = workdir / f"stream-{size}-{tag}.out.jsonl"
        streamed = run_stream(
            source, package.DeduplicateStream(package.DedupConfig()), args.bundle, out
        )
        stream_times[name] = streamed
        print(
            f"\n== stream ({name}), unbounded source on the DirectRunner, {size:,} articles in "
            f"bundles of {args.bundle}: baseline {size / baseline:,.0f} articles/s, "
            f"DeduplicateStream {size / streamed:,.0f} articles/s "
            f"({streamed / baseline:.1f}x the baseline)"
        )
        print_quality(
            f"DeduplicateStream ({name}), {size:,}", rows, evaluate(rows, read_labels(out))
        )
        if name != "now":
            print(f"stream: now / {name} time = {stream_times['now'] / streamed:.2f}")

    print(
        "\n== stream state on the FnApiRunner: bag + in-memory index (DeduplicateStream) vs "
        "the whole window in one ReadModifyWriteState (naive)"
    )
    for n in [] if args.skip_naive else args.naive_sizes:
        head = workdir / f"stream-head-{n}.jsonl"
        head.write_text("".join(line + "\n" for line in lines[:n]), encoding="utf-8")
        ours = run_stream(head, DeduplicateStream(config), args.bundle)
        naive = run_stream(head, NaiveDeduplicateStream(config), args.bundle)
        print(
            f"{n:>6,} articles: DeduplicateStream {n / ours:,.0f} articles/s, naive "
            f"{n / naive:,.0f} articles/s (naive takes {naive / ours:.1f}x as long)"
        )

    if args.before and args.repeat:
        interleaved_ratios(args, workdir, packages)

    # The last days of a generated span are sparse (stories near its end have
    # fewer copies yet), so the checkpoints stop before the end.
    checkpoints = sorted(
        {
            c
            for c in (1_000, 5_000, 7_000, 10_000, 15_000, 20_000, 25_000, 50_000, 100_000)
            if c < args.state_total
        }
    )
    for name, package in packages.items():
        stream_state_growth(args.state_total, 1_000, args.seed, checkpoints, package, f" ({name})")
    print(f"\nworkdir: {workdir}")
    return 0


if __name__ == "__main__":
    logging.getLogger("apache_beam").setLevel(logging.ERROR)
    sys.exit(main())
