"""Full batch pipeline vs a bare Beam baseline, in one process run.

    python benchmarks/bench_pipeline.py [--articles 20000]

Generates N synthetic articles (benchmarks/corpus.py) into one .jsonl file, then
runs (1) a bare Beam pipeline (read lines -> orjson parse -> one Map -> write)
and (2) the `newsbeam run` batch job on the same file, and prints articles/s for
both and their ratio. Both run on the DirectRunner in this process.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import apache_beam as beam
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import articles  # noqa: E402

from newsbeam.pipelines.batch import run_batch  # noqa: E402
from newsbeam.pipelines.config import BatchRunConfig  # noqa: E402


def bare_baseline(source: str, output: str) -> float:
    started = time.perf_counter()
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "articles.jsonl"
        with open(source, "wb") as handle:
            for article in articles(args.articles):
                handle.write(orjson.dumps(article) + b"\n")
        size_mb = source.stat().st_size / 1e6
        print(f"corpus: {args.articles} articles, {size_mb:.1f} MB")

        baseline = bare_baseline(str(source), str(Path(tmp) / "bare" / "out"))
        config = BatchRunConfig(inputs=(str(source),), output_dir=str(Path(tmp) / "full"))
        report = run_batch(config, [str(source)])
        full = report["wall_seconds"]
        assert report["articles_written"] + sum(report["filtered"].values()) <= args.articles

    bare_rate, full_rate = args.articles / baseline, args.articles / full
    print(f"bare baseline (read -> parse -> write): {bare_rate:8.0f} articles/s ({baseline:.1f} s)")
    print(f"newsbeam run (all stages):              {full_rate:8.0f} articles/s ({full:.1f} s)")
    print(f"ratio full/bare: {full_rate / bare_rate:.2f}")


if __name__ == "__main__":
    main()
