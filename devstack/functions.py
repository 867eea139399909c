"""The template's functions, run in this process: loaded from their code, invoked like Lambda would.

`InProcessRunner` is the lambda runner that SAM CLI's `LocalApigwService` calls (`invoke` and
`is_debugging`, as its `LocalLambdaRunner` offers, minus the container); the S3 poller uses `call`.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from samcli.lib.providers.provider import Stack
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
from samcli.lib.utils.stream_writer import StreamWriter
from samcli.local.lambdafn.exceptions import FunctionNotFound

from devstack import logs

ACCOUNT_ID = "123456789012"
T = TypeVar("T")

# What API Gateway answers when the function behind a proxy integration fails.
API_GATEWAY_FUNCTION_ERROR = {
    "statusCode": 502,
    "headers": {"Content-Type": "application/json"},
    "body": json.dumps({"message": "Internal server error"}),
}


# The error message an authorizer refuses a request with; API Gateway answers 401 (docs/auth.md).
AUTHORIZER_REFUSAL = "Unauthorized"


class AuthorizerFailed(Exception):
    """A Lambda authorizer raised; the message is its error message (API Gateway reads it: docs/auth.md)."""

    @property
    def refused(self) -> bool:
        return str(self) == AUTHORIZER_REFUSAL


DEFAULT_CONCURRENCY = 32  # execution environments per function (FUNCTION_CONCURRENCY; docs/dev.md)
_loading = threading.Lock()


@dataclass
class LambdaFunction:
    """One function of the template, run as Lambda runs it: each execution environment serves one
    invocation at a time, and concurrent invocations get environments of their own, up to
    `concurrency` (further ones wait for a free environment).

    An environment is a worker thread with its own copy of the function's module (its own resolver,
    loaded on the environment's first invocation: a cold start) and, the layer's connection being
    per thread, its own database connection, kept warm between invocations.
    """

    name: str
    code_dir: Path
    handler_path: str  # "app.lambda_handler"
    memory_mb: int
    timeout_seconds: int
    environment: dict[str, str]
    events: dict[str, Any]
    concurrency: int = DEFAULT_CONCURRENCY
    _environments: ThreadPoolExecutor | None = None
    _loaded: threading.local = field(default_factory=threading.local)
    _copies: int = 0
    _handler: Callable[[Any, Any], Any] | None = None  # one handler for every environment (tests' stand-ins)

    @property
    def serves_api(self) -> bool:
        return any(event.get("Type") == "Api" for event in self.events.values())

    def run(self, invocation: Callable[[], T]) -> T:
        """`invocation()` in a free execution environment, started if none is free (up to `concurrency`)."""
        with _loading:
            if self._environments is None:
                self._environments = ThreadPoolExecutor(self.concurrency, thread_name_prefix=self.name)
        return self._environments.submit(invocation).result()

    def handler(self) -> Callable[[Any, Any], Any]:
        """This execution environment's handler, loaded on its first use; a failed load is tried again next time."""
        handler = self._handler or getattr(self._loaded, "handler", None)
        if handler is None:
            module_file, attribute = self.handler_path.rsplit(".", 1)
            with _loading:
                # Every function's file is app.py: each copy is loaded under the function's own name.
                self._copies += 1
                name = self.name if self._copies == 1 else f"{self.name}#{self._copies}"
            spec = importlib.util.spec_from_file_location(name, self.code_dir / f"{module_file}.py")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[name]
                raise
            handler = self._loaded.handler = getattr(module, attribute)
        return handler

    def shutdown(self) -> None:
        if self._environments is not None:
            self._environments.shutdown(wait=False, cancel_futures=True)


@dataclass
class LambdaContext:
    """The fields of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_mb: int = 128
    timeout_seconds: int = 3
    region: str = "us-east-1"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_stream_name: str = "devstack"
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


def load_functions(template: Path) -> dict[str, LambdaFunction]:
    """Every function of the template file with local Python code, by logical id."""
    stacks, _ = SamLocalStackProvider.get_stacks(str(template))
    return template_functions(stacks, template.parent)


def template_functions(stacks: list[Stack], template_dir: Path) -> dict[str, LambdaFunction]:
    """Every function of the template with local Python code, by logical id."""
    return {
        f.name: LambdaFunction(
            name=f.name,
            code_dir=(template_dir / f.codeuri).resolve(),
            handler_path=f.handler,
            memory_mb=f.memory or 128,
            timeout_seconds=f.timeout or 3,
            environment={k: str(v) for k, v in ((f.environment or {}).get("Variables") or {}).items()},
            events=f.events or {},
        )
        for f in SamFunctionProvider(stacks).get_all()
        if f.codeuri and f.handler
    }


class InProcessRunner:
    """Invokes the functions in this process, each under its own name in the terminal."""

    def __init__(self, functions: dict[str, LambdaFunction], region: str):
        self.functions = functions
        self.region = region

    def is_debugging(self) -> bool:
        return False

    def invoke(self, function_identifier: str, event: str, stdout: StreamWriter, stderr=None, **_container_options):
        """LocalApigwService's call: the event as JSON text in, the function's result as JSON on stdout.

        A function error becomes API Gateway's 502, an authorizer's error AuthorizerFailed;
        its trace is already on the terminal.
        """
        payload = json.loads(event)
        try:
            output = json.dumps(self.call(function_identifier, payload))
        except FunctionNotFound:
            raise
        except Exception as error:
            if _is_authorizer_event(payload):
                raise AuthorizerFailed(str(error)) from error
            output = json.dumps(API_GATEWAY_FUNCTION_ERROR)
        stdout.write_str(output)

    def call(self, name: str, event: Any) -> Any:
        """The handler's result, or its exception once its trace is printed (an authorizer's refusal: no trace)."""
        function = self.functions.get(name)
        if function is None:
            raise FunctionNotFound(f"{name} is not a function of the template")

        def invocation() -> Any:
            with logs.running(name):
                try:
                    context = LambdaContext(function.name, function.memory_mb, function.timeout_seconds, self.region)
                    return function.handler()(event, context)
                except Exception as error:
                    if not _is_refusal(event, error):
                        traceback.print_exc()
                    raise

        return function.run(invocation)

    def load_all(self) -> None:
        """Load every handler now, so that a broken one shows at startup (it is tried again when invoked)."""
        for name, function in self.functions.items():

            def load(function: LambdaFunction = function, name: str = name) -> None:
                with logs.running(name):
                    try:
                        function.handler()
                    except Exception:
                        print(f"cannot load {function.code_dir}/{function.handler_path}:", file=sys.stderr)
                        traceback.print_exc()

            function.run(load)

    def stop(self) -> None:
        """Stop every function's idle execution environments."""
        for function in self.functions.values():
            function.shutdown()


def _is_authorizer_event(event: Any) -> bool:
    """One of the events API Gateway sends to authorizers (TOKEN and REQUEST)."""
    return isinstance(event, dict) and "methodArn" in event


def _is_refusal(event: Any, error: Exception) -> bool:
    """An authorizer's `Unauthorized`: API Gateway's 401, an answer and not a fault; the authorizer logs its reason."""
    return _is_authorizer_event(event) and str(error) == AUTHORIZER_REFUSAL
