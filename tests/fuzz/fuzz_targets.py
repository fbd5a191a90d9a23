"""Coverage-guided fuzz targets (atheris / libFuzzer) for the code that reads untrusted input.

    .venv/bin/python tests/fuzz/fuzz_targets.py TARGET [libFuzzer options] [CORPUS_DIR...]

TARGET is one of TARGETS below. Each target feeds arbitrary bytes to one decoder and
checks its contract: it returns (articles, payloads or dead letters with a reason and
stage) and never raises. A crash or an input slower than -timeout is a finding;
libFuzzer writes it to crash-*/timeout-* and it becomes a regression test in
tests/test_fuzz.py. tests/test_fuzz.py runs every target for a bounded time in CI;
the seed corpus is tests/fuzz/corpus/<target>/. `sketch` is differential: the batch
sketch of a bundle (its own numpy token hash) must equal each text's own sketch
(90 s, 145,000 inputs, no difference when it was added). `story_runs` is differential
too: the batch driver's stories (articles weighed in runs with numpy) must equal the
one-by-one core's.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["newsbeam", "charset_normalizer"]):
    import numpy as np
    import orjson

    from newsbeam.schemas.article import Article, Source
    from newsbeam.schemas.dead_letter import DeadLetter
    from newsbeam.transforms.clean.rules import load_rules
    from newsbeam.transforms.clean.text_cleaner import TextCleaner
    from newsbeam.transforms.dedup.config import DedupConfig
    from newsbeam.transforms.dedup.sketch import build_sketch, build_sketches
    from newsbeam.transforms.io.files.decoding import decode_bytes
    from newsbeam.transforms.io.files.limits import ReadLimits
    from newsbeam.transforms.io.files.reading import Payload, read_payloads
    from newsbeam.transforms.io.kafka.message import KafkaMessage, decode_message
    from newsbeam.transforms.parse import parse_json_object, parse_payload
    from newsbeam.transforms.story import batch_core
    from newsbeam.transforms.story.clusterer import StoryIndex
    from newsbeam.transforms.story.config import StoryConfig
    from newsbeam.transforms.story.order import order_key

# Small caps so the fuzzer also crosses them often.
LIMITS = ReadLimits(max_file_bytes=64 * 1024, max_article_bytes=8 * 1024)
SOURCE = Source(kind="file", uri="file:///fuzz/input")
_SUFFIXES = (".txt", ".html", ".json", ".jsonl", ".txt.gz", ".jsonl.gz", ".json.gz", ".md")
_CONTENT_TYPES = (
    None,
    b"application/json",
    b"text/html; charset=iso-8859-1",
    b"text/plain; charset=utf-16",
    b"text/plain; charset=nope",
)


def _check(item: object) -> None:
    if isinstance(item, DeadLetter):
        assert item.reason and item.stage and item.error, item
        item.to_record(pipeline_version="fuzz")  # must be encodable as a record
    else:
        assert isinstance(item, (Payload, Article)), type(item)


def decoding(data: bytes) -> None:
    decoded = decode_bytes(data)
    assert (decoded.text is None) == (decoded.error is not None)


def files(data: bytes) -> None:
    """The JSON / JSON Lines / HTML / text readers, plain and gzipped, under caps."""
    if not data:
        return
    suffix = _SUFFIXES[data[0] % len(_SUFFIXES)]
    for item in read_payloads(f"/fuzz/input{suffix}", data[1:], limits=LIMITS):
        _check(item)
        if isinstance(item, Payload):
            _check(parse_payload(item, ingested_at=None))


def parse(data: bytes) -> None:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return
    if isinstance(value, dict):
        _check(parse_json_object(value, SOURCE, data.decode("utf-8", "replace")))


def kafka(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    content_type = _CONTENT_TYPES[fdp.ConsumeIntInRange(0, len(_CONTENT_TYPES) - 1)]
    key = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 8)) or None
    value = fdp.ConsumeBytes(fdp.remaining_bytes()) if fdp.ConsumeBool() else None
    headers = (("content-type", content_type),) if content_type else ()
    message = KafkaMessage("raw", 0, 1, 1_700_000_000_000, key, value, headers)
    _check(decode_message(message, max_message_bytes=8 * 1024))


_CLEANER: TextCleaner | None = None


def cleaner(data: bytes) -> None:
    global _CLEANER
    if _CLEANER is None:
        _CLEANER = TextCleaner(load_rules())
    fdp = atheris.FuzzedDataProvider(data)
    title = fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 40)) or None
    text = fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes())
    result = _CLEANER.clean(text, title=title)
    assert isinstance(result.text, str)
    assert all(count > 0 for count in result.removed.values())


# The default and a configuration whose size thresholds short texts cross.
_SKETCH_CONFIGS = (
    DedupConfig(),
    DedupConfig(
        shingle_size=3,
        token_prefix=0,
        band_max_shingles=12,
        contained_min_shingles=6,
        near_min_words=3,
        lead_shingles=4,
        lead_min_words=3,
        anchor_rate=2,
        max_anchors=5,
    ),
)
_SKETCH_PIECES = (" ", "  ", "\n", "\n\n", "\n \n", "\u00a0", "\u200b", "\x00", "0l5 ", "-")


def sketch(data: bytes) -> None:
    """Differential: a bundle's sketches (numpy token hash, shared arrays) equal
    each text's own `build_sketch`, for any text, surrogates and NULs included."""
    fdp = atheris.FuzzedDataProvider(data)
    config = _SKETCH_CONFIGS[fdp.ConsumeIntInRange(0, len(_SKETCH_CONFIGS) - 1)]
    items = []
    for number in range(fdp.ConsumeIntInRange(1, 6)):
        parts = []
        for _ in range(fdp.ConsumeIntInRange(0, 12)):
            if fdp.ConsumeBool():
                parts.append(_SKETCH_PIECES[fdp.ConsumeIntInRange(0, len(_SKETCH_PIECES) - 1)])
            parts.append(fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 40)))
        items.append((f"a{number}", "".join(parts), None))
    bundled = build_sketches(items, config)
    alone = [build_sketch(article_id, text, None, config) for article_id, text, _ in items]
    assert bundled == alone, items


_STORY_CONFIGS = (
    StoryConfig(),
    StoryConfig(max_vocabulary=8, window_days=0.01, max_article_terms=3, max_story_terms=2),
    StoryConfig(threshold=0.01, max_candidates=1, query_terms=1),
)
_STORY_TERMS = ("a", "b", "c", "d", "e", "f", "g", "h", "1999", "2024")


def story_runs(data: bytes) -> None:
    """Differential: the batch driver's labels (articles weighed in runs of 1-8) equal
    the one-by-one core's, for any sequence of replays, duplicates, undated articles
    and finite term weights (ties, zeros, overflow to infinity included)."""
    fdp = atheris.FuzzedDataProvider(data)
    config = _STORY_CONFIGS[fdp.ConsumeIntInRange(0, len(_STORY_CONFIGS) - 1)]
    batch_core.WEIGHING_RUN = fdp.ConsumeIntInRange(1, 8)
    articles = []
    for _ in range(fdp.ConsumeIntInRange(1, 24)):
        article_id = f"a{fdp.ConsumeIntInRange(0, 15)}"  # repeats are replays
        time = None if fdp.ConsumeIntInRange(0, 9) == 0 else fdp.ConsumeIntInRange(0, 40) * 900.0
        terms = {}
        for _ in range(fdp.ConsumeIntInRange(0, 6)):
            term = _STORY_TERMS[fdp.ConsumeIntInRange(0, len(_STORY_TERMS) - 1)]
            terms[term] = abs(fdp.ConsumeRegularFloat()) if fdp.ConsumeBool() else 1.0
        representative = f"a{fdp.ConsumeIntInRange(0, 15)}" if fdp.ConsumeBool() else None
        articles.append((article_id, time, terms, representative))
    entries = [(order_key(a[0], a[1]), place) for place, a in enumerate(articles)]

    def load(place):
        article_id, _, terms, representative = articles[place]
        return article_id, list(terms), np.array(list(terms.values())), representative

    in_runs = {
        place: (story, repr(similarity))
        for place, _, story, similarity in batch_core.indexed_story_labels(entries, load, config)
    }
    index = StoryIndex(config)
    one_by_one = {}
    for _, place in sorted(entries):
        article_id, time, terms, representative = articles[place]
        assignment = index.assign(article_id, time, terms, representative)
        if assignment.story_id != article_id:
            one_by_one[place] = (assignment.story_id, repr(assignment.similarity))
    assert in_runs == one_by_one, (config, articles)


TARGETS = {
    "decoding": decoding,
    "files": files,
    "parse": parse,
    "kafka": kafka,
    "cleaner": cleaner,
    "sketch": sketch,
    "story_runs": story_runs,
}


def main() -> None:
    target = TARGETS[sys.argv[1]]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
