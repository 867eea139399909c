"""`python -m devstack` in a subprocess, for the e2e tests and the benchmarks: its own process group, free ports,
a database of its own (dropped afterwards)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from devstack.ports import free_port
from devstack.settings import LAYER_DIR, ROOT, aws_client
from people_api import db
from people_api.config import database_settings

STARTUP_TIMEOUT_SECONDS = 45


class StackFailed(Exception):
    """The stack did not do what was waited for; the message has its whole output."""


def is_listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Reply:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def json(self):
        return json.loads(self.body)


def http_request(
    url: str, method: str, body: dict | bytes | None = None, headers: dict[str, str] | None = None, timeout: float = 10
) -> Reply:
    """One HTTP request to `url` as it is (percent-encode it yourself), a dict body as JSON."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = urllib.request.Request(url, data=data, method=method)
    for name, value in ({"Content-Type": "application/json"} | (headers or {})).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Reply(response.status, response.read().decode(), dict(response.headers))
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.read().decode(), dict(error.headers))


@dataclass
class Stack:
    process: subprocess.Popen
    api_port: int
    s3_port: int
    database: str
    bucket: str = "people-import"
    lines: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise StackFailed(f"devstack never printed {text!r}; it printed:\n{self.output}")
            time.sleep(0.1)

    def request(
        self,
        method: str,
        path: str,
        body: dict | bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10,
    ) -> Reply:
        """One HTTP request; `path` is sent as it is (percent-encode it yourself), a dict body as JSON."""
        return http_request(f"{self.url}{path}", method, body, headers, timeout)

    def token(self) -> str:
        """What `make token` prints for this stack (its S3_PORT, as `make dev` was given)."""
        env = os.environ | {"S3_PORT": str(self.s3_port)}
        out = subprocess.run(["make", "-s", "token"], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        lines = out.stdout.splitlines()
        assert len(lines) == 1, out.stdout
        return lines[0]

    def s3(self):
        return aws_client("s3", f"http://127.0.0.1:{self.s3_port}")


@contextmanager
def running_stack(**environment: str) -> Iterator[Stack]:
    """devstack in its own process group, on free ports and a database of its own (dropped after)."""
    database = f"people_e2e_{uuid.uuid4().hex[:12]}"
    env = os.environ | {
        "DB_NAME": database,
        "API_PORT": str(free_port()),
        "S3_PORT": str(free_port()),
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": f"{ROOT}{os.pathsep}{LAYER_DIR}",  # as the Makefile sets it for `make dev`
        **environment,
    }
    env.pop("DB_SECRET_ARN", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    running = Stack(process, int(env["API_PORT"]), int(env["S3_PORT"]), database)
    reader = threading.Thread(target=lambda: running.lines.extend(line.rstrip("\n") for line in process.stdout))
    reader.start()
    try:
        running.wait_for_line("ready in", STARTUP_TIMEOUT_SECONDS)
        yield running
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        reader.join()
        _drop_database(database)


def _drop_database(name: str) -> None:
    conn = db.connect(database_settings(), database=None)
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        conn.close()
