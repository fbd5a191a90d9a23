"""MinHash signatures and LSH band keys (pure; rensa's R-MinHash underneath).

Why these parameters (defaults in `DedupConfig`)
-------------------------------------------------
LSH with b bands of r rows makes two articles with shingle-set Jaccard s a
candidate pair with probability

    P(candidate | s) = 1 - (1 - s**r) ** b        (the "S-curve")

whose steep part sits near s* = (1/b) ** (1/r). The verification step
labels a pair only when its *measured* Jaccard is >= threshold (0.6), so the
curve must be close to 1 from 0.6 up (recall) and close to 0 where unrelated
and same-event articles live (cost: every candidate is a verification).

Measured on the fixtures (tests/fixtures/dedup, 4-word shingles): copies with
a changed headline, added paragraph, boilerplate, correction or Unicode and
whitespace changes have J 0.76-1.0; independent reports of one event, two
translations of one report and the five seed articles have J <= 0.05 (two
short press releases sharing a long footer reach 0.71: the opening check in
`similarity.py`, not the threshold, keeps those apart).

    b x r     perms  s*    P(.2)   P(.4)  P(.5)  P(.6)   P(.7)
    32 x 4    128   0.42  0.050   0.56   0.87   0.988   0.9998   <- chosen
    64 x 4    256   0.35  0.097   0.81   0.98   0.9999  1.0
    42 x 3    126   0.29  0.29    0.94   0.996  1.0     1.0
    20 x 5    100   0.55  0.006   0.19   0.47   0.80    0.97
    16 x 8    128   0.71  0.000   0.01   0.06   0.24    0.61

32 x 4 puts the knee (0.42) well below the 0.6 threshold (98.8 % at 0.6,
99.98 % at 0.7) while an unrelated pair (s ~ 0.01) collides with probability
~3e-7 and a same-event pair (s ~ 0.05) with ~2e-4, so candidates stay a small
multiple of the true duplicates, except in "hot" buckets made by boilerplate
that many different texts share (see `DedupConfig.hot_bucket_neighbours`).
64 x 4 would buy 1 % recall right at the threshold for twice the signature
cost and twice the band keys shuffled in batch; r = 3 lets over ten times
more same-event pairs through. A near-duplicate is also rarely alone: a copy
joins its cluster through any member it collides with, so cluster recall is
higher than the pair curve.

Since sketch format 2 only texts with fewer than `band_max_shingles`
distinct shingles get band keys: longer near pairs share so many shingles
that the containment anchors (sketch.py) find them, and the anchors also
find shortened copies whose Jaccard this S-curve cannot reach.

Library: rensa (Rust) was measured against datasketch on the same shingles
(benchmarks/bench_minhash_libs.py): on dedup's path (shingle hashing
included) it made ~11x more signatures per second, same accuracy (unbiased,
spread within the binomial sqrt(s(1-s)/k)), a third of the pickled size, and
both give the same signature in two processes with different PYTHONHASHSEED:
rensa's token hash is fixed rather than salted per process, so a text gives
the same signature on every worker and run. The band-collision statistics of
its permutation family (which is not k independent hashes) are checked in
tests/test_dedup_minhash.py.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence

import numpy as np
import rensa

# Part of every stored sketch's identity: a new rensa algorithm would give
# different signatures for the same text.
ALGORITHM_VERSION: int = int(rensa.RMinHash.ALGORITHM_VERSION)


def match_probability(similarity: float, bands: int, rows: int) -> float:
    """P(two sets with this Jaccard share at least one band): the S-curve."""
    return 1.0 - (1.0 - similarity**rows) ** bands


def signatures(token_hashes: Sequence[np.ndarray], num_perm: int, seed: int) -> np.ndarray:
    """MinHash signatures (uint32, one row of `num_perm` values per token-hash array).

    Each input is the uint64 token hashes of one text (duplicates allowed);
    empty inputs are not allowed (callers skip texts without shingles).
    """
    if not token_hashes:
        return np.zeros((0, num_perm), dtype=np.uint32)
    flat = np.concatenate([np.asarray(t, dtype=np.uint64) for t in token_hashes])
    bounds = np.zeros(len(token_hashes) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in token_hashes], out=bounds[1:])
    return flat_signatures(flat, bounds, num_perm, seed)


def flat_signatures(flat: np.ndarray, bounds: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    """`signatures` of the texts whose token hashes are `flat[bounds[i]:bounds[i + 1]]`.

    Goes through rensa's flat-buffer entry point: passing Python lists costs
    ~1 ms per call, a numpy buffer ~2 us.
    """
    offsets = np.asarray(bounds, dtype=np.uint64)
    matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(flat, offsets, num_perm, seed)
    return np.asarray(matrix.to_rows(), dtype=np.uint32).reshape(len(bounds) - 1, num_perm)


def band_keys(signature: np.ndarray, bands: int, rows: int) -> tuple[bytes, ...]:
    """One 8-byte key per band: equal keys <=> equal `rows` MinHash values in that band.

    The band number is hashed in, so keys of different bands never meet in
    one bucket. 64-bit keys collide by accident with probability ~2**-64 per
    pair, and a collision only costs one verification.
    """
    return many_band_keys(signature[None, :], bands, rows)[0]


def many_band_keys(matrix: np.ndarray, bands: int, rows: int) -> list[tuple[bytes, ...]]:
    """`band_keys` of each row of a signature matrix."""
    width = 4 * rows
    raw = np.ascontiguousarray(matrix[:, : bands * rows], dtype="<u4").tobytes()
    salts = [_salt(n) for n in range(bands)]
    stride = bands * width
    blake2b = hashlib.blake2b
    return [
        tuple(
            blake2b(raw[at : at + width], digest_size=8, salt=salt).digest()
            for at, salt in zip(range(row, row + stride, width), salts, strict=True)
        )
        for row in range(0, len(matrix) * stride, stride)
    ]


@functools.lru_cache(maxsize=4096)
def _salt(band: int) -> bytes:
    return band.to_bytes(16, "big")
