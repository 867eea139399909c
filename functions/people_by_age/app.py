"""GET /people/age: everyone, youngest first by stated or inferred age; people with neither last."""

from aws_lambda_powertools.event_handler import Response

from people_api.http.cursors import PEOPLE_BY_AGE
from people_api.http.requests import page_parameters
from people_api.http.resolver import api_handler, make_resolver
from people_api.http.responses import listing_response
from people_api.people.person import utc_today
from people_api.people.store import people_in_age_order

app = make_resolver()


@app.get("/people/age")
def people_by_age() -> Response[dict]:
    limit, cursor = page_parameters(app)
    today = utc_today()
    after_age, after_id = PEOPLE_BY_AGE.after(cursor)
    people = people_in_age_order(after_age, after_id, limit + 1, today)
    page = PEOPLE_BY_AGE.page(
        people, limit, lambda last: (last.effective_age(today), last.id), lambda p: p.as_json(today)
    )
    return listing_response("people", page)


lambda_handler = api_handler(app)
