"""Representative order, event times and cluster resolution (pure core)."""

from __future__ import annotations

import random

import pytest

from newsbeam.transforms.dedup.clusters import RepresentativeForest
from newsbeam.transforms.dedup.labels import event_time, order_key, parse_timestamp


def test_parse_timestamp_forms() -> None:
    assert parse_timestamp("2023-03-16T10:00:00Z") == 1678960800.0
    assert parse_timestamp("2023-03-16T19:00:00+09:00") == 1678960800.0
    assert parse_timestamp("2023-03-16T10:00:00") == 1678960800.0  # no offset: UTC
    assert parse_timestamp("2023-03-16T10:00:00.250Z") == 1678960800.25
    for bad in (None, "", "yesterday", "2023-13-45"):
        assert parse_timestamp(bad) is None


def test_representative_order_earliest_then_undated_then_id() -> None:
    keys = [
        order_key("b", "2023-03-16T10:00:00Z"),
        order_key("a", None),
        order_key("c", "2023-03-16T19:00:00+09:00"),  # same instant as b
        order_key("z", "2023-03-15T00:00:00Z"),
        order_key("0", "not a date"),
    ]
    assert [k[2] for k in sorted(keys)] == ["z", "b", "c", "0", "a"]


def test_event_time_prefers_published_but_caps_it_at_ingested() -> None:
    assert event_time("2023-03-16T10:00:00Z", "2023-03-17T10:00:00Z") == 1678960800.0
    assert event_time(None, "2023-03-16T10:00:00Z") == 1678960800.0
    assert event_time("2099-01-01T00:00:00Z", "2023-03-16T10:00:00Z") == 1678960800.0
    assert event_time(None, None) is None


def _key(node: str, digest: str | None = None) -> tuple[tuple[bool, float, str], str]:
    """A forest node; lower node number = earlier publication; own text by default."""
    return ((False, float(int(node[1:])), node), digest or f"hash-{node}")


def test_chain_resolves_to_one_representative() -> None:
    forest = RepresentativeForest().add_edges(
        [(_key("n3"), _key("n2")), (_key("n2"), _key("n5")), (_key("n5"), _key("n1"))]
    )
    assert forest.representatives() == {"n1": "n1", "n2": "n1", "n3": "n1", "n5": "n1"}


def test_separate_components_keep_their_own_representative() -> None:
    forest = RepresentativeForest().add_edges(
        [(_key("n4"), _key("n7")), (_key("n2"), _key("n9")), (_key("n9"), _key("n8"))]
    )
    reps = forest.representatives()
    assert reps["n7"] == "n4" and reps["n8"] == "n2" and reps["n9"] == "n2"


def test_merging_partial_forests_equals_one_forest() -> None:
    """The CombineFn merges forests built on different workers in any order."""
    rng = random.Random(3)
    nodes = [f"n{i}" for i in range(200)]
    edges = [(_key(rng.choice(nodes)), _key(rng.choice(nodes))) for _ in range(150)]
    whole = RepresentativeForest().add_edges(edges).representatives()
    for _ in range(5):
        rng.shuffle(edges)
        cut = sorted(rng.sample(range(len(edges)), 3))
        parts = [edges[: cut[0]], edges[cut[0] : cut[1]], edges[cut[1] : cut[2]], edges[cut[2] :]]
        forests = [RepresentativeForest().add_edges(p) for p in parts]
        rng.shuffle(forests)
        merged = forests[0]
        for other in forests[1:]:
            merged.merge(other)
        assert merged.representatives() == whole
    # Every representative is the minimum of its component.
    for node, rep in whole.items():
        assert _key(rep)[0] <= _key(node)[0]


@pytest.mark.parametrize("size", [2, 50])
def test_representative_is_the_component_minimum_whatever_the_edge_order(size: int) -> None:
    rng = random.Random(size)
    nodes = [f"n{i}" for i in rng.sample(range(1000), size)]
    path = list(nodes)
    rng.shuffle(path)
    edges = [(_key(a), _key(b)) for a, b in zip(path, path[1:], strict=False)]
    reps = RepresentativeForest().add_edges(edges).representatives()
    expected = min(nodes, key=lambda n: _key(n)[0])
    assert set(reps.values()) == {expected}


def test_assignments_say_exact_or_which_text_to_measure() -> None:
    # n5, n7 share one text; n3 is the representative; n9 has n3's text.
    edges = [
        (_key("n5", "h57"), _key("n7", "h57")),  # exact pair
        (_key("n5", "h57"), _key("n3", "h3")),  # near edge between text representatives
        (_key("n3", "h3"), _key("n9", "h3")),  # exact copy of the representative
    ]
    plan = {a.id: a for a in RepresentativeForest().add_edges(edges).assignments()}
    assert set(plan) == {"n5", "n7", "n9"}
    assert plan["n9"].same_text and plan["n9"].representative == "n3"
    assert not plan["n7"].same_text and plan["n7"].text_representative == "n5"
    assert not plan["n5"].same_text and plan["n5"].text_representative == "n5"
