"""GET /people/age: everyone, youngest first by stated or inferred age; people with neither last."""

from aws_lambda_powertools.logging import correlation_paths

from people_api.http.cursors import PEOPLE_BY_AGE
from people_api.http.requests import page_parameters
from people_api.http.resolver import make_resolver
from people_api.http.responses import people_json
from people_api.observability import logger
from people_api.people.person import utc_today
from people_api.people.store import people_in_age_order

app = make_resolver()


@app.get("/people/age")
def people_by_age() -> dict:
    limit, cursor = page_parameters(app)
    today = utc_today()
    after_age, after_id = PEOPLE_BY_AGE.after(cursor)
    people = people_in_age_order(after_age, after_id, limit + 1, today)
    page = PEOPLE_BY_AGE.page(
        people, limit, lambda last: (last.effective_age(today), last.id), lambda p: p.as_json(today)
    )
    return people_json(page)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event, context):
    return app.resolve(event, context)
