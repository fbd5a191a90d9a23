"""Hostile messages on the input topic (issue #25), against the real broker fixture:
a gzip-compressed message set that inflates far past the cap, and an oversized plain
message, next to good articles. Each becomes one dead letter; the job lives on."""

from __future__ import annotations

import json
import subprocess

import orjson
import pytest
from kafka import KafkaProducer
from test_kafka_stream import article_messages, new_topics, stream_command

from conftest import REPO_ROOT

MiB = 1024 * 1024

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_gzip_bomb_and_oversized_message_are_dead_letters(kafka_broker):
    raw, out, dlq = new_topics(kafka_broker, partitions=1)
    producer = KafkaProducer(
        bootstrap_servers=kafka_broker.bootstrap_servers,
        compression_type="gzip",
        linger_ms=50,
        batch_size=1024 * 1024,
        max_request_size=256 * MiB,
    )
    try:
        # One compressed message set: good articles around a value that inflates
        # from ~60 KB on the wire to 64 MB.
        for key, value, _ in article_messages(3, "before"):
            producer.send(raw, key=key, value=value)
        producer.send(raw, key=b"bomb", value=b"\0" * (64 * MiB))
        for key, value, _ in article_messages(3, "after"):
            producer.send(raw, key=key, value=value)
        producer.flush()
    finally:
        producer.close()
    # And an oversized message sent uncompressed (scaled down from the 100 MB:
    # the cap is lowered instead).
    kafka_broker.produce(raw, [(b"oversized", b"y" * (6 * MiB), ())])

    command = stream_command(
        kafka_broker.bootstrap_servers,
        raw,
        out,
        dlq,
        "--until-end",
        "--start-offset",
        "earliest",
        "--group-id",
        f"hostile-{raw}",
        "--max-message-bytes",
        "2M",
    )
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)
    assert summary["messages_read"] == 8 and summary["articles_written"] == 6
    letters = {m.key.decode(): orjson.loads(m.value) for m in kafka_broker.read_all(dlq)}
    assert {k: v["reason"] for k, v in letters.items()} == {
        "bomb": "message_too_large",
        "oversized": "message_too_large",
    }
    assert letters["bomb"]["raw_length"] == 64 * MiB and letters["bomb"]["raw_truncated"]
    assert len(letters["oversized"]["raw"]) <= MiB
    written = {orjson.loads(m.value)["id"] for m in kafka_broker.read_all(out)}
    assert len(written) == 6
