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
