"""The story stage's own work per article, without Beam: features, the batch driver's
core (`batch_core.indexed_story_labels`) and the one-by-one core of the stream
(`StoryIndex.assign`), each with the C kernels and with the Python ones
(transforms/story/kernels.py), alternating, on the same articles in one process.

    python benchmarks/bench_story_core.py [--articles 20000] [--repeat 3] [--corpus bench]

Articles are `bench_pipeline.py`'s generated corpora (their raw text: the features read
the first 1,000 characters, which the cleaner barely changes there). CPU time per
article, best of the repeats, and the ratio C / Python measured in the same run; the
terms and labels of every kernel and core must be equal (the script stops otherwise).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_pipeline import corpus_rows  # noqa: E402

from newsbeam.transforms.dedup.labels import event_time  # noqa: E402
from newsbeam.transforms.story import kernels  # noqa: E402
from newsbeam.transforms.story.clusterer import StoryIndex  # noqa: E402
from newsbeam.transforms.story.config import StoryConfig  # noqa: E402
from newsbeam.transforms.story.features import term_weights  # noqa: E402
from newsbeam.transforms.story.order import order_key  # noqa: E402
from newsbeam.transforms.story.transform import cluster_in_order, pack, unpack  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--corpus", choices=["bench", "duplicates"], default="bench")
    args = parser.parse_args()
    config = StoryConfig()
    rows = corpus_rows(args.corpus, args.articles)
    count = len(rows)
    choices = {"python": kernels.PYTHON}
    if kernels.NATIVE is not None:
        choices["C"] = kernels.NATIVE
    else:
        print("the C kernels are not built here: Python only")

    figures: dict[str, dict[str, float]] = {name: {} for name in choices}
    results = []
    for _ in range(args.repeat):  # the kernels alternate within each round
        for name, chosen in choices.items():
            kernels.ACTIVE = chosen
            terms, labels, expected, spent = _measure(rows, config)
            for part, value in spent.items():
                best = figures[name].get(part, float("inf"))
                figures[name][part] = min(best, value / count * 1e3)
            results.append((terms, labels, expected))
    for terms, labels, expected in results[1:]:
        if terms != results[0][0] or labels != results[0][1] or expected != results[0][2]:
            sys.exit("the kernels or the cores gave different terms or labels")
    print(f"{count} articles ({args.corpus}), CPU ms per article, best of {args.repeat}")
    print(f"  {'':34s}" + "".join(f"{name:>10s}" for name in choices))
    parts = {
        "features": "features (term_weights)",
        "driver": "core in the batch driver",
        "stream": "core one by one (the stream)",
    }
    for part, label in parts.items():
        print(f"  {label:34s}" + "".join(f"{figures[n][part]:10.4f}" for n in choices))
    if "C" in choices:
        for part, label in parts.items():
            ratio = figures["C"][part] / figures["python"][part]
            print(f"  C / python, {label:22s} {ratio:.2f}")
    print("  (terms and labels identical across kernels and cores)")


def _measure(rows: list[dict], config: StoryConfig) -> tuple[list, dict, dict, dict]:
    """Terms, the batch driver's labels, the stream core's labels, and the CPU seconds
    of each, with the kernels chosen."""
    started = time.process_time()
    terms = [term_weights(row["text"], row.get("title"), config) for row in rows]
    spent = {"features": time.process_time() - started}
    keys = [order_key(row["id"], event_time(row.get("published_at"), None)) for row in rows]
    packed = [
        pack((row["id"], key, weights, None))
        for row, key, weights in zip(rows, keys, terms, strict=True)
    ]
    started = time.process_time()
    labels = dict(cluster_in_order(("", packed), config))
    spent["driver"] = time.process_time() - started
    started = time.process_time()
    index = StoryIndex(config)
    expected = {}
    for observation in sorted(packed, key=lambda item: item[1]):
        article_id, key, weights, representative = unpack(observation)
        when = None if key[0] else key[1]
        assignment = index.assign(article_id, when, weights, representative)
        if assignment.story_id != article_id:
            expected[article_id] = (assignment.story_id, assignment.similarity)
    spent["stream"] = time.process_time() - started
    if labels != expected:
        sys.exit("the two cores gave different labels")
    return terms, labels, expected, spent


if __name__ == "__main__":
    main()
