"""The Kafka sink's delivery guarantees against the real test broker."""

import logging
import threading
import uuid

import orjson
import pytest

from newsbeam.schemas.versions import ARTICLE, DEAD_LETTER
from newsbeam.transforms.io.kafka.message import article_message
from newsbeam.transforms.io.kafka.sink import KafkaSinkConfig, _WriteMessagesFn

pytestmark = pytest.mark.integration


def records(n, prefix):
    return [{"id": f"{prefix}-{i}", "text": f"body {i}", "title": None} for i in range(n)]


def run_bundle(fn, items):
    fn.start_bundle()
    for item in items:
        fn.process(item)
    fn.finish_bundle()


@pytest.mark.slow
def test_bundle_waits_out_a_broker_outage_and_loses_nothing(kafka_broker, caplog):
    topic = f"sink-{uuid.uuid4().hex[:8]}"
    kafka_broker.create_topics(topic)
    proxy = kafka_broker.proxy()
    config = KafkaSinkConfig(proxy.bootstrap_servers, topic, delivery_timeout_ms=1500)
    fn = _WriteMessagesFn(config, article_message, "articles")
    fn.setup()
    restart = threading.Timer(4.0, proxy.start)
    try:
        run_bundle(fn, records(5, "warm"))
        proxy.stop()
        restart.start()
        # Sends fail for longer than one delivery attempt; finish_bundle must re-send
        # until the broker is back rather than return (which would let offsets commit).
        with caplog.at_level(logging.WARNING, logger="newsbeam.transforms.io.kafka.sink"):
            run_bundle(fn, records(40, "o"))
    finally:
        fn.teardown()
        restart.join()
        proxy.stop()
    assert any("retrying" in r.getMessage() for r in caplog.records)
    ids = [m.key.decode() for m in kafka_broker.read_all(topic)]
    assert set(ids) == {f"o-{i}" for i in range(40)} | {f"warm-{i}" for i in range(5)}


def test_a_producer_wedged_after_an_outage_is_replaced(kafka_broker, monkeypatch):
    # kafka-python 3.0 can keep timing out every send after an outage although the
    # broker is back; the sink must replace the client rather than retry it forever.
    from kafka.errors import KafkaTimeoutError

    from newsbeam.transforms.io.kafka import sink

    topic = f"sink-{uuid.uuid4().hex[:8]}"
    kafka_broker.create_topics(topic)
    real = sink.KafkaProducer
    made = []

    class WedgedOnce(real):
        def send(self, *args, **kwargs):
            if len(made) == 1:  # the first producer never delivers
                raise KafkaTimeoutError("wedged")
            return super().send(*args, **kwargs)

    def producer(**options):
        made.append(WedgedOnce(**options))
        return made[-1]

    monkeypatch.setattr(sink, "KafkaProducer", producer)
    fn = _WriteMessagesFn(
        KafkaSinkConfig(kafka_broker.bootstrap_servers, topic, delivery_timeout_ms=1500),
        article_message,
        "articles",
    )
    monkeypatch.setattr(sink.time, "sleep", lambda seconds: None)
    fn.setup()
    try:
        run_bundle(fn, records(10, "w"))
    finally:
        fn.teardown()
    assert len(made) == 2  # replaced once, after REPLACE_PRODUCER_AFTER failed rounds
    ids = [m.key.decode() for m in kafka_broker.read_all(topic)]
    assert sorted(ids) == sorted(f"w-{i}" for i in range(10))


def test_article_too_large_for_the_topic_is_dead_lettered(kafka_broker):
    topic, dlq = f"sink-{uuid.uuid4().hex[:8]}", f"dlq-{uuid.uuid4().hex[:8]}"
    kafka_broker.create_topics(topic, dlq)
    config = KafkaSinkConfig(
        kafka_broker.bootstrap_servers, topic, overflow_topic=dlq, max_request_size=20_000
    )
    big = {"id": "big-1", "text": "word " * 10_000, "title": "long"}
    fn = _WriteMessagesFn(config, article_message, "articles")
    fn.setup()
    try:
        run_bundle(fn, [*records(3, "s"), big])
    finally:
        fn.teardown()
    written = kafka_broker.read_all(topic)
    assert {m.key for m in written} == {b"s-0", b"s-1", b"s-2"}
    # The schema version survives the broker: a consumer can route on the header.
    assert {dict(m.headers)["newsbeam-schema"] for m in written} == {
        f"article/{ARTICLE.current}".encode()
    }
    (letter,) = kafka_broker.read_all(dlq)
    assert letter.key == b"big-1"
    assert dict(letter.headers)["reason"] == b"record_too_large"
    assert dict(letter.headers)["newsbeam-schema"] == f"dead_letter/{DEAD_LETTER.current}".encode()
    value = orjson.loads(letter.value)
    assert value["schema_version"] == 1
    assert value["raw_truncated"] and value["raw_length"] > 50_000
    assert value["raw"].startswith('{"id":"big-1"')
