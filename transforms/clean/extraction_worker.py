"""HTML extraction in a child process that is killed past a per-page time limit.

Why a process: a parser stuck on a pathological page cannot be interrupted from
Python. `signal.alarm` only works on the main thread, and Beam runs DoFns on
worker threads; a thread cannot be killed either. A child process can: the
parent waits for the answer with `select` (thread-safe, no signals) and, past
the limit, kills the child and starts a fresh one for the next page.

The child runs this module's `main()` with the same interpreter and sys.path,
speaking length-prefixed JSON frames over its
stdin/stdout. It exits on its own when the parent goes away (stdin closes), so
a worker that is never torn down does not outlive its Beam worker.
"""

from __future__ import annotations

import json
import logging
import os
import select
import struct
import subprocess
import sys
import threading
import time
from dataclasses import asdict

import orjson

from newsbeam.transforms.clean.html_extractor import (
    ExtractionError,
    HtmlExtraction,
    HtmlGuards,
    extract_html,
)

log = logging.getLogger(__name__)

_HEADER = struct.Struct(">I")
# Importing trafilatura and lxml takes ~1 s on an idle core; allow for a busy machine.
STARTUP_TIMEOUT_S = 60.0


class ExtractionWorker:
    """Runs `extract_html` in a killable child process. One page at a time; thread-safe."""

    def __init__(
        self,
        time_limit_s: float,
        guards: HtmlGuards | None = None,
        *,
        max_memory_mb: int | None = 2048,
    ) -> None:
        self.time_limit_s = time_limit_s
        self.guards = guards or HtmlGuards()
        self.max_memory_mb = max_memory_mb
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self.restarts = 0

    # ------------------------------------------------------------- lifecycle

    def start(self) -> None:
        with self._lock:
            self._ensure_started()

    def close(self) -> None:
        with self._lock:
            self._stop()

    def __enter__(self) -> ExtractionWorker:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _ensure_started(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._stop()
        settings = {"guards": asdict(self.guards), "max_memory_mb": self.max_memory_mb}
        # The child gets the parent's exact sys.path: `python -m` would put the
        # current directory first, where a folder named like a package could
        # shadow the installed one.
        bootstrap = (
            "import sys, json; sys.path[:] = json.loads(sys.argv[1]); "
            f"from {__name__} import main; main()"
        )
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                bootstrap,
                json.dumps(sys.path),
                orjson.dumps(settings).decode(),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,  # the child's warnings go to our stderr
            close_fds=True,
        )
        self._proc = proc
        ready = self._read_frame(proc, STARTUP_TIMEOUT_S)
        if ready != {"ready": True}:
            self._stop()
            raise ExtractionError("extraction_failed", "HTML extraction worker failed to start")
        return proc

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()

    # ------------------------------------------------------------ extraction

    def extract(self, html: str) -> HtmlExtraction:
        """Extract one page; raises ExtractionError (reason `timeout` past the limit)."""
        with self._lock:
            proc = self._ensure_started()
            started = time.monotonic()
            try:
                self._write_frame(proc, {"html": html})
                answer = self._read_frame(proc, self.time_limit_s)
            except TimeoutError:
                log.warning("HTML extraction exceeded %.1f s; restarting worker", self.time_limit_s)
                self._stop()
                self.restarts += 1
                raise ExtractionError(
                    "timeout",
                    f"HTML extraction took longer than {self.time_limit_s:g} s ({len(html)} chars)",
                ) from None
            except (BrokenPipeError, EOFError, OSError) as exc:
                code = proc.poll()
                self._stop()
                self.restarts += 1
                raise ExtractionError(
                    "extraction_failed", f"extraction worker died (exit code {code}): {exc}"
                ) from exc
            log.debug("extracted %d chars in %.3f s", len(html), time.monotonic() - started)
        if "error" in answer:
            reason, message = answer["error"]
            raise ExtractionError(reason, message)
        return HtmlExtraction(**answer["ok"])

    @staticmethod
    def _write_frame(proc: subprocess.Popen[bytes], payload: dict) -> None:
        assert proc.stdin is not None
        body = orjson.dumps(payload)
        proc.stdin.write(_HEADER.pack(len(body)) + body)
        proc.stdin.flush()

    @staticmethod
    def _read_frame(proc: subprocess.Popen[bytes], timeout_s: float) -> dict:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + timeout_s

        def read_exactly(size: int) -> bytes:
            chunks: list[bytes] = []
            remaining = size
            while remaining:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([fd], [], [], left)[0]:
                    raise TimeoutError
                chunk = os.read(fd, min(remaining, 1 << 20))
                if not chunk:
                    raise EOFError("extraction worker closed its output")
                chunks.append(chunk)
                remaining -= len(chunk)
            return b"".join(chunks)

        (size,) = _HEADER.unpack(read_exactly(_HEADER.size))
        return orjson.loads(read_exactly(size))


# ------------------------------------------------------------------- child side


def _serve(guards: HtmlGuards, max_memory_mb: int | None) -> None:
    if max_memory_mb:
        import resource

        limit = max_memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # Frames go to the real stdout; anything a library prints goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    stdin = sys.stdin.buffer

    def send(payload: dict) -> None:
        body = orjson.dumps(payload)
        out.write(_HEADER.pack(len(body)) + body)
        out.flush()

    import trafilatura  # noqa: F401  (warm the import before saying ready)

    send({"ready": True})
    while True:
        header = stdin.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return  # parent gone
        (size,) = _HEADER.unpack(header)
        request = orjson.loads(stdin.read(size))
        try:
            send({"ok": asdict(extract_html(request["html"], guards))})
        except ExtractionError as exc:
            send({"error": [exc.reason, str(exc)]})
        except MemoryError:
            send({"error": ["extraction_failed", "page needs more memory than allowed"]})
        except Exception as exc:  # a parser bug on one page must not end the worker
            send({"error": ["extraction_failed", f"{type(exc).__name__}: {exc}"]})


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="extraction-worker: %(message)s")
    settings = orjson.loads(sys.argv[-1]) if len(sys.argv) > 1 else {}
    guards = HtmlGuards(**settings.get("guards", {}))
    _serve(guards, settings.get("max_memory_mb"))


if __name__ == "__main__":
    main()
