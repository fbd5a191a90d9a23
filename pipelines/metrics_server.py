"""`newsbeam stream --metrics-port`: one HTTP port for Prometheus and Kubernetes.

    /metrics   the job's metrics (stream_metrics.py) in Prometheus' text format,
               rendered by prometheus-client (OpenMetrics when the scraper asks)
    /healthz   200 while the pipeline is alive: a bundle completed within
               `max_age_s` (the local runner finishes bundles also when no message
               arrives), or the job started less than `max_age_s` ago; else 503
    /readyz    200 once the first bundle completed and no stop was requested; else 503

The port is bound before the job starts, so a port in use is reported as a usage
error instead of a failure an hour later. The server runs on daemon threads; the
liveness verdict is computed per request, so a stuck pipeline turns /healthz to 503
even though the HTTP thread still answers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app

from newsbeam.pipelines.health import DEFAULT_INTERVAL_S
from newsbeam.pipelines.stream_metrics import StreamMetrics

logger = logging.getLogger(__name__)

DEFAULT_MAX_AGE_S = 60.0
assert DEFAULT_MAX_AGE_S > DEFAULT_INTERVAL_S  # same verdict as the health file's probe


class MetricsPortError(OSError):
    """The metrics port cannot be bound (in use, not permitted, bad address)."""


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args) -> None:  # scrapes every few seconds
        logger.debug("metrics http: " + format, *args)


class Probes:
    """The /healthz and /readyz verdicts (Beam-free; clock injectable for tests)."""

    def __init__(
        self,
        metrics: StreamMetrics,
        *,
        max_age_s: float = DEFAULT_MAX_AGE_S,
        stopping: Callable[[], bool] = lambda: False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._metrics = metrics
        self._max_age_s = max_age_s
        self._stopping = stopping
        self._clock = clock
        self._started = clock()

    def healthy(self) -> tuple[bool, str]:
        now = self._clock()
        last = self._metrics.last_bundle
        if last is None:
            if now - self._started <= self._max_age_s:
                return True, "starting"
            return False, f"no bundle completed in {now - self._started:.0f}s since the start"
        if now - last <= self._max_age_s:
            return True, "ok"
        return False, f"last bundle completed {now - last:.0f}s ago"

    def ready(self) -> tuple[bool, str]:
        if self._stopping():
            return False, "stopping"
        if self._metrics.last_bundle is None:
            return False, "starting"
        return True, "ok"


class MetricsServer:
    """Bound at construction (errors are MetricsPortError); serving after start()."""

    def __init__(
        self,
        port: int,
        host: str = "0.0.0.0",
        *,
        metrics: StreamMetrics | None = None,
        max_age_s: float = DEFAULT_MAX_AGE_S,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.metrics = metrics or StreamMetrics()
        self.probes = Probes(self.metrics, max_age_s=max_age_s, stopping=stopping)
        self._metrics_app = make_wsgi_app(self.metrics.registry)
        try:
            self._server = make_server(
                host, port, self._app, server_class=_ThreadingServer, handler_class=_QuietHandler
            )
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise MetricsPortError(
                f"--metrics-port {port}: cannot listen on {host}:{port} ({reason})"
            ) from exc
        self.port = self._server.server_port
        self.host = host
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="newsbeam-metrics", daemon=True
        )
        self._thread.start()
        logger.info("metrics on http://%s:%d/metrics (/healthz, /readyz)", self.host, self.port)

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> MetricsServer:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _app(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path in ("/healthz", "/readyz"):
            ok, detail = self.probes.healthy() if path == "/healthz" else self.probes.ready()
            status = "200 OK" if ok else "503 Service Unavailable"
            start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
            return [f"{detail}\n".encode()]
        if path in ("/metrics", "/"):
            return self._metrics_app(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"not found: try /metrics, /healthz or /readyz\n"]
