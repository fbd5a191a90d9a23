"""Peak memory of `newsbeam run` over the issue #25 hostile set plus good articles.

Builds, in a temporary folder, the five hostile files at full size (a .txt.gz that
inflates to 2 GB, a .jsonl.gz whose first line is a 300 MB record and whose second is
a good article, JSON nested 100,000 deep, HTML nested 200,000 <div>s, a 50 MB plain
text file) next to N good articles, runs the batch job as a subprocess with the default
caps, and prints the peak resident memory of the job's process tree (sampled every
50 ms from /proc, plus the kernel's own high-water mark per process). The baseline is
the same run over the good articles alone, measured in the same invocation.

    .venv/bin/python benchmarks/bench_hostile_inputs.py [--good 21] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
# One definition of the hostile set, shared with tests/test_hostile_inputs.py.
from test_hostile_inputs import build_hostile_folder, good_article  # noqa: E402

sys.path.insert(0, str(REPO / "benchmarks"))
from process_tree import process_tree, status_kb  # noqa: E402


def run_job(inputs: list[Path], out: Path) -> dict:
    command = [sys.executable, "-m", "newsbeam.cli", "-q", "run", *map(str, inputs)]
    command += ["--output", str(out)]
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak_tree_kb = 0
    peak_process_kb: dict[int, int] = {}
    while process.poll() is None:
        pids = process_tree(process.pid)
        peak_tree_kb = max(peak_tree_kb, sum(status_kb(p, "VmRSS") for p in pids))
        for pid in pids:
            peak_process_kb[pid] = max(peak_process_kb.get(pid, 0), status_kb(pid, "VmHWM"))
        time.sleep(0.05)
    stdout, stderr = process.communicate()
    wall = time.monotonic() - started
    if process.returncode != 0:
        raise SystemExit(f"job failed ({process.returncode}): {stderr.decode()[-2000:]}")
    letters = [orjson.loads(line) for f in out.glob("dead-letter-*.jsonl") for line in f.open("rb")]
    return {
        "exit": process.returncode,
        "wall_s": round(wall, 1),
        "peak_tree_rss_mb": round(peak_tree_kb / 1024),
        "peak_process_hwm_mb": round(max(peak_process_kb.values(), default=0) / 1024),
        "summary": json.loads(stdout),
        "dead_letters": sorted(
            (letter["source"]["uri"].rsplit("/", 1)[1], letter["reason"]) for letter in letters
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--good", type=int, default=21, help="good articles (default 21)")
    parser.add_argument("--scale", type=float, default=1.0, help="size of the hostile files")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp:
        root = Path(tmp)
        good = root / "good" / "articles"
        good.mkdir(parents=True)
        for number in range(args.good):
            (good / f"article-{number}.json").write_bytes(orjson.dumps(good_article(number)))
        started = time.monotonic()
        expected = build_hostile_folder(root / "hostile", scale=args.scale)
        sizes = {p.name: p.stat().st_size for p in (root / "hostile").iterdir()}
        print(f"built the hostile set in {time.monotonic() - started:.1f} s: {sizes}")
        baseline = run_job([good], root / "out-good")
        hostile = run_job([good, root / "hostile"], root / "out-all")
    print(json.dumps({"baseline_good_only": baseline, "hostile_plus_good": hostile}, indent=1))
    wanted = sorted(expected.items())
    got = [tuple(item) for item in hostile["dead_letters"]]
    print(f"dead letters as expected: {got == wanted}")
    print(
        f"articles written: {hostile['summary']['articles_written']} "
        f"(good inputs: {args.good} + 1 in the hostile .jsonl.gz)"
    )
    print(
        f"peak RSS (process tree): {hostile['peak_tree_rss_mb']} MB with the hostile set, "
        f"{baseline['peak_tree_rss_mb']} MB without "
        f"(ratio {hostile['peak_tree_rss_mb'] / max(baseline['peak_tree_rss_mb'], 1):.2f}); "
        f"goal < 2048 MB"
    )


if __name__ == "__main__":
    main()
