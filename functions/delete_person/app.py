"""DELETE /people/{id}: erase a person (its id may be used again), optionally If-Match."""

from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.metrics import MetricUnit

from people_api.auth import access
from people_api.errors import NotFound
from people_api.http.conditional import PreconditionFailed, require_match
from people_api.http.requests import path_id, request_header
from people_api.http.resolver import api_handler, make_resolver
from people_api.observability import metrics
from people_api.people.store import erase_person, person_by_id

app = make_resolver()


@app.delete("/people/<id>")
def delete_person(id: str) -> Response[None]:
    person_id = path_id(id)
    if_match = request_header(app, "If-Match")
    if if_match is None:
        if not erase_person(person_id):
            raise NotFound(f"no person has id {person_id}")
    else:
        current = person_by_id(person_id)
        require_match(if_match, current.etag)
        if not erase_person(person_id, current):
            raise PreconditionFailed("the person changed while this request was applied; nothing was changed")
    access.log_write("person deleted", app.current_event.raw_event, person_id=person_id)
    metrics.add_metric(name="PeopleDeleted", unit=MetricUnit.Count, value=1)
    return Response(status_code=HTTPStatus.NO_CONTENT)


lambda_handler = metrics.log_metrics(api_handler(app))
