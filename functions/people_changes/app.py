"""GET /people/changes: the people written and the ids erased since a token, in the order they committed."""

from aws_lambda_powertools.event_handler import Response

from people_api.config import read_settings
from people_api.http.feed import changes_page
from people_api.http.requests import page_parameters, since_parameter
from people_api.http.resolver import api_handler, make_resolver
from people_api.http.responses import JSON, NO_STORE
from people_api.people.person import utc_today

app = make_resolver()


@app.get("/people/changes")
def people_changes() -> Response[dict]:
    limit, cursor = page_parameters(app)
    page = changes_page(since_parameter(app), cursor, limit, utc_today(), read_settings().change_retention_days)
    # Each answer is what changed up to now: no cache may keep one (README, Caching).
    return Response(status_code=200, content_type=JSON, body=page, headers={"Cache-Control": NO_STORE})


lambda_handler = api_handler(app)
