"""GET /people/{id}: one person, with its ETag; 304 when If-None-Match names it."""

from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response

from people_api.http.conditional import not_modified
from people_api.http.requests import path_id, request_header
from people_api.http.resolver import api_handler, make_resolver
from people_api.http.responses import person_response
from people_api.people.person import utc_today
from people_api.people.store import person_by_id

app = make_resolver()


@app.get("/people/<id>")
def get_person(id: str) -> Response[dict | None]:
    person = person_by_id(path_id(id))
    etag = person.etag
    if not_modified(request_header(app, "If-None-Match"), etag):
        return Response(status_code=HTTPStatus.NOT_MODIFIED, headers={"ETag": etag})
    return person_response(person, utc_today(), etag)


lambda_handler = api_handler(app)
