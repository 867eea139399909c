"""Logger and metrics shared by every function (service name from POWERTOOLS_SERVICE_NAME).

Every line the logger writes is at most MAX_LOG_LINE_CHARS characters, and no function logs its event: an
API event holds the body and the path, and so names (README, Privacy). An exception is logged through
`error_fields`, without the values its messages quote.
"""

import json
import re
import traceback
import warnings
from typing import Any

from aws_lambda_powertools import Logger as PowertoolsLogger
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

# The longest line written on purpose is about 3.2 KB: "database unavailable" with its traceback.
MAX_LOG_LINE_CHARS = 8192
_CUT_VALUE_CHARS = 500


class BoundedFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON lines, cut to MAX_LOG_LINE_CHARS: a longer line keeps its keys, each value cut to
    _CUT_VALUE_CHARS, and says how long it was (`cut_from_chars`)."""

    def serialize(self, log: dict[str, Any]) -> str:
        line = super().serialize(log)
        if len(line) <= MAX_LOG_LINE_CHARS:
            return line
        cut = {key: _cut(value) for key, value in log.items()} | {"cut_from_chars": len(line)}
        line = super().serialize(cut)
        if len(line) <= MAX_LOG_LINE_CHARS:
            return line
        return super().serialize({key: cut[key] for key in ("level", "timestamp", "message", "cut_from_chars")})


class Logger(PowertoolsLogger):
    """Powertools' logger, whose decorator never logs the event."""

    def inject_lambda_context(self, lambda_handler: Any = None, log_event: bool | None = None, **options: Any) -> Any:
        """Powertools' decorator, never logging the event, whatever POWERTOOLS_LOGGER_LOG_EVENT says."""
        return super().inject_lambda_context(lambda_handler, log_event=False, **options)


def _cut(value: Any) -> Any:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return value if len(text) <= _CUT_VALUE_CHARS else f"{text[:_CUT_VALUE_CHARS]}... ({len(text)} characters)"


logger = Logger(logger_formatter=BoundedFormatter())
metrics = Metrics(namespace="PeopleApi")

# An invocation that changed nothing (an import's own report, a refused write) has no metric to publish;
# Powertools warns about it on every such invocation. Its documented way to say that is expected:
# https://docs.powertools.aws.dev/lambda/python/latest/core/metrics/ (raise_on_empty_metrics).
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


MAX_ERROR_CHARS = 300
MAX_LOGGED_FRAMES = 20
_OPENING_QUOTE = r"(?<![0-9A-Za-z])['\"]"  # not the apostrophe of "can't"; compiled by `re` on the first error


def error_text(error: BaseException) -> str:
    """`Type: message` of an exception, without what the message quotes, cut to MAX_ERROR_CHARS.

    A database error quotes the value it refused ("Duplicate entry 'ada-l' for key ..."), and so
    does Python (`int('Ada')`): from the first opening quote to the last quote, the message is
    left out, whatever the quoted text holds (quotes of its own included).
    """
    args = error.args
    if len(args) == 2 and isinstance(args[0], int) and isinstance(args[1], str):  # PyMySQL's (code, message)
        message = f"({args[0]}) {args[1]}"
    else:
        message = str(error)
    opening = re.search(_OPENING_QUOTE, message)
    last = max(message.rfind("'"), message.rfind('"'))
    if opening and last > opening.start():
        message = f"{message[: opening.end()]}…{message[last:]}"
    text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def error_fields(error: BaseException) -> dict[str, str]:
    """The log keys for an exception, in place of its traceback: Powertools writes `exception` and
    `exception_name` as given. The innermost MAX_LOGGED_FRAMES frames (file, line, function: no
    source text) and the `error_text` of the error and of what caused it, so that the line stays
    short and holds no value from the messages."""
    frames = traceback.extract_tb(error.__traceback__)[-MAX_LOGGED_FRAMES:]
    lines = [f'File "{frame.filename}", line {frame.lineno}, in {frame.name}' for frame in frames]
    lines.append(error_text(error))
    cause = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    if cause is not None:
        lines.append(f"caused by {error_text(cause)}")
    return {"exception_name": type(error).__name__, "exception": "\n".join(lines)}
