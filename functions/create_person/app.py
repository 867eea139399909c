"""POST /people: add a person; answers with it and the first page of /people."""

from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from people_api import access, people_store
from people_api.api import DEFAULT_LIMIT, json_object_body, make_resolver, people_json
from people_api.observability import logger, metrics
from people_api.person import person_from_json, utc_today

app = make_resolver()


@app.post("/people")
def create_person() -> Response[dict]:
    today = utc_today()
    new_person = person_from_json(json_object_body(app), today)
    person_id = people_store.add_person(new_person)
    access.log_write("person created", app.current_event.raw_event, person_id=person_id)
    metrics.add_metric(name="PeopleCreated", unit=MetricUnit.Count, value=1)
    person = people_store.person_by_id(person_id)
    body = {
        "person": person.as_json(today),
        **people_json(people_store.people_in_id_order(DEFAULT_LIMIT), today),
    }
    return Response(
        status_code=HTTPStatus.CREATED,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers={"Location": f"{_collection_path()}/{person_id}", "ETag": person.etag},
    )


def _collection_path() -> str:
    """/people as the client addressed it: API Gateway's path keeps the stage (/v1/people)."""
    return (app.current_event.request_context.path or app.current_event.path).rstrip("/")


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event, context):
    return app.resolve(event, context)
