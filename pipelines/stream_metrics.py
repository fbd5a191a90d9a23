"""The stream job's Beam metrics as Prometheus metrics, live, on the local runner.

Beam's FnApiRunner only reports metrics when the pipeline ends, and a streaming job
does not end. But every bundle's response carries that bundle's own metric updates
(counters and distributions as deltas, gauges as latest values), and the local
runner here (local_runner.py) hands each response to an observer: this module.
It keeps running totals and exposes them through a prometheus-client collector, so
nothing in the stages knows about Prometheus and the same Beam metrics go to the
runner's own metrics system on Flink or Dataflow.

Metrics (docs, "Metrics and probes"):
- newsbeam_stage_in_total / newsbeam_stage_out_total {stage}: read (Kafka messages in,
  decoded articles out), clean (out: clean.articles; in: out + its dead letters),
  language and dedup (every article once), write (records made; acknowledged by the
  output topic)
- newsbeam_dead_letters_total {stage, reason}: every `dead_letter.<reason>` counter
- newsbeam_events_total {stage, name}: every other newsbeam.<stage> counter
- newsbeam_kafka_consumer_lag {partition}: gauge newsbeam.read / lag.<partition>
- newsbeam_end_to_end_latency_seconds: histogram from the newsbeam.latency counters
- newsbeam_dedup_window_articles: gauge newsbeam.dedup / window_articles
- newsbeam_bundle_duration_seconds: histogram measured around each bundle
- newsbeam_offset_commit_duration_seconds: summary from newsbeam.read / commit_ms
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

from newsbeam.transforms.io.kafka import latency

PREFIX = "newsbeam."
DEAD_LETTER = "dead_letter."
# Counters already shown by a dedicated metric (or, for the timeline, not useful live).
_NOT_EVENTS = {"latency", "timeline"}
BUNDLE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass(frozen=True)
class BundleMetrics:
    """One bundle's metric updates, as plain values: (namespace, name) keys."""

    counters: dict[tuple[str, str], int]
    distributions: dict[tuple[str, str], tuple[int, int, int, int]]  # count, sum, min, max
    # (timestamp in seconds, value): a bundle also reports gauges it did not set, with
    # the value and time of their last set, so only a newer timestamp replaces a value.
    gauges: dict[tuple[str, str], tuple[float, int]]


class StreamMetrics(Collector):
    """Running totals of the job's Beam metrics (Beam-free core), and their
    Prometheus form. Thread-safe: bundles arrive on the runner's thread, scrapes on
    the HTTP server's."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, str], int] = defaultdict(int)
        self._distributions: dict[tuple[str, str], list[int]] = {}
        self._gauges: dict[tuple[str, str], tuple[float, int]] = {}
        self.started = clock()
        self.bundles = 0
        self.last_bundle: float | None = None
        self.registry = CollectorRegistry()
        self.registry.register(self)
        self._bundle_seconds = Histogram(
            "newsbeam_bundle_duration_seconds",
            "Wall time of each bundle of the job: processing, the sinks' flush and the "
            "offset commit (local runner).",
            buckets=BUNDLE_BUCKETS,
            registry=self.registry,
        )

    # -- updates --------------------------------------------------------------------

    def observe(self, bundle: BundleMetrics, seconds: float) -> None:
        with self._lock:
            for key, delta in bundle.counters.items():
                if key[0].startswith(PREFIX):
                    self._counters[key] += delta
            for key, (count, total, low, high) in bundle.distributions.items():
                if not key[0].startswith(PREFIX) or not count:
                    continue
                kept = self._distributions.get(key)
                if kept is None:
                    self._distributions[key] = [count, total, low, high]
                else:
                    kept[0] += count
                    kept[1] += total
                    kept[2] = min(kept[2], low)
                    kept[3] = max(kept[3], high)
            for key, (timestamp, value) in bundle.gauges.items():
                kept = self._gauges.get(key)
                if key[0].startswith(PREFIX) and (kept is None or timestamp >= kept[0]):
                    self._gauges[key] = (timestamp, value)
            self.bundles += 1
            self.last_bundle = self._clock()
        self._bundle_seconds.observe(seconds)

    # -- reads ----------------------------------------------------------------------

    def counter(self, stage: str, name: str) -> int:
        with self._lock:
            return self._counters.get((PREFIX + stage, name), 0)

    def collect(self) -> Iterator:
        with self._lock:
            counters = dict(self._counters)
            distributions = {k: tuple(v) for k, v in self._distributions.items()}
            gauges = {key: value for key, (_, value) in self._gauges.items()}
        by_stage: dict[str, dict[str, int]] = defaultdict(dict)
        for (namespace, name), value in counters.items():
            by_stage[namespace[len(PREFIX) :]][name] = value

        stage_in = CounterMetricFamily(
            "newsbeam_stage_in",
            "Articles into each stage (read: Kafka messages).",
            labels=["stage"],
        )
        stage_out = CounterMetricFamily(
            "newsbeam_stage_out",
            "Articles out of each stage to the next (write: acknowledged by the output topic).",
            labels=["stage"],
        )
        for stage, (into, out) in _stage_flows(by_stage).items():
            stage_in.add_metric([stage], into)
            stage_out.add_metric([stage], out)
        yield stage_in
        yield stage_out

        dead = CounterMetricFamily(
            "newsbeam_dead_letters",
            "Dead letters by the stage that rejected the record and the reason code.",
            labels=["stage", "reason"],
        )
        events = CounterMetricFamily(
            "newsbeam_events",
            "Every other counter of the job's stages (newsbeam.<stage>/<name> in Beam).",
            labels=["stage", "name"],
        )
        for stage, names in sorted(by_stage.items()):
            for name, value in sorted(names.items()):
                if name.startswith(DEAD_LETTER):
                    dead.add_metric([stage, name[len(DEAD_LETTER) :]], value)
                elif stage not in _NOT_EVENTS:
                    events.add_metric([stage, name], value)
        yield dead
        yield events

        lag = GaugeMetricFamily(
            "newsbeam_kafka_consumer_lag",
            "Messages in the input topic's partition not yet read: high watermark of the "
            "last fetch minus the next offset.",
            labels=["partition"],
        )
        for (namespace, name), value in sorted(gauges.items()):
            if namespace == PREFIX + "read" and name.startswith("lag."):
                lag.add_metric([name[len("lag.") :]], value)
        yield lag
        window = gauges.get((PREFIX + "dedup", "window_articles"))
        if window is not None:
            yield GaugeMetricFamily(
                "newsbeam_dedup_window_articles",
                "Articles held by the stream deduplication window (latest bundle's count).",
                value=window,
            )
        yield _latency_histogram(by_stage.get("latency", {}), distributions)
        commits = distributions.get((PREFIX + "read", "commit_ms"))
        summary = SummaryMetricFamily(
            "newsbeam_offset_commit_duration_seconds",
            "Time to commit the consumer group's offsets after a bundle (millisecond resolution).",
        )
        summary.add_metric(
            [],
            count_value=commits[0] if commits else 0,
            sum_value=(commits[1] / 1000) if commits else 0.0,
        )
        yield summary


def _stage_flows(stages: dict[str, dict[str, int]]) -> dict[str, tuple[int, int]]:
    """(in, out) per stage, from the counters each stage keeps (see the module table)."""

    def dead(stage: str) -> int:
        return sum(v for k, v in stages.get(stage, {}).items() if k.startswith(DEAD_LETTER))

    flows: dict[str, tuple[int, int]] = {}
    read = stages.get("read", {})
    parsed = stages.get("parse", {}).get("articles", 0)
    flows["read"] = (read.get("messages", 0), parsed)
    cleaned = stages.get("clean", {}).get("articles", 0)
    flows["clean"] = (cleaned + dead("clean"), cleaned)
    languages = sum(v for k, v in stages.get("language", {}).items() if "." not in k)
    flows["language"] = (languages, languages)
    deduplicated = sum(stages.get("dedup", {}).get(s, 0) for s in ("unique", "exact", "near"))
    flows["dedup"] = (deduplicated, deduplicated)
    write = stages.get("write", {})
    flows["write"] = (write.get("articles", 0), write.get("kafka.articles", 0))
    return flows


def _latency_histogram(
    buckets: dict[str, int], distributions: dict[tuple[str, str], tuple]
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(
        "newsbeam_end_to_end_latency_seconds",
        "Kafka record timestamp of an input article to its record being acknowledged "
        "by the output topic.",
    )
    counts = {latency.bucket_bound(name): n for name, n in buckets.items()}
    cumulative, rows = 0, []
    for bound in (*latency.BUCKETS_SECONDS, float("inf")):
        cumulative += counts.get(bound, 0)
        rows.append(("+Inf" if bound == float("inf") else f"{bound:g}", cumulative))
    summary = distributions.get((latency.NAMESPACE, latency.DISTRIBUTION))
    total_seconds = summary[1] / 1000 if summary else 0.0
    family.add_metric([], rows, sum_value=total_seconds)
    return family


def bundle_metrics(monitoring_infos: Iterable) -> BundleMetrics:
    """A bundle response's MonitoringInfos -> plain values (user metrics only)."""
    from apache_beam.metrics import monitoring_infos as mi

    counters: dict[tuple[str, str], int] = defaultdict(int)
    distributions: dict[tuple[str, str], tuple[int, int, int, int]] = {}
    gauges: dict[tuple[str, str], tuple[float, int]] = {}
    for info in monitoring_infos:
        if not mi.is_user_monitoring_info(info):
            continue
        key = mi.parse_namespace_and_name(info)
        if not key[0].startswith(PREFIX):
            continue
        if mi.is_counter(info):
            # The same name in several transforms of the stage: one total.
            counters[key] += mi.extract_counter_value(info)
        elif mi.is_distribution(info):
            count, total, low, high = mi.extract_distribution(info)
            kept = distributions.get(key)
            if kept is not None:
                count, total = count + kept[0], total + kept[1]
                low, high = min(low, kept[2]), max(high, kept[3])
            distributions[key] = (count, total, low, high)
        elif mi.is_gauge(info):
            timestamp, value = mi.extract_gauge_value(info)
            if key not in gauges or timestamp >= gauges[key][0]:
                gauges[key] = (timestamp, value)
    return BundleMetrics(
        counters=dict(counters),
        distributions=distributions,
        gauges=gauges,
    )
