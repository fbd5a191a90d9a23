"""Sink throughput vs a bare Beam write, in one process run.

    python benchmarks/bench_sinks.py [--records 20000] [--postgres DSN]

Generates N article records (schema_version 1, bodies from benchmarks/corpus.py)
into one .jsonl file, then runs, each on the DirectRunner and each reading
that file: (1) a bare baseline (read lines -> orjson parse -> orjson dump ->
WriteToText), (2) the JSON Lines sink, (3) the Parquet sink, (4) the
PostgreSQL sink into a fresh table, (5) the PostgreSQL sink again into the same
table (a full re-run: every row an unchanged upsert). Prints records/s for each
and the ratio to the baseline. PostgreSQL is skipped when the server is not
reachable (default DSN: $NEWSBEAM_TEST_POSTGRES or postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

import apache_beam as beam
import orjson
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import article_body, headline  # noqa: E402

from newsbeam import PIPELINE_VERSION  # noqa: E402
from newsbeam.schemas.article import Article, Source  # noqa: E402
from newsbeam.transforms.io.files.jsonl import WriteJsonLines  # noqa: E402
from newsbeam.transforms.io.parquet.sink import WriteParquet  # noqa: E402
from newsbeam.transforms.io.postgres.sink import WriteToPostgres  # noqa: E402
from newsbeam.transforms.io.sink_specs import parse_sink  # noqa: E402

DEFAULT_DSN = os.environ.get("NEWSBEAM_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def records(count: int, seed: int = 11):
    rng = random.Random(seed)
    for index in range(count):
        text = article_body(rng)
        article = Article(
            id=f"bench-{index:07d}",
            source=Source(kind="file", uri="file:///bench/articles.jsonl", line=index + 1),
            raw="",
            text=text,
            url=f"https://news.example/{index}",
            title=headline(rng),
            authors=["Maria Santos"] if index % 2 else [],
            published_at=f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T08:00:00Z",
            language="en",
            language_score=0.99,
            removed={"nav": rng.randint(1, 3)} if index % 3 else {},
            content_hash=f"{rng.getrandbits(128):032x}",
            topics=[{"label": "economy", "score": 0.7}],
            ingested_at="2024-12-01T00:00:00Z",
        )
        yield article.to_record(pipeline_version=PIPELINE_VERSION)


def timed(source: str, sink: beam.PTransform) -> float:
    started = time.perf_counter()
    with beam.Pipeline() as pipeline:
        _ = pipeline | beam.io.ReadFromText(source) | beam.Map(orjson.loads) | sink
    return time.perf_counter() - started


class BareWrite(beam.PTransform):
    def __init__(self, output: str) -> None:
        super().__init__()
        self._output = output

    def expand(self, pcoll):
        return (
            pcoll
            | beam.Map(orjson.dumps)
            | beam.io.WriteToText(self._output, coder=beam.coders.BytesCoder())
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--postgres", default=DEFAULT_DSN, metavar="DSN")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    results: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "records.jsonl"
        with open(source, "wb") as handle:
            for record in records(args.records):
                handle.write(orjson.dumps(record) + b"\n")
        print(f"records: {args.records}, {source.stat().st_size / 1e6:.1f} MB")
        src = str(source)
        results.append(("bare WriteToText (baseline)", timed(src, BareWrite(f"{tmp}/bare/out"))))
        results.append(("JSON Lines sink", timed(src, WriteJsonLines(f"{tmp}/jsonl"))))
        results.append(("Parquet sink", timed(src, WriteParquet(f"{tmp}/parquet"))))
        try:
            psycopg.connect(args.postgres, connect_timeout=3).close()
        except psycopg.Error as error:
            print(f"PostgreSQL skipped: {error}")
        else:
            schema = f"newsbeam_bench_{uuid.uuid4().hex[:8]}"
            spec = parse_sink(f"{args.postgres}?table={schema}.articles")
            try:
                results.append(("PostgreSQL sink, new rows", timed(src, WriteToPostgres(spec))))
                results.append(("PostgreSQL sink, re-run", timed(src, WriteToPostgres(spec))))
            finally:
                with psycopg.connect(args.postgres, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    baseline = args.records / results[0][1]
    for name, seconds in results:
        rate = args.records / seconds
        print(f"{name:30s} {rate:8.0f} records/s ({seconds:5.1f} s)  ratio {rate / baseline:.2f}")


if __name__ == "__main__":
    main()
