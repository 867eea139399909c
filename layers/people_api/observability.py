"""Logger and metrics shared by every function (service name from POWERTOOLS_SERVICE_NAME)."""

import warnings

from aws_lambda_powertools import Logger as PowertoolsLogger
from aws_lambda_powertools import Metrics


class Logger(PowertoolsLogger):
    """Powertools' logger whose appended keys (the Lambda context, the correlation id) hold for the thread
    that appended them, on top of the process-wide ones that the threads a function starts inherit.

    In Lambda both are the same: one invocation at a time per process. Under `make dev` every function runs
    in one process, each invocation in a thread of its own, and its lines must carry its own context.
    """

    def append_keys(self, **additional_keys: object) -> None:
        super().append_keys(**additional_keys)
        self.thread_safe_append_keys(**additional_keys)


logger = Logger()
metrics = Metrics(namespace="PeopleApi")

# An invocation that changed nothing (an import's own report, a refused write) has no metric to publish;
# Powertools warns about it on every such invocation. Its documented way to say that is expected:
# https://docs.powertools.aws.dev/lambda/python/latest/core/metrics/ (raise_on_empty_metrics).
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
