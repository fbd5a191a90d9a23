"""The command line: clear errors and exit codes, never a traceback."""

import json
import subprocess
import sys

import pytest

from conftest import EXAMPLES
from newsbeam.cli import main


def test_run_on_the_examples(tmp_path, capsys):
    assert main(["run", str(EXAMPLES), "--output", str(tmp_path / "out")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["articles_written"] >= 8
    assert (tmp_path / "out" / "run-report.json").is_file()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "no/such/folder", "--output", "x"], "input path does not exist"),
        (
            ["run", str(EXAMPLES), "--output", "/proc/forbidden/out"],
            "output folder is not writable",
        ),
        (["run", str(EXAMPLES), "--output", "x", "--no-such-option"], "unrecognized arguments"),
        (["run", str(EXAMPLES)], "required: --output"),
        (["run", str(EXAMPLES), "--output", "x", "--languages", ","], "comma-separated"),
        (["frobnicate"], "invalid choice"),
        (
            ["run", str(EXAMPLES), "--output", "x", "--story-max-active", "0"],
            "argument --story-max-active",
        ),
        (
            ["run", str(EXAMPLES), "--output", "x", "--no-stories", "--story-max-active", "9"],
            "--story-max-active has no effect with --no-stories",
        ),
    ],
)
def test_bad_usage_exits_2_with_one_clear_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_console_script_is_installed(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "newsbeam", "run", "missing-input", "--output", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().endswith("input path does not exist: missing-input")


STREAM_ARGS = ["stream", "--bootstrap-servers", "127.0.0.1:1", "--topic", "raw"]
STREAM_ARGS += ["--output-topic", "out", "--dead-letter-topic", "dlq"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("7d", 604800.0), ("36h", 129600.0), ("90m", 5400.0), ("3600s", 3600.0), ("45", 45.0)],
)
def test_dedup_retention_durations(text, seconds):
    from newsbeam.cli_options import duration_seconds

    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "d", "7w", "-1d", "0h", "soon", "nan", "infd"])
def test_bad_dedup_retention_is_a_usage_error(text, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*STREAM_ARGS, "--dedup-retention", text])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--dedup-retention" in err
    assert "Traceback" not in err


def test_dedup_retention_reaches_the_stream_stage(monkeypatch, capsys):
    import newsbeam.pipelines.stream as stream

    configs = []

    def fake_run(config):
        configs.append(config)
        return {"stages": {}}

    monkeypatch.setattr(stream, "check_kafka", lambda config: None)
    monkeypatch.setattr(stream, "run_stream", fake_run)
    assert main([*STREAM_ARGS, "--dedup-retention", "36h"]) == 0
    assert main(STREAM_ARGS) == 0
    retention = [c.pipeline.dedup.retention_seconds for c in configs]
    assert retention == [36 * 3600, 7 * 86400]


def test_story_options_reach_the_stream_stage(monkeypatch):
    import newsbeam.pipelines.stream as stream

    configs = []
    monkeypatch.setattr(stream, "check_kafka", lambda config: None)
    monkeypatch.setattr(
        stream, "run_stream", lambda config: configs.append(config) or {"stages": {}}
    )
    assert main([*STREAM_ARGS, "--story-max-active", "500", "--story-window", "12h"]) == 0
    assert main(STREAM_ARGS) == 0
    stories = [c.pipeline.story for c in configs]
    assert [(s.max_active_stories, s.window_days) for s in stories] == [(500, 0.5), (10_000, 3.0)]
