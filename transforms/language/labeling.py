"""Putting a detected language on an article, and checking the input's hint against it."""

from __future__ import annotations

from collections.abc import Sequence

from newsbeam.schemas.article import Article
from newsbeam.transforms.language.detector import UND, LanguageDetector, LanguageResult


def detection_text(article: Article) -> str:
    """Title plus cleaned body: what the article says, not the page's boilerplate."""
    title = (article.title or "").strip()
    if not title:
        return article.text
    return f"{title}\n\n{article.text}" if article.text else title


def primary_subtag(code: str) -> str:
    """'en-US' -> 'en', 'pt_BR' -> 'pt', 'zh-cn' -> 'zh'; lower case, stripped."""
    return code.strip().lower().replace("_", "-").split("-", 1)[0]


def hint_agrees(hint: str, language: str) -> bool:
    """Whether an input's language hint names the detected language.

    Compared on the primary subtag, so region/script variants agree ("en-GB" with "en",
    "zh-Hant" with "zh-cn": langdetect's zh-cn/zh-tw split is a guess at the script, not
    a different language). An `und` result confirms no hint.
    """
    if language == UND:
        return False
    return primary_subtag(hint) == primary_subtag(language)


def normalized_hint(hint: str | None) -> str | None:
    """The hint as recorded: stripped; None when there is none or it is blank."""
    if hint is None:
        return None
    hint = hint.strip()
    return hint or None


def with_language(article: Article, result: LanguageResult) -> Article:
    hint = normalized_hint(article.language_hint)
    return article.replace(
        language=result.language,
        language_score=result.score,
        language_alternatives=[alternative.to_record() for alternative in result.alternatives],
        language_hint=hint,
        language_hint_agrees=None if hint is None else hint_agrees(hint, result.language),
    )


def label_articles(
    detector: LanguageDetector, articles: Sequence[Article]
) -> list[tuple[Article, LanguageResult]]:
    """Detect the language of many articles in one engine call; results in input order."""
    results = detector.detect_many([detection_text(article) for article in articles])
    return [(with_language(a, r), r) for a, r in zip(articles, results, strict=True)]
