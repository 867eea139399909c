"""GET /exports: the exports, newest first, a page at a time."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths

from people_api.exports.store import exports_newest_first
from people_api.http.cursors import EXPORTS_NEWEST_FIRST
from people_api.http.requests import page_parameters
from people_api.http.resolver import make_resolver
from people_api.http.responses import JSON, NO_STORE
from people_api.observability import logger

app = make_resolver()


@app.get("/exports")
def list_exports() -> Response[dict]:
    limit, cursor = page_parameters(app)
    (before_id,) = EXPORTS_NEWEST_FIRST.after(cursor)
    records = exports_newest_first(before_id, limit + 1)
    page = EXPORTS_NEWEST_FIRST.page(records, limit, lambda last: (last.id,), lambda r: r.as_json(with_download=False))
    # An export's status changes while it runs: no cache may keep an answer (README, Caching).
    body = {"exports": page.items, "next_cursor": page.next_cursor}
    return Response(status_code=200, content_type=JSON, body=body, headers={"Cache-Control": NO_STORE})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event, context):
    return app.resolve(event, context)
