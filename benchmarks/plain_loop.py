"""The batch job as a plain Python loop over the project's own stage cores.

No Beam: read -> parse -> clean -> detect-language -> sketch -> global dedup
(transforms/dedup/batch_core.py) -> stories (the sequential core in event-time
order, as StoriesBatch) -> classify -> record -> JSON Lines, in one
process, with the same configuration objects and batch sizes the Beam stages
use. It is the baseline `bench_pipeline.py` measures the Beam runs against:
the stage work alone, the limit any runner can approach. Its records equal the
job's (the benchmark compares them); its memory holds every article, since a
speed baseline needs no more.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import orjson

from newsbeam.pipelines.config import PipelineConfig
from newsbeam.schemas.article import Article
from newsbeam.schemas.dead_letter import DeadLetter
from newsbeam.transforms.classify.model import load_model
from newsbeam.transforms.classify.topics import assign_topics
from newsbeam.transforms.clean.article_cleaner import open_article_cleaner
from newsbeam.transforms.dedup.batch_core import batch_labels
from newsbeam.transforms.dedup.labels import unique_label
from newsbeam.transforms.dedup.sketch import SKETCH_BUNDLE, build_sketches
from newsbeam.transforms.io.files.limits import ReadLimits
from newsbeam.transforms.io.files.reading import read_payloads
from newsbeam.transforms.language.detector import LanguageDetector
from newsbeam.transforms.language.labeling import label_articles
from newsbeam.transforms.parse import parse_payload
from newsbeam.transforms.story.transform import cluster_in_order, label_article, observe, pack

T = TypeVar("T")


def _batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def run_plain_loop(
    paths: list[str], output_dir: str, *, ingested_at: str, config: PipelineConfig | None = None
) -> dict[str, int]:
    """Writes articles.jsonl and dead-letters.jsonl under output_dir; returns counts."""
    config = config or PipelineConfig()
    dead: list[DeadLetter] = []
    cleaned: list[Article] = []
    with open_article_cleaner(config.clean, decisions=False) as cleaner:
        for path in paths:
            for item in read_payloads(path, limits=ReadLimits()):
                if isinstance(item, DeadLetter):
                    dead.append(item)
                    continue
                parsed = parse_payload(item, ingested_at=ingested_at)
                if isinstance(parsed, DeadLetter):
                    dead.append(parsed)
                    continue
                outcome = cleaner.clean(parsed)
                if outcome.dead_letter is not None:
                    dead.append(outcome.dead_letter)
                else:
                    assert outcome.article is not None
                    cleaned.append(outcome.article)

    detector = LanguageDetector(config.language)
    size = config.language.batch_size if detector.prefers_batches else 1
    articles = [a for batch in _batches(cleaned, size) for a, _ in label_articles(detector, batch)]
    del cleaned

    sketches = []
    for batch in _batches(articles, SKETCH_BUNDLE):  # as the sketch pass does
        items = [(a.id, a.text or "", a.published_at) for a in batch]
        sketches += build_sketches(items, config.dedup)
    articles = [
        a.replace(content_hash=s.content_hash) for a, s in zip(articles, sketches, strict=True)
    ]
    labels, _ = batch_labels(sketches, config.dedup)
    del sketches
    articles = [a.replace(duplicate=dict(labels.get(a.id) or unique_label())) for a in articles]

    if config.story is not None:
        observations = [pack(observe(article, config.story)) for article in articles]
        joined = dict(cluster_in_order(("", observations), config.story))
        del observations
        articles = [label_article(article, joined) for article in articles]

    model = load_model(config.classify.model_path)
    languages = config.classify.languages_for(model.languages)
    # Articles outside the model's languages keep `topics: []`, as in ClassifyTopics.
    chosen = [i for i, a in enumerate(articles) if languages is None or a.language in languages]
    for batch in _batches(chosen, config.classify.batch_size):
        classified = assign_topics(
            model, [articles[i] for i in batch], threshold=config.classify.threshold
        )
        for index, (article, _) in zip(batch, classified, strict=True):
            articles[index] = article

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    version = config.pipeline_version
    written = 0
    with open(out / "articles.jsonl", "wb") as handle:
        for article in articles:
            handle.write(orjson.dumps(article.to_record(pipeline_version=version)) + b"\n")
            written += 1
    with open(out / "dead-letters.jsonl", "wb") as handle:
        for letter in dead:
            handle.write(orjson.dumps(letter.to_record(pipeline_version=version)) + b"\n")
    return {"articles": written, "dead_letters": len(dead)}
