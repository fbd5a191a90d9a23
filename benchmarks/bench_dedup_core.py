"""The local batch run's dedup step on its own, without Beam: `batch_core`'s
`indexed_batch_labels` over sketches spilled to files the way the sketch pass
writes them, now against transforms/dedup at a git commit, in alternating rounds.

    python benchmarks/bench_dedup_core.py --before REF [--articles 50000]
        [--corpus bench|duplicates] [--repeat 2]

Articles are `bench_pipeline.py`'s generated corpora; each is sketched once (by
today's code: the sketch format of REF must be the same). CPU seconds of the
driver's whole dedup step (index, candidate pairs, verification, labels) with the
sketches loaded back from the spill files, best of the rounds, and the ratio
measured in the same run; labels and counters of both must be equal (the script
stops otherwise). Then the peak memory each allocates (tracemalloc, separate runs).
"""

from __future__ import annotations

import argparse
import importlib
import pickle
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_dedup import dedup_package_at  # noqa: E402
from bench_pipeline import corpus_rows  # noqa: E402

from newsbeam.pipelines.local_batch import SpilledObjects, spilled_with_places  # noqa: E402
from newsbeam.transforms.dedup import batch_core  # noqa: E402
from newsbeam.transforms.dedup.config import DedupConfig  # noqa: E402
from newsbeam.transforms.dedup.sketch import SKETCH_BUNDLE, build_sketches  # noqa: E402

SPILL_FILES = 4


def spill_sketches(rows: list[dict], config: DedupConfig, folder: Path) -> list[str]:
    """The corpus's sketches in SPILL_FILES pickle files, as the sketch pass spills them."""
    paths = [str(folder / f"sketches-{n}.pickle") for n in range(SPILL_FILES)]
    per_file = -(-len(rows) // SPILL_FILES)
    for number, path in enumerate(paths):
        part = rows[number * per_file : (number + 1) * per_file]
        with open(path, "wb") as handle:
            for start in range(0, len(part), SKETCH_BUNDLE):
                items = [
                    (row["id"], row["text"], row.get("published_at"))
                    for row in part[start : start + SKETCH_BUNDLE]
                ]
                for sketch in build_sketches(items, config):
                    pickle.dump(sketch, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return paths


def driver_dedup(core, paths: list[str], config: DedupConfig) -> tuple[float, dict, dict]:
    """CPU seconds, labels and counters of `core.indexed_batch_labels` on the spill files."""
    loader = SpilledObjects(paths)
    started = time.process_time()
    try:
        labels, stats = core.indexed_batch_labels(spilled_with_places(paths), loader, config)
    finally:
        loader.close()
    return time.process_time() - started, labels, stats.counters()


def driver_peak(core, paths: list[str], config: DedupConfig) -> float:
    """Peak memory (MB) that `core.indexed_batch_labels` allocates (tracemalloc, which
    numpy reports to), the index included: its own run, as tracing slows it down."""
    tracemalloc.start()
    try:
        driver_dedup(core, paths, config)
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", metavar="REF", required=True)
    parser.add_argument("--articles", type=int, default=50_000)
    parser.add_argument("--corpus", choices=["bench", "duplicates"], default="bench")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    config = DedupConfig()
    with tempfile.TemporaryDirectory(prefix="bench-dedup-core-") as scratch:
        folder = Path(scratch)
        package = dedup_package_at(args.before, folder)
        before = importlib.import_module(f"{package.__name__}.batch_core")
        paths = spill_sketches(corpus_rows(args.corpus, args.articles), config, folder)
        seconds: dict[str, list[float]] = {"now": [], "before": []}
        results = {}
        for _ in range(args.repeat):
            for name, core in (("now", batch_core), ("before", before)):
                cpu, labels, counters = driver_dedup(core, paths, config)
                seconds[name].append(cpu)
                results[name] = (labels, counters)
        if results["now"] != results["before"]:
            sys.exit("the two dedup cores gave different labels or counters")
        peaks = {"now": driver_peak(batch_core, paths, config)}
        peaks["before"] = driver_peak(before, paths, config)
    now, then = min(seconds["now"]), min(seconds["before"])
    labels, counters = results["now"]
    print(f"{args.articles} articles ({args.corpus}), {len(labels)} with a duplicate, {counters}")
    print(f"driver dedup CPU s, best of {args.repeat}: now {now:.2f}, at {args.before} {then:.2f}")
    print(f"now / before {now / then:.2f}  (labels and counters identical)")
    print(
        f"peak memory of the step (tracemalloc): now {peaks['now']:.0f} MB, "
        f"at {args.before} {peaks['before']:.0f} MB"
    )


if __name__ == "__main__":
    main()
