"""Headless Chromium (Debian's `chromium`) driven over the DevTools protocol, for the tests a browser must run.

One browser per `headless_chromium()`, with a fresh profile, no network of its own (no updates, sync
or background requests) and its pages reached through websocket-client.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import websocket

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--remote-debugging-port=0",
)
STARTUP_TIMEOUT_SECONDS = 30


class JavaScriptError(Exception):
    """An expression evaluated in the page threw."""


class Page:
    """One tab: navigate, evaluate JavaScript (awaiting promises), wait for a condition, take a screenshot."""

    def __init__(self, socket: websocket.WebSocket):
        self._socket = socket
        self._ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []  # every event the page sent (Network.*, Log.*...)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self._ids)
        self._socket.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]
            self.events.append(message)

    def goto(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise JavaScriptError(result["exceptionDetails"].get("exception", {}).get("description", result))
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30) -> Any:
        """The expression's value once it is truthy; fails the test after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.evaluate(expression)
            except JavaScriptError:
                value = None  # the page is still loading: its scripts are not there yet
            if value:
                return value
            if time.monotonic() > deadline:
                pytest.fail(f"the page never made {expression!r} true")
            time.sleep(0.2)

    def screenshot(self, path: Path, width: int = 1280) -> None:
        """The whole page, `width` pixels wide, as a PNG."""
        self.resize(width, int(self.evaluate("document.documentElement.scrollHeight")))
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))

    def resize(self, width: int, height: int) -> None:
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)

    def requested_urls(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def console_errors(self) -> list[str]:
        entries = [e["params"]["entry"] for e in self.events if e.get("method") == "Log.entryAdded"]
        return [entry["text"] for entry in entries if entry["level"] == "error"]


class Browser:
    def __init__(self, port: int):
        self._port = port

    @contextmanager
    def page(self, width: int = 1280, height: int = 900) -> Iterator[Page]:
        """A new tab, with network and console events recorded; closed afterwards."""
        request = urllib.request.Request(f"http://127.0.0.1:{self._port}/json/new?about:blank", method="PUT")
        with urllib.request.urlopen(request, timeout=10) as response:
            target = json.load(response)
        socket = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        try:
            page = Page(socket)
            for domain in ("Page", "Network", "Log", "Runtime"):
                page.call(f"{domain}.enable")
            page.resize(width, height)
            yield page
        finally:
            socket.close()
            urllib.request.urlopen(f"http://127.0.0.1:{self._port}/json/close/{target['id']}", timeout=10).close()


@contextmanager
def headless_chromium() -> Iterator[Browser]:
    """Chromium in its own process group with a fresh profile; where it is not installed, skipped (failed in CI)."""
    executable = shutil.which("chromium")
    if executable is None:
        missing = "Debian's chromium is not installed (apt-get install chromium; .ci/run installs it)"
        pytest.fail(missing) if os.environ.get("CI") else pytest.skip(missing)
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            yield Browser(_debugging_port(Path(profile), process))
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _debugging_port(profile: Path, process: subprocess.Popen) -> int:
    """The DevTools port Chromium chose, from the file it writes into its profile."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    port_file = profile / "DevToolsActivePort"
    while not (port_file.is_file() and port_file.read_text().strip()):
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail("chromium did not start its DevTools endpoint")
        time.sleep(0.1)
    return int(port_file.read_text().splitlines()[0])
