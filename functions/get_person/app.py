"""GET /people/{id}: one person."""

from aws_lambda_powertools.logging import correlation_paths

from people_api import people_store
from people_api.api import PathId, make_resolver
from people_api.observability import logger
from people_api.person import utc_today

app = make_resolver()


@app.get("/people/<id>")
def get_person(person_id: PathId) -> dict:
    return people_store.person_by_id(person_id).as_json(utc_today())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event, context):
    return app.resolve(event, context)
