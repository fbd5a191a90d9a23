"""Duplicate clusters: connected components whose root is the representative (pure).

A union-find over duplicate edges (exact and verified near pairs) where every
union keeps the node with the smaller representative order key as the root,
so a component's root *is* its representative: the earliest published, ties
by id. Chains A~B~C therefore resolve to one representative for all three.
The forest holds only articles that have at least one duplicate edge, with
their order key and content hash (no text).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from newsbeam.transforms.dedup.labels import OrderKey

# A forest node: (order key (which ends with the id), content hash).
Node = tuple[OrderKey, str]
Edge = tuple[Node, Node]


@dataclass(frozen=True, slots=True)
class Assignment:
    """How one non-representative article is labelled.

    same_text: its content hash equals the representative's (exact label).
    text_representative: the earliest article with its own text; near
    similarity is measured between that one and the representative (an
    exact copy's similarity to anything equals its text's).
    """

    id: str
    representative: str
    same_text: bool
    text_representative: str


class RepresentativeForest:
    def __init__(self) -> None:
        self._parent: dict[str, str] = {}
        self._node: dict[str, Node] = {}

    def __len__(self) -> int:
        return len(self._parent)

    def _add(self, node: Node) -> str:
        article_id = node[0][2]
        if article_id not in self._parent:
            self._parent[article_id] = article_id
            self._node[article_id] = node
        return article_id

    def find(self, article_id: str) -> str:
        root = article_id
        while self._parent[root] != root:
            root = self._parent[root]
        while self._parent[article_id] != root:  # path compression
            self._parent[article_id], article_id = root, self._parent[article_id]
        return root

    def union(self, a: Node, b: Node) -> None:
        root_a = self.find(self._add(a))
        root_b = self.find(self._add(b))
        if root_a == root_b:
            return
        if self._node[root_a][0] <= self._node[root_b][0]:
            self._parent[root_b] = root_a
        else:
            self._parent[root_a] = root_b

    def add_edges(self, edges: Iterable[Edge]) -> RepresentativeForest:
        for a, b in edges:
            self.union(a, b)
        return self

    def merge(self, other: RepresentativeForest) -> RepresentativeForest:
        """Union in every link of another forest (for combining partial results)."""
        for article_id, parent in other._parent.items():
            if article_id != parent:
                self.union(other._node[article_id], other._node[parent])
            else:
                self._add(other._node[article_id])
        return self

    def representatives(self) -> dict[str, str]:
        """Every node -> its component's representative (itself for the root)."""
        return {article_id: self.find(article_id) for article_id in list(self._parent)}

    def assignments(self) -> Iterator[Assignment]:
        """One assignment per node that is not its component's representative."""
        earliest_with_text: dict[str, Node] = {}
        for node in self._node.values():
            known = earliest_with_text.get(node[1])
            if known is None or node[0] < known[0]:
                earliest_with_text[node[1]] = node
        for article_id, representative in self.representatives().items():
            if article_id == representative:
                continue
            digest = self._node[article_id][1]
            yield Assignment(
                id=article_id,
                representative=representative,
                same_text=digest == self._node[representative][1],
                text_representative=earliest_with_text[digest][0][2],
            )
