"""POST /people: add a person; answers with it and the first page of /people."""

from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from people_api.auth import access
from people_api.http.cursors import DEFAULT_LIMIT, PEOPLE_BY_ID
from people_api.http.requests import json_object_body
from people_api.http.resolver import make_resolver
from people_api.http.responses import JSON, people_json
from people_api.observability import logger, metrics
from people_api.people.person import person_from_json, utc_today
from people_api.people.store import add_person, people_in_id_order

app = make_resolver()


@app.post("/people")
def create_person() -> Response[dict]:
    today = utc_today()
    new_person = person_from_json(json_object_body(app), today)
    person = add_person(new_person)
    access.log_write("person created", app.current_event.raw_event, person_id=person.id)
    metrics.add_metric(name="PeopleCreated", unit=MetricUnit.Count, value=1)
    first_people = people_in_id_order(0, DEFAULT_LIMIT + 1)
    first_page = PEOPLE_BY_ID.page(first_people, DEFAULT_LIMIT, lambda last: (last.id,), lambda p: p.as_json(today))
    return Response(
        status_code=HTTPStatus.CREATED,
        content_type=JSON,
        body={"person": person.as_json(today), **people_json(first_page)},
        headers={"Location": f"{_collection_path()}/{person.id}", "ETag": person.etag},
    )


def _collection_path() -> str:
    """/people as the client addressed it: API Gateway's path keeps the stage (/v1/people)."""
    return (app.current_event.request_context.path or app.current_event.path).rstrip("/")


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event, context):
    return app.resolve(event, context)
