"""datasketch vs rensa, side by side, on the shingles dedup actually uses.

    pip install -e ".[bench]"          # datasketch is only needed here
    python benchmarks/bench_minhash_libs.py [--articles 2000]

For each library: signatures per second (128 permutations) on the 4-word
paragraph shingles of generated articles, the error of its Jaccard estimate
against the exact Jaccard on near-duplicate and unrelated pairs, the size of
one pickled MinHash object, and whether the same text gives the same
signature in two processes with different PYTHONHASHSEED.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import rensa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic_news import NewsGenerator  # noqa: E402

from newsbeam.transforms.dedup.fingerprint import (  # noqa: E402
    hash_shingles,
    paragraph_shingles,
    paragraph_words,
)
from newsbeam.transforms.dedup.minhash import signatures  # noqa: E402

NUM_PERM = 128

_PROBE = """
import json, sys
text = "Kishida and Yoon met in Tokyo on Thursday and agreed to restart shuttle diplomacy."
shingles = [" ".join(text.split()[i:i + 4]) for i in range(len(text.split()) - 3)]
lib = sys.argv[1]
if lib == "datasketch":
    from datasketch import MinHash
    m = MinHash(num_perm=128, seed=1)
    m.update_batch([s.encode() for s in shingles])
    print(json.dumps([int(v) for v in m.digest()]))
else:
    import rensa
    m = rensa.RMinHash(num_perm=128, seed=1)
    m.update(shingles)
    print(json.dumps([int(v) for v in m.digest()]))
"""


def deterministic_across_processes(lib: str) -> bool:
    outputs = []
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", _PROBE, lib], env=env, capture_output=True, text=True, check=True
        )
        outputs.append(json.loads(result.stdout))
    return outputs[0] == outputs[1]


def shingle_sets(count: int) -> tuple[list[list[str]], list[tuple[int, int]]]:
    articles = NewsGenerator(11).generate(count)
    index = {a.id: n for n, a in enumerate(articles)}
    sets = [
        [s for p in paragraph_shingles(paragraph_words(a.text), 4) for s in p] for a in articles
    ]
    near = [
        (index[a.id], index[a.cluster])
        for a in articles
        if a.kind == "near_copy" and a.cluster in index
    ]
    return sets, near


def exact_jaccard(a: list[str], b: list[str]) -> float:
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=2000)
    args = parser.parse_args()
    sets, near_pairs = shingle_sets(args.articles)
    rng = np.random.default_rng(0)
    random_pairs = [tuple(rng.choice(len(sets), 2, replace=False)) for _ in range(500)]
    print(
        f"{len(sets):,} articles, {np.mean([len(s) for s in sets]):.0f} shingles each on "
        f"average; {len(near_pairs):,} near-duplicate pairs, {len(random_pairs)} random pairs"
    )

    results = {}
    # rensa: the path dedup uses, one article at a time (token hashes as a
    # numpy buffer -> signature), and plain RMinHash objects.
    start = time.perf_counter()
    rows = []
    for s in sets:
        hashes = np.array(hash_shingles([s])[0], dtype=np.uint64)
        rows.append(signatures([hashes], NUM_PERM, 1)[0])
    rensa_sigs = np.stack(rows)
    rensa_time = time.perf_counter() - start
    start = time.perf_counter()
    for s in sets:
        m = rensa.RMinHash(num_perm=NUM_PERM, seed=1)
        m.update(s)
        m.digest()
    rensa_objects_time = time.perf_counter() - start
    one = rensa.RMinHash(num_perm=NUM_PERM, seed=1)
    one.update(sets[0])
    results["rensa"] = {
        "per_s": len(sets) / rensa_time,
        "objects_per_s": len(sets) / rensa_objects_time,
        "estimate": lambda i, j: float(np.mean(rensa_sigs[i] == rensa_sigs[j])),
        "pickle_bytes": len(pickle.dumps(one)),
        "deterministic": deterministic_across_processes("rensa"),
    }
    try:
        from datasketch import MinHash
    except ImportError:
        print("datasketch not installed (pip install -e '.[bench]'): rensa only")
    else:
        start = time.perf_counter()
        ds = []
        for s in sets:
            m = MinHash(num_perm=NUM_PERM, seed=1)
            m.update_batch([x.encode("utf-8") for x in s])
            ds.append(m)
        ds_time = time.perf_counter() - start
        results["datasketch"] = {
            "per_s": len(sets) / ds_time,
            "objects_per_s": len(sets) / ds_time,
            "estimate": lambda i, j: float(ds[i].jaccard(ds[j])),
            "pickle_bytes": len(pickle.dumps(ds[0])),
            "deterministic": deterministic_across_processes("datasketch"),
        }

    truth_near = [exact_jaccard(sets[i], sets[j]) for i, j in near_pairs]
    truth_random = [exact_jaccard(sets[i], sets[j]) for i, j in random_pairs]
    print(
        f"\n{'library':<11} {'sigs/s':>9} {'(objects)':>10} {'bias near':>10} "
        f"{'sd near':>8} {'sd theory':>10} {'bias rand':>10} {'pickle B':>9} "
        f"{'same sig in 2 processes':>24}"
    )
    for name, r in results.items():
        err_near = np.array([r["estimate"](i, j) for i, j in near_pairs]) - truth_near
        err_random = np.array([r["estimate"](i, j) for i, j in random_pairs]) - truth_random
        theory = float(np.mean([np.sqrt(j * (1 - j) / NUM_PERM) for j in truth_near]))
        print(
            f"{name:<11} {r['per_s']:>9,.0f} {r['objects_per_s']:>10,.0f} "
            f"{err_near.mean():>10.4f} {err_near.std():>8.4f} {theory:>10.4f} "
            f"{err_random.mean():>10.4f} {r['pickle_bytes']:>9,} {str(r['deterministic']):>24}"
        )
    if "datasketch" in results:
        ratio = results["rensa"]["per_s"] / results["datasketch"]["per_s"]
        print(f"\nrensa (dedup's path) is {ratio:.1f}x as fast as datasketch in the same run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
