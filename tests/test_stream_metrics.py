"""`newsbeam stream --metrics-port`: Prometheus metrics, /healthz and /readyz.

Unit tests on the pure cores (the Beam-metrics -> Prometheus bridge, the probes, the
latency buckets) and one integration test that scrapes a real job reading from the
Tansu broker, parsing every scrape with prometheus-client's own parser.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import apache_beam as beam
import orjson
import pytest
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter
from kafka_broker import free_port
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from test_kafka_stream import article_messages, new_topics, start_job, stream_command

from newsbeam.cli import main
from newsbeam.pipelines.local_runner import streaming_fn_api_runner
from newsbeam.pipelines.metrics_server import MetricsPortError, MetricsServer, Probes
from newsbeam.pipelines.report import counters_by_stage
from newsbeam.pipelines.stream_metrics import BundleMetrics, StreamMetrics, bundle_metrics
from newsbeam.transforms.io.kafka import latency


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} from Prometheus' text format."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def bundle(counters=None, distributions=None, gauges=None) -> BundleMetrics:
    return BundleMetrics(
        counters={tuple(k.split("/")): v for k, v in (counters or {}).items()},
        distributions={tuple(k.split("/")): v for k, v in (distributions or {}).items()},
        gauges={tuple(k.split("/")): v for k, v in (gauges or {}).items()},
    )


def test_bridge_turns_bundle_deltas_into_prometheus_totals():
    metrics = StreamMetrics()
    metrics.observe(
        bundle(
            counters={
                "newsbeam.read/messages": 10,
                "newsbeam.parse/articles": 8,
                "newsbeam.read/dead_letter.malformed_json": 2,
                "newsbeam.clean/articles": 7,
                "newsbeam.clean/dead_letter.empty_after_cleaning": 1,
                "newsbeam.language/en": 6,
                "newsbeam.language/und": 1,
                "newsbeam.language/backend.langdetect-rs": 7,
                "newsbeam.dedup/unique": 6,
                "newsbeam.dedup/near": 1,
                "newsbeam.write/articles": 7,
                "newsbeam.write/kafka.articles": 7,
                "newsbeam.latency/le_0.1": 5,
                "newsbeam.latency/le_1": 1,
                "newsbeam.latency/le_inf": 1,
                "other.namespace/ignored": 99,
            },
            distributions={
                "newsbeam.latency/end_to_end_ms": (7, 1500, 20, 400_000),
                "newsbeam.read/commit_ms": (3, 30, 5, 15),
            },
            gauges={
                "newsbeam.read/lag.0": (1.0, 40),
                "newsbeam.read/lag.1": (1.0, 3),
                "newsbeam.dedup/window_articles": (1.0, 7),
            },
        ),
        seconds=0.2,
    )
    metrics.observe(
        bundle(
            counters={"newsbeam.read/messages": 5, "newsbeam.read/dead_letter.malformed_json": 1},
            # lag.0 set again; the window reported with its old time and a reset value
            gauges={"newsbeam.read/lag.0": (2.0, 0), "newsbeam.dedup/window_articles": (0.0, 0)},
        ),
        seconds=0.01,
    )
    found = samples(generate_latest(metrics.registry).decode())
    assert found[("newsbeam_stage_in_total", (("stage", "read"),))] == 15
    assert found[("newsbeam_stage_out_total", (("stage", "read"),))] == 8
    assert found[("newsbeam_stage_in_total", (("stage", "clean"),))] == 8
    assert found[("newsbeam_stage_out_total", (("stage", "clean"),))] == 7
    assert found[("newsbeam_stage_in_total", (("stage", "language"),))] == 7
    assert found[("newsbeam_stage_out_total", (("stage", "write"),))] == 7
    dead = (("reason", "malformed_json"), ("stage", "read"))
    assert found[("newsbeam_dead_letters_total", dead)] == 3
    assert found[("newsbeam_events_total", (("name", "en"), ("stage", "language")))] == 6
    assert not [k for k in found if "ignored" in str(k) or ("stage", "latency") in k[1]]
    # Gauges keep the latest value, per partition.
    assert found[("newsbeam_kafka_consumer_lag", (("partition", "0"),))] == 0
    assert found[("newsbeam_kafka_consumer_lag", (("partition", "1"),))] == 3
    assert found[("newsbeam_dedup_window_articles", ())] == 7
    # The latency histogram is cumulative, its sum from the distribution (ms -> s).
    histogram = "newsbeam_end_to_end_latency_seconds"
    assert found[(f"{histogram}_bucket", (("le", "0.05"),))] == 0
    assert found[(f"{histogram}_bucket", (("le", "0.1"),))] == 5
    assert found[(f"{histogram}_bucket", (("le", "2.5"),))] == 6
    assert found[(f"{histogram}_bucket", (("le", "+Inf"),))] == 7
    assert found[(f"{histogram}_count", ())] == 7
    assert found[(f"{histogram}_sum", ())] == pytest.approx(1.5)
    assert found[("newsbeam_offset_commit_duration_seconds_count", ())] == 3
    assert found[("newsbeam_offset_commit_duration_seconds_sum", ())] == pytest.approx(0.03)
    assert found[("newsbeam_bundle_duration_seconds_count", ())] == 2


class _CountingFn(beam.DoFn):
    def process(self, n: int):
        Metrics.counter("newsbeam.read", "messages").inc()
        Metrics.counter("newsbeam.read", "dead_letter.bad" if n % 5 == 0 else "kept").inc()
        Metrics.distribution("newsbeam.latency", latency.DISTRIBUTION).update(n)
        Metrics.counter(latency.NAMESPACE, latency.bucket_name(n / 1000)).inc()
        Metrics.gauge("newsbeam.read", "lag.0").set(100 - n)
        Metrics.counter("other", "not_ours").inc()
        yield n


def test_bridge_totals_equal_beams_own_metrics_on_the_local_runner():
    """Real MonitoringInfos, bundle by bundle, from the runner the stream job uses: the
    bridge's totals must be what Beam itself reports when the pipeline ends."""
    metrics = StreamMetrics()
    runner = streaming_fn_api_runner(
        lambda infos, seconds: metrics.observe(bundle_metrics(infos), seconds)
    )
    pipeline = beam.Pipeline(runner=runner)
    _ = pipeline | beam.Create(list(range(1, 101))) | beam.ParDo(_CountingFn())
    result = pipeline.run()
    result.wait_until_finish()
    beam_counters = counters_by_stage(result)
    assert metrics.counter("read", "messages") == beam_counters["read"]["messages"] == 100
    assert metrics.counter("read", "dead_letter.bad") == 20
    found = samples(generate_latest(metrics.registry).decode())
    assert found[("newsbeam_dead_letters_total", (("reason", "bad"), ("stage", "read")))] == 20
    assert found[("newsbeam_end_to_end_latency_seconds_count", ())] == 100
    assert found[("newsbeam_end_to_end_latency_seconds_sum", ())] == pytest.approx(5.05)
    assert found[("newsbeam_end_to_end_latency_seconds_bucket", (("le", "0.05"),))] == 50
    [gauge] = result.metrics().query(MetricsFilter().with_name("lag.0"))["gauges"]
    beam_lag = (gauge.committed or gauge.attempted).value
    assert found[("newsbeam_kafka_consumer_lag", (("partition", "0"),))] == beam_lag
    assert metrics.bundles >= 1
    assert not [k for k in found if "not_ours" in str(k)]


def test_latency_buckets():
    assert latency.bucket_name(0.0) == "le_0.01"
    assert latency.bucket_name(0.1) == "le_0.1"
    assert latency.bucket_name(0.11) == "le_0.25"
    assert latency.bucket_name(301) == "le_inf"
    assert latency.bucket_bound("le_0.25") == 0.25 and latency.bucket_bound("le_inf") > 1e9
    assert latency.bucket_bound("end_to_end_ms") is None
    assert latency.record_epoch_seconds({"ingested_at": "1970-01-01T00:01:00.500Z"}) == 60.5
    assert latency.record_epoch_seconds({"ingested_at": "yesterday"}) is None


def test_probes_follow_bundles_and_stop_requests():
    now = [100.0]
    metrics = StreamMetrics(clock=lambda: now[0])
    stopping = [False]
    probes = Probes(metrics, max_age_s=60, stopping=lambda: stopping[0], clock=lambda: now[0])
    assert probes.healthy() == (True, "starting") and probes.ready() == (False, "starting")
    now[0] = 170.0  # no bundle for 70 s since the start: stuck
    assert probes.healthy()[0] is False
    metrics.observe(bundle(), seconds=0.1)
    assert probes.healthy() == (True, "ok") and probes.ready() == (True, "ok")
    now[0] = 231.0
    assert probes.healthy() == (False, "last bundle completed 61s ago")
    stopping[0] = True
    assert probes.ready() == (False, "stopping")


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_server_serves_metrics_and_probes_and_refuses_a_port_in_use():
    with MetricsServer(0, "127.0.0.1") as server:
        base = f"http://127.0.0.1:{server.port}"
        status, text = _get(f"{base}/metrics")
        assert status == 200 and "newsbeam_stage_in_total" in text
        assert _get(f"{base}/healthz") == (200, "starting\n")
        assert _get(f"{base}/readyz") == (503, "starting\n")
        assert _get(f"{base}/nothing")[0] == 404
        with pytest.raises(MetricsPortError, match="in use"):
            MetricsServer(server.port, "127.0.0.1")


@pytest.mark.parametrize("port", ["0", "65536", "-1", "http"])
def test_metrics_port_out_of_range_is_a_usage_error(port, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(_stream_args("127.0.0.1:9", "--metrics-port", port))
    assert exit_info.value.code == 2
    assert "--metrics-port" in capsys.readouterr().err


def test_metrics_port_in_use_is_a_usage_error_before_anything_starts(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as exit_info:
            # No broker at 127.0.0.1:9: the port is checked first.
            main(
                _stream_args(
                    "127.0.0.1:9", "--metrics-port", str(port), "--metrics-host", "127.0.0.1"
                )
            )
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"--metrics-port {port}" in err and "in use" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def _stream_args(bootstrap: str, *extra: str) -> list[str]:
    return [
        "stream",
        "--bootstrap-servers",
        bootstrap,
        "--topic",
        "raw",
        "--output-topic",
        "out",
        "--dead-letter-topic",
        "dlq",
        "--connect-timeout",
        "1",
        *extra,
    ]


# -- a real job --------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.integration
def test_scrape_a_running_stream_job(kafka_broker):
    raw, out, dlq = new_topics(kafka_broker, partitions=3)
    port = free_port()
    job = start_job(
        stream_command(
            kafka_broker.bootstrap_servers,
            raw,
            out,
            dlq,
            # Its own group, and so its own dedup changelog: the default group's changelog
            # holds other tests' articles, which would be restored into the window.
            "--group-id",
            f"metrics-{uuid.uuid4().hex[:8]}",
            "--start-offset",
            "earliest",
            "--metrics-port",
            str(port),
            "--metrics-host",
            "127.0.0.1",
        )
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert _wait(lambda: _get(f"{base}/readyz")[0] == 200, job), "never ready"
        before = samples(_get(f"{base}/metrics")[1])
        assert before[("newsbeam_stage_out_total", (("stage", "write"),))] == 0
        n = 60
        poison = [(b"broken", b'{"title": "cut', ()), (b"empty", b"", ())]
        kafka_broker.produce(raw, article_messages(n, "m") + poison, partitions=3)

        def drained() -> dict | None:
            found = samples(_get(f"{base}/metrics")[1])
            lags = [v for (name, _), v in found.items() if name == "newsbeam_kafka_consumer_lag"]
            done = found.get(("newsbeam_stage_out_total", (("stage", "write"),))) == n
            return found if done and len(lags) == 3 and not any(lags) else None

        assert _wait(drained, job), "the job did not write every article with lag 0"
        after = drained()
        assert after[("newsbeam_stage_in_total", (("stage", "read"),))] == n + 2
        assert after[("newsbeam_stage_out_total", (("stage", "read"),))] == n
        for reason in ("malformed_json", "empty_message"):
            assert after[("newsbeam_dead_letters_total", (("reason", reason), ("stage", "read")))]
        histogram = "newsbeam_end_to_end_latency_seconds"
        assert after[(f"{histogram}_count", ())] == n
        assert after[(f"{histogram}_bucket", (("le", "+Inf"),))] == n
        assert 0 < after[(f"{histogram}_sum", ())] < n * 60  # seconds, not milliseconds
        assert after[("newsbeam_dedup_window_articles", ())] == n
        assert after[("newsbeam_bundle_duration_seconds_count", ())] > before.get(
            ("newsbeam_bundle_duration_seconds_count", ()), 0
        )
        assert after[("newsbeam_offset_commit_duration_seconds_count", ())] >= 0
        assert _get(f"{base}/healthz") == (200, "ok\n")
    finally:
        job.send_signal(signal.SIGTERM)
        stdout, stderr = job.communicate(timeout=60)
    assert job.returncode == 0, stderr
    assert orjson.loads(stdout)["articles_written"] == n


def _wait(predicate, job: subprocess.Popen, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if job.poll() is not None:
            raise AssertionError(f"the job exited {job.returncode}: {job.stderr.read()}")
        try:
            result = predicate()
        except (urllib.error.URLError, ConnectionError):
            result = None
        if result:
            return result
        time.sleep(0.3)
    return None
