"""Once a day (EventBridge schedule): delete the import records older than IMPORT_RETENTION_DAYS.

The same number of days as the import bucket's lifecycle rules, so a record goes with its upload and its report.
"""

from dataclasses import asdict

from people_api import db
from people_api.config import read_settings
from people_api.imports.store import purge_expired
from people_api.observability import logger

read_settings()  # at cold start: a variable with a bad value stops the function here, named in the error


@logger.inject_lambda_context
def lambda_handler(event, context):
    retention_days = read_settings().import_retention_days
    purged = purge_expired(db.connection(), retention_days, lambda: context.get_remaining_time_in_millis() / 1000)
    logger.info("expired import records deleted", extra={"retention_days": retention_days, **asdict(purged)})
    return asdict(purged)
