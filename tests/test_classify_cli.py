"""train-classifier / eval-classifier: round trip and bad input."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest
from classify_support import EVAL_FILE, REPO, TRAIN_FILE, write_jsonl

from newsbeam.classifier_cli import add_parsers
from newsbeam.transforms.classify.model import TopicModel, load_model


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="newsbeam")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_round_trip_from_the_command_line(tmp_path):
    model = tmp_path / "models" / "topics.npz"
    env_run = [sys.executable, "-m", "newsbeam.classifier_cli"]
    trained = subprocess.run(
        [*env_run, "train-classifier", "--data", str(TRAIN_FILE), "--out", str(model)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert trained.returncode == 0, trained.stderr
    assert "trained on 40 examples" in trained.stdout
    assert TopicModel.load(model).labels == (
        "economy, business and finance",
        "politics",
        "science and technology",
        "sport",
    )
    evaluated = subprocess.run(
        [*env_run, "eval-classifier", "--model", str(model), "--data", str(EVAL_FILE)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert evaluated.returncode == 0, evaluated.stderr
    lines = evaluated.stdout.splitlines()
    accuracy = float(next(line for line in lines if line.startswith("accuracy")).split()[1])
    assert accuracy >= 0.8
    assert any(line.startswith("macro-F1") for line in lines)
    assert "confusion matrix (rows: gold, columns: predicted)" in evaluated.stdout
    for label in ("politics", "sport"):
        assert any(line.startswith(label) for line in lines)


def test_seed_option_and_json_report(tmp_path, capsys):
    model = tmp_path / "m.npz"
    argv = ["train-classifier", "--data", str(TRAIN_FILE), "--out", str(model), "--seed", "3"]
    assert run(argv) == 0
    assert TopicModel.load(model).training["config"]["seed"] == 3
    capsys.readouterr()
    assert run(["eval-classifier", "--model", str(model), "--data", str(EVAL_FILE), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["examples"] == 12 and len(report["confusion"]) == 4


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "the file is empty"),
        ([{"text": "Goal!", "label": "sport"}, {"text": "Win", "label": "sport"}], "one label"),
        ([{"text": "Goal!"}], "missing 'label' or 'labels'"),
    ],
)
def test_bad_training_data_exits_2_with_one_message(tmp_path, capsys, rows, message):
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    assert run(["train-classifier", "--data", str(data), "--out", str(tmp_path / "m.npz")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m.npz").exists()


def test_missing_data_and_bad_model_exit_2(tmp_path, capsys):
    assert run(["train-classifier", "--data", str(tmp_path / "x.jsonl"), "--out", "m"]) == 2
    assert "no such file" in capsys.readouterr().err
    bad = tmp_path / "bad.npz"
    bad.write_text("definitely not a model")
    assert run(["eval-classifier", "--model", str(bad), "--data", str(EVAL_FILE)]) == 2
    err = capsys.readouterr().err
    assert "not a newsbeam topic model" in err and "Traceback" not in err
    out_dir = tmp_path / "file-not-dir"
    out_dir.write_text("")
    assert run(["train-classifier", "--data", str(TRAIN_FILE), "--out", str(out_dir / "m")]) == 2
    assert "cannot write model" in capsys.readouterr().err


def test_train_records_languages_and_refuses_unknown_codes(tmp_path, capsys):
    model = tmp_path / "m.npz"
    argv = ["train-classifier", "--data", str(TRAIN_FILE), "--out", str(model)]
    assert run([*argv, "--languages", "en,DE"]) == 0
    assert TopicModel.load(model).languages == ("de", "en")
    capsys.readouterr()  # the training's own messages, if logging is set up
    assert run([*argv, "--languages", "english"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --languages: unknown language code") and "Traceback" not in err


def test_run_options_select_builtin_models_and_default_to_their_languages(caplog):
    from newsbeam.cli_options import UsageError, _classify_config

    default = _classify_config(None, None)
    assert default.model_path is None and default.languages == "model"
    assert default.languages_for(load_model().languages) == frozenset(load_model().languages)
    with caplog.at_level("WARNING"):
        ag = _classify_config("builtin:ag-news-en", None)
    assert ag.languages_for(load_model(ag.model_path).languages) == frozenset({"en"})
    assert "non-commercial" in caplog.text  # the licence is stated where it is selected
    assert _classify_config(None, "all").languages is None
    assert _classify_config(None, "de,fr").languages == frozenset({"de", "fr"})
    with pytest.raises(UsageError, match="no built-in model 'nope'.*builtin:iptc-wikinews"):
        _classify_config("builtin:nope", None)
    with pytest.raises(UsageError, match="--classifier-languages"):
        _classify_config(None, "klingon")
