"""The batch job on Beam's portable runner gives the DirectRunner's output.

PortableRunner against the local job service is the path a Flink or Spark job
server takes (the job service here runs the pipeline with Beam's own portable
worker; `--environment_type=LOOPBACK` runs the SDK harness in this process).
"""

import glob
import json
import os
import socket
import subprocess
import sys
import time

import pytest

from conftest import EXAMPLES
from newsbeam.pipelines.batch import run_batch
from newsbeam.pipelines.config import BatchRunConfig
from newsbeam.transforms.io.files.reading import discover_inputs

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def job_endpoint():
    port = _free_port()
    service = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "apache_beam.runners.portability.local_job_service_main",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if service.poll() is not None:
                    pytest.fail(f"job service exited: {service.stderr.read().decode()[-2000:]}")
                if time.monotonic() > deadline:
                    pytest.fail("job service did not start listening within 120 s")
                time.sleep(0.2)
        yield f"localhost:{port}"
    finally:
        service.terminate()
        try:
            service.wait(timeout=30)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait()


def _records(directory, prefix, ignore):
    rows = []
    for path in sorted(glob.glob(os.path.join(directory, f"{prefix}-*.jsonl"))):
        with open(path, encoding="utf-8") as handle:
            rows.extend(json.loads(line) for line in handle if line.strip())
    for row in rows:
        row.pop(ignore, None)
    return sorted(rows, key=lambda row: json.dumps(row, sort_keys=True))


def _run(output_dir, beam_args=()):
    inputs = (str(EXAMPLES),)
    config = BatchRunConfig(inputs=inputs, output_dir=str(output_dir), beam_args=beam_args)
    return run_batch(config, discover_inputs(list(inputs)))


def test_portable_runner_writes_what_the_direct_runner_writes(tmp_path, job_endpoint):
    direct = _run(tmp_path / "direct")
    portable = _run(
        tmp_path / "portable",
        (
            "--runner=PortableRunner",
            f"--job_endpoint={job_endpoint}",
            "--environment_type=LOOPBACK",
        ),
    )
    # ingested_at / failed_at are the time of each run.
    direct_articles = _records(tmp_path / "direct", "articles", "ingested_at")
    assert direct_articles, "the DirectRunner wrote no articles"
    assert _records(tmp_path / "portable", "articles", "ingested_at") == direct_articles
    assert _records(tmp_path / "portable", "dead-letter", "failed_at") == _records(
        tmp_path / "direct", "dead-letter", "failed_at"
    )
    # Metrics come back through the job service too: the run reports agree.
    for key in (
        "files_read",
        "articles_parsed",
        "articles_written",
        "dead_letters_written",
        "dead_letters",
        "filtered",
        "stages",
    ):
        assert portable[key] == direct[key], key
