"""Cold start of each function against bare handlers, paired run by run.

A cold start here is a whole fresh process: the interpreter starts, imports the handler and answers its
sample event (events/<function>.json) once. Each run measures the function and its baselines one right
after the other, in an order that turns with the run, so that a busy moment of the machine hits them alike;
the ratios are the medians of each run's ratio. The baselines:
  json        a bare handler that imports json and answers with json.dumps
  powertools  a one-route Powertools APIGatewayRestResolver, importing nothing of ours
  validating  the same with enable_validation=True and a typed query parameter
  s3          (import_csv's) a bare S3-event handler that creates a boto3 S3 client and lists the keys
  sqs         (create_export's) a Powertools resolver built and a boto3 SQS client created
CPU is the process's own (user + system, from wait4), wall the parent's clock around it, memory its peak RSS.
The handlers read a throwaway database of their own (DB_* say which server; default local). The authorizer
verifies a freshly signed RS256 token: its first call fetches the issuer's key set (served here on loopback,
so the figure leaves out the internet round trip to Cognito). import_csv's first call is measured up to the
S3 client it creates (what every event needs before its objects), not the import itself (bench/import_benchmark.py);
create_export's up to the SQS client its first request creates (the message needs a queue: moto would measure moto).
Every module is imported from bytecode, as `make build` ships the functions and the layer (docs/deploy.md,
Bytecode): each process finds it under one PYTHONPYCACHEPREFIX, written by a first run of each code that is
not counted.
--tracing also measures what the stack's Tracing=Active parameter changes in the process: the environment
Lambda gives a traced function (README, Tracing), paired the same way.
--functions a,b measures those functions only (folder names under functions/), in the order given.
Run: PYTHONPATH=.:layers .venv/bin/python bench/cold_start.py [--runs N] [--functions a,b] [--tracing]
(`make bench` sets PYTHONPATH)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from devstack.jwks import KeySetServer
from devstack.settings import ROOT

# POST with a body that fails the person rules: the whole request path runs, nothing is written.
EVENT_OVERRIDES = {"create_person": {"body": "{}"}}

CONTEXT = (
    "from types import SimpleNamespace as C\n"
    "ctx = C(function_name='f', memory_limit_in_mb=512, invoked_function_arn='arn', aws_request_id='r')\n"
)

BASELINES = {
    "json": "import json\n"
    "def handler(event, context):\n"
    "    return {'statusCode': 200, 'body': json.dumps({'ok': True})}\n"
    "handler(json.load(open('events/ping.json')), None)\n",
    "powertools": "import json\n"
    "from aws_lambda_powertools.event_handler import APIGatewayRestResolver\n"
    "app = APIGatewayRestResolver()\n"
    "@app.get('/ping')\n"
    "def ping():\n    return {'ok': True}\n"
    "app.resolve(json.load(open('events/ping.json')), None)\n",
    "validating": "import json\n"
    "from typing import Annotated\n"
    "from aws_lambda_powertools.event_handler import APIGatewayRestResolver\n"
    "from aws_lambda_powertools.event_handler.openapi.params import Query\n"
    "app = APIGatewayRestResolver(enable_validation=True)\n"
    "@app.get('/ping')\n"
    "def ping(limit: Annotated[int, Query(ge=1)] = 1) -> dict:\n    return {'ok': True}\n"
    "app.resolve(json.load(open('events/ping.json')), None)\n",
    "sqs": "import boto3\n"
    "from aws_lambda_powertools.event_handler import APIGatewayRestResolver\n"
    "app = APIGatewayRestResolver()\n"
    "boto3.client('sqs')\n",
    "s3": "import json\n"
    "import boto3\n"
    "def handler(event, context):\n"
    "    s3 = boto3.client('s3')\n"
    "    return [record['s3']['object']['key'] for record in event['Records']]\n"
    "handler(json.load(open('events/import_csv.json')), None)\n",
}
API_BASELINES = ("json", "powertools", "validating")
BASELINES_OF = {"import_csv": ("json", "s3"), "create_export": ("json", "powertools", "sqs")}

# What Lambda sets for a function with active tracing (docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html).
TRACED_ENVIRONMENT = {
    "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
}
XRAY_SDK = "from aws_xray_sdk.core import patch, xray_recorder\npatch(['pymysql'])\n"


def handler_code(folder: str, overrides: dict) -> str:
    if folder == "import_csv":
        return f"import functions.{folder}.app\nfrom people_api.imports import s3_import\ns3_import.s3_client()\n"
    if folder == "create_export":
        return f"import functions.{folder}.app\nfrom people_api.exports import s3_export\ns3_export.sqs_client()\n"
    return (
        f"import json\nimport functions.{folder}.app as handler\n{CONTEXT}"
        f"event = json.load(open('events/{folder}.json')) | {overrides!r}\n"
        "handler.lambda_handler(event, ctx)\n"
    )


# The process's peak RSS (KiB), printed last: Linux's VmHWM, which, unlike wait4's ru_maxrss, starts again at exec
# (ru_maxrss would count the forked copy of this benchmark's own process).
PEAK = "\nprint([line for line in open('/proc/self/status') if line.startswith('VmHWM')][0].split()[1])\n"


@dataclass(frozen=True)
class Run:
    cpu_ms: float
    wall_ms: float
    peak_mib: float


def run(code: str, extra_env: dict[str, str] | None = None) -> Run:
    """One fresh process running `code`: its CPU (user + system), the wall time around it, its peak memory."""
    env = os.environ | {"POWERTOOLS_SERVICE_NAME": "bench", "AWS_DEFAULT_REGION": "eu-west-1"} | (extra_env or {})
    t0 = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code + PEAK], cwd=ROOT, env=env, stdout=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = (time.perf_counter() - t0) * 1000
    peak_kib = int(child.stdout.read().split()[-1])
    child.stdout.close()
    if os.waitstatus_to_exitcode(status):
        raise RuntimeError(f"probe failed ({os.waitstatus_to_exitcode(status)}):\n{code}")
    return Run((usage.ru_utime + usage.ru_stime) * 1000, wall, peak_kib / 1024)


def paired(codes: dict[str, str], runs: int, envs: dict[str, dict] | None = None) -> dict[str, list[Run]]:
    """Each code once per run, one after the other, the order turned by one each run (after a first run of each,
    not counted, that leaves its modules' bytecode behind)."""
    names = list(codes)
    for name in names:
        run(codes[name], (envs or {}).get(name))
    results: dict[str, list[Run]] = {name: [] for name in names}
    for i in range(runs):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            results[name].append(run(codes[name], (envs or {}).get(name)))
    return results


def ratio(results: dict[str, list[Run]], name: str, base: str, measure: str = "cpu_ms") -> float:
    """The median of the run-by-run ratios of `name` to `base`."""
    pairs = zip(results[name], results[base], strict=True)
    return statistics.median(getattr(a, measure) / getattr(b, measure) for a, b in pairs)


def median(runs: list[Run], measure: str) -> float:
    return statistics.median(getattr(r, measure) for r in runs)


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
        """A TOKEN event's header with a valid writer's token (signed for the whole benchmark: exp in an hour)."""
        import jwt

        now = int(time.time())
        claims = {"iss": self.ISSUER, "sub": "bench", "client_id": self.CLIENT_ID, "token_use": "access"}
        claims |= {"iat": now, "exp": now + 3600, "cognito:groups": ["people-writers"]}
        token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "bench"})
        return {"authorizationToken": f"Bearer {token}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--functions", help="comma-separated folder names under functions/ (default: all)")
    parser.add_argument("--tracing", action="store_true", help="also measure Tracing=Active's environment")
    args = parser.parse_args()
    from bench.throwaway import throwaway_database
    from devstack.functions import load_functions

    with throwaway_database(), tempfile.TemporaryDirectory(prefix="bytecode-") as bytecode:
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ["PYTHONPYCACHEPREFIX"] = bytecode
        functions = load_functions(ROOT / "template.yaml").values()
        measured = [*sorted(f.code_dir.name for f in functions if f.serves_api), "authorizer", "import_csv"]
        if args.functions:
            asked = args.functions.split(",")
            unknown = set(asked) - set(measured)
            if unknown:
                parser.error(f"no such function: {', '.join(sorted(unknown))} (one of {', '.join(measured)})")
            measured = asked
        issuer = LocalIssuer()
        try:
            overrides = EVENT_OVERRIDES | {"authorizer": issuer.event_overrides()}
            measure(measured, args.runs, overrides)
            if args.tracing:
                measure_tracing(args.runs)
        finally:
            issuer.server.stop()


def measure(folders: list[str], runs: int, overrides: dict) -> None:
    print(f"medians of {runs} runs; ratios: medians of each run's ratio, CPU (wall for the powertools column)")
    print(
        f"{'function':<17}{'cpu ms':>8}{'wall ms':>8}{'peak MiB':>9}  "
        f"{'x json':>7}{'x powertools':>13}{'(wall)':>7}{'x validating':>13}{'x boto3':>8}"
    )
    baselines_shown: set[str] = set()
    for folder in folders:
        bases = BASELINES_OF.get(folder, API_BASELINES)
        codes = {folder: handler_code(folder, overrides.get(folder, {}))} | {b: BASELINES[b] for b in bases}
        results = paired(codes, runs)
        ours = results[folder]
        cells = {b: f"{ratio(results, folder, b):.2f}" for b in bases}
        wall = f"{ratio(results, folder, 'powertools', 'wall_ms'):.2f}" if "powertools" in bases else "-"
        peak = max(r.peak_mib for r in ours)
        print(
            f"{folder:<17}{median(ours, 'cpu_ms'):>8.1f}{median(ours, 'wall_ms'):>8.1f}{peak:>9.1f}  "
            f"{cells.get('json', '-'):>7}{cells.get('powertools', '-'):>13}{wall:>7}"
            f"{cells.get('validating', '-'):>13}{cells.get('s3', cells.get('sqs', '-')):>8}"
        )
        for base in bases:
            if base not in baselines_shown:
                baselines_shown.add(base)
                r = results[base]
                print(
                    f"  baseline {base:<7}{median(r, 'cpu_ms'):>8.1f}{median(r, 'wall_ms'):>8.1f}"
                    f"{max(x.peak_mib for x in r):>9.1f}"
                )


def measure_tracing(runs: int) -> None:
    print("\nTracing=Active: the same handlers in a traced Lambda's environment (CPU, medians, paired)")
    print(f"{'handler':<18}{'untraced ms':>12}{'traced ms':>11}{'traced/untraced':>17}")
    for folder in ("ping", "list_people", "create_person"):
        code = handler_code(folder, EVENT_OVERRIDES.get(folder, {}))
        results = paired({"untraced": code, "traced": code}, runs, {"traced": TRACED_ENVIRONMENT})
        plain, traced = median(results["untraced"], "cpu_ms"), median(results["traced"], "cpu_ms")
        print(f"{folder:<18}{plain:>12.1f}{traced:>11.1f}{ratio(results, 'traced', 'untraced'):>17.2f}")
    sdk = median(paired({"sdk": XRAY_SDK}, runs)["sdk"], "cpu_ms")
    print(f"X-Ray SDK import + patch(pymysql), not shipped (whole process): {sdk:7.1f} ms")


if __name__ == "__main__":
    main()
