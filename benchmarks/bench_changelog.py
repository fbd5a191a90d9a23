"""The durable dedup window: restore time and memory, and the changelog's cost.

    python benchmarks/bench_changelog.py [--entries 70000] [--distinct 7000] [--articles 3000]

Starts a Tansu broker (as the tests do), then in one run:

1. A full window: `--entries` entries (70,000 = 7 days at 10,000 articles a day)
   spread over 7 days of event time, written to a changelog topic exactly as the job
   writes them (entry_codec, key = id). The first `--distinct` come from real
   articles (benchmarks/corpus.py) through the real StreamIndex (sketches, labels,
   ~15% exact copies); the rest are clones of those with new ids and random LSH band
   keys, so every entry is its own article to the index (generating 70,000 real
   sketches would take ~7 minutes here; the stored bytes and the index's shape are
   the same).
2. Restore, in a fresh process: read the topic, rebuild the window (decode, skip,
   expire), build the index. Seconds per step, resident memory before and after.
3. End to end: `newsbeam stream --until-end` over one article, with that changelog
   against a fresh (empty) one, alternated twice: wall time and peak RSS of the whole
   job, i.e. what a restart costs (Beam start-up included in both, so the difference
   is the restore).
4. Steady-state cost: a running job (start-up excluded) gets `--articles` articles
   at once, through every stage; changelog off (`--dedup-state none`) and on,
   alternated twice, fresh topics and groups; articles/s = articles / (last output
   record - start of production); best of each and the ratio on/off.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from kafka import KafkaProducer

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests"))
from bench_kafka import OutputWatcher, produce  # noqa: E402
from corpus import article_body, articles  # noqa: E402
from kafka_broker import TansuBroker  # noqa: E402

from newsbeam.transforms.dedup.config import DAY_SECONDS, DedupConfig  # noqa: E402
from newsbeam.transforms.dedup.entry_codec import encode_entry  # noqa: E402
from newsbeam.transforms.dedup.sketch import build_sketch  # noqa: E402
from newsbeam.transforms.dedup.stream_index import StreamEntry, StreamIndex  # noqa: E402

T0 = 1_780_000_000.0


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def window_entries(count: int, distinct: int, config: DedupConfig) -> list[StreamEntry]:
    rng = random.Random(15)
    index = StreamIndex(config)
    spacing = 7 * DAY_SECONDS / count
    base: list[StreamEntry] = []
    texts: list[str] = []
    for i in range(distinct):
        if texts and rng.random() < 0.15:
            text = rng.choice(texts)  # an exact copy: no sketch kept
        else:
            text = article_body(rng)
            texts.append(text)
        sketch = build_sketch(f"w-{i}", text, None, config)
        entry = index.observe(sketch, T0 + i * spacing).entry
        assert entry is not None
        base.append(entry)
    entries = list(base)
    for i in range(distinct, count):
        model = base[i % distinct]
        sketch = model.sketch
        if sketch is not None:
            sketch = dataclasses.replace(
                sketch, id=f"w-{i}", bands=tuple(os.urandom(8) for _ in sketch.bands)
            )
        entries.append(
            dataclasses.replace(
                model, id=f"w-{i}", seq=i, rep_seq=i, event_time=T0 + i * spacing, sketch=sketch
            )
        )
    return entries


def write_changelog(bootstrap: str, topic: str, entries, config: DedupConfig) -> float:
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=20, batch_size=512 * 1024, acks="all"
    )
    size = 0
    for entry in entries:
        value = encode_entry(entry, config.fingerprint_version)
        size += len(value)
        producer.send(topic, key=entry.id.encode(), value=value)
    producer.flush()
    producer.close()
    return size / 1e6


def restore_probe(bootstrap: str, topic: str) -> None:
    """Child process: restore the window from the topic, print JSON figures."""
    from newsbeam.transforms.dedup.window_store import rebuild_window
    from newsbeam.transforms.io.kafka.changelog import ChangelogConfig

    config = DedupConfig()
    before = rss_mb()
    store = ChangelogConfig(bootstrap, topic, config.retention_seconds).open()
    started = time.perf_counter()
    # As the DoFn does it: values decoded as they are read.
    window = rebuild_window(store.load(), config)
    decoded = time.perf_counter()
    index = StreamIndex.restore(config, window.entries, window.clock, 0)
    built = time.perf_counter()
    print(
        json.dumps(
            {
                "entries": len(index),
                "read_decode_s": decoded - started,
                "index_s": built - decoded,
                "total_s": built - started,
                "rss_before_mb": before,
                "rss_after_mb": rss_mb(),
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def job_probe(argv: list[str]) -> None:
    """Child process: the real `newsbeam stream`, then its peak RSS on stderr."""
    from newsbeam import cli

    code = cli.main(argv)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sys.stderr.write(f"peak_rss_mb={peak:.1f}\n")
    sys.exit(code)


def run_job(args: list[str]) -> tuple[dict, float, str]:
    result = subprocess.run(
        [sys.executable, __file__, "--job-probe", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"job failed:\n{result.stderr[-3000:]}")
    peak = float(result.stderr.rsplit("peak_rss_mb=", 1)[1].split()[0])
    return json.loads(result.stdout), peak, result.stderr


def stream_args(bootstrap: str, raw: str, out: str, dlq: str, *extra: str) -> list[str]:
    return [
        "stream",
        "--bootstrap-servers",
        bootstrap,
        "--topic",
        raw,
        "--output-topic",
        out,
        "--dead-letter-topic",
        dlq,
        *extra,
    ]


def throughput(
    broker: TansuBroker, docs: list[dict], state: str, tag: str, partitions: int
) -> float:
    """Articles/s of a running job (start-up excluded): the job is started on an empty
    topic, and once it completes bundles (its health file) the backlog is produced at
    once; rate = articles / (last output record - start of production)."""
    bootstrap = broker.bootstrap_servers
    run = f"{state}-{tag}-{uuid.uuid4().hex[:4]}"
    raw, out, dlq = f"tp-raw-{run}", f"tp-out-{run}", f"tp-dlq-{run}"
    broker.create_topics(raw, partitions=partitions)
    broker.create_topics(out, dlq)
    ids = {d["id"] for d in docs}
    watcher = OutputWatcher(bootstrap, out)
    watcher.start()
    with tempfile.TemporaryDirectory() as tmp:
        health = Path(tmp) / "health"
        job = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--job-probe",
                *stream_args(bootstrap, raw, out, dlq, "--group-id", f"tp-{run}"),
                "--dedup-state",
                state,
                "--health-file",
                str(health),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 120
            while not health.exists():
                if job.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"job did not start: {job.communicate()[1][-2000:]}")
                time.sleep(0.1)
            started = time.time()
            produce(bootstrap, raw, docs, partitions)
            if not watcher.wait_for(ids, timeout=300):
                raise SystemExit(f"not every article came out with --dedup-state {state}")
        finally:
            job.send_signal(signal.SIGTERM)
            job.communicate(timeout=120)
            watcher.stop()
    return len(ids) / (max(watcher.arrivals[i] for i in ids) - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=70_000)
    parser.add_argument("--distinct", type=int, default=7_000)
    parser.add_argument("--articles", type=int, default=6_000, help="steady-state phase")
    parser.add_argument("--partitions", type=int, default=3)
    args = parser.parse_args()

    broker = TansuBroker.start()
    bootstrap = broker.bootstrap_servers
    tag = uuid.uuid4().hex[:6]
    config = DedupConfig()
    try:
        started = time.perf_counter()
        entries = window_entries(args.entries, min(args.distinct, args.entries), config)
        full = f"bench-{tag}-dedup-changelog"
        broker.create_topics(full)
        size_mb = write_changelog(bootstrap, full, entries, config)
        sketched = sum(e.sketch is not None for e in entries)
        print(
            f"window: {len(entries)} entries ({sketched} with sketches), {size_mb:.1f} MB "
            f"in the changelog ({size_mb * 1e3 / len(entries):.2f} KB/entry); "
            f"generated in {time.perf_counter() - started:.0f} s"
        )
        del entries

        probe = subprocess.run(
            [sys.executable, __file__, "--restore-probe", bootstrap, full],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        figures = json.loads(probe.stdout.strip().splitlines()[-1])
        per_entry_kb = (
            (figures["rss_after_mb"] - figures["rss_before_mb"]) * 1024 / figures["entries"]
        )
        print(
            f"restore {figures['entries']} entries: {figures['total_s']:.1f} s "
            f"(read+decode {figures['read_decode_s']:.1f}, index {figures['index_s']:.1f}); "
            f"RSS {figures['rss_before_mb']:.0f} -> "
            f"{figures['rss_after_mb']:.0f} MB, peak {figures['peak_rss_mb']:.0f} MB "
            f"({per_entry_kb:.1f} KB/entry resident)"
        )

        # End to end: a restart with the full window against one with an empty one.
        raw, out, dlq = f"e2e-raw-{tag}", f"e2e-out-{tag}", f"e2e-dlq-{tag}"
        broker.create_topics(raw, out, dlq)
        one = next(articles(1, seed=3))
        # Inside the restored window: an hour before its newest entry.
        newest = T0 + 7 * DAY_SECONDS - 3600
        one["published_at"] = datetime.fromtimestamp(newest, UTC).isoformat()
        produce(bootstrap, raw, [one], 1)
        rows: dict[str, tuple[float, float]] = {}
        runs = [("empty", f"bench-{tag}-empty-{n}-changelog") for n in (0, 1)]
        runs = [runs[0], ("full", full), runs[1], ("full", full)]  # alternated
        for n, (label, topic) in enumerate(runs):
            summary, peak, stderr = run_job(
                stream_args(
                    bootstrap,
                    raw,
                    out,
                    dlq,
                    "--group-id",
                    f"e2e-{label}-{tag}-{n}",
                    "--start-offset",
                    "earliest",
                    "--until-end",
                    "--dedup-changelog-topic",
                    topic,
                )
            )
            restored_line = next(
                (line for line in stderr.splitlines() if "entries restored in" in line), ""
            )
            previous = rows.get(label, (float("inf"), float("inf")))
            rows[label] = (min(previous[0], summary["wall_seconds"]), min(previous[1], peak))
            if os.environ.get("BENCH_DEBUG"):
                print(stderr)
            print(
                f"newsbeam stream --until-end, {label} changelog: {summary['wall_seconds']:.1f} s "
                f"wall, peak RSS {peak:.0f} MB, {summary['messages_read']} read / "
                f"{summary['articles_written']} written, restored "
                f"{summary['dedup_window']['restored']} ({restored_line.split(': ', 1)[-1]})"
            )
        print(
            f"restart cost of a full window (best of 2 each): "
            f"+{rows['full'][0] - rows['empty'][0]:.1f} s wall, "
            f"+{rows['full'][1] - rows['empty'][1]:.0f} MB peak RSS"
        )

        # Steady state: the changelog's cost per article.
        docs = list(articles(args.articles, seed=11))
        best: dict[str, float] = {}
        for state in ("none", "changelog", "none", "changelog"):  # alternated: noise
            rate = throughput(broker, docs, state, tag, args.partitions)
            print(f"  --dedup-state {state}: {rate:.0f} articles/s")
            best[state] = max(best.get(state, 0.0), rate)
        off, on = best["none"], best["changelog"]
        print(
            f"steady state, {args.articles} articles through every stage (best of 2): "
            f"changelog off {off:.0f}/s, on {on:.0f}/s, ratio on/off {on / off:.2f}"
        )
    finally:
        broker.stop()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--restore-probe":
        restore_probe(sys.argv[2], sys.argv[3])
    elif len(sys.argv) > 1 and sys.argv[1] == "--job-probe":
        job_probe(sys.argv[2:])
    else:
        main()
