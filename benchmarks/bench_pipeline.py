"""Full batch pipeline vs a bare Beam baseline, in one process run.

    python benchmarks/bench_pipeline.py [--articles 20000] [--repeat 3] [--without-clean]
                                        [--baseline REF] [--dedup-baseline REF]
                                        [--without-stories]

Generates N synthetic articles (benchmarks/corpus.py) into one .jsonl file, then
runs (1) a bare Beam pipeline (read lines -> orjson parse -> one Map -> write)
and (2) the `newsbeam run` batch job on the same file, and prints articles/s for
both and their ratio. Both run on the DirectRunner in this process.

`--repeat N` alternates the runs N times and keeps each one's best (the
machine is shared: a run that lost the CPU to others says little); the CPU
seconds of this process are printed too, and their ratio, steadier than the
wall-clock one when the machine is busy. `--without-clean` adds a diagnostic
run of `newsbeam run` with the text cleaning replaced by a pass-through (in
this process only): what the other stages and Beam leave of the ratio.
`--baseline REF` adds a run with the TextCleaner of git commit REF in place of
today's (everything else as it is): the text cleaner's share, before and after.
`--dedup-baseline REF` adds a run with DeduplicateBatch (transforms/dedup/batch.py)
of commit REF. `--without-stories` adds a run with the story stage off
(`--no-stories`) and prints the stage's share of the full job's time.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import types
from pathlib import Path

import apache_beam as beam
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cleaner_at_commit import _git, baseline_text_cleaner  # noqa: E402
from corpus import articles  # noqa: E402

from newsbeam.pipelines import stages  # noqa: E402
from newsbeam.pipelines.batch import run_batch  # noqa: E402
from newsbeam.pipelines.config import BatchRunConfig, PipelineConfig  # noqa: E402
from newsbeam.transforms.classify import ClassifyConfig  # noqa: E402
from newsbeam.transforms.clean import article_cleaner  # noqa: E402
from newsbeam.transforms.clean.article_cleaner import ArticleCleaner, CleanOutcome  # noqa: E402

STORIES_OFF = "newsbeam run, --no-stories"


def bare_baseline(source: str, output: str) -> float:
    started = time.perf_counter()  # (like run_batch's wall_seconds: construction included)
    with beam.Pipeline() as pipeline:
        (
            pipeline
            | beam.io.ReadFromText(source)
            | beam.Map(orjson.loads)
            | beam.Map(lambda a: {**a, "word_count": len(a["text"].split())})
            | beam.Map(orjson.dumps)
            | beam.io.WriteToText(output, coder=beam.coders.BytesCoder())
        )
    return time.perf_counter() - started


def newsbeam_run(
    source: str, output: str, count: int, pipeline: PipelineConfig | None = None
) -> float:
    config = BatchRunConfig(
        inputs=(source,), output_dir=output, pipeline=pipeline or PipelineConfig()
    )
    report = run_batch(config, [source])
    assert report["articles_written"] + sum(report["filtered"].values()) <= count
    return report["wall_seconds"]


def newsbeam_run_without_classify(source: str, output: str, count: int) -> float:
    """The job with the classify stage passing every article through unclassified
    (no language is in its list), to measure what classification adds."""
    skip_all = ClassifyConfig(languages=frozenset({"none"}))
    return newsbeam_run(source, output, count, PipelineConfig(classify=skip_all))


def newsbeam_run_without_stories(source: str, output: str, count: int) -> float:
    """The job as `newsbeam run --no-stories`: what the story stage adds."""
    return newsbeam_run(source, output, count, PipelineConfig(story=None))


def newsbeam_run_without_clean(source: str, output: str, count: int) -> float:
    """Diagnostic: the job with ArticleCleaner.clean a pass-through (articles as read)."""
    original = ArticleCleaner.clean
    ArticleCleaner.clean = lambda self, article: CleanOutcome(article=article)
    try:
        return newsbeam_run(source, output, count)
    finally:
        ArticleCleaner.clean = original


class _OldTextCleaner:
    """An earlier commit's TextCleaner behind today's call (it had no `decisions`)."""

    def __init__(self, cleaner: object) -> None:
        self._cleaner = cleaner

    def clean(self, text: str, *, title: str | None = None, decisions: bool = True) -> object:
        return self._cleaner.clean(text, title=title)


def newsbeam_run_with_old_cleaner(
    source: str, output: str, count: int, old_cleaner: object
) -> float:
    """The job with the text cleaner of another commit (set up by the DoFn as usual)."""
    original = article_cleaner.TextCleaner
    article_cleaner.TextCleaner = lambda rules: _OldTextCleaner(old_cleaner)
    try:
        return newsbeam_run(source, output, count)
    finally:
        article_cleaner.TextCleaner = original


def dedup_batch_at_commit(ref: str) -> type:
    """DeduplicateBatch as it was at commit `ref` (the other dedup modules as today)."""
    module = types.ModuleType("baseline_dedup_batch")
    source = _git("show", f"{ref}:transforms/dedup/batch.py")
    exec(compile(source, f"{ref}:transforms/dedup/batch.py", "exec"), module.__dict__)
    sys.modules[module.__name__] = module  # so Beam can pickle its functions by reference
    return module.DeduplicateBatch


def newsbeam_run_with_dedup(source: str, output: str, count: int, dedup: type) -> float:
    original = stages.DeduplicateBatch
    stages.DeduplicateBatch = dedup
    try:
        return newsbeam_run(source, output, count)
    finally:
        stages.DeduplicateBatch = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=1, help="alternate the runs N times")
    parser.add_argument(
        "--without-clean", action="store_true", help="add a run with cleaning as a pass-through"
    )
    parser.add_argument(
        "--without-classify",
        action="store_true",
        help="add a run with the classify stage passing articles through unclassified",
    )
    parser.add_argument(
        "--without-stories",
        action="store_true",
        help="add a run with the story stage off and print the stage's share of the job",
    )
    parser.add_argument(
        "--baseline", metavar="REF", help="add a run with the TextCleaner of git commit REF"
    )
    parser.add_argument(
        "--dedup-baseline", metavar="REF", help="add a run with DeduplicateBatch of commit REF"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    code_dir = tempfile.TemporaryDirectory()
    runs = {
        "bare baseline (read -> parse -> write)": lambda s, o: bare_baseline(s, o),
        "newsbeam run (all stages)": lambda s, o: newsbeam_run(s, o, args.articles),
    }
    if args.baseline:
        old = baseline_text_cleaner(args.baseline, Path(code_dir.name))
        runs[f"newsbeam run, TextCleaner at {args.baseline}"] = lambda s, o: (
            newsbeam_run_with_old_cleaner(s, o, args.articles, old)
        )
    if args.dedup_baseline:
        old_dedup = dedup_batch_at_commit(args.dedup_baseline)
        runs[f"newsbeam run, DeduplicateBatch at {args.dedup_baseline}"] = lambda s, o: (
            newsbeam_run_with_dedup(s, o, args.articles, old_dedup)
        )
    if args.without_classify:
        runs["newsbeam run, classify a pass-through"] = lambda s, o: newsbeam_run_without_classify(
            s, o, args.articles
        )
    if args.without_stories:
        runs[STORIES_OFF] = lambda s, o: newsbeam_run_without_stories(s, o, args.articles)
    if args.without_clean:
        runs["newsbeam run, cleaning a pass-through"] = lambda s, o: newsbeam_run_without_clean(
            s, o, args.articles
        )
    best: dict[str, tuple[float, float]] = {}  # label -> (wall s, CPU s) of the fastest run
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "articles.jsonl"
        with open(source, "wb") as handle:
            for article in articles(args.articles):
                handle.write(orjson.dumps(article) + b"\n")
        size_mb = source.stat().st_size / 1e6
        print(f"corpus: {args.articles} articles, {size_mb:.1f} MB")
        for attempt in range(args.repeat):
            for number, (label, run) in enumerate(runs.items()):
                cpu_started = time.process_time()
                wall = run(str(source), str(Path(tmp) / f"run{attempt}-{number}" / "out"))
                cpu = time.process_time() - cpu_started
                if label not in best or wall < best[label][0]:
                    best[label] = (wall, cpu)

    base_wall, base_cpu = next(iter(best.values()))
    for label, (wall, cpu) in best.items():
        ratio = f"  ratio {base_wall / wall:.2f} (CPU {base_cpu / cpu:.2f})"
        print(
            f"{label:<40} {args.articles / wall:8.0f} articles/s ({wall:.1f} s, CPU {cpu:.1f} s)"
            + ("" if label.startswith("bare") else ratio)
        )
    full_wall, full_cpu = best["newsbeam run (all stages)"]
    print(f"ratio full/bare: {base_wall / full_wall:.2f} (CPU time: {base_cpu / full_cpu:.2f})")
    if STORIES_OFF in best:
        off_wall, off_cpu = best[STORIES_OFF]
        print(
            f"story stage share of the full job: {(full_wall - off_wall) / full_wall:.1%} "
            f"wall, {(full_cpu - off_cpu) / full_cpu:.1%} CPU"
        )
    code_dir.cleanup()


if __name__ == "__main__":
    main()
