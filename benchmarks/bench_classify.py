"""Classify stage: held-out accuracy of the default recipe, and its speed.

    python benchmarks/bench_classify.py [--articles 2000] [--skip-holdout] [--plain-split]
                                        [--cv K] [--compare-previous] [--baseline-model OLD.npz]
                                        [--full-pipeline N]

1. Trains the default model's recipe on 80% of shared/data/ag_news_train.jsonl
   (stratified, near-copies kept on one side, seed 8), scores the stored
   model on the other 20%: accuracy, macro-F1 (and per-label figures).
   --plain-split also reports a plain stratified random 80/20 split, --cv K
   grouped stratified K-fold cross-validation over the whole sample (lower
   variance than one 20% split), --compare-previous the same splits for the
   previous recipe (no capitalised-words group, 150 words read).
2. Speed of the shipped model: the pure core (articles/s, short AG News items
   and long sample articles), and the ClassifyTopics stage on the DirectRunner
   against the same pipeline without it (ratio, measured in the same run).
   --baseline-model also times the pure core with another model file (e.g.
   the previous default model) in the same run, for a speed ratio.
3. --full-pipeline N: `newsbeam run` (all stages) on N synthetic articles
   (benchmarks/corpus.py), once with the classify stage not calling the model,
   once with the shipped model (and the --baseline-model), time ratios.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import apache_beam as beam
import numpy as np

from newsbeam.schemas.article import Article, Source
from newsbeam.transforms.classify import ClassifyConfig, ClassifyTopics
from newsbeam.transforms.classify.default_model import (
    DEFAULT_TRAINING_CONFIG,
    SEED,
    ag_news_path,
    holdout_mask,
    load_ag_news,
    shared_dir,
)
from newsbeam.transforms.classify.evaluation import EvaluationReport, evaluate_model
from newsbeam.transforms.classify.holdout import near_duplicate_groups
from newsbeam.transforms.classify.model import TopicModel, load_model
from newsbeam.transforms.classify.topics import assign_topics
from newsbeam.transforms.classify.training import TrainingConfig, train_topic_model

REPO = Path(__file__).resolve().parents[1]


def held_out(examples, mask, config: TrainingConfig) -> tuple[EvaluationReport, float]:
    """Train on the rows outside mask, score the stored (float16) model on the rows in it."""
    train = [e for e, h in zip(examples, mask, strict=True) if not h]
    test = [e for e, h in zip(examples, mask, strict=True) if h]
    start = time.perf_counter()
    model = train_topic_model(train, config)
    seconds = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        model.save(Path(tmp) / "m.npz")
        model = TopicModel.load(Path(tmp) / "m.npz")
    return evaluate_model(model, test), seconds


def plain_split(examples) -> np.ndarray:
    """A plain stratified random 20% (near-copies may land on both sides)."""
    rng = np.random.default_rng(SEED)
    labels = np.array([e.labels[0] for e in examples])
    mask = np.zeros(len(examples), dtype=bool)
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        mask[rng.permutation(rows)[: round(0.2 * len(rows))]] = True
    return mask


def grouped_folds(examples, k: int) -> list[np.ndarray]:
    """k stratified folds, near-copies together: each group joins its label's smallest fold."""
    groups = near_duplicate_groups([e.text for e in examples])
    members: dict[int, list[int]] = {}
    for row, group in enumerate(groups.tolist()):
        members.setdefault(group, []).append(row)
    rng = np.random.default_rng(SEED)
    fold = np.zeros(len(examples), dtype=np.int64)
    for label in sorted({e.labels[0] for e in examples}):
        label_groups = sorted(
            g for g, rows in members.items() if examples[rows[0]].labels[0] == label
        )
        sizes = np.zeros(k, dtype=np.int64)
        for index in rng.permutation(len(label_groups)):
            rows = members[label_groups[index]]
            target = int(np.argmin(sizes))
            fold[rows] = target
            sizes[target] += len(rows)
    return [fold == f for f in range(k)]


def recipes(compare_previous: bool) -> dict[str, TrainingConfig]:
    chosen = {"default recipe": DEFAULT_TRAINING_CONFIG}
    if compare_previous:
        # The recipe before issue 8's accuracy round: no capitalised-words
        # group, 150 words read (same code otherwise).
        features = dataclasses.replace(
            DEFAULT_TRAINING_CONFIG.features, capitalised_weight=0.0, max_words=150
        )
        chosen["previous recipe"] = dataclasses.replace(DEFAULT_TRAINING_CONFIG, features=features)
    return chosen


def accuracy_figures(examples, args) -> None:
    splits = {"near-copies grouped, stratified 20%, seed 8": [holdout_mask(examples)]}
    if args.plain_split:
        splits["plain stratified random 20%, seed 8"] = [plain_split(examples)]
    if args.cv:
        splits[f"grouped {args.cv}-fold cross-validation, seed 8"] = grouped_folds(
            examples, args.cv
        )
    summary = []
    for recipe, config in recipes(args.compare_previous).items():
        for split, masks in splits.items():
            reports, seconds = zip(
                *(held_out(examples, mask, config) for mask in masks), strict=True
            )
            n = sum(r.examples for r in reports)
            accuracy = sum(r.accuracy * r.examples for r in reports) / n
            macro_f1 = float(np.mean([r.macro_f1 for r in reports]))
            summary.append((recipe, split, n, accuracy, macro_f1, max(seconds)))
            if len(reports) == 1 and recipe == "default recipe":
                print(f"\n## {recipe}, held-out ({split}): {n} held out,", end=" ")
                print(f"trained in {seconds[0]:.0f} s")
                print(reports[0].format_text())
    print("\n## accuracy summary (macro-F1: mean over folds)")
    print("| recipe | split | held out | accuracy | macro-F1 | training s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for recipe, split, n, accuracy, macro_f1, seconds in summary:
        print(f"| {recipe} | {split} | {n} | {accuracy:.4f} | {macro_f1:.4f} | {seconds:.0f} |")


def articles_for_speed(examples, n: int) -> dict[str, list[Article]]:
    def make(texts):
        return [
            Article(id=f"a{i}", source=Source("file", "bench", line=i + 1), raw="", text=t)
            for i, t in enumerate((texts * (n // max(len(texts), 1) + 1))[:n])
        ]

    sets = {"short (AG News items)": make([e.text for e in examples[:n]])}
    gold = shared_dir(REPO) / "seeds" / "gold.json"
    if gold.is_file():
        texts = [v["gold_text"] for v in json.loads(gold.read_text()).values()]
        sets["long (sample articles, ~550 words)"] = make(texts)
    return sets


def core_speed(articles: list[Article], model_path: Path | None = None) -> float:
    model = load_model(model_path)
    start = time.perf_counter()
    for i in range(0, len(articles), 256):
        assign_topics(model, articles[i : i + 256], threshold=0.3)
    return len(articles) / (time.perf_counter() - start)


def pipeline_seconds(articles: list[Article], with_classify: bool) -> float:
    start = time.perf_counter()
    with beam.Pipeline(runner="DirectRunner") as pipeline:
        stream = pipeline | beam.Create(articles) | beam.Map(lambda a: a.replace())
        if with_classify:
            stream = stream | ClassifyTopics(ClassifyConfig())
        _ = stream | beam.combiners.Count.Globally()
    return time.perf_counter() - start


def full_pipeline(n: int, baseline_model: Path | None) -> None:
    """`newsbeam run` on the synthetic corpus of bench_pipeline.py, with the model called or not.

    "model not called": the stage is in the chain but no language is
    selected for classification, so the model's cost is what the other runs add.
    """
    sys.path.insert(0, str(REPO / "benchmarks"))
    from corpus import articles as corpus_articles

    from newsbeam.pipelines.batch import run_batch
    from newsbeam.pipelines.config import BatchRunConfig, PipelineConfig

    runs = {"model not called": ClassifyConfig(languages=frozenset())}
    runs["shipped model"] = ClassifyConfig()
    if baseline_model:
        runs[f"{baseline_model.name}"] = ClassifyConfig(model_path=str(baseline_model))
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "articles.jsonl"
        with source.open("w", encoding="utf-8") as handle:
            for article in corpus_articles(n):
                handle.write(json.dumps(article) + "\n")
        seconds = {}
        for name, classify in runs.items():
            config = BatchRunConfig(
                inputs=(str(source),),
                output_dir=str(Path(tmp) / name.replace(" ", "_")),
                pipeline=PipelineConfig(classify=classify),
            )
            seconds[name] = run_batch(config, [str(source)])["wall_seconds"]
    print(f"\n## full pipeline (newsbeam run, DirectRunner, {n} synthetic articles)")
    base = seconds["model not called"]
    for name, value in seconds.items():
        print(f"{name}: {value:.1f} s ({n / value:,.0f} articles/s), time ratio {value / base:.3f}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--skip-holdout", action="store_true")
    parser.add_argument("--plain-split", action="store_true", help="also a plain random split")
    parser.add_argument("--cv", type=int, default=0, metavar="K", help="also grouped K-fold CV")
    parser.add_argument(
        "--full-pipeline",
        type=int,
        default=0,
        metavar="N",
        help="also time `newsbeam run` on N synthetic articles with and without the model",
    )
    parser.add_argument(
        "--compare-previous",
        action="store_true",
        help="also score the previous recipe (no capitalised words, 150 words) on the same splits",
    )
    parser.add_argument("--baseline-model", type=Path, help="also time this model's core")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    data = ag_news_path(REPO)
    if not data.is_file():
        print(f"error: {data} not found", file=sys.stderr)
        return 2
    examples = load_ag_news(data)
    if not args.skip_holdout:
        accuracy_figures(examples, args)

    print("\n## speed of the shipped model")
    for name, articles in articles_for_speed(examples, args.articles).items():
        core = core_speed(articles)
        base = pipeline_seconds(articles, with_classify=False)
        staged = pipeline_seconds(articles, with_classify=True)
        n = len(articles)
        print(
            f"{name}: core {core:,.0f} articles/s; DirectRunner {n} articles: "
            f"without stage {base:.2f} s ({n / base:,.0f}/s), "
            f"with stage {staged:.2f} s ({n / staged:,.0f}/s), ratio {staged / base:.2f}"
        )
        if args.baseline_model:
            old = core_speed(articles, args.baseline_model)
            print(
                f"{name}: core with {args.baseline_model.name} {old:,.0f} articles/s; "
                f"shipped / baseline speed {core / old:.2f}"
            )
    if args.full_pipeline:
        full_pipeline(args.full_pipeline, args.baseline_model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
