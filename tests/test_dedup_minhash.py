"""Statistics of the MinHash family (rensa R-MinHash) and the LSH banding."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from newsbeam.transforms.dedup.config import DedupConfig
from newsbeam.transforms.dedup.minhash import band_keys, match_probability, signatures
from newsbeam.transforms.dedup.sketch import build_sketch

BANDS, ROWS = 32, 4


def _pair_with_jaccard(rng: np.random.Generator, s: float, n: int = 300):
    """Two token sets of size n whose Jaccard similarity is (almost exactly) s."""
    shared = int(round(2 * n * s / (1 + s)))
    tokens = rng.integers(0, 2**63, size=shared + 2 * (n - shared), dtype=np.uint64).tolist()
    a = tokens[:shared] + tokens[shared:n]
    b = tokens[:shared] + tokens[n:]
    return a, b, shared / (2 * n - shared)


@pytest.mark.parametrize("s", [0.2, 0.3, 0.5, 0.6, 0.7, 0.9])
def test_band_collisions_follow_the_s_curve(s: float) -> None:
    """R-MinHash is not k independent hash functions: check that its values
    still behave like them where LSH depends on it (P(row equal) = J,
    P(band equal) = J**r, P(candidate) = S-curve) and that the Jaccard
    estimate is unbiased with binomial spread."""
    rng = np.random.default_rng(int(s * 100))
    trials = 400
    band_hits = candidates = 0
    errors, true_j = [], []
    for _ in range(trials):
        a, b, j = _pair_with_jaccard(rng, s)
        sig_a, sig_b = signatures([a, b], BANDS * ROWS, seed=1)
        equal = sig_a == sig_b
        errors.append(equal.mean() - j)
        true_j.append(j)
        bands = equal.reshape(BANDS, ROWS).all(axis=1)
        band_hits += int(bands.sum())
        candidates += int(bands.any())
    j = float(np.mean(true_j))
    assert abs(np.mean(errors)) < 0.01  # unbiased
    assert np.std(errors) < 1.2 * np.sqrt(j * (1 - j) / (BANDS * ROWS))  # binomial spread
    assert band_hits / (trials * BANDS) == pytest.approx(j**ROWS, abs=max(0.01, 0.1 * j**ROWS))
    assert candidates / trials == pytest.approx(match_probability(j, BANDS, ROWS), abs=0.05)


def test_s_curve_values_used_in_the_docs() -> None:
    assert match_probability(0.6, 32, 4) == pytest.approx(0.988, abs=0.001)
    assert match_probability(0.7, 32, 4) > 0.999
    assert match_probability(0.2, 32, 4) == pytest.approx(0.050, abs=0.001)
    assert match_probability(0.0, 32, 4) == 0.0
    assert match_probability(1.0, 32, 4) == 1.0


def test_signatures_are_deterministic_and_seeded() -> None:
    tokens = [list(range(1, 400))]
    first = signatures(tokens, 128, seed=1)
    assert first.dtype == np.uint32 and first.shape == (1, 128)
    assert np.array_equal(first, signatures(tokens, 128, seed=1))
    assert not np.array_equal(first, signatures(tokens, 128, seed=2))


def test_band_keys_separate_bands_with_equal_values() -> None:
    signature = np.zeros(BANDS * ROWS, dtype=np.uint32)  # every band has the same values
    keys = band_keys(signature, BANDS, ROWS)
    assert len(keys) == BANDS and len(set(keys)) == BANDS
    assert all(isinstance(k, bytes) and len(k) == 8 for k in keys)


def test_one_changed_value_changes_only_its_band() -> None:
    signature = np.arange(BANDS * ROWS, dtype=np.uint32)
    changed = signature.copy()
    changed[5] += 1  # row 1 of band 1
    before, after = band_keys(signature, BANDS, ROWS), band_keys(changed, BANDS, ROWS)
    assert [i for i in range(BANDS) if before[i] != after[i]] == [1]


def test_sketch_and_config_pickle_round_trip() -> None:
    config = DedupConfig(retention_seconds=3600)
    sketch = build_sketch("a", "Some words in a sentence of news text. " * 10, None, config)
    assert pickle.loads(pickle.dumps(sketch)) == sketch
    assert pickle.loads(pickle.dumps(config)) == config


@pytest.mark.parametrize(
    "bad",
    [
        {"threshold": 0.0},
        {"threshold": 1.5},
        {"bands": 0},
        {"shingle_size": 0},
        {"retention_seconds": 0},
        {"max_bucket_size": 1},
        {"hot_bucket_neighbours": 0},
        {"lead_overlap": 2.0},
    ],
)
def test_config_rejects_invalid_values(bad: dict) -> None:
    with pytest.raises(ValueError):
        DedupConfig(**bad)
