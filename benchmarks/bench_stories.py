"""Benchmark of the story stage's core: clustering quality against TF-IDF baselines.

    python benchmarks/bench_stories.py                  # both sets, defaults + baselines
    python benchmarks/bench_stories.py --sweep          # + thresholds around the default

Prints:
1. ECB+ (stories_ecbplus_dev.jsonl, 462 documents, 40 events, two of the same
   kind per topic): B-cubed precision/recall/F1 and adjusted Rand index of
   the online clusterer with its default settings (documents in id order: the
   set has no dates, so the pipeline's order is by id), next to TF-IDF
   single-pass clustering and TF-IDF average-link agglomerative clustering,
   each at its best threshold on this set.
2. SemEval-2022 Task 8 pairs (stories_semeval8_dev_pairs.jsonl): a pair
   "shares a story" when the second article joins the story the first one
   founded (document frequencies learned from every text of the set first,
   as the stream would have by then). Balanced accuracy over same-story
   (overall <= 1.5) and unrelated (>= 3.5) pairs, and the share of
   cross-language same-story pairs joined; TF-IDF cosine at its best
   threshold alongside.
3. Cost: ms per article of the core (features + assign) and the stream
   state: bytes per active story and of the document-frequency table.
4. Chinese and Japanese (`--cjk`): the hand-written reports of tests/story_fixtures.py
   (one event's reports from two outlets, an event of the same kind in the same week):
   the similarity the second article has to the first one's story, with document
   frequencies from the English fixtures (cold) and from the Japanese Wikinews
   openings (warm); and the features' terms and cost per Japanese opening.

Data: /work/shared/data (or --data DIR); the sets' README has their licences.
"""

from __future__ import annotations

import argparse
import json
import pickle
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score

from newsbeam.transforms.story.clusterer import DocumentFrequencies, StoryIndex
from newsbeam.transforms.story.config import StoryConfig
from newsbeam.transforms.story.features import term_weights


def bcubed(gold: list[str], predicted: list[str]) -> tuple[float, float, float]:
    by_gold: dict[str, set[int]] = {}
    by_pred: dict[str, set[int]] = {}
    for i, (g, p) in enumerate(zip(gold, predicted, strict=True)):
        by_gold.setdefault(g, set()).add(i)
        by_pred.setdefault(p, set()).add(i)
    precision = recall = 0.0
    for g, p in zip(gold, predicted, strict=True):
        overlap = len(by_gold[g] & by_pred[p])
        precision += overlap / len(by_pred[p])
        recall += overlap / len(by_gold[g])
    precision /= len(gold)
    recall /= len(gold)
    return precision, recall, 2 * precision * recall / (precision + recall)


def split_title(text: str) -> tuple[str | None, str]:
    # SemEval texts are "title  body" (two spaces); ECB+ documents have no title field.
    if "  " in text:
        title, body = text.split("  ", 1)
        return title, body
    return None, text


def cluster_online(docs: list[dict], config: StoryConfig) -> tuple[list[str], float, int]:
    index = StoryIndex(config)
    labels = []
    started = time.perf_counter()
    for doc in docs:
        terms = term_weights(doc["text"], None, config)
        labels.append(index.assign(doc["id"], None, terms).story_id)
    elapsed = time.perf_counter() - started
    return labels, elapsed, len(index.stories)


def state_bytes(docs: list[dict], config: StoryConfig) -> tuple[float, int, int]:
    """(bytes per active story, document-frequency bytes, its terms): the pickled
    stream state after the documents (stories, postings, member labels; the DF table
    is shared by all stories and capped by `max_vocabulary`)."""
    index = StoryIndex(config)
    for doc in docs:
        index.assign(doc["id"], None, term_weights(doc["text"], None, config))
    stories = pickle.dumps((index.stories, index.postings, index.labels), protocol=5)
    frequencies = pickle.dumps(index.frequencies, protocol=5)
    assert index.frequencies is not None
    return len(stories) / len(index.stories), len(frequencies), len(index.frequencies.counts)


def ecb(docs: list[dict], config: StoryConfig, sweep: bool) -> None:
    docs = sorted(docs, key=lambda d: d["id"])
    gold = [d["story"] for d in docs]
    labels, elapsed, _ = cluster_online(docs, config)
    p, r, f = bcubed(gold, labels)
    ari = adjusted_rand_score(gold, labels)
    print(f"ECB+ ({len(docs)} documents, {len(set(gold))} events)")
    print(
        f"  online (defaults, threshold {config.threshold}): B3 P {p:.3f} R {r:.3f} "
        f"F1 {f:.3f}  ARI {ari:.3f}  stories {len(set(labels))}  "
        f"{1000 * elapsed / len(docs):.2f} ms/article"
    )
    # A single-pass clusterer depends on its input order: the same set in shuffled orders.
    scores = []
    for seed in range(4):
        shuffled = random.Random(seed).sample(docs, len(docs))
        labels, _, _ = cluster_online(shuffled, config)
        scores.append(bcubed([d["story"] for d in shuffled], labels)[2])
    print(
        f"    same, 4 shuffled orders (seeds 0-3): B3 F1 mean {np.mean(scores):.3f} "
        f"min {min(scores):.3f} max {max(scores):.3f}"
    )
    if sweep:
        for threshold in np.arange(0.10, 0.41, 0.025):
            labels, _, _ = cluster_online(docs, replace(config, threshold=float(threshold)))
            p, r, f = bcubed(gold, labels)
            print(
                f"    threshold {threshold:.3f}: B3 P {p:.3f} R {r:.3f} F1 {f:.3f} "
                f"ARI {adjusted_rand_score(gold, labels):.3f}"
            )
    matrix = TfidfVectorizer(sublinear_tf=True).fit_transform([d["text"] for d in docs])
    dense = matrix.toarray()
    best = max(
        ((_single_pass(dense, t), t) for t in np.arange(0.05, 0.61, 0.025)),
        key=lambda item: bcubed(gold, item[0])[2],
    )
    p, r, f = bcubed(gold, best[0])
    print(
        f"  TF-IDF single-pass (best threshold {best[1]:.3f}): B3 P {p:.3f} R {r:.3f} "
        f"F1 {f:.3f}  ARI {adjusted_rand_score(gold, best[0]):.3f}"
    )
    best = max(
        ((_agglomerative(dense, t), t) for t in np.arange(0.3, 1.0, 0.025)),
        key=lambda item: bcubed(gold, item[0])[2],
    )
    p, r, f = bcubed(gold, best[0])
    print(
        f"  TF-IDF agglomerative, average link (best distance {best[1]:.3f}): B3 P {p:.3f} "
        f"R {r:.3f} F1 {f:.3f}  ARI {adjusted_rand_score(gold, best[0]):.3f}"
    )
    per_story, df_bytes, df_terms = state_bytes(docs, config)
    print(
        f"  stream state: {per_story:.0f} bytes per active story (centroid, postings, "
        f"member labels); document frequencies {df_bytes / 1e6:.2f} MB for {df_terms} terms"
    )


def _single_pass(dense: np.ndarray, threshold: float) -> list[str]:
    centroids: list[np.ndarray] = []
    labels = []
    for row in dense:
        if centroids:
            stacked = np.stack(centroids)
            norms = np.linalg.norm(stacked, axis=1)
            sims = stacked @ row / np.where(norms == 0, 1, norms)
            best = int(np.argmax(sims))
            if sims[best] >= threshold:
                centroids[best] = centroids[best] + row
                labels.append(str(best))
                continue
        centroids.append(row.copy())
        labels.append(str(len(centroids) - 1))
    return labels


def _agglomerative(dense: np.ndarray, distance: float) -> list[str]:
    model = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=distance
    )
    return [str(x) for x in model.fit_predict(dense)]


def semeval(pairs: list[dict], config: StoryConfig, sweep: bool) -> None:
    pairs = [p for p in pairs if p["overall"] <= 1.5 or p["overall"] >= 3.5]
    split = {}
    for pair in pairs:
        for key in ("text1", "text2"):
            title, body = split_title(pair[key])
            split[(pair["pair_id"], key)] = (title, body)
    features = {}

    def pair_similarities(cfg: StoryConfig) -> list[float]:
        frequencies = DocumentFrequencies(cfg.max_vocabulary)
        for key, (title, body) in split.items():
            features[key] = term_weights(body, title, cfg)
            frequencies.add(features[key])
        return [
            similarity_to_first_story(
                _copy(frequencies),
                features[(pair["pair_id"], "text1")],
                features[(pair["pair_id"], "text2")],
                cfg,
            )
            for pair in pairs
        ]

    same = np.array([p["overall"] <= 1.5 for p in pairs])
    cross = np.array([p["lang1"] != p["lang2"] for p in pairs])
    sims = np.array(pair_similarities(config))
    print(
        f"SemEval-2022 Task 8 pairs ({int(same.sum())} same story, {int((~same).sum())} "
        f"unrelated; {int((same & cross).sum())} same-story across languages)"
    )
    _report_pairs("online (defaults)", sims, same, cross, config.threshold)
    if sweep:
        for threshold in np.arange(0.10, 0.41, 0.025):
            _report_pairs(f"  threshold {threshold:.3f}", sims, same, cross, threshold)
    texts = [split[(p["pair_id"], k)] for p in pairs for k in ("text1", "text2")]
    matrix = TfidfVectorizer(sublinear_tf=True).fit_transform([f"{t or ''} {b}" for t, b in texts])
    a, b = matrix[0::2], matrix[1::2]
    tfidf = np.asarray(a.multiply(b).sum(axis=1)).ravel()
    best = max(np.arange(0.02, 0.6, 0.01), key=lambda t: _balanced(tfidf, same, t))
    _report_pairs(f"TF-IDF cosine (best threshold {best:.2f})", tfidf, same, cross, best)


def cjk(data: Path, config: StoryConfig) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import story_fixtures as f

    japanese = [d["text"] for d in _read_jsonl(data / "wikinews_topics.jsonl") if d["lang"] == "ja"]
    pairs = {
        "ja, one quake, two outlets": (f.QUAKE_NOTO, f.QUAKE_NOTO_OTHER_OUTLET),
        "ja, two quakes of one week": (f.QUAKE_NOTO, f.QUAKE_ASO),
        "zh, one flood, two outlets": (f.FLOOD_MEIZHOU, f.FLOOD_MEIZHOU_OTHER_OUTLET),
        "zh, two floods of one week": (f.FLOOD_MEIZHOU, f.FLOOD_HUAIHUA),
    }
    print(f"Chinese and Japanese (tests/story_fixtures.py; threshold {config.threshold})")
    for name, (first, second) in pairs.items():
        scores = []
        for warm in ([(body, title) for title, body in f.UNRELATED], [(t, None) for t in japanese]):
            frequencies = DocumentFrequencies(config.max_vocabulary)
            for body, title in warm:
                frequencies.add(term_weights(body, title, config))
            first_terms = term_weights(first[1], first[0], config)
            second_terms = term_weights(second[1], second[0], config)
            scores.append(similarity_to_first_story(frequencies, first_terms, second_terms, config))
        print(f"  {name}: similarity {scores[0]:.3f} (cold), {scores[1]:.3f} (warm)")
    started = time.process_time()
    terms = [len(term_weights(text, None, config)) for text in japanese]
    elapsed = time.process_time() - started
    print(
        f"  {len(japanese)} Japanese Wikinews openings: {np.mean(terms):.1f} terms each, "
        f"{1000 * elapsed / len(japanese):.3f} ms per opening (features)"
    )


def similarity_to_first_story(
    frequencies: DocumentFrequencies,
    first: dict[str, float],
    second: dict[str, float],
    config: StoryConfig,
) -> float:
    """The similarity the second article has to the story the first one founds (0.0
    when it shares no term with it: it founds its own), whatever the threshold."""
    index = StoryIndex(replace(config, threshold=1e-9), frequencies=frequencies)
    index.assign("a", None, first)
    second_label = index.assign("b", None, second)
    return 0.0 if second_label.founded else second_label.similarity


def _copy(frequencies: DocumentFrequencies) -> DocumentFrequencies:
    copy = DocumentFrequencies(10**9)
    copy.documents = frequencies.documents
    copy.counts = frequencies.counts  # read-mostly: two extra documents do not matter
    return copy


def _balanced(sims: np.ndarray, same: np.ndarray, threshold: float) -> float:
    joined = sims >= threshold
    return 0.5 * (joined[same].mean() + (~joined[~same]).mean())


def _report_pairs(name, sims, same, cross, threshold) -> None:
    joined = sims >= threshold
    print(
        f"  {name}: balanced accuracy {_balanced(sims, same, threshold):.3f}  "
        f"same joined {joined[same].mean():.3f}  unrelated apart {(~joined[~same]).mean():.3f}  "
        f"cross-language same joined {joined[same & cross].mean():.3f}"
    )


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="/work/shared/data")
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--cjk", action="store_true", help="only section 4")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a StoryConfig field, e.g. --set name_weight=3",
    )
    args = parser.parse_args()
    config = StoryConfig()
    for item in args.set:
        name, value = item.split("=", 1)
        config = replace(config, **{name: type(getattr(config, name))(value)})
    data = Path(args.data)
    if args.cjk:
        cjk(data, config)
        return
    ecb_docs = _read_jsonl(data / "stories_ecbplus_dev.jsonl")
    pairs = _read_jsonl(data / "stories_semeval8_dev_pairs.jsonl")
    print(f"config: {config}")
    ecb(ecb_docs, config, args.sweep)
    semeval(pairs, config, args.sweep)


if __name__ == "__main__":
    main()
