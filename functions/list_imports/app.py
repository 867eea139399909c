"""GET /imports: the CSV imports, newest first, a page at a time."""

from aws_lambda_powertools.event_handler import Response

from people_api.http.cursors import IMPORTS_NEWEST_FIRST
from people_api.http.requests import page_parameters
from people_api.http.resolver import api_handler, make_resolver
from people_api.http.responses import listing_response
from people_api.imports.store import imports_newest_first

app = make_resolver()


@app.get("/imports")
def list_imports() -> Response[dict]:
    limit, cursor = page_parameters(app)
    (before_id,) = IMPORTS_NEWEST_FIRST.after(cursor)
    records = imports_newest_first(before_id, limit + 1)  # already JSON
    page = IMPORTS_NEWEST_FIRST.page(records, limit, lambda last: (last["id"],), lambda record: record)
    return listing_response("imports", page)


lambda_handler = api_handler(app)
