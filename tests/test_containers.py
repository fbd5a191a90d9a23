"""The application image, built and run: the batch job over mounted folders, the stream job
against the test broker through SIGKILL and SIGTERM restarts, and what an operator expects of
the container (non-root, read-only root filesystem, tini as PID 1, health check, clear errors).

The image is built once per session by deploy/build-image.sh (podman or docker; on a machine
without registry access it builds a Debian stand-in for the base first, see
.ci/setup-containers.sh). Skipped only where no container engine can run at all.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from kafka_broker import free_port
from test_kafka_stream import (
    TopicReader,
    article_messages,
    assert_redeliveries_identical,
    committed,
    new_topics,
)

from conftest import EXAMPLES, REPO_ROOT
from newsbeam import __version__

pytestmark = [pytest.mark.slow, pytest.mark.integration]

HEALTH_FILE = "/tmp/newsbeam/healthy"  # the path the image's HEALTHCHECK checks


@dataclass(frozen=True)
class Image:
    engine: str
    tag: str

    def run(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        """`ENGINE run --rm` with the hardening the deploy files use: read-only root, /tmp tmpfs."""
        command = [self.engine, "run", "--rm", "--no-healthcheck", "--read-only"]
        command += ["--tmpfs", "/tmp", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout)

    def engine_cmd(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([self.engine, *args], capture_output=True, text=True, timeout=timeout)


def _engine() -> str:
    for name in ("podman", "docker"):
        if shutil.which(name):
            return name
    pytest.skip(
        "no container engine: neither podman nor docker is installed "
        "(.ci/setup-containers.sh installs podman)"
    )


@pytest.fixture(scope="session")
def image() -> Image:
    engine = _engine()
    info = subprocess.run([engine, "info"], capture_output=True, text=True, timeout=60)
    if info.returncode != 0:
        reason = (info.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"{engine} is installed but cannot run containers here: {reason}")
    # Cached layers make this seconds when nothing changed since the last session.
    build = subprocess.run(
        [str(REPO_ROOT / "deploy" / "build-image.sh")],
        capture_output=True,
        text=True,
        timeout=1500,
        env={**os.environ, "NEWSBEAM_ENGINE": engine},
    )
    if build.returncode != 0:
        pytest.fail(f"deploy/build-image.sh failed:\n{build.stderr[-3000:]}", pytrace=False)
    return Image(engine=engine, tag=build.stdout.strip().splitlines()[-1])


def _writable_dir(path: Path) -> Path:
    """A host folder the image's user (uid 10001) can write to, as an operator prepares it."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o777)
    return path


def _jsonl(folder: Path, pattern: str) -> list[dict]:
    return [
        orjson.loads(line)
        for file in sorted(folder.glob(pattern))
        for line in file.read_bytes().splitlines()
        if line.strip()
    ]


def _without(records: list[dict], field: str) -> dict[str, dict]:
    """Records keyed by id (or source) with a run-time field removed."""
    keyed = {}
    for record in records:
        record = {k: v for k, v in record.items() if k != field}
        key = record.get("id") or json.dumps(record["source"], sort_keys=True)
        assert key not in keyed, f"{key} written twice"
        keyed[key] = record
    return keyed


# -- the image -------------------------------------------------------------------------------


def test_image_metadata_user_labels_healthcheck(image):
    result = image.engine_cmd("image", "inspect", image.tag)
    assert result.returncode == 0, result.stderr
    [meta] = json.loads(result.stdout)
    config = meta["Config"]
    assert config["User"].split(":")[0] == "10001"
    assert config["Entrypoint"] == ["tini", "--", "newsbeam"]
    labels = config["Labels"]
    assert labels["org.opencontainers.image.version"] == __version__
    assert labels["org.opencontainers.image.title"] == "newsbeam"
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    head = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True)
    assert labels["org.opencontainers.image.revision"] == head.stdout.decode().strip()
    # The base it was really built on: the official image, or the clearly named stand-in.
    base = labels["org.opencontainers.image.base.name"]
    assert base.endswith("/python:3.11-slim"), base
    assert base.startswith(("docker.io/library/", "localhost/newsbeam-stand-in/")), base
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["PYTHONUNBUFFERED"] == env["PYTHONDONTWRITEBYTECODE"] == "1"
    # Docker format keeps the HEALTHCHECK (the OCI format drops it): it checks the stream
    # job's health file.
    health = config.get("Healthcheck") or meta.get("Healthcheck") or {}  # docker | podman
    assert health.get("Test", [])[1:4] == ["python", "-m", "newsbeam.pipelines.health"]
    assert HEALTH_FILE in health["Test"]


def test_container_runs_as_non_root_without_compilers_or_pip(image):
    script = (
        "id -u; id -g; "
        "for tool in gcc cc c++ make pip pip3; do command -v $tool && exit 3; done; "
        # The root filesystem is read-only: not even the user's own home is writable.
        "touch /opt/newsbeam/x 2>/dev/null && exit 4; touch $HOME/x 2>/dev/null && exit 5; "
        "touch /tmp/x && python -c 'import newsbeam, apache_beam; print(newsbeam.__version__)'"
        # The story stage's C kernels were built in the build stage (not the Python ones).
        " && python -c 'from newsbeam.transforms.story import kernels; "
        "print(kernels.ACTIVE is kernels.NATIVE)'"
    )
    result = image.run("--entrypoint", "sh", image.tag, "-c", script)
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    assert result.stdout.split() == ["10001", "10001", __version__, "True"]


def test_bad_options_exit_2_with_one_clear_line(image, tmp_path):
    unknown = image.run(image.tag, "run", str(EXAMPLES), "--output", "/tmp/o", "--no-such-option")
    assert unknown.returncode == 2
    errors = [line for line in unknown.stderr.splitlines() if "error:" in line]
    assert errors == ["newsbeam: error: unrecognized arguments: --no-such-option"]
    assert "Traceback" not in unknown.stderr
    # A real operator mistake: the output volume is not writable by the image's user.
    root_only = tmp_path / "root-only"
    root_only.mkdir(mode=0o755)
    denied = image.run(
        "-v",
        f"{EXAMPLES}:/in:ro",
        "-v",
        f"{root_only}:/data",
        image.tag,
        "run",
        "/in",
        "--output",
        "/data/out",
    )
    assert denied.returncode == 2
    last = denied.stderr.strip().splitlines()[-1]
    assert last.startswith("newsbeam: error: output folder is not writable: /data/out"), last
    assert "Traceback" not in denied.stderr
    # No broker at the address: exit 69 (a supervisor may retry), one line.
    nobroker = image.run(
        "--network",
        "none",
        image.tag,
        "stream",
        "--bootstrap-servers",
        "127.0.0.1:9",
        "--topic",
        "raw",
        "--output-topic",
        "out",
        "--dead-letter-topic",
        "dlq",
        "--connect-timeout",
        "2",
    )
    assert nobroker.returncode == 69, nobroker.stderr
    assert (
        nobroker.stderr.strip().splitlines()[-1].startswith("newsbeam: error: cannot reach Kafka")
    )
    assert "Traceback" not in nobroker.stderr


# -- the batch job ---------------------------------------------------------------------------


def test_batch_job_in_container_writes_the_same_records_as_outside(image, tmp_path):
    host_out = tmp_path / "host"
    host = subprocess.run(
        [sys.executable, "-m", "newsbeam", "run", str(EXAMPLES), "--output", str(host_out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO_ROOT,
    )
    assert host.returncode == 0, host.stderr
    # The examples mounted read-only at the same absolute path, so source URIs (and the ids
    # derived from them) are the same inside and outside; the output on a mounted folder.
    mounted = _writable_dir(tmp_path / "mounted")
    container = image.run(
        "--network",
        "none",
        "-v",
        f"{EXAMPLES}:{EXAMPLES}:ro",
        "-v",
        f"{mounted}:{mounted}",
        image.tag,
        "run",
        str(EXAMPLES),
        "--output",
        str(mounted / "out"),
    )
    assert container.returncode == 0, container.stderr
    ctr_out = mounted / "out"
    host_articles = _without(_jsonl(host_out, "articles-*.jsonl"), "ingested_at")
    ctr_articles = _without(_jsonl(ctr_out, "articles-*.jsonl"), "ingested_at")
    assert len(host_articles) >= 10
    assert ctr_articles == host_articles
    host_dead = _without(_jsonl(host_out, "dead-letter-*.jsonl"), "failed_at")
    assert host_dead and _without(_jsonl(ctr_out, "dead-letter-*.jsonl"), "failed_at") == host_dead
    counts = ("files_read", "articles_parsed", "articles_written", "dead_letters", "filtered")
    host_report = json.loads((host_out / "run-report.json").read_text())
    ctr_report = json.loads((ctr_out / "run-report.json").read_text())
    assert {k: ctr_report[k] for k in counts} == {k: host_report[k] for k in counts}
    assert ctr_report["all_articles_accounted_for"] is True
    # Files belong to the image's user, not root.
    assert {f.stat().st_uid for f in ctr_out.iterdir()} == {10001}


# -- the stream job --------------------------------------------------------------------------


def _poison() -> list:
    return [(b"bad-json", b'{"id": "x", "text": ', ()), (b"bad-utf8", b"\xff\xfe caf\xe9", ())]


def _start_stream(image: Image, name: str, bootstrap: str, topics, group: str, *extra: str):
    raw, out, dlq = topics
    command = [
        image.engine,
        "run",
        "-d",
        "--name",
        name,
        "--network",
        "host",
        "--read-only",
        "--tmpfs",
        "/tmp",
        image.tag,
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
        group,
        "--health-file",
        HEALTH_FILE,
        *extra,
    ]
    started = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert started.returncode == 0, started.stderr


def _wait_exit(image: Image, name: str, timeout: float = 90) -> int:
    waited = image.engine_cmd("wait", name, timeout=timeout)
    assert waited.returncode == 0, waited.stderr
    return int(waited.stdout.strip().splitlines()[-1])


def _logs(image: Image, name: str) -> tuple[str, str]:
    logs = image.engine_cmd("logs", name)
    return logs.stdout, logs.stderr


def _healthy(image: Image, name: str) -> bool:
    if image.engine == "podman":  # runs the image's own HEALTHCHECK command
        return image.engine_cmd("healthcheck", "run", name).returncode == 0
    probe = ["exec", name, "python", "-m", "newsbeam.pipelines.health", HEALTH_FILE]
    return image.engine_cmd(*probe).returncode == 0


def test_stream_job_in_container_survives_sigkill_and_sigterm(image, kafka_broker):
    topics = raw, out, dlq = new_topics(kafka_broker)
    bootstrap = kafka_broker.bootstrap_servers
    group = f"ctr-{uuid.uuid4().hex[:6]}"
    names = [f"newsbeam-test-{uuid.uuid4().hex[:8]}-{i}" for i in range(3)]
    reader = TopicReader(bootstrap, out)
    total = 800

    killed = threading.Event()

    def feed():  # a steady stream while the first container runs, is killed and replaced
        for start in range(100, total, 100):
            if start == total // 2:  # the rest only after the kill: it always lands mid-stream
                killed.wait(timeout=120)
            kafka_broker.produce(raw, article_messages(100, "c", start), partitions=3)
            time.sleep(0.5)

    feeder = threading.Thread(target=feed)
    try:
        kafka_broker.produce(raw, _poison(), partitions=3)
        kafka_broker.produce(raw, article_messages(100, "c", 0), partitions=3)
        _start_stream(image, names[0], bootstrap, topics, group)
        # The feed starts once the job is up (its start-up time varies with the machine's
        # load), so the kill below always lands while messages are still arriving.
        assert reader.wait_for(lambda: len(reader.ids()) >= 100, timeout=120), _logs(
            image, names[0]
        )
        feeder.start()
        # tini is PID 1 and the job runs under it.
        pid1 = image.engine_cmd("exec", names[0], "cat", "/proc/1/cmdline").stdout
        assert pid1.split("\0")[:3] == ["tini", "--", "newsbeam"]
        image.engine_cmd("kill", "--signal", "KILL", names[0])  # no clean stop, no last commit
        assert _wait_exit(image, names[0]) == 137
        killed.set()
        assert len(reader.ids()) < total, "killed too late to test a restart"

        _start_stream(image, names[1], bootstrap, topics, group)
        feeder.join()
        expected = {f"c-{i}" for i in range(total)}
        assert reader.wait_for(lambda: reader.ids() >= expected, timeout=120), _logs(
            image, names[1]
        )
        assert _healthy(image, names[1])
        # SIGTERM (what `stop`, compose and Kubernetes send) reaches the job through tini:
        # it finishes the last bundle, commits and exits 0 with its summary.
        stop = image.engine_cmd("stop", "--time", "60", names[1], timeout=90)
        assert stop.returncode == 0, stop.stderr
        assert _wait_exit(image, names[1]) == 0, _logs(image, names[1])
        summary = json.loads(_logs(image, names[1])[0].strip().splitlines()[-1])
        assert summary["stopped_by"] == "SIGTERM"
        assert sum(committed(bootstrap, group, raw)) == total + 2

        # A restart resumes from the committed offsets: only the new messages are read.
        kafka_broker.produce(raw, article_messages(50, "c", total), partitions=3)
        _start_stream(image, names[2], bootstrap, topics, group, "--until-end")
        assert _wait_exit(image, names[2], timeout=120) == 0, _logs(image, names[2])
        summary = json.loads(_logs(image, names[2])[0].strip().splitlines()[-1])
        assert summary["messages_read"] == 50
        expected |= {f"c-{i}" for i in range(total, total + 50)}
        assert reader.wait_for(lambda: reader.ids() >= expected, timeout=30)
    finally:
        killed.set()
        if feeder.is_alive():
            feeder.join(timeout=30)
        reader.wait_for(lambda: False, timeout=1)  # let in-flight reads land
        reader.close()
        for name in names:
            subprocess.run([image.engine, "rm", "-f", name], capture_output=True, timeout=60)
    assert reader.ids() == expected
    assert_redeliveries_identical(reader.messages)
    assert sum(committed(bootstrap, group, raw)) == total + 2 + 50
    # Poison messages are dead letters, redelivered after the SIGKILL like everything else.
    dead = {(m.key, dict(m.headers)["reason"]) for m in kafka_broker.read_all(dlq)}
    assert dead == {(b"bad-json", b"malformed_json"), (b"bad-utf8", b"invalid_utf8")}


# -- the Kubernetes manifests, played by podman ----------------------------------------------


def _kube_manifests(folder: Path, tag: str, settings: dict, postgres_sink: str) -> Path:
    """deploy/k8s as an operator deploys it here: names made unique for this test, broker
    address and topics in the ConfigMap, and $(VAR) in args expanded as Kubernetes does
    (podman 4.3's kube play passes them literally). Everything else -- image, user, read-only
    root, probes, volumes -- is the manifests' own."""
    import re

    import yaml

    k8s = REPO_ROOT / "deploy" / "k8s"
    config = yaml.safe_load((k8s / "configmap.yaml").read_text())
    assert set(settings) <= set(config["data"])
    config["data"].update(settings)
    deployment, claim = yaml.safe_load_all((k8s / "deployment.yaml").read_text())
    deployment["metadata"]["name"] += f"-{tag}"
    claim["metadata"]["name"] += f"-{tag}"
    pod = deployment["spec"]["template"]["spec"]
    pod["volumes"][1]["persistentVolumeClaim"]["claimName"] = claim["metadata"]["name"]
    # The kustomize-generated ConfigMap of Kafka client settings, written as an operator of a
    # plaintext broker (the test broker) would; the SASL_SSL secrets stay mounted, unused.
    client = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"newsbeam-kafka-client-{tag}"},
        "data": {"client.properties": "security.protocol=PLAINTEXT\nclient.id=newsbeam-stream\n"},
    }
    for volume in pod["volumes"]:
        if "configMap" in volume:
            assert volume["configMap"]["name"] == "newsbeam-kafka-client"
            volume["configMap"]["name"] = client["metadata"]["name"]
        if "secret" in volume:
            volume["secret"]["secretName"] += f"-{tag}"
            # Kubernetes' default, spelled out: podman 4.3 dereferences a missing `optional`.
            volume["secret"].setdefault("optional", False)
    [container] = pod["containers"]
    # Host network (to reach the test broker on loopback): podman refuses port mappings there,
    # so the named port goes and the probes name its number, as the job listens on it.
    [port] = container.pop("ports")
    assert port["name"] == "metrics"
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        if container.get(probe, {}).get("httpGet", {}).get("port") == "metrics":
            container[probe]["httpGet"]["port"] = int(config["data"]["METRICS_PORT"])
    env = dict(config["data"])
    for variable in container["env"]:
        if "valueFrom" in variable:
            variable["valueFrom"]["secretKeyRef"]["name"] += f"-{tag}"
            env[variable["name"]] = postgres_sink
        else:
            env[variable["name"]] = variable["value"]
    container["args"] = [
        re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], arg) for arg in container["args"]
    ]
    path = folder / "kube.yaml"
    path.write_text(yaml.safe_dump_all([config, client, deployment, claim]))
    return path


def test_kubernetes_manifests_run_with_podman_kube_play(image, kafka_broker, tmp_path):
    """The Deployment, ConfigMap, Secret and PersistentVolumeClaim of deploy/k8s run with
    `podman kube play` against the test broker and the real PostgreSQL (host network)."""
    import base64

    import pyarrow.parquet as pq
    from sink_helpers import POSTGRES_DSN, postgres_available, postgres_rows, scratch_schema

    if image.engine != "podman":
        pytest.skip("`kube play` is podman's; docker has no equivalent")
    if not postgres_available():
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_DSN}")
    tag = uuid.uuid4().hex[:8]
    raw, out, dlq = new_topics(kafka_broker)
    settings = {
        "BOOTSTRAP_SERVERS": kafka_broker.bootstrap_servers,
        "TOPIC": raw,
        "OUTPUT_TOPIC": out,
        "DEAD_LETTER_TOPIC": dlq,
        "METRICS_PORT": str(free_port()),  # host network: never a fixed port
    }
    with scratch_schema() as schema:
        sink = f"{POSTGRES_DSN}?table={schema}.articles"
        manifests = _kube_manifests(tmp_path, tag, settings, sink)
        # podman 4.3 reads Secrets from podman secrets holding JSON {key: base64(value)}.
        secrets = {
            f"newsbeam-postgres-{tag}": {"sink": sink},
            f"newsbeam-kafka-{tag}": {"username": "unused", "password": "unused"},
            f"newsbeam-kafka-ca-{tag}": {"ca.crt": "unused"},
        }
        for secret_name, values in secrets.items():
            secret = tmp_path / f"{secret_name}.json"
            encoded = {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}
            secret.write_text(json.dumps(encoded))
            created = image.engine_cmd("secret", "create", secret_name, str(secret))
            assert created.returncode == 0, created.stderr
        name = f"newsbeam-stream-{tag}-pod-0-newsbeam"
        try:
            play = image.engine_cmd("kube", "play", "--network", "host", str(manifests))
            assert play.returncode == 0, play.stderr
            kafka_broker.produce(raw, article_messages(30, "k8s"), partitions=3)
            reader = TopicReader(kafka_broker.bootstrap_servers, out)
            try:
                assert reader.wait_for(lambda: len(reader.ids()) == 30, timeout=120), (
                    image.engine_cmd("logs", name).stderr[-2000:]
                )
            finally:
                reader.close()
            # The securityContext and the probes are the manifests', applied by podman.
            check = image.engine_cmd("exec", name, "sh", "-c", "id -u; touch /x || echo ro")
            assert check.stdout.split() == ["10001", "ro"], check
            # What the probes ask (httpGet on the metrics port): liveness and readiness.
            for path in ("/healthz", "/readyz"):
                url = f"http://127.0.0.1:{settings['METRICS_PORT']}{path}"
                with urllib.request.urlopen(url, timeout=5) as response:
                    assert response.status == 200, path
            ids = {row[0] for row in postgres_rows(f"SELECT id FROM {schema}.articles")}
            assert ids == {f"k8s-{i}" for i in range(30)}
            # Stopped as Kubernetes stops a pod (SIGTERM): the job exits 0 and publishes its
            # open rolling files, here Parquet on the PersistentVolumeClaim's volume.
            stop = image.engine_cmd("pod", "stop", "--time", "60", name.removesuffix("-newsbeam"))
            assert stop.returncode == 0, stop.stderr
            code = image.engine_cmd("inspect", "--format", "{{.State.ExitCode}}", name)
            assert code.stdout.strip() == "0", image.engine_cmd("logs", name).stderr[-2000:]
            volume = image.engine_cmd(
                "volume", "inspect", "--format", "{{.Mountpoint}}", f"newsbeam-data-{tag}"
            )
            lake = Path(volume.stdout.strip()) / "lake"
            files = [f for f in lake.rglob("*.parquet") if "dead" not in f.name]
            assert {
                i for f in files for i in pq.read_table(f, columns=["id"])["id"].to_pylist()
            } == ids
        finally:
            image.engine_cmd("kube", "down", str(manifests))
            # kube down keeps the volumes podman made for the claim, ConfigMap and Secrets.
            for volume in ("data", "kafka-client", "kafka", "kafka-ca"):
                image.engine_cmd("volume", "rm", "-f", f"newsbeam-{volume}-{tag}")
            for secret_name in secrets:
                image.engine_cmd("secret", "rm", secret_name)
