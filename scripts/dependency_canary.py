"""Dependency drift canary: does newsbeam still work with what pip would install today?

The suite runs against the lock (constraints.txt). Users who `pip install newsbeam` get the
newest versions the ranges in pyproject.toml allow, and so may a CI run next month. This
script installs those into a fresh venv, runs the README's main job on the bundled examples
and a fast smoke subset of the tests, and prints one clear line:

    dependency canary: OK (newest allowed versions: 3 newer than the lock: ...)
    dependency canary: WARNING newest allowed versions fail; culprits: apache-beam 2.79.0 ...

It never fails the CI run (exit 0 unless the canary itself is misused): a release made after
the lock was written is reported the next time CI runs, not discovered by a user. On a
failure it names the packages whose newest version breaks the smoke run, by putting each
newer package back to its locked version, one at a time, and re-running the smoke tests.

`--resolution lowest-direct` does the same with the LOWEST versions the ranges allow for the
direct dependencies (resolved by uv): it checks that the lower bounds in pyproject.toml are
honest. `--resolution lock --python PYTHON` installs the lock itself with another Python
(how the supported Python versions are checked: scripts/check_python_versions.sh).

    python scripts/dependency_canary.py [--resolution newest|lowest-direct|lock]
                                        [--python PYTHON] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "constraints.txt"
# One representative test per layer that a dependency release has broken before or could:
# Beam type checking and runners, coders, file and PostgreSQL sinks, Kafka, the stage cores.
SMOKE_TESTS = [
    "tests/test_batch_pipeline.py",
    "tests/test_file_sink.py",
    "tests/test_sinks.py",
    "tests/test_kafka_message.py",
    "tests/test_kafka_stream.py::test_stream_chain_is_one_fused_stage",
    "tests/test_dedup_pipeline.py",
    "tests/test_clean_pipeline.py",
    "tests/test_language_transform.py",
    "tests/test_classify_pipeline.py",
    "tests/test_arrow_schema.py",
    "tests/test_schema.py",
    "tests/test_cli.py",
]
# Beyond this many newer packages, bisecting costs more than it tells.
MAX_SUSPECTS = 8


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def locked_versions() -> dict[str, set[str]]:
    """name -> the versions the lock pins for it (one per Python/platform marker)."""
    pins: dict[str, set[str]] = {}
    for line in LOCK.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        if match:
            pins.setdefault(_name(match.group(1)), set()).add(match.group(2))
    return pins


def _run(cmd: list[str], log: Path, *, env: dict[str, str] | None = None) -> bool:
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(cmd)}\n")
        out.flush()
        return subprocess.run(cmd, cwd=REPO, stdout=out, stderr=out, env=env).returncode == 0


class Venv:
    def __init__(self, root: Path, log: Path, python: str = sys.executable) -> None:
        self.python = python
        self.root = root
        self.log = log
        self.bin = root / "bin"
        self.env = {**os.environ, "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}"}
        self.env.pop("PYTHONPATH", None)

    def create(self) -> bool:
        return _run([self.python, "-m", "venv", str(self.root)], self.log)

    def pip(self, *args: str) -> bool:
        return _run([str(self.bin / "python"), "-m", "pip", *args], self.log, env=self.env)

    def installed(self) -> dict[str, str]:
        out = subprocess.run(
            [str(self.bin / "python"), "-m", "pip", "list", "--format=json"],
            capture_output=True,
            text=True,
            env=self.env,
            check=True,
        ).stdout
        return {_name(item["name"]): item["version"] for item in json.loads(out)}

    def smoke(self, workdir: Path) -> bool:
        """The README's main job on the examples, then the smoke tests."""
        output = workdir / "out"
        shutil.rmtree(output, ignore_errors=True)
        job = [str(self.bin / "newsbeam"), "-q", "run", "examples/articles", "--output"]
        if not _run([*job, str(output)], self.log, env=self.env):
            return False
        if not list(output.glob("articles-*.jsonl")):
            return False
        tests = [str(self.bin / "python"), "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]
        return _run([*tests, *SMOKE_TESTS], self.log, env=self.env)


def _lowest_direct_constraints(workdir: Path, log: Path) -> Path | None:
    target = workdir / "lowest.txt"
    cmd = [sys.executable, "-m", "uv", "pip", "compile", "pyproject.toml", "--extra", "dev"]
    cmd += ["--resolution", "lowest-direct", "--python-version", "3.11", "-q", "-o", str(target)]
    return target if _run(cmd, log) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--resolution", choices=["newest", "lowest-direct", "lock"], default="newest"
    )
    parser.add_argument("--python", default=sys.executable, help="the venv's Python")
    parser.add_argument("--keep", action="store_true", help="keep the venv and log")
    args = parser.parse_args(argv)
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="newsbeam-canary-"))
    log = workdir / "canary.log"
    label = {
        "newest": "newest allowed",
        "lowest-direct": "lowest allowed (direct)",
        "lock": "locked",
    }[args.resolution]
    venv = Venv(workdir / "venv", log, args.python)
    python_version = subprocess.run(
        [args.python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    label += f" versions on Python {python_version},"
    try:
        install = ["install", "-q", "-e", ".[dev]"]
        if args.resolution == "lowest-direct":
            constraints = _lowest_direct_constraints(workdir, log)
            if constraints is None:
                print(f"dependency canary: WARNING {label} do not resolve (see {log})")
                args.keep = True
                return 0
            install = ["install", "-q", "-c", str(constraints), "-e", ".[dev]"]
        elif args.resolution == "lock":
            install = ["install", "-q", "-c", str(LOCK), "-e", ".[dev]"]
        if not (venv.create() and venv.pip(*install)):
            print(f"dependency canary: WARNING {label} do not install (see {log})")
            args.keep = True
            return 0
        locked = locked_versions()
        installed = venv.installed()
        drift = {
            name: (version, "/".join(sorted(locked[name])))
            for name, version in sorted(installed.items())
            if name in locked and version not in locked[name]
        }
        listed = ", ".join(f"{n} {v} (lock {lv})" for n, (v, lv) in drift.items()) or "none"
        differ = f"{len(drift)} differ from the lock: {listed}"
        if venv.smoke(workdir):
            seconds = time.monotonic() - started
            print(f"dependency canary: OK with {label} {differ} [{seconds:.0f} s]")
            return 0
        culprits = _bisect(venv, workdir, drift)
        args.keep = True
        named = ", ".join(culprits) if culprits else "not one alone (a combination, see log)"
        print(
            f"dependency canary: WARNING {label} FAIL the main job or smoke tests; "
            f"culprits: {named}; {differ}; log: {log}"
        )
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def _direct_dependencies() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    texts = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        texts += extra
    return {_name(re.split(r"[\s\[<>=!~;]", text, maxsplit=1)[0]) for text in texts}


def _bisect(venv: Venv, workdir: Path, drift: dict[str, tuple[str, str]]) -> list[str]:
    """Packages whose return to the locked version alone makes the smoke run pass
    (direct dependencies tried first: they are what a release note would name)."""
    direct = _direct_dependencies()
    suspects = sorted(drift.items(), key=lambda item: item[0] not in direct)
    culprits = []
    for name, (version, locked) in suspects[:MAX_SUSPECTS]:
        # Several pins (one per Python marker): the newest is the one for newer Pythons.
        pin = max(locked.split("/"), key=lambda text: [int(p) for p in re.findall(r"\d+", text)])
        if not venv.pip("install", "-q", "--no-deps", f"{name}=={pin}"):
            continue
        if venv.smoke(workdir):
            culprits.append(f"{name} {version} (lock {locked} works)")
        venv.pip("install", "-q", "--no-deps", f"{name}=={version}")
    return culprits


if __name__ == "__main__":
    sys.exit(main())
