"""Headless Chromium driven over the DevTools protocol (CDP), for page tests.

No WebDriver or Playwright needed: Chromium's `--remote-debugging-pipe` reads CDP
commands (JSON, NUL-terminated) on fd 3 and answers on fd 4. The browser is
Debian's `chromium` package (installed by .ci/setup-browser.sh).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-pipe",
)


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _pipes_on_fds_3_and_4(read_fd: int, write_fd: int) -> None:
    """In the child, before exec: first out of the way (either may be 3 or 4), then
    onto 3 and 4 (os.dup2 makes them inheritable)."""
    high_read = fcntl.fcntl(read_fd, fcntl.F_DUPFD_CLOEXEC, 10)
    high_write = fcntl.fcntl(write_fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.dup2(high_read, 3)
    os.dup2(high_write, 4)


@dataclass
class PageVisit:
    """What the browser saw on one page."""

    console: list[str] = field(default_factory=list)  # console messages, exceptions, log errors
    evaluated: Any = None
    screenshot_png: bytes = b""


class Chromium:
    def __init__(self, binary: str, timeout: float = 60.0) -> None:
        self._timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="newsbeam-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # Chromium expects its command pipe on fd 3 and its answer pipe on fd 4.
        self._process = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={self._profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,  # fds 3 and 4 are set up below; the rest are close-on-exec
            preexec_fn=lambda: _pipes_on_fds_3_and_4(to_browser_r, from_browser_w),
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def close(self) -> None:
        with contextlib.suppress(Exception):  # already gone
            self.send("Browser.close")
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        for fd in (self._to_browser, self._from_browser):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self._profile, ignore_errors=True)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for_event(self, method: str, session: str) -> dict:
        for event in self.events:
            if event.get("method") == method and event.get("sessionId") == session:
                return event
        while True:
            event = self._read()
            self.events.append(event)
            if event.get("method") == method and event.get("sessionId") == session:
                return event

    def _read(self) -> dict:
        deadline = time.monotonic() + self._timeout
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            readable, _, _ = select.select([self._from_browser], [], [], max(0.0, remaining))
            if not readable:
                raise TimeoutError(f"no answer from Chromium in {self._timeout:g}s")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed its DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def visit(self, url: str, expression: str, *, width: int = 1200) -> PageVisit:
        """Open `url`, wait for it to load, evaluate `expression` (returned by value),
        take a full-page screenshot, and collect every console message and error."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable", session=session)
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        self.events.clear()
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait_for_event("Page.loadEventFired", session)
        visit = PageVisit()
        visit.evaluated = self.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session
        )["result"].get("value")
        shot = self.send(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True},
            session=session,
        )
        visit.screenshot_png = base64.b64decode(shot["data"])
        for event in self.events:
            if event.get("sessionId") != session:
                continue
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled":
                args = [str(a.get("value", a.get("description", ""))) for a in params["args"]]
                visit.console.append(f"console.{params['type']}: {' '.join(args)}")
            elif method == "Runtime.exceptionThrown":
                visit.console.append(f"exception: {params['exceptionDetails'].get('text')}")
            elif method == "Log.entryAdded":
                entry = params["entry"]
                visit.console.append(f"log.{entry['level']}: {entry.get('text')}")
        self.send("Target.closeTarget", {"targetId": target})
        return visit
