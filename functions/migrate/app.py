"""Applies the schema migrations to the stack's database (invoke after each deploy)."""

from people_api import db
from people_api.migrations import MIGRATIONS, migrate
from people_api.observability import logger


@logger.inject_lambda_context
def lambda_handler(event, context):
    applied = migrate(db.connection())
    logger.info("migrations applied", extra={"applied": applied})
    return {"applied": applied, "schema_version": max(MIGRATIONS)}
