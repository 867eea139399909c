"""Once a day (EventBridge schedule): forget the change feed's tombstones older than CHANGE_RETENTION_DAYS."""

from people_api import db
from people_api.config import read_settings
from people_api.observability import logger
from people_api.people.changes import purge_expired

read_settings()  # at cold start: a variable with a bad value stops the function here, named in the error


@logger.inject_lambda_context
def lambda_handler(event, context):
    retention_days = read_settings().change_retention_days
    purged = purge_expired(db.connection(), retention_days, lambda: context.get_remaining_time_in_millis() / 1000)
    logger.info("expired tombstones deleted", extra={"retention_days": retention_days, **purged._asdict()})
    return purged._asdict()
