"""The shared logger: each invocation's lines carry its own Lambda context, even when invocations share a process."""

import io
import json
import threading

from devstack.functions import LambdaContext
from people_api.observability import logger


def test_concurrent_invocations_in_one_process_each_log_their_own_context():
    # Given two functions invoked at once in one process, as `make dev` runs them (one thread each)
    both_started = threading.Barrier(2, timeout=10)

    @logger.inject_lambda_context
    def handler(event, context):
        both_started.wait()  # both have appended their context before either logs
        logger.info("working")
        helper = threading.Thread(target=lambda: logger.info("helper thread"))
        helper.start()
        helper.join()

    contexts = [LambdaContext("PurgeImportsFunction"), LambdaContext("ImportCsvFunction")]
    lines = io.StringIO()
    terminal = logger.registered_handler.setStream(lines)
    try:
        invocations = [threading.Thread(target=handler, args=({}, context)) for context in contexts]
        for invocation in invocations:
            invocation.start()
        for invocation in invocations:
            invocation.join()
    finally:
        logger.registered_handler.setStream(terminal)

    # Then each one's line names its own function and request
    logged = [json.loads(line) for line in lines.getvalue().splitlines()]
    working = {e["function_name"]: e["function_request_id"] for e in logged if e["message"] == "working"}
    assert working == {context.function_name: context.aws_request_id for context in contexts}
    # And a thread a function starts still logs with a Lambda context (in Lambda, its invocation's)
    helpers = [entry for entry in logged if entry["message"] == "helper thread"]
    assert len(helpers) == 2 and all(entry["function_name"] in working for entry in helpers)
