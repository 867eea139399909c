"""Cold start of each API handler: a fresh interpreter imports it and serves one request.

Baselines measured in the same run, on the same machine:
  bare        `python -c pass` (interpreter start)
  powertools  a one-route Powertools resolver without validation, importing nothing of ours
The handlers read a throwaway database of their own (DB_* say which server; default local).
The authorizer verifies a freshly signed RS256 token: its first call fetches the issuer's key set
(served here on loopback, so the figure leaves out the internet round trip to Cognito).
--tracing also measures what the stack's Tracing=Active parameter changes in the process: the
environment Lambda gives a traced function (README, Tracing), and, for comparison, what the X-Ray
SDK would add if the code recorded its own subsegments (the layer does not ship it).
Run: PYTHONPATH=.:layers .venv/bin/python bench/cold_start.py [--runs N] [--tracing]   (`make bench` sets PYTHONPATH so)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid

from devstack.jwks import KeySetServer
from devstack.settings import ROOT

# POST with a body that fails the person rules: the whole request path runs, nothing is written.
EVENT_OVERRIDES = {"create_person": {"body": "{}"}}

PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
{imports}
t1 = time.perf_counter()
{invoke}
t2 = time.perf_counter()
print(json.dumps({{"import_ms": (t1 - t0) * 1000, "first_call_ms": (t2 - t1) * 1000,
                  "boto3": "boto3" in sys.modules}}))
"""

BASELINE_RESOLVER = PROBE.format(
    imports="from aws_lambda_powertools.event_handler import APIGatewayRestResolver\n"
    "app = APIGatewayRestResolver()\n"
    "@app.get('/ping')\n"
    "def ping():\n    return {'ok': True}",
    invoke="app.resolve(json.load(open('events/ping.json')), None)",
)


# What Lambda sets for a function with active tracing (docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html).
TRACED_ENVIRONMENT = {
    "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
}
XRAY_SDK_PROBE = PROBE.format(
    imports="from aws_xray_sdk.core import patch, xray_recorder\npatch(['pymysql'])",
    invoke="pass",
)


def handler_probe(folder: str, event: str, overrides: dict) -> str:
    return PROBE.format(
        imports=f"import functions.{folder}.app as handler",
        invoke="from types import SimpleNamespace as C\n"
        "ctx = C(function_name='f', memory_limit_in_mb=512, invoked_function_arn='arn', aws_request_id='r')\n"
        f"event = json.load(open('events/{event}.json')) | {overrides!r}\n"
        "handler.lambda_handler(event, ctx)",
    )


class LocalIssuer:
    """An RSA key, its JWKS served on loopback, and AUTH_* naming it, for the authorizer's first call."""

    ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_bench"
    CLIENT_ID = "bench-client"

    def __init__(self):
        import jwt
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        key_set = {"keys": [public | {"kid": "bench", "alg": "RS256", "use": "sig"}]}
        self.server = KeySetServer(lambda: key_set)
        os.environ.update(AUTH_ISSUER=self.ISSUER, AUTH_AUDIENCE=self.CLIENT_ID, AUTH_JWKS_URL=self.server.url)

    def event_overrides(self) -> dict:
        """A TOKEN event's header with a valid writer's token (signed now, so each run gets a fresh one)."""
        import jwt

        now = int(time.time())
        claims = {"iss": self.ISSUER, "sub": "bench", "client_id": self.CLIENT_ID, "token_use": "access"}
        claims |= {"iat": now, "exp": now + 600, "cognito:groups": ["people-writers"]}
        token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "bench"})
        return {"authorizationToken": f"Bearer {token}"}


def run(code: str, extra_env: dict[str, str] | None = None) -> dict:
    env = os.environ | {"POWERTOOLS_SERVICE_NAME": "bench"}  # PYTHONPATH: the repository and the layer (Makefile)
    env |= extra_env or {}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def wall_ms(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, check=True)
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tracing", action="store_true", help="also measure Tracing=Active's environment")
    args = parser.parse_args()
    from devstack.functions import load_functions
    from people_api import db, migrations
    from people_api.config import database_settings

    os.environ.pop("DB_SECRET_ARN", None)
    os.environ["DB_NAME"] = f"people_bench_{uuid.uuid4().hex[:12]}"
    settings = database_settings()
    migrations.create_database(settings)
    conn = db.connect(settings)
    try:
        migrations.migrate(conn)
        functions = load_functions(ROOT / "template.yaml").values()
        api_functions = sorted(f.code_dir.name for f in functions if f.serves_api)
        issuer = LocalIssuer()
        try:
            measure([*api_functions, "authorizer"], range(args.runs), {"authorizer": issuer.event_overrides})
            if args.tracing:
                measure_tracing(range(args.runs))
        finally:
            issuer.server.stop()
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{settings.database}`")
        conn.close()


def overrides(folder: str, made_per_run: dict) -> dict:
    """What replaces parts of the sample event: made afresh for each run where a maker is given."""
    return made_per_run[folder]() if folder in made_per_run else EVENT_OVERRIDES.get(folder, {})


def measure(folders: list[str], runs: range, event_overrides: dict) -> None:
    """Each folder's handler (functions/<folder>/app.py) with its sample event, events/<folder>.json."""
    bare = statistics.median(wall_ms([sys.executable, "-c", "pass"]) for _ in runs)
    base = [run(BASELINE_RESOLVER) for _ in runs]
    base_total = statistics.median(r["import_ms"] + r["first_call_ms"] for r in base)
    print(f"interpreter start (bare python): {bare:7.1f} ms")
    print(f"baseline, Powertools resolver without validation: {base_total:7.1f} ms (import + first call)")
    print(f"{'handler':<18}{'import ms':>10}{'1st call ms':>12}{'total ms':>10}{'x baseline':>11}  boto3 loaded")
    for folder in folders:
        results = [run(handler_probe(folder, folder, overrides(folder, event_overrides))) for _ in runs]
        imp = statistics.median(r["import_ms"] for r in results)
        first = statistics.median(r["first_call_ms"] for r in results)
        boto = any(r["boto3"] for r in results)
        print(f"{folder:<18}{imp:>10.1f}{first:>12.1f}{imp + first:>10.1f}{(imp + first) / base_total:>11.2f}  {boto}")


def total_ms(result: dict) -> float:
    return result["import_ms"] + result["first_call_ms"]


def measure_tracing(runs: range) -> None:
    print("\nTracing=Active: the same handlers in a traced Lambda's environment (medians, import + first call)")
    print(f"{'handler':<18}{'untraced ms':>12}{'traced ms':>11}{'traced/untraced':>17}")
    for folder in ("ping", "list_people", "create_person"):
        probe = handler_probe(folder, folder, EVENT_OVERRIDES.get(folder, {}))
        plain, traced = [], []
        for i in runs:  # alternated, first one then the other first: a busy moment hits both alike
            for environment in ({}, TRACED_ENVIRONMENT) if i % 2 else (TRACED_ENVIRONMENT, {}):
                (traced if environment else plain).append(total_ms(run(probe, environment)))
        plain_ms, traced_ms = statistics.median(plain), statistics.median(traced)
        print(f"{folder:<18}{plain_ms:>12.1f}{traced_ms:>11.1f}{traced_ms / plain_ms:>17.2f}")
    sdk = statistics.median(run(XRAY_SDK_PROBE)["import_ms"] for _ in runs)
    print(f"X-Ray SDK import + patch(pymysql), not shipped: {sdk:7.1f} ms")


if __name__ == "__main__":
    main()
