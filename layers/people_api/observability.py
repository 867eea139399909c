"""Logger and metrics shared by every function (service name from POWERTOOLS_SERVICE_NAME)."""

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics(namespace="PeopleApi")
