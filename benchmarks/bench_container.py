"""The application image against the same job run directly on the host, in one run.

Prints the image's size (and what the Dockerfile adds on top of its base), the cost of
starting a container, the batch job's wall time and peak memory (`newsbeam run` over
generated articles) and the stream job's start-up (process start to its first output record
on the test broker) and resident memory after that -- each in the container and on the host,
with the ratio. Build the image first: `deploy/build-image.sh`.

    python benchmarks/bench_container.py --articles 2000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson
from kafka import KafkaConsumer, TopicPartition

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests"))
from corpus import articles  # noqa: E402
from kafka_broker import TansuBroker  # noqa: E402

from newsbeam import __version__  # noqa: E402

# Runs a command and prints its peak resident memory (the largest child's, in KB) last.
PEAK_RSS = (
    "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
    "sys.exit(code)"
)


def engine() -> str:
    for name in ("podman", "docker"):
        if shutil.which(name):
            return name
    sys.exit("bench_container: neither podman nor docker is installed")


def inspect(eng: str, image: str) -> dict:
    out = subprocess.run([eng, "image", "inspect", image], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"bench_container: no image {image}: build it with deploy/build-image.sh")
    return json.loads(out.stdout)[0]


def timed(command: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"bench_container: {' '.join(command[:6])}... failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - start, done


def container(eng: str, image: str, *args: str) -> list[str]:
    return [eng, "run", "--rm", "--no-healthcheck", "--read-only", "--tmpfs", "/tmp", *args]


def batch(eng: str, image: str, folder: Path, repeat: int) -> dict[str, tuple[float, float]]:
    """Best wall time and its peak RSS (MB) of `newsbeam run`, host and container."""
    out = folder / "out"
    out.mkdir(mode=0o777)
    out.chmod(0o777)
    runs = {
        "host": [sys.executable, "-c", PEAK_RSS, "newsbeam", "run", str(folder / "in")],
        "container": container(
            eng,
            image,
            "--network",
            "none",
            "-v",
            f"{folder}:{folder}",
            "--entrypoint",
            "python",
            image,
            "-c",
            PEAK_RSS,
            "newsbeam",
            "run",
            str(folder / "in"),
        ),
    }
    best: dict[str, tuple[float, float]] = {}
    for _ in range(repeat):
        for where, command in runs.items():  # alternated: load from others hits both alike
            wall, done = timed([*command, "--output", str(out / where)])
            rss_mb = int(done.stderr.strip().splitlines()[-1]) / 1024
            if where not in best or wall < best[where][0]:
                best[where] = (wall, rss_mb)
    return best


def first_record(bootstrap: str, topic: str, timeout: float = 180) -> None:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek(tp, 0)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if consumer.poll(timeout_ms=100):
                return
        sys.exit("bench_container: the stream job wrote nothing")
    finally:
        consumer.close()


def rss_mb(pid: int) -> float:
    """Resident memory of a host process and its children (the job under tini, Beam's)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        status = Path(f"/proc/{p}/status").read_text()
        total += int(
            next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]
        )
        for task in Path(f"/proc/{p}/task").iterdir():
            todo += [int(c) for c in (task / "children").read_text().split()]
    return total / 1024


def stream(eng: str, image: str, broker: TansuBroker, where: str) -> tuple[float, float]:
    """Seconds from start to the first output record, and resident MB 10 s after it."""
    tag = uuid.uuid4().hex[:8]
    raw, out, dlq = f"raw-{tag}", f"out-{tag}", f"dlq-{tag}"
    broker.create_topics(raw, out, dlq)
    broker.produce(raw, [(None, orjson.dumps(next(articles(1))), ())])
    args = [
        "stream",
        "--bootstrap-servers",
        broker.bootstrap_servers,
        "--topic",
        raw,
        "--output-topic",
        out,
        "--dead-letter-topic",
        dlq,
    ]
    name = f"bench-{tag}"
    start = time.perf_counter()
    if where == "host":
        job = subprocess.Popen(
            [sys.executable, "-m", "newsbeam", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        pid = job.pid
    else:
        run = [
            eng,
            "run",
            "-d",
            "--name",
            name,
            "--network",
            "host",
            "--read-only",
            "--tmpfs",
            "/tmp",
            "--no-healthcheck",
            image,
            *args,
        ]
        subprocess.run(run, check=True, capture_output=True)
    first_record(broker.bootstrap_servers, out)
    seconds = time.perf_counter() - start
    time.sleep(10)
    if where == "host":
        memory = rss_mb(pid)
        job.terminate()
        job.wait(timeout=60)
    else:
        state = subprocess.run(
            [eng, "inspect", "--format", "{{.State.Pid}}", name],
            capture_output=True,
            text=True,
            check=True,
        )
        memory = rss_mb(int(state.stdout))
        subprocess.run([eng, "stop", "--time", "60", name], capture_output=True)
        subprocess.run([eng, "rm", "-f", name], capture_output=True)
    return seconds, memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default=f"newsbeam:{__version__}")
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    eng = engine()

    meta = inspect(eng, args.image)
    base_name = meta.get("Labels", {}).get("org.opencontainers.image.base.name")
    base = inspect(eng, base_name)["Size"] if base_name else 0
    print(
        f"image {args.image} ({eng}): {meta['Size'] / 1e6:.0f} MB; base {base_name}: "
        f"{base / 1e6:.0f} MB; added by deploy/Dockerfile: {(meta['Size'] - base) / 1e6:.0f} MB"
    )

    host_s = statistics.median(
        timed([sys.executable, "-m", "newsbeam", "--version"])[0] for _ in range(args.repeat)
    )
    ctr_s = statistics.median(
        timed(container(eng, args.image, "--network", "none", args.image, "--version"))[0]
        for _ in range(args.repeat)
    )
    print(
        f"`newsbeam --version`: host {host_s:.2f} s, container {ctr_s:.2f} s "
        f"(start cost {ctr_s - host_s:+.2f} s)"
    )

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        folder.chmod(0o777)
        (folder / "in").mkdir()
        lines = b"".join(orjson.dumps(a) + b"\n" for a in articles(args.articles))
        (folder / "in" / "articles.jsonl").write_bytes(lines)
        best = batch(eng, args.image, folder, args.repeat)
    (h_wall, h_rss), (c_wall, c_rss) = best["host"], best["container"]
    print(
        f"batch job, {args.articles} articles (best of {args.repeat}): host {h_wall:.1f} s "
        f"{h_rss:.0f} MB peak, container {c_wall:.1f} s {c_rss:.0f} MB peak "
        f"(wall x{c_wall / h_wall:.2f}, memory x{c_rss / h_rss:.2f})"
    )

    broker = TansuBroker.start()
    try:
        h_start, h_mem = stream(eng, args.image, broker, "host")
        c_start, c_mem = stream(eng, args.image, broker, "container")
    finally:
        broker.stop()
    print(
        f"stream job, start to first output record: host {h_start:.1f} s, container "
        f"{c_start:.1f} s (x{c_start / h_start:.2f}); resident 10 s later: host {h_mem:.0f} MB, "
        f"container {c_mem:.0f} MB (x{c_mem / h_mem:.2f})"
    )


if __name__ == "__main__":
    main()
