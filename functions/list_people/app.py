"""GET /people: everyone, ordered by id, a page at a time."""

from aws_lambda_powertools.event_handler import Response

from people_api.http.cursors import PEOPLE_BY_ID
from people_api.http.requests import page_parameters
from people_api.http.resolver import api_handler, make_resolver
from people_api.http.responses import listing_response
from people_api.people.person import utc_today
from people_api.people.store import people_in_id_order

app = make_resolver()


@app.get("/people")
def list_people() -> Response[dict]:
    limit, cursor = page_parameters(app)
    today = utc_today()
    (after_id,) = PEOPLE_BY_ID.after(cursor)
    people = people_in_id_order(after_id, limit + 1)
    return listing_response(
        "people", PEOPLE_BY_ID.page(people, limit, lambda last: (last.id,), lambda p: p.as_json(today))
    )


lambda_handler = api_handler(app)
