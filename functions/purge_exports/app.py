"""Once a day (EventBridge schedule): delete the export records older than EXPORT_RETENTION_DAYS.

The same number of days as the export bucket's lifecycle rule, so a record goes with its file.
"""

from people_api import db, retention
from people_api.config import read_settings
from people_api.observability import logger

read_settings()  # at cold start: a variable with a bad value stops the function here, named in the error


@logger.inject_lambda_context
def lambda_handler(event, context):
    return retention.scheduled_purge(db.connection(), "exports", read_settings().export_retention_days, context)
