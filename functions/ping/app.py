"""GET /ping: the API is up (it does not touch the database)."""

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths

from people_api.http.resolver import make_resolver
from people_api.observability import logger

app = make_resolver()


@app.get("/ping")
def ping() -> Response[str]:
    return Response(status_code=200, content_type=content_types.TEXT_PLAIN, body="pong")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event, context):
    return app.resolve(event, context)
