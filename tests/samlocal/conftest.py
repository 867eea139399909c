"""`sam local` in Docker, end to end: SAM CLI's own gateway and Lambda containers, on this machine's MariaDB.

`make test-samlocal` runs these (not `make test`: they need a Docker engine, which tools/samlocal installs
and starts). One `sam build` (cached between runs), one `sam local start-api --warm-containers EAGER` on a
private port for the whole session, moto's server on the Docker bridge for the token issuer.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

from devstack import issuer
from devstack.ports import free_port
from devstack.settings import REGION, ROOT
from devstack.subprocess_stack import Reply, http_request
from tools.samlocal_env import sam_local_environment

PARAMETERS = ["PythonRuntime=python3.11", "Architecture=x86_64"]
BUILD_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "people-api" / "sam-build-cache"
STARTUP_TIMEOUT_SECONDS = 240
SAM = [str(ROOT / ".venv" / "bin" / "sam")]


@dataclass(frozen=True)
class SamLocal:
    """What every `sam local` command of the session shares: the built template, the env file, the bridge."""

    template: Path
    env_file: Path
    bridge: str

    def options(self) -> list[str]:
        return [
            "--template",
            str(self.template),
            "--env-vars",
            str(self.env_file),
            "--skip-pull-image",
            "--add-host",
            f"mysql:{self.bridge}",
            "--add-host",
            f"localhost:{self.bridge}",
            "--parameter-overrides",
            *PARAMETERS,
        ]


@dataclass
class Api:
    url: str
    started_in_seconds: float
    output: Path

    def request(self, method: str, path: str, body=None, headers=None, timeout: float = 30) -> Reply:
        return http_request(f"{self.url}{path}", method, body, headers, timeout)


def _sam_env() -> dict[str, str]:
    return os.environ | {"SAM_CLI_TELEMETRY": "0"}


@pytest.fixture(scope="session")
def bridge() -> str:
    """tools/samlocal run as a user runs it (only MariaDB's port: moto runs on the bridge itself here)."""
    out = subprocess.run(
        [str(ROOT / "tools" / "samlocal")],
        env=os.environ | {"SAMLOCAL_PORTS": "3306"},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    found = re.search(r"reach this machine at (\S+)", out.stdout)
    assert found, out.stdout + out.stderr
    return found.group(1)


@pytest.fixture(scope="session")
def built_template(tmp_path_factory) -> Path:
    build_dir = tmp_path_factory.mktemp("sam-build")
    subprocess.run(
        [*SAM, "build", "--build-dir", str(build_dir), "--cached", "--cache-dir", str(BUILD_CACHE)]
        + ["--parameter-overrides", *PARAMETERS],
        cwd=ROOT,
        env=_sam_env(),
        capture_output=True,
        check=True,
    )
    return build_dir / "template.yaml"


@pytest.fixture(scope="session")
def moto_on_bridge(bridge):
    """moto's server where the containers reach it: the local issuer's keys (and an S3)."""
    port = free_port(bridge)
    server = ThreadedMotoServer(ip_address=bridge, port=port, verbose=False)
    server.start()
    yield f"http://{bridge}:{port}", port
    server.stop()


@pytest.fixture(scope="session")
def local_issuer(moto_on_bridge):
    endpoint, _ = moto_on_bridge
    return issuer.create(endpoint, REGION)


@pytest.fixture(scope="session")
def samlocal(bridge, built_template, database, local_issuer, moto_on_bridge, tmp_path_factory) -> SamLocal:
    _, port = moto_on_bridge
    variables = sam_local_environment(local_issuer, port)
    variables["Parameters"]["DB_NAME"] = database.database
    env_file = tmp_path_factory.mktemp("sam-env") / "env.json"
    env_file.write_text(json.dumps(variables))
    return SamLocal(built_template, env_file, bridge)


@pytest.fixture(scope="session")
def api(samlocal, tmp_path_factory):
    """`sam local start-api --warm-containers EAGER` on a private port, until /ping answers; stopped after."""
    port = free_port()
    output = tmp_path_factory.mktemp("sam-api") / "start-api.log"
    started = time.monotonic()
    with output.open("w") as log:
        process = subprocess.Popen(
            [*SAM, "local", "start-api", "--port", str(port), "--warm-containers", "EAGER", *samlocal.options()],
            cwd=ROOT,
            env=_sam_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    running = Api(f"http://127.0.0.1:{port}", 0.0, output)
    try:
        while True:
            if process.poll() is not None or time.monotonic() - started > STARTUP_TIMEOUT_SECONDS:
                pytest.fail(f"sam local start-api did not answer /ping; it printed:\n{output.read_text()}")
            try:
                if running.request("GET", "/ping", timeout=5).status == 200:
                    break
            except OSError:
                time.sleep(1)
        running.started_in_seconds = time.monotonic() - started
        yield running
    finally:
        os.killpg(process.pid, signal.SIGINT)  # SAM CLI stops and removes its warm containers on Ctrl-C
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="session")
def token(local_issuer, moto_on_bridge) -> str:
    endpoint, _ = moto_on_bridge
    return issuer.access_token(endpoint)
