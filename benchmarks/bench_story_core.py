"""The story stage's own work per article, without Beam: features, and the batch
driver's core (runs weighed at once, `batch_core.indexed_story_labels`) against the
one-by-one core (`StoryIndex.assign`), on the same observations in one process.

    python benchmarks/bench_story_core.py [--articles 20000] [--repeat 3] [--corpus bench]

Articles are `bench_pipeline.py`'s generated corpora (their raw text: the features read
the first 1,000 characters, which the cleaner barely changes there). CPU time per
article, best of the repeats, and the ratio of the two cores measured in the same run;
the labels of both must be equal (the script stops otherwise).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_pipeline import corpus_rows  # noqa: E402

from newsbeam.transforms.dedup.labels import event_time  # noqa: E402
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

    features = []
    for _ in range(args.repeat):
        started = time.process_time()
        terms = [term_weights(row["text"], row.get("title"), config) for row in rows]
        features.append((time.process_time() - started) / count * 1e3)
    keys = [order_key(row["id"], event_time(row.get("published_at"), None)) for row in rows]
    packed = [
        pack((row["id"], key, weights, None))
        for row, key, weights in zip(rows, keys, terms, strict=True)
    ]

    in_runs, one_by_one = [], []
    for _ in range(args.repeat):
        started = time.process_time()
        labels = dict(cluster_in_order(("", packed), config))
        in_runs.append((time.process_time() - started) / count * 1e3)
        started = time.process_time()
        index = StoryIndex(config)
        expected = {}
        for observation in sorted(packed, key=lambda item: item[1]):
            article_id, key, weights, representative = unpack(observation)
            when = None if key[0] else key[1]
            assignment = index.assign(article_id, when, weights, representative)
            if assignment.story_id != article_id:
                expected[article_id] = (assignment.story_id, assignment.similarity)
        one_by_one.append((time.process_time() - started) / count * 1e3)
        if labels != expected:
            sys.exit("the two cores gave different labels")
    runs, single = min(in_runs), min(one_by_one)
    print(f"{count} articles ({args.corpus}), CPU ms per article, best of {args.repeat}")
    print(f"  features (term_weights)          {min(features):.4f}")
    print(f"  core in runs (the batch driver)  {runs:.4f}")
    print(f"  core one by one (the stream)     {single:.4f}")
    print(f"  runs / one by one                {runs / single:.2f}  (labels identical)")


if __name__ == "__main__":
    main()
