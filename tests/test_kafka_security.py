"""`newsbeam stream` over TLS, mutual TLS and SASL, with real connections (no client mocks).

TLS: Tansu cannot serve TLS itself (see tests/kafka_tls.py), so a TLS-terminating
proxy with certificates generated here sits in front of a Tansu broker that
advertises the proxy's address: every client the job opens goes through TLS.

SASL: Tansu 0.6.0 enforces authentication with `--authentication` (SCRAM-SHA-256/512;
it offers no PLAIN) but its users can only be created through a running broker
(`tansu user create`), which with `--authentication` refuses the unauthenticated
admin request, and the in-memory storage loses users on restart. So a successful
SASL login cannot be tested here; what is: the SCRAM exchange against a broker
that enforces it, refused (the wrong-password message), PLAIN refused as a
mechanism the broker does not enable, no SASL against it, and SASL against a
broker without it. See the docs, "Kafka security and client settings".
"""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka_broker import TansuBroker, free_port
from kafka_tls import Authority, TlsProxy
from test_kafka_stream import article_messages, stream_command

from conftest import REPO_ROOT
from newsbeam.cli import main
from newsbeam.pipelines.stream import StreamRunConfig, check_kafka
from newsbeam.transforms.io.kafka.client_settings import load_settings
from newsbeam.transforms.io.kafka.sink import KafkaSinkConfig
from newsbeam.transforms.io.kafka.source import KafkaSourceConfig

pytestmark = pytest.mark.integration

KEY_PASSWORD = "keypw-51d0c3-never-printed"
SASL_PASSWORD = "saslpw-9e2b44-never-printed"


@dataclass
class TlsCluster:
    broker: TansuBroker
    proxy: TlsProxy
    authority: Authority
    client_cert: str | None = None
    client_key: str | None = None

    @property
    def bootstrap(self) -> str:
        return f"localhost:{self.proxy.port}"

    def options(self) -> list[str]:
        options = ["security.protocol=SSL", f"ssl.ca.location={self.authority.cafile}"]
        if self.client_cert:
            options += [
                f"ssl.certificate.location={self.client_cert}",
                f"ssl.key.location={self.client_key}",
                "ssl.key.password=${ENV:NB_KEY_PASSWORD}",
            ]
        return options

    def client(self, kind: str) -> dict:
        settings = load_settings(None, self.options(), environ={"NB_KEY_PASSWORD": KEY_PASSWORD})
        return {"bootstrap_servers": self.bootstrap, **settings.for_client(kind)}

    def topics(self, partitions: int = 2) -> tuple[str, str, str]:
        tag = uuid.uuid4().hex[:8]
        names = (f"raw-{tag}", f"articles-{tag}", f"dlq-{tag}")
        admin = KafkaAdminClient(**self.client("admin"))
        try:
            admin.create_topics([NewTopic(names[0], partitions, 1)])
            admin.create_topics([NewTopic(n, 1, 1) for n in names[1:]])
        finally:
            admin.close()
        return names


def _tls_cluster(directory: Path, *, mutual: bool) -> TlsCluster:
    authority = Authority(directory)
    # The server certificate names `localhost` only: 127.0.0.1 is a hostname mismatch.
    cert, key = authority.issue("server", dns_names=("localhost",))
    port = free_port()
    broker = TansuBroker.start(advertised=f"localhost:{port}")
    proxy = TlsProxy(
        broker.port, cert, key, port=port, client_cafile=authority.cafile if mutual else None
    ).start()
    cluster = TlsCluster(broker, proxy, authority)
    if mutual:
        cluster.client_cert, cluster.client_key = authority.issue(
            "newsbeam-client", dns_names=(), client=True, key_password=KEY_PASSWORD
        )
    return cluster


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory):
    cluster = _tls_cluster(tmp_path_factory.mktemp("tls"), mutual=False)
    yield cluster
    cluster.proxy.stop()
    cluster.broker.stop()


@pytest.fixture(scope="module")
def mtls_cluster(tmp_path_factory):
    cluster = _tls_cluster(tmp_path_factory.mktemp("mtls"), mutual=True)
    yield cluster
    cluster.proxy.stop()
    cluster.broker.stop()


@pytest.fixture(scope="module")
def sasl_broker():
    broker = TansuBroker.start(extra_args=["--authentication"])
    yield broker
    broker.stop()


def _produce(cluster: TlsCluster, topic: str, count: int, prefix: str) -> None:
    producer = KafkaProducer(**cluster.client("producer"), linger_ms=5)
    try:
        for i, (_, value, _) in enumerate(article_messages(count, prefix)):
            producer.send(topic, value=value, partition=i % 2)
        producer.send(topic, value=b"{not json", partition=0)  # a poison message
        producer.flush()
    finally:
        producer.close()


def _read(cluster: TlsCluster, topic: str) -> list:
    consumer = KafkaConsumer(**cluster.client("consumer"))
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek(tp, 0)
        messages, empty = [], 0
        while empty < 2:
            batch = consumer.poll(timeout_ms=500)
            empty = 0 if batch else empty + 1
            for records in batch.values():
                messages.extend(records)
        return messages
    finally:
        consumer.close()


def _committed(cluster: TlsCluster, group: str, topic: str) -> list[int | None]:
    consumer = KafkaConsumer(**cluster.client("consumer"), group_id=group)
    try:
        return [consumer.committed(TopicPartition(topic, p)) for p in range(2)]
    finally:
        consumer.close()


def _run_job(cluster: TlsCluster, config_file: Path, topics, group: str, *extra: str):
    raw, out, dlq = topics
    command = stream_command(
        cluster.bootstrap, raw, out, dlq,
        "--kafka-config", str(config_file),
        "--group-id", group, "--until-end", "--connect-timeout", "5", *extra,
    )  # fmt: skip
    env = {"NB_KEY_PASSWORD": KEY_PASSWORD, "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=180, env=env
    )


def _write_config(path: Path, cluster: TlsCluster) -> Path:
    path.write_text("# newsbeam test client settings\n" + "\n".join(cluster.options()) + "\n")
    return path


@pytest.mark.slow
def test_job_reads_writes_and_commits_through_tls(tls_cluster, tmp_path):
    topics = tls_cluster.topics()
    _produce(tls_cluster, topics[0], 12, "tls")
    config = _write_config(tmp_path / "client.properties", tls_cluster)
    result = _run_job(tls_cluster, config, topics, "g-tls")
    assert result.returncode == 0, result.stderr
    ids = {m.key.decode() for m in _read(tls_cluster, topics[1])}
    assert ids == {f"tls-{i}" for i in range(12)}
    [letter] = _read(tls_cluster, topics[2])
    assert dict(letter.headers)["reason"] == b"malformed_json"
    # Offsets were committed through TLS too: the end of both partitions (6+1 and 6).
    assert _committed(tls_cluster, "g-tls", topics[0]) == [7, 6]


@pytest.mark.slow
def test_mutual_tls_with_a_client_certificate_and_secret_key_password(mtls_cluster, tmp_path):
    topics = mtls_cluster.topics()
    _produce(mtls_cluster, topics[0], 5, "mtls")
    config = _write_config(tmp_path / "client.properties", mtls_cluster)
    health = tmp_path / "healthy"
    result = _run_job(mtls_cluster, config, topics, "g-mtls", "--health-file", str(health), "-v")
    assert result.returncode == 0, result.stderr
    assert {m.key.decode() for m in _read(mtls_cluster, topics[1])} == {
        f"mtls-{i}" for i in range(5)
    }
    # The key password (from ${ENV:...}) is nowhere: logs, summary, health file.
    captured = result.stdout + result.stderr + health.read_text()
    assert "ssl.key.password=***" in result.stderr
    assert KEY_PASSWORD not in captured


def _check(cluster_bootstrap: str, options: list[str], capsys, *, timeout: str = "3"):
    args = ["stream", "--bootstrap-servers", cluster_bootstrap, "--topic", "raw",
            "--output-topic", "out", "--dead-letter-topic", "dlq",
            "--connect-timeout", timeout]  # fmt: skip
    for option in options:
        args += ["--kafka-option", option]
    code = main(args)
    lines = capsys.readouterr().err.strip().splitlines()
    return code, lines


def test_wrong_ca_fails_at_start_with_exit_69(tls_cluster, tmp_path, capsys):
    other = Authority(tmp_path / "other", name="some other CA")
    options = ["security.protocol=SSL", f"ssl.ca.location={other.cafile}"]
    code, lines = _check(tls_cluster.bootstrap, options, capsys)
    assert code == 69
    assert lines == [
        f"newsbeam: error: the TLS certificate of Kafka at {tls_cluster.bootstrap} is not "
        f"signed by the CA in {other.cafile}: set ssl.ca.location to the cluster's CA certificate"
    ]


def test_hostname_mismatch_fails_at_start(tls_cluster, capsys):
    where = f"127.0.0.1:{tls_cluster.proxy.port}"
    code, lines = _check(where, tls_cluster.options(), capsys)
    assert code == 69
    assert len(lines) == 1
    assert f"the TLS certificate of Kafka at {where} is not issued for 127.0.0.1" in lines[0]


def test_expired_server_certificate_fails_at_start(tls_cluster, tmp_path, capsys):
    cert, key = tls_cluster.authority.issue("expired", expired=True)
    proxy = TlsProxy(tls_cluster.broker.port, cert, key, port=free_port()).start()
    try:
        code, lines = _check(f"localhost:{proxy.port}", tls_cluster.options(), capsys)
    finally:
        proxy.stop()
    assert code == 69
    assert len(lines) == 1 and "has expired" in lines[0]


def test_tls_to_a_plaintext_port_and_the_reverse(kafka_broker, tls_cluster, capsys):
    code, lines = _check(kafka_broker.bootstrap_servers, tls_cluster.options(), capsys)
    assert code == 69
    assert lines == [
        f"newsbeam: error: Kafka at {kafka_broker.bootstrap_servers} does not speak TLS on this "
        "port (security.protocol=SSL): use the broker's TLS listener, or "
        "security.protocol=PLAINTEXT if this one is meant"
    ]
    code, lines = _check(tls_cluster.bootstrap, [], capsys)
    assert code == 69
    assert lines == [
        f"newsbeam: error: Kafka at {tls_cluster.bootstrap} expects TLS but "
        "security.protocol=PLAINTEXT: set security.protocol=SSL (and ssl.ca.location)"
    ]


def test_mutual_tls_without_a_client_certificate(mtls_cluster, capsys):
    options = ["security.protocol=SSL", f"ssl.ca.location={mtls_cluster.authority.cafile}"]
    code, lines = _check(mtls_cluster.bootstrap, options, capsys)
    assert code == 69
    assert len(lines) == 1 and "requires a client certificate" in lines[0]


def test_wrong_key_password_is_a_clear_error(mtls_cluster, capsys, monkeypatch):
    monkeypatch.setenv("NB_KEY_PASSWORD", "not-the-password")
    options = [o for o in mtls_cluster.options()]
    code, lines = _check(mtls_cluster.bootstrap, options, capsys)
    assert code == 69
    assert lines == [
        "newsbeam: error: TLS settings: the private key could not be decrypted: wrong or "
        "missing ssl.key.password"
    ]


def _sasl(mechanism: str) -> list[str]:
    return [
        "security.protocol=SASL_PLAINTEXT",
        f"sasl.mechanism={mechanism}",
        "sasl.username=newsbeam",
        "sasl.password=${FILE:%s}",
    ]


def test_scram_refused_by_a_broker_that_enforces_sasl(sasl_broker, tmp_path, capsys):
    secret = tmp_path / "sasl-password"
    secret.write_text(SASL_PASSWORD + "\n")
    options = [o.replace("%s", str(secret)) for o in _sasl("SCRAM-SHA-256")]
    code, lines = _check(sasl_broker.bootstrap_servers, [*options, "client.id=nb-sasl"], capsys)
    assert code == 69
    assert lines == [
        f"newsbeam: error: Kafka at {sasl_broker.bootstrap_servers} refused SASL SCRAM-SHA-256 "
        "authentication for user 'newsbeam': wrong user name or password "
        "(sasl.username / sasl.password)"
    ]
    assert SASL_PASSWORD not in "\n".join(lines)


def test_sasl_against_brokers_that_do_not_take_it(sasl_broker, kafka_broker, tmp_path, capsys):
    secret = tmp_path / "sasl-password"
    secret.write_text(SASL_PASSWORD)
    # Tansu offers SCRAM only; it closes the connection on a PLAIN handshake.
    plain = [o.replace("%s", str(secret)) for o in _sasl("PLAIN")]
    code, lines = _check(sasl_broker.bootstrap_servers, plain, capsys, timeout="2")
    assert code == 69
    assert len(lines) == 1 and "closed every connection during SASL PLAIN login" in lines[0]
    # A broker without SASL (the plain test broker) offers no mechanism at all.
    scram = [o.replace("%s", str(secret)) for o in _sasl("SCRAM-SHA-512")]
    code, lines = _check(kafka_broker.bootstrap_servers, scram, capsys, timeout="2")
    assert code == 69
    assert lines == [
        f"newsbeam: error: Kafka at {kafka_broker.bootstrap_servers} does not enable SASL "
        "mechanism SCRAM-SHA-512: ask for the mechanisms it offers and set sasl.mechanism"
    ]
    assert SASL_PASSWORD not in capsys.readouterr().err


def test_no_sasl_against_a_broker_that_requires_it(sasl_broker, capsys):
    code, lines = _check(sasl_broker.bootstrap_servers, [], capsys, timeout="2")
    assert code == 69
    assert len(lines) == 1
    assert "if the cluster requires authentication, set security.protocol=SASL_SSL" in lines[0]


@pytest.mark.slow
def test_secrets_never_printed_in_logs_errors_or_help(sasl_broker, tmp_path):
    """Verbose run whose SASL login fails, password from env and from a file: neither
    value is in stdout, stderr or the health file; --help shows no value either."""
    secret_file = tmp_path / "password"
    secret_file.write_text(SASL_PASSWORD)
    config = tmp_path / "client.properties"
    config.write_text(
        "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n"
        f"sasl.username=${{ENV:NB_USER}}\nsasl.password=${{FILE:{secret_file}}}\n"
    )
    health = tmp_path / "healthy"
    env = {"PATH": "/usr/bin:/bin", "NB_USER": "user-" + KEY_PASSWORD}
    command = stream_command(
        sasl_broker.bootstrap_servers, "raw", "out", "dlq",
        "--kafka-config", str(config), "--connect-timeout", "2",
        "--health-file", str(health), "-v",
    )  # fmt: skip
    result = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, env=env
    )
    assert result.returncode == 69
    errors = [line for line in result.stderr.splitlines() if line.startswith("newsbeam: error")]
    assert len(errors) == 1, result.stderr  # -v adds debug lines, but one error
    assert "refused SASL SCRAM-SHA-512 authentication for user ***:" in errors[0]
    assert "Traceback" not in result.stderr
    helped = subprocess.run(
        [*command[:4], "--help"], cwd=REPO_ROOT, capture_output=True, text=True, env=env
    )
    shown = result.stdout + result.stderr + helped.stdout + helped.stderr
    shown += health.read_text() if health.exists() else ""
    for secret in (SASL_PASSWORD, KEY_PASSWORD):
        assert secret not in shown


@pytest.mark.slow
def test_separate_output_cluster_over_tls(kafka_broker, tls_cluster, tmp_path):
    """Input from the plaintext broker, records and dead letters to the TLS cluster."""
    tag = uuid.uuid4().hex[:8]
    raw = f"raw-{tag}"
    kafka_broker.create_topics(raw, partitions=1)
    kafka_broker.produce(raw, article_messages(4, "split"))
    _, out, dlq = tls_cluster.topics()
    output_config = _write_config(tmp_path / "output.properties", tls_cluster)
    command = stream_command(
        kafka_broker.bootstrap_servers, raw, out, dlq,
        "--output-bootstrap-servers", tls_cluster.bootstrap,
        "--output-kafka-config", str(output_config),
        "--group-id", "g-split", "--until-end", "--connect-timeout", "5",
    )  # fmt: skip
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert {m.key.decode() for m in _read(tls_cluster, out)} == {f"split-{i}" for i in range(4)}
    consumer = KafkaConsumer(bootstrap_servers=kafka_broker.bootstrap_servers, group_id="g-split")
    try:
        assert consumer.committed(TopicPartition(raw, 0)) == 4
    finally:
        consumer.close()
    # The output topics are looked for on the output cluster: absent there -> exit 2.
    command[command.index(out)] = "not-on-the-tls-cluster"
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"Kafka at {tls_cluster.bootstrap} has no output topic" in result.stderr


def test_a_dead_bootstrap_server_beside_a_live_one_is_not_fatal(kafka_broker):
    raw, out, dlq = (f"{name}-{uuid.uuid4().hex[:6]}" for name in ("raw", "out", "dlq"))
    kafka_broker.create_topics(raw, out, dlq)
    servers = f"127.0.0.1:{free_port()},{kafka_broker.bootstrap_servers}"
    check_kafka(
        StreamRunConfig(
            source=KafkaSourceConfig(bootstrap_servers=servers, topic=raw),
            articles=KafkaSinkConfig(bootstrap_servers=servers, topic=out),
            dead_letters=KafkaSinkConfig(bootstrap_servers=servers, topic=dlq),
            connect_timeout_seconds=5,
        )
    )
