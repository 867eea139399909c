"""GET /ping: the API is up (it does not touch the database)."""

from aws_lambda_powertools.event_handler import Response, content_types

from people_api.http.resolver import api_handler, make_resolver

app = make_resolver()


@app.get("/ping")
def ping() -> Response[str]:
    return Response(status_code=200, content_type=content_types.TEXT_PLAIN, body="pong")


lambda_handler = api_handler(app)
