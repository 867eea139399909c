"""The shared logger: an invocation's lines, and its threads', carry its Lambda context; every line within its
bound; and what a line says of an exception (no value its message quotes, and short)."""

import io
import json
import threading

import pymysql
import pytest

from conftest import LambdaContext
from people_api.observability import MAX_ERROR_CHARS, MAX_LOG_LINE_CHARS, error_fields, error_text, logger


def test_a_thread_an_invocation_starts_logs_with_the_invocations_context():
    # Given a function that logs, and logs again from a thread of its own (as the import's progress writer does)
    @logger.inject_lambda_context
    def handler(event, context):
        logger.info("working")
        helper = threading.Thread(target=lambda: logger.info("helper thread"))
        helper.start()
        helper.join()

    context = LambdaContext("ImportCsvFunction")

    # When it is invoked
    lines = _lines_of(lambda: handler({}, context))

    # Then both lines name the function and its request
    logged = [json.loads(line) for line in lines]
    assert [(e["message"], e["function_name"], e["function_request_id"]) for e in logged] == [
        ("working", "ImportCsvFunction", context.aws_request_id),
        ("helper thread", "ImportCsvFunction", context.aws_request_id),
    ]


def _lines_of(log) -> list[str]:
    lines = io.StringIO()
    terminal = logger.registered_handler.setStream(lines)
    try:
        log()
    finally:
        logger.registered_handler.setStream(terminal)
    return lines.getvalue().splitlines()


def test_a_line_longer_than_the_bound_is_cut_to_it_and_says_how_long_it_was():
    (line,) = _lines_of(lambda: logger.info("a long one", detail="x" * 50_000, nested={"list": ["y"] * 20_000}))

    entry = json.loads(line)
    assert len(line) <= MAX_LOG_LINE_CHARS
    assert entry["message"] == "a long one" and entry["cut_from_chars"] > 50_000
    assert entry["detail"].startswith("xxx") and entry["detail"].endswith("(50000 characters)")
    assert entry["service"] and entry["level"] == "INFO"


def test_a_line_with_many_long_values_is_cut_to_its_message():
    fields = {f"field_{n}": "z" * 1000 for n in range(50)}

    (line,) = _lines_of(lambda: logger.info("many", **fields))

    assert len(line) <= MAX_LOG_LINE_CHARS
    assert set(json.loads(line)) == {"level", "timestamp", "message", "cut_from_chars"}


def test_lines_within_the_bound_are_left_as_they_are():
    (line,) = _lines_of(lambda: logger.info("short", detail="x" * 5000))

    assert json.loads(line)["detail"] == "x" * 5000 and "cut_from_chars" not in line


# What a log line, a record or a report says of an exception: no value its message quotes, and short.


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (
            pymysql.err.IntegrityError(1062, "Duplicate entry 'O'Neil' for key 'people_github'"),
            "IntegrityError: (1062) Duplicate entry '…'",
        ),
        (
            pymysql.err.OperationalError(2003, "Can't connect to MySQL server on 'db.internal' ([Errno 111] refused)"),
            "OperationalError: (2003) Can't connect to MySQL server on '…' ([Errno 111] refused)",
        ),
        (
            ValueError('invalid literal for int() with base 10: "O\'Neil"'),
            'ValueError: invalid literal for int() with base 10: "…"',
        ),
        (KeyError("Secretname"), "KeyError: '…'"),
        (ConnectionResetError("connection reset by peer"), "ConnectionResetError: connection reset by peer"),
        (MemoryError(), "MemoryError"),
    ],
)
def test_an_errors_text_leaves_out_what_its_message_quotes(error, text):
    assert error_text(error) == text


def test_an_errors_text_is_cut():
    assert len(error_text(RuntimeError("x" * 10_000))) == MAX_ERROR_CHARS


def test_an_errors_log_fields_name_frames_and_cause_without_values():
    def fail():
        try:
            int("Secretname")
        except ValueError as error:
            raise RuntimeError("while reading 'Othername'") from error

    with pytest.raises(RuntimeError) as raised:
        fail()
    fields = error_fields(raised.value)

    assert fields["exception_name"] == "RuntimeError"
    assert "in fail" in fields["exception"] and "RuntimeError: while reading '…'" in fields["exception"]
    assert "caused by ValueError: invalid literal for int() with base 10: '…'" in fields["exception"]
    assert "Secretname" not in fields["exception"] and "Othername" not in fields["exception"]
