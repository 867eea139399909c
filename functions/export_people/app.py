"""SQS (the export queue): write every person to one CSV file in the export bucket, once per export."""

from people_api import db
from people_api.config import read_settings
from people_api.exports import s3_export
from people_api.observability import logger, metrics

read_settings()  # at cold start: a variable with a bad value stops the function here, named in the error


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event, context):
    return s3_export.handle_event(
        event,
        db.connection(),
        s3_export.s3_client(),
        lambda: context.get_remaining_time_in_millis() / 1000,
        read_settings(),
    )
