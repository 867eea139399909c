"""Logger and metrics shared by every function (service name from POWERTOOLS_SERVICE_NAME).

Every line the logger writes is at most MAX_LOG_LINE_CHARS characters, and no function logs its event: an
API event holds the body and the path, and so names (README, Privacy).
"""

import json
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
    """Powertools' logger whose appended keys (the Lambda context, the correlation id) hold for the thread
    that appended them, on top of the process-wide ones that the threads a function starts inherit.

    In Lambda both are the same: one invocation at a time per process. Under `make dev` every function runs
    in one process, each invocation in a thread of its own, and its lines must carry its own context.
    """

    def append_keys(self, **additional_keys: object) -> None:
        super().append_keys(**additional_keys)
        self.thread_safe_append_keys(**additional_keys)

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
