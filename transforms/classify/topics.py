"""Putting topics on articles: the pure core of the classify stage."""

from __future__ import annotations

from collections.abc import Sequence

from newsbeam.schemas.article import Article
from newsbeam.transforms.classify.model import TopicModel

NO_TEXT = "no_text"


def topic_text(article: Article) -> str:
    """What the model reads: the headline, then the cleaned text.

    The default model was trained on headline + lead paragraphs; the model's
    feature settings cap how many words of a long body are read.
    """
    title = (article.title or "").strip()
    return f"{title}\n{article.text}" if title else article.text


def assign_topics(
    model: TopicModel, articles: Sequence[Article], *, threshold: float
) -> list[tuple[Article, str]]:
    """Each article with ``topics`` set, and its top label (or NO_TEXT) for counting."""
    predictions = model.predict([topic_text(a) for a in articles], threshold=threshold)
    results = []
    for article, topics in zip(articles, predictions, strict=True):
        labelled = article.replace(topics=[t.to_dict() for t in topics])
        results.append((labelled, topics[0].label if topics else NO_TEXT))
    return results
