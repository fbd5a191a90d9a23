"""Files per hour and mean file size of the streaming file sinks: rolling vs one per bundle.

Drives the sinks' cores (RollingFiles, and the per-bundle writing they replaced) with
generated article records arriving at RATE articles/s in bundles of BUNDLE articles (the
streaming job's bundles are small: a few articles each at a few hundred a second), on a
simulated clock, writing real files to a temporary folder:

- rolling: the default policy (128 MiB, 5 minutes) for MINUTES simulated minutes;
- per bundle: one file per bundle, as streaming sinks wrote before; measured on a sample
  of SAMPLE bundles (their size does not depend on how many there are).

    python benchmarks/bench_rolling_files.py [--format parquet|jsonl] [--rate 200]
        [--bundle 4] [--minutes 6] [--sample 300]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sinks import records as generated_records  # noqa: E402

from newsbeam.transforms.io.commit_gate import CommitGate  # noqa: E402
from newsbeam.transforms.io.files.jsonl_format import JsonLinesFormat  # noqa: E402
from newsbeam.transforms.io.files.rolling import RollingFiles, RollPolicy  # noqa: E402
from newsbeam.transforms.io.parquet.arrow_schema import ARTICLE_SCHEMA_FILE  # noqa: E402
from newsbeam.transforms.io.parquet.format import ParquetFormat  # noqa: E402
from newsbeam.transforms.io.parquet.sink import STREAMING_ROW_GROUP_BYTES  # noqa: E402


class SimulatedClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _format(name: str, streaming: bool):
    if name == "jsonl":
        return JsonLinesFormat()
    return ParquetFormat(
        ARTICLE_SCHEMA_FILE, row_group_bytes=STREAMING_ROW_GROUP_BYTES if streaming else None
    )


def rolling(records: list[dict], args: argparse.Namespace, folder: Path) -> dict:
    clock = SimulatedClock()
    files = RollingFiles(
        str(folder), "articles", _format(args.format, True), RollPolicy(), CommitGate(), clock=clock
    )
    seconds = args.minutes * 60
    total = int(args.rate * seconds)
    started = time.process_time()
    for start in range(0, total, args.bundle):
        clock.now = start / args.rate
        batch = [records[(start + i) % len(records)] for i in range(args.bundle)]
        files.write(batch)
        files.roll_due()  # every bundle's end
    clock.now = seconds
    files.roll_due()
    finals = [Path(p) for p in files.files_finalized]
    cpu = time.process_time() - started
    sizes = [p.stat().st_size for p in finals]
    return {
        "files": len(finals),
        "files_per_hour": len(finals) * 3600 / seconds,
        "mean_mb": sum(sizes) / len(sizes) / 1e6 if sizes else 0.0,
        "cpu_ms_per_article": cpu * 1000 / total,
        "open_at_end": files.open_files,
    }


def per_bundle(records: list[dict], args: argparse.Namespace, folder: Path) -> dict:
    file_format = _format(args.format, False)
    folder.mkdir(parents=True)
    sizes = []
    started = time.process_time()
    for number in range(args.sample):
        path = folder / f"bundle-{number}{file_format.suffix}"
        with path.open("wb") as stream:
            writer = file_format.open(stream)
            start = number * args.bundle
            writer.write([records[(start + i) % len(records)] for i in range(args.bundle)])
            writer.close()
        sizes.append(path.stat().st_size)
    cpu = time.process_time() - started
    bundles_per_hour = args.rate * 3600 / args.bundle
    return {
        "files_per_hour": bundles_per_hour,
        "mean_mb": sum(sizes) / len(sizes) / 1e6,
        "cpu_ms_per_article": cpu * 1000 / (args.sample * args.bundle),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--format", choices=["parquet", "jsonl"], default="parquet")
    parser.add_argument("--rate", type=float, default=200.0, help="articles per second")
    parser.add_argument("--bundle", type=int, default=4, help="articles per bundle")
    parser.add_argument("--minutes", type=float, default=6.0, help="simulated minutes")
    parser.add_argument("--sample", type=int, default=300, help="bundles for the old way")
    args = parser.parse_args()
    records = list(generated_records(2_000))
    with tempfile.TemporaryDirectory() as tmp:
        new = rolling(records, args, Path(tmp) / "rolling")
        old = per_bundle(records, args, Path(tmp) / "bundles")
    print(
        f"{args.format}, {args.rate:g} articles/s in bundles of {args.bundle}, "
        f"{args.minutes:g} simulated minutes"
    )
    print(f"{'':12} {'files/hour':>11} {'mean file':>10} {'CPU ms/article':>15}")
    print(
        f"{'per bundle':12} {old['files_per_hour']:>11,.0f} {old['mean_mb'] * 1000:>8.1f}KB "
        f"{old['cpu_ms_per_article']:>15.3f}"
    )
    print(
        f"{'rolling':12} {new['files_per_hour']:>11,.0f} {new['mean_mb']:>8.1f}MB "
        f"{new['cpu_ms_per_article']:>15.3f}"
    )
    files_ratio = new["files_per_hour"] / old["files_per_hour"]
    cpu_ratio = new["cpu_ms_per_article"] / old["cpu_ms_per_article"]
    print(f"ratio rolling/per-bundle: files/hour {files_ratio:.5f}, CPU/article {cpu_ratio:.2f}")


if __name__ == "__main__":
    main()
