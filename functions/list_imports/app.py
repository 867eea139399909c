"""GET /imports: the CSV imports, newest first, a page at a time."""

from aws_lambda_powertools.logging import correlation_paths

from people_api import imports_store
from people_api.api import DEFAULT_LIMIT, Cursor, Limit, make_resolver
from people_api.observability import logger

app = make_resolver()


@app.get("/imports")
def list_imports(limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> dict:
    page = imports_store.imports_newest_first(limit, cursor)
    return {"imports": [record.as_json(with_errors=False) for record in page.items], "next_cursor": page.next_cursor}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event, context):
    return app.resolve(event, context)
