"""TopicModel: predictions, file format, and clear errors for bad files."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from classify_support import EVAL_FILE, TRAIN_FILE

from newsbeam.transforms.classify.model import FORMAT_VERSION, ModelFormatError, TopicModel
from newsbeam.transforms.classify.training import read_labelled_jsonl, train_topic_model


@pytest.fixture(scope="module")
def model() -> TopicModel:
    return train_topic_model(read_labelled_jsonl(TRAIN_FILE))


@pytest.fixture(scope="module")
def model_file(model, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("model") / "topics.npz"
    model.save(path)
    return path


def _rewrite(src: Path, dst: Path, change) -> Path:
    """Copy a model archive, passing each member through change(name, bytes)."""
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w") as new:
        for name in old.namelist():
            data = change(name, old.read(name))
            if data is not None:
                new.writestr(name, data)
    return dst


def test_probabilities_are_calibrated_softmax(model):
    proba = model.predict_proba(["The striker scored in the final", "Shares fell sharply"])
    assert proba.shape == (2, 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert model.output == "softmax" and model.calibration["temperature"] > 0


def test_predict_sorts_keeps_top_and_applies_threshold(model):
    texts = [e.text for e in read_labelled_jsonl(EVAL_FILE)]
    for topics in model.predict(texts, threshold=0.0):
        assert len(topics) == 4
        assert [t.score for t in topics] == sorted((t.score for t in topics), reverse=True)
    for topics in model.predict(texts, threshold=1.0):
        assert len(topics) == 1  # the top label even when nothing reaches the threshold
    proba = model.predict_proba(texts)
    for row, topics in zip(proba, model.predict(texts, threshold=0.2), strict=True):
        expected = {model.labels[i] for i in np.flatnonzero(row >= 0.2)} | {
            model.labels[int(row.argmax())]
        }
        assert {t.label for t in topics} == expected


def test_text_without_words_gets_no_topic(model):
    assert model.predict(["", "  ...  ", None]) == [[], [], []]


def test_learns_the_small_labelled_file(model):
    examples = read_labelled_jsonl(EVAL_FILE)
    top = [model.predict([e.text])[0][0].label for e in examples]
    correct = sum(t in e.labels for t, e in zip(top, examples, strict=True))
    assert correct >= 10  # of 12 unseen items


def test_save_load_round_trip_is_exact_and_deterministic(model, model_file, tmp_path):
    loaded = TopicModel.load(model_file)
    texts = ["Parliament votes on the budget", "New phone has a faster chip"]
    np.testing.assert_allclose(loaded.predict_proba(texts), model.predict_proba(texts), atol=2e-3)
    assert loaded.labels == model.labels and loaded.features == model.features
    model.save(tmp_path / "again.npz")
    assert (tmp_path / "again.npz").read_bytes() == model_file.read_bytes()
    with zipfile.ZipFile(model_file) as archive:
        assert sorted(archive.namelist()) == [
            "bias.npy",
            "columns.npy",
            "idf.npy",
            "meta.json",
            "weights.npy",
        ]
        meta = json.loads(archive.read("meta.json"))
    assert meta["format_version"] == FORMAT_VERSION
    assert np.load(model_file)["weights"].dtype == np.float16  # plain numpy can read it


def test_other_format_version_is_refused_clearly(model_file, tmp_path):
    def bump(name, data):
        if name == "meta.json":
            meta = json.loads(data)
            meta["format_version"] = FORMAT_VERSION + 1
            return json.dumps(meta)
        return data

    path = _rewrite(model_file, tmp_path / "next.npz", bump)
    message = rf"format version {FORMAT_VERSION + 1} is not supported.*retrain"
    with pytest.raises(ModelFormatError, match=message):
        TopicModel.load(path)


def test_version_1_files_still_load(model, model_file, tmp_path):
    # Version 1 had no capitalised-words group: its files mean the same with it off.
    def downgrade(name, data):
        if name == "meta.json":
            meta = json.loads(data)
            meta["format_version"] = 1
            del meta["features"]["capitalised_weight"]
            return json.dumps(meta)
        return data

    assert model.features.capitalised_weight == 0
    old = TopicModel.load(_rewrite(model_file, tmp_path / "v1.npz", downgrade))
    assert old.features == model.features
    texts = ["Parliament votes on the budget", "New phone has a faster chip"]
    np.testing.assert_allclose(old.predict_proba(texts), model.predict_proba(texts), atol=2e-3)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a newsbeam topic model"),
        (b"text,label\nhello,world\n", "not a newsbeam topic model"),
        (b"PK\x03\x04 truncated", "not a newsbeam topic model"),
    ],
)
def test_non_model_files_are_refused(tmp_path, content, message):
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    with pytest.raises(ModelFormatError, match=message):
        TopicModel.load(path)


def test_missing_path_and_directory_are_refused(tmp_path):
    with pytest.raises(ModelFormatError, match="no such model file"):
        TopicModel.load(tmp_path / "absent.npz")
    with pytest.raises(ModelFormatError, match="directory"):
        TopicModel.load(tmp_path)


def test_plain_npz_is_not_a_model(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, weights=np.zeros(3))
    with pytest.raises(ModelFormatError, match="no meta.json"):
        TopicModel.load(path)


def test_truncated_and_tampered_files_are_refused(model_file, tmp_path):
    data = model_file.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFormatError):
        TopicModel.load(truncated)

    def flip(name, blob):
        if name == "weights.npy":
            return blob[:-1] + bytes([blob[-1] ^ 0xFF])
        return blob

    with pytest.raises(ModelFormatError, match="weights.npy is corrupt"):
        TopicModel.load(_rewrite(model_file, tmp_path / "tampered.npz", flip))

    def drop_bias(name, blob):
        return None if name == "bias.npy" else blob

    with pytest.raises(ModelFormatError, match="no bias.npy"):
        TopicModel.load(_rewrite(model_file, tmp_path / "partial.npz", drop_bias))

    def bad_meta(name, blob):
        return b"{not json" if name == "meta.json" else blob

    with pytest.raises(ModelFormatError, match="not valid JSON"):
        TopicModel.load(_rewrite(model_file, tmp_path / "meta.npz", bad_meta))


def test_languages_round_trip_and_version_2_files_record_none(tmp_path):
    examples = read_labelled_jsonl(TRAIN_FILE)
    model = train_topic_model(examples, languages=["fr", "en", "en"])
    assert model.languages == ("en", "fr")
    model.save(tmp_path / "m.npz")
    assert TopicModel.load(tmp_path / "m.npz").languages == ("en", "fr")

    def to_version_2(name, data):
        if name == "meta.json":
            meta = json.loads(data)
            meta["format_version"] = 2
            del meta["languages"]
            return json.dumps(meta)
        return data

    old = TopicModel.load(_rewrite(tmp_path / "m.npz", tmp_path / "v2.npz", to_version_2))
    assert old.languages is None
    assert old.labels == model.labels
    with pytest.raises(ValueError, match="languages"):
        train_topic_model(examples, languages=[""])
