"""GET /imports: the CSV imports, newest first, a page at a time."""

from aws_lambda_powertools.logging import correlation_paths

from people_api.http.cursors import IMPORTS_NEWEST_FIRST
from people_api.http.requests import page_parameters
from people_api.http.resolver import make_resolver
from people_api.imports.store import imports_newest_first
from people_api.observability import logger

app = make_resolver()


@app.get("/imports")
def list_imports() -> dict:
    limit, cursor = page_parameters(app)
    (before_id,) = IMPORTS_NEWEST_FIRST.after(cursor)
    records = imports_newest_first(before_id, limit + 1)
    page = IMPORTS_NEWEST_FIRST.page(records, limit, lambda last: (last.id,), lambda r: r.as_json(with_errors=False))
    return {"imports": page.items, "next_cursor": page.next_cursor}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event, context):
    return app.resolve(event, context)
