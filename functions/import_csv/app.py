"""S3 ObjectCreated (*.csv): import each file's people, once per content, all or nothing, with a report."""

from people_api import db
from people_api.config import read_settings
from people_api.imports import s3_import
from people_api.observability import logger, metrics

read_settings()  # at cold start: a variable with a bad value stops the function here, named in the error


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event, context):
    return s3_import.handle_event(
        event,
        db.connection(),
        s3_import.s3_client(),
        lambda: context.get_remaining_time_in_millis() / 1000,
        read_settings(),
    )
