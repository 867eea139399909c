"""The template's functions, each execution environment a process of its own, run by Lambda's own runtime pieces.

An execution environment is AWS's runtime interface emulator (`aws-lambda-rie`, the build SAM CLI
ships and puts in its containers) serving the Runtime API to AWS's runtime interface client for
Python (`awslambdaric`), which imports the handler in its own interpreter and runs one invocation
at a time, as in Lambda: module globals, Powertools' state, connections and caches belong to one
environment. The emulator enforces the function's timeout and the 6 MB response, and starts a
fresh runtime after a timeout or a crash (docs/dev.md, How close to AWS it is).

`LambdaRunner` is the lambda runner SAM CLI's `LocalApigwService` calls (`invoke` and
`is_debugging`, as its `LocalLambdaRunner` offers, minus the container); the S3 poller and the
schedules use `call`.
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as StillRunning
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import samcli
from samcli.lib.providers.provider import Stack
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
from samcli.lib.utils.stream_writer import StreamWriter
from samcli.local.lambdafn.exceptions import FunctionNotFound

from devstack import logs
from devstack.ports import free_port, give_back
from devstack.settings import LAYER_DIR

DEFAULT_CONCURRENCY = 32  # execution environments per function (FUNCTION_CONCURRENCY; docs/dev.md)
# SAM CLI ships the emulator for Linux on both architectures (the binaries its containers run).
EMULATOR = (
    Path(samcli.__file__).parent
    / "local"
    / "rapid"
    / ("aws-lambda-rie-arm64" if platform.machine() in ("aarch64", "arm64") else "aws-lambda-rie-x86_64")
)
INVOCATIONS_PATH = "/2015-03-31/functions/function/invocations"
EMULATOR_START_SECONDS = 10
EMULATOR_START_ATTEMPTS = 3
# Lambda gives an environment's Init phase (the handler's imports) 10 s of its own, apart from the function's
# timeout, which counts from the invocation's start (docs/dev.md, How close to AWS it is).
INIT_SECONDS = 10
# What the emulator prints (at --log-level info) once the runtime asked for its first event: the end of Init.
_INIT_DONE = "INIT RTDONE"
_EMULATOR_LINE = re.compile(r"\d\d \w{3} \d{4} [\d:,]+ \[\w+\] \(rapid\) ")

# Lambda's synchronous invocation payload limits (docs/dev.md: 6 MB each way). The emulator fails a larger
# response itself (Function.ResponseSizeTooLarge); a larger request it cuts short, so it is refused here.
MAX_REQUEST_BYTES = 6_291_456
# API Gateway waits this long for its integration (docs/dev.md), then answers 504.
INTEGRATION_TIMEOUT_SECONDS = 29.0


def _proxy_answer(status: int, message: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"message": message}),
    }


# What API Gateway answers a proxy call when the function fails, when Lambda refuses the request's size,
# and when the function outlasts the integration timeout (docs/dev.md, How close to AWS it is).
API_GATEWAY_FUNCTION_ERROR = _proxy_answer(502, "Internal server error")
API_GATEWAY_REQUEST_TOO_LONG = _proxy_answer(413, "Request Too Long")
API_GATEWAY_TIMEOUT = _proxy_answer(504, "Endpoint request timed out")

# The error message an authorizer refuses a request with; API Gateway answers 401 (docs/auth.md).
AUTHORIZER_REFUSAL = "Unauthorized"


class FunctionFailed(Exception):
    """An invocation failed: its handler raised, it timed out, or its runtime failed; as Lambda names it."""

    def __init__(self, error_type: str, message: str):
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message


class RequestTooLarge(Exception):
    """The event is over Lambda's synchronous payload limit: Lambda refuses it without running the function."""


class AuthorizerFailed(Exception):
    """A Lambda authorizer failed; the message is its error message (API Gateway reads it: docs/auth.md)."""

    @property
    def refused(self) -> bool:
        return str(self) == AUTHORIZER_REFUSAL


@dataclass
class LambdaFunction:
    """One function of the template: its code, handler, limits and environment, as the template says."""

    name: str
    code_dir: Path
    handler_path: str  # "app.lambda_handler"
    memory_mb: int
    timeout_seconds: int
    environment: dict[str, str]
    events: dict[str, Any]
    concurrency: int = DEFAULT_CONCURRENCY

    @property
    def serves_api(self) -> bool:
        return any(event.get("Type") == "Api" for event in self.events.values())


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


def environment_variables(function: LambdaFunction, base: Mapping[str, str], region: str) -> dict[str, str]:
    """What the function's environment sees: the template's variables under `base` (the shell wins, as with
    `sam local`), and what Lambda itself sets for the runtime, the layer's place on the path included."""
    return (
        function.environment
        | dict(base)
        | {
            "PYTHONPATH": str(LAYER_DIR),  # Lambda's /opt/python
            "LAMBDA_TASK_ROOT": str(function.code_dir),
            "_HANDLER": function.handler_path,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info.major}.{sys.version_info.minor}",
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            # The emulator counts Init in the first invocation's time: its limit allows for Init's, and
            # ExecutionEnvironment.invoke holds each invocation to the function's timeout.
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(function.timeout_seconds + INIT_SECONDS),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
        }
    )


class ExecutionEnvironment:
    """One execution environment: the emulator's process, and the runtime it starts on the first invocation.

    Serves one invocation at a time (its owner, `FunctionEnvironments`, sees to that). Its output goes
    to the terminal, each line after the function's name, less the emulator's START/END/REPORT lines.
    """

    def __init__(self, function: LambdaFunction, environment: dict[str, str], host: str = "127.0.0.1"):
        self.function = function
        self._host = host
        self._initialized = threading.Event()  # Init is over: the runtime imported the handler
        self._ports_lock = threading.Lock()
        for attempt in range(1, EMULATOR_START_ATTEMPTS + 1):
            self._start_emulator(environment)
            if self._wait_until_listening():
                return
            self.stop()
            self._say(f"the emulator did not start on ports {self._port}, {self._runtime_api_port} (try {attempt})")
        raise FunctionFailed("Runtime.Unavailable", "the emulator did not start")

    def _start_emulator(self, environment: dict[str, str]) -> None:
        self._port, self._runtime_api_port = free_port(self._host), free_port(self._host)
        self._ports = (self._port, self._runtime_api_port)
        self._process = subprocess.Popen(
            [
                str(EMULATOR),
                "--log-level",
                "info",  # for its INIT RTDONE line; _print_output leaves its lines out of the terminal
                "--runtime-interface-emulator-address",
                f"{self._host}:{self._port}",
                "--runtime-api-address",
                f"{self._host}:{self._runtime_api_port}",
                sys.executable,
                "-m",
                "awslambdaric",
                self.function.handler_path,
            ],
            cwd=self.function.code_dir,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self._output = threading.Thread(target=self._print_output, name=f"{self.function.name}-output", daemon=True)
        self._output.start()

    @property
    def running(self) -> bool:
        return self._process.poll() is None

    def invoke(self, payload: bytes) -> Any:
        """The handler's result for this event (JSON), or FunctionFailed as Lambda reports it.

        Timed as Lambda times it: Init (the first invocation's imports) has INIT_SECONDS of its own, then
        the invocation the function's timeout; an Init that takes longer goes on within the invocation's
        timeout (Lambda starts it again there). Past that, the environment is stopped (Lambda resets it)
        and the invocation fails as timed out.
        """
        timeout = self.function.timeout_seconds
        answered, timed_out = threading.Event(), threading.Event()

        def hold_to_the_timeout() -> None:
            self._initialized.wait(INIT_SECONDS)
            if answered.wait(timeout):
                return
            if not answered.is_set():
                timed_out.set()
                self.stop()

        watchdog = threading.Thread(target=hold_to_the_timeout, name=f"{self.function.name}-timeout", daemon=True)
        connection = http.client.HTTPConnection(self._host, self._port, timeout=timeout + INIT_SECONDS + 30)
        watchdog.start()
        try:
            connection.request("POST", INVOCATIONS_PATH, body=payload, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            status, body = response.status, response.read()
        except OSError as error:  # the environment was stopped under the invocation
            if timed_out.is_set():
                raise self._timed_out(timeout) from None
            raise FunctionFailed("Runtime.Unavailable", f"the execution environment is gone: {error}") from error
        finally:
            answered.set()
            connection.close()
        if timed_out.is_set() or (status == 200 and body.startswith(b"Task timed out after")):
            # Stopped (in _timed_out): the emulator would start its runtime again, Lambda resets the environment
            raise self._timed_out(timeout)
        try:
            result = json.loads(body)
        except ValueError:
            result = None
        if status == 200 and not _is_error(result):
            return result
        error_type, message = (result["errorType"], result["errorMessage"]) if _is_error(result) else ("", body)
        if status != 200:  # the runtime itself failed (a crash, a response over 6 MB): say so, no trace shows it
            self._say(f"{error_type}: {message}")
        raise FunctionFailed(error_type, str(message))

    def stop(self) -> None:
        """End the emulator (it ends its runtime) and wait for both."""
        if self.running:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._output.join(5)  # a runtime left mid-invocation by a killed emulator may hold the output a while
        with self._ports_lock:  # stop runs more than once (a timeout, then the owner): give the ports back once
            ports, self._ports = self._ports, ()
        for port in ports:
            give_back(port)

    def _wait_until_listening(self) -> bool:
        """Whether the emulator listens on both its ports (its own, the Runtime API's); False if it ended first
        (a port taken after all: it binds each in a goroutine of its own, then panics) or is late."""
        deadline = time.monotonic() + EMULATOR_START_SECONDS
        waiting = [self._port, self._runtime_api_port]
        while self.running and time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex((self._host, waiting[0])) == 0:
                    waiting.pop(0)
                    if not waiting:
                        return self.running
                    continue
            time.sleep(0.01)
        return False

    def _timed_out(self, timeout: int) -> FunctionFailed:
        self.stop()  # waits for the processes to end, so that the environment is not given back as running
        message = f"Task timed out after {timeout:.2f} seconds"
        self._say(message)
        return FunctionFailed("Sandbox.Timedout", message)

    def _print_output(self) -> None:
        for raw in self._process.stdout:
            # awslambdaric writes a trace as one record, its lines separated by carriage returns.
            for line in raw.decode("utf-8", errors="replace").rstrip("\n").split("\r"):
                if _EMULATOR_LINE.match(line):  # the emulator's own: only its end of Init matters here
                    if _INIT_DONE in line:
                        self._initialized.set()
                elif not line.startswith(("START RequestId:", "END RequestId:", "REPORT RequestId:")):
                    self._say(line)

    def _say(self, line: str) -> None:
        logs.say(line, source=self.function.name)


def _is_error(result: Any) -> bool:
    """The shape of a failed invocation's answer (errorType, errorMessage), as SAM CLI reads it too."""
    return isinstance(result, dict) and {"errorType", "errorMessage"} <= result.keys() and "statusCode" not in result


class ColdStarts:
    """At most `at_once` environments (two per CPU) in their first invocation at a time, each for at most
    `hold_seconds`.

    The emulator counts the runtime's start (the handler's imports) in the first invocation's time, which
    Lambda does not (its Init phase has limits of its own), and here every environment shares a few CPUs:
    64 cold starts at once on 2 CPUs would each take many times their usual fraction of a second, and outlast
    the authorizer's 5 s timeout. So cold starts take turns; the waiting is not the invocation's time.
    `hold_seconds` is Lambda's 10 s limit on the Init phase: a long first invocation (an import) lets the next
    cold start begin after it.
    """

    def __init__(self, at_once: int = 2 * (os.cpu_count() or 1), hold_seconds: float = 10.0):
        self._slots = threading.Semaphore(at_once)
        self._hold_seconds = hold_seconds

    @contextmanager
    def turn(self) -> Iterator[None]:
        self._slots.acquire()
        released = threading.Event()

        def release() -> None:
            if not released.is_set():
                released.set()
                self._slots.release()

        timer = threading.Timer(self._hold_seconds, release)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()
            release()


class FunctionEnvironments:
    """A function's execution environments: started on demand up to `concurrency`, reused warm, one
    invocation each at a time; further invocations wait for a free one (as Lambda throttles past a
    function's reserved concurrency)."""

    def __init__(self, function: LambdaFunction, environment: dict[str, str], cold_starts: ColdStarts):
        self.function = function
        self.environment = environment
        self._cold_starts = cold_starts
        self._idle: list[ExecutionEnvironment] = []
        self._all: set[ExecutionEnvironment] = set()
        self._starting = 0
        self._changed = threading.Condition()
        self._stopped = False

    def invoke(self, payload: bytes, sent: threading.Event | None = None) -> Any:
        """The result in a free environment; `sent` is set once an environment has the event (no more waiting)."""
        environment, cold = self._acquire()
        try:
            with self._cold_starts.turn() if cold else nullcontext():
                if sent is not None:
                    sent.set()
                return environment.invoke(payload)
        finally:
            self._release(environment)

    def stop(self) -> None:
        with self._changed:
            self._stopped = True
            environments = list(self._all)
            self._changed.notify_all()
        for environment in environments:
            environment.stop()

    def _acquire(self) -> tuple[ExecutionEnvironment, bool]:
        """A free environment, and whether it is new (its first invocation a cold start)."""
        with self._changed:
            while True:
                if self._stopped:
                    raise FunctionFailed("Runtime.Unavailable", "the stack is stopping")
                if self._idle:
                    return self._idle.pop(), False  # the one used last: warm, as Lambda prefers
                if len(self._all) + self._starting < self.function.concurrency:
                    self._starting += 1
                    break
                self._changed.wait()
        environment = None
        try:
            environment = ExecutionEnvironment(self.function, self.environment)
            return environment, True
        finally:
            with self._changed:
                self._starting -= 1
                if environment is not None:
                    self._all.add(environment)
                self._changed.notify()

    def _release(self, environment: ExecutionEnvironment) -> None:
        with self._changed:
            if environment.running and not self._stopped:
                self._idle.append(environment)
                self._changed.notify()
                return
            self._all.discard(environment)
            self._changed.notify()
        environment.stop()


class LambdaRunner:
    """Invokes the template's functions in execution environments of their own, started on demand.

    `environment` is what every environment inherits (read when one starts: devstack's own
    process environment, or a test's), under which each gets its function's template variables.
    """

    def __init__(
        self,
        functions: dict[str, LambdaFunction],
        region: str,
        environment: Mapping[str, str] = os.environ,
        integration_timeout_seconds: float = INTEGRATION_TIMEOUT_SECONDS,
    ):
        self.functions = functions
        self.region = region
        self.environment = environment
        self.integration_timeout_seconds = integration_timeout_seconds
        self._environments: dict[str, FunctionEnvironments] = {}
        self._cold_starts = ColdStarts()
        self._lock = threading.Lock()
        # The gateway's side of each proxy call: it stops waiting at the integration timeout.
        self._integrations = ThreadPoolExecutor(max_workers=256, thread_name_prefix="integration")

    def is_debugging(self) -> bool:
        return False

    def invoke(self, function_identifier: str, event: str, stdout: StreamWriter, stderr=None, **_container_options):
        """LocalApigwService's call: the event as JSON text in, the function's result as JSON on stdout.

        A failed function becomes API Gateway's 502 (504 past the integration timeout, 413 for a request
        over Lambda's limit), an authorizer's failure AuthorizerFailed; the terminal shows why.
        """
        payload = json.loads(event)
        authorizer = _is_authorizer_event(payload)
        # The integration timeout counts from when an environment has the event: waiting for a free one, or
        # for a cold start's turn, is local (Lambda would have started another environment at once).
        sent = threading.Event()
        integration = self._integrations.submit(self.call, function_identifier, payload, sent)
        while not sent.wait(0.05) and not integration.done():
            pass
        try:
            output = integration.result(timeout=self.integration_timeout_seconds)
        except FunctionNotFound:
            raise
        except RequestTooLarge:
            output = API_GATEWAY_REQUEST_TOO_LONG
        except StillRunning:
            if authorizer:
                raise AuthorizerFailed("timed out") from None
            output = API_GATEWAY_TIMEOUT  # the function runs on in its environment, to its own timeout
        except FunctionFailed as failure:
            if authorizer:
                raise AuthorizerFailed(failure.message) from failure
            output = API_GATEWAY_FUNCTION_ERROR
        stdout.write_str(json.dumps(output))

    def call(self, name: str, event: Any, sent: threading.Event | None = None) -> Any:
        """The function's result for `event`, in a free execution environment of its own (started if none is);
        `sent` is set once an environment has the event.

        Raises FunctionFailed when the invocation fails (the handler's trace is on the terminal already).
        """
        payload = json.dumps(event).encode()
        if len(payload) > MAX_REQUEST_BYTES:
            logs.say(f"event of {len(payload):,} bytes refused: over Lambda's {MAX_REQUEST_BYTES:,}", source=name)
            raise RequestTooLarge(len(payload))
        return self._environments_of(name).invoke(payload, sent)

    def stop(self) -> None:
        """Stop every execution environment (an invocation still running fails)."""
        with self._lock:
            pools = list(self._environments.values())
        for pool in pools:
            pool.stop()
        self._integrations.shutdown(wait=False, cancel_futures=True)

    def _environments_of(self, name: str) -> FunctionEnvironments:
        function = self.functions.get(name)
        if function is None:
            raise FunctionNotFound(f"{name} is not a function of the template")
        with self._lock:
            if name not in self._environments:
                variables = environment_variables(function, self.environment, self.region)
                self._environments[name] = FunctionEnvironments(function, variables, self._cold_starts)
            return self._environments[name]


def _is_authorizer_event(event: Any) -> bool:
    """One of the events API Gateway sends to authorizers (TOKEN and REQUEST)."""
    return isinstance(event, dict) and "methodArn" in event
