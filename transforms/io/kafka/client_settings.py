"""Kafka client settings the Kafka way: Java / librdkafka property names -> kafka-python.

Operators get their connection settings from their provider as a Java
`client.properties` file (Confluent Cloud, Aiven, MSK, Strimzi) or as librdkafka
properties; `--kafka-config FILE` takes either, `--kafka-option KEY=VALUE` adds or
overrides single keys. This module is the one place that maps those names onto
kafka-python's keyword arguments for the consumer, the producer and the admin
client alike, so every client the job opens (start-up check, planning,
partition reads, the offset committer, the sinks) connects the same way.

An unknown key, or one kafka-python cannot honour, is an error naming the key --
never silently dropped: a dropped `ssl.ca.location` would only show up as a
confusing handshake failure. Values may be `${ENV:NAME}` / `${FILE:/path}`
references (see `secrets`); secret values never appear in messages.
Beam-free; imports kafka-python for nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import javaproperties

from newsbeam.transforms.io.kafka.secrets import (
    Secret,
    SecretReferenceError,
    describe_value,
    resolve,
)

CONSUMER, PRODUCER, ADMIN = "consumer", "producer", "admin"
ALL_CLIENTS = frozenset({CONSUMER, PRODUCER, ADMIN})

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the key, never a secret value."""


@dataclass(frozen=True)
class _Key:
    name: str  # kafka-python's keyword
    convert: Callable[[str], Any]
    clients: frozenset[str] = ALL_CLIENTS
    secret: bool = False


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("is empty")
    return value.strip() if not isinstance(value, Secret) else value


def _choice(*choices: str, upper: bool = True) -> Callable[[str], str]:
    def convert(value: str) -> str:
        text = value.strip().upper() if upper else value.strip()
        if text not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return text

    return convert


def _int(minimum: int) -> Callable[[str], int]:
    def convert(value: str) -> int:
        try:
            number = int(value.strip())
        except ValueError:
            raise ValueError("must be an integer") from None
        if number < minimum:
            raise ValueError(f"must be at least {minimum}")
        return number

    return convert


def _bool(value: str) -> bool:
    text = value.strip().lower()
    if text not in ("true", "false"):
        raise ValueError("must be true or false")
    return text == "true"


def _file(value: str) -> str:
    path = Path(value.strip()).expanduser()
    if not path.is_file():
        raise ValueError(f"{value.strip()} is not a readable file")
    return str(path)


def _sasl_mechanism(value: str) -> str:
    text = value.strip().upper()
    if text in SASL_MECHANISMS:
        return text
    if text in ("OAUTHBEARER", "GSSAPI", "AWS_MSK_IAM"):
        raise ValueError(
            f"{text} is not supported from properties (supported: {', '.join(SASL_MECHANISMS)}; "
            "MSK and Confluent Cloud also offer SCRAM or PLAIN)"
        )
    raise ValueError(f"must be one of {', '.join(SASL_MECHANISMS)}")


def _hostname_check(value: str) -> bool:
    # Java/librdkafka: "https" verifies the broker's name; an empty value (or librdkafka's
    # "none") turns that off.
    text = value.strip().lower()
    if text == "https":
        return True
    if text in ("", "none"):
        return False
    raise ValueError('must be "https" or empty')


def _acks(value: str) -> int | str:
    text = value.strip().lower()
    if text in ("all", "-1"):
        return "all"
    if text in ("0", "1"):
        return int(text)
    raise ValueError("must be all, -1, 0 or 1")


def _compression(value: str) -> str | None:
    text = value.strip().lower()
    if text == "none":
        return None
    if text not in ("gzip", "snappy", "lz4", "zstd"):
        raise ValueError("must be none, gzip, snappy, lz4 or zstd")
    return text


_CONSUMER_ONLY = frozenset({CONSUMER})
_PRODUCER_ONLY = frozenset({PRODUCER})
_NOT_ADMIN = frozenset({CONSUMER, PRODUCER})

# Java / librdkafka property -> kafka-python keyword. Where the two spell a setting
# differently both names are accepted.
KEYS: dict[str, _Key] = {
    "security.protocol": _Key("security_protocol", _choice(*SECURITY_PROTOCOLS)),
    "sasl.mechanism": _Key("sasl_mechanism", _sasl_mechanism),
    "sasl.mechanisms": _Key("sasl_mechanism", _sasl_mechanism),  # librdkafka
    "sasl.username": _Key("sasl_plain_username", _text),
    "sasl.password": _Key("sasl_plain_password", _text, secret=True),
    "ssl.ca.location": _Key("ssl_cafile", _file),  # librdkafka
    "ssl.cafile": _Key("ssl_cafile", _file),
    "ssl.certificate.location": _Key("ssl_certfile", _file),  # librdkafka
    "ssl.certfile": _Key("ssl_certfile", _file),
    "ssl.key.location": _Key("ssl_keyfile", _file),  # librdkafka
    "ssl.keyfile": _Key("ssl_keyfile", _file),
    "ssl.key.password": _Key("ssl_password", _text, secret=True),
    "ssl.crl.location": _Key("ssl_crlfile", _file),
    "ssl.endpoint.identification.algorithm": _Key("ssl_check_hostname", _hostname_check),
    "ssl.cipher.suites": _Key("ssl_ciphers", _text, _NOT_ADMIN),
    "client.id": _Key("client_id", _text),
    "client.dns.lookup": _Key(
        "client_dns_lookup",
        _choice("use_all_dns_ips", "resolve_canonical_bootstrap_servers_only", upper=False),
    ),
    "request.timeout.ms": _Key("request_timeout_ms", _int(1)),
    "retry.backoff.ms": _Key("retry_backoff_ms", _int(0)),
    "reconnect.backoff.ms": _Key("reconnect_backoff_ms", _int(0)),
    "reconnect.backoff.max.ms": _Key("reconnect_backoff_max_ms", _int(0)),
    "connections.max.idle.ms": _Key("connections_max_idle_ms", _int(1)),
    "metadata.max.age.ms": _Key("metadata_max_age_ms", _int(0)),
    "socket.send.buffer.bytes": _Key("send_buffer_bytes", _int(1)),
    "socket.receive.buffer.bytes": _Key("receive_buffer_bytes", _int(1)),
    # consumer
    "session.timeout.ms": _Key("session_timeout_ms", _int(1), _CONSUMER_ONLY),
    "fetch.max.bytes": _Key("fetch_max_bytes", _int(1), _CONSUMER_ONLY),
    "fetch.min.bytes": _Key("fetch_min_bytes", _int(1), _CONSUMER_ONLY),
    "max.partition.fetch.bytes": _Key("max_partition_fetch_bytes", _int(1), _CONSUMER_ONLY),
    "isolation.level": _Key(
        "isolation_level",
        _choice("read_committed", "read_uncommitted", upper=False),
        _CONSUMER_ONLY,
    ),
    # producer
    "acks": _Key("acks", _acks, _PRODUCER_ONLY),
    "compression.type": _Key("compression_type", _compression, _PRODUCER_ONLY),
    "linger.ms": _Key("linger_ms", _int(0), _PRODUCER_ONLY),
    "batch.size": _Key("batch_size", _int(1), _PRODUCER_ONLY),
    "max.request.size": _Key("max_request_size", _int(1), _PRODUCER_ONLY),
    "enable.idempotence": _Key("enable_idempotence", _bool, _PRODUCER_ONLY),
    "retries": _Key("retries", _int(0), _PRODUCER_ONLY),
}

# Keys the job owns: setting them would break its guarantees (or has its own option).
_OWNED_BY_THE_JOB = {
    "group.id": "use --group-id",
    "auto.offset.reset": "use --start-offset",
    "enable.auto.commit": "the job commits offsets itself, after records are written",
    "key.serializer": "the job writes JSON records with string keys",
    "value.serializer": "the job writes JSON records with string keys",
    "key.deserializer": "the job reads message bytes itself",
    "value.deserializer": "the job reads message bytes itself",
    "transactional.id": "the job's delivery is at-least-once, not transactional",
}

# Java keystores cannot be read by Python's ssl module.
_JAVA_STORES = {
    "ssl.truststore.location": "ssl.ca.location (a PEM file; for a JKS/PKCS12 truststore "
    "export it with `keytool -exportcert -rfc`)",
    "ssl.keystore.location": "ssl.certificate.location and ssl.key.location (PEM files)",
    "ssl.truststore.password": "ssl.ca.location (PEM needs no password)",
    "ssl.keystore.password": "ssl.key.password",
    "ssl.truststore.type": "ssl.ca.location (PEM)",
    "ssl.keystore.type": "ssl.certificate.location / ssl.key.location (PEM)",
}

_JAAS = re.compile(
    r"^\s*(?P<module>[\w.$]+)\s+(?:required|requisite|sufficient|optional)\s*(?P<options>.*?);?\s*$",
    re.DOTALL,
)
_JAAS_OPTION = re.compile(r"""(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^\s;]+))""")
_JAAS_MODULES = {
    "org.apache.kafka.common.security.plain.PlainLoginModule": ("PLAIN",),
    "org.apache.kafka.common.security.scram.ScramLoginModule": ("SCRAM-SHA-256", "SCRAM-SHA-512"),
}


@dataclass(frozen=True)
class KafkaClientSettings:
    """Settings for one Kafka cluster, in kafka-python's terms, per kind of client.

    `bootstrap_servers` is the file's `bootstrap.servers`, if it had one. The
    settings are tuples of (kafka-python keyword, value) so configs stay hashable
    and picklable; secret values are `Secret`s (masked repr).
    """

    bootstrap_servers: str | None = None
    consumer: tuple[tuple[str, Any], ...] = ()
    producer: tuple[tuple[str, Any], ...] = ()
    admin: tuple[tuple[str, Any], ...] = ()
    # The property names given, with masked values: for a log line.
    given: tuple[tuple[str, str], ...] = ()

    def for_client(self, client: str) -> dict[str, Any]:
        return dict(getattr(self, client))

    @property
    def security_protocol(self) -> str:
        return self.for_client(CONSUMER).get("security_protocol", "PLAINTEXT")

    def describe(self) -> str:
        """`key=value, ...` with secrets masked: safe for logs and messages."""
        return ", ".join(f"{key}={value}" for key, value in self.given) or "(defaults)"


def read_properties_file(path: str) -> dict[str, str]:
    """A Java .properties / librdkafka config file -> {key: raw value}."""
    try:
        with open(path, encoding="utf-8") as handle:
            return dict(javaproperties.load(handle))
    except FileNotFoundError:
        raise SettingsError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise SettingsError(f"{path}: is a directory") from None
    except PermissionError:
        raise SettingsError(f"{path}: not readable") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{path}: not UTF-8 text") from None
    except ValueError as exc:  # a malformed \\u escape
        raise SettingsError(f"{path}: {exc}") from None


def parse_option(text: str) -> tuple[str, str]:
    """`KEY=VALUE` (from --kafka-option) -> (key, value)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise SettingsError(f"{_quote_key(text)}: expected KEY=VALUE, e.g. security.protocol=SSL")
    return key.strip(), value


def build_settings(
    properties: Mapping[str, str] | Iterable[tuple[str, str]],
    *,
    environ: Mapping[str, str] | None = None,
) -> KafkaClientSettings:
    """Properties (later keys override earlier ones) -> KafkaClientSettings.

    Raises SettingsError naming the first unusable key.
    """
    items = list(properties.items() if isinstance(properties, Mapping) else properties)
    merged: dict[str, str] = {}
    for key, raw in items:
        merged[key.strip()] = raw
    values: dict[str, tuple[str, Any]] = {}  # kafka-python name -> (property, value)
    given: list[tuple[str, str]] = []
    bootstrap: str | None = None
    jaas_mechanisms: tuple[str, ...] = ()
    for key, raw in merged.items():
        try:
            value = resolve(raw, environ=environ)
        except SecretReferenceError as exc:
            raise SettingsError(f"{key}: {exc}") from None
        if key == "bootstrap.servers":
            bootstrap = _text_or_error(key, value)
            given.append((key, bootstrap))
            continue
        if key == "sasl.jaas.config":
            jaas_mechanisms, credentials = _jaas(key, value)
            for name, jaas_value in credentials:
                _put(values, name, key, jaas_value)
            given.append((key, "***"))
            continue
        spec = _key_spec(key)
        try:
            converted = spec.convert(value)
        except ValueError as exc:
            shown = "***" if spec.secret or isinstance(value, Secret) else repr(value.strip())
            raise SettingsError(f"{key}={shown}: {exc}") from None
        if spec.secret and not isinstance(converted, Secret):
            converted = Secret(converted)
        _put(values, spec.name, key, converted)
        given.append((key, describe_value(converted)))
    _check_consistency(values)
    mechanism = values.get("sasl_mechanism", ("", None))[1]
    if jaas_mechanisms and mechanism and mechanism not in jaas_mechanisms:
        # Caught here, it is one clear line; at the broker, a puzzling auth failure.
        raise SettingsError(
            f"sasl.jaas.config uses a login module for {' or '.join(jaas_mechanisms)} "
            f"but sasl.mechanism={mechanism}"
        )
    per_client: dict[str, list[tuple[str, Any]]] = {CONSUMER: [], PRODUCER: [], ADMIN: []}
    for name, (key, value) in values.items():
        clients = KEYS[key].clients if key in KEYS else ALL_CLIENTS
        for client in clients:
            per_client[client].append((name, value))
    return KafkaClientSettings(
        bootstrap_servers=bootstrap,
        consumer=tuple(per_client[CONSUMER]),
        producer=tuple(per_client[PRODUCER]),
        admin=tuple(per_client[ADMIN]),
        given=tuple(given),
    )


def load_settings(
    config_file: str | None,
    options: Iterable[str] = (),
    *,
    environ: Mapping[str, str] | None = None,
) -> KafkaClientSettings:
    """--kafka-config FILE plus --kafka-option KEY=VALUE (options win)."""
    properties: list[tuple[str, str]] = []
    if config_file:
        properties.extend(read_properties_file(config_file).items())
    properties.extend(parse_option(option) for option in options)
    return build_settings(properties, environ=environ)


def is_secret_key(key: str) -> bool:
    """Does this property hold a secret (a password, or credentials in JAAS)?"""
    return key == "sasl.jaas.config" or (key in KEYS and KEYS[key].secret)


def secret_values(settings: KafkaClientSettings) -> list[str]:
    """Every secret value in `settings` (for tests that grep output for them)."""
    found = []
    for client in (CONSUMER, PRODUCER, ADMIN):
        found.extend(v for _, v in getattr(settings, client) if isinstance(v, Secret))
    return found


def _key_spec(key: str) -> _Key:
    if key in KEYS:
        return KEYS[key]
    if key in _OWNED_BY_THE_JOB:
        raise SettingsError(f"{key} cannot be set: {_OWNED_BY_THE_JOB[key]}")
    if key in _JAVA_STORES:
        raise SettingsError(f"{key} is not supported (Java keystore); use {_JAVA_STORES[key]}")
    raise SettingsError(
        f"unknown or unsupported Kafka setting {_quote_key(key)} "
        "(see docs/streaming.md, 'Kafka security and client settings', for the supported keys)"
    )


def _quote_key(key: str) -> str:
    # A mistyped key might be a value pasted in the wrong place: show a prefix only.
    return repr(key if len(key) <= 60 else key[:57] + "...")


def _text_or_error(key: str, value: str) -> str:
    if not value.strip():
        raise SettingsError(f"{key}: is empty")
    return value.strip()


def _put(values: dict[str, tuple[str, Any]], name: str, key: str, value: Any) -> None:
    previous = values.get(name)
    if previous is not None and previous[0] != key and previous[1] != value:
        raise SettingsError(f"{previous[0]} and {key} both set {name} and disagree")
    values[name] = (key, value)


def _jaas(key: str, value: str) -> tuple[tuple[str, ...], list[tuple[str, Any]]]:
    """A Java `sasl.jaas.config` (PLAIN or SCRAM login module) -> username/password."""
    match = _JAAS.match(value)
    if not match or match.group("module") not in _JAAS_MODULES:
        modules = " or ".join(m.rsplit(".", 1)[1] for m in _JAAS_MODULES)
        raise SettingsError(f"{key}: only {modules} login modules are supported")
    options = {
        m.group(1): next(g for g in m.groups()[1:] if g is not None)
        for m in _JAAS_OPTION.finditer(match.group("options"))
    }
    if "username" not in options or "password" not in options:
        raise SettingsError(f'{key}: needs username="..." and password="..."')
    password = re.sub(r"\\(.)", r"\1", options["password"])
    username = re.sub(r"\\(.)", r"\1", options["username"])
    user = Secret(username) if isinstance(value, Secret) else username
    credentials = [("sasl_plain_username", user), ("sasl_plain_password", Secret(password))]
    return _JAAS_MODULES[match.group("module")], credentials


def _check_consistency(values: Mapping[str, tuple[str, Any]]) -> None:
    protocol = values.get("security_protocol", ("", "PLAINTEXT"))[1]
    sasl_keys = [values[n][0] for n in ("sasl_mechanism", "sasl_plain_username") if n in values]
    if protocol.startswith("SASL_"):
        if "sasl_mechanism" not in values:
            raise SettingsError(f"security.protocol={protocol} needs sasl.mechanism")
        for name, key in (
            ("sasl_plain_username", "sasl.username"),
            ("sasl_plain_password", "sasl.password"),
        ):
            if name not in values:
                raise SettingsError(
                    f"security.protocol={protocol} needs {key} (or sasl.jaas.config)"
                )
    elif sasl_keys:
        raise SettingsError(
            f"{sasl_keys[0]} is set but security.protocol={protocol}: "
            "use SASL_SSL (or SASL_PLAINTEXT) for SASL authentication"
        )
    if not protocol.endswith("SSL"):
        ssl_keys = sorted(values[n][0] for n in values if n.startswith("ssl_"))
        if ssl_keys:
            raise SettingsError(
                f"{ssl_keys[0]} is set but security.protocol={protocol}: "
                "use SSL (or SASL_SSL) for TLS"
            )
    if "ssl_keyfile" in values and "ssl_certfile" not in values:
        raise SettingsError("ssl.key.location is set without ssl.certificate.location")
