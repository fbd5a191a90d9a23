"""Training data checks, training, and evaluation figures."""

from __future__ import annotations

import numpy as np
import pytest
from classify_support import EVAL_FILE, TRAIN_FILE, write_jsonl
from sklearn import metrics

from newsbeam.transforms.classify.evaluation import evaluate_model
from newsbeam.transforms.classify.training import (
    LabelledExample,
    TrainingDataError,
    check_trainable,
    read_labelled_jsonl,
    train_topic_model,
)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "no labelled examples"),
        ("\n\n", "no labelled examples"),
        ('{"text": "a"}\n', ":1: missing 'label' or 'labels'"),
        ('{"text": "ok", "label": "x"}\n{"text": "broken", \n', ":2: not valid JSON"),
        ('["text", "label"]\n', "expected a JSON object"),
        ('{"label": "x"}\n', "missing 'text'"),
        ('{"text": "  ", "label": "x"}\n', "'text' is empty"),
        ('{"text": "a", "labels": []}\n', "non-empty list"),
        ('{"text": "a", "labels": "sport"}\n', "non-empty list"),
        ('{"text": "a", "label": 3}\n', "non-empty string"),
    ],
)
def test_bad_labelled_files_say_what_and_where(tmp_path, content, message):
    path = tmp_path / "data.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TrainingDataError, match=message):
        read_labelled_jsonl(path)


def test_unreadable_files(tmp_path):
    with pytest.raises(TrainingDataError, match="no such file"):
        read_labelled_jsonl(tmp_path / "absent.jsonl")
    path = tmp_path / "latin1.jsonl"
    path.write_bytes('{"text": "caf\u00e9", "label": "x"}\n'.encode("latin-1"))
    with pytest.raises(TrainingDataError, match="not UTF-8"):
        read_labelled_jsonl(path)


def test_reading_accepts_label_labels_and_title(tmp_path):
    path = write_jsonl(
        tmp_path / "d.jsonl",
        [
            {"text": "Rates rise", "label": "economy"},
            {"text": "Summit ends", "labels": ["politics", "economy", "politics"]},
            {"title": "Cup final", "text": "The striker scored", "label": " sport "},
        ],
    )
    examples = read_labelled_jsonl(path)
    assert examples[0].labels == ("economy",)
    assert examples[1].labels == ("politics", "economy")  # repeats dropped, order kept
    assert examples[2] == LabelledExample("Cup final\nThe striker scored", ("sport",))


def test_untrainable_data_is_refused():
    def ex(*labels):
        return LabelledExample("some words here", labels)

    with pytest.raises(TrainingDataError, match="only one label"):
        check_trainable([ex("sport"), ex("sport"), ex("sport")])
    with pytest.raises(TrainingDataError, match="single example"):
        check_trainable([ex("sport"), ex("sport"), ex("politics")])
    with pytest.raises(TrainingDataError, match="on every example"):
        check_trainable([ex("news", "sport"), ex("news", "politics")] * 2)
    with pytest.raises(TrainingDataError, match="no labelled examples"):
        check_trainable([])
    with pytest.raises(TrainingDataError, match="only one label"):
        train_topic_model([ex("sport")] * 4)


def test_training_is_deterministic_for_a_seed(tmp_path):
    examples = read_labelled_jsonl(TRAIN_FILE)
    train_topic_model(examples).save(tmp_path / "a.npz")
    train_topic_model(examples).save(tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_multi_label_data_trains_independent_sigmoids():
    base = read_labelled_jsonl(TRAIN_FILE)
    mixed = [
        LabelledExample(
            "The finance minister presented the budget and tax cuts to parliament.",
            ("politics", "economy, business and finance"),
        ),
        LabelledExample(
            "Lawmakers voted on the central bank's independence and interest rate policy.",
            ("politics", "economy, business and finance"),
        ),
    ]
    model = train_topic_model(base + mixed)
    assert model.output == "sigmoid"
    assert len(model.calibration["scale"]) == len(model.labels) == 4
    proba = model.predict_proba(["Parliament approved the finance minister's budget"])
    assert not np.isclose(proba.sum(), 1.0)  # independent per-label probabilities
    top_two = {model.labels[i] for i in np.argsort(-proba[0])[:2]}
    assert top_two == {"politics", "economy, business and finance"}


def test_evaluation_matches_scikit_learn_figures():
    model = train_topic_model(read_labelled_jsonl(TRAIN_FILE)[::2])  # weaker: some errors
    examples = read_labelled_jsonl(EVAL_FILE)
    report = evaluate_model(model, examples)
    gold = [e.labels[0] for e in examples]
    predicted = [model.labels[i] for i in model.predict_proba([e.text for e in examples]).argmax(1)]
    assert report.examples == 12
    assert report.accuracy == pytest.approx(metrics.accuracy_score(gold, predicted), abs=1e-4)
    assert report.macro_f1 == pytest.approx(
        metrics.f1_score(gold, predicted, average="macro", zero_division=0), abs=1e-4
    )
    precision, recall, _, support = metrics.precision_recall_fscore_support(
        gold, predicted, labels=list(model.labels), zero_division=0
    )
    for i, label in enumerate(model.labels):
        assert report.per_label[label].precision == pytest.approx(precision[i], abs=1e-4)
        assert report.per_label[label].recall == pytest.approx(recall[i], abs=1e-4)
        assert report.per_label[label].support == support[i]
    expected = metrics.confusion_matrix(gold, predicted, labels=list(model.labels))
    assert np.array_equal(np.array(report.confusion), expected)
    text = report.format_text()
    assert "accuracy" in text and "macro-F1" in text and "confusion matrix" in text


def test_evaluation_counts_unknown_gold_labels_as_errors():
    model = train_topic_model(read_labelled_jsonl(TRAIN_FILE))
    examples = [
        LabelledExample("The striker scored twice in the cup final", ("sport",)),
        LabelledExample("The band released a new album and began a world tour", ("arts",)),
    ]
    report = evaluate_model(model, examples)
    assert report.labels[-1] == "arts"
    assert report.per_label["arts"].recall == 0.0
    assert report.accuracy == 0.5


def test_pruning_zeroes_the_weakest_columns_and_keeps_predictions():
    import dataclasses

    from newsbeam.transforms.classify.training import TrainingConfig

    examples = read_labelled_jsonl(TRAIN_FILE)
    full = train_topic_model(examples)
    pruned = train_topic_model(examples, dataclasses.replace(TrainingConfig(), prune_fraction=0.5))
    used_full = int(np.any(full.weights != 0, axis=1).sum())
    used_pruned = int(np.any(pruned.weights != 0, axis=1).sum())
    assert used_pruned == pytest.approx(used_full / 2, rel=0.05)
    texts = [e.text for e in read_labelled_jsonl(EVAL_FILE)]
    agree = full.predict_proba(texts).argmax(1) == pruned.predict_proba(texts).argmax(1)
    assert agree.mean() >= 0.8
    with pytest.raises(ValueError, match="prune_fraction"):
        TrainingConfig(prune_fraction=1.0)


def test_sample_weights_decide_between_conflicting_examples():
    # The same sentence filed under two labels: the heavier copy wins, as when
    # the default model weighs a small (language, label) cell up.
    examples = read_labelled_jsonl(TRAIN_FILE)
    text = "The minister opened the new national stadium on Saturday."
    both = examples + [LabelledExample(text, ("politics",)), LabelledExample(text, ("sport",))]
    tops = {}
    for heavy in ("politics", "sport"):
        weights = [1.0] * len(examples) + [20.0 if heavy == "politics" else 1.0]
        weights.append(20.0 if heavy == "sport" else 1.0)
        model = train_topic_model(both, sample_weights=weights)
        assert model.training["weighted"] is True
        tops[heavy] = model.predict([text])[0][0].label
    assert tops == {"politics": "politics", "sport": "sport"}


def test_unit_sample_weights_train_the_unweighted_model():
    examples = read_labelled_jsonl(TRAIN_FILE)
    texts = [e.text for e in read_labelled_jsonl(EVAL_FILE)]
    plain = train_topic_model(examples)
    unit = train_topic_model(examples, sample_weights=np.ones(len(examples)))
    assert "weighted" not in plain.training
    assert np.allclose(plain.predict_proba(texts), unit.predict_proba(texts), atol=1e-5)


@pytest.mark.parametrize(
    ("weights", "message"),
    [([1.0, 2.0], "one sample weight per example"), (None, "finite and > 0")],
)
def test_bad_sample_weights_are_refused(weights, message):
    examples = read_labelled_jsonl(TRAIN_FILE)
    if weights is None:
        weights = [1.0] * (len(examples) - 1) + [0.0]
    with pytest.raises(TrainingDataError, match=message):
        train_topic_model(examples, sample_weights=weights)
