"""env.json for `sam local`: env.example.json plus the authorizer's AUTH_* for the local issuer of `make dev`.

Usage: `.venv/bin/python -m tools.samlocal_env` while `make dev` runs (same S3_PORT); tools/samlocal runs it.
The containers reach moto's server (which serves the issuer's keys) through `--add-host localhost:<bridge>`:
the authorizer fetches keys over plain HTTP only from a loopback name (people_api.config.auth_settings),
and in the container `localhost` then also names the Docker host, where tools/samlocal forwards the port.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

from devstack import issuer
from devstack.issuer import LocalIssuer, NoLocalIssuer
from devstack.settings import ROOT, Settings

EXAMPLE = ROOT / "env.example.json"


def sam_local_environment(local_issuer: LocalIssuer, port: int, example: Path = EXAMPLE) -> dict:
    """The --env-vars file's content: every function's variables of env.example.json, and the authorizer's."""
    variables = json.loads(example.read_text())
    variables["AuthorizerFunction"] = replace(local_issuer, endpoint=f"http://localhost:{port}").environment
    return variables


def main() -> int:
    settings = Settings.from_environ()
    try:
        found = issuer.find(settings.s3_url)
    except NoLocalIssuer as problem:
        print(f"env.json not written: {problem}", file=sys.stderr)
        return 1
    target = ROOT / "env.json"
    target.write_text(json.dumps(sam_local_environment(found, settings.s3_port), indent=2) + "\n")
    print(f"wrote {target.relative_to(ROOT)}: env.example.json and the AUTH_* of `make dev`'s issuer ({found.pool_id})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
