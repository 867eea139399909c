"""GET /people: everyone, ordered by id, a page at a time."""

from aws_lambda_powertools.logging import correlation_paths

from people_api import people_store
from people_api.api import DEFAULT_LIMIT, Cursor, Limit, make_resolver, people_json
from people_api.observability import logger
from people_api.person import utc_today

app = make_resolver()


@app.get("/people")
def list_people(limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> dict:
    return people_json(people_store.people_in_id_order(limit, cursor), utc_today())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event, context):
    return app.resolve(event, context)
