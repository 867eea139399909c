"""GET /exports: the exports, newest first, a page at a time."""

from aws_lambda_powertools.event_handler import Response

from people_api.exports.store import exports_newest_first
from people_api.http.cursors import EXPORTS_NEWEST_FIRST
from people_api.http.requests import page_parameters
from people_api.http.resolver import api_handler, make_resolver
from people_api.http.responses import NO_STORE, listing_response

app = make_resolver()


@app.get("/exports")
def list_exports() -> Response[dict]:
    limit, cursor = page_parameters(app)
    (before_id,) = EXPORTS_NEWEST_FIRST.after(cursor)
    records = exports_newest_first(before_id, limit + 1)
    page = EXPORTS_NEWEST_FIRST.page(records, limit, lambda last: (last.id,), lambda r: r.as_json(with_download=False))
    # An export's status changes while it runs: no cache may keep an answer (README, Caching).
    return listing_response("exports", page, headers={"Cache-Control": NO_STORE})


lambda_handler = api_handler(app)
