"""PATCH /people/{id}: correct a person with a JSON Merge Patch (RFC 7396), optionally If-Match."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.metrics import MetricUnit

from people_api.auth import access
from people_api.errors import Conflict
from people_api.http.conditional import PreconditionFailed, require_match
from people_api.http.requests import json_object_body, path_id, request_header
from people_api.http.resolver import api_handler, make_resolver
from people_api.http.responses import person_response
from people_api.observability import metrics
from people_api.people.person import person_from_patch, utc_today
from people_api.people.store import person_by_id, update_if_current

MEDIA_TYPES = ("application/merge-patch+json", "application/json")
# Without If-Match, a write that lost a race with another is merged again onto the newer version.
WRITE_ATTEMPTS = 5

app = make_resolver()


@app.patch("/people/<id>")
def update_person(id: str) -> Response[dict]:
    person_id = path_id(id)
    patch = json_object_body(app, MEDIA_TYPES)
    if_match = request_header(app, "If-Match")
    today = utc_today()
    for _ in range(WRITE_ATTEMPTS):
        current = person_by_id(person_id)
        require_match(if_match, current.etag)
        corrected = person_from_patch(current, patch, today)
        if corrected == current.fields():
            return person_response(current, today)
        updated = update_if_current(corrected, current)
        if updated is not None:
            access.log_write("person updated", app.current_event.raw_event, person_id=person_id)
            metrics.add_metric(name="PeopleUpdated", unit=MetricUnit.Count, value=1)
            return person_response(updated, today)
        if if_match is not None:
            raise PreconditionFailed("the person changed while this request was applied; nothing was changed")
    raise Conflict("the person kept changing while this request was applied; try again")


lambda_handler = metrics.log_metrics(api_handler(app))
