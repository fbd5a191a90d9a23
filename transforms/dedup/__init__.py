"""Deduplicate stage: exact and near-duplicate labels, in batch and in streams.

    from newsbeam.transforms.dedup import DedupConfig, DeduplicateBatch, DeduplicateStream

    labelled = articles | "Deduplicate" >> DeduplicateBatch(DedupConfig())
    labelled = articles | "Deduplicate" >> DeduplicateStream(DedupConfig(retention_seconds=...))

Both set `content_hash` and `duplicate` ({status, of, similarity}) on every
article and drop nothing. The pure cores (fingerprint, minhash, sketch,
similarity, labels, clusters, stream_index) import no Beam; the PTransforms
are loaded on first use so that importing a core does not load Beam either.
"""

from __future__ import annotations

from typing import Any

from newsbeam.transforms.dedup.config import DedupConfig

__all__ = ["DedupConfig", "DeduplicateBatch", "DeduplicateStream"]


def __getattr__(name: str) -> Any:
    if name == "DeduplicateBatch":
        from newsbeam.transforms.dedup.batch import DeduplicateBatch

        return DeduplicateBatch
    if name == "DeduplicateStream":
        from newsbeam.transforms.dedup.stream import DeduplicateStream

        return DeduplicateStream
    raise AttributeError(name)
