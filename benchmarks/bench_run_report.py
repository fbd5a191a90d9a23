"""What the run report and the stream metrics cost, against baselines in the same run.

    python benchmarks/bench_run_report.py [--articles 2000] [--repeat 3]

1. run-report.html: runs `newsbeam run` (run_batch, every stage) on N synthetic
   articles (benchmarks/corpus.py; every 10th article is repeated under a new id so
   there are duplicate clusters), then times building the page again from the
   outputs (scan + charts + write) against a bare pass that reads and parses every
   output line with orjson (the least any report over the outputs must do), and
   prints the page's share of the batch run's wall time.
2. Stream metrics: runs the stream job's pipeline (bounded, as `--until-end`) on the
   local runner over the same articles produced to the Tansu test broker, keeping
   every bundle's MonitoringInfos and wall time, then times what `--metrics-port`
   adds per bundle (decoding the infos and updating the Prometheus totals) against
   what the runner already does per bundle with the same infos (consolidating them
   into the stage's totals), and prints it as a share of a bundle's wall time.

The timings are the best of `--repeat` runs (the machine is shared).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import uuid
from pathlib import Path

import apache_beam as beam
import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
from corpus import articles  # noqa: E402
from kafka_broker import TansuBroker  # noqa: E402
from prometheus_client import generate_latest  # noqa: E402

from newsbeam.pipelines.batch import REPORT_NAME, run_batch  # noqa: E402
from newsbeam.pipelines.config import BatchRunConfig, PipelineConfig  # noqa: E402
from newsbeam.pipelines.html_report import write_html_report  # noqa: E402
from newsbeam.pipelines.local_runner import (  # noqa: E402
    _consolidate_now,
    streaming_fn_api_runner,
)
from newsbeam.pipelines.stream import (  # noqa: E402
    StreamRunConfig,
    build_stream_pipeline,
    pipeline_options,
)
from newsbeam.pipelines.stream_metrics import StreamMetrics, bundle_metrics  # noqa: E402
from newsbeam.transforms.io.kafka.sink import KafkaSinkConfig  # noqa: E402
from newsbeam.transforms.io.kafka.source import KafkaSourceConfig  # noqa: E402


def corpus(count: int) -> list[dict]:
    items = list(articles(count - count // 10))
    copies = [{**a, "id": a["id"] + "-copy"} for a in items[::9][: count // 10]]
    return items + copies


def best(repeat: int, action) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def read_every_line(folder: Path) -> int:
    count = 0
    for path in sorted(folder.glob("*.jsonl")):
        with path.open("rb") as handle:
            for line in handle:
                orjson.loads(line)
                count += 1
    return count


def bench_html_report(items: list[dict], workdir: Path, repeat: int) -> None:
    source = workdir / "in.jsonl"
    source.write_bytes(b"\n".join(orjson.dumps(a) for a in items) + b"\n")
    out = workdir / "out"
    config = BatchRunConfig(inputs=(str(source),), output_dir=str(out), pipeline=PipelineConfig())
    started = time.perf_counter()
    report = run_batch(config, [str(source)])
    whole = time.perf_counter() - started  # + preparing the folder and the HTML page
    saved = orjson.loads((out / REPORT_NAME).read_bytes())
    lines = read_every_line(out)
    bare = best(repeat, lambda: read_every_line(out))
    page = best(repeat, lambda: write_html_report(str(out), saved))
    size = (out / "run-report.html").stat().st_size
    print(f"run-report.html over {lines:,} output lines ({len(items):,} input articles)")
    print(f"  batch run (every stage):     {report['wall_seconds']:8.2f} s (run-report.json)")
    print(f"  same, with writing the page: {whole:8.2f} s (first page of the process)")
    print(f"  bare read+parse of outputs:  {bare:8.3f} s")
    print(
        f"  build run-report.html:       {page:8.3f} s  ({page / bare:.1f}x the bare read; "
        f"{page / report['wall_seconds']:.1%} of the batch run; page {size / 1024:.0f} KiB)"
    )


def bench_stream_metrics(items: list[dict], repeat: int, per_bundle: int) -> None:
    """The real stream pipeline (bounded: --until-end) reading the articles from the
    Tansu test broker, keeping each bundle's MonitoringInfos and wall time."""
    captured: list[tuple[list, float]] = []
    broker = TansuBroker.start()
    try:
        tag = uuid.uuid4().hex[:8]
        raw, out, dlq = f"raw-{tag}", f"out-{tag}", f"dlq-{tag}"
        broker.create_topics(raw, partitions=3)
        broker.create_topics(out, dlq, partitions=1)
        broker.produce(raw, [(None, orjson.dumps(a), ()) for a in items], partitions=3)
        servers = broker.bootstrap_servers
        config = StreamRunConfig(
            # Small reads per bundle, as when a live stream keeps up (a backlog gives
            # a few large bundles instead).
            source=KafkaSourceConfig(
                servers,
                raw,
                start_offset="earliest",
                until_end=True,
                max_records_per_call=per_bundle,
            ),
            articles=KafkaSinkConfig(servers, out),
            dead_letters=KafkaSinkConfig(servers, dlq),
        )
        runner = streaming_fn_api_runner(
            lambda infos, seconds: captured.append((list(infos), seconds))
        )
        pipeline = beam.Pipeline(runner=runner, options=pipeline_options(config))
        build_stream_pipeline(pipeline, config)
        pipeline.run().wait_until_finish()
    finally:
        broker.stop()
    bundles = [infos for infos, _ in captured]
    infos = sum(len(b) for b in bundles)
    bundle_seconds = sum(seconds for _, seconds in captured) / len(captured)

    def bridge() -> StreamMetrics:
        metrics = StreamMetrics()
        for bundle in bundles:
            metrics.observe(bundle_metrics(bundle), 0.0)
        return metrics

    def consolidate() -> None:
        totals: list = []
        for bundle in bundles:
            totals = _consolidate_now([*bundle, *totals])

    bridged = best(repeat, bridge)
    runner_own = best(repeat, consolidate)
    bridge_seconds = bridged / len(bundles)
    print(f"stream metrics over {len(bundles)} bundles ({infos:,} MonitoringInfos)")
    print(f"  mean bundle wall time:       {bundle_seconds * 1e3:8.2f} ms")
    print(f"  runner's own consolidation:  {runner_own / len(bundles) * 1e6:8.1f} µs/bundle")
    print(
        f"  --metrics-port bridge:       {bridge_seconds * 1e6:8.1f} µs/bundle "
        f"({bridged / runner_own:.2f}x the runner's own; {bridge_seconds / bundle_seconds:.2%} "
        "of a bundle)"
    )
    metrics = bridge()
    scrape = best(repeat, lambda: generate_latest(metrics.registry))
    print(f"  one /metrics scrape:         {scrape * 1e3:8.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--records-per-bundle", type=int, default=20, help="Kafka records per read (bundle)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    items = corpus(args.articles)
    with tempfile.TemporaryDirectory() as workdir:
        bench_html_report(items, Path(workdir), args.repeat)
    bench_stream_metrics(items, args.repeat, args.records_per_bundle)


if __name__ == "__main__":
    main()
