"""The batch job on the local runner in two passes, in bounded memory, on every core.

The one-graph job (batch.py, `build_batch_pipeline`) is the distributed form: on
Flink, Spark or Dataflow every shuffle of DeduplicateBatch is spread over workers
and spilled to disk. Beam's local runner keeps every PCollection that crosses a
stage boundary in memory, in one process: measured ~100 KB per article (2.2 GB at
20,000 articles; benchmarks/README.md, "Archive scale"). Locally the job runs as
one pipeline of two passes with a driver step between them (so that its worker
processes start once):

1. **Sketch pass**: read (large JSON Lines files as line-aligned ranges, so
   every worker has work) -> clean -> detect language -> sketch and story
   observation, one fused stage with no shuffle; every worker spills its articles
   (with `content_hash`), their sketches, their observations (terms packed) and
   the dead letters so far to pickle files on local disk, a few thousand per file.
   A combine over what the spilling steps emit as they commit their files is the
   barrier the driver step waits for.
2. **Dedup in the driver step** (transforms/dedup/batch_core.py, `_DriverFn`, run
   once in one worker): DeduplicateBatch's steps over the sketches, whole-corpus,
   -> the labels of articles that have a duplicate. Memory: the sketch index, one
   compact entry per article.
3. **Stories in the driver step** (transforms/story/batch_core.py): the story core
   over the observations in event-time order, with dedup's representatives -> the
   labels of the articles that joined a story, written beside each articles
   file. Memory: an order key and a place per article, the active stories. The
   step then emits the spill files to label.
4. **Label pass**: the spilled articles, each read with its story label ->
   ProcessArticles with dedup's labels applied in place of DeduplicateBatch and
   no StoriesBatch (classify and every later stage as in the one-graph job) ->
   the sinks, again one fused stage per spill file.

The records are the one-graph job's (bench_pipeline.py compares them on the 20k
benchmark and the duplicate-heavy set); the run report counts every step.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import pickle
import shutil
import tempfile
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.metrics import Metrics
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.transforms.window import GlobalWindows
from apache_beam.utils.windowed_value import WindowedValue

from newsbeam.pipelines.config import BatchRunConfig
from newsbeam.pipelines.progress import ReportProgress
from newsbeam.pipelines.report import counters_by_stage
from newsbeam.pipelines.stages import ProcessArticles
from newsbeam.pipelines.timeline import CountOverTime
from newsbeam.schemas.article import Article
from newsbeam.transforms.clean.transform import CleanArticles
from newsbeam.transforms.dedup.batch import NAMESPACE as DEDUP_NAMESPACE
from newsbeam.transforms.dedup.batch import _apply_label
from newsbeam.transforms.dedup.batch_core import indexed_batch_labels
from newsbeam.transforms.dedup.config import DedupConfig
from newsbeam.transforms.dedup.sketch import (
    SKETCH_BUNDLE,
    ArticleSketch,
    build_sketches_or_errors,
)
from newsbeam.transforms.io.files.reading import is_remote
from newsbeam.transforms.io.files.source import DEAD_LETTER, ReadArticleFiles
from newsbeam.transforms.language.transform import DetectLanguage
from newsbeam.transforms.record_guard import failure_dead_letter
from newsbeam.transforms.story.batch_core import Loaded, StoryCounts, indexed_story_labels
from newsbeam.transforms.story.config import StoryConfig
from newsbeam.transforms.story.order import OrderKey
from newsbeam.transforms.story.transform import NAMESPACE as STORY_NAMESPACE
from newsbeam.transforms.story.transform import label_article, observe, pack, unpack_weights

logger = logging.getLogger(__name__)

# Large JSON Lines files are read in ranges of this many bytes (~3,000 articles).
SPLIT_BYTES = 8 << 20
# Articles per spill file: the label pass's unit of work per worker.
SPILL_EVERY = 2_000
LABELS_FILE = "labels.pickle"
# Below this much input (bytes on disk) one worker is the default: starting worker
# processes (~2 s, once per run) costs more than a second core saves. Measured
# (benchmarks/README.md): the examples folder 3.9-4.3 s with one worker vs 5.7-6.1 s with
# two (7.0 s when each pass started its own); 30 MB 7% faster with two, 60 MB 18%.
SMALL_INPUT_BYTES = 32 << 20

# Spill files the driver keeps open at once (a common limit is 1,024 per process).
MAX_OPEN_SPILL_FILES = 256


def default_workers(paths: list[str], cores: int) -> int:
    """`--workers` when not given: the usable cores, or 1 for a small local input."""
    if cores <= 1 or any(is_remote(path) for path in paths):
        return max(cores, 1)
    total = 0
    for path in paths:
        with contextlib.suppress(OSError):  # gone since it was listed: the reader says so
            total += os.path.getsize(path)
        if total >= SMALL_INPUT_BYTES:
            return cores
    return 1


class _SpillWriter:
    """Pickles objects into `<directory>/<prefix>-<unique>.pickle`, a new file every
    `every` objects; a file gets its final name only when complete, so a bundle
    that fails and is retried leaves no half-written file behind to be read.

    With several prefixes, `write` takes one value per prefix and the files of one
    rotation share their unique part: the n-th object of `articles-U` and of
    `observations-U` belong to the same article."""

    def __init__(self, directory: str, *prefixes: str, every: int = SPILL_EVERY) -> None:
        self._directory = directory
        self._prefixes = prefixes
        self._every = every
        self._handles: list[BinaryIO] = []
        self._paths: list[str] = []
        self._count = 0

    def write(self, *values: Any) -> None:
        if not self._handles:
            unique = uuid.uuid4().hex
            self._paths = [os.path.join(self._directory, f"{p}-{unique}") for p in self._prefixes]
            # Closed in commit or discard.
            self._handles = [open(path + ".part", "wb") for path in self._paths]  # noqa: SIM115
            self._count = 0
        for handle, value in zip(self._handles, values, strict=True):
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        self._count += 1
        if self._count >= self._every:
            self.commit()

    def commit(self) -> None:
        for handle, path in zip(self._handles, self._paths, strict=True):
            handle.close()
            os.replace(path + ".part", path + ".pickle")
        self._handles, self._paths = [], []

    def discard(self) -> None:
        for handle, path in zip(self._handles, self._paths, strict=True):
            handle.close()
            os.remove(path + ".part")
        self._handles, self._paths = [], []


def read_spill(path: str) -> Iterator[Any]:
    """Every object of one spill file, in the order written."""
    with open(path, "rb") as handle:
        while True:
            try:
                yield pickle.load(handle)
            except EOFError:
                return


def spilled_with_places(paths: list[str]) -> Iterator[tuple[Any, tuple[int, int]]]:
    """Every object of these spill files with where it is: (file number, offset)."""
    for number, path in enumerate(paths):
        with open(path, "rb") as handle:
            while True:
                offset = handle.tell()
                try:
                    yield pickle.load(handle), (number, offset)
                except EOFError:
                    break


class SpilledObjects:
    """Loads one object again from its place in the spill files (file handles kept
    open: dedup's verification and the stories' event-time order load them in no
    particular order of the files; at most `MAX_OPEN_SPILL_FILES` at once, the least
    recently used closed first, so that a corpus of any size stays under the
    process's limit of open files)."""

    def __init__(self, paths: list[str]) -> None:
        self._paths = paths
        self._handles: OrderedDict[int, BinaryIO] = OrderedDict()

    def __call__(self, location: tuple[int, int]) -> Any:
        number, offset = location
        handle = self._handles.get(number)
        if handle is None:
            if len(self._handles) >= MAX_OPEN_SPILL_FILES:
                self._handles.popitem(last=False)[1].close()
            handle = self._handles[number] = open(self._paths[number], "rb")  # noqa: SIM115
        else:
            self._handles.move_to_end(number)
        handle.seek(offset)
        return pickle.load(handle)

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()


def spill_files(directory: str, prefix: str) -> list[str]:
    return sorted(glob.glob(os.path.join(directory, f"{prefix}-*.pickle")))


# What a spilling DoFn emits when a bundle's files are committed: the driver step
# runs once all of them are (a combine over these is the sketch pass's barrier).
_SPILLED = GlobalWindows.windowed_value(1)


class _SpillFn(beam.DoFn):
    """Elements -> spill files (dead letters of the sketch pass)."""

    def __init__(self, directory: str, prefix: str) -> None:
        self._directory = directory
        self._prefix = prefix

    def start_bundle(self) -> None:
        self._writer = _SpillWriter(self._directory, self._prefix)

    def process(self, element: Any) -> Iterator[Any]:
        self._writer.write(element)
        yield from ()  # nothing goes on: the spill files are the output

    def finish_bundle(self) -> Iterator[WindowedValue]:
        self._writer.commit()
        yield _SPILLED  # the driver step waits for every bundle's files

    def teardown(self) -> None:
        with contextlib.suppress(Exception):
            self._writer.discard()


class _SketchAndSpillFn(beam.DoFn):
    """Article -> its sketch, its story observation and the article with
    `content_hash`, spilled side by side (as DeduplicateBatch's sketch step: a
    sketch that fails is a `dedup_error` dead letter; as StoriesBatch's observe
    step: an observation that fails is a `story_error` dead letter, the article
    still being sketched, since in the one-graph job it fails after dedup)."""

    def __init__(self, directory: str, config: DedupConfig, stories: StoryConfig | None) -> None:
        self._directory = directory
        self._config = config
        self._stories = stories

    def start_bundle(self) -> None:
        # An article and its observation share a file's place: the n-th of each.
        prefixes = ("articles", "observations") if self._stories is not None else ("articles",)
        self._articles = _SpillWriter(self._directory, *prefixes)
        self._sketches = _SpillWriter(self._directory, "sketches")
        self._dead = _SpillWriter(self._directory, "dead")
        self._pending: list[Article] = []

    def process(self, article: Article) -> Iterator[Any]:
        yield from ()  # nothing goes on: the spill files are the output
        # Sketched a bundle at a time (`build_sketches`: about half the cost per article).
        self._pending.append(article)
        if len(self._pending) >= SKETCH_BUNDLE:
            self._flush()

    def _flush(self) -> None:
        articles, self._pending = self._pending, []
        items = [(a.id, a.text or "", a.published_at) for a in articles]
        for article, sketch in zip(
            articles, build_sketches_or_errors(items, self._config), strict=True
        ):
            self._spill(article, sketch)

    def _spill(self, article: Article, sketch: ArticleSketch | Exception) -> None:
        if isinstance(sketch, Exception):  # MemoryError, RecursionError, a bug: this record only
            Metrics.counter(DEDUP_NAMESPACE, "dead_letter.dedup_error").inc()
            self._dead.write(failure_dead_letter("dedup", article, sketch, reason="dedup_error"))
            return
        self._sketches.write(sketch)
        article = article.replace(content_hash=sketch.content_hash)
        if self._stories is None:
            self._articles.write(article)
            return
        try:
            article_id, key, terms, _ = observe(article, self._stories)
        except Exception as error:  # this record only, as in StoriesBatch
            Metrics.counter(STORY_NAMESPACE, "dead_letter.story_error").inc()
            self._dead.write(failure_dead_letter("story", article, error, reason="story_error"))
            return
        # The representative is known after dedup: the driver adds it.
        self._articles.write(article, pack((article_id, key, terms, None)))

    def finish_bundle(self) -> Iterator[WindowedValue]:
        self._flush()  # before the files are committed
        for writer in (self._articles, self._sketches, self._dead):
            writer.commit()
        yield _SPILLED

    def teardown(self) -> None:
        for writer in (self._articles, self._sketches, self._dead):
            with contextlib.suppress(Exception):
                writer.discard()


_LABELS: dict[str, dict[str, dict[str, Any]]] = {}  # labels file -> labels, per process


def _load_labels(path: str) -> dict[str, dict[str, Any]]:
    labels = _LABELS.get(path)
    if labels is None:
        with open(path, "rb") as handle:
            labels = _LABELS[path] = pickle.load(handle)
    return labels


class _ApplyLabelsFn(beam.DoFn):
    def __init__(self, labels_path: str) -> None:
        self._labels_path = labels_path

    def start_bundle(self) -> None:
        # Read once per worker process (_load_labels keeps them): in a bundle, not in
        # setup(), since the driver step writes them earlier in the same pipeline.
        self._labels = _load_labels(self._labels_path)

    def process(self, article: Article) -> Iterator[Article]:
        yield _apply_label(article, self._labels)


class ApplyBatchLabels(beam.PTransform):
    """In place of DeduplicateBatch when the labels were found beforehand (the driver's
    dedup of the sketch pass): {"main": labelled articles, "dead_letter": none here,
    the sketch pass spilled its `dedup_error` dead letters}."""

    def __init__(self, labels_path: str) -> None:
        super().__init__()
        self._labels_path = labels_path

    def expand(self, articles: beam.PCollection) -> dict[str, beam.PCollection]:
        labelled = articles | "ApplyLabel" >> beam.ParDo(_ApplyLabelsFn(self._labels_path))
        none = articles.pipeline | "NoDedupDeadLetters" >> beam.Create([])
        return {"main": labelled, "dead_letter": none}


def _read_spilled(
    files: beam.PCollection,
    name: str,
    reader: Callable[[str], Iterator[Any]] = read_spill,
) -> beam.PCollection:
    return (
        files
        | f"Spread{name}" >> beam.Reshuffle()  # spill files over the workers
        | f"Read{name}" >> beam.FlatMap(reader)
    )


def paired_spill(path: str, prefix: str) -> str:
    """The file of another prefix written in the same rotation as `path` (the
    `stories-U` labels of `articles-U`, found from `observations-U`)."""
    directory, name = os.path.split(path)
    return os.path.join(directory, f"{prefix}-{name.split('-', 1)[1]}")


def read_storied_spill(path: str) -> Iterator[Article]:
    """The articles of one spill file with the story labels the driver found for
    it (only joiners are listed: a founder's story is its own id)."""
    with open(paired_spill(path, "stories"), "rb") as handle:
        joined: dict[str, tuple[str, float]] = pickle.load(handle)
    for article in read_spill(path):
        yield label_article(article, joined)


class StoriesFoundBeforehand(beam.PTransform):
    """In place of StoriesBatch when the driver found the stories (from the sketch
    pass's observations) and the label pass read each article with its label:
    {"main": the articles, "dead_letter": none here, the sketch pass spilled its
    `story_error` dead letters}."""

    def expand(self, articles: beam.PCollection) -> dict[str, beam.PCollection]:
        none = articles.pipeline | "NoStoryDeadLetters" >> beam.Create([])
        return {"main": articles, "dead_letter": none}


@beam.ptransform_fn
def SketchPass(
    pipeline: beam.pvalue.PBegin,
    paths: list[str],
    config: BatchRunConfig,
    spill_dir: str,
    *,
    ingested_at: str,
    origin: float,
) -> beam.PCollection:
    """The sketch pass; returns its barrier: one element once every spill file is
    committed."""
    read = pipeline | "ReadFiles" >> ReadArticleFiles(
        paths, ingested_at=ingested_at, limits=config.limits, split_bytes=SPLIT_BYTES
    )
    parsed = read.main | "TimelineParsed" >> CountOverTime("parsed", origin)
    # ProcessArticles' first two stages, in its order (the label pass skips them).
    cleaned = parsed | "Clean" >> CleanArticles(config.pipeline.clean)
    articles = cleaned.main | "DetectLanguage" >> DetectLanguage(config.pipeline.language)
    spilled = [
        articles
        | "Progress" >> ReportProgress("articles sketched")
        | "SketchAndSpill"
        >> beam.ParDo(_SketchAndSpillFn(spill_dir, config.pipeline.dedup, config.pipeline.story))
    ]
    for name, letters in (("Read", read[DEAD_LETTER]), ("Clean", cleaned.dead_letter)):
        spilled.append(
            letters | f"Spill{name}DeadLetters" >> beam.ParDo(_SpillFn(spill_dir, "dead"))
        )
    return (
        spilled
        | "SpillsCommitted" >> beam.Flatten()
        | "SketchPassDone" >> beam.CombineGlobally(sum)
    )


class _DriverFn(beam.DoFn):
    """The step between the passes, run once when the sketch pass is done: dedup and
    stories over the whole corpus from the spill files (counted in the stages'
    Metrics, as the one-graph job counts them); emits the spill files the label
    pass reads (articles; tagged "dead": the dead letters so far)."""

    def __init__(self, config: BatchRunConfig, spill_dir: str) -> None:
        self._config = config
        self._spill_dir = spill_dir

    def process(self, _: int) -> Iterator[Any]:
        labels, counters = _dedup_in_driver(self._config, self._spill_dir)
        _count(DEDUP_NAMESPACE, counters)
        if self._config.pipeline.story is not None:
            counters = _stories_in_driver(self._config.pipeline.story, self._spill_dir, labels)
            _count(STORY_NAMESPACE, counters)
        del labels
        yield from spill_files(self._spill_dir, "articles")
        for path in spill_files(self._spill_dir, "dead"):
            yield pvalue.TaggedOutput("dead", path)


def _count(namespace: str, counters: dict[str, int]) -> None:
    for name, value in counters.items():
        Metrics.counter(namespace, name).inc(value)


@beam.ptransform_fn
def LabelPass(
    sketched: beam.PCollection, config: BatchRunConfig, spill_dir: str, *, origin: float
) -> beam.pvalue.PDone:
    """The driver step after the sketch pass's barrier, then the label pass."""
    from newsbeam.pipelines.batch import write_outputs

    files = sketched | "DedupAndStories" >> beam.ParDo(_DriverFn(config, spill_dir)).with_outputs(
        "dead", main="articles"
    )
    with_stories = config.pipeline.story is not None
    articles = _read_spilled(
        files.articles, "Articles", read_storied_spill if with_stories else read_spill
    )
    dead = _read_spilled(files.dead, "DeadLetters")
    outputs = articles | "Process" >> ProcessArticles(
        config.pipeline,
        streaming=False,
        dead_letters_in=dead,
        prepared=True,
        dedup=ApplyBatchLabels(os.path.join(spill_dir, LABELS_FILE)),
        stories=StoriesFoundBeforehand() if with_stories else None,
    )
    write_outputs(outputs, config, origin)
    return beam.pvalue.PDone(sketched.pipeline)


def _dedup_in_driver(
    config: BatchRunConfig, spill_dir: str
) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    started = time.monotonic()
    # The index holds a compact entry per article; a sketch is read again from its
    # spill file when a candidate pair or a label needs it.
    paths = spill_files(spill_dir, "sketches")
    loader = SpilledObjects(paths)
    try:
        labels, stats = indexed_batch_labels(
            spilled_with_places(paths), loader, config.pipeline.dedup
        )
    finally:
        loader.close()
    with open(os.path.join(spill_dir, LABELS_FILE), "wb") as handle:
        pickle.dump(labels, handle, protocol=pickle.HIGHEST_PROTOCOL)
    logger.info(
        "dedup over the whole batch: %d candidate pairs, %d verified, %d articles with a "
        "duplicate (%.1f s)",
        stats.candidate_pairs,
        stats.verified_pairs,
        len(labels),
        time.monotonic() - started,
    )
    return labels, stats.counters()


def _order_entries(paths: list[str]) -> Iterator[tuple[OrderKey, tuple[int, int]]]:
    for packed, place in spilled_with_places(paths):
        yield packed[1], place


def _stories_in_driver(
    config: StoryConfig, spill_dir: str, dedup_labels: dict[str, dict[str, Any]]
) -> dict[str, int]:
    """The story core over every observation in event-time order; writes, beside
    each articles spill file, the labels of its articles that joined a story."""
    started = time.monotonic()
    paths = spill_files(spill_dir, "observations")
    loader = SpilledObjects(paths)

    def load(place: tuple[int, int]) -> Loaded:
        article_id, terms, weights, _ = unpack_weights(loader(place))
        # The sketch pass could not know it: dedup's representative of a duplicate.
        label = dedup_labels.get(article_id)
        representative = None if label is None or label["status"] == "unique" else label["of"]
        return article_id, terms, weights, representative

    counts = StoryCounts()
    joined: list[dict[str, tuple[str, float]]] = [{} for _ in paths]
    try:
        for (number, _), article_id, story_id, similarity in indexed_story_labels(
            _order_entries(paths), load, config, counts
        ):
            joined[number][article_id] = (story_id, similarity)
    finally:
        loader.close()
    for path, labels in zip(paths, joined, strict=True):
        with open(paired_spill(path, "stories"), "wb") as handle:
            pickle.dump(labels, handle, protocol=pickle.HIGHEST_PROTOCOL)
    logger.info(
        "stories over the whole batch: %d founded, %d joined, %d inherited (%.1f s)",
        counts.founded,
        counts.joined,
        counts.inherited,
        time.monotonic() - started,
    )
    return counts.counters()


def run_two_passes(
    config: BatchRunConfig,
    paths: list[str],
    options: PipelineOptions,
    *,
    ingested_at: str,
    origin: float,
) -> dict[str, dict[str, int]]:
    """Runs both passes and the driver step between them as one pipeline (so the
    worker processes start once); returns the counters of the whole run by stage,
    as `counters_by_stage` gives them for the one-graph job."""
    spill_dir = tempfile.mkdtemp(prefix="newsbeam-spill-")
    try:
        pipeline = beam.Pipeline(options=options)
        # Each pass a composite: both passes' steps have unique names in one pipeline.
        sketched = pipeline | "SketchPass" >> SketchPass(
            paths, config, spill_dir, ingested_at=ingested_at, origin=origin
        )
        _ = sketched | "LabelPass" >> LabelPass(config, spill_dir, origin=origin)
        result = pipeline.run()
        result.wait_until_finish()
        return counters_by_stage(result)
    finally:
        # The in-process worker's copy of the labels goes with the run.
        _LABELS.pop(os.path.join(spill_dir, LABELS_FILE), None)
        shutil.rmtree(spill_dir, ignore_errors=True)
