"""POST /people: add a person; answers with it and the first page of /people."""

from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.metrics import MetricUnit

from people_api.auth import access
from people_api.http.cursors import DEFAULT_LIMIT, PEOPLE_BY_ID
from people_api.http.requests import json_object_body
from people_api.http.resolver import api_handler, make_resolver
from people_api.http.responses import listing_response
from people_api.observability import metrics
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
    return listing_response(
        "people",
        first_page,
        fields={"person": person.as_json(today)},
        status=HTTPStatus.CREATED,
        headers={"Location": f"{_collection_path()}/{person.id}", "ETag": person.etag},
    )


def _collection_path() -> str:
    """/people as the client addressed it: API Gateway's path keeps the stage (/v1/people)."""
    return (app.current_event.request_context.path or app.current_event.path).rstrip("/")


lambda_handler = metrics.log_metrics(api_handler(app))
