"""devstack's execution environments: each a process of its own under Lambda's runtime emulator and client,
one invocation at a time, reused warm, its function's variables, timeout and payload limits; and the
answers the local gateway gives when an invocation fails as API Gateway would give them.

The functions here are stand-ins written for each test (tmp_path), run exactly as the template's are.
"""

from __future__ import annotations

import io
import json
import os
import socket
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from samcli.lib.utils.stream_writer import StreamWriter

from devstack import functions, ports
from devstack.functions import (
    INIT_SECONDS,
    MAX_REQUEST_BYTES,
    FunctionFailed,
    LambdaFunction,
    LambdaRunner,
    RequestTooLarge,
)

pytestmark = pytest.mark.e2e

STAND_IN = """
import os, time

time.sleep(float(os.environ.get("INIT_SLEEP", 0)))  # the Init phase: the handler's imports

invocations = 0  # module state: its own in each environment, kept while the environment is warm


def handler(event, context):
    global invocations
    invocations += 1
    started = time.time()
    time.sleep(event.get("sleep", 0))
    if event.get("raise"):
        raise ValueError(event["raise"])
    answer = {
        "pid": os.getpid(),
        "invocations": invocations,
        "started": started,
        "ended": time.time(),
        "greeting": os.environ.get("GREETING"),
        "function_name": context.function_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
    }
    if event.get("body_bytes"):
        return {"statusCode": 200, "body": "x" * event["body_bytes"]}
    return {"statusCode": 200, "body": __import__("json").dumps(answer)} if event.get("proxy") else answer
"""


def stand_in(tmp_path, name: str = "F", concurrency: int = 4, timeout: int = 3, **environment) -> LambdaFunction:
    code = tmp_path / name
    code.mkdir(exist_ok=True)
    (code / "app.py").write_text(textwrap.dedent(STAND_IN))
    return LambdaFunction(name, code, "app.handler", 128, timeout, environment, {}, concurrency)


@pytest.fixture
def runner_of():
    """runner_of(*functions, **options) -> a LambdaRunner on them; its environments stopped after the test."""
    runners = []

    def make(*functions: LambdaFunction, **options) -> LambdaRunner:
        runners.append(LambdaRunner({f.name: f for f in functions}, "eu-west-1", os.environ, **options))
        return runners[-1]

    yield make
    for runner in runners:
        runner.stop()


def at_once(runner: LambdaRunner, name: str, events: list[dict]) -> list:
    with ThreadPoolExecutor(len(events)) as callers:
        return list(callers.map(lambda event: runner.call(name, event), events))


def most_at_once(answers: list[dict]) -> int:
    edges = sorted([(a["started"], 1) for a in answers] + [(a["ended"], -1) for a in answers])
    running = most = 0
    for _, step in edges:
        running += step
        most = max(most, running)
    return most


def test_concurrent_invocations_get_environments_of_their_own_up_to_the_cap_then_reuse_them_warm(tmp_path, runner_of):
    runner = runner_of(stand_in(tmp_path, concurrency=3))

    # When 9 invocations come at once, each taking a moment
    answers = at_once(runner, "F", [{"sleep": 0.3}] * 9)

    # Then at most 3 ran at once, each in a process of its own (3 of them), whose module state is its own:
    # every environment counts its own invocations, one at a time, from 1
    assert most_at_once(answers) == 3
    by_process: dict[int, list[int]] = {}
    for answer in sorted(answers, key=lambda a: a["started"]):
        by_process.setdefault(answer["pid"], []).append(answer["invocations"])
    assert len(by_process) == 3 and os.getpid() not in by_process
    assert sorted(counts for counts in by_process.values()) == [[1, 2, 3]] * 3
    # And the next invocation is served warm by one of them
    assert runner.call("F", {})["pid"] in by_process


def test_each_function_sees_its_own_template_variables_and_context(tmp_path, runner_of):
    runner = runner_of(stand_in(tmp_path, "Hello", GREETING="hello"), stand_in(tmp_path, "Bye", GREETING="bye"))

    hello, bye = runner.call("Hello", {}), runner.call("Bye", {})

    assert (hello["greeting"], hello["function_name"]) == ("hello", "Hello")
    assert (bye["greeting"], bye["function_name"]) == ("bye", "Bye")
    # (the emulator's deadline allows for Init's 10 s: docs/dev.md, How close to AWS it is)
    assert 0 < hello["remaining_ms"] <= (3 + INIT_SECONDS) * 1000


def test_an_invocation_past_the_timeout_fails_and_its_environment_is_not_reused(tmp_path, runner_of):
    runner = runner_of(stand_in(tmp_path, concurrency=1, timeout=1))
    first = runner.call("F", {})

    with pytest.raises(FunctionFailed) as timed_out:
        runner.call("F", {"sleep": 3})

    assert timed_out.value.error_type == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in timed_out.value.message
    # The next invocation starts afresh: another process, its module state new (a cold start, as in Lambda)
    after = runner.call("F", {})
    assert after["pid"] != first["pid"] and after["invocations"] == 1


def test_init_has_its_own_10_s_and_the_first_invocation_still_its_whole_timeout(tmp_path, runner_of):
    # Given a function of 1 s whose imports take 3 s (a cold start on a busy machine)
    runner = runner_of(stand_in(tmp_path, concurrency=1, timeout=1, INIT_SLEEP="3"))

    # Then its first invocation is answered (Lambda times Init apart), even one that takes most of its second
    first = runner.call("F", {"sleep": 0.5})
    assert first["invocations"] == 1
    # And the next, warm, is held to the function's 1 s
    with pytest.raises(FunctionFailed) as timed_out:
        runner.call("F", {"sleep": 1.5})
    assert timed_out.value.message == "Task timed out after 1.00 seconds"


def test_the_first_invocation_past_its_timeout_after_init_fails(tmp_path, runner_of):
    runner = runner_of(stand_in(tmp_path, concurrency=1, timeout=1, INIT_SLEEP="1"))

    started = time.monotonic()
    with pytest.raises(FunctionFailed) as timed_out:
        runner.call("F", {"sleep": 3})

    # Init's second, then the function's: not the 11 s the emulator's own limit would allow
    assert timed_out.value.message == "Task timed out after 1.00 seconds"
    assert time.monotonic() - started < 2.8


def test_init_past_its_10_s_has_only_the_function_s_timeout_left(tmp_path, runner_of):
    # Lambda then starts Init again within the first invocation, under the function's timeout
    runner = runner_of(stand_in(tmp_path, concurrency=1, timeout=1, INIT_SLEEP="12"))

    started = time.monotonic()
    with pytest.raises(FunctionFailed) as timed_out:
        runner.call("F", {})

    assert timed_out.value.error_type == "Sandbox.Timedout"
    assert 11 <= time.monotonic() - started < 11.8


def test_a_handler_error_fails_the_invocation_and_the_environment_serves_the_next(tmp_path, runner_of):
    runner = runner_of(stand_in(tmp_path, concurrency=1))
    first = runner.call("F", {})

    with pytest.raises(FunctionFailed) as failed:
        runner.call("F", {"raise": "boom"})

    assert (failed.value.error_type, failed.value.message) == ("ValueError", "boom")
    assert runner.call("F", {})["pid"] == first["pid"]  # an error is not a crash: the environment stays warm


def test_a_response_over_6_mb_fails_and_a_request_over_6_mb_is_refused(tmp_path, runner_of):
    runner = runner_of(stand_in(tmp_path, concurrency=1))

    with pytest.raises(FunctionFailed) as too_large:
        runner.call("F", {"body_bytes": 6_300_000})
    with pytest.raises(RequestTooLarge):
        runner.call("F", {"padding": "x" * MAX_REQUEST_BYTES})

    assert too_large.value.error_type == "Function.ResponseSizeTooLarge"
    assert runner.call("F", {"body_bytes": 6_000_000})["body"] == "x" * 6_000_000  # under the limit: answered


def gateway_answer(runner: LambdaRunner, event: dict) -> dict:
    """What devstack's runner hands SAM CLI's gateway for this proxy event (the gateway turns it into HTTP)."""
    output = io.StringIO()
    runner.invoke("F", json.dumps(event), StreamWriter(output))
    return json.loads(output.getvalue())


@pytest.mark.parametrize(
    ("event", "status", "message"),
    [
        ({"raise": "boom"}, 502, "Internal server error"),
        ({"sleep": 3}, 502, "Internal server error"),  # the function's own timeout (1 s) comes first
        ({"body_bytes": 6_300_000}, 502, "Internal server error"),
        ({"padding": "x" * MAX_REQUEST_BYTES}, 413, "Request Too Long"),
    ],
)
def test_a_failed_invocation_is_api_gateways_answer(tmp_path, runner_of, event, status, message):
    runner = runner_of(stand_in(tmp_path, concurrency=1, timeout=1))

    answer = gateway_answer(runner, {"proxy": True, **event})

    assert (answer["statusCode"], json.loads(answer["body"])) == (status, {"message": message})


def test_a_function_that_outlasts_the_integration_timeout_is_a_504_and_runs_on(tmp_path, runner_of):
    # Given a function whose timeout (3 s) is longer than the gateway's integration timeout (here 1 s; 29 s in AWS)
    runner = runner_of(stand_in(tmp_path, concurrency=1, timeout=3), integration_timeout_seconds=1)

    answer = gateway_answer(runner, {"proxy": True, "sleep": 2})

    assert (answer["statusCode"], json.loads(answer["body"])) == (504, {"message": "Endpoint request timed out"})
    # And the invocation ran to its end in its environment: the next one waits for it, then is served warm
    next_one = runner.call("F", {})
    assert next_one["invocations"] == 2


def test_an_environment_whose_port_a_connection_took_before_its_emulator_bound_starts_on_others(
    tmp_path, runner_of, monkeypatch
):
    # Given a port that an outgoing connection takes between the question and the emulator's bind (as one of
    # a concurrent test's connections could when ports came from the kernel's ephemeral range)
    with socket.socket() as server, socket.socket() as connection:
        server.bind(("127.0.0.1", 0))
        server.listen()
        connection.bind(("127.0.0.1", 0))
        connection.connect(server.getsockname())
        taken = connection.getsockname()[1]
        handed = iter([taken, ports.free_port(), ports.free_port(), taken])  # its port, then the Runtime API's
        monkeypatch.setattr(functions, "free_port", lambda host: next(handed, None) or ports.free_port(host))
        runner = runner_of(stand_in(tmp_path))

        # When the function is invoked, its first emulator failing to bind the taken port
        answer = runner.call("F", {})

    # Then the environment started on other ports and answered: no failed invocation (a 502 at the gateway)
    assert answer["invocations"] == 1 and answer["function_name"] == "F"


def test_listener_ports_are_outside_the_ephemeral_range_and_handed_out_once_until_given_back():
    first_ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])

    handed = [ports.free_port() for _ in range(200)]

    assert len(set(handed)) == 200
    assert all(port < first_ephemeral for port in handed)
    for port in handed:
        ports.give_back(port)
