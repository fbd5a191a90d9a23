"""ProcessArticles: the stage chain shared by the batch and streaming jobs."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.metrics import Metrics

from newsbeam.pipelines.config import PipelineConfig
from newsbeam.schemas.article import Article
from newsbeam.schemas.dead_letter import DeadLetter
from newsbeam.transforms.classify.transform import ClassifyTopics
from newsbeam.transforms.clean.transform import CleanArticles
from newsbeam.transforms.dedup.batch import DeduplicateBatch
from newsbeam.transforms.dedup.stream import DeduplicateStream
from newsbeam.transforms.dedup.window_store import WindowStoreFactory
from newsbeam.transforms.language.transform import DetectLanguage, KeepLanguages
from newsbeam.transforms.story.transform import StoriesBatch, StoriesStream


class _ToRecordFn(beam.DoFn):
    def __init__(self, pipeline_version: str) -> None:
        self._version = pipeline_version
        self._written = Metrics.counter("newsbeam.write", "articles")

    def process(self, article: Article):
        self._written.inc()
        yield article.to_record(pipeline_version=self._version)


class DeadLetterToRecordFn(beam.DoFn):
    """DeadLetter -> record dict, counted as written (shared by the batch and stream jobs)."""

    def __init__(self, pipeline_version: str) -> None:
        self._version = pipeline_version
        self._written = Metrics.counter("newsbeam.write", "dead_letters")

    def process(self, letter: DeadLetter):
        self._written.inc()
        yield letter.to_record(pipeline_version=self._version)


class _DropDuplicatesFn(beam.DoFn):
    """Keeps representatives (status unique); counts what it drops per status."""

    def process(self, article: Article):
        status = article.duplicate["status"]
        if status == "unique":
            yield article
        else:
            Metrics.counter("newsbeam.filtered_duplicate", status).inc()


class ProcessArticles(beam.PTransform):
    """Articles in; `articles` (record dicts) and `dead_letters` (dicts) out; in
    streaming also `dedup_dead_letters`, `story_dead_letters` (unless stories are
    off) and `classify_dead_letters` (see expand).

    `dead_letters_in` carries failures from before this chain (read, parse) so
    that every failure leaves through one output. `dedup_store` and `story_store`
    (streaming only) keep the dedup window and the stories durable across restarts.
    The local batch run's label pass (pipelines/local_batch.py) gives articles
    already cleaned and labelled with their language (`prepared`), a `dedup`
    transform that applies labels found beforehand in place of DeduplicateBatch
    and a `stories` one in place of StoriesBatch (the articles carry their story).
    """

    def __init__(
        self,
        config: PipelineConfig,
        *,
        streaming: bool = False,
        dead_letters_in: beam.PCollection | None = None,
        dedup_store: WindowStoreFactory | None = None,
        story_store: WindowStoreFactory | None = None,
        prepared: bool = False,
        dedup: beam.PTransform | None = None,
        stories: beam.PTransform | None = None,
    ) -> None:
        super().__init__()
        self._config = config
        self._streaming = streaming
        self._dead_letters_in = dead_letters_in
        self._dedup_store = dedup_store
        self._story_store = story_store
        self._prepared = prepared
        self._dedup = dedup
        self._stories = stories

    def expand(self, articles: beam.PCollection) -> dict[str, beam.PCollection]:
        dead: list[beam.PCollection] = []
        if self._dead_letters_in is not None:
            dead.append(self._dead_letters_in)

        if not self._prepared:
            cleaned = articles | "Clean" >> CleanArticles(self._config.clean)
            dead.append(cleaned.dead_letter)
            # Language is detected on the cleaned body, not on site furniture.
            articles = cleaned.main | "DetectLanguage" >> DetectLanguage(self._config.language)
        # Every stage guards each record: one that makes it fail is a dead letter.
        if self._dedup is not None:
            deduplicated = articles | "Deduplicate" >> self._dedup
        elif self._streaming:
            # Keyed state with lazy expiry: no GroupByKey after an unbounded source.
            deduplicated = articles | "Deduplicate" >> DeduplicateStream(
                self._config.dedup, store=self._dedup_store, with_dead_letters=True
            )
        else:
            deduplicated = articles | "Deduplicate" >> DeduplicateBatch(
                self._config.dedup, with_dead_letters=True
            )
        articles = deduplicated["main"]
        guard_dead = {"dedup": deduplicated["dead_letter"]}
        # Stories right after dedup: they need its labels (a duplicate takes its
        # representative's story), and topics are no input to them.
        if self._config.story is not None:
            if self._stories is not None:
                stories_stage = self._stories
            elif self._streaming:
                stories_stage = StoriesStream(
                    self._config.story, store=self._story_store, with_dead_letters=True
                )
            else:
                stories_stage = StoriesBatch(self._config.story, with_dead_letters=True)
            storied = articles | "Stories" >> stories_stage
            articles = storied["main"]
            guard_dead["story"] = storied["dead_letter"]
        classified = articles | "ClassifyTopics" >> ClassifyTopics(
            self._config.classify, with_dead_letters=True
        )
        articles = classified["main"]
        guard_dead["classify"] = classified["dead_letter"]
        if not self._streaming:
            dead.extend(guard_dead.values())
        if self._config.languages is not None:
            articles = articles | "KeepLanguages" >> KeepLanguages(self._config.languages)
        if self._config.drop_duplicates:
            articles = articles | "DropDuplicates" >> beam.ParDo(_DropDuplicatesFn())

        version = self._config.pipeline_version
        records = articles | "ToRecord" >> beam.ParDo(_ToRecordFn(version))
        dead_letters = (
            dead or [articles.pipeline | "NoDeadLetters" >> beam.Create([])]
        ) | "AllDeadLetters" >> beam.Flatten()
        dead_records = dead_letters | "DeadLetterToRecord" >> beam.ParDo(
            DeadLetterToRecordFn(version)
        )
        outputs = {"articles": records, "dead_letters": dead_records}
        if self._streaming:
            # A multi-input Flatten would split the fused stage that the Kafka offset
            # commits rely on (pipelines/stream.py): these leave as their own outputs,
            # `<stage>_dead_letters`, which the stream job writes to the DLQ topic.
            for stage, letters in guard_dead.items():
                outputs[f"{stage}_dead_letters"] = letters | f"{stage}DeadLetterToRecord" >> (
                    beam.ParDo(DeadLetterToRecordFn(version))
                )
        return outputs
