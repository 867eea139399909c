"""Once a day (EventBridge schedule): delete the import records older than IMPORT_RETENTION_DAYS.

The same number of days as the import bucket's lifecycle rules, so a record goes with its upload and its report.
"""

from people_api import db, retention
from people_api.config import read_settings
from people_api.observability import logger

read_settings()  # at cold start: a variable with a bad value stops the function here, named in the error


@logger.inject_lambda_context
def lambda_handler(event, context):
    return retention.scheduled_purge(db.connection(), "imports", read_settings().import_retention_days, context)
