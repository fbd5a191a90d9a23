"""`newsbeam inspect FILE`: every stage's view of one article, for tuning rules.

Runs the same pure cores the pipeline's transforms wrap, without Beam, and
prints what each stage decided: the lines the cleaner removed and by which rule,
the detected language with its score, the duplicate keys, the story terms, the
topics, and the final record.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

import orjson

from newsbeam import PIPELINE_VERSION
from newsbeam.cli_options import UsageError
from newsbeam.schemas.dead_letter import DeadLetter, utc_now
from newsbeam.transforms.classify import ClassifyConfig, load_model
from newsbeam.transforms.classify.topics import assign_topics
from newsbeam.transforms.clean.article_cleaner import open_article_cleaner
from newsbeam.transforms.clean.config import CleanConfig
from newsbeam.transforms.dedup.config import DedupConfig
from newsbeam.transforms.dedup.sketch import build_sketch, candidate_key_kinds
from newsbeam.transforms.io.files.reading import Payload, read_payloads
from newsbeam.transforms.language.detector import LanguageConfig, LanguageDetector
from newsbeam.transforms.language.labeling import detection_text, with_language
from newsbeam.transforms.parse import parse_payload
from newsbeam.transforms.story.clusterer import StoryIndex
from newsbeam.transforms.story.config import StoryConfig
from newsbeam.transforms.story.transform import observe, story_label


class InspectError(Exception):
    """The record to inspect cannot be found; the message is for the user."""


def add_parser(subparsers: argparse._SubParsersAction, parents: list) -> None:
    inspect = subparsers.add_parser(
        "inspect",
        parents=parents,
        help="show each stage's view of one article (for tuning rules)",
        description="Run every stage on one input article and print what each decided: "
        "removed lines and their rules, language and score, duplicate keys, story terms, "
        "topics, and the final record.",
    )
    inspect.add_argument("file", metavar="FILE", help="an input file (.txt, .html, .json, .jsonl)")
    inspect.add_argument(
        "--line",
        type=int,
        metavar="N",
        help="for .jsonl files and JSON arrays: the record on line/position N (default: first)",
    )
    inspect.add_argument(
        "--json", action="store_true", help="print one JSON object instead of text sections"
    )
    inspect.set_defaults(func=inspect_command)


def inspect_file(path: str, line: int | None) -> dict[str, Any]:
    """Every stage's view of one record, as a JSON-ready dict."""
    item = _pick(path, line)
    view: dict[str, Any] = {"source": item.source.to_dict()}
    if isinstance(item, DeadLetter):
        return {**view, "dead_letter": _dead(item)}
    parsed = parse_payload(item, ingested_at=utc_now())
    if isinstance(parsed, DeadLetter):
        return {**view, "dead_letter": _dead(parsed)}

    with open_article_cleaner(CleanConfig()) as cleaner:
        outcome = cleaner.clean(parsed)
    if outcome.result is not None:
        view["clean"] = {
            "decisions": [
                {
                    "line": d.number,
                    "kept": d.kept,
                    "rule": d.rule,
                    "reason": d.reason,
                    "text": d.text,
                }
                for d in outcome.result.decisions
            ],
            "removed": outcome.result.removed,
            "table": outcome.result.format_decisions(),
        }
    detector = LanguageDetector(LanguageConfig())
    if outcome.article is None:
        assert outcome.dead_letter is not None
        # Nothing is left to detect on: what the pipeline would label it (und).
        result = detector.detect("")
        view["language"] = {
            "language": result.language,
            "score": result.score,
            "und_reason": result.und_reason,
        }
        return {**view, "dead_letter": _dead(outcome.dead_letter)}

    result = detector.detect(detection_text(outcome.article))
    article = with_language(outcome.article, result)
    view["language"] = {
        "backend": detector.backend_name,
        "language": result.language,
        "score": result.score,
        "alternatives": [a.to_record() for a in result.alternatives],
        "und_reason": result.und_reason,
        "hint": article.language_hint,
        "hint_agrees": article.language_hint_agrees,
    }

    # A single article is its own representative; the keys are what batch and
    # stream dedup group on (content hash for exact, LSH bands for near,
    # anchors for containment).
    dedup_config = DedupConfig()
    sketch = build_sketch(article.id, article.text, article.published_at, dedup_config)
    article = article.replace(content_hash=sketch.content_hash)
    bands, anchors = candidate_key_kinds(sketch, dedup_config)
    view["dedup"] = {
        "content_hash": sketch.content_hash,
        "words": sketch.words,
        "shingles": len(sketch.shingle_set()),
        "near_eligible": sketch.near_eligible,
        "lsh_band_keys": [key.hex() for key in bands],
        "containment_anchors": [key.hex() for key in anchors],
        "can_be_contained": len(sketch.shingle_set()) >= dedup_config.contained_min_shingles,
    }

    # Alone, an article founds its own story; the terms are what it is matched on
    # against other articles (tf x title/name/number boosts, before the stream's IDF).
    story_config = StoryConfig()
    observation = observe(article, story_config)
    article = article.replace(
        story=story_label(StoryIndex(story_config).assign(article.id, None, observation[2]))
    )
    heaviest = sorted(observation[2].items(), key=lambda kv: (-kv[1], kv[0]))
    view["story"] = {
        "terms": len(heaviest),
        "heaviest_terms": [{"term": t, "weight": round(w, 3)} for t, w in heaviest[:20]],
    }

    classify_config = ClassifyConfig()
    model = load_model(classify_config.model_path)
    languages = classify_config.languages_for(model.languages)
    if languages is None or article.language in languages:
        ((article, _),) = assign_topics(model, [article], threshold=classify_config.threshold)
        view["topics"] = article.topics
    else:
        view["topics"] = []
        view["topics_skipped"] = f"language {article.language} is not classified by the model"
    view["record"] = article.to_record(pipeline_version=PIPELINE_VERSION)
    return view


def _pick(path: str, line: int | None) -> Payload | DeadLetter:
    items = list(read_payloads(path))
    if line is None:
        return items[0]
    for item in items:
        if item.source.line == line:
            return item
    raise InspectError(f"{path} has no record on line {line}")


def _dead(letter: DeadLetter) -> dict[str, Any]:
    return letter.to_record(pipeline_version=PIPELINE_VERSION)


def print_view(view: dict[str, Any], out: TextIO) -> None:
    def section(title: str) -> None:
        out.write(f"\n== {title} ==\n")

    source = view["source"]
    out.write(f"source: {source['uri']}" + (f" line {source['line']}" if source["line"] else ""))
    out.write("\n")
    if "clean" in view:
        section("clean: line decisions (keep/drop, rule (reason), text)")
        out.write(view["clean"]["table"] + "\n")
        removed = view["clean"]["removed"]
        out.write("removed: " + (", ".join(f"{k}={v}" for k, v in removed.items()) or "nothing"))
        out.write("\n")
    if "language" in view:
        section("detect-language")
        lang = view["language"]
        out.write(f"language: {lang['language']} (score {lang['score']:.4f})")
        out.write(f", backend {lang['backend']}" if lang.get("backend") else "")
        out.write(f", und because {lang['und_reason']}" if lang.get("und_reason") else "")
        out.write("\n")
        for alternative in lang.get("alternatives") or []:
            out.write(f"  alternative: {alternative['language']} ({alternative['score']:.4f})\n")
        if lang.get("hint"):
            agrees = "agrees" if lang["hint_agrees"] else "DISAGREES"
            out.write(f"hint: {lang['hint']} ({agrees} with the detector)\n")
    if "dedup" in view:
        section("deduplicate: keys")
        dedup = view["dedup"]
        out.write(f"content_hash (exact key): {dedup['content_hash']}\n")
        out.write(f"words {dedup['words']}, distinct shingles {dedup['shingles']}, ")
        bands, anchors = dedup["lsh_band_keys"], dedup["containment_anchors"]
        if dedup["near_eligible"]:
            out.write(f"{len(bands)} LSH band keys, {len(anchors)} containment anchors\n")
            out.write(
                "can be labelled contained (long enough)\n"
                if dedup["can_be_contained"]
                else "too short to be labelled contained (near and exact only)\n"
            )
        else:
            out.write("too short for near-duplicate matching (exact only)\n")
    if "story" in view:
        section("story: heaviest terms (term frequency x title/name/number boosts)")
        story = view["story"]
        out.write(f"{story['terms']} terms; ")
        out.write(", ".join(f"{t['term']} {t['weight']}" for t in story["heaviest_terms"]))
        out.write("\n")
    if "topics" in view:
        section("classify")
        for topic in view["topics"]:
            out.write(f"{topic['label']}: {topic['score']:.3f}\n")
        if view.get("topics_skipped"):
            out.write(view["topics_skipped"] + "\n")
    if "dead_letter" in view:
        letter = view["dead_letter"]
        section("dead letter")
        out.write(f"stage {letter['stage']}, reason {letter['reason']}: {letter['error']}\n")
    if "record" in view:
        section("record")
        out.write(orjson.dumps(view["record"], option=orjson.OPT_INDENT_2).decode() + "\n")


def inspect_command(args: argparse.Namespace) -> int:
    from newsbeam.transforms.io.files.reading import InputError, discover_inputs

    try:
        paths = discover_inputs([args.file])
        if len(paths) != 1:
            raise InspectError(f"{args.file} names {len(paths)} files; inspect takes one")
        view = inspect_file(paths[0], args.line)
    except (InputError, InspectError) as exc:
        raise UsageError(str(exc)) from exc
    if args.json:
        view.get("clean", {}).pop("table", None)
        sys.stdout.write(orjson.dumps(view, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print_view(view, sys.stdout)
    return 0
