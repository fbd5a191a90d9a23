"""Duplicate clusters: connected components whose root is the representative (pure).

A union-find over duplicate edges (exact and verified near pairs) where every
union keeps the node with the smaller representative order key as the root,
so a component's root *is* its representative: the earliest published, ties
by id. Chains A~B~C therefore resolve to one representative for all three.
The forest holds only articles that have at least one duplicate edge.
"""

from __future__ import annotations

from collections.abc import Iterable

from newsbeam.transforms.dedup.labels import OrderKey

# (order key, id) of both ends of a duplicate edge.
Edge = tuple[OrderKey, OrderKey]


class RepresentativeForest:
    def __init__(self) -> None:
        # node id -> parent id; node id -> its order key (which contains the id).
        self._parent: dict[str, str] = {}
        self._order: dict[str, OrderKey] = {}

    def __len__(self) -> int:
        return len(self._parent)

    def _add(self, order: OrderKey) -> str:
        node = order[2]
        if node not in self._parent:
            self._parent[node] = node
            self._order[node] = order
        return node

    def find(self, node: str) -> str:
        root = node
        while self._parent[root] != root:
            root = self._parent[root]
        while self._parent[node] != root:  # path compression
            self._parent[node], node = root, self._parent[node]
        return root

    def union(self, a: OrderKey, b: OrderKey) -> None:
        root_a = self.find(self._add(a))
        root_b = self.find(self._add(b))
        if root_a == root_b:
            return
        if self._order[root_a] <= self._order[root_b]:
            self._parent[root_b] = root_a
        else:
            self._parent[root_a] = root_b

    def add_edges(self, edges: Iterable[Edge]) -> RepresentativeForest:
        for a, b in edges:
            self.union(a, b)
        return self

    def merge(self, other: RepresentativeForest) -> RepresentativeForest:
        """Union in every link of another forest (for combining partial results)."""
        for node, parent in other._parent.items():
            if node != parent:
                self.union(other._order[node], other._order[parent])
            else:
                self._add(other._order[node])
        return self

    def representatives(self) -> dict[str, str]:
        """Every node -> its component's representative (itself for the root)."""
        return {node: self.find(node) for node in list(self._parent)}

    def order_of(self, node: str) -> OrderKey:
        return self._order[node]
