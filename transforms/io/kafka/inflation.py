"""A cap on how far kafka-python may inflate one gzip-compressed record batch.

kafka-python inflates a compressed batch whole (`gzip.GzipFile.read()`) before it
returns any record of it, so a 3 MB batch on the wire that inflates to 2 GB costs
2 GB -- twice, with the copy it makes -- before `--max-message-bytes` can look at a
value. The client has no setting for this, so `install_inflation_cap()` replaces the
batch's decompression step (`DefaultRecordBatch._maybe_uncompress`, message format
v2, the one every broker since Kafka 0.11 writes) for gzip with a bounded inflate:
past the cap it raises `BatchTooLarge` with the batch's offsets, having inflated at
most cap + 1 bytes. The source (source.py) turns that into one `message_too_large`
dead letter at the batch's first offset and reads on after its last one.

Other codecs (snappy, lz4, zstd) and the pre-0.11 message formats keep the client's
own, unbounded, decompression. Checked against the installed client by
tests/test_hostile_kafka.py (a real broker and a gzip-compressed batch).
"""

from __future__ import annotations

import logging
import threading
import zlib

logger = logging.getLogger(__name__)

# 64 MiB inflated per batch: producers batch 16 KB-1 MB, and text compresses 5-10x.
DEFAULT_MAX_INFLATED_BATCH_BYTES = 64 * 1024 * 1024

_lock = threading.Lock()
_cap: int | None = None


class BatchTooLarge(Exception):
    """A compressed record batch inflates to more than the cap."""

    def __init__(
        self, base_offset: int, last_offset: int, timestamp_ms: int, head: bytes, cap: int
    ):
        super().__init__(
            f"compressed record batch at offsets {base_offset}-{last_offset} inflates to "
            f"more than {cap} bytes"
        )
        self.base_offset = base_offset
        self.last_offset = last_offset
        self.timestamp_ms = timestamp_ms
        self.head = head  # the start of the inflated batch
        self.cap = cap


def install_inflation_cap(max_bytes: int = DEFAULT_MAX_INFLATED_BATCH_BYTES) -> bool:
    """Bound gzip batch inflation in this process (idempotent; the largest cap asked
    for wins, so one job's sources never lower another's). False when the installed
    kafka-python has no such step to wrap (then nothing changes)."""
    global _cap
    try:
        from kafka.record.default_records import DefaultRecordBatch
    except ImportError:  # pragma: no cover - a kafka-python without format v2
        return False
    original = getattr(DefaultRecordBatch, "_maybe_uncompress", None)
    if original is None:
        logger.warning("kafka-python has no _maybe_uncompress: gzip batches are not capped")
        return False
    with _lock:
        _cap = max(_cap or 0, max_bytes)
        if getattr(original, "_newsbeam_bounded", False):
            return True

        def _maybe_uncompress(batch) -> None:
            if batch._decompressed or batch.compression_type != batch.CODEC_GZIP:
                return original(batch)
            cap = _cap or DEFAULT_MAX_INFLATED_BATCH_BYTES
            data = memoryview(batch._buffer)[batch._pos :]
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip framing
            try:
                inflated = inflater.decompress(data, cap + 1)
            except zlib.error:
                return original(batch)  # let the client report a corrupt batch its way
            if len(inflated) > cap:
                base = batch.base_offset
                raise BatchTooLarge(
                    base,
                    base + batch.last_offset_delta,
                    batch.first_timestamp,
                    inflated[: 1024 * 1024],
                    cap,
                )
            if not inflater.eof or inflater.unused_data:
                return original(batch)  # truncated, or several gzip members: the client's way
            batch._buffer = bytearray(inflated)
            batch._pos = 0
            batch._decompressed = True
            return None

        _maybe_uncompress._newsbeam_bounded = True  # type: ignore[attr-defined]
        DefaultRecordBatch._maybe_uncompress = _maybe_uncompress
    return True
