"""Durable stories in `newsbeam stream` against the real test broker (Tansu): the
story state on its changelog topic (`GROUP-story-changelog`) across a SIGKILL, its
expiry across restarts, and a restore that meets records it cannot use.

Reports of one event straddle the restart (the Turkish earthquake: two outlets and a
follow-up a day later; story_fixtures.py); with `--dedup-state none` the same feed
splits the event in two, which is what the durable state is for."""

from __future__ import annotations

import json
import subprocess
import uuid

import orjson
import pytest
from story_fixtures import (
    ELECTION_PORTUGAL,
    ELECTION_SLOVAKIA,
    QUAKE_TURKEY,
    QUAKE_TURKEY_FOLLOW_UP,
    QUAKE_TURKEY_OTHER_OUTLET,
    UNRELATED,
)
from test_kafka_stream import TopicReader, committed, new_topics, start_job, stream_command

from conftest import REPO_ROOT

pytestmark = pytest.mark.integration

DAY = "2024-03-{:02d}T{:02d}:00:00Z"


def report(article_id: str, fixture: tuple[str, str], published_at: str) -> dict:
    title, text = fixture
    return {"id": article_id, "title": title, "text": text, "published_at": published_at}


def messages(articles: list[dict]) -> list:
    return [(None, orjson.dumps(a), ()) for a in articles]


BEFORE = [
    report(f"misc-{n}", fixture, DAY.format(3, 8 + n)) for n, fixture in enumerate(UNRELATED)
] + [
    report("turkey-1", QUAKE_TURKEY, DAY.format(4, 9)),
    report("portugal", ELECTION_PORTUGAL, DAY.format(4, 12)),
]
AFTER = [
    report("turkey-2", QUAKE_TURKEY_OTHER_OUTLET, DAY.format(4, 14)),
    report("turkey-3", QUAKE_TURKEY_FOLLOW_UP, DAY.format(5, 10)),
]


def stories_by_id(broker, topic: str) -> dict[str, set[str]]:
    """id -> the story ids its copies in the topic carry (a redelivery adds a copy)."""
    out: dict[str, set[str]] = {}
    for m in broker.read_all(topic):
        out.setdefault(m.key.decode(), set()).add(orjson.loads(m.value)["story"]["id"])
    return out


def run_until_end(command: list[str]) -> tuple[dict, str]:
    result = subprocess.run(
        [*command, "--until-end"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout), result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("state", ["auto", "none"])
def test_reports_of_one_event_straddling_a_sigkill_share_one_story(kafka_broker, state):
    raw, out, dlq = new_topics(kafka_broker, partitions=1)
    bootstrap = kafka_broker.bootstrap_servers
    group = f"stories-{uuid.uuid4().hex[:6]}"
    command = stream_command(bootstrap, raw, out, dlq, "--group-id", group, "--dedup-state", state)
    reader = TopicReader(bootstrap, out)
    try:
        kafka_broker.produce(raw, messages(BEFORE))
        job = start_job(command)
        written = reader.wait_for(lambda: reader.ids() >= {a["id"] for a in BEFORE}, timeout=90)
        if state == "none":
            # The control case: kill once everything is committed, so that the restarted
            # job sees no redelivered report (it would found the story again by itself).
            assert reader.wait_for(
                lambda: committed(bootstrap, group, raw, partitions=1) == [len(BEFORE)], 30
            ), "the job never committed its offsets"
        job.kill()  # SIGKILL: no clean shutdown; the last bundle's offsets may be uncommitted
        job.wait(timeout=10)
        assert written, job.stderr.read()[-3000:]
    finally:
        reader.close()
    # After the restart: the other outlet, the follow-up a day later, and a redelivered
    # copy of the first report (a producer retry, the same record again).
    kafka_broker.produce(raw, messages([*AFTER, BEFORE[3]]))
    summary, stderr = run_until_end(command)

    stories = stories_by_id(kafka_broker, out)
    assert set(stories) == {a["id"] for a in BEFORE + AFTER}
    if state == "none":
        # Nothing survived the kill: the other outlet founds a story of its own.
        assert summary["story_state"]["state"] == "none"
        assert stories["turkey-2"] == {"turkey-2"}
        return
    story_state = summary["story_state"]
    assert story_state["state"] == "changelog"
    assert story_state["changelog_topic"] == f"{group}-story-changelog"
    assert story_state["restored"] == 5 and story_state["restore_skipped"] == 0
    # One story across the kill, and every copy of an article carries its first label.
    assert stories["turkey-1"] == stories["turkey-2"] == stories["turkey-3"] == {"turkey-1"}
    assert stories["portugal"] == {"portugal"}
    assert all(len(ids) == 1 for ids in stories.values())
    copies = [orjson.loads(m.value)["story"] for m in kafka_broker.read_all(out)]
    turkey = [s for s in copies if s["id"] == "turkey-1"]
    assert len(turkey) >= 4  # turkey-1 at least twice, turkey-2, turkey-3
    assert "stories: restored 5 active stories" in stderr


@pytest.mark.slow
def test_stories_expire_across_restarts_and_foreign_records_are_skipped(kafka_broker):
    raw, out, dlq = new_topics(kafka_broker, partitions=1)
    bootstrap = kafka_broker.bootstrap_servers
    group = f"expiry-{uuid.uuid4().hex[:6]}"
    topic = f"stories-of-{group}"  # --story-changelog-topic: not the default name
    command = stream_command(
        bootstrap, raw, out, dlq, "--group-id", group, "--story-changelog-topic", topic
    )
    kafka_broker.produce(raw, messages(BEFORE + AFTER))
    summary, stderr = run_until_end(command)
    assert summary["story_state"]["changelog_topic"] == topic
    assert f"story changelog topic {topic!r}: created" in stderr
    # Someone else's records in the topic, and one of a future format.
    kafka_broker.produce(
        topic,
        [
            (b"s:junk", b"not a story", ()),
            (b"a:future", b"NBS\x07{}", ()),
            (b"m", b'{"clock": "soon"}', ()),
        ],
    )

    # Restart with a 12-hour window: at the restored clock (turkey-3, day 5 10:00) all
    # but the Turkish story are out of it; Slovakia (day 7) then expires that one too.
    kafka_broker.produce(raw, messages([report("slovakia", ELECTION_SLOVAKIA, DAY.format(7, 8))]))
    summary, _ = run_until_end([*command, "--story-window", "12h"])
    state = summary["story_state"]
    assert (state["restored"], state["restore_expired"], state["restore_skipped"]) == (1, 4, 3)
    latest = {m.key.decode(): m.value for m in kafka_broker.read_all(topic)}
    for key in ("s:junk", "a:future", "s:portugal", "a:portugal", "s:turkey-1", "a:turkey-3"):
        assert latest[key] is None, key
    assert latest["s:slovakia"] is not None and latest["a:slovakia"] is not None
    assert latest["m"] is not None  # rewritten by the job after the foreign value

    # The Turkish story is closed: the store no longer holds its labels, so a late report
    # of it would found a story of its own (the core's window test covers that case).
    assert not any(k.startswith("a:turkey") and v is not None for k, v in latest.items())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        # The stories' topic cannot be the dedup window's (each restore would delete the
        # other's records) nor one of the job's own topics.
        (("--group-id", "clash", "--story-changelog-topic", "clash-dedup-changelog"), "story"),
        (("--story-changelog-topic", "OUT"), "story"),
    ],
)
def test_story_changelog_cannot_be_another_topic_of_the_job(kafka_broker, options, message):
    raw, out, dlq = new_topics(kafka_broker, partitions=1)
    options = tuple(out if o == "OUT" else o for o in options)
    command = stream_command(kafka_broker.bootstrap_servers, raw, out, dlq, *options)
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"the {message} changelog topic" in result.stderr
    assert "cannot be the input, output, dead-letter or another changelog topic" in result.stderr


def test_story_changelog_topic_without_stories_is_a_usage_error():
    command = stream_command("127.0.0.1:9", "in", "out", "dlq", "--no-stories")
    result = subprocess.run(
        [*command, "--story-changelog-topic", "x"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--story-changelog-topic has no effect with --no-stories" in result.stderr
