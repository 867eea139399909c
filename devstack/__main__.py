"""`python -m devstack` (`make dev`): MySQL found or started, then the API and the import bucket until Ctrl-C."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import sys
import threading
import time
from contextlib import ExitStack

from devstack import logs
from devstack.settings import REGION, ROOT, TEMPLATE, Settings, database_environment

SEED_CSV = ROOT / "people.csv"
EXPORT_QUEUE = "ExportQueue"  # the template's queue POST /exports sends to
SEED_TIMEOUT_SECONDS = 60


def _prepare_environment(settings: Settings) -> None:
    """The process environment of devstack's own boto3 and of every execution environment (each adds its
    function's template variables under it); set before anything imports boto3."""
    os.environ.update(
        # Fake credentials, and every AWS call to the local moto server: nothing here reaches AWS.
        AWS_ACCESS_KEY_ID="devstack",
        AWS_SECRET_ACCESS_KEY="devstack",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_ENDPOINT_URL=settings.s3_url,
        AWS_ENDPOINT_URL_S3=settings.s3_url,
        DB_SECRET_ARN="",  # a local stack has no secret: DB_* (or their defaults) say everything
    )
    os.environ.pop("AWS_PROFILE", None)
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "people-api")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    # Page cursors are signed with a key of this run's (template.yaml: a generated secret in AWS).
    os.environ.setdefault("CURSOR_KEY", secrets.token_urlsafe(32))


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def main() -> int:
    started_at = time.monotonic()
    settings = Settings.from_environ()
    _prepare_environment(settings)
    logs.install()

    # Imported after the environment and the terminal are set: boto3 and the layer read them.
    from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

    from devstack import issuer, mysql
    from devstack.api import ApiServer, api_gateway
    from devstack.bucket import ImportBucket
    from devstack.functions import LambdaRunner, template_functions
    from devstack.queues import Queues
    from devstack.schedule import Schedules
    from people_api.config import database_settings

    parameters = {
        "PeopleReadsAuthorizer": settings.reads_authorizer,
        "CorsAllowedOrigins": settings.cors_allowed_origins,
    }
    stacks, _ = SamLocalStackProvider.get_stacks(str(TEMPLATE), parameter_overrides=parameters)
    functions = template_functions(stacks, ROOT)
    logs.align([*functions, "api", "s3", "sqs", "schedule"])

    for name, port in (("API_PORT", settings.api_port), ("S3_PORT", settings.s3_port)):
        if not _port_is_free(settings.host, port):
            logs.say(f"{settings.host}:{port} is in use; stop what listens there or set {name} to another port")
            return 1

    database = database_settings()
    try:
        started_mysql = mysql.ensure_database(database)
    except mysql.NoMySQL as problem:
        logs.say(str(problem))
        return 1
    os.environ.update(database_environment(database))  # no RDS Proxy here: the functions talk to the server directly

    for function in functions.values():
        function.concurrency = settings.function_concurrency or function.concurrency
    runner = LambdaRunner(functions, REGION)
    bucket = ImportBucket(runner, settings.host, settings.s3_port, settings.bucket, REGION)
    api = ApiServer(api_gateway(stacks, runner), settings.host, settings.api_port)
    with ExitStack() as running:
        running.callback(logs.say, "stopped")
        if started_mysql:
            running.callback(mysql.stop_compose_mysql)
        running.callback(runner.stop)
        bucket.start()
        running.callback(bucket.stop)
        # The export's bucket and queue (with its poller), in the same moto server.
        bucket.client("s3").create_bucket(Bucket=settings.export_bucket)
        queues = Queues(runner, bucket.client("sqs"), stacks[0].resources, REGION)
        queues.start()
        running.callback(queues.stop)
        # Before the first request: a function's environments take devstack's environment on its first call.
        os.environ.update(issuer.create(bucket.url, REGION).environment)
        os.environ.update(EXPORT_BUCKET=settings.export_bucket, EXPORT_QUEUE_URL=queues.urls[EXPORT_QUEUE])
        api.start()
        running.callback(api.stop)
        running.callback(logs.say, "stopping")
        # The seed's import and the scheduled functions at once: their cold starts overlap.
        seeding = threading.Thread(target=_seed, args=(bucket,), name="seed", daemon=True)
        if settings.seed:
            seeding.start()
        # Once now (as if each rule had just fired), then daily: a local stack rarely runs until a cron's hour.
        schedules = Schedules(runner, REGION)
        schedules.start()
        running.callback(schedules.stop)
        if settings.seed:
            seeding.join()
        _banner(settings, database, time.monotonic() - started_at)
        threading.Event().wait()  # until Ctrl-C (SIGINT) or SIGTERM
    return 0


def _seed(bucket) -> None:
    """people.csv into the bucket, imported as any upload is; waits for the import."""
    bucket.put(SEED_CSV, SEED_CSV.name)
    if not bucket.wait_until_handled(SEED_CSV.name, SEED_TIMEOUT_SECONDS):
        logs.say(f"{SEED_CSV.name} was not imported within {SEED_TIMEOUT_SECONDS} s; going on without it")


def _interrupt(_signal: int, _frame) -> None:
    raise KeyboardInterrupt


_READS_NEED_A_TOKEN = "; the people reads need a token too"


def _banner(settings: Settings, database, seconds: float) -> None:
    """What runs where, and commands to try, each as it must be typed for this stack (its ports and bucket)."""
    api_url, s3_url, find = settings.api_url, settings.s3_url, settings.finding_variables
    reads = _READS_NEED_A_TOKEN if settings.reads_authorizer else ""
    bearer = f'-H "Authorization: Bearer $({find}make -s token)"'
    for line in (
        f"ready in {seconds:.1f} s (Ctrl-C stops everything)",
        f"  API       {api_url}   (the routes of template.yaml{reads})",
        f"  S3        {s3_url}   bucket {settings.bucket}: a .csv put there is imported",
        "  schedule  the template's scheduled functions ran at start and run every 24 hours (docs/dev.md)",
        f"  MySQL     {database.user}@{database.host}:{database.port}, database {database.database}",
        f"  try       curl {bearer + ' ' if reads else ''}{api_url}/people/age",
        f"  docs      {api_url}/docs   (every operation, to read and try in a browser)",
        f"  token     {find}make token   (prints an access token of the local issuer, allowed everything; 1 hour)",
        f'  write     curl {bearer} -H "Content-Type: application/json"'
        f' -d \'{{"first_name": "Ada", "last_name": "Lovelace", "age": 36}}\' {api_url}/people',
        f"  import    {find}make put FILE=my.csv   (or any S3 client on {s3_url}; any credentials do)",
        f"            then curl {bearer} {api_url}/imports",
        f"  export    curl -X POST {bearer} {api_url}/exports   (then GET /exports/{{id}}: a URL of the CSV file,"
        f" bucket {settings.export_bucket})",
    ):
        logs.say(line)


if __name__ == "__main__":
    # Ctrl-C even where the shell started us with SIGINT ignored (`make dev &`); `kill` as cleanly.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
