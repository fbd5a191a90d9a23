"""The model shipped in the package: labels, size, sample articles, rebuild."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources

import pytest
from classify_support import AG_NEWS, GOLD, REPO, needs_ag_news, needs_seeds

from newsbeam.schemas.article import Article, Source
from newsbeam.transforms.classify.default_model import (
    AG_NEWS_TO_IPTC,
    DEFAULT_TRAINING_CONFIG,
    file_sha256,
    load_ag_news,
)
from newsbeam.transforms.classify.model import DEFAULT_MODEL_RESOURCE, load_model
from newsbeam.transforms.classify.topics import assign_topics
from newsbeam.transforms.classify.training import train_topic_model

SHIPPED = resources.files("newsbeam.transforms.classify").joinpath(DEFAULT_MODEL_RESOURCE)


def test_default_model_ships_in_the_package_and_is_small():
    model = load_model()
    assert set(model.labels) == set(AG_NEWS_TO_IPTC.values())
    assert model.output == "softmax"
    assert model.features == DEFAULT_TRAINING_CONFIG.features
    assert SHIPPED.is_file() and len(SHIPPED.read_bytes()) < 5_000_000
    assert "non-commercial" in model.training["licence"]


def test_default_model_on_short_news():
    model = load_model()
    cases = {
        "Senate passes immigration bill as president vows veto": "politics",
        "Yankees beat Red Sox 5-3 in extra innings": "sport",
        "Oil prices climb as OPEC agrees to cut output; stocks fall": (
            "economy, business and finance"
        ),
        "NASA probe sends back images of Saturn's moon Titan": "science and technology",
    }
    for text, label in cases.items():
        assert model.predict([text])[0][0].label == label, text


@needs_seeds
def test_sample_articles_come_out_politics_first():
    gold = json.loads(GOLD.read_text(encoding="utf-8"))
    articles = [
        Article(id=name, source=Source("file", name), raw="", text=entry["gold_text"])
        for name, entry in sorted(gold.items())
    ]
    assert len(articles) == 5
    for article, top in assign_topics(load_model(), articles, threshold=0.3):
        assert top == "politics", article.id
        assert article.topics[0]["label"] == "politics"


@needs_ag_news
def test_shipped_model_was_trained_on_this_data():
    assert load_model().training["data_sha256"] == file_sha256(AG_NEWS)


@needs_ag_news
@pytest.mark.slow
def test_default_recipe_is_deterministic_on_a_slice(tmp_path):
    # The full rebuild takes ~40 s (see test below); two runs of the same
    # recipe on a slice must already give identical bytes.
    examples = load_ag_news(AG_NEWS)[::10]
    for name in ("a.npz", "b.npz"):
        train_topic_model(examples, DEFAULT_TRAINING_CONFIG).save(tmp_path / name)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


@needs_ag_news
@pytest.mark.slow
def test_shipped_model_rebuilds_bit_for_bit():
    script = REPO / "scripts" / "train_default_model.py"
    done = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("identical")
