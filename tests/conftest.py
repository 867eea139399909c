"""Fixtures shared by every tier: a throwaway database on the real server, and Lambda invocation."""

from __future__ import annotations

import os

# Before anything imports Powertools: its Logger reads the service name when it is created.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "people-api")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("CURSOR_KEY", "tests-only-key-that-signs-page-cursors-0123456789")

import csv  # noqa: E402
import importlib  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import uuid  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable, Iterable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from cfnlint.decode import cfn_yaml  # noqa: E402

from devstack.functions import FunctionFailed, LambdaFunction, LambdaRunner, load_functions  # noqa: E402
from devstack.jwks import KeySetServer  # noqa: E402
from devstack.settings import ACCOUNT_ID, database_environment  # noqa: E402
from people_api import db, migrations  # noqa: E402
from people_api.config import database_settings  # noqa: E402
from people_api.people import store as people_store  # noqa: E402
from people_api.people.person import person_from_json, utc_today  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
PEOPLE_CSV = ROOT / "people.csv"


@pytest.fixture(scope="session")
def database():
    """A database of its own for this run (DB_HOST etc. say which server), dropped afterwards."""
    with pytest.MonkeyPatch.context() as env:
        env.delenv("DB_SECRET_ARN", raising=False)
        env.setenv("DB_NAME", f"people_test_{uuid.uuid4().hex[:12]}")
        settings = database_settings()
        migrations.create_database(settings)
        conn = db.connect(settings)
        migrations.migrate(conn)
        conn.close()
        yield settings
        db.close()
        conn = db.connect(settings, database=None)
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{settings.database}`")
        conn.close()


@pytest.fixture
def fresh_database(database, monkeypatch):
    """Another database of its own, created without tables, and DB_NAME naming it for this test."""
    monkeypatch.setenv("DB_NAME", f"people_migrate_{uuid.uuid4().hex[:10]}")
    settings = database_settings()
    migrations.create_database(settings)
    db.close()  # this thread's next connection opens on it
    yield settings
    db.close()
    with db.connect(settings, database=None) as admin, admin.cursor() as cur:
        cur.execute(f"DROP DATABASE `{settings.database}`")


@pytest.fixture
def empty_db(database):
    """Empty tables (ids start again at 1), and a change feed with only its genesis change (migration 9)."""
    with db.cursor() as cur:
        for table in ("people", "imports", "exports", "changes", "erasures"):
            cur.execute(f"TRUNCATE TABLE {table}")
        cur.execute("INSERT INTO changes (id, seq, committed_at) VALUES (1, 1, UTC_TIMESTAMP(6))")
        cur.execute("UPDATE change_counter SET last_seq = 1, horizon_seq = 0")
    return database


@pytest.fixture
def people_db(empty_db):
    """The 7 people of people.csv, each through the person rules."""
    add_people_csv()
    return empty_db


def add_people_csv() -> None:
    """The 7 people of people.csv into the tables, each through the person rules."""
    with PEOPLE_CSV.open(encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            people_store.add_person(person_from_json(row, utc_today()))


@pytest.fixture(scope="session")
def people_csv_loader() -> Callable[[], None]:
    """add_people_csv, for a fixture of a wider scope than people_db's."""
    return add_people_csv


def load_template(template: Path = ROOT / "template.yaml") -> dict[str, Any]:
    """template.yaml as cfn-lint reads it: short forms (!Ref, !If...) become long ones ({"Ref": ...})."""
    return cfn_yaml.load(str(template))


def run_together(target: Callable[..., Any], arguments: Iterable[tuple]) -> None:
    """Call `target` once per argument tuple, each in its own thread, all at once; wait for them all.

    Not for handlers: two handlers at once in one process share Powertools' state, which no Lambda
    environment does; concurrent invocations go through `environments` (each its own process).
    """
    threads = [threading.Thread(target=target, args=args) for args in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


@dataclass
class LambdaContext:
    """The fields of Lambda's context object that handlers and Powertools read, for handlers called in-process."""

    function_name: str
    memory_mb: int = 128
    timeout_seconds: int = 3
    region: str = "us-east-1"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_stream_name: str = "tests"
    _started: float = field(default_factory=time.monotonic)

    @property
    def memory_limit_in_mb(self) -> int:
        return self.memory_mb

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self._started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


def invoke(function: str, event: dict[str, Any]) -> dict[str, Any]:
    """Call functions/<function>/app.py's handler as Lambda would, in this process: one call at a time."""
    module = importlib.import_module(f"functions.{function}.app")
    return module.lambda_handler(event, LambdaContext("people-api-test", memory_mb=512, timeout_seconds=900))


class InProcessRunner(LambdaRunner):
    """devstack's runner with each handler called in this process, for tests that invoke one at a time.

    `handlers` stand in for the template's by function name; the others are loaded from their code.
    A handler's exception is the invocation's failure, its trace on stderr, as the runtime prints it.
    """

    def __init__(self, functions: dict[str, LambdaFunction], handlers: dict[str, Callable] | None = None):
        super().__init__(functions, "us-east-1")
        self.handlers = dict(handlers or {})

    def call(self, name: str, event: Any, sent: threading.Event | None = None) -> Any:
        function = self._function(name)
        handler = self.handlers.get(name) or self._load(function)
        if sent is not None:
            sent.set()
        try:
            return handler(event, LambdaContext(name, function.memory_mb, function.timeout_seconds))
        except Exception as error:
            traceback.print_exc()
            raise FunctionFailed(type(error).__name__, str(error)) from error

    def _function(self, name: str) -> LambdaFunction:
        from samcli.local.lambdafn.exceptions import FunctionNotFound

        if name not in self.functions:
            raise FunctionNotFound(f"{name} is not a function of the template")
        return self.functions[name]

    def _load(self, function: LambdaFunction) -> Callable:
        module_file, attribute = function.handler_path.rsplit(".", 1)
        spec = importlib.util.spec_from_file_location(function.name, function.code_dir / f"{module_file}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        self.handlers[function.name] = getattr(module, attribute)
        return self.handlers[function.name]


@pytest.fixture(scope="session")
def template_functions_by_folder() -> dict[str, LambdaFunction]:
    """The template's functions by the folder of their code (functions/<folder>/), as `invoke` names them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # SAM CLI's own use of jsonschema
        functions = load_functions(ROOT / "template.yaml")
    return {function.code_dir.name: function for function in functions.values()}


class Environments:
    """The template's functions in execution environments of their own, as devstack runs them: for tests that
    invoke handlers concurrently. Each environment is its own process (its own Powertools state, connection
    and caches); all take this process's environment (DB_NAME, IMPORT_LOAD_METHOD...) as it is at the first
    invocation, with DB_* naming the test's server as devstack names it."""

    def __init__(self, functions: dict[str, LambdaFunction]):
        self._names = {folder: function.name for folder, function in functions.items()}
        self._functions = {function.name: function for function in functions.values()}
        self._runner: LambdaRunner | None = None
        self._lock = threading.Lock()

    def invoke(self, folder: str, event: dict[str, Any]) -> Any:
        """functions/<folder>/app.py's result for `event`, in a free environment (started if none is)."""
        with self._lock:
            if self._runner is None:
                environment = os.environ | database_environment(database_settings())
                self._runner = LambdaRunner(
                    self._functions, os.environ.get("AWS_DEFAULT_REGION", "us-east-1"), environment
                )
        return self._runner.call(self._names[folder], event)

    def warm(self, folder: str, count: int, event: dict[str, Any]) -> None:
        """Start `count` environments of the function through `count` invocations of `event` at once (their cold
        starts), so that the invocations a test then sends together run together, not one cold start after another."""
        run_together(lambda: self.invoke(folder, event), [()] * count)

    def stop(self) -> None:
        if self._runner is not None:
            self._runner.stop()


@pytest.fixture
def environments(database, template_functions_by_folder):
    """Execution environments of the template's functions, each a process; stopped after the test."""
    running = Environments(template_functions_by_folder)
    yield running
    running.stop()


def rest_event(
    method: str,
    path: str,
    resource: str,
    *,
    path_params: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event, shaped like the ones in events/."""
    event = load_event("ping")
    event["headers"].update(headers or {})
    event["multiValueHeaders"].update({k: [v] for k, v in (headers or {}).items()})
    event.update(
        httpMethod=method,
        path=path,
        resource=resource,
        pathParameters=path_params,
        queryStringParameters=query,
        multiValueQueryStringParameters={k: [v] for k, v in query.items()} if query else None,
        body=body,
    )
    event["requestContext"].update(httpMethod=method, resourcePath=resource, path=f"/v1{path}")
    return event


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def reply(response: dict[str, Any]) -> Reply:
    headers = {k: v for k, v in (response.get("headers") or {}).items()}
    for k, values in (response.get("multiValueHeaders") or {}).items():
        headers.setdefault(k, values[-1])
    return Reply(response["statusCode"], headers, response["body"])


@pytest.fixture
def api():
    """api(function, method, path, resource, ...) -> Reply: one API call through the real handler."""

    def call(function: str, method: str, path: str, resource: str, **parts) -> Reply:
        return reply(invoke(function, rest_event(method, path, resource, **parts)))

    return call


@pytest.fixture
def environment_api(environments):
    """Like `api`, each call in an execution environment of its own: for calls a test makes at once."""

    def call(function: str, method: str, path: str, resource: str, **parts) -> Reply:
        return reply(environments.invoke(function, rest_event(method, path, resource, **parts)))

    return call


class TokenIssuer:
    """An OpenID Connect issuer shaped like a Cognito user pool: RSA and EC keys, its JWKS served over HTTP.

    `token()` signs an access token as Cognito issues it; keyword arguments replace (None: remove)
    claims, of any JSON type, and `headers`, `key` and `algorithm` change how it is signed.
    """

    ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool"
    CLIENT_ID = "test-app-client"

    def __init__(self):
        from cryptography.hazmat.primitives.asymmetric import ec, rsa

        self.rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec_key = ec.generate_private_key(ec.SECP256R1())
        self._server: KeySetServer | None = None

    def jwks(self) -> dict[str, Any]:
        import jwt

        keys = []
        for kid, key, algorithm in (("rsa-1", self.rsa_key, "RS256"), ("ec-1", self.ec_key, "ES256")):
            jwk = json.loads(jwt.algorithms.get_default_algorithms()[algorithm].to_jwk(key.public_key()))
            keys.append(jwk | {"kid": kid, "alg": algorithm, "use": "sig"})
        return {"keys": keys}

    def start(self) -> str:
        """Serve the JWKS on a free loopback port; returns its URL."""
        self._server = KeySetServer(lambda: self.jwks())  # looked up per request: a test may rotate the keys
        return self._server.url

    @property
    def keys_served(self) -> int:
        return self._server.served

    @property
    def reachable(self) -> bool:
        return self._server.reachable

    @reachable.setter
    def reachable(self, reachable: bool) -> None:
        self._server.reachable = reachable

    def stop(self) -> None:
        self._server.stop()

    def claims(self, groups: list[str] | None = None) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.ISSUER,
            "sub": "3f1c7a52-0d2e-4b8f-9a61-2b7e5c4d9e10",
            "client_id": self.CLIENT_ID,
            "token_use": "access",
            "username": "ada",
            "scope": "aws.cognito.signin.user.admin",
            "iat": now,
            "auth_time": now,
            "exp": now + 3600,
        }
        if groups:
            claims["cognito:groups"] = groups
        return claims

    def token(
        self,
        groups: list[str] | None = None,
        *,
        headers: dict[str, Any] | None = None,
        key: Any = None,
        algorithm: str = "RS256",
        **claims: Any,
    ) -> str:
        import jwt

        payload = {k: v for k, v in (self.claims(groups) | claims).items() if v is not None}
        signing_key = key if key is not None else (self.ec_key if algorithm == "ES256" else self.rsa_key)
        kid = "ec-1" if algorithm == "ES256" else "rsa-1"
        header = {k: v for k, v in ({"kid": kid} | (headers or {})).items() if v is not None}
        # Signed as JWS over the claims' JSON: jwt.encode would refuse claims of odd types (an `iss` list)
        claims_json = json.dumps(payload, separators=(",", ":")).encode()
        return jwt.api_jws.encode(claims_json, signing_key, algorithm=algorithm, headers=header | {"typ": "JWT"})


@pytest.fixture
def token_issuer(monkeypatch):
    """A TokenIssuer serving its keys, and AUTH_* naming it (Cognito style: client_id, token_use)."""
    issuer = TokenIssuer()
    monkeypatch.setenv("AUTH_JWKS_URL", issuer.start())
    monkeypatch.setenv("AUTH_ISSUER", issuer.ISSUER)
    monkeypatch.setenv("AUTH_AUDIENCE", f"another-client,{issuer.CLIENT_ID}")
    yield issuer
    issuer.stop()
