"""GET /people/age: everyone, youngest first by stated or inferred age; people with neither last."""

from aws_lambda_powertools.logging import correlation_paths

from people_api import people_store
from people_api.api import DEFAULT_LIMIT, Cursor, Limit, make_resolver, people_json
from people_api.observability import logger
from people_api.person import utc_today

app = make_resolver()


@app.get("/people/age")
def people_by_age(limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> dict:
    today = utc_today()
    return people_json(people_store.people_by_age(limit, today, cursor), today)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event, context):
    return app.resolve(event, context)
