"""The batch job against the plain loop over its stage cores and bare Beam, in one run.

    python benchmarks/bench_pipeline.py [--articles 20000] [--corpus bench|duplicates]
        [--files 1] [--repeat 1] [--runs loop,bare,run1,run2] [--without-clean]
        [--without-classify] [--without-stories] [--classify-cpu] [--baseline REF]
        [--dedup-baseline REF]

Generates N articles into `--files` .jsonl files (benchmarks/corpus.py; or with
`--corpus duplicates` benchmarks/synthetic_news.py: ~31 % near and ~2 % exact
copies, shuffled so that copies are spread over the whole corpus and over every
file), then runs, each in its own process and one after the other:

- `loop`: the plain Python loop over the project's stage cores (plain_loop.py), the
  baseline every ratio is against: the stage work, with no runner at all;
- `bare`: a bare Beam pipeline (read lines -> orjson parse -> one Map -> write);
- `run1`, `run2`: `newsbeam run` with `--workers 1` and `--workers 2` (on the local
  runner: two passes, pipelines/local_batch.py);
- `graph1`, `graph2`: the one-graph job on the local runner, as `newsbeam run` ran
  before issue #21, with 1 and 2 workers.

For each: articles/s, wall and CPU seconds (the process and its workers), peak
resident memory of the process tree (sampled every 0.1 s), the ratio of the loop's
wall time to the run's (> 1 = faster than the loop), and whether its article
records equal the loop's (every field but `ingested_at`). `--repeat N` alternates
the runs N times and keeps each one's fastest (the machine is shared).

Diagnostics (each adds a run of the job with one worker): `--without-clean` cleaning
a pass-through; `--without-classify` classify passing articles through;
`--without-stories` the story stage off (`--no-stories`); for these two the stage's
share of `run1` is printed (1 - without / with, wall and CPU seconds, the fastest
round of each); `--baseline REF` the TextCleaner of git commit REF;
`--dedup-baseline REF` DeduplicateBatch of commit REF (the last two only where the job
still builds the one-graph pipeline, i.e. with `--runner-args` naming another runner).
`--classify-cpu` (no extra run) times the classify DoFn's own work inside `run1` (its
process and finish_bundle, the stages after it excluded) and prints its share of that
run's CPU: a figure from within one run, which the run-to-run noise of a shared
machine does not blur as it does the with/without difference.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import types
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from process_tree import tree_rss_bytes  # noqa: E402

INGESTED_AT = "2026-12-06T09:00:00.000Z"


# -- the runs (in a child process) ----------------------------------------------------
def _child(run: str, paths: list[str], output: str, options: dict) -> None:
    import logging

    logging.basicConfig(level=logging.WARNING)
    # In process only with one worker: the label pass then runs in this process.
    classify_cpu = _time_classify_dofn() if options.get("classify_cpu") and run == "run1" else None
    started_cpu = time.process_time()
    started = time.perf_counter()
    if run == "loop":
        from plain_loop import run_plain_loop

        run_plain_loop(paths, output, ingested_at=INGESTED_AT)
    elif run == "bare":
        _bare_baseline(paths, output)
    else:
        _newsbeam_run(run, paths, output, options)
    wall = time.perf_counter() - started
    figures = {"wall": wall, "cpu": time.process_time() - started_cpu}
    if classify_cpu is not None:
        figures["classify_cpu"] = classify_cpu[0]
    print(json.dumps(figures))


def _time_classify_dofn() -> list[float]:
    """Adds the CPU seconds of the classify DoFn's own work (process, finish_bundle; the
    stages after it excluded) to the returned list's one item, in this process."""
    from newsbeam.transforms.classify import transform

    spent = [0.0]
    fn = transform._ClassifyBatchesFn
    process, finish_bundle = fn.process, fn.finish_bundle

    def timed_process(self, article, *args, **kwargs):
        started = time.process_time()
        outputs = list(process(self, article, *args, **kwargs))  # before they go downstream
        spent[0] += time.process_time() - started
        return outputs

    def timed_finish_bundle(self):
        started = time.process_time()
        outputs = list(finish_bundle(self))
        spent[0] += time.process_time() - started
        return outputs

    timed_process.__signature__ = inspect.signature(process)  # Beam reads the params
    fn.process, fn.finish_bundle = timed_process, timed_finish_bundle
    return spent


def _bare_baseline(paths: list[str], output: str) -> None:
    import apache_beam as beam

    with beam.Pipeline() as pipeline:
        (
            pipeline
            | beam.Create(paths)
            | beam.io.ReadAllFromText()
            | beam.Map(orjson.loads)
            | beam.Map(lambda a: {**a, "word_count": len(a["text"].split())})
            | beam.Map(orjson.dumps)
            | beam.io.WriteToText(os.path.join(output, "bare"), coder=beam.coders.BytesCoder())
        )


def _newsbeam_run(run: str, paths: list[str], output: str, options: dict) -> None:
    from newsbeam.pipelines import batch, stages
    from newsbeam.pipelines.config import BatchRunConfig, PipelineConfig
    from newsbeam.transforms.classify import ClassifyConfig

    pipeline = PipelineConfig()
    if run == "without-classify":
        pipeline = PipelineConfig(classify=ClassifyConfig(languages=frozenset({"none"})))
    if run == "without-stories":
        pipeline = PipelineConfig(story=None)
    if run == "without-clean":
        from newsbeam.transforms.clean.article_cleaner import ArticleCleaner, CleanOutcome

        ArticleCleaner.clean = lambda self, article: CleanOutcome(article=article)
    if run == "old-cleaner":
        from cleaner_at_commit import baseline_text_cleaner

        from newsbeam.transforms.clean import article_cleaner

        old = baseline_text_cleaner(options["baseline"], Path(tempfile.mkdtemp()))

        class _OldTextCleaner:
            def __init__(self, cleaner: object) -> None:
                self._cleaner = cleaner

            def clean(self, text: str, *, title: str | None = None, decisions: bool = True):
                return self._cleaner.clean(text, title=title)

        article_cleaner.TextCleaner = lambda rules: _OldTextCleaner(old)
    if run == "old-dedup":
        from cleaner_at_commit import _git

        ref = options["dedup_baseline"]
        module = types.ModuleType("baseline_dedup_batch")
        source = _git("show", f"{ref}:transforms/dedup/batch.py")
        exec(compile(source, f"{ref}:transforms/dedup/batch.py", "exec"), module.__dict__)
        sys.modules[module.__name__] = module  # so Beam can pickle its functions by reference
        stages.DeduplicateBatch = module.DeduplicateBatch
    workers = 2 if run in ("run2", "graph2") else 1
    config = BatchRunConfig(
        inputs=tuple(paths),
        output_dir=output,
        pipeline=pipeline,
        workers=workers,
        # graph1/graph2: the one-graph job on the local runner, as before the two passes.
        two_passes=not run.startswith("graph") and run != "old-dedup",
        beam_args=tuple(options.get("runner_args") or ()),
    )
    batch.run_batch(config, paths)


# -- measuring (in the parent) ----------------------------------------------------------
def measure(run: str, paths: list[str], output: str, options: dict) -> dict | None:
    """Runs one child; its wall/CPU seconds, peak RSS of its process tree."""
    command = [sys.executable, __file__, "--child", run, "--output", output, *paths]
    command += ["--child-options", json.dumps(options)]
    # The runner's workers log a lot: kept in a file next to the output.
    log = open(f"{output}.log", "w")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_bytes(process.pid))
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    before = os.times()
    stdout, _ = process.communicate()
    after = os.times()
    load = os.getloadavg()[0]
    done.set()
    sampler.join()
    log.close()
    if process.returncode:
        print(f"  run {run} FAILED (exit code {process.returncode}): see {output}.log")
        return None
    figures = json.loads(stdout.strip().splitlines()[-1])
    # The child and every worker it waited for.
    figures["cpu_tree"] = (after.children_user + after.children_system) - (
        before.children_user + before.children_system
    )
    figures["peak_rss"] = peak
    figures["load"] = load  # 1-minute load average at the end: others' work shows here
    return figures


def article_records(output: str) -> list[bytes]:
    """Every article record under `output`, without `ingested_at`, sorted."""
    records = []
    for path in sorted(Path(output).glob("articles*.jsonl")):
        with open(path, "rb") as handle:
            for line in handle:
                record = orjson.loads(line)
                record.pop("ingested_at", None)
                records.append(orjson.dumps(record, option=orjson.OPT_SORT_KEYS))
    records.sort()
    return records


def corpus_rows(kind: str, count: int) -> list[dict]:
    """The generated articles of `--corpus KIND` as .jsonl rows."""
    if kind == "bench":
        from corpus import articles

        return list(articles(count))
    from synthetic_news import NewsGenerator

    rows = [
        {"id": a.id, "text": a.text, "published_at": a.published_at, "title": None}
        for a in NewsGenerator(7).generate(count)
    ]
    # Copies follow their originals in the generator's order: spread them over
    # the corpus (and so over every file).
    random.Random(11).shuffle(rows)
    return rows


def write_corpus(kind: str, count: int, files: int, folder: Path) -> list[str]:
    rows = corpus_rows(kind, count)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"articles-{number:03d}.jsonl" for number in range(files)]
    per_file = -(-len(rows) // files)
    for number, path in enumerate(paths):
        with open(path, "wb") as handle:
            for row in rows[number * per_file : (number + 1) * per_file]:
                handle.write(orjson.dumps({k: v for k, v in row.items() if v is not None}))
                handle.write(b"\n")
    return [str(path) for path in paths]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--corpus", choices=("bench", "duplicates"), default="bench")
    parser.add_argument("--files", type=int, default=1, help="split the corpus into N files")
    parser.add_argument("--repeat", type=int, default=1, help="alternate the runs N times")
    parser.add_argument("--runs", default="loop,bare,run1,run2", help="which runs, in order")
    parser.add_argument("--without-clean", action="store_true")
    parser.add_argument("--without-classify", action="store_true")
    parser.add_argument("--without-stories", action="store_true")
    parser.add_argument("--classify-cpu", action="store_true")
    parser.add_argument("--baseline", metavar="REF")
    parser.add_argument("--dedup-baseline", metavar="REF")
    parser.add_argument("--runner-args", nargs="*", default=[], help="Beam options for runs")
    parser.add_argument("--keep", metavar="DIR", help="write corpus and outputs here, keep them")
    parser.add_argument(
        "--inputs",
        metavar="DIR",
        help="use the .jsonl files already in DIR (written by an earlier run's --keep, "
        "DIR/corpus) instead of generating; --articles must say how many they hold",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-options", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    options = {
        "baseline": args.baseline,
        "dedup_baseline": args.dedup_baseline,
        "runner_args": args.runner_args,
        "classify_cpu": args.classify_cpu,
    }
    if args.child:
        _child(args.child, args.paths, args.output, json.loads(args.child_options))
        return

    runs = [run for run in args.runs.split(",") if run]
    runs += [
        name
        for name, wanted in (
            ("without-clean", args.without_clean),
            ("without-classify", args.without_classify),
            ("without-stories", args.without_stories),
            ("old-cleaner", args.baseline),
            ("old-dedup", args.dedup_baseline),
        )
        if wanted
    ]
    labels = {
        "loop": "plain loop over the stage cores",
        "bare": "bare Beam (read -> parse -> write)",
        "run1": "newsbeam run --workers 1",
        "run2": "newsbeam run --workers 2",
        "graph1": "one-graph job, 1 worker (before #21)",
        "graph2": "one-graph job, 2 workers (before #21)",
        "without-clean": "newsbeam run, cleaning a pass-through",
        "without-classify": "newsbeam run, classify a pass-through",
        "without-stories": "newsbeam run --workers 1 --no-stories",
        "old-cleaner": f"newsbeam run, TextCleaner at {args.baseline}",
        "old-dedup": f"newsbeam run, DeduplicateBatch at {args.dedup_baseline}",
    }
    holder = None if args.keep else tempfile.TemporaryDirectory()
    folder = Path(args.keep or holder.name)
    folder.mkdir(parents=True, exist_ok=True)
    if args.inputs:
        paths = sorted(str(p) for p in Path(args.inputs).glob("*.jsonl"))
    else:
        paths = write_corpus(args.corpus, args.articles, args.files, folder / "corpus")
    size_mb = sum(Path(p).stat().st_size for p in paths) / 1e6
    print(
        f"corpus: {args.articles} articles ({args.corpus}), {args.files} file(s), {size_mb:.1f} MB"
    )
    best: dict[str, dict] = {}
    outputs: dict[str, str] = {}
    for attempt in range(args.repeat):
        for run in runs:
            output = str(folder / f"{run}-{attempt}")
            figures = measure(run, paths, output, options)
            if figures is None:
                continue
            print(
                f"  round {attempt + 1} {run}: {figures['wall']:.1f} s, "
                f"peak RSS {figures['peak_rss'] / 1e9:.2f} GB, load average {figures['load']:.1f}",
                flush=True,
            )
            if run not in best or figures["wall"] < best[run]["wall"]:
                best[run] = figures
            outputs[run] = output
    if not best:  # every run failed: nothing to compare
        raise SystemExit(1)
    reference = article_records(outputs["loop"]) if "loop" in outputs else None
    base = best.get("loop") or next(iter(best.values()))
    print(f"{'run':<44} {'articles/s':>10} {'wall s':>7} {'CPU s':>7} {'peak RSS':>9}  ratio")
    for run, figures in best.items():
        same = ""
        if reference is not None and run not in ("loop", "bare", "without-stories"):
            records = article_records(outputs[run])
            equal = sum(a == b for a, b in zip(records, reference, strict=False))
            same = f"  records identical to the loop's: {equal:,}/{len(reference):,}"
            if len(records) != len(reference):
                same += f" (it wrote {len(records):,})"
        print(
            f"{labels[run]:<44} {args.articles / figures['wall']:10.0f} {figures['wall']:7.1f} "
            f"{figures['cpu_tree']:7.1f} {figures['peak_rss'] / 1e9:7.2f} GB"
            f"  {base['wall'] / figures['wall']:.2f}x{same}"
        )
    for stage, off_run in (("story", "without-stories"), ("classify", "without-classify")):
        if "run1" in best and off_run in best:
            full, off = best["run1"], best[off_run]
            print(
                f"{stage} stage's share of `newsbeam run --workers 1`: "
                f"wall {1 - off['wall'] / full['wall']:.0%}, "
                f"CPU {1 - off['cpu_tree'] / full['cpu_tree']:.0%}"
            )
    if "run1" in best and "classify_cpu" in best["run1"]:
        full = best["run1"]
        spent = full["classify_cpu"]
        print(
            f"classify DoFn's own CPU inside `newsbeam run --workers 1`: {spent:.2f} s, "
            f"{spent / full['cpu_tree']:.1%} of its CPU, {spent / args.articles * 1e3:.3f} "
            "ms/article"
        )
    if holder is not None:
        holder.cleanup()


if __name__ == "__main__":
    main()
