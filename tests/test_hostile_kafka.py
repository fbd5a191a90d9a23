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
        # Compressed message sets: good articles, then a batch whose value inflates
        # from ~100 KB on the wire to 100 MB (over the 64 MiB cap on inflating one
        # batch), then good articles again.
        for key, value, _ in article_messages(3, "before"):
            producer.send(raw, key=key, value=value)
        producer.flush()
        producer.send(raw, key=b"bomb", value=b"\0" * (100 * MiB))
        producer.flush()
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
    letters = [orjson.loads(m.value) for m in kafka_broker.read_all(dlq)]
    assert [(d["id"], d["reason"]) for d in letters] == [
        (None, "message_too_large"),  # the bomb: stopped before its key was inflated
        ("oversized", "message_too_large"),
    ]
    bomb, oversized = letters
    # Inflating stopped one byte past the 64 MiB cap, not at 100 MB.
    assert bomb["raw_length"] == 64 * MiB + 1 and bomb["raw_truncated"]
    assert bomb["source"]["offset"] == 3 and "inflates to more than" in bomb["error"]
    assert len(oversized["raw"]) <= MiB
    written = {orjson.loads(m.value)["id"] for m in kafka_broker.read_all(out)}
    assert len(written) == 6
