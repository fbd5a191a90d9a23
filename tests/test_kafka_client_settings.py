"""Kafka client settings: Java/librdkafka properties -> kafka-python, secrets, errors.

Pure tests of transforms/io/kafka/client_settings.py and secrets.py; the settings
against real TLS and SASL listeners are in test_kafka_security.py.
"""

from __future__ import annotations

import pickle

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient

from newsbeam.cli import main
from newsbeam.transforms.io.kafka.client_settings import (
    KEYS,
    SettingsError,
    build_settings,
    load_settings,
    read_properties_file,
)
from newsbeam.transforms.io.kafka.secrets import Secret, SecretReferenceError, resolve

PASSWORD = "pw-7f3a9c1e-do-not-print"

# What Confluent Cloud's "Java client" download looks like (keys and shape).
CONFLUENT_JAVA = """\
# Required connection configs for Kafka producer, consumer, and admin
bootstrap.servers=pkc-00000.europe-west1.gcp.confluent.cloud:9092
security.protocol=SASL_SSL
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \\
    username='{user}' password='{password}';
sasl.mechanism=PLAIN
# Required for correctness in Apache Kafka clients prior to 2.6
client.dns.lookup=use_all_dns_ips
# Best practice for higher availability in Apache Kafka clients prior to 3.0
session.timeout.ms=45000
# Best practice for Kafka producer to prevent data loss
acks=all
"""


def test_librdkafka_names_map_onto_every_client(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    settings = build_settings(
        {
            "security.protocol": "sasl_ssl",
            "sasl.mechanisms": "SCRAM-SHA-512",
            "sasl.username": "newsbeam",
            "sasl.password": PASSWORD,
            "ssl.ca.location": str(ca),
            "client.id": "newsroom-ingest",
            "acks": "all",
            "fetch.max.bytes": "1048576",
        }
    )
    common = {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "newsbeam",
        "sasl_plain_password": PASSWORD,
        "ssl_cafile": str(ca),
        "client_id": "newsroom-ingest",
    }
    assert settings.for_client("admin") == common
    assert settings.for_client("consumer") == {**common, "fetch_max_bytes": 1048576}
    assert settings.for_client("producer") == {**common, "acks": "all"}
    assert isinstance(settings.for_client("consumer")["sasl_plain_password"], Secret)


def test_every_mapped_name_is_a_kafka_python_setting_of_its_clients():
    defaults = {
        "consumer": KafkaConsumer.DEFAULT_CONFIG,
        "producer": KafkaProducer.DEFAULT_CONFIG,
        "admin": KafkaAdminClient.DEFAULT_CONFIG,
    }
    for key, spec in KEYS.items():
        for client in spec.clients:
            assert spec.name in defaults[client], f"{key} -> {spec.name} ({client})"


def test_confluent_java_properties_file_with_jaas_and_env_secret(tmp_path):
    path = tmp_path / "client.properties"
    path.write_text(CONFLUENT_JAVA.format(user="ABCKEY", password="${ENV:CC_SECRET}"))
    settings = load_settings(str(path), environ={"CC_SECRET": PASSWORD})
    consumer = settings.for_client("consumer")
    assert settings.bootstrap_servers == "pkc-00000.europe-west1.gcp.confluent.cloud:9092"
    assert consumer["sasl_plain_username"] == "ABCKEY"
    assert consumer["sasl_plain_password"] == PASSWORD
    assert consumer["session_timeout_ms"] == 45000
    assert settings.for_client("producer")["acks"] == "all"
    assert "acks" not in consumer and "session_timeout_ms" not in settings.for_client("admin")
    assert PASSWORD not in settings.describe() and PASSWORD not in repr(settings)


def test_jaas_with_double_quotes_and_scram_module():
    settings = build_settings(
        {
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": "SCRAM-SHA-256",
            "sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule "
            f'required username="svc" password="{PASSWORD}";',
        }
    )
    assert settings.for_client("admin")["sasl_plain_password"] == PASSWORD


def test_jaas_module_must_match_the_mechanism():
    with pytest.raises(SettingsError, match="sasl.mechanism=SCRAM-SHA-256"):
        build_settings(
            {
                "security.protocol": "SASL_SSL",
                "sasl.mechanism": "SCRAM-SHA-256",
                "sasl.jaas.config": "org.apache.kafka.common.security.plain.PlainLoginModule "
                'required username="a" password="b";',
            }
        )


def test_options_override_the_file(tmp_path):
    path = tmp_path / "c.properties"
    path.write_text("security.protocol=SSL\nclient.id=from-file\n")
    settings = load_settings(str(path), ["client.id=from-option", "request.timeout.ms=5000"])
    assert settings.for_client("consumer")["client_id"] == "from-option"
    assert settings.for_client("consumer")["request_timeout_ms"] == 5000


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"sasl.mechansim": "PLAIN"}, "unknown or unsupported Kafka setting 'sasl.mechansim'"),
        ({"group.id": "x"}, "group.id cannot be set: use --group-id"),
        ({"enable.auto.commit": "true"}, "enable.auto.commit cannot be set"),
        ({"ssl.truststore.location": "/x.jks"}, "ssl.truststore.location is not supported"),
        ({"security.protocol": "TLS"}, "security.protocol='TLS': must be one of"),
        (
            {"security.protocol": "SASL_SSL", "sasl.mechanism": "OAUTHBEARER"},
            "OAUTHBEARER is not supported",
        ),
        ({"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN"}, "needs sasl.username"),
        ({"security.protocol": "SASL_SSL"}, "needs sasl.mechanism"),
        ({"sasl.mechanism": "PLAIN"}, "use SASL_SSL"),
        ({"ssl.ca.location": "/no/such/ca.pem"}, "/no/such/ca.pem is not a readable file"),
        ({"request.timeout.ms": "soon"}, "request.timeout.ms='soon': must be an integer"),
        ({"ssl.endpoint.identification.algorithm": "yes"}, 'must be "https" or empty'),
        ({"sasl.password": "${ENV:NO_SUCH_VAR_20}"}, "NO_SUCH_VAR_20 is not set"),
        ({"sasl.password": "${VAULT:x}"}, "not a known reference"),
        ({"sasl.password": "${ENV:UNCLOSED"}, "malformed"),
    ],
)
def test_unusable_settings_name_the_key(properties, message):
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_settings(properties, environ={})


def test_bad_secret_value_is_masked_in_the_error():
    with pytest.raises(SettingsError) as error:
        build_settings({"request.timeout.ms": "${ENV:T}"}, environ={"T": PASSWORD})
    assert PASSWORD not in str(error.value)
    assert "request.timeout.ms=***" in str(error.value)


def test_secret_references(tmp_path):
    secret_file = tmp_path / "password"
    secret_file.write_text(PASSWORD + "\n")  # `echo pw > file` leaves a newline
    resolved = resolve(f"${{FILE:{secret_file}}}")
    assert resolved == PASSWORD and isinstance(resolved, Secret)
    assert repr(resolved) == "'***'" and PASSWORD not in f"{[resolved]}"
    assert resolve("a-${ENV:X}-b", environ={"X": "1"}) == "a-1-b"
    assert type(resolve("plain")) is str
    again = pickle.loads(pickle.dumps(resolved))
    assert isinstance(again, Secret) and again == PASSWORD
    with pytest.raises(SecretReferenceError, match="does not exist"):
        resolve(f"${{FILE:{tmp_path / 'missing'}}}")


def test_properties_file_parsing_follows_java(tmp_path):
    path = tmp_path / "c.properties"
    path.write_text("! comment\nclient.id : spaced\nsasl.username=a\\\n  b\nkey\\=x=1\n")
    assert read_properties_file(str(path)) == {
        "client.id": "spaced",
        "sasl.username": "ab",
        "key=x": "1",
    }
    with pytest.raises(SettingsError, match="no such file"):
        read_properties_file(str(tmp_path / "nope.properties"))


STREAM = ["stream", "--topic", "raw", "--output-topic", "out", "--dead-letter-topic", "dlq"]


def test_cli_unknown_key_is_exit_2_naming_it(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*STREAM, "--bootstrap-servers", "k:9092", "--kafka-option", "ssl.cafil=/x"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.strip().splitlines() == [
        "newsbeam: error: --kafka-option: unknown or unsupported Kafka setting 'ssl.cafil' "
        "(see docs/streaming.md, 'Kafka security and client settings', for the supported keys)"
    ]


def test_cli_needs_bootstrap_servers_from_option_or_file(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(STREAM)
    assert exit_info.value.code == 2
    assert "--bootstrap-servers is required" in capsys.readouterr().err


def test_cli_settings_reach_every_client_and_the_output_cluster(monkeypatch, tmp_path):
    import newsbeam.pipelines.stream as stream

    configs = []
    monkeypatch.setattr(stream, "check_kafka", configs.append)
    monkeypatch.setattr(stream, "run_stream", lambda config: {"stages": {}})
    monkeypatch.setenv("NB_TEST_PW", PASSWORD)
    input_file = tmp_path / "in.properties"
    input_file.write_text(
        "bootstrap.servers=in:9093\nsecurity.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n"
        "sasl.username=reader\nsasl.password=${ENV:NB_TEST_PW}\n"
    )
    args = [*STREAM, "--kafka-config", str(input_file), "--kafka-option", "client.id=nb"]
    assert main(args) == 0
    same = configs[-1]
    assert same.source.bootstrap_servers == same.articles.bootstrap_servers == "in:9093"
    assert dict(same.source.consumer_options)["sasl_plain_username"] == "reader"
    assert dict(same.dead_letters.producer_options)["client_id"] == "nb"
    assert same.output_consumer_options is None
    assert PASSWORD not in repr(same)
    assert (
        main(
            [
                *args,
                "--output-bootstrap-servers",
                "out:9092",
                "--output-kafka-option",
                "security.protocol=SSL",
            ]
        )
        == 0
    )
    split = configs[-1]
    assert split.articles.bootstrap_servers == "out:9092"
    assert dict(split.articles.producer_options) == {"security_protocol": "SSL"}
    assert dict(split.output_consumer_options) == {"security_protocol": "SSL"}
    assert dict(split.source.consumer_options)["security_protocol"] == "SASL_SSL"


def test_cli_warns_about_a_literal_password_without_printing_it(monkeypatch, capsys):
    import newsbeam.pipelines.stream as stream

    monkeypatch.setattr(stream, "check_kafka", lambda config: None)
    monkeypatch.setattr(stream, "run_stream", lambda config: {"stages": {}})
    code = main(
        [
            *STREAM,
            "--bootstrap-servers",
            "k:9092",
            "--kafka-option",
            "security.protocol=SASL_SSL",
            "--kafka-option",
            "sasl.mechanism=PLAIN",
            "--kafka-option",
            "sasl.username=u",
            "--kafka-option",
            f"sasl.password={PASSWORD}",
            "-v",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert "visible in the process list" in captured.err
    assert PASSWORD not in captured.out + captured.err


def test_kafka_python_debug_log_of_its_configuration_masks_the_password(caplog):
    """kafka-python's admin client logs its whole configuration at DEBUG."""
    import logging
    import socket

    from kafka.errors import KafkaError

    settings = build_settings(
        {
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "SCRAM-SHA-256",
            "sasl.username": "u",
            "sasl.password": "${ENV:P}",
        },
        environ={"P": PASSWORD},
    )
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with caplog.at_level(logging.DEBUG, logger="kafka"), pytest.raises(KafkaError):
        KafkaAdminClient(
            bootstrap_servers=f"127.0.0.1:{port}",
            bootstrap_timeout_ms=300,
            **settings.for_client("admin"),
        )
    assert "Starting KafkaAdminClient with configuration" in caplog.text
    assert "'sasl_plain_password': '***'" in caplog.text
    assert PASSWORD not in caplog.text
