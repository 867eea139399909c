"""GET /ids/lastname/{lastname}: ids of the people with that last name, ignoring case."""

from aws_lambda_powertools.event_handler import Response

from people_api.http.cursors import IDS_BY_LAST_NAME
from people_api.http.requests import page_parameters, percent_decoded
from people_api.http.resolver import api_handler, make_resolver
from people_api.http.responses import listing_response
from people_api.people.store import ids_with_last_name

app = make_resolver()


@app.get("/ids/lastname/<lastname>")
def ids_by_last_name(lastname: str) -> Response[dict]:
    limit, cursor = page_parameters(app)
    last_name = percent_decoded(lastname, "lastname").strip()
    (after_id,) = IDS_BY_LAST_NAME.after(cursor)
    ids = ids_with_last_name(last_name, after_id, limit + 1)
    page = IDS_BY_LAST_NAME.page(ids, limit, lambda last: (last,), lambda person_id: person_id)
    return listing_response("ids", page, fields={"last_name": last_name})


lambda_handler = api_handler(app)
