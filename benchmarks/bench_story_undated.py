"""The story core on a batch whose articles share one event time (undated files all
take the run's `ingested_at`), with and without the cap on open stories.

    python benchmarks/bench_story_undated.py [--sizes 2000 8000 32000]
        [--caps 0 10000 2000] [--data DIR]

Articles: the opening sentences of Wikinews articles (`wikinews_topics.jsonl` in
`../shared/data`, CC BY 2.5, Wikinews contributors), shuffled with a fixed seed:
real news in 16 languages, nearly every one a different event. Cap 0 means no cap
(the window alone, which closes nothing here). Per size and cap: the core's CPU per
article (best of two, `indexed_story_labels` as the batch driver runs it), stories
founded, stories open at the end, stories closed by the cap. Features are computed
once, outside the timing.
"""

from __future__ import annotations

import argparse
import functools
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

import orjson

from newsbeam.transforms.story.batch_core import StoryCounts, indexed_story_labels
from newsbeam.transforms.story.config import StoryConfig
from newsbeam.transforms.story.features import term_weights
from newsbeam.transforms.story.order import order_key
from newsbeam.transforms.story.transform import pack, unpack_weights

RUN_TIME = 1.8e9  # one ingestion time for the whole batch


def _load(packed: list, place: int):
    return unpack_weights(packed[place])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 8000, 32000])
    parser.add_argument("--caps", type=int, nargs="+", default=[0, 10_000, 2_000])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data"))
    args = parser.parse_args()
    path = Path(args.data) / "wikinews_topics.jsonl"
    if not path.is_file():
        sys.exit(f"needs {path}")
    rows = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    random.Random(1).shuffle(rows)
    features = StoryConfig()
    # An older checkout first on PYTHONPATH has no cap: there only cap 0 means anything.
    capped = hasattr(features, "max_active_stories")
    print("size   cap     ms/article  founded  open  closed by the cap")
    for size in args.sizes:
        part = rows[:size]
        packed = [
            pack(
                (
                    str(row["id"]),
                    order_key(str(row["id"]), RUN_TIME),
                    term_weights(row["text"], None, features),
                    None,
                )
            )
            for row in part
        ]
        entries = [(observation[1], place) for place, observation in enumerate(packed)]
        load = functools.partial(_load, packed)
        for cap in args.caps:
            config = replace(features, max_active_stories=cap or 1 << 62) if capped else features
            best = float("inf")
            for _ in range(2):
                counts = StoryCounts()  # the core sorts its own copy of the entries
                started = time.process_time()
                for _ in indexed_story_labels(entries, load, config, counts):
                    pass
                best = min(best, time.process_time() - started)
            # One time for all: nothing leaves the window, only the cap closes stories.
            evicted = getattr(counts, "evicted", 0)
            print(
                f"{size:<6} {cap or '-':<7} {best / size * 1e3:10.3f}  {counts.founded:7d} "
                f"{counts.founded - evicted:5d}  {evicted}"
            )


if __name__ == "__main__":
    main()
