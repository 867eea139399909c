"""Applies the schema migrations: CloudFormation runs it on every deploy (a custom resource), or invoke it by hand.

Then (in AWS) it creates or updates the least-privileged account the API and the import connect as.
"""

from people_api import config, custom_resource, db
from people_api.migrations import MIGRATIONS, ensure_app_user, migrate
from people_api.observability import logger


def apply_migrations() -> dict:
    conn = db.connection()
    applied = migrate(conn)
    user = config.app_user()
    if user is not None:
        ensure_app_user(conn, config.database_settings().database, user)
    logger.info("migrations applied", extra={"applied": applied, "app_user": user.username if user else None})
    return {"applied": applied, "schema_version": max(MIGRATIONS)}


@logger.inject_lambda_context
def lambda_handler(event, context):
    if custom_resource.is_request(event):
        return custom_resource.handle(event, lambda: context.get_remaining_time_in_millis() / 1000, apply_migrations)
    return apply_migrations()
